"""What the reports show: tables, figures and texts for the notebooks (no computation here).

The notebooks in ``notebooks/`` hold no logic: each cell calls one function of this module and
the function displays its part (``show_*``) or returns a value. Everything here only *selects
and formats* what the pipeline computed; each section shows what the result holds and says so
plainly when a step is not in the result (e.g. no Monte Carlo in the scenario).

Safety rules, applied everywhere a text reaches HTML:

- every user or data text (measure names, sectors, scenario titles, notes, SOURCES.md, error
  messages) is escaped with ``html.escape`` (tables: ``Styler.format(escape="html")``);
- texts handed to plotly are escaped too, because plotly reads a small HTML subset in labels
  (``<b>``, ``<a href>``): markup in a name is shown as text, never as markup;
- figures are plotly JSON under a fixed ``Plotly.newPlot`` call; nothing from the data runs.

Numbers: thousands separated by a narrow no-break space (U+202F, "12 345 678" as in Swedish
typography), a decimal point, a real minus sign; units in the column headers
("Investment [SEK]", "Abatement [t CO2e/yr]").
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import html
import json
import math
import re
import time
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NNBSP = "\u202f"   # narrow no-break space: thousands separator
MINUS = "\u2212"
DASH = "–"         # shown for a missing value
TONNES = "t CO2e"

# ---------------------------------------------------------------------------------------------
# Number formatting


def _is_missing(x) -> bool:
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, float | np.floating) and math.isnan(x))
    except TypeError:
        return False


def fmt_number(x, decimals: int = 0) -> str:
    """``12345678.9`` → ``"12 345 679"`` (narrow no-break spaces), NaN → "–", inf → "∞"."""
    if _is_missing(x):
        return DASH
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    try:
        v = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    if decimals == 0 and abs(v) < 0.5:
        v = 0.0
    s = f"{abs(v):,.{decimals}f}".replace(",", NNBSP)
    return (MINUS + s) if v < 0 and s.strip("0.\u202f") else s


def fmt_share(x, decimals: int = 1, sign: bool = True) -> str:
    """``0.254`` → ``"25.4 %"`` (``sign=False``: ``"25.4"``, for a column headed [%])."""
    if _is_missing(x):
        return DASH
    try:
        v = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    return fmt_number(v * 100, decimals) + (NNBSP + "%" if sign else "")


def fmt_money(x, currency: str = "") -> str:
    """Money rounded to whole units with the currency: ``"12 345 678 SEK"``."""
    s = fmt_number(x, 0)
    return s if s == DASH or not currency else f"{s}{NNBSP}{html.escape(currency)}"


def fmt_year(x) -> str:
    if _is_missing(x):
        return DASH
    try:
        return str(int(x))
    except (TypeError, ValueError):
        return html.escape(str(x))


def fmt_years(x) -> str:
    """A duration in years: one decimal, ``inf`` → "never"."""
    if _is_missing(x):
        return DASH
    try:
        if math.isinf(float(x)):
            return "never"
    except (TypeError, ValueError):
        return html.escape(str(x))
    return fmt_number(x, 1)


# ---------------------------------------------------------------------------------------------
# Column names → label, unit and kind

_LABELS = {
    "measure_id": "Measure id", "name": "Measure", "sector": "Sector", "payer": "Payer",
    "emission_source": "Emission source", "capex": "Investment", "capex_years": "Investment years",
    "npv_cost": "NPV of cost", "npv_net": "NPV net of carbon value", "npv_carbon_value": "NPV of carbon value",
    "cost_per_tco2e": "Cost per tonne", "irr": "IRR", "grant_share": "Grant share",
    "lifetime_years": "Lifetime", "simple_payback_years": "Payback", "discounted_payback_years": "Discounted payback",
    "start_year": "Start year", "earliest_start_year": "Earliest start",
    "abatement_tco2e_per_year": "Abatement, first full year", "lifetime_abatement_tco2e": "Lifetime abatement",
    "standalone_tco2e": "Abatement alone", "adjusted_tco2e": "Abatement on the curve",
    "cum_start_tco2e": "Cumulative from", "cum_end_tco2e": "Cumulative to",
    "standalone_cost_per_tco2e": "Cost per tonne alone", "appraised_tco2e": "Tonnes appraised",
    "saves_money": "Saves money", "note": "Note", "notes": "Notes", "rank": "Rank", "scale": "Share of effect",
    "exclusive_group": "Alternatives group", "requires": "Requires", "source": "Source",
    "source_id": "Source", "kind": "Kind", "amount": "Amount", "year": "Year", "reason": "Reason",
    "instead_of": "Instead of", "opex_change": "Running cost change", "energy_cost_change": "Energy cost change",
    "internal_interest": "Internal interest (SKR internränta)", "depreciation": "Depreciation",
    "net": "Net effect on the driftsbudget", "financing_gap": "Financing gap", "gap": "Financing gap",
    "investment": "Investment (city)", "external_investment": "Investment (external payers)",
    "interest": "Interest", "amortisation": "Amortisation", "total": "Total", "debt_outstanding": "Debt at year end",
    "selected": "Funded", "scope": "Scope", "measures": "Measures",
}
_MONEY_WORDS = ("capex", "npv", "cost", "opex", "investment", "grant", "loan", "own_funds", "funds",
                "financing", "gap", "debt", "interest", "principal", "amount", "budget", "saving",
                "depreciation", "payment", "balance", "amortisation", "annual_cap", "spend", "cash",
                "value", "price", "net", "total", "external", "municipality", "municipal_company")
_SHARE_WORDS = ("share", "irr", "rate", "reduction", "prob", "frequency", "p_selected",
                "chosen_share", "selected_share")
_COUNT_WORDS = ("count", "draws", "n_", "measures", "rank", "number", "loan_year")


# Columns whose name does not say "per year" but whose tonnes are per year (target-year widths).
_KIND_OF = {"standalone_tco2e": "tonnes_per_year", "adjusted_tco2e": "tonnes_per_year",
            "appraised_tco2e": "tonnes", "baseline_tco2e": "tonnes_per_year",
            "standalone_sum_tco2e": "tonnes_per_year", "adjusted_sum_tco2e": "tonnes_per_year",
            "remaining_tco2e": "tonnes_per_year", "double_count_avoided_tco2e": "tonnes_per_year",
            "abatement_tco2e": "tonnes_per_year"}


def column_kind(name) -> str:
    """The kind of a column from its name (DESIGN.md §3: names carry their unit, money none).

    One of ``year``, ``years``, ``money_per_t``, ``tonnes_per_year``, ``tonnes``, ``mwh_per_year``,
    ``mwh``, ``share``, ``count``, ``money``, ``bool``, ``number``, ``text``.
    """
    n = str(name).lower()
    if n in _KIND_OF:
        return _KIND_OF[n]
    if n in ("year", "budget_cycle") or (n.endswith("_year") and not n.endswith("per_year")) \
            or n.endswith("_year_from") or n in ("from_year", "base_year", "target_year"):
        return "year"
    if "per_tco2e" in n or "per_t_" in n or n.endswith("per_t"):
        return "money_per_t"
    if "tco2e" in n:
        yearly = ("_per_year" in n or n.endswith("per_year")
                  or (n.startswith(("baseline_", "with_portfolio_", "abatement_", "target_", "emissions_"))
                      and not any(w in n for w in ("cumulative", "budget", "lifetime"))))
        return "tonnes_per_year" if yearly else "tonnes"
    if "mwh" in n:
        return "mwh_per_year" if "per_year" in n else "mwh"
    if n.endswith("_years") or n == "years" or n.startswith("payback"):
        return "years"
    if any(w in n for w in _SHARE_WORDS):
        return "share"
    if any(n == w or n.startswith(w) or n.endswith("_" + w.rstrip("_")) for w in _COUNT_WORDS):
        return "count"
    if any(w in n for w in _MONEY_WORDS):
        return "money"
    return "number"


def _text_label(name) -> str:
    n = str(name)
    if n in _LABELS:
        return _LABELS[n]
    return n.replace("_", " ").capitalize() if re.fullmatch(r"[a-z0-9_]+", n) else n


def column_label(name, currency: str = "", kind: str | None = None) -> str:
    """Header text with the unit: ``capex`` → "Investment [SEK]"."""
    if isinstance(name, int | np.integer):
        return str(name)
    n = str(name)
    kind = kind or column_kind(n)
    label = _LABELS.get(n)
    if label is None:
        base = n
        base = base.replace("cost_per_tco2e", "cost_per_tonne")
        for token in ("_tco2e_per_year", "_tco2e", "_per_tco2e", "_mwh_per_year", "_mwh", "_years"):
            if base.endswith(token) and base != token:
                base = base[: -len(token)]
        base = base.replace("_tco2e_", "_")
        label = (base.replace("_", " ").strip().capitalize() if re.fullmatch(r"[a-z0-9_]+", base) else base) or n
        label = re.sub(r"\bnpv\b", "NPV", re.sub(r"^Npv\b", "NPV", label))
        label = re.sub(r"^Prob ", "Probability: ", label)
        label = re.sub(r"\b(p\d\d)\b", lambda m: m.group(1).upper(), label)
    unit = {
        "money": f"[{currency}]" if currency else "",
        "money_per_t": f"[{currency}/{TONNES}]" if currency else f"[per {TONNES}]",
        "tonnes_per_year": f"[{TONNES}/yr]",
        "tonnes": f"[{TONNES}]",
        "mwh_per_year": "[MWh/yr]",
        "mwh": "[MWh]",
        "years": "[years]",
        "share": "[%]",
    }.get(kind, "")
    return f"{label} {unit}".strip()


def _formatter(kind: str):
    return {
        "year": fmt_year,
        "years": fmt_years,
        "share": lambda x: fmt_share(x, sign=False),
        "count": lambda x: fmt_number(x, 0),
        "money": lambda x: fmt_number(x, 0),
        "money_per_t": lambda x: fmt_number(x, 0),
        "tonnes": lambda x: fmt_number(x, 0),
        "tonnes_per_year": lambda x: fmt_number(x, 0),
        "mwh": lambda x: fmt_number(x, 0),
        "mwh_per_year": lambda x: fmt_number(x, 0),
        "bool": lambda x: DASH if _is_missing(x) else ("yes" if x else "no"),
    }.get(kind, _auto_number)


def _auto_number(x) -> str:
    if _is_missing(x):
        return DASH
    if isinstance(x, bool | np.bool_):
        return "yes" if x else "no"
    if isinstance(x, int | np.integer):
        return fmt_number(x, 0)
    if isinstance(x, float | np.floating):
        v = abs(float(x))
        return fmt_number(x, 0 if v >= 100 or v == 0 else (1 if v >= 10 else 2))
    return str(x)  # already escaped by the Styler


def format_table(df: pd.DataFrame, currency: str = "", *, kinds: Mapping[str, str] | None = None,
                 labels: Mapping[str, str] | None = None, caption: str | None = None,
                 max_rows: int | None = None):
    """A pandas ``Styler`` of ``df`` for a report: units in the headers, thousands separators,
    numbers right-aligned, text HTML-escaped (cells and headers), no index.

    ``kinds`` / ``labels`` override the kind or the header of a column (see ``column_kind``).
    Year-named integer columns (2027, 2028 …) of wide tables keep their name as header.
    """
    kinds = dict(kinds or {})
    labels = dict(labels or {})
    df = df.reset_index(drop=True) if not isinstance(df.index, pd.RangeIndex) else df
    if max_rows is not None and len(df) > max_rows:
        df = df.head(max_rows)
    new_cols, fmts, numeric = [], {}, []
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            kind = "bool"
        elif pd.api.types.is_numeric_dtype(s):
            kind = kinds.get(col) or column_kind(col)
        else:
            kind = kinds.get(col, "text")
        label = labels.get(col) or (column_label(col, currency, kind) if kind != "text" else _text_label(col))
        while label in new_cols:
            label += " "
        new_cols.append(label)
        if kind != "text":
            fmts[label] = _formatter(kind)
            numeric.append(label)
    shown = df.copy()
    shown.columns = new_cols
    styler = shown.style.format(fmts, escape="html", na_rep=DASH).format_index(escape="html", axis=1)
    styler = styler.hide(axis="index").set_table_attributes('class="ci-table"')
    wide_text = [lab for col, lab in zip(df.columns, new_cols)
                 if lab not in numeric and str(col) in ("name", "note", "reason", "source", "Meaning", "message")]
    if wide_text:
        styler = styler.set_table_styles({c: [{"selector": "td", "props": "min-width: 15rem"}] for c in wide_text},
                                         overwrite=False)
    if numeric:
        styler = styler.set_table_styles({c: [{"selector": "td, th", "props": "text-align: right; white-space: nowrap"}]
                                          for c in numeric}, overwrite=False)
    if caption:
        styler = styler.set_caption(html.escape(caption))
    return styler


def table_html(df: pd.DataFrame, currency: str = "", **kw) -> str:
    """``format_table(...).to_html()`` inside a horizontally scrolling box."""
    return f'<div class="ci-scroll">{format_table(df, currency, **kw).to_html()}</div>'


# ---------------------------------------------------------------------------------------------
# Displayable pieces


class Html(str):
    """Trusted HTML (built here from escaped parts) that Jupyter displays as HTML."""

    def _repr_html_(self) -> str:
        return str(self)


PLOTLY_CONFIG = {"displaylogo": False, "responsive": True,
                 "modeBarButtonsToRemove": ["select2d", "lasso2d"],
                 "toImageButtonOptions": {"format": "png", "scale": 2}}


class FigureOut:
    """A plotly figure for both worlds: the plotly MIME type (JupyterLab draws it natively) and
    an HTML ``div`` without plotly.js (the exported report embeds plotly.js once in its head)."""

    def __init__(self, fig, caption: str | None = None):
        self.fig = fig
        self.caption = caption

    def html(self) -> str:
        height = self.fig.layout.height or 460
        div = self.fig.to_html(full_html=False, include_plotlyjs=False, config=PLOTLY_CONFIG,
                               default_width="100%", default_height=f"{int(height)}px", validate=False)
        cap = f'<p class="ci-figure-caption">{html.escape(self.caption)}</p>' if self.caption else ""
        return div + cap

    def _repr_mimebundle_(self, include=None, exclude=None):
        import plotly.io as pio

        spec = json.loads(pio.to_json(self.fig, validate=False))
        spec["config"] = PLOTLY_CONFIG
        return {"application/vnd.plotly.v1+json": spec, "text/html": self.html(),
                "text/plain": f"<figure: {self.caption or 'chart'}>"}


def _display(*items) -> None:
    from IPython.display import display

    for item in items:
        if item is None:
            continue
        display(Html(item) if isinstance(item, str) else item)


def note(text: str, kind: str = "note") -> Html:
    """A boxed note; ``text`` is plain text (escaped here)."""
    return Html(f'<div class="ci-{kind}">{html.escape(str(text))}</div>')


def _p(text: str) -> str:
    return f"<p>{text}</p>"


# ---------------------------------------------------------------------------------------------
# Results: a live ScenarioResult or one saved by ``save_result`` (for the comparison)

TABLE_NAMES = ("measures", "macc", "portfolio", "financing", "pathway", "uncertainty")


@dataclasses.dataclass
class SavedResult:
    """A result read back from the folder ``save_result`` wrote (CSV tables + manifest.json)."""

    folder: Path
    manifest: dict
    tables_: dict[str, pd.DataFrame]

    def __getattr__(self, name):
        if name in TABLE_NAMES:
            return self.tables_.get(name)
        raise AttributeError(name)

    @property
    def extra(self) -> dict[str, pd.DataFrame]:
        return {k: v for k, v in self.tables_.items() if k not in TABLE_NAMES}

    @property
    def summary(self) -> dict:
        return self.manifest.get("summary") or {}

    def tables(self) -> dict[str, pd.DataFrame]:
        return dict(self.tables_)


def load_saved(folder: str | Path) -> SavedResult:
    """Read a result folder written by ``ScenarioResult.save`` (``manifest.json`` + CSVs)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    names = manifest.get("tables") or sorted(p.stem for p in folder.glob("*.csv"))
    tables = {}
    for name in names:
        path = folder / f"{name}.csv"
        if path.exists():
            try:
                tables[name] = pd.read_csv(path)
            except pd.errors.EmptyDataError:
                tables[name] = pd.DataFrame()
    return SavedResult(folder=folder, manifest=manifest, tables_=tables)


def load(source: str | Path):
    """A result to report on: a scenario file is computed (``run_scenario``); a folder written by
    ``save_result`` / ``climateinvest run`` is read back."""
    path = Path(str(source))
    if path.is_dir() and (path / "manifest.json").exists():
        return load_saved(path)
    from .run import run_scenario

    return run_scenario(path)


def load_many(sources) -> list:
    """``load`` for a list of scenario files or result folders (a JSON list text is accepted); a
    folder of scenario files stands for every ``*.yaml`` in it."""
    if isinstance(sources, str):
        text = sources.strip()
        sources = json.loads(text) if text.startswith("[") else [text]
    paths = []
    for s in sources:
        p = Path(str(s))
        if p.is_dir() and not (p / "manifest.json").exists():
            paths += sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))  # a cycle's folder of scenarios
        else:
            paths.append(p)
    return [load(p) for p in paths]


def _scenario_dict(result) -> dict:
    if isinstance(result, SavedResult):
        return dict(result.manifest.get("scenario") or {})
    return result.scenario.model_dump(mode="json")


def meta(result) -> dict:
    """Title-page facts of a result (plain, unescaped values)."""
    s = _scenario_dict(result)
    if isinstance(result, SavedResult):
        city = result.manifest.get("city") or {}
        name, currency, price_year = city.get("name", ""), city.get("currency", ""), city.get("price_year")
        country, source = city.get("country", ""), str(result.folder)
        version = result.manifest.get("climateinvest_version", "")
    else:
        name, currency, price_year = result.city.name, result.city.currency, result.city.price_year
        country = result.city.country
        source = str(result.scenario.source_file or "")
        from . import __version__ as version
    cycle = s.get("budget_cycle")
    return {"title": s.get("title", ""), "city": name, "country": country, "currency": currency,
            "price_year": price_year, "cycle": cycle,
            "plan_years": [cycle, cycle + 1, cycle + 2] if isinstance(cycle, int) else [],
            "perspective": s.get("perspective", ""), "scenario_file": source, "version": version,
            "target": s.get("target") or {}, "scenario": s}


def flat_summary(result) -> dict:
    """``result.summary`` flattened to dotted keys (nested dicts of the steps)."""
    out = {}

    def walk(prefix, value):
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)
        else:
            out[prefix] = value

    walk("", getattr(result, "summary", None) or {})
    return out


def _lookup(flat: dict, *candidates):
    """First value whose key equals a candidate or ends with ``.candidate``."""
    for cand in candidates:
        if cand in flat and not _is_missing(flat[cand]):
            return flat[cand]
        for k, v in flat.items():
            if k.endswith("." + cand) and not _is_missing(v):
                return v
    return None


def table(result, *names) -> pd.DataFrame | None:
    """The first of ``names`` the result holds (main attribute or ``extra``), else None."""
    extra = getattr(result, "extra", None) or {}
    for name in names:
        df = getattr(result, name, None) if name in TABLE_NAMES else extra.get(name)
        if isinstance(df, pd.DataFrame):
            return df
    return None


# ---------------------------------------------------------------------------------------------
# Key figures

KEY_FIGURES = [
    # (id, label, kind, candidate summary keys: a key or the end of a dotted key of the summary)
    ("measures_funded", "Measures funded", "count", ("measures_funded", "n_measures", "measures_selected")),
    ("investment", "Investment in the chosen measures", "money",
     ("investment_in_cycle", "investment_total", "capex_in_budget")),
    ("target_year_tco2e", "Emissions in the target year with the portfolio", "tonnes",
     ("target_year_with_portfolio_tco2e", "emissions_target_year_tco2e")),
    ("abatement_tco2e", "Portfolio abatement in the target year", "tonnes",
     ("target_year_abatement_territorial_tco2e", "achieved_tco2e", "abatement_target_year_tco2e")),
    ("gap_tco2e", "Gap to the target (positive = short)", "tonnes", ("gap_tco2e", "gap_to_target_tco2e")),
    ("financing_gap", "Financing gap", "money", ("financing_gap", "gap_total", "financing_gap_total")),
    ("cost_per_tco2e", "Portfolio cost per tonne", "money_per_t", ("portfolio_cost_per_tco2e",)),
    ("prob_meet_target", "Probability of meeting the target", "share", ("prob_meet_target",)),
    ("budget_runs_out_year", "Carbon budget runs out", "year", ("budget_runs_out_year",)),
]


def key_figures(result) -> list[dict]:
    """The decision's key figures found in ``result.summary``: dicts with id, label, kind, value
    (None where the result does not hold it)."""
    flat = flat_summary(result)
    out = []
    for fid, label, kind, cands in KEY_FIGURES:
        out.append({"id": fid, "label": label, "kind": kind, "value": _lookup(flat, *cands)})
    return out


def format_value(value, kind: str, currency: str = "") -> str:
    """One key figure as text with its unit (escaped)."""
    if value is None or _is_missing(value):
        return DASH
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "money_per_t":
        return f"{fmt_number(value)}{NNBSP}{html.escape(currency)}/t"
    if kind == "tonnes":
        return f"{fmt_number(value)}{NNBSP}{TONNES}"
    if kind == "year":
        return fmt_year(value)
    if kind == "share":
        return fmt_share(value)
    if kind == "count":
        return fmt_number(value)
    return html.escape(str(value))


def summary_table(result) -> pd.DataFrame:
    """Key figures as a two-column table (figure, value with unit) — text, for tables and tests."""
    cur = meta(result)["currency"]
    rows = [(k["label"], html.unescape(format_value(k["value"], k["kind"], cur))) for k in key_figures(result)]
    return pd.DataFrame(rows, columns=["Key figure", "Value"])


def key_figures_html(result) -> str:
    cur = meta(result)["currency"]
    cards = []
    for k in key_figures(result):
        if k["value"] is None:
            continue
        cards.append(f'<div class="ci-keyfig"><div class="ci-value">{format_value(k["value"], k["kind"], cur)}</div>'
                     f'<div class="ci-label">{html.escape(k["label"])}</div></div>')
    if not cards:
        return str(note("The key figures appear here once the portfolio, financing and pathway steps are part of the result."))
    return '<div class="ci-keyfigs">' + "".join(cards) + "</div>"


# ---------------------------------------------------------------------------------------------
# Title page, glossary, assumptions


def _own_css() -> str:
    """The ``.ci-*`` rules of the report stylesheet, so that key figures, notes and the title page
    look the same in JupyterLab (where the exported page's head is absent). Only selectors that
    start with ``.ci-`` are kept: nothing of JupyterLab's own look is touched."""
    from .htmlexport import css

    text = re.sub(r"/\*.*?\*/", "", css(), flags=re.DOTALL)
    text = re.sub(r"@media[^{]*\{(?:[^{}]*\{[^{}]*\})*[^{}]*\}", "", text)  # print rules stay in the page
    rules = re.findall(r"([^{}]+)\{([^{}]*)\}", text)
    keep = [f"{sel.strip()} {{{body.strip()}}}" for sel, body in rules
            if all(part.strip().startswith(".ci-") for part in sel.split(","))]
    return "<style>" + "\n".join(keep).replace("var(--muted)", "#5b6675").replace("var(--rule)", "#d8dde4") \
        .replace("var(--band)", "#f4f6f8").replace("var(--accent)", "#0b6e4f").replace("var(--warn)", "#a4262c") + "</style>"


def title_page(result, date: str | None = None) -> Html:
    """City, cycle and plan years, scenario, date, version — all escaped."""
    m = meta(result)
    date = date or _dt.date.today().isoformat()
    plan = f"{m['plan_years'][0]}–{m['plan_years'][-1]}" if m["plan_years"] else ""
    rows = [("City", f"{m['city']}" + (f" ({m['country']})" if m["country"] else "")),
            ("Budget cycle", f"{m['cycle']} (budget year {m['cycle']}, plan years {plan})" if plan else m["cycle"]),
            ("Scenario", m["title"]),
            ("Scenario file", Path(m["scenario_file"]).name if m["scenario_file"] else DASH),
            ("Perspective", m["perspective"]),
            ("Money", f"{m['currency']}, {m['price_year']} prices, real terms" if m["currency"] else DASH),
            ("Date", date),
            ("climateinvest", m["version"])]
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    return Html(f'{_own_css()}<section class="ci-title"><div class="ci-kicker">Klimatinvesteringsplan · '
                f'{html.escape(str(m["city"]))} · budget {html.escape(str(m["cycle"]))}</div>'
                f'<h1>{html.escape(str(m["title"]))}</h1><dl>{dl}</dl></section>')


GLOSSARY = [
    ("Klimatinvesteringsplan (climate investment plan)", (
        "The part of a city's climate work that says which measures to fund, in which budget year, at "
        "what cost per tonne of CO2e, who pays and whether the portfolio reaches the 2030 target. In "
        "the EU Cities Mission it is the investment plan of the Climate City Contract; this report is "
        "one scenario of such a plan."
    )),
    ("Klimatkontrakt 2030 / Viable Cities", (
        "Viable Cities is a Swedish strategic innovation programme (funded by Vinnova, the Swedish "
        "Energy Agency and Formas). Its Klimatkontrakt 2030 is signed by municipalities, the "
        "programme and government agencies: the cities commit to climate-neutral ambitions by 2030. "
        "It is the Swedish arm of the EU Mission for 100 climate-neutral and smart cities."
    )),
    ("SMHI Nationella emissionsdatabasen", (
        "The national emissions database (RUS/SMHI) that breaks Sweden's greenhouse-gas inventory "
        "down to counties and municipalities by sector (transport, industry, electricity and district "
        "heating, agriculture, machinery, waste, product use, own heating). It is territorial (what is "
        "emitted inside the municipality), published with a delay of about two years; it is the "
        "baseline of the pathway and of the target."
    )),
    ("Klimatklivet", (
        "The Swedish Environmental Protection Agency's (Naturvårdsverket) investment grant for local "
        "and regional measures that cut greenhouse-gas emissions. It pays a share of the investment, "
        "judged by the emission cut per krona. In this report it is a grant in the financing plan."
    )),
    ("Kommuninvest gröna lån (green loans)", (
        "Kommuninvest is the Swedish municipalities' and regions' jointly owned credit institution. "
        "Its green loans finance investment projects that meet environmental criteria; in the "
        "financing plan they are loans with an interest rate and term."
    )),
    ("SKR internränta (internal interest rate)", (
        "Sveriges Kommuner och Regioner (SKR) recommends each year the internal interest rate that "
        "municipalities use to charge the capital cost of investments to their operations. Capital "
        "cost = depreciation + internal interest on book value. The scenario's discount rate follows "
        "it (2.5 % for 2025)."
    )),
    ("ASEK", (
        "The Swedish Transport Administration's (Trafikverket) guidance on economic appraisal values. "
        "Its value of carbon emissions (7 SEK per kg CO2e in ASEK 7.0, 2017 prices, i.e. 7 000 SEK "
        "per tonne) is the usual carbon value of the societal perspective."
    )),
    ("Residual mix, nordisk elmix, ursprungsgarantier (electricity emission factors)", (
        "The emission factor of electricity depends on the accounting convention: the Nordic "
        "production mix (nordisk elmix, low); the Nordic residual mix (what remains after electricity "
        "sold with guarantees of origin is taken out, much higher); guarantees of origin "
        "(ursprungsgarantier, near zero for certified renewable power); or the marginal producer. The "
        "choice decides how much every electrification measure abates, so it is a scenario parameter."
    )),
    ("Budget year and plan years (budgetår, planår)", (
        "Each autumn a Swedish council adopts a budget for the next year together with a plan for the "
        "two years after it (Kommunallagen chapter 11). A budget cycle here is that budget year plus "
        "two plan years; the investment budget is given per year."
    )),
    ("Driftsbudget (operating budget)", (
        "The municipality's yearly operating budget, separate from the investment budget. An "
        "investment reaches it as capital cost (depreciation and internal interest) plus changes in "
        "running and energy costs; the budget impact section shows that effect per year."
    )),
]


def glossary() -> Html:
    """The Swedish terms used in the reports, explained once."""
    items = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in GLOSSARY)
    return Html(f'<dl class="ci-glossary">{items}</dl>')


def _flatten(d: Mapping, prefix: str = "") -> list[tuple[str, Any]]:
    rows = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and v and not all(str(x).isdigit() for x in v):
            rows += _flatten(v, key)
        else:
            rows.append((key, v))
    return rows


def _param_text(v) -> str:
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {fmt_number(x) if isinstance(x, int | float) else x}" for k, x in v.items()) or "{}"
    if v is None:
        return "not set"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float) and abs(v) < 1 and v != 0:
        return f"{v:g}"
    if isinstance(v, int | float) and not isinstance(v, bool):
        return fmt_number(v, 0 if float(v).is_integer() else 3)
    return str(v)


def parameters_table(result) -> pd.DataFrame:
    """Every scenario parameter (flattened ``target.year`` …) with its meaning."""
    from .scenario import Scenario

    s = _scenario_dict(result)
    desc = {k: (f.description or "") for k, f in Scenario.model_fields.items()}
    rows = [(k, html.unescape(_param_text(v)), desc.get(k.split(".")[0], "")) for k, v in _flatten(s)]
    return pd.DataFrame(rows, columns=["Parameter", "Value", "Meaning"])


def input_files_table(result) -> pd.DataFrame:
    """Every input file (scenario, city tables) with its SHA-256."""
    if isinstance(result, SavedResult):
        inputs = result.manifest.get("inputs_sha256") or {}
    else:
        try:
            inputs = result.manifest().get("inputs_sha256") or {}
        except Exception as e:  # noqa: BLE001 - shown, not hidden
            return pd.DataFrame({"File": [f"(hashes unavailable: {e})"], "SHA-256": [""]})
    rows = [(f"{Path(p).parent.name}/{Path(p).name}", h) for p, h in inputs.items()]
    return pd.DataFrame(rows, columns=["File", "SHA-256"])


def sources_markdown(result) -> str | None:
    """The city's ``SOURCES.md`` text, or None."""
    folder = None
    if isinstance(result, SavedResult):
        city = (result.manifest.get("scenario") or {}).get("city")
        folder = Path(city) if city else None
    else:
        folder = getattr(result.city, "path", None) or Path(result.scenario.city)
    if folder is None:
        return None
    folder = Path(folder)
    for cand in (folder / "SOURCES.md", folder.parent / "SOURCES.md" if folder.suffix else None):
        if cand is not None and cand.is_file():
            return cand.read_text(encoding="utf-8", errors="replace")
    return None


def markdown_safe(text: str) -> str:
    """Markdown to HTML with every raw HTML tag escaped, images shown as their text and link
    addresses limited to http(s)/mailto: data never becomes markup, a script or a download."""
    try:
        import mistune
    except ImportError:  # pragma: no cover - nbconvert depends on mistune
        return f"<pre>{html.escape(text)}</pre>"

    class _Renderer(mistune.HTMLRenderer):
        def image(self, text, url, title=None):
            return html.escape(f"[image: {text}] ({url})")

        def heading(self, text, level, **attrs):
            level = min(int(level) + 3, 6)  # below the report's own h2/h3
            return f"<h{level}>{text}</h{level}>\n"

        def link(self, text, url, title=None):
            if not str(url).lower().startswith(("http://", "https://", "mailto:", "#")):
                return text
            return f'<a href="{html.escape(url)}" rel="noreferrer noopener">{text}</a>'

    md = mistune.create_markdown(renderer=_Renderer(escape=True), escape=True,
                                 plugins=["table", "strikethrough", "url"])
    return md(text)


def assumptions(result) -> Html:
    """Appendix: every parameter, every data file with its hash, the sources of every figure."""
    m = meta(result)
    cur = m["currency"]
    parts = ["<h3>Scenario parameters</h3>",
             _p("Every parameter of the scenario file as it was used (defaults included)."),
             table_html(parameters_table(result), cur, kinds={"Value": "text"})]
    notes = (m["scenario"] or {}).get("notes")
    if notes:
        parts += ["<h3>Scenario notes</h3>", f"<pre>{html.escape(str(notes))}</pre>"]
    parts += ["<h3>Input files</h3>",
              _p("The files this report was computed from and their SHA-256 hashes: a file with the "
                 "same hash holds exactly the same data."),
              table_html(input_files_table(result))]
    measures = table(result, "measures")
    if not isinstance(result, SavedResult):
        src = result.city.measures
        if "source" in src.columns:
            parts += ["<h3>Source of each measure's figures</h3>",
                      table_html(src[["measure_id", "name", "source"]], cur)]
    elif measures is not None and "source" in measures.columns:
        parts += ["<h3>Source of each measure's figures</h3>",
                  table_html(measures[["measure_id", "name", "source"]], cur)]
    city_notes = getattr(getattr(result, "city", None), "notes", "")
    if city_notes:
        parts += ["<h3>Notes of the city data</h3>", f"<pre>{html.escape(str(city_notes))}</pre>"]
    text = sources_markdown(result)
    parts.append("<h3>Sources of the city data (SOURCES.md)</h3>")
    if text:
        parts.append(f'<div class="ci-sources">{markdown_safe(text)}</div>')
    else:
        parts.append(str(note("The city folder has no SOURCES.md.")))
    return Html("".join(parts))


def run_info(result) -> Html:
    """Timings of the pipeline steps and notes the steps left (escaped)."""
    timings = getattr(result, "timings", None)
    if isinstance(result, SavedResult):
        timings = result.manifest.get("timings_s")
    parts = []
    flat = flat_summary(result)
    notes = [(k, v) for k, v in flat.items() if k.endswith("notes") and v]
    if notes:
        items = []
        for k, v in notes:
            for n in (v if isinstance(v, list | tuple) else [v]):
                items.append(f"<li>{html.escape(str(n))}</li>")
        parts += ["<h3>Notes from the computation</h3>", f"<ul>{''.join(items)}</ul>"]
    if timings:
        df = pd.DataFrame({"Step": list(timings), "Time [s]": [float(v) for v in timings.values()]})
        parts += ["<h3>Computing time</h3>", table_html(df, kinds={"Time [s]": "number"})]
    return Html("".join(parts))


# ---------------------------------------------------------------------------------------------
# Steps: the step result objects (MaccResult, PortfolioResult …) or a view of their tables


# Per step: the field of its result object that ``ScenarioResult.<step>`` holds, and columns that
# identify each DataFrame field when only tables are at hand.
STEP_MAIN = {"macc": "curve", "portfolio": "chosen", "financing": "allocation", "pathway": "table",
             "uncertainty": "measures"}
_FIELD_SIGNATURE = {
    "financing": {"allocation": {"source_id", "kind", "amount"}, "by_year": {"year", "investment"},
                  "budget_impact": {"year", "depreciation", "net"}},
    "portfolio": {"chosen": {"measure_id", "capex"}, "budget_use": {"year", "spent"}},
}


def step_view(result, step: str):
    """The result object of a pipeline step, if the ScenarioResult keeps it (``<step>_result``,
    ``steps[step]`` or a non-table ``extra[step]``); else a read-only view whose attributes are
    the step's tables (``result.<step>`` and ``extra["<step>_<field>"]``) and its summary.
    None when the result has nothing of the step."""
    from types import SimpleNamespace

    extra = getattr(result, "extra", None) or {}
    steps = getattr(result, "steps", None)
    for cand in (getattr(result, f"{step}_result", None),
                 steps.get(step) if isinstance(steps, Mapping) else None,
                 extra.get(step) if isinstance(extra, Mapping) else None,
                 getattr(result, step, None)):
        if cand is not None and not isinstance(cand, pd.DataFrame | Mapping):
            return cand
    main = table(result, step)
    own = {k[len(step) + 1:]: v for k, v in extra.items()
           if isinstance(k, str) and k.startswith(step + "_") and isinstance(v, pd.DataFrame)}
    if main is None and not own:
        return None
    fields = dict(own)
    if main is not None:
        name = STEP_MAIN.get(step, "table")
        for fname, cols in _FIELD_SIGNATURE.get(step, {}).items():
            if cols <= set(map(str, main.columns)) and fname not in fields:
                name = fname
                break
        fields.setdefault(name, main)
    summ = (getattr(result, "summary", None) or {}).get(step)
    summ = dict(summ) if isinstance(summ, Mapping) else {}
    view = SimpleNamespace(**{k: v for k, v in summ.items() if k not in fields}, **fields)
    view.summary = summ
    return view


def _frames(obj) -> dict[str, pd.DataFrame]:
    if obj is None:
        return {}
    items = ({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
             if dataclasses.is_dataclass(obj) else vars(obj))
    return {k: v for k, v in items.items() if isinstance(v, pd.DataFrame)}


def escape_text_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell HTML-escaped, for plotly labels (which read ``<b>``, ``<a>``)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[col] = s.map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
    return out


def _safe(obj):
    """Escape the text of a table, or of every table of a step object, before plotting."""
    from types import SimpleNamespace

    if isinstance(obj, pd.DataFrame):
        return escape_text_columns(obj)
    frames = _frames(obj)
    if not frames:
        return obj
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        try:
            return dataclasses.replace(obj, **{k: escape_text_columns(v) for k, v in frames.items()})
        except (TypeError, ValueError):
            pass
    view = SimpleNamespace(**(vars(obj) if hasattr(obj, "__dict__") else {}))
    for k, v in frames.items():
        setattr(view, k, escape_text_columns(v))
    return view


def _plot(module: str, func: str):
    """The plotting function ``climateinvest.plots.<module>.<func>``, or None if not there yet."""
    import importlib

    try:
        mod = importlib.import_module(f"climateinvest.plots.{module}")
    except ImportError:
        return None
    return getattr(mod, func, None)


def _scenario_value(result, key, default=None):
    return _scenario_dict(result).get(key, default)


def _macc_year(result):
    s = _scenario_dict(result)
    return s.get("reference_year") or (s.get("target") or {}).get("year")


def _options(result) -> dict:
    """Keyword arguments a plotting function may take (passed only if it names them)."""
    s = _scenario_dict(result)
    societal = s.get("perspective") == "societal"
    target = getattr(getattr(result, "scenario", None), "target", None) or s.get("target")
    return {"currency": meta(result)["currency"],
            "carbon_value": (s.get("carbon_value_per_tco2e") or None) if societal else None,
            "reference_year": _macc_year(result), "target": target,
            "target_year": (s.get("target") or {}).get("year"),
            "plan_years": meta(result)["plan_years"]}


def _call(f, arg, result, **fixed):
    import inspect

    params = inspect.signature(f).parameters
    kw = {k: v for k, v in (_options(result) | fixed).items() if k in params}
    return f(arg, **kw)


def _sector_summary(result):
    view = step_view(result, "macc")
    curve = getattr(view, "curve", None)
    if curve is None or "adjusted_tco2e" not in curve.columns:
        return None
    summ = table(result, "macc_sector_summary", "sector_summary")
    if summ is not None:
        return summ
    from .macc import sector_summary

    return sector_summary(curve)


# section → figures: (plots module, function, what it draws from, caption)
SECTION_FIGURES = {
    "macc": [("macc", "macc_figure", "step",
              ("Each bar is a measure: its width is the tonnes it cuts in the reference year (after "
              "overlaps with the measures to its left), its height the cost per tonne. Bars below "
              "zero save money.")),
             ("macc", "sector_summary_figure", _sector_summary, None)],
    "portfolio": [("portfolio", "phasing_figure", "step", None),
                  ("portfolio", "budget_use_figure", "step", None),
                  ("portfolio", "frontier_figure", "step",
                   ("What a larger or smaller total budget would buy: the most tonnes reachable for each "
                   "budget, against funding down the MAC curve."))],
    "financing": [("finance", "financing_figure", "step", None),
                  ("finance", "debt_service_figure", "step", None),
                  ("finance", "budget_impact_figure", "step", None)],
    "pathway": [("pathway", "pathway_figure", "step", None),
                ("pathway", "carbon_budget_figure", "step", None)],
    "uncertainty": [("uncertainty", "*", "step", None)],
}
# Figures drawn only when the scenario has what they show.
FIGURE_WHEN = {
    "carbon_budget_figure": lambda result: bool(_scenario_dict(result).get("carbon_budget")),
}


def _figure_specs(section: str):
    for module, func, source, caption in SECTION_FIGURES.get(section, []):
        if func != "*":
            yield module, func, source, caption
            continue
        import importlib
        import inspect

        try:
            mod = importlib.import_module(f"climateinvest.plots.{module}")
        except ImportError:
            continue
        funcs = [(n, f) for n, f in vars(mod).items()
                 if n.endswith("_figure") and not n.startswith("_") and inspect.isfunction(f)
                 and f.__module__ == mod.__name__]
        funcs.sort(key=lambda nf: nf[1].__code__.co_firstlineno)
        for n, _ in funcs:
            yield module, n, source, None


def section_figures(result, section: str) -> list:
    """The figures of a report section (``FigureOut``) from the plotting functions that exist.

    A figure that fails becomes a visible error note in the report (and a warning), so a report
    never silently lacks a chart.
    """
    out = []
    view = step_view(result, section)
    if view is None:
        return out
    safe_view = None
    for module, func, source, caption in _figure_specs(section):
        f = _plot(module, func)
        if f is None or not FIGURE_WHEN.get(func, lambda r: True)(result):
            continue
        try:
            if source == "step":
                safe_view = safe_view if safe_view is not None else _safe(view)
                arg = safe_view
            else:
                arg = source(result)
                if arg is None:
                    continue
                arg = _safe(arg)
            fig = _call(f, arg, result)
            if fig is not None:
                out.append(FigureOut(fig, caption))
        except Exception as e:  # noqa: BLE001 - shown in the report and warned
            warnings.warn(f"figure {func} failed: {type(e).__name__}: {e}", stacklevel=2)
            out.append(note(f"The chart {func} could not be drawn: {type(e).__name__}: {e}", "error"))
    return out


# ---------------------------------------------------------------------------------------------
# Report sections

SECTIONS = {
    "measures": ("Candidate measures",
                 ("Every candidate measure appraised alone from the {persp} perspective: investment, "
                 "tonnes, net present value of costs and cost per tonne at a {rate} real discount rate. "
                 "Negative costs are savings.")),
    "macc": ("Marginal abatement cost curve",
             ("Measures ordered from the cheapest tonne to the dearest. With interaction "
             "<em>{interaction}</em>, overlapping measures on one emission source are adjusted so "
             "that no tonne is counted twice.")),
    "portfolio": ("Portfolio and phasing",
                  ("The measures chosen within the yearly investment budgets of the budget cycle, and "
                  "the year each one starts.")),
    "financing": ("Financing and budget impact",
                  ("Who pays for the chosen measures (grants, loans, own funds), what remains unfunded "
                  "(the financing gap), the debt service of the loans and the effect on the "
                  "municipal operating budget (driftsbudget).")),
    "pathway": ("Emission pathway",
                ("Territorial emissions without and with the portfolio against the target of "
                "{reduction} below {base_year} by {target_year}, and the carbon budget.")),
    "uncertainty": ("Uncertainty",
                    ("How the results change when costs, abatement, prices and emission factors vary "
                    "within their stated ranges (Monte Carlo), and which inputs matter most.")),
}

# Tables per section: (field of the step, caption, columns to show first or None for all).
SECTION_TABLES = {
    "measures": [("measures", None, ["measure_id", "name", "sector", "payer", "start_year", "capex",
                                     "grant_share", "lifetime_years", "abatement_tco2e_per_year",
                                     "npv_cost", "cost_per_tco2e", "simple_payback_years"])],
    "macc": [("curve", "Measures on the curve", ["rank", "measure_id", "name", "sector", "capex", "npv_cost",
                                                 "standalone_tco2e", "adjusted_tco2e", "cost_per_tco2e", "note"]),
             ("alternatives", "Alternatives not on the curve (exclusive groups)",
              ["measure_id", "name", "instead_of", "capex", "standalone_tco2e", "adjusted_tco2e",
               "cost_per_tco2e", "note"]),
             ("excluded", "Measures without abatement in the reference year",
              ["measure_id", "name", "sector", "capex", "standalone_tco2e", "reason"]),
             ("reconciliation", "Overlaps per emission source",
              ["source_id", "sector", "scope", "baseline_tco2e", "standalone_sum_tco2e",
               "adjusted_sum_tco2e", "remaining_tco2e", "double_count_avoided_tco2e"])],
    "portfolio": [("chosen", "Chosen measures", ["measure_id", "name", "payer", "start_year", "capex",
                                                 "capex_in_cycle", "capex_after_cycle", "adjusted_tco2e",
                                                 "npv_cost", "cost_per_tco2e"]),
                  ("budget_use", "Budget use per plan year", None),
                  ("comparison", "Optimised portfolio against funding down the MAC curve", None)],
    "financing": [("by_year", "Financing per year", None),
                  ("budget_impact", "Effect on the driftsbudget per year", None),
                  ("debt_service", "Debt service per year", None)],
    "pathway": [("table", "Emissions in selected years", ["year", "baseline_territorial_tco2e",
                                                           "abatement_territorial_tco2e",
                                                           "with_portfolio_territorial_tco2e", "target_tco2e",
                                                           "with_portfolio_indirect_tco2e",
                                                           "cumulative_from_budget_year_tco2e",
                                                           "carbon_budget_remaining_tco2e"])],
    "uncertainty": [("portfolio", "The portfolio under uncertainty", None),
                    ("measures", "Cost per tonne of each measure under uncertainty",
                     ["measure_id", "name", "cost_per_tco2e", "cost_per_tco2e_p10", "cost_per_tco2e_p50",
                      "cost_per_tco2e_p90", "prob_saves_money", "prob_abates"]),
                    ("selection_frequency", "How often each measure is chosen over the draws",
                     ["measure_id", "share_of_draws_chosen", "chosen_in_base", "method", "draws"]),
                    ("tornado", "Sensitivity (one input at a time)", None)],
}

_MISSING = {
    "macc": "The MAC curve is not part of this result.",
    "portfolio": "The portfolio selection is not part of this result.",
    "financing": "The financing plan is not part of this result.",
    "pathway": "The emission pathway is not part of this result.",
    "uncertainty": "No uncertainty analysis in this scenario (set monte_carlo in the scenario file to add one).",
}


def _intro(result, section: str) -> str:
    s = _scenario_dict(result)
    target = s.get("target") or {}
    text = SECTIONS[section][1].format(
        persp=html.escape(str(s.get("perspective", ""))),
        rate=fmt_share(s.get("discount_rate"), 1),
        interaction=html.escape(str(s.get("interaction", ""))),
        reduction=fmt_share(target.get("reduction"), 0),
        base_year=html.escape(str(target.get("base_year", ""))),
        target_year=html.escape(str(target.get("year", ""))))
    return _p(text)


def _key_years(df: pd.DataFrame, result) -> pd.DataFrame:
    """Rows of a yearly table worth reading: the plan years, the target year, every fifth year."""
    if "year" not in df.columns or len(df) <= 15:
        return df
    s = _scenario_dict(result)
    keep = set(meta(result)["plan_years"]) | {(s.get("target") or {}).get("year"), (s.get("target") or {}).get("base_year")}
    years = pd.to_numeric(df["year"], errors="coerce")
    mask = years.isin(keep) | (years % 5 == 0) | (years == years.min()) | (years == years.max())
    return df[mask.fillna(False).to_numpy(bool)]


def section_tables(result, section: str) -> list[tuple[str | None, pd.DataFrame]]:
    """(caption, table) pairs of a section, in reading order: the tables worth reading, with the
    columns worth reading (long yearly tables cut to key years). Every table, complete, is in the
    scenario's XLSX and CSV files."""
    if section == "measures":
        df = table(result, "measures")
        specs = SECTION_TABLES["measures"]
        return [(None, _columns(df, specs[0][2]))] if df is not None else []
    view = step_view(result, section)
    frames = _frames(view)
    out, seen = [], set()
    for fname, caption, cols in SECTION_TABLES.get(section, []):
        df = frames.get(fname)
        seen.add(fname)
        if df is None or not len(df):
            continue
        out.append((caption, _columns(_key_years(df, result), cols)))
    return out


def _columns(df: pd.DataFrame, cols) -> pd.DataFrame:
    if not cols:
        return df
    keep = [c for c in cols if c in df.columns]
    return df[keep] if len(keep) >= 2 else df


def has_section(result, section: str) -> bool:
    return step_view(result, section) is not None


def _step_notes(result, section: str) -> list[str]:
    view = step_view(result, section)
    notes = []
    for source in (getattr(view, "notes", None), (getattr(view, "summary", None) or {}).get("notes")
                   if isinstance(getattr(view, "summary", None), Mapping) else None):
        if isinstance(source, str):
            source = [source]
        for n in source or []:
            if n and str(n) not in notes:
                notes.append(str(n))
    for attr in ("status", "message"):
        v = getattr(view, attr, None)
        if isinstance(v, str) and v and section == "portfolio":
            notes.insert(0, f"{attr.capitalize()}: {v}")
    return notes


def section(result, name: str) -> list:
    """The displayable parts of a report section: heading, intro, figures, tables (or a note)."""
    title = SECTIONS[name][0]
    parts: list = [Html(f"<h2>{html.escape(title)}</h2>")]
    if name != "measures" and not has_section(result, name):
        parts.append(note(_MISSING[name]))
        return parts
    parts.append(Html(_intro(result, name)))
    if name != "measures":
        notes = _step_notes(result, name)
        if notes:
            parts.append(Html('<ul class="ci-notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"))
    parts += section_figures(result, name)
    cur = meta(result)["currency"]
    for caption, df in section_tables(result, name):
        if caption:
            parts.append(Html(f"<h3>{html.escape(caption)}</h3>"))
        parts.append(Html(table_html(df, cur)))
    return parts


def decision_summary(result) -> list:
    """Section 1: the decision in key figures, what to fund and the investment per year."""
    parts: list = [Html("<h2>Summary of the decision</h2>"), Html(key_figures_html(result))]
    cur = meta(result)["currency"]
    frames = _frames(step_view(result, "portfolio"))
    chosen = frames.get("chosen")
    if chosen is not None:
        cols = ["name", "sector", "start_year", "capex", "adjusted_tco2e", "cost_per_tco2e"]
        parts += [Html("<h3>What to fund</h3>"),
                  Html(_p(f"{len(chosen)} measures, in the order of their cost per tonne.")),
                  Html(table_html(_columns(chosen, cols), cur))]
    by_year = _frames(step_view(result, "financing")).get("by_year")
    budget_use = frames.get("budget_use")
    if budget_use is not None:
        parts += [Html("<h3>Investment per year against the budget</h3>"), Html(table_html(budget_use, cur))]
    if by_year is not None:
        parts += [Html("<h3>Investment and financing per year</h3>"), Html(table_html(by_year, cur))]
    return parts

# ---------------------------------------------------------------------------------------------
# Notebook entry points (one call per cell)


def show_title(result, date: str | None = None) -> None:
    _display(title_page(result, date))


def show_summary(result) -> None:
    _display(*decision_summary(result))


def show_section(result, name: str) -> None:
    _display(*section(result, name))


def show_glossary() -> None:
    _display(Html("<h2>Terms used in this report</h2>"), glossary())


def show_assumptions(result) -> None:
    _display(Html("<h2>Appendix: assumptions, parameters and sources</h2>"), assumptions(result), run_info(result))


def save_result(result, output_dir: str | None) -> str | None:
    """``result.save(output_dir)`` (CSV per table, XLSX, manifest.json); nothing if ``output_dir``
    is empty. Returns the folder written."""
    if not output_dir:
        return None
    return str(result.save(output_dir))


# ---------------------------------------------------------------------------------------------
# Comparison across scenarios


def _label(result) -> str:
    return str(meta(result)["title"])


def comparison_title(results, date: str | None = None) -> Html:
    ms = [meta(r) for r in results]
    cities = sorted({str(m["city"]) for m in ms})
    cycles = sorted({str(m["cycle"]) for m in ms})
    date = date or _dt.date.today().isoformat()
    from . import __version__

    rows = [("City", ", ".join(cities)), ("Budget cycle", ", ".join(cycles)),
            ("Scenarios", str(len(results))), ("Date", date), ("climateinvest", __version__)]
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    items = "".join(f"<li>{html.escape(m['title'])}</li>" for m in ms)
    return Html(f'{_own_css()}<section class="ci-title"><div class="ci-kicker">Klimatinvesteringsplan · scenario comparison</div>'
                f'<h1>Scenario comparison, budget {html.escape(", ".join(cycles))}</h1><dl>{dl}</dl>'
                f"<ol>{items}</ol></section>")


def compare_key_figures(results) -> pd.DataFrame:
    """Key figures side by side: one row per figure, one column per scenario (text values)."""
    cols = {}
    for r in results:
        cur = meta(r)["currency"]
        cols[_unique(cols, _label(r))] = [html.unescape(format_value(k["value"], k["kind"], cur)) for k in key_figures(r)]
    return pd.DataFrame({"Key figure": [k[1] for k in KEY_FIGURES]} | cols)


def _unique(existing, label):
    out, i = label, 2
    while out in existing:
        out, i = f"{label} ({i})", i + 1
    return out


def compare_parameters(results) -> pd.DataFrame:
    """The scenario parameters that differ between the scenarios (text values)."""
    flat = [{k: html.unescape(_param_text(v)) for k, v in _flatten(_scenario_dict(r))} for r in results]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    diff = [k for k in keys if len({f.get(k, DASH) for f in flat}) > 1 and k != "title"]
    cols = {}
    for r, f in zip(results, flat):
        cols[_unique(cols, _label(r))] = [f.get(k, DASH) for k in diff]
    return pd.DataFrame({"Parameter": diff} | cols)


def _chosen_ids(result) -> list[str] | None:
    port = _frames(step_view(result, "portfolio")).get("chosen")
    if port is None or "measure_id" not in port.columns:
        return None
    for col in ("selected", "chosen", "funded"):
        if col in port.columns:
            return port.loc[port[col].astype(bool), "measure_id"].astype(str).tolist()
    return port["measure_id"].astype(str).tolist()


def compare_measures(results) -> pd.DataFrame | None:
    """Which measures each scenario funds, against the first scenario: "funded", "enters",
    "leaves" or "–"; None if no scenario has a portfolio."""
    chosen = [_chosen_ids(r) for r in results]
    if all(c is None for c in chosen):
        return None
    names = {}
    for r in results:
        m = table(r, "measures")
        if m is not None and "measure_id" in m.columns:
            names.update(zip(m["measure_id"].astype(str), m.get("name", m["measure_id"]).astype(str)))
    ids = list(dict.fromkeys(i for c in chosen if c for i in c))
    base = set(chosen[0] or [])
    cols = {}
    for k, (r, c) in enumerate(zip(results, chosen)):
        s = set(c or [])
        if k == 0:
            vals = ["funded" if i in s else DASH for i in ids]
        else:
            vals = ["funded" if i in s and i in base else "enters" if i in s else "leaves" if i in base else DASH
                    for i in ids]
        cols[_unique(cols, _label(r))] = vals
    return pd.DataFrame({"measure_id": ids, "name": [names.get(i, i) for i in ids]} | cols)


def compare_financing(results) -> pd.DataFrame | None:
    """Financing totals per scenario (investment, grants, loans, own funds, gap, peaks)."""
    keys = [("investment_total", "Investment (city)", "money"), ("grant_total", "Grants", "money"),
            ("loan_total", "Loans", "money"), ("own_funds_total", "Own funds", "money"),
            ("gap_total", "Financing gap", "money"), ("peak_debt_service", "Peak debt service per year", "money"),
            ("peak_net_budget_impact", "Peak net effect on the driftsbudget per year", "money")]
    cols, any_value = {}, False
    for r in results:
        flat, cur = flat_summary(r), meta(r)["currency"]
        vals = []
        for key, _, kind in keys:
            v = _lookup(flat, key)
            any_value |= v is not None
            vals.append(html.unescape(format_value(v, kind, cur)))
        cols[_unique(cols, _label(r))] = vals
    if not any_value:
        return None
    return pd.DataFrame({"Financing": [k[1] for k in keys]} | cols)


def pathways_figure(results):
    """Territorial emissions with each scenario's portfolio, overlaid, plus the baseline and the
    target of the first scenario; None without pathway tables."""
    import plotly.graph_objects as go

    fig = go.Figure()
    drawn, x_max = False, None
    cycle = meta(results[0])["cycle"] if results else None
    for k, r in enumerate(results):
        p = _frames(step_view(r, "pathway")).get("table")
        if p is None or "year" not in p.columns:
            continue
        col = next((c for c in ("with_portfolio_territorial_tco2e", "with_portfolio_tco2e", "emissions_tco2e") if c in p.columns), None)
        if col is None:
            continue
        if not drawn:
            for ref, name, dash in (("baseline_territorial_tco2e", "Baseline", "dot"), ("target_tco2e", "Target level", "dash")):
                if ref in p.columns:
                    fig.add_trace(go.Scatter(x=p["year"], y=p[ref], name=name, mode="lines",
                                             line={"color": "#666666", "dash": dash}))
        fig.add_trace(go.Scatter(x=p["year"], y=p[col], name=html.escape(_label(r)), mode="lines"))
        x_max = max(x_max or 0, int(pd.to_numeric(p["year"]).max()))
        drawn = True
    if not drawn:
        return None
    cycle = meta(results[0])["cycle"]
    fig.update_layout(title="Territorial emissions with each scenario's portfolio", xaxis_title="Year",
                      yaxis_title=f"Emissions [{TONNES}/year]", separators=". ", hovermode="x unified",
                      legend={"orientation": "h", "y": -0.2}, template="plotly_white")
    with contextlib.suppress(ImportError):
        from .plots import style

        style.apply(fig)
    # years are not thousands; start a few years before the budget cycle, where the choices act
    fig.update_xaxes(separatethousands=False, tickformat="d")
    if isinstance(cycle, int) and x_max is not None:
        fig.update_xaxes(range=[cycle - 8, x_max])
    return fig


def financing_compare_figure(results):
    """Stacked bars per scenario: grants, loans, own funds and the financing gap [currency];
    None without financing summaries."""
    import plotly.graph_objects as go

    kinds = [("grant_total", "Grants", "#1b7837"), ("loan_total", "Loans", "#2166ac"),
             ("own_funds_total", "Own funds", "#762a83"), ("gap_total", "Financing gap", "#d7301f")]
    labels = [html.escape(_label(r)) for r in results]
    flats = [flat_summary(r) for r in results]
    if not any(_lookup(f, k) is not None for f in flats for k, _, _ in kinds):
        return None
    fig = go.Figure()
    for key, name, colour in kinds:
        fig.add_trace(go.Bar(x=labels, y=[_lookup(f, key) or 0.0 for f in flats], name=name, marker_color=colour,
                             hovertemplate="%{x}<br>" + name + ": %{y:,.0f}<extra></extra>"))
    cur = meta(results[0])["currency"]
    fig.update_layout(barmode="stack", title="Financing of each scenario's portfolio",
                      yaxis_title=f"Investment [{html.escape(cur)}]", separators=". ",
                      legend={"orientation": "h", "y": -0.25})
    with contextlib.suppress(ImportError):
        from .plots import style

        style.apply(fig)
    return fig


def show_comparison_title(results, date: str | None = None) -> None:
    _display(comparison_title(results, date))


def show_comparison(results, part: str) -> None:
    """One part of the comparison report: ``key_figures``, ``parameters``, ``pathways``,
    ``measures`` or ``financing``."""
    heads = {"key_figures": "Key figures side by side", "parameters": "Parameters that differ",
             "pathways": "Pathways", "measures": "Measures entering or leaving the portfolio",
             "financing": "Financing"}
    parts: list = [Html(f"<h2>{html.escape(heads[part])}</h2>")]
    if not results:
        parts.append(note("No scenario to compare."))
    elif part == "key_figures":
        parts.append(Html(table_html(compare_key_figures(results), kinds={})))
    elif part == "parameters":
        df = compare_parameters(results)
        parts.append(Html(table_html(df)) if len(df) else note("The scenarios have the same parameters apart from their titles."))
    elif part == "pathways":
        fig = pathways_figure(results)
        parts.append(FigureOut(fig) if fig is not None else note("No scenario has an emission pathway in its result."))
    elif part == "measures":
        df = compare_measures(results)
        if df is None:
            parts.append(note("No scenario has a portfolio in its result."))
        else:
            parts += [Html(_p(f"Against the first scenario, <em>{html.escape(_label(results[0]))}</em>: "
                              "“enters” = funded here but not there, “leaves” = funded there but not here.")),
                      Html(table_html(df))]
    elif part == "financing":
        df = compare_financing(results)
        if df is None:
            parts.append(note("No scenario has a financing plan in its result."))
        else:
            fig = financing_compare_figure(results)
            parts += ([FigureOut(fig)] if fig is not None else []) + [Html(table_html(df))]
    _display(*parts)


# ---------------------------------------------------------------------------------------------
# Interactive explorer (JupyterLab)


class Explorer:
    """Sliders and choices that recompute a scenario (without Monte Carlo) and redraw the MAC curve
    and the portfolio.

    The recomputation calls the pipeline's steps directly, in two stages, so the curve moves at
    once and the portfolio follows: ``update_curve`` (cash flows, cached per factor set and price
    path; appraisal; MAC curve — hundredths of a second) and ``update_portfolio`` (the budget
    MILP, without the efficient frontier, its time limit capped at ``portfolio_time_limit_s``).
    Both return the seconds they took.
    """

    portfolio_time_limit_s = 5.0

    def __init__(self, scenario_path: str | Path):
        from .data import load_city
        from .scenario import load_scenario

        self.base = load_scenario(scenario_path)
        self.city = load_city(self.base.city)
        self._flows: dict = {}
        self.scenario_now = self.base
        self.result = None
        self.seconds: dict[str, float] = {}

    def factor_sets(self) -> list[str]:
        ef = self.city.emission_factors
        carriers = ef["carrier"].astype(str).str.lower()
        sets = ef.loc[carriers.str.startswith("electric"), "factor_set"] if carriers.str.startswith("electric").any() \
            else ef["factor_set"]
        return sorted({str(s) for s in sets if s != "*"}) or [self.base.emission_factor_set]

    def scenario(self, discount_rate=None, carbon_value=None, budget_multiplier=1.0, factor_set=None,
                 interaction=None, perspective=None):
        b = self.base
        changes = {"monte_carlo": None,
                   "solver_time_limit_s": min(b.solver_time_limit_s, self.portfolio_time_limit_s)}
        if discount_rate is not None:
            changes["discount_rate"] = float(discount_rate)
        if carbon_value is not None:
            changes["carbon_value_per_tco2e"] = float(carbon_value)
        if budget_multiplier is not None:
            changes["investment_budget"] = {y: float(v) * float(budget_multiplier) for y, v in b.investment_budget.items()}
        if factor_set:
            changes["emission_factor_set"] = factor_set
        if interaction:
            changes["interaction"] = interaction
        if perspective:
            changes["perspective"] = perspective
        return b.with_changes(**changes)

    def update_curve(self, **changes) -> float:
        """Recompute cash flows (cached), appraisal and the MAC curve; the portfolio is cleared."""
        from .appraisal import appraise
        from .cashflows import build_flows
        from .data import check_against_scenario
        from .macc import build_macc
        from .run import ScenarioResult

        t0 = time.perf_counter()
        s = self.scenario(**changes)
        city = self.city
        key = (s.price_path, s.emission_factor_set, s.budget_cycle)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if key not in self._flows:
                check_against_scenario(city, s.price_path, s.emission_factor_set)
                start = city.measures["earliest_start_year"].clip(lower=s.budget_cycle).to_numpy(int)
                self._flows[key] = build_flows(city, s.price_path, s.emission_factor_set, start)
            flows = self._flows[key]
            measures = appraise(flows, city, s.discount_rate, s.perspective, s.carbon_value_per_tco2e,
                                s.discount_abatement)
            macc = build_macc(measures, flows, city, s)
        r = ScenarioResult(scenario=s, city=city, flows=flows, measures=measures, macc=macc.curve)
        r.steps = {"macc": macc}
        self.scenario_now, self.result = s, r
        self.seconds["curve"] = time.perf_counter() - t0
        return self.seconds["curve"]

    def update_portfolio(self) -> float:
        """Choose the portfolio for the scenario of the last ``update_curve``."""
        from .portfolio import select_portfolio

        t0 = time.perf_counter()
        r, s = self.result, self.scenario_now
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            port = select_portfolio(self.city, s, r.measures, r.steps["macc"].curve, frontier=False)
        r.portfolio = port.chosen
        r.steps["portfolio"] = port
        r.summary = {"portfolio": port.summary()}
        self.seconds["portfolio"] = time.perf_counter() - t0
        return self.seconds["portfolio"]

    def update(self, **changes) -> float:
        """Both stages; the total seconds."""
        return self.update_curve(**changes) + self.update_portfolio()

    def curve_figure(self):
        figs = [f for f in section_figures(self.result, "macc") if isinstance(f, FigureOut)]
        return figs[0] if figs else note("No MAC curve could be drawn.")

    def portfolio_figure(self):
        figs = [f for f in section_figures(self.result, "portfolio") if isinstance(f, FigureOut)]
        return figs[0] if figs else note("No portfolio figure could be drawn.")

    def portfolio_text(self) -> Html:
        p = self.result.steps.get("portfolio")
        if p is None:
            return Html("")
        cur = html.escape(self.city.currency)
        chosen = p.chosen
        capex = float(chosen["capex"].sum()) if "capex" in chosen.columns else float("nan")
        return Html(f"<p><b>{len(chosen)}</b> measures chosen, investment <b>{fmt_number(capex)}{NNBSP}{cur}</b>, "
                    f"<b>{fmt_number(p.achieved_tco2e)}{NNBSP}{TONNES}</b> in {int(p.target_year)} "
                    f"(shortfall {fmt_number(p.shortfall_tco2e)}{NNBSP}{TONNES}); solver: {html.escape(str(p.status))}.</p>")

    def widget(self):
        import ipywidgets as w
        from IPython.display import display

        b = self.base
        style = {"description_width": "12rem"}
        layout = w.Layout(width="36rem")
        rate = w.FloatSlider(value=b.discount_rate, min=0.0, max=0.08, step=0.0025, readout_format=".2%",
                             description="Discount rate (real)", continuous_update=False, style=style, layout=layout)
        cv = w.FloatSlider(value=b.carbon_value_per_tco2e or 7000.0, min=0.0, max=15000.0, step=250.0,
                           readout_format=",.0f", description=f"Carbon value [{self.city.currency}/t]",
                           continuous_update=False, style=style, layout=layout)
        budget = w.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.05, readout_format=".2f",
                               description="Budget × (every plan year)", continuous_update=False, style=style,
                               layout=layout)
        sets = self.factor_sets()
        fs = w.Dropdown(options=sets, value=b.emission_factor_set if b.emission_factor_set in sets else sets[0],
                        description="Electricity factor set", style=style, layout=layout)
        inter = w.ToggleButtons(options=["sequential", "independent"], value=b.interaction,
                                description="Interaction", style=style)
        persp = w.ToggleButtons(options=["municipal", "societal"], value=b.perspective,
                                description="Perspective", style=style)
        status = w.HTML()
        curve_out, port_out = w.Output(), w.Output()

        def redraw(*_):
            try:
                t_curve = self.update_curve(discount_rate=rate.value, carbon_value=cv.value,
                                            budget_multiplier=budget.value, factor_set=fs.value,
                                            interaction=inter.value, perspective=persp.value)
                with curve_out:
                    curve_out.clear_output(wait=True)
                    display(self.curve_figure())
                status.value = f'<span class="ci-muted">curve recomputed in {t_curve:.2f} s; portfolio …</span>'
                t_port = self.update_portfolio()
                with port_out:
                    port_out.clear_output(wait=True)
                    display(self.portfolio_text(), self.portfolio_figure())
                status.value = (f'<span class="ci-muted">curve {t_curve:.2f} s, portfolio {t_port:.2f} s '
                                f"(without Monte Carlo and frontier)</span>")
            except Exception as e:  # noqa: BLE001 - an explorer shows the problem and stays usable
                status.value = f'<span class="ci-failed">{html.escape(type(e).__name__)}: {html.escape(str(e))}</span>'

        for control in (rate, cv, budget, fs, inter, persp):
            control.observe(redraw, names="value")
        redraw()
        head = w.HTML(f"<b>{html.escape(b.title)}</b> — {html.escape(self.city.name)}")
        return w.VBox([head, rate, cv, budget, fs, inter, persp, status, curve_out, port_out])


def explorer(scenario_path: str | Path):
    """The explorer's widget for a scenario file (display it in JupyterLab)."""
    return Explorer(scenario_path).widget()

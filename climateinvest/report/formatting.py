"""Numbers, column headers and tables for the reports, and the escaping every text gets.

Safety rules, applied everywhere a text reaches HTML:

- every user or data text (measure names, sectors, scenario titles, notes, SOURCES.md, error
  messages) is escaped with ``html.escape`` (tables: ``Styler.format(escape="html")``);
- texts handed to plotly are escaped too (``escape_text_columns``), because plotly reads a small
  HTML subset in labels (``<b>``, ``<a href>``): markup in a name is shown as text, never as markup;
- markdown (SOURCES.md, notebook cells) goes through ``markdown_safe``: raw HTML is escaped.

Numbers: thousands separated by a narrow no-break space (U+202F, "12 345 678" as in Swedish
typography), a decimal point, a real minus sign; units in the column headers
("Investment [SEK]", "Abatement [t CO2e/yr]").
"""
from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

NNBSP = "\u202f"   # narrow no-break space: thousands separator
MINUS = "\u2212"
DASH = "–"         # shown for a missing value
TONNES = "t CO2e"

# ---------------------------------------------------------------------------------------------
# Number formatting


def is_missing(x) -> bool:
    """None, NA, NaT or NaN."""
    if x is None or x is pd.NA or x is pd.NaT:
        return True
    try:
        return bool(isinstance(x, float | np.floating) and math.isnan(x))
    except TypeError:
        return False


def fmt_number(x, decimals: int = 0) -> str:
    """``12345678.9`` → ``"12 345 679"`` (narrow no-break spaces), NaN → "–", inf → "∞"."""
    if is_missing(x):
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
    if is_missing(x):
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
    """A year as plain digits (no thousands separator), or a dash when missing."""
    if is_missing(x):
        return DASH
    try:
        return str(int(x))
    except (TypeError, ValueError):
        return html.escape(str(x))


def fmt_years(x) -> str:
    """A duration in years: one decimal, ``inf`` → "never"."""
    if is_missing(x):
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
    """The kind of a column from its name (docs/architecture.md section 3: names carry their unit, money none).

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
        "bool": lambda x: DASH if is_missing(x) else ("yes" if x else "no"),
    }.get(kind, _auto_number)


def _auto_number(x) -> str:
    if is_missing(x):
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
    wide_text = [lab for col, lab in zip(df.columns, new_cols, strict=True)
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


def format_value(value, kind: str, currency: str = "") -> str:
    """One key figure as text with its unit (escaped); ``kind`` as in ``column_kind``."""
    if value is None or is_missing(value):
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


# ---------------------------------------------------------------------------------------------
# Escaping


def escape_text_columns(df: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell HTML-escaped, for plotly labels (which read ``<b>``, ``<a>``)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[col] = s.map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
    return out


def markdown_safe(text: str) -> str:
    """Markdown to HTML with every raw HTML tag escaped, images shown as their text and link
    addresses limited to http(s)/mailto: data never becomes markup, a script or a download.
    """
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


"""Numbers, column headers and tables for the reports, and the escaping every text gets.

Safety rules, applied everywhere a text reaches HTML:

- every user or data text (measure names, sectors, scenario titles, notes, SOURCES.md, error
  messages) is escaped with ``html.escape`` (table cells and headers too);
- texts handed to plotly are escaped too (``escape_text_columns``), because plotly reads a small
  HTML subset in labels (``<b>``, ``<a href>``): markup in a name is shown as text, never as markup;
- markdown (SOURCES.md, notebook cells) goes through ``markdown_safe``: raw HTML is escaped.

Numbers follow the report's language (``report.i18n``): thousands separated by a narrow no-break
space (U+202F, "12 345 678"), a decimal comma in Swedish and a point in English, a real minus
sign. Column headers, units and kinds come from the output column registry
(``climateinvest.io.output_columns``), never from guessing at a column's name: money in tables in
thousands ("tkr"), in key figures and sentences in millions ("125,7 mnkr").
"""
from __future__ import annotations

import html
import itertools
import math
import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd

from climateinvest.io.output_columns import OutputColumn, currency_unit, lookup, value_label
from climateinvest.report.i18n import current, lang, t

NNBSP = "\u202f"   # narrow no-break space: thousands separator
MINUS = "\u2212"
DASH = "–"         # shown for a missing value
TONNES = "t CO₂e"
TABLE_MONEY_SCALE = "k"          # money in report tables: thousands (tkr)
CODED_TEXT = ("payer", "scope", "kind", "sector", "portfolio", "status", "tie_break", "actor", "control",
              "measure_status")  # cells in value_label
WIDE_TEXT = ("name", "note", "reason", "instead_of", "source", "meaning")

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


def yes_no(x) -> str:
    """``True`` → "ja"/"yes", ``False`` → "nej"/"no", missing → "–"."""
    return DASH if is_missing(x) else t("yes" if x else "no")


def fmt_number(x, decimals: int = 0) -> str:
    """``12345678.9`` → ``"12 345 679"`` (narrow no-break spaces; decimal comma in Swedish),
    NaN → "–", inf → "∞".
    """
    if is_missing(x):
        return DASH
    if isinstance(x, bool | np.bool_):
        return yes_no(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    if math.isinf(v):
        return "∞" if v > 0 else MINUS + "∞"
    s = f"{abs(v):,.{decimals}f}"
    if not s.strip("0.,"):
        v = 0.0  # rounds to zero: no "−0"
    point = "," if lang() == "sv" else "."
    s = s.replace(",", NNBSP).replace(".", point)
    return (MINUS + s) if v < 0 else s


def fmt_share(x, decimals: int = 1, sign: bool = True) -> str:
    """``0.254`` → ``"25,4 %"`` (``sign=False``: ``"25,4"``, for a column headed %)."""
    if is_missing(x):
        return DASH
    try:
        v = float(x)
    except (TypeError, ValueError):
        return html.escape(str(x))
    return fmt_number(v * 100, decimals) + (NNBSP + "%" if sign else "")


def fmt_money(x, currency: str | None = None, scale: str = "M") -> str:
    """Money with its unit, by default in millions with one decimal: ``"125,7 mnkr"``
    (``scale=""``: whole units, ``"k"``: thousands).
    """
    currency = current().currency if currency is None else currency
    factor = {"": 1.0, "k": 1e3, "M": 1e6}[scale]
    s = DASH if is_missing(x) else fmt_number(float(x) / factor, 1 if scale == "M" else 0)
    unit = currency_unit(currency, lang(), scale) if currency else ""
    return s if s == DASH or not unit else f"{s}{NNBSP}{html.escape(unit)}"


def fmt_tonnes(x, per_year: bool = False) -> str:
    """``1234.4`` → ``"1 234 t CO₂e"`` (``per_year``: ``"t CO₂e/år"``)."""
    s = fmt_number(x, 0)
    return s if s == DASH else f"{s}{NNBSP}{TONNES}" + (t("per_year") if per_year else "")


def fmt_year(x) -> str:
    """A year as plain digits (no thousands separator), or a dash when missing."""
    if is_missing(x):
        return DASH
    try:
        return str(int(x))
    except (TypeError, ValueError):
        return html.escape(str(x))


def fmt_years(x) -> str:
    """A duration in years: one decimal, ``inf`` → "aldrig"/"never"."""
    if is_missing(x):
        return DASH
    try:
        if math.isinf(float(x)):
            return t("never")
    except (TypeError, ValueError):
        return html.escape(str(x))
    return fmt_number(x, 1)


def _auto_number(x) -> str:
    if is_missing(x):
        return DASH
    if isinstance(x, bool | np.bool_):
        return yes_no(x)
    if isinstance(x, int | np.integer):
        return fmt_number(x, 0)
    if isinstance(x, float | np.floating):
        v = abs(float(x))
        return fmt_number(x, 0 if v >= 100 or v == 0 else (1 if v >= 10 else 2))
    return html.escape(str(x))


def cell_formatter(kind: str):
    """How a cell of a column of ``kind`` is written (HTML-escaped text)."""
    scale = 1e3 if TABLE_MONEY_SCALE == "k" else 1.0
    return {
        "year": fmt_year,
        "years": fmt_years,
        "share": lambda x: fmt_share(x, sign=False),
        "count": lambda x: fmt_number(x, 0),
        "money": lambda x: DASH if is_missing(x) else fmt_number(float(x) / scale, 0),
        "money_per_tonne": lambda x: fmt_number(x, 0),
        "money_eur": lambda x: DASH if is_missing(x) else fmt_number(float(x) / scale, 0),
        "money_eur_per_tonne": lambda x: DASH if is_missing(x) else fmt_number(x, 0),
        "tonnes": lambda x: fmt_number(x, 0),
        "tonnes_per_year": lambda x: fmt_number(x, 0),
        "flag": yes_no,
        "text": lambda x: DASH if is_missing(x) else html.escape(str(x)),
        "id": lambda x: DASH if is_missing(x) else html.escape(str(x)),
        "preformatted": lambda x: DASH if is_missing(x) else html.escape(str(x)),
    }.get(kind, _auto_number)


def format_value(value, kind: str, currency: str | None = None) -> str:
    """One key figure as text with its unit (escaped): money in millions ("125,7 mnkr"),
    tonnes ("1 234 t CO₂e"), money per tonne ("−205 kr/t CO₂e"), shares, years, counts.
    """
    currency = current().currency if currency is None else currency
    if value is None or is_missing(value):
        return DASH
    if kind == "money":
        return fmt_money(value, currency)
    if kind == "money_per_tonne":
        return f"{fmt_number(value)}{NNBSP}{html.escape(currency_unit(currency, lang()))}/t{NNBSP}CO₂e"
    if kind in ("tonnes", "tonnes_per_year"):
        return fmt_tonnes(value, kind == "tonnes_per_year")
    if kind == "year":
        return fmt_year(value)
    if kind == "share":
        return fmt_share(value)
    if kind == "count":
        return fmt_number(value)
    return html.escape(str(value))


# ---------------------------------------------------------------------------------------------
# Tables


def describe(column, table: str | None = None) -> OutputColumn | None:
    """The registry's description of a column of a saved table, with the current city's
    funding-source and sector names for its family columns.
    """
    ctx = current()
    return lookup(column, table, funding_sources=ctx.funding_sources, sectors=ctx.sectors)


_IDS = itertools.count(1)


def stable_id(prefix: str) -> str:
    """The next HTML id of this process (``t1``, ``t2`` …): a report executed top to bottom gets
    the same ids on every run, unlike pandas' and plotly's random ones.
    """
    return f"{prefix}{next(_IDS)}"


def table_html(df: pd.DataFrame, *, table: str | None = None, kinds: Mapping[str, str] | None = None,
               labels: Mapping[str, str] | None = None, caption: str | None = None,
               max_rows: int | None = None, row_classes: list[str] | None = None) -> str:
    """``df`` as an HTML table for a report: headers and units from the column registry (for
    the saved table ``table``), numbers right-aligned in the report's language, coded words
    (payer, scope, sector …) translated, every text HTML-escaped, no index.

    ``labels`` / ``kinds`` give the header and kind of a column the registry does not hold (the
    report's own tables: parameters, comparisons); their values are then written as they are.
    A column known to neither is shown under its name with a warning. Kind ``preformatted``:
    the cells are text already formatted by the caller (escaped here), right-aligned.
    ``row_classes`` gives each row a CSS class (e.g. ``ci-subtotal``).
    """
    kinds, labels = dict(kinds or {}), dict(labels or {})
    if max_rows is not None and len(df) > max_rows:
        df = df.head(max_rows)
    ctx = current()
    heads, cells, numeric_cols = [], [], []
    unit_col = df["unit"] if "unit" in df.columns else None
    for col in df.columns:
        spec = None if col in labels else describe(col, table)
        if spec is not None:
            kind = kinds.get(col, spec.kind_in(table))
            label, unit = spec.label[ctx.lang], spec.unit(ctx.lang, ctx.currency, table, TABLE_MONEY_SCALE)
        else:
            if col not in labels:
                warnings.warn(f"column {col!r} of table {table!r} is not in the output column registry",
                              stacklevel=2)
            kind = kinds.get(col, "text" if col in labels else "number")
            label, unit = labels.get(col, str(col)), ""
        numeric = kind not in ("text", "id")
        fmt = cell_formatter(kind)
        values = df[col].tolist()
        if kind == "text" and str(col) in CODED_TEXT:
            values = [v if is_missing(v) else value_label(v, ctx.lang) for v in values]
        if kind == "by_row" and unit_col is not None:
            fmt = _auto_number
        klass = ' class="ci-num"' if numeric else (' class="ci-wide"' if str(col).lower() in WIDE_TEXT else "")
        unit_html = f'<span class="ci-unit">{html.escape(unit)}</span>' if unit else ""
        heads.append(f"<th{klass}>{html.escape(label)}{unit_html}</th>")
        cells.append([f"<td{klass}>{fmt(v)}</td>" for v in values])
        numeric_cols.append(numeric)
    classes = row_classes or [""] * len(df)
    rows = "".join((f'<tr class="{c}">' if c else "<tr>") + "".join(r) + "</tr>"
                   for c, r in zip(classes, zip(*cells, strict=True), strict=True)) if cells else ""
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<div class="ci-tablebox"><table class="ci-table">{cap}<thead><tr>{"".join(heads)}</tr></thead>'
            f"<tbody>{rows}</tbody></table></div>")


def text_table_html(df: pd.DataFrame, *, numeric: tuple[str, ...] = ()) -> str:
    """A table of the report's own (not a saved table): its column names are its headers,
    its cells text (``numeric`` columns right-aligned, formatted as numbers).
    """
    return table_html(df, labels={c: str(c) for c in df.columns},
                      kinds={c: ("number" if c in numeric else "text") for c in df.columns})


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


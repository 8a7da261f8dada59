"""The results workbook (``results.xlsx``) a finance officer can use.

A cover sheet (city, scenario, date, units, language, what each sheet holds), then one sheet per
table: headers from the output column registry with their units, number formats by kind
(``#,##0`` for money, ``0.0 %`` for shares, one decimal for tonnes), values rounded to the unit
shown, frozen header row, autofilter, fitted column widths. An infinite value (a payback that
never comes) is an empty cell with a comment, never the text "inf".
"""
from __future__ import annotations

import datetime as _dt
import io
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from climateinvest.io.output_columns import city_names, default_language, lookup
from climateinvest.io.tabular import text_cells

NUMBER_FORMATS = {"money": "#,##0", "money_per_tonne": "#,##0", "tonnes": "#,##0.0",
                  "tonnes_per_year": "#,##0.0", "share": "0.0 %", "year": "0", "years": "0.0",
                  "count": "0", "by_row": "#,##0.0"}
DECIMALS = {"money": 0, "money_per_tonne": 0, "tonnes": 1, "tonnes_per_year": 1, "share": 4, "years": 1,
            "by_row": 2}
COVER = {
    "en": {"title": "Climate investment plan: results", "city": "City", "scenario": "Scenario",
           "cycle": "Budget cycle", "date": "Date", "money": "Money", "money_value": "{cur}, {year} prices, real terms",
           "language": "Language", "language_value": "English", "sheets": "Sheets",
           "sheet": "Sheet", "rows": "Rows", "never": "never (infinite)",
           "note": "Headers and units from the output column registry (docs/glossary.md). Empty cell with a "
                   "comment = never (infinite), e.g. a payback that never comes."},
    "sv": {"title": "Klimatinvesteringsplan: resultat", "city": "Kommun", "scenario": "Scenario",
           "cycle": "Budgetperiod", "date": "Datum", "money": "Belopp",
           "money_value": "{cur}, {year} års priser, reala",
           "language": "Språk", "language_value": "svenska", "sheets": "Blad",
           "sheet": "Blad", "rows": "Rader", "never": "aldrig (oändligt)",
           "note": "Rubriker och enheter från registret över resultatkolumner (docs/glossary.md). Tom cell med "
                   "kommentar = aldrig (oändligt), t.ex. en återbetalning som aldrig kommer."},
}


def _round(value, kind: str):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        v = float(value)
        if kind == "money" and abs(v) < 0.5:
            return 0
        return round(v, DECIMALS.get(kind, 6))
    return value


def results_workbook(tables: Mapping[str, pd.DataFrame], *, lang: str, city: str, scenario: str, cycle,
                     currency: str, price_year, funding_sources: Mapping[str, str] | None = None,
                     sectors=(), date: str | None = None) -> bytes:
    """The workbook's bytes: a cover sheet, then one formatted sheet per table of ``tables``.

    ``lang`` ("sv" or "en") chooses the headers; ``funding_sources`` (id → name) and ``sectors``
    head the columns named by the city's ids. Columns the registry does not know keep their name.
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    words = COVER[lang]
    wb = Workbook()
    cover = wb.active
    cover.title = "info"
    rows = [(words["title"], None), (words["city"], city), (words["scenario"], scenario), (words["cycle"], cycle),
            (words["date"], date or _dt.date.today().isoformat()),
            (words["money"], words["money_value"].format(cur=currency, year=price_year)),
            (words["language"], words["language_value"]), (None, None), (words["note"], None), (None, None),
            (words["sheet"], words["rows"])]
    for r in rows:
        cover.append(list(r))
    cover["A1"].font = Font(bold=True, size=14)
    cover.cell(len(rows), 1).font = cover.cell(len(rows), 2).font = Font(bold=True)
    for name, df in tables.items():
        cover.append([name[:31], len(df)])
    cover.column_dimensions["A"].width = 28
    cover.column_dimensions["B"].width = 60

    for name, df in tables.items():
        ws = wb.create_sheet(name[:31])
        specs = [lookup(c, name, funding_sources=funding_sources, sectors=sectors) for c in df.columns]
        kinds = [s.kind_in(name) if s else "text" for s in specs]
        ws.append([s.header(lang, currency, name) if s else str(c) for c, s in zip(df.columns, specs, strict=True)])
        for row in df.itertuples(index=False):
            ws.append([None if isinstance(v, float) and math.isinf(v) else _round(v, k)
                       for v, k in zip(row, kinds, strict=True)])
        for j, (col, kind) in enumerate(zip(df.columns, kinds, strict=True), start=1):
            values = df[col]
            fmt = NUMBER_FORMATS.get(kind)
            if fmt and pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
                for i, v in enumerate(values.to_numpy(), start=2):
                    cell = ws.cell(i, j)
                    cell.number_format = fmt
                    if isinstance(v, float) and math.isinf(v):
                        cell.comment = Comment(words["never"], "climateinvest")
            header = ws.cell(1, j)
            header.font = Font(bold=True)
            header.alignment = Alignment(wrap_text=True, vertical="bottom")
            longest = max([len(str(header.value))] + [len(f"{v:,.1f}" if isinstance(v, float) else str(v))
                                                      for v in values.head(200).tolist()])
            ws.column_dimensions[get_column_letter(j)].width = min(max(8, longest + 2), 60)
        ws.freeze_panes = "A2"
        if len(df.columns):
            ws.auto_filter.ref = ws.dimensions
        text_cells(ws)  # "=..." from a data file stays text, never a formula
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def results_workbook_of(result) -> bytes:
    """:func:`results_workbook` of a ``ScenarioResult``: its tables, in the scenario's language
    (default Swedish for a Swedish city), with the city's names for its funding sources and sectors.
    The cover's date is the day the result was computed (``result.computed_on``), not the day it
    is saved, so two saves of one result are byte-identical.
    """
    city, scenario = result.city, result.scenario
    funding_sources, sectors = city_names(city)
    return results_workbook(
        result.tables(), lang=default_language(scenario.language, city.country), city=city.name,
        scenario=scenario.title, cycle=scenario.budget_cycle, currency=city.currency, price_year=city.price_year,
        funding_sources=funding_sources, sectors=sectors, date=result.computed_on)

"""The results workbook: cover sheet, headers with units, number formats, frozen headers,
autofilters, no "inf" text (fast: a hand-made table)."""
from __future__ import annotations

import io

import numpy as np
import openpyxl
import pandas as pd

from climateinvest.io.results_workbook import results_workbook


def _book(lang="sv"):
    tables = {"measures": pd.DataFrame({
        "measure_id": ["a", "b"], "name": ["=HYPERLINK(\"x\")", "LED"], "capex": [1234567.891, 2e6],
        "grant_share": [0.3912345, 0.0], "abatement_tco2e_per_year": [12.3456, 0.0],
        "simple_payback_years": [4.25, np.inf], "start_year": [2027, 2028]})}
    data = results_workbook(tables, lang=lang, city="Landskrona", scenario="Base", cycle=2027, currency="SEK",
                            price_year=2025, date="2027-01-01")
    return openpyxl.load_workbook(io.BytesIO(data))


def test_cover_sheet_first():
    wb = _book()
    assert wb.sheetnames == ["info", "measures"]
    cover = {r[0]: r[1] for r in wb["info"].iter_rows(values_only=True) if r[0]}
    assert cover["Kommun"] == "Landskrona" and cover["Språk"] == "svenska" and cover["Budgetperiod"] == 2027
    assert cover["measures"] == 2  # rows per sheet


def test_headers_units_formats_and_frozen_panes():
    ws = _book()["measures"]
    assert [c.value for c in ws[1]] == ["Åtgärds-id", "Åtgärd", "Investering (kr)", "Bidragsandel (%)",
                                        "Utsläppsminskning (t CO₂e/år)", "Återbetalningstid (år)", "Startår"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:G3"
    assert ws["C2"].number_format == "#,##0" and ws["C2"].value == 1234568  # rounded to the krona shown
    assert ws["D2"].number_format == "0.0 %" and ws["D2"].value == 0.3912
    assert ws["E2"].number_format == "#,##0.0" and ws["E2"].value == 12.3
    assert ws["G2"].number_format == "0" and ws["G2"].value == 2027
    assert ws["B2"].data_type == "s"  # a formula-looking name stays text


def test_no_inf_text():
    wb = _book("en")
    ws = wb["measures"]
    assert ws["F3"].value is None and "never" in ws["F3"].comment.text
    assert ws["F1"].value == "Payback (years)"
    for sheet in wb:
        for row in sheet.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and v.lower() in ("inf", "-inf", "nan") for v in row)

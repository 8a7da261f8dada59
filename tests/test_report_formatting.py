"""Numbers, units and tables of the reports, in Swedish and English (fast)."""
from __future__ import annotations

import pandas as pd
import pytest

from climateinvest.report import formatting as f
from climateinvest.report import i18n

NB = "\u202f"


@pytest.fixture
def sv():
    token = i18n._CURRENT.set(i18n.Context(lang="sv", currency="SEK"))
    yield
    i18n._CURRENT.reset(token)


@pytest.fixture
def en():
    token = i18n._CURRENT.set(i18n.Context(lang="en", currency="SEK"))
    yield
    i18n._CURRENT.reset(token)


def test_swedish_numbers(sv):
    assert f.fmt_number(12345678.4) == f"12{NB}345{NB}678"
    assert f.fmt_number(-1500) == f"\u22121{NB}500"
    assert f.fmt_number(-0.2) == "0"  # rounds to zero: no minus sign
    assert f.fmt_number(3.14159, 2) == "3,14"
    assert f.fmt_share(0.254) == f"25,4{NB}%"
    assert f.fmt_years(float("inf")) == "aldrig" and f.fmt_number(float("nan")) == "–"
    # 125 700 000 kr = 125,7 mnkr; tonnes with the subscript two
    assert f.fmt_money(125_700_000) == f"125,7{NB}mnkr"
    assert f.format_value(1234.4, "tonnes") == f"1{NB}234{NB}t CO₂e"
    assert f.format_value(-205.18, "money_per_tonne") == f"\u2212205{NB}kr/t{NB}CO₂e"
    assert f.fmt_year(2045) == "2045"


def test_english_numbers(en):
    assert f.fmt_number(3.14159, 2) == "3.14"
    assert f.fmt_money(125_700_000) == f"125.7{NB}MSEK"
    assert f.fmt_years(float("inf")) == "never"
    assert f.yes_no(True) == "yes"


def test_tables_take_headers_and_units_from_the_registry(sv):
    df = pd.DataFrame({"name": ["<script>alert(1)</script>"], "payer": ["municipal_company"],
                       "capex": [1_234_000.0], "cost_per_tco2e": [-32794.4], "start_year": [2045],
                       "adjusted_tco2e": [69.46]})
    html = f.table_html(df, table="portfolio")
    assert "<script>alert" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # money in tables in thousands: 1 234 000 kr = 1 234 tkr
    assert 'Investering<span class="ci-unit">tkr</span>' in html and f">1{NB}234<" in html
    # the unit follows the column's kind: kr/t above cost per tonne, t CO2e/år above tonnes
    assert 'Kostnad per ton<span class="ci-unit">kr/t CO₂e</span>' in html and f"\u221232{NB}794" in html
    assert 'Minskning i planen<span class="ci-unit">t CO₂e/år</span>' in html and ">69<" in html
    assert ">2045<" in html and f"2{NB}045" not in html
    assert ">kommunalt bolag<" in html  # coded words in the report's language


def test_funding_source_columns_are_headed_by_their_names():
    ctx = i18n.Context(lang="sv", currency="SEK", funding_sources={"klimatklivet": "Klimatklivet (Naturvårdsverket)"})
    token = i18n._CURRENT.set(ctx)
    try:
        html = f.table_html(pd.DataFrame({"year": [2027], "klimatklivet": [1e7]}), table="financing")
    finally:
        i18n._CURRENT.reset(token)
    assert "Klimatklivet (Naturvårdsverket)" in html and ">klimatklivet<" not in html
    assert f">10{NB}000<" in html


def test_an_unknown_column_warns(en):
    with pytest.warns(UserWarning, match="not in the output column registry"):
        f.table_html(pd.DataFrame({"made_up": [1.0]}), table="macc")

"""Financing plan: allocation order and caps to the cent, loans vs numpy-financial, budget impact."""
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pandas as pd
import pytest
from citybuilder import build_city

from climateinvest.cashflows import build_flows
from climateinvest.financing import EXTERNAL_KIND, GAP_SOURCE, plan_financing
from climateinvest.io.errors import ValidationError
from climateinvest.io.scenario import Scenario

NAN = np.nan


def make_city(measures, energy_changes=(), funding=(), baseline=None):
    """A small CityData (see ``citybuilder``): 10 t/yr of direct abatement per measure by default."""
    return build_city(measures, energy_changes, funding=funding, baseline=baseline,
                      direct_abatement_tco2e_per_year=10.0)

def scenario(**kw):
    """The mechanics tests run with 0 % inflation (nominal = real) and the source's loan term."""
    kw = {"inflation": 0.0, "loan_term": "source_term"} | kw
    return Scenario(title="t", city=Path("."), budget_cycle=2027, **kw)


def run(city, chosen_extra=None, **scen):
    """Flows at earliest start; chosen = every measure (with optional extra columns)."""
    start = city.measures["earliest_start_year"].to_numpy(int)
    flows = build_flows(city, "base", "nordic_mix", start)
    chosen = pd.DataFrame({"measure_id": city.measures["measure_id"], "start_year": start,
                           "scale": 1.0} | (chosen_extra or {}))
    return plan_financing(city, scenario(**scen), chosen, flows)


def cell(fin, measure, year, source):
    a = fin.allocation
    rows = a[(a["measure_id"] == measure) & (a["year"] == year) & (a["source_id"] == source)]
    return float(rows["amount"].sum())


# --- loans --------------------------------------------------------------------------------------

def test_annuity_loan_rows_agree_with_numpy_financial():
    city = make_city([{"measure_id": "a", "capex": 1_000_000.0}],
                     funding=[("gl", "Green loan", "loan", 1.0, NAN, 0.031, 8, "*", "*", "annuity")])
    fin = run(city)
    loans = fin.loans.sort_values("loan_year")
    assert len(loans) == 8 and (loans["drawdown_year"] == 2027).all()
    per = np.arange(1, 9)
    assert loans["year"].tolist() == list(range(2028, 2036))  # paid at the end of years 1 … 8
    np.testing.assert_allclose(loans["interest"], -npf.ipmt(0.031, per, 8, 1_000_000.0), rtol=1e-10)
    np.testing.assert_allclose(loans["amortisation"], -npf.ppmt(0.031, per, 8, 1_000_000.0), rtol=1e-10)
    np.testing.assert_allclose(loans["payment"], -npf.pmt(0.031, 8, 1_000_000.0), rtol=1e-10)
    assert loans["closing_balance"].iloc[-1] == pytest.approx(0.0, abs=1e-6)
    ds = fin.debt_service.set_index("year")
    assert ds.loc[2028, "total"] == pytest.approx(-npf.pmt(0.031, 8, 1_000_000.0))
    assert ds.loc[2027, "total"] == 0.0 and ds.loc[2027, "debt_outstanding"] == 1_000_000.0


def test_straight_loan_by_hand_and_debt_service_over_two_drawdowns():
    # 1 000 000 over 4 years at 3 %: 250 000 a year; interest 30 000, 22 500, 15 000, 7 500.
    city = make_city([{"measure_id": "a", "capex": 2_000_000.0, "capex_years": 2}],
                     funding=[("kl", "Kommuninvest", "loan", 1.0, NAN, 0.03, 4, "*", "*", "")])
    fin = run(city)
    first = fin.loans[fin.loans["drawdown_year"] == 2027].sort_values("year")
    assert first["year"].tolist() == [2028, 2029, 2030, 2031]
    assert first["amortisation"].tolist() == pytest.approx([250_000.0] * 4)
    assert first["interest"].tolist() == pytest.approx([30_000.0, 22_500.0, 15_000.0, 7_500.0])
    ds = fin.debt_service.set_index("year")
    # 2029: second loan's first payment (250 000 + 30 000) + first loan's second (250 000 + 22 500)
    assert ds.loc[2029, "total"] == pytest.approx(552_500.0)
    assert ds.loc[2032, "total"] == pytest.approx(257_500.0)
    assert ds.loc[2032, "interest"] == pytest.approx(7_500.0)
    assert ds["debt_outstanding"].tolist()[:7] == pytest.approx(
        [1_000_000.0, 1_750_000.0, 1_250_000.0, 750_000.0, 250_000.0, 0.0, 0.0])
    assert fin.summary["peak_debt_service"] == pytest.approx(552_500.0)
    assert fin.summary["peak_debt_service_year"] == 2029


def test_loan_without_term_is_a_validation_error_naming_the_row():
    city = make_city([{"measure_id": "a", "capex": 1000.0}],
                     funding=[("g", "Grant", "grant", 0.5, NAN, NAN, NAN, "*", "*", ""),
                              ("kl", "Loan", "loan", 1.0, NAN, 0.03, NAN, "*", "*", "")])
    with pytest.raises(ValidationError, match=r"row 3, column term_years: a loan needs term_years"):
        run(city)


# --- allocation ---------------------------------------------------------------------------------

FUNDING = [
    ("kk", "Klimatklivet", "grant", 0.37, 300_000.01, NAN, NAN, "transport;energy", "municipality", ""),
    ("eu", "EU LIFE", "grant", 0.6, NAN, NAN, NAN, "energy", "*", ""),
    ("gl", "Green loan", "loan", 0.5, 250_000.0, 0.025, 10, "*", "municipality;municipal_company", ""),
    ("own", "Own funds", "own_funds", 1.0, NAN, NAN, NAN, "*", "*", ""),
]
MEASURES = [
    {"measure_id": "bus", "sector": "transport", "capex": 1_234_567.89, "capex_years": 3},  # 411 522.63 a year
    {"measure_id": "pv", "sector": "energy", "payer": "municipal_company", "capex": 500_000.0},
    {"measure_id": "ins", "sector": "buildings", "capex": 333_333.33},
    {"measure_id": "ext", "sector": "energy", "payer": "external", "capex": 9_999_999.0},
]


def test_financing_reconciles_to_the_cent_with_caps_and_a_gap():
    city = make_city(MEASURES, funding=FUNDING)
    fin = run(city, {"cost_per_tco2e": [100.0, 50.0, 300.0, 10.0]},
              own_funds_cap={2027: 100_000.0, 2028: 50_000.0, 2029: 0.0})
    a = fin.allocation
    city_rows = a[a["kind"] != EXTERNAL_KIND]
    per = city_rows.groupby(["measure_id", "year"])["amount"].sum().round(2)
    expected = {("bus", 2027): 411_522.63, ("bus", 2028): 411_522.63, ("bus", 2029): 411_522.63,
                ("pv", 2027): 500_000.0, ("ins", 2027): 333_333.33}
    assert per.to_dict() == expected
    by = fin.by_year.set_index("year")
    sources = ["kk", "eu", "gl", "own", GAP_SOURCE]
    assert (by[sources].sum(axis=1).round(2) == by["investment"].round(2)).all()
    assert by["investment"].round(2).tolist() == [1_244_855.96, 411_522.63, 411_522.63]
    # 2027 by hand. kk (transport/energy, municipality only): bus 37 % → 152 263.37 (floor);
    # pv is a company → none. eu (energy, 60 %): pv 300 000. gl: caps 250 000, cost-per-tonne
    # order pv (50) → min(200 000, 250 000) = 200 000, then bus (100) → 50 000, ins nothing left.
    assert cell(fin, "bus", 2027, "kk") == 152_263.37
    assert cell(fin, "pv", 2027, "kk") == 0.0
    assert cell(fin, "pv", 2027, "eu") == 300_000.0
    assert cell(fin, "pv", 2027, "gl") == 200_000.0
    assert cell(fin, "bus", 2027, "gl") == 50_000.0
    assert cell(fin, "ins", 2027, "gl") == 0.0
    # own funds 100 000 cap: bus first (cost 100 < 300): its remaining 209 259.26 > 100 000.
    assert cell(fin, "bus", 2027, "own") == 100_000.0
    assert cell(fin, "bus", 2027, GAP_SOURCE) == round(411_522.63 - 152_263.37 - 50_000 - 100_000, 2)
    assert cell(fin, "ins", 2027, GAP_SOURCE) == 333_333.33
    # 2029: no own funds at all; gap = investment − grant − loan
    assert cell(fin, "bus", 2029, GAP_SOURCE) == round(411_522.63 - 152_263.37 - 205_761.31, 2)
    assert fin.gap_by_year["gap"].round(2).tolist() == by[GAP_SOURCE].round(2).tolist()
    s = fin.summary
    assert round(s["grant_total"] + s["loan_total"] + s["own_funds_total"] + s["gap_total"], 2) == \
        s["investment_total"] == round(1_234_567.89 + 500_000.0 + 333_333.33, 2)
    assert s["gap_years"] == [2027, 2028, 2029]
    # the external measure is listed, not financed
    ext = a[a["measure_id"] == "ext"]
    assert ext["kind"].unique().tolist() == [EXTERNAL_KIND] and ext["amount"].sum() == 9_999_999.0
    assert s["external_investment_total"] == 9_999_999.0


def test_investment_spread_over_years_adds_up_to_its_capex_to_the_cent():
    city = make_city([{"measure_id": "a", "capex": 1_000_000.01, "capex_years": 3}],
                     funding=[("g", "Grant", "grant", 0.33, NAN, NAN, NAN, "*", "*", "")])
    fin = run(city)
    assert fin.by_year["investment"].tolist() == [333_333.34, 333_333.33, 333_333.34]
    assert fin.summary["investment_total"] == 1_000_000.01
    # 33 % of 333 333.34 = 110 000.0022 → 110 000.00 (never above max_share); the rest own funds
    assert cell(fin, "a", 2027, "g") == 110_000.0 and cell(fin, "a", 2027, "own_funds") == 223_333.34
    assert cell(fin, "a", 2028, "g") == 109_999.99


def test_max_share_annual_cap_and_eligibility_respected():
    city = make_city(MEASURES, funding=FUNDING)
    fin = run(city, {"cost_per_tco2e": [100.0, 50.0, 300.0, 10.0]})
    a = fin.allocation
    inv = a.groupby(["measure_id", "year"])["amount"].sum()
    shares = dict(zip(city.funding_sources["source_id"], city.funding_sources["max_share"], strict=True))
    for (mid, year, src), amount in a.set_index(["measure_id", "year", "source_id"])["amount"].items():
        if src in shares:
            assert amount <= shares[src] * inv[(mid, year)] + 1e-9
    per_year = a.groupby(["source_id", "year"])["amount"].sum()
    assert per_year.loc["kk"].max() <= 300_000.01 and per_year.loc["gl"].max() <= 250_000.0
    # eligibility: kk only transport/energy for the municipality; eu only energy
    assert set(a.loc[a["source_id"] == "kk", "measure_id"]) == {"bus"}
    assert set(a.loc[a["source_id"] == "eu", "measure_id"]) == {"pv"}
    # no own-funds cap: no gap
    assert fin.summary["gap_total"] == 0.0 and not (a["source_id"] == GAP_SOURCE).any()


def test_own_funds_cap_makes_a_gap_pro_rata_and_in_cost_order():
    funding = [("own", "Own funds", "own_funds", 1.0, NAN, NAN, NAN, "*", "*", "")]
    city = make_city([{"measure_id": "x", "capex": 600_000.0}, {"measure_id": "y", "capex": 500_000.0}],
                     funding=funding)
    start = np.array([2027, 2027])
    flows = build_flows(city, "base", "nordic_mix", start)
    chosen = pd.DataFrame({"measure_id": ["x", "y"], "cost_per_tco2e": [900.0, 200.0]})
    scen = scenario(own_funds_cap={2027: 800_000.0})
    fin = plan_financing(city, scen, chosen, flows)
    # cheaper per tonne (y) first: y 500 000, x 300 000, gap 300 000 on x
    assert cell(fin, "y", 2027, "own") == 500_000.0
    assert cell(fin, "x", 2027, "own") == 300_000.0
    assert cell(fin, "x", 2027, GAP_SOURCE) == 300_000.0
    assert fin.gap_by_year.set_index("year").loc[2027, "gap"] == 300_000.0
    pro = plan_financing(city, scen, chosen, flows, cap_rule="pro_rata")
    # 800 000 × 6/11 = 436 363.636… → 436 363.64 (largest remainder), 800 000 × 5/11 = 363 636.36
    assert cell(pro, "x", 2027, "own") == 436_363.64
    assert cell(pro, "y", 2027, "own") == 363_636.36
    assert round(cell(pro, "x", 2027, GAP_SOURCE) + cell(pro, "y", 2027, GAP_SOURCE), 2) == 300_000.0
    assert cell(pro, "x", 2027, GAP_SOURCE) == 163_636.36


def test_implicit_own_funds_when_file_lists_none():
    city = make_city([{"measure_id": "a", "capex": 1000.0}],
                     funding=[("g", "Grant", "grant", 0.25, NAN, NAN, NAN, "*", "*", "")])
    fin = run(city)
    assert cell(fin, "a", 2027, "g") == 250.0 and cell(fin, "a", 2027, "own_funds") == 750.0
    assert "implicit" in fin.summary["notes"][0]


def test_start_year_mismatch_between_chosen_and_flows_is_an_error():
    city = make_city([{"measure_id": "a", "capex": 1000.0}])
    flows = build_flows(city, "base", "nordic_mix", [2027])
    with pytest.raises(ValueError, match="chosen start_year 2028 for a but the flows start in 2027"):
        plan_financing(city, scenario(), pd.DataFrame({"measure_id": ["a"], "start_year": [2028]}), flows)


# --- operating-budget impact ---------------------------------------------------------------------

def test_budget_impact_by_hand_for_one_measure():
    # capex 1 000 000, 30 % grant → book value 700 000 over 10 years: depreciation 70 000 a year
    # 2028–2037; internal interest 2.5 % of the opening book value: 17 500, then 15 750 …
    # opex +5 000; energy −100 MWh × 1 000 SEK × scale 0.5 = −50 000.
    city = make_city([{"measure_id": "a", "capex": 1_000_000.0, "opex_change_per_year": 5000.0}],
                     energy_changes=[("a", "electricity", -100.0)],
                     funding=[("g", "Grant", "grant", 0.3, NAN, NAN, NAN, "*", "*", ""),
                              ("kl", "Loan", "loan", 1.0, NAN, 0.04, 5, "*", "*", "")])
    fin = run(city, {"scale": [0.5]}, internal_rate=0.025)
    bi = fin.budget_impact.set_index("year")
    assert (bi.loc[2027] == 0.0).all()  # investment year: nothing in operation yet
    assert bi.loc[2028, "depreciation"] == pytest.approx(70_000.0)
    assert bi.loc[2028, "internal_interest"] == pytest.approx(17_500.0)
    assert bi.loc[2029, "internal_interest"] == pytest.approx(15_750.0)
    assert bi.loc[2037, "internal_interest"] == pytest.approx(0.025 * 70_000.0)
    assert bi.loc[2028, "opex_change"] == 5000.0
    assert bi.loc[2028, "energy_cost_change"] == pytest.approx(-50_000.0)
    assert bi.loc[2028, "net"] == pytest.approx(70_000 + 17_500 + 5_000 - 50_000)
    assert bi.index.max() == 2037  # the horizon ends with the last year of effect (10 years)
    assert bi["depreciation"].sum() == pytest.approx(700_000.0)
    # loan interest is debt service, not in the budget impact
    assert fin.debt_service.set_index("year").loc[2028, "interest"] == pytest.approx(0.04 * 700_000.0)
    assert fin.summary["peak_net_budget_impact"] == pytest.approx(42_500.0)
    assert fin.summary["peak_net_budget_impact_year"] == 2028


def test_budget_impact_leaves_out_external_measures():
    city = make_city([{"measure_id": "a", "capex": 100_000.0, "payer": "external", "opex_change_per_year": 10.0}])
    fin = run(city)
    assert (fin.budget_impact[["depreciation", "opex_change", "net"]] == 0).all().all()
    assert fin.summary["investment_total"] == 0.0 and fin.summary["external_investment_total"] == 100_000.0


# --- figures --------------------------------------------------------------------------------------

def test_financing_figures_show_the_plan_in_msek():
    from climateinvest.report.plots.finance import (
        budget_impact_figure,
        debt_service_figure,
        financing_figure,
    )

    city = make_city(MEASURES, funding=FUNDING)
    fin = run(city, {"cost_per_tco2e": [100.0, 50.0, 300.0, 10.0]}, own_funds_cap={2027: 100_000.0})
    fig = financing_figure(fin, "SEK")
    assert fig.layout.yaxis.title.text == "Investment [MSEK]"
    gap = next(t for t in fig.data if t.name == "Financing gap")
    assert np.allclose(gap.y, fin.by_year[GAP_SOURCE] / 1e6)
    assert gap.marker.color == "#d7301f"
    total = sum(np.asarray(t.y) for t in fig.data)
    assert np.allclose(total, fin.by_year["investment"] / 1e6)
    ds = debt_service_figure(fin, "SEK", unit="")
    assert ds.layout.yaxis.title.text == "Debt service [SEK/year]"
    bi = budget_impact_figure(fin, "SEK")
    net = next(t for t in bi.data if t.name == "Net impact")
    assert np.allclose(net.y, fin.budget_impact["net"] / 1e6 if "M" in bi.layout.yaxis.title.text
                       else fin.budget_impact["net"])

"""Cash-flow timing and per-measure appraisal, checked by hand and against numpy-financial."""
import warnings

import numpy as np
import numpy_financial as npf
import pytest
from citybuilder import build_city
from hypothesis import given, settings
from hypothesis import strategies as st

from climateinvest import appraisal
from climateinvest.appraisal import appraise, cost_per_tonne
from climateinvest.cashflows import baseline_by_source, build_flows


def make_city(measures, energy_changes=(), prices=None, factors=None, funding=None):
    """A small CityData (see ``citybuilder``) with one own-funds source unless ``funding``."""
    return build_city(measures, energy_changes, prices=prices, factors=factors,
                      **({"funding": funding} if funding else {}))

def test_level_flows_conventions_agree_with_crf_formula():
    # capex 1 000 000, saving 50 000/yr, 100 t/yr, 20 years at 4 %: discounted-tonne convention
    # equals (capex × CRF + annual net cost) / annual tonnes (docs/architecture.md section 5).
    crf = 0.04 * 1.04**20 / (1.04**20 - 1)
    expected = (1_000_000 * crf - 50_000) / 100
    assert cost_per_tonne(1_000_000, -50_000, 100, 20, 0.04) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(235.8175, abs=1e-3)
    # plain tonnes: NPV of cost over 2 000 t
    npv = 1_000_000 - 50_000 * (1 - 1.04**-20) / 0.04
    assert cost_per_tonne(1_000_000, -50_000, 100, 20, 0.04, discount_abatement=False) == pytest.approx(npv / 2000)


def test_cost_per_tonne_zero_abatement_is_nan():
    assert np.isnan(cost_per_tonne(1000.0, 0.0, 0.0, 10, 0.03))


@settings(max_examples=60, deadline=None)
@given(capex=st.floats(0, 1e8), cost=st.floats(-1e6, 1e6), tonnes=st.floats(1, 1e5),
       life=st.integers(1, 60), rate=st.floats(0, 0.15), k=st.floats(0.01, 100))
def test_cost_per_tonne_scales_with_money(capex, cost, tonnes, life, rate, k):
    base = cost_per_tonne(capex, cost, tonnes, life, rate)
    assert cost_per_tonne(k * capex, k * cost, tonnes, life, rate) == pytest.approx(k * base, rel=1e-9, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(capex=st.floats(0, 1e7), cost=st.floats(-1e5, 1e5), tonnes=st.floats(1, 1e4), life=st.integers(1, 40))
def test_rate_zero_gives_plain_sums(capex, cost, tonnes, life):
    expected = (capex + cost * life) / (tonnes * life)
    assert cost_per_tonne(capex, cost, tonnes, life, 0.0) == pytest.approx(expected, rel=1e-9, abs=1e-9)
    assert cost_per_tonne(capex, cost, tonnes, life, 0.0, False) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_flows_timing_and_interpolation():
    city = make_city(
        [dict(measure_id="hp", name="Heat pump", capex=900_000, capex_years=3, lifetime_years=2)],
        energy_changes=[("hp", "electricity", -100.0)],
        prices=[("electricity", "base", 2027, 1000.0), ("electricity", "base", 2037, 2000.0)],
        factors=[("electricity", "*", 2020, 50.0)])
    f = build_flows(city, "base", "nordic", 2027)
    assert f.capex.tolist() == [[300_000.0] * 3 + [0.0, 0.0]]
    assert f.active.tolist() == [[False, False, False, True, True]]
    # effects in 2030 and 2031: price interpolated 1300 and 1400 SEK/MWh
    assert f.energy_cost.tolist() == [[0, 0, 0, -130_000.0, -140_000.0]]
    assert f.abatement[0, 3:].tolist() == [5.0, 5.0]
    cal = f.calendar(f.abatement, np.array([2029, 2030, 2031, 2032]))
    assert cal.tolist() == [[0.0, 5.0, 5.0, 0.0]]


def test_appraise_matches_numpy_financial_and_hand_values():
    city = make_city(
        [dict(measure_id="led", name="LED", capex=1_000_000, lifetime_years=10, opex_change_per_year=-10_000),
         dict(measure_id="meals", name="Meals", capex=0, lifetime_years=5, direct_abatement_tco2e_per_year=20,
              opex_change_per_year=40_000, sector="consumption")],
        energy_changes=[("led", "electricity", -200.0)])
    f = build_flows(city, "base", "x", 2027)
    df = appraise(f, city, 0.025)
    led = df.iloc[0]
    flows = [1_000_000] + [-10_000 - 200_000] * 10
    assert led["npv_cost"] == pytest.approx(npf.npv(0.025, flows), rel=1e-12)
    assert led["abatement_tco2e_per_year"] == pytest.approx(10.0)
    assert led["lifetime_abatement_tco2e"] == pytest.approx(100.0)
    assert led["cost_per_tco2e"] == pytest.approx(npf.npv(0.025, flows) / npf.npv(0.025, [0] + [10] * 10))
    assert led["simple_payback_years"] == pytest.approx(1_000_000 / 210_000)
    assert led["irr"] == pytest.approx(npf.irr([-x for x in flows]), rel=1e-6)
    meals = df.iloc[1]
    assert meals["cost_per_tco2e"] == pytest.approx(2000.0)  # 40 000 SEK / 20 t every year
    assert np.isinf(meals["simple_payback_years"])


def test_perspectives_grants_and_carbon_value():
    grant = ("kk", "Klimatklivet", "grant", 0.4, 1e7, np.nan, np.nan, "buildings", "municipality", "")
    own = ("own", "Own funds", "own_funds", 1.0, np.nan, np.nan, np.nan, "*", "*", "straight")
    city = make_city(
        [dict(measure_id="a", name="A", capex=100_000, lifetime_years=1, direct_abatement_tco2e_per_year=10)],
        funding=[grant, own],
    )
    f = build_flows(city, "base", "x", 2027)
    mun = appraise(f, city, 0.0, "municipal").iloc[0]
    soc = appraise(f, city, 0.0, "societal", carbon_value=7000).iloc[0]
    assert mun["grant_share"] == pytest.approx(0.4)
    assert mun["npv_cost"] == pytest.approx(60_000)
    assert soc["npv_cost"] == pytest.approx(100_000)  # grants are transfers, not savings
    assert soc["npv_carbon_value"] == pytest.approx(70_000)
    assert soc["npv_net"] == pytest.approx(30_000)
    assert soc["cost_per_tco2e"] == pytest.approx(10_000)


def test_zero_abatement_is_reported_not_divided():
    city = make_city([dict(measure_id="z", name="Nothing", capex=1000, lifetime_years=5)])
    f = build_flows(city, "base", "x", 2027)
    with pytest.warns(UserWarning, match="zero abatement.*z"):
        df = appraise(f, city, 0.03)
    assert np.isnan(df["cost_per_tco2e"].iloc[0])


def test_eligibility_by_sector_and_payer():
    grant = ("kk", "KK", "grant", 0.5, np.nan, np.nan, np.nan, "transport;energy", "municipality;municipal_company", "")
    city = make_city(
        [
            dict(measure_id="a", name="A", capex=1, lifetime_years=1, sector="transport"),
            dict(measure_id="b", name="B", capex=1, lifetime_years=1, sector="buildings"),
            dict(measure_id="c", name="C", capex=1, lifetime_years=1, sector="energy", payer="external"),
        ],
        funding=[grant],
    )
    assert appraisal.eligibility(city)["kk"].tolist() == [True, False, False]


def test_baseline_held_flat_or_trended():
    city = make_city([dict(measure_id="a", name="A", capex=1, lifetime_years=1)])
    city.baseline.loc[len(city.baseline)] = ["heat", "buildings", 2024, 3000.0, "territorial"]
    flat = baseline_by_source(city, [2020, 2022, 2024, 2030])
    assert flat.loc["heat"].tolist() == [5000.0, 4000.0, 3000.0, 3000.0]
    trend = baseline_by_source(city, [2026], trend=-0.1)
    assert trend.loc["heat", 2026] == pytest.approx(3000 * 0.81)


def test_no_warning_for_normal_measures():
    city = make_city([dict(measure_id="a", name="A", capex=1, lifetime_years=3, direct_abatement_tco2e_per_year=1)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        appraise(build_flows(city, "base", "x", 2027), city, 0.03)


def test_grant_share_limited_by_annual_cap():
    grant = ("kk", "KK", "grant", 0.4, 5e6, np.nan, np.nan, "*", "*", "")
    city = make_city(
        [
            dict(measure_id="big", name="Big", capex=54e6, capex_years=3, lifetime_years=30),
            dict(measure_id="small", name="Small", capex=1e6, lifetime_years=30),
        ],
        funding=[grant],
    )
    # 5 MSEK/yr over 3 investment years can pay at most 15 of 54 MSEK
    assert appraisal.grant_share(city).tolist() == pytest.approx([15 / 54, 0.4])


def test_measure_adding_emissions_has_no_cost_per_tonne():
    city = make_city(
        [dict(measure_id="ev", name="EV", capex=100, lifetime_years=5)], energy_changes=[("ev", "electricity", 10.0)]
    )
    with pytest.warns(UserWarning, match="emissions increase.*ev"):
        row = appraise(build_flows(city, "base", "x", 2027), city, 0.03).iloc[0]
    assert np.isnan(row["cost_per_tco2e"]) and row["note"] == "increases emissions"
    assert row["abatement_tco2e_per_year"] == pytest.approx(-0.5)

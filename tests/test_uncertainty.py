"""Monte Carlo and sensitivity: reproducibility, the deterministic limit, a slow reference loop,
known distributions, chunking, the tornado and the selection frequency."""
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy_financial as npf
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import stats

from climateinvest import uncertainty as U
from climateinvest.appraisal import appraise
from climateinvest.cashflows import build_flows
from climateinvest.data import CityData
from climateinvest.pathway import build_pathway
from climateinvest.plots import uncertainty as P
from climateinvest.scenario import Scenario

UNC_COLS = ["target", "parameter", "distribution", "low", "mode", "high"]
FUND_COLS = ["source_id", "name", "kind", "max_share", "annual_cap", "interest_rate", "term_years",
             "eligible_sectors", "eligible_payers", "amortisation"]
BASELINE = pd.DataFrame([
    ("heat", "buildings", 1990, 20000.0, "territorial"), ("heat", "buildings", 2024, 10000.0, "territorial"),
    ("road", "transport", 1990, 8000.0, "territorial"), ("road", "transport", 2024, 6000.0, "territorial"),
    ("grid", "energy", 2024, 3000.0, "indirect"),
], columns=["source_id", "sector", "year", "tco2e", "scope"])


def make_city(measures, energy_changes=(), uncertainty=(), funding=None, factors=None, prices=None):
    """A small CityData built directly (columns as the loader normalises them)."""
    defaults = {"capex_years": 1, "opex_change_per_year": 0.0, "direct_abatement_tco2e_per_year": 0.0,
                "exclusive_group": "", "requires": "", "source": "", "sector": "buildings", "name": "m",
                "emission_source": "heat", "payer": "municipality", "earliest_start_year": 2027,
                "lifetime_years": 10}
    m = pd.DataFrame([defaults | row for row in measures])
    for col in ("capex", "capex_years", "lifetime_years", "opex_change_per_year",
                "direct_abatement_tco2e_per_year", "earliest_start_year"):
        m[col] = m[col].astype(float)
    ec = pd.DataFrame(list(energy_changes), columns=["measure_id", "carrier", "delta_mwh_per_year"])
    prices = prices or [("electricity", "*", 2020, 1000.0), ("electricity", "*", 2040, 1400.0),
                        ("diesel", "*", 2020, 1500.0)]
    factors = factors or [("electricity", "nordic_mix", 2020, 50.0), ("electricity", "nordic_mix", 2040, 10.0),
                          ("electricity", "residual_mix", 2020, 300.0), ("diesel", "*", 2020, 265.0)]
    fund = funding or [("own", "Own funds", "own_funds", 1.0, np.nan, 0.0, np.nan, "*", "*", "straight")]
    return CityData(
        name="Testby", country="SE", currency="SEK", price_year=2025, population=1000,
        measures=m, energy_changes=ec.astype({"delta_mwh_per_year": float}),
        energy_prices=pd.DataFrame(prices, columns=["carrier", "price_path", "year", "price_per_mwh"]),
        emission_factors=pd.DataFrame(factors, columns=["carrier", "factor_set", "year", "kgco2e_per_mwh"]),
        baseline=BASELINE,
        funding_sources=pd.DataFrame(fund, columns=FUND_COLS),
        uncertainty=pd.DataFrame(list(uncertainty), columns=UNC_COLS).astype(
            {"low": float, "mode": float, "high": float}),
    )


def scenario(draws=500, seed=7, reselect=0, **kw):
    kw.setdefault("target", {"year": 2030, "reduction": 0.5, "base_year": 1990})
    kw.setdefault("investment_budget", {2027: 3e6, 2028: 3e6, 2029: 3e6})
    return Scenario(title="t", city=Path("."), budget_cycle=2027,
                    monte_carlo={"draws": draws, "seed": seed, "reselect_draws": reselect}, **kw)


MEASURES = [
    {"measure_id": "hp", "capex": 2e6, "opex_change_per_year": 10000.0, "lifetime_years": 15,
     "earliest_start_year": 2026},
    {"measure_id": "ev", "capex": 1.5e7, "capex_years": 2, "emission_source": "road", "sector": "transport",
     "lifetime_years": 8},
    {"measure_id": "meals", "capex": 0.0, "direct_abatement_tco2e_per_year": 40.0, "opex_change_per_year": -5000.0,
     "emission_source": "heat", "lifetime_years": 5, "earliest_start_year": 2028},
    {"measure_id": "grid_led", "capex": 4e5, "emission_source": "grid", "sector": "energy", "lifetime_years": 20},
]
CHANGES = [("hp", "electricity", 300.0), ("hp", "diesel", -1200.0),
           ("ev", "diesel", -800.0), ("ev", "electricity", 250.0), ("grid_led", "electricity", -150.0)]
RANGES = [("*", "capex", "triangular", 0.9, 1.0, 1.4), ("ev", "capex", "uniform", 0.8, 1.0, 2.0),
          ("*", "opex", "triangular", 0.8, 1.0, 1.3), ("*", "abatement", "triangular", 0.8, 1.0, 1.1),
          ("meals", "abatement", "uniform", 0.3, 0.9, 1.5),
          ("electricity", "energy_price", "triangular", 0.7, 1.0, 1.6),
          ("diesel", "energy_price", "uniform", 0.8, 1.0, 1.3),
          ("electricity", "emission_factor", "triangular", 0.6, 1.0, 1.5)]


def setup(uncertainty=RANGES, sc=None, funding=None, measures=MEASURES, changes=CHANGES):
    city = make_city(measures, changes, uncertainty, funding=funding)
    sc = sc or scenario()
    start = city.measures["earliest_start_year"].clip(lower=sc.budget_cycle).to_numpy(int)
    flows = build_flows(city, sc.price_path, sc.emission_factor_set, start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = appraise(flows, city, sc.discount_rate, sc.perspective, sc.carbon_value_per_tco2e,
                         sc.discount_abatement)
    return city, sc, flows, table


CHOSEN = pd.DataFrame({"measure_id": ["hp", "ev", "meals", "grid_led"], "start_year": [2028, 2027, 2029, 2027],
                       "scale": [0.7, 1.0, 0.5, 1.0]})


def zero_width(mode=1.0):
    return [(t, p, "triangular", mode, mode, mode) for t, p, *_ in RANGES] + \
           [("*", p, "uniform", mode, mode, mode) for p in ("energy_price", "emission_factor")]


# --- sampling ---------------------------------------------------------------------------------

def test_ppf_matches_scipy_and_zero_width_is_exact():
    q = np.linspace(0, 0.999, 37)
    expect = stats.triang(c=(1.0 - 0.7) / (1.6 - 0.7), loc=0.7, scale=0.9).ppf(q)
    np.testing.assert_allclose(U.ppf("triangular", 0.7, 1.0, 1.6, q), expect, rtol=1e-12)
    np.testing.assert_allclose(U.ppf("uniform", 0.5, 1.0, 1.5, q), 0.5 + q, rtol=1e-14)
    assert np.all(U.ppf("triangular", 1.3, 1.3, 1.3, q) == 1.3)
    assert np.all(U.ppf("uniform", 0.8, 0.8, 0.8, q) == 0.8)
    # mode at an end: right-angled triangles
    np.testing.assert_allclose(U.ppf("triangular", 1.0, 1.0, 2.0, q), 2 - np.sqrt(1 - q), rtol=1e-12)


def test_star_rows_are_shared_specific_rows_override_and_streams_are_stable():
    ids, cars = ["hp", "ev", "meals", "grid_led"], ["diesel", "electricity"]
    k = U.sample_multipliers(pd.DataFrame(RANGES, columns=UNC_COLS), ids, cars, 400, 1)
    # '*' capex: one multiplier per draw shared by every measure without a row of its own
    assert np.array_equal(k.capex[:, 0], k.capex[:, 2]) and np.array_equal(k.capex[:, 0], k.capex[:, 3])
    assert not np.allclose(k.capex[:, 1], k.capex[:, 0])  # ev has its own (override)
    assert k.capex[:, 1].min() >= 0.8 and k.capex[:, 1].max() <= 2.0 and k.capex[:, 1].max() > 1.4
    assert k.capex[:, 0].min() >= 0.9 and k.capex[:, 0].max() <= 1.4
    assert np.all(k.emission_factor[:, 0] == 1.0)  # diesel has no factor row: multiplier 1
    # adding a row (and a measure) leaves every other row's draws unchanged
    more = pd.DataFrame(RANGES + [("hp", "opex", "uniform", 0.5, 1.0, 1.5)], columns=UNC_COLS)
    k2 = U.sample_multipliers(more, ["new"] + ids, cars, 400, 1)
    assert np.array_equal(k2.capex[:, 2], k.capex[:, 1]) and np.array_equal(k2.abatement[:, 3], k.abatement[:, 2])
    assert np.array_equal(k2.opex[:, 2], k.opex[:, 1])  # ev keeps the '*' opex draw
    # a carrier named on a measure parameter is ignored with a note
    odd = pd.DataFrame(RANGES + [("electricity", "capex", "uniform", 0.5, 1.0, 1.5)], columns=UNC_COLS)
    assert any("'electricity' is not a measure" in n for n in U.sample_multipliers(odd, ids, cars, 5, 1).notes)


def test_same_seed_same_numbers_other_seed_other_numbers():
    city, sc, flows, table = setup()
    a = U.run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False)
    b = U.run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False)
    pd.testing.assert_frame_equal(a.measures, b.measures, check_exact=True)
    pd.testing.assert_frame_equal(a.portfolio, b.portfolio, check_exact=True)
    pd.testing.assert_frame_equal(a.fan, b.fan, check_exact=True)
    c = U.run_monte_carlo(city, sc, flows, table, CHOSEN, seed=8, with_tornado=False)
    assert not np.allclose(a.measures["cost_per_tco2e_p50"], c.measures["cost_per_tco2e_p50"])
    assert a.summary["seed"] == 7 and c.summary["seed"] == 8


# --- the deterministic limit ------------------------------------------------------------------------

@pytest.mark.parametrize("perspective", ["municipal", "societal"])
@pytest.mark.parametrize("discount_abatement", [True, False])
def test_zero_width_reproduces_appraise(perspective, discount_abatement):
    grants = [("kk", "Klimatklivet", "grant", 0.4, np.nan, 0.0, np.nan, "transport", "*", "straight"),
              ("own", "Own funds", "own_funds", 1.0, np.nan, 0.0, np.nan, "*", "*", "straight")]
    sc = scenario(draws=50, perspective=perspective, discount_abatement=discount_abatement,
                  carbon_value_per_tco2e=1000.0)
    city, sc, flows, table = setup(zero_width(), sc, funding=grants)
    res = U.run_monte_carlo(city, sc, flows, table, with_tornado=False)
    m = res.measures.set_index("measure_id").loc[table["measure_id"]]
    assert (table["lifetime_abatement_tco2e"] > 0).all()  # finite cost per tonne everywhere
    assert (table["npv_cost"] < 0).any() and (table["npv_cost"] > 0).any()
    for q in ("p10", "p50", "p90"):
        np.testing.assert_allclose(m[f"npv_cost_{q}"], table["npv_cost"], rtol=1e-12)
        np.testing.assert_allclose(m[f"cost_per_tco2e_{q}"], table["cost_per_tco2e"], rtol=1e-12)
    np.testing.assert_allclose(m["expected_cost_per_tco2e"], table["cost_per_tco2e"], rtol=1e-12)
    assert np.array_equal(m["prob_saves_money"].to_numpy(), (table["npv_cost"] < 0).to_numpy(float))
    first = flows.calendar(flows.abatement, np.array([2030]))[:, 0]
    np.testing.assert_allclose(m["abatement_target_year_p50"], first, rtol=1e-12)


def test_zero_width_with_other_mode_equals_scaled_city():
    city, sc, flows, table = setup([("*", "capex", "triangular", 1.3, 1.3, 1.3),
                                    ("diesel", "energy_price", "uniform", 0.8, 0.8, 0.8)])
    res = U.run_monte_carlo(city, sc, flows, table, with_tornado=False)
    scaled = make_city([r | {"capex": r["capex"] * 1.3} for r in MEASURES], CHANGES)
    p = scaled.energy_prices
    scaled = replace(scaled, energy_prices=p.assign(
        price_per_mwh=np.where(p["carrier"] == "diesel", 0.8, 1.0) * p["price_per_mwh"]))
    fl = build_flows(scaled, sc.price_path, sc.emission_factor_set, flows.start_year)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = appraise(fl, scaled, sc.discount_rate)
    np.testing.assert_allclose(res.measures["cost_per_tco2e_p10"], ref["cost_per_tco2e"], rtol=1e-12)
    np.testing.assert_allclose(res.measures["cost_per_tco2e_p90"], ref["cost_per_tco2e"], rtol=1e-12)


def test_zero_width_portfolio_reproduces_pathway():
    city, sc, flows, table = setup(zero_width())
    res = U.run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False)
    fl_c = U.chosen_flows(city, sc, flows, CHOSEN)
    path = build_pathway(city, sc, CHOSEN, fl_c)
    want = path.table["with_portfolio_territorial_tco2e"].to_numpy()
    for col in ("deterministic_tco2e", "p10", "p50", "p90", "mean"):
        np.testing.assert_allclose(res.fan[col], want, rtol=1e-12)
    gap = res.portfolio.set_index("metric").loc["target_year_gap_tco2e"]
    assert gap["p10"] == pytest.approx(path.summary["gap_tco2e"], rel=1e-12)
    assert res.summary["prob_meet_target"] == float(path.summary["gap_tco2e"] <= 0)
    # portfolio NPV: each measure at its chosen start, moved to the budget year; energy scaled
    r = 1 + sc.discount_rate
    pv = U.present_values(fl_c, city, sc.discount_rate)
    s = CHOSEN["scale"].to_numpy()
    shift = r ** -(CHOSEN["start_year"].to_numpy() - 2027.0)
    npv = ((pv.capex + pv.opex + s * pv.energy.sum(1)) * shift).sum()
    assert res.portfolio.set_index("metric").loc["npv_cost", "p50"] == pytest.approx(npv, rel=1e-12)


def test_no_table_or_no_monte_carlo_skips():
    city, sc, flows, table = setup(())
    with pytest.warns(UserWarning, match="no uncertainty table"):
        assert U.run_monte_carlo(city, sc, flows, table) is None
    city, _, flows, table = setup()
    plain = Scenario(title="t", city=Path("."), budget_cycle=2027)
    assert U.run_monte_carlo(city, plain, flows, table) is None


# --- vectorised core against a slow reference loop ------------------------------------------------

def test_vectorised_equals_reference_loop_with_numpy_financial():
    city, _sc, flows, _table = setup(sc=scenario(discount_rate=0.03))
    k = U.sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, 40, 3)
    pv = U.present_values(flows, city, 0.03)
    fast = U.npv_draws(pv, k)
    gen_npv, gen_t = U.npv_draws_materialised(flows, city, k, 0.03, max_elements=500)
    cost_c, t_c, t_plain = np.empty((40, 4)), np.empty((40, 4)), np.empty((40, 4))
    for d in range(40):  # the slow reference: one cash-flow vector and one npf.npv per draw and measure
        for m in range(4):
            cost = (flows.capex[m] * k.capex[d, m] + flows.opex[m] * k.opex[d, m]
                    + sum(flows.energy_cost_c[m, c] * k.energy_price[d, c] for c in range(2)))
            ab = (flows.direct[m] - sum(flows.emissions_c[m, c] * k.emission_factor[d, c] for c in range(2))) \
                * k.abatement[d, m]
            cost_c[d, m], t_c[d, m], t_plain[d, m] = npf.npv(0.03, cost), npf.npv(0.03, ab), ab.sum()
    np.testing.assert_allclose(fast.npv_cost, cost_c, rtol=1e-11)
    np.testing.assert_allclose(fast.tonnes, t_c, rtol=1e-11)
    np.testing.assert_allclose(gen_npv, cost_c, rtol=1e-11)
    np.testing.assert_allclose(gen_t, t_c, rtol=1e-11)
    plain = U.npv_draws(U.present_values(flows, city, 0.03, discount_abatement=False), k)
    np.testing.assert_allclose(plain.tonnes, t_plain, rtol=1e-11)
    assert np.ptp(cost_c[:, 1]) > 0.1 * abs(cost_c[:, 1].mean())  # the draws really vary


def test_portfolio_draws_equal_a_pathway_per_draw():
    city, sc, flows, table = setup()
    res = U.run_monte_carlo(city, sc.model_copy(update={"monte_carlo": sc.monte_carlo.model_copy(
        update={"draws": 6})}), flows, table, CHOSEN, keep_samples=True, with_tornado=False)
    k = res.samples["multipliers"]
    terr = res.samples["portfolio"]["territorial"]
    for d in range(6):  # reference: a perturbed city through build_flows + build_pathway
        kd = {p: np.asarray(getattr(k, p))[d] for p in ("abatement", "emission_factor")}
        m = city.measures.copy()
        m["direct_abatement_tco2e_per_year"] *= kd["abatement"]
        ef = city.emission_factors.copy()
        ef["kgco2e_per_mwh"] *= ef["carrier"].map(dict(zip(k.carriers, kd["emission_factor"])))
        city_d = replace(city, measures=m, emission_factors=ef)
        fl = U.chosen_flows(city_d, sc, flows, CHOSEN)
        # the abatement multiplier also scales the energy-related tonnes: apply it to emissions_c
        ka = pd.Series(kd["abatement"], index=list(k.measure_ids)).reindex(list(fl.measure_ids)).to_numpy()
        fl = replace(fl, emissions_c=fl.emissions_c * ka[:, None, None])
        path = build_pathway(city_d, sc, CHOSEN, fl)
        np.testing.assert_allclose(terr[d], path.table["with_portfolio_territorial_tco2e"], rtol=1e-10)


# --- known distributions ----------------------------------------------------------------------------

def test_percentiles_of_a_known_distribution():
    # one measure with capex only and direct tonnes: cost per tonne = k × base, k ~ U(0.5, 1.5)
    measures = [{"measure_id": "a", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0}]
    city, sc, flows, table = setup([("a", "capex", "uniform", 0.5, 1.0, 1.5)], scenario(draws=200_000),
                                   measures=measures, changes=[("a", "electricity", 0.0)])
    res = U.run_monte_carlo(city, sc, flows, table)
    base = table["cost_per_tco2e"].iloc[0]
    row = res.measures.iloc[0]
    # standard error of a quantile of U(0.5, 1.5) at n = 200 000: √(p(1 − p)/n) ≤ 0.0012
    assert row["cost_per_tco2e_p10"] / base == pytest.approx(0.6, abs=0.005)
    assert row["cost_per_tco2e_p50"] / base == pytest.approx(1.0, abs=0.005)
    assert row["cost_per_tco2e_p90"] / base == pytest.approx(1.4, abs=0.005)
    assert row["npv_cost_mean"] / table["npv_cost"].iloc[0] == pytest.approx(1.0, abs=0.003)
    assert row["prob_saves_money"] == 0.0 and row["prob_abates"] == 1.0


def test_probability_of_saving_money_and_of_meeting_the_target():
    # npv = capex − k_price × PV(savings) with capex = PV(savings): P(npv < 0) = P(k > 1) = 0.5
    # for k ~ U(0.5, 1.5)
    rate, life, mwh, price = 0.025, 10, -100.0, 1000.0
    pv_sav = -mwh * price * (1 - (1 + rate) ** -life) / rate
    measures = [{"measure_id": "a", "capex": pv_sav, "lifetime_years": life, "direct_abatement_tco2e_per_year": 5000.0}]
    # target year 2030: baseline 10 000 + 6 000; level 0.5 × 28 000 = 14 000; need 2 000 t;
    # tonnes ≈ 5 003 × k_abate (3 t from the electricity saved), k ~ U(0.2, 0.6) → P(≥ 2 000 t) ≈ 0.5
    city, sc, flows, table = setup([("electricity", "energy_price", "uniform", 0.5, 1.0, 1.5),
                                    ("a", "abatement", "uniform", 0.2, 0.4, 0.6)], scenario(draws=40_000),
                                   measures=measures, changes=[("a", "electricity", mwh)])
    city = replace(city, energy_prices=pd.DataFrame(
        [("electricity", "*", 2020, price)], columns=["carrier", "price_path", "year", "price_per_mwh"]))
    flows = build_flows(city, "base", "nordic_mix", flows.start_year)
    chosen = pd.DataFrame({"measure_id": ["a"], "start_year": [2027], "scale": [1.0]})
    res = U.run_monte_carlo(city, sc, flows, table, chosen, with_tornado=False)
    assert res.measures["prob_saves_money"].iloc[0] == pytest.approx(0.5, abs=0.01)
    assert res.summary["prob_meet_target"] == pytest.approx(0.5, abs=0.01)
    assert res.summary["required_tco2e"] == pytest.approx(2000.0)
    port = res.portfolio.set_index("metric")
    assert port.loc["target_year_abatement_territorial_tco2e", "p10"] == pytest.approx(5000 * 0.24, rel=0.01)


def test_draws_without_abatement_count_as_infinite_cost_per_tonne():
    # electrification whose net abatement changes sign with the electricity factor
    measures = [{"measure_id": "x", "capex": 1e5}]
    # 26.5 t/yr of diesel saved, 600 MWh × (about 25 kg/MWh over the life) × k added: the lifetime
    # tonnes are positive only for k below about 1.8, k ~ U(1, 4)
    changes = [("x", "diesel", -100.0), ("x", "electricity", 600.0)]
    city, sc, flows, table = setup([("electricity", "emission_factor", "uniform", 1.0, 2.5, 4.0)],
                                   scenario(draws=20_000), measures=measures, changes=changes)
    res = U.run_monte_carlo(city, sc, flows, table).measures.iloc[0]
    assert 0.15 < res["prob_abates"] < 0.4
    assert res["cost_per_tco2e_p90"] == np.inf
    assert np.isfinite(res["cost_per_tco2e_p10"])


# --- chunking ------------------------------------------------------------------------------------------

def test_chunking_gives_the_same_numbers():
    # equal to the last bits: BLAS may round a small matrix product differently for another
    # block shape, so the comparison allows 1e-14 relative
    city, sc, flows, table = setup()
    whole = U.run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False, max_elements=1 << 24)
    tiny = U.run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False, max_elements=700)
    pd.testing.assert_frame_equal(whole.measures, tiny.measures, check_exact=False, rtol=1e-14)
    pd.testing.assert_frame_equal(whole.fan, tiny.fan, check_exact=False, rtol=1e-14)
    pd.testing.assert_frame_equal(whole.portfolio, tiny.portfolio, check_exact=False, rtol=1e-14)
    k = U.sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, 30, 1)
    a = U.npv_draws_materialised(flows, city, k, 0.025, max_elements=10**9)
    b = U.npv_draws_materialised(flows, city, k, 0.025, max_elements=50)
    np.testing.assert_array_equal(a[0], b[0])


# --- tornado --------------------------------------------------------------------------------------------

def test_tornado_values_against_direct_computation():
    one = pd.DataFrame({"measure_id": ["hp"], "start_year": [2027], "scale": [1.0]})
    city, sc, flows, _table = setup(sc=scenario(draws=20, carbon_value_per_tco2e=500.0),
                                   measures=MEASURES[:1], changes=CHANGES[:2])
    t = U.tornado(city, sc, flows, one, build_pathway(city, sc, one, U.chosen_flows(city, sc, flows, one)))
    cost = t[t["metric"] == "cost_per_tco2e"].set_index("parameter")
    fl = U.chosen_flows(city, sc, flows, one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rate, col in ((0.01, "low_value"), (0.04, "high_value"), (0.025, "base_value")):
            want = appraise(fl, city, rate)["cost_per_tco2e"].iloc[0]
            assert cost.loc["discount_rate", col] == pytest.approx(want, rel=1e-12)
        # investment costs at the P10 / P90 of the '*' capex row (triangular 0.9, 1.0, 1.4)
        q10 = stats.triang(c=0.2, loc=0.9, scale=0.5).ppf(0.1)
        cap = make_city([MEASURES[0] | {"capex": 2e6 * q10}], CHANGES[:2])
        want = appraise(build_flows(cap, "base", "nordic_mix", [2027]), cap, 0.025)["cost_per_tco2e"].iloc[0]
    assert cost.loc["investment_costs", "low_value"] == pytest.approx(want, rel=1e-12)
    assert cost.loc["investment_costs", "low_label"] == f"× {q10:.2f} (P10)"
    # carbon value: municipal perspective counts none at base; net cost per tonne falls by the value
    net = t[t["metric"] == "net_cost_per_tco2e"].set_index("parameter").loc["carbon_value"]
    assert net["low_value"] == pytest.approx(net["base_value"])
    assert net["base_value"] - net["high_value"] == pytest.approx(1000.0, rel=1e-12)  # 2 × 500, tonnes discounted
    # factor sets: residual mix makes the heat pump add electricity emissions → larger gap
    gap = t[t["metric"] == "gap_tco2e"].set_index("parameter")
    assert gap.loc["electricity_factor_set", "high_label"] == "residual_mix"
    assert gap.loc["electricity_factor_set", "low_label"] == "nordic_mix"
    assert gap.loc["discount_rate", "swing"] == 0.0  # a fixed portfolio's tonnes do not depend on the rate
    assert gap.loc["electricity_factor_set", "base_value"] == gap.loc["electricity_factor_set", "low_value"]
    assert list(t.columns) == U.TORNADO_COLUMNS
    # no low/high price paths in this city: prices × 0.7 / × 1.3
    assert cost.loc["energy_prices", "low_label"] == "prices × 0.7"


# --- selection frequency --------------------------------------------------------------------------------

def test_greedy_selection_rules():
    cpt = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    kc = np.ones((2, 4))
    spend = np.zeros((4, 3, 3))
    for m in range(4):
        for s in range(3):
            spend[m, s, s] = 10.0  # capex 10 in the start year
    cand = np.ones((4, 3), bool)
    chosen, start = U.greedy_selection(cpt, kc, spend, np.array([10.0, 10.0, 0.0]), cand)
    assert chosen.tolist() == [[True, True, False, False], [False, False, True, True]]
    assert start[0, :2].tolist() == [0, 1] and start[1, 2:].tolist() == [1, 0]
    group = np.array(["g", "g", "", ""])
    chosen, _ = U.greedy_selection(cpt, kc, spend, np.array([10.0, 10.0, 10.0]), cand, group=group)
    assert chosen[0].tolist() == [True, False, True, True]  # 1 is an alternative to 0
    requires = np.array([-1, -1, -1, 2])  # 3 requires 2
    chosen, _ = U.greedy_selection(cpt, kc, spend, None, cand, requires=requires)
    assert chosen[0].all()  # 2 comes before 3
    assert chosen[1].tolist() == [True, True, True, False]  # 3 comes first, before 2: skipped
    # capex multipliers change what fits
    chosen, _ = U.greedy_selection(cpt[:1], np.array([[1.1, 1, 1, 1]]), spend, np.array([10.0, 0, 0]), cand)
    assert chosen[0].tolist() == [False, True, False, False]


def test_selection_frequency_greedy_and_skip():
    # budget 1 MSEK in 2027 only: either a or b fits; which one is cheaper per tonne varies by draw
    measures = [{"measure_id": "a", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0},
                {"measure_id": "b", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0,
                 "emission_source": "road"}]
    rng = [("a", "capex", "uniform", 0.8, 1.0, 1.0), ("b", "capex", "uniform", 0.6, 0.9, 1.0)]
    sc = scenario(draws=4000, reselect=4000, investment_budget={2027: 1e6})
    city, sc, flows, table = setup(rng, sc, measures=measures, changes=[("a", "electricity", 0.0)])
    res = U.run_monte_carlo(city, sc, flows, table, with_tornado=False)
    f = res.selection_frequency.set_index("measure_id")["share_of_draws_chosen"]
    # b cheaper iff k_b < k_a: P = ∫ P(k_b < x) dx/0.2 over x ~ U(0.8, 1) with k_b ~ U(0.6, 1) = 0.75
    assert f["b"] == pytest.approx(0.75, abs=0.02)
    assert f["a"] + f["b"] == pytest.approx(1.0)
    assert "greedy" in res.selection_frequency["method"].iloc[0]
    assert res.summary["selection_frequency"]["draws"] == 4000
    none = U.run_monte_carlo(city, sc, flows, table, reselect_draws=0, with_tornado=False)
    assert none.selection_frequency is None
    assert none.summary["selection_frequency"]["method"] == "skipped"


def test_selection_frequency_milp_runs_the_portfolio_module():
    pytest.importorskip("climateinvest.portfolio")
    measures = MEASURES[:2] + [MEASURES[2]]
    city, sc, flows, table = setup(sc=scenario(draws=3, reselect=2), measures=measures, changes=CHANGES[:4])
    res = U.run_monte_carlo(city, sc, flows, table, reselect_method="milp", with_tornado=False)
    info = res.summary["selection_frequency"]
    assert info["method"] == "milp" and info["draws"] == 2 and info["failed"] == 0
    assert info["seconds_per_draw"] > 0
    assert set(res.selection_frequency["share_of_draws_chosen"]) <= {0.0, 0.5, 1.0}


# --- plots ----------------------------------------------------------------------------------------------

def test_figures_draw_the_tables():
    from climateinvest.macc import build_macc

    city, sc, flows, table = setup(sc=scenario(draws=300, reselect=100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macc = build_macc(table, flows, city, sc)
    res = U.run_monte_carlo(city, sc, flows, table, CHOSEN, macc_curve=macc.curve)
    fig = P.macc_whiskers_figure(res, currency="SEK")
    whisk = next(t for t in fig.data if t.name == "P10–P90 (Monte Carlo)")
    u = res.measures.set_index("measure_id").reindex(macc.curve["measure_id"])
    y = macc.curve["cost_per_tco2e"].to_numpy()
    np.testing.assert_allclose(whisk.error_y.arrayminus, y - u["curve_cost_per_tco2e_p10"].to_numpy())
    assert "SEK per t CO2e" in fig.layout.yaxis.title.text
    fan = P.fan_figure(res, target=sc.target)
    band = next(t for t in fan.data if t.name == "With the portfolio, P10–P90")
    np.testing.assert_allclose(band.y, res.fan["p10"])
    assert "t CO2e/year" in fan.layout.yaxis.title.text
    tor = P.tornado_figure(res.tornado, "cost_per_tco2e", "SEK")
    assert tor.data[0].orientation == "h" and "SEK per t CO2e" in tor.layout.xaxis.title.text
    assert isinstance(P.gap_tornado_figure(res), go.Figure)
    sel = P.selection_frequency_figure(res)
    assert sel.layout.xaxis.tickformat == ".0%"
    assert sum(len(t.x) for t in sel.data) == len(flows.measure_ids)
    # what a result lacks is not drawn
    bare = U.run_monte_carlo(city, sc, flows, table, reselect_draws=0)
    assert P.fan_figure(bare) is None and P.macc_whiskers_figure(bare) is None
    assert P.selection_frequency_figure(bare) is None and P.tornado_figure(bare) is None

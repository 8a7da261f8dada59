"""run_monte_carlo: reproducibility, the deterministic limit, the portfolio per draw, known
distributions, chunking and the figures."""
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from uncertainty_city import CHANGES, CHOSEN, MEASURES, make_city, scenario, setup, zero_width

from climateinvest.appraisal import appraise
from climateinvest.cashflows import build_flows
from climateinvest.io.scenario import Scenario
from climateinvest.report.plots import uncertainty as P
from climateinvest.territory.pathway import build_pathway
from climateinvest.uncertainty.analysis import run_monte_carlo
from climateinvest.uncertainty.fixed_portfolio import chosen_flows
from climateinvest.uncertainty.montecarlo import npv_draws_materialised, present_values
from climateinvest.uncertainty.sampling import sample_multipliers

# --- reproducibility --------------------------------------------------------------------------

def test_same_seed_same_numbers_other_seed_other_numbers():
    city, sc, flows, table = setup()
    a = run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False)
    b = run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False)
    pd.testing.assert_frame_equal(a.measures, b.measures, check_exact=True)
    pd.testing.assert_frame_equal(a.portfolio, b.portfolio, check_exact=True)
    pd.testing.assert_frame_equal(a.fan, b.fan, check_exact=True)
    c = run_monte_carlo(city, sc, flows, table, CHOSEN, seed=8, with_tornado=False)
    assert not np.allclose(a.measures["cost_per_tco2e_p50"], c.measures["cost_per_tco2e_p50"])
    assert a.summary["seed"] == 7 and c.summary["seed"] == 8



# --- the deterministic limit ------------------------------------------------------------------

@pytest.mark.parametrize("perspective", ["municipal", "societal"])
@pytest.mark.parametrize("discount_abatement", [True, False])
def test_zero_width_reproduces_appraise(perspective, discount_abatement):
    grants = [("kk", "Klimatklivet", "grant", 0.4, np.nan, 0.0, np.nan, "transport", "*", "straight"),
              ("own", "Own funds", "own_funds", 1.0, np.nan, 0.0, np.nan, "*", "*", "straight")]
    sc = scenario(draws=50, perspective=perspective, discount_abatement=discount_abatement,
                  carbon_value_per_tco2e=1000.0)
    city, sc, flows, table = setup(zero_width(), sc, funding=grants)
    res = run_monte_carlo(city, sc, flows, table, with_tornado=False)
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
    res = run_monte_carlo(city, sc, flows, table, with_tornado=False)
    scaled = make_city([r | {"capex": r["capex"] * 1.3} for r in MEASURES], CHANGES)
    p = scaled.energy_prices
    scaled = replace(scaled, energy_prices=p.assign(
        price_per_mwh=np.where(p["carrier"] == "diesel", 0.8, 1.0) * p["price_per_mwh"]))
    fl = build_flows(scaled, sc.price_path, sc.emission_factor_set, flows.start_year)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = appraise(fl, scaled, sc.real_rate)
    np.testing.assert_allclose(res.measures["cost_per_tco2e_p10"], ref["cost_per_tco2e"], rtol=1e-12)
    np.testing.assert_allclose(res.measures["cost_per_tco2e_p90"], ref["cost_per_tco2e"], rtol=1e-12)


def test_zero_width_portfolio_reproduces_pathway():
    city, sc, flows, table = setup(zero_width())
    res = run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False)
    fl_c = chosen_flows(city, sc, flows, CHOSEN)
    path = build_pathway(city, sc, CHOSEN, fl_c)
    t = path.table[path.table["year"] >= 2024]  # the fan starts at the last inventory year
    want = t["with_portfolio_territorial_tco2e"].to_numpy()
    assert res.fan["year"].tolist() == t["year"].tolist()
    for col in ("deterministic_tco2e", "p10", "p50", "p90", "mean"):
        np.testing.assert_allclose(res.fan[col], want, rtol=1e-12)
    gap = res.portfolio.set_index("metric").loc["target_year_gap_tco2e"]
    assert gap["p10"] == pytest.approx(path.summary["gap_tco2e"], rel=1e-12)
    assert res.summary["prob_meet_target"] == float(path.summary["gap_tco2e"] <= 0)
    # portfolio NPV: each measure at its chosen start, moved to the budget year; energy scaled
    r = 1 + sc.real_rate
    pv = present_values(fl_c, city, sc.real_rate)
    s = CHOSEN["scale"].to_numpy()
    shift = r ** -(CHOSEN["start_year"].to_numpy() - 2027.0)
    npv = ((pv.capex + pv.opex + s * pv.energy.sum(1)) * shift).sum()
    assert res.portfolio.set_index("metric").loc["npv_cost", "p50"] == pytest.approx(npv, rel=1e-12)


def test_no_table_or_no_monte_carlo_skips():
    city, sc, flows, table = setup(())
    with pytest.warns(UserWarning, match="no uncertainty table"):
        assert run_monte_carlo(city, sc, flows, table) is None
    city, _, flows, table = setup()
    plain = Scenario(title="t", city=Path("."), budget_cycle=2027)
    assert run_monte_carlo(city, plain, flows, table) is None



# --- the portfolio per draw -------------------------------------------------------------------

def test_portfolio_draws_equal_a_pathway_per_draw():
    city, sc, flows, table = setup()
    res = run_monte_carlo(city, sc.model_copy(update={"monte_carlo": sc.monte_carlo.model_copy(
        update={"draws": 6})}), flows, table, CHOSEN, keep_samples=True, with_tornado=False)
    k = res.samples["multipliers"]
    terr = res.samples["portfolio"]["territorial"]
    for d in range(6):  # reference: a perturbed city through build_flows + build_pathway
        kd = {p: np.asarray(getattr(k, p))[d] for p in ("abatement", "emission_factor")}
        m = city.measures.copy()
        m["direct_abatement_tco2e_per_year"] *= kd["abatement"]
        ef = city.emission_factors.copy()
        ef["kgco2e_per_mwh"] *= ef["carrier"].map(dict(zip(k.carriers, kd["emission_factor"], strict=True)))
        city_d = replace(city, measures=m, emission_factors=ef)
        fl = chosen_flows(city_d, sc, flows, CHOSEN)
        # the abatement multiplier also scales the energy-related tonnes: apply it to emissions_c
        ka = pd.Series(kd["abatement"], index=list(k.measure_ids)).reindex(list(fl.measure_ids)).to_numpy()
        fl = replace(fl, emissions_c=fl.emissions_c * ka[:, None, None])
        path = build_pathway(city_d, sc, CHOSEN, fl)
        np.testing.assert_allclose(terr[d], path.table["with_portfolio_territorial_tco2e"], rtol=1e-10)
    assert terr.shape[1] == len(path.table)


def test_empty_portfolio_is_the_baseline():
    city, sc, flows, table = setup()
    empty = CHOSEN.iloc[:0]
    res = run_monte_carlo(city, sc, flows, table, empty, with_tornado=False)
    np.testing.assert_allclose(res.fan["p50"], res.fan["baseline_tco2e"])
    port = res.portfolio.set_index("metric")
    assert port.loc["target_year_abatement_territorial_tco2e", "p90"] == 0.0
    assert port.loc["npv_cost", "p50"] == 0.0



# --- known distributions ----------------------------------------------------------------------

def test_percentiles_of_a_known_distribution():
    # one measure with capex only and direct tonnes: cost per tonne = k × base, k ~ U(0.5, 1.5)
    measures = [{"measure_id": "a", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0}]
    city, sc, flows, table = setup([("a", "capex", "uniform", 0.5, 1.0, 1.5)], scenario(draws=200_000),
                                   measures=measures, changes=[("a", "electricity", 0.0)])
    res = run_monte_carlo(city, sc, flows, table)
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
                                    ("a", "abatement", "uniform", 0.2, 0.4, 0.6)],
                                   # the rate of the hand computation, given as real (since issue 11 a
                                   # rate left out is SKR's nominal internränta made real: 0.49 %)
                                   scenario(draws=40_000, discount_rate=rate, rate_basis="real"),
                                   measures=measures, changes=[("a", "electricity", mwh)])
    city = replace(city, energy_prices=pd.DataFrame(
        [("electricity", "*", 2020, price)], columns=["carrier", "price_path", "year", "price_per_mwh"]))
    flows = build_flows(city, "base", "nordic_mix", flows.start_year)
    chosen = pd.DataFrame({"measure_id": ["a"], "start_year": [2027], "scale": [1.0]})
    res = run_monte_carlo(city, sc, flows, table, chosen, with_tornado=False)
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
    res = run_monte_carlo(city, sc, flows, table).measures.iloc[0]
    assert 0.15 < res["prob_abates"] < 0.4
    assert res["cost_per_tco2e_p90"] == np.inf
    assert np.isfinite(res["cost_per_tco2e_p10"])



# --- chunking ---------------------------------------------------------------------------------

def test_chunking_gives_the_same_numbers():
    # equal to the last bits: BLAS may round a small matrix product differently for another
    # block shape, so the comparison allows 1e-14 relative
    city, sc, flows, table = setup()
    whole = run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False, max_elements=1 << 24)
    tiny = run_monte_carlo(city, sc, flows, table, CHOSEN, with_tornado=False, max_elements=700)
    pd.testing.assert_frame_equal(whole.measures, tiny.measures, check_exact=False, rtol=1e-14)
    pd.testing.assert_frame_equal(whole.fan, tiny.fan, check_exact=False, rtol=1e-14)
    pd.testing.assert_frame_equal(whole.portfolio, tiny.portfolio, check_exact=False, rtol=1e-14)
    k = sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, 30, 1)
    a = npv_draws_materialised(flows, city, k, 0.025, max_elements=10**9)
    b = npv_draws_materialised(flows, city, k, 0.025, max_elements=50)
    np.testing.assert_array_equal(a[0], b[0])



# --- plots ------------------------------------------------------------------------------------

def test_figures_draw_the_tables():
    from climateinvest.macc import build_macc

    city, sc, flows, table = setup(sc=scenario(draws=300, reselect=100))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        macc = build_macc(table, flows, city, sc)
    res = run_monte_carlo(city, sc, flows, table, CHOSEN, macc_curve=macc.curve)
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
    bare = run_monte_carlo(city, sc, flows, table, reselect_draws=0)
    assert P.fan_figure(bare) is None and P.macc_whiskers_figure(bare) is None
    assert P.selection_frequency_figure(bare) is None and P.tornado_figure(bare) is None


@pytest.mark.parametrize("perspective", ["municipal", "societal"])
def test_the_portfolio_cost_per_tonne_counts_the_tonnes_the_payer_buys(perspective):
    """Municipal perspective: the municipal group's money over the tonnes its own measures buy,
    so a measure paid by others (which costs the city nothing) changes neither the NPV nor the
    tonnes; societal: every measure's cost and tonnes add up."""
    from climateinvest.uncertainty.fixed_portfolio import portfolio_draws, prepare_portfolio
    from climateinvest.uncertainty.sampling import Multipliers
    measures = MEASURES + [{"measure_id": "firm", "capex": 1e6, "payer": "external", "external_party": "businesses",
                            "direct_abatement_tco2e_per_year": 500.0, "lifetime_years": 10}]
    city, sc, flows, _ = setup(zero_width(), sc=scenario(perspective=perspective), measures=measures)
    sets = {"city": CHOSEN.drop(columns="scale"), "firm": pd.DataFrame({"measure_id": ["firm"], "start_year": [2027]})}
    sets["both"] = pd.concat([sets["city"], sets["firm"]], ignore_index=True)

    def draw(c):
        fl = chosen_flows(city, sc, flows, c)
        p = prepare_portfolio(city, sc, fl, c, build_pathway(city, sc, c, fl))
        r = portfolio_draws(p, Multipliers.ones(1, fl.measure_ids, fl.carriers))
        return r["npv_cost"][0], r["tonnes"][0], r["cost_per_tco2e"][0]

    (n_c, t_c, cpt_c), (n_f, t_f, _), (n_b, t_b, cpt_b) = (draw(sets[k]) for k in ("city", "firm", "both"))
    if perspective == "municipal":
        assert (n_f, t_f) == (0.0, 0.0) and cpt_b == pytest.approx(cpt_c, rel=1e-12)
    else:
        assert t_f > 0 and n_f > 0
        assert n_b == pytest.approx(n_c + n_f, rel=1e-9) and t_b == pytest.approx(t_c + t_f, rel=1e-9)
        assert cpt_b == pytest.approx((n_c + n_f) / (t_c + t_f), rel=1e-9) and cpt_b != pytest.approx(cpt_c)

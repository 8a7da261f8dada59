"""Selection frequency: greedy shares against a known probability, the MILP."""
import pytest
from uncertainty_city import CHANGES, MEASURES, scenario, setup

from climateinvest.uncertainty.analysis import run_monte_carlo

# --- selection frequency ----------------------------------------------------------------------

# Two measures of 100 t each and 1 MSEK, only one fits the budget; b is cheaper iff k_b < k_a.
TIE_MEASURES = [{"measure_id": "a", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0},
                {"measure_id": "b", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0,
                 "emission_source": "road"}]
TIE_RANGES = [("a", "capex", "uniform", 0.8, 1.0, 1.0), ("b", "capex", "uniform", 0.6, 0.9, 1.0)]

def test_selection_frequency_greedy_and_skip():
    # budget 1 MSEK in 2027 only: either a or b fits; which one is cheaper per tonne varies by draw
    measures, rng = TIE_MEASURES, TIE_RANGES
    sc = scenario(draws=4000, reselect=4000, investment_budget={2027: 1e6, 2028: 0.0, 2029: 0.0})
    city, sc, flows, table = setup(rng, sc, measures=measures, changes=[("a", "electricity", 0.0)])
    res = run_monte_carlo(city, sc, flows, table, with_tornado=False)
    f = res.selection_frequency.set_index("measure_id")["share_of_draws_chosen"]
    # b cheaper iff k_b < k_a: P = ∫ P(k_b < x) dx/0.2 over x ~ U(0.8, 1) with k_b ~ U(0.6, 1) = 0.75
    assert f["b"] == pytest.approx(0.75, abs=0.02)
    assert f["a"] + f["b"] == pytest.approx(1.0)
    assert "greedy" in res.selection_frequency["method"].iloc[0]
    assert res.summary["selection_frequency"]["draws"] == 4000
    none = run_monte_carlo(city, sc, flows, table, reselect_draws=0, with_tornado=False)
    assert none.selection_frequency is None
    assert none.summary["selection_frequency"]["method"] == "skipped"


def test_selection_frequency_milp_runs_the_portfolio_module():
    pytest.importorskip("climateinvest.portfolio.select")
    measures = MEASURES[:2] + [MEASURES[2]]
    city, sc, flows, table = setup(sc=scenario(draws=3, reselect=2), measures=measures, changes=CHANGES[:4])
    res = run_monte_carlo(city, sc, flows, table, reselect_method="milp", with_tornado=False)
    info = res.summary["selection_frequency"]
    assert info["method"] == "milp" and info["draws"] == 2 and info["failed"] == 0
    assert info["seconds_per_draw"] > 0
    assert set(res.selection_frequency["share_of_draws_chosen"]) <= {0.0, 0.5, 1.0}


def test_exact_selection_frequency_is_the_milp_per_draw():
    # same city as the greedy test: both measures abate 100 t and only one fits the budget, so
    # the MILP's tie-break takes the cheaper one; b is cheaper iff k_b < k_a, P = 0.75
    measures, rng = TIE_MEASURES, TIE_RANGES
    sc = scenario(draws=400, reselect=400, investment_budget={2027: 1e6, 2028: 0.0, 2029: 0.0})
    sc = sc.with_changes(monte_carlo=sc.monte_carlo.model_dump() | {"reselect_method": "exact"})  # the scenario key
    city, sc, flows, table = setup(rng, sc, measures=measures, changes=[("a", "electricity", 0.0)])
    res = run_monte_carlo(city, sc, flows, table, with_tornado=False)
    f = res.selection_frequency.set_index("measure_id")["share_of_draws_chosen"]
    assert f["b"] == pytest.approx(0.75, abs=0.07)
    assert f["a"] + f["b"] == pytest.approx(1.0)
    assert res.summary["selection_frequency"]["method"] == "exact"
    assert res.selection_frequency["method"].iloc[0].startswith("exact")


def test_exact_reselection_with_unit_multipliers_is_the_portfolio():
    import dataclasses

    import numpy as np

    from climateinvest.portfolio.select import select_portfolio
    from climateinvest.uncertainty.reselection import exact_reselection
    from climateinvest.uncertainty.sampling import sample_multipliers

    measures = MEASURES[:2] + [MEASURES[2]]
    city, sc, flows, table = setup(sc=scenario(draws=3, reselect=2), measures=measures, changes=CHANGES[:4])
    k = sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, 2, 0)
    ones = dataclasses.replace(k, **{f: np.ones_like(getattr(k, f))
                                     for f in ("capex", "opex", "abatement", "energy_price", "emission_factor")})
    chosen, failed = exact_reselection(city, sc, flows, ones)
    want = set(select_portfolio(city, sc, table, frontier=False).chosen["measure_id"])
    assert failed == 0
    for row in chosen:
        assert set(np.asarray(flows.measure_ids)[row]) == want

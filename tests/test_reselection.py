"""Selection frequency: the greedy rules, greedy shares against a known probability, the MILP."""
import numpy as np
import pytest
from uncertainty_city import CHANGES, MEASURES, scenario, setup

from climateinvest.uncertainty.analysis import run_monte_carlo
from climateinvest.uncertainty.reselection import greedy_selection

# --- selection frequency ----------------------------------------------------------------------

def test_greedy_selection_rules():
    cpt = np.array([[1.0, 2.0, 3.0, 4.0], [4.0, 3.0, 2.0, 1.0]])
    kc = np.ones((2, 4))
    spend = np.zeros((4, 3, 3))
    for m in range(4):
        for s in range(3):
            spend[m, s, s] = 10.0  # capex 10 in the start year
    cand = np.ones((4, 3), bool)
    chosen, start = greedy_selection(cpt, kc, spend, np.array([10.0, 10.0, 0.0]), cand)
    assert chosen.tolist() == [[True, True, False, False], [False, False, True, True]]
    assert start[0, :2].tolist() == [0, 1] and start[1, 2:].tolist() == [1, 0]
    group = np.array(["g", "g", "", ""])
    chosen, _ = greedy_selection(cpt, kc, spend, np.array([10.0, 10.0, 10.0]), cand, group=group)
    assert chosen[0].tolist() == [True, False, True, True]  # 1 is an alternative to 0
    requires = np.array([-1, -1, -1, 2])  # 3 requires 2
    chosen, start = greedy_selection(cpt, kc, spend, np.array([10.0, 10.0, 20.0]), cand, requires=requires)
    assert chosen[0].all() and start[0, 2] == start[0, 3] == 2  # 3 may not start before 2
    # row 1 walks 3 first: it comes with 2 as a package, which needs 20 in one year
    assert chosen[1].tolist() == [True, True, True, True] and start[1, 2] == start[1, 3] == 2
    chosen, start = greedy_selection(cpt, kc, spend, np.array([10.0, 10.0, 10.0]), cand, requires=requires)
    assert chosen.tolist() == [[True, True, True, False]] * 2  # no year has room for 3 after 2
    chosen, start = greedy_selection(cpt, kc, spend, np.array([20.0, 10.0, 10.0]), cand, requires=requires)
    assert chosen[1].all() and start[1, 2] == start[1, 3] == 0  # the package fits in year 0
    # capex multipliers change what fits
    chosen, _ = greedy_selection(cpt[:1], np.array([[1.1, 1, 1, 1]]), spend, np.array([10.0, 0, 0]), cand)
    assert chosen[0].tolist() == [False, True, False, False]


def test_selection_frequency_greedy_and_skip():
    # budget 1 MSEK in 2027 only: either a or b fits; which one is cheaper per tonne varies by draw
    measures = [{"measure_id": "a", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0},
                {"measure_id": "b", "capex": 1e6, "direct_abatement_tco2e_per_year": 100.0,
                 "emission_source": "road"}]
    rng = [("a", "capex", "uniform", 0.8, 1.0, 1.0), ("b", "capex", "uniform", 0.6, 0.9, 1.0)]
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

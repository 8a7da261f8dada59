"""The one greedy rule: the MAC order, the portfolio's "fund down the curve" baseline and the
Monte Carlo re-selection are one walk (climateinvest.portfolio.greedy, macc.mac_order)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_portfolio import appraisal, make_city, make_scenario, small_cases

import climateinvest as ci
from climateinvest.cashflows import build_flows
from climateinvest.macc import build_macc, mac_order
from climateinvest.portfolio.candidates import build_problem
from climateinvest.portfolio.greedy import FundingProblem, fund_down, greedy
from climateinvest.run import run_curve
from climateinvest.uncertainty.reselection import greedy_reselection
from climateinvest.uncertainty.sampling import Multipliers


def funding(spend_per_year=10.0, M=4, S=3, group=None, requires=None, tonnes=None, sequential=True,
            baseline=(1000.0,)):
    """M measures on one source, each paying ``spend_per_year`` in its start year only."""
    spend = np.zeros((M, S, S))
    for s in range(S):
        spend[:, s, s] = spend_per_year
    return FundingProblem(
        spend=spend, candidate=np.ones((M, S), bool),
        tonnes=np.full((M, S), 100.0) if tonnes is None else np.asarray(tonnes, float),
        source=np.zeros(M, int), baseline=np.asarray(baseline, float), territorial=np.ones(M, bool),
        group=np.full(M, -1) if group is None else np.asarray(group), requires=np.full(M, -1) if requires is None
        else np.asarray(requires), sequential=sequential, index=np.arange(M * S).reshape(M, S))


def test_fund_down_rules():
    order = np.array([[0, 1, 2, 3], [3, 2, 1, 0]])
    chosen, start = fund_down(order, funding(), np.array([10.0, 10.0, 0.0]))
    # budget 10 + 10: the first two on each draw's curve, in the earliest year with room
    assert chosen.tolist() == [[True, True, False, False], [False, False, True, True]]
    assert start[0, :2].tolist() == [0, 1] and start[1, 2:].tolist() == [1, 0]
    chosen, _ = fund_down(order, funding(group=[0, 0, -1, -1]), np.array([10.0, 10.0, 10.0]))
    assert chosen[0].tolist() == [True, False, True, True]  # 1 is an alternative to 0
    fp = funding(requires=[-1, -1, -1, 2])  # 3 requires 2
    chosen, start = fund_down(order, fp, np.array([10.0, 10.0, 20.0]))
    assert chosen[0].all() and start[0, 2] == 2 and start[0, 3] == 2  # 3 may not start before 2
    # draw 1 walks 3 first, before 2 is chosen: skipped (no package), then 2, 1, 0 are funded
    assert chosen[1].tolist() == [True, True, True, False]
    chosen, _ = fund_down(order, funding(requires=[-1, -1, -1, -2]), None)
    assert chosen.tolist() == [[True, True, True, False]] * 2  # its required measure is no candidate
    # capex multipliers change what fits
    chosen, _ = fund_down(order[:1], funding(), np.array([10.0, 0, 0]), k_capex=np.array([[1.1, 1, 1, 1]]))
    assert chosen[0].tolist() == [False, True, False, False]
    # min_cost stop, sequential: 100 of 1000 t, then 100 × 0.9 = 90: 190 t after two measures
    chosen, _ = fund_down(order[:1], funding(), None, stop_at=180.0)
    assert chosen[0].tolist() == [True, True, False, False]
    chosen, _ = fund_down(order[:1], funding(), None, stop_at=0.0)
    assert not chosen.any()  # the target is already met: nothing is funded
    # independent: the source's cap (250 t) leaves room for two measures of 100 t
    chosen, _ = fund_down(order[:1], funding(sequential=False, baseline=(250.0,)), None)
    assert chosen[0].tolist() == [True, True, False, False]


@st.composite
def walks(draw):
    R, M = draw(st.integers(1, 5)), draw(st.integers(1, 6))
    arr = lambda lo, hi: np.array(draw(st.lists(st.lists(st.floats(lo, hi), min_size=M, max_size=M),  # noqa: E731
                                                 min_size=R, max_size=R)))
    return dict(K=arr(-5, 5), E=arr(-5, 5), T=arr(0.1, 5), standalone=arr(-1, 5),
                source=np.array(draw(st.lists(st.integers(0, 1), min_size=M, max_size=M))),
                share=arr(0, 1), cap=arr(0.5, 1),
                group=np.array(draw(st.lists(st.integers(-1, 1), min_size=M, max_size=M))),
                todo=np.array(draw(st.lists(st.lists(st.booleans(), min_size=M, max_size=M), min_size=R, max_size=R))),
                sequential=draw(st.booleans()))


@settings(max_examples=60, deadline=None)
@given(walks())
def test_mac_order_of_all_draws_at_once_is_each_draws_own_walk(w):
    per_draw = {k: v for k, v in w.items() if k not in ("source", "group", "sequential")}
    together = mac_order(**w)
    for r in range(w["K"].shape[0]):
        alone = mac_order(**{k: v[r:r + 1] for k, v in per_draw.items()}, source=w["source"],
                          group=w["group"], sequential=w["sequential"])
        for a, b in zip(together, alone, strict=True):
            np.testing.assert_array_equal(a[r:r + 1], b)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 5), st.integers(1, 5), st.data())
def test_fund_down_of_all_draws_at_once_is_each_draws_own_walk(R, M, data):
    order = np.array([data.draw(st.permutations(range(M))) for _ in range(R)])
    order[:, data.draw(st.integers(1, M)):] = -1
    kc = np.array(data.draw(st.lists(st.lists(st.floats(0.5, 2), min_size=M, max_size=M), min_size=R, max_size=R)))
    kt = np.array(data.draw(st.lists(st.lists(st.floats(0.5, 2), min_size=M, max_size=M), min_size=R, max_size=R)))
    fp = funding(M=M, group=data.draw(st.lists(st.integers(-1, 1), min_size=M, max_size=M)),
                 requires=[data.draw(st.integers(-1, m - 1)) if m else -1 for m in range(M)],
                 sequential=data.draw(st.booleans()), baseline=(data.draw(st.floats(50, 500)),))
    budget = np.array(data.draw(st.lists(st.floats(0, 30), min_size=3, max_size=3)))
    stop = data.draw(st.none() | st.floats(50, 400))
    together = fund_down(order, fp, budget, kc, kt, stop)
    for r in range(R):
        alone = fund_down(order[r:r + 1], fp, budget, kc[r:r + 1], kt[r:r + 1], stop)
        for a, b in zip(together, alone, strict=True):
            np.testing.assert_array_equal(a[r:r + 1], b)


def _names(city, p, x):
    return sorted(city.measures["measure_id"].to_numpy()[p.cand.m[x]])


def _agree(city, sc, measures, curve):
    """The baseline greedy of the portfolio, and the re-selection of one draw at multipliers 1."""
    start = city.measures["earliest_start_year"].clip(lower=sc.budget_cycle).to_numpy(int)
    flows = build_flows(city, sc.price_path, sc.emission_factor_set, start)
    p = build_problem(city, sc, measures, curve)
    base = _names(city, p, greedy(p, p.budget, p.required if sc.objective == "min_cost" else None))
    k = Multipliers.ones(2, flows.measure_ids, flows.carriers)
    chosen, _ = greedy_reselection(city, sc, flows, k)
    again = [sorted(np.array(flows.measure_ids)[row]) for row in chosen]
    return base, again


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_one_draw_at_central_values_reselects_the_baseline_greedy(case):
    rows, base, changes = case
    city = make_city(rows, base, energy=())
    sc = make_scenario(**changes)
    measures = appraisal(city, sc)
    start = city.measures["earliest_start_year"].clip(lower=sc.budget_cycle).to_numpy(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve = build_macc(measures, build_flows(city, sc.price_path, sc.emission_factor_set, start), city, sc).curve
    greedy_names, reselected = _agree(city, sc, measures, curve)
    assert reselected == [greedy_names, greedy_names]


def _heat_measures(spec):
    """Measures on one source ``heat``: (earliest start, life [years], t/yr, requires), 0.5 MSEK each."""
    return [{"measure_id": f"m{i}", "name": f"m{i}", "emission_source": "heat", "capex": 5e5, "capex_years": 1,
             "earliest_start_year": e, "lifetime_years": life, "opex_change_per_year": 0.0,
             "direct_abatement_tco2e_per_year": t, "payer": "municipality", "exclusive_group": "", "requires": r}
            for i, (e, life, t, r) in enumerate(spec)]


HEAT_200 = [("heat", "buildings", 1990, 3000.0, "territorial"), ("heat", "buildings", 2030, 200.0, "territorial")]


@pytest.mark.parametrize("spec,expected", [
    # m1 (200 t) requires m0 (27 t): alone m1 is the cheaper tonne (0.5 MSEK / 2 × 200 t), but its
    # bundle costs 1 MSEK, so the curve walks m0 first and the 0.5 MSEK of 2029 fund m0; a draw
    # that priced m1 without m0 walked m1 first, found its package unaffordable, and chose nothing
    ([(2026, 9, 27.0, ""), (2028, 2, 200.0, "m0")], ["m0"]),
    # a 2-year measure appraised from 2027 has no tonnes in 2030: the curve is empty, and so is
    # the walk (the portfolio greedy once fell back to every measure and funded m0 in 2029)
    ([(2026, 2, 10.0, ""), (2026, 2, 10.0, "")], []),
])
def test_the_reselection_walks_the_curve_the_portfolio_greedy_walks(spec, expected):
    city = make_city(_heat_measures(spec), HEAT_200, energy=())
    sc = make_scenario(investment_budget={2027: 0.0, 2028: 0.0, 2029: 5e5},
                       target={"year": 2030, "base_year": 1990, "reduction": 0.5})
    measures = appraisal(city, sc)
    start = city.measures["earliest_start_year"].clip(lower=sc.budget_cycle).to_numpy(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve = build_macc(measures, build_flows(city, sc.price_path, sc.emission_factor_set, start), city, sc).curve
    assert _agree(city, sc, measures, curve) == (expected, [expected, expected])


@pytest.mark.parametrize("name,interaction,objective", [
    ("base", "sequential", "max_abatement"), ("low_budget", "sequential", "min_cost"),
    ("residual_mix", "independent", "max_abatement")])
def test_landskrona_reselection_at_central_values_is_the_reported_greedy(name, interaction, objective):
    sc = ci.load_scenario(f"parameters/2027/{name}.yaml").model_copy(
        update={"interaction": interaction, "objective": objective})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = run_curve(sc, ci.load_city(sc.city))
    greedy_names, reselected = _agree(r.city, sc, r.measures, r.steps["macc"].curve)
    assert len(greedy_names) >= 10 and reselected == [greedy_names, greedy_names]


def test_without_a_budget_the_greedy_funds_the_whole_curve_in_its_order():
    sc = ci.load_scenario("parameters/2027/base.yaml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = run_curve(sc, ci.load_city(sc.city))
    curve = r.steps["macc"].curve
    p = build_problem(r.city, sc, r.measures, curve)
    x = greedy(p, None)
    walked = [r.city.measures["measure_id"].iat[i] for i in p.mac_order if x[p.cand.by_measure[i]].any()]
    req = r.city.measures.set_index("measure_id")["requires"].fillna("")
    on_curve = set(curve["measure_id"])
    # every curve measure is funded, in curve order, except one whose required measure is off it
    expected = [m for m in curve["measure_id"] if not req[m] or req[m] in on_curve]
    assert walked == expected and len(expected) >= len(curve) - 2

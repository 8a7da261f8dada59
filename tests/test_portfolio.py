"""Portfolio selection: brute force over every subset × start year confirms the MILP; greedy never
beats it; budgets hold; unreachable targets report a shortfall; solver status is reported honestly."""
from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from climateinvest import finance
from climateinvest.appraisal import appraise, net_cost
from climateinvest.cashflows import build_flows
from climateinvest.financing import check_chosen
from climateinvest.io.city import CityData
from climateinvest.io.scenario import Scenario
from climateinvest.macc import build_macc, interaction_scale
from climateinvest.portfolio import select as pf
from climateinvest.portfolio import solve as portfolio_solve

PLAN = [2027, 2028, 2029]
BUDGET = {2027: 12e6, 2028: 10e6, 2029: 8e6}
RATE = 0.03
FUND_COLUMNS = ["source_id", "name", "kind", "max_share", "annual_cap", "interest_rate", "term_years",
                "eligible_sectors", "eligible_payers", "amortisation"]
DEFAULTS = {"capex_years": 1, "opex_change_per_year": 0.0, "direct_abatement_tco2e_per_year": 0.0,
                "exclusive_group": "", "requires": "", "source": "", "sector": "buildings", "emission_source": "heat",
                "payer": "municipality", "earliest_start_year": 2027, "lifetime_years": 20}

# Seven measures on two shared sources: an exclusive pair (B, C), E requires D, an external
# measure (F), a late one (G), and D an energy measure whose abatement depends on the start year.
MEASURES = [
    {"measure_id": "A", "name": "Insulation", "capex": 10e6, "direct_abatement_tco2e_per_year": 300},
    {"measure_id": "B", "name": "Heat pump, small", "capex": 6e6, "direct_abatement_tco2e_per_year": 250, "exclusive_group": "hp"},
    {"measure_id": "C", "name": "Heat pump, large", "capex": 9e6, "direct_abatement_tco2e_per_year": 400, "exclusive_group": "hp"},
    {"measure_id": "D", "name": "Electric buses", "sector": "transport", "emission_source": "road", "capex": 8e6, "capex_years": 2},
    {"measure_id": "E", "name": "Charging <b>points</b>", "sector": "transport", "emission_source": "road", "capex": 4e6,
         "direct_abatement_tco2e_per_year": 150, "requires": "D"},
    {"measure_id": "F", "name": "HVO in private lorries", "sector": "transport", "emission_source": "road", "capex": 12e6,
         "direct_abatement_tco2e_per_year": 200, "payer": "external", "earliest_start_year": 2028},
    {"measure_id": "G", "name": "Controls", "capex": 3e6, "direct_abatement_tco2e_per_year": 100,
         "opex_change_per_year": -50e3, "earliest_start_year": 2029},
]
BASELINE = [("heat", "buildings", 1990, 3000.0, "territorial"), ("heat", "buildings", 2030, 750.0, "territorial"),
            ("road", "transport", 1990, 2000.0, "territorial"), ("road", "transport", 2030, 800.0, "territorial")]


def make_city(measures=MEASURES, baseline=BASELINE, energy=(("D", "diesel", -1000.0), ("D", "electricity", 300.0))):
    m = pd.DataFrame([DEFAULTS | row for row in measures])
    for col in ("capex", "capex_years", "lifetime_years", "opex_change_per_year", "direct_abatement_tco2e_per_year"):
        m[col] = m[col].astype(float)
    return CityData(
        name="Testby", country="SE", currency="SEK", price_year=2025, population=1000, measures=m,
        energy_changes=pd.DataFrame(list(energy), columns=["measure_id", "carrier", "delta_mwh_per_year"]),
        energy_prices=pd.DataFrame([("diesel", "*", 2025, 1200.0), ("diesel", "*", 2035, 1500.0),
                                    ("electricity", "*", 2025, 900.0)],
                                   columns=["carrier", "price_path", "year", "price_per_mwh"]),
        emission_factors=pd.DataFrame([("diesel", "*", 2025, 270.0), ("electricity", "*", 2025, 40.0),
                                       ("electricity", "*", 2035, 10.0)],
                                      columns=["carrier", "factor_set", "year", "kgco2e_per_mwh"]),
        baseline=pd.DataFrame(list(baseline), columns=["source_id", "sector", "year", "tco2e", "scope"]),
        funding_sources=pd.DataFrame([("own", "Own funds", "own_funds", 1.0, np.nan, np.nan, np.nan, "*", "*",
                                       "straight")], columns=FUND_COLUMNS),
        uncertainty=pd.DataFrame(columns=["target", "parameter", "distribution", "low", "mode", "high"]))


def make_scenario(**changes) -> Scenario:
    data = {"title": "test", "city": Path("."), "budget_cycle": 2027, "discount_rate": RATE, "rate_basis": "real", "investment_budget": BUDGET,
                "solver_time_limit_s": 10.0}
    return Scenario.model_validate(data | changes)


def appraisal(city, sc):
    start = city.measures["earliest_start_year"].clip(lower=sc.budget_cycle).to_numpy(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return appraise(build_flows(city, sc.price_path, sc.emission_factor_set, start), city, sc.real_rate)


# --- brute force: every measure either left out or started in one of its plan years ----------------

def candidates(city, sc):
    """(measure, start) → tonnes in the target year, spend per plan year, K and E at the first plan year,
    computed straight from build_flows (independently of the portfolio module)."""
    out = {}
    ids = city.measure_ids
    for s in PLAN:
        fl = build_flows(city, sc.price_path, sc.emission_factor_set, s)
        K = finance.npv(sc.real_rate, net_cost(fl, city, sc.perspective, scale=0.0))
        E = finance.npv(sc.real_rate, net_cost(fl, city, sc.perspective, scale=1.0)) - K
        disc = (1 + sc.real_rate) ** -(s - PLAN[0])
        t = fl.calendar(fl.abatement, np.array([sc.target.year]))[:, 0]
        spend = fl.calendar(fl.capex, np.array(PLAN))
        for i, mid in enumerate(ids):
            out[(mid, s)] = (t[i], spend[i], K[i] * disc, E[i] * disc)
    return out


_CACHE: dict = {}


def brute_force(city, sc, measures):
    """Every feasible portfolio: (territorial adjusted tonnes, NPV cost, {measure: start}).

    Does not depend on the objective or the target, so it is cached per city and interaction."""
    key = (id(city), sc.interaction, sc.include_external, tuple(sorted(sc.investment_budget.items())))
    if key not in _CACHE:
        _CACHE[key] = _enumerate(city, sc, measures)
    return _CACHE[key]


def _enumerate(city, sc, measures):
    m = {r["measure_id"]: r for r in city.measures.to_dict("records")}
    ids = city.measure_ids
    cand = candidates(city, sc)
    order = measures.sort_values("cost_per_tco2e", kind="stable")["measure_id"].tolist()
    base = (city.baseline[city.baseline["year"] == sc.target.year].set_index("source_id")["tco2e"].astype(float).to_dict())
    budget = np.array([sc.investment_budget.get(y, 0.0) for y in PLAN]) if sc.investment_budget else None
    options = []
    for mid in ids:
        ok = sc.include_external or m[mid]["payer"] != "external"
        options.append([None] + [s for s in PLAN if ok and s >= m[mid]["earliest_start_year"]])
    out = []
    for combo in itertools.product(*options):
        ch = {mid: s for mid, s in zip(ids, combo, strict=True) if s is not None}
        groups = [m[x]["exclusive_group"] for x in ch if m[x]["exclusive_group"]]
        if len(groups) != len(set(groups)):
            continue
        if any(m[x]["requires"] and (m[x]["requires"] not in ch or ch[m[x]["requires"]] > s) for x, s in ch.items()):
            continue
        spent = sum((cand[(x, s)][1] for x, s in ch.items() if m[x]["payer"] != "external"), np.zeros(3))
        if budget is not None and np.any(spent > budget + 1e-6):
            continue
        seq = [x for x in order if x in ch]
        raw = np.array([cand[(x, ch[x])][0] for x in seq])
        src = [m[x]["emission_source"] for x in seq]
        if sc.interaction == "sequential":
            scale = interaction_scale(raw, src, base, np.arange(len(seq))) if seq else np.zeros(0)
        else:
            use = {}
            for x, t in zip(src, raw, strict=True):
                use[x] = use.get(x, 0.0) + max(t, 0.0)
            if any(use[x] > base[x] + 1e-9 for x in use):
                continue
            scale = np.ones(len(seq))
        tonnes = float(np.sum(raw * scale))
        cost = float(sum(cand[(x, ch[x])][2] + cand[(x, ch[x])][3] * k for x, k in zip(seq, scale, strict=True)))
        out.append((tonnes, cost, ch))
    return out


@pytest.fixture(scope="module")
def city():
    return make_city()


@pytest.fixture(scope="module")
def measures(city):
    return appraisal(city, make_scenario())


def assignment(result):
    return dict(zip(result.chosen["measure_id"], result.chosen["start_year"].astype(int), strict=True))


@pytest.mark.parametrize("tie_break", ["equal_tonnes", "any_portfolio"])
@pytest.mark.parametrize("interaction", ["sequential", "independent"])
def test_max_abatement_is_the_brute_force_optimum(city, measures, interaction, tie_break):
    sc = make_scenario(interaction=interaction, tie_break=tie_break)
    r = pf.select_portfolio(city, sc, measures, frontier=False)
    every = brute_force(city, sc, measures)
    best = max(t for t, _, _ in every)
    assert r.status == "optimal" and r.optimal and r.gap <= pf.MIP_REL_GAP
    assert r.achieved_tco2e == pytest.approx(best, rel=1e-6)
    # ties in tonnes are broken by the lowest NPV cost
    cheapest = min(c for t, c, _ in every if t >= best * (1 - 1e-6))
    assert r.chosen["npv_cost"].sum() == pytest.approx(cheapest, rel=1e-6, abs=1.0)
    # the chosen assignment is itself one of the feasible ones, with the same numbers
    mine = [(t, c) for t, c, ch in every if ch == assignment(r)]
    assert len(mine) == 1
    assert mine[0][0] == pytest.approx(r.achieved_tco2e, rel=1e-9)
    assert mine[0][1] == pytest.approx(r.chosen["npv_cost"].sum(), rel=1e-9)
    assert r.shortfall_tco2e == 0.0 and r.achieved_tco2e > r.required_tco2e


def test_sequential_optimises_the_adjusted_tonnes_not_a_linear_cap():
    # Two halves of one source (500 + 500 of 1000 t) overlap: together 500 + 250 = 750 t, so the
    # pair loses to one of them + 400 t elsewhere (900 t). A linear cap would take the pair (1000 t).
    ms = [{"measure_id": "H1", "name": "h1", "capex": 6e6, "direct_abatement_tco2e_per_year": 500},
          {"measure_id": "H2", "name": "h2", "capex": 6e6, "direct_abatement_tco2e_per_year": 500},
          {"measure_id": "R", "name": "r", "capex": 6e6, "direct_abatement_tco2e_per_year": 400, "emission_source": "road"}]
    base = [("heat", "buildings", 2030, 1000.0, "territorial"), ("road", "transport", 2030, 5000.0, "territorial")]
    c = make_city(ms, base, energy=())
    budget = {2027: 12e6, 2028: 0.0, 2029: 0.0}
    seq = pf.select_portfolio(c, make_scenario(investment_budget=budget), appraisal(c, make_scenario()), frontier=False)
    assert seq.achieved_tco2e == pytest.approx(900.0)
    assert "R" in set(seq.chosen["measure_id"]) and len(seq.chosen) == 2
    ind = pf.select_portfolio(c, make_scenario(investment_budget=budget, interaction="independent"),
                              appraisal(c, make_scenario()), frontier=False)
    assert set(ind.chosen["measure_id"]) == {"H1", "H2"} and ind.achieved_tco2e == pytest.approx(1000.0)


def test_a_measure_others_pay_for_starts_in_its_earliest_year_when_that_costs_nothing_more(city, measures):
    from climateinvest.portfolio.candidates import build_problem
    from climateinvest.portfolio.solve import earliest_free_starts
    from climateinvest.portfolio.tables import cost_of, tonnes_of

    p = build_problem(city, make_scenario(), measures, None)
    c = p.cand
    ext = [k for k in range(len(c.m)) if not c.counts[k]]
    first, late = min(ext, key=lambda k: c.year[k]), max(ext, key=lambda k: c.year[k])
    assert c.year[first] == 2028 and c.year[late] == 2029 and c.e[first] == c.e[late]
    x = np.zeros(len(c.m), bool)
    x[late] = True  # the external measure alone, started a year late (a budget-counted one is never moved)
    k_budget = next(k for k in range(len(c.m)) if c.counts[k] and c.year[k] == 2029)
    x[k_budget] = True
    y = earliest_free_starts(p, x)
    assert y[first] and not y[late] and y[k_budget]
    assert tonnes_of(p, y) == pytest.approx(tonnes_of(p, x)) and cost_of(p, y) <= cost_of(p, x) + 1e-6
    r = pf.select_portfolio(city, make_scenario(), measures, frontier=False)
    assert r.chosen.set_index("measure_id").loc["F", "start_year"] == 2028  # F: HVO, paid by others


@pytest.mark.parametrize("order", ["ABC", "BAC"])  # HiGHS's first stage picks B, then A, of the tie
@pytest.mark.parametrize("tie_break", ["equal_tonnes", "any_portfolio"])
def test_tie_break_lets_another_measure_of_equal_tonnes_stand_in(tie_break, order):
    # A and B take the same share (200 of 1000 t) of one source, B is cheaper; with C (300 t) the
    # budget takes two: C with A or with B both abate 300 + 0.7 × 200 = 440 t, whichever the first
    # stage picks, and the tie-break must end with the cheaper B (measure for measure equal tonnes).
    ms = {"A": {"measure_id": "A", "name": "a", "capex": 6e6, "direct_abatement_tco2e_per_year": 200},
          "B": {"measure_id": "B", "name": "b", "capex": 5e6, "direct_abatement_tco2e_per_year": 200},
          "C": {"measure_id": "C", "name": "c", "capex": 6e6, "direct_abatement_tco2e_per_year": 300}}
    c = make_city([ms[i] for i in order], [("heat", "buildings", 2030, 1000.0, "territorial")], energy=())
    sc = make_scenario(investment_budget={2027: 12e6, 2028: 0.0, 2029: 0.0}, tie_break=tie_break)
    r = pf.select_portfolio(c, sc, appraisal(c, sc), frontier=False)
    assert set(r.chosen["measure_id"]) == {"B", "C"}
    assert r.achieved_tco2e == pytest.approx(440.0) and r.status == "optimal"


@pytest.mark.parametrize("interaction", ["sequential", "independent"])
def test_min_cost_reaching_a_feasible_target_is_the_brute_force_cheapest(city, measures, interaction):
    sc = make_scenario(objective="min_cost", interaction=interaction,
                       target={"year": 2030, "base_year": 1990, "reduction": 0.79})
    r = pf.select_portfolio(city, sc, measures, frontier=False)
    assert r.required_tco2e == pytest.approx(750 + 800 - 0.21 * 5000)  # 500 t
    every = brute_force(city, sc, measures)
    cheapest = min(c for t, c, _ in every if t >= r.required_tco2e)
    assert r.status == "optimal" and r.shortfall_tco2e == 0.0
    assert r.achieved_tco2e >= r.required_tco2e - 1e-6
    assert r.chosen["npv_cost"].sum() == pytest.approx(cheapest, rel=1e-6, abs=1.0)
    assert r.comparison.set_index("portfolio").loc["optimised", "meets_target"]


def test_unreachable_target_reports_the_shortfall_not_an_exception(city, measures):
    sc = make_scenario(objective="min_cost", target={"year": 2030, "base_year": 1990, "reduction": 1.0})
    r = pf.select_portfolio(city, sc, measures, frontier=False)
    best = max(t for t, _, _ in brute_force(city, sc, measures))
    assert r.required_tco2e == pytest.approx(1550.0)
    assert r.achieved_tco2e == pytest.approx(best, rel=1e-6)
    assert r.shortfall_tco2e == pytest.approx(1550.0 - best, rel=1e-6) and r.shortfall_tco2e > 0
    assert r.status == "optimal"
    assert "no portfolio reaches the target" in r.message and "shortfall" in r.message
    assert not r.comparison.set_index("portfolio").loc["optimised", "meets_target"]


def test_no_solution_within_the_time_limit_reports_the_greedy_portfolio(city, measures, monkeypatch):
    # Issue 14: no incumbent in the time limit gave an empty portfolio beside a greedy one with
    # tonnes; a time-limited result is never worse than the greedy one, so the greedy is reported.
    from scipy.optimize import OptimizeResult

    monkeypatch.setattr(portfolio_solve, "milp", lambda *a, **k: OptimizeResult(status=1, x=None, mip_gap=None, success=False))
    sc = make_scenario(objective="min_cost", target={"year": 2030, "base_year": 1990, "reduction": 0.79})
    r = pf.select_portfolio(city, sc, measures)
    assert r.status == "no solution (node limit); greedy portfolio kept (better than the solver's)" and not r.optimal
    assert not r.greedy.empty
    assert list(r.chosen["measure_id"]) == list(r.greedy["measure_id"])
    assert r.achieved_tco2e == pytest.approx(r.comparison.set_index("portfolio").loc["greedy", "tco2e_target_year"])
    assert (r.frontier["status"] == "no solution (node limit)").all()


def test_status_text_never_calls_a_time_limited_result_optimal():
    assert pf.status_text(0, 0.0, True) == "optimal"
    assert pf.status_text(1, 0.0123, True) == "feasible (time limit), gap 1.23 %"
    assert pf.status_text(1, 2.5e-5, True) == "feasible (time limit), gap 0.0025 %"
    assert pf.status_text(1, None, True) == "feasible (time limit), gap unknown"
    assert pf.status_text(1, None, False) == "no solution (time limit)"
    assert pf.status_text(2, None, False) == "infeasible"
    assert pf.status_text(1, 0.0123, True, "node limit") == "feasible (node limit), gap 1.23 %"


def test_limited_solve_is_reported_with_its_gap_and_the_limits_are_deterministic(city, measures, monkeypatch):
    real, calls = portfolio_solve.milp, []

    def limited(*args, **kwargs):
        calls.append(dict(kwargs["options"]))  # milp pops keys from the dict
        res = real(*args, **kwargs)
        res.status, res.mip_gap = 1, 0.05  # as if HiGHS stopped at the node limit with this gap
        return res

    monkeypatch.setattr(portfolio_solve, "milp", limited)
    sc = make_scenario(solver_time_limit_s=7.5)  # not read: no wall clock unless time_limit_s is given
    r = pf.select_portfolio(city, sc, measures, frontier=[0.5, 1.0])
    assert r.status == "feasible (node limit), gap 5 %" and not r.optimal and r.gap == 0.05
    assert any("not proven optimal" in n for n in r.notes)
    assert calls and all(o["mip_rel_gap"] == pf.MIP_REL_GAP and o["disp"] is False for o in calls)
    assert all(o["node_limit"] == pf.MIP_NODE_LIMIT and "time_limit" not in o for o in calls)
    assert (r.frontier["status"] == "feasible (node limit), gap 5 %").all()


@pytest.mark.parametrize("budget", [BUDGET, {2027: 5e6, 2028: 0.0, 2029: 20e6}, {2027: 9e6, 2028: 9e6, 2029: 0.0}])
def test_budget_holds_in_every_plan_year(city, measures, budget):
    r = pf.select_portfolio(city, make_scenario(investment_budget=budget), measures, frontier=[0.0, 0.5, 1.5])
    expected = np.array([budget.get(y, 0.0) for y in PLAN])  # a year missing from the mapping has budget 0
    bu = r.budget_use
    assert bu["year"].tolist() == PLAN
    np.testing.assert_allclose(bu["budget"], expected)
    assert (bu["spent"] <= expected + 1e-6).all() and (bu["greedy_spent"] <= expected + 1e-6).all()
    np.testing.assert_allclose(bu["headroom"], expected - bu["spent"])
    sp = r.spending
    inside = sp[sp["in_cycle"]]
    for flag, col in ((True, "spent"), (False, "external_capex")):
        per_year = inside[inside["counts_against_budget"] == flag].groupby("year")["capex"].sum()
        np.testing.assert_allclose(per_year.reindex(PLAN).fillna(0.0), bu[col], atol=1e-6)
    later = sp[~sp["in_cycle"] & sp["counts_against_budget"]]["capex"].sum()
    assert bu["commitments_after_cycle"].iloc[-1] == pytest.approx(later) and (bu["commitments_after_cycle"].iloc[:-1] == 0).all()
    assert (r.frontier["capex_in_budget"] <= r.frontier["budget_total"] + 1e-6).all()
    if 2029 not in budget:
        assert any("2029" in n and "budget 0" in n for n in r.notes) and bu["spent"].iloc[-1] == 0.0
    for table in (r.chosen, r.greedy):  # exclusive groups and requires
        assert not {"B", "C"} <= set(table["measure_id"])
        start = dict(zip(table["measure_id"], table["start_year"], strict=True))
        assert "E" not in start or ("D" in start and start["D"] <= start["E"])
        assert (table["start_year"] >= table["measure_id"].map(city.measures.set_index("measure_id")["earliest_start_year"])).all()


def test_external_measures_sit_outside_the_budget(city, measures):
    zero = {y: 0.0 for y in PLAN}
    r = pf.select_portfolio(city, make_scenario(investment_budget=zero), measures, frontier=False)
    assert r.chosen["measure_id"].tolist() == ["F"]  # nothing the city pays fits a zero budget
    assert not r.chosen["counts_against_budget"].any()
    assert r.budget_use["spent"].sum() == 0.0 and r.budget_use["external_capex"].sum() == pytest.approx(12e6)
    out = pf.select_portfolio(city, make_scenario(investment_budget=zero, include_external=False), measures,
                              frontier=False)
    assert out.chosen.empty and any("include_external" in n for n in out.notes)


def test_empty_budget_means_no_budget_constraint(city, measures):
    r = pf.select_portfolio(city, make_scenario(investment_budget={}), measures, frontier=[0.5, 1.0])
    assert r.budget_use["budget"].isna().all() and r.budget_use["headroom"].isna().all()
    # everything that adds tonnes is taken (one of the exclusive pair: the larger)
    assert set(r.chosen["measure_id"]) == {"A", "C", "D", "E", "F", "G"}
    in_budget = r.comparison.set_index("portfolio").loc["optimised", "capex_in_budget"]
    assert r.frontier.set_index("budget_share").loc[1.0, "budget_total"] == pytest.approx(in_budget)
    assert r.frontier.set_index("budget_share").loc[1.0, "tco2e"] == pytest.approx(r.achieved_tco2e, rel=1e-6)


def test_reported_abatement_is_interaction_adjusted_and_flows_follow_the_chosen_table(city, measures):
    sc = make_scenario()
    r = pf.select_portfolio(city, sc, measures, frontier=False)
    ch = r.chosen
    base = {"heat": 750.0, "road": 800.0}
    scale = interaction_scale(ch["standalone_tco2e"], ch["emission_source"], base, np.arange(len(ch)))
    np.testing.assert_allclose(ch["scale"], scale)
    np.testing.assert_allclose(ch["adjusted_tco2e"], ch["standalone_tco2e"] * scale)
    assert (ch["scale"] < 1).any()  # the fixture's sources really are shared
    order = measures.sort_values("cost_per_tco2e", kind="stable")["measure_id"].tolist()
    assert ch["measure_id"].tolist() == [m for m in order if m in set(ch["measure_id"])]
    fl = pf.flows_for_chosen(city, sc, ch)
    assert fl.measure_ids == tuple(ch["measure_id"]) and fl.start_year.tolist() == ch["start_year"].tolist()
    counted = fl.calendar(fl.capex, np.array(PLAN))[ch["counts_against_budget"].to_numpy()].sum(axis=0)
    np.testing.assert_allclose(counted, r.budget_use["spent"])
    t2030 = fl.calendar(fl.abatement, np.array([2030]))[:, 0]
    np.testing.assert_allclose(t2030, ch["standalone_tco2e"])
    check_chosen(ch, fl, city)  # the financing step accepts the table with these flows
    assert pf.flows_for_chosen(city, sc, ch.iloc[:0]).capex.shape[0] == 0


def test_greedy_walks_the_mac_curve_and_frontier_is_consistent(city, measures):
    sc = make_scenario()
    start = city.measures["earliest_start_year"].clip(lower=2027).to_numpy(int)
    mac = build_macc(measures, build_flows(city, sc.price_path, sc.emission_factor_set, start), city, sc)
    r = pf.select_portfolio(city, sc, measures, mac.curve)
    curve = mac.curve["measure_id"].tolist()
    g = r.greedy["measure_id"].tolist()
    assert g == [m for m in curve if m in g]  # funded in curve order
    comp = r.comparison.set_index("portfolio")
    assert comp.loc["optimised", "tco2e_target_year"] >= comp.loc["greedy", "tco2e_target_year"] - 1e-6
    assert comp.loc["optimised", "tco2e_target_year"] == pytest.approx(r.achieved_tco2e)
    f = r.frontier
    assert f["budget_share"].tolist() == list(pf.FRONTIER_SHARES)
    assert (f["status"] == "optimal").all()
    assert (np.diff(f["tco2e"]) >= -1e-6).all()  # more budget never abates less
    assert (f["greedy_tco2e"] <= f["tco2e"] + 1e-6).all()
    assert f.set_index("budget_share").loc[1.0, "tco2e"] == pytest.approx(r.achieved_tco2e)
    assert f.set_index("budget_share").loc[0.0, "capex_in_budget"] == 0.0
    assert f.set_index("budget_share").loc[1.0, "budget_total"] == pytest.approx(sum(BUDGET.values()))
    s = r.summary()
    assert s["status"] == "optimal" and s["n_measures"] == len(r.chosen)


@st.composite
def small_cases(draw):
    n = draw(st.integers(3, 5))
    rows = []
    for i in range(n):
        rows.append({
            "measure_id": f"m{i}", "name": f"m{i}", "emission_source": draw(st.sampled_from(["heat", "road"])),
            "capex": draw(st.floats(0.5e6, 10e6)), "capex_years": draw(st.integers(1, 2)),
            "earliest_start_year": draw(st.integers(2026, 2029)), "lifetime_years": draw(st.integers(2, 25)),
            "opex_change_per_year": draw(st.floats(-2e5, 2e5)),
            "direct_abatement_tco2e_per_year": draw(st.floats(10, 600)),
            "payer": draw(st.sampled_from(["municipality", "municipality", "municipal_company", "external"])),
            "exclusive_group": draw(st.sampled_from(["", "", "g"])),
            "requires": f"m{draw(st.integers(0, i - 1))}" if i and draw(st.booleans()) and draw(st.booleans()) else ""})
    base = [("heat", "buildings", 1990, 3000.0, "territorial"),
            ("heat", "buildings", 2030, draw(st.floats(200, 1500)), "territorial"),
            ("road", "transport", 1990, 2000.0, "territorial"),
            ("road", "transport", 2030, draw(st.floats(200, 1500)), "territorial")]
    budget = {y: draw(st.floats(0, 15e6)) for y in PLAN}
    sc = {"investment_budget": budget, "interaction": draw(st.sampled_from(["sequential", "independent"])),
              "objective": draw(st.sampled_from(["max_abatement", "min_cost"])),
              "target": {"year": 2030, "base_year": 1990, "reduction": draw(st.floats(0.5, 0.9))}}
    return rows, base, sc


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_cases())
def test_greedy_never_beats_the_optimum(case):
    rows, base, changes = case
    c = make_city(rows, base, energy=())
    sc = make_scenario(**changes)
    r = pf.select_portfolio(c, sc, appraisal(c, sc), frontier=False)
    assert r.status == "optimal"
    comp = r.comparison.set_index("portfolio")
    opt, greedy = comp.loc["optimised"], comp.loc["greedy"]
    tol = 1e-6 * max(1.0, abs(opt["tco2e_target_year"]))
    money = 1e-6 * max(1.0, abs(opt["npv_cost"]), abs(greedy["npv_cost"])) + 1.0
    budget = np.array([changes["investment_budget"][y] for y in PLAN])
    assert (r.budget_use["spent"] <= budget + 1e-6).all() and (r.budget_use["greedy_spent"] <= budget + 1e-6).all()
    if sc.objective == "max_abatement" or r.shortfall_tco2e > 0:
        assert opt["tco2e_target_year"] >= greedy["tco2e_target_year"] - tol
        if sc.objective == "max_abatement" and greedy["tco2e_target_year"] >= opt["tco2e_target_year"] - tol:
            assert opt["npv_cost"] <= greedy["npv_cost"] + money
    if sc.objective == "min_cost" and greedy["meets_target"]:
        assert opt["meets_target"] and opt["npv_cost"] <= greedy["npv_cost"] + money


def test_figures_have_units_and_show_the_budget(city, measures):
    from climateinvest.report.plots import portfolio as plots

    r = pf.select_portfolio(city, make_scenario(), measures, frontier=[0.0, 1.0, 2.0])
    ph = plots.phasing_figure(r, "SEK")
    assert ph.layout.yaxis.title.text == "Investment [SEK/year]" and "Year" in ph.layout.xaxis.title.text
    budget = next(t for t in ph.data if t.name == "Investment budget")
    assert sorted({y for y in budget.y if y is not None}) == sorted(set(BUDGET.values()))
    bars = [t for t in ph.data if t.type == "bar"]
    assert sum(float(np.sum(t.y)) for t in bars) == pytest.approx(r.spending["capex"].sum())
    assert any("external" in t.name for t in bars)  # F is hatched, outside the budget
    fr = plots.frontier_figure(r)
    assert "[SEK]" in fr.layout.xaxis.title.text and "t CO2e" in fr.layout.yaxis.title.text
    assert list(fr.data[0].y) == pytest.approx(r.frontier["tco2e"].tolist())
    assert {t.name for t in fr.data} >= {"Optimised (MILP)", "Greedy down the MAC curve"}
    bu = plots.budget_use_figure(r, "SEK")
    assert bu.layout.yaxis.title.text == "Investment [SEK/year]" and bu.layout.xaxis.title.text == "Plan year"
    nobudget = pf.select_portfolio(city, make_scenario(investment_budget={}), measures, frontier=False)
    for fn in (plots.phasing_figure, plots.frontier_figure, plots.budget_use_figure):
        fig = fn(nobudget, "SEK")
        assert "SEK" in (fig.layout.yaxis.title.text + fig.layout.xaxis.title.text)


# --- the formulation itself, the time limit keyword and the tie-break's status ---------------------

@pytest.mark.parametrize("interaction", ["sequential", "independent"])
def test_model_rows_fix_w_to_the_exact_interaction_at_every_feasible_portfolio(city, measures, interaction):
    """With x fixed at any feasible portfolio the rows leave exactly one w: the LP's least and
    greatest tonnes and NPV cost both equal the brute force's (so the linearisation is exact and
    the tangent cuts never cut off an integer point)."""
    from scipy.optimize import Bounds, LinearConstraint, milp

    from climateinvest.portfolio.candidates import build_problem
    from climateinvest.portfolio.model import build_model

    sc = make_scenario(interaction=interaction)
    p = build_problem(city, sc, measures, None)
    md = build_model(p)
    assert md.n > len(p.cand.m) if interaction == "sequential" else md.n == len(p.cand.m)
    ids = city.measure_ids
    index = {(ids[m], int(y)): k for k, (m, y) in enumerate(zip(p.cand.m, p.cand.year, strict=True))}
    every = brute_force(city, sc, measures)
    rng = np.random.default_rng(7)
    for t, cost, ch in (every[i] for i in rng.choice(len(every), size=40, replace=False)):
        x = np.zeros(md.n)
        x[[index[(m, s)] for m, s in ch.items()]] = 1.0
        lb, ub = np.zeros(md.n), md.ub.copy()
        lb[: len(p.cand.m)] = ub[: len(p.cand.m)] = x[: len(p.cand.m)]
        for vec, want in ((md.tonnes, t), (md.cost, cost)):
            for sign in (1.0, -1.0):
                res = milp(sign * vec, bounds=Bounds(lb, ub), constraints=LinearConstraint(md.A, md.lo, md.hi))
                assert res.status == 0, (ch, res.message)
                assert vec @ res.x == pytest.approx(want, rel=1e-7, abs=1e-3), ch


def test_tangent_points_keep_the_envelope_within_its_tolerance():
    from climateinvest.portfolio.model import MAX_TANGENTS, TANGENT_TOL, tangent_points

    B = 1000.0
    for l_max in (1e-4, 0.003, 0.03, 0.3, 1.0, 3.0):
        pts = tangent_points(l_max)
        assert 1 <= len(pts) <= MAX_TANGENTS and pts[-1] == pytest.approx(l_max) and (np.diff(pts) > 0).all()
        L = np.linspace(0.0, l_max, 2001)
        f = B * -np.expm1(-L)
        # the envelope: w ≤ x gives B L (the tangent at 0), then the cuts
        env = np.min([B * L] + [B * -np.expm1(-L0) + B * np.exp(-L0) * (L - L0) for L0 in pts], axis=0)
        assert (env >= f - 1e-9).all()  # valid: never below the curve
        if len(pts) < MAX_TANGENTS:
            assert (env - f).max() <= TANGENT_TOL * B * -np.expm1(-l_max) * (1 + 1e-9)
    assert len(tangent_points(0.0)) == 0


def test_time_limit_keyword_is_the_only_wall_clock_and_is_shared_by_the_solves(city, measures, monkeypatch):
    real, calls = portfolio_solve.milp, []

    def recording(*args, **kwargs):
        calls.append(dict(kwargs["options"]))
        return real(*args, **kwargs)

    monkeypatch.setattr(portfolio_solve, "milp", recording)
    sc = make_scenario(solver_time_limit_s=30.0)
    r = pf.select_portfolio(city, sc, measures, frontier=False, time_limit_s=0.4)
    assert len(calls) <= 3 and calls[0]["time_limit"] == 0.4  # tonnes, quick cost, full cost
    assert all(0 < o["time_limit"] <= 0.4 and o["mip_rel_gap"] == pf.MIP_REL_GAP for o in calls)
    assert r.status in ("optimal",) or r.status.startswith(("feasible (time limit)", "no solution (time limit)"))
    assert set(r.timings) == {"model", "select", "frontier"} and all(v >= 0 for v in r.timings.values())
    calls.clear()
    pf.select_portfolio(city, sc, measures, frontier=[0.5])  # the batch: deterministic limits only
    assert calls and all("time_limit" not in o and o["node_limit"] == pf.MIP_NODE_LIMIT for o in calls)
    with pytest.raises(ValueError, match="time_limit_s must be > 0"):
        pf.select_portfolio(city, sc, measures, frontier=False, time_limit_s=0.0)


@pytest.mark.parametrize("tie_break", ["equal_tonnes", "any_portfolio"])
def test_a_time_limited_tie_break_is_reported_not_called_optimal(city, measures, monkeypatch, tie_break):
    real, rows = portfolio_solve.milp, []

    def tie_break_limited(*args, **kwargs):  # every cost tie-break stops early
        res = real(*args, **kwargs)
        rows.append(kwargs["constraints"].A.shape[0])
        if rows[-1] > rows[0]:  # the abatement's rows + the held tonnes (+ the same measures' rows)
            res.status, res.mip_gap = 1, 0.02
        return res

    monkeypatch.setattr(portfolio_solve, "milp", tie_break_limited)
    r = pf.select_portfolio(city, make_scenario(tie_break=tie_break), measures, frontier=[0.5, 1.0, 1.5])
    assert r.status == "optimal" and r.optimal  # the tonnes are proven
    assert any("cost tie-break stopped at a solver limit (feasible (node limit), gap 2 %)" in m for m in r.notes)
    f = r.frontier
    assert (f["status"] == "optimal").all()
    assert (f["tie_break"] == "feasible (node limit), gap 2 %").all()
    # the held tonnes are kept: the tie-break's portfolio abates what the first solve proved
    every = brute_force(city, make_scenario(), measures)
    assert r.achieved_tco2e == pytest.approx(max(t for t, _, _ in every), rel=1e-6)


def test_frontier_tie_break_column_is_optimal_when_proven(city, measures):
    r = pf.select_portfolio(city, make_scenario(), measures, frontier=[0.0, 1.0, 2.0])
    assert list(r.frontier.columns) == ["budget_share", "budget_total", "tco2e", "npv_cost", "capex_in_budget",
                                        "n_measures", "status", "tie_break", "greedy_tco2e"]
    assert (r.frontier["tie_break"] == "optimal").all()


def test_quick_cost_solve_keeps_the_tonnes_and_never_changes_a_proven_result(city, measures, monkeypatch):
    from climateinvest.portfolio.candidates import build_problem
    from climateinvest.portfolio.model import build_model
    from climateinvest.portfolio.tables import cost_of, tonnes_of

    sc = make_scenario(tie_break="any_portfolio")  # the quick solve only runs before the full search
    p = build_problem(city, sc, measures, None)
    md = build_model(p)
    slow = portfolio_solve.max_abatement(p, md, p.budget, portfolio_solve.Clock(10.0))
    fast = portfolio_solve.max_abatement(p, md, p.budget, portfolio_solve.Clock(10.0), quick=True)
    assert slow.tie_break == fast.tie_break == "optimal"
    assert cost_of(p, fast.x) == pytest.approx(cost_of(p, slow.x), rel=1e-9, abs=1.0)
    every = brute_force(city, sc, measures)
    best = max(t for t, _, _ in every)
    # the full cost solve finds nothing in time: the quick solve's portfolio is reported, honestly
    real, n = portfolio_solve.milp, [0]

    def third_empty(*args, **kwargs):
        n[0] += 1
        if n[0] == 3:
            from scipy.optimize import OptimizeResult
            return OptimizeResult(status=1, x=None, mip_gap=None, mip_dual_bound=None, success=False)
        return real(*args, **kwargs)

    monkeypatch.setattr(portfolio_solve, "milp", third_empty)
    cut = portfolio_solve.max_abatement(p, md, p.budget, portfolio_solve.Clock(10.0), quick=True)
    assert n[0] == 3 and cut.status == "optimal"
    assert cut.tie_break == "feasible (time limit), gap unknown"
    assert tonnes_of(p, cut.x) == pytest.approx(best, rel=1e-6)
    first = portfolio_solve.solve(p, md, -md.tonnes, p.budget, [], 10.0)
    assert cost_of(p, cut.x) <= cost_of(p, first.x) + 1e-6
    # and the same-tonnes rows really hold the tonnes: every feasible portfolio of the brute
    # force with the same measures (and tonnes) as the first one abates the same
    rows = portfolio_solve._same_tonnes_rows(p, md, first.x)
    ids = city.measure_ids
    index = {(ids[m], int(y)): k for k, (m, y) in enumerate(zip(p.cand.m, p.cand.year, strict=True))}
    for t, _, ch in every:
        x = np.zeros(md.n)
        x[[index[(m, s)] for m, s in ch.items()]] = 1.0
        if all(lo <= v @ x <= hi for v, lo, hi in rows):
            assert t == pytest.approx(tonnes_of(p, first.x), rel=1e-9)

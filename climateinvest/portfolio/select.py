"""Budget-constrained portfolio: which measures to start in which plan year.

The model (a mixed-integer programme solved with ``scipy.optimize.milp`` / HiGHS)
---------------------------------------------------------------------------------
**Candidates** (:mod:`~climateinvest.portfolio.candidates`). A candidate k = (m, s) is measure m
started in plan year s of the budget cycle (``scenario.plan_years``), s ≥ ``earliest_start_year``;
``x[k]`` ∈ {0, 1} says "start m in s". Its arrays come from
:func:`climateinvest.cashflows.build_flows` with the measure started in s (prices and emission
factors depend on the calendar year, so a later start is a different measure): tonnes e_k
[t CO2e / year] abated in the target year, capped at the source's baseline as in
:func:`climateinvest.macc.interaction_scale`; investment per plan year [currency] (the part after
the last plan year is reported as a commitment for later budgets, not constrained); NPV cost
[currency] of the perspective's net cost (:func:`climateinvest.appraisal.net_cost`, no carbon
value) discounted at ``scenario.discount_rate`` to the **first plan year**, split as in the MAC
curve into K (investment and running cost) and E (energy effects, scaled by the interaction
share). Measures whose earliest start is after the cycle are not candidates (a note says so);
``external`` measures are candidates only when ``scenario.include_external``.

**Constraints** (:mod:`~climateinvest.portfolio.model`).

* at most one start per measure: Σ_s x[m, s] ≤ 1; ``exclusive_group``: Σ over the group ≤ 1;
* ``requires`` r: x[m, s] ≤ Σ_{s' ≤ s} x[r, s'] — the required measure starts no later (a
  measure requiring one that cannot be chosen is never chosen);
* yearly budget: Σ capex falling in plan year y of candidates whose payer is ``municipality`` or
  ``municipal_company`` ≤ ``investment_budget[y]`` (gross investment: grants are financing, see
  :mod:`climateinvest.financing`). An empty ``investment_budget`` means no budget constraint; a
  non-empty one that lacks a plan year gives that year a budget of 0;
* ``external`` measures are **chosen freely but outside the budget** (the city cannot fund them,
  but whether and when they happen is part of the plan it negotiates); their NPV cost counts in
  the portfolio's cost like any other;
* emission sources, by ``scenario.interaction``:

  - ``independent``: linear cap, Σ e_k x_k ≤ baseline of the source in the target year;
  - ``sequential``: **modelled exactly**. Along each shared source the measures are chained in
    cost-per-tonne order (the MAC curve's, then the appraisal's); a chosen measure removes the
    share a_k = e_k ÷ baseline of what is left. With w_k = (share left before k) × x_k, linearised
    exactly (McCormick, with the least share that can be left as the lower bound), the adjusted
    tonnes are e_k w_k and the scaled energy cost E_k w_k (× the cap): the numbers
    :func:`climateinvest.macc.interaction_scale` gives for the chosen set in that order. So the
    optimiser sees diminishing returns and the reported abatement *is* the optimised quantity.
    Measures adding emissions (e_k ≤ 0) are not chained, nor are sources cut by a single measure.
    Tangent cuts of each source's concave total B(1 − e^−L) tighten the relaxation only (valid at
    every integer point).

**Objectives** (:mod:`~climateinvest.portfolio.solve`). Tonnes count only on ``territorial``
sources (indirect ones are reported beside, docs/architecture.md section 3).

* ``max_abatement``: maximise territorial tonnes in the target year; then, in a second solve with
  those tonnes held, minimise the NPV cost (``scenario.tie_break``): ``equal_tonnes`` (default)
  among the portfolios abating the first solve's territorial tonnes measure for measure (a start
  year or another measure of equal tonnes may stand in, measures without territorial tonnes are
  free), ``any_portfolio`` among every portfolio holding the tonnes (relative tolerance 1e-6).
  With a positive discount rate the tie-break starts money-saving measures first and may defer
  measures with a net cost when the budget allows; a measure outside the budget and without a
  ``requires`` then starts in its earliest year of equal tonnes and cost
  (:func:`~climateinvest.portfolio.solve.earliest_free_starts`). The tie-break runs only when the
  tonnes are proven optimal; a note says when it was skipped or stopped at a solver limit.
* ``min_cost``: minimise NPV cost subject to tonnes ≥ the required reduction, Σ_territorial
  baseline(target year) − (1 − reduction) × Σ_territorial baseline(base year) (baseline with
  ``scenario.baseline_trend``). If no portfolio reaches it (infeasible, or none found within the
  solver's limits) the ``max_abatement`` portfolio is reported with ``shortfall_tco2e`` > 0. An
  unreachable target never raises.

**Solving.** Every solve passes ``mip_rel_gap`` = :data:`MIP_REL_GAP` and the deterministic
node limit :data:`~climateinvest.portfolio.solve.MIP_NODE_LIMIT`; by default there is **no
wall-clock limit**, so the same inputs give byte-identical tables whatever the machine's load
(``scenario.solver_time_limit_s`` is not read here). Only a caller that passes ``time_limit_s``
(the interactive explorer) gets a wall-clock limit, shared by the main selection's solves (each
gets what is left) and applied to each frontier point. ``status`` is ``"optimal"`` (proven within
the gap), ``"feasible (node limit), gap x.xx %"`` (``time limit`` with ``time_limit_s``) or
``"no solution (…)"`` (empty portfolio); a result cut by a limit never reports a portfolio
worse than the greedy one (below): when the greedy is better it is reported and the status says
``"; greedy portfolio kept ..."``; the cost tie-break's outcome is in ``notes`` (and in the
frontier's ``tie_break`` column). With a ``time_limit_s`` below
:data:`~climateinvest.portfolio.solve.QUICK_BELOW_S` a small cost solve that keeps the first
portfolio's measures with territorial tonnes (free in their start years among equal tonnes and in
everything without territorial tonnes) runs before the full tie-break, so that a tie-break
stopped by the clock still returns a good portfolio, with its gap to the bound the full
tie-break proved.
Standard output is sent to the null device during a solve (HiGHS prints from C++).

**Greedy baseline** (:mod:`~climateinvest.portfolio.greedy`): fund down the MAC curve, each measure
in the earliest plan year whose remaining budget takes it — the one greedy rule, also walked per
Monte Carlo draw by the re-selection. It is a feasible point of the MILP, so it never beats a
proven optimum; the ``comparison`` table shows by how much the optimum gains.

**Frontier** (:mod:`~climateinvest.portfolio.frontier`): the ``max_abatement`` problem re-solved
with every year's budget scaled by :data:`FRONTIER_SHARES`.

**Under uncertainty** the same model and stages are re-solved per Monte Carlo draw on the draw's
perturbed candidates by :func:`climateinvest.uncertainty.reselection.exact_reselection`
(``reselect_method="exact"``); the greedy walk is the labelled fast approximation.

**Speed** (``benchmarks/bench_portfolio.py``, README "Speed"): the McCormick rows make the
tonnes stage and the exact cost tie-break one model; the ``equal_tonnes`` tie-break fixes most of
it and takes a few hundredths of a second, so the tonnes stage is what remains; the frontier's
points (and the re-selection's draws) are solved side by side on
:data:`~climateinvest.portfolio.solve.SOLVE_THREADS` threads.

Units: money in the city's currency at its price year (real); tonnes in t CO2e per year in the
target year unless a column says otherwise.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from climateinvest.cashflows import Flows, build_flows
from climateinvest.io.city import CityData
from climateinvest.io.memo import cached
from climateinvest.io.scenario import Scenario
from climateinvest.io.tables import StepTables
from climateinvest.portfolio.candidates import CITY_PAYERS, build_problem, required_reduction
from climateinvest.portfolio.frontier import FRONTIER_SHARES
from climateinvest.portfolio.frontier import frontier as build_frontier
from climateinvest.portfolio.greedy import greedy
from climateinvest.portfolio.model import build_model
from climateinvest.portfolio.solve import (
    MIP_NODE_LIMIT,
    MIP_REL_GAP,
    QUICK_BELOW_S,
    Clock,
    earliest_free_starts,
    max_abatement,
    min_cost,
    status_text,
)
from climateinvest.portfolio.tables import HOLD_TOL, chosen_table, comparison_row, spending, spent

__all__ = ["CITY_PAYERS", "FRONTIER_SHARES", "MIP_NODE_LIMIT", "MIP_REL_GAP", "PortfolioResult",
           "flows_for_chosen", "required_reduction", "select_portfolio", "status_text"]


@dataclass(frozen=True)
class PortfolioResult(StepTables):
    """The chosen portfolio, its budget use, the greedy comparison and the efficient frontier.

    chosen : one row per chosen measure, in interaction order (cost per tonne): measure_id, name,
        sector, payer, emission_source, scope, start_year, capex [currency], capex_years,
        counts_against_budget (payer municipality / municipal_company), capex_in_cycle,
        capex_after_cycle [currency], standalone_tco2e and adjusted_tco2e [t CO2e / year, target
        year], scale [-] (adjusted ÷ standalone), npv_cost [currency, discounted to the first plan
        year, interaction-scaled energy], cost_per_tco2e [currency / t CO2e, appraisal convention]
    budget_use : per plan year: year, budget (NaN = no budget), spent (budget-counted investment),
        external_capex, headroom, greedy_spent, commitments_after_cycle (budget-counted investment
        falling after the cycle, on the last plan year's row; 0 on the others) [currency]
    greedy : the "fund down the MAC curve" portfolio, same columns as ``chosen``
    comparison : rows ``optimised`` and ``greedy``: n_measures, tco2e_target_year (adjusted,
        territorial), indirect_tco2e, npv_cost, capex_in_budget, capex_total, meets_target
    frontier : budget_share, budget_total [currency], tco2e, npv_cost, capex_in_budget,
        n_measures, status (of the tonnes), tie_break (how the cost tie-break ended), greedy_tco2e
        — max abatement against the total budget
    spending : long table of the chosen investment: measure_id, sector, payer, start_year, year,
        capex [currency], counts_against_budget, in_cycle
    status : "optimal" | "feasible (node limit), gap x.xx %" | "no solution (node limit)" (``time
        limit`` instead of ``node limit`` when a wall-clock ``time_limit_s`` was given)
    objective : the scenario's objective; ``message`` says what was done (e.g. the fallback)
    required_tco2e, achieved_tco2e, shortfall_tco2e : territorial tonnes in the target year
    gap : relative MIP gap of the main solve (NaN if unknown)
    timings : CPU seconds of this process (HiGHS threads included) spent on ``model`` (candidates
        and rows), ``select`` (the main solves) and ``frontier``
    """

    STEP: ClassVar[str] = "portfolio"
    MAIN: ClassVar[str] = "chosen"

    chosen: pd.DataFrame
    budget_use: pd.DataFrame
    greedy: pd.DataFrame
    comparison: pd.DataFrame
    frontier: pd.DataFrame
    spending: pd.DataFrame
    status: str
    objective: str
    required_tco2e: float
    achieved_tco2e: float
    shortfall_tco2e: float
    gap: float
    optimal: bool
    message: str
    target_year: int
    plan_years: tuple[int, ...]
    interaction: str
    currency: str = ""
    indirect_tco2e: float = 0.0
    notes: tuple[str, ...] = field(default=())
    timings: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """JSON-serialisable key figures (for the run manifest)."""
        comp = self.comparison.set_index("portfolio")
        return {
            "status": self.status, "objective": self.objective, "message": self.message,
            "optimal": bool(self.optimal), "gap": None if np.isnan(self.gap) else float(self.gap),
            "target_year": int(self.target_year), "required_tco2e": float(self.required_tco2e),
            "achieved_tco2e": float(self.achieved_tco2e), "shortfall_tco2e": float(self.shortfall_tco2e),
            "indirect_tco2e": float(self.indirect_tco2e), "n_measures": len(self.chosen),
            "npv_cost": float(comp.loc["optimised", "npv_cost"]),
            "greedy_tco2e": float(comp.loc["greedy", "tco2e_target_year"]),
            "greedy_npv_cost": float(comp.loc["greedy", "npv_cost"]),
        }


def _tie_break_note(tie_break: str) -> str | None:
    if tie_break.startswith("skipped"):
        return "cost tie-break skipped: the abatement was not proven optimal within the solver's limits"
    if tie_break.startswith("not applied"):
        return f"cost tie-break {tie_break}"
    if tie_break not in ("", "optimal"):
        return f"cost tie-break stopped at a solver limit ({tie_break})"
    return None


def _better(g: dict, s: dict, objective: str) -> bool:
    """Is the greedy portfolio (comparison row ``g``) better than the solver's (``s``) for the
    objective: more territorial tonnes (then a lower NPV cost) for ``max_abatement``; reaching
    the target where the solver's does not, or as cheaply reaching it, for ``min_cost``.
    """
    tol = HOLD_TOL * max(1.0, abs(s["tco2e_target_year"]))
    more = g["tco2e_target_year"] > s["tco2e_target_year"] + tol
    same = abs(g["tco2e_target_year"] - s["tco2e_target_year"]) <= tol
    cheaper = g["npv_cost"] < s["npv_cost"] - HOLD_TOL * max(1.0, abs(s["npv_cost"]))
    if objective == "min_cost" and g["meets_target"] != s["meets_target"]:
        return g["meets_target"]
    if objective == "min_cost" and g["meets_target"]:
        return cheaper
    return more or (same and cheaper)


def select_portfolio(city: CityData, scenario: Scenario, measures: pd.DataFrame,
                     macc_curve: pd.DataFrame | None = None, *, frontier=True,
                     time_limit_s: float | None = None) -> PortfolioResult:
    """Choose measures and start years under the yearly investment budget (see module docstring).

    Parameters
    ----------
    city : CityData
    scenario : Scenario  plan_years, investment_budget [currency / year], objective, target,
        include_external, interaction, discount_rate, perspective, solver_time_limit_s [s]
    measures : appraisal table (:func:`climateinvest.appraisal.appraise`); its measures are the
        candidates, its ``cost_per_tco2e`` the order when ``macc_curve`` is None
    macc_curve : ``build_macc(...).curve`` (its ``measure_id`` order is the greedy's walk and the
        interaction order), optional
    frontier : True (the :data:`FRONTIER_SHARES`), False (no frontier) or a sequence of budget
        shares
    time_limit_s : float [s], optional  wall-clock limit of the main selection's solves together
        and of each frontier point (e.g. 0.4 for an interactive explorer; the ``status`` then says
        honestly whether the result is proven optimal). Default None: no wall-clock limit, only
        the deterministic node limit, so the result does not depend on the machine's load

    Returns
    -------
    PortfolioResult. Never raises for an unreachable target: it reports ``shortfall_tco2e``.
    """
    limit = None if time_limit_s is None else float(time_limit_s)
    if limit is not None and not limit > 0:
        raise ValueError(f"time_limit_s must be > 0 seconds, got {time_limit_s!r}")
    cpu = time.process_time()
    p = build_problem(city, scenario, measures, macc_curve)
    md = build_model(p)
    timings = {"model": time.process_time() - cpu}
    cpu = time.process_time()
    notes = list(p.notes)
    clock, quick = Clock(limit), limit is not None and limit < QUICK_BELOW_S
    required = p.required
    if scenario.objective == "min_cost":
        sol = min_cost(p, md, required, clock)
        if sol.found and sol.code in (0, 1, -1):
            message = f"cheapest portfolio reaching the target ({required:,.0f} t CO2e in {p.target_year})"
        else:
            why = ("no portfolio reaches the target" if sol.code == 2 else
                   f"no portfolio reaching the target found ({sol.status})")
            sol = max_abatement(p, md, p.budget, clock, quick)
            message = f"{why}: the portfolio with the most abatement is reported"
    else:
        sol = max_abatement(p, md, p.budget, clock, quick)
        message = (f"most abatement in {p.target_year} within the budget, cheapest among equals"
                   if sol.code in (0, -1) else
                   f"the most abatement in {p.target_year} found within the solver's limits ({sol.status})")
    if _tie_break_note(sol.tie_break):
        notes.append(_tie_break_note(sol.tie_break))
    gx = greedy(p, p.budget, required if scenario.objective == "min_cost" else None)
    greedy_table = chosen_table(p, gx)
    if not sol.found:
        message += "; the solver found no portfolio within its limits"
    x, status = earliest_free_starts(p, sol.x), sol.status
    if sol.code not in (0, -1) and _better(comparison_row("g", greedy_table, required),
                                           comparison_row("s", chosen_table(p, sol.x), required),
                                           scenario.objective):
        # A time-limited solve never reports a portfolio worse than the greedy one: keep it.
        x, status = gx, f"{sol.status}; greedy portfolio kept (better than the solver's)"
        message += "; the greedy portfolio (fund down the MAC curve) is reported, the solver's was worse"
    elif not sol.found:
        message += ", an empty one is reported"
    timings["select"] = time.process_time() - cpu
    chosen = chosen_table(p, x)
    achieved = float(chosen.loc[chosen["scope"] == "territorial", "adjusted_tco2e"].sum())
    short = required - achieved
    short = short if short > HOLD_TOL * max(1.0, abs(required)) else 0.0
    if short > 0 and scenario.objective == "min_cost":
        message += f"; shortfall {short:,.0f} t CO2e"

    years = p.plan
    used, ext, gspent = spent(p, x), spent(p, x, counted=False), spent(p, gx)
    later = float(chosen.loc[chosen["counts_against_budget"], "capex_after_cycle"].sum())
    bud = p.budget if p.budget is not None else np.full(len(years), np.nan)
    budget_use = pd.DataFrame({"year": years, "budget": bud, "spent": used, "external_capex": ext,
                               "headroom": bud - used, "greedy_spent": gspent,
                               "commitments_after_cycle": np.r_[np.zeros(len(years) - 1), later]})
    comparison = pd.DataFrame([comparison_row("optimised", chosen, required),
                               comparison_row("greedy", greedy_table, required)])

    cpu = time.process_time()
    shares = FRONTIER_SHARES if frontier is True else (tuple(frontier) if frontier else ())
    front = build_frontier(p, md, shares, sol if scenario.objective == "max_abatement" else None, limit)
    timings["frontier"] = time.process_time() - cpu
    return PortfolioResult(
        chosen=chosen, budget_use=budget_use, greedy=greedy_table, comparison=comparison, frontier=front,
        spending=spending(chosen, years), status=status, objective=scenario.objective,
        required_tco2e=required, achieved_tco2e=achieved, shortfall_tco2e=max(short, 0.0),
        gap=sol.gap, optimal=sol.code in (0, -1), message=message, target_year=p.target_year,
        plan_years=tuple(int(y) for y in years), interaction=scenario.interaction, currency=city.currency,
        indirect_tco2e=float(chosen.loc[chosen["scope"] != "territorial", "adjusted_tco2e"].sum()),
        notes=tuple(notes), timings=timings)


def flows_for_chosen(city: CityData, scenario: Scenario, chosen: pd.DataFrame) -> Flows:
    """Flows of the chosen measures, each at its ``start_year``, in ``chosen`` order.

    The carriers are the city's (same as the full flows). The interaction share is **not**
    applied: multiply abatement and energy effects by ``chosen["scale"]`` where needed (as
    :func:`climateinvest.appraisal.net_cost` does with ``scale``).
    """
    ids = list(chosen["measure_id"])
    start = chosen["start_year"].to_numpy(int) if len(ids) else np.zeros(0, int)

    def build() -> Flows:
        m = city.measures.set_index("measure_id")
        missing = [i for i in ids if i not in m.index]
        if missing:
            raise KeyError(f"chosen measures not in the city's measures: {', '.join(map(str, missing))}")
        sub = dataclasses.replace(city, measures=m.loc[ids].reset_index())
        return build_flows(sub, scenario.price_path, scenario.emission_factor_set, start)

    # the same chosen set of the same city gives the same flows: kept (a converged fixed point's
    # last round, and an explorer change that keeps the plan, choose the set again)
    return cached(("chosen", str(scenario.price_path), str(scenario.emission_factor_set), tuple(map(str, ids)),
                   start.tobytes()), city, build)

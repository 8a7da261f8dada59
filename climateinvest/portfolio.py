"""Budget-constrained portfolio: which measures to start in which plan year.

The model (a mixed-integer programme solved with ``scipy.optimize.milp`` / HiGHS)
---------------------------------------------------------------------------------
**Candidates.** A candidate k = (m, s) is measure m started in plan year s of the budget cycle
(``scenario.plan_years``), s ≥ ``earliest_start_year``. Its arrays come from
:func:`climateinvest.cashflows.build_flows` with every measure started in s (one call per plan
year: prices and emission factors depend on the calendar year, so a later start is a different
measure). ``x[k]`` ∈ {0, 1} says "start m in s". Measures whose earliest start is after the cycle
are not candidates (a note says so); ``external`` measures are candidates only when
``scenario.include_external``.

**Per candidate:**

* tonnes e_k [t CO2e / year] abated in the target year (``Flows.calendar`` of the abatement);
  a measure larger than its source's baseline is capped at the baseline, as in
  :func:`climateinvest.macc.interaction_scale`;
* investment per plan year [currency]: capex ÷ capex_years in years s … s+capex_years−1; the part
  after the last plan year is reported as a commitment for later budgets, not constrained;
* NPV cost [currency]: the perspective's net cost (:func:`climateinvest.appraisal.net_cost`, no
  carbon value, as the appraisal's ``npv_cost``) discounted at ``scenario.discount_rate`` to the
  **first plan year**, split as in the MAC curve into K (investment and running cost, never
  scaled) and E (energy effects, scaled by the interaction share).

**Constraints.**

* at most one start per measure: Σ_s x[m, s] ≤ 1;
* ``exclusive_group``: Σ over the group's candidates ≤ 1;
* ``requires`` r: x[m, s] ≤ Σ_{s' ≤ s} x[r, s'] — the required measure starts no later (a
  measure requiring one that cannot be chosen is never chosen);
* yearly budget: Σ capex falling in plan year y of candidates whose payer is ``municipality`` or
  ``municipal_company`` ≤ ``investment_budget[y]``. An empty ``investment_budget`` means no budget
  constraint at all; a non-empty one that lacks a plan year gives that year a budget of 0.
  The budget is gross investment: grants are financing (see :mod:`climateinvest.financing`);
* ``external`` measures are **chosen freely but outside the budget** (the city cannot fund them,
  but whether and when they happen is part of the plan it negotiates); their NPV cost counts in
  the portfolio's cost like any other measure's, so ``min_cost`` picks them where they are the
  cheapest tonnes. With ``include_external: false`` they are left out entirely;
* emission-source limits, by ``scenario.interaction``:

  - ``independent``: linear cap, Σ e_k x_k ≤ baseline of the source in the target year (over the
    measures that cut it); every chosen measure keeps its standalone tonnes.
  - ``sequential``: **modelled exactly**, not by a linear cap. Along each source the candidates
    are chained in cost-per-tonne order (the MAC curve's order, then the appraisal's); a chosen
    measure removes the share a_k = e_k ÷ baseline of what is left. With w_k = (share of the
    source left before k) × x_k — a product of a continuous and a binary variable, linearised
    exactly by w_k ≤ x_k, w_k ≤ 1 − Σ_{j<k} a_j w_j, w_k ≥ x_k − Σ_{j<k} a_j w_j, w_k ≥ 0 — the
    adjusted tonnes are e_k w_k and the scaled energy cost E_k w_k (× the cap): the same numbers
    :func:`climateinvest.macc.interaction_scale` gives for the chosen set in that order (the total
    per source, baseline × (1 − Π(1 − a_k)), does not depend on the order). So the optimiser
    sees diminishing returns on a shared source and the reported, interaction-adjusted abatement
    *is* the optimised quantity. Measures adding emissions (e_k ≤ 0) are not chained (scale 1),
    nor are sources cut by a single measure (nothing to interact with). Tangent cuts of the
    concave total B(1 − e^−L), L = Σ −ln(1 − a_k) x_k, are added per source: valid for every
    integer point, they only tighten the relaxation so that HiGHS proves optimality sooner.

**Objectives.** Tonnes count toward the objective only on ``territorial`` sources (indirect ones
are reported beside, never toward a territorial target, DESIGN.md section 3).

* ``max_abatement``: maximise interaction-adjusted territorial tonnes in the target year; then,
  in a second solve with those tonnes held (relative tolerance 1e-6), minimise the NPV cost. With
  a positive discount rate that tie-break starts money-saving measures first and may defer
  measures with a net cost to later plan years when the budget allows. The tie-break runs only
  when the tonnes are proven optimal (a note says when it was skipped).
* ``min_cost``: minimise NPV cost subject to tonnes ≥ the required reduction:
  required = Σ_territorial baseline(target year) − (1 − reduction) × Σ_territorial
  baseline(base year) (baseline from :func:`climateinvest.cashflows.baseline_by_source` with
  ``scenario.baseline_trend``). If no portfolio reaches it (infeasible, or none found within the
  time limit) the ``max_abatement`` portfolio is reported with ``shortfall_tco2e`` > 0. An
  unreachable target never raises.

Every solve passes ``time_limit`` (``scenario.solver_time_limit_s``; the frontier uses at most
:data:`FRONTIER_TIME_LIMIT_S` per solve) and ``mip_rel_gap`` = :data:`MIP_REL_GAP`. ``status``
is ``"optimal"`` or ``"feasible (time limit), gap x.xx %"`` (never "optimal" for a time-limited
incumbent), or ``"no solution (time limit)"`` with an empty portfolio. HiGHS can print a debug
line from C++ even with ``disp=False``; standard output is sent to the null device during a solve.

**Greedy baseline ("fund down the MAC curve").** Walk the MAC curve (``macc_curve`` order, else
the appraisal's ``cost_per_tco2e`` ascending, measures without a cost per tonne skipped); start
each measure in the earliest plan year whose remaining budget takes its whole in-cycle
investment, skipping it if its exclusive group is taken, its required measure is not already
chosen to start no later, or (``independent``) its source's cap is full. Under ``min_cost`` the
walk stops once the target is reached. The greedy portfolio is a feasible point of the MILP, so
it never beats a proven optimum; the ``comparison`` table shows by how much the optimum gains.

**Frontier.** The ``max_abatement`` problem re-solved with every year's budget scaled by
:data:`FRONTIER_SHARES` (0 … 200 %); without a budget, the reference (100 %) is the yearly
budget-counted investment of the unconstrained ``max_abatement`` portfolio. Each point is solved
like the main problem, with at most :data:`FRONTIER_TIME_LIMIT_S` per solve; its ``status`` says
whether it is proven optimal.

Units: money in the city's currency at its price year (real); tonnes in t CO2e per year in the
target year unless a column says otherwise.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from . import finance
from .appraisal import net_cost
from .cashflows import Flows, baseline_by_source, build_flows
from .data import CityData
from .macc import interaction_scale
from .scenario import Scenario

CITY_PAYERS = ("municipality", "municipal_company")
MIP_REL_GAP = 1e-4
FRONTIER_SHARES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0)
FRONTIER_TIME_LIMIT_S = 1.0
_TANGENTS = (0.95, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05)  # share of a source left
_HOLD_TOL = 1e-6  # relative tolerance when a stage-1 optimum (tonnes) is held in stage 2

CHOSEN_COLUMNS = ["measure_id", "name", "sector", "payer", "emission_source", "scope", "start_year",
                  "capex", "capex_years", "counts_against_budget", "capex_in_cycle", "capex_after_cycle",
                  "standalone_tco2e", "adjusted_tco2e", "scale", "npv_cost", "cost_per_tco2e"]


@dataclass(frozen=True)
class PortfolioResult:
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
        n_measures, status, greedy_tco2e — max abatement against the total budget
    spending : long table of the chosen investment: measure_id, sector, payer, start_year, year,
        capex [currency], counts_against_budget, in_cycle
    status : "optimal" | "feasible (time limit), gap x.xx %" | "no solution (time limit)"
    objective : the scenario's objective; ``message`` says what was done (e.g. the fallback)
    required_tco2e, achieved_tco2e, shortfall_tco2e : territorial tonnes in the target year
    gap : relative MIP gap of the main solve (NaN if unknown)
    """

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


# --- candidates ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Candidates:
    """Arrays over candidates k = (measure, plan start year); see the module docstring."""

    m: np.ndarray            # (K,) position in city.measures
    year: np.ndarray         # (K,) start year
    raw: np.ndarray          # (K,) standalone tonnes, target year
    e: np.ndarray            # (K,) tonnes capped at the source (raw × cap for raw > 0)
    share: np.ndarray        # (K,) a_k, share of its source removed
    cap: np.ndarray          # (K,) min(1, baseline ÷ raw)
    chain: np.ndarray        # (K,) bool: raw > 0, takes part in the sequential interaction
    territorial: np.ndarray  # (K,) bool
    source: np.ndarray       # (K,) emission_source
    spend: np.ndarray        # (K, P) investment per plan year, all payers
    after: np.ndarray        # (K,) investment after the cycle
    counts: np.ndarray       # (K,) bool, budget-counted payer
    K: np.ndarray            # (K,) NPV at the first plan year, unscaled part
    E: np.ndarray            # (K,) NPV at the first plan year, energy part (scaled)
    growth: np.ndarray       # (K,) (1 + rate)^(s − first plan year): first-year → own-start value
    life_tonnes: np.ndarray  # (K,) lifetime tonnes at own start (discounted or plain), unscaled
    by_measure: dict         # measure position → candidate indices (by year)


@dataclass(frozen=True)
class _Problem:
    city: CityData
    scenario: Scenario
    cand: _Candidates
    plan: np.ndarray
    target_year: int
    rank: np.ndarray          # (M,) position of each measure in the interaction order
    mac_order: list           # measure positions the greedy walks
    baseline: dict            # source → baseline tonnes, target year
    budget: np.ndarray | None
    required: float
    notes: tuple


def _scope(city: CityData) -> dict:
    b = city.baseline.drop_duplicates("source_id")
    scope = b["scope"] if "scope" in b.columns else pd.Series("territorial", index=b.index)
    return {str(s): (str(v) if isinstance(v, str) and v else "territorial") for s, v in zip(b["source_id"], scope)}


def required_reduction(city: CityData, scenario: Scenario) -> float:
    """[t CO2e] territorial cut needed in the target year: baseline(target year) − (1 − reduction)
    × baseline(base year), summed over ``territorial`` sources (baseline with the scenario trend)."""
    t = scenario.target
    base = baseline_by_source(city, [t.base_year, t.year], scenario.baseline_trend)
    scope = _scope(city)
    terr = [s for s in base.index if scope.get(str(s), "territorial") == "territorial"]
    return float(base.loc[terr, t.year].sum() - (1.0 - t.reduction) * base.loc[terr, t.base_year].sum())


def _order(city: CityData, measures: pd.DataFrame, macc_curve: pd.DataFrame | None) -> tuple[np.ndarray, list]:
    """Interaction order (rank per measure position) and the greedy's walk (measure positions)."""
    ids = city.measure_ids
    pos = {mid: i for i, mid in enumerate(ids)}
    if macc_curve is not None and len(macc_curve):
        walk = [pos[m] for m in dict.fromkeys(macc_curve["measure_id"]) if m in pos]
    else:
        cpt = measures.set_index("measure_id")["cost_per_tco2e"] if "cost_per_tco2e" in measures else pd.Series(dtype=float)
        cpt = cpt[~cpt.index.duplicated()]
        known = [m for m in measures["measure_id"] if m in pos and m in cpt.index and np.isfinite(cpt[m])]
        known = sorted(dict.fromkeys(known), key=lambda m: (float(cpt[m]), pos[m]))
        walk = [pos[m] for m in known]
    rest = [i for i in range(len(ids)) if i not in set(walk)]
    if "cost_per_tco2e" in measures:
        cpt = measures.drop_duplicates("measure_id").set_index("measure_id")["cost_per_tco2e"]
        rest.sort(key=lambda i: (not np.isfinite(cpt.get(ids[i], np.nan)), cpt.get(ids[i], 0.0), i))
    rank = np.empty(len(ids), dtype=int)
    rank[walk + rest] = np.arange(len(ids))
    return rank, walk


def _problem(city: CityData, scenario: Scenario, measures: pd.DataFrame,
             macc_curve: pd.DataFrame | None) -> _Problem:
    m = city.measures
    plan = np.asarray(scenario.plan_years, dtype=int)
    y0, rate, target = int(plan[0]), scenario.discount_rate, int(scenario.target.year)
    scope = _scope(city)
    base_tab = baseline_by_source(city, [target], scenario.baseline_trend)[target]
    baseline = {str(k): float(v) for k, v in base_tab.items()}
    notes = []

    wanted = set(measures["measure_id"]) if measures is not None else set(m["measure_id"])
    earliest = m["earliest_start_year"].to_numpy(int)
    payer = m["payer"].astype(str).to_numpy()
    src = m["emission_source"].astype(str).to_numpy()
    ok = np.array([mid in wanted for mid in m["measure_id"]])
    if not scenario.include_external and (ok & (payer == "external")).any():
        notes.append("external measures left out (include_external: false): "
                     + ", ".join(m["measure_id"][ok & (payer == "external")]))
    ok &= scenario.include_external | (payer != "external")
    late = ok & (earliest > plan[-1])
    if late.any():
        notes.append(f"earliest start after the cycle {plan[0]}–{plan[-1]}, not candidates: "
                     + ", ".join(m["measure_id"][late]))

    rows = []
    for s in plan:
        fl = build_flows(city, scenario.price_path, scenario.emission_factor_set, int(s))
        K = np.asarray(finance.npv(rate, net_cost(fl, city, scenario.perspective, scale=0.0)), float)
        E = np.asarray(finance.npv(rate, net_cost(fl, city, scenario.perspective, scale=1.0)), float) - K
        ab = fl.abatement
        life = np.asarray(finance.npv(rate, ab) if scenario.discount_abatement else ab.sum(axis=-1), float)
        spend = fl.calendar(fl.capex, plan)
        after = fl.capex.sum(axis=-1) - spend.sum(axis=-1)
        raw = fl.calendar(ab, np.array([target]))[:, 0]
        disc = (1.0 + rate) ** -(int(s) - y0)
        for i in np.flatnonzero(ok & (earliest <= s)):
            rows.append((i, int(s), raw[i], spend[i], after[i], K[i] * disc, E[i] * disc, 1.0 / disc, life[i]))

    n = len(rows)
    col = (lambda j, dtype=float: np.array([r[j] for r in rows], dtype=dtype)) if n else (lambda j, dtype=float: np.zeros(0, dtype))
    mi, raw = col(0, int), col(2)
    base = np.array([baseline.get(src[i], np.nan) for i in mi], float)
    missing = sorted({src[i] for i in mi if src[i] not in baseline})
    if missing:
        raise ValueError(f"emission_source {', '.join(missing)} has no baseline_emissions rows")
    pos, alive = raw > 0, (raw > 0) & (base > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(alive, np.clip(raw / np.where(alive, base, 1.0), 0.0, 1.0), np.where(pos, 1.0, 0.0))
        cap = np.where(alive, np.minimum(1.0, base / np.where(alive, raw, 1.0)), np.where(pos, 0.0, 1.0))
    big = sorted({m["measure_id"].iat[i] for i in mi[pos & (cap < 1)]})
    if big:
        notes.append(f"abate more than their source's baseline in {target}, counted up to it: " + ", ".join(big))
    by_measure: dict = {}
    for k, i in enumerate(mi):
        by_measure.setdefault(int(i), []).append(k)
    cand = _Candidates(
        m=mi, year=col(1, int), raw=raw, e=np.where(pos, raw * cap, raw), share=share, cap=cap,
        chain=pos.copy(),
        territorial=np.array([scope.get(src[i], "territorial") == "territorial" for i in mi], bool),
        source=src[mi] if n else np.zeros(0, object),
        spend=np.array([r[3] for r in rows], float).reshape(n, len(plan)),
        after=col(4), counts=np.isin(payer[mi], CITY_PAYERS) if n else np.zeros(0, bool),
        K=col(5), E=col(6), growth=col(7), life_tonnes=col(8), by_measure=by_measure)

    budget = None
    if scenario.investment_budget:
        budget = np.array([float(scenario.investment_budget.get(int(y), 0.0)) for y in plan])
        gone = [int(y) for y in plan if int(y) not in scenario.investment_budget]
        if gone:
            notes.append(f"investment_budget has no amount for {', '.join(map(str, gone))}: budget 0 there")
    rank, walk = _order(city, measures if measures is not None else m, macc_curve)
    return _Problem(city, scenario, cand, plan, target, rank, walk, baseline, budget,
                    required_reduction(city, scenario), tuple(notes))


# --- the mixed-integer programme ------------------------------------------------------------------

@dataclass(frozen=True)
class _Model:
    n: int                      # variables: x (K) then w (chain members)
    integrality: np.ndarray
    ub: np.ndarray
    A: sparse.csr_array         # structural rows
    lo: np.ndarray
    hi: np.ndarray
    spend: sparse.csr_array     # (P, n) budget-counted investment per plan year
    tonnes: np.ndarray          # (n,) territorial adjusted tonnes, target year
    cost: np.ndarray            # (n,) NPV cost at the first plan year


def _model(p: _Problem) -> _Model:
    c, meas = p.cand, p.city.measures
    nk = len(c.m)
    sequential = p.scenario.interaction == "sequential"
    chain_k = np.zeros(0, int)
    if sequential:  # a source cut by one measure only needs no chain (its scale is its cap)
        shared = {s for s in set(c.source[c.chain]) if len(set(c.m[c.chain & (c.source == s)])) > 1}
        chain_k = np.flatnonzero(c.chain & np.isin(c.source, list(shared)))
    w_of = np.full(nk, -1)
    w_of[chain_k] = nk + np.arange(len(chain_k))
    n = nk + len(chain_k)
    ub = np.ones(n)
    rows, cols, vals, lo, hi = [], [], [], [], []

    def row(entries, low, high):
        r = len(lo)
        for j, v in entries:
            rows.append(r), cols.append(j), vals.append(v)
        lo.append(low), hi.append(high)

    for ks in c.by_measure.values():  # one start per measure
        row([(k, 1.0) for k in ks], -np.inf, 1.0)
    groups = meas["exclusive_group"].fillna("").astype(str).to_numpy()
    for g in sorted(set(groups[c.m]) - {""}):
        row([(k, 1.0) for k in range(nk) if groups[c.m[k]] == g], -np.inf, 1.0)
    ids = {mid: i for i, mid in enumerate(meas["measure_id"])}
    req = meas["requires"].fillna("").astype(str).to_numpy()
    for k in range(nk):
        r = req[c.m[k]]
        if not r:
            continue
        before = [j for j in c.by_measure.get(ids.get(r, -1), []) if c.year[j] <= c.year[k]]
        if not before:
            ub[k] = 0.0
        else:
            row([(k, 1.0)] + [(j, -1.0) for j in before], -np.inf, 0.0)
    if sequential:  # exact sequential interaction along each source, in rank order
        for s in sorted(set(c.source[chain_k])):
            members = sorted((k for k in chain_k if c.source[k] == s), key=lambda k: (p.rank[c.m[k]], c.year[k]))
            for i, k in enumerate(members):
                prev = [(w_of[j], c.share[j]) for j in members[:i] if c.share[j] > 0]
                row([(w_of[k], 1.0), (k, -1.0)], -np.inf, 0.0)           # w ≤ x
                row([(w_of[k], 1.0), (k, -1.0)] + prev, 0.0, np.inf)      # w ≥ x − Σ a w
                row([(w_of[k], 1.0)] + prev, -np.inf, 1.0)                # w ≤ 1 − Σ a w
            # Valid cuts (they only tighten the LP relaxation): with ℓ_k = −ln(1 − a_k) the
            # source's adjusted tonnes B(1 − e^−L), L = Σ ℓ_k x_k, lie under every tangent.
            B = p.baseline[s]
            if B > 0:
                ell = -np.log1p(-np.minimum(c.share[members], 1.0 - 1e-15))
                for left in _TANGENTS:
                    L0 = -np.log(left)
                    row([(w_of[k], c.e[k]) for k in members] + [(k, -B * left * l) for k, l in zip(members, ell)],
                        -np.inf, B * (1.0 - left) - B * left * L0 + 1e-9 * B)
    else:  # linear cap per source
        for s in sorted(set(c.source[c.e > 0])):
            ks = [k for k in range(nk) if c.source[k] == s and c.e[k] > 0]
            row([(k, c.e[k]) for k in ks], -np.inf, max(p.baseline[s], 0.0))

    tonnes, cost = np.zeros(n), np.zeros(n)
    terr = c.territorial.astype(float)
    lin = w_of < 0
    tonnes[:nk] = np.where(lin, c.e * terr, 0.0)
    cost[:nk] = c.K + np.where(lin, c.E * c.cap, 0.0)
    tonnes[w_of[~lin]] = (c.e * terr)[~lin]
    cost[w_of[~lin]] = (c.E * c.cap)[~lin]
    counted = c.spend * c.counts[:, None]  # (K, P)
    spend = sparse.csr_array(np.hstack([counted.T, np.zeros((len(p.plan), n - nk))]))
    A = sparse.csr_array((vals, (rows, cols)), shape=(len(lo), n))
    integrality = np.r_[np.ones(nk), np.zeros(n - nk)]
    return _Model(n, integrality, ub, A, np.array(lo, float), np.array(hi, float), spend, tonnes, cost)


@dataclass(frozen=True)
class _Solution:
    x: np.ndarray      # (K,) bool
    code: int          # scipy status, -1 = not solved (nothing to choose)
    status: str
    gap: float
    found: bool        # the solver returned a point


def status_text(code: int, gap: float | None, found: bool) -> str:
    """Solver outcome as reported: ``optimal``, ``feasible (time limit), gap x.xx %`` or why not.

    ``code`` is ``scipy.optimize.milp``'s ``status`` (0 optimal, 1 iteration/time limit,
    2 infeasible, 3 unbounded, 4 other); a time-limited incumbent is never called optimal.
    """
    if code in (0, -1):
        return "optimal"
    if code == 1:
        if not found:
            return "no solution (time limit)"
        g = np.nan if gap is None else float(gap)
        return f"feasible (time limit), gap {g * 100:.3g} %" if np.isfinite(g) else "feasible (time limit), gap unknown"
    return {2: "infeasible", 3: "unbounded"}.get(code, "solver failed")


@contextlib.contextmanager
def _quiet_stdout():
    """Send file descriptor 1 to the null device during a solve.

    HiGHS prints ``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();``
    from C++ even with ``disp=False`` (ERGO-Code/HiGHS issue 2783), which would corrupt the
    command line's output. The redirection is process-wide for the duration of the call.
    """
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no real stdout (embedded interpreters)
        yield
        return
    try:
        for stream in (sys.stdout, sys.__stdout__):
            with contextlib.suppress(OSError, ValueError, AttributeError):  # closed or odd streams
                stream.flush()
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, fd)
        finally:
            os.close(null)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _scaled(v: np.ndarray) -> float:
    a = np.abs(v[np.isfinite(v)])
    return float(a.max()) if a.size and a.max() > 0 else 1.0


def _milp(p: _Problem, md: _Model, objective: np.ndarray, budget: np.ndarray | None, extra, time_limit: float) -> _Solution:
    nk = len(p.cand.m)
    if nk == 0:
        return _Solution(np.zeros(0, bool), -1, "optimal", 0.0, True)
    A, lo, hi = [md.A], [md.lo], [md.hi]
    if budget is not None:
        f = _scaled(np.r_[budget, md.spend.data])
        A.append(md.spend / f), lo.append(np.full(len(budget), -np.inf)), hi.append(np.asarray(budget, float) / f)
    for vec, low, high in extra:
        f = _scaled(vec)
        A.append(sparse.csr_array(vec[None, :] / f)), lo.append(np.array([low / f])), hi.append(np.array([high / f]))
    with _quiet_stdout():
        res = milp(objective / _scaled(objective), integrality=md.integrality, bounds=Bounds(0.0, md.ub),
                   constraints=LinearConstraint(sparse.vstack(A).tocsr(), np.concatenate(lo), np.concatenate(hi)),
                   options={"time_limit": float(time_limit), "mip_rel_gap": MIP_REL_GAP, "disp": False})
    found = res.x is not None
    x = (np.asarray(res.x[:nk]) > 0.5) if found else np.zeros(nk, bool)
    gap = getattr(res, "mip_gap", None)
    gap = float(gap) if gap is not None else np.nan
    if res.status == 0 and not np.isfinite(gap):
        gap = 0.0
    return _Solution(x, int(res.status), status_text(int(res.status), gap, found), gap, found)


def _tonnes_of(p: _Problem, x: np.ndarray) -> float:
    """Adjusted territorial tonnes in the target year of the candidates selected by ``x``."""
    ks, scale = _adjusted(p, x)
    c = p.cand
    return float(np.sum(c.raw[ks] * scale * c.territorial[ks]))


def _max_abatement(p: _Problem, md: _Model, budget, time_limit: float, notes: list | None = None) -> _Solution:
    first = _milp(p, md, -md.tonnes, budget, [], time_limit)
    if not first.found or first.code == -1:
        return first
    if first.code != 0:  # tonnes not proven optimal: holding them would only burn time
        if notes is not None:
            notes.append("cost tie-break skipped: the abatement was not proven optimal within the time limit")
        return first
    v = np.zeros(md.n)
    v[: len(first.x)] = first.x
    best = _tonnes_of(p, first.x)
    hold = best - _HOLD_TOL * max(1.0, abs(best))
    second = _milp(p, md, md.cost, budget, [(md.tonnes, hold, np.inf)], time_limit)
    if second.found and _tonnes_of(p, second.x) >= hold - 1e-9 * max(1.0, abs(best)):
        if second.code != 0 and notes is not None:
            notes.append(f"cost tie-break stopped at the time limit ({second.status})")
        return dataclasses.replace(first, x=second.x)
    return first


# --- greedy ---------------------------------------------------------------------------------------

def _greedy(p: _Problem, budget: np.ndarray | None, stop_at: float | None = None) -> np.ndarray:
    """Fund down the MAC curve; returns the chosen candidates (K,) bool."""
    c, meas = p.cand, p.city.measures
    x = np.zeros(len(c.m), bool)
    left = None if budget is None else np.asarray(budget, float).copy()
    tol = 1e-9 * max(1.0, _scaled(c.spend.ravel()))
    groups = meas["exclusive_group"].fillna("").astype(str).to_numpy()
    req = meas["requires"].fillna("").astype(str).to_numpy()
    ids = {mid: i for i, mid in enumerate(meas["measure_id"])}
    start_of: dict = {}
    taken: set = set()
    used: dict = {}  # source → linear tonnes (independent cap)
    remain: dict = {}  # source → share left (sequential)
    sequential = p.scenario.interaction == "sequential"
    achieved = 0.0
    for i in p.mac_order:
        ks = c.by_measure.get(i, [])
        g = groups[i]
        if not ks or (g and g in taken):
            continue
        first = -np.inf
        if req[i]:
            if ids.get(req[i], -1) not in start_of:
                continue
            first = start_of[ids[req[i]]]
        for k in ks:
            if c.year[k] < first:
                continue
            need = c.spend[k] * c.counts[k]
            if left is not None and np.any(need > left + tol):
                continue
            s = c.source[k]
            if not sequential and c.e[k] > 0 and used.get(s, 0.0) + c.e[k] > max(p.baseline[s], 0.0) * (1 + 1e-12) + 1e-9:
                continue
            x[k] = True
            start_of[i] = c.year[k]
            if g:
                taken.add(g)
            if left is not None:
                left -= need
            if c.e[k] > 0:
                used[s] = used.get(s, 0.0) + c.e[k]
            r = remain.get(s, 1.0)
            got = c.e[k] * (r if sequential and c.chain[k] else 1.0)
            if sequential and c.chain[k]:
                remain[s] = r * (1.0 - c.share[k])
            achieved += got if c.territorial[k] else 0.0
            break
        if stop_at is not None and achieved >= stop_at:
            break
    return x


# --- tables ---------------------------------------------------------------------------------------

def _adjusted(p: _Problem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Selected candidates in interaction order and their scale (adjusted ÷ standalone)."""
    c = p.cand
    ks = np.flatnonzero(x)
    if not len(ks):
        return ks, np.zeros(0)
    ks = ks[np.lexsort((c.year[ks], p.rank[c.m[ks]]))]
    if p.scenario.interaction == "sequential":
        return ks, np.asarray(interaction_scale(c.raw[ks], c.source[ks], p.baseline, np.arange(len(ks))), float)
    return ks, c.cap[ks]


def _table(p: _Problem, x: np.ndarray) -> pd.DataFrame:
    """The ``chosen`` table of the candidates selected by ``x``, in interaction order."""
    c, meas = p.cand, p.city.measures
    ks, scale = _adjusted(p, x)
    mi = c.m[ks]
    cost = c.K[ks] + c.E[ks] * scale
    tonnes = c.life_tonnes[ks] * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        cpt = np.where(tonnes != 0, cost * c.growth[ks] / np.where(tonnes != 0, tonnes, 1.0), np.nan)
    return pd.DataFrame({
        "measure_id": meas["measure_id"].to_numpy()[mi],
        "name": meas["name"].to_numpy()[mi],
        "sector": meas["sector"].to_numpy()[mi],
        "payer": meas["payer"].to_numpy()[mi],
        "emission_source": c.source[ks].astype(str) if len(ks) else np.zeros(0, str),
        "scope": np.where(c.territorial[ks], "territorial", "indirect"),
        "start_year": c.year[ks],
        "capex": meas["capex"].to_numpy(float)[mi],
        "capex_years": meas["capex_years"].to_numpy(int)[mi],
        "counts_against_budget": c.counts[ks],
        "capex_in_cycle": c.spend[ks].sum(axis=1),
        "capex_after_cycle": c.after[ks],
        "standalone_tco2e": c.raw[ks],
        "adjusted_tco2e": c.raw[ks] * scale,
        "scale": np.asarray(scale, float),
        "npv_cost": cost,
        "cost_per_tco2e": cpt,
    })[CHOSEN_COLUMNS]


def _spent(p: _Problem, x: np.ndarray, counted: bool = True) -> np.ndarray:
    c = p.cand
    sel = x & (c.counts if counted else ~c.counts)
    return c.spend[sel].sum(axis=0) if sel.any() else np.zeros(len(p.plan))


def _spending(table: pd.DataFrame, plan: np.ndarray) -> pd.DataFrame:
    out = []
    for r in table.itertuples():
        for t in range(int(r.capex_years)):
            y = int(r.start_year) + t
            out.append((r.measure_id, r.sector, r.payer, int(r.start_year), y, r.capex / r.capex_years,
                        bool(r.counts_against_budget), bool(y <= plan[-1])))
    return pd.DataFrame(out, columns=["measure_id", "sector", "payer", "start_year", "year", "capex",
                                      "counts_against_budget", "in_cycle"]).astype(
        {"start_year": int, "year": int, "capex": float, "counts_against_budget": bool, "in_cycle": bool})


def _row(name: str, t: pd.DataFrame, required: float) -> dict:
    terr = t["scope"] == "territorial"
    tonnes = float(t.loc[terr, "adjusted_tco2e"].sum())
    return {"portfolio": name, "n_measures": len(t), "tco2e_target_year": tonnes,
            "indirect_tco2e": float(t.loc[~terr, "adjusted_tco2e"].sum()),
            "npv_cost": float(t["npv_cost"].sum()),
            "capex_in_budget": float(t.loc[t["counts_against_budget"], "capex_in_cycle"].sum()),
            "capex_total": float(t["capex"].sum()),
            "meets_target": bool(tonnes >= required - _HOLD_TOL * max(1.0, abs(required)))}


# --- the public functions -------------------------------------------------------------------------

def select_portfolio(city: CityData, scenario: Scenario, measures: pd.DataFrame,
                     macc_curve: pd.DataFrame | None = None, *, frontier=True) -> PortfolioResult:
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

    Returns
    -------
    PortfolioResult. Never raises for an unreachable target: it reports ``shortfall_tco2e``.
    """
    p = _problem(city, scenario, measures, macc_curve)
    md = _model(p)
    notes = list(p.notes)
    limit = scenario.solver_time_limit_s
    required = p.required
    message = ""
    if scenario.objective == "min_cost":
        sol = _milp(p, md, md.cost, p.budget, [(md.tonnes, required, np.inf)], limit)
        if sol.found and sol.code in (0, 1, -1):
            message = f"cheapest portfolio reaching the target ({required:,.0f} t CO2e in {p.target_year})"
        else:
            why = ("no portfolio reaches the target" if sol.code == 2 else
                   f"no portfolio reaching the target found ({sol.status})")
            sol = _max_abatement(p, md, p.budget, limit, notes)
            message = f"{why}: the portfolio with the most abatement is reported"
    else:
        sol = _max_abatement(p, md, p.budget, limit, notes)
        message = (f"most abatement in {p.target_year} within the budget, cheapest among equals"
                   if sol.code in (0, -1) else
                   f"the most abatement in {p.target_year} found within the time limit ({sol.status})")
    if not sol.found:
        message += "; the solver found no portfolio within the time limit, an empty one is reported"
    chosen = _table(p, sol.x)
    achieved = float(chosen.loc[chosen["scope"] == "territorial", "adjusted_tco2e"].sum())
    short = required - achieved
    short = short if short > _HOLD_TOL * max(1.0, abs(required)) else 0.0
    if short > 0 and scenario.objective == "min_cost":
        message += f"; shortfall {short:,.0f} t CO2e"

    stop = required if scenario.objective == "min_cost" else None
    gx = _greedy(p, p.budget, stop)
    greedy = _table(p, gx)

    years = p.plan
    spent, ext, gspent = _spent(p, sol.x), _spent(p, sol.x, counted=False), _spent(p, gx)
    later = float(chosen.loc[chosen["counts_against_budget"], "capex_after_cycle"].sum())
    bud = p.budget if p.budget is not None else np.full(len(years), np.nan)
    budget_use = pd.DataFrame({"year": years, "budget": bud, "spent": spent, "external_capex": ext,
                               "headroom": bud - spent, "greedy_spent": gspent,
                               "commitments_after_cycle": np.r_[np.zeros(len(years) - 1), later]})
    comparison = pd.DataFrame([_row("optimised", chosen, required), _row("greedy", greedy, required)])

    shares = FRONTIER_SHARES if frontier is True else (tuple(frontier) if frontier else ())
    front = _frontier(p, md, shares, sol if scenario.objective == "max_abatement" else None)
    return PortfolioResult(
        chosen=chosen, budget_use=budget_use, greedy=greedy, comparison=comparison, frontier=front,
        spending=_spending(chosen, years), status=sol.status, objective=scenario.objective,
        required_tco2e=required, achieved_tco2e=achieved, shortfall_tco2e=max(short, 0.0),
        gap=sol.gap, optimal=sol.code in (0, -1), message=message, target_year=p.target_year,
        plan_years=tuple(int(y) for y in years), interaction=scenario.interaction, currency=city.currency,
        indirect_tco2e=float(chosen.loc[chosen["scope"] != "territorial", "adjusted_tco2e"].sum()),
        notes=tuple(notes))


def _frontier(p: _Problem, md: _Model, shares, main: _Solution | None) -> pd.DataFrame:
    """Max abatement against the total budget; ``main`` is the max_abatement solution at the
    scenario's budget (reused at share 1), None under min_cost."""
    cols = ["budget_share", "budget_total", "tco2e", "npv_cost", "capex_in_budget", "n_measures",
            "status", "greedy_tco2e"]
    if not len(shares):
        return pd.DataFrame(columns=cols)
    limit = min(p.scenario.solver_time_limit_s, FRONTIER_TIME_LIMIT_S)
    ref = p.budget
    if ref is None:  # no budget: scale the yearly spending of the unconstrained max-abatement portfolio
        x = main.x if main is not None else _max_abatement(p, md, None, limit).x
        ref = _spent(p, x)
    out = []
    for f in shares:
        b = ref * float(f)
        same = main is not None and p.budget is not None and float(f) == 1.0
        sol = main if same else _max_abatement(p, md, b, limit)
        t = _row("", _table(p, sol.x), p.required)
        g = _row("", _table(p, _greedy(p, b)), p.required)
        out.append((float(f), float(b.sum()), t["tco2e_target_year"], t["npv_cost"], t["capex_in_budget"],
                    t["n_measures"], sol.status, g["tco2e_target_year"]))
    return pd.DataFrame(out, columns=cols)


def flows_for_chosen(city: CityData, scenario: Scenario, chosen: pd.DataFrame) -> Flows:
    """Flows of the chosen measures, each at its ``start_year``, in ``chosen`` order.

    The carriers are the city's (same as the full flows). The interaction share is **not**
    applied: multiply abatement and energy effects by ``chosen["scale"]`` where needed (as
    :func:`climateinvest.appraisal.net_cost` does with ``scale``).
    """
    ids = list(chosen["measure_id"])
    m = city.measures.set_index("measure_id")
    missing = [i for i in ids if i not in m.index]
    if missing:
        raise KeyError(f"chosen measures not in the city's measures: {', '.join(map(str, missing))}")
    sub = dataclasses.replace(city, measures=m.loc[ids].reset_index())
    start = chosen["start_year"].to_numpy(int) if len(ids) else np.zeros(0, int)
    return build_flows(sub, scenario.price_path, scenario.emission_factor_set, start)

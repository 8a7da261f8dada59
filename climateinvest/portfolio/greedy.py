"""The one greedy rule, "fund down the MAC curve", vectorised over Monte Carlo draws.

One step of :mod:`climateinvest.portfolio.select`, and the fast approximation of
:mod:`climateinvest.uncertainty.reselection`. The same walk serves both, so the report's
"optimised vs greedy" and the greedy selection frequency describe one rule:

1. **Order**: the MAC curve's (:func:`climateinvest.macc.mac_order`): cheapest per tonne first,
   each measure re-priced for what is left of its source (``sequential``); of an exclusive
   group only the member on the curve is walked; measures off the curve (no abatement in the
   reference year) are not walked. The deterministic baseline walks ``build_macc(...).curve``;
   the re-selection walks each draw's own curve.
2. **Funding**: each measure in turn starts in the earliest plan year whose remaining budget
   takes its whole in-cycle budget-counted investment, not before its required measure; it is
   skipped if its exclusive group is taken, its required measure is not chosen yet, or
   (``independent``) its source's cap is full.
3. **Stop** (``min_cost``): the walk ends once the territorial adjusted tonnes in the target
   year reach the required reduction (a target already met funds nothing).

Each chosen set is a feasible point of the MILP, so it never beats a proven optimum. The loop
runs over the M curve positions, each step over all R draws at once (no loop per draw).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from climateinvest.portfolio.candidates import Problem


@dataclass(frozen=True)
class FundingProblem:
    """Dense measure × plan-start-year arrays of the walk (from the portfolio's candidates).

    spend : (M, S, P) [currency] budget-counted investment in plan year p when started in plan
        year s (0 for payers outside the budget)
    candidate : (M, S) bool  may measure m start in plan year s
    tonnes : (M, S) [t CO2e / year] standalone abatement in the target year when started in s
    source : (M,) int  emission-source code; baseline : (n_sources,) [t CO2e / year]
    territorial : (M,) bool ; group : (M,) int (−1 none)
    requires : (M,) int  required measure (−1 none, −2 one that is not a candidate: never)
    sequential : bool ; index : (M, S) int  candidate index k of (m, s), −1 if none
    """

    spend: np.ndarray
    candidate: np.ndarray
    tonnes: np.ndarray
    source: np.ndarray
    baseline: np.ndarray
    territorial: np.ndarray
    group: np.ndarray
    requires: np.ndarray
    sequential: bool
    index: np.ndarray


def funding_problem(p: Problem) -> FundingProblem:
    """The walk's arrays for the measures of ``p.city`` (positions as in ``city.measures``)."""
    c, meas = p.cand, p.city.measures
    M, S, P = len(meas), len(p.plan), len(p.plan)
    index = np.full((M, S), -1)
    col = np.searchsorted(p.plan, c.year)
    index[c.m, col] = np.arange(len(c.m))
    have = index >= 0
    k = np.where(have, index, 0)
    spend = np.where(have[..., None], (c.spend * c.counts[:, None])[k] if len(c.m) else 0.0, 0.0)
    tonnes = np.where(have, c.raw[k] if len(c.m) else 0.0, 0.0)
    src_names = meas["emission_source"].astype(str).to_numpy(object)
    codes, names = pd.factorize(pd.Series(src_names, dtype=object))
    baseline = np.array([p.baseline.get(str(s), 0.0) for s in names], float)
    terr = np.ones(M, bool)
    terr[c.m] = c.territorial
    labels = meas["exclusive_group"].fillna("").astype(str).to_numpy(object)
    group = np.where(labels == "", -1, pd.factorize(pd.Series(labels, dtype=object))[0])
    pos = {mid: i for i, mid in enumerate(meas["measure_id"])}
    req = meas["requires"].fillna("").astype(str)
    requires = np.array([-1 if not r else pos.get(r, -2) for r in req], int)
    return FundingProblem(spend.reshape(M, S, P), have, tonnes, np.asarray(codes, int), baseline, terr,
                          np.asarray(group, int), requires, p.scenario.interaction == "sequential", index)


def fund_down(order: np.ndarray, fp: FundingProblem, budget: np.ndarray | None,
              k_capex: np.ndarray | None = None, k_tonnes: np.ndarray | None = None,
              stop_at: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fund down each draw's curve under the yearly budgets (module docstring, steps 2 and 3).

    Parameters
    ----------
    order : (R, M) int  measures in walk order per draw, padded with −1
    fp : FundingProblem
    budget : (P,) [currency] or None (no budget)
    k_capex, k_tonnes : (R, M) [-], optional  per-draw multipliers of the investment and of the
        target-year tonnes (default 1)
    stop_at : float [t CO2e / year], optional  stop a draw once its territorial adjusted tonnes
        reach it (``min_cost``)

    Returns
    -------
    chosen (R, M) bool, start (R, M) int (plan-year index, −1 if not chosen)
    """
    order = np.atleast_2d(np.asarray(order, int))
    R, M = order.shape
    S, P = fp.spend.shape[1], fp.spend.shape[2]
    kc = np.ones((R, M)) if k_capex is None else np.asarray(k_capex, float)
    kt = np.ones((R, M)) if k_tonnes is None else np.asarray(k_tonnes, float)
    rows, s_idx = np.arange(R), np.arange(S)
    chosen = np.zeros((R, M), bool)
    start = np.full((R, M), -1)
    left = np.full((R, P), np.inf) if budget is None else np.tile(np.asarray(budget, float), (R, 1))
    spend_abs = np.abs(fp.spend[np.isfinite(fp.spend)])
    tol = 1e-9 * max(1.0, float(spend_abs.max()) if spend_abs.size else 1.0)
    taken = np.zeros((R, max(1, int(fp.group.max(initial=-1)) + 1)), bool)
    n_src = max(1, len(fp.baseline))
    used = np.zeros((R, n_src))   # linear tonnes per source (independent cap)
    remain = np.ones((R, n_src))  # share left per source (sequential)
    limit = np.maximum(fp.baseline, 0.0) * (1 + 1e-12) + 1e-9
    got = np.zeros(R)
    done = np.zeros(R, bool) if stop_at is None else got >= stop_at
    for j in range(M):
        m = order[:, j]
        live = (m >= 0) & ~done
        if not live.any():
            if (m < 0).all():
                break
            continue
        m = np.maximum(m, 0)
        g, src, req = fp.group[m], fp.source[m], fp.requires[m]
        free = (g < 0) | ~taken[rows, np.maximum(g, 0)]
        has_req = req != -1
        r_start = np.where(req >= 0, start[rows, np.maximum(req, 0)], -1)
        req_ok = ~has_req | (r_start >= 0)
        need = fp.spend[m] * kc[rows, m][:, None, None]  # (R, S, P)
        fits = fp.candidate[m] & (s_idx[None, :] >= np.maximum(r_start, 0)[:, None])
        fits &= (need <= left[:, None, :] + tol).all(axis=2)
        raw = fp.tonnes[m] * kt[rows, m][:, None]  # (R, S)
        base = fp.baseline[src][:, None]
        pos, alive = raw > 0, (raw > 0) & (base > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(alive, np.clip(raw / np.where(alive, base, 1.0), 0.0, 1.0), np.where(pos, 1.0, 0.0))
            cap = np.where(alive, np.minimum(1.0, base / np.where(alive, raw, 1.0)), np.where(pos, 0.0, 1.0))
        e = np.where(pos, raw * cap, raw)
        if not fp.sequential:
            fits &= ~(e > 0) | (used[rows, src][:, None] + e <= limit[src][:, None])
        ok = live & free & req_ok & fits.any(axis=1)
        s = np.argmax(fits, axis=1)
        sel = rows[ok]
        chosen[sel, m[ok]] = True
        start[sel, m[ok]] = s[ok]
        left[sel] -= need[sel, s[ok]]
        mark = ok & (g >= 0)
        taken[rows[mark], g[mark]] = True
        e_s, share_s, pos_s = e[rows, s], share[rows, s], pos[rows, s]
        scale = np.where(fp.sequential & pos_s, remain[rows, src], 1.0)
        got += np.where(ok & fp.territorial[m], e_s * scale, 0.0)
        used[sel, src[ok]] += np.where(e_s[ok] > 0, e_s[ok], 0.0)
        if fp.sequential:
            cut = ok & pos_s
            remain[rows[cut], src[cut]] *= 1.0 - share_s[cut]
        if stop_at is not None:
            done |= got >= stop_at
    return chosen, start


def curve_order(p: Problem) -> np.ndarray:
    """(1, M) the deterministic walk: the MAC curve's measures (``p.mac_order``), padded."""
    order = np.full((1, len(p.city.measures)), -1)
    order[0, :len(p.mac_order)] = p.mac_order
    return order


def greedy(p: Problem, budget: np.ndarray | None, stop_at: float | None = None) -> np.ndarray:
    """Fund down the MAC curve under the yearly ``budget``; returns the chosen candidates (K,) bool."""
    fp = funding_problem(p)
    chosen, start = fund_down(curve_order(p), fp, budget, stop_at=stop_at)
    x = np.zeros(len(p.cand.m), bool)
    m = np.flatnonzero(chosen[0])
    x[fp.index[m, start[0, m]]] = True
    return x

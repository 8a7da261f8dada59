"""Greedy baseline for the portfolio: "fund down the MAC curve".

One step of :mod:`climateinvest.portfolio.select`. Walk the MAC curve (``macc_curve`` order, else the
appraisal's ``cost_per_tco2e`` ascending, measures without a cost per tonne skipped); start each
measure in the earliest plan year whose remaining budget takes its whole in-cycle investment,
skipping it if its exclusive group is taken, its required measure is not already chosen to start
no later, or (``independent``) its source's cap is full. Under ``min_cost`` the walk stops once the
target is reached. The result is a feasible point of the MILP, so it never beats a proven optimum.
"""
from __future__ import annotations

import numpy as np

from climateinvest.portfolio.candidates import Problem


def greedy(p: Problem, budget: np.ndarray | None, stop_at: float | None = None) -> np.ndarray:
    """Fund down the MAC curve under the yearly ``budget``; returns the chosen candidates (K,) bool."""
    c, meas = p.cand, p.city.measures
    x = np.zeros(len(c.m), bool)
    left = None if budget is None else np.asarray(budget, float).copy()
    spend = np.abs(c.spend[np.isfinite(c.spend)])
    tol = 1e-9 * max(1.0, float(spend.max()) if spend.size else 1.0)
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
            if (
                not sequential
                and c.e[k] > 0
                and used.get(s, 0.0) + c.e[k] > max(p.baseline[s], 0.0) * (1 + 1e-12) + 1e-9
            ):
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

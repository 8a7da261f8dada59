"""Solving the portfolio model with ``scipy.optimize.milp`` (HiGHS): options, statuses, stages.

One step of :mod:`climateinvest.portfolio.select` (its docstring states the model and the objectives).
Every solve passes ``mip_rel_gap`` = :data:`MIP_REL_GAP` and the deterministic ``node_limit`` =
:data:`MIP_NODE_LIMIT` (branch-and-bound nodes, counted the same on any machine), so the same
inputs give the same result whatever the machine's load. A wall-clock ``time_limit`` is passed
only when the caller asks for one (interactive use, :class:`Clock` with a limit). A solve is
reported ``"optimal"`` only when HiGHS proved it within the gap; an incumbent stopped by a limit
is ``"feasible (node limit), gap x.xx %"`` (or ``time limit``), no incumbent ``"no solution (…)"``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import sys
import threading
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, OptimizeResult, milp

from climateinvest.io.memo import cached
from climateinvest.portfolio.candidates import Problem
from climateinvest.portfolio.model import Model
from climateinvest.portfolio.tables import HOLD_TOL, cost_of, tonnes_of

MIP_REL_GAP = 1e-4
MIP_NODE_LIMIT = 50_000  # branch-and-bound nodes per solve: deterministic, far above what a solve needs
QUICK_BELOW_S = 2.0  # main time limits below this (interactive use) run the quick cost solve first


@dataclass(frozen=True)
class Solution:
    """One solve's outcome: the choice, scipy's status code and text, objective and gap."""

    x: np.ndarray      # (K,) bool
    code: int          # scipy status, -1 = not solved (nothing to choose)
    status: str
    gap: float
    found: bool        # the solver returned a point
    tie_break: str = ""  # outcome of the cost tie-break (max_abatement only)
    bound: float = np.nan  # proven bound on the objective, in its own units (NaN if unknown)


class Clock:
    """Wall-clock budget shared by consecutive solves: each gets what is left of ``limit``,
    counted from the first solve (which gets all of it). ``limit`` None: no wall-clock limit
    (the deterministic default; the node limit still applies).
    """

    def __init__(self, limit: float | None = None):
        self.limit = None if limit is None else float(limit)
        self.end: float | None = None

    @property
    def word(self) -> str:
        """Which limit can stop a solve, as the status names it."""
        return "node limit" if self.limit is None else "time limit"

    def left(self) -> float | None:
        """Seconds left before the limit (the clock starts on the first call); None: no limit."""
        if self.limit is None:
            return None
        now = time.perf_counter()
        if self.end is None:
            self.end = now + self.limit
            return self.limit
        return min(self.limit, self.end - now)


def status_text(code: int, gap: float | None, found: bool, limit: str = "time limit") -> str:
    """Solver outcome as reported: ``optimal``, ``feasible (<limit>), gap x.xx %`` or why not.

    ``code`` is ``scipy.optimize.milp``'s ``status`` (0 optimal, 1 node/time limit,
    2 infeasible, 3 unbounded, 4 other); ``limit`` names the limit that can have stopped it
    ("node limit" or "time limit"). An incumbent stopped by a limit is never called optimal.
    """
    if code in (0, -1):
        return "optimal"
    if code == 1:
        if not found:
            return f"no solution ({limit})"
        g = np.nan if gap is None else float(gap)
        return f"feasible ({limit}), gap {g * 100:.3g} %" if np.isfinite(g) else f"feasible ({limit}), gap unknown"
    return {2: "infeasible", 3: "unbounded"}.get(code, "solver failed")


SOLVE_THREADS = max(1, min(2, os.cpu_count() or 1))
"""Independent solves run side by side (frontier points, re-selection draws): HiGHS releases the
GIL, and each solve is deterministic, so the results do not depend on the number of threads."""

_QUIET_LOCK = threading.Lock()
_QUIET: dict = {"depth": 0, "fd": None, "saved": None}


@contextlib.contextmanager
def quiet_stdout():
    """Send file descriptor 1 to the null device during a solve.

    HiGHS prints ``HighsMipSolverData::transformNewIntegerFeasibleSolution tmpSolver.run();``
    from C++ even with ``disp=False`` (ERGO-Code/HiGHS issue 2783), which would corrupt the
    command line's output. The redirection is process-wide: solves in several threads share it
    (the first to enter redirects, the last to leave restores).
    """
    with _QUIET_LOCK:
        if _QUIET["depth"] == 0:
            _QUIET["fd"], _QUIET["saved"] = _redirect()
        _QUIET["depth"] += 1
    try:
        yield
    finally:
        with _QUIET_LOCK:
            _QUIET["depth"] -= 1
            if _QUIET["depth"] == 0 and _QUIET["saved"] is not None:
                os.dup2(_QUIET["saved"], _QUIET["fd"])
                os.close(_QUIET["saved"])
                _QUIET["fd"] = _QUIET["saved"] = None


def _redirect() -> tuple[int | None, int | None]:
    """Point standard output's descriptor at the null device: (descriptor, saved copy), or
    (None, None) without a real standard output (embedded interpreters).
    """
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):
        return None, None
    for stream in (sys.stdout, sys.__stdout__):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed or odd streams
            stream.flush()
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)
    return fd, saved


def _scaled(v: np.ndarray) -> float:
    a = np.abs(v[np.isfinite(v)])
    return float(a.max()) if a.size and a.max() > 0 else 1.0


def solve(p: Problem, md: Model, objective: np.ndarray, budget: np.ndarray | None, extra,
          time_limit: float | None = None) -> Solution:
    """Minimise ``objective`` over the model with the yearly ``budget`` (None: no budget rows) and
    ``extra`` rows (vector, low, high). ``time_limit`` [s] wall clock, None for none (the
    deterministic default: only :data:`MIP_NODE_LIMIT`); with no time left nothing is solved.
    """
    nk = len(p.cand.m)
    limit = "node limit" if time_limit is None else "time limit"
    if nk == 0:
        return Solution(np.zeros(0, bool), -1, "optimal", 0.0, True)
    if time_limit is not None and not time_limit > 0:
        return Solution(np.zeros(nk, bool), 1, status_text(1, None, False, limit), np.nan, False)
    A, lo, hi = [md.A], [md.lo], [md.hi]
    if budget is not None:
        f = _scaled(np.r_[budget, md.spend.data])
        A.append(md.spend / f), lo.append(np.full(len(budget), -np.inf)), hi.append(np.asarray(budget, float) / f)
    for vec, low, high in extra:
        f = _scaled(vec)
        A.append(sparse.csr_array(vec[None, :] / f)), lo.append(np.array([low / f])), hi.append(np.array([high / f]))
    res, bound = _milp(objective, md.integrality, md.ub, A, lo, hi, time_limit)
    found = res.x is not None
    x = (np.asarray(res.x[:nk]) > 0.5) if found else np.zeros(nk, bool)
    gap = getattr(res, "mip_gap", None)
    gap = float(gap) if gap is not None else np.nan
    if res.status == 0 and not np.isfinite(gap):
        gap = 0.0
    return Solution(x, int(res.status), status_text(int(res.status), gap, found, limit), gap, found, bound=bound)


def _milp(objective, integrality, ub, A, lo, hi, time_limit, gap=MIP_REL_GAP):
    """One HiGHS call with the module's options (objective scaled to at most 1 in size).

    The same problem (objective, bounds, rows and options, compared byte for byte) is solved
    once: HiGHS is deterministic, so an answer reached without a wall-clock limit, or proven
    optimal before it, is what a second solve would return, and it is kept
    (:func:`climateinvest.io.memo.cached`) and returned again. The grant fixed point's last round
    repeats its earlier solves, and the explorer repeats whole runs (two of a redraw's six solves
    at least). An answer a wall-clock limit stopped is never kept.
    """
    options = {"node_limit": MIP_NODE_LIMIT, "mip_rel_gap": gap, "disp": False}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    f = _scaled(objective)
    rows = sparse.vstack(A).tocsr()
    low, high = np.concatenate(lo), np.concatenate(hi)
    digest = hashlib.sha256(repr((rows.shape, MIP_NODE_LIMIT, float(gap))).encode())
    for a in (objective / f, integrality, ub, rows.data, rows.indices, rows.indptr, low, high):
        digest.update(np.ascontiguousarray(np.asarray(a, float)).tobytes())

    def solve_once():
        with quiet_stdout():
            res = milp(objective / f, integrality=integrality, bounds=Bounds(0.0, ub),
                       constraints=LinearConstraint(rows, low, high), options=options)
        bound = getattr(res, "mip_dual_bound", None)
        return res, (float(bound) * f if bound is not None and np.isfinite(bound) else np.nan)

    res, bound = cached(("milp", milp, digest.hexdigest()), _SOLVES, solve_once,  # (a replaced milp: its own)
                        keep=lambda out: time_limit is None or out[0].status == 0)
    x = None if res.x is None else np.array(res.x)  # each caller its own copy
    return OptimizeResult({**res, "x": x}), bound


_SOLVES = object()  # the owner of the kept solves in io.memo (no city: the problem is the key)


def _same_tonnes_rows(p: Problem, md: Model, x: np.ndarray) -> list:
    """Rows keeping the tonnes of ``x`` measure for measure: as many chosen candidates of each
    tonnage as ``x`` has, where a tonnage is a share of one shared source (the sequential
    interaction's total depends only on the shares taken from it, whatever the order) or, for a
    candidate not chained, its tonnes. So a start year of equal tonnes, or another measure of
    equal tonnes, may stand in; everything without territorial tonnes stays free. Every
    portfolio meeting the rows abates exactly what ``x`` abates.
    """
    c = p.cand
    classes: dict = {}
    for k in np.flatnonzero(c.territorial & (c.e != 0)):
        key = ("source", str(c.source[k]), _same(c.share[k])) if md.chained[k] else ("alone", _same(c.e[k]))
        classes.setdefault(key, []).append(k)
    rows = []
    for ks in classes.values():
        v = np.zeros(md.n)
        v[ks] = 1.0
        on = float(x[ks].sum())
        rows.append((v, on, on))
    return rows


def _same(value: float) -> float:
    """``value`` to 12 significant digits: equal tonnes or shares up to rounding in the arithmetic."""
    return float(f"{float(value):.12g}")


def max_abatement(p: Problem, md: Model, budget, clock: Clock, quick: bool = False) -> Solution:
    """Most territorial tonnes, then (tonnes held) the lowest NPV cost.

    The second stage follows ``scenario.tie_break``:

    * ``equal_tonnes`` (default): the cheapest portfolio abating the first stage's tonnes measure
      for measure (:func:`_same_tonnes_rows`: a start year, or another measure, of equal tonnes
      may stand in), free in every measure without territorial tonnes. Every such portfolio
      abates exactly what the first one does; fixing the tonnages leaves HiGHS a small problem
      (0.02–0.2 s where the search below takes 0.3–15 s on the benchmark's cities). Only a
      different set whose tonnes add up to the same total by coincidence is not searched.
    * ``any_portfolio``: the cheapest of *every* portfolio holding the tonnes (within
      :data:`~climateinvest.portfolio.tables.HOLD_TOL`), which can also swap one set of measures
      for another of equal total tonnes. With ``quick`` (short time limits) the ``equal_tonnes`` solve
      runs first, so that a search stopped by the clock still returns a good portfolio.

    ``tie_break`` of the result says how the cost solve ended: "optimal", "feasible (time limit),
    gap …" (the gap of the portfolio returned to the bound the solve proved) or why it was
    skipped. A proven tie-break is never changed.
    """
    first = solve(p, md, -md.tonnes, budget, [], clock.left())
    if not first.found or first.code == -1:
        return first
    if first.code != 0:  # tonnes not proven optimal: holding them would only burn time
        return dataclasses.replace(first, tie_break="skipped: the abatement was not proven optimal")
    best = tonnes_of(p, first.x)
    hold = best - HOLD_TOL * max(1.0, abs(best))
    held = [(md.tonnes, hold, np.inf)]

    def holds(sol: Solution) -> bool:
        return sol.found and tonnes_of(p, sol.x) >= hold - 1e-9 * max(1.0, abs(best))

    pool = [first.x]
    same = p.scenario.tie_break == "equal_tonnes"
    if quick or same:
        near = solve(p, md, md.cost, budget, held + _same_tonnes_rows(p, md, first.x), clock.left())
        if same:
            return _ended(p, first, near, [first.x], holds(near), clock)
        pool += [near.x] if holds(near) else []
    second = solve(p, md, md.cost, budget, held, clock.left())
    return _ended(p, first, second, pool, holds(second), clock)


def _ended(p: Problem, first: Solution, second: Solution, pool: list, held: bool, clock: Clock) -> Solution:
    """The first stage's solution with the cost solve ``second``'s portfolio (``held``: it keeps
    the tonnes) or the cheapest of ``pool``, and how the tie-break ended.
    """
    if second.code == 0 and held:
        return dataclasses.replace(first, x=second.x, tie_break="optimal")
    pool = ([second.x] if held else []) + pool  # on a tie, the solve's own incumbent
    x = min(pool, key=lambda x: cost_of(p, x))
    if second.code != 1:  # infeasible or failed although the first portfolio holds: numerics
        why = "its portfolio missed the held tonnes" if second.code == 0 else second.status
        return dataclasses.replace(first, x=x, tie_break=f"not applied: {why}")
    if x is second.x:
        return dataclasses.replace(first, x=x, tie_break=second.status)
    cost = cost_of(p, x)  # another portfolio is cheaper than the solve's incumbent: its own gap
    gap = abs(cost - second.bound) / max(abs(cost), 1e-9) if np.isfinite(second.bound) else np.nan
    return dataclasses.replace(first, x=x, tie_break=status_text(1, gap, True, clock.word))


def earliest_free_starts(p: Problem, x: np.ndarray) -> np.ndarray:
    """``x`` with each chosen measure outside the budget (``counts`` False) and without a
    ``requires`` moved to its earliest plan year of equal tonnes and no higher NPV cost.

    The solves leave such a start year to chance: it changes neither the tonnes in the target
    year, nor the cost, nor a budget (a measure others pay for, at no cost to the municipal
    group, is the usual case), but it does change the pathway before the target year. Moving a
    measure earlier never breaks a ``requires`` of another measure (the required one may start
    earlier). The move is kept only if the whole portfolio's tonnes and cost are unchanged or
    better.
    """
    c = p.cand
    req = p.city.measures["requires"].fillna("").astype(str).to_numpy()
    y = x.copy()
    for k in np.flatnonzero(x):
        if c.counts[k] or req[c.m[k]]:
            continue
        for j in c.by_measure[c.m[k]]:
            if c.year[j] < c.year[k] and np.isclose(c.e[j], c.e[k], rtol=1e-12, atol=0.0) \
                    and c.K[j] + c.E[j] <= c.K[k] + c.E[k] + 1e-9 * max(1.0, abs(c.K[k] + c.E[k])):
                y[k], y[j] = False, True
                break
    same = tonnes_of(p, y) >= tonnes_of(p, x) - 1e-9 * max(1.0, abs(tonnes_of(p, x)))
    return y if same and cost_of(p, y) <= cost_of(p, x) + 1e-9 * max(1.0, abs(cost_of(p, x))) else x


def min_cost(p: Problem, md: Model, required: float, clock: Clock) -> Solution:
    """Lowest NPV cost reaching ``required`` territorial tonnes in the target year."""
    return solve(p, md, md.cost, p.budget, [(md.tonnes, required, np.inf)], clock.left())

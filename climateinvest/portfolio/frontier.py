"""Efficient frontier of the portfolio: most abatement against the total investment budget.

One step of :mod:`climateinvest.portfolio.select`. The ``max_abatement`` problem (same model, same two
stages) re-solved with every year's budget scaled by :data:`FRONTIER_SHARES`; without a budget,
the reference (100 %) is the yearly budget-counted investment of the unconstrained
``max_abatement`` portfolio. The points are solved under the main selection's limits: by
default only the deterministic node limit (no wall clock), so every point is the same on any
machine under any load. They are solved side by side
(:data:`~climateinvest.portfolio.solve.SOLVE_THREADS` at a time); each is deterministic, so the
table does not depend on the number of threads. ``status`` says whether a point's tonnes are
proven optimal, ``tie_break`` how its cost tie-break ended, so a point stopped by a limit is
never shown as optimal.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pandas as pd

from climateinvest.portfolio.candidates import Problem
from climateinvest.portfolio.greedy import greedy
from climateinvest.portfolio.model import Model
from climateinvest.portfolio.solve import SOLVE_THREADS, Clock, Solution, max_abatement
from climateinvest.portfolio.tables import chosen_table, comparison_row, spent

FRONTIER_SHARES = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
FRONTIER_COLUMNS = ["budget_share", "budget_total", "tco2e", "npv_cost", "capex_in_budget", "n_measures",
                    "status", "tie_break", "greedy_tco2e"]


def frontier(p: Problem, md: Model, shares, main: Solution | None, time_limit: float | None = None
             ) -> pd.DataFrame:
    """Max abatement per budget share; ``main`` is the max_abatement solution at the scenario's
    budget (reused at share 1), None under min_cost; ``time_limit`` [s] wall clock per point
    (None: none, the deterministic default).
    """
    if not len(shares):
        return pd.DataFrame(columns=FRONTIER_COLUMNS)
    limit = time_limit
    ref = p.budget
    if ref is None:  # no budget: scale the yearly spending of the unconstrained max-abatement portfolio
        x = main.x if main is not None else max_abatement(p, md, None, Clock(limit)).x
        ref = spent(p, x)

    def point(f) -> tuple:
        b = ref * float(f)
        same = main is not None and p.budget is not None and float(f) == 1.0
        sol = main if same else max_abatement(p, md, b, Clock(limit), quick=limit is not None)
        t = comparison_row("", chosen_table(p, sol.x), p.required)
        g = comparison_row("", chosen_table(p, greedy(p, b)), p.required)
        return (float(f), float(b.sum()), t["tco2e_target_year"], t["npv_cost"], t["capex_in_budget"],
                t["n_measures"], sol.status, sol.tie_break, g["tco2e_target_year"])

    with ThreadPoolExecutor(max_workers=min(SOLVE_THREADS, len(shares))) as pool:  # points are independent
        out = list(pool.map(point, shares))
    return pd.DataFrame(out, columns=FRONTIER_COLUMNS)

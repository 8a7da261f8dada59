"""Portfolio selection: which measures to start in which plan year within the yearly budgets.

``candidates`` builds the problem from the appraisal, ``model`` the mixed-integer programme with
the exact sequential interaction, ``solve`` runs HiGHS, ``greedy`` is the "fund down the curve"
baseline, ``frontier`` the efficient frontier, ``tables`` the result tables, and ``select`` wires
them into :func:`select_portfolio`.
"""
from climateinvest.portfolio.select import (
    FRONTIER_SHARES,
    MIP_NODE_LIMIT,
    MIP_REL_GAP,
    PortfolioResult,
    flows_for_chosen,
    required_reduction,
    select_portfolio,
    status_text,
)

__all__ = ["FRONTIER_SHARES", "MIP_NODE_LIMIT", "MIP_REL_GAP", "PortfolioResult",
           "flows_for_chosen", "required_reduction", "select_portfolio", "status_text"]

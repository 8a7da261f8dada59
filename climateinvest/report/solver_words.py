"""The portfolio solver's status in the report's language, for the report and the explorer.

The core writes its status in English for the manifest (:func:`climateinvest.portfolio.solve.status_text`);
:func:`solver_status` reads it back from its structure (the outcome, the limit, the gap and the
greedy flag) and says it from the message catalogue, never by translating free text word for word.
"""
from __future__ import annotations

import re

from climateinvest.report.formatting import fmt_tonnes
from climateinvest.report.i18n import lang, t

# every text portfolio.solve.status_text writes, and the greedy note select_portfolio may add
_STATUS = re.compile(
    r"(?P<head>optimal|infeasible|unbounded|solver failed"
    r"|no solution \((?P<none_limit>node|time) limit\)"
    r"|feasible \((?P<limit>node|time) limit\), gap (?:(?P<unknown>unknown)|(?P<gap>\S+) %))"
    r"(?P<greedy>; greedy portfolio kept \(better than the solver's\))?")
_HEADS = {"optimal": "ex.st.optimal", "infeasible": "ex.st.infeasible", "unbounded": "ex.st.unbounded",
          "solver failed": "ex.st.failed"}


def solver_status(status: str) -> str:
    """The portfolio solver's ``status`` (``PortfolioResult.status``) in the current language.

    Parameters
    ----------
    status : str
        As :func:`climateinvest.portfolio.solve.status_text` writes it (``optimal``,
        ``feasible (time limit), gap 0.12 %`` …), optionally followed by the greedy note.

    Returns
    -------
    str
        The same statement from the catalogue (the gap in percent, decimal comma in Swedish);
        a status of another form is said to be unknown, with the core's text in parentheses.
    """
    m = _STATUS.fullmatch(str(status).strip())
    if m is None:
        return t("ex.st.unknown", status=str(status))
    head = m.group("head")
    if head in _HEADS:
        text = t(_HEADS[head])
    elif m.group("none_limit"):
        text = t("ex.st.no_solution", limit=t(f"ex.st.{m.group('none_limit')}_limit"))
    else:
        gap = m.group("gap")
        limit = t(f"ex.st.{m.group('limit')}_limit")
        if m.group("unknown"):
            text = t("ex.st.feasible_unknown", limit=limit)
        else:
            gap_text = gap.replace(".", ",") if lang() == "sv" else gap
            text = t("ex.st.feasible", limit=limit, gap=gap_text + "\u202f%")
    if m.group("greedy"):
        text += t("ex.st.greedy_kept")
    return text


def portfolio_message(step) -> str:
    """What the portfolio step did, in the current language, from its result's fields
    (``objective``, ``target_year``, ``required_tco2e``, ``shortfall_tco2e``, ``optimal``) rather
    than from the English ``message`` the manifest keeps.
    """
    year = int(step.target_year)
    if step.objective == "min_cost" and step.shortfall_tco2e > 0:
        return t("pf.msg.unreachable", year=year, short=fmt_tonnes(step.shortfall_tco2e))
    if step.objective == "min_cost":
        return t("pf.msg.cheapest", year=year, required=fmt_tonnes(step.required_tco2e))
    return t("pf.msg.most" if step.optimal else "pf.msg.most_limited", year=year)

"""The explorer's words for what the core says in English: the solver's status, the grant fixed
point, a refused input or a failed step, seconds and shares, all from the message catalogue
(``report.messages``), so a Swedish screen shows Swedish.

The core writes its statuses in English for the manifest (``portfolio.solve.status_text``,
``portfolio.grants.select_with_grants``); this module reads them back from their structure (the
codes, rounds and flags they are built from), never by translating free text word for word.
"""
from __future__ import annotations

from climateinvest.io.errors import Problem, ValidationError
from climateinvest.report.formatting import fmt_number, fmt_share
from climateinvest.report.i18n import t
from climateinvest.report.messages import MESSAGES
from climateinvest.report.solver_words import solver_status

__all__ = ["grant_status", "problem_text", "seconds", "solver_status"]

def grant_status(grant_rounds: dict) -> str:
    """The grant fixed point's outcome (``ScenarioResult.grant_rounds``: ``converged``,
    ``rounds``) in the current language, as the report's conventions word it; "" without one.
    """
    if not grant_rounds or "rounds" not in grant_rounds:
        return ""
    key = "conv.grant_fixed_point" if grant_rounds.get("converged") else "conv.grant_not_converged"
    return t(key, rounds=int(grant_rounds["rounds"]))


def seconds(s: float, decimals: int = 2) -> str:
    """[s] a duration as the screen writes numbers: ``0,52`` in Swedish, ``0.52`` in English."""
    return fmt_number(s, decimals)


def share(x: float | None) -> str:
    """[0–1] a probability as a percentage (``45 %``), ``–`` when there is none."""
    return "–" if x is None else fmt_share(x, 0)


def problem_line(p: Problem) -> str:
    """One problem of a ValidationError: file, row, column or key, and the rule, in the current
    language (the rule from the catalogue when the problem carries its template's ``code``).
    """
    where = p.file
    if p.row is not None:
        where += t("err.row", row=p.row)
    if p.column is not None:
        where += t("err.key" if p.where == "key" else "err.column", name=p.column)
    message = p.message
    if p.code and f"err.{p.code}" in MESSAGES:
        params = dict(p.params)
        if "suggest" in params:  # the closest allowed word, and the choices' "or", in this language
            params["hint"] = t("err.did_you_mean", word=repr(params["suggest"])) if params["suggest"] else ""
        if isinstance(params.get("expected"), str):
            params["expected"] = params["expected"].replace(" or ", t("err.or"))
        try:
            message = t(f"err.{p.code}", **params)
        except (KeyError, IndexError, ValueError):  # a template the values do not fill: as written
            message = p.message
        else:  # a scenario key's rule: the value given follows it (as the core writes it)
            if p.code.startswith("key_") and p.message.endswith(f", got {p.value!r}"):
                message += t("err.got", value=repr(p.value))
    return f"{where}: {message}"


def problem_text(error: BaseException) -> str:
    """A refusal or failure in plain words in the current language, never a traceback.

    A ValidationError lists its problems (:func:`problem_line`) under a count; an input refused by
    the explorer's readers or a setting refused with a catalogue message (``InputError``,
    ``FileExistsError`` from saving) says its own sentence; a missing or unreadable file says so;
    anything else is said to have failed, with the error's own text.
    """
    if isinstance(error, ValidationError):
        n = len(error.problems)
        head = t("err.count_one") if n == 1 else t("err.count", n=n)
        return "\n".join([head] + [f"  - {problem_line(p)}" for p in error.problems])
    if isinstance(error, FileNotFoundError):
        return f"{error.filename or error}: {t('err.not_found')}"
    if isinstance(error, PermissionError):
        return f"{error.filename or error}: {t('err.permission')}"
    if isinstance(error, FileExistsError | ValueError):  # the explorer's own refusals (catalogue words)
        return str(error)
    return t("ex.failed", error=str(error) or type(error).__name__)

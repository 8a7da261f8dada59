"""The follow-up table: status per adopted measure and reporting period (``followup/<year>.csv``).

One row per measure and period (a year ``2027`` or a *tertial* ``2027-T2``). Columns, as a Swedish
council's investment follow-up keeps them (RKR R14 *Drift- och investeringsredovisning*: decided
and current estimated total expenditure, outcome so far):

=====================  =====================================================================
measure_id             a measure of the adopted plan
period                 ``YYYY`` or ``YYYY-T1`` … ``YYYY-T3``
status                 planned, decided, ongoing, done, delayed, cancelled
decided_total          *beslutad totalutgift* [currency]; required for decided, ongoing, done
estimated_total        *beräknad totalutgift* now [currency]; empty = decided_total
spent_to_date          *utfall* so far, all years [currency]
grant_decided          grants decided (beviljade) [currency]
grant_paid             grants paid out (utbetalda) [currency], at most grant_decided
green_loan_drawn       green loan drawn (upplånat) [currency]
indicator              the measure's result indicator (text, e.g. "luminaires replaced")
indicator_unit         its unit
indicator_value        its value now
indicator_target       its target
achieved_tco2e         achieved or estimated t CO2e per year now
tco2e_method           how: measured, calculated, estimated (required with achieved_tco2e)
new_start_year         required for delayed: the start year it moves to
return_as_candidate    yes / no (default no): may a cancelled measure be chosen again
deviation              free text; required for delayed and cancelled rows
=====================  =====================================================================

Validated with the city tables' engine (:func:`climateinvest.io.columns.validate`): every problem
at once with file, row, column, value and rule. The **status** of a measure is the row of its
latest period.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from climateinvest.io import columns, tabular
from climateinvest.io.columns import Col, Table, listing
from climateinvest.io.errors import Problem, ValidationError

STATUSES = ("planned", "decided", "ongoing", "done", "delayed", "cancelled")
COMMITTED = ("decided", "ongoing", "delayed")  # carried into the next cycle as commitments
NEEDS_DECISION = ("decided", "ongoing", "done")
METHODS = ("measured", "calculated", "estimated")
PERIOD = (r"[0-9]{4}(-T[123])?", "a year (2027) or a tertial (2027-T1, 2027-T2, 2027-T3)")
YEAR = {"kind": "whole", "lo": 1900, "hi": 2200}
MONEY = {"kind": "number", "required": False, "lo": 0}


def _checks(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    out = []
    for row, r in df.iterrows():
        status = r["status"]
        if status in NEEDS_DECISION and cells.at[row, "decided_total"] == "":
            out.append(Problem(label, f"must not be empty for status {status} (beslutad totalutgift)",
                               row, "decided_total", ""))
        if status == "delayed" and cells.at[row, "new_start_year"] == "":
            out.append(Problem(label, "must not be empty for status delayed: the year the start moves to",
                               row, "new_start_year", ""))
        if status in ("delayed", "cancelled") and not r["deviation"]:
            out.append(Problem(label, f"must explain the deviation for status {status}", row, "deviation", ""))
        if status != "cancelled" and r["return_as_candidate"] == "yes":
            out.append(Problem(label, f"must be no unless the status is cancelled, got yes (status {status})",
                               row, "return_as_candidate", cells.at[row, "return_as_candidate"]))
        if pd.notna(r["achieved_tco2e"]) and not r["tco2e_method"]:
            out.append(Problem(label, f"must say how achieved_tco2e was obtained ({', '.join(METHODS)})",
                               row, "tco2e_method", ""))
        if pd.notna(r["grant_paid"]) and pd.notna(r["grant_decided"]) and r["grant_paid"] > r["grant_decided"]:
            out.append(Problem(label, f"must be at most grant_decided ({r['grant_decided']:g}), "
                               f"got {cells.at[row, 'grant_paid']}", row, "grant_paid", cells.at[row, "grant_paid"]))
        estimate = r["estimated_total"] if pd.notna(r["estimated_total"]) else r["decided_total"]
        if pd.notna(r["spent_to_date"]) and pd.notna(estimate) and r["spent_to_date"] > estimate * (1 + 1e-9):
            out.append(Problem(label, f"must be at most the estimated total ({estimate:g}); update "
                               f"estimated_total (beräknad totalutgift), got {cells.at[row, 'spent_to_date']}",
                               row, "spent_to_date", cells.at[row, "spent_to_date"]))
    return out


SPEC = Table((
    Col("measure_id", pattern=(r"[A-Za-z0-9_-]+", "an id of letters, digits, _ and - only")),
    Col("period", pattern=PERIOD), Col("status", choices=STATUSES),
    Col("decided_total", **MONEY), Col("estimated_total", **MONEY), Col("spent_to_date", "number", False, 0.0, lo=0),
    Col("grant_decided", "number", False, 0.0, lo=0), Col("grant_paid", "number", False, 0.0, lo=0),
    Col("green_loan_drawn", "number", False, 0.0, lo=0),
    Col("indicator", required=False), Col("indicator_unit", required=False),
    Col("indicator_value", "number", False), Col("indicator_target", "number", False),
    Col("achieved_tco2e", "number", False, lo=0), Col("tco2e_method", required=False, choices=METHODS),
    Col("new_start_year", required=False, **YEAR),
    Col("return_as_candidate", required=False, default="no", choices=("yes", "no")),
    Col("deviation", required=False)), key=("measure_id", "period"), min_rows=1, check=_checks)


def period_order(period: str) -> tuple[int, int]:
    """Sort key of a period: (year, tertial), a whole year after its tertials."""
    m = re.fullmatch(r"([0-9]{4})(?:-T([123]))?", period)
    return (int(m.group(1)), int(m.group(2) or 4)) if m else (0, 0)


def load_followup(path: str | Path, plan_ids: list[str] | None = None,
                  plan_starts: dict[str, int] | None = None) -> pd.DataFrame:
    """Read and validate a follow-up CSV (any dialect the city tables accept).

    Parameters
    ----------
    path : the ``followup/<year>.csv`` file
    plan_ids : the adopted plan's measure ids: every row must name one, and every one needs a row
    plan_starts : the adopted start year per measure: a delayed start must move later

    Returns
    -------
    DataFrame with the columns of :data:`SPEC` (money [currency], tonnes [t CO2e / year]), rows
    in file order, ``row`` the spreadsheet row. Raises ``ValidationError`` with every problem.
    """
    path = Path(path)
    if not path.is_file():
        raise ValidationError(Problem(str(path), "file not found"))
    raw = tabular.read_csv(path, path.name)
    problems = list(raw.problems)
    if raw.cells is None:
        if not problems:
            problems.append(Problem(raw.label, "is empty: expected a header row with the columns "
                                    + ", ".join(SPEC.names)))
        raise ValidationError(problems)
    df, found, complete = columns.validate(raw, SPEC)
    problems += found
    if complete and plan_ids is not None:
        known = set(plan_ids)
        for row, mid in df["measure_id"].items():
            if mid and mid not in known:
                problems.append(Problem(raw.label, f"must be a measure of the adopted plan ({listing(known)}), "
                                        f"got {mid!r}", row, "measure_id", mid))
        for mid in plan_ids:
            if mid not in set(df["measure_id"]):
                problems.append(Problem(raw.label, f"has no row for {mid!r} of the adopted plan: every adopted "
                                        "measure needs a status", None, "measure_id", mid))
    if complete and plan_starts:
        for row, r in df.iterrows():
            start = plan_starts.get(r["measure_id"])
            if r["status"] == "delayed" and start is not None and pd.notna(r["new_start_year"]) \
                    and r["new_start_year"] <= start:
                problems.append(Problem(raw.label, f"must be after the adopted start year {start}, "
                                        f"got {int(r['new_start_year'])}", row, "new_start_year",
                                        f"{int(r['new_start_year'])}"))
    if problems:
        raise ValidationError(problems)
    return df.rename_axis("row").reset_index()


def latest_status(followup: pd.DataFrame) -> pd.DataFrame:
    """One row per measure: its latest period's row (file order kept among measures)."""
    if not len(followup):
        return followup
    key = followup["period"].map(period_order)
    order = followup.assign(_k=key).sort_values("_k", kind="stable")
    last = order.groupby("measure_id", sort=False).tail(1).drop(columns="_k")
    first_seen = {m: i for i, m in reversed(list(enumerate(followup["measure_id"])))}
    return last.sort_values("measure_id", key=lambda s: s.map(first_seen)).reset_index(drop=True)

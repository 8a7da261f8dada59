"""Follow-up and the next budget cycle: the adopted plan, its status per measure and period, and
the next cycle built on them (issue 16).

* :mod:`~climateinvest.followup.plan`: ``adopt_scenario`` keeps the adopted plan
  (``<city>/plans/<cycle>.yaml``, never overwritten, with the input hashes); ``load_plan``;
* :mod:`~climateinvest.followup.table`: the follow-up table (``<city>/followup/<year>.csv``)
  validated like the city tables;
* :mod:`~climateinvest.followup.carry`: ``carry_forward``, the next cycle's starting point
  (done, ongoing, delayed, cancelled measures; the carbon budget used so far);
* :mod:`~climateinvest.followup.outcome`: plan against outcome, what changed, the green-loan
  re-report and the EU Cities Mission indicators, as tables.

Layer: above ``uncertainty`` and below ``run`` (``run.py`` calls ``carry_forward``).
"""
from climateinvest.followup.carry import CARRIED_COLUMN, CycleStart, carry_forward
from climateinvest.followup.plan import AdoptedPlan, PlannedMeasure, adopt_scenario, load_plan, plan_from_result
from climateinvest.followup.table import METHODS, STATUSES, latest_status, load_followup

__all__ = ["CARRIED_COLUMN", "METHODS", "STATUSES", "AdoptedPlan", "CycleStart", "PlannedMeasure",
           "adopt_scenario", "carry_forward", "latest_status", "load_followup", "load_plan",
           "plan_from_result"]

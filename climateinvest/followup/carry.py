"""The next cycle starts from the status: carry the adopted plan and its follow-up forward.

A scenario for cycle N+1 names ``adopted_plan`` (``plans/<N>.yaml``) and ``followup``
(``followup/<N>.csv``). :func:`carry_forward` turns the city and scenario into the cycle's
starting point, by each adopted measure's latest status:

==========  ===========================================================================================
done        leaves the candidate list; its tonnes join the pathway from its adopted start, scaled by
            achieved ÷ expected tonnes where the follow-up gives them; no investment left. A measure
            finished in or before the newest inventory year is in the inventory already: scale 0.
ongoing     committed: remaining investment = decided total − spent (at least 0), spread evenly from
            the budget year over its remaining investment years (at least one); counts against the
            budget years it falls in.
delayed     committed at ``new_start_year``: remaining investment = decided (else estimated, else
            adopted) total − spent, over its investment years from the new start; the budget
            commitment moves with it.
decided     committed at its adopted start year (the budget year if that has passed).
planned     back on the candidate list: not decided, the new cycle may plan it again.
cancelled   leaves the candidate list, unless ``return_as_candidate`` is yes.
==========  ===========================================================================================

Committed and done measures are not re-selected: :meth:`CycleStart.select_portfolio` chooses new
measures among the candidates under each plan year's budget **less the commitments** falling in
it, then lists the carried measures first in the portfolio (column ``carried`` = their status,
empty for new choices), so financing, pathway and operating-budget impact cover the whole plan.
The greedy comparison and the frontier concern the new money only. Carried measures keep their
standalone tonnes (scale as above); the interaction with new measures on the same source is
bounded by the pathway, which never lets a source fall below zero.

The **carbon budget used so far** is deducted: the territorial inventory from the budget's
``from_year`` to the newest inventory year is subtracted and ``from_year`` moves to the year after
(the remaining budget per year is the same either way; the deduction makes it explicit). The
pathway re-bases on the city's newest inventory (its ``baseline_emissions``) as every run does.

Money in the city's currency at its price year (real); tonnes in t CO2e per year.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from climateinvest.appraisal import appraise
from climateinvest.cashflows import baseline_by_source, build_flows
from climateinvest.followup.plan import AdoptedPlan, load_plan
from climateinvest.followup.table import COMMITTED, latest_status, load_followup
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import CITY_PAYERS
from climateinvest.io.errors import Problem, ValidationError
from climateinvest.io.scenario import CarbonBudget, Scenario
from climateinvest.portfolio.select import PortfolioResult, select_portfolio
from climateinvest.portfolio.tables import spending

CARRIED_COLUMN = "carried"
TREATMENT = {"done": "done: out of the candidates, tonnes in the pathway",
             "ongoing": "ongoing: remaining investment committed",
             "delayed": "delayed: start moved, commitment follows",
             "decided": "decided: committed at its start year",
             "planned": "planned: back on the candidate list",
             "cancelled": "cancelled: left out"}


@dataclass(frozen=True)
class CycleStart:
    """Where a cycle starts. Without an adopted plan every field is the input unchanged.

    city : the pipeline's city: the candidates plus the carried measures (done ones with no
        investment left, committed ones with their remaining investment and start year)
    candidates : the measures the new selection may choose (``city`` without the carried ones)
    scenario : the scenario with the carbon budget used so far deducted
    carried : one row per adopted measure: measure_id, name, status, period, treatment,
        adopted_start_year, start_year, adopted_capex [currency], remaining_capex [currency],
        capex_years, spent_to_date [currency], decided_total, estimated_total [currency],
        expected_tco2e, achieved_tco2e [t CO2e / year], scale, deviation
    plan : the adopted plan (None without one); followup : the validated follow-up table
    carbon_budget_used_tco2e : territorial inventory emissions deducted from the carbon budget
    notes : what was carried, in words
    """

    city: CityData
    candidates: CityData
    scenario: Scenario
    carried: pd.DataFrame = field(default_factory=pd.DataFrame)
    plan: AdoptedPlan | None = None
    followup: pd.DataFrame | None = None
    carbon_budget_used_tco2e: float = 0.0
    notes: tuple[str, ...] = ()

    @property
    def active(self) -> bool:
        """True when the cycle builds on an adopted plan."""
        return self.plan is not None

    def committed_investment(self, years) -> np.ndarray:
        """[currency] per year in ``years`` of the carried measures' investment counted against the
        budget (payer municipality or municipal company).
        """
        rows = self._carried_rows()
        counted = rows[rows["counts_against_budget"]] if len(rows) else rows
        sp = spending(counted, np.asarray(years, int)) if len(counted) else pd.DataFrame(columns=["year", "capex"])
        return np.array([float(sp.loc[sp["year"] == y, "capex"].sum()) for y in years])

    def select_portfolio(self, city: CityData, scenario: Scenario, measures: pd.DataFrame,
                         macc_curve: pd.DataFrame | None = None, **options) -> PortfolioResult:
        """``select_portfolio`` on the candidates under the budget less the commitments, with the
        carried measures listed first (see the module docstring). Identity without a plan.
        ``options`` (``frontier``, ``time_limit_s``) go to ``select_portfolio``.
        """
        if not self.active:
            return select_portfolio(city, scenario, measures, macc_curve, **options)
        plan_years = scenario.plan_years
        committed = self.committed_investment(plan_years)
        notes = []
        budget = dict(scenario.investment_budget)
        if budget:
            for y, c in zip(plan_years, committed, strict=True):
                if c > budget.get(y, 0.0) + 0.005:
                    notes.append(f"commitments from the adopted plan exceed the {y} budget by "
                                 f"{c - budget.get(y, 0.0):,.0f}: no room for new measures that year")
            budget = {y: max(budget.get(y, 0.0) - c, 0.0) for y, c in zip(plan_years, committed, strict=True)}
        new = select_portfolio(city, scenario.with_changes(investment_budget=budget), measures, macc_curve,
                               **options)
        rows = self._carried_rows()
        chosen = pd.concat([rows, new.chosen.assign(**{CARRIED_COLUMN: ""})], ignore_index=True)
        use = new.budget_use.copy()
        after = float(rows.loc[rows["counts_against_budget"], "capex_after_cycle"].sum()) if len(rows) else 0.0
        use["committed"] = committed
        use["spent"] = use["spent"] + committed
        if scenario.investment_budget:
            use["budget"] = [float(scenario.investment_budget.get(int(y), 0.0)) for y in use["year"]]
        use["headroom"] = use["budget"] - use["spent"]
        use.loc[use.index[-1], "commitments_after_cycle"] += after
        terr = rows["scope"] == "territorial" if len(rows) else pd.Series([], dtype=bool)
        carried_t = float(rows.loc[terr, "adjusted_tco2e"].sum()) if len(rows) else 0.0
        carried_i = float(rows.loc[~terr, "adjusted_tco2e"].sum()) if len(rows) else 0.0
        return dataclasses.replace(
            new, chosen=chosen, budget_use=use,
            spending=pd.concat([spending(rows, np.asarray(plan_years)), new.spending], ignore_index=True)
            if len(rows) else new.spending,
            achieved_tco2e=new.achieved_tco2e + carried_t,
            shortfall_tco2e=max(new.required_tco2e - new.achieved_tco2e - carried_t, 0.0),
            indirect_tco2e=new.indirect_tco2e + carried_i,
            message=new.message + f"; {len(rows)} measures carried from the adopted {self.plan.cycle} plan",
            notes=(*new.notes, *self.notes, *notes,
                   "the greedy comparison and the frontier concern the new measures only"))

    def _carried_rows(self) -> pd.DataFrame:
        """The carried measures as rows of the portfolio's ``chosen`` table."""
        if not len(self.carried):
            return pd.DataFrame()
        keep = self.carried[self.carried["carried_in_plan"]]
        if not len(keep):
            return pd.DataFrame()
        ids = keep["measure_id"].tolist()
        sub = dataclasses.replace(self.city, measures=self.city.measures.set_index("measure_id").loc[ids].reset_index())
        s = self.scenario
        starts = keep["start_year"].to_numpy(int)
        fl = build_flows(sub, s.price_path, s.emission_factor_set, starts)
        app = appraise(fl, sub, s.real_rate, s.perspective, 0.0, s.discount_abatement)
        target = np.array([s.target.year])
        standalone = fl.calendar(fl.abatement, target)[:, 0]
        plan = np.asarray(s.plan_years)
        in_cycle = fl.calendar(fl.capex, plan).sum(axis=1)
        scope = self.city.baseline.drop_duplicates("source_id").set_index("source_id")["scope"]
        disc = (1.0 + s.real_rate) ** -(starts - int(plan[0]))
        scale = keep["scale"].to_numpy(float)
        return pd.DataFrame({
            "measure_id": ids, "name": sub.measures["name"].to_numpy(), "sector": sub.measures["sector"].to_numpy(),
            "payer": sub.measures["payer"].to_numpy(), "emission_source": sub.measures["emission_source"].to_numpy(),
            "scope": [scope.get(x, "territorial") for x in sub.measures["emission_source"]],
            "start_year": starts, "capex": sub.measures["capex"].to_numpy(float),
            "capex_years": sub.measures["capex_years"].to_numpy(int),
            "counts_against_budget": sub.measures["payer"].isin(CITY_PAYERS).to_numpy(),
            "capex_in_cycle": in_cycle, "capex_after_cycle": sub.measures["capex"].to_numpy(float) - in_cycle,
            "standalone_tco2e": standalone, "adjusted_tco2e": standalone * scale, "scale": scale,
            "npv_cost": app["npv_cost"].to_numpy(float) * disc, "cost_per_tco2e": app["cost_per_tco2e"].to_numpy(float),
            CARRIED_COLUMN: keep["status"].to_numpy(),
        })


def _links(full: pd.DataFrame, leave: set[str], carried: dict[str, dict]) -> tuple[pd.DataFrame, list[str]]:
    """The candidate measures, with ``requires`` and ``exclusive_group`` resolved against the
    measures that left the list: a requirement met by a carried measure is dropped and the
    earliest start moves to the carried start; a candidate requiring a measure that left
    without being carried (cancelled) cannot be chosen; an alternative of a carried measure in
    its ``exclusive_group`` is no longer a candidate.
    """
    notes = []
    cand = full[~full["measure_id"].isin(leave)].copy()
    groups = set(full.loc[full["measure_id"].isin(carried) & (full["exclusive_group"] != ""), "exclusive_group"])
    for i, r in cand.iterrows():
        req = r["requires"]
        if req in carried:
            cand.at[i, "requires"] = ""
            cand.at[i, "earliest_start_year"] = max(float(r["earliest_start_year"]),
                                                    float(carried[req]["earliest_start_year"]))
        elif req in leave:
            notes.append(f"{r['measure_id']}: requires {req}, which was cancelled; not a candidate")
            cand = cand.drop(index=i)
            continue
        if r["exclusive_group"] in groups:
            notes.append(f"{r['measure_id']}: an alternative of a carried measure in exclusive_group "
                         f"{r['exclusive_group']!r}; not a candidate")
            cand = cand.drop(index=i)
    return cand.reset_index(drop=True), notes


def _files(city: CityData, scenario: Scenario) -> dict[str, Path]:
    return city.files | {"adopted_plan": Path(scenario.adopted_plan), "followup": Path(scenario.followup)}


def carry_forward(city: CityData, scenario: Scenario) -> CycleStart:
    """The cycle's starting point from ``scenario.adopted_plan`` and ``scenario.followup``.

    Parameters
    ----------
    city : CityData  the city as it stands now (its newest inventory in ``baseline``)
    scenario : Scenario  of cycle N+1

    Returns
    -------
    CycleStart (the inputs unchanged when the scenario names no adopted plan). Raises
    ``ValidationError`` naming file, row, column and value when the plan or the follow-up does
    not fit the city or the cycle.
    """
    if scenario.adopted_plan is None or scenario.followup is None:
        return CycleStart(city=city, candidates=city, scenario=scenario)
    plan = load_plan(scenario.adopted_plan)
    plan_label = str(scenario.adopted_plan)
    problems = []
    if plan.cycle >= scenario.budget_cycle:
        problems.append(Problem(plan_label, f"must be a plan of an earlier cycle than {scenario.budget_cycle}, "
                                f"got cycle {plan.cycle}", column="cycle", value=plan.cycle))
    known = set(city.measure_ids)
    problems += [Problem(plan_label, f"measure {m!r} is not in the city's {city.label('measures')}",
                         column="measures.measure_id", value=m) for m in plan.measure_ids if m not in known]
    if problems:
        raise ValidationError(problems)
    followup = load_followup(scenario.followup, plan.measure_ids, {m.measure_id: m.start_year for m in plan.measures})
    status = latest_status(followup).set_index("measure_id")
    label = Path(scenario.followup).name
    cycle = scenario.budget_cycle
    bad = status[(status["status"] == "delayed") & (status["new_start_year"] < cycle)]
    if len(bad):
        raise ValidationError([Problem(label, f"must be the budget cycle {cycle} or later for the next cycle, "
                                       f"got {int(r.new_start_year)}", int(r.row), "new_start_year",
                                       f"{int(r.new_start_year)}") for r in bad.itertuples()])

    last_inv = int(city.baseline["year"].max())
    measures = city.measures.set_index("measure_id")
    rows, changed, notes = [], {}, []
    for pm in plan.measures:
        r = status.loc[pm.measure_id]
        st = str(r["status"])
        spent = float(r["spent_to_date"])
        decided = float(r["decided_total"]) if pd.notna(r["decided_total"]) else None
        estimated = float(r["estimated_total"]) if pd.notna(r["estimated_total"]) else decided
        achieved = float(r["achieved_tco2e"]) if pd.notna(r["achieved_tco2e"]) else None
        capex_years = int(measures.at[pm.measure_id, "capex_years"])
        start, remaining, scale, in_plan = pm.start_year, 0.0, 1.0, st in (*COMMITTED, "done")
        if st == "done":
            if achieved is not None and pm.expected_tco2e > 0:
                scale = achieved / pm.expected_tco2e
            if pm.start_year + capex_years - 1 <= last_inv:
                scale = 0.0
                notes.append(f"{pm.measure_id}: done by {pm.start_year + capex_years - 1}, within the "
                             f"{last_inv} inventory already; its tonnes are not added again")
        elif st == "ongoing":
            remaining = max((decided if decided is not None else pm.capex) - spent, 0.0)
            capex_years = max(1, pm.start_year + capex_years - cycle)
            start = cycle
        elif st == "delayed":
            total = decided if decided is not None else estimated if estimated is not None else pm.capex
            remaining, start = max(total - spent, 0.0), int(r["new_start_year"])
        elif st == "decided":
            remaining = max((decided if decided is not None else pm.capex) - spent, 0.0)
            if pm.start_year < cycle:
                notes.append(f"{pm.measure_id}: decided for {pm.start_year} but not started; committed from {cycle}")
            start = max(pm.start_year, cycle)
        if in_plan:
            changed[pm.measure_id] = {"capex": remaining, "capex_years": capex_years, "earliest_start_year": start}
        rows.append({
            "measure_id": pm.measure_id, "name": pm.name, "status": st, "period": r["period"],
            "treatment": TREATMENT[st] if st != "cancelled" or r["return_as_candidate"] != "yes"
            else "cancelled: back on the candidate list (return_as_candidate: yes)",
            "adopted_start_year": pm.start_year, "start_year": start, "adopted_capex": pm.capex,
            "remaining_capex": remaining, "capex_years": capex_years, "spent_to_date": spent,
            "decided_total": decided, "estimated_total": estimated, "expected_tco2e": pm.expected_tco2e,
            "achieved_tco2e": achieved, "scale": scale, "carried_in_plan": in_plan,
            "deviation": r["deviation"]})
    carried = pd.DataFrame(rows)
    leave = set(carried.loc[carried["carried_in_plan"], "measure_id"])
    leave |= set(carried.loc[(carried["status"] == "cancelled")
                             & ~carried["treatment"].str.contains("back on"), "measure_id"])
    full = city.measures.copy()
    for mid, values in changed.items():
        for col, v in values.items():
            full.loc[full["measure_id"] == mid, col] = float(v)
    full = full[~full["measure_id"].isin(leave - set(changed))].reset_index(drop=True)
    files = _files(city, scenario)
    whole = dataclasses.replace(city, measures=full, files=files)
    cand, more = _links(full, leave, changed)
    notes += more
    cand_ids = cand["measure_id"].tolist()
    candidates = dataclasses.replace(
        city, measures=cand,
        energy_changes=city.energy_changes[city.energy_changes["measure_id"].isin(cand_ids)].reset_index(drop=True),
        uncertainty=city.uncertainty[~city.uncertainty["target"].isin(leave)].reset_index(drop=True), files=files)

    used, new_scenario = 0.0, scenario
    budget = scenario.carbon_budget
    if budget is not None and last_inv >= budget.from_year:
        years = list(range(budget.from_year, last_inv + 1))
        base = baseline_by_source(city, years, 0.0)
        b = city.baseline.drop_duplicates("source_id").set_index("source_id")["scope"]
        terr = [s for s in base.index if b.get(s, "territorial") == "territorial"]
        used = float(base.loc[terr].to_numpy().sum())
        if used < budget.tco2e:
            new_scenario = scenario.with_changes(carbon_budget=CarbonBudget(
                from_year=last_inv + 1, tco2e=budget.tco2e - used))
            notes.append(f"carbon budget: {used:,.0f} t CO2e used {budget.from_year}–{last_inv} (inventory) "
                         f"deducted; {budget.tco2e - used:,.0f} t remain from {last_inv + 1}")
        else:
            notes.append(f"carbon budget: {used:,.0f} t CO2e used {budget.from_year}–{last_inv} exceeds the "
                         f"budget of {budget.tco2e:,.0f} t; kept from {budget.from_year} so the pathway shows it")
            used = 0.0
    if plan.last_inventory_year is not None and plan.last_inventory_year != last_inv:
        notes.append(f"the pathway re-bases on the {last_inv} inventory "
                     f"(the adopted plan used {plan.last_inventory_year})")
    return CycleStart(city=whole, candidates=candidates, scenario=new_scenario, carried=carried, plan=plan,
                      followup=followup, carbon_budget_used_tco2e=used, notes=tuple(notes))

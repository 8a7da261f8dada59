"""Plan against outcome, what changed, the green-loan re-report and the EU Mission indicators.

Tables only (the Swedish pages are in :mod:`climateinvest.report.followup`). Money in the city's
currency at its price year (real); tonnes in t CO2e per year.

**Traffic lights** (*trafikljus*, as in a council's *årsredovisning*), per measure from its latest
follow-up row; the thresholds are parameters (:data:`COST_YELLOW`, :data:`COST_RED`,
:data:`TONNES_YELLOW`):

* red: cancelled, or the estimated total exceeds the decided total by more than 25 %;
* yellow: delayed; or the estimate exceeds the decided total by more than 10 %; or done with
  achieved tonnes below 80 % of the expected; or still planned although its adopted start year
  has come;
* green: everything else (done, or on plan).

Delivery (*genomförandegrad*): done = done; partly done = ongoing; not done = planned, decided,
delayed or cancelled.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from climateinvest.followup.plan import KEY_FIGURES, AdoptedPlan
from climateinvest.followup.table import latest_status, period_order
from climateinvest.io.city import CityData, factor_table
from climateinvest.io.scenario import Scenario

COST_YELLOW = 0.10  # estimated ÷ decided − 1 above which the light turns yellow
COST_RED = 0.25  # ... and red
TONNES_YELLOW = 0.8  # achieved ÷ expected below which a done measure is yellow
DELIVERY = {"done": "done", "decided": "not done", "ongoing": "partly done",
            "planned": "not done", "delayed": "not done", "cancelled": "not done"}


def followup_year(followup: pd.DataFrame) -> int:
    """The year of the follow-up's latest period."""
    return max(period_order(p)[0] for p in followup["period"])


def _light(status: str, cost_dev: float, tonnes_ratio: float, late: bool) -> str:
    cost_dev, tonnes_ratio = round(cost_dev, 9), round(tonnes_ratio, 9)  # 1.1 M ÷ 1 M − 1 is 10 %, not above
    if status == "cancelled" or cost_dev > COST_RED:
        return "red"
    if status == "delayed" or cost_dev > COST_YELLOW or (status == "done" and tonnes_ratio < TONNES_YELLOW) \
            or (status == "planned" and late):
        return "yellow"
    return "green"


def plan_vs_outcome(plan: AdoptedPlan, followup: pd.DataFrame) -> pd.DataFrame:
    """One row per adopted measure: plan, outcome so far, traffic light and deviation.

    Columns: measure_id, name, status, period, light (green / yellow / red), delivery (done /
    partly done / not done), adopted_start_year, planned_investment (adopted capex),
    planned_to_date (adopted investment in years up to the follow-up year), decided_total,
    estimated_total, spent_to_date, cost_deviation (estimated ÷ decided − 1, NaN without a
    decision) [currency or share]; expected_tco2e, achieved_tco2e [t CO2e / year], tco2e_method,
    indicator, indicator_unit, indicator_value, indicator_target, new_start_year, deviation.
    """
    year = followup_year(followup)
    last = latest_status(followup).set_index("measure_id")
    rows = []
    for pm in plan.measures:
        r = last.loc[pm.measure_id]
        decided, estimate = r["decided_total"], r["estimated_total"]
        estimate = decided if pd.isna(estimate) else estimate
        dev = estimate / decided - 1.0 if pd.notna(decided) and decided > 0 else np.nan
        ratio = r["achieved_tco2e"] / pm.expected_tco2e if pm.expected_tco2e > 0 and pd.notna(r["achieved_tco2e"]) \
            else np.nan
        rows.append({
            "measure_id": pm.measure_id, "name": pm.name, "status": r["status"], "period": r["period"],
            "light": _light(r["status"], np.nan_to_num(dev, nan=0.0), np.nan_to_num(ratio, nan=1.0),
                            pm.start_year <= year),
            "delivery": DELIVERY[r["status"]], "adopted_start_year": pm.start_year,
            "planned_investment": pm.capex,
            "planned_to_date": sum(v for y, v in pm.investment_by_year.items() if int(y) <= year),
            "decided_total": decided, "estimated_total": estimate, "spent_to_date": r["spent_to_date"],
            "cost_deviation": dev, "expected_tco2e": pm.expected_tco2e, "achieved_tco2e": r["achieved_tco2e"],
            "tco2e_method": r["tco2e_method"], "indicator": r["indicator"], "indicator_unit": r["indicator_unit"],
            "indicator_value": r["indicator_value"], "indicator_target": r["indicator_target"],
            "new_start_year": r["new_start_year"], "deviation": r["deviation"]})
    return pd.DataFrame(rows)


def money_by_year(plan: AdoptedPlan, followup: pd.DataFrame) -> pd.DataFrame:
    """Per plan year: planned investment of the adopted plan and, for the follow-up year, the
    spending so far (``spent_to_date`` of the latest rows, all measures) [currency].
    """
    year = followup_year(followup)
    spent = float(latest_status(followup)["spent_to_date"].sum())
    years = sorted({int(y) for m in plan.measures for y in m.investment_by_year} | {year})
    planned = {y: sum(v for m in plan.measures for yy, v in m.investment_by_year.items() if int(yy) == y)
               for y in years}
    return pd.DataFrame({"year": years, "planned_investment": [planned[y] for y in years],
                         "spent_to_date": [spent if y == year else np.nan for y in years]})


def what_changed(plan: AdoptedPlan, carried: pd.DataFrame, chosen: pd.DataFrame, cycle: int) -> pd.DataFrame:
    """Every difference between the adopted plan and the new plan, per measure, with the reason.

    Parameters
    ----------
    plan : the adopted plan; carried : ``CycleStart.carried``; chosen : the new plan's portfolio
        (``portfolio`` table, column ``carried``); cycle : the new budget year

    Returns
    -------
    DataFrame: measure_id, name, in_adopted_plan, in_new_plan, adopted_start_year,
    new_start_year, adopted_capex, new_capex [currency, the investment still to come],
    adopted_tco2e, new_tco2e [t CO2e / year, target year], change (what differs), reason.
    Only measures with a difference are listed.
    """
    new = chosen.set_index("measure_id")
    status = carried.set_index("measure_id") if len(carried) else pd.DataFrame()
    rows = []
    ids = list(dict.fromkeys([*plan.measure_ids, *new.index]))
    for mid in ids:
        pm = plan.measure(mid) if mid in plan.measure_ids else None
        nr = new.loc[mid] if mid in new.index else None
        changes = []
        if pm is not None and nr is None:
            changes.append("left the plan")
        if pm is None and nr is not None:
            changes.append("new in the plan")
        if pm is not None and nr is not None:
            if int(nr["start_year"]) != pm.start_year:
                changes.append(f"start {pm.start_year} → {int(nr['start_year'])}")
            if abs(float(nr["capex"]) - pm.capex) > 0.5:
                changes.append("investment to come changed")
            if abs(float(nr["adjusted_tco2e"]) - pm.expected_tco2e) > 0.05:
                changes.append("tonnes changed")
        if not changes:
            continue
        if mid in status.index:
            s = status.loc[mid]
            reason = f"follow-up: {s['status']} ({s['period']})" + (f"; {s['deviation']}" if s["deviation"] else "")
            if s["status"] == "planned":
                reason += f"; re-planned by the {cycle} selection"
        else:
            reason = f"chosen by the {cycle} selection within the budget less the commitments"
        rows.append({
            "measure_id": mid, "name": (pm.name if pm else str(nr["name"])),
            "in_adopted_plan": pm is not None, "in_new_plan": nr is not None,
            "adopted_start_year": pm.start_year if pm else np.nan,
            "new_start_year": int(nr["start_year"]) if nr is not None else np.nan,
            "adopted_capex": pm.capex if pm else np.nan, "new_capex": float(nr["capex"]) if nr is not None else np.nan,
            "adopted_tco2e": pm.expected_tco2e if pm else np.nan,
            "new_tco2e": float(nr["adjusted_tco2e"]) if nr is not None else np.nan,
            "change": "; ".join(changes), "reason": reason})
    return pd.DataFrame(rows, columns=["measure_id", "name", "in_adopted_plan", "in_new_plan", "adopted_start_year",
                                       "new_start_year", "adopted_capex", "new_capex", "adopted_tco2e", "new_tco2e",
                                       "change", "reason"])


CHANGED_FIGURES = tuple(f for f in KEY_FIGURES  # the plan's key figures shown on the what-changed page
                        if f[0] not in ("own_funds_total", "target_year_with_portfolio_tco2e"))


def key_figures_changed(plan: AdoptedPlan, summary: dict, carbon_budget_used: float) -> pd.DataFrame:
    """Key figures of the adopted plan beside the new plan's: figure, adopted, now, change."""
    rows = [(k, plan.key_figures.get(k), (summary.get(step) or {}).get(key)) for k, step, key in CHANGED_FIGURES]
    p = summary.get("pathway") or {}
    rows += [("last_inventory_year", plan.last_inventory_year, p.get("last_inventory_year")),
             ("carbon_budget_tco2e", plan.carbon_budget_tco2e, p.get("carbon_budget_tco2e")),
             ("carbon_budget_from_year", plan.carbon_budget_from_year, p.get("carbon_budget_from_year")),
             ("carbon_budget_used_tco2e", None, carbon_budget_used)]
    df = pd.DataFrame(rows, columns=["figure", "adopted", "now"])
    df["change"] = [b - a if isinstance(a, int | float) and isinstance(b, int | float) else np.nan
                    for a, b in zip(df["adopted"], df["now"], strict=True)]
    return df


def green_loan_report(city: CityData, scenario: Scenario, chosen: pd.DataFrame, allocation: pd.DataFrame,
                      followup: pd.DataFrame | None, loan_sources: list[str]) -> pd.DataFrame:
    """The annual green-loan impact re-report, one row per project (measure) and loan source.

    Parameters
    ----------
    city, scenario : the run's; chosen : the plan's ``portfolio`` table; allocation : the
        financing plan's ``financing_allocation``; followup : the follow-up table (actual
        drawdowns and tonnes) or None; loan_sources : the green-loan source ids

    Returns
    -------
    DataFrame: measure_id, name, source_id, investment [currency], loan_amount [currency, the
    financing plan's], loan_share (loan ÷ investment), loan_drawn_to_date [currency, follow-up],
    impact ("reduced" on territorial sources, "avoided" on indirect ones), expected_tco2e and
    actual_tco2e [t CO2e / year], energy_saved_mwh and energy_added_mwh [MWh / year, interaction
    scaled], emission_factors (text: carrier, kg CO2e / MWh, set and year). ``loan_amount`` adds up
    to the financing plan's loans from these sources.
    """
    loans = allocation[allocation["source_id"].isin(loan_sources) & (allocation["amount"] > 0)]
    by = loans.groupby(["measure_id", "source_id"], sort=False)["amount"].sum().reset_index()
    c = chosen.set_index("measure_id")
    last = latest_status(followup).set_index("measure_id") if followup is not None and len(followup) else None
    year = int(scenario.budget_cycle)
    factors = factor_table(city, scenario.emission_factor_set)
    changes = city.energy_changes
    if last is not None:  # projects with a loan drawn earlier and none left in this plan still report
        earlier = [mid for mid in last.index[last["green_loan_drawn"] > 0]
                   if mid in c.index and mid not in set(by["measure_id"])]
        by = pd.concat([by, pd.DataFrame({"measure_id": earlier, "source_id": loan_sources[0] if loan_sources else "",
                                          "amount": 0.0})], ignore_index=True)
    rows = []
    for r in by.itertuples():
        m = c.loc[r.measure_id]
        scale = float(m.get("scale", 1.0))
        invest = float(allocation.loc[allocation["measure_id"] == r.measure_id, "amount"].sum())
        ch = changes[changes["measure_id"] == r.measure_id]
        deltas = ch["delta_mwh_per_year"].to_numpy(float) * scale
        texts = []
        for carrier in ch["carrier"]:
            f = factors[(factors["carrier"] == carrier) & (factors["year"] <= year)]
            f = f if len(f) else factors[factors["carrier"] == carrier]
            if len(f):
                row = f.iloc[-1]
                texts.append(f"{carrier} {row['kgco2e_per_mwh']:g} kg CO2e/MWh ({scenario.emission_factor_set}, "
                             f"{int(row['year'])})")
        drawn = actual = np.nan
        if last is not None and r.measure_id in last.index:
            drawn = float(last.at[r.measure_id, "green_loan_drawn"])
            actual = last.at[r.measure_id, "achieved_tco2e"]
        rows.append({
            "measure_id": r.measure_id, "name": m["name"], "source_id": r.source_id, "investment": invest,
            "loan_amount": float(r.amount), "loan_share": float(r.amount) / invest if invest else np.nan,
            "loan_drawn_to_date": drawn,
            "impact": "reduced" if m.get("scope", "territorial") == "territorial" else "avoided",
            "expected_tco2e": float(m["adjusted_tco2e"]), "actual_tco2e": actual,
            "energy_saved_mwh": float(-deltas[deltas < 0].sum()) + 0.0,
            "energy_added_mwh": float(deltas[deltas > 0].sum()),
            "emission_factors": "; ".join(texts)})
    return pd.DataFrame(rows, columns=["measure_id", "name", "source_id", "investment", "loan_amount", "loan_share",
                                       "loan_drawn_to_date", "impact", "expected_tco2e", "actual_tco2e",
                                       "energy_saved_mwh", "energy_added_mwh", "emission_factors"])


MISSION_YEARS = (2025, 2027, 2030)


def mission_indicators(city: CityData, pathway: pd.DataFrame, pathway_summary: dict,
                       outcome: pd.DataFrame | None = None) -> pd.DataFrame:
    """The follow-up in the shape of the EU Cities Mission's monitoring indicators.

    Columns: indicator, unit, baseline_year, baseline, target_2025, target_2027, target_2030,
    value, value_year. Emission targets are the pathway's straight target path (NaN where it is
    not defined); the value is the newest inventory. With ``outcome`` (:func:`plan_vs_outcome`)
    the plan's delivery is added (measures done, investment spent, tonnes achieved).
    """
    base_year = int(pathway_summary["base_year"])
    last = int(pathway_summary["last_inventory_year"])
    t = pathway.set_index("year")

    def target(y):
        v = t["target_path_tco2e"].get(y, np.nan) if y in t.index else np.nan
        return float(v)

    base = float(pathway_summary["base_year_tco2e"])
    now = float(t.at[last, "baseline_territorial_tco2e"])
    pop = float(city.population)
    rows = [
        ("Territorial greenhouse-gas emissions", "t CO2e/year", base_year, base,
         *[target(y) for y in MISSION_YEARS], now, last),
        ("Emissions per inhabitant", "t CO2e/inhabitant", base_year, base / pop,
         *[target(y) / pop for y in MISSION_YEARS], now / pop, last),
        ("Reduction against the base year", "share", base_year, 0.0,
         *[1 - target(y) / base for y in MISSION_YEARS], 1 - now / base, last),
    ]
    b = city.baseline[city.baseline["scope"] == "territorial"]
    for sector, g in b.groupby("sector", sort=False):
        at_base = g[g["year"] == base_year]["tco2e"].sum() if (g["year"] == base_year).any() else np.nan
        rows.append((f"Emissions, sector {sector}", "t CO2e/year", base_year, float(at_base),
                     np.nan, np.nan, np.nan, float(g[g["year"] == last]["tco2e"].sum()), last))
    if outcome is not None and len(outcome):
        year = int(outcome["period"].map(lambda p: period_order(p)[0]).max())
        done = outcome["status"] == "done"
        slot = [np.nan] * len(MISSION_YEARS)  # the plan's figure stands under its own year

        def planned(v):
            return [v if y == year else np.nan for y in MISSION_YEARS] if year in MISSION_YEARS else slot
        rows += [
            ("Measures of the adopted plan done", "measures", np.nan, np.nan,
             *planned(float(len(outcome))), float(done.sum()), year),
            ("Investment spent on the adopted plan", city.currency, np.nan, np.nan,
             *planned(float(outcome["planned_to_date"].sum())), float(outcome["spent_to_date"].sum()), year),
            ("Abatement achieved by done measures", "t CO2e/year", np.nan, np.nan,
             *planned(float(outcome.loc[done, "expected_tco2e"].sum())),
             float(outcome.loc[done, "achieved_tco2e"].sum()), year),
        ]
    return pd.DataFrame(rows, columns=["indicator", "unit", "baseline_year", "baseline", "target_2025",
                                       "target_2027", "target_2030", "value", "value_year"])

"""The second scope: the municipal group's own emissions (*kommunkoncernens egna utsläpp*) beside
the territory's, each with its target and pathway (issue 15).

Conventions
-----------
* **The inventory** is the city's ``municipal_inventory.csv``: the group's own emissions per
  category (its buildings' heating, purchased electricity, vehicles, machinery, public meals,
  construction ...) and year, linear between its years, flat before the first and after the last.
  It overlaps the territorial inventory on purpose (the group's vehicles are in SMHI's transport)
  and holds indirect emissions the territory does not count (purchased electricity, food): it is
  a second view, never added to the territorial one.
* **The plan's cut**: a chosen measure with a ``municipal_category`` cuts that category by its
  tonnes in each year (``Flows.abatement`` on the calendar × the chosen ``scale``, as in the
  pathway), the whole measure on its one category; no category falls below zero (the tonnes cut
  off are ``clipped_tco2e``). Only the municipal group's measures name a category.
* **The target** is the scenario's ``municipal_target`` (reduction below its base year by its
  year), or none; the gap = with-plan emissions − target level in the target year.
* **Side by side**: ``scopes`` holds one row per scope (territorial, from the pathway's summary;
  municipal group, from this step) with the same columns, so a reader compares them in one table.

Emissions in t CO2e per year.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from climateinvest.cashflows import Flows
from climateinvest.financing import select_flows
from climateinvest.io.city import CityData
from climateinvest.io.scenario import Scenario
from climateinvest.io.tables import StepTables

SCOPE_COLUMNS = ["scope", "base_year", "base_year_tco2e", "target_year", "target_tco2e",
                 "target_year_baseline_tco2e", "target_year_with_portfolio_tco2e", "residual_tco2e"]
# the scopes table's columns, from the two summaries (the gap with the plan is the residual)
_FROM_SUMMARY = {c: c for c in SCOPE_COLUMNS[1:]} | {"residual_tco2e": "gap_tco2e"}


@dataclass(frozen=True)
class MunicipalScopeResult(StepTables):
    """The municipal group's own emissions with the plan (module docstring for the conventions).

    table : one row per year: year, baseline_tco2e, abatement_tco2e, with_portfolio_tco2e,
        target_tco2e (the level on every row; NaN without a target) [t CO2e / year].
    by_category : long table year, category, baseline_tco2e, abatement_tco2e (after clipping),
        with_portfolio_tco2e, clipped_tco2e [t CO2e / year].
    scopes : the two scopes side by side: :data:`SCOPE_COLUMNS` (territorial and municipal
        group) [t CO2e / year].
    summary : dict: target_year, base_year, reduction, base_year_tco2e, target_tco2e,
        target_year_baseline_tco2e, target_year_with_portfolio_tco2e, gap_tco2e (None without a
        target), measures_counted, clipped_tco2e, notes.
    """

    STEP: ClassVar[str] = "municipal_scope"
    MAIN: ClassVar[str] = "table"

    table: pd.DataFrame
    by_category: pd.DataFrame
    scopes: pd.DataFrame
    summary: dict = field(default_factory=dict)


def _num(x) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def build_municipal_scope(city: CityData, scenario: Scenario, chosen: pd.DataFrame, flows: Flows,
                          territorial: dict) -> MunicipalScopeResult | None:
    """The municipal group's own emissions without and with the plan; None without
    ``city.municipal_inventory``.

    Parameters
    ----------
    city : CityData (municipal_inventory; measures' municipal_category)
    scenario : Scenario (municipal_target, pathway_end_year)
    chosen : the portfolio's chosen table (measure_id, scale [-])
    flows : Flows of the chosen measures at their chosen start years
    territorial : the pathway's summary (base_year, base_year_tco2e, target_year, target_tco2e,
        target_year_baseline_tco2e, target_year_with_portfolio_tco2e, gap_tco2e)
    """
    inv = city.municipal_inventory
    if not len(inv):
        return None
    first, last = int(inv["year"].min()), int(inv["year"].max())
    years = np.arange(first, max(int(scenario.pathway_end_year), last) + 1)
    categories = list(dict.fromkeys(inv["category"]))
    base = np.empty((len(categories), len(years)))
    for i, cat in enumerate(categories):
        rows = inv[inv["category"] == cat].sort_values("year")
        base[i] = np.interp(years, rows["year"].to_numpy(float), rows["tco2e"].to_numpy(float))

    cat_of = (city.measures.set_index("measure_id")["municipal_category"].fillna("").astype(str)
              if "municipal_category" in city.measures else pd.Series(dtype=str))
    c = chosen.assign(category=chosen["measure_id"].map(cat_of).fillna(""))
    c = c[c["category"] != ""].reset_index(drop=True)
    raw = np.zeros(base.shape)
    if len(c):
        sub = select_flows(flows, c["measure_id"])
        scale = c["scale"].to_numpy(float) if "scale" in c else np.ones(len(c))
        ab = sub.calendar(sub.abatement, years) * scale[:, None]
        np.add.at(raw, [categories.index(x) for x in c["category"]], ab)
    with_p = np.maximum(base - raw, 0.0)
    abated = base - with_p
    clipped = raw - abated
    clipped[clipped <= 1e-9 * np.maximum(np.abs(raw), 1.0)] = 0.0

    t = scenario.municipal_target
    notes = []
    level = base_year_t = np.nan
    if t is not None:
        base_year_t = float(np.interp(t.base_year, years, base.sum(axis=0)))  # flat before the first year
        if t.base_year < first:
            notes.append(f"municipal_target.base_year {t.base_year} is before the first year of "
                         f"municipal_inventory.csv ({first}): its first value is held back")
        level = (1.0 - t.reduction) * base_year_t
    table = pd.DataFrame({"year": years, "baseline_tco2e": base.sum(axis=0), "abatement_tco2e": abated.sum(axis=0),
                          "with_portfolio_tco2e": with_p.sum(axis=0), "target_tco2e": level})
    C, Y = base.shape
    by_category = pd.DataFrame({
        "year": np.tile(years, C), "category": np.repeat(np.array(categories, dtype=object), Y),
        "baseline_tco2e": base.ravel(), "abatement_tco2e": abated.ravel(), "with_portfolio_tco2e": with_p.ravel(),
        "clipped_tco2e": clipped.ravel()})
    if clipped.max(initial=0.0) > 1e-9:
        notes.append(f"abatement clipped so that no category falls below zero: {clipped.sum():.1f} t CO2e in all")

    def at(year: int, column: str) -> float:
        row = table[table["year"] == year]
        return float(row[column].iloc[0]) if len(row) else float("nan")

    ty = int(t.year) if t is not None else int(territorial.get("target_year") or years[-1])
    with_t, base_t = at(ty, "with_portfolio_tco2e"), at(ty, "baseline_tco2e")
    summary = {
        "target_year": ty, "base_year": int(t.base_year) if t is not None else None,
        "reduction": float(t.reduction) if t is not None else None,
        "base_year_tco2e": _num(base_year_t), "target_tco2e": _num(level),
        "target_year_baseline_tco2e": _num(base_t), "target_year_with_portfolio_tco2e": _num(with_t),
        "gap_tco2e": _num(with_t - level) if t is not None else None,
        "measures_counted": c["measure_id"].tolist(), "clipped_tco2e": float(clipped.sum()), "notes": notes}
    scopes = pd.DataFrame([
        {"scope": "territorial", **{k: territorial.get(v) for k, v in _FROM_SUMMARY.items()}},
        {"scope": "municipal_group", **{k: summary.get(v) for k, v in _FROM_SUMMARY.items()}}],
        columns=SCOPE_COLUMNS)
    return MunicipalScopeResult(table=table, by_category=by_category, scopes=scopes, summary=summary)

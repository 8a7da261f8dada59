"""Emission pathway: baseline − portfolio, against the target and the carbon budget.

Conventions
-----------
* Years run from the first inventory year of ``baseline_emissions`` to
  ``scenario.pathway_end_year``.
* **Baseline** per emission source: :func:`climateinvest.cashflows.scenario_baseline` — linear
  between inventory years; after the last one either held flat (or changed by
  ``scenario.baseline_trend`` per year compounded), or, with ``scenario.baseline: projection``,
  the city's with-existing-measures factors per sector (``baseline_projection.csv``), so that the
  gap is what is left after what is already decided.
* **Abatement** of a chosen measure in a calendar year = ``Flows.abatement`` on the calendar ×
  the chosen table's ``scale`` (its sequential share), booked on the measure's
  ``emission_source``. Measures of ``external`` payers count only if
  ``scenario.include_external``.
* **No source goes below zero**: per source and year the portfolio's abatement is clipped to the
  baseline (with-portfolio = max(baseline − abatement, 0)); the tonnes cut off are reported as
  ``clipped_tco2e`` (in ``by_source`` and the summary) — they signal overlapping measures or a
  falling baseline trend.
* **Scopes are kept apart**: ``territorial`` sources make the pathway, the target and the carbon
  budget; ``indirect`` sources (e.g. grid electricity, whose emissions happen wherever the power
  is made) are shown beside it and never counted toward the territorial target.
* **EU ETS apart**: a source's ``ets_tco2e`` in its last inventory year gives the share of it
  under the EU Emissions Trading System (the city has little control there); measures with
  ``ets: true`` cut that part, the others the rest, each part clipped at zero on its own. From
  the last inventory year on, ``baseline_ets_tco2e`` and ``with_portfolio_ets_tco2e`` show the
  territorial ETS part and ``with_portfolio_non_ets_tco2e`` the rest (they add up to
  ``with_portfolio_territorial_tco2e``); NaN before, where the share is not known.
* **Target**: level = (1 − ``target.reduction``) × territorial emissions in ``target.base_year``
  (interpolated between inventory years). ``target_tco2e`` holds this level on every row (the
  straight target line); ``target_path_tco2e`` is the straight line from the last inventory
  year's territorial emissions to the level in the target year (for the chart; NaN outside).
  The gap = with-portfolio emissions − target level in the target year (positive = short).
* **Carbon budget**: cumulative territorial emissions from the start of
  ``carbon_budget.from_year`` (that year included); it runs out in the first year whose
  cumulative emissions exceed the budget (None if not within the horizon), for the baseline and
  with the portfolio.

Emissions in t CO2e per year; cumulative emissions and budgets in t CO2e.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from climateinvest.cashflows import Flows, scenario_baseline
from climateinvest.financing import check_chosen, select_flows
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import ets_flags, ets_shares
from climateinvest.io.scenario import Scenario
from climateinvest.io.tables import StepTables

TERRITORIAL = "territorial"
INDIRECT = "indirect"
EXTERNAL_PAYER = "external"


@dataclass(frozen=True)
class PathwayResult(StepTables):
    """Pathway tables [t CO2e / year] and summary.

    table : one row per year: year, baseline_territorial_tco2e, abatement_territorial_tco2e,
        with_portfolio_territorial_tco2e, baseline_indirect_tco2e, abatement_indirect_tco2e,
        with_portfolio_indirect_tco2e, target_tco2e, target_path_tco2e,
        baseline_cumulative_from_budget_year_tco2e, cumulative_from_budget_year_tco2e,
        carbon_budget_remaining_tco2e (budget columns NaN before ``from_year`` or without a
        budget), baseline_ets_tco2e, with_portfolio_ets_tco2e, with_portfolio_non_ets_tco2e
        (NaN before the last inventory year).
    by_sector : year and one column per territorial sector, emissions with the portfolio.
    by_source : long table year, source_id, sector, scope, baseline_tco2e, abatement_tco2e
        (after clipping), with_portfolio_tco2e, clipped_tco2e.
    abatement_by_measure : long table year, measure_id, emission_source, scope, abatement_tco2e
        (before clipping; scaled).
    summary : dict, see :func:`build_pathway`.
    """

    STEP: ClassVar[str] = "pathway"
    MAIN: ClassVar[str] = "table"

    table: pd.DataFrame
    by_sector: pd.DataFrame
    by_source: pd.DataFrame
    abatement_by_measure: pd.DataFrame
    summary: dict = field(default_factory=dict)


def _first_exceed(years: np.ndarray, cumulative: np.ndarray, budget: float):
    over = np.flatnonzero(np.nan_to_num(cumulative, nan=-np.inf) > budget)
    return int(years[over[0]]) if len(over) else None


def _num(x):
    return None if x is None or not np.isfinite(x) else float(x)


def build_pathway(city: CityData, scenario: Scenario, chosen: pd.DataFrame, flows: Flows) -> PathwayResult:
    """Emission pathway of the chosen portfolio to ``scenario.pathway_end_year``.

    Parameters
    ----------
    city : CityData  (``baseline``: source_id, sector, year, tco2e [t CO2e/year], scope)
    scenario : Scenario  (target, carbon_budget, baseline, baseline_trend, pathway_end_year,
        include_external)
    chosen : DataFrame, one row per chosen measure: measure_id, scale [share] (default 1);
        emission_source, payer taken from the city where missing.
    flows : Flows  containing at least the chosen measures at their chosen start years.

    Returns
    -------
    PathwayResult. ``summary`` keys: first_inventory_year, last_inventory_year, target_year,
    base_year, base_year_tco2e, target_tco2e, target_year_baseline_tco2e,
    target_year_with_portfolio_tco2e, gap_tco2e (positive = short of the target),
    baseline_gap_tco2e, reduction_vs_base_year (share, with the portfolio),
    target_year_abatement_territorial_tco2e, target_year_abatement_indirect_tco2e,
    carbon_budget_tco2e, carbon_budget_from_year, carbon_budget_basis ("fossil_co2": the budget counts
    fossil CO2 only while the pathway is all greenhouse gases, an indicator; "co2e"), cumulative_to_target_year_tco2e,
    baseline_cumulative_to_target_year_tco2e, budget_runs_out_year,
    baseline_budget_runs_out_year, clipped_tco2e, measures_counted, notes.

    Raises
    ------
    ValueError  if the target's base year or the carbon budget's first year lies before the
    first inventory year (the emissions then are unknown), or a measure's emission_source is
    not in the baseline.

    Notes
    -----
    See the module docstring for every convention.
    """
    b = city.baseline
    if "scope" not in b.columns:
        b = b.assign(scope=TERRITORIAL)
    inv_years = np.sort(b["year"].astype(int).unique())
    first, last = int(inv_years[0]), int(inv_years[-1])
    end = max(int(scenario.pathway_end_year), last)
    years = np.arange(first, end + 1)
    base = scenario_baseline(city, scenario, years)  # (S, Y)
    meta = b.drop_duplicates("source_id").set_index("source_id").reindex(base.index)
    scope = meta["scope"].fillna(TERRITORIAL).replace("", TERRITORIAL).to_numpy()
    sector = meta["sector"].to_numpy()
    terr = scope == TERRITORIAL
    notes = []

    target = scenario.target
    if target.base_year < first:
        raise ValueError(f"target.base_year {target.base_year} is before the first inventory year {first} "
                         "in baseline_emissions: the base-year emissions are unknown")
    late = [s for s in base.index[terr] if int(b.loc[b["source_id"] == s, "year"].min()) > target.base_year]
    if late:
        warnings.warn(f"baseline sources with no inventory at or before the base year {target.base_year}: "
                      f"{', '.join(late)}; their first value is held back to the base year", stacklevel=2)
        notes.append(f"sources held back to the base year: {', '.join(late)}")
    budget = scenario.carbon_budget
    if budget is not None and budget.from_year < first:
        raise ValueError(f"carbon_budget.from_year {budget.from_year} is before the first inventory year "
                         f"{first} in baseline_emissions")

    # portfolio abatement per measure and year, booked on its source
    c = check_chosen(chosen, flows, city)
    if not scenario.include_external:
        dropped = c["payer"] == EXTERNAL_PAYER
        if dropped.any():
            notes.append(f"external measures left out (include_external: false): "
                         f"{', '.join(c.loc[dropped, 'measure_id'])}")
        c = c[~dropped].reset_index(drop=True)
    unknown = [f"{m} ({s})" for m, s in zip(c["measure_id"], c["emission_source"], strict=True) if s not in base.index]
    if unknown:
        raise ValueError(f"emission_source not in baseline_emissions for: {', '.join(unknown)}")
    sub = select_flows(flows, c["measure_id"])
    ab_m = (sub.calendar(sub.abatement, years) * c["scale"].to_numpy(float)[:, None]) if len(c) \
        else np.zeros((0, len(years)))
    src_pos = base.index.get_indexer(pd.Index(c["emission_source"]))
    on_ets = ets_flags(city.measures.set_index("measure_id").reindex(c["measure_id"]))
    raw_ets, raw_other = np.zeros(base.shape), np.zeros(base.shape)
    np.add.at(raw_ets, src_pos[on_ets], ab_m[on_ets])
    np.add.at(raw_other, src_pos[~on_ets], ab_m[~on_ets])
    raw = raw_ets + raw_other
    baseline = base.to_numpy(float)
    # the EU ETS part of each source (its share in the last inventory year) and the rest, each
    # cut by its own measures and never below zero
    share = ets_shares(b).reindex(base.index).fillna(0.0).to_numpy(float)[:, None]
    with_ets = np.maximum(share * baseline - raw_ets, 0.0)
    with_p = with_ets + np.maximum((1.0 - share) * baseline - raw_other, 0.0)
    abated = baseline - with_p
    clipped = raw - abated
    clipped[clipped <= 1e-9 * np.maximum(np.abs(raw), 1.0)] = 0.0  # rounding noise, not clipping
    if clipped.max(initial=0.0) > 1e-9:
        notes.append(f"abatement clipped so that no source falls below zero: "
                     f"{clipped.sum():.1f} t CO2e in all")

    def tot(x, mask):
        return x[mask].sum(axis=0)

    ind = scope == INDIRECT
    table = pd.DataFrame({
        "year": years,
        "baseline_territorial_tco2e": tot(baseline, terr),
        "abatement_territorial_tco2e": tot(abated, terr),
        "with_portfolio_territorial_tco2e": tot(with_p, terr),
        "baseline_indirect_tco2e": tot(baseline, ind),
        "abatement_indirect_tco2e": tot(abated, ind),
        "with_portfolio_indirect_tco2e": tot(with_p, ind),
    })
    # EU ETS, territorial, from the last inventory year on (the share is known for that year)
    known = np.where(years >= last, 1.0, np.nan)
    table["baseline_ets_tco2e"] = tot(share * baseline, terr) * known
    table["with_portfolio_ets_tco2e"] = tot(with_ets, terr) * known
    table["with_portfolio_non_ets_tco2e"] = (table["with_portfolio_territorial_tco2e"]
                                             - table["with_portfolio_ets_tco2e"])

    # target
    base_year_t = float(scenario_baseline(city, scenario, [target.base_year]).to_numpy()[terr, 0].sum())
    level = (1.0 - target.reduction) * base_year_t
    table["target_tco2e"] = level
    path = np.full(len(years), np.nan)
    start_val = float(table.loc[table["year"] == last, "baseline_territorial_tco2e"].iloc[0])
    if target.year > last:
        inside = (years >= last) & (years <= target.year)
        path[inside] = start_val + (level - start_val) * (years[inside] - last) / (target.year - last)
    else:
        path[years == target.year] = level
    table["target_path_tco2e"] = path

    # carbon budget
    for col in ("baseline_cumulative_from_budget_year_tco2e", "cumulative_from_budget_year_tco2e",
                "carbon_budget_remaining_tco2e"):
        table[col] = np.nan
    runs_out = base_runs_out = None
    if budget is not None:
        from_mask = years >= budget.from_year
        cum_b = np.where(from_mask, np.cumsum(np.where(from_mask, table["baseline_territorial_tco2e"], 0.0)), np.nan)
        counted = np.where(from_mask, table["with_portfolio_territorial_tco2e"], 0.0)
        cum_p = np.where(from_mask, np.cumsum(counted), np.nan)
        table["baseline_cumulative_from_budget_year_tco2e"] = cum_b
        table["cumulative_from_budget_year_tco2e"] = cum_p
        table["carbon_budget_remaining_tco2e"] = budget.tco2e - cum_p
        runs_out = _first_exceed(years, cum_p, budget.tco2e)
        base_runs_out = _first_exceed(years, cum_b, budget.tco2e)

    # by sector (territorial) and by source
    sectors = list(dict.fromkeys(sector[terr]))
    by_sector = pd.DataFrame({"year": years} | {s: with_p[terr & (sector == s)].sum(axis=0) for s in sectors})
    S, Y = base.shape
    by_source = pd.DataFrame(
        {
            "year": np.tile(years, S),
            "source_id": np.repeat(base.index.to_numpy(object), Y),
            "sector": np.repeat(sector, Y),
            "scope": np.repeat(scope, Y),
            "baseline_tco2e": baseline.ravel(),
            "abatement_tco2e": abated.ravel(),
            "with_portfolio_tco2e": with_p.ravel(),
            "clipped_tco2e": clipped.ravel(),
        }
    )
    M = len(c)
    by_measure = pd.DataFrame(
        {
            "year": np.tile(years, M),
            "measure_id": np.repeat(c["measure_id"].to_numpy(object), Y),
            "emission_source": np.repeat(c["emission_source"].to_numpy(object), Y),
            "scope": np.repeat(scope[src_pos] if M else np.array([], object), Y),
            "abatement_tco2e": ab_m.ravel(),
        }
    )

    row = table[table["year"] == target.year]

    def at(col: str) -> float:
        return float(row[col].to_numpy()[0]) if len(row) else float("nan")

    with_t, base_t = at("with_portfolio_territorial_tco2e"), at("baseline_territorial_tco2e")
    cum_t = at("cumulative_from_budget_year_tco2e")
    cum_bt = at("baseline_cumulative_from_budget_year_tco2e")
    summary = {
        "first_inventory_year": first,
        "last_inventory_year": last,
        "target_year": int(target.year),
        "base_year": int(target.base_year),
        "reduction": float(target.reduction),
        "base_year_tco2e": base_year_t,
        "target_tco2e": level,
        "target_year_baseline_tco2e": _num(base_t),
        "target_year_with_portfolio_tco2e": _num(with_t),
        "gap_tco2e": _num(with_t - level),
        "baseline_gap_tco2e": _num(base_t - level),
        "reduction_vs_base_year": _num(1.0 - with_t / base_year_t) if base_year_t else None,
        "target_year_abatement_territorial_tco2e": _num(at("abatement_territorial_tco2e")),
        "target_year_abatement_indirect_tco2e": _num(at("abatement_indirect_tco2e")),
        "target_year_baseline_ets_tco2e": _num(at("baseline_ets_tco2e")),
        "target_year_with_portfolio_ets_tco2e": _num(at("with_portfolio_ets_tco2e")),
        "target_year_with_portfolio_non_ets_tco2e": _num(at("with_portfolio_non_ets_tco2e")),
        "baseline": scenario.baseline,
        "carbon_budget_tco2e": float(budget.tco2e) if budget else None,
        "carbon_budget_from_year": int(budget.from_year) if budget else None,
        "carbon_budget_basis": budget.basis if budget else None,
        "cumulative_to_target_year_tco2e": _num(cum_t),
        "baseline_cumulative_to_target_year_tco2e": _num(cum_bt),
        "budget_runs_out_year": runs_out,
        "baseline_budget_runs_out_year": base_runs_out,
        "clipped_tco2e": float(clipped.sum()),
        "measures_counted": c["measure_id"].tolist(),
        "notes": notes,
    }
    return PathwayResult(
        table=table, by_sector=by_sector, by_source=by_source, abatement_by_measure=by_measure, summary=summary
    )

"""The EU Cities Mission's Investment Plan tables: the emissions gap per sector, the costing per
action and the capital planning per action and actor (issue 15).

The three tables take the shapes of the Mission's templates; every figure in them is another
step's figure, regrouped, never recomputed: the pathway's tonnes, the portfolio's investment and
cost per tonne, the financing plan's sources, the co-benefits step's values.

Conventions
-----------
* **The gap per sector** (Action Plan table A-2.1), territorial sources, in the target year:
  ``inventory_tco2e`` is the last inventory year (where the city stands); ``target_tco2e`` is the
  sector's share of the target level, (1 − reduction) × the sector's base-year emissions (every
  sector cut by the same share; the shares add up to the target level); ``other_plans_tco2e`` is
  what the with-existing-measures projection removes by the target year (0 with a flat
  baseline); ``gap_tco2e`` = projected baseline − target; ``plan_tco2e`` the portfolio's cut (the
  pathway's, after clipping); ``residual_tco2e`` = gap − plan (positive: still short). A total
  row closes the table and equals the pathway's figures.
* **Costing per action** (IP-B1): one row per measure of the plan (the portfolio's chosen,
  external actors' measures included): investment, the yearly running-cost change, tonnes in the
  target year (after overlaps), the cost per tonne of the report's perspective (the appraisal's
  convention: in the municipal perspective a measure paid by others costs the city nothing) and
  the cost per tonne for all actors (the societal perspective without a carbon value: whoever
  pays, transfers netted, grants counted as the cost they are), and, where the city states them,
  co-benefits per year and those not valued.
* **Capital planning** (IP-B2): per action, the cost to the municipal group (investment of
  ``municipality`` and ``municipal_company`` payers) and to others (``external``), and the
  financing identified for it: for the municipal group what the financing plan covers
  (grants, loans, own funds; investment − the plan's financing gap), for others the measure's
  ``financing_identified_share`` (none if empty). ``by_actor`` adds them up per actor.
* **Euros** beside the city's currency at ``city.eur_rate`` (currency per EUR, with its date and
  source from ``city.yaml``); without a rate the ``_eur`` columns are NaN, ``eur_rate`` in the
  summary is None and the report's section says so.

Money in the city's currency at its price year (real); tonnes in t CO2e per year.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from climateinvest.io.city import CityData
from climateinvest.io.city_specs import CITY_PAYERS, ets_flags
from climateinvest.io.scenario import Scenario
from climateinvest.io.tables import StepTables

TOTAL = "total"
GAP_COLUMNS = ["sector", "inventory_tco2e", "target_tco2e", "other_plans_tco2e", "gap_tco2e", "plan_tco2e",
               "residual_tco2e"]
COSTING_COLUMNS = ["measure_id", "name", "sector", "actor", "payer", "control", "ets", "measure_status", "start_year",
                   "capex", "capex_eur", "opex_change_per_year", "opex_change_per_year_eur",
                   "tco2e_target_year", "cost_per_tco2e", "cost_per_tco2e_all_actors", "cost_per_tco2e_all_actors_eur",
                   "cobenefit_value_per_year",
                   "cobenefit_value_per_year_eur", "not_valued"]
CAPITAL_COLUMNS = ["measure_id", "name", "actor", "payer", "control", "capex", "cost_to_municipality",
                   "cost_to_others", "identified_financing", "identified_share", "capex_eur",
                   "cost_to_municipality_eur", "cost_to_others_eur", "identified_financing_eur", "financing_note"]
ACTOR_COLUMNS = ["actor", "control", "n_measures", "capex", "identified_financing", "unfinanced",
                 "identified_share", "tco2e_target_year", "capex_eur", "identified_financing_eur",
                 "unfinanced_eur"]


@dataclass(frozen=True)
class InvestmentPlanResult(StepTables):
    """The Investment Plan tables (module docstring for every convention).

    gap : A-2.1, one row per territorial sector and a ``total`` row: :data:`GAP_COLUMNS`
        [t CO2e / year, target year; ``inventory_tco2e`` in the last inventory year].
    costing : IP-B1, one row per measure of the plan: :data:`COSTING_COLUMNS` (money [currency]
        and [EUR], running cost [currency / year], tonnes [t CO2e / year], cost per tonne
        [currency / t CO2e]).
    capital : IP-B2, one row per measure of the plan: :data:`CAPITAL_COLUMNS` [currency], [EUR],
        identified_share [-].
    by_actor : the capital need per actor: :data:`ACTOR_COLUMNS`.
    summary : dict: target_year, last_inventory_year, baseline (flat or projection),
        eur_rate [currency / EUR] (None without one), eur_rate_date, eur_rate_source, currency,
        and the totals capex, cost_to_municipality, cost_to_others, identified_financing [currency].
    """

    STEP: ClassVar[str] = "investment_plan"
    MAIN: ClassVar[str] = "gap"

    gap: pd.DataFrame
    costing: pd.DataFrame
    capital: pd.DataFrame
    by_actor: pd.DataFrame
    summary: dict = field(default_factory=dict)


def _eur(values, rate: float | None) -> np.ndarray:
    """[EUR] of ``values`` [currency]; NaN without a rate."""
    v = np.asarray(values, float)
    return v / rate if rate else np.full(v.shape, np.nan)


def gap_by_sector(by_source: pd.DataFrame, scenario: Scenario, last_inventory_year: int) -> pd.DataFrame:
    """Table A-2.1 from the pathway's ``by_source`` table (:class:`InvestmentPlanResult`).

    Parameters
    ----------
    by_source : pathway by_source: year, source_id, sector, scope, baseline_tco2e,
        abatement_tco2e, with_portfolio_tco2e [t CO2e / year]
    scenario : the target (year, base_year, reduction)
    last_inventory_year : the year the ``inventory_tco2e`` column shows
    """
    t = scenario.target
    terr = by_source[by_source["scope"] == "territorial"]

    def per_sector(year: int, column: str) -> pd.Series:
        return terr[terr["year"] == year].groupby("sector", sort=False)[column].sum()

    now = per_sector(last_inventory_year, "baseline_tco2e")
    projected = per_sector(t.year, "baseline_tco2e").reindex(now.index, fill_value=0.0)
    target = (1.0 - t.reduction) * per_sector(t.base_year, "baseline_tco2e").reindex(now.index, fill_value=0.0)
    plan = per_sector(t.year, "abatement_tco2e").reindex(now.index, fill_value=0.0)
    gap = pd.DataFrame({"sector": now.index, "inventory_tco2e": now.to_numpy(),
                        "target_tco2e": target.to_numpy(), "other_plans_tco2e": (now - projected).to_numpy(),
                        "gap_tco2e": (projected - target).to_numpy(), "plan_tco2e": plan.to_numpy()})
    gap["residual_tco2e"] = gap["gap_tco2e"] - gap["plan_tco2e"]
    total = gap.drop(columns="sector").sum().to_dict() | {"sector": TOTAL}
    return pd.concat([gap, pd.DataFrame([total])], ignore_index=True)[GAP_COLUMNS]


def build_investment_plan(city: CityData, scenario: Scenario, chosen: pd.DataFrame, allocation: pd.DataFrame,
                          by_source: pd.DataFrame, last_inventory_year: int,
                          cobenefits: pd.DataFrame | None = None,
                          all_actors_cost_per_tco2e: pd.Series | None = None) -> InvestmentPlanResult:
    """The three Investment Plan tables and the capital need per actor.

    Parameters
    ----------
    city : CityData (measures' actor, control, ets, status, financing_identified_share,
        financing_note; ``eur_rate``)
    scenario : Scenario (target, baseline)
    chosen : the portfolio's chosen table (measure_id, payer, start_year, capex [currency],
        adjusted_tco2e [t CO2e / year], cost_per_tco2e [currency / t CO2e])
    allocation : the financing plan's allocation (measure_id, kind, amount [currency]); the
        ``gap`` kind is the unfinanced part
    by_source : the pathway's by_source table
    last_inventory_year : the pathway's last inventory year
    cobenefits : the co-benefits step's ``valued`` table, if any
    all_actors_cost_per_tco2e : [currency / t CO2e] by measure_id, the societal appraisal without a
        carbon value (NaN where not given)
    """
    rate = city.eur_rate
    m = city.measures.set_index("measure_id").reindex(chosen["measure_id"])
    payer = chosen["payer"].astype(str).to_numpy()
    city_pays = np.isin(payer, list(CITY_PAYERS))
    capex = chosen["capex"].to_numpy(float)

    def text(column: str, default: str = "") -> np.ndarray:
        if column not in m:
            return np.full(len(m), default, dtype=object)
        return m[column].fillna(default).astype(str).replace("", default).to_numpy(object)

    cb = (cobenefits.set_index("measure_id").reindex(chosen["measure_id"]) if cobenefits is not None
          and len(cobenefits) else pd.DataFrame(index=chosen["measure_id"]))
    cb_value = cb["cobenefit_value_per_year"].to_numpy(float) if "cobenefit_value_per_year" in cb \
        else np.full(len(chosen), np.nan)
    opex = m["opex_change_per_year"].to_numpy(float)
    cpt = chosen["cost_per_tco2e"].to_numpy(float)
    whole = (all_actors_cost_per_tco2e.reindex(chosen["measure_id"]).to_numpy(float)
             if all_actors_cost_per_tco2e is not None else np.full(len(chosen), np.nan))
    costing = pd.DataFrame({
        "measure_id": chosen["measure_id"].to_numpy(object), "name": text("name"), "sector": text("sector"),
        "actor": text("actor", "?"), "payer": payer, "control": text("control"),
        "ets": ets_flags(m), "measure_status": text("status", "planned"),
        "start_year": chosen["start_year"].to_numpy(int),
        "capex": capex, "capex_eur": _eur(capex, rate), "opex_change_per_year": opex,
        "opex_change_per_year_eur": _eur(opex, rate), "tco2e_target_year": chosen["adjusted_tco2e"].to_numpy(float),
        "cost_per_tco2e": cpt, "cost_per_tco2e_all_actors": whole,
        "cost_per_tco2e_all_actors_eur": _eur(whole, rate), "cobenefit_value_per_year": cb_value,
        "cobenefit_value_per_year_eur": _eur(cb_value, rate),
        "not_valued": cb["not_valued"].fillna("").astype(str).to_numpy(object) if "not_valued" in cb
        else np.full(len(chosen), "", dtype=object)}, columns=COSTING_COLUMNS)

    gap_part = (allocation[allocation["kind"] == "gap"].groupby("measure_id")["amount"].sum()
                .reindex(chosen["measure_id"], fill_value=0.0).to_numpy(float))
    share_others = (pd.to_numeric(m["financing_identified_share"], errors="coerce").fillna(0.0).to_numpy(float)
                    if "financing_identified_share" in m else np.zeros(len(m)))
    identified = np.where(city_pays, capex - gap_part, capex * share_others)
    to_city, to_others = np.where(city_pays, capex, 0.0), np.where(city_pays, 0.0, capex)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(capex > 0, identified / np.where(capex > 0, capex, 1.0), np.nan)
    capital = pd.DataFrame({
        "measure_id": costing["measure_id"], "name": costing["name"], "actor": costing["actor"], "payer": payer,
        "control": costing["control"], "capex": capex, "cost_to_municipality": to_city,
        "cost_to_others": to_others, "identified_financing": identified, "identified_share": share,
        "capex_eur": _eur(capex, rate), "cost_to_municipality_eur": _eur(to_city, rate),
        "cost_to_others_eur": _eur(to_others, rate), "identified_financing_eur": _eur(identified, rate),
        "financing_note": text("financing_note")}, columns=CAPITAL_COLUMNS)

    grouped = capital.assign(tco2e_target_year=costing["tco2e_target_year"]).groupby(
        ["actor", "control"], sort=False)
    by_actor = grouped.agg(n_measures=("measure_id", "size"), capex=("capex", "sum"),
                           identified_financing=("identified_financing", "sum"),
                           tco2e_target_year=("tco2e_target_year", "sum")).reset_index()
    by_actor["unfinanced"] = by_actor["capex"] - by_actor["identified_financing"]
    with np.errstate(divide="ignore", invalid="ignore"):
        by_actor["identified_share"] = by_actor["identified_financing"] / by_actor["capex"].where(
            by_actor["capex"] > 0)
    for c in ("capex", "identified_financing", "unfinanced"):
        by_actor[f"{c}_eur"] = _eur(by_actor[c], rate)
    by_actor = by_actor.sort_values("capex", ascending=False, kind="stable").reset_index(drop=True)

    summary = {
        "target_year": int(scenario.target.year), "last_inventory_year": int(last_inventory_year),
        "baseline": scenario.baseline, "currency": city.currency, "eur_rate": rate,
        "eur_rate_date": city.eur_rate_date, "eur_rate_source": city.eur_rate_source,
        "capex": float(capex.sum()), "cost_to_municipality": float(to_city.sum()),
        "cost_to_others": float(to_others.sum()), "identified_financing": float(identified.sum())}
    gap = gap_by_sector(by_source, scenario, last_inventory_year)
    return InvestmentPlanResult(gap=gap, costing=costing, capital=capital, by_actor=by_actor[ACTOR_COLUMNS],
                                summary=summary)

"""Co-benefits beside the cost per tonne: clean air, quiet streets, health (issue 17).

Physical first: a city's optional ``cobenefit_effects.csv`` states per measure the kg per year of
local pollutants it avoids, the new regular cyclists or walkers (persons and minutes per day) and
the people exposed to less noise (persons and dB). ``cobenefit_values.csv`` values them, each value
with its source, year, price year and status (``current``, ``older``, ``assumption``); money values
are brought to the city's price year with the KPI rows of the same table.

Conventions
-----------
* Air (ASEK): value per kg = regional value + local value at the reference town × (town
  ventilation factor ÷ reference ventilation factor) × √(town population ÷ reference population)
  (:func:`air_value_per_kg`; the square root reproduces ASEK 4's table of towns).
* Noise: persons × dB reduction × value per person and dB per year (:func:`noise_value`).
* Health (WHO HEAT): per person, risk reduction = (1 − RR) × minutes per week ÷ reference minutes,
  at most the cap; deaths avoided per year = persons × baseline mortality × risk reduction; value =
  deaths × the value of a statistical life (:func:`heat_value`).
* Co-benefits accrue in every year the measure acts (``flows.active``), level, standalone (not
  scaled by the sequential interaction), and are discounted at the scenario's real rate like the
  appraisal. They are **beside** the appraisal: no cash flow, municipal figure or portfolio choice
  changes. The cost per tonne after co-benefits exists in the societal perspective only; in the
  municipal one the co-benefits are not in the cash flows (NaN, said in ``note``).
* Pollutants derived from energy carriers (:func:`derive_pollutants`): with the optional
  ``pollutant_factors.csv`` (kg per MWh of a carrier burnt locally), a measure's pollutant with no
  row of its own is kg/yr = −Σ delta_mwh_per_year × kg_per_mwh over its carriers; a stated row
  always wins (never both), and the physical table marks the derived rows.
* The MAC curve net of co-benefits (societal only): ``climateinvest.portfolio.cobenefit_curve``,
  with the reconciliation of the standalone co-benefit NPV and the curve's scaled tonnes.
* An effect whose values are missing (or whose price year has no KPI row) is not valued and is
  named in ``not_valued``: never a silent default.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.cashflows import Flows
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import POLLUTANTS
from climateinvest.io.tables import StepTables
from climateinvest.portfolio.cobenefit_curve import ABSENT_MUNICIPAL, net_curve

MONEY = {"air_local_pm25", "air_local_nox", "air_local_so2", "air_local_voc", "air_regional_pm25",
         "air_regional_nox", "air_regional_so2", "air_regional_voc", "noise_per_person_db", "vsl"}
UNITS = {"pm25_kg": "kg/yr", "nox_kg": "kg/yr", "so2_kg": "kg/yr", "voc_kg": "kg/yr", "cyclists": "persons",
         "walkers": "persons", "noise_persons": "persons"}
KINDS = {"pm25_kg": "air", "nox_kg": "air", "so2_kg": "air", "voc_kg": "air", "cyclists": "health",
         "walkers": "health", "noise_persons": "noise"}


def air_value_per_kg(local_ref, regional, town_population, ref_population, town_ventilation=1.0,
                     ref_ventilation=1.0):
    """ASEK value of one kg of a pollutant emitted in a town.

    Parameters
    ----------
    local_ref : float [currency/kg]     local-effect value at the reference town
    regional : float [currency/kg]      regional-effect value (independent of the town)
    town_population, ref_population : float [inhabitants]
    town_ventilation, ref_ventilation : float [-]  ASEK ventilation factors

    Returns
    -------
    float [currency/kg]: regional + local_ref × (town_ventilation / ref_ventilation) ×
    √(town_population / ref_population).
    """
    scale = (np.asarray(town_ventilation, float) / ref_ventilation) * np.sqrt(
        np.asarray(town_population, float) / ref_population)
    return np.asarray(regional, float) + np.asarray(local_ref, float) * scale


def heat_value(persons, minutes_per_day, rr, ref_minutes_per_week, cap, mortality_rate, vsl):
    """WHO HEAT value per year of regular cycling or walking.

    Parameters
    ----------
    persons : float [persons]            new regular cyclists (walkers)
    minutes_per_day : float [min/day]    per person, averaged over the year
    rr : float [-]                       relative risk of all-cause mortality at the reference dose
    ref_minutes_per_week : float [min/week]  the reference dose (cycling 100, walking 168)
    cap : float [-]                      largest risk reduction counted
    mortality_rate : float [1/year]      baseline all-cause mortality of the population
    vsl : float [currency]               value of a statistical life

    Returns
    -------
    (deaths avoided [1/year], value [currency/year]).
    """
    reduction = np.minimum((1.0 - rr) * np.asarray(minutes_per_day, float) * 7.0 / ref_minutes_per_week, cap)
    deaths = np.asarray(persons, float) * mortality_rate * reduction
    return deaths, deaths * vsl


def noise_value(persons, db_reduction, value_per_person_db):
    """[currency/year] persons × dB × value per person and dB per year."""
    return np.asarray(persons, float) * np.asarray(db_reduction, float) * value_per_person_db


def price_values(values: pd.DataFrame, price_year: int) -> pd.DataFrame:
    """The valuation table with each money value at ``price_year`` (KPI ratio from the table's
    ``kpi`` rows); ``kpi_factor`` NaN and ``value_at_price_year`` NaN where a KPI row is missing.

    Columns: parameter, value, unit, price_year, value_year, status, source, kpi_factor,
    value_at_price_year.
    """
    v = values[values["parameter"] != "kpi"].copy()
    kpi = values[values["parameter"] == "kpi"].set_index(values.loc[values["parameter"] == "kpi", "price_year"]
                                                         .astype(int))["value"]
    target = kpi.get(int(price_year), np.nan)
    money = v["parameter"].isin(MONEY).to_numpy()
    base = np.array([kpi.get(int(y), np.nan) for y in v["price_year"]], dtype=float)
    v["kpi_factor"] = np.where(money, target / base, 1.0)
    v["value_at_price_year"] = v["value"].to_numpy(float) * v["kpi_factor"].to_numpy(float)
    return v.reset_index(drop=True)


@dataclass(frozen=True)
class CobenefitResult(StepTables):
    """The co-benefits of the candidate measures, beside the appraisal (module docstring).

    physical : DataFrame, one row per measure and effect: measure_id, name, effect, cobenefit_kind
        (air, noise, health), quantity, quantity_unit (kg/yr or persons), minutes_per_day [min/day],
        db_reduction [dB], deaths_avoided_per_year [1/yr] (health only), value_per_year
        [currency/yr] (NaN = not valued), valued (bool), derived (bool: a pollutant derived from
        the measure's energy carriers with ``pollutant_factors.csv``, :func:`derive_pollutants`),
        derivation (the sum written out, "" for a stated row).
    valued : DataFrame, one row per measure with co-benefits: measure_id, name, in_portfolio,
        air_value_per_year, noise_value_per_year, health_value_per_year, cobenefit_value_per_year
        [currency/yr], npv_cobenefits [currency, real rate], cost_per_tco2e [currency/t] (the
        appraisal's), cost_per_tco2e_after_cobenefits [currency/t] (societal only, else NaN),
        not_valued (effects named, ";"-joined), note.
    values : DataFrame, the valuation table at the city's price year (:func:`price_values`, with
        ``parameter`` saved as ``cobenefit_parameter`` and ``status`` as ``value_status``).
    net_curve : DataFrame or None, the MAC curve net of co-benefits (societal perspective only;
        None in the municipal one, where co-benefits are not in the cash flows):
        ``cobenefit_curve.NET_CURVE_COLUMNS``, saved as ``cobenefits_net_curve``.
    summary : dict, JSON-serialisable: perspective, price_year, portfolio_value_per_year,
        portfolio_npv_cobenefits, all_candidates_value_per_year, warnings (older values and
        assumptions used, by parameter; carriers without pollutant factors), derived_pollutant_rows,
        net_curve ("drawn", or why it is absent).
    """

    STEP: ClassVar[str] = "cobenefits"
    MAIN: ClassVar[str] = "valued"

    physical: pd.DataFrame
    valued: pd.DataFrame
    values: pd.DataFrame
    summary: dict
    net_curve: pd.DataFrame | None = None


def derive_pollutants(effects: pd.DataFrame, energy_changes: pd.DataFrame, factors: pd.DataFrame,
                      measure_ids) -> tuple[pd.DataFrame, list[str]]:
    """The effects table with each measure's exhaust pollutants derived from its energy carriers
    where the measure states no row of its own for that pollutant (an explicit row wins).

    kg/yr avoided = −Σ over the measure's carriers of delta_mwh_per_year [MWh/yr] ×
    kg_per_mwh [kg/MWh] (``pollutant_factors.csv``): less fuel burnt is a positive quantity, more
    a negative one. A carrier without a factor for a pollutant adds nothing to it and is named in
    the second return value; a derived quantity of zero gives no row.

    Parameters
    ----------
    effects : DataFrame        ``cobenefit_effects`` (measure_id, effect, quantity, ...)
    energy_changes : DataFrame  measure_id, carrier, delta_mwh_per_year [MWh/yr]
    factors : DataFrame        ``pollutant_factors``: carrier, pollutant, kg_per_mwh [kg/MWh]
    measure_ids : iterable of str  the measures to derive for (the candidates)

    Returns
    -------
    (effects with the derived rows added and the columns ``derived`` (bool) and ``derivation``
    (the sum written out, "" for an explicit row), the carriers some derivation lacked a factor for)
    """
    out = effects.assign(derived=False, derivation="")
    if not len(factors):
        return out, []
    ids = set(measure_ids)
    have = set(zip(effects["measure_id"], effects["effect"], strict=True))
    kg = {(str(c), str(p)): float(v) for c, p, v in
          zip(factors["carrier"], factors["pollutant"], factors["kg_per_mwh"], strict=True)}
    changes = energy_changes[energy_changes["measure_id"].isin(ids)]
    rows, lacking = [], set()
    for key, part in changes.groupby("measure_id", sort=False):
        mid = str(key)
        for pol in POLLUTANTS:
            if (mid, f"{pol}_kg") in have:
                continue
            terms = [(str(c), float(d), kg[(str(c), pol)]) for c, d in
                     zip(part["carrier"], part["delta_mwh_per_year"], strict=True) if (str(c), pol) in kg]
            lacking |= {str(c) for c in part["carrier"] if (str(c), pol) not in kg}
            quantity = -sum(d * f for _, d, f in terms)
            if not terms or quantity == 0:
                continue
            rows.append({"measure_id": mid, "effect": f"{pol}_kg", "quantity": quantity, "minutes_per_day": np.nan,
                         "db_reduction": np.nan, "source": "", "derived": True,
                         "derivation": "-(" + " + ".join(f"{d:g} MWh {c} x {f:g} kg/MWh" for c, d, f in terms) + ")"})
    if rows:
        out = pd.concat([out, pd.DataFrame(rows).astype({"source": out["source"].dtype})], ignore_index=True)
    return out, sorted(lacking)


def _param(v: pd.DataFrame, name: str) -> float:
    rows = v.loc[v["parameter"] == name, "value_at_price_year"]
    return float(rows.iloc[0]) if len(rows) else float("nan")


def build_cobenefits(city: CityData, flows: Flows, measures: pd.DataFrame, rate: float, perspective: str,
                     discount_abatement: bool = True, chosen_ids=(),
                     curve: pd.DataFrame | None = None) -> CobenefitResult | None:
    """Value the measures' physical co-benefits (module docstring); None when the city states none.

    Parameters
    ----------
    city : CityData                with ``cobenefit_effects`` and ``cobenefit_values``
    flows : Flows                  the candidates' standalone arrays (years of effect)
    measures : DataFrame           the appraisal table (``npv_cost``, ``cost_per_tco2e``)
    rate : float [1/year, real]    the scenario's real discount rate
    perspective : str              ``municipal`` or ``societal``
    discount_abatement : bool      as the scenario: tonnes discounted or summed
    chosen_ids : iterable of str   the portfolio's measures (for the portfolio total)
    curve : DataFrame, optional    ``MaccResult.curve``: with it, the societal perspective also
        gives the net curve (:func:`climateinvest.portfolio.cobenefit_curve.net_curve`)
    """
    effects = city.cobenefit_effects
    effects = effects[effects["measure_id"].isin(list(flows.measure_ids))]  # carried measures: not candidates
    effects, lacking = derive_pollutants(effects, city.energy_changes, city.pollutant_factors, flows.measure_ids)
    if not len(effects):
        return None
    values = price_values(city.cobenefit_values, city.price_year)
    p = {name: _param(values, name) for name in set(values["parameter"])}

    def get(name: str) -> float:
        return p.get(name, float("nan"))

    names = dict(zip(city.measures["measure_id"], city.measures["name"], strict=True))
    rows = []
    records: list[dict[str, Any]] = effects.to_dict("records")  # type: ignore[assignment]
    for rec in records:
        r = SimpleNamespace(**rec)
        kind, effect = KINDS[str(r.effect)], str(r.effect)
        deaths = np.nan
        if kind == "air":
            pol = effect.removesuffix("_kg")
            per_kg = air_value_per_kg(get(f"air_local_{pol}"), get(f"air_regional_{pol}"), get("town_population"),
                                      get("air_ref_population"), get("town_ventilation"), get("air_ref_ventilation"))
            value = float(r.quantity * per_kg)
        elif kind == "noise":
            value = float(noise_value(r.quantity, r.db_reduction, get("noise_per_person_db")))
        else:
            mode = "cycling" if effect == "cyclists" else "walking"
            d, val = heat_value(r.quantity, r.minutes_per_day, get(f"heat_rr_{mode}"),
                                get(f"heat_ref_min_week_{mode}"), get(f"heat_cap_{mode}"), get("mortality_rate"),
                                get("vsl"))
            deaths, value = float(d), float(val)
        rows.append({"measure_id": r.measure_id, "name": names.get(r.measure_id, r.measure_id), "effect": effect,
                     "cobenefit_kind": kind, "quantity": float(r.quantity), "quantity_unit": UNITS[effect],
                     "minutes_per_day": float(r.minutes_per_day), "db_reduction": float(r.db_reduction),
                     "deaths_avoided_per_year": deaths, "value_per_year": value, "valued": bool(np.isfinite(value)),
                     "derived": bool(r.derived), "derivation": str(r.derivation)})
    physical = pd.DataFrame(rows)

    ids = list(flows.measure_ids)
    active = flows.active.astype(float)  # (M, T) years of effect, end-of-year convention
    first = measures.drop_duplicates("measure_id")
    cost_per_t: dict[str, float] = dict(zip(first["measure_id"].astype(str), first["cost_per_tco2e"].astype(float),
                                            strict=True))
    npv_cost: dict[str, float] = dict(zip(first["measure_id"].astype(str), first["npv_cost"].astype(float),
                                          strict=True))
    tonnes_all = finance.npv(rate, flows.abatement) if discount_abatement else flows.abatement.sum(axis=-1)
    chosen = set(chosen_ids)
    out = []
    for key, part in physical.groupby("measure_id", sort=False):
        mid = str(key)
        ok = part[part["valued"]]
        by_kind = {k: float(ok.loc[ok["cobenefit_kind"] == k, "value_per_year"].sum())
                   for k in ("air", "noise", "health")}
        annual = sum(by_kind.values())
        i = ids.index(mid)
        npv = float(finance.npv(rate, annual * active[i]))
        cpt = cost_per_t.get(mid, float("nan"))
        tonnes = float(tonnes_all[i])
        if perspective == "societal" and np.isfinite(cpt) and tonnes > 0:
            after, note = (npv_cost[mid] - npv) / tonnes, ""
        else:
            after = float("nan")
            note = ("co-benefits are not in the municipal cash flows" if perspective == "municipal"
                    else "no cost per tonne")
        out.append({"measure_id": mid, "name": names.get(mid, mid), "in_portfolio": mid in chosen,
                    "air_value_per_year": by_kind["air"], "noise_value_per_year": by_kind["noise"],
                    "health_value_per_year": by_kind["health"], "cobenefit_value_per_year": annual,
                    "npv_cobenefits": npv, "cost_per_tco2e": cpt, "cost_per_tco2e_after_cobenefits": after,
                    "not_valued": ";".join(part.loc[~part["valued"], "effect"]), "note": note})
    valued = pd.DataFrame(out)
    flagged = values[values["status"] != "current"]
    societal = perspective == "societal"
    net = None
    if societal and curve is not None:
        req = dict(zip(city.measures["measure_id"].astype(str), city.measures["requires"].fillna("").astype(str),
                       strict=True)) if "requires" in city.measures else {}
        net = net_curve(curve, valued, req)
    summary = {
        "perspective": perspective, "price_year": int(city.price_year),
        "portfolio_value_per_year": float(valued.loc[valued["in_portfolio"], "cobenefit_value_per_year"].sum()),
        "portfolio_npv_cobenefits": float(valued.loc[valued["in_portfolio"], "npv_cobenefits"].sum()),
        "all_candidates_value_per_year": float(valued["cobenefit_value_per_year"].sum()),
        "warnings": [f"{p_}: {st} ({int(y)})" for p_, st, y in
                     zip(flagged["parameter"].astype(str), flagged["status"].astype(str),
                         flagged["value_year"].astype(float), strict=True)]
        + [f"pollutant_factors: no factor for carrier {c} (some pollutants of its MWh not derived)" for c in lacking],
        "derived_pollutant_rows": int(physical["derived"].sum()),
        "net_curve": "drawn" if net is not None else (ABSENT_MUNICIPAL if not societal else "no MAC curve given"),
    }
    saved = values.rename(columns={"parameter": "cobenefit_parameter", "status": "value_status"})
    return CobenefitResult(physical=physical, valued=valued, values=saved, summary=summary, net_curve=net)

"""Per-measure appraisal: NPV, cost per tonne, payback and IRR.

Conventions (docs/architecture.md section 5)
---------------------------------
* Each measure is discounted to its own start year (t = 0), end-of-year flows, real terms.
* Cost per tonne = NPV of net costs ÷ tonnes. With ``discount_abatement`` the tonnes are
  discounted at the same rate (for level flows this equals (capex × CRF + annual net cost) ÷
  annual tonnes, the "levelised" convention of McKinsey-style MAC curves); without, tonnes are
  summed plainly (the Klimatklivet / "lifetime cost of carbon" convention). Negative = the
  measure saves money. Zero or negative abatement (the measure adds emissions, e.g. electrification
  under a marginal-power factor) gives NaN and a warning, never 0 or a sentinel.
* Perspectives: ``municipal`` counts what the investor pays: the investment net of the grants the
  measure is eligible for (``grant_share``: eligible grants' ``max_share``, each limited to what its
  ``annual_cap`` could pay over the investment years, summed, at most 1; how measures share a cap
  is settled in the financing plan), running-cost and energy-cost changes. ``societal`` counts the full
  investment (grants are transfers, not savings) and adds the carbon value of the abatement as a
  benefit in NPV, payback and IRR; the cost per tonne stays the abatement cost, to be compared
  with the carbon value.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.cashflows import Flows
from climateinvest.io.city import CityData

NEGLIGIBLE_TCO2E = 1e-9  # [t CO2e] lifetime tonnes at or below this count as no abatement


def cost_per_tonne(capex, annual_net_cost, annual_abatement_tco2e, lifetime_years, rate,
                   discount_abatement: bool = True):
    """Cost per tonne of a measure with level flows.

    Parameters
    ----------
    capex : float or array [currency]                 investment at t = 0
    annual_net_cost : float or array [currency/year]  running + energy cost change, years 1…L
    annual_abatement_tco2e : float or array [t CO2e / year], years 1…L
    lifetime_years : int or array [years]
    rate : float or array [1/year, real]
    discount_abatement : bool  discount tonnes at ``rate`` (True) or sum them plainly

    Returns
    -------
    [currency / t CO2e]; NaN where the abatement is zero.
    """
    af = finance.annuity_factor(rate, lifetime_years)
    npv_cost = np.asarray(capex, float) + np.asarray(annual_net_cost, float) * af
    tonnes = np.asarray(annual_abatement_tco2e, float) * (
        af if discount_abatement else np.asarray(lifetime_years, float)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(tonnes != 0, npv_cost / np.where(tonnes != 0, tonnes, 1.0), np.nan)


def _listed(cell: str, value: str) -> bool:
    items = [s.strip() for s in str(cell).split(";") if s.strip()]
    return "*" in items or value in items


def eligibility(city: CityData) -> pd.DataFrame:
    """Boolean table measures × funding sources: may the source fund the measure (sector and payer)."""
    m, f = city.measures, city.funding_sources
    return pd.DataFrame(
        {
            src: [
                _listed(sec_cell, sec) and _listed(pay_cell, pay)
                for sec, pay in zip(m["sector"], m["payer"], strict=True)
            ]
            for src, sec_cell, pay_cell in zip(f["source_id"], f["eligible_sectors"], f["eligible_payers"], strict=True)
        },
        index=pd.Index(m["measure_id"], name="measure_id"),
        dtype=bool,
    )


def grant_share(city: CityData) -> np.ndarray:
    """(M,) [share of capex] the grants a measure is eligible for, summed, at most 1.

    Each grant counts with its ``max_share``, but never more than its ``annual_cap`` over the
    measure's investment years could pay (a measure alone; competition between measures for a
    cap is settled in the financing plan).
    """
    f, m = city.funding_sources, city.measures
    capex = m["capex"].to_numpy(float)[:, None]
    reach = f["annual_cap"].to_numpy(float)[None, :] * m["capex_years"].to_numpy(float)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        capped = np.where(np.isnan(reach), 1.0, np.where(capex > 0, reach / np.where(capex > 0, capex, 1.0), 1.0))
    share = np.minimum(f["max_share"].to_numpy(float)[None, :], capped)
    share = share * (f["kind"].to_numpy() == "grant")[None, :] * eligibility(city).to_numpy(float)
    return np.minimum(share.sum(axis=1), 1.0)


def net_cost(
    flows: Flows, city: CityData, perspective: str, carbon_value: float = 0.0, scale: np.ndarray | float = 1.0
) -> np.ndarray:
    """(..., M, T) [currency] net cost per year from ``perspective``.

    ``scale`` (…, M) multiplies the energy and direct effects (sequential interaction share); the
    investment and running costs are not scaled. ``carbon_value`` [currency/t] is subtracted per
    tonne abated in the societal perspective.
    """
    scale = np.asarray(scale, float)[..., None]
    capex = flows.capex
    if perspective == "municipal":
        capex = capex * (1.0 - grant_share(city))[:, None]
    cost = capex + flows.opex + flows.energy_cost * scale
    if perspective == "societal" and carbon_value:
        cost = cost - carbon_value * flows.abatement * scale
    return cost


def _payback(years: np.ndarray, total_benefit: np.ndarray) -> np.ndarray:
    """Payback is ``inf`` for a measure whose benefits never cover its costs over its life (e.g. a
    running cost with no investment, whose cumulative sum starts at 0 and then falls).
    """
    return np.where(total_benefit < 0, np.inf, years)


def appraise(
    flows: Flows,
    city: CityData,
    rate: float,
    perspective: str = "municipal",
    carbon_value: float = 0.0,
    discount_abatement: bool = True,
) -> pd.DataFrame:
    """One row per measure with its investment, abatement and money metrics.

    Columns: measure_id, name, sector, emission_source, payer, start_year, capex [currency],
    grant_share, lifetime_years, abatement_tco2e_per_year (first full year), lifetime_abatement_tco2e,
    npv_cost [currency] (perspective's net cost, without carbon value), cost_per_tco2e
    [currency/t], npv_carbon_value [currency] (societal only, else 0), npv_net [currency]
    (npv_cost − npv_carbon_value), simple_payback_years, discounted_payback_years, irr.
    """
    m = city.measures
    cost = net_cost(flows, city, perspective)
    abatement = flows.abatement
    npv_cost = finance.npv(rate, cost)
    tonnes = finance.npv(rate, abatement) if discount_abatement else abatement.sum(axis=-1)
    value = carbon_value if perspective == "societal" else 0.0
    npv_carbon = value * finance.npv(rate, abatement)
    benefit = -(cost - value * abatement)
    zero = np.abs(tonnes) <= NEGLIGIBLE_TCO2E
    none = zero | (tonnes < 0)  # a ratio over no tonnes, or over added tonnes, ranks nothing
    ids = np.asarray(flows.measure_ids)
    for mask, what in ((zero, "zero abatement"), (none & ~zero, "emissions increase")):
        if mask.any():
            warnings.warn(f"{what}, cost per tonne undefined (NaN): {', '.join(ids[mask])}", stacklevel=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpt = np.where(none, np.nan, npv_cost / np.where(none, 1.0, tonnes))
    note = np.where(zero, "no abatement", np.where(none, "increases emissions", ""))
    first = m["capex_years"].to_numpy(int)
    return pd.DataFrame(
        {
            "measure_id": m["measure_id"].to_numpy(),
            "name": m["name"].to_numpy(),
            "sector": m["sector"].to_numpy(),
            "emission_source": m["emission_source"].to_numpy(),
            "payer": m["payer"].to_numpy(),
            "start_year": flows.start_year,
            "capex": m["capex"].to_numpy(float),
            "grant_share": grant_share(city) if perspective == "municipal" else 0.0,
            "lifetime_years": m["lifetime_years"].to_numpy(int),
            "abatement_tco2e_per_year": abatement[np.arange(len(m)), first] if len(m) else [],
            "lifetime_abatement_tco2e": abatement.sum(axis=-1),
            "npv_cost": npv_cost,
            "cost_per_tco2e": cpt,
            "npv_carbon_value": npv_carbon,
            "npv_net": npv_cost - npv_carbon,
            "simple_payback_years": _payback(finance.simple_payback(benefit), benefit.sum(axis=-1)),
            "discounted_payback_years": _payback(finance.discounted_payback(rate, benefit), finance.npv(rate, benefit)),
            "irr": finance.irr(benefit),
            "note": note,
        }
    )

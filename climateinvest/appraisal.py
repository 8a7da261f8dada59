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
* Every cash flow has a party (:data:`climateinvest.io.city.PARTIES`): the measure's payer pays
  its investment, one-off operating cost and running cost and collects its fees; whoever buys an
  energy carrier (``energy_payer``) pays its energy-cost change; the state pays the grants and
  collects the energy and CO2 taxes inside the energy prices; residents pay the fees.
* Perspectives (:func:`perspective_parts`): ``municipal`` counts the **municipal group only**
  (municipality and municipal companies): their investment net of the grants, one-off operating
  costs, running costs net of fees, and the energy they buy. Residents' fuel savings and external
  investors' money are not the city's: an ``external`` measure costs the group nothing.
  ``societal`` (ASEK) counts resources: the full investment (grants are transfers), energy at
  prices **without** energy and CO2 tax (taxes are transfers), fees as transfers, the carbon value
  added once, and the ``tax_factor`` (*skattefaktor*, ASEK 1.3) on the net money of the
  tax-financed parties (municipality, state); with ``tax_factor`` 1 the parties' costs add up to
  the societal cost (:func:`stakeholders`).
* Grants: the **lone-candidate** grant of a measure (:func:`grant_share`: each eligible grant's
  ``max_share``, limited to what its ``annual_cap`` could pay over the investment years, summed,
  at most 1) assumes it has the caps to itself; the run replaces it by the grant the financing
  plan allocates (``climateinvest.portfolio.grants``), and the ``grant_basis`` column says which.
  A grant share applies to the investment part, spread in proportion to it over the investment
  years.
"""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.cashflows import Flows
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import CITY_PAYERS, PARTIES
from climateinvest.io.memo import cached

PUBLIC_PARTIES = ("municipality", "state")  # tax-financed: the skattefaktor applies to their money
FEE_PAYER = "residents"  # who pays a measure's fees (parking charges and the like)
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
    """Boolean table measures × funding sources: may the source fund the measure (its sector,
    payer and, where the source lists them, ``eligible_measures``; a measure in
    ``uncertain_measures`` — no rule found — is not counted, see :func:`uncertain_grants`).
    Kept per city object (:func:`climateinvest.io.memo.cached`); each call returns its own copy.
    """
    return cached(("eligibility",), city, lambda: _eligibility(city)).copy()


def _eligibility(city: CityData) -> pd.DataFrame:
    m, f = city.measures, city.funding_sources
    cells = {c: (f[c] if c in f else pd.Series("*" if c == "eligible_measures" else "", index=f.index))
             for c in ("eligible_measures", "uncertain_measures")}
    return pd.DataFrame(
        {
            src: [
                _listed(sec_cell, sec) and _listed(pay_cell, pay) and _listed(mea_cell, mid)
                and not (str(unc_cell).strip() and _listed(unc_cell, mid))
                for mid, sec, pay in zip(m["measure_id"], m["sector"], m["payer"], strict=True)
            ]
            for src, sec_cell, pay_cell, mea_cell, unc_cell in zip(
                f["source_id"], f["eligible_sectors"], f["eligible_payers"], cells["eligible_measures"],
                cells["uncertain_measures"], strict=True)
        },
        index=pd.Index(m["measure_id"], name="measure_id"),
        dtype=bool,
    )


def uncertain_grants(city: CityData) -> pd.Series:
    """Per measure: the grants whose rule for it was not found (``uncertain_measures``), ";"-joined;
    they are shown, not counted.
    """
    f, m = city.funding_sources, city.measures
    cell = f["uncertain_measures"] if "uncertain_measures" in f else pd.Series("", index=f.index)
    return pd.Series([";".join(s for s, c in zip(f["source_id"], cell, strict=True)
                               if str(c).strip() and _listed(c, mid)) for mid in m["measure_id"]],
                     index=pd.Index(m["measure_id"], name="measure_id"), dtype=object)


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


def lone_grant_basis(city: CityData) -> list[str]:
    """Per measure, in words, the lone-candidate grant :func:`grant_share` assumes."""
    f = city.funding_sources
    grants = f["kind"].to_numpy() == "grant"
    el = eligibility(city).to_numpy(bool) & grants[None, :]
    return ["lone candidate: " + (", ".join(f"{s} ≤ {x:.0%}" for s, x, ok in
                                            zip(f["source_id"], f["max_share"], row, strict=True) if ok) or "no grant")
            for row in el]


def _grant(flows: Flows, city: CityData, grant) -> np.ndarray:
    """(M,) [share of the investment] the grant given, else the lone-candidate share (by id)."""
    if grant is None:
        share = pd.Series(grant_share(city), index=city.measure_ids)
    else:
        share = pd.Series(np.asarray(grant, float), index=list(flows.measure_ids))
    share = share[~share.index.duplicated()]
    return share.reindex(list(flows.measure_ids)).fillna(0.0).to_numpy(float)


def perspective_parts(flows: Flows, city: CityData, perspective: str, grant=None,
                      tax_factor: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The perspective's net cost in three parts [currency]: investment (M, T), running (M, T) and
    energy per carrier (M, C, T), before any interaction scale (module docstring).

    ``grant`` : (M,) share of each measure's investment paid by grants (default the lone-candidate
    :func:`grant_share`); ``tax_factor`` : skattefaktor on the tax-financed parties' money
    (societal only).
    """
    g = _grant(flows, city, grant)[:, None]
    party, buyer = flows.parties, flows.energy_parties
    one_off, fee = flows.zeros_or(flows.one_off), flows.zeros_or(flows.fee)
    if perspective == "municipal":
        w = np.isin(party, CITY_PAYERS).astype(float)[:, None]
        wb = np.isin(buyer, CITY_PAYERS).astype(float)[:, :, None]
        return w * (flows.capex * (1.0 - g) + one_off), w * (flows.opex - fee), wb * flows.energy_cost_c
    if perspective != "societal":
        raise ValueError(f"perspective must be 'municipal' or 'societal', got {perspective!r}")

    def weight(p):
        return np.where(np.isin(p, PUBLIC_PARTIES), float(tax_factor), 1.0)

    wp, wb, ws = weight(party)[:, None], weight(buyer)[:, :, None], weight(np.array(["state"]))[0]
    fee_w = weight(np.array([FEE_PAYER]))[0]
    invest = wp * (flows.capex * (1.0 - g) + one_off) + ws * flows.capex * g
    running = wp * (flows.opex - fee) + fee_w * fee
    energy = wb * flows.energy_cost_c - ws * flows.taxes_c
    return invest, running, energy


def net_cost(
    flows: Flows, city: CityData, perspective: str, carbon_value: float = 0.0, scale: np.ndarray | float = 1.0,
    grant=None, tax_factor: float = 1.0,
) -> np.ndarray:
    """(..., M, T) [currency] net cost per year from ``perspective`` (:func:`perspective_parts`).

    ``scale`` (…, M) multiplies the energy and direct effects (sequential interaction share); the
    investment and running costs are not scaled. ``carbon_value`` [currency/t] is subtracted per
    tonne abated in the societal perspective. ``grant`` (M,) [share]: the grants (default the
    lone-candidate share).
    """
    scale = np.asarray(scale, float)[..., None]
    invest, running, energy = perspective_parts(flows, city, perspective, grant, tax_factor)
    cost = invest + running + energy.sum(axis=-2) * scale
    if perspective == "societal" and carbon_value:
        cost = cost - carbon_value * flows.abatement * scale
    return cost


def stakeholders(flows: Flows, city: CityData, rate: float, grant=None) -> pd.DataFrame:
    """Who pays and who gains: per measure, the NPV [currency] of each party's net cost (positive =
    pays) at ``rate`` [1/year, real], the transfers (grants, taxes, fees) included, and
    ``societal`` (their sum = the resource cost without carbon value, skattefaktor 1), plus a
    ``total`` row. Energy effects unscaled (standalone).
    """
    g = _grant(flows, city, grant)[:, None]
    party, buyer = flows.parties, flows.energy_parties
    one_off, fee = flows.zeros_or(flows.one_off), flows.zeros_or(flows.fee)
    out = {p: np.zeros(len(party)) for p in PARTIES}
    own = finance.npv(rate, flows.capex * (1.0 - g) + one_off + flows.opex - fee)
    for i, p in enumerate(party):
        out[p][i] += own[i]
    energy = finance.npv(rate, flows.energy_cost_c)  # (M, C)
    for (i, c), p in np.ndenumerate(buyer):
        out[p][i] += energy[i, c]
    out["state"] += finance.npv(rate, flows.capex * g) - finance.npv(rate, flows.taxes_c).sum(axis=-1)
    out[FEE_PAYER] += finance.npv(rate, fee)
    table = pd.DataFrame({"measure_id": list(flows.measure_ids)} | out)
    table["societal"] = table[list(PARTIES)].sum(axis=1)
    total = pd.DataFrame([{"measure_id": "total"} | {c: table[c].sum() for c in [*PARTIES, "societal"]}])
    return pd.concat([table, total], ignore_index=True)


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
    grant=None,
    grant_basis=None,
    tax_factor: float = 1.0,
) -> pd.DataFrame:
    """One row per measure with its investment, abatement and money metrics.

    ``grant`` (M,) [share of the investment]: the grants to use (default the lone-candidate
    :func:`grant_share`), ``grant_basis`` (M,) their description (default the lone candidate's).

    Columns: measure_id, name, sector, emission_source, payer, start_year, capex [currency]
    (investment and one-off operating part), grant_share, grant_basis, grant_uncertain,
    lifetime_years, abatement_tco2e_per_year (first full year, territorial basis),
    lifecycle_tco2e_per_year (life-cycle basis, beside), lifetime_abatement_tco2e,
    npv_cost [currency] (perspective's net cost, without carbon value), cost_per_tco2e
    [currency/t], npv_carbon_value [currency] (societal only, else 0), npv_net [currency]
    (npv_cost − npv_carbon_value), simple_payback_years, discounted_payback_years, irr.
    """
    m = city.measures
    cost = net_cost(flows, city, perspective, grant=grant, tax_factor=tax_factor)
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
            "grant_share": _grant(flows, city, grant),
            "grant_basis": lone_grant_basis(city) if grant_basis is None else list(grant_basis),
            "grant_uncertain": uncertain_grants(city).reindex(list(flows.measure_ids)).fillna("").to_numpy(object),
            "lifetime_years": m["lifetime_years"].to_numpy(int),
            "abatement_tco2e_per_year": abatement[np.arange(len(m)), first] if len(m) else [],
            "lifecycle_tco2e_per_year": flows.lifecycle_abatement[np.arange(len(m)), first] if len(m) else [],
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


def grants_of(measures: pd.DataFrame | None, flows: Flows) -> np.ndarray | None:
    """(M,) the ``grant_share`` column of an appraisal table in ``flows`` order, or None (the
    lone-candidate default) when the table has none.
    """
    if measures is None or "grant_share" not in measures:
        return None
    share = measures.drop_duplicates("measure_id").set_index("measure_id")["grant_share"]
    return share.reindex(list(flows.measure_ids)).to_numpy(float)

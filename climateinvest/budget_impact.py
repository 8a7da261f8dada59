"""Operating-budget impact (kommunal driftsbudget) of the financed measures, per calendar year and payer.

**Nominal kronor.** The budget sees current kronor, so this table (and the debt service) is in
**nominal** kronor of each year: a real (price-year) amount of calendar year *y* is multiplied by
(1 + inflation)^(y − price year); the investment is booked at its nominal cost in the year it is
spent and depreciated at that historical cost. The internränta (SKR) is a nominal rate and is
applied to these nominal book values.

Per calendar year and per payer of the municipal group:

* **Depreciation**: straight-line over ``lifetime_years`` from the first year of effect (the year
  after the investment is complete) to its last, of the investment **net of the grants actually
  allocated**. Under LKBR (2018:597) and RKR R2 *Intäkter* an investment grant is booked as
  deferred income (a liability) released over the asset's life; gross depreciation minus that
  release is exactly this net depreciation.
* **Capital cost** — by payer:

  - the **municipality** (tax-financed budget) is charged *internränta* (``internal_rate``,
    nominal) on the opening book value in each year of effect, no interest during construction
    (*kapitalkostnad* = depreciation + internal interest). ``basis="net"``: on the book value net
    of grants; ``basis="gross"`` (RKR R2): on the gross book value (the grant sits as a liability,
    the asset at its full cost). Actual loan interest is not added here (that would count the
    cost of capital twice); it is shown as debt service;
  - a **municipal company** books its own accounts (waste through the *avfallstaxa* at cost,
    housing through rents): it carries the **actual interest** of the loans drawn for the measure
    (``loan_interest``), not internränta.
* **One-off operating cost** (``Flows.one_off``): the part of a measure's money that is not a fixed
  asset, expensed in the year it is spent.
* **Running-cost change** (``Flows.opex``, not scaled) less **fee revenue** (``Flows.fee``).
* **Energy-cost change** of the energy the payer buys (``Flows.energy_parties``), × the sequential
  share ``scale``; energy bought by residents or businesses is not in the city's budget.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from climateinvest.cashflows import Flows
from climateinvest.io.city_specs import CITY_PAYERS

PARTS = ("depreciation", "internal_interest", "loan_interest", "one_off_operating", "opex_change",
         "fee_revenue", "energy_cost_change")
BASES = ("net", "gross")


def nominal_index(years, price_year: int, inflation: float) -> np.ndarray:
    """[-] (1 + inflation)^(year − price_year): real price-year kronor → nominal kronor of ``years``."""
    return (1.0 + float(inflation)) ** (np.asarray(years, float) - float(price_year))


def operating_budget_impact(sub: Flows, net_capex: np.ndarray, grants: np.ndarray, financed: np.ndarray,
                            scale: np.ndarray, horizon: np.ndarray, rate: float, *,
                            loan_interest: np.ndarray | None = None, basis: str = "net",
                            ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Per year (``horizon``), per measure and per payer: the parts of :data:`PARTS` and ``net``
    [nominal currency] (module docstring).

    Parameters
    ----------
    sub : Flows of the chosen measures at their start years, **in nominal money** (the caller
        multiplies by :func:`nominal_index`)
    net_capex : (M,) [nominal currency] investment net of the grants allocated
    grants : (M,) [nominal currency] the grants allocated
    financed : (M,) bool  paid by the municipal group
    scale : (M,) [-] sequential share of the energy effect
    horizon : (Y,) calendar years
    rate : [1/year, nominal] internränta
    loan_interest : (M, Y) [nominal currency] actual interest of each measure's loans (companies)
    basis : "net" | "gross"  internränta on the book value net of grants, or gross
    """
    if basis not in BASES:
        raise ValueError(f"basis must be one of {BASES}, got {basis!r}")
    n, Y = len(net_capex), len(horizon)
    payer = sub.parties
    company = np.asarray(payer == "municipal_company")[:, None]
    life = sub.active.sum(axis=1).astype(float)  # years of effect = lifetime_years
    first_active = sub.start_year + sub.active.argmax(axis=1)  # first year of effect
    k = horizon[None, :] - first_active[:, None]  # 0 in the first year of effect
    in_service = (k >= 0) & (k < life[:, None])
    per_year = net_capex / np.maximum(life, 1.0)
    dep = np.where(in_service, per_year[:, None], 0.0)
    charged = net_capex if basis == "net" else net_capex + grants
    book_open = np.where(in_service, (charged / np.maximum(life, 1.0))[:, None] * (life[:, None] - k), 0.0)
    fin = financed[:, None]
    internal = np.where(fin & ~company, rate * book_open, 0.0)
    li = np.zeros((n, Y)) if loan_interest is None else loan_interest
    loan = np.where(fin & company, li, 0.0)
    zeros = np.zeros((0, Y))
    if n:
        one_off = np.where(fin, sub.calendar(sub.zeros_or(sub.one_off), horizon), 0.0)
        opex = np.where(fin, sub.calendar(sub.opex, horizon), 0.0)
        fee = np.where(fin, -sub.calendar(sub.zeros_or(sub.fee), horizon), 0.0)
        group_buys = np.isin(sub.energy_parties, CITY_PAYERS)[:, :, None]
        own_energy = (sub.energy_cost_c * group_buys).sum(axis=1)
        energy = np.where(fin, sub.calendar(own_energy, horizon) * scale[:, None], 0.0)
    else:
        one_off = opex = fee = energy = zeros
    values = dict(zip(PARTS, (dep, internal, loan, one_off, opex, fee, energy), strict=True))
    values["net"] = np.sum(list(values.values()), axis=0)
    by_year = pd.DataFrame({"year": horizon} | {name: v.sum(axis=0) for name, v in values.items()})
    by_measure = pd.DataFrame({"measure_id": np.repeat(np.asarray(sub.measure_ids, dtype=object), Y),
                               "payer": np.repeat(payer, Y), "year": np.tile(horizon, n)}
                              | {name: v.ravel() for name, v in values.items()})
    by_measure = by_measure[np.repeat(financed, Y)].reset_index(drop=True)
    by_payer = (by_measure.groupby(["payer", "year"], sort=True)[[*PARTS, "net"]].sum().reset_index()
                if len(by_measure) else pd.DataFrame(columns=["payer", "year", *PARTS, "net"]))
    return by_year, by_measure, by_payer


def book_value(net_capex_by_year: np.ndarray, sub: Flows, horizon: np.ndarray) -> np.ndarray:
    """(Y,) [nominal currency] year-end book value, net of grants, of the measures: the net
    investment spent so far during construction, then straight-line down to 0 over the life.

    net_capex_by_year : (M, Y) [nominal currency] net investment spent in each year of ``horizon``.
    """
    if not len(net_capex_by_year):
        return np.zeros(len(horizon))
    life = sub.active.sum(axis=1).astype(float)
    first_active = sub.start_year + sub.active.argmax(axis=1)
    total = net_capex_by_year.sum(axis=1)
    k = horizon[None, :] - first_active[:, None]
    spent = np.cumsum(net_capex_by_year, axis=1)
    left = total[:, None] * np.clip(1.0 - (k + 1) / np.maximum(life, 1.0)[:, None], 0.0, 1.0)
    return np.where(k < 0, spent, left).sum(axis=0)

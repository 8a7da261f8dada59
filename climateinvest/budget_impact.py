"""Operating-budget impact (kommunal driftsbudget) of the financed measures, per calendar year.

Per calendar year: depreciation + internal interest + running-cost change + energy-cost change
(negative = saving).

* **Depreciation**: straight-line over ``lifetime_years`` of the investment **net of the grants
  actually allocated**, from the first year of effect (the year after the investment is
  complete) to its last. Under LKBR (2018:597) and RKR R2 *Intäkter*, an investment grant is
  booked as deferred income (förutbetald intäkt) and released over the asset's useful life;
  gross depreciation minus that release is exactly this net depreciation, so the effect on the
  result is the same.
* **Internal interest** (*internränta*, the SKR rate — here ``scenario.discount_rate``) on the
  opening book value net of grants in each year of effect; no interest during construction.
  This is the cost-of-capital convention (*kapitalkostnad* = depreciation + internal interest)
  by which Swedish municipalities charge investments to the operating budget. Actual loan
  interest is shown separately as debt service and **not** added here — adding both would count
  the cost of capital twice.
* **Running-cost change**: ``Flows.opex`` (not scaled by interactions).
* **Energy-cost change**: ``Flows.energy_cost`` × the chosen table's ``scale`` (the sequential
  share of the measure's energy effect), as in :func:`climateinvest.appraisal.net_cost`.

Money in the city's currency at its price year, real terms.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from climateinvest.cashflows import Flows


def operating_budget_impact(sub: Flows, net_capex: np.ndarray, financed: np.ndarray, scale: np.ndarray,
                            horizon: np.ndarray, rate: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per year (``horizon``) and per measure: depreciation, internal_interest, opex_change,
    energy_cost_change and net [currency].

    sub : Flows of the chosen measures at their start years; net_capex : (M,) [currency]
    investment net of the grants allocated; financed : (M,) bool, paid by the municipal group;
    scale : (M,) sequential share of the energy effect; rate : internal rate [1/year].
    """
    n = len(net_capex)
    life = sub.active.sum(axis=1).astype(float)  # years of effect = lifetime_years
    first_active = sub.start_year + sub.active.argmax(axis=1)  # first year of effect
    k = horizon[None, :] - first_active[:, None]  # 0 in the first year of effect
    in_service = (k >= 0) & (k < life[:, None])
    per_year = net_capex / np.maximum(life, 1.0)
    dep = np.where(in_service, per_year[:, None], 0.0)
    book_open = np.where(in_service, net_capex[:, None] - per_year[:, None] * k, 0.0)
    internal = rate * book_open
    fin = financed[:, None]
    if n:
        opex = np.where(fin, sub.calendar(sub.opex, horizon), 0.0)
        energy = np.where(fin, sub.calendar(sub.energy_cost, horizon) * scale[:, None], 0.0)
    else:
        opex = energy = np.zeros((0, len(horizon)))
    net = dep + internal + opex + energy
    parts = {"depreciation": dep, "internal_interest": internal, "opex_change": opex,
             "energy_cost_change": energy, "net": net}
    by_year = pd.DataFrame({"year": horizon} | {name: v.sum(axis=0) for name, v in parts.items()})
    by_measure = pd.DataFrame({"measure_id": np.repeat(np.asarray(sub.measure_ids, dtype=object), len(horizon)),
                               "year": np.tile(horizon, n)} | {name: v.ravel() for name, v in parts.items()})
    return by_year, by_measure[np.repeat(financed, len(horizon))].reset_index(drop=True)

"""The MAC curve net of co-benefits: a second view of the curve, societal perspective only (issue 17).

Each bar of the MAC curve (``climateinvest.macc``) keeps its width, its interaction ``scale`` and
its tonnes; only its height changes:

    height after co-benefits = (npv_cost − npv_cobenefits_on_curve) ÷ appraised_tco2e

with ``npv_cost`` and ``appraised_tco2e`` the curve's own (the bundle's NPV cost; the lifetime
tonnes scaled by the interaction), so the gross and the net heights share one denominator.

Reconciling the co-benefit NPV with that denominator
----------------------------------------------------
``CobenefitResult.valued.npv_cobenefits`` is standalone (the measure alone, unscaled). On the curve:

* **air** (kg of exhaust pollutants) is scaled by the curve's ``scale``, like the energy effects
  and the tonnes it comes from: a measure placed after others on the same emission source burns
  off only what is left of the source, so it avoids that share of the exhaust too;
* **noise and health** (persons exposed, new cyclists and walkers) are **not** scaled: the people
  along an electric bus route or on a new cycle path do not depend on how much of the source's
  fuel an earlier measure removed;
* a bundle (a measure with ``requires``) is priced on the curve with what it requires, so it also
  carries the co-benefits of what it requires (unscaled, like the required measures' cost).

With ``scale`` = 1 and no requirement the net height is the appraisal's
``cost_per_tco2e_after_cobenefits`` of the same measure. The net view is reordered by its
height (ties: the gross curve's order); the choice between exclusive alternatives and the
interaction's scales stay those of the gross curve (the greedy is not re-run on net costs), so no
tonne is counted twice in either view.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

NET_CURVE_COLUMNS = ["net_rank", "rank", "measure_id", "name", "sector", "payer", "capex", "npv_cost",
                     "standalone_tco2e", "adjusted_tco2e", "scale", "appraised_tco2e", "cost_per_tco2e",
                     "npv_cobenefits", "npv_cobenefits_on_curve", "npv_cost_after_cobenefits",
                     "cost_per_tco2e_after_cobenefits", "cum_start_tco2e", "cum_end_tco2e"]
ABSENT_MUNICIPAL = "municipal perspective: co-benefits are not in the municipal cash flows"


def net_curve(curve: pd.DataFrame, valued: pd.DataFrame, requires: dict[str, str] | None = None) -> pd.DataFrame:
    """The MAC curve with each height net of the measure's co-benefits, reordered (module docstring).

    Parameters
    ----------
    curve : DataFrame      ``MaccResult.curve``: rank, measure_id, name, sector, payer, capex,
        npv_cost [currency], standalone_tco2e and adjusted_tco2e [t CO2e/yr], scale [-],
        appraised_tco2e [t CO2e], cost_per_tco2e [currency/t CO2e]
    valued : DataFrame     ``CobenefitResult.valued``: measure_id, air_value_per_year and
        cobenefit_value_per_year [currency/yr], npv_cobenefits [currency] (standalone); a measure
        without a row has no co-benefits (0)
    requires : dict of str to str, optional  measure_id → the measure it requires ("" for none)

    Returns
    -------
    DataFrame with ``NET_CURVE_COLUMNS``, in the order of ``cost_per_tco2e_after_cobenefits``:
    net_rank (1 = cheapest after co-benefits), rank (on the gross curve), npv_cobenefits
    [currency] (standalone, with what the measure requires), npv_cobenefits_on_curve [currency]
    (air × scale + noise and health), npv_cost_after_cobenefits [currency] = npv_cost −
    npv_cobenefits_on_curve, cost_per_tco2e_after_cobenefits [currency/t CO2e] = that ÷
    appraised_tco2e (NaN where the tonnes are not positive), cum_start_tco2e and cum_end_tco2e
    [t CO2e/yr] along the net order.
    """
    v = valued.drop_duplicates("measure_id").set_index("measure_id")
    total = v["npv_cobenefits"].astype(float) if len(v) else pd.Series(dtype=float)
    annual = v["cobenefit_value_per_year"].astype(float) if len(v) else pd.Series(dtype=float)
    air_share = (v["air_value_per_year"].astype(float) / annual.where(annual != 0)).fillna(0.0) if len(v) \
        else pd.Series(dtype=float)
    mid = curve["measure_id"].astype(str).to_numpy(object)
    npv_all = total.reindex(mid).fillna(0.0).to_numpy(float)
    npv_air = (total * air_share).reindex(mid).fillna(0.0).to_numpy(float)
    # what each bar requires (followed down the chain, as macc.required_chain does): its
    # co-benefits come with the bundle, unscaled, as the required measures' cost does
    req = requires or {}
    extra = np.array([sum(float(total.get(r, 0.0)) for r in _chain(m, req)) for m in mid], dtype=float)
    scale = curve["scale"].to_numpy(float)
    on_curve = npv_air * scale + (npv_all - npv_air) + extra
    npv_cost = curve["npv_cost"].to_numpy(float)
    tonnes = curve["appraised_tco2e"].to_numpy(float)
    net_cost = npv_cost - on_curve
    with np.errstate(divide="ignore", invalid="ignore"):
        height = np.where(tonnes > 0, net_cost / np.where(tonnes > 0, tonnes, 1.0), np.nan)
    out = curve.assign(npv_cobenefits=npv_all + extra, npv_cobenefits_on_curve=on_curve,
                       npv_cost_after_cobenefits=net_cost, cost_per_tco2e_after_cobenefits=height)
    out = out.sort_values(["cost_per_tco2e_after_cobenefits", "rank"], kind="stable", na_position="last")
    width = out["adjusted_tco2e"].to_numpy(float)
    end = np.cumsum(width)
    out = out.assign(net_rank=np.arange(1, len(out) + 1), cum_start_tco2e=end - width, cum_end_tco2e=end)
    return out[NET_CURVE_COLUMNS].reset_index(drop=True)


def _chain(mid: str, requires: dict[str, str]) -> list[str]:
    """The measures ``mid`` requires, followed down the chain (an enabler of an enabler too)."""
    seen, out, r = {mid}, [], requires.get(mid, "")
    while r and r not in seen:
        out.append(r)
        seen.add(r)
        r = requires.get(r, "")
    return out

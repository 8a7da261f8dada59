"""Measure × year arrays: investment, running cost, energy cost and emissions per carrier.

Conventions (docs/architecture.md section 5)
---------------------------------
Time runs relative to each measure's start year: index ``t`` is calendar year ``start + t``.
The investment is spread evenly over ``capex_years`` (t = 0 … capex_years−1); the measure then
acts for ``lifetime_years`` (t = capex_years … capex_years+lifetime−1). Energy prices and
emission factors are looked up at the calendar year, interpolated linearly between the given
years and held flat beyond the ends. Money in the city's currency at its price year (real).

Signs: costs positive, savings negative; ``emissions_c`` is the change in emissions [t CO2e]
(negative = fewer), so abatement = −Σ_carriers emissions_c + direct abatement.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from climateinvest.io.city import CityData, factor_table, price_table


@dataclass(frozen=True)
class Flows:
    """Arrays for M measures, C carriers and T relative years (see module docstring).

    capex : (M, T) [currency]            investment outlay
    opex : (M, T) [currency]             change in non-energy running cost
    energy_cost_c : (M, C, T) [currency] change in energy cost per carrier
    emissions_c : (M, C, T) [t CO2e]     change in emissions per carrier
    mwh_c : (M, C, T) [MWh]              change in energy bought per carrier
    direct : (M, T) [t CO2e]             abatement not expressed as energy
    active : (M, T) bool                 years of effect
    """

    measure_ids: tuple[str, ...]
    carriers: tuple[str, ...]
    start_year: np.ndarray
    capex: np.ndarray
    opex: np.ndarray
    energy_cost_c: np.ndarray
    emissions_c: np.ndarray
    mwh_c: np.ndarray
    direct: np.ndarray
    active: np.ndarray

    @property
    def n_years(self) -> int:
        """Number of years in the arrays (the horizon), in years."""
        return self.capex.shape[-1]

    @property
    def energy_cost(self) -> np.ndarray:
        """(M, T) [currency] change in energy cost, all carriers."""
        return self.energy_cost_c.sum(axis=-2)

    @property
    def abatement(self) -> np.ndarray:
        """(M, T) [t CO2e / year] emissions avoided."""
        return self.direct - self.emissions_c.sum(axis=-2)

    def calendar(self, values: np.ndarray, years: np.ndarray) -> np.ndarray:
        """Place relative-time ``values`` (..., M, T) on calendar ``years`` (Y,) → (..., M, Y)."""
        years = np.asarray(years)
        t = years[None, :] - self.start_year[:, None]  # (M, Y)
        inside = (t >= 0) & (t < self.n_years)
        idx = np.clip(t, 0, self.n_years - 1)
        out = np.take_along_axis(values, np.broadcast_to(idx, values.shape[:-1] + idx.shape[-1:]), axis=-1)
        return np.where(inside, out, 0.0)


def interpolate(table: pd.DataFrame, value: str, carriers: list[str], years: np.ndarray) -> np.ndarray:
    """(C, Y) values of ``table[value]`` per carrier at ``years``: linear between given years,
    flat beyond the ends (``numpy.interp``).
    """
    out = np.empty((len(carriers), len(years)))
    for i, carrier in enumerate(carriers):
        rows = table[table["carrier"] == carrier].sort_values("year")
        out[i] = np.interp(years, rows["year"].to_numpy(float), rows[value].to_numpy(float))
    return out


def build_flows(city: CityData, price_path: str, factor_set: str, start_year) -> Flows:
    """Cash-flow and emission arrays for every measure of ``city``.

    Parameters
    ----------
    city : CityData
    price_path, factor_set : str  names in energy_prices / emission_factors
    start_year : int or array (M,) [calendar year]  year of t = 0 per measure
    """
    m = city.measures
    n = len(m)
    start = np.broadcast_to(np.asarray(start_year, dtype=int), (n,)).copy()
    capex_years = m["capex_years"].to_numpy(int)
    life = m["lifetime_years"].to_numpy(int)
    T = int((capex_years + life).max()) if n else 1
    t = np.arange(T)
    building = t[None, :] < capex_years[:, None]
    active = (t[None, :] >= capex_years[:, None]) & (t[None, :] < (capex_years + life)[:, None])

    capex = np.where(building, (m["capex"].to_numpy(float) / capex_years)[:, None], 0.0)
    opex = np.where(active, m["opex_change_per_year"].to_numpy(float)[:, None], 0.0)
    direct = np.where(active, m["direct_abatement_tco2e_per_year"].to_numpy(float)[:, None], 0.0)

    carriers = city.carriers
    delta = (city.energy_changes.pivot_table(index="measure_id", columns="carrier",
                                             values="delta_mwh_per_year", aggfunc="sum")
             .reindex(index=m["measure_id"], columns=carriers).fillna(0.0).to_numpy(float))  # (M, C)
    y0 = int(start.min()) if n else 0
    grid = np.arange(y0, y0 + int(start.max() - y0) + T if n else y0 + 1)
    idx = (start - y0)[:, None] + t[None, :]  # (M, T) into grid
    price = interpolate(price_table(city, price_path), "price_per_mwh", carriers, grid)[:, idx]  # (C, M, T)
    factor = interpolate(factor_table(city, factor_set), "kgco2e_per_mwh", carriers, grid)[:, idx]
    mwh = np.where(active[:, None, :], delta[:, :, None], 0.0)  # (M, C, T)
    return Flows(
        measure_ids=tuple(m["measure_id"]),
        carriers=tuple(carriers),
        start_year=start,
        capex=capex,
        opex=opex,
        energy_cost_c=mwh * price.transpose(1, 0, 2),
        emissions_c=mwh * factor.transpose(1, 0, 2) / 1000.0,
        mwh_c=mwh,
        direct=direct,
        active=active,
    )


def baseline_by_source(city: CityData, years, trend: float = 0.0) -> pd.DataFrame:
    """Baseline emissions [t CO2e / year] per ``source_id`` (rows) and calendar year (columns).

    Linear between inventory years, flat before the first; after the last inventory year the last
    value changes by ``trend`` (share per year, e.g. −0.01) compounded. Columns ``sector`` and
    ``scope`` are not included; see ``city.baseline`` for them.
    """
    years = np.asarray(years, dtype=int)
    b = city.baseline
    sources = list(dict.fromkeys(b["source_id"]))
    out = np.empty((len(sources), len(years)))
    for i, src in enumerate(sources):
        rows = b[b["source_id"] == src].sort_values("year")
        ys, vs = rows["year"].to_numpy(float), rows["tco2e"].to_numpy(float)
        out[i] = np.interp(years, ys, vs) * (1.0 + trend) ** np.maximum(years - ys[-1], 0)
    return pd.DataFrame(out, index=pd.Index(sources, name="source_id"), columns=years)

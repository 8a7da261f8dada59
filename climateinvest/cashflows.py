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

Investment or running cost: a measure's ``operating_share`` of its ``capex`` is a one-off
operating cost (procurement work, an analysis, equipment below half a *prisbasbelopp*): it is
spent in the same years as the investment but kept in ``one_off``, not in ``capex`` — it is not
depreciated, not loan-financed, not counted against the investment budget, and stays in the NPV.

Emission factors: ``emissions_c`` uses the **territorial** basis (fuels at the tailpipe, as
SMHI's inventory counts them, where ``emission_factors`` gives ``territorial`` rows; other
carriers keep the factor set's values), the basis of the territorial target;
``emissions_lifecycle_c`` the life-cycle rows, the consumption view shown beside.

Parties: ``party`` is who pays a measure's investment and running cost (its payer, or for an
``external`` measure its ``external_party``); ``energy_party`` who buys each energy change
(``energy_payer``, default the measure's party). ``energy_tax_c`` is the energy and CO2 tax
inside ``energy_cost_c`` (a transfer to the state); ``fee`` the fee revenue the payer collects
from residents (a transfer, e.g. parking charges).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from climateinvest.io.city import CityData, factor_table, price_table
from climateinvest.io.memo import cached, read_only


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
    one_off: np.ndarray | None = None            # (M, T) [currency] one-off operating cost
    fee: np.ndarray | None = None                # (M, T) [currency] fee revenue to the payer
    energy_tax_c: np.ndarray | None = None       # (M, C, T) [currency] taxes inside energy_cost_c
    emissions_lifecycle_c: np.ndarray | None = None  # (M, C, T) [t CO2e] life-cycle basis
    party: tuple[str, ...] | None = None         # (M,) who pays the investment and running cost
    energy_party: np.ndarray | None = None       # (M, C) who buys the energy

    def take(self, idx) -> Flows:
        """The measures at positions ``idx`` (an integer array), in that order."""
        idx = np.asarray(idx, dtype=int)

        def pick(a):
            return None if a is None else a[idx]

        return Flows(
            measure_ids=tuple(np.asarray(self.measure_ids, dtype=object)[idx]), carriers=self.carriers,
            start_year=self.start_year[idx], capex=self.capex[idx], opex=self.opex[idx],
            energy_cost_c=self.energy_cost_c[idx], emissions_c=self.emissions_c[idx], mwh_c=self.mwh_c[idx],
            direct=self.direct[idx], active=self.active[idx], one_off=pick(self.one_off), fee=pick(self.fee),
            energy_tax_c=pick(self.energy_tax_c), emissions_lifecycle_c=pick(self.emissions_lifecycle_c),
            party=None if self.party is None else tuple(np.asarray(self.party, dtype=object)[idx]),
            energy_party=pick(self.energy_party))

    def zeros_or(self, a: np.ndarray | None) -> np.ndarray:
        """``a``, or zeros shaped like ``capex`` when it is None (flows built without it)."""
        return np.zeros_like(self.capex) if a is None else a

    @property
    def parties(self) -> np.ndarray:
        """(M,) who pays each measure's investment and running cost (default: municipality)."""
        return np.asarray(self.party if self.party is not None else ("municipality",) * len(self.measure_ids),
                          dtype=object)

    @property
    def energy_parties(self) -> np.ndarray:
        """(M, C) who buys each energy change (default: the measure's party)."""
        if self.energy_party is not None:
            return self.energy_party
        return np.repeat(self.parties[:, None], len(self.carriers), axis=1)

    @property
    def taxes_c(self) -> np.ndarray:
        """(M, C, T) [currency] taxes inside the energy cost change (zeros if not given)."""
        return np.zeros_like(self.energy_cost_c) if self.energy_tax_c is None else self.energy_tax_c

    @property
    def lifecycle_abatement(self) -> np.ndarray:
        """(M, T) [t CO2e / year] emissions avoided on the life-cycle basis."""
        em = self.emissions_c if self.emissions_lifecycle_c is None else self.emissions_lifecycle_c
        return self.direct - em.sum(axis=-2)

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

    The same city object, path, set and start years give the same arrays, so the result is kept
    (:func:`climateinvest.io.memo.cached`) and returned again, read-only: the grant fixed point's rounds and the
    explorer's redraws rebuild the same flows several times otherwise (a third of a Landskrona
    redraw's time).

    Parameters
    ----------
    city : CityData
    price_path, factor_set : str  names in energy_prices / emission_factors
    start_year : int or array (M,) [calendar year]  year of t = 0 per measure
    """
    start = np.broadcast_to(np.asarray(start_year, dtype=int), (len(city.measures),)).copy()
    return cached(("flows", str(price_path), str(factor_set), start.tobytes()), city,
                   lambda: read_only(_build_flows(city, price_path, factor_set, start)))


def _build_flows(city: CityData, price_path: str, factor_set: str, start: np.ndarray) -> Flows:
    m = city.measures
    n = len(m)
    capex_years = m["capex_years"].to_numpy(int)
    life = m["lifetime_years"].to_numpy(int)
    T = int((capex_years + life).max()) if n else 1
    t = np.arange(T)
    building = t[None, :] < capex_years[:, None]
    active = (t[None, :] >= capex_years[:, None]) & (t[None, :] < (capex_years + life)[:, None])

    op_share = m["operating_share"].to_numpy(float) if "operating_share" in m else np.zeros(n)
    spent = np.where(building, (m["capex"].to_numpy(float) / capex_years)[:, None], 0.0)
    capex, one_off = spent * (1.0 - op_share)[:, None], spent * op_share[:, None]
    fee = np.where(active, (m["fee_revenue_per_year"].to_numpy(float) if "fee_revenue_per_year" in m
                            else np.zeros(n))[:, None], 0.0)
    payer = m["payer"].astype(str).to_numpy(object)
    ext = m["external_party"].to_numpy(object) if "external_party" in m else np.full(n, "businesses", object)
    party = np.where(payer == "external", ext, payer)
    opex = np.where(active, m["opex_change_per_year"].to_numpy(float)[:, None], 0.0)
    direct = np.where(active, m["direct_abatement_tco2e_per_year"].to_numpy(float)[:, None], 0.0)

    carriers = city.carriers
    delta = (city.energy_changes.pivot_table(index="measure_id", columns="carrier",
                                             values="delta_mwh_per_year", aggfunc="sum")
             .reindex(index=m["measure_id"], columns=carriers).fillna(0.0).to_numpy(float))  # (M, C)
    y0 = int(start.min()) if n else 0
    grid = np.arange(y0, y0 + int(start.max() - y0) + T if n else y0 + 1)
    idx = (start - y0)[:, None] + t[None, :]  # (M, T) into grid
    prices = price_table(city, price_path)
    if "tax_per_mwh" not in prices:
        prices = prices.assign(tax_per_mwh=0.0)
    price = interpolate(prices, "price_per_mwh", carriers, grid)[:, idx]  # (C, M, T)
    tax = interpolate(prices, "tax_per_mwh", carriers, grid)[:, idx]
    factor = interpolate(factor_table(city, factor_set, "territorial"), "kgco2e_per_mwh", carriers, grid)[:, idx]
    life_f = interpolate(factor_table(city, factor_set, "lifecycle"), "kgco2e_per_mwh", carriers, grid)[:, idx]
    mwh = np.where(active[:, None, :], delta[:, :, None], 0.0)  # (M, C, T)
    ec = city.energy_changes
    buyer = ec["energy_payer"] if "energy_payer" in ec else pd.Series("", index=ec.index)
    who = dict(zip(zip(ec["measure_id"], ec["carrier"], strict=True), buyer, strict=True))
    energy_party = np.array([[who.get((mid, c)) or party[i] for c in carriers]
                             for i, mid in enumerate(m["measure_id"])], dtype=object).reshape(n, len(carriers))
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
        one_off=one_off,
        fee=fee,
        energy_tax_c=mwh * tax.transpose(1, 0, 2),
        emissions_lifecycle_c=mwh * life_f.transpose(1, 0, 2) / 1000.0,
        party=tuple(party),
        energy_party=energy_party,
    )


def baseline_by_source(city: CityData, years, trend: float = 0.0, projection: bool = False) -> pd.DataFrame:
    """Baseline emissions [t CO2e / year] per ``source_id`` (rows) and calendar year (columns).

    Linear between inventory years, flat before the first. After the last inventory year:

    * ``projection=False`` (flat): the last value, changed by ``trend`` (share per year, e.g.
      −0.01) compounded;
    * ``projection=True`` (with existing measures): the last value × the factor of the source's
      sector in ``city.baseline_projection`` (emissions in that year relative to the last
      inventory year [-]); the factor is linear between the table's years, 1 at the last
      inventory year, held at its last value after the table's last year, and 1 for a sector
      the table does not list. ``trend`` is then not used (``io.city.check_scenario`` refuses both).

    Columns ``sector`` and ``scope`` are not included; see ``city.baseline`` for them. Kept per
    city object and arguments (:func:`climateinvest.io.memo.cached`); each call returns its own copy.
    """
    years = np.asarray(years, dtype=int)
    table = cached(("baseline", years.tobytes(), float(trend), bool(projection)), city,
                    lambda: _baseline_by_source(city, years, trend, projection))
    return table.copy()


def _baseline_by_source(city: CityData, years: np.ndarray, trend: float, projection: bool) -> pd.DataFrame:
    b = city.baseline
    sources = list(dict.fromkeys(b["source_id"]))
    proj = city.baseline_projection if projection else None
    out = np.empty((len(sources), len(years)))
    for i, src in enumerate(sources):
        rows = b[b["source_id"] == src].sort_values("year")
        ys, vs = rows["year"].to_numpy(float), rows["tco2e"].to_numpy(float)
        after = np.maximum(years - ys[-1], 0)
        if proj is None:
            out[i] = np.interp(years, ys, vs) * (1.0 + trend) ** after
            continue
        f = proj[(proj["sector"] == rows["sector"].iat[0]) & (proj["year"] > ys[-1])].sort_values("year")
        fy = np.concatenate([[ys[-1]], f["year"].to_numpy(float)])
        fv = np.concatenate([[1.0], f["factor"].to_numpy(float)])
        out[i] = np.interp(years, ys, vs) * np.where(after > 0, np.interp(years, fy, fv), 1.0)
    return pd.DataFrame(out, index=pd.Index(sources, name="source_id"), columns=years)


def scenario_baseline(city: CityData, scenario, years) -> pd.DataFrame:
    """:func:`baseline_by_source` as the scenario sets it (``baseline``, ``baseline_trend``): the
    one baseline of the MAC curve, the portfolio, the re-selection and the pathway.
    """
    return baseline_by_source(city, years, float(scenario.baseline_trend), scenario.baseline == "projection")

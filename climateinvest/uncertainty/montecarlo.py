"""The Monte Carlo core: NPV cost and tonnes of every measure in every draw, and their statistics.

Core (vectorised over draws × measures; no Python loop per draw or per measure)
---------------------------------------------------------------------------------
For draw d, measure m, carrier c, relative year t (``cashflows`` conventions)::

    cost[d,m,t]      = capex_net[m,t]·kc[d,m] + opex[m,t]·ko[d,m] + Σ_c energy_c[m,c,t]·kp[d,c]
    abatement[d,m,t] = (direct[m,t] − Σ_c emissions_c[m,c,t]·kf[d,c]) · ka[d,m]

The multipliers (``sampling``) do not depend on t, so the NPV **factorises exactly** into present
values computed once per measure (one pass over the (M, T) arrays) and a small matrix product::

    npv_cost[d,m] = kc[d,m]·PV(capex_net)[m] + ko[d,m]·PV(opex)[m] + (kp @ PV(energy_c).T)[d,m]
    tonnes[d,m]   = ka[d,m]·(T(direct)[m] − (kf @ T(emissions_c).T)[d,m])

with T = discounted (``discount_abatement``) or plain sums of tonnes. The work is O(D·M·C)
instead of O(D·M·T). :func:`npv_draws_materialised` is the general path (the (d, m, t) cost array
built in chunks over draws and multiplied with the discount factors); it is kept for per-year
randomness and as a check, and the tests show both agree. ``capex_net`` is the capex net of the
measure's eligible grant shares in the municipal perspective (as ``appraisal.net_cost``), the
full capex in the societal one; the cost per tonne never includes the carbon value (as
``appraisal``); ``prob_net_benefit`` subtracts it (societal perspective only). The abatement
multiplier scales the tonnes (direct and energy-related), not the energy bills.

Per measure (at the appraisal start years, standalone): P10/P50/P90 of the cost per tonne,
P(saves money) = P(npv_cost < 0), and the abatement in the target year. In the percentiles a draw
in which the measure abates nothing or adds emissions (tonnes ≤ 0) counts as an **infinite** cost
per tonne (the money buys no abatement): a P90 of ``inf`` says "in more than 10 % of the futures
this measure does not abate"; ``prob_abates`` gives the share. (The deterministic appraisal gives
NaN / a negative ratio there.) ``expected_cost_per_tco2e`` = E[npv_cost] ÷ E[tonnes] is always
finite where the mean tonnes are positive. Percentiles: ``numpy.quantile``, linear method.

Memory and speed: the statistics run over blocks of measures (each needs all its draws), at most
``max_elements`` float64 elements per work array and at most ``BLOCK_ELEMENTS`` (2 MiB, so that a
block stays in the CPU cache); the work arrays are reused from block to block, each measure's
draws lie contiguous, and every array is partitioned once for its three percentiles, in place.
Every measure's numbers are computed on their own (carrier sums by ``einsum``), so the block
size does not change them.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.appraisal import perspective_parts
from climateinvest.cashflows import Flows
from climateinvest.io.city import CityData
from climateinvest.uncertainty.sampling import Multipliers

PERCENTILES = (10, 50, 90)
QUANTILES = tuple(p / 100 for p in PERCENTILES)
DEFAULT_MAX_ELEMENTS = 1 << 22  # float64 elements per work array: 32 MiB
BLOCK_ELEMENTS = 1 << 18  # float64 elements per work array of the statistics: 2 MiB
_BIG = np.finfo(float).max / 4  # stands in for +inf inside the percentile interpolation

STAT_COLUMNS = (
    "cost_per_tco2e_p10", "cost_per_tco2e_p50", "cost_per_tco2e_p90", "expected_cost_per_tco2e",
    "npv_cost_mean", "npv_cost_p10", "npv_cost_p50", "npv_cost_p90",
    "prob_saves_money", "prob_net_benefit", "prob_abates",
    "abatement_target_year_p10", "abatement_target_year_p50", "abatement_target_year_p90",
)
# the tonnes outputs of the core and the present values they are built from
TONNES = {"tonnes": ("direct", "emissions"), "tonnes_pv": ("direct_pv", "emissions_pv"),
          "abatement_year": ("direct_year", "emissions_year")}
OUTPUTS = ("npv_cost",) + tuple(TONNES)
# present values that a sequential interaction share scales (not capex and opex)
EFFECT_FIELDS = ("energy",) + tuple(f for pair in TONNES.values() for f in pair)


def carrier_calendar(flows: Flows, values: np.ndarray, years) -> np.ndarray:
    """``Flows.calendar`` of an (M, C, T) array → (M, C, Y) on calendar ``years``."""
    return flows.calendar(values.transpose(1, 0, 2), np.asarray(years)).transpose(1, 0, 2)




@dataclass(frozen=True)
class PresentValues:
    """Per-measure present values at each measure's own start year (t = 0).

    capex, opex : (M,) [currency] ; energy : (M, C) [currency]
    direct, emissions : (M,), (M, C) [t CO2e] tonnes as counted (discounted or plain)
    direct_pv, emissions_pv : (M,), (M, C) [t CO2e] discounted tonnes (for the carbon value)
    direct_year, emissions_year : (M,), (M, C) [t CO2e / year] in ``year`` (calendar)
    """

    measure_ids: tuple[str, ...]
    carriers: tuple[str, ...]
    capex: np.ndarray
    opex: np.ndarray
    energy: np.ndarray
    direct: np.ndarray
    emissions: np.ndarray
    direct_pv: np.ndarray
    emissions_pv: np.ndarray
    direct_year: np.ndarray
    emissions_year: np.ndarray
    year: int

    def columns(self, idx) -> PresentValues:
        """The measures ``idx`` (a slice: views; an integer array: copies)."""
        return replace(self, measure_ids=tuple(np.asarray(self.measure_ids, object)[idx]),
                       capex=self.capex[idx], opex=self.opex[idx],
                       **{f: getattr(self, f)[idx] for f in EFFECT_FIELDS})

    def scaled(self, scale: np.ndarray) -> PresentValues:
        """Energy effects and tonnes × ``scale`` (M,) [-] (a sequential interaction share);
        capex and opex unscaled.
        """
        s = np.asarray(scale, float)
        return replace(self, **{f: getattr(self, f) * (s if getattr(self, f).ndim == 1 else s[:, None])
                                for f in EFFECT_FIELDS})


def present_values(flows: Flows, city: CityData, rate: float, perspective: str = "municipal",
                   discount_abatement: bool = True, year: int | None = None, grant=None,
                   tax_factor: float = 1.0) -> PresentValues:
    """Present values of ``flows`` for the factorised Monte Carlo (module docstring).

    Parameters
    ----------
    flows : Flows (M measures, C carriers, T years)
    city : CityData (grant shares for the municipal perspective)
    rate : float [1/year, real]
    perspective : "municipal" (capex net of eligible grants) or "societal" (full capex)
    discount_abatement : bool  count tonnes discounted (True) or plain (False)
    year : int, optional  calendar year of the ``*_year`` abatement (default: first start year)
    grant, tax_factor : as :func:`climateinvest.appraisal.perspective_parts` (the perspective's
        investment, running and energy parts are the capex, opex and energy present values)
    """
    df = finance.discount_factors(rate, flows.n_years)  # (T,)
    tonnes_w = df if discount_abatement else np.ones_like(df)
    yr = int(year if year is not None else (flows.start_year.min() if len(flows.start_year) else 0))
    ys = np.array([yr])
    invest, running, energy = perspective_parts(flows, city, perspective, grant, tax_factor)
    return PresentValues(
        measure_ids=tuple(flows.measure_ids), carriers=tuple(flows.carriers),
        capex=invest @ df, opex=running @ df,
        energy=energy @ df,
        direct=flows.direct @ tonnes_w, emissions=flows.emissions_c @ tonnes_w,
        direct_pv=flows.direct @ df, emissions_pv=flows.emissions_c @ df,
        direct_year=flows.calendar(flows.direct, ys)[:, 0],
        emissions_year=carrier_calendar(flows, flows.emissions_c, ys)[..., 0], year=yr)


def _carrier_sum(per_carrier: np.ndarray, k_cd: np.ndarray, out: np.ndarray) -> np.ndarray:
    """(M, D) Σ_c per_carrier[m, c] · k_cd[c, d] into ``out``, by ``einsum``: with a handful of
    carriers this is a few passes over memory, as fast as one BLAS thread, and it wakes no BLAS
    threads for every block (which cost more CPU than they save, several × on a busy machine).
    """
    return np.einsum("mc,cd->md", per_carrier, k_cd, out=out)


def draws_by_measure(pv: PresentValues, k: Multipliers, want=OUTPUTS,
                     work: dict | None = None) -> dict[str, np.ndarray]:
    """The factorised core (module docstring): the outputs named in ``want`` (of ``OUTPUTS``)
    as (M, D) arrays, each measure's draws contiguous: npv_cost [currency], tonnes [t CO2e] (as
    counted), tonnes_pv [t CO2e] (discounted), abatement_year [t CO2e / year] in ``pv.year``.

    ``work``: a dict of arrays to write into, reused by the next call (filled on first use);
    the results are views of it.
    """
    M, D = len(pv.capex), k.draws
    work = {} if work is None else work

    def buffer(name):
        if name not in work or work[name].shape[0] < M or work[name].shape[1] != D:
            work[name] = np.empty((M, D))
        return work[name][:M]

    out = {}
    if "npv_cost" in want:
        npv = _carrier_sum(pv.energy, np.ascontiguousarray(k.energy_price.T), buffer("npv_cost"))
        term = buffer("scratch")
        for k_md, v_m in ((k.capex, pv.capex), (k.opex, pv.opex)):
            np.multiply(k_md.T, v_m[:, None], out=term)
            npv += term
        out["npv_cost"] = npv
    kf = np.ascontiguousarray(k.emission_factor.T)  # (C, D)
    for name, (direct, emissions) in TONNES.items():
        if name in want:
            t = _carrier_sum(getattr(pv, emissions), kf, buffer(name))
            np.subtract(getattr(pv, direct)[:, None], t, out=t)
            t *= k.abatement.T
            out[name] = t
    return out


@dataclass(frozen=True)
class DrawResults:
    """(D, M) arrays: npv_cost [currency], tonnes [t CO2e] (as counted), tonnes_pv [t CO2e]
    (discounted), abatement_year [t CO2e / year] in ``PresentValues.year``; None if not asked.
    """

    npv_cost: np.ndarray | None
    tonnes: np.ndarray | None
    tonnes_pv: np.ndarray | None
    abatement_year: np.ndarray | None


def npv_draws(pv: PresentValues, k: Multipliers, want=OUTPUTS) -> DrawResults:
    """NPV cost and tonnes of every draw and measure by the exact factorisation: the outputs of
    :func:`draws_by_measure` named in ``want``, as (D, M) views.
    """
    out = draws_by_measure(pv, k, want)
    return DrawResults(**{name: out[name].T if name in out else None for name in OUTPUTS})


def npv_draws_materialised(flows: Flows, city: CityData, k: Multipliers, rate: float,
                           perspective: str = "municipal", discount_abatement: bool = True,
                           max_elements: int = DEFAULT_MAX_ELEMENTS) -> tuple[np.ndarray, np.ndarray]:
    """The general path: build cost[d, m, t] and abatement[d, m, t] in chunks of draws and
    discount them with one matrix product each. Returns (npv_cost [currency], tonnes
    [t CO2e]), both (D, M).

    Equal to :func:`npv_draws` (up to rounding) for time-constant multipliers; this is where
    per-year randomness would go. Memory: chunks of ``max_elements // (M·T)`` draws.
    """
    df = finance.discount_factors(rate, flows.n_years)
    w = df if discount_abatement else np.ones_like(df)
    capex_net, opex_net, energy_c = perspective_parts(flows, city, perspective)
    M, T = flows.capex.shape
    D = k.draws
    npv, tonnes = np.empty((D, M)), np.empty((D, M))
    step = max(1, int(max_elements) // max(1, M * T))
    for s in range(0, D, step):  # chunks of draws, not one iteration per draw
        sl = slice(s, min(D, s + step))
        kc, ko, ka = k.capex[sl, :, None], k.opex[sl, :, None], k.abatement[sl, :, None]
        energy = np.einsum("dc,mct->dmt", k.energy_price[sl], energy_c)
        cost = capex_net * kc + opex_net * ko + energy
        npv[sl] = cost @ df
        em = np.einsum("dc,mct->dmt", k.emission_factor[sl], flows.emissions_c)
        tonnes[sl] = ((flows.direct - em) * ka) @ w
    return npv, tonnes


def divide_where_positive(num: np.ndarray, den: np.ndarray, otherwise: float) -> np.ndarray:
    """``num ÷ den`` where ``den > 0``, else ``otherwise`` (arrays of one shape; no warnings)."""
    out = np.full_like(num, otherwise, dtype=float)
    return np.divide(num, den, out=out, where=den > 0)


def cost_per_tonne_draws(npv_cost: np.ndarray, tonnes: np.ndarray) -> np.ndarray:
    """Cost per tonne per draw [currency / t CO2e]; +inf where tonnes ≤ 0 (module docstring)."""
    return divide_where_positive(npv_cost, tonnes, np.inf)


def _cost_per_tonne_quantiles(npv: np.ndarray, tonnes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Draws that abate (M,) and P10/P50/P90 (3, M) [currency / t CO2e] of npv ÷ tonnes along
    axis 1, a draw with tonnes ≤ 0 counting as +inf; NaN where no draw abates. Overwrites
    ``tonnes`` with the cost per tonne.
    """
    abates = tonnes > 0
    n_abates = np.count_nonzero(abates, axis=1)
    np.divide(npv, tonnes, out=tonnes, where=abates)
    np.copyto(tonnes, _BIG, where=np.logical_not(abates, out=abates))
    np.minimum(tonnes, _BIG, out=tonnes)  # also caps an overflow to +inf (inf − inf is NaN)
    q = np.quantile(tonnes, QUANTILES, axis=1, overwrite_input=True)
    return n_abates, np.where(n_abates > 0, np.where(q >= _BIG / 2, np.inf, q), np.nan)


def _measure_blocks(M: int, D: int, max_elements: int) -> list[slice]:
    """Blocks of measures whose (measures, D) work arrays stay within ``max_elements`` and
    ``BLOCK_ELEMENTS`` (at least one measure each).
    """
    step = max(1, min(int(max_elements), BLOCK_ELEMENTS) // max(1, D))
    return [slice(s, min(M, s + step)) for s in range(0, M, step)]


def measure_statistics(pv: PresentValues, k: Multipliers, carbon_value: float = 0.0,
                       max_elements: int = DEFAULT_MAX_ELEMENTS) -> pd.DataFrame:
    """Per-measure Monte Carlo statistics: ``measure_id`` and ``STAT_COLUMNS`` (module
    docstring), in blocks of measures so that no work array exceeds ``max_elements``.

    ``carbon_value`` [currency / t CO2e] enters only ``prob_net_benefit`` =
    P(npv_cost − carbon_value × discounted tonnes < 0).
    """
    M, D = len(pv.measure_ids), k.draws
    cols = {name: np.full(M, np.nan) for name in STAT_COLUMNS}
    want = ("npv_cost", "tonnes", "abatement_year") + (("tonnes_pv",) if carbon_value else ())
    work: dict = {}
    for idx in _measure_blocks(M, D, max_elements):
        r = draws_by_measure(pv.columns(idx), k.columns(idx), want, work)
        npv, tonnes = r["npv_cost"], r["tonnes"]
        cols["prob_saves_money"][idx] = np.count_nonzero(npv < 0, axis=1) / D
        if carbon_value:  # npv − carbon value × discounted tonnes, written over the latter
            net = r["tonnes_pv"]
            net *= -carbon_value
            net += npv
            cols["prob_net_benefit"][idx] = np.count_nonzero(net < 0, axis=1) / D
        else:
            cols["prob_net_benefit"][idx] = cols["prob_saves_money"][idx]
        cols["npv_cost_mean"][idx] = mean_cost = npv.mean(axis=1)
        cols["expected_cost_per_tco2e"][idx] = divide_where_positive(mean_cost, tonnes.mean(axis=1), np.nan)
        n_abates, cost_q = _cost_per_tonne_quantiles(npv, tonnes)
        cols["prob_abates"][idx] = n_abates / D
        quantiles = {"cost_per_tco2e": cost_q,
                     "npv_cost": np.quantile(npv, QUANTILES, axis=1, overwrite_input=True),
                     "abatement_target_year": np.quantile(r["abatement_year"], QUANTILES, axis=1,
                                                          overwrite_input=True)}
        for name, q in quantiles.items():
            for j, p in enumerate(PERCENTILES):
                cols[f"{name}_p{p}"][idx] = q[j]
    return pd.DataFrame({"measure_id": list(pv.measure_ids)} | cols)


def cost_per_tonne_percentiles(pv: PresentValues, k: Multipliers,
                               max_elements: int = DEFAULT_MAX_ELEMENTS) -> np.ndarray:
    """(3, M) [currency / t CO2e] P10/P50/P90 of each measure's cost per tonne over the draws,
    as in :func:`measure_statistics` (and only those).
    """
    M, D = len(pv.measure_ids), k.draws
    out = np.full((len(PERCENTILES), M), np.nan)
    work: dict = {}
    for idx in _measure_blocks(M, D, max_elements):
        r = draws_by_measure(pv.columns(idx), k.columns(idx), ("npv_cost", "tonnes"), work)
        out[:, idx] = _cost_per_tonne_quantiles(r["npv_cost"], r["tonnes"])[1]
    return out

"""Monte Carlo uncertainty and one-at-a-time sensitivity (tornado) over the cash-flow arrays.

Sampling (``uncertainty.csv``, DESIGN.md section 3)
---------------------------------------------------
* Each row gives a distribution (``triangular`` or ``uniform``) of a **multiplier** of the base
  value: ``low``, ``mode``, ``high`` [-]. Parameters: ``capex``, ``opex``, ``abatement`` (per
  measure) and ``energy_price``, ``emission_factor`` (per carrier).
* A ``*`` row draws **one** multiplier per draw shared by every measure (or carrier) without a
  row of its own: perfectly correlated, e.g. a general optimism bias on investment costs.
* A row naming a measure (or carrier) draws that target's **own** multiplier, independent of the
  ``*`` one, and **overrides** it for that target (it replaces it, it is not multiplied with it).
* Targets without any row keep multiplier 1. A row whose target is of the wrong kind for its
  parameter (a carrier on ``capex``) or a carrier no measure uses is ignored and said in
  ``summary["notes"]``.
* Random numbers: ``numpy.random.default_rng`` seeded with the entropy (seed, parameter,
  crc32(target)): every row has its own stream, so a row's draws do not change when other rows or
  measures are added, removed or reordered (common random numbers across scenarios of a city).
  Each draw is one uniform number u mapped through the inverse CDF of the row's distribution
  (:func:`ppf`). This equals ``rng.triangular`` / ``rng.uniform`` in distribution, but is exact
  for a zero-width row (low = mode = high gives the mode, where ``rng.triangular`` raises), and
  needs one generator call per row, not one per distribution kind.

Core (vectorised over draws × measures; no Python loop per draw or per measure)
---------------------------------------------------------------------------------
For draw d, measure m, carrier c, relative year t (``cashflows`` conventions)::

    cost[d,m,t]      = capex_net[m,t]·kc[d,m] + opex[m,t]·ko[d,m] + Σ_c energy_c[m,c,t]·kp[d,c]
    abatement[d,m,t] = (direct[m,t] − Σ_c emissions_c[m,c,t]·kf[d,c]) · ka[d,m]

The multipliers do not depend on t, so the NPV **factorises exactly** into present values
computed once per measure (one pass over the (M, T) arrays) and a small matrix product::

    npv_cost[d,m] = kc[d,m]·PV(capex_net)[m] + ko[d,m]·PV(opex)[m] + (kp @ PV(energy_c).T)[d,m]
    tonnes[d,m]   = ka[d,m]·(T(direct)[m] − (kf @ T(emissions_c).T)[d,m])

with T = discounted (``discount_abatement``) or plain sums of tonnes. The work is O(D·M·C)
instead of O(D·M·T). :func:`npv_draws_materialised` is the general path (the (d, m, t) cost array
built in chunks over draws and multiplied with the discount factors); it is kept for per-year
randomness and as a check, and the tests show both agree. ``capex_net`` is the capex net of the
measure's eligible grant shares in the municipal perspective (as ``appraisal.net_cost``), the
full capex in the societal one; the cost per tonne never includes the carbon value (as
``appraisal``); ``npv_net`` subtracts it in the societal perspective.

Per measure (at the appraisal start years, standalone): P10/P50/P90 of the cost per tonne,
P(saves money) = P(npv_cost < 0), and the abatement in the target year. In the percentiles a draw
in which the measure abates nothing or adds emissions (tonnes ≤ 0) counts as an **infinite** cost
per tonne (the money buys no abatement): a P90 of ``inf`` says "in more than 10 % of the futures
this measure does not abate"; ``prob_abates`` gives the share. (The deterministic appraisal gives
NaN / a negative ratio there.) ``expected_cost_per_tco2e`` = E[npv_cost] ÷ E[tonnes] is always
finite where the mean tonnes are positive. Percentiles: ``numpy.percentile``, linear method.

Portfolio (the deterministic chosen portfolio, held fixed: measures, start years and sequential
scales): per draw the pathway of ``pathway.build_pathway`` (abatement × scale booked on its
source, each source clipped at zero, scopes kept apart) → fan chart of the with-portfolio
territorial emissions, the distribution of the target-year abatement and
P(meet target) = P(with-portfolio territorial emissions in the target year ≤ target level).
Portfolio cost per tonne = Σ NPV cost ÷ Σ tonnes of the chosen measures, each measure's NPV (and
discounted tonnes) at its chosen start year, moved to the budget year by (1 + r)^−(start −
budget_cycle); energy effects and tonnes scaled by the measure's ``scale``.

Selection frequency: see :func:`selection_frequency`. Tornado: see :func:`tornado`.
Memory is bounded by ``max_elements`` (float64 elements per work array, default 2**22 = 32 MB):
the per-measure statistics are computed in chunks of measures (each needs all its draws), the
pathway draws in chunks of draws.
"""
from __future__ import annotations

import time
import warnings
import zlib
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from . import finance
from .appraisal import appraise, grant_share
from .cashflows import Flows, build_flows
from .data import CityData
from .errors import ValidationError
from .financing import select_flows
from .scenario import Scenario

MEASURE_PARAMETERS = ("capex", "opex", "abatement")
CARRIER_PARAMETERS = ("energy_price", "emission_factor")
PARAMETERS = MEASURE_PARAMETERS + CARRIER_PARAMETERS
ANY = "*"
PERCENTILES = (10, 50, 90)
DEFAULT_MAX_ELEMENTS = 1 << 22
_BIG = np.finfo(float).max / 4  # stands in for +inf inside percentile interpolation

# Tornado settings (cited): SKR internränta 2025 = 2.5 % (the default rate); the European
# Commission's Impact Assessment Guidelines (SEC(2009) 92) use 4 % real as the social rate.
TORNADO_RATES = (0.01, 0.04)
TORNADO_PRICE_FACTORS = (0.7, 1.3)  # when the city has no "low"/"high" price paths
TORNADO_CAPEX_FALLBACK = (0.8, 1.2)  # when uncertainty.csv has no "*" capex row
ASEK_SEK_PER_T = 7000.0  # ASEK 7.0: 7 SEK/kg CO2e (Trafikverket), used when the scenario has none

MEASURE_COLUMNS = [
    "measure_id", "name", "sector", "emission_source", "payer", "start_year",
    "cost_per_tco2e", "cost_per_tco2e_p10", "cost_per_tco2e_p50", "cost_per_tco2e_p90",
    "expected_cost_per_tco2e", "npv_cost_mean", "npv_cost_p10", "npv_cost_p50", "npv_cost_p90",
    "prob_saves_money", "prob_net_benefit", "prob_abates",
    "abatement_target_year_tco2e", "abatement_target_year_p10", "abatement_target_year_p50",
    "abatement_target_year_p90",
]
TORNADO_COLUMNS = ["parameter", "low_label", "high_label", "metric", "unit", "low_value",
                   "base_value", "high_value", "swing"]
METRIC_UNITS = {"cost_per_tco2e": "{cur}/t CO2e", "net_cost_per_tco2e": "{cur}/t CO2e",
                "gap_tco2e": "t CO2e/year"}


# --- sampling -----------------------------------------------------------------------------------

def ppf(distribution, low, mode, high, u):
    """Inverse CDF of the multiplier distributions, vectorised.

    Parameters
    ----------
    distribution : str or array of str, ``"triangular"`` or ``"uniform"``
    low, mode, high : float or array [-] multipliers (low ≤ mode ≤ high; ``mode`` unused for
        ``uniform``)
    u : float or array in [0, 1) [-] uniform numbers (or probabilities, e.g. 0.1 for P10)

    Returns
    -------
    array [-]: low when high == low (zero width), exactly.

    Notes
    -----
    Triangular (a = low, c = mode, b = high): F(c) = (c − a)/(b − a);
    x = a + √(u (b − a)(c − a)) for u < F(c), else b − √((1 − u)(b − a)(b − c)).
    Uniform: x = a + u (b − a).
    """
    dist = np.asarray(distribution)
    a, c, b, u = (np.asarray(x, dtype=float) for x in (low, mode, high, u))
    width = b - a
    zero = width <= 0
    safe = np.where(zero, 1.0, width)
    fc = np.where(zero, 0.0, (c - a) / safe)
    with np.errstate(invalid="ignore"):
        left = a + np.sqrt(np.maximum(u * width * (c - a), 0.0))
        right = b - np.sqrt(np.maximum((1.0 - u) * width * (b - c), 0.0))
    tri = np.where(u < fc, left, right)
    uni = a + u * width
    out = np.where(dist == "uniform", uni, tri)
    return np.where(zero, a, out)


@dataclass(frozen=True)
class Multipliers:
    """Multipliers of the base values per draw [-]; arrays may be read-only broadcast views.

    capex, opex, abatement : (D, M) ; energy_price, emission_factor : (D, C)
    """

    capex: np.ndarray
    opex: np.ndarray
    abatement: np.ndarray
    energy_price: np.ndarray
    emission_factor: np.ndarray
    measure_ids: tuple[str, ...] = ()
    carriers: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def draws(self) -> int:
        return self.capex.shape[0]

    @classmethod
    def ones(cls, draws: int, measure_ids, carriers) -> Multipliers:
        """All multipliers 1 (the deterministic case)."""
        m, c = np.ones((int(draws), len(measure_ids))), np.ones((int(draws), len(carriers)))
        return cls(m, m, m, c, c, tuple(measure_ids), tuple(carriers))

    def rows(self, index) -> Multipliers:
        """The draws ``index`` (a slice or integer array)."""
        return replace(self, **{p: getattr(self, p)[index] for p in PARAMETERS})

    def columns(self, measure_idx) -> Multipliers:
        """The measures ``measure_idx`` (a slice: views; an integer array: copies), all carriers."""
        return replace(self, measure_ids=tuple(np.asarray(self.measure_ids, object)[measure_idx]),
                       **{p: getattr(self, p)[:, measure_idx] for p in MEASURE_PARAMETERS})

    def with_(self, **arrays) -> Multipliers:
        """A copy with some parameters replaced (arrays broadcast to their shapes)."""
        out = {}
        for p, v in arrays.items():
            shape = getattr(self, p).shape
            out[p] = np.broadcast_to(np.asarray(v, float), shape)
        return replace(self, **out)


def _stream(seed: int, parameter: str, target: str, draws: int) -> np.ndarray:
    entropy = [int(seed) % (1 << 128), PARAMETERS.index(parameter), zlib.crc32(target.encode("utf-8"))]
    return np.random.default_rng(entropy).random(draws)


def sample_multipliers(table: pd.DataFrame, measure_ids, carriers, draws: int, seed: int) -> Multipliers:
    """Draw the multipliers of ``table`` (the city's ``uncertainty`` table) for ``draws`` draws.

    Parameters
    ----------
    table : DataFrame with target, parameter, distribution, low, mode, high
    measure_ids : sequence (M,) of measure ids ; carriers : sequence (C,) of carriers
    draws : int (≥ 1) ; seed : int

    Returns
    -------
    Multipliers ; parameters with only a ``*`` row (or none) are broadcast views of (D, 1).

    Notes
    -----
    See the module docstring (sharing, override, streams). Same seed → identical numbers.
    """
    draws = int(draws)
    if draws < 1:
        raise ValueError(f"draws must be ≥ 1, got {draws}")
    ids, cars = tuple(map(str, measure_ids)), tuple(map(str, carriers))
    notes = []
    out = {}
    for p in PARAMETERS:
        targets = ids if p in MEASURE_PARAMETERS else cars
        pos = {t: i for i, t in enumerate(targets)}
        rows = table[table["parameter"] == p] if len(table) else table
        star = None
        own = []
        for r in rows.itertuples(index=False):
            tgt = str(r.target)
            if tgt == ANY:
                star = r
            elif tgt in pos:
                own.append((pos[tgt], r))
            else:
                kind = "measure" if p in MEASURE_PARAMETERS else "carrier"
                notes.append(f"uncertainty row ({tgt}, {p}) ignored: {tgt!r} is not a {kind} "
                             "of these flows")

        def draw(r, p=p):
            u = _stream(seed, p, str(r.target), draws)
            return ppf(r.distribution, r.low, r.mode, r.high, u)

        base = draw(star)[:, None] if star is not None else np.ones((draws, 1))
        if not own:
            out[p] = np.broadcast_to(base, (draws, len(targets)))
            continue
        k = np.repeat(base, len(targets), axis=1)
        for i, r in own:  # one stream per row (see module docstring); not part of the core
            k[:, i] = draw(r)
        out[p] = k
    return Multipliers(**out, measure_ids=ids, carriers=cars, notes=tuple(notes))


# --- present values and the vectorised core ------------------------------------------------------

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


def _calendar_mc(flows: Flows, values: np.ndarray, years) -> np.ndarray:
    """``Flows.calendar`` of an (M, C, T) array → (M, C, Y)."""
    return flows.calendar(values.transpose(1, 0, 2), np.asarray(years)).transpose(1, 0, 2)


def _grants(city: CityData, measure_ids, perspective: str) -> np.ndarray:
    if perspective != "municipal":
        return np.zeros(len(measure_ids))
    g = pd.Series(grant_share(city), index=city.measure_ids)
    return g.reindex(list(measure_ids)).fillna(0.0).to_numpy(float)


def present_values(flows: Flows, city: CityData, rate: float, perspective: str = "municipal",
                   discount_abatement: bool = True, year: int | None = None) -> PresentValues:
    """Present values of ``flows`` for the factorised Monte Carlo (module docstring).

    Parameters
    ----------
    flows : Flows (M measures, C carriers, T years)
    city : CityData (grant shares for the municipal perspective)
    rate : float [1/year, real]
    perspective : "municipal" (capex net of eligible grants) or "societal" (full capex)
    discount_abatement : bool  count tonnes discounted (True) or plain (False)
    year : int, optional  calendar year of the ``*_year`` abatement (default: first start year)
    """
    df = finance.discount_factors(rate, flows.n_years)  # (T,)
    capex_net = flows.capex * (1.0 - _grants(city, flows.measure_ids, perspective))[:, None]
    tonnes_w = df if discount_abatement else np.ones_like(df)
    yr = int(year if year is not None else (flows.start_year.min() if len(flows.start_year) else 0))
    ys = np.array([yr])
    return PresentValues(
        measure_ids=tuple(flows.measure_ids), carriers=tuple(flows.carriers),
        capex=capex_net @ df, opex=flows.opex @ df, energy=flows.energy_cost_c @ df,
        direct=flows.direct @ tonnes_w, emissions=flows.emissions_c @ tonnes_w,
        direct_pv=flows.direct @ df, emissions_pv=flows.emissions_c @ df,
        direct_year=flows.calendar(flows.direct, ys)[:, 0],
        emissions_year=_calendar_mc(flows, flows.emissions_c, ys)[..., 0], year=yr)


@dataclass(frozen=True)
class DrawResults:
    """(D, M) arrays: npv_cost [currency], tonnes [t CO2e] (as counted), tonnes_pv [t CO2e]
    (discounted), abatement_year [t CO2e / year] in ``PresentValues.year``."""

    npv_cost: np.ndarray
    tonnes: np.ndarray
    tonnes_pv: np.ndarray
    abatement_year: np.ndarray


def npv_draws(pv: PresentValues, k: Multipliers,
              want=("npv_cost", "tonnes", "tonnes_pv", "abatement_year")) -> DrawResults:
    """NPV cost and tonnes for every draw and measure by the exact factorisation (module
    docstring): element-wise products and (D, C) @ (C, M) matrix products, in place where
    possible. ``want`` names the outputs to compute (the others are None)."""
    buf = None

    def mul_add(out, k_dm, v_m):
        nonlocal buf
        if buf is None:
            buf = np.empty(out.shape)
        np.multiply(k_dm, v_m, out=buf)
        out += buf

    def tonnes_of(direct, emissions):
        t = k.emission_factor @ emissions.T  # (D, M)
        np.subtract(direct, t, out=t)
        t *= k.abatement
        return t

    npv = None
    if "npv_cost" in want:
        npv = k.energy_price @ pv.energy.T
        mul_add(npv, k.capex, pv.capex)
        mul_add(npv, k.opex, pv.opex)
    return DrawResults(
        npv_cost=npv,
        tonnes=tonnes_of(pv.direct, pv.emissions) if "tonnes" in want else None,
        tonnes_pv=tonnes_of(pv.direct_pv, pv.emissions_pv) if "tonnes_pv" in want else None,
        abatement_year=tonnes_of(pv.direct_year, pv.emissions_year) if "abatement_year" in want else None)


def npv_draws_materialised(flows: Flows, city: CityData, k: Multipliers, rate: float,
                           perspective: str = "municipal", discount_abatement: bool = True,
                           max_elements: int = DEFAULT_MAX_ELEMENTS) -> tuple[np.ndarray, np.ndarray]:
    """The general path: build cost[d, m, t] and abatement[d, m, t] in chunks of draws and
    discount them with one matrix product each. Returns (npv_cost, tonnes), both (D, M).

    Equal to :func:`npv_draws` (up to rounding) for time-constant multipliers; this is where
    per-year randomness would go. Memory: chunks of ``max_elements // (M·T)`` draws.
    """
    df = finance.discount_factors(rate, flows.n_years)
    w = df if discount_abatement else np.ones_like(df)
    capex_net = flows.capex * (1.0 - _grants(city, flows.measure_ids, perspective))[:, None]
    M, T = flows.capex.shape
    D = k.draws
    npv, tonnes = np.empty((D, M)), np.empty((D, M))
    step = max(1, int(max_elements) // max(1, M * T))
    for s in range(0, D, step):  # chunks of draws, not one iteration per draw
        sl = slice(s, min(D, s + step))
        kc, ko, ka = k.capex[sl, :, None], k.opex[sl, :, None], k.abatement[sl, :, None]
        energy = np.einsum("dc,mct->dmt", k.energy_price[sl], flows.energy_cost_c)
        cost = capex_net * kc + flows.opex * ko + energy
        npv[sl] = cost @ df
        em = np.einsum("dc,mct->dmt", k.emission_factor[sl], flows.emissions_c)
        tonnes[sl] = ((flows.direct - em) * ka) @ w
    return npv, tonnes


def _percentiles(x: np.ndarray, q=PERCENTILES) -> np.ndarray:
    """Percentiles along axis 0 with +inf allowed (linear method). Returns (len(q), ...).
    ``x`` is overwritten (+inf is replaced by a large finite stand-in for the interpolation)."""
    np.minimum(x, _BIG, out=x)
    p = np.percentile(x, q, axis=0)
    return np.where(p >= _BIG / 2, np.inf, p)


def cost_per_tonne_draws(npv_cost: np.ndarray, tonnes: np.ndarray) -> np.ndarray:
    """Cost per tonne per draw [currency / t CO2e]; +inf where tonnes ≤ 0 (module docstring)."""
    out = np.full(np.shape(npv_cost), np.inf)
    return np.divide(npv_cost, tonnes, out=out, where=tonnes > 0)


def measure_statistics(pv: PresentValues, k: Multipliers, carbon_value: float = 0.0,
                       max_elements: int = DEFAULT_MAX_ELEMENTS) -> pd.DataFrame:
    """Per-measure Monte Carlo statistics (columns ``measure_id`` and the ``*_p10`` … of
    ``MEASURE_COLUMNS``), in chunks of measures so that no work array exceeds ``max_elements``.

    ``carbon_value`` [currency / t CO2e] enters only ``prob_net_benefit`` =
    P(npv_cost − carbon_value × discounted tonnes < 0).
    """
    M, D = len(pv.measure_ids), k.draws
    step = max(1, int(max_elements) // max(1, D))
    cols = {name: np.full(M, np.nan) for name in MEASURE_COLUMNS[6:]}
    want = ("npv_cost", "tonnes", "abatement_year") + (("tonnes_pv",) if carbon_value else ())
    for s in range(0, M, step):  # chunks of measures (each needs all its draws for percentiles)
        idx = slice(s, min(M, s + step))
        r = npv_draws(_pv_columns(pv, idx), k.columns(idx), want)
        npv, tonnes = r.npv_cost, r.tonnes
        saves = np.count_nonzero(npv < 0, axis=0) / D
        cols["prob_saves_money"][idx] = saves
        cols["prob_net_benefit"][idx] = (np.count_nonzero(npv - carbon_value * r.tonnes_pv < 0, axis=0) / D
                                         if carbon_value else saves)
        n_abates = np.count_nonzero(tonnes > 0, axis=0)
        cols["prob_abates"][idx] = n_abates / D
        mean_cost, mean_t = npv.mean(axis=0), tonnes.mean(axis=0)
        cols["npv_cost_mean"][idx] = mean_cost
        with np.errstate(divide="ignore", invalid="ignore"):
            cols["expected_cost_per_tco2e"][idx] = np.where(mean_t > 0, mean_cost / mean_t, np.nan)
        pn = np.percentile(npv, PERCENTILES, axis=0)
        pa = np.percentile(r.abatement_year, PERCENTILES, axis=0)
        p = _percentiles(cost_per_tonne_draws(npv, tonnes))  # all draws ≤ 0 tonnes: NaN, not inf
        for j, q in enumerate(PERCENTILES):
            cols[f"npv_cost_p{q}"][idx] = pn[j]
            cols[f"abatement_target_year_p{q}"][idx] = pa[j]
            cols[f"cost_per_tco2e_p{q}"][idx] = np.where(n_abates > 0, p[j], np.nan)
    return pd.DataFrame({"measure_id": list(pv.measure_ids)} | cols)


def _pv_columns(pv: PresentValues, idx) -> PresentValues:
    return replace(pv, measure_ids=tuple(np.asarray(pv.measure_ids, object)[idx]),
                   **{f: getattr(pv, f)[idx] for f in ("capex", "opex", "energy", "direct", "emissions",
                                                       "direct_pv", "emissions_pv", "direct_year",
                                                       "emissions_year")})


# --- portfolio ------------------------------------------------------------------------------------

def _start_years(flows: Flows, chosen: pd.DataFrame) -> np.ndarray:
    start = flows.start_year.copy()
    if "start_year" in chosen.columns:
        pos = {m: i for i, m in enumerate(flows.measure_ids)}
        for mid, y in zip(chosen["measure_id"], chosen["start_year"]):
            start[pos[mid]] = int(y)
    return start


def chosen_flows(city: CityData, scenario: Scenario, flows: Flows, chosen: pd.DataFrame,
                 price_path: str | None = None, factor_set: str | None = None) -> Flows:
    """Flows of the ``chosen`` measures (in ``chosen`` order) at their chosen start years: taken
    from ``flows`` when the start years, price path and factor set are the same, else built for
    those measures only (as ``portfolio.flows_for_chosen``)."""
    start = _start_years(flows, chosen)
    pos = {m: i for i, m in enumerate(flows.measure_ids)}
    idx = np.array([pos[m] for m in chosen["measure_id"]], dtype=int)
    same = (price_path in (None, scenario.price_path)
            and factor_set in (None, scenario.emission_factor_set)
            and np.array_equal(start[idx], flows.start_year[idx]))
    if same:
        return select_flows(flows, chosen["measure_id"])
    sub = replace(city, measures=city.measures.set_index("measure_id").loc[list(chosen["measure_id"])]
                  .reset_index())
    return build_flows(sub, price_path or scenario.price_path, factor_set or scenario.emission_factor_set,
                       start[idx])


@dataclass(frozen=True)
class _Portfolio:
    """The chosen portfolio prepared for per-draw evaluation (all arrays for the K chosen)."""

    ids: tuple[str, ...]
    scale: np.ndarray  # (K,)
    pv: PresentValues  # at each start year
    shift: np.ndarray  # (K,) (1 + r)^-(start - budget_cycle)
    shift_tonnes: np.ndarray  # (K,) shift if tonnes are discounted, else 1
    counted: np.ndarray  # (K,) bool: counts in the pathway (include_external)
    years: np.ndarray  # (Y,)
    baseline: np.ndarray  # (S, Y)
    territorial: np.ndarray  # (S,) bool
    g_direct: np.ndarray  # (K, S·Y)
    g_emis: np.ndarray  # (K·C, S·Y)
    target_year: int
    target_level: float


def _prepare_portfolio(city, scenario, flows_c: Flows, chosen: pd.DataFrame, pathway, rate=None) -> _Portfolio:
    rate = scenario.discount_rate if rate is None else rate
    ids = tuple(flows_c.measure_ids)
    scale = (chosen.set_index("measure_id")["scale"].reindex(list(ids)).fillna(1.0).to_numpy(float)
             if "scale" in chosen.columns else np.ones(len(ids)))
    pv = present_values(flows_c, city, rate, scenario.perspective, scenario.discount_abatement,
                        year=scenario.target.year)
    shift = (1.0 + rate) ** -(flows_c.start_year - scenario.budget_cycle).astype(float)
    shift_t = shift if scenario.discount_abatement else np.ones(len(ids))
    counted_ids = set(pathway.summary.get("measures_counted", ids))
    counted = np.array([m in counted_ids for m in ids], dtype=bool)
    bs = pathway.by_source
    years = pathway.table["year"].to_numpy(int)
    sources = list(dict.fromkeys(bs["source_id"]))
    base = (bs.pivot(index="source_id", columns="year", values="baseline_tco2e")
            .reindex(index=sources, columns=years).to_numpy(float))
    scope = bs.drop_duplicates("source_id").set_index("source_id")["scope"].reindex(sources)
    terr = (scope == "territorial").to_numpy(bool)
    src_of = city.measures.set_index("measure_id")["emission_source"].reindex(list(ids)).to_numpy(object)
    s_idx = np.array([sources.index(s) if s in sources else -1 for s in src_of], dtype=int)
    K, C, S, Y = len(ids), len(flows_c.carriers), len(sources), len(years)
    onehot = np.zeros((K, S))
    ok = counted & (s_idx >= 0)
    onehot[np.arange(K)[ok], s_idx[ok]] = 1.0
    w = onehot * scale[:, None]  # (K, S)
    direct_cal = flows_c.calendar(flows_c.direct, years)  # (K, Y)
    emis_cal = _calendar_mc(flows_c, flows_c.emissions_c, years)  # (K, C, Y)
    g_direct = (w[:, :, None] * direct_cal[:, None, :]).reshape(K, S * Y)
    g_emis = (w[:, None, :, None] * emis_cal[:, :, None, :]).reshape(K * C, S * Y)
    return _Portfolio(ids, scale, pv, shift, shift_t, counted, years, base, terr, g_direct, g_emis,
                      int(scenario.target.year), float(pathway.summary["target_tco2e"]))


def _portfolio_draws(p: _Portfolio, k: Multipliers, carbon_value: float = 0.0,
                     max_elements: int = DEFAULT_MAX_ELEMENTS) -> dict[str, np.ndarray]:
    """Per draw: npv_cost, tonnes, net cost (carbon value), cost per tonne (D,) and the
    territorial / indirect with-portfolio emissions (D, Y)."""
    pv, s = p.pv, p.scale
    npv = (k.capex * pv.capex + k.opex * pv.opex + s * (k.energy_price @ pv.energy.T)) @ p.shift
    kf = k.emission_factor
    tonnes = (s * k.abatement * (pv.direct - kf @ pv.emissions.T)) @ p.shift_tonnes
    tonnes_pv = (s * k.abatement * (pv.direct_pv - kf @ pv.emissions_pv.T)) @ p.shift
    net = npv - carbon_value * tonnes_pv
    with np.errstate(divide="ignore", invalid="ignore"):
        cpt = np.where(tonnes > 0, npv / np.where(tonnes > 0, tonnes, 1.0), np.nan)
        net_cpt = np.where(tonnes > 0, net / np.where(tonnes > 0, tonnes, 1.0), np.nan)
    D = k.draws
    S, Y = p.baseline.shape
    K, C = len(p.ids), len(p.pv.carriers)
    terr, ind = np.empty((D, Y)), np.empty((D, Y))
    step = max(1, int(max_elements) // max(1, S * Y, K * C))
    for a in range(0, D, step):  # chunks of draws
        sl = slice(a, min(D, a + step))
        ka = k.abatement[sl]
        z = (ka[:, :, None] * kf[sl][:, None, :]).reshape(-1, K * C)
        ab = (ka @ p.g_direct - z @ p.g_emis).reshape(-1, S, Y)
        with_p = np.maximum(p.baseline[None] - ab, 0.0)
        terr[sl] = with_p[:, p.territorial].sum(axis=1)
        ind[sl] = with_p[:, ~p.territorial].sum(axis=1)
    return {"npv_cost": npv, "tonnes": tonnes, "net_cost": net, "cost_per_tco2e": cpt,
            "net_cost_per_tco2e": net_cpt, "territorial": terr, "indirect": ind}


def _target_index(p: _Portfolio) -> int | None:
    hit = np.flatnonzero(p.years == p.target_year)
    return int(hit[0]) if len(hit) else None


# --- selection frequency ------------------------------------------------------------------------

def perturbed_city(city: CityData, k: Multipliers, d: int, flows: Flows | None = None,
                   reference_year: int | None = None) -> CityData:
    """The city with draw ``d``'s multipliers applied to its tables (for re-running the selection).

    capex, opex_change_per_year and direct abatement scaled per measure; prices and emission
    factors per carrier. The abatement multiplier of energy-related tonnes cannot be written into
    the tables exactly (scaling the MWh would also scale the energy bill): it is added as direct
    abatement (ka − 1) × the measure's energy-related abatement in ``reference_year`` (needs
    ``flows``), exact in that year and approximate in others.
    """
    ids = list(k.measure_ids)
    m = city.measures.copy()
    pos = pd.Series(np.arange(len(ids)), index=ids).reindex(m["measure_id"]).to_numpy()
    have = ~np.isnan(pos)
    i = np.where(have, pos, 0).astype(int)

    def col(arr):
        return np.where(have, np.asarray(arr)[d, i], 1.0)

    ka = col(k.abatement)
    m["capex"] = m["capex"] * col(k.capex)
    m["opex_change_per_year"] = m["opex_change_per_year"] * col(k.opex)
    direct = m["direct_abatement_tco2e_per_year"].to_numpy(float) * ka
    if flows is not None and reference_year is not None:
        kf = pd.Series(k.emission_factor[d], index=list(k.carriers)).reindex(list(flows.carriers)).fillna(1.0)
        em = _calendar_mc(flows, flows.emissions_c, np.array([reference_year]))[..., 0] @ kf.to_numpy(float)
        energy_ab = pd.Series(-em, index=list(flows.measure_ids)).reindex(m["measure_id"]).fillna(0.0).to_numpy()
        direct = direct + (ka - 1.0) * energy_ab
    m["direct_abatement_tco2e_per_year"] = direct
    kp = dict(zip(k.carriers, k.energy_price[d]))
    kf_d = dict(zip(k.carriers, k.emission_factor[d]))
    prices = city.energy_prices.copy()
    prices["price_per_mwh"] = prices["price_per_mwh"] * prices["carrier"].map(kp).fillna(1.0).astype(float)
    factors = city.emission_factors.copy()
    factors["kgco2e_per_mwh"] = factors["kgco2e_per_mwh"] * factors["carrier"].map(kf_d).fillna(1.0).astype(float)
    return replace(city, measures=m, energy_prices=prices, emission_factors=factors)


CITY_PAYERS = ("municipality", "municipal_company")


def greedy_selection(cpt: np.ndarray, k_capex: np.ndarray, spend: np.ndarray, budget,
                     candidate: np.ndarray, group=None, requires=None, abatement=None,
                     stop_at: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """"Fund down the cost curve" of every draw at once, under yearly budgets.

    Parameters
    ----------
    cpt : (R, M) [currency / t CO2e]  cost per tonne per draw (+inf or NaN = not a candidate)
    k_capex : (R, M) [-]  capex multipliers per draw
    spend : (M, S, P) [currency]  budget-counted investment in plan year p when started in plan
        year s (0 for payers outside the budget), at base capex
    budget : (P,) [currency] or None (no budget constraint)
    candidate : (M, S) bool  may measure m start in plan year s
    group : (M,) exclusive-group labels ("" = none): at most one measure per group
    requires : (M,) int, index of the required measure (−1 = none): chosen only if that one is
        already chosen to start no later
    abatement, stop_at : (R, M) [t CO2e / year] and float: stop a draw's walk once the summed
        abatement of its chosen measures reaches ``stop_at`` (the ``min_cost`` objective)

    Returns
    -------
    chosen (R, M) bool, start (R, M) int (plan-year index, −1 if not chosen)

    Notes
    -----
    As ``portfolio``'s greedy baseline, per draw: measures in order of the draw's cost per tonne
    (cheapest first), each started in the earliest plan year whose remaining budget takes its
    whole in-cycle investment; skipped if its exclusive group is taken or its required measure is
    not chosen. The loop runs over the M rank positions, each step over all R draws at once (no
    loop per draw). Not modelled: the sequential interaction in the order (standalone cost per
    tonne) and the source caps of ``independent``.
    """
    cpt = np.where(np.isfinite(cpt), cpt, np.inf)
    R, M = cpt.shape
    S, P = spend.shape[1], spend.shape[2]
    order = np.argsort(cpt, axis=1, kind="stable")
    rows = np.arange(R)
    chosen = np.zeros((R, M), dtype=bool)
    start = np.full((R, M), -1, dtype=int)
    left = np.full((R, P), np.inf) if budget is None else np.tile(np.asarray(budget, float), (R, 1))
    tol = 1e-9 * max(1.0, float(np.abs(spend).max(initial=0.0)))
    labels = pd.Series(list(group) if group is not None else [""] * M, dtype=object).fillna("").astype(str)
    codes = np.where(labels.to_numpy(object) == "", -1, pd.factorize(labels)[0])
    taken = np.zeros((R, max(1, int(codes.max(initial=-1)) + 1)), dtype=bool)
    req = np.full(M, -1) if requires is None else np.asarray(requires, int)
    done = np.zeros(R, dtype=bool)
    got = np.zeros(R)
    s_idx = np.arange(S)
    for j in range(M):  # rank positions; every step is vectorised over the draws
        m = order[:, j]
        ok = np.isfinite(cpt[rows, m]) & ~done
        g = codes[m]
        ok &= np.where(g >= 0, ~taken[rows, np.maximum(g, 0)], True)
        r = req[m]
        has_req = r >= 0
        r_start = np.where(has_req, start[rows, np.maximum(r, 0)], 0)
        ok &= ~has_req | (r_start >= 0)
        need = spend[m] * k_capex[rows, m][:, None, None]  # (R, S, P)
        fits = (need <= left[:, None, :] + tol).all(axis=2) & candidate[m]  # (R, S)
        fits &= s_idx[None, :] >= np.where(has_req, r_start, 0)[:, None]
        ok &= fits.any(axis=1)
        s = np.argmax(fits, axis=1)
        sel = rows[ok]
        chosen[sel, m[ok]] = True
        start[sel, m[ok]] = s[ok]
        left[sel] -= need[sel, s[ok]]
        gg = g[ok]
        taken[sel[gg >= 0], gg[gg >= 0]] = True
        if abatement is not None and stop_at is not None:
            got += np.where(ok, abatement[rows, m], 0.0)
            done |= got >= stop_at
    return chosen, start


def _greedy_inputs(city: CityData, scenario: Scenario, ids) -> dict:
    """spend (M, S, P), candidate (M, S), group, requires for :func:`greedy_selection`, from
    the city's measures (``portfolio``'s rules: budget payers municipality and
    municipal_company, gross capex spread evenly from the start year, external measures outside
    the budget and only with ``include_external``)."""
    m = city.measures.set_index("measure_id").reindex(list(ids))
    plan = np.asarray(scenario.plan_years, dtype=int)
    cy = m["capex_years"].to_numpy(float)
    counts = m["payer"].isin(CITY_PAYERS).to_numpy(bool)
    per_year = m["capex"].to_numpy(float) / cy * counts  # (M,)
    s_year, p_year = plan[:, None], plan[None, :]
    inside = (p_year >= s_year)[None] & (p_year[None] < s_year[None] + cy[:, None, None])  # (M, S, P)
    spend = per_year[:, None, None] * inside
    candidate = m["earliest_start_year"].to_numpy(float)[:, None] <= plan[None, :]
    if not scenario.include_external:
        candidate &= (m["payer"].to_numpy(object) != "external")[:, None]
    pos = {mid: i for i, mid in enumerate(ids)}
    requires = np.array([pos.get(r, -2) if r else -1 for r in m["requires"].fillna("").astype(str)])
    candidate &= (requires != -2)[:, None]  # a required measure outside these flows: never
    budget = None
    if scenario.investment_budget:
        budget = np.array([float(scenario.investment_budget.get(int(y), 0.0)) for y in plan])
    return {"spend": spend, "candidate": candidate, "budget": budget,
            "group": m["exclusive_group"].fillna("").astype(str).to_numpy(object),
            "requires": np.maximum(requires, -1)}


def selection_frequency(city: CityData, scenario: Scenario, flows: Flows, k: Multipliers,
                        draws: int, method: str = "greedy", chosen: pd.DataFrame | None = None,
                        pv: PresentValues | None = None) -> tuple[pd.DataFrame, dict]:
    """How often each measure is chosen when the selection is repeated over the first ``draws``
    Monte Carlo draws.

    Methods
    -------
    ``"greedy"`` (default): :func:`greedy_selection` over all draws at once, ordered by each
    draw's standalone cost per tonne (appraisal start years, reference-year abatement > 0 as on
    the MAC curve). Milliseconds for hundreds of draws; an approximation of the MILP, labelled so
    in the ``method`` column.
    ``"milp"``: per draw the city is perturbed (:func:`perturbed_city`), re-appraised, its MAC
    curve rebuilt and ``portfolio.select_portfolio`` (no frontier) re-solved: the real
    selection. Measured on Landskrona (27 measures, 3 plan years): about 4 s per re-solve, so
    200 draws take ~13 minutes: for studies, not for the batch reports.

    Returns
    -------
    (table, info). table: measure_id, share_of_draws_chosen, chosen_in_base (bool), method,
    draws, most sorted by share. info: method, label, draws, seconds, seconds_per_draw, failed.
    """
    ids = list(flows.measure_ids)
    base = set(chosen["measure_id"]) if chosen is not None and len(chosen) else set()
    draws = int(min(max(draws, 0), k.draws))
    t0 = time.perf_counter()
    failed = 0
    if draws <= 0:
        count, label = np.zeros(len(ids)), "skipped (reselect_draws: 0)"
    elif method == "milp":
        from .macc import build_macc
        from .portfolio import select_portfolio
        count = np.zeros(len(ids))
        label = "MILP re-solved per draw (portfolio.select_portfolio on a perturbed city)"
        year = int(scenario.macc_year)
        for d in range(draws):  # one MILP per draw: a solver call cannot be vectorised
            city_d = perturbed_city(city, k, d, flows, year)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    flows_d = build_flows(city_d, scenario.price_path, scenario.emission_factor_set,
                                          flows.start_year)
                    meas_d = appraise(flows_d, city_d, scenario.discount_rate, scenario.perspective,
                                      scenario.carbon_value_per_tco2e, scenario.discount_abatement)
                    curve = build_macc(meas_d, flows_d, city_d, scenario).curve
                    res = select_portfolio(city_d, scenario, meas_d, curve, frontier=False)
                picked = set(res.chosen["measure_id"])
                count += np.array([m in picked for m in ids], dtype=float)
            except Exception:  # noqa: BLE001 - a failed solve is counted as failed, not as chosen
                failed += 1
        count = count / (draws - failed) * draws if failed < draws else np.full(len(ids), np.nan)
    elif method == "greedy":
        label = "greedy by cost per tonne under the yearly budgets (approximation of the MILP)"
        if pv is None or pv.year != int(scenario.macc_year):
            pv = present_values(flows, city, scenario.discount_rate, scenario.perspective,
                                scenario.discount_abatement, scenario.macc_year)
        kk = k.rows(slice(0, draws))
        r = npv_draws(pv, kk)
        cpt = np.where(r.abatement_year > 0, cost_per_tonne_draws(r.npv_cost, r.tonnes), np.inf)
        g = _greedy_inputs(city, scenario, ids)
        stop = None
        if scenario.objective == "min_cost":
            from .portfolio import required_reduction
            stop = required_reduction(city, scenario)
        terr = _territorial_measures(city, ids)
        chosen_rd, _ = greedy_selection(cpt, kk.capex, g["spend"], g["budget"], g["candidate"],
                                        g["group"], g["requires"],
                                        np.where(terr, r.abatement_year, 0.0), stop)
        count = chosen_rd.sum(axis=0).astype(float)
    else:
        raise ValueError(f"method must be 'greedy' or 'milp', got {method!r}")
    seconds = time.perf_counter() - t0
    share = count / draws if draws > 0 else np.full(len(ids), np.nan)
    table = pd.DataFrame({"measure_id": ids, "share_of_draws_chosen": share,
                          "chosen_in_base": [m in base for m in ids], "method": label,
                          "draws": draws})
    table = table.sort_values(["share_of_draws_chosen", "measure_id"], ascending=[False, True],
                              kind="stable").reset_index(drop=True)
    info = {"method": method if draws > 0 else "skipped", "label": label, "draws": draws,
            "seconds": seconds, "seconds_per_draw": seconds / draws if draws else None,
            "failed": failed}
    return table, info


def _territorial_measures(city: CityData, ids) -> np.ndarray:
    b = city.baseline.drop_duplicates("source_id").set_index("source_id")
    scope = b["scope"] if "scope" in b.columns else pd.Series("territorial", index=b.index)
    src = city.measures.set_index("measure_id")["emission_source"].reindex(list(ids))
    return (src.map(scope).fillna("territorial").replace("", "territorial") == "territorial").to_numpy(bool)


# --- tornado ----------------------------------------------------------------------------------------

def _paths(df: pd.DataFrame, column: str) -> list[str]:
    return [p for p in dict.fromkeys(df[column]) if p != ANY]


def _star_quantiles(table: pd.DataFrame, parameter: str, q=(0.1, 0.9)):
    rows = table[(table["target"] == ANY) & (table["parameter"] == parameter)] if len(table) else table
    if not len(rows):
        return None
    r = rows.iloc[0]
    return tuple(float(ppf(r["distribution"], r["low"], r["mode"], r["high"], x)) for x in q)


def tornado(city: CityData, scenario: Scenario, flows: Flows, chosen: pd.DataFrame, pathway,
            max_elements: int = DEFAULT_MAX_ELEMENTS) -> pd.DataFrame:
    """One-at-a-time sensitivity of the chosen portfolio (held fixed) → tidy table.

    Rows: parameter, low_label, high_label, metric, unit, low_value, base_value, high_value,
    swing (|high − low|), sorted by metric and swing (largest first).

    Parameters varied (everything else at the scenario's values):

    * ``discount_rate``: 1 % and 4 % real (the base is the scenario's, e.g. SKR's internränta
      2.5 %; 4 % is the European Commission's Impact Assessment Guidelines rate, SEC(2009) 92).
    * ``carbon_value``: 0 and 2 × the scenario's value (ASEK 7.0, 7 000 SEK/t, for a SEK city
      whose scenario has none).
    * ``energy_prices``: the city's ``low`` / ``high`` price paths if it has both, else all
      prices × 0.7 / × 1.3.
    * ``electricity_factor_set``: every factor set the city has for electricity; low / high are
      the sets giving the lowest / highest value of each metric (the labels name them).
    * ``investment_costs``: P10 / P90 of the ``*`` capex row of ``uncertainty.csv`` on every
      measure (× 0.8 / × 1.2 if there is no such row).
    * ``abatement``: P10 / P90 of the ``*`` abatement row, if there is one.

    Metrics: ``cost_per_tco2e`` (portfolio NPV cost ÷ tonnes, as the MAC curve: no carbon value),
    ``net_cost_per_tco2e`` (NPV cost − carbon value × discounted tonnes, ÷ tonnes; the base counts
    the carbon value only in the societal perspective) and ``gap_tco2e`` (with-portfolio
    territorial emissions − target level in the target year; positive = short).
    """
    cur = city.currency
    cv = scenario.carbon_value_per_tco2e if scenario.perspective == "societal" else 0.0
    flows_c = chosen_flows(city, scenario, flows, chosen)
    C = len(flows_c.carriers)
    ones = Multipliers.ones(1, flows_c.measure_ids, flows_c.carriers)

    def evaluate(fl=flows_c, rate=None, k=ones, carbon=cv) -> dict[str, float]:
        p = _prepare_portfolio(city, scenario, fl, chosen, pathway, rate)
        r = _portfolio_draws(p, k, carbon, max_elements)
        t = _target_index(p)
        gap = float(r["territorial"][0, t] - p.target_level) if t is not None else np.nan
        return {"cost_per_tco2e": float(r["cost_per_tco2e"][0]),
                "net_cost_per_tco2e": float(r["net_cost_per_tco2e"][0]), "gap_tco2e": gap}

    base = evaluate()
    cases: list[tuple[str, str, str, dict, dict]] = []

    def pct(x):
        return f"{x * 100:g} %"

    cases.append(("discount_rate", pct(TORNADO_RATES[0]), pct(TORNADO_RATES[1]),
                  evaluate(rate=TORNADO_RATES[0]), evaluate(rate=TORNADO_RATES[1])))
    sc_cv = scenario.carbon_value_per_tco2e
    high_cv = 2 * sc_cv if sc_cv > 0 else (ASEK_SEK_PER_T if cur.upper() == "SEK" else 0.0)
    if high_cv > 0:
        hi_label = f"{high_cv:,.0f} {cur}/t" + (" (2 × scenario)" if sc_cv > 0 else " (ASEK 7.0)")
        cases.append(("carbon_value", f"0 {cur}/t", hi_label, evaluate(carbon=0.0),
                      evaluate(carbon=high_cv)))
    paths = _paths(city.energy_prices, "price_path")
    if "low" in paths and "high" in paths:
        try:
            lo = evaluate(fl=chosen_flows(city, scenario, flows, chosen, price_path="low"))
            hi = evaluate(fl=chosen_flows(city, scenario, flows, chosen, price_path="high"))
            cases.append(("energy_prices", "price path low", "price path high", lo, hi))
        except (ValidationError, ValueError, KeyError):
            paths = []
    if not ("low" in paths and "high" in paths):
        f_lo, f_hi = TORNADO_PRICE_FACTORS
        cases.append(("energy_prices", f"prices × {f_lo:g}", f"prices × {f_hi:g}",
                      evaluate(k=ones.with_(energy_price=np.full((1, C), f_lo))),
                      evaluate(k=ones.with_(energy_price=np.full((1, C), f_hi)))))
    ef = city.emission_factors
    sets = _paths(ef[ef["carrier"] == "electricity"], "factor_set") or _paths(ef, "factor_set")
    results = {}
    for s in sets:
        try:
            results[s] = evaluate(fl=chosen_flows(city, scenario, flows, chosen, factor_set=s))
        except (ValidationError, ValueError, KeyError):
            continue
    factor_rows = []
    if len(results) >= 2:
        for metric in base:
            vals = {s: r[metric] for s, r in results.items()}
            lo_s = min(vals, key=lambda s: (vals[s], s))
            hi_s = max(vals, key=lambda s: (vals[s], s))
            factor_rows.append(("electricity_factor_set", lo_s, hi_s, metric, vals[lo_s], vals[hi_s]))
    q = _star_quantiles(city.uncertainty, "capex")
    if q is None:
        q, lab = TORNADO_CAPEX_FALLBACK, "× {:.2f} (assumed, no '*' capex row)"
    else:
        lab = "× {:.2f} (P{})"
    labels = ((lab.format(q[0], 10), lab.format(q[1], 90)) if "P{}" in lab
              else (lab.format(q[0]), lab.format(q[1])))
    cases.append(("investment_costs", *labels, evaluate(k=ones.with_(capex=q[0])),
                  evaluate(k=ones.with_(capex=q[1]))))
    qa = _star_quantiles(city.uncertainty, "abatement")
    if qa is not None:
        cases.append(("abatement", f"× {qa[0]:.2f} (P10)", f"× {qa[1]:.2f} (P90)",
                      evaluate(k=ones.with_(abatement=qa[0])), evaluate(k=ones.with_(abatement=qa[1]))))
    rows = []
    for name, lo_l, hi_l, lo, hi in cases:
        for metric in base:
            rows.append((name, lo_l, hi_l, metric, lo[metric], hi[metric]))
    rows += factor_rows
    out = pd.DataFrame(rows, columns=["parameter", "low_label", "high_label", "metric", "low_value",
                                      "high_value"])
    out["base_value"] = out["metric"].map(base)
    out["unit"] = out["metric"].map(lambda m: METRIC_UNITS[m].format(cur=cur))
    out["swing"] = (out["high_value"] - out["low_value"]).abs()
    order = {m: i for i, m in enumerate(METRIC_UNITS)}
    out["_m"] = out["metric"].map(order)
    out = out.sort_values(["_m", "swing", "parameter"], ascending=[True, False, True], kind="stable")
    return out[TORNADO_COLUMNS].reset_index(drop=True)


# --- orchestration ------------------------------------------------------------------------------

@dataclass(frozen=True)
class UncertaintyResult:
    """Monte Carlo and sensitivity tables.

    measures : per measure (``MEASURE_COLUMNS``): deterministic and P10/P50/P90 cost per tonne
        [currency / t CO2e], NPV cost [currency], P(saves money), P(net benefit), P(abates),
        abatement in the target year [t CO2e / year].
    portfolio : metric, unit, deterministic, mean, p10, p50, p90 over the draws, for the fixed
        chosen portfolio (target-year abatement, emissions, gap, NPV cost, cost per tonne, and
        ``meets_target`` whose mean is P(meeting the target)); None without a portfolio.
    fan : year, baseline_tco2e, deterministic_tco2e, mean, p10, p50, p90 of the with-portfolio
        territorial emissions [t CO2e / year], target_tco2e; None without a portfolio.
    selection_frequency : measure_id, share_of_draws_chosen, chosen_in_base, method, draws.
    tornado : tidy table (:func:`tornado`); None without a portfolio.
    summary : JSON-serialisable dict (draws, seed, prob_meet_target, timings, methods, notes).
    samples : dict of arrays (multipliers and portfolio draws) when ``keep_samples``.
    macc_curve : the MAC curve given to :func:`run_monte_carlo` (bar positions of the whisker
        chart), or None.
    """

    measures: pd.DataFrame
    portfolio: pd.DataFrame | None
    fan: pd.DataFrame | None
    selection_frequency: pd.DataFrame | None
    tornado: pd.DataFrame | None
    summary: dict = field(default_factory=dict)
    samples: dict | None = None
    macc_curve: pd.DataFrame | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The result tables by short name (``measures``, ``portfolio``, ``fan``,
        ``selection_frequency``, ``tornado``); ``run.py`` saves them as ``uncertainty_<name>``."""
        named = {"measures": self.measures, "portfolio": self.portfolio, "fan": self.fan,
                 "selection_frequency": self.selection_frequency, "tornado": self.tornado}
        return {k: v for k, v in named.items() if v is not None}


def _chosen_table(chosen) -> pd.DataFrame | None:
    if chosen is None:
        return None
    return getattr(chosen, "chosen", chosen)


def _summ(x: np.ndarray) -> dict[str, float]:
    x = np.asarray(x, float)
    x = x[np.isfinite(x)]
    if not len(x):
        return {"mean": np.nan, "p10": np.nan, "p50": np.nan, "p90": np.nan}
    p = np.percentile(x, PERCENTILES)
    return {"mean": float(x.mean()), "p10": float(p[0]), "p50": float(p[1]), "p90": float(p[2])}


def run_monte_carlo(city: CityData, scenario: Scenario, flows: Flows, measures: pd.DataFrame,
                    chosen=None, pathway=None, *, draws: int | None = None, seed: int | None = None,
                    reselect_draws: int | None = None, reselect_method: str = "greedy",
                    macc_curve: pd.DataFrame | None = None, keep_samples: bool = False,
                    max_elements: int = DEFAULT_MAX_ELEMENTS, with_tornado: bool = True) -> UncertaintyResult | None:
    """Monte Carlo of the appraisal and the chosen portfolio, selection frequency and tornado.

    Parameters
    ----------
    city : CityData  (its ``uncertainty`` table drives the draws)
    scenario : Scenario  (``monte_carlo``: draws, seed, reselect_draws; rate, perspective, ...)
    flows : Flows of every measure at its appraisal start year (as for ``appraise``)
    measures : the appraisal table (names, sectors, deterministic cost per tonne)
    chosen : portfolio ``.chosen`` table (or the PortfolioResult): measure_id, start_year, scale;
        None skips the portfolio parts (portfolio, fan, tornado)
    pathway : PathwayResult of ``chosen`` (built here when None and ``chosen`` is given)
    draws, seed, reselect_draws : override the scenario's ``monte_carlo`` values
    reselect_method : "greedy" (default) or "milp" (see :func:`selection_frequency`)
    macc_curve : optional MAC curve; adds ``curve_cost_per_tco2e_p10/p50/p90`` (the curve's
        adjusted cost per tonne, its sequential ``scale`` held fixed) for the whisker chart
    keep_samples : keep the multipliers and portfolio draws in ``samples``
    max_elements : float64 elements per work array (memory bound)

    Returns
    -------
    UncertaintyResult, or None (with a warning) when the city has no uncertainty table or the
    scenario no ``monte_carlo`` (and no ``draws`` are given).
    """
    mc = scenario.monte_carlo
    if mc is None and draws is None:
        return None
    if city.uncertainty is None or len(city.uncertainty) == 0:
        warnings.warn("the city has no uncertainty table: Monte Carlo skipped", stacklevel=2)
        return None
    draws = int(draws if draws is not None else mc.draws)
    seed = int(seed if seed is not None else (mc.seed if mc else 0))
    reselect = int(reselect_draws if reselect_draws is not None else (mc.reselect_draws if mc else 0))
    clock: dict[str, float] = {}
    t0 = time.perf_counter()
    k = sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, draws, seed)
    clock["sampling"] = time.perf_counter() - t0
    cv = scenario.carbon_value_per_tco2e if scenario.perspective == "societal" else 0.0
    target_year = int(scenario.target.year)

    t0 = time.perf_counter()
    pv = present_values(flows, city, scenario.discount_rate, scenario.perspective,
                        scenario.discount_abatement, year=target_year)
    stats = measure_statistics(pv, k, cv, max_elements)
    info = measures.set_index("measure_id").reindex(list(flows.measure_ids))
    for c in ("name", "sector", "emission_source", "payer"):
        stats[c] = info[c].to_numpy() if c in info else ""
    stats["start_year"] = flows.start_year
    stats["cost_per_tco2e"] = info["cost_per_tco2e"].to_numpy(float) if "cost_per_tco2e" in info else np.nan
    stats["abatement_target_year_tco2e"] = pv.direct_year - pv.emissions_year.sum(axis=1)
    stats = stats[MEASURE_COLUMNS]
    if macc_curve is not None and len(macc_curve):
        stats = _curve_whiskers(stats, macc_curve, flows, city, scenario, k)
    clock["measures"] = time.perf_counter() - t0

    portfolio = fan = torn = None
    samples = {"multipliers": k} if keep_samples else None
    summary = {"draws": draws, "seed": seed, "target_year": target_year,
               "notes": list(k.notes), "prob_meet_target": None}
    c = _chosen_table(chosen)
    if c is not None:
        t0 = time.perf_counter()
        flows_c = chosen_flows(city, scenario, flows, c)
        if pathway is None:
            from .pathway import build_pathway
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pathway = build_pathway(city, scenario, c, flows_c)
        p = _prepare_portfolio(city, scenario, flows_c, c, pathway)
        idx = [list(flows.measure_ids).index(m) for m in p.ids]
        kc = k.columns(np.asarray(idx, dtype=int))
        r = _portfolio_draws(p, kc, cv, max_elements)
        det = _portfolio_draws(p, Multipliers.ones(1, p.ids, flows_c.carriers), cv, max_elements)
        t = _target_index(p)
        terr_t = r["territorial"][:, t] if t is not None else np.full(draws, np.nan)
        base_t = p.baseline[p.territorial, t].sum() if t is not None else np.nan
        meets = (terr_t <= p.target_level).astype(float)
        det_terr = det["territorial"][0, t] if t is not None else np.nan
        cur = city.currency
        rows = [
            ("target_year_abatement_territorial_tco2e", "t CO2e/year", base_t - det_terr, base_t - terr_t),
            ("target_year_with_portfolio_territorial_tco2e", "t CO2e/year", det_terr, terr_t),
            ("target_year_gap_tco2e", "t CO2e/year", det_terr - p.target_level, terr_t - p.target_level),
            ("npv_cost", cur, det["npv_cost"][0], r["npv_cost"]),
            ("cost_per_tco2e", f"{cur}/t CO2e", det["cost_per_tco2e"][0], r["cost_per_tco2e"]),
            ("meets_target", "share of draws", float(det_terr <= p.target_level), meets),
        ]
        portfolio = pd.DataFrame([{"metric": m, "unit": u, "deterministic": float(dv)} | _summ(x)
                                  for m, u, dv, x in rows])
        pf = np.percentile(r["territorial"], PERCENTILES, axis=0)
        fan = pd.DataFrame({
            "year": p.years, "baseline_tco2e": p.baseline[p.territorial].sum(axis=0),
            "deterministic_tco2e": det["territorial"][0], "mean": r["territorial"].mean(axis=0),
            "p10": pf[0], "p50": pf[1], "p90": pf[2], "target_tco2e": p.target_level})
        summary |= {"prob_meet_target": float(meets.mean()),
                    "target_tco2e": p.target_level,
                    "required_tco2e": float(base_t - p.target_level),
                    "target_year_abatement_p10_tco2e": float(np.percentile(base_t - terr_t, 10)),
                    "target_year_abatement_p50_tco2e": float(np.percentile(base_t - terr_t, 50)),
                    "target_year_abatement_p90_tco2e": float(np.percentile(base_t - terr_t, 90)),
                    "portfolio_measures": list(p.ids)}
        if keep_samples:
            samples |= {"portfolio": r}
        clock["portfolio"] = time.perf_counter() - t0
        if with_tornado:
            t0 = time.perf_counter()
            torn = tornado(city, scenario, flows, c, pathway, max_elements)
            clock["tornado"] = time.perf_counter() - t0

    sel, sel_info = selection_frequency(city, scenario, flows, k, reselect, reselect_method, c, pv)
    clock["selection_frequency"] = sel_info["seconds"]
    summary |= {"selection_frequency": {k_: v for k_, v in sel_info.items() if k_ != "seconds"},
                "timings_s": clock}
    if reselect <= 0:
        sel = None
    return UncertaintyResult(measures=stats, portfolio=portfolio, fan=fan, selection_frequency=sel,
                             tornado=torn, summary=summary, samples=samples,
                             macc_curve=macc_curve if macc_curve is not None and len(macc_curve) else None)


def _curve_whiskers(stats, curve, flows, city, scenario, k) -> pd.DataFrame:
    """P10/P50/P90 of the MAC curve's adjusted cost per tonne: (K + s·E)/(s·T) with the curve's
    scale s held fixed (energy effects and tonnes scaled, capex and opex not)."""
    ids = list(flows.measure_ids)
    pos = {m: i for i, m in enumerate(ids)}
    on = [m for m in curve["measure_id"] if m in pos]
    idx = np.array([pos[m] for m in on], dtype=int)
    sub = select_flows(flows, on)
    pv = present_values(sub, city, scenario.discount_rate, scenario.perspective,
                        scenario.discount_abatement, scenario.macc_year)
    s = curve.set_index("measure_id")["scale"].reindex(on).to_numpy(float)
    kk = k.columns(idx)
    npv = kk.capex * pv.capex + kk.opex * pv.opex + s * (kk.energy_price @ pv.energy.T)
    tonnes = s * kk.abatement * (pv.direct - kk.emission_factor @ pv.emissions.T)
    p = _percentiles(cost_per_tonne_draws(npv, tonnes))
    out = stats.copy()
    for j, q in enumerate(PERCENTILES):
        col = pd.Series(p[j], index=on)
        out[f"curve_cost_per_tco2e_p{q}"] = out["measure_id"].map(col).astype(float)
    return out

"""The chosen portfolio, held fixed, in every Monte Carlo draw: its NPV cost, cost per tonne and
with-portfolio emission pathway.

The deterministic portfolio (measures, start years and sequential scales) does not change from
draw to draw. Per draw: the pathway of ``pathway.build_pathway`` (abatement × scale booked on its
source, each source clipped at zero, scopes kept apart; the baseline emissions are not drawn),
giving the with-portfolio territorial emissions per year. Portfolio cost per tonne = Σ NPV cost
÷ Σ tonnes of the chosen measures, each measure's NPV (and discounted tonnes) at its chosen
start year, moved to the budget year by (1 + r)^−(start − budget_cycle); energy effects and
tonnes scaled by the measure's ``scale``. Memory: the pathway draws run in chunks of draws of at
most ``max_elements`` float64 elements per work array; the chunk size changes nothing but the
last bits of the rounding (BLAS may sum a matrix product in another order for another shape).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from climateinvest.cashflows import Flows, build_flows
from climateinvest.financing import select_flows
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import CITY_PAYERS
from climateinvest.io.scenario import Scenario
from climateinvest.uncertainty.montecarlo import (
    DEFAULT_MAX_ELEMENTS,
    PresentValues,
    carrier_calendar,
    divide_where_positive,
    npv_draws,
    present_values,
)
from climateinvest.uncertainty.sampling import Multipliers


def chosen_flows(city: CityData, scenario: Scenario, flows: Flows, chosen: pd.DataFrame,
                 price_path: str | None = None, factor_set: str | None = None) -> Flows:
    """Flows of the ``chosen`` measures (in ``chosen`` order) at their chosen start years: taken
    from ``flows`` when the start years, price path and factor set are the same, else built for
    those measures only (as ``portfolio.flows_for_chosen``).
    """
    pos = {m: i for i, m in enumerate(flows.measure_ids)}
    idx = np.array([pos[m] for m in chosen["measure_id"]], dtype=int)
    start = flows.start_year[idx]
    if "start_year" in chosen.columns:
        start = chosen["start_year"].to_numpy(int)
    same = (price_path in (None, scenario.price_path)
            and factor_set in (None, scenario.emission_factor_set)
            and np.array_equal(start, flows.start_year[idx]))
    if same:
        return select_flows(flows, chosen["measure_id"])
    sub = replace(city, measures=city.measures.set_index("measure_id").loc[list(chosen["measure_id"])]
                  .reset_index())
    return build_flows(sub, price_path or scenario.price_path, factor_set or scenario.emission_factor_set,
                       start)


@dataclass(frozen=True)
class FixedPortfolio:
    """The chosen portfolio prepared for evaluation per draw (K chosen measures, C carriers,
    S emission sources, Y years).

    pv : PresentValues at each start year, energy effects and tonnes × scale
    shift, shift_tonnes : (K,) [-] (1 + r)^−(start − budget_cycle); for the tonnes 1 if they are
        not discounted
    years : (Y,) ; baseline : (S, Y) [t CO2e / year] ; territorial : (S,) bool
    g_direct, g_emis : (K, S·Y), (K·C, S·Y) [t CO2e / year] abatement × scale booked on its
        source per year (direct; energy-related per carrier), zero for measures not counted
    target_year : int ; target_level : float [t CO2e / year]
    priced : (K,) [-] 1 for the measures whose tonnes the portfolio's cost per tonne divides by:
        in the municipal perspective the municipal group's own (its money over the tonnes it
        buys; a measure paid by others costs it nothing and is not counted as bought), in the
        societal perspective every measure; 0 otherwise
    """

    ids: tuple[str, ...]
    pv: PresentValues
    shift: np.ndarray
    shift_tonnes: np.ndarray
    years: np.ndarray
    baseline: np.ndarray
    territorial: np.ndarray
    g_direct: np.ndarray
    g_emis: np.ndarray
    target_year: int
    target_level: float
    priced: np.ndarray

    @property
    def target_index(self) -> int | None:
        """Position of the target year in ``years`` (None if outside)."""
        hit = np.flatnonzero(self.years == self.target_year)
        return int(hit[0]) if len(hit) else None


def prepare_portfolio(city: CityData, scenario: Scenario, flows_c: Flows, chosen: pd.DataFrame,
                      pathway, rate: float | None = None) -> FixedPortfolio:
    """:class:`FixedPortfolio` of ``chosen`` (flows ``flows_c`` from :func:`chosen_flows`, its
    ``pathway.PathwayResult``), at ``rate`` [1/year] (default: the scenario's).
    """
    rate = scenario.real_rate if rate is None else rate
    ids = tuple(flows_c.measure_ids)
    scale = (chosen.set_index("measure_id")["scale"].reindex(list(ids)).fillna(1.0).to_numpy(float)
             if "scale" in chosen.columns else np.ones(len(ids)))
    grant = (chosen.set_index("measure_id")["grant_share"].reindex(list(ids)).to_numpy(float)
             if "grant_share" in chosen.columns else None)  # the financing plan's, when given
    pv = present_values(flows_c, city, rate, scenario.perspective, scenario.discount_abatement,
                        year=scenario.target.year, grant=grant, tax_factor=scenario.tax_factor).scaled(scale)
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
    src_of = city.measures.set_index("measure_id")["emission_source"].reindex(list(ids)).to_numpy(object)
    s_idx = np.array([sources.index(s) if s in sources else -1 for s in src_of], dtype=int)
    K, C, S, Y = len(ids), len(flows_c.carriers), len(sources), len(years)
    onehot = np.zeros((K, S))
    ok = counted & (s_idx >= 0)
    onehot[np.arange(K)[ok], s_idx[ok]] = 1.0
    w = onehot * scale[:, None]  # (K, S)
    direct_cal = flows_c.calendar(flows_c.direct, years)  # (K, Y)
    emis_cal = carrier_calendar(flows_c, flows_c.emissions_c, years)  # (K, C, Y)
    g_direct = (w[:, :, None] * direct_cal[:, None, :]).reshape(K, S * Y)
    g_emis = (w[:, None, :, None] * emis_cal[:, :, None, :]).reshape(K * C, S * Y)
    payer = city.measures.set_index("measure_id")["payer"].reindex(list(ids)).astype(str).to_numpy()
    priced = (np.isin(payer, list(CITY_PAYERS)) if scenario.perspective == "municipal"
              else np.ones(len(ids), bool)).astype(float)
    return FixedPortfolio(ids, pv, shift, shift_t, years, base, (scope == "territorial").to_numpy(bool),
                          g_direct, g_emis, int(scenario.target.year),
                          float(pathway.summary["target_tco2e"]), priced)


def portfolio_draws(p: FixedPortfolio, k: Multipliers, carbon_value: float = 0.0,
                    max_elements: int = DEFAULT_MAX_ELEMENTS) -> dict[str, np.ndarray]:
    """Per draw (``k``: the chosen measures' multipliers): npv_cost [currency], tonnes
    [t CO2e] (of the ``priced`` measures), cost_per_tco2e and net_cost_per_tco2e (NPV cost −
    ``carbon_value`` × discounted tonnes, ÷ tonnes) [currency / t CO2e], NaN where tonnes ≤ 0,
    all (D,); territorial (D, Y)
    [t CO2e / year] with-portfolio territorial emissions.
    """
    r = npv_draws(p.pv, k, ("npv_cost", "tonnes") + (("tonnes_pv",) if carbon_value else ()))
    npv = r.npv_cost @ p.shift
    tonnes = r.tonnes @ (p.priced * p.shift_tonnes)
    net = npv - carbon_value * (r.tonnes_pv @ (p.priced * p.shift)) if carbon_value else npv
    cpt, net_cpt = (divide_where_positive(x, tonnes, np.nan) for x in (npv, net))
    D = k.draws
    S, Y = p.baseline.shape
    K, C = len(p.ids), len(p.pv.carriers)
    terr = np.empty((D, Y))
    step = max(1, int(max_elements) // max(1, S * Y, K * C))
    for a in range(0, D, step):  # chunks of draws
        sl = slice(a, min(D, a + step))
        ka = k.abatement[sl]
        n = ka.shape[0]
        z = (ka[:, :, None] * k.emission_factor[sl][:, None, :]).reshape(n, K * C)
        ab = (ka @ p.g_direct - z @ p.g_emis).reshape(n, S, Y)
        terr[sl] = np.maximum(p.baseline[None] - ab, 0.0)[:, p.territorial].sum(axis=1)
    return {"npv_cost": npv, "tonnes": tonnes, "cost_per_tco2e": cpt,
            "net_cost_per_tco2e": net_cpt, "territorial": terr}


def portfolio_cost_per_tonne(city: CityData, scenario: Scenario, flows: Flows, chosen: pd.DataFrame,
                             pathway) -> float:
    """[currency / t CO2e] the chosen portfolio's NPV cost ÷ its tonnes (discounted or plain, as
    the scenario says; in the municipal perspective the municipal group's tonnes only, see
    :class:`FixedPortfolio` ``priced``), both to the first plan year, interaction-adjusted: the deterministic
    point of :func:`portfolio_draws`. NaN when the portfolio abates nothing.
    """
    flows_c = chosen_flows(city, scenario, flows, chosen)
    p = prepare_portfolio(city, scenario, flows_c, chosen, pathway)
    ones = Multipliers.ones(1, flows_c.measure_ids, flows_c.carriers)
    return float(portfolio_draws(p, ones)["cost_per_tco2e"][0])

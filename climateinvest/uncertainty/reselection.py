"""How often each measure is chosen when the portfolio selection is repeated over the Monte Carlo
draws (``selection_frequency``): a greedy walk of every draw at once, or the real MILP per draw.
"""
from __future__ import annotations

import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd

from climateinvest.appraisal import appraise
from climateinvest.cashflows import Flows, build_flows
from climateinvest.io.city import CITY_PAYERS, CityData
from climateinvest.io.scenario import Scenario
from climateinvest.macc import build_macc
from climateinvest.portfolio.select import required_reduction, select_portfolio
from climateinvest.uncertainty.montecarlo import (
    PresentValues,
    carrier_calendar,
    cost_per_tonne_draws,
    divide_where_positive,
    npv_draws,
    present_values,
)
from climateinvest.uncertainty.sampling import Multipliers

GREEDY_LABELS = {
    "min_cost": "greedy by cost per tonne until the target is met, under the yearly budgets "
                "(approximation of the MILP, min_cost)",
    "max_abatement": "greedy by target-year tonnes per unit of budget, then savers, under the "
                     "yearly budgets (approximation of the MILP, max_abatement)",
}
MILP_LABEL = "MILP re-solved per draw (portfolio.select_portfolio on a perturbed city)"


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
        em = carrier_calendar(flows, flows.emissions_c, np.array([reference_year]))[..., 0] @ kf.to_numpy(float)
        energy_ab = pd.Series(-em, index=list(flows.measure_ids)).reindex(m["measure_id"]).fillna(0.0).to_numpy()
        direct = direct + (ka - 1.0) * energy_ab
    m["direct_abatement_tco2e_per_year"] = direct
    kp = dict(zip(k.carriers, k.energy_price[d], strict=True))
    kf_d = dict(zip(k.carriers, k.emission_factor[d], strict=True))
    prices = city.energy_prices.copy()
    prices["price_per_mwh"] = prices["price_per_mwh"] * prices["carrier"].map(kp).fillna(1.0).astype(float)
    factors = city.emission_factors.copy()
    factors["kgco2e_per_mwh"] = factors["kgco2e_per_mwh"] * factors["carrier"].map(kf_d).fillna(1.0).astype(float)
    return replace(city, measures=m, energy_prices=prices, emission_factors=factors)


def greedy_selection(priority: np.ndarray, k_capex: np.ndarray, spend: np.ndarray, budget,
                     candidate: np.ndarray, group=None, requires=None, abatement=None,
                     stop_at: float | None = None, tiebreak: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Greedy selection of every draw at once, under yearly budgets.

    Parameters
    ----------
    priority : (R, M)  walk order per draw, lowest first (+inf or NaN = not a candidate), e.g.
        the cost per tonne [currency / t CO2e] ("fund down the cost curve")
    k_capex : (R, M) [-]  capex multipliers per draw
    spend : (M, S, P) [currency]  budget-counted investment in plan year p when started in plan
        year s (0 for payers outside the budget), at base capex
    budget : (P,) [currency] or None (no budget constraint)
    candidate : (M, S) bool  may measure m start in plan year s
    group : (M,) exclusive-group labels ("" = none): at most one measure per group
    requires : (M,) int, index of the required measure (−1 = none)
    abatement, stop_at : (R, M) [t CO2e / year] and float: stop a draw's walk once the summed
        abatement of its chosen measures reaches ``stop_at`` (the ``min_cost`` objective)
    tiebreak : (R, M), optional  second sort key for equal priorities (lowest first)

    Returns
    -------
    chosen (R, M) bool, start (R, M) int (plan-year index, −1 if not chosen)

    Notes
    -----
    As ``portfolio``'s greedy baseline, per draw: measures in ``priority`` order, each started
    in the earliest plan year whose remaining budget takes its whole in-cycle investment, not
    before its required measure; skipped if its exclusive group is taken. A measure whose
    required measure is not chosen yet is taken together with it as a package (same start year,
    both investments must fit; one level of ``requires``). The loop runs over the M rank
    positions, each step over all R draws at once (no loop per draw). Not modelled: the
    sequential interaction (standalone figures) and the source caps of ``independent``.
    """
    key = np.where(np.isnan(priority), np.inf, priority)
    R, M = key.shape
    S, P = spend.shape[1], spend.shape[2]
    order = (np.argsort(key, axis=1, kind="stable") if tiebreak is None
             else np.lexsort((tiebreak, key), axis=1))
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

    def free(g):
        return np.where(g >= 0, ~taken[rows, np.maximum(g, 0)], True)

    for j in range(M):  # rank positions; every step is vectorised over the draws
        m = order[:, j]
        g = codes[m]
        ok = (key[rows, m] < np.inf) & ~done & ~chosen[rows, m] & free(g)
        r = np.maximum(req[m], 0)
        has_req = req[m] >= 0
        r_start = np.where(has_req, start[rows, r], -1)
        pkg = has_req & (r_start < 0)  # the required measure comes along
        ok &= ~pkg | free(codes[r])
        need = spend[m] * k_capex[rows, m][:, None, None]  # (R, S, P)
        need = need + np.where(pkg[:, None, None], spend[r] * k_capex[rows, r][:, None, None], 0.0)
        fits = (need <= left[:, None, :] + tol).all(axis=2) & candidate[m]  # (R, S)
        fits &= np.where(pkg[:, None], candidate[r], True)
        fits &= s_idx[None, :] >= np.where(has_req & ~pkg, r_start, 0)[:, None]
        ok &= fits.any(axis=1)
        s = np.argmax(fits, axis=1)
        sel, both = rows[ok], rows[ok & pkg]
        chosen[sel, m[ok]] = True
        start[sel, m[ok]] = s[ok]
        chosen[both, r[both]] = True
        start[both, r[both]] = s[both]
        left[sel] -= need[sel, s[ok]]
        for gg, who in ((g, ok), (codes[r], ok & pkg)):
            mark = who & (gg >= 0)
            taken[rows[mark], gg[mark]] = True
        if abatement is not None and stop_at is not None:
            got += np.where(ok, abatement[rows, m], 0.0) + np.where(ok & pkg, abatement[rows, r], 0.0)
            done |= got >= stop_at
    return chosen, start


def _greedy_inputs(city: CityData, scenario: Scenario, ids) -> dict:
    """Spend (M, S, P) [currency], candidate (M, S), budget (P,) [currency], budget_capex (M,)
    [currency], group, requires for :func:`greedy_selection`, from the city's measures
    (``portfolio``'s rules: budget payers municipality and municipal_company, gross capex spread
    evenly from the start year, external measures outside the budget and only with
    ``include_external``).
    """
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
            "budget_capex": m["capex"].to_numpy(float) * counts,
            "group": m["exclusive_group"].fillna("").astype(str).to_numpy(object),
            "requires": np.maximum(requires, -1)}


def selection_frequency(city: CityData, scenario: Scenario, flows: Flows, k: Multipliers,
                        draws: int, method: str = "greedy", chosen: pd.DataFrame | None = None,
                        pv: PresentValues | None = None) -> tuple[pd.DataFrame, dict]:
    """How often each measure is chosen when the selection is repeated over the first ``draws``
    Monte Carlo draws.

    Methods
    -------
    ``"greedy"`` (default): :func:`greedy_selection` over all draws at once (milliseconds for
    hundreds of draws), measures at their appraisal start years, each draw's own figures. Under
    ``max_abatement`` the walk follows the MILP's two stages: territorial tonnes in the target
    year per budget-counted investment (external measures, outside the budget, first; a measure
    with a ``requires`` counts its package's investment), then money-saving measures without
    such tonnes, largest saving first. Under ``min_cost``: cost per tonne, until the required
    reduction is reached. An approximation, labelled so in the ``method`` column: on Landskrona's
    2027 base case at central values it picks 19 of the MILP's 21 measures and 4 others (it
    prefers the free HVO buses to the electric buses + depot-charging package, and spends the
    remaining budget on savers the MILP's start-year phasing leaves out).
    ``"milp"``: per draw the city is perturbed (:func:`perturbed_city`), re-appraised, its MAC
    curve rebuilt and ``portfolio.select_portfolio`` (no frontier) re-solved: the real
    selection. Measured on Landskrona (30 measures, 3 plan years): about 3–4 s per re-solve, so
    200 draws take 10–13 minutes: for studies, not for the batch reports.

    ``pv``: present values of ``flows`` in ``scenario.macc_year``, if at hand (greedy).

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
        count, failed = _milp_counts(city, scenario, flows, k, draws)
        label = MILP_LABEL
    elif method == "greedy":
        count = _greedy_counts(city, scenario, flows, k.rows(slice(0, draws)), pv)
        label = GREEDY_LABELS["min_cost" if scenario.objective == "min_cost" else "max_abatement"]
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


def _milp_counts(city, scenario, flows, k, draws) -> tuple[np.ndarray, int]:
    """Times each measure is chosen by the MILP over the first ``draws`` draws (failed solves
    are left out and the count scaled up to all draws), and the number of failed solves.
    """
    ids = list(flows.measure_ids)
    count = np.zeros(len(ids))
    failed = 0
    for d in range(draws):  # one MILP per draw: a solver call cannot be vectorised
        city_d = perturbed_city(city, k, d, flows, int(scenario.macc_year))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                flows_d = build_flows(city_d, scenario.price_path, scenario.emission_factor_set,
                                      flows.start_year)
                meas_d = appraise(flows_d, city_d, scenario.real_rate, scenario.perspective,
                                  scenario.carbon_value_per_tco2e, scenario.discount_abatement)
                curve = build_macc(meas_d, flows_d, city_d, scenario).curve
                res = select_portfolio(city_d, scenario, meas_d, curve, frontier=False)
            picked = set(res.chosen["measure_id"])
            count += np.array([m in picked for m in ids], dtype=float)
        except Exception:  # noqa: BLE001 - a failed solve is counted as failed, not as chosen
            failed += 1
    count = count / (draws - failed) * draws if failed < draws else np.full(len(ids), np.nan)
    return count, failed


def _greedy_counts(city, scenario, flows, k, pv) -> np.ndarray:
    """Times each measure is chosen by :func:`greedy_selection` over the draws of ``k``, each
    draw walked in the order of the scenario's objective (see :func:`selection_frequency`).
    """
    ids = list(flows.measure_ids)
    if pv is None or pv.year != int(scenario.macc_year):
        pv = present_values(flows, city, scenario.real_rate, scenario.perspective,
                            scenario.discount_abatement, scenario.macc_year)
    r = npv_draws(pv, k, ("npv_cost", "tonnes", "abatement_year"))
    g = _greedy_inputs(city, scenario, ids)
    year_t = np.where(_territorial_measures(city, ids), r.abatement_year, 0.0)  # toward the target
    stop = None
    if scenario.objective == "min_cost":
        stop = required_reduction(city, scenario)
        priority = np.where(r.abatement_year > 0, cost_per_tonne_draws(r.npv_cost, r.tonnes), np.inf)
    else:
        # first walk (the MILP's stage 1): territorial tonnes in the target year per
        # budget-counted investment, measures outside the budget (external payers) first;
        # then (its stage 2, cheapest among equals) measures that save money without such
        # tonnes, largest saving first: priorities < 0, then in (0, 1), else not chosen
        money = k.capex * g["budget_capex"]
        has = g["requires"] >= 0  # a package: the required measure's investment counts too
        money = money + np.where(has, money[:, np.maximum(g["requires"], 0)], 0.0)
        ratio = divide_where_positive(year_t, money, np.inf)
        saver = 1.0 / (1.0 - np.minimum(r.npv_cost, 0.0))
        priority = np.where(year_t > 0, -ratio, np.where(r.npv_cost < 0, saver, np.inf))
    chosen_rd, _ = greedy_selection(priority, k.capex, g["spend"], g["budget"], g["candidate"],
                                    g["group"], g["requires"], year_t, stop, tiebreak=-year_t)
    return chosen_rd.sum(axis=0).astype(float)


def _territorial_measures(city: CityData, ids) -> np.ndarray:
    """(M,) bool: does the measure's emission source count toward the target (territorial)."""
    b = city.baseline.drop_duplicates("source_id").set_index("source_id")
    scope = b["scope"] if "scope" in b.columns else pd.Series("territorial", index=b.index)
    src = city.measures.set_index("measure_id")["emission_source"].reindex(list(ids))
    return (src.map(scope).fillna("territorial").replace("", "territorial") == "territorial").to_numpy(bool)

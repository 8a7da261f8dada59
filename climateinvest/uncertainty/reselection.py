"""How often each measure is chosen when the portfolio selection is repeated over the Monte Carlo
draws (``selection_frequency``): the portfolio's greedy rule walked on every draw at once (a
labelled fast approximation), the portfolio's MILP per draw on perturbed candidates (``exact``),
or the MILP per draw on a fully re-appraised perturbed city (``milp``).
"""
from __future__ import annotations

import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pandas as pd

from climateinvest.appraisal import appraise
from climateinvest.cashflows import Flows, build_flows, scenario_baseline
from climateinvest.io.city import CityData
from climateinvest.io.scenario import Scenario
from climateinvest.macc import TINY_TCO2E, build_macc, mac_order, required_chain
from climateinvest.portfolio.candidates import build_problem
from climateinvest.portfolio.greedy import fund_down, funding_problem
from climateinvest.portfolio.model import build_model
from climateinvest.portfolio.select import select_portfolio
from climateinvest.portfolio.solve import SOLVE_THREADS, Clock, max_abatement, min_cost
from climateinvest.uncertainty.montecarlo import PresentValues, carrier_calendar, present_values
from climateinvest.uncertainty.sampling import Multipliers

GREEDY_LABEL = ("greedy: the portfolio's greedy baseline (fund down the MAC curve under the yearly "
                "budgets) walked on each draw's own curve; a fast approximation of the MILP")
MILP_LABEL = "MILP re-solved per draw (portfolio.select_portfolio on a perturbed city)"
EXACT_LABEL = ("exact: the portfolio's MILP re-solved per draw on the draw's perturbed candidates, "
               "proven optimal within the portfolio's gap")


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


def _carrier_term(k_rc: np.ndarray, per_carrier: np.ndarray) -> np.ndarray:
    """(R, M) Σ_c k[r, c] · per_carrier[m, c], summed the same way for every draw count (so one
    draw of multipliers 1 gives the deterministic figures bit for bit).
    """
    return (k_rc[:, None, :] * per_carrier[None, :, :]).sum(axis=-1)


def _draw_inputs(city: CityData, scenario: Scenario, flows: Flows, k: Multipliers,
                 pv: PresentValues | None = None) -> dict:
    """Per-draw inputs of the re-selection (see :func:`greedy_reselection`): the deterministic
    problem ``p`` and its funding arrays ``fp``, every draw's MAC order ``order`` (R, M) as city
    positions (−1 padded), the multipliers per draw and city measure of the investment
    (``k_capex``), of the target-year tonnes (``k_tonnes``), of the unscaled NPV cost (``k_K``) and
    of the energy part (``k_E``), all [-], and ``city_pos`` (flows' measures → city positions).
    """
    ids = list(flows.measure_ids)
    macc_year, target = int(scenario.macc_year), int(scenario.target.year)
    if pv is None or pv.year != macc_year:
        pv = present_values(flows, city, scenario.real_rate, scenario.perspective,
                            scenario.discount_abatement, macc_year)
    kc, ko, ka = k.capex, k.opex, k.abatement
    kp, kf = k.energy_price, k.emission_factor
    K = kc * pv.capex + ko * pv.opex
    meas = city.measures.set_index("measure_id").reindex(ids)
    # the draw's curve prices a bundle with what it requires, as the MAC curve does (build_macc)
    bundle_K = K + K @ required_chain(ids, meas["requires"].fillna("").astype(str).tolist()).T
    E = _carrier_term(kp, pv.energy)
    T = ka * (pv.direct - _carrier_term(kf, pv.emissions))
    standalone = ka * (pv.direct_year - _carrier_term(kf, pv.emissions_year))
    src = meas["emission_source"].astype(str).to_numpy(object)
    base_tab = scenario_baseline(city, scenario, [macc_year])[macc_year]
    base = np.array([float(base_tab.get(s, 0.0)) for s in src])[None, :]
    pos, alive = standalone > 0, (standalone > 0) & (base > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(alive, np.clip(standalone / np.where(alive, base, 1.0), 0.0, 1.0), np.where(pos, 1.0, 0.0))
        cap = np.where(alive, np.minimum(1.0, base / np.where(alive, standalone, 1.0)), np.where(pos, 0.0, 1.0))
    labels = meas["exclusive_group"].fillna("").astype(str).to_numpy(object)
    group = np.where(labels == "", -1, pd.factorize(pd.Series(labels, dtype=object))[0])
    order, _, _ = mac_order(bundle_K, E, T, standalone, pd.factorize(pd.Series(src, dtype=object))[0], share, cap,
                            group, (T > 0) & (standalone > TINY_TCO2E), scenario.interaction == "sequential")

    p = build_problem(city, scenario, None, None)
    fp = funding_problem(p)
    at = {mid: i for i, mid in enumerate(city.measures["measure_id"])}
    city_pos = np.array([at[mid] for mid in ids], int)
    order = np.where(order >= 0, city_pos[np.maximum(order, 0)], -1)
    pv_t = pv if target == macc_year else present_values(
        flows, city, scenario.real_rate, scenario.perspective, scenario.discount_abatement, target)
    now = ka * (pv_t.direct_year - _carrier_term(kf, pv_t.emissions_year))
    ref = pv_t.direct_year - _carrier_term(np.ones((1, len(pv_t.carriers))), pv_t.emissions_year)
    ratio = np.where(ref != 0, now / np.where(ref != 0, ref, 1.0), 1.0)
    k_capex, k_tonnes = np.ones((k.draws, len(at))), np.ones((k.draws, len(at)))
    k_capex[:, city_pos], k_tonnes[:, city_pos] = kc, ratio
    det_K = pv.capex + pv.opex
    det_E = _carrier_term(np.ones((1, len(pv.carriers))), pv.energy)[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        rK = np.where(det_K != 0, K / np.where(det_K != 0, det_K, 1.0), 1.0)
        rE = np.where(det_E != 0, E / np.where(det_E != 0, det_E, 1.0), 1.0)
    k_K, k_E = np.ones((k.draws, len(at))), np.ones((k.draws, len(at)))
    k_K[:, city_pos], k_E[:, city_pos] = rK, rE
    return {"p": p, "fp": fp, "order": order, "city_pos": city_pos, "k_capex": k_capex,
            "k_tonnes": k_tonnes, "k_K": k_K, "k_E": k_E}


def greedy_reselection(city: CityData, scenario: Scenario, flows: Flows, k: Multipliers,
                       pv: PresentValues | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The portfolio's greedy baseline (:mod:`climateinvest.portfolio.greedy`) walked in every
    draw of ``k`` at once: each draw's own MAC curve, funded under the yearly budgets.

    Per draw the curve's inputs (:func:`climateinvest.macc.mac_order`) are the draw's NPV cost
    split into the unscaled part (capex × kc, running cost × ko) and the energy part (prices ×
    kp), its lifetime tonnes and its tonnes in ``scenario.macc_year`` (× ka, emission factors ×
    kf), all at the appraisal start years; the funding uses the portfolio's candidates
    (:func:`climateinvest.portfolio.candidates.build_problem`) with the investment × kc and the
    target-year tonnes × the draw's ratio to the deterministic tonnes of the measure at its
    appraisal start (exact for one start year, the same ratio applied to later starts).

    Parameters
    ----------
    city, scenario, flows : the city, the scenario and its flows at the appraisal start years
    k : Multipliers (R draws)
    pv : present values of ``flows`` in ``scenario.macc_year``, if at hand

    Returns
    -------
    chosen (R, M) bool, start (R, M) int (plan-year index, −1 if not chosen), M over
    ``flows.measure_ids``.
    """
    d = _draw_inputs(city, scenario, flows, k, pv)
    p, city_pos = d["p"], d["city_pos"]
    stop = p.required if scenario.objective == "min_cost" else None
    chosen, start = fund_down(d["order"], d["fp"], p.budget, d["k_capex"], d["k_tonnes"], stop)
    return chosen[:, city_pos], start[:, city_pos]


def exact_reselection(city: CityData, scenario: Scenario, flows: Flows, k: Multipliers,
                      pv: PresentValues | None = None) -> tuple[np.ndarray, int]:
    """The portfolio's MILP (:mod:`climateinvest.portfolio.model`, solved by
    :func:`~climateinvest.portfolio.solve.max_abatement` or
    :func:`~climateinvest.portfolio.solve.min_cost` exactly as in the portfolio step) re-solved
    on every draw of ``k``, proven optimal within
    :data:`~climateinvest.portfolio.solve.MIP_REL_GAP`.

    A draw's problem is the portfolio's candidates with the draw's inputs of
    :func:`greedy_reselection`: investment × kc, target-year tonnes × the draw's tonnes ratio
    (shares and caps of the sources recomputed), the unscaled and the energy part of the NPV
    cost × the draw's ratio to the deterministic value of the measure at its appraisal start
    (the same ratio applied to later starts), and the interaction order of the draw's own MAC
    curve. With multipliers 1 it is the portfolio's own problem. No flows are rebuilt per draw,
    so a draw costs the model's rows and its two solves; draws are solved
    :data:`~climateinvest.portfolio.solve.SOLVE_THREADS` at a time (each deterministic).

    Returns
    -------
    chosen (R, M) bool over ``flows.measure_ids``; failed: draws whose solve returned no point
    (their row is all False).
    """
    d = _draw_inputs(city, scenario, flows, k, pv)
    p, city_pos = d["p"], d["city_pos"]
    c = p.cand
    M = len(city.measures)
    base = np.array([p.baseline.get(str(s), np.nan) for s in c.source], float)

    def one_draw(r: int) -> np.ndarray | None:
        """Draw ``r``'s chosen candidates, None if its solve returned no point."""
        raw = c.raw * d["k_tonnes"][r, c.m]
        pos, alive = raw > 0, (raw > 0) & (base > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(alive, np.clip(raw / np.where(alive, base, 1.0), 0.0, 1.0), np.where(pos, 1.0, 0.0))
            cap = np.where(alive, np.minimum(1.0, base / np.where(alive, raw, 1.0)), np.where(pos, 0.0, 1.0))
        kc = d["k_capex"][r, c.m]
        cand = replace(c, raw=raw, e=np.where(pos, raw * cap, raw), share=share, cap=cap, chain=pos,
                       spend=c.spend * kc[:, None], after=c.after * kc,
                       K=c.K * d["k_K"][r, c.m], E=c.E * d["k_E"][r, c.m])
        walk = [int(i) for i in d["order"][r] if i >= 0]
        rest = sorted(set(range(M)) - set(walk), key=lambda i: (p.rank[i], i))
        rank = np.empty(M, int)
        rank[walk + rest] = np.arange(M)
        p_r = replace(p, cand=cand, rank=rank)
        md = build_model(p_r)
        if scenario.objective == "min_cost":
            sol = min_cost(p_r, md, p_r.required, Clock())
            if not (sol.found and sol.code in (0, 1, -1)):
                sol = max_abatement(p_r, md, p_r.budget, Clock())
        else:
            sol = max_abatement(p_r, md, p_r.budget, Clock())
        return sol.x if sol.found else None

    chosen = np.zeros((k.draws, M), bool)
    failed = 0
    # one MILP per draw (a solver call cannot be vectorised), SOLVE_THREADS draws side by side
    with ThreadPoolExecutor(max_workers=SOLVE_THREADS) as pool:
        for r, x in enumerate(pool.map(one_draw, range(k.draws))):
            if x is None:
                failed += 1
            else:
                chosen[r, c.m[x]] = True
    return chosen[:, city_pos], failed


def selection_frequency(city: CityData, scenario: Scenario, flows: Flows, k: Multipliers,
                        draws: int, method: str = "greedy", chosen: pd.DataFrame | None = None,
                        pv: PresentValues | None = None) -> tuple[pd.DataFrame, dict]:
    """How often each measure is chosen when the selection is repeated over the first ``draws``
    Monte Carlo draws.

    Methods
    -------
    ``"greedy"`` (default): :func:`greedy_reselection`, the portfolio's greedy baseline ("fund
    down the MAC curve" under the yearly budgets, :mod:`climateinvest.portfolio.greedy`) walked
    on each draw's own curve, all draws at once; with multipliers 1 it chooses exactly the
    ``greedy`` table of the portfolio. A fast approximation of the MILP, labelled so in the
    ``method`` column.
    ``"milp"``: per draw the city is perturbed (:func:`perturbed_city`), re-appraised, its MAC
    curve rebuilt and ``portfolio.select_portfolio`` (no frontier) re-solved: the real
    selection on fully rebuilt inputs. Measured on Landskrona (30 measures, 3 plan years): about
    0.6 s per draw on an idle 2-core machine (3–4 s under load): for studies.
    ``"exact"``: :func:`exact_reselection`, the same MILP on the draw's perturbed candidates (no
    flows rebuilt), proven optimal per draw; with multipliers 1 it chooses exactly the
    portfolio's ``chosen`` measures. Measured on Landskrona: 0.3–0.6 s per draw (two HiGHS
    solves of about 0.05–0.15 s each), so 200 draws take about a minute.

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
    elif method == "exact":
        picked, failed = exact_reselection(city, scenario, flows, k.rows(slice(0, draws)), pv)
        count = picked.sum(axis=0) / (draws - failed) * draws if failed < draws else np.full(len(ids), np.nan)
        label = EXACT_LABEL
    elif method == "greedy":
        count = _greedy_counts(city, scenario, flows, k.rows(slice(0, draws)), pv)
        label = GREEDY_LABEL
    else:
        raise ValueError(f"method must be 'greedy', 'exact' or 'milp', got {method!r}")
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
    """Times each measure is chosen by :func:`greedy_reselection` over the draws of ``k``."""
    chosen, _ = greedy_reselection(city, scenario, flows, k, pv)
    return chosen.sum(axis=0).astype(float)

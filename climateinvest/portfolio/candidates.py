"""Portfolio candidates: every measure × plan start year with its tonnes, spending and NPV cost.

One step of :mod:`climateinvest.portfolio.select` (its docstring describes the whole model). A candidate
k = (m, s) is measure m started in plan year s ≥ its ``earliest_start_year``; its arrays come from
:func:`climateinvest.cashflows.build_flows` with every measure started in s (one call per plan year:
prices and emission factors depend on the calendar year, so a later start is a different measure).

Per candidate: tonnes abated in the target year [t CO2e / year] (capped at the source's baseline,
as :func:`climateinvest.macc.interaction_scale` does), investment per plan year [currency] (the part
after the last plan year is a commitment, not constrained), and the perspective's NPV cost
[currency] discounted to the **first plan year**, split into K (investment and running cost, never
scaled) and E (energy effects, scaled by the interaction share). The grants are those of the
``measures`` table's ``grant_share`` (after the financing plan's allocation: the grants it
allocates, see :mod:`climateinvest.portfolio.grants`), else the lone-candidate share.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.appraisal import grant_share, grants_of, net_cost
from climateinvest.cashflows import build_flows, scenario_baseline
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import CITY_PAYERS
from climateinvest.io.scenario import Scenario


@dataclass(frozen=True)
class Candidates:
    """Arrays over candidates k = (measure, plan start year)."""

    m: np.ndarray            # (K,) position in city.measures
    year: np.ndarray         # (K,) start year
    raw: np.ndarray          # (K,) standalone tonnes, target year
    e: np.ndarray            # (K,) tonnes capped at the source (raw × cap for raw > 0)
    share: np.ndarray        # (K,) a_k, share of its source removed
    cap: np.ndarray          # (K,) min(1, baseline ÷ raw)
    chain: np.ndarray        # (K,) bool: raw > 0, takes part in the sequential interaction
    territorial: np.ndarray  # (K,) bool
    source: np.ndarray       # (K,) emission_source
    spend: np.ndarray        # (K, P) investment per plan year, all payers
    after: np.ndarray        # (K,) investment after the cycle
    counts: np.ndarray       # (K,) bool, budget-counted payer
    K: np.ndarray            # (K,) NPV at the first plan year, unscaled part
    E: np.ndarray            # (K,) NPV at the first plan year, energy part (scaled)
    growth: np.ndarray       # (K,) (1 + rate)^(s − first plan year): first-year → own-start value
    life_tonnes: np.ndarray  # (K,) lifetime tonnes at own start (discounted or plain), unscaled
    by_measure: dict         # measure position → candidate indices (by year)


@dataclass(frozen=True)
class Problem:
    """Everything the solves, the greedy and the tables need, built once per call."""

    city: CityData
    scenario: Scenario
    cand: Candidates
    plan: np.ndarray
    target_year: int
    rank: np.ndarray          # (M,) position of each measure in the interaction order
    mac_order: list           # measure positions the greedy walks
    baseline: dict            # source → baseline tonnes, target year
    budget: np.ndarray | None
    required: float
    notes: tuple


def _scope(city: CityData) -> dict:
    b = city.baseline.drop_duplicates("source_id")
    scope = b["scope"] if "scope" in b.columns else pd.Series("territorial", index=b.index)
    return {
        str(s): (str(v) if isinstance(v, str) and v else "territorial")
        for s, v in zip(b["source_id"], scope, strict=True)
    }


def required_reduction(city: CityData, scenario: Scenario) -> float:
    """[t CO2e] territorial cut needed in the target year: baseline(target year) − (1 − reduction)
    × baseline(base year), summed over ``territorial`` sources (baseline with the scenario trend).
    """
    t = scenario.target
    base = scenario_baseline(city, scenario, [t.base_year, t.year])
    scope = _scope(city)
    terr = [s for s in base.index if scope.get(str(s), "territorial") == "territorial"]
    return float(base.loc[terr, t.year].sum() - (1.0 - t.reduction) * base.loc[terr, t.base_year].sum())


def _order(city: CityData, measures: pd.DataFrame, macc_curve: pd.DataFrame | None) -> tuple[np.ndarray, list]:
    """Interaction order (rank per measure position) and the greedy's walk (measure positions).

    The walk is the MAC curve's measures in its order; an empty curve walks nothing, as the Monte
    Carlo re-selection of a draw with an empty curve does. Only without a curve (``None``) does
    the walk fall back to the appraisal's cost per tonne.
    """
    ids = city.measure_ids
    pos = {mid: i for i, mid in enumerate(ids)}
    if macc_curve is not None:
        walk = [pos[m] for m in dict.fromkeys(macc_curve["measure_id"]) if m in pos]
    else:
        cpt = (
            measures.set_index("measure_id")["cost_per_tco2e"]
            if "cost_per_tco2e" in measures
            else pd.Series(dtype=float)
        )
        cpt = cpt[~cpt.index.duplicated()]
        known = [m for m in measures["measure_id"] if m in pos and m in cpt.index and np.isfinite(cpt[m])]
        known = sorted(dict.fromkeys(known), key=lambda m: (float(cpt[m]), pos[m]))
        walk = [pos[m] for m in known]
    rest = [i for i in range(len(ids)) if i not in set(walk)]
    if "cost_per_tco2e" in measures:
        cpt = measures.drop_duplicates("measure_id").set_index("measure_id")["cost_per_tco2e"]
        rest.sort(key=lambda i: (not np.isfinite(cpt.get(ids[i], np.nan)), cpt.get(ids[i], 0.0), i))
    rank = np.empty(len(ids), dtype=int)
    rank[walk + rest] = np.arange(len(ids))
    return rank, walk


def build_problem(
    city: CityData, scenario: Scenario, measures: pd.DataFrame | None, macc_curve: pd.DataFrame | None
) -> Problem:
    """Candidates, interaction order, baseline, budget and required reduction (module docstring)."""
    m = city.measures
    plan = np.asarray(scenario.plan_years, dtype=int)
    y0, rate, target = int(plan[0]), scenario.real_rate, int(scenario.target.year)
    scope = _scope(city)
    base_tab = scenario_baseline(city, scenario, [target])[target]
    baseline = {str(k): float(v) for k, v in base_tab.items()}
    notes = []

    wanted = set(measures["measure_id"]) if measures is not None else set(m["measure_id"])
    earliest = m["earliest_start_year"].to_numpy(int)
    payer = m["payer"].astype(str).to_numpy()
    src = m["emission_source"].astype(str).to_numpy()
    ok = np.array([mid in wanted for mid in m["measure_id"]])
    if not scenario.include_external and (ok & (payer == "external")).any():
        notes.append(
            "external measures left out (include_external: false): "
            + ", ".join(m["measure_id"][ok & (payer == "external")])
        )
    ok &= scenario.include_external | (payer != "external")
    out = np.isin(m["measure_id"].to_numpy(), list(scenario.measures_out))
    if (ok & out).any():
        notes.append("left out by the scenario (measures_out): " + ", ".join(m["measure_id"][ok & out]))
    ok &= ~out
    # a fixed start year (scenario start_years) leaves that year's candidate only
    fixed = m["measure_id"].map(scenario.start_years).fillna(0).astype(int).to_numpy()
    late = ok & (earliest > plan[-1])
    if late.any():
        notes.append(
            f"earliest start after the cycle {plan[0]}–{plan[-1]}, not candidates: " + ", ".join(m["measure_id"][late])
        )

    rows = []
    for s in plan:
        fl = build_flows(city, scenario.price_path, scenario.emission_factor_set, int(s))
        given = grants_of(measures, fl)  # the appraisal's grants (after allocation: the plan's)
        grant = grant_share(city) if given is None else np.where(np.isnan(given), grant_share(city), given)
        kw = {"grant": grant, "tax_factor": scenario.tax_factor}
        K = np.asarray(finance.npv(rate, net_cost(fl, city, scenario.perspective, scale=0.0, **kw)), float)
        E = np.asarray(finance.npv(rate, net_cost(fl, city, scenario.perspective, scale=1.0, **kw)), float) - K
        ab = fl.abatement
        life = np.asarray(finance.npv(rate, ab) if scenario.discount_abatement else ab.sum(axis=-1), float)
        spend = fl.calendar(fl.capex, plan)
        after = fl.capex.sum(axis=-1) - spend.sum(axis=-1)
        raw = fl.calendar(ab, np.array([target]))[:, 0]
        disc = (1.0 + rate) ** -(int(s) - y0)
        for i in np.flatnonzero(ok & (earliest <= s) & ((fixed == 0) | (fixed == s))):
            rows.append((i, int(s), raw[i], spend[i], after[i], K[i] * disc, E[i] * disc, 1.0 / disc, life[i]))

    n = len(rows)
    col = (
        (lambda j, dtype=float: np.array([r[j] for r in rows], dtype=dtype))
        if n
        else (lambda j, dtype=float: np.zeros(0, dtype))
    )
    mi, raw = col(0, int), col(2)
    base = np.array([baseline.get(src[i], np.nan) for i in mi], float)
    missing = sorted({src[i] for i in mi if src[i] not in baseline})
    if missing:
        raise ValueError(f"emission_source {', '.join(missing)} has no baseline_emissions rows")
    pos, alive = raw > 0, (raw > 0) & (base > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(alive, np.clip(raw / np.where(alive, base, 1.0), 0.0, 1.0), np.where(pos, 1.0, 0.0))
        cap = np.where(alive, np.minimum(1.0, base / np.where(alive, raw, 1.0)), np.where(pos, 0.0, 1.0))
    big = sorted({m["measure_id"].iat[i] for i in mi[pos & (cap < 1)]})
    if big:
        notes.append(f"abate more than their source's baseline in {target}, counted up to it: " + ", ".join(big))
    by_measure: dict = {}
    for k, i in enumerate(mi):
        by_measure.setdefault(int(i), []).append(k)
    cand = Candidates(
        m=mi,
        year=col(1, int),
        raw=raw,
        e=np.where(pos, raw * cap, raw),
        share=share,
        cap=cap,
        chain=pos.copy(),
        territorial=np.array([scope.get(src[i], "territorial") == "territorial" for i in mi], bool),
        source=src[mi] if n else np.zeros(0, object),
        spend=np.array([r[3] for r in rows], float).reshape(n, len(plan)),
        after=col(4),
        counts=np.isin(payer[mi], CITY_PAYERS) if n else np.zeros(0, bool),
        K=col(5),
        E=col(6),
        growth=col(7),
        life_tonnes=col(8),
        by_measure=by_measure,
    )

    budget = None
    if scenario.investment_budget:
        budget = np.array([float(scenario.investment_budget.get(int(y), 0.0)) for y in plan])
        gone = [int(y) for y in plan if int(y) not in scenario.investment_budget]
        if gone:
            notes.append(f"investment_budget has no amount for {', '.join(map(str, gone))}: budget 0 there")
    rank, walk = _order(city, measures if measures is not None else m, macc_curve)
    forced = [i for i, mid in enumerate(m["measure_id"]) if mid in set(scenario.measures_in)]
    lost = [m["measure_id"].iat[i] for i in forced if i not in by_measure]
    if lost:
        notes.append("forced in (measures_in) but not a candidate in this cycle, so not chosen: " + ", ".join(lost))
    walk = [i for i in forced if i in by_measure] + [i for i in walk if i not in set(forced)]
    return Problem(
        city,
        scenario,
        cand,
        plan,
        target,
        rank,
        walk,
        baseline,
        budget,
        required_reduction(city, scenario),
        tuple(notes),
    )

"""Marginal abatement cost (MAC) curve: order, widths, interactions, alternatives.

Conventions (docs/architecture.md section 5)
---------------------------------
* Height = cost per tonne as in ``appraisal``: NPV of the perspective's net cost (no carbon
  value) ÷ tonnes, discounted or plain per ``scenario.discount_abatement`` [currency / t CO2e].
* Width = abatement in the reference year ``scenario.macc_year`` (the target year by default)
  of the measure started at its appraisal start year [t CO2e / year]. A measure with no
  positive abatement in that year (not begun, ended, zero or adding emissions) has no width:
  it is listed in ``excluded`` with the reason, never divided by.
* ``independent``: every measure keeps its standalone abatement; the curve is ordered by cost
  per tonne (ties: larger abatement first). Overlaps show in the reconciliation.
* ``sequential``: a measure removes a share a = standalone ÷ baseline (at most 1) of what is
  left of its emission source; its energy (and direct) effects scale with what is left, its
  investment and running costs do not. Built greedily: at each step every remaining measure's
  cost per tonne is recomputed for what is left of its source and the cheapest is placed. No
  source falls below zero and no tonne is counted twice (Kesicki & Ekins 2012, "Marginal
  abatement cost curves: a call for caution", Climate Policy 12(2), on interactions).
* Exclusive groups: the member placed first (the cheapest per tonne at that step; ties → larger
  abatement) stands on the curve; the others are listed in ``alternatives`` with what they
  would cost and abate in its place.
* Bundles: a measure with ``requires`` (an electric bus needs its depot charging) is priced
  together with what it requires: ``npv_cost`` and ``cost_per_tco2e`` (the height, and the
  choice between exclusive-group members) include the required measures' investment and running
  cost; ``own_cost_per_tco2e`` is the measure alone. The enabler, with no tonnes of its own, is
  listed in ``excluded``.
* Saving measures (negative cost) keep their NPV beside their cost per tonne: among savers a
  ratio ranks small savers ahead of large ones (Taylor 2012, Energy Policy 48, 430–438).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.appraisal import grants_of, net_cost
from climateinvest.cashflows import Flows, baseline_by_source
from climateinvest.io.city import CityData
from climateinvest.io.scenario import Scenario
from climateinvest.io.tables import StepTables

BASE_COLUMNS = ["measure_id", "name", "sector", "payer", "emission_source", "exclusive_group",
                "start_year", "capex"]
CURVE_COLUMNS = ["rank", *BASE_COLUMNS, "npv_cost", "standalone_tco2e", "adjusted_tco2e", "scale",
                 "standalone_cost_per_tco2e", "cost_per_tco2e", "own_cost_per_tco2e", "appraised_tco2e",
                 "cum_start_tco2e", "cum_end_tco2e", "saves_money", "note"]
EXCLUDED_COLUMNS = [*BASE_COLUMNS, "npv_cost", "standalone_tco2e", "reason"]
TINY_TCO2E = 1e-9  # [t CO2e / year] abatement at or below this (a milligram) counts as zero
RECONCILIATION_COLUMNS = ["source_id", "sector", "scope", "baseline_tco2e", "measures",
                          "standalone_sum_tco2e", "adjusted_sum_tco2e", "remaining_tco2e",
                          "double_count_avoided_tco2e"]


@dataclass(frozen=True)
class MaccResult(StepTables):
    """The MAC curve and its companion tables (money in ``currency``, tonnes in the reference year).

    curve : one row per measure on the curve, in order (``CURVE_COLUMNS``)
    alternatives : exclusive-group members not on the curve, same columns + ``instead_of``
    reconciliation : per emission source: baseline, standalone and adjusted sums [t CO2e / year]
    excluded : measures without positive abatement in the reference year, with ``reason``
    sector_summary : per sector: measures, adjusted abatement [t CO2e / year], investment, NPV
        and cost per tonne of the sector's measures on the curve (:func:`sector_summary`)
    """

    STEP: ClassVar[str] = "macc"
    MAIN: ClassVar[str] = "curve"

    curve: pd.DataFrame
    alternatives: pd.DataFrame
    reconciliation: pd.DataFrame
    excluded: pd.DataFrame
    reference_year: int
    interaction: str
    currency: str = ""
    sector_summary: pd.DataFrame | None = None

    def summary(self) -> dict:
        """JSON-serialisable key figures of the curve (for the run manifest)."""
        return {
            "reference_year": self.reference_year,
            "interaction": self.interaction,
            "total_tco2e": float(self.curve["adjusted_tco2e"].sum()),
            "double_count_avoided_tco2e": float(self.reconciliation["double_count_avoided_tco2e"].sum()),
        }


def _ratio(num, den) -> np.ndarray:
    """Num ÷ den where den > 0, else NaN; never a warning."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _share_and_cap(standalone: np.ndarray, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Share of its source each measure removes, and the cap min(1, baseline ÷ standalone)."""
    pos = standalone > 0
    alive = pos & (base > 0)
    share = np.where(alive, np.clip(_ratio(standalone, base), 0.0, 1.0), np.where(pos, 1.0, 0.0))
    cap = np.where(alive, np.minimum(1.0, _ratio(base, standalone)), np.where(pos, 0.0, 1.0))
    return share, cap


def _baseline_of(sources, baseline_tco2e) -> np.ndarray:
    missing = sorted({s for s in sources if s not in baseline_tco2e})
    if missing:
        raise ValueError(f"emission_source {', '.join(map(repr, missing))} has no baseline "
                         f"(known sources: {', '.join(map(str, baseline_tco2e))})")
    return np.array([float(baseline_tco2e[s]) for s in sources], dtype=float)


def interaction_scale(standalone_tco2e, sources, baseline_tco2e, order) -> np.ndarray:
    """(M,) [-] share of its standalone effect each measure keeps when applied in ``order``.

    Parameters
    ----------
    standalone_tco2e : array (M,) [t CO2e / year]  each measure's abatement alone, reference year
    sources : array (M,) of emission_source ids
    baseline_tco2e : mapping source_id → baseline [t CO2e / year] in the reference year
    order : array (K,) of measure indices, applied first to last; measures not in it get 0

    Notes
    -----
    Measure i removes a_i = clip(standalone_i / baseline, 0, 1) of what is left of its source:
    scale_i = Π (1 − a_j) over measures j applied before i on the same source, so the adjusted
    abatement standalone_i × scale_i never takes a source below zero. A measure larger than its
    source is also capped at the source (scale × min(1, baseline ÷ standalone)); a source with
    baseline ≤ 0 leaves nothing to cut (scale 0). Measures with standalone ≤ 0 (they add
    emissions) get scale 1 and leave the remaining share unchanged.
    """
    standalone = np.asarray(standalone_tco2e, dtype=float)
    sources = np.asarray(sources, dtype=object)
    order = np.asarray(order, dtype=int).reshape(-1)
    if len(set(order.tolist())) != len(order):
        raise ValueError(f"order lists a measure twice: {order.tolist()}")
    share, cap = _share_and_cap(standalone, _baseline_of(sources, baseline_tco2e))
    scale = np.zeros(len(standalone))
    left: dict = {}
    for i in order:
        rest = left.get(sources[i], 1.0)
        scale[i] = rest * cap[i] if standalone[i] > 0 else 1.0
        left[sources[i]] = rest * (1.0 - share[i])
    return scale


def _effect_years(flows: Flows, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last calendar year of effect of each measure in ``pos``."""
    act = flows.active[pos]
    first = np.argmax(act, axis=1)
    last = act.shape[1] - 1 - np.argmax(act[:, ::-1], axis=1)
    start = flows.start_year[pos]
    return start + first, start + last


def mac_order(K, E, T, standalone, source, share, cap, group, todo, sequential: bool
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The MAC curve's order of every draw at once: cheapest per tonne first, re-priced as
    sources are cut (the module docstring's rule; one loop over curve positions, each step
    vectorised over the draws).

    Parameters
    ----------
    K, E : (R, M) [currency]  NPV cost not scaled by the interaction (investment, running cost)
        and scaled by it (energy effects), per draw r and measure m
    T : (R, M) [t CO2e]  lifetime tonnes (discounted or plain) the cost per tonne divides by
    standalone : (R, M) [t CO2e / year]  abatement in the reference year, standalone
    source : (M,) int  emission-source code of each measure (0 … S − 1)
    share, cap : (R, M) [-]  share of its source each measure removes, and min(1, baseline ÷
        standalone)
    group : (M,) int  exclusive-group code (−1 = none)
    todo : (R, M) bool  measures that may stand on the curve
    sequential : bool  re-price measures for what is left of their source

    Returns
    -------
    order (R, M) int: measure indices, first to last, padded with −1; winner (R, M) int: for an
    exclusive-group member left off the curve the measure that took its place (−1 otherwise);
    alt_scale (R, M) [-]: that member's interaction scale when its group was taken (NaN
    otherwise). Ties: larger width first, then lower index.
    """
    K, E, T, standalone, share, cap = (np.atleast_2d(np.asarray(a, float))
                                       for a in (K, E, T, standalone, share, cap))
    todo = np.array(np.atleast_2d(todo), dtype=bool)
    source, group = np.asarray(source, int), np.asarray(group, int)
    R, M = K.shape
    left = np.ones((R, int(source.max(initial=-1)) + 1))
    order = np.full((R, M), -1)
    winner = np.full((R, M), -1)
    alt_scale = np.full((R, M), np.nan)
    same_group = (group[:, None] == group[None, :]) & (group[:, None] >= 0)  # (M, M)
    for step in range(M):
        s = left[:, source] * cap if sequential else np.ones((R, M))
        width = standalone * s
        ok = todo & (width > TINY_TCO2E)
        live = np.flatnonzero(ok.any(axis=1))
        if not len(live):
            break
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            cpt = np.where(ok, (K + s * E) / np.where(ok, s * T, 1.0), np.inf)
        cpt[np.isnan(cpt)] = np.inf
        tie = ok & (cpt == cpt.min(axis=1, keepdims=True))
        tie &= width == np.where(tie, width, -np.inf).max(axis=1, keepdims=True)
        pick = np.argmax(tie[live], axis=1)
        order[live, step] = pick
        todo[live, pick] = False
        rr, mm = np.nonzero(todo[live] & same_group[pick])
        r_alt = live[rr]
        winner[r_alt, mm], alt_scale[r_alt, mm] = pick[rr], s[r_alt, mm]
        todo[r_alt, mm] = False
        if sequential:
            left[live, source[pick]] *= 1.0 - share[live, pick]
    return order, winner, alt_scale


def _greedy(K, E, T, standalone, src, share, cap, group, todo, sequential):
    """Place the ``todo`` measures cheapest first (:func:`mac_order`, one draw); return order,
    alternatives [(i, winner, scale)] and the measures left with nothing to abate.
    """
    src_code = pd.factorize(pd.Series(src, dtype=object))[0]
    labels = pd.Series(group, dtype=object).fillna("").astype(str)
    group_code = np.where(labels.to_numpy(object) == "", -1, pd.factorize(labels)[0])
    order, winner, alt_scale = mac_order(K, E, T, standalone, src_code, share, cap, group_code,
                                         todo, sequential)
    order = order[0][order[0] >= 0]
    step = np.empty(len(K), dtype=int)
    step[order] = np.arange(len(order))
    alt = np.flatnonzero(winner[0] >= 0)
    alt = alt[np.lexsort((alt, step[winner[0, alt]]))]
    alts = [(int(j), int(winner[0, j]), float(alt_scale[0, j])) for j in alt]
    leftover = np.flatnonzero(todo & ~np.isin(np.arange(len(K)), order) & (winner[0] < 0))
    return order.astype(int), alts, leftover


def _reasons(standalone, T, y0, y1, year, factor_set) -> np.ndarray:
    """Why a measure has no width in ``year`` ("" where it has one)."""
    out = np.full(len(standalone), "", dtype=object)
    for i, a in enumerate(standalone):
        if not y0[i] <= year <= y1[i]:
            state = "has not begun" if y0[i] > year else "has ended"
            out[i] = f"no effect in {year}: acts {y0[i]}–{y1[i]} ({state})"
        elif abs(a) <= TINY_TCO2E:
            out[i] = f"zero abatement in {year}: cost per tonne undefined"
        elif a < 0:
            out[i] = f"adds {-a:,.1f} t CO2e in {year} (emission factor set {factor_set})"
        elif T[i] <= 0:
            out[i] = "lifetime abatement ≤ 0 although positive in the reference year"
    return out


def build_macc(measures: pd.DataFrame, flows: Flows, city: CityData,
               scenario: Scenario) -> MaccResult:
    """The MAC curve of the appraised ``measures`` (a subset of ``flows`` is allowed).

    Parameters
    ----------
    measures : appraisal table (``appraisal.appraise``): measure_id, name, sector, payer,
        emission_source, capex [currency], ...
    flows : Flows of (at least) the same measures at their appraisal start years
    city : CityData (exclusive groups, requirements, grants, baseline)
    scenario : Scenario (real_rate, perspective, discount_abatement, interaction,
        emission_factor_set, macc_year, baseline_trend)

    Money in ``city.currency``; tonnes [t CO2e / year] in the reference year, except
    ``appraised_tco2e`` (the lifetime tonnes the cost per tonne divides by, scaled). See the
    module docstring for the conventions.
    """
    ids = list(flows.measure_ids)
    unknown = [m for m in measures["measure_id"] if m not in ids]
    if unknown:
        raise ValueError(f"measures not in flows: {', '.join(map(str, unknown))}")
    pos = np.array([ids.index(m) for m in measures["measure_id"]], dtype=int)
    year, rate = int(scenario.macc_year), scenario.real_rate
    sequential = scenario.interaction == "sequential"

    info = {c: dict(zip(city.measures["measure_id"], city.measures[c].fillna("").astype(str), strict=True))
            for c in ("exclusive_group", "requires") if c in city.measures}
    mid = measures["measure_id"].astype(str).to_numpy(object)
    col = {c: measures[c].to_numpy() for c in BASE_COLUMNS[:5]}
    col["exclusive_group"] = np.array([info.get("exclusive_group", {}).get(m, "") for m in mid],
                                      dtype=object)
    col["start_year"] = flows.start_year[pos]
    col["capex"] = measures["capex"].to_numpy(float)
    requires = [info.get("requires", {}).get(m, "") for m in mid]

    def npv(values):
        return np.asarray(finance.npv(rate, values), float)[pos]

    grant, tf = grants_of(measures, flows), scenario.tax_factor
    if grant is not None:  # the table's grants, for every measure of the flows (others: 0)
        grant = np.nan_to_num(grant)
    K = npv(net_cost(flows, city, scenario.perspective, scale=0.0, grant=grant, tax_factor=tf))  # capex, O&M
    E = npv(net_cost(flows, city, scenario.perspective, scale=1.0, grant=grant, tax_factor=tf)) - K  # energy
    own_K = K.copy()
    K = K + _required_cost(mid, requires, own_K)  # a bundle: priced with what it requires
    ab = flows.abatement
    T = npv(ab) if scenario.discount_abatement else ab.sum(axis=-1)[pos]
    standalone = flows.calendar(ab, np.array([year]))[pos, 0]
    src = col["emission_source"].astype(str)
    base_tab = baseline_by_source(city, [year], scenario.baseline_trend)[year]
    baseline = dict(zip(base_tab.index.astype(str), base_tab.to_numpy(float), strict=True))
    base = _baseline_of(src, baseline)
    share, cap = _share_and_cap(standalone, base)

    reason = _reasons(standalone, T, *_effect_years(flows, pos), year, scenario.emission_factor_set)
    group = col["exclusive_group"]
    order, alts, leftover = _greedy(K, E, T, standalone, src, share, cap, group, reason == "",
                                    sequential)
    for i in leftover:
        reason[i] = (f"nothing left of source {src[i]} in {year} after measures earlier on "
                     "the curve" if base[i] > 0
                     else f"source {src[i]} has no emissions in {year} (baseline ≤ 0)")
    scale = (interaction_scale(standalone, src, baseline, order) if sequential
             else np.isin(np.arange(len(pos)), order).astype(float))

    def table(which, s, rank):
        which, s = np.asarray(which, dtype=int), np.asarray(s, dtype=float)
        tonnes, npv_cost, width = s * T[which], K[which] + s * E[which], standalone[which] * s
        end = np.cumsum(width)
        return pd.DataFrame({
            "rank": rank, **{c: v[which] for c, v in col.items()}, "npv_cost": npv_cost,
            "standalone_tco2e": standalone[which], "adjusted_tco2e": width, "scale": s,
            "standalone_cost_per_tco2e": _ratio((K + E)[which], T[which]),
            "cost_per_tco2e": _ratio(npv_cost, tonnes),
            "own_cost_per_tco2e": _ratio(own_K[which] + s * E[which], tonnes), "appraised_tco2e": tonnes,
            "cum_start_tco2e": end - width, "cum_end_tco2e": end, "saves_money": npv_cost < 0,
            "note": ""}, columns=CURVE_COLUMNS)

    curve = table(order, scale[order], np.arange(1, len(order) + 1))
    npv_of = dict(zip(mid, own_K + E, strict=True))
    curve["note"] = [_note(c, s, requires[i], npv_of.get(requires[i]), src[i], city.currency,
                           sequential)
                     for i, c, s in zip(order, curve["npv_cost"], curve["scale"], strict=True)]
    rank_of = {int(m): r + 1 for r, m in enumerate(order)}
    alternatives = table([i for i, _, _ in alts], [s for _, _, s in alts],
                         [rank_of[w] for _, w, _ in alts])
    alternatives[["cum_start_tco2e", "cum_end_tco2e"]] = np.nan
    alternatives["note"] = [f"alternative to {mid[w]} (group {group[i]}): cost and abatement "
                            "in its place" for i, w, _ in alts]
    alternatives["instead_of"] = pd.Series([mid[w] for _, w, _ in alts], dtype=object)
    ex = np.flatnonzero(reason != "")
    excluded = pd.DataFrame({**{c: v[ex] for c, v in col.items()}, "npv_cost": (own_K + E)[ex],
                             "standalone_tco2e": standalone[ex], "reason": reason[ex]},
                            columns=EXCLUDED_COLUMNS)
    recon = _reconcile(city, base_tab, src[order], standalone[order],
                       standalone[order] * scale[order])
    return MaccResult(curve=curve, alternatives=alternatives, reconciliation=recon,
                      excluded=excluded, reference_year=year, interaction=scenario.interaction,
                      currency=city.currency, sector_summary=sector_summary(curve))


def required_chain(mid, requires) -> np.ndarray:
    """(M, M) 0/1: row i marks every measure that measure i requires, followed down the chain (an
    enabler of an enabler counts too); a requirement that is not among ``mid`` is left out.

    ``chain @ cost`` is the cost of what each measure requires, for one cost vector (M,) or for
    every draw at once (``cost @ chain.T`` with cost (R, M)).
    """
    at = {m: j for j, m in enumerate(mid)}
    req_of = dict(zip(mid, requires, strict=True))
    chain = np.zeros((len(mid), len(mid)))
    for i, m in enumerate(mid):
        seen, r = {m}, req_of.get(m, "")
        while r and r not in seen:
            if r in at:  # a requirement off the curve's table costs nothing here
                chain[i, at[r]] = 1.0
            seen.add(r)
            r = req_of.get(r, "")
    return chain


def _required_cost(mid: np.ndarray, requires: list[str], own_K: np.ndarray) -> np.ndarray:
    """(M,) [currency] the NPV cost (investment and running part) of what each measure requires
    (:func:`required_chain`), 0 for none.
    """
    return required_chain(mid, requires) @ own_K


def _note(npv_cost, scale, requires: str, requires_npv, source: str, currency: str,
          sequential: bool) -> str:
    parts = []
    if npv_cost < 0:
        parts.append(f"saves money: NPV {npv_cost:,.0f} {currency}; among saving measures the "
                     "order by cost per tonne is not a ranking of value")
    if sequential and scale < 1:
        parts.append(f"{scale:.0%} of its standalone effect: shares source {source}")
    if requires:
        cost = ("" if requires_npv is None
                else f" (NPV cost {requires_npv:,.0f} {currency}, included in this cost per tonne)")
        parts.append(f"requires {requires}{cost}")
    return "; ".join(parts)


def _reconcile(city, base_tab: pd.Series, src, standalone, adjusted) -> pd.DataFrame:
    """Per emission source: baseline, standalone and adjusted sums of the curve [t CO2e / year]."""
    b = city.baseline.drop_duplicates("source_id")
    sector = dict(zip(b["source_id"].astype(str), b["sector"], strict=True))
    scope = dict(zip(b["source_id"].astype(str),
                     b["scope"] if "scope" in b else ["territorial"] * len(b), strict=True))
    sources = base_tab.index.astype(str).tolist()
    at = np.array([sources.index(s) for s in src], dtype=int)
    n = len(sources)
    stand = np.bincount(at, weights=standalone, minlength=n)
    adj = np.bincount(at, weights=adjusted, minlength=n)
    base = base_tab.to_numpy(float)
    return pd.DataFrame({"source_id": sources, "sector": [sector[s] for s in sources],
                         "scope": [scope[s] for s in sources], "baseline_tco2e": base,
                         "measures": np.bincount(at, minlength=n), "standalone_sum_tco2e": stand,
                         "adjusted_sum_tco2e": adj, "remaining_tco2e": base - adj,
                         "double_count_avoided_tco2e": stand - adj}, columns=RECONCILIATION_COLUMNS)


def sector_summary(curve: pd.DataFrame) -> pd.DataFrame:
    """Per sector: measures, abatement [t CO2e / year], investment [currency], NPV cost
    [currency] and cost per tonne [currency / t CO2e] = Σ NPV cost ÷ Σ appraised tonnes (the
    sector as one block); largest abatement first.
    """
    g = curve.groupby("sector", sort=False)
    out = pd.DataFrame({
        "measures": g.size(),
        "abatement_tco2e": g["adjusted_tco2e"].sum(),
        "investment": g["capex"].sum(),
        "npv_cost": g["npv_cost"].sum(),
        "appraised_tco2e": g["appraised_tco2e"].sum(),
    })
    out["cost_per_tco2e"] = _ratio(out["npv_cost"], out["appraised_tco2e"])
    total = out["abatement_tco2e"].sum()
    out["share_of_abatement"] = out["abatement_tco2e"] / total if total > 0 else 0.0
    out = out.drop(columns="appraised_tco2e")
    return out.sort_values("abatement_tco2e", ascending=False, kind="stable").reset_index()

"""The portfolio's mixed-integer model: variables, structural rows, tonnes and cost vectors.

One step of :mod:`climateinvest.portfolio.select` (its docstring states the model). Variables are x (one
binary per candidate) followed by w (one continuous per chained candidate, ``sequential`` only).
The budget rows and a solve's own rows (the held tonnes, the required reduction) are added per
solve (:mod:`climateinvest.portfolio.solve`), so one model serves the main solves, the tie-break
and every frontier point.

Sequential interaction, exactly
-------------------------------
Along a shared source the measures are chained in interaction order m_1, m_2, …; R_i = 1 − Σ_{j<i}
Σ_k a_k w_k is the share left before m_i and W_i = Σ_{k of m_i} w_k = y_i R_i with y_i = Σ_k x_k.
The product of the binary y_i and R_i ∈ [ρ_i, 1] is linearised by McCormick's inequalities

    w_k ≤ x_k,   w_k ≥ ρ_i x_k,   W_i ≥ R_i − (1 − y_i),   W_i ≤ R_i − ρ_i (1 − y_i),

exact at every integer point (y_i = 1 gives W_i = R_i, y_i = 0 gives W_i = 0).
ρ_i = Π_{j<i} (1 − max_k a_k) is the least share that can be left (at most one start per
measure), so ρ_i is close to 1 on a source the measures cut little and the relaxation of the
interaction is tight; with ρ_i = 0 the rows are the plain product linearisation. Tonnes and
energy cost are then e_k w_k and E_k cap_k w_k.

Tangent cuts: a source's adjusted tonnes are B(1 − e^−L), L = Σ ℓ_k x_k, ℓ_k = −ln(1 − a_k),
whatever the order, and this concave function lies under each of its tangents, so the tangent
inequalities hold at every integer point and only tighten the relaxation. They are placed evenly
on (0, L_max] (L_max = Σ over the source's measures of their largest ℓ) and as many (at most
:data:`MAX_TANGENTS`) as keep the gap between the tangents and the curve below
:data:`TANGENT_TOL` of the source's largest possible cut.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from climateinvest.portfolio.candidates import Problem

MAX_TANGENTS = 16
TANGENT_TOL = 1e-4  # envelope error allowed, as a share of B(1 − e^−L_max); only a matter of speed
_L_CAP = -np.log(1e-3)


@dataclass(frozen=True)
class Model:
    """The mixed-integer programme in scipy's matrix form."""

    n: int                      # variables: x (K) then w (chain members)
    integrality: np.ndarray
    ub: np.ndarray
    A: sparse.csr_array         # structural rows
    lo: np.ndarray
    hi: np.ndarray
    spend: sparse.csr_array     # (P, n) budget-counted investment per plan year
    tonnes: np.ndarray          # (n,) territorial adjusted tonnes, target year
    cost: np.ndarray            # (n,) NPV cost at the first plan year
    chained: np.ndarray         # (K,) bool: the candidate's tonnes are e_k w_k on a shared source


def tangent_points(l_max: float) -> np.ndarray:
    """Where to place the tangents of B(1 − e^−L) on (0, l_max] (see the module docstring).

    Between tangents h apart the envelope exceeds the curve by at most B h² / 8 (the curvature is
    at most B), so h = √(8 · TANGENT_TOL · (1 − e^−l_max)) keeps it within the tolerance.
    """
    if not l_max > 0:
        return np.zeros(0)
    l_max = min(l_max, _L_CAP)  # beyond, less than 0.1 % of the source is left: nothing to tighten
    h = np.sqrt(8.0 * TANGENT_TOL * -np.expm1(-l_max))
    n = int(min(MAX_TANGENTS, max(1, np.ceil(l_max / h))))
    return l_max * np.arange(1, n + 1) / n


def build_model(p: Problem) -> Model:
    """Structural rows (starts, groups, requires, source interaction) and objective vectors."""
    c, meas = p.cand, p.city.measures
    nk = len(c.m)
    sequential = p.scenario.interaction == "sequential"
    chain_k = np.zeros(0, int)
    if sequential:  # a source cut by one measure only needs no chain (its scale is its cap)
        shared = {s for s in set(c.source[c.chain]) if len(set(c.m[c.chain & (c.source == s)])) > 1}
        chain_k = np.flatnonzero(c.chain & np.isin(c.source, list(shared)))
    w_of = np.full(nk, -1)
    w_of[chain_k] = nk + np.arange(len(chain_k))
    n = nk + len(chain_k)
    ub = np.ones(n)
    rows, cols, vals, lo, hi = [], [], [], [], []

    def row(entries, low, high):
        r = len(lo)
        for j, v in entries:
            rows.append(r), cols.append(j), vals.append(v)
        lo.append(low), hi.append(high)

    forced = {i for i, mid in enumerate(meas["measure_id"]) if mid in set(p.scenario.measures_in)}
    for i, ks in c.by_measure.items():  # one start per measure; exactly one if forced in
        row([(k, 1.0) for k in ks], 1.0 if i in forced else -np.inf, 1.0)
    groups = meas["exclusive_group"].fillna("").astype(str).to_numpy()
    for g in sorted(set(groups[c.m]) - {""}):
        row([(k, 1.0) for k in range(nk) if groups[c.m[k]] == g], -np.inf, 1.0)
    ids = {mid: i for i, mid in enumerate(meas["measure_id"])}
    req = meas["requires"].fillna("").astype(str).to_numpy()
    for k in range(nk):
        r = req[c.m[k]]
        if not r:
            continue
        before = [j for j in c.by_measure.get(ids.get(r, -1), []) if c.year[j] <= c.year[k]]
        if not before:
            ub[k] = 0.0
        else:
            row([(k, 1.0)] + [(j, -1.0) for j in before], -np.inf, 0.0)
    if sequential:
        for s in sorted(set(c.source[chain_k])):
            members = sorted((k for k in chain_k if c.source[k] == s), key=lambda k: (p.rank[c.m[k]], c.year[k]))
            _chain_rows(row, c, w_of, members)
            B = p.baseline[s]
            if B > 0:  # tangents of B(1 − e^−L) at L0: Σ e w ≤ B(1 − e^−L0) + B e^−L0 (L − L0)
                ell = -np.log1p(-np.minimum(c.share[members], 1.0 - 1e-15))
                best: dict = {}
                for k, ell_k in zip(members, ell, strict=True):
                    best[c.m[k]] = max(best.get(c.m[k], 0.0), ell_k)
                for L0 in tangent_points(sum(best.values())):
                    left = np.exp(-L0)
                    row(
                        [(w_of[k], c.e[k]) for k in members]
                        + [(k, -B * left * ell_k) for k, ell_k in zip(members, ell, strict=True)],
                        -np.inf,
                        B * (1.0 - left) - B * left * L0 + 1e-9 * B,
                    )
    else:  # linear cap per source
        for s in sorted(set(c.source[c.e > 0])):
            ks = [k for k in range(nk) if c.source[k] == s and c.e[k] > 0]
            row([(k, c.e[k]) for k in ks], -np.inf, max(p.baseline[s], 0.0))

    tonnes, cost = np.zeros(n), np.zeros(n)
    terr = c.territorial.astype(float)
    lin = w_of < 0
    tonnes[:nk] = np.where(lin, c.e * terr, 0.0)
    cost[:nk] = c.K + np.where(lin, c.E * c.cap, 0.0)
    tonnes[w_of[~lin]] = (c.e * terr)[~lin]
    cost[w_of[~lin]] = (c.E * c.cap)[~lin]
    counted = c.spend * c.counts[:, None]  # (K, P)
    spend = sparse.csr_array(np.hstack([counted.T, np.zeros((len(p.plan), n - nk))]))
    A = sparse.csr_array((vals, (rows, cols)), shape=(len(lo), n))
    integrality = np.r_[np.ones(nk), np.zeros(n - nk)]
    return Model(n, integrality, ub, A, np.array(lo, float), np.array(hi, float), spend, tonnes, cost, ~lin)


def _chain_rows(row, c, w_of: np.ndarray, members: list) -> None:
    """McCormick rows of one source's chain (module docstring); ``members`` in interaction order,
    a measure's candidates next to each other.
    """
    prev: list = []  # (w column, a) of the candidates of earlier measures
    rho = 1.0  # least share left before the current measure
    i = 0
    while i < len(members):
        j = i
        while j < len(members) and c.m[members[j]] == c.m[members[i]]:
            j += 1
        ks = members[i:j]
        for k in ks:
            row([(w_of[k], 1.0), (k, -1.0)], -np.inf, 0.0)  # w ≤ x
            if rho > 0:
                row([(w_of[k], 1.0), (k, -rho)], 0.0, np.inf)  # w ≥ ρ x
        if prev:  # for the first measure R = 1 = ρ, and the two rows above already give W = y
            W = [(w_of[k], 1.0) for k in ks]
            row(W + prev + [(k, -1.0) for k in ks], 0.0, np.inf)  # W ≥ R − (1 − y)
            row(W + prev + [(k, -rho) for k in ks], -np.inf, 1.0 - rho)  # W ≤ R − ρ (1 − y)
        prev = prev + [(w_of[k], c.share[k]) for k in ks if c.share[k] > 0]
        rho *= 1.0 - max(c.share[k] for k in ks)
        i = j

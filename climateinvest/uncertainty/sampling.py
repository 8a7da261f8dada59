"""Multipliers of the base values per Monte Carlo draw, from the city's ``uncertainty`` table.

Rules (``uncertainty.csv``, docs/architecture.md section 3)
-----------------------------------------------
* Each row gives a distribution (``triangular`` or ``uniform``) of a **multiplier** of the base
  value: ``low``, ``mode``, ``high`` [-]. Parameters: ``capex``, ``opex``, ``abatement`` (per
  measure) and ``energy_price``, ``emission_factor`` (per carrier).
* A ``*`` row draws **one** multiplier per draw shared by every measure (or carrier) without a
  row of its own: perfectly correlated, e.g. a general optimism bias on investment costs.
* A row naming a measure (or carrier) draws that target's **own** multiplier, independent of the
  ``*`` one, and **overrides** it for that target (it replaces it, it is not multiplied with it).
* Targets without any row keep multiplier 1. A row whose target is of the wrong kind for its
  parameter (a carrier on ``capex``) or a carrier no measure uses is ignored and said in
  ``Multipliers.notes``.
* Random numbers: ``numpy.random.default_rng`` seeded with the entropy (seed, parameter,
  SHA-256 of the target): every row has its own stream, so a row's draws do not change when
  other rows or measures are added, removed or reordered (common random numbers across the
  scenarios of a city). Negative seeds are taken modulo 2**128.
  Each draw is one uniform number u mapped through the inverse CDF of the row's distribution
  (:func:`ppf`). This equals ``rng.triangular`` / ``rng.uniform`` in distribution, but is exact
  for a zero-width row (low = mode = high gives the mode, where ``rng.triangular`` raises), and
  needs one generator call per row, not one per distribution kind.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

MEASURE_PARAMETERS = ("capex", "opex", "abatement")
CARRIER_PARAMETERS = ("energy_price", "emission_factor")
PARAMETERS = MEASURE_PARAMETERS + CARRIER_PARAMETERS
ANY = "*"


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
        """Number of draws."""
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
        return replace(self, **{p: np.broadcast_to(np.asarray(v, float), getattr(self, p).shape)
                                for p, v in arrays.items()})


def _stream(seed: int, parameter: str, target: str, draws: int) -> np.ndarray:
    """``draws`` uniform numbers of the row (parameter, target): ``default_rng`` seeded with the
    entropy (seed mod 2**128, parameter index, first 128 bits of SHA-256(target)).
    """
    tag = int.from_bytes(hashlib.sha256(target.encode("utf-8")).digest()[:16], "big")
    entropy = [int(seed) % (1 << 128), PARAMETERS.index(parameter), tag]
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
        for i, r in own:  # one stream per row (see module docstring)
            k[:, i] = draw(r)
        out[p] = k
    return Multipliers(**out, measure_ids=ids, carriers=cars, notes=tuple(notes))


def star_quantiles(table: pd.DataFrame, parameter: str, q=(0.1, 0.9)) -> tuple[float, ...] | None:
    """Quantiles ``q`` [-] of the ``*`` row of ``parameter`` (None without such a row)."""
    rows = table[(table["target"] == ANY) & (table["parameter"] == parameter)] if len(table) else table
    if not len(rows):
        return None
    r = rows.iloc[0]
    return tuple(float(ppf(r["distribution"], r["low"], r["mode"], r["high"], x)) for x in q)

"""Portfolio tables: a selection of candidates → the ``chosen`` table, budget use, comparison rows.

One step of :mod:`climateinvest.portfolio.select`. The interaction-adjusted numbers are recomputed here
from the selection with :func:`climateinvest.macc.interaction_scale` (never read back from the
solver's continuous variables), so a reported tonne is always the model's exact value.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from climateinvest.macc import interaction_scale
from climateinvest.portfolio.candidates import Problem

HOLD_TOL = 1e-6  # relative tolerance of "meets the target" and of a shortfall

CHOSEN_COLUMNS = ["measure_id", "name", "sector", "payer", "emission_source", "scope", "start_year",
                  "capex", "capex_years", "counts_against_budget", "capex_in_cycle", "capex_after_cycle",
                  "standalone_tco2e", "adjusted_tco2e", "scale", "npv_cost", "cost_per_tco2e"]


def adjusted(p: Problem, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Selected candidates in interaction order and their scale (adjusted ÷ standalone)."""
    c = p.cand
    ks = np.flatnonzero(x)
    if not len(ks):
        return ks, np.zeros(0)
    ks = ks[np.lexsort((c.year[ks], p.rank[c.m[ks]]))]
    if p.scenario.interaction == "sequential":
        return ks, np.asarray(interaction_scale(c.raw[ks], c.source[ks], p.baseline, np.arange(len(ks))), float)
    return ks, c.cap[ks]


def tonnes_of(p: Problem, x: np.ndarray) -> float:
    """Adjusted territorial tonnes in the target year of the candidates selected by ``x``."""
    ks, scale = adjusted(p, x)
    c = p.cand
    return float(np.sum(c.raw[ks] * scale * c.territorial[ks]))


def cost_of(p: Problem, x: np.ndarray) -> float:
    """[currency] NPV cost (interaction-scaled energy) of the candidates selected by ``x``."""
    ks, scale = adjusted(p, x)
    return float(np.sum(p.cand.K[ks] + p.cand.E[ks] * scale))


def chosen_table(p: Problem, x: np.ndarray) -> pd.DataFrame:
    """The ``chosen`` table of the candidates selected by ``x``, in interaction order."""
    c, meas = p.cand, p.city.measures
    ks, scale = adjusted(p, x)
    mi = c.m[ks]
    cost = c.K[ks] + c.E[ks] * scale
    tonnes = c.life_tonnes[ks] * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        cpt = np.where(tonnes != 0, cost * c.growth[ks] / np.where(tonnes != 0, tonnes, 1.0), np.nan)
    return pd.DataFrame({
        "measure_id": meas["measure_id"].to_numpy()[mi],
        "name": meas["name"].to_numpy()[mi],
        "sector": meas["sector"].to_numpy()[mi],
        "payer": meas["payer"].to_numpy()[mi],
        "emission_source": c.source[ks].astype(str) if len(ks) else np.zeros(0, str),
        "scope": np.where(c.territorial[ks], "territorial", "indirect"),
        "start_year": c.year[ks],
        "capex": meas["capex"].to_numpy(float)[mi],
        "capex_years": meas["capex_years"].to_numpy(int)[mi],
        "counts_against_budget": c.counts[ks],
        "capex_in_cycle": c.spend[ks].sum(axis=1),
        "capex_after_cycle": c.after[ks],
        "standalone_tco2e": c.raw[ks],
        "adjusted_tco2e": c.raw[ks] * scale,
        "scale": np.asarray(scale, float),
        "npv_cost": cost,
        "cost_per_tco2e": cpt,
    })[CHOSEN_COLUMNS]


def spent(p: Problem, x: np.ndarray, counted: bool = True) -> np.ndarray:
    """(P,) [currency] investment per plan year of the selection, budget-counted or external."""
    c = p.cand
    sel = x & (c.counts if counted else ~c.counts)
    return c.spend[sel].sum(axis=0) if sel.any() else np.zeros(len(p.plan))


def spending(table: pd.DataFrame, plan: np.ndarray) -> pd.DataFrame:
    """Long table of a ``chosen`` table's investment, one row per measure and year."""
    out = []
    for r in table.itertuples():
        for t in range(int(r.capex_years)):
            y = int(r.start_year) + t
            out.append((r.measure_id, r.sector, r.payer, int(r.start_year), y, r.capex / r.capex_years,
                        bool(r.counts_against_budget), bool(y <= plan[-1])))
    return pd.DataFrame(out, columns=["measure_id", "sector", "payer", "start_year", "year", "capex",
                                      "counts_against_budget", "in_cycle"]).astype(
        {"start_year": int, "year": int, "capex": float, "counts_against_budget": bool, "in_cycle": bool})


def comparison_row(name: str, t: pd.DataFrame, required: float) -> dict:
    """One row of the ``comparison`` table for a ``chosen`` table ``t``."""
    terr = t["scope"] == "territorial"
    tonnes = float(t.loc[terr, "adjusted_tco2e"].sum())
    return {"portfolio": name, "n_measures": len(t), "tco2e_target_year": tonnes,
            "indirect_tco2e": float(t.loc[~terr, "adjusted_tco2e"].sum()),
            "npv_cost": float(t["npv_cost"].sum()),
            "capex_in_budget": float(t.loc[t["counts_against_budget"], "capex_in_cycle"].sum()),
            "capex_total": float(t["capex"].sum()),
            "meets_target": bool(tonnes >= required - HOLD_TOL * max(1.0, abs(required)))}

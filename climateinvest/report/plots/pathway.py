"""Figures of the emission pathway and the carbon budget [t CO2e/year], [t CO2e].

Plots never compute: every number is read from a :class:`climateinvest.territory.pathway.PathwayResult`.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from climateinvest.report.plots.finance import YEAR_AXIS, _finish
from climateinvest.report.plots.style import CARBON_LINE, TONNES
from climateinvest.territory.pathway import PathwayResult

BASELINE_COLOUR = "#7f7f7f"
PORTFOLIO_COLOUR = "#1b7837"
TARGET_COLOUR = CARBON_LINE
GAP_COLOUR = "#d7301f"


def _fmt(x: float) -> str:
    return f"{x:,.0f}".replace(",", " ")


def pathway_figure(pathway: PathwayResult, target=None) -> go.Figure:
    """Territorial emissions: baseline, with the portfolio, the target level and the straight path
    to it, the gap in the target year marked; indirect emissions dashed (not in the target); the
    part under the EU ETS dash-dotted, from the last inventory year on, where the city has one.

    ``target`` (the scenario's ``target``, optional) only labels the chart; the values come from
    ``pathway.summary``.
    """
    t, s = pathway.table, pathway.summary
    year, level = s["target_year"], s["target_tco2e"]
    reduction = getattr(target, "reduction", s.get("reduction"))
    base_year = getattr(target, "base_year", s.get("base_year"))
    fig = go.Figure()
    fig.add_scatter(x=t["year"], y=t["baseline_territorial_tco2e"], name="Baseline (territorial)",
                    mode="lines", line={"color": BASELINE_COLOUR, "width": 2})
    fig.add_scatter(x=t["year"], y=t["with_portfolio_territorial_tco2e"], name="With the portfolio (territorial)",
                    mode="lines", line={"color": PORTFOLIO_COLOUR, "width": 3})
    if (t["baseline_indirect_tco2e"] != 0).any():
        fig.add_scatter(x=t["year"], y=t["baseline_indirect_tco2e"], name="Baseline, indirect (not in target)",
                        mode="lines", line={"color": BASELINE_COLOUR, "width": 1.5, "dash": "dash"})
        fig.add_scatter(x=t["year"], y=t["with_portfolio_indirect_tco2e"],
                        name="With the portfolio, indirect (not in target)",
                        mode="lines", line={"color": PORTFOLIO_COLOUR, "width": 1.5, "dash": "dash"})
    ets = t[t["with_portfolio_ets_tco2e"].notna()] if "with_portfolio_ets_tco2e" in t else t.iloc[:0]
    if len(ets) and (ets["baseline_ets_tco2e"] > 0).any():  # the part the city has little control over
        fig.add_scatter(x=ets["year"], y=ets["with_portfolio_ets_tco2e"],
                        name="Of which under the EU ETS, with the portfolio", mode="lines",
                        line={"color": PORTFOLIO_COLOUR, "width": 1.5, "dash": "dashdot"})
    path = t[t["target_path_tco2e"].notna()]
    if len(path) > 1:
        fig.add_scatter(x=path["year"], y=path["target_path_tco2e"], name="Straight path to the target",
                        mode="lines", line={"color": TARGET_COLOUR, "width": 1.5, "dash": "dot"})
    label = (f"Target {year}: −{reduction:.0%} vs {base_year}" if reduction is not None else f"Target {year}")
    fig.add_scatter(x=[year], y=[level], name=label, mode="markers",
                    marker={"symbol": "diamond", "size": 12, "color": TARGET_COLOUR})
    fig.add_hline(y=level, line={"color": TARGET_COLOUR, "width": 1, "dash": "dot"})
    with_t, gap = s.get("target_year_with_portfolio_tco2e"), s.get("gap_tco2e")
    if with_t is not None and gap is not None:
        fig.add_shape(type="line", x0=year, x1=year, y0=level, y1=with_t,
                      line={"color": GAP_COLOUR if gap > 0 else PORTFOLIO_COLOUR, "width": 3})
        text = (f"gap {_fmt(gap)} {TONNES}/year" if gap > 0 else f"target met, {_fmt(-gap)} {TONNES}/year to spare")
        fig.add_annotation(x=year, y=(level + with_t) / 2, text=text, showarrow=True, ax=60, ay=-30,
                           font={"color": GAP_COLOUR if gap > 0 else PORTFOLIO_COLOUR})
    fig.add_vline(x=s["last_inventory_year"], line={"color": "#bbbbbb", "width": 1, "dash": "dot"},
                  annotation_text="inventory | projection", annotation_position="top left")
    fig.update_layout(xaxis=YEAR_AXIS, yaxis={"title": f"Emissions [{TONNES}/year]", "rangemode": "tozero"})
    return _finish(fig, "Emission pathway against the target")


def carbon_budget_figure(pathway: PathwayResult) -> go.Figure:
    """Cumulative territorial emissions from the budget's first year, baseline and with the
    portfolio, against the carbon budget; the year each runs out marked.
    """
    t, s = pathway.table, pathway.summary
    fig = go.Figure()
    budget = s.get("carbon_budget_tco2e")
    if budget is None:
        fig.add_annotation(text="No carbon budget in this scenario", showarrow=False,
                           xref="paper", yref="paper", x=0.5, y=0.5)
        return _finish(fig, "Carbon budget")
    rows = t[t["cumulative_from_budget_year_tco2e"].notna()]
    fig.add_scatter(x=rows["year"], y=rows["baseline_cumulative_from_budget_year_tco2e"], mode="lines",
                    name="Baseline, cumulative", line={"color": BASELINE_COLOUR, "width": 2})
    fig.add_scatter(x=rows["year"], y=rows["cumulative_from_budget_year_tco2e"], mode="lines",
                    name="With the portfolio, cumulative", line={"color": PORTFOLIO_COLOUR, "width": 3})
    fossil = s.get("carbon_budget_basis", "fossil_co2") == "fossil_co2"
    unit = "t fossil CO2 only" if fossil else TONNES
    fig.add_hline(y=budget, line={"color": TARGET_COLOUR, "width": 2, "dash": "dash"},
                  annotation_text=f"carbon budget {_fmt(budget)} {unit} from {s['carbon_budget_from_year']}",
                  annotation_position="bottom right")
    for key, col, colour, who, where in (
            ("baseline_budget_runs_out_year", "baseline_cumulative_from_budget_year_tco2e", BASELINE_COLOUR,
             "baseline", "top right"),
            ("budget_runs_out_year", "cumulative_from_budget_year_tco2e", PORTFOLIO_COLOUR,
             "with the portfolio", "bottom right")):
        y = s.get(key)
        if y is not None:
            val = float(np.asarray(rows.loc[rows["year"] == y, col])[0])
            fig.add_scatter(x=[y], y=[val], mode="markers+text", marker={"color": colour, "size": 10, "symbol": "x"},
                            text=[f"{who}: spent in {y}"], textposition=where, textfont={"color": colour},
                            name=f"Budget spent ({who})")
    fig.update_layout(xaxis=YEAR_AXIS,
                      yaxis={"title": f"Cumulative emissions [{TONNES}]", "rangemode": "tozero"})
    if fossil:  # Klimatkollen's budget counts fossil CO2 only; the emissions are all greenhouse gases
        return _finish(fig, f"Cumulative emissions ({TONNES}, all greenhouse gases) against a fossil-CO2 "
                            "carbon budget: an indicator, not a like-for-like comparison")
    return _finish(fig, "Cumulative emissions against the carbon budget")

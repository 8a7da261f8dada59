"""Figures of the financing plan: sources by year, debt service, operating-budget impact.

Plots never compute: every number is read from a :class:`climateinvest.financing.FinancingResult`;
the only arithmetic is dividing by 10⁶ when the axis is shown in millions ("[MSEK]").
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from climateinvest.financing import GAP_SOURCE, FinancingResult
from climateinvest.report.plots.style import apply

GAP_COLOUR = "#d7301f"  # warning red, with a hatch pattern so it reads without colour too
KIND_PALETTES = {
    "grant": ("#1b7837", "#5aae61", "#a6dba0", "#d9f0d3"),
    "loan": ("#2166ac", "#4393c3", "#92c5de", "#d1e5f0"),
    "own_funds": ("#762a83", "#9970ab", "#c2a5cf", "#e7d4e8"),
}
PART_COLOURS = {
    "depreciation": "#4d4d4d",
    "internal_interest": "#878787",
    "opex_change": "#E69F00",
    "energy_cost_change": "#009E73",
}
PART_LABELS = {
    "depreciation": "Depreciation (net of grants)",
    "internal_interest": "Internal interest (internränta)",
    "opex_change": "Running-cost change",
    "energy_cost_change": "Energy-cost change",
}


# Years read as years ("2027", not the template's thousands-separated "2 027"); the legend goes
# under the chart so that long source names never run into the title.
YEAR_AXIS = {"title": "Year", "tickformat": "d", "separatethousands": False}
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0}


def _finish(fig: go.Figure, title: str) -> go.Figure:
    apply(fig, title)
    fig.update_layout(legend=LEGEND_BELOW, margin={"b": 120})
    return fig


def _unit(values, currency: str, unit: str | None):
    """(divisor, label): millions when the largest amount is ≥ 10⁶, unless ``unit`` is given
    ("" = plain currency, "M" = millions).
    """
    if unit is None:
        big = np.nanmax(np.abs(np.asarray(values, float)), initial=0.0)
        unit = "M" if big >= 1e6 else ""
    return (1e6, f"M{currency}") if unit == "M" else (1.0, currency)


def _source_colours(sources) -> dict[str, str]:
    used: dict[str, int] = {}
    out = {}
    for sid, kind in zip(sources["source_id"], sources["kind"], strict=True):
        pal = KIND_PALETTES.get(kind, ("#7f7f7f",))
        out[sid] = pal[used.get(kind, 0) % len(pal)]
        used[kind] = used.get(kind, 0) + 1
    return out


def financing_figure(fin: FinancingResult, currency: str = "SEK", unit: str | None = None) -> go.Figure:
    """Stacked bars: the city-financed investment per year by funding source, the gap on top in a
    warning colour. Axis in ``[currency]`` or ``[M<currency>]`` (``unit``: None = automatic).
    """
    by = fin.by_year
    div, label = _unit(by["investment"], currency, unit)
    colours = _source_colours(fin.sources)
    names = dict(zip(fin.sources["source_id"], fin.sources["name"], strict=True))
    fig = go.Figure()
    for sid, kind in zip(fin.sources["source_id"], fin.sources["kind"], strict=True):
        if sid not in by.columns or not (by[sid] != 0).any():
            continue
        fig.add_bar(x=by["year"], y=by[sid] / div, name=f"{names[sid]} ({kind.replace('_', ' ')})",
                    marker_color=colours[sid],
                    hovertemplate="%{x}: %{y:,.2f} " + label + "<extra>" + str(names[sid]) + "</extra>")
    if (by[GAP_SOURCE] != 0).any():
        fig.add_bar(x=by["year"], y=by[GAP_SOURCE] / div, name="Financing gap",
                    marker={"color": GAP_COLOUR, "pattern": {"shape": "/", "fgcolor": "white"}},
                    hovertemplate="%{x}: %{y:,.2f} " + label + "<extra>gap</extra>")
    fig.update_layout(barmode="stack", xaxis=YEAR_AXIS | {"dtick": 1},
                      yaxis={"title": f"Investment [{label}]"})
    return _finish(fig, "Financing of the investment by year and source")


def debt_service_figure(fin: FinancingResult, currency: str = "SEK", unit: str | None = None) -> go.Figure:
    """Stacked bars of loan interest and amortisation per year; the debt outstanding at year end
    as a line on the right axis.
    """
    ds = fin.debt_service
    div, label = _unit(np.r_[ds["total"], ds["debt_outstanding"]], currency, unit)
    fig = go.Figure()
    fig.add_bar(x=ds["year"], y=ds["interest"] / div, name="Interest", marker_color="#d6604d")
    fig.add_bar(x=ds["year"], y=ds["amortisation"] / div, name="Amortisation", marker_color="#4393c3")
    fig.add_scatter(x=ds["year"], y=ds["debt_outstanding"] / div, name="Debt outstanding (right axis)",
                    mode="lines", line={"color": "#222222", "width": 2}, yaxis="y2")
    fig.update_layout(barmode="stack", xaxis=YEAR_AXIS,
                      yaxis={"title": f"Debt service [{label}/year]"},
                      yaxis2={"title": f"Debt outstanding [{label}]", "overlaying": "y", "side": "right",
                                  "showgrid": False, "rangemode": "tozero"})
    _finish(fig, "Debt service of the loans")
    fig.update_layout(margin={"r": 90})  # room for the right axis
    return fig


def budget_impact_figure(fin: FinancingResult, currency: str = "SEK", unit: str | None = None) -> go.Figure:
    """Operating-budget impact per year: the components as stacked bars (costs up, savings down)
    and the net as a line.
    """
    bi = fin.budget_impact
    div, label = _unit(np.r_[bi["net"], bi["depreciation"], bi["energy_cost_change"]], currency, unit)
    fig = go.Figure()
    for part, colour in PART_COLOURS.items():
        fig.add_bar(x=bi["year"], y=bi[part] / div, name=PART_LABELS[part], marker_color=colour)
    fig.add_scatter(x=bi["year"], y=bi["net"] / div, name="Net impact", mode="lines+markers",
                    line={"color": "#000000", "width": 2})
    fig.update_layout(barmode="relative", xaxis=YEAR_AXIS,
                      yaxis={"title": f"Operating-budget impact [{label}/year]"})
    return _finish(fig, "Impact on the municipal operating budget (positive = cost)")

"""One look for every chart: a plotly template, a fixed sector → colour map, axis titles.

Colours are the Okabe–Ito colour-blind-safe palette for the usual sectors; an unknown sector
gets a colour from a fallback palette chosen by a stable hash of its name, so it has the same
colour in every chart and every run.
"""
from __future__ import annotations

import zlib

import plotly.graph_objects as go

TONNES = "t CO2e"
FONT = "Inter, 'Segoe UI', Helvetica, Arial, sans-serif"
TEXT = "#222222"
GRID = "#e5e5e5"
ZERO = "#444444"
CARBON_LINE = "#b2182b"

SECTOR_COLOURS = {
    "transport": "#0072B2",
    "buildings": "#E69F00",
    "energy": "#D55E00",
    "waste": "#009E73",
    "consumption": "#CC79A7",
    "industry": "#56B4E9",
    "agriculture": "#999933",
    "land_use": "#117733",
    "machinery": "#882255",
    "product_use": "#AA4499",
    "other": "#7f7f7f",
}
FALLBACK_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#DDCC77", "#661100", "#6699CC", "#000000",
                    "#BBBBBB")  # none of them in SECTOR_COLOURS
LEGEND_BELOW = {"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0}

TEMPLATE = go.layout.Template(layout=go.Layout(
    font={"family": FONT, "size": 13, "color": TEXT},
    title={"font": {"size": 16}, "x": 0, "xanchor": "left"},
    paper_bgcolor="white",
    plot_bgcolor="white",
    colorway=list(SECTOR_COLOURS.values()),
    margin={"l": 70, "r": 30, "t": 60, "b": 100},
    xaxis={"gridcolor": GRID, "zerolinecolor": ZERO, "linecolor": ZERO, "ticks": "outside",
           "separatethousands": True, "automargin": True},
    yaxis={"gridcolor": GRID, "zerolinecolor": ZERO, "zerolinewidth": 2, "linecolor": ZERO,
           "ticks": "outside", "separatethousands": True, "automargin": True},
    legend=LEGEND_BELOW,
    hoverlabel={"font": {"family": FONT, "size": 12}, "align": "left"},
    separators=". ",
))


def sector_colour(sector: str) -> str:
    """Colour of a sector: the fixed map (case-insensitive), else a stable fallback."""
    key = str(sector).strip().lower().replace(" ", "_")
    if key in SECTOR_COLOURS:
        return SECTOR_COLOURS[key]
    return FALLBACK_COLOURS[zlib.crc32(key.encode("utf-8")) % len(FALLBACK_COLOURS)]


def money_axis_title(currency: str, per: str | None = None) -> str:
    """'Cost [SEK]' or, with ``per``, 'Cost [SEK per t CO2e]'."""
    return f"Cost [{currency} per {per}]" if per else f"Cost [{currency}]"


def cost_per_tonne_axis_title(currency: str) -> str:
    """'Cost [SEK per t CO2e]'."""
    return money_axis_title(currency, per=TONNES)


def cost_after_cobenefits_axis_title(currency: str) -> str:
    """'Cost after co-benefits [SEK per t CO2e]' (the MAC curve net of co-benefits)."""
    return f"Cost after co-benefits [{currency} per {TONNES}]"


def abatement_axis_title(year: int | None = None) -> str:
    """'Abatement in 2030 [t CO2e/year]' (without the year when none is given)."""
    return f"Abatement{f' in {year}' if year is not None else ''} [{TONNES}/year]"


def apply(fig: go.Figure, title: str | None = None) -> go.Figure:
    """Give ``fig`` the common template (and a title); returns the same figure."""
    fig.update_layout(template=TEMPLATE)
    if title is not None:
        fig.update_layout(title_text=title)
    return fig

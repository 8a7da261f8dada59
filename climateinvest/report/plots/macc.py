"""MAC curve and sector summary figures. They draw the tables of ``climateinvest.macc``; they
compute nothing beyond bar positions (midpoint = start + width / 2).

User text (measure names, payers, sectors, the currency) reaches the hover only through
``customdata`` under a fixed ``hovertemplate``, never concatenated into markup.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from climateinvest.report.plots import style

_HOVER = ("%{customdata[0]}<br>"
          "Cost: %{y:,.0f} %{customdata[1]} per t CO2e<br>"
          "Abatement: %{customdata[2]:,.0f} t CO2e/year (alone %{customdata[3]:,.0f})<br>"
          "Investment: %{customdata[4]:,.0f} %{customdata[1]}<br>"
          "NPV cost: %{customdata[5]:,.0f} %{customdata[1]}<br>"
          "Payer: %{customdata[6]}<extra>%{customdata[7]}</extra>")


def _curve_and_year(macc, reference_year):
    curve = getattr(macc, "curve", macc)
    if reference_year is None:
        reference_year = getattr(macc, "reference_year", None) or curve.attrs.get("reference_year")
    return curve, reference_year


def _text(values, n=None) -> np.ndarray:
    """User text as an object column for ``customdata`` (a scalar repeated ``n`` times)."""
    if n is not None:
        return np.full(n, str(values), dtype=object)
    return np.asarray([str(v) for v in values], dtype=object)


def macc_figure(macc, currency: str, carbon_value: float | None = None,
                reference_year: int | None = None, title: str | None = None,
                cost_range: tuple[float, float] | None = None, label_ids=None,
                n_named: int = 4, cost_axis: str | None = None) -> go.Figure:
    """The MAC curve as variable-width bars, one trace (and legend entry) per sector.

    Bars are labelled so that a printed curve can be read: each bar in ``label_ids`` (e.g. the
    chosen measures) carries its rank on the curve (the ``rank`` column of the curve's table),
    and the ``n_named`` widest bars also their name.

    Parameters
    ----------
    macc : MaccResult or its ``curve`` table (cum_start_tco2e, adjusted_tco2e, cost_per_tco2e,
        name, payer, capex, npv_cost, standalone_tco2e, sector)
    currency : str  e.g. "SEK", shown on the cost axis and in the hover
    carbon_value : float [currency / t CO2e], optional  dashed horizontal line
    reference_year : int, optional  year of the widths (default: the MaccResult's)
    cost_range : (low, high) [currency / t CO2e], optional  zoom the cost axis (a few large
        savers otherwise flatten the rest); bars beyond it are cut, their hover stays exact
    cost_axis : str, optional  the cost axis title (default 'Cost [currency per t CO2e]'; the net
        curve of ``climateinvest.portfolio.cobenefit_curve`` says 'Cost after co-benefits')
    """
    curve, year = _curve_and_year(macc, reference_year)
    fig = go.Figure()
    for sector in dict.fromkeys(curve["sector"]):
        c = curve[curve["sector"] == sector]
        width = c["adjusted_tco2e"].to_numpy(float)
        custom = np.column_stack([
            _text(c["name"]), _text(currency, len(c)), width, c["standalone_tco2e"].to_numpy(float),
            c["capex"].to_numpy(float), c["npv_cost"].to_numpy(float), _text(c["payer"]),
            _text(sector, len(c))])
        fig.add_trace(go.Bar(
            x=c["cum_start_tco2e"].to_numpy(float) + width / 2,
            y=c["cost_per_tco2e"].to_numpy(float), width=width, base=0, name=str(sector),
            customdata=custom, hovertemplate=_HOVER,
            marker={"color": style.sector_colour(sector),
                    "line": {"color": "white", "width": 0.5}}))
    total = float(curve["adjusted_tco2e"].sum()) if len(curve) else 0.0
    if carbon_value is not None:
        fig.add_trace(go.Scatter(
            x=[0.0, total or 1.0], y=[carbon_value, carbon_value], mode="lines",
            name="Carbon value", line={"color": style.CARBON_LINE, "dash": "dash", "width": 2},
            customdata=[[str(currency)]] * 2,
            hovertemplate="Carbon value: %{y:,.0f} %{customdata[0]} per t CO2e<extra></extra>"))
    _label_bars(fig, curve, label_ids, n_named)
    if not len(curve):
        fig.add_annotation(text="No measure abates emissions in the reference year",
                           showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    style.apply(fig, title)
    fig.update_layout(barmode="overlay", bargap=0, xaxis_title=style.abatement_axis_title(year),
                      yaxis_title=cost_axis or style.cost_per_tonne_axis_title(currency))
    fig.update_xaxes(range=[0, total or 1.0])
    fig.update_yaxes(zeroline=True, range=list(cost_range) if cost_range else None)
    return fig


def _label_bars(fig: go.Figure, curve: pd.DataFrame, label_ids, n_named: int) -> None:
    """Rank numbers above (below, for savers) the bars of ``label_ids`` and of the widest
    ``n_named`` bars; the widest also get their name (cut to 30 characters).
    """
    if not len(curve) or "rank" not in curve.columns:
        return
    widest = set(curve.nlargest(n_named, "adjusted_tco2e")["measure_id"]) if n_named else set()
    wanted = set(label_ids or ()) | widest
    notes = []
    for row in curve.itertuples(index=False):
        if row.measure_id not in wanted or not row.adjusted_tco2e > 0:
            continue
        name = str(row.name)
        text = f"{row.rank}" + (f" {name[:29]}…" if row.measure_id in widest and len(name) > 30
                                else f" {name}" if row.measure_id in widest else "")
        below = row.cost_per_tco2e < 0
        notes.append(go.layout.Annotation(x=row.cum_start_tco2e + row.adjusted_tco2e / 2, y=row.cost_per_tco2e,
                                          text=text, showarrow=False, yshift=-10 if below else 10,
                                          font={"size": 10}))
    fig.update_layout(annotations=list(fig.layout.annotations or ()) + notes)


def sector_summary_figure(summary: pd.DataFrame, currency: str,
                          reference_year: int | None = None, title: str | None = None) -> go.Figure:
    """Two panels per sector: abatement [t CO2e/year] and cost per tonne [currency per t CO2e].

    ``summary`` is ``macc.sector_summary(curve)``.
    """
    sectors = _text(summary["sector"]).tolist()
    colours = [style.sector_colour(s) for s in sectors]
    custom = np.column_stack([
        _text(sectors), _text(currency, len(summary)), summary["measures"].to_numpy(int),
        summary["investment"].to_numpy(float), summary["npv_cost"].to_numpy(float)])
    hover = ("%{customdata[0]}: %{customdata[2]} measures<br>"
             "Investment: %{customdata[3]:,.0f} %{customdata[1]}<br>"
             "NPV cost: %{customdata[4]:,.0f} %{customdata[1]}<br>")
    fig = make_subplots(rows=1, cols=2, shared_yaxes=True, horizontal_spacing=0.06)
    panels = (("abatement_tco2e", "Abatement: %{x:,.0f} t CO2e/year"),
              ("cost_per_tco2e", "Cost: %{x:,.0f} %{customdata[1]} per t CO2e"))
    for col, (column, line) in enumerate(panels, start=1):
        fig.add_trace(go.Bar(y=sectors, x=summary[column].to_numpy(float), orientation="h",
                             marker_color=colours, customdata=custom, showlegend=False,
                             hovertemplate=hover + line + "<extra></extra>"), 1, col)
    fig.update_xaxes(title_text=style.abatement_axis_title(reference_year), row=1, col=1)
    fig.update_xaxes(title_text=style.cost_per_tonne_axis_title(currency), zeroline=True,
                     row=1, col=2)
    fig.update_yaxes(autorange="reversed", row=1, col=1)
    style.apply(fig, title)
    fig.update_layout(margin_b=80)
    return fig

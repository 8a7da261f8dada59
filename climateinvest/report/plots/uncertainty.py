"""Figures of the Monte Carlo and the sensitivity analysis (``climateinvest.uncertainty.analysis``).

Plots never compute: every number is read from the tables of an ``UncertaintyResult`` (and the
MAC curve / pathway tables); the only arithmetic is positions (bar midpoints, whisker lengths
= percentile − value). User text (measure names, labels, the currency) reaches the hover only
through ``customdata`` under a fixed ``hovertemplate``; the report escapes text columns before
plotting (``report_figures.escaped``), so it is not escaped again here.

Every function takes either its table(s) or the whole ``UncertaintyResult`` as first argument
(the report passes the result, and options such as ``currency`` and ``target`` by name), and
returns None when the result lacks what it draws (no portfolio, no MAC curve, no re-selection).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from climateinvest.report.plots import style
from climateinvest.report.plots.macc import macc_figure

YEAR_AXIS = {"title": "Year", "tickformat": "d", "separatethousands": False}
FAN_COLOUR = "27, 120, 55"  # rgb of the with-portfolio line (plots.pathway's green)
BASELINE_COLOUR = "#7f7f7f"
LOW_COLOUR = "#2166ac"
HIGH_COLOUR = "#b2182b"
METRIC_TITLES = {
    "cost_per_tco2e": "Portfolio cost per tonne",
    "net_cost_per_tco2e": "Portfolio cost per tonne, net of the carbon value",
    "gap_tco2e": "Gap to the target in the target year (positive = short)",
}


def _text(values, n=None) -> np.ndarray:
    """User text as an object column (for ``customdata``; a scalar repeated ``n`` times)."""
    if n is not None:
        return np.full(n, str(values), dtype=object)
    return np.asarray([str(v) for v in values], dtype=object)


def _part(obj, name):
    """``obj.<name>`` when ``obj`` is an UncertaintyResult (or a view of one), else None."""
    return getattr(obj, name, None) if not isinstance(obj, pd.DataFrame) else None


def _whisker_columns(unc: pd.DataFrame) -> tuple[str, str, str]:
    if "curve_cost_per_tco2e_p10" in unc.columns:
        return "curve_cost_per_tco2e_p10", "curve_cost_per_tco2e_p50", "curve_cost_per_tco2e_p90"
    return "cost_per_tco2e_p10", "cost_per_tco2e_p50", "cost_per_tco2e_p90"


def macc_whiskers_figure(macc_curve, unc_measures: pd.DataFrame | None = None, currency: str = "",
                         carbon_value: float | None = None, reference_year: int | None = None,
                         title: str | None = None, cost_range: tuple[float, float] | None = None
                         ) -> go.Figure:
    """The MAC curve (``plots.macc.macc_figure``) with P10–P90 whiskers of each measure's cost per
    tonne over the Monte Carlo draws [currency per t CO2e].

    Parameters
    ----------
    macc_curve : MaccResult or its ``curve`` table, or an UncertaintyResult (its ``macc_curve``
        and ``measures`` are used; None if it has no curve)
    unc_measures : ``UncertaintyResult.measures`` (uses ``curve_cost_per_tco2e_p10/p50/p90`` — the
        curve's adjusted cost per tonne — when present, else the standalone ``cost_per_tco2e_p*``)
    currency : str ; carbon_value : float [currency / t CO2e], optional dashed line
    cost_range : (low, high), optional zoom of the cost axis

    Notes
    -----
    A P90 of +inf (the measure abates nothing in more than 10 % of the draws) is drawn as an
    upward triangle at the top of the whisker and named in the hover.
    """
    if hasattr(macc_curve, "measures") and not hasattr(macc_curve, "reconciliation"):
        unc_measures, macc_curve = macc_curve.measures, getattr(macc_curve, "macc_curve", None)
    if macc_curve is None or unc_measures is None:
        return None
    fig = macc_figure(macc_curve, currency, carbon_value=carbon_value, reference_year=reference_year,
                      title=title, cost_range=cost_range)
    curve = getattr(macc_curve, "curve", macc_curve)
    if not len(curve):
        return fig
    lo_c, mid_c, hi_c = _whisker_columns(unc_measures)
    u = unc_measures.set_index("measure_id").reindex(curve["measure_id"])
    x = (curve["cum_start_tco2e"] + curve["adjusted_tco2e"] / 2).to_numpy(float)
    y = curve["cost_per_tco2e"].to_numpy(float)
    p10, p50, p90 = (u[c].to_numpy(float) for c in (lo_c, mid_c, hi_c))
    inf_top = np.isposinf(p90)
    top = np.where(inf_top, np.nan, p90)
    custom = np.column_stack([_text(curve["name"]), _text(currency, len(curve)), p10, p50,
                              np.where(inf_top, "∞ (does not abate in > 10 % of draws)", _fmt_arr(p90)),
                              u["prob_saves_money"].to_numpy(float)])
    fig.add_trace(go.Scatter(
        x=x, y=y, mode="markers", name="P10–P90 (Monte Carlo)",
        marker={"size": 4, "color": style.TEXT},
        error_y={"type": "data", "symmetric": False, "array": top - y, "arrayminus": y - p10,
                 "color": style.TEXT, "thickness": 1.2, "width": 3},
        customdata=custom,
        hovertemplate=("%{customdata[0]}<br>Cost: %{y:,.0f} %{customdata[1]} per t CO2e<br>"
                       "P10 %{customdata[2]:,.0f} · P50 %{customdata[3]:,.0f} · P90 %{customdata[4]}<br>"
                       "P(saves money): %{customdata[5]:.0%}<extra></extra>")))
    if inf_top.any():
        finite = np.concatenate([p10[np.isfinite(p10)], top[np.isfinite(top)], y[np.isfinite(y)]])
        ymax = float(finite.max()) if finite.size else 0.0
        fig.add_trace(go.Scatter(
            x=x[inf_top], y=np.full(int(inf_top.sum()), ymax), mode="markers",
            name="P90 = ∞ (no abatement in > 10 % of draws)",
            marker={"symbol": "triangle-up", "size": 10, "color": style.TEXT},
            customdata=custom[inf_top],
            hovertemplate="%{customdata[0]}: P90 %{customdata[4]}<extra></extra>"))
    return fig


def _fmt_arr(v: np.ndarray) -> np.ndarray:
    return np.asarray([f"{x:,.0f}" if np.isfinite(x) else "n/a" for x in v], dtype=object)


def fan_figure(fan: pd.DataFrame, pathway_table: pd.DataFrame | None = None, target=None,
               title: str | None = None) -> go.Figure:
    """Fan chart of the with-portfolio territorial emissions [t CO2e/year]: P10–P90 band, median,
    the deterministic pathway, the baseline and the target level.

    Parameters
    ----------
    fan : ``UncertaintyResult.fan`` (year, baseline_tco2e, deterministic_tco2e, p10, p50, p90,
        target_tco2e), or the UncertaintyResult (None without a portfolio)
    pathway_table : ``PathwayResult.table``, optional: its straight path to the target is drawn
    target : the scenario's ``target``, optional: labels the target line
    """
    if _part(fan, "fan") is not None or hasattr(fan, "measures"):
        fan = _part(fan, "fan")
    if fan is None or not len(fan):
        return None
    f = fan
    fig = go.Figure()
    fig.add_scatter(x=f["year"], y=f["baseline_tco2e"], name="Baseline (territorial)", mode="lines",
                    line={"color": BASELINE_COLOUR, "width": 2})
    fig.add_scatter(x=f["year"], y=f["p90"], mode="lines", line={"width": 0}, showlegend=False,
                    hoverinfo="skip", name="P90")
    fig.add_scatter(x=f["year"], y=f["p10"], mode="lines", line={"width": 0}, fill="tonexty",
                    fillcolor=f"rgba({FAN_COLOUR}, 0.25)", name="With the portfolio, P10–P90",
                    customdata=np.column_stack([f["p10"], f["p90"]]),
                    hovertemplate="%{x}: P10 %{customdata[0]:,.0f} – P90 %{customdata[1]:,.0f} t CO2e<extra></extra>")
    fig.add_scatter(x=f["year"], y=f["p50"], mode="lines", name="With the portfolio, median",
                    line={"color": f"rgb({FAN_COLOUR})", "width": 2, "dash": "dot"},
                    hovertemplate="%{x}: median %{y:,.0f} t CO2e<extra></extra>")
    fig.add_scatter(x=f["year"], y=f["deterministic_tco2e"], mode="lines",
                    name="With the portfolio, central values",
                    line={"color": f"rgb({FAN_COLOUR})", "width": 3},
                    hovertemplate="%{x}: %{y:,.0f} t CO2e<extra></extra>")
    if pathway_table is not None and "target_path_tco2e" in pathway_table:
        path = pathway_table[pathway_table["target_path_tco2e"].notna()]
        if len(path) > 1:
            fig.add_scatter(x=path["year"], y=path["target_path_tco2e"], mode="lines",
                            name="Straight path to the target",
                            line={"color": style.CARBON_LINE, "width": 1.5, "dash": "dot"})
    level = float(f["target_tco2e"].iloc[0]) if len(f) else np.nan
    if np.isfinite(level):
        yr = target.get("year") if isinstance(target, dict) else getattr(target, "year", None)
        label = f"Target level {yr}" if yr else "Target level"
        fig.add_scatter(x=[f["year"].min(), f["year"].max()], y=[level, level], mode="lines", name=label,
                        line={"color": style.CARBON_LINE, "width": 2, "dash": "dash"},
                        hovertemplate="Target level: %{y:,.0f} t CO2e/year<extra></extra>")
    year = target.get("year") if isinstance(target, dict) else getattr(target, "year", None)
    row = f[f["year"] == year] if year is not None else f.iloc[:0]
    head = title or "Territorial emissions with the portfolio under uncertainty"
    if len(row):
        r = row.iloc[0]
        band = f"{r['p10']:,.0f} – {r['p90']:,.0f}".replace(",", " ")
        head += f"<br><sub>{year}: P10–P90 {band} t CO2e/year</sub>"
    style.apply(fig, head)
    fig.update_layout(xaxis=YEAR_AXIS, yaxis_title=f"Territorial emissions [{style.TONNES}/year]",
                      hovermode="x unified", margin={"t": 80})
    fig.update_yaxes(rangemode="tozero")
    return fig


def tornado_figure(tornado: pd.DataFrame, metric: str = "cost_per_tco2e", currency: str = "",
                   title: str | None = None) -> go.Figure:
    """Tornado: per parameter a bar from the base value to the low-case value and one to the
    high-case value, largest swing on top.

    Parameters
    ----------
    tornado : ``UncertaintyResult.tornado`` (parameter, low_label, high_label, metric, unit,
        low_value, base_value, high_value, swing), or the UncertaintyResult
    metric : "cost_per_tco2e" | "net_cost_per_tco2e" | "gap_tco2e"
    currency : str, for the axis title of the cost metrics
    """
    if not isinstance(tornado, pd.DataFrame):
        tornado = _part(tornado, "tornado")
    if tornado is None or not (tornado["metric"] == metric).any():
        return None
    t = tornado[tornado["metric"] == metric].sort_values("swing", ascending=True, kind="stable")
    base = float(t["base_value"].iloc[0]) if len(t) else 0.0
    names = _text(f"{str(p).replace('_', ' ').capitalize()}<br>{lo} | {hi}"
                  for p, lo, hi in zip(t["parameter"], t["low_label"], t["high_label"], strict=True))
    fig = go.Figure()
    for side, colour, label in (("low", LOW_COLOUR, "Low case (left label)"),
                                ("high", HIGH_COLOUR, "High case (right label)")):
        v = t[f"{side}_value"].to_numpy(float)
        custom = np.column_stack([_text(t[f"{side}_label"]), v, _text(t["unit"])])
        fig.add_trace(go.Bar(
            y=names, x=v - base, base=base, orientation="h", name=label, marker_color=colour,
            customdata=custom,
            hovertemplate="%{customdata[0]}: %{customdata[1]:,.0f} %{customdata[2]}<extra></extra>"))
    if metric == "gap_tco2e":
        axis = f"Gap to the target [{style.TONNES}/year]"
    else:
        axis = style.cost_per_tonne_axis_title(currency)
    style.apply(fig, title or METRIC_TITLES.get(metric, metric))
    fig.update_layout(barmode="overlay", xaxis_title=axis, yaxis_title=None,
                      margin={"l": 250}, height=max(380, 70 * len(t) + 160))
    fig.add_vline(x=base, line={"color": style.ZERO, "width": 1.5},
                  annotation_text=f"base {base:,.0f}".replace(",", " "), annotation_position="top")
    return fig


def gap_tornado_figure(tornado, title: str | None = None) -> go.Figure:
    """The tornado of the target-year gap [t CO2e/year] (:func:`tornado_figure`, ``gap_tco2e``)."""
    return tornado_figure(tornado, "gap_tco2e", title=title)


def selection_frequency_figure(selection: pd.DataFrame, names: pd.DataFrame | dict | None = None,
                               title: str | None = None) -> go.Figure:
    """Share of the Monte Carlo draws in which each measure is chosen [% of draws], measures in
    the deterministic portfolio filled, the others outlined; the method is in the subtitle.

    Parameters
    ----------
    selection : ``UncertaintyResult.selection_frequency`` (measure_id, share_of_draws_chosen,
        chosen_in_base, method, draws), or the UncertaintyResult (names from its ``measures``)
    names : optional measure_id → display name (a dict, or a table with measure_id and name)
    """
    if not isinstance(selection, pd.DataFrame):
        if names is None:
            names = _part(selection, "measures")
        selection = _part(selection, "selection_frequency")
    if selection is None or not len(selection):
        return None
    s = selection.sort_values(["share_of_draws_chosen", "measure_id"], ascending=[True, False], kind="stable")
    if isinstance(names, pd.DataFrame) and "name" in names:
        names = dict(zip(names["measure_id"], names["name"], strict=True))
    label = _text([names.get(m, m) if names else m for m in s["measure_id"]])
    base = s["chosen_in_base"].to_numpy(bool)
    fig = go.Figure()
    for flag, name, fill in ((True, "In the central-value portfolio", "#1b7837"),
                             (False, "Not in the central-value portfolio", "white")):
        mask = base == flag
        if not mask.any():
            continue
        fig.add_trace(go.Bar(
            y=label[mask], x=s["share_of_draws_chosen"].to_numpy(float)[mask], orientation="h", name=name,
            marker={"color": fill, "line": {"color": "#1b7837", "width": 1.5}},
            hovertemplate="%{y}: chosen in %{x:.0%} of the draws<extra></extra>"))
    method = str(s["method"].iloc[0]) if len(s) else ""
    draws = int(s["draws"].iloc[0]) if len(s) else 0
    head = title or "How often each measure is chosen under uncertainty"
    style.apply(fig, f"{head}<br><sub>{draws} draws; {method}</sub>")
    fig.update_layout(barmode="overlay", xaxis={"title": "Share of draws in which the measure is chosen",
                                                "tickformat": ".0%", "range": [0, 1]},
                      yaxis={"categoryorder": "array", "categoryarray": list(label)},
                      margin={"l": 220, "t": 80}, height=max(350, 22 * len(s) + 170))
    return fig

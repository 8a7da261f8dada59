"""Portfolio figures: phasing of the investment, the efficient frontier, budget use per year.

They draw the tables of :class:`climateinvest.portfolio.PortfolioResult` and compute nothing
beyond sums for stacking. User text (measure names, sectors, payers, the currency) reaches the
hover only through ``customdata`` under a fixed ``hovertemplate``.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from climateinvest.report.plots import style

BUDGET_COLOUR = "#222222"
GREEDY_COLOUR = "#7f7f7f"
OPTIMISED_COLOUR = "#0072B2"
TARGET_COLOUR = style.CARBON_LINE

_SPEND_HOVER = ("%{customdata[0]}<br>Start year: %{customdata[1]}<br>"
                "Investment in %{x}: %{y:,.0f} %{customdata[2]}<br>Payer: %{customdata[3]}"
                "<extra>%{customdata[4]}</extra>")


def _budget_trace(years, budget, currency: str, half_width: float = 0.45) -> go.Scatter:
    """The yearly budget as one horizontal segment across each year's bar slot."""
    xs, ys, cd = [], [], []
    for y, b in zip(years, budget, strict=True):
        if np.isfinite(b):
            xs += [y - half_width, y + half_width, None]
            ys += [b, b, None]
            cd += [[str(currency), int(y)]] * 3
    return go.Scatter(x=xs, y=ys, mode="lines", name="Investment budget",
                      line={"color": BUDGET_COLOUR, "width": 3}, customdata=cd,
                      hovertemplate="Budget %{customdata[1]}: %{y:,.0f} %{customdata[0]}<extra></extra>")


def _money_title(currency: str, what: str = "Investment", per_year: bool = True) -> str:
    return f"{what} [{currency}{'/year' if per_year else ''}]"


def phasing_figure(portfolio_result, currency: str | None = None, by: str = "sector",
                   title: str | None = None) -> go.Figure:
    """Investment of the chosen portfolio per calendar year, stacked by sector (or measure).

    Each measure spends capex ÷ capex_years from its start year on; the hover names the measure
    and its start year. Budget-counted investment is drawn solid, ``external`` measures hatched
    (outside the budget); the yearly budget is a black line with markers over the plan years and
    years after the cycle (commitments) are shaded.

    Parameters
    ----------
    portfolio_result : PortfolioResult
    currency : str, default the result's currency, e.g. "SEK"
    by : "sector" (one colour per sector) or "measure" (one trace per measure)
    """
    r = portfolio_result
    cur = currency or r.currency
    sp = r.spending
    names = dict(zip(r.chosen["measure_id"], r.chosen["name"].astype(str), strict=True))
    fig = go.Figure()
    key = "measure_id" if by == "measure" else "sector"
    for external in (False, True):
        part = sp[sp["counts_against_budget"] != external]
        for group in dict.fromkeys(part[key]):
            g = part[part[key] == group]
            sector = str(g["sector"].iloc[0])
            label = names.get(group, str(group)) if by == "measure" else str(group)
            custom = np.column_stack([g["measure_id"].map(names).astype(str), g["start_year"].astype(str),
                                      np.full(len(g), str(cur), dtype=object), g["payer"].astype(str),
                                      np.full(len(g), label, dtype=object)])
            fig.add_trace(go.Bar(
                x=g["year"].to_numpy(int), y=g["capex"].to_numpy(float), customdata=custom,
                name=label + (" (external, outside budget)" if external else ""), legendgroup=label,
                hovertemplate=_SPEND_HOVER,
                marker={"color": style.sector_colour(sector), "line": {"color": "white", "width": 0.5},
                            "pattern": {"shape": "/" if external else "", "fgcolor": "white", "fillmode": "overlay",
                                         "solidity": 0.35}}))
    bu = r.budget_use
    if bu["budget"].notna().any():
        fig.add_trace(_budget_trace(bu["year"].to_numpy(int), bu["budget"].to_numpy(float), cur))
    last = max(r.plan_years)
    if len(sp) and int(sp["year"].max()) > last:
        fig.add_vrect(x0=last + 0.5, x1=int(sp["year"].max()) + 0.5, fillcolor="#f0f0f0", line_width=0,
                      layer="below", annotation_text="after the budget cycle", annotation_position="top left")
    if not len(sp):
        fig.add_annotation(text="No measure chosen", showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(barmode="relative", legend_title_text="Sector" if by != "measure" else "Measure",
                      xaxis_title="Year (measures at their chosen start years)",
                      yaxis_title=_money_title(cur))
    fig.update_xaxes(dtick=1, tickformat="d")
    style.apply(fig, title if title is not None else "Investment by year of the chosen portfolio")
    fig.update_layout(legend={"orientation": "v", "yanchor": "top", "y": 1, "xanchor": "left", "x": 1.02})
    return fig


def frontier_figure(portfolio_result, currency: str | None = None, title: str | None = None) -> go.Figure:
    """Abatement reached in the target year against the total investment budget of the cycle.

    The optimised frontier (open markers where a solve stopped at its time limit), the greedy
    "fund down the MAC curve" portfolio at the same budgets, the scenario's budget (dotted
    vertical line) with both portfolios marked on it, and the required reduction when it lies
    within reach of the chart.
    """
    r = portfolio_result
    cur = currency or r.currency
    f = r.frontier
    fig = go.Figure()
    opt = f["status"].astype(str) == "optimal"
    custom = np.column_stack([f["budget_share"].to_numpy(float) * 100, f["npv_cost"].to_numpy(float),
                              f["n_measures"].to_numpy(int), f["status"].astype(str),
                              np.full(len(f), str(cur), dtype=object)]) if len(f) else None
    fig.add_trace(go.Scatter(
        x=f["budget_total"].to_numpy(float), y=f["tco2e"].to_numpy(float), mode="lines+markers",
        name="Optimised (MILP)", line={"color": OPTIMISED_COLOUR, "width": 2},
        marker={"size": 9, "color": OPTIMISED_COLOUR, "symbol": np.where(opt, "circle", "circle-open").tolist()},
        customdata=custom,
        hovertemplate=("Budget %{x:,.0f} %{customdata[4]} (%{customdata[0]:.0f} % of the scenario's)<br>"
                       "Abatement: %{y:,.0f} t CO2e/year<br>NPV cost: %{customdata[1]:,.0f} %{customdata[4]}<br>"
                       "%{customdata[2]} measures; %{customdata[3]}<extra></extra>")))
    fig.add_trace(go.Scatter(
        x=f["budget_total"].to_numpy(float), y=f["greedy_tco2e"].to_numpy(float), mode="lines+markers",
        name="Greedy down the MAC curve", line={"color": GREEDY_COLOUR, "width": 2, "dash": "dash"},
        marker={"size": 7, "color": GREEDY_COLOUR},
        customdata=np.full((len(f), 1), str(cur), dtype=object),
        hovertemplate="Budget %{x:,.0f} %{customdata[0]}<br>Greedy: %{y:,.0f} t CO2e/year<extra></extra>"))
    budget = float(r.budget_use["budget"].sum()) if r.budget_use["budget"].notna().any() else np.nan
    comp = r.comparison.set_index("portfolio")
    if np.isfinite(budget):
        fig.add_vline(x=budget, line={"color": BUDGET_COLOUR, "dash": "dot", "width": 1.5},
                      annotation_text="scenario budget", annotation_position="top left")
        for name, colour, symbol in (("optimised", OPTIMISED_COLOUR, "star"), ("greedy", GREEDY_COLOUR, "diamond")):
            fig.add_trace(go.Scatter(
                x=[budget], y=[float(comp.loc[name, "tco2e_target_year"])], mode="markers",
                name=f"{'Chosen' if name == 'optimised' else 'Greedy'} portfolio at the scenario budget",
                marker={"size": 15, "color": colour, "symbol": symbol, "line": {"color": "white", "width": 1}},
                customdata=[[str(cur), float(comp.loc[name, "npv_cost"])]],
                hovertemplate=("Budget %{x:,.0f} %{customdata[0]}<br>%{y:,.0f} t CO2e/year<br>"
                               "NPV cost %{customdata[1]:,.0f} %{customdata[0]}<extra></extra>")))
    top = float(np.nanmax(np.r_[f["tco2e"].to_numpy(float), f["greedy_tco2e"].to_numpy(float), 0.0])) if len(f) else 0.0
    req = float(r.required_tco2e)
    if req > 0 and req <= 1.5 * max(top, 1.0):
        fig.add_hline(y=req, line={"color": TARGET_COLOUR, "dash": "dash", "width": 1.5},
                      annotation_text=f"required by {r.target_year}", annotation_position="bottom right")
    elif req > 0:
        fig.add_annotation(text=f"The target needs {req:,.0f} t CO2e/year in {r.target_year} (above the chart)",
                           showarrow=False, xref="paper", yref="paper", x=0.99, y=0.02, xanchor="right",
                           yanchor="bottom", font={"color": TARGET_COLOUR})
    plan = r.plan_years
    fig.update_layout(xaxis_title=_money_title(cur, f"Total investment budget {plan[0]}–{plan[-1]}", per_year=False),
                      yaxis_title=style.abatement_axis_title(r.target_year))
    fig.update_yaxes(rangemode="tozero")
    fig.update_xaxes(rangemode="tozero")
    style.apply(fig, title if title is not None else "Efficient frontier: abatement against budget")
    fig.update_layout(legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0},
                      margin={"b": 120})
    return fig


def budget_use_figure(portfolio_result, currency: str | None = None, title: str | None = None) -> go.Figure:
    """Budget-counted investment per plan year, optimised and greedy, against the budget.

    External measures' investment (outside the budget) is shown hatched beside them; the
    commitments falling after the cycle are stated under the chart.
    """
    r = portfolio_result
    cur = currency or r.currency
    bu = r.budget_use
    years = bu["year"].to_numpy(int)
    fig = go.Figure()
    cd = np.full((len(bu), 1), str(cur), dtype=object)
    series = (("spent", "Chosen portfolio", OPTIMISED_COLOUR, ""),
              ("greedy_spent", "Greedy down the MAC curve", GREEDY_COLOUR, ""),
              ("external_capex", "External measures of the chosen portfolio (outside budget)", "#56B4E9", "/"))
    for col, name, colour, pattern in series:
        fig.add_trace(
            go.Bar(
                x=years,
                y=bu[col].to_numpy(float),
                name=name,
                customdata=cd,
                marker={
                    "color": colour,
                    "pattern": {"shape": pattern, "fgcolor": "white", "fillmode": "overlay", "solidity": 0.35},
                },
                hovertemplate=f"{name}" + " %{x}: %{y:,.0f} %{customdata[0]}<extra></extra>",
            )
        )
    if bu["budget"].notna().any():
        fig.add_trace(_budget_trace(years, bu["budget"].to_numpy(float), cur))
    else:
        fig.add_annotation(
            text="No investment budget set: spending is unconstrained",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=0.5,
            y=1.0,
            yanchor="bottom",
        )
    later = float(bu["commitments_after_cycle"].sum())
    if later > 0:
        fig.add_annotation(
            text=f"Committed after {years[-1]}: {later:,.0f} {cur} (budget-counted)",
            showarrow=False,
            xref="paper",
            yref="paper",
            x=1,
            y=1.0,
            xanchor="right",
            yanchor="bottom",
        )
    fig.update_layout(barmode="group", xaxis_title="Plan year", yaxis_title=_money_title(cur))
    fig.update_xaxes(tickvals=years, tickformat="d")
    style.apply(fig, title if title is not None else "Budget use per year")
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "left", "x": 0}, margin={"b": 130}
    )
    return fig

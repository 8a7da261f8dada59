"""The scenario comparison: key figures, parameters, pathways, measures and financing of the
scenarios of one budget cycle side by side.

Works on live results and on saved ones (``report_results.load_saved``, what the batch hands the
comparison notebook): it reads the summaries and the main tables (``result.portfolio`` = the
chosen measures, ``result.pathway`` = the pathway table), which both kinds hold.
"""
from __future__ import annotations

import datetime as _dt
import html

import pandas as pd

from climateinvest.report.display import FigureOut, Html, display, jupyter_css, note, paragraph
from climateinvest.report.formatting import DASH, TONNES, format_value, table_html, text_table_html
from climateinvest.report.plots import style
from climateinvest.report.results import KEY_FIGURES, key_figures, meta, scenario_dict, summary_value
from climateinvest.report.text import flatten_parameters, parameter_text

FINANCING_FIGURES = (("investment_total", "Investment (city)"), ("grant_total", "Grants"), ("loan_total", "Loans"),
                     ("own_funds_total", "Own funds"), ("gap_total", "Financing gap"),
                     ("peak_debt_service", "Peak debt service per year"),
                     ("peak_net_budget_impact", "Peak net effect on the driftsbudget per year"))


def _label(result) -> str:
    return str(meta(result)["title"])


def comparison_title(results, date: str | None = None) -> Html:
    """The comparison's title block: cities, cycles and scenarios compared."""
    ms = [meta(r) for r in results]
    cities = sorted({str(m["city"]) for m in ms})
    cycles = sorted({str(m["cycle"]) for m in ms})
    date = date or _dt.date.today().isoformat()
    from climateinvest import __version__

    rows = [("City", ", ".join(cities)), ("Budget cycle", ", ".join(cycles)),
            ("Scenarios", str(len(results))), ("Date", date), ("climateinvest", __version__)]
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    items = "".join(f"<li>{html.escape(m['title'])}</li>" for m in ms)
    return Html(
        f'{jupyter_css()}<section class="ci-title">'
        '<div class="ci-kicker">Klimatinvesteringsplan · scenario comparison</div>'
        f"<h1>Scenario comparison, budget {html.escape(', '.join(cycles))}</h1><dl>{dl}</dl>"
        f"<ol>{items}</ol></section>"
    )


def compare_key_figures(results) -> pd.DataFrame:
    """Key figures side by side: one row per figure, one column per scenario (text values)."""
    cols = {}
    for r in results:
        cur = meta(r)["currency"]
        cols[_unique(cols, _label(r))] = [
            html.unescape(format_value(k["value"], k["kind"], cur)) for k in key_figures(r)
        ]
    return pd.DataFrame({"Key figure": [k[1] for k in KEY_FIGURES]} | cols)


def _unique(existing, label):
    out, i = label, 2
    while out in existing:
        out, i = f"{label} ({i})", i + 1
    return out


def compare_parameters(results) -> pd.DataFrame:
    """The scenario parameters that differ between the scenarios (text values)."""
    flat = [{k: html.unescape(parameter_text(v)) for k, v in flatten_parameters(scenario_dict(r))} for r in results]
    keys = list(dict.fromkeys(k for f in flat for k in f))
    diff = [k for k in keys if len({f.get(k, DASH) for f in flat}) > 1 and k != "title"]
    cols = {}
    for r, f in zip(results, flat, strict=True):
        cols[_unique(cols, _label(r))] = [f.get(k, DASH) for k in diff]
    return pd.DataFrame({"Parameter": diff} | cols)


def compare_measures(results) -> pd.DataFrame | None:
    """Which measures each scenario funds, against the first scenario: "funded", "enters",
    "leaves" or "–"; None if no scenario has a portfolio.
    """
    chosen = [None if r.portfolio is None else r.portfolio["measure_id"].astype(str).tolist() for r in results]
    if all(c is None for c in chosen):
        return None
    names = {}
    for r in results:
        names.update(zip(r.measures["measure_id"].astype(str), r.measures["name"].astype(str), strict=True))
    ids = list(dict.fromkeys(i for c in chosen if c for i in c))
    base = set(chosen[0] or [])
    cols = {}
    for k, (r, c) in enumerate(zip(results, chosen, strict=True)):
        s = set(c or [])
        if k == 0:
            vals = ["funded" if i in s else DASH for i in ids]
        else:
            vals = [
                "funded" if i in s and i in base else "enters" if i in s else "leaves" if i in base else DASH
                for i in ids
            ]
        cols[_unique(cols, _label(r))] = vals
    return pd.DataFrame({"measure_id": ids, "name": [names.get(i, i) for i in ids]} | cols)


def compare_financing(results) -> pd.DataFrame | None:
    """Financing totals per scenario (investment, grants, loans, own funds, gap, peaks)."""
    cols, any_value = {}, False
    for r in results:
        cur = meta(r)["currency"]
        vals = []
        for key, _ in FINANCING_FIGURES:
            v = summary_value(r, "financing", key)
            any_value |= v is not None
            vals.append(html.unescape(format_value(v, "money", cur)))
        cols[_unique(cols, _label(r))] = vals
    if not any_value:
        return None
    return pd.DataFrame({"Financing": [label for _, label in FINANCING_FIGURES]} | cols)


def pathways_figure(results):
    """Territorial emissions with each scenario's portfolio, overlaid, plus the baseline and the
    target of the first scenario; None without pathway tables.
    """
    import plotly.graph_objects as go

    fig = go.Figure()
    drawn, x_max = False, None
    for r in results:
        p = r.pathway
        if p is None:
            continue
        if not drawn:
            for ref, name, dash in (
                ("baseline_territorial_tco2e", "Baseline", "dot"),
                ("target_tco2e", "Target level", "dash"),
            ):
                fig.add_trace(
                    go.Scatter(x=p["year"], y=p[ref], name=name, mode="lines", line={"color": "#666666", "dash": dash})
                )
        fig.add_trace(
            go.Scatter(x=p["year"], y=p["with_portfolio_territorial_tco2e"], name=html.escape(_label(r)), mode="lines")
        )
        x_max = max(x_max or 0, int(pd.to_numeric(p["year"]).max()))
        drawn = True
    if not drawn:
        return None
    cycle = meta(results[0])["cycle"]
    fig.update_layout(
        title="Territorial emissions with each scenario's portfolio",
        xaxis_title="Year",
        yaxis_title=f"Emissions [{TONNES}/year]",
        separators=". ",
        hovermode="x unified",
        legend={"orientation": "h", "y": -0.2},
        template="plotly_white",
    )
    style.apply(fig)
    # years are not thousands; start a few years before the budget cycle, where the choices act
    fig.update_xaxes(separatethousands=False, tickformat="d")
    if isinstance(cycle, int) and x_max is not None:
        fig.update_xaxes(range=[cycle - 8, x_max])
    return fig


def financing_compare_figure(results):
    """Stacked bars per scenario: grants, loans, own funds and the financing gap [currency];
    None without financing summaries.
    """
    import plotly.graph_objects as go

    kinds = [
        ("grant_total", "Grants", "#1b7837"),
        ("loan_total", "Loans", "#2166ac"),
        ("own_funds_total", "Own funds", "#762a83"),
        ("gap_total", "Financing gap", "#d7301f"),
    ]
    labels = [html.escape(_label(r)) for r in results]
    values = [[summary_value(r, "financing", key) for r in results] for key, _, _ in kinds]
    if all(v is None for row in values for v in row):
        return None
    fig = go.Figure()
    for (_, name, colour), row in zip(kinds, values, strict=True):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=[v or 0.0 for v in row],
                name=name,
                marker_color=colour,
                hovertemplate="%{x}<br>" + name + ": %{y:,.0f}<extra></extra>",
            )
        )
    cur = meta(results[0])["currency"]
    fig.update_layout(
        barmode="stack",
        title="Financing of each scenario's portfolio",
        yaxis_title=f"Investment [{html.escape(cur)}]",
        separators=". ",
        legend={"orientation": "h", "y": -0.25},
    )
    style.apply(fig)
    return fig


def show_comparison_title(results, date: str | None = None) -> None:
    """Display :func:`comparison_title` in the notebook."""
    display(comparison_title(results, date))


def show_comparison(results, part: str) -> None:
    """One part of the comparison report: ``key_figures``, ``parameters``, ``pathways``,
    ``measures`` or ``financing``.
    """
    heads = {
        "key_figures": "Key figures side by side",
        "parameters": "Parameters that differ",
        "pathways": "Pathways",
        "measures": "Measures entering or leaving the portfolio",
        "financing": "Financing",
    }
    parts: list = [Html(f"<h2>{html.escape(heads[part])}</h2>")]
    if not results:
        parts.append(note("No scenario to compare."))
    elif part == "key_figures":
        parts.append(Html(text_table_html(compare_key_figures(results))))
    elif part == "parameters":
        df = compare_parameters(results)
        parts.append(
            Html(text_table_html(df)) if len(df)
            else note("The scenarios have the same parameters apart from their titles.")
        )
    elif part == "pathways":
        fig = pathways_figure(results)
        parts.append(FigureOut(fig) if fig is not None else note("No scenario has an emission pathway in its result."))
    elif part == "measures":
        df = compare_measures(results)
        if df is None:
            parts.append(note("No scenario has a portfolio in its result."))
        else:
            parts += [
                Html(
                    paragraph(
                        f"Against the first scenario, <em>{html.escape(_label(results[0]))}</em>: "
                        "“enters” = funded here but not there, “leaves” = funded there but not here."
                    )
                ),
                Html(table_html(df, labels={c: str(c) for c in df.columns if c not in ("measure_id", "name")})),
            ]
    elif part == "financing":
        df = compare_financing(results)
        if df is None:
            parts.append(note("No scenario has a financing plan in its result."))
        else:
            fig = financing_compare_figure(results)
            parts += ([FigureOut(fig)] if fig is not None else []) + [Html(text_table_html(df))]
    display(*parts)

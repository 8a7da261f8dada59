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

from climateinvest.io.output_columns import currency_unit
from climateinvest.report.display import FigureOut, Html, display, jupyter_css, note, paragraph
from climateinvest.report.formatting import DASH, format_value, table_html, text_table_html
from climateinvest.report.i18n import lang, t
from climateinvest.report.plots import style
from climateinvest.report.results import KEY_FIGURES, key_figures, meta, scenario_dict, summary_value
from climateinvest.report.text import flatten_parameters, parameter_text

FINANCING_FIGURES = ("investment_total", "grant_total", "loan_total", "own_funds_total", "gap_total",
                     "peak_debt_service", "peak_net_budget_impact")


def _label(result) -> str:
    return str(meta(result)["title"])


def comparison_title(results, date: str | None = None) -> Html:
    """The comparison's title block: cities, cycles and scenarios compared; the first is the
    reference every difference is taken from.
    """
    ms = [meta(r) for r in results]
    cities = sorted({str(m["city"]) for m in ms})
    cycles = sorted({str(m["cycle"]) for m in ms})
    date = date or _dt.date.today().isoformat()
    from climateinvest import __version__

    rows = [(t("title.city"), ", ".join(cities)), (t("title.cycle"), ", ".join(cycles)),
            (t("cmp.scenarios"), str(len(results))), (t("title.date"), date), ("climateinvest", __version__)]
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in rows)
    items = "".join(f"<li>{html.escape(m['title'])}</li>" for m in ms)
    ref = html.escape(ms[0]["title"]) if ms else ""
    return Html(
        f'{jupyter_css()}<section class="ci-title">'
        f'<div class="ci-kicker">{html.escape(t("kicker"))} · {html.escape(t("cmp.kicker"))}</div>'
        f"<h1>{html.escape(t('cmp.title', cycles=', '.join(cycles)))}</h1><dl>{dl}</dl>"
        f"<ol>{items}</ol></section>{paragraph(t('cmp.reference', ref=ref))}"
    )


def _with_difference(value, base, kind: str, cur: str) -> str:
    """``value`` formatted, with its difference from ``base`` in brackets (for the scenarios after
    the first).
    """
    text = html.unescape(format_value(value, kind, cur))
    if value is None or base is None or kind == "year":
        return text
    diff = float(value) - float(base)
    if abs(diff) < (0.05e6 if kind == "money" else 0.5 if kind != "share" else 0.0005):
        return f"{text} (±0)"
    sign = "+" if diff > 0 else "\u2212"
    return f"{text} ({sign}{html.unescape(format_value(abs(diff), kind, cur))})"


def compare_key_figures(results) -> pd.DataFrame:
    """Key figures side by side: one row per figure, one column per scenario (text values);
    every scenario after the first shows its difference from the first.
    """
    cols = {}
    base = key_figures(results[0]) if results else []
    for i, r in enumerate(results):
        cur = meta(r)["currency"]
        vals = []
        for k, b in zip(key_figures(r), base, strict=True):
            vals.append(html.unescape(format_value(k["value"], k["kind"], cur)) if i == 0
                        else _with_difference(k["value"], b["value"], k["kind"], cur))
        cols[_unique(cols, _label(r))] = vals
    return pd.DataFrame({t("cmp.key_figure"): [t(f"kfc.{k[0]}") for k in KEY_FIGURES]} | cols)


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


def compare_measures(results) -> tuple[pd.DataFrame, list[str]] | None:
    """The measures whose funding differs from the first scenario: a row per measure that enters
    or leaves in some scenario ("enters" = funded here, not in the first; "leaves" = funded in
    the first, not here), and the row classes that highlight them. None if no scenario has a
    portfolio.
    """
    chosen = [None if r.portfolio is None else r.portfolio["measure_id"].astype(str).tolist() for r in results]
    if all(c is None for c in chosen):
        return None
    names = {}
    for r in results:
        names.update(zip(r.measures["measure_id"].astype(str), r.measures["name"].astype(str), strict=True))
    base = set(chosen[0] or [])
    ids = list(dict.fromkeys(i for c in chosen if c for i in c))
    differing = [i for i in ids if any((i in set(c or [])) != (i in base) for c in chosen[1:])]
    cols, classes = {}, []
    for k, (r, c) in enumerate(zip(results, chosen, strict=True)):
        s = set(c or [])
        if k == 0:
            vals = [t("cmp.funded") if i in s else DASH for i in differing]
        else:
            vals = [t("cmp.funded") if i in s and i in base else t("cmp.enters") if i in s
                    else t("cmp.leaves") if i in base else DASH for i in differing]
        cols[_unique(cols, _label(r))] = vals
    for i in differing:
        entered = any(i in set(c or []) and i not in base for c in chosen[1:])
        classes.append("ci-enters" if entered else "ci-leaves")
    df = pd.DataFrame({"name": [names.get(i, i) for i in differing]} | cols)
    return df, classes


def compare_financing(results) -> pd.DataFrame | None:
    """Financing totals per scenario (investment, grants, loans, own funds, gap, peaks), with the
    difference from the first scenario.
    """
    cols, any_value = {}, False
    for i, r in enumerate(results):
        cur = meta(r)["currency"]
        vals = []
        for key in FINANCING_FIGURES:
            v = summary_value(r, "financing", key)
            any_value |= v is not None
            b = summary_value(results[0], "financing", key)
            vals.append(html.unescape(format_value(v, "money", cur)) if i == 0
                        else _with_difference(v, b, "money", cur))
        cols[_unique(cols, _label(r))] = vals
    if not any_value:
        return None
    return pd.DataFrame({t("cmp.financing"): [t(f"fin.{k}") for k in FINANCING_FIGURES]} | cols)


def pathways_figure(results):
    """How each scenario's territorial emissions differ from the first scenario's, year by year
    from the budget year on [t CO2e/year] (negative = lower); None with fewer than two pathways.
    """
    import plotly.graph_objects as go

    paths = [(r, r.pathway) for r in results if r.pathway is not None]
    if len(paths) < 2:
        return None
    base_r, base = paths[0]
    cycle = meta(base_r)["cycle"]
    ref = base.set_index("year")["with_portfolio_territorial_tco2e"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=list(ref.index), y=[0.0] * len(ref), name=html.escape(_label(base_r)), mode="lines",
                             line={"color": "#666666", "dash": "dot"}))
    for r, p in paths[1:]:
        diff = p.set_index("year")["with_portfolio_territorial_tco2e"].sub(ref).dropna()
        fig.add_trace(go.Scatter(x=list(diff.index), y=diff.to_list(), name=html.escape(_label(r)),
                                 mode="lines+markers", marker={"size": 4},
                                 hovertemplate="%{x}: %{y:,.0f} t CO2e<extra></extra>"))
    fig.update_layout(title=t("cmp.pathway_title", ref=html.escape(_label(base_r))), xaxis_title=t("cmp.year"),
                      yaxis_title=t("cmp.pathway_axis"), hovermode="x unified",
                      legend={"orientation": "h", "y": -0.2}, template="plotly_white")
    style.apply(fig)
    fig.update_layout(separators=",\u202f" if lang() == "sv" else ". ")
    fig.update_xaxes(separatethousands=False, tickformat="d")
    if isinstance(cycle, int):
        fig.update_xaxes(range=[cycle - 1, int(ref.index.max())])
    return fig


def financing_compare_figure(results):
    """Stacked bars per scenario: grants, loans, own funds and the financing gap [currency];
    None without financing summaries.
    """
    import plotly.graph_objects as go

    kinds = [
        ("grant_total", t("fin.grant_total"), "#1b7837"),
        ("loan_total", t("fin.loan_total"), "#2166ac"),
        ("own_funds_total", t("fin.own_funds_total"), "#762a83"),
        ("gap_total", t("fin.gap_total"), "#d7301f"),
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
        title=t("cmp.financing_title"),
        yaxis_title=t("cmp.financing_axis", unit=html.escape(currency_unit(cur, lang()))),
        legend={"orientation": "h", "y": -0.25},
    )
    style.apply(fig)
    fig.update_layout(separators=",\u202f" if lang() == "sv" else ". ")
    return fig


def show_comparison_title(results, date: str | None = None) -> None:
    """Display :func:`comparison_title` in the notebook."""
    display(comparison_title(results, date))


def show_comparison(results, part: str) -> None:
    """One part of the comparison report: ``key_figures``, ``parameters``, ``pathways``,
    ``measures`` or ``financing``.
    """
    parts: list = [Html(f"<h2>{html.escape(t(f'cmp.head.{part}'))}</h2>")]
    if not results:
        parts.append(note(t("cmp.none")))
    elif part == "key_figures":
        parts.append(Html(text_table_html(compare_key_figures(results))))
    elif part == "parameters":
        df = compare_parameters(results)
        parts.append(Html(text_table_html(df)) if len(df) else note(t("cmp.same_parameters")))
    elif part == "pathways":
        fig = pathways_figure(results)
        parts.append(FigureOut(fig) if fig is not None else note(t("cmp.no_pathway")))
    elif part == "measures":
        found = compare_measures(results)
        if found is None:
            parts.append(note(t("cmp.no_portfolio")))
        else:
            df, classes = found
            parts.append(Html(paragraph(t("cmp.measures_intro", ref=html.escape(_label(results[0])), n=len(df)))))
            if len(df):
                parts.append(Html(table_html(df, labels={c: str(c) for c in df.columns if c != "name"},
                                             row_classes=classes)))
    elif part == "financing":
        df = compare_financing(results)
        if df is None:
            parts.append(note(t("cmp.no_financing")))
        else:
            fig = financing_compare_figure(results)
            parts += ([FigureOut(fig)] if fig is not None else []) + [Html(text_table_html(df))]
    display(*parts)

"""The figures of each report section, drawn by ``climateinvest.report.plots`` from the step objects.

Every text of a step's tables is HTML-escaped before it reaches plotly (``escaped``), because
plotly reads a small HTML subset in labels. A figure that fails becomes a visible error note in
the report (and a warning), so a report never silently lacks a chart.
"""
from __future__ import annotations

import dataclasses
import warnings

import pandas as pd

from climateinvest.report.chart_text import translate_figure
from climateinvest.report.display import FigureOut, note
from climateinvest.report.formatting import escape_text_columns
from climateinvest.report.i18n import t
from climateinvest.report.plots import finance as finance_plots
from climateinvest.report.plots import macc as macc_plots
from climateinvest.report.plots import pathway as pathway_plots
from climateinvest.report.plots import portfolio as portfolio_plots
from climateinvest.report.plots import style
from climateinvest.report.plots import uncertainty as uncertainty_plots


def escaped(step):
    """A copy of a step object (a frozen dataclass) with the text of every table escaped."""
    frames = {f.name: escape_text_columns(v) for f in dataclasses.fields(step)
              if isinstance(v := getattr(step, f.name), pd.DataFrame)}
    return dataclasses.replace(step, **frames)


def _carbon_value(scenario) -> float | None:
    """The carbon value drawn on the MAC curve: only in the societal perspective."""
    return (scenario.carbon_value_per_tco2e or None) if scenario.perspective == "societal" else None


def _macc_figures(result, macc):
    s, cur = result.scenario, result.city.currency
    chosen = result.steps["portfolio"].chosen["measure_id"] if result.steps.get("portfolio") else ()
    yield "macc_figure", t("caption.macc"), lambda: macc_plots.macc_figure(
        macc, cur, carbon_value=_carbon_value(s), reference_year=s.macc_year, label_ids=set(chosen))
    yield "sector_summary_figure", None, lambda: macc_plots.sector_summary_figure(
        escape_text_columns(result.extra["macc_sector_summary"]), cur, reference_year=s.macc_year)


def _cobenefit_figures(result, cobenefits):
    """The MAC curve net of co-benefits (societal perspective only; absent, with its reason stated
    in the section, in the municipal one): the net table's own heights and ranks drawn as a curve.
    """
    net = cobenefits.net_curve
    if net is None:
        return
    s, cur = result.scenario, result.city.currency
    chosen = result.steps["portfolio"].chosen["measure_id"] if result.steps.get("portfolio") else ()
    view = net.assign(rank=net["net_rank"], cost_per_tco2e=net["cost_per_tco2e_after_cobenefits"])
    yield "net_macc_figure", t("caption.macc_net"), lambda: macc_plots.macc_figure(
        view, cur, carbon_value=_carbon_value(s), reference_year=s.macc_year, label_ids=set(chosen),
        cost_axis=style.cost_after_cobenefits_axis_title(cur))


def _portfolio_figures(result, portfolio):
    cur = result.city.currency
    yield "phasing_figure", None, lambda: portfolio_plots.phasing_figure(portfolio, currency=cur)
    yield "budget_use_figure", None, lambda: portfolio_plots.budget_use_figure(portfolio, currency=cur)
    yield "frontier_figure", t("caption.frontier"), lambda: portfolio_plots.frontier_figure(portfolio, currency=cur)


def _financing_figures(result, financing):
    cur = result.city.currency
    for draw in (finance_plots.financing_figure, finance_plots.debt_service_figure,
                 finance_plots.budget_impact_figure):
        yield draw.__name__, None, lambda draw=draw: draw(financing, currency=cur)


def _pathway_figures(result, pathway):
    yield "pathway_figure", None, lambda: pathway_plots.pathway_figure(pathway, target=result.scenario.target)
    if result.scenario.carbon_budget:  # drawn only when the scenario sets a carbon budget
        yield "carbon_budget_figure", None, lambda: pathway_plots.carbon_budget_figure(pathway)


def _uncertainty_figures(result, uncertainty):
    s, cur = result.scenario, result.city.currency
    # (the MAC curve with P10–P90 whiskers is left out: the curve is drawn once, in its section,
    # and the spread of each measure's cost per tonne is in the table below)
    yield "fan_figure", None, lambda: uncertainty_plots.fan_figure(uncertainty, target=s.target)
    yield "tornado_figure", None, lambda: uncertainty_plots.tornado_figure(uncertainty, currency=cur)
    yield "gap_tornado_figure", None, lambda: uncertainty_plots.gap_tornado_figure(uncertainty)
    yield "selection_frequency_figure", None, lambda: uncertainty_plots.selection_frequency_figure(uncertainty)


FIGURES = {"macc": _macc_figures, "portfolio": _portfolio_figures, "cobenefits": _cobenefit_figures,
           "financing": _financing_figures, "pathway": _pathway_figures, "uncertainty": _uncertainty_figures}


def section_figures(result, section: str, first_only: bool = False, only: str | None = None) -> list:
    """The figures (``FigureOut``, or an error note) of a section whose step is in
    ``result.steps``; ``first_only`` stops after the first one, ``only`` draws the one of that
    name (e.g. ``"budget_impact_figure"``; the explorer's redraws).
    """
    step = result.steps.get(section)
    if step is None or section not in FIGURES:
        return []
    out = []
    safe_step = escaped(step)
    for name, caption, draw in FIGURES[section](result, safe_step):
        if only is not None and name != only:
            continue
        try:
            fig = draw()
            if fig is not None:
                out.append(FigureOut(translate_figure(fig), caption))
        except Exception as e:  # noqa: BLE001 - shown in the report and warned
            warnings.warn(f"figure {name} failed: {type(e).__name__}: {e}", stacklevel=2)
            out.append(note(t("figure.failed", name=name, error=f"{type(e).__name__}: {e}"), "error"))
        if first_only and out:
            break
    return out

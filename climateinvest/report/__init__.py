"""What the notebooks call: one function per cell, each showing its part of a report.

The notebooks in ``notebooks/`` hold no logic: each cell calls one function of this module and
the function displays its part (``show_*``) or returns a value. The parts are made by

- ``report_results``: the result to report on (computed from a scenario file, or read back);
- ``report_sections`` and ``report_figures``: what each section shows, from ``result.steps``;
- ``report_text``: title page, glossary of the Swedish terms, appendix with SOURCES.md;
- ``report_format`` / ``report_display``: numbers, tables, escaping, and how Jupyter shows them;
- ``comparison``: the scenarios side by side; ``explorer``: the interactive explorer.

Nothing here computes: every figure is selected and formatted from what the pipeline computed,
and every data text is HTML-escaped on its way (see ``report_format``).
"""
from __future__ import annotations

from pathlib import Path

from climateinvest.report.comparison import show_comparison, show_comparison_title
from climateinvest.report.decision import decision_summary
from climateinvest.report.display import Html, display
from climateinvest.report.explorer import explorer_widget
from climateinvest.report.i18n import t
from climateinvest.report.results import load, load_many
from climateinvest.report.sections import section
from climateinvest.report.text import assumptions, collapsed, glossary, run_info, title_page

__all__ = [
    "explorer",
    "load",
    "load_many",
    "save_result",
    "show_assumptions",
    "show_comparison",
    "show_comparison_title",
    "show_glossary",
    "show_section",
    "show_summary",
    "show_title",
]


def show_title(result, date: str | None = None) -> None:
    """The title page: city, budget cycle and plan years, scenario, date, version."""
    display(title_page(result, date))


def show_summary(result) -> None:
    """The decision basis: data status, summary, proposed decision, key figures by payer, what to
    fund and the money per year.
    """
    display(*decision_summary(result))


def show_section(result, name: str) -> None:
    """One section: ``measures``, ``macc``, ``portfolio``, ``financing``, ``pathway`` or
    ``uncertainty``.
    """
    display(*section(result, name))


def show_glossary() -> None:
    """The Swedish terms used in the reports, explained once (collapsed)."""
    display(Html(collapsed(t("glossary.head"), glossary())))


def show_assumptions(result) -> None:
    """Appendix: parameters, input files with hashes, sources, computing notes and times
    (collapsed; left out of the print unless opened).
    """
    display(Html(collapsed(t("appendix.head"), assumptions(result) + run_info(result))))


def save_result(result, output_dir: str | None) -> str | None:
    """``result.save(output_dir)`` (CSV per table, XLSX, manifest.json); nothing if ``output_dir``
    is empty. Returns the folder written.
    """
    if not output_dir:
        return None
    return str(result.save(output_dir))


def explorer(scenario_path: str | Path | None = None, parameters: str | Path = "../parameters",
             out: str | Path | None = None):
    """The explorer's widget: a chooser of the scenario files under ``parameters`` (the first one,
    or ``scenario_path``, loaded), its levers and views (display it in JupyterLab); tables and
    reports go into ``out`` (default ``explorer_output`` beside the notebook).
    """
    return explorer_widget(scenario_path, parameters, out)

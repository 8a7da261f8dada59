"""The report's portfolio section says what the solver did in the report's language, from the
result's fields, and names the tie-break rule."""
from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import pytest

from climateinvest import run_scenario
from climateinvest.io.scenario import load_scenario
from climateinvest.report import i18n, sections
from climateinvest.report.formatting import fmt_tonnes
from climateinvest.report.results import report_context
from climateinvest.report.solver_words import portfolio_message, solver_status

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "parameters/exempelstad/base.yaml"


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sc = load_scenario(EXAMPLE)
        return run_scenario(sc.with_changes(monte_carlo=None))


def _portfolio_text(result, language: str) -> str:
    i18n.use(report_context(result, language))
    return "".join(str(p) for p in sections.section(result, "portfolio") if not hasattr(p, "fig"))


def test_the_status_and_message_lines_are_swedish_in_a_swedish_report(result):
    step = result.steps["portfolio"]
    assert step.status == "optimal" and step.objective == "max_abatement"
    text = _portfolio_text(result, "sv")
    assert "Status: optimal" in text
    assert "Meddelande: störst minskning år 2030 inom ramen, billigast bland likvärdiga" in text
    assert "(tie_break: equal_tonnes)" in text and "ger samma ton åtgärd för åtgärd" in text
    assert "within the budget" not in text and "cheapest among equals" not in text
    english = _portfolio_text(result, "en")
    assert "Message: most abatement in 2030 within the budget, cheapest among equals" in english
    assert "measure for measure" in english


def test_the_message_follows_the_objective_and_the_shortfall(result):
    step = result.steps["portfolio"]
    i18n.use(report_context(result, "sv"))
    cheapest = dataclasses.replace(step, objective="min_cost", shortfall_tco2e=0.0, required_tco2e=12345.0)
    assert portfolio_message(cheapest) == f"billigaste portföljen som når målet ({fmt_tonnes(12345.0)} år 2030)"
    assert fmt_tonnes(12345.0) == "12\u202f345\u202ft CO₂e"  # the unit comes with the number
    short = dataclasses.replace(step, objective="min_cost", shortfall_tco2e=250.0)
    assert portfolio_message(short).endswith(f"redovisas, {fmt_tonnes(250.0)} saknas")
    limited = dataclasses.replace(step, optimal=False)
    assert portfolio_message(limited) == "den största minskning år 2030 som lösaren fann inom sina gränser"
    assert solver_status("feasible (node limit), gap 0.5 %") == "godtagbar, stoppad av nodgränsen, gap 0,5\u202f%"

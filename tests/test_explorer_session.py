"""The explorer without a browser (Landskrona 2027 base, Swedish): every text it shows in Swedish,
the Monte Carlo button running the uncertainty step alone with the batch's figures, the tables
and reports written into an output folder (never an input folder, never over a file), and the
explorer's result equal to ``run_scenario``'s for the same settings."""
from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest
from conftest import DEFAULT_CYCLE, ROOT

from climateinvest.io.errors import ValidationError
from climateinvest.portfolio.solve import status_text
from climateinvest.report.explorer import Explorer
from climateinvest.report.explorer.wording import grant_status, problem_text, solver_status
from climateinvest.report.i18n import Context, use
from climateinvest.run import run_scenario

# phrases the core and the old explorer wrote in English; none may reach a Swedish screen
ENGLISH = re.compile(r"\b(the|and|of|solver|grants?|selections?|fixed point|limit|gap unknown|feasible|"
                     r"greedy|found|probability|draws|written|failed|file not found|unknown|no solution|"
                     r"infeasible|unbounded|optimal portfolio|municipal|societal|sequential|independent|"
                     r"max_abatement|min_cost|Error|Traceback)\b")


def english_in(text: str) -> list[str]:
    return ENGLISH.findall(text)


@pytest.fixture(scope="module")
def explorer(tmp_path_factory):
    out = tmp_path_factory.mktemp("explorer_out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e = Explorer(DEFAULT_CYCLE / "base.yaml", out=out / "kept")
    assert e.context.lang == "sv"
    return e


@pytest.fixture(scope="module")
def changed(explorer):
    """The explorer after a rate and target change, and the batch run of the same settings."""
    use(explorer.context)
    # 3 % real and a 65 % cut: the target is met in some draws, not all (a probability of 0.35)
    explorer.update({"discount_rate": 0.03, "rate_basis": "real",
                     "target": explorer.base.target.model_dump() | {"reduction": 0.65}})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = run_scenario(explorer.scenario_now.with_changes(monte_carlo=explorer.monte_carlo(draws=300)),
                            explorer.city)
    return explorer, full


# --- 1. Swedish on a Swedish screen ---------------------------------------------------------------


@pytest.mark.parametrize("core, swedish", [
    (status_text(0, 0.0, True), "optimal"),
    (status_text(1, 0.0123, True, "time limit"), "godtagbar, stoppad av tidsgränsen, gap 1,23\u202f%"),
    (status_text(1, None, True, "node limit"), "godtagbar, stoppad av nodgränsen, gap okänt"),
    (status_text(1, None, False, "time limit"), "ingen lösning inom tidsgränsen"),
    (status_text(2, None, False), "ingen portfölj uppfyller villkoren"),
    (status_text(3, None, False), "modellen är obegränsad"),
    (status_text(4, None, False), "lösaren misslyckades"),
    (status_text(1, 0.02, True, "time limit") + "; greedy portfolio kept (better than the solver's)",
     "godtagbar, stoppad av tidsgränsen, gap 2\u202f%; den giriga portföljen behålls (bättre än lösarens)"),
])
def test_every_solver_status_is_said_in_swedish(core, swedish):
    use(Context(lang="sv"))
    assert solver_status(core) == swedish and english_in(swedish) == []
    use(Context(lang="en"))
    assert english_in(solver_status(core)) or solver_status(core) == "optimal"  # English stays English


def test_the_grant_fixed_point_is_said_in_swedish():
    use(Context(lang="sv"))
    assert grant_status({"status": "grants and selection agree: fixed point after 3 selections", "rounds": 3,
                         "converged": True}) == "bidrag och urval stämmer: fast punkt efter 3 urval"
    assert grant_status({"rounds": 6, "converged": False}).startswith("bidrag och urval stabiliserades inte efter 6")
    assert grant_status({}) == ""


def test_refusals_are_said_in_swedish_without_a_traceback(explorer, tmp_path):
    use(explorer.context)
    from climateinvest import load_scenario

    with pytest.raises(ValidationError) as missing:
        load_scenario(tmp_path / "saknas.yaml")
    assert problem_text(missing.value) == f"1 problem hittades:\n  - {tmp_path / 'saknas.yaml'}: filen finns inte"
    with pytest.raises(ValidationError) as both:  # the scenario's own refusal, no pydantic report
        explorer.base.with_changes(measures_in=["fleet_ev"], measures_out=["fleet_ev"])
    text = problem_text(both.value)
    assert text.startswith("1 problem hittades:\n  - base.yaml, nyckel measures_out: fleet_ev also in measures_in")
    assert "pydantic" not in text and "validation error for" not in text
    assert problem_text(RuntimeError("boom")) == "det gick inte: boom"
    bad = tmp_path / "trasig.yaml"  # a scenario key's rules are said in Swedish, the values as given
    bad.write_text(f"title: ''\ncity: {ROOT / 'data/landskrona'}\nbudget_cycle: 2027\ninteraction: sequentail\n"
                   "pathway_end_year: 3000\n", encoding="utf-8")
    with pytest.raises(ValidationError) as keys:
        load_scenario(bad)
    assert problem_text(keys.value).splitlines()[1:] == [
        f"  - {bad}, nyckel title: måste ha minst 1 tecken, fick ''",
        f"  - {bad}, nyckel interaction: måste vara en av 'independent' eller 'sequential' "
        "(menade du 'sequential'?), fick 'sequentail'",
        f"  - {bad}, nyckel pathway_end_year: får vara högst 2100, fick 3000"]
    assert "key interaction: must be one of 'independent' or 'sequential' (did you mean 'sequential'?), got " \
           "'sequentail'" in str(keys.value)  # the core's own English is unchanged
    from climateinvest.report.explorer.widget import mc_text, render_failure

    assert render_failure(2, "Traceback (most recent call last):\n  File \"x.py\", line 1\nValueError: bad\n") \
        == "rapporten kunde inte skrivas (felkod 2): ValueError: bad"
    assert mc_text({}, 0.1) == "ingen Monte Carlo: kommunen har ingen osäkerhetstabell (uncertainty.csv)"
    assert mc_text({"prob_meet_target": 0.456, "draws": 300}, 1.25) == \
        "sannolikhet att nå målet 46\u202f% (300 dragningar, 1,2 s)"


def _texts(widget) -> list[str]:
    """Every text a widget tree shows: values of HTML and labels, descriptions, options, tab titles."""
    import ipywidgets as w

    out = []
    if isinstance(widget, w.HTML | w.Label):
        out.append(re.sub(r"<style.*?</style>|<[^>]+>", " ", widget.value, flags=re.S))
    if getattr(widget, "description", None):
        out.append(widget.description)
    if isinstance(widget, w.ToggleButtons | w.Dropdown):
        out += [str(label) for label in widget._options_labels]
    if isinstance(widget, w.Tab):
        out += [widget.get_title(i) for i in range(len(widget.children))]
    for child in getattr(widget, "children", ()):
        out += _texts(child)
    return out


def test_the_widget_shows_no_english_on_a_swedish_screen(explorer):
    import ipywidgets as w

    from climateinvest.report.explorer.widget import _controls

    use(explorer.context)
    box = _controls(w, explorer, lambda e: None)
    status = explorer.status_text()
    assert status.startswith("lösare: optimal; bidrag och urval stämmer: fast punkt efter ") and \
        status.endswith(" urval")
    shown = [s for s in _texts(box) if s.strip()]
    # data names (measures, the city, its factor sets and price paths) are the city's own words
    data = set(explorer.city.measure_ids) | set(explorer.factor_sets()) | set(explorer.price_paths())
    left = {s: english_in(s) for s in shown if s not in data and english_in(s)}
    assert left == {}
    assert any("MAC-kurva" in s and " s" in s and "," in s for s in shown)  # the seconds with a decimal comma
    # a start year before the measure's earliest is refused in Swedish, before any recomputation
    drop = {d.description: d for d in _walk(box) if isinstance(d, w.Dropdown)}
    read = next(x for x in _walk(box) if isinstance(x, w.HTML) and "ci-read" in x._dom_classes)
    drop["Lås startår för"].value = "bus_electric"
    drop["till (0: fritt)"].value = 2027
    assert "bus_electric kan inte starta 2027: tidigaste startår är 2028" in read.value
    drop["till (0: fritt)"].value = 0
    assert "ci-failed" not in read.value
    buttons = {b.description: b for b in _walk(box) if isinstance(b, w.Button)}
    buttons["Osäkerhet (Monte Carlo)"].click()
    kept = next(x for x in _walk(box) if isinstance(x, w.HTML) and "ci-kept" in x._dom_classes)
    assert kept.value.startswith("sannolikhet att nå målet ") and english_in(kept.value) == []


def test_the_first_line_and_chooser_follow_the_loaded_scenario(explorer, monkeypatch):
    from climateinvest.report.explorer import widget

    use(Context(lang="en"))  # a fresh kernel: no language yet
    monkeypatch.setattr(widget, "Explorer", lambda path, out=None: (use(explorer.context), explorer)[1])
    root = widget.explorer_widget(DEFAULT_CYCLE / "base.yaml", parameters=DEFAULT_CYCLE.parent)
    shown = _texts(root.children[0]) + _texts(root.children[1])
    assert shown[0].strip().startswith("Kör alla celler") and "Scenariofil" in shown and "Läs in" in shown
    assert [s for s in shown if english_in(s)] == []


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


# --- 2. the Monte Carlo button runs the Monte Carlo alone ------------------------------------------


def test_the_monte_carlo_alone_gives_the_batch_figures(changed):
    e, full = changed
    use(e.context)
    summary = e.uncertainty(draws=300)
    batch = full.steps.uncertainty.summary
    assert summary["draws"] == 300 and 0.2 < summary["prob_meet_target"] < 0.5
    assert summary["prob_meet_target"] == batch["prob_meet_target"]
    assert _untimed(summary) == _untimed(batch)
    pd.testing.assert_frame_equal(e.result.steps.portfolio.chosen, full.steps.portfolio.chosen)
    alone = e.last_uncertainty
    for name, table in full.steps.uncertainty.tables().items():
        pd.testing.assert_frame_equal(alone.tables()[name], table, obj=name)


def _untimed(d):
    """A summary without its clock readings (seconds differ from run to run)."""
    if isinstance(d, dict):
        return {k: _untimed(v) for k, v in d.items() if k not in ("timings_s", "seconds_per_draw")}
    return d


def test_a_follow_up_cycle_says_why_it_has_no_monte_carlo(explorer):
    use(explorer.context)
    later = Explorer.__new__(Explorer)
    later.scenario_now = explorer.base.with_changes(
        adopted_plan=ROOT / "data" / "landskrona" / "plans" / "2027.yaml",
        followup=ROOT / "data" / "landskrona" / "followup" / "2027.csv", monte_carlo=None)
    with pytest.raises(ValueError, match="ingen Monte Carlo för en cykel byggd på en uppföljning"):
        later.uncertainty()


# --- 3. where the tables and the report go --------------------------------------------------------


def test_tables_go_to_the_output_folder_and_never_over_a_file(explorer):
    use(explorer.context)
    first = explorer.export_xlsx("mitt scenario")
    assert first == (explorer.out / "mitt_scenario.xlsx").resolve() and first.stat().st_size > 10_000
    before = first.read_bytes()
    second = explorer.export_xlsx("mitt scenario")
    assert second.name == "mitt_scenario-2.xlsx" and first.read_bytes() == before
    for refused in (DEFAULT_CYCLE, ROOT / "data" / "landskrona" / "sub", ROOT / "data"):
        with pytest.raises(ValidationError) as why:
            explorer.export_xlsx("x", refused)
        assert "resultat skrivs aldrig i en indatamapp" in problem_text(why.value)
    assert not (DEFAULT_CYCLE / "x.xlsx").exists() and not (ROOT / "data" / "landskrona" / "sub").exists()


def test_the_report_is_written_under_the_output_folder(explorer, monkeypatch):
    import subprocess

    seen = {}

    class Fake:
        def __init__(self, args, **kw):
            seen["args"] = args

    monkeypatch.setattr(subprocess, "Popen", Fake)
    explorer.render_report(DEFAULT_CYCLE / "base.yaml")
    args = seen["args"]
    assert args[args.index("--out") + 1] == str(explorer.out.resolve() / "reports")
    assert args[args.index("--lang") + 1] == "sv"
    with pytest.raises(ValidationError):
        explorer.render_report(DEFAULT_CYCLE / "base.yaml", ROOT / "data" / "landskrona")


# --- 4. the explorer's result is the batch's ------------------------------------------------------


def test_the_explorer_result_equals_run_scenario_for_the_same_settings(changed):
    e, full = changed
    for name, table in e.result.tables().items():
        if name.startswith(("uncertainty", "portfolio_frontier")):
            continue
        pd.testing.assert_frame_equal(table, full.tables()[name], obj=name)
    assert e.result.portfolio_cost_per_tco2e == full.portfolio_cost_per_tco2e
    assert e.result.summary["financing"] == full.summary["financing"]


def test_kept_flows_are_shared_read_only_and_only_for_the_same_city(explorer):
    import dataclasses

    import numpy as np

    from climateinvest.cashflows import build_flows
    from climateinvest.io.memo import clear_cache

    city, s = explorer.city, explorer.base
    a = build_flows(city, s.price_path, s.emission_factor_set, 2028)
    assert build_flows(city, s.price_path, s.emission_factor_set, 2028) is a
    assert build_flows(city, s.price_path, s.emission_factor_set, 2029) is not a
    with pytest.raises(ValueError, match="read-only"):
        a.capex[0, 0] = 1.0
    other = dataclasses.replace(city)  # an equal copy is another city: built anew, the same numbers
    b = build_flows(other, s.price_path, s.emission_factor_set, 2028)
    assert b is not a and np.array_equal(b.emissions_c, a.emissions_c) and np.array_equal(b.capex, a.capex)
    clear_cache()
    c = build_flows(city, s.price_path, s.emission_factor_set, 2028)
    assert c is not a and np.array_equal(c.energy_cost_c, a.energy_cost_c)


def test_a_repeated_solve_is_answered_once_and_a_clock_stopped_one_is_never_kept(monkeypatch):
    import numpy as np
    from scipy import sparse
    from scipy.optimize import OptimizeResult

    from climateinvest.portfolio import solve

    calls = []
    real = solve.milp

    def counting(*a, **k):
        calls.append(k["options"].get("time_limit"))
        return real(*a, **k)

    monkeypatch.setattr(solve, "milp", counting)
    problem = (np.array([-1.0, -2.0, -1.5]), np.ones(3), np.ones(3),
               [sparse.csr_array(np.array([[1.0, 1.0, 1.0]]))], [np.array([-np.inf])], [np.array([2.0])])
    first, _ = solve._milp(*problem, None)
    again, _ = solve._milp(*problem, 5.0)  # proven without a clock: the same answer under one
    assert calls == [None] and first.status == 0 and list(first.x.round()) == [0.0, 1.0, 1.0]
    again.x[0] = 9.0  # each caller has its own copy
    assert solve._milp(*problem, None)[0].x[0] == 0.0 and calls == [None]

    def stopped(*a, **k):
        calls.append("stopped")
        return OptimizeResult(status=1, x=None, mip_gap=None, success=False)

    monkeypatch.setattr(solve, "milp", stopped)
    solve._milp(*problem, 0.5)
    solve._milp(*problem, 0.5)
    assert calls.count("stopped") == 2

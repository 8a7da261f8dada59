"""The notebooks: committed clean, parameterised for papermill, and they execute."""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest
from conftest import DEFAULT_CYCLE, FICTIONAL, ROOT

from climateinvest.batch import runner as batch

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


def test_the_three_notebooks_exist():
    assert {p.name for p in NOTEBOOKS} >= {batch.REPORT_NOTEBOOK, batch.COMPARISON_NOTEBOOK, batch.EXPLORER_NOTEBOOK}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"
        assert "papermill" not in cell.metadata and "execution" not in cell.metadata
    assert "papermill" not in nb.metadata and "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_parameters_cell(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    # parameters are plain string literals (data), nothing else
    import ast

    tree = ast.parse(tagged[0].source)
    for node in tree.body:
        assert (
            isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_business_logic(path):
    """Each code cell (but the parameters) calls the package: an import and one call, no loops,
    no arithmetic, no function definitions."""
    import ast

    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
        assert len(calls) <= 1, cell.source
        for n in ast.walk(tree):
            assert not isinstance(n, ast.For | ast.While | ast.FunctionDef | ast.ClassDef | ast.BinOp | ast.Lambda), (
                cell.source
            )
        for n in calls:
            assert isinstance(n.func, ast.Attribute) and getattr(n.func.value, "id", "") == "report", cell.source


@pytest.mark.slow
def test_report_notebook_executed_for_the_base_scenario(batch_runs):
    """The batch executed scenario_report.ipynb for parameters/2027/base.yaml (session fixture)."""
    folder = batch_runs["default"]["folder"]
    assert str(DEFAULT_CYCLE / "base.yaml") in batch_runs["default"]["files"]
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    base = next(s for s in m["scenarios"] if s["name"] == "base")
    assert base["status"] == "ok"
    assert (folder / "base.html").stat().st_size > 100_000


def _execute(name: str, parameters: dict, tmp_path: Path):
    import papermill as pm

    return pm.execute_notebook(
        str(ROOT / "notebooks" / name),
        str(tmp_path / name),
        parameters=parameters,
        kernel_name="python3",
        progress_bar=False,
        cwd=str(ROOT / "notebooks"),
    )


@pytest.mark.slow
def test_report_notebook_runs_with_its_defaults_in_place(tmp_path):
    """Opened as is (relative default path, as in JupyterLab), on the fictional city."""
    nb = _execute(batch.REPORT_NOTEBOOK, {"scenario_path": "../parameters/exempelstad/base.yaml"}, tmp_path)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    assert "Exempelstad" in html and "Proposed decision" in html  # country XX: English
    figs = [o for c in nb.cells for o in c.get("outputs", []) if "application/vnd.plotly.v1+json" in o.get("data", {})]
    assert figs, "charts reach JupyterLab as plotly's own MIME type"


@pytest.mark.slow
def test_comparison_notebook_on_scenario_files(tmp_path):
    nb = _execute(batch.COMPARISON_NOTEBOOK, {"scenarios": json.dumps([str(FICTIONAL), str(FICTIONAL)])}, tmp_path)
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells for o in c.get("outputs", []))
    for part in ("Key figures and differences", "Pathways: difference", "Measures entering or leaving", "Financing"):
        assert part in html


@pytest.mark.slow
def test_explorer_notebook_executes_headless(tmp_path):
    nb = _execute(batch.EXPLORER_NOTEBOOK, {"scenario_path": str(FICTIONAL)}, tmp_path)
    outs = [o for c in nb.cells for o in c.get("outputs", [])]
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outs)
    assert not [o for o in outs if o.get("output_type") == "error"]


def test_explorer_redraws_what_each_change_moves():
    """Each change recomputes; the figure and the key figures follow (speed: benchmarks/)."""
    from climateinvest.report.explorer import Explorer

    e = Explorer(DEFAULT_CYCLE / "base.yaml")
    base_npv = e.result.summary["portfolio"]["npv_cost"]
    base_cost = e.base_result.portfolio_cost_per_tco2e
    e.update({"discount_rate": 0.04, "rate_basis": "real"})
    assert e.result.summary["portfolio"]["npv_cost"] != pytest.approx(base_npv, rel=1e-3)
    assert e.result.portfolio_cost_per_tco2e != pytest.approx(base_cost, rel=1e-3)
    assert "mot det inlästa scenariot" in e.key_figures()
    e.update({"emission_factor_set": "nordic_residual_mix"})
    for view in ("macc", "portfolio", "financing", "budget", "pathway"):
        assert e.figure(view).html()
    assert e.result.summary["portfolio"]["n_measures"] == len(e.result.portfolio)
    e.reset()
    assert e.result is e.base_result


def test_committed_notebooks_carry_no_outputs_or_widget_state():
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        assert "widgets" not in nb.metadata, path.name
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, f"{path.name}: clear the outputs"


def test_explorer_widget_builds_and_a_bad_path_shows_the_problem(tmp_path):
    from climateinvest.report.explorer import explorer_widget

    box = explorer_widget(tmp_path / "missing.yaml", parameters=DEFAULT_CYCLE.parent)
    shown = box.children[2].value
    assert "missing.yaml" in shown and "Traceback" not in shown


def test_explorer_saves_a_scenario_that_loads_back(tmp_path):
    import shutil

    from climateinvest.io.scenario import load_scenario
    from climateinvest.report.explorer import Explorer

    (tmp_path / "parameters" / "2027").mkdir(parents=True)
    shutil.copytree(DEFAULT_CYCLE.parent.parent / "data" / "landskrona", tmp_path / "data" / "landskrona")
    src = tmp_path / "parameters" / "2027" / "low_budget.yaml"
    shutil.copy(DEFAULT_CYCLE / "low_budget.yaml", src)
    e = Explorer(src)
    chosen = e.result.portfolio
    mid = chosen["measure_id"].iloc[0]
    year = 2029 if int(chosen["start_year"].iloc[0]) != 2029 else 2028
    e.update({"discount_rate": 0.03, "rate_basis": "real", "start_years": {mid: year}, "measures_in": [mid]})
    assert int(e.result.portfolio.set_index("measure_id").loc[mid, "start_year"]) == year
    path = e.save_scenario("low_budget_explored")
    text = path.read_text(encoding="utf-8")
    assert "# Changed from that scenario:" in text and "discount_rate" in text
    back = load_scenario(path)
    assert back.start_years == {mid: year} and back.discount_rate == 0.03 and back.city == e.base.city
    with pytest.raises(FileExistsError):
        e.save_scenario("low_budget_explored")
    out = e.export_xlsx("t", tmp_path / "out")
    assert out == (tmp_path / "out" / "t.xlsx").resolve() and out.stat().st_size > 10_000


# --- the functions the notebooks call (fast) ---------------------------------------------------


def test_sources_markdown_is_data_not_markup():
    from climateinvest.report import formatting as report

    md = (
        "# Sources\n<script>alert(1)</script>\n![tracker](https://example.org/pixel.png)\n"
        "[ok](https://scb.se) [bad](javascript:alert(1))\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    out = report.markdown_safe(md)
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<img" not in out and "[image: tracker]" in out
    assert 'href="https://scb.se"' in out and "javascript:" not in out.split("bad")[0][-40:]
    assert "<table>" in out and "<h4>Sources</h4>" in out


def test_offline_check_finds_network_loads():
    from climateinvest.report.html_export import OfflineError, check_offline, outside_references

    assert outside_references('<a href="https://scb.se">a link is not a load</a>') == []
    for bad in (
        '<script src="https://cdn.plot.ly/plotly.js"></script>',
        '<link rel="stylesheet" href="//x.org/a.css">',
        '<img src="http://x.org/p.png">',
        '<style>@import "https://x.org/a.css";</style>',
        '<div style="background: url(https://x.org/b.png)"></div>',
    ):
        assert outside_references(bad), bad
        with pytest.raises(OfflineError, match="network"):
            check_offline(bad)


def test_figure_labels_are_escaped_for_plotly():
    import pandas as pd

    from climateinvest.report import formatting as report

    df = pd.DataFrame({"name": ["<b>x</b> & y"], "capex": [1.0]})
    safe = report.escape_text_columns(df)
    assert safe.loc[0, "name"] == "&lt;b&gt;x&lt;/b&gt; &amp; y" and safe.loc[0, "capex"] == 1.0

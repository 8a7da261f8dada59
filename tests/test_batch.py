"""`climateinvest report`: run folders, reports, index, manifest, failures, exit codes."""
from __future__ import annotations

import html
import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from conftest import FICTIONAL

from climateinvest.batch import runner as batch
from climateinvest.report import html_export as htmlexport

pytestmark = pytest.mark.slow


def _manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


# --- the default cycle (Landskrona) ------------------------------------------------------------

def test_default_cycle_writes_every_report(batch_runs):
    run = batch_runs["default"]
    assert run["code"] == 0, run["stderr"]
    folder = run["folder"]
    assert folder.parent.name == "2027" and folder.parent.parent.name == "default"
    m = _manifest(folder)
    assert m["status"] == "complete" and m["interrupted"] is False
    assert m["finished"] and m["seconds"] > 0
    assert {"climateinvest", "numpy", "pandas", "scipy", "plotly", "papermill", "python"} <= set(m["versions"])
    names = [Path(f).stem for f in run["files"]]
    assert [s["name"] for s in m["scenarios"]] == names
    for s in m["scenarios"]:
        assert s["status"] == "ok", s["error"]
        assert len(s["sha256"]) == 64 and s["parameters"]["budget_cycle"] == 2027
        assert s["inputs_sha256"] and all(len(h) == 64 for h in s["inputs_sha256"].values())
        assert s["seconds"] > 0 and s["timings_s"]
        for key in ("html", "xlsx", "tables"):
            assert (folder / s["outputs"][key]).exists()
        assert (folder / s["name"] / "manifest.json").exists()
    assert m["comparison"]["status"] == "ok"
    assert (folder / "comparison.html").exists()
    # nothing half-written is left behind
    assert not [p for p in folder.rglob("*") if ".partial" in p.name or p.name.endswith(".part")]


def test_progress_lines_and_index_path(batch_runs):
    run = batch_runs["default"]
    n = len(run["files"])
    lines = [line for line in run["stderr"].splitlines() if line.startswith("[")]
    assert len(lines) == n
    assert all(f"/{n}] " in line and " ok " in line and line.endswith(" s") for line in lines)
    assert run["stdout"].strip().endswith("index.html")
    assert Path(run["stdout"].strip()).is_file()


def test_index_lists_every_scenario_with_figures_and_links(batch_runs):
    folder = batch_runs["default"]["folder"]
    index = (folder / "index.html").read_text(encoding="utf-8")
    m = _manifest(folder)
    for s in m["scenarios"]:
        assert html.escape(s["title"]) in index
        assert f'href="{s["name"]}.html"' in index and f'href="{s["name"]}.xlsx"' in index
    assert 'href="comparison.html"' in index and 'href="manifest.json"' in index
    assert "t CO2e" not in index or "Gap to the target" in index
    assert "<script" not in index  # the index needs no script at all


def test_reports_are_self_contained(batch_runs):
    folder = batch_runs["default"]["folder"]
    marker = htmlexport.plotlyjs()[:200]  # the vendored basic bundle
    for page in sorted(folder.glob("*.html")):
        text = page.read_text(encoding="utf-8")
        assert htmlexport.outside_references(text) == [], page.name
        assert "require.js" not in text and "MathJax.js" not in text and "cdn." not in text.split("<script>")[0]
        n_plotly = text.count(marker)
        if page.name == "index.html":
            assert n_plotly == 0
        else:
            assert n_plotly == 1, f"{page.name}: plotly.js embedded {n_plotly} times"
            assert text.count("plotly-graph-div") >= 2
        assert "Content-Security-Policy" in text


def test_report_has_every_part_and_no_code(batch_runs):
    folder = batch_runs["default"]["folder"]
    text = (folder / "base.html").read_text(encoding="utf-8")
    # Landskrona (country SE) is reported in Swedish
    for heading in ("Underlagets status", "Sammanfattning", "Förslag till beslut", "Nyckeltal", "Vad som finansieras",
                    "Kandidatåtgärder", "Åtgärdskostnadskurva (MAC-kurva)", "Portfölj och etappindelning",
                    "Finansiering och budgetpåverkan", "Utsläppsbana", "Osäkerhet", "Begrepp i rapporten",
                    "Bilaga: antaganden, parametrar och källor", "Indatafiler", "SOURCES.md"):
        assert heading in text, heading
    # every step's charts: MAC curve 2, portfolio 3, financing 3, pathway 2, uncertainty (Monte Carlo) 3+
    assert text.count('class="plotly-graph-div"') >= 13
    # title page: city, cycle, scenario, date, version
    assert "Landskrona" in text and "budgetår 2027, planår 2028–2029" in text
    from climateinvest import __version__

    assert __version__ in text and time.strftime("%Y-") in text
    # Swedish terms explained once
    for term in ("Klimatkontrakt 2030", "SMHI:s nationella emissionsdatabas", "Klimatklivet",
                 "Kommuninvest", "SKR:s internränta", "ASEK", "ursprungsgarantier", "Driftbudget"):
        assert term in text, term
    assert text.count("<dt>Klimatklivet</dt>") == 1
    # thousands separators (narrow no-break space), decimal comma, units from the registry
    # the headline investment as the saved summary holds it (112.7 MSEK for the 2027 base), in mnkr
    saved = json.loads((folder / "base" / "manifest.json").read_text(encoding="utf-8"))
    invest = saved["summary"]["financing"]["investment_total"]
    assert invest > 1e8 and f"{invest / 1e6:.1f}".replace(".", ",") + "\u202fmnkr" in text and "\u202f000<" in text
    assert 'Investering<span class="ci-unit">tkr</span>' in text and '<span class="ci-unit">t CO₂e/år</span>' in text
    assert "[SEK]" not in text and "2\u202f045" not in text
    # no code: no input prompts, no source of the notebook's cells
    for code in ("report.show_section", "In&nbsp;[", "import climateinvest", "jp-InputArea"):
        assert code not in text


def test_report_shows_cobenefits_beside_the_cost_per_tonne(batch_runs):
    """Landskrona's measures with co-benefit inputs: the section, valued, with the older values named."""
    folder = batch_runs["default"]["folder"]
    text = (folder / "base.html").read_text(encoding="utf-8")
    assert "Sidonyttor: ren luft, tystare gator, hälsa" in text
    assert "Kostnad per ton efter sidonyttor" in text and "Nuvärde av sidonyttor" in text
    saved = json.loads((folder / "base" / "manifest.json").read_text(encoding="utf-8"))["summary"]["cobenefits"]
    assert saved["portfolio_value_per_year"] > 0 and saved["perspective"] == "municipal"
    assert any("older" in w for w in saved["warnings"])
    # the MAC curve net of co-benefits: absent in the municipal report, with its reason; drawn and
    # saved in the societal one
    assert "Ingen MAC-kurva efter sidonyttor" in text and not (folder / "base" / "cobenefits_net_curve.csv").exists()
    societal = (folder / "societal.html").read_text(encoding="utf-8")
    assert "MAC-kurvan efter sidonyttor (samhällsekonomiskt perspektiv)" in societal
    assert "Kostnad efter sidonyttor" in societal and "Ingen MAC-kurva efter sidonyttor" not in societal
    net = pd.read_csv(folder / "societal" / "cobenefits_net_curve.csv")
    assert net["net_rank"].tolist() == list(range(1, len(net) + 1)) and net["measure_id"].iloc[0] == "cycle_network"


def test_xlsx_has_the_result_tables(batch_runs):
    import openpyxl

    folder = batch_runs["default"]["folder"]
    wb = openpyxl.load_workbook(folder / "base.xlsx", read_only=True)
    assert {"measures", "macc", "portfolio"} <= set(wb.sheetnames)


# --- the fictional city, failures and markup ---------------------------------------------------

def test_failures_do_not_stop_the_others(batch_runs, hostile_scenarios):
    run = batch_runs["mixed"]
    assert run["code"] == 1
    folder = run["folder"]
    m = _manifest(folder)
    assert m["status"] == "complete with failures"
    by = {s["name"]: s for s in m["scenarios"]}
    assert by["base"]["status"] == "ok" and (folder / "base.html").exists()  # the fictional city
    assert by["markup"]["status"] == "ok" and (folder / "markup.html").exists()
    assert by["broken"]["status"] == "failed" and "no_such_key" in by["broken"]["error"]
    assert by["badset"]["status"] == "failed" and "no_such_factor_set" in by["badset"]["error"]
    assert not (folder / "broken.html").exists() and not (folder / "badset.html").exists()
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "no_such_key" in index and "no_such_factor_set" in index and index.count(">failed<") == 2
    assert "broken.yaml failed" in run["stderr"] and "no_such_key" in run["stderr"]
    assert m["comparison"]["status"] == "ok"


def test_fictional_city_report(batch_runs):
    folder = batch_runs["mixed"]["folder"]
    text = (folder / "base.html").read_text(encoding="utf-8")
    assert "Exempelstad" in text and "EUR" in text
    assert "Landskrona" not in text.split('class="ci-status"')[0]  # the title page
    assert '<html lang="en">' in text and "Proposed decision" in text  # country XX: English


def test_markup_in_titles_and_notes_is_text(batch_runs):
    folder = batch_runs["mixed"]["folder"]
    for page in ("markup.html", "index.html", "comparison.html"):
        text = (folder / page).read_text(encoding="utf-8")
        assert "<script>window.__pwned" not in text, page
        assert "<img src=x" not in text and "<iframe src=" not in text, page
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in text, page
        assert "<b>bold</b>" not in text, page


def test_two_runs_in_a_row_keep_both(tmp_path):
    root = tmp_path / "reports"
    codes = [batch.run_batch([FICTIONAL], out=root, jobs=1, run_id="same", stream=io.StringIO())
             for _ in range(2)]
    assert codes == [0, 0]
    runs = sorted(p.name for p in (root / "2027").iterdir())
    assert runs == ["same", "same-2"]
    for r in runs:
        assert _manifest(root / "2027" / r)["status"] == "complete"
        assert (root / "2027" / r / "base.html").is_file()


def test_default_run_id_is_a_timestamp_and_folders_are_race_free(tmp_path):
    a = batch.new_run_folder(tmp_path)
    b = batch.new_run_folder(tmp_path, a.name)
    assert len(a.name) == 15 and a.name[8] == "-" and b.name == a.name + "-2"
    with pytest.raises(ValueError, match="run id"):
        batch.new_run_folder(tmp_path, "../escape")


def test_exit_codes_by_subprocess(tmp_path, hostile_scenarios):
    cmd = [sys.executable, "-m", "climateinvest.cli", "report"]
    # every file invalid: exit 2, nothing written
    p = subprocess.run(cmd + [str(hostile_scenarios["broken"]), str(tmp_path / "missing.yaml"),
                              "--out", str(tmp_path / "r")], capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 2, p.stderr
    assert "no_such_key" in p.stderr and "file not found" in p.stderr
    assert not (tmp_path / "r").exists()
    # one good, one broken: exit 1, the good one written, the index path printed; a relative
    # --out (as `make run` gives) is taken from the caller's folder, not the workers'
    p = subprocess.run(cmd + [str(FICTIONAL), str(hostile_scenarios["broken"]), "--out", "r"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=600, check=False)
    assert p.returncode == 1, p.stderr
    index = Path(p.stdout.strip().splitlines()[-1])
    assert index.name == "index.html" and (index.parent / "base.html").is_file()
    assert index.is_relative_to(tmp_path / "r")


def test_notebook_failure_is_recorded(tmp_path, monkeypatch):
    """A cell that raises inside the report notebook: the scenario fails with the cell's error."""
    import nbformat

    nbdir = tmp_path / "nb"
    nbdir.mkdir()
    src = batch.notebook_dir()
    for name in (batch.COMPARISON_NOTEBOOK, batch.EXPLORER_NOTEBOOK):
        (nbdir / name).write_bytes((src / name).read_bytes())
    nb = nbformat.read(src / batch.REPORT_NOTEBOOK, as_version=4)
    nb.cells.insert(3, nbformat.v4.new_code_cell('raise RuntimeError("boom <b>in a cell</b>")'))
    nbformat.write(nb, nbdir / batch.REPORT_NOTEBOOK)
    monkeypatch.setenv("CLIMATEINVEST_NOTEBOOKS", str(nbdir))
    code = batch.run_batch([FICTIONAL], out=tmp_path / "r", jobs=1, stream=io.StringIO())
    assert code == 1
    folder = next((tmp_path / "r" / "2027").iterdir())
    s = _manifest(folder)["scenarios"][0]
    assert s["status"] == "failed" and s["error"].startswith("RuntimeError: boom")
    assert "Traceback" in s["traceback"] or "RuntimeError" in s["traceback"]
    assert not (folder / "base.html").exists() and not (folder / "base").exists()
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "boom &lt;b&gt;in a cell&lt;/b&gt;" in index


def test_parameters_reach_the_notebook_as_data():
    """Papermill writes string parameters as escaped literals: a path with quotes stays a path."""
    from papermill.translators import PythonTranslator

    evil = 'a"; import os; os.system("echo pwned"); x="\\'
    code = PythonTranslator.codify({"scenario_path": evil})
    scope: dict = {}
    exec(code, {}, scope)  # noqa: S102 - checking what the kernel would run
    assert scope["scenario_path"] == evil



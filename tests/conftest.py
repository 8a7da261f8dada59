"""Shared fixtures: the expensive batch runs happen once per test session.

``batch_runs`` runs ``climateinvest report`` once on the default cycle (``parameters/2027/*.yaml``,
Landskrona) and once on a mix of good and broken scenarios (the fictional city, a title full of
markup, an unknown key, an unknown factor set); the batch, browser and notebook tests read
those folders. Set ``CLIMATEINVEST_KEEP_REPORTS=1`` to keep them for a look.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CYCLE = ROOT / "parameters" / "2027"
FICTIONAL = ROOT / "parameters" / "exempelstad" / "base.yaml"


def default_cycle_scenarios() -> list[Path]:
    return sorted(DEFAULT_CYCLE.glob("*.yaml"))


@pytest.fixture(scope="session")
def hostile_scenarios(tmp_path_factory) -> dict[str, Path]:
    """Scenario files whose titles and notes carry markup, and a broken one."""
    folder = tmp_path_factory.mktemp("hostile")
    city = _city_of(FICTIONAL)
    hostile = folder / "markup.yaml"
    hostile.write_text(
        "title: 'Budget <script>window.__pwned=1</script> <b>bold</b> & <img src=x onerror=alert(1)>'\n"
        f"city: {json.dumps(str(city))}\n"
        "budget_cycle: 2027\n"
        "price_path: central\nemission_factor_set: location_based\n"
        "investment_budget: {2027: 800000, 2028: 800000, 2029: 800000}\n"
        "target: {year: 2030, reduction: 0.6, base_year: 1990}\n"
        "notes: \"<iframe src='https://example.org'></iframe> notes with <markup>\"\n",
        encoding="utf-8")
    broken = folder / "broken.yaml"
    broken.write_text(f"title: broken\ncity: {json.dumps(str(city))}\nbudget_cycle: 2027\nno_such_key: 1\n",
                      encoding="utf-8")
    badset = folder / "badset.yaml"   # valid keys, but the city has no such factor set
    badset.write_text(f"title: bad factor set\ncity: {json.dumps(str(city))}\nbudget_cycle: 2027\n"
                      "price_path: central\nemission_factor_set: no_such_factor_set\n", encoding="utf-8")
    return {"markup": hostile, "broken": broken, "badset": badset}


def _city_of(scenario: Path) -> Path:
    from climateinvest import load_scenario

    return Path(load_scenario(scenario).city)


def _run(argv: list[str]) -> tuple[int, str, str]:
    import contextlib
    import io

    from climateinvest.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def batch_runs(tmp_path_factory, hostile_scenarios) -> dict:
    """{"default": {...}, "mixed": {...}}: exit code, stdout, stderr, files and run folder of two
    batches (``climateinvest.cli.main``, two worker processes)."""
    root = tmp_path_factory.mktemp("reports")
    runs = {}
    files = [str(p) for p in default_cycle_scenarios()]
    code, out, err = _run(["report", *files, "--out", str(root / "default"), "--jobs", "2"])
    runs["default"] = {"code": code, "stdout": out, "stderr": err, "files": files,
                       "folder": Path(out.strip().splitlines()[-1]).parent if out.strip() else None}
    mixed = [str(FICTIONAL), str(hostile_scenarios["markup"]), str(hostile_scenarios["broken"]),
             str(hostile_scenarios["badset"])]
    code, out, err = _run(["report", *mixed, "--out", str(root / "mixed"), "--jobs", "2"])
    runs["mixed"] = {"code": code, "stdout": out, "stderr": err, "files": mixed,
                     "folder": Path(out.strip().splitlines()[-1]).parent if out.strip() else None}
    yield runs
    if not os.environ.get("CLIMATEINVEST_KEEP_REPORTS"):
        shutil.rmtree(root, ignore_errors=True)


# --- a headless Debian chromium for the browser tests (never a browser download) -----------------

from labdriver import ARGS, CHROMIUM  # noqa: E402 - one chromium and one set of flags for every browser test


@pytest.fixture(scope="module")
def browser():
    """Chromium driven by playwright; fails under CI when chromium is missing, skips locally."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(
                f"chromium not found at {CHROMIUM}: CI must install Debian's chromium (apt-get install chromium)"
            )
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs this test")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()

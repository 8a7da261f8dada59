"""Interrupted batches: Ctrl-C (SIGINT to the process group), SIGTERM, and Ctrl-C pressed twice.

``climateinvest report`` over several scenarios is stopped once the first scenario's report is
finished and the next is running. Then:

- an earlier complete run (made first, same cycle folder) is byte-for-byte untouched;
- the stopped run's manifest says ``incomplete`` and ``interrupted``; its index says so too;
- the report that finished before the signal is whole; nothing of the interrupted scenarios is
  left where a finished report would be; no truncated HTML or XLSX and no temporary file;
- the exit code is 130 (as a shell shows it) with a line on stderr, no traceback;
- no process of the batch (worker, kernel) outlives it.
"""
from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from climateinvest.batch import runner as batch

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "parameters" / "exempelstad" / "base.yaml"
NAMES = ["first", "second", "third", "fourth"]


def small_scenarios(folder: Path) -> list[Path]:
    data = yaml.safe_load(SCENARIO.read_text(encoding="utf-8"))
    data["city"] = str((SCENARIO.parent / data["city"]).resolve())
    data["monte_carlo"] = {"draws": 200, "seed": 7, "reselect_draws": 5}
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, name in enumerate(NAMES):
        s = dict(data, title=f"{data['title']} ({name})", discount_rate=0.03 + 0.001 * i)
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump(s, allow_unicode=True, sort_keys=False), encoding="utf-8")
        out.append(path)
    return out


def snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def earlier(tmp_path_factory) -> dict:
    """A complete run in the reports root, made before the interrupted ones."""
    base = tmp_path_factory.mktemp("interrupt")
    scenarios = small_scenarios(base / "scenarios")
    root = base / "reports"
    code = batch.run_batch(scenarios[:2], out=root, jobs=1, run_id="earlier", stream=io.StringIO())
    assert code == 0
    folder = root / "2027" / "earlier"
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"
    return {"root": root, "folder": folder, "scenarios": scenarios, "snapshot": snapshot(folder)}


def _manifest(folder: Path) -> dict | None:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _group_alive(pgid: int) -> list[str]:
    alive = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if os.getpgid(int(proc.name)) == pgid:
                state = (proc / "stat").read_text().split(")")[-1].split()[0]
                if state != "Z":
                    alive.append(f"{proc.name}: {(proc / 'cmdline').read_bytes()[:120]!r}")
        except (OSError, ValueError, IndexError):
            continue
    return alive


CASES = {
    # name: (signal, to the whole process group (as a terminal's Ctrl-C does), jobs, times)
    "ctrl-c": (signal.SIGINT, True, 2, 1),       # `make run` uses --jobs 2
    "sigterm": (signal.SIGTERM, False, 1, 1),    # kill PID; a scheduler's timeout
    "ctrl-c-twice": (signal.SIGINT, True, 2, 2),  # an impatient user
}


@pytest.mark.parametrize("case", list(CASES))
def test_interrupted_batch_leaves_nothing_half_done(earlier, case):
    sig, group, jobs, times = CASES[case]
    run_id = f"stopped-{case}"
    folder = earlier["root"] / "2027" / run_id
    proc = subprocess.Popen(
        [sys.executable, "-m", "climateinvest.cli", "report", *map(str, earlier["scenarios"]),
         "--out", str(earlier["root"]), "--run-id", run_id, "--jobs", str(jobs)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        # Wait until one report is finished and recorded and another one is running.
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and proc.poll() is None:
            m = _manifest(folder)
            if m and any(s["status"] == "ok" for s in m["scenarios"]):
                break
            time.sleep(0.1)
        m = _manifest(folder)
        assert proc.poll() is None, "the batch ended before it could be interrupted"
        assert m and [s["status"] for s in m["scenarios"]].count("ok") < len(NAMES)
        for _ in range(times):
            if group:
                os.killpg(proc.pid, sig)
            else:
                proc.send_signal(sig)
            time.sleep(0.3)
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()

    # the exit: non-zero, said in a line, no traceback
    # 130, or death by the signal itself when it arrives as the interpreter exits (a shell shows
    # both as 130)
    assert proc.returncode in (130, -sig), (proc.returncode, err)
    assert "Traceback" not in err and "Traceback" not in out, \
        f"a traceback reached the user (worker processes must not print one):\n{err}"
    assert "interrupted" in err

    # the earlier run is untouched, byte for byte (and not even rewritten)
    assert snapshot(earlier["folder"]) == earlier["snapshot"]

    # the stopped run says so
    m = _manifest(folder)
    assert m is not None, "manifest.json missing or unreadable"
    assert m["status"] == "incomplete" and m["interrupted"] is True, m["status"]
    statuses = {s["name"]: s["status"] for s in m["scenarios"]}
    assert "ok" in statuses.values()
    assert not all(v == "ok" for v in statuses.values())
    assert m["comparison"] in (None, {"status": "running"}) or m["comparison"].get("status") != "ok"
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert "<dt>Status</dt><dd>incomplete</dd>" in index
    assert not (folder / "comparison.html").exists()

    # finished reports are whole; nothing of the others poses as finished
    for name, status in statuses.items():
        parts = [folder / f"{name}.html", folder / f"{name}.xlsx", folder / name]
        if status == "ok":
            assert all(p.exists() for p in parts), name
            assert (folder / name / "manifest.json").is_file()
        else:
            assert not any(p.exists() for p in parts), (name, status, [p.name for p in parts if p.exists()])

    # no truncated page or workbook, no temporary file, anywhere under the reports root
    for page in earlier["root"].rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert text.rstrip().endswith("</html>"), f"{page} is truncated"
    for book in earlier["root"].rglob("*.xlsx"):
        with zipfile.ZipFile(book) as z:
            assert z.testzip() is None, f"{book} is damaged"
    leftovers = [str(p.relative_to(earlier["root"])) for p in earlier["root"].rglob("*")
                 if p.name.endswith((".part", ".tmp")) or ".partial" in p.name]
    assert leftovers == []

    # nothing of the batch keeps running (workers, kernels)
    deadline = time.monotonic() + 20
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert _group_alive(proc.pid) == []

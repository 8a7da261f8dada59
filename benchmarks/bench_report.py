"""Benchmark: the default cycle's reports with one and two workers, notebook-stack import times
with and without JupyterLab, and the cost of re-solving the selection per Monte Carlo draw.

    .venv/bin/python benchmarks/bench_report.py [--cycle 2027] [--jobs 1 2] [--milp-draws 3]

1. ``climateinvest report parameters/<cycle>/*.yaml --jobs N --out <temp dir>`` in a subprocess,
   wall-clock, for each N in ``--jobs`` (setup — the virtual environment and the kernel — is not
   timed; the first run also warms the disk cache, so it is run once untimed first unless
   ``--no-warm-up``).
2. Import time of ``nbformat``, ``papermill`` and ``nbconvert`` (a fresh interpreter per import,
   best of ``--repeat``) in ``.venv`` and, if it exists, in ``.venv-lab``, the separate
   JupyterLab environment ``make lab`` creates. JupyterLab pulls ``rfc3987-syntax`` into
   jsonschema's format checks, which makes every nbformat import (so every papermill notebook
   start and every nbconvert export) about 3× slower (docs/architecture.md section 7); the script says
   whether each environment has jupyterlab / rfc3987_syntax installed.
3. Selection frequency on the first scenario of the cycle: the vectorised greedy over all
   ``reselect_draws`` against the MILP (``portfolio.select_portfolio`` per draw) on
   ``--milp-draws`` draws, seconds per draw.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMPORTS = ("nbformat", "papermill", "nbconvert")


def python_of(venv: Path) -> Path | None:
    exe = venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")
    return exe if exe.exists() else None


def import_seconds(python: Path, module: str, repeat: int) -> float:
    """Best wall-clock seconds of ``python -c "import module"`` (a fresh interpreter each time)
    minus the bare interpreter start."""
    def run(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([str(python), "-c", code], check=True, capture_output=True)
        return time.perf_counter() - t0

    bare = min(run("pass") for _ in range(repeat))
    return max(0.0, min(run(f"import {module}") for _ in range(repeat)) - bare)


def has(python: Path, module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([str(python), "-c", code], check=False, capture_output=True).returncode == 0


def time_report(python: Path, scenarios: list[str], jobs: int, out: Path) -> tuple[float, int]:
    cmd = [str(python), "-m", "climateinvest.cli", "report", *scenarios, "--jobs", str(jobs),
           "--out", str(out), "--run-id", f"jobs{jobs}-{time.time_ns()}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, check=False, cwd=ROOT, capture_output=True, text=True)
    return time.perf_counter() - t0, proc.returncode


def reselection_cost(scenario_file: str, milp_draws: int) -> dict:
    import warnings

    import climateinvest as ci
    from climateinvest.uncertainty import analysis as U

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = ci.run_scenario(scenario_file)
    sc, city, flows = result.scenario, result.city, result.flows
    mc = sc.monte_carlo
    k = U.sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, mc.draws, mc.seed)
    _, greedy = U.selection_frequency(city, sc, flows, k, mc.reselect_draws, "greedy")
    out = {"greedy_draws": greedy["draws"], "greedy_s": greedy["seconds"]}
    if milp_draws > 0:
        _, milp = U.selection_frequency(city, sc, flows, k, milp_draws, "milp")
        out |= {"milp_draws": milp["draws"], "milp_s_per_draw": milp["seconds_per_draw"],
                "milp_s_for_reselect_draws": milp["seconds_per_draw"] * mc.reselect_draws,
                "reselect_draws": mc.reselect_draws}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cycle", default="2027")
    ap.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--milp-draws", type=int, default=3, help="MILP re-solves to time (0 = skip)")
    ap.add_argument("--no-warm-up", action="store_true")
    ap.add_argument("--skip-reports", action="store_true")
    ap.add_argument("--venv", action="append", default=[],
                    help="another environment whose import times to measure (repeatable), e.g. a "
                         "scratch venv with and one without jupyterlab")
    a = ap.parse_args(argv)

    py = python_of(ROOT / ".venv") or Path(sys.executable)
    print(f"interpreter: {py}")
    envs = [(".venv", ROOT / ".venv"), (".venv-lab", ROOT / ".venv-lab")]
    envs += [(str(v), Path(v)) for v in a.venv]
    for name, venv in envs:
        exe = python_of(venv)
        if exe is None:
            print(f"{name}: not present" + ("  (created by `make lab`)" if name == ".venv-lab" else ""))
            continue
        flags = ", ".join(f"{m} {'yes' if has(exe, m) else 'no'}" for m in ("jupyterlab", "rfc3987_syntax"))
        times = ", ".join(f"{m} {import_seconds(exe, m, a.repeat):.2f} s" for m in IMPORTS)
        print(f"{name}: {flags}; import {times}")

    if not a.skip_reports:
        scenarios = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "parameters" / a.cycle).glob("*.yaml"))
        if not scenarios:
            print(f"no scenarios in parameters/{a.cycle}")
            return 1
        print(f"climateinvest report parameters/{a.cycle}/*.yaml ({len(scenarios)} scenarios)")
        with tempfile.TemporaryDirectory() as tmp:
            if not a.no_warm_up:
                t, rc = time_report(py, scenarios, max(a.jobs), Path(tmp))
                print(f"  warm-up, --jobs {max(a.jobs)}: {t:6.1f} s (exit {rc}, not counted)")
            for jobs in a.jobs:
                t, rc = time_report(py, scenarios, jobs, Path(tmp))
                print(f"  --jobs {jobs}: {t:6.1f} s (exit {rc}){'   target < 60 s' if jobs == 2 else ''}")

    if a.milp_draws >= 0:
        first = sorted((ROOT / "parameters" / a.cycle).glob("*.yaml"))
        if first:
            r = reselection_cost(str(first[0]), a.milp_draws)
            print(f"selection frequency on {first[0].name}: greedy {r['greedy_draws']} draws in "
                  f"{r['greedy_s'] * 1000:.1f} ms", end="")
            if "milp_s_per_draw" in r:
                print(f"; MILP {r['milp_s_per_draw']:.2f} s per draw (timed on {r['milp_draws']}), "
                      f"{r['milp_s_for_reselect_draws'] / 60:.1f} min for {r['reselect_draws']} draws")
            else:
                print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

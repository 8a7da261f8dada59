"""``climateinvest report``: scenario reports, a comparison, an index and a manifest per run.

Layout of one run (a new folder every time; nothing earlier is ever overwritten)::

    <out>/<cycle>/<run id>/
        index.html          status, key figures and links per scenario (no script needed)
        manifest.json       inputs with SHA-256, parameters, versions, timings, status, errors
        comparison.html     the scenarios side by side (when at least two succeeded)
        <name>.html         one self-contained report per scenario (<name> = file name stem)
        <name>.xlsx         its result tables, one sheet per table
        <name>/             the same tables as CSV and the result's own manifest.json

``<cycle>`` is the scenarios' ``budget_cycle``, or ``mixed`` when they span several cycles. The
run id is the start time ``YYYYmmdd-HHMMSS`` (or ``--run-id``), with ``-2``, ``-3`` … appended
when that folder exists; the folder is created with ``exist_ok=False``, so two batches started in
the same second still get a folder each.

Order of work
-------------
1. Every scenario file is validated first (scenario keys, its city, prices and factors). A file
   that is missing or invalid is recorded as failed with the problems listed; the others go on.
   If *every* file is invalid nothing is written and the exit code is 2 (invalid input).
2. ``manifest.json`` is written at once with ``"status": "incomplete"`` and rewritten after each
   scenario; only the end of the batch writes ``complete`` or ``complete with failures``. A
   batch stopped by Ctrl-C or SIGTERM leaves ``incomplete`` (and ``"interrupted": true``).
3. Each scenario runs ``notebooks/scenario_report.ipynb`` under papermill in a worker process
   (``--jobs``). Parameters reach the notebook as data: the scenario *file path*, the folder to
   save the tables to and the date, all strings. The notebook computes and saves the tables into
   a hidden folder that is renamed into place only when the report has been exported, and every
   file is written atomically: no half-written file ever poses as a finished report.
4. The comparison notebook runs over the scenarios that succeeded, reading their saved tables.

Modules: this one orders the work and handles interrupts; ``batch_worker`` executes one notebook
into one page (in a worker process with ``--jobs``); ``batch_index`` keeps ``manifest.json`` and
``index.html``.

Exit code: 0 all ok; 1 some scenario (or the comparison) failed, the others are still written;
2 every scenario file was invalid; 130 interrupted.
"""
from __future__ import annotations

import datetime as _dt
import multiprocessing
import os
import re
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from multiprocessing import connection as mp_connection
from pathlib import Path

from climateinvest.batch.index import Run, saved_summary
from climateinvest.batch.worker import (
    compare_all,
    discard_partial,
    remove_outputs,
    report_one,
    worker_main,
)
from climateinvest.io.files import check_output, sha256_file

EXIT_OK, EXIT_FAILED, EXIT_INVALID = 0, 1, 2
REPORT_NOTEBOOK = "scenario_report.ipynb"
COMPARISON_NOTEBOOK = "scenario_comparison.ipynb"
EXPLORER_NOTEBOOK = "explorer.ipynb"


# ---------------------------------------------------------------------------------------------
# Where the notebooks are


def notebook_dir() -> Path:
    """The folder of the notebooks: ``$CLIMATEINVEST_NOTEBOOKS``, else the package's
    ``climateinvest/report/notebooks`` (package data; in the source tree a link to ``notebooks/``),
    else the source tree's ``notebooks/``.
    """
    candidates = []
    if os.environ.get("CLIMATEINVEST_NOTEBOOKS"):
        candidates.append(Path(os.environ["CLIMATEINVEST_NOTEBOOKS"]))
    package = Path(__file__).resolve().parent.parent
    candidates += [package / "report" / "notebooks", package.parent / "notebooks"]
    for c in candidates:
        if (c / REPORT_NOTEBOOK).is_file():
            return c
    raise FileNotFoundError(f"{REPORT_NOTEBOOK} not found in: " + ", ".join(str(c) for c in candidates))


def notebook_path(name: str) -> Path:
    """The path of the notebook called ``name`` in :func:`notebook_dir`."""
    return notebook_dir() / name


# ---------------------------------------------------------------------------------------------
# Names and folders


RESERVED = {"index", "manifest", "comparison"}  # names of the run's own files


def _slug(stem: str) -> str:
    """Letters, digits, ``_`` and ``-`` only (no dots: ``base.html.yaml`` must not give a folder
    ``base.html`` beside another scenario's report ``base.html``), at most 80 characters.
    """
    s = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "scenario"
    return s[:80]


def unique_names(paths: list[Path]) -> list[str]:
    """The output name of each scenario file, one rule for the whole batch: the slug of the file
    name without its extension; ``scenario-`` before a name of the run's own files; on a clash
    (compared without case, as on Windows and macOS) ``-2``, ``-3`` …, the first number whose
    name is still free and no other file asks for, so no name is ever given twice
    (``a/base.yaml``, ``b/base.yaml`` and ``c/base-2.yaml`` give ``base``, ``base-3`` and
    ``base-2``). Stable: the same files in the same order give the same names.
    """
    bases = []
    for p in paths:
        base = _slug(p.stem)
        bases.append(f"scenario-{base}" if base.lower() in RESERVED else base)
    taken = {b.lower() for b in bases}  # a name a file asks for itself is kept for that file
    out, given = [], set()
    for base in bases:
        name, n = base, 1
        while name.lower() in given or (n > 1 and name.lower() in taken):
            n += 1
            name = f"{base}-{n}"
        given.add(name.lower())
        out.append(name)
    return out


def new_run_folder(root: Path, run_id: str | None = None) -> Path:
    """Create ``root/<run id>`` race-free (``mkdir(exist_ok=False)``), suffixing ``-2``, ``-3`` … when taken."""
    root.mkdir(parents=True, exist_ok=True)
    base = run_id or _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", base) or base in (".", ".."):
        raise ValueError(f"run id {base!r}: use letters, digits, '_', '-' and '.' only")
    for i in range(1, 10_000):
        folder = root / (base if i == 1 else f"{base}-{i}")
        try:
            folder.mkdir(exist_ok=False)
            return folder
        except FileExistsError:
            continue
    raise RuntimeError(f"no free run folder under {root}")


# ---------------------------------------------------------------------------------------------
# Validation (main process)


def validate(path: Path, cities: dict) -> tuple[object | None, str | None]:
    """(scenario, None) if ``path`` is a valid scenario with a valid city, else (None, problems)."""
    from climateinvest.io.city import check_scenario, load_city
    from climateinvest.io.errors import ValidationError
    from climateinvest.io.scenario import load_scenario

    try:
        scenario = load_scenario(path)
        key = str(scenario.city)
        if key not in cities:
            try:
                cities[key] = load_city(scenario.city)
            except ValidationError as e:
                cities[key] = e
        city = cities[key]
        if isinstance(city, Exception):
            raise city
        check_scenario(city, scenario)  # every check a run makes
        return scenario, None
    except ValidationError as e:
        return None, "invalid input: " + e.report()
    except Exception as e:  # noqa: BLE001 - recorded with the scenario, the batch goes on
        return None, f"invalid input: {type(e).__name__}: {e}"


# ---------------------------------------------------------------------------------------------
# The batch


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@contextmanager
def _sigterm_as_interrupt():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _progress(i: int, n: int, label: str, rec: dict, stream) -> None:
    status = rec["status"]
    msg = f"[{i}/{n}] {label} {status} {rec.get('seconds') or 0:.1f} s"
    if status != "ok" and rec.get("error"):
        msg += ": " + " ".join(line.strip() for line in rec["error"].splitlines())[:300]
    print(msg, file=stream, flush=True)


def run_batch(scenarios, out: str | Path = "reports", jobs: int = 1, run_id: str | None = None, *,
              stream=None, timeout: float | None = None, lang: str | None = None, pdf: bool = False) -> int:
    """Reports for ``scenarios`` (scenario file paths) in a new run folder under ``out``.

    Prints one progress line per scenario to ``stream`` (stderr) and the path of ``index.html``
    on stdout. ``timeout`` [s] limits each notebook cell (default ``CELL_TIMEOUT_S``). Returns the
    exit code (module docstring). ``lang`` ("sv", "en") is the language of every report (default:
    each scenario's ``language``, else Swedish for a Swedish city); ``pdf`` also prints each
    report to a PDF beside it where Chromium is available.
    """
    from climateinvest.io.output_columns import default_language

    stream = stream or sys.stderr
    paths = [Path(p) for p in scenarios]
    jobs = max(1, int(jobs or 1))
    cities: dict = {}
    checked = [(p, *validate(p, cities)) for p in paths]
    valid = [(p, s) for p, s, err in checked if s is not None]
    if not valid:
        for p, _, err in checked:
            print(f"{p}: {err}", file=stream)
        return EXIT_INVALID

    cycles = sorted({s.budget_cycle for _, s in valid})
    cycle = str(cycles[0]) if len(cycles) == 1 else "mixed"
    # never into an input folder, nor over an input (ValidationError: exit 2, nothing written)
    root = check_output(out, [*(p for p, _ in valid), *(s.city for _, s in valid)])
    folder = new_run_folder(root / cycle, run_id)  # workers run elsewhere
    run = Run(folder, cycle, jobs, [str(p) for p in paths])
    date = _dt.date.today().isoformat()
    names = unique_names(paths)
    report_nb = notebook_path(REPORT_NOTEBOOK)
    tasks = []
    for (p, s, err), name in zip(checked, names, strict=True):
        rec = {"file": str(p), "name": name, "title": s.title if s else None,
               "sha256": sha256_file(p) if p.is_file() else None,
               "parameters": s.model_dump(mode="json") if s else None,
               "status": "pending" if s else "failed", "error": err, "traceback": None,
               "inputs_sha256": None, "summary": None, "timings_s": None, "seconds": None,
               "warnings": [], "outputs": {}}
        run.scenarios.append(rec)
        if s is not None:
            city = cities[str(s.city)]
            tasks.append({"run_folder": str(folder), "name": name, "notebook": str(report_nb),
                          "scenario_path": str(p.resolve()), "date": date, "timeout": timeout,
                          "language": default_language(lang or s.language, city.country),
                          "title": f"{s.title} — {city.name}, klimatinvesteringsplan {s.budget_cycle}",
                          "footer": f"{city.name} · budget {s.budget_cycle} · {s.title} · {date}"})
    run.write()
    n = len(paths)
    done = 0
    for rec in run.scenarios:
        if rec["status"] == "failed":
            done += 1
            failed = {"status": "failed", "seconds": 0, "error": rec["error"]}
            _progress(done, n, Path(rec["file"]).name, failed, stream)
    by_name = {r["name"]: r for r in run.scenarios}

    def record(result: dict) -> None:
        nonlocal done
        rec = by_name[result["name"]]
        rec.update({k: result[k] for k in ("status", "error", "traceback", "warnings", "outputs", "seconds")})
        if result["status"] == "ok":
            saved = saved_summary(folder / rec["name"])
            rec["inputs_sha256"] = saved.get("inputs_sha256")
            rec["summary"] = saved.get("summary")
            rec["timings_s"] = saved.get("timings_s")
        done += 1
        _progress(done, n, Path(rec["file"]).name, rec, stream)
        run.write()

    pool = None
    try:
        with _sigterm_as_interrupt():
            if jobs == 1 or len(tasks) <= 1:
                for task in tasks:
                    by_name[task["name"]]["status"] = "running"
                    record(report_one(task))
            else:
                pool = Pool(min(jobs, len(tasks)))
                pool.run(tasks, lambda t: by_name[t["name"]].update(status="running"), record)
                pool = None

            ok = [r for r in run.scenarios if r["status"] == "ok"]
            if len(ok) >= 2:
                run.data["comparison"] = {"status": "running"}
                run.write()
                comp = compare_all(
                    {
                        "run_folder": str(folder),
                        "notebook": str(notebook_path(COMPARISON_NOTEBOOK)),
                        "folders": [str(folder / r["name"]) for r in ok],
                        "date": date,
                        "language": next(tk["language"] for tk in tasks if tk["name"] == ok[0]["name"]),
                        "title": f"Scenario comparison — budget {cycle}",
                        "footer": f"Scenario comparison · budget {cycle} · {date}",
                    }
                )
                comp["scenarios"] = [r["name"] for r in ok]
                run.data["comparison"] = comp
                print(
                    f"comparison {comp['status']} {comp['seconds']:.1f} s"
                    + (f": {comp['error']}" if comp.get("error") else ""),
                    file=stream,
                    flush=True,
                )
            else:
                run.data["comparison"] = {"status": "skipped: fewer than two scenarios succeeded"}
    except KeyboardInterrupt:
        with _signals_ignored():
            if pool is not None:
                pool.stop()
            _reconcile(folder, run)
            run.finish(interrupted=True)
        print(f"interrupted; partial run recorded in {folder / 'manifest.json'}", file=stream, flush=True)
        raise
    run.finish()
    if pdf:
        from climateinvest.report.html_export import write_pdfs

        for line in write_pdfs(sorted(p for p in folder.glob("*.html") if p.name != "index.html")):
            print(line, file=stream, flush=True)
    print(folder / "index.html")
    return EXIT_OK if run.data["status"] == "complete" else EXIT_FAILED


GRACE_S = 10.0  # after an interrupt, further Ctrl-C / SIGTERM are ignored this long (clean exit)


@contextmanager
def _signals_ignored():
    """Let the clean-up after an interrupt, and the exit after it, finish even if Ctrl-C is
    pressed again: signals are ignored during the clean-up and for ``GRACE_S`` seconds after it;
    later ones get their usual handling back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = (signal.SIGINT, signal.SIGTERM)
    old = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        until = time.monotonic() + GRACE_S

        def grace(signum, frame):
            if time.monotonic() < until:
                return
            previous = old.get(signum, signal.SIG_DFL)
            signal.signal(signum, previous)
            if callable(previous):
                previous(signum, frame)
            elif previous == signal.SIG_DFL:
                os.kill(os.getpid(), signum)

        for sig in sigs:
            signal.signal(sig, grace)


def _reconcile(folder: Path, run: Run) -> None:
    """After an interrupt: a scenario whose report is in place finished (its record may not have
    arrived); of any other, remove what an unfinished move left, and every hidden partial.
    """
    for partial in folder.glob(".*.partial*"):
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
    for rec in run.scenarios:
        if rec["status"] in ("ok", "failed"):
            continue
        name = rec["name"]
        if (folder / f"{name}.html").is_file() and (folder / name / "manifest.json").is_file():
            saved = saved_summary(folder / name)
            rec.update(
                status="ok",
                inputs_sha256=saved.get("inputs_sha256"),
                summary=saved.get("summary"),
                timings_s=saved.get("timings_s"),
                outputs={"html": f"{name}.html", "tables": f"{name}/"}
                | ({"xlsx": f"{name}.xlsx"} if (folder / f"{name}.xlsx").is_file() else {}),
            )
        else:
            remove_outputs(folder, name)


class Pool:
    """Worker processes (spawned), one per scenario, at most ``jobs`` at a time.

    A worker that dies without a result (killed by a signal: the out-of-memory killer sends
    SIGKILL) fails its scenario with the signal named, its partial files removed; the other
    scenarios go on. Workers die with this process (``worker.worker_init``).
    """

    def __init__(self, jobs: int):
        self.jobs = jobs
        self.running: dict = {}  # result connection -> (process, task)

    def run(self, tasks: list[dict], started, record) -> None:
        """Run every task; ``started(task)`` when its worker starts, ``record(result)`` when it ends."""
        ctx = multiprocessing.get_context("spawn")
        pending = list(tasks)
        while pending or self.running:
            while pending and len(self.running) < self.jobs:
                task = pending.pop(0)
                recv, send = ctx.Pipe(duplex=False)
                proc = ctx.Process(target=worker_main, args=(task, send, os.getpid()), daemon=True)
                proc.start()
                send.close()  # the worker's end: EOF here when the worker is gone
                self.running[recv] = (proc, task)
                started(task)
            for conn in mp_connection.wait(list(self.running)):
                proc, task = self.running.pop(conn)
                try:
                    result = conn.recv()
                except (EOFError, OSError):
                    result = None
                conn.close()
                proc.join()
                record(result if result is not None else died(task, proc.exitcode))

    def stop(self) -> None:
        """Stop the workers (each stops its kernel on SIGTERM), killing any left after 10 s."""
        procs = [proc for proc, _ in self.running.values()]
        for p in procs:
            if p.is_alive():
                p.terminate()
        deadline = time.monotonic() + 10
        for p in procs:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()


def died(task: dict, exitcode: int | None) -> dict:
    """The failed record of a scenario whose worker ended without a result (partials removed)."""
    if exitcode is not None and exitcode < 0:
        try:
            sig = signal.Signals(-exitcode).name
        except ValueError:
            sig = f"signal {-exitcode}"
        why = (f"the worker process was killed by {sig} ({-exitcode})"
               + (" — the system's out-of-memory killer does this when memory runs out" if -exitcode == 9 else ""))
    else:
        why = f"the worker process ended with exit code {exitcode} without a result"
    discard_partial(Path(task["run_folder"]), task["name"])
    return {"name": task["name"], "status": "failed", "error": why, "traceback": None,
            "warnings": [], "outputs": {}, "seconds": None}

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
import os
import re
import shutil
import signal
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from climateinvest.batch.index import Run, saved_summary
from climateinvest.batch.worker import remove_outputs
from climateinvest.io.files import check_output, sha256_file
from climateinvest.io.output_columns import default_language

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


def check_batch(scenarios, cities: dict | None = None) -> list[tuple[Path, object | None, str | None]]:
    """(path, scenario or None, problems or None) of every scenario file, validated as a run would."""
    cities = {} if cities is None else cities
    return [(Path(p), *validate(Path(p), cities)) for p in scenarios]


class BatchRun:
    """One run folder of scenario reports: its manifest (``index.Run``), its tasks and the records
    that come back, whichever engine runs the tasks.

    ``checked`` is :func:`check_batch`'s list (at least one valid file); ``folder`` the new run
    folder. ``label`` goes before each progress line (the city, in a synthesis). ``lang`` ("sv",
    "en") is every report's language (default: each scenario's ``language``, else Swedish for a
    Swedish city).
    """

    def __init__(self, folder: Path, checked: list, cities: dict, *, jobs: int, engine: dict,
                 stream, timeout: float | None = None, label: str = "", lang: str | None = None):
        valid = [s for _, s, _ in checked if s is not None]
        cycles = sorted({s.budget_cycle for s in valid})
        self.cycle = str(cycles[0]) if len(cycles) == 1 else "mixed"
        self.folder, self.stream, self.label = folder, stream, label
        self.run = Run(folder, self.cycle, jobs, [str(p) for p, _, _ in checked])
        self.run.data["engine"] = engine
        self.date = _dt.date.today().isoformat()
        self.tasks: list[dict] = []
        report_nb = notebook_path(REPORT_NOTEBOOK)
        for (p, s, err), name in zip(checked, unique_names([p for p, _, _ in checked]), strict=True):
            rec = {"file": str(p), "name": name, "title": s.title if s else None,
                   "sha256": sha256_file(p) if p.is_file() else None,
                   "parameters": s.model_dump(mode="json") if s else None,
                   "status": "pending" if s else "failed", "error": err, "traceback": None,
                   "inputs_sha256": None, "summary": None, "timings_s": None, "seconds": None,
                   "warnings": [], "outputs": {}}
            self.run.scenarios.append(rec)
            if s is not None:
                city = cities[str(s.city)]
                self.tasks.append({"kind": "report", "run_folder": str(folder), "name": name,
                                   "notebook": str(report_nb), "scenario_path": str(p.resolve()),
                                   "date": self.date, "timeout": timeout,
                                   "language": default_language(lang or s.language, city.country),
                                   "title": f"{s.title} — {city.name}, klimatinvesteringsplan {s.budget_cycle}",
                                   "footer": f"{city.name} · budget {s.budget_cycle} · {s.title} · {self.date}"})
        self.by_name = {r["name"]: r for r in self.run.scenarios}
        self.n, self.done = len(checked), 0
        self.run.write()
        for rec in self.run.scenarios:
            if rec["status"] == "failed":
                self.done += 1
                _progress(self.done, self.n, self._label(rec),
                          {"status": "failed", "seconds": 0, "error": rec["error"]}, stream)

    def _label(self, rec: dict) -> str:
        return f"{self.label}{Path(rec['file']).name}"

    def record(self, task: dict, result: dict) -> None:
        """Take one scenario's record back from its task; rewrite the manifest."""
        rec = self.by_name[result["name"]]
        rec.update({k: result[k] for k in ("status", "error", "traceback", "warnings", "outputs", "seconds")})
        if result["status"] == "ok":
            saved = saved_summary(self.folder / rec["name"])
            rec["inputs_sha256"] = saved.get("inputs_sha256")
            rec["summary"] = saved.get("summary")
            rec["timings_s"] = saved.get("timings_s")
        self.done += 1
        _progress(self.done, self.n, self._label(rec), rec, self.stream)
        self.run.write()

    def comparison_task(self) -> dict | None:
        """The comparison's task when at least two scenarios succeeded (else None, recorded as skipped)."""
        ok = [r for r in self.run.scenarios if r["status"] == "ok"]
        if len(ok) < 2:
            self.run.data["comparison"] = {"status": "skipped: fewer than two scenarios succeeded"}
            return None
        self.run.data["comparison"] = {"status": "running"}
        self.run.write()
        language = next(t["language"] for t in self.tasks if t["name"] == ok[0]["name"])
        return {"kind": "compare", "name": "comparison", "run_folder": str(self.folder),
                "notebook": str(notebook_path(COMPARISON_NOTEBOOK)),
                "folders": [str(self.folder / r["name"]) for r in ok], "scenarios": [r["name"] for r in ok],
                "date": self.date, "language": language, "title": f"Scenario comparison — budget {self.cycle}",
                "footer": f"Scenario comparison · budget {self.cycle} · {self.date}"}

    def record_comparison(self, comp: dict, scenarios: list[str]) -> None:
        """Take the comparison's record back; say it on the progress stream."""
        comp = {k: v for k, v in comp.items() if k != "name"} | {"scenarios": scenarios}
        self.run.data["comparison"] = comp
        print(f"{self.label}comparison {comp['status']} {comp['seconds'] or 0:.1f} s"
              + (f": {comp['error']}" if comp.get("error") else ""), file=self.stream, flush=True)
        self.run.write()

    def interrupted(self) -> None:
        """After an interrupt (every task stopped): reconcile the folder, mark the run incomplete."""
        _reconcile(self.folder, self.run)
        self.run.finish(interrupted=True)

    def finish(self) -> int:
        """Stamp the run complete (with failures or not); the exit code."""
        self.run.finish()
        return EXIT_OK if self.run.data["status"] == "complete" else EXIT_FAILED


def run_comparisons(engine, batches: list[BatchRun]) -> None:
    """Each batch's comparison (where two scenarios succeeded), all on ``engine`` at once."""
    tasks = [(b, t) for b in batches if (t := b.comparison_task()) is not None]
    owner = {id(t): b for b, t in tasks}
    engine.run([t for _, t in tasks], lambda task, comp: owner[id(task)].record_comparison(comp, task["scenarios"]))


def run_batch(scenarios, out: str | Path = "reports", jobs: int = 1, run_id: str | None = None, *,
              stream=None, timeout: float | None = None, scheduler: str | None = None,
              lang: str | None = None, pdf: bool = False) -> int:
    """Reports for ``scenarios`` (scenario file paths) in a new run folder under ``out``.

    The notebooks run on Dask (``batch.engine``): a ``LocalCluster`` of ``jobs`` worker processes
    on 127.0.0.1, or the running cluster at ``scheduler`` (``tcp://host:8786``);
    ``scheduler="in-process"`` runs them here, one after another. Prints one progress line per
    scenario to ``stream`` (stderr) and the path of ``index.html`` on stdout. ``timeout`` [s]
    limits each notebook cell (default ``CELL_TIMEOUT_S``). Returns the exit code (module docstring).
    ``lang`` ("sv", "en") is the language of every report (default: each scenario's ``language``,
    else Swedish for a Swedish city); ``pdf`` also prints each report to a PDF beside it where
    Chromium is available.
    """
    from climateinvest.batch.engine import describe, make_engine

    stream = stream or sys.stderr
    jobs = max(1, int(jobs or 1))
    cities: dict = {}
    checked = check_batch(scenarios, cities)
    valid = [(p, s) for p, s, err in checked if s is not None]
    if not valid:
        for p, _, err in checked:
            print(f"{p}: {err}", file=stream)
        return EXIT_INVALID
    cycles = sorted({s.budget_cycle for _, s in valid})
    cycle = str(cycles[0]) if len(cycles) == 1 else "mixed"
    # never into an input folder, nor over an input (ValidationError: exit 2, nothing written)
    root = check_output(out, [*(p for p, _ in valid), *(s.city for _, s in valid)])
    engine = make_engine(jobs, scheduler)
    folder = new_run_folder(root / cycle, run_id)  # workers run elsewhere
    batch = None
    try:
        with _sigterm_as_interrupt():
            batch = BatchRun(folder, checked, cities, jobs=jobs, engine=describe(jobs, scheduler),
                             stream=stream, timeout=timeout, lang=lang)
            with engine:
                engine.run(batch.tasks, batch.record)
                run_comparisons(engine, [batch])
    except KeyboardInterrupt:
        with _signals_ignored():
            engine.stop()
            if batch is not None:
                batch.interrupted()
        print(f"interrupted; partial run recorded in {folder / 'manifest.json'}", file=stream, flush=True)
        raise
    code = batch.finish()
    if pdf:
        from climateinvest.report.html_export import write_pdfs

        for line in write_pdfs(sorted(p for p in folder.glob("*.html") if p.name != "index.html")):
            print(line, file=stream, flush=True)
    print(folder / "index.html")
    return code


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

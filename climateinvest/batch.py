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

Exit code: 0 all ok; 1 some scenario (or the comparison) failed, the others are still written;
2 every scenario file was invalid; 130 interrupted.
"""
from __future__ import annotations

import concurrent.futures as cf
import datetime as _dt
import html
import json
import multiprocessing
import os
import platform
import re
import shutil
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from pathlib import Path

from .files import atomic_write_text, sha256_file

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_INTERRUPTED = 0, 1, 2, 130
REPORT_NOTEBOOK = "scenario_report.ipynb"
COMPARISON_NOTEBOOK = "scenario_comparison.ipynb"
EXPLORER_NOTEBOOK = "explorer.ipynb"
KERNEL = "python3"
CELL_TIMEOUT_S = 3600  # a cell that runs longer is stopped and its scenario fails (no batch hangs)
VERSIONED = ("climateinvest", "numpy", "pandas", "scipy", "plotly", "papermill", "nbconvert",
             "nbformat", "ipykernel", "pydantic", "openpyxl")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


# ---------------------------------------------------------------------------------------------
# Where the notebooks are


def notebook_dir() -> Path:
    """The folder of the notebooks: ``$CLIMATEINVEST_NOTEBOOKS``, else ``climateinvest/notebooks``
    (an installed package ships them as package data), else the source tree's ``notebooks/``."""
    candidates = []
    if os.environ.get("CLIMATEINVEST_NOTEBOOKS"):
        candidates.append(Path(os.environ["CLIMATEINVEST_NOTEBOOKS"]))
    here = Path(__file__).resolve().parent
    candidates += [here / "notebooks", here.parent / "notebooks"]
    for c in candidates:
        if (c / REPORT_NOTEBOOK).is_file():
            return c
    raise FileNotFoundError(f"{REPORT_NOTEBOOK} not found in: " + ", ".join(str(c) for c in candidates))


def notebook_path(name: str) -> Path:
    return notebook_dir() / name


# ---------------------------------------------------------------------------------------------
# Small helpers


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def _slug(stem: str) -> str:
    s = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem).strip("-.") or "scenario"
    return s[:80]


def _unique_names(paths: list[Path]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        base = _slug(p.stem)
        if base.lower() in {"index", "manifest", "comparison"}:
            base = f"scenario-{base}"
        n = seen.get(base.lower(), 0) + 1
        seen[base.lower()] = n
        out.append(base if n == 1 else f"{base}-{n}")
    return out


def new_run_folder(root: Path, run_id: str | None = None) -> Path:
    """Create ``root/<run id>`` race-free (``mkdir(exist_ok=False)``), suffixing ``-2``, ``-3`` …"""
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


def _clean_traceback(lines) -> str:
    text = "\n".join(lines) if isinstance(lines, list | tuple) else str(lines or "")
    return _ANSI.sub("", text)[-8000:]


# ---------------------------------------------------------------------------------------------
# Validation (main process)


def validate(path: Path, cities: dict) -> tuple[object | None, str | None]:
    """(scenario, None) if ``path`` is a valid scenario with a valid city, else (None, problems)."""
    from .data import check_against_scenario, load_city
    from .errors import ValidationError
    from .scenario import load_scenario

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
        check_against_scenario(city, scenario.price_path, scenario.emission_factor_set)
        return scenario, None
    except ValidationError as e:
        return None, "invalid input: " + e.report()
    except Exception as e:  # noqa: BLE001 - recorded with the scenario, the batch goes on
        return None, f"invalid input: {type(e).__name__}: {e}"


# ---------------------------------------------------------------------------------------------
# One notebook → one HTML page (runs in a worker process)


_BUSY = False  # in a worker: is a notebook running?


def _worker_init() -> None:
    # Ctrl-C (the whole process group) or SIGTERM (from the main process) in a worker: a running
    # notebook is stopped as by Ctrl-C, so papermill stops its kernel and the partial files are
    # removed; then, or at once when idle, the worker exits quietly (no traceback on the terminal).
    signal.signal(signal.SIGTERM, _worker_signal)
    signal.signal(signal.SIGINT, _worker_signal)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def _worker_signal(signum, frame):
    if _BUSY:
        raise KeyboardInterrupt(f"signal {signum}")
    os._exit(EXIT_INTERRUPTED)


def _worker_task(task: dict) -> dict:
    """``report_one`` in a worker process."""
    global _BUSY
    _BUSY = True
    try:
        return report_one(task)
    except KeyboardInterrupt:
        os._exit(EXIT_INTERRUPTED)  # clean-up done by report_one's finally blocks
    finally:
        _BUSY = False


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def execute_to_html(notebook: Path, parameters: dict, html_path: Path, title: str, *,
                    cwd: Path | None = None, footer: str = "", timeout: float | None = None) -> list[str]:
    """Execute ``notebook`` with papermill (kernel ``python3``) and write it as a self-contained
    page to ``html_path`` (atomically). Returns the stderr texts (warnings) of the cells.

    Raises ``papermill.PapermillExecutionError`` when a cell fails (nothing is written then).
    """
    import papermill as pm

    from .htmlexport import notebook_to_html

    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    nb = pm.execute_notebook(str(notebook), None, parameters=parameters, kernel_name=KERNEL,
                             progress_bar=False, log_output=False, cwd=str(cwd) if cwd else None,
                             execution_timeout=timeout or CELL_TIMEOUT_S,
                             # the kernel's own log (e.g. its TCP notice) is noise on a user's terminal
                             extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    page, warnings = notebook_to_html(nb, title, footer=footer)
    atomic_write_text(html_path, page)
    return warnings


def _error_of(exc: BaseException) -> tuple[str, str]:
    """(one-line message, traceback text) of a failure, papermill's cell errors unwrapped."""
    ename = getattr(exc, "ename", None)
    if ename:
        return f"{ename}: {getattr(exc, 'evalue', '')}".strip(), _clean_traceback(getattr(exc, "traceback", ""))
    return f"{type(exc).__name__}: {exc}", _clean_traceback(traceback.format_exception(exc))


def report_one(task: dict) -> dict:
    """Execute the report notebook for one scenario; write ``<name>.html``, ``<name>.xlsx`` and
    ``<name>/``. Never raises for a failing scenario: returns a record with ``status``."""
    t0 = time.perf_counter()
    run = Path(task["run_folder"])
    name = task["name"]
    tmp = run / f".{name}.partial"
    out = {"name": name, "status": "failed", "error": None, "traceback": None, "warnings": [],
           "outputs": {}}
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        html_tmp = run / f".{name}.html.partial-dir" / f"{name}.html"
        warnings = execute_to_html(
            Path(task["notebook"]),
            {"scenario_path": task["scenario_path"], "output_dir": str(tmp), "report_date": task["date"]},
            html_tmp, task["title"], cwd=run, footer=task.get("footer", ""), timeout=task.get("timeout"))
        out["warnings"] = warnings
        # Move into place: the workbook, the tables folder, then the report last. The report's
        # presence is what marks a scenario as finished (see ``_reconcile``).
        try:
            xlsx_tmp = tmp / "results.xlsx"
            if xlsx_tmp.exists():
                os.replace(xlsx_tmp, run / f"{name}.xlsx")
                out["outputs"]["xlsx"] = f"{name}.xlsx"
            os.replace(tmp, run / name)
            out["outputs"]["tables"] = f"{name}/"
            os.replace(html_tmp, run / f"{name}.html")
            out["outputs"]["html"] = f"{name}.html"
        except BaseException:
            _remove_outputs(run, name)
            raise
        out["status"] = "ok"
    except KeyboardInterrupt:
        raise
    except BaseException as e:
        if getattr(e, "ename", None) == "KeyboardInterrupt":  # Ctrl-C reached the kernel too
            raise KeyboardInterrupt from e
        out["error"], out["traceback"] = _error_of(e)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(run / f".{name}.html.partial-dir", ignore_errors=True)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


def _remove_outputs(run: Path, name: str) -> None:
    """Remove whatever of a scenario's outputs is in place (an unfinished move)."""
    for p in (run / f"{name}.html", run / f"{name}.xlsx"):
        p.unlink(missing_ok=True)
    shutil.rmtree(run / name, ignore_errors=True)


def compare_all(task: dict) -> dict:
    """Execute the comparison notebook over the saved result folders of the run."""
    t0 = time.perf_counter()
    run = Path(task["run_folder"])
    out = {"status": "failed", "error": None, "traceback": None, "warnings": [], "outputs": {}}
    try:
        out["warnings"] = execute_to_html(
            Path(task["notebook"]),
            {"scenarios": json.dumps(task["folders"]), "report_date": task["date"]},
            run / "comparison.html", task["title"], cwd=run, footer=task.get("footer", ""))
        out["outputs"]["html"] = "comparison.html"
        out["status"] = "ok"
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001
        out["error"], out["traceback"] = _error_of(e)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out


# ---------------------------------------------------------------------------------------------
# Manifest and index


class Run:
    """The state of one batch run, written to ``manifest.json`` and ``index.html`` as it goes."""

    def __init__(self, folder: Path, cycle: str, jobs: int, argv: list[str]):
        self.folder = folder
        self.data = {
            "schema": "climateinvest-report-run/1",
            "run_id": folder.name,
            "cycle": cycle,
            "folder": str(folder),
            "status": "incomplete",
            "interrupted": False,
            "started": _now(),
            "finished": None,
            "seconds": None,
            "jobs": jobs,
            "scenario_files": argv,
            "versions": versions(),
            "scenarios": [],
            "comparison": None,
        }
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()

    @property
    def scenarios(self) -> list[dict]:
        return self.data["scenarios"]

    def write(self) -> None:
        with self._lock:
            atomic_write_text(self.folder / "manifest.json",
                              json.dumps(self.data, indent=2, ensure_ascii=False, default=str) + "\n")
            atomic_write_text(self.folder / "index.html", index_html(self.data, self.folder))

    def finish(self, interrupted: bool = False) -> None:
        self.data["finished"] = _now()
        self.data["seconds"] = round(time.perf_counter() - self._t0, 3)
        if interrupted:
            self.data["interrupted"] = True
            self.data["status"] = "incomplete"
            for s in self.scenarios:
                if s["status"] in ("pending", "running"):
                    s["status"] = "not run (interrupted)"
        else:
            failed = any(s["status"] != "ok" for s in self.scenarios) or \
                (self.data["comparison"] or {}).get("status") == "failed"
            self.data["status"] = "complete with failures" if failed else "complete"
        self.write()
        _readable(self.folder)


def _readable(folder: Path) -> None:
    """Give the run's files the usual permissions (0644 under a 022 umask): atomic writes go
    through ``mkstemp``, whose files are private (0600), and reports are meant to be shared."""
    umask = os.umask(0)
    os.umask(umask)
    for p in folder.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                os.chmod(p, 0o666 & ~umask)
        except OSError:
            pass


def _saved_summary(folder: Path) -> dict:
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# Key figures in the index: (report.KEY_FIGURES id, column header with its unit)
INDEX_FIGURES = (("target_year_tco2e", "Emissions in the target year [t CO2e]"),
                 ("gap_tco2e", "Gap to the target [t CO2e]"),
                 ("investment", "Investment [{cur}]"),
                 ("financing_gap", "Financing gap [{cur}]"),
                 ("cost_per_tco2e", "Portfolio cost per tonne [{cur}/t CO2e]"),
                 ("measures_funded", "Measures funded"))


def index_html(data: dict, folder: Path) -> str:
    """The run's index page: status, key figures and links per scenario (all text escaped)."""
    from . import report
    from .htmlexport import page

    esc = html.escape
    rows, currencies = [], set()
    for s in data["scenarios"]:
        title = s.get("title") or s.get("file", "")
        status = s["status"]
        figs = [report.DASH] * len(INDEX_FIGURES)
        links = []
        if status == "ok":
            saved = report.load_saved(folder / s["name"]) if (folder / s["name"] / "manifest.json").exists() else None
            if saved is not None:
                currencies.add((saved.manifest.get("city") or {}).get("currency", ""))
                kf = {k["id"]: k for k in report.key_figures(saved)}
                figs = [report.fmt_number(kf[i]["value"]) if kf[i]["value"] is not None else report.DASH
                        for i, _ in INDEX_FIGURES]
            outs = s.get("outputs") or {}
            for key, label in (("html", "report"), ("xlsx", "XLSX"), ("tables", "CSV tables")):
                if outs.get(key):
                    links.append(f'<a href="{esc(outs[key])}">{label}</a>')
            cell = '<span class="ci-ok">ok</span>'
        elif status == "failed":
            cell = '<span class="ci-failed">failed</span>'
        else:
            cell = f'<span class="ci-muted">{esc(status)}</span>'
        rows.append("<tr>" + f'<td><b>{esc(str(title))}</b><br><span class="ci-muted">{esc(s.get("file", ""))}</span></td>'
                    + f"<td>{cell}</td>" + "".join(f'<td class="ci-num">{v}</td>' for v in figs)
                    + f"<td class=\"ci-links\">{'<br>'.join(links) or report.DASH}</td></tr>")
        if status == "failed":
            detail = (f"<details><summary>details</summary><pre>{esc(s['traceback'])}</pre></details>"
                      if s.get("traceback") else "")
            rows.append(f'<tr class="ci-error-row"><td colspan="{len(INDEX_FIGURES) + 3}">'
                        f'<div class="ci-error">{esc(s.get("error") or "")}</div>{detail}</td></tr>')
    cur = ", ".join(sorted(c for c in currencies if c)) or "currency"
    head = ("<tr><th>Scenario</th><th>Status</th>"
            + "".join(f'<th class="ci-num">{esc(h.format(cur=cur))}</th>' for _, h in INDEX_FIGURES)
            + "<th>Files</th></tr>")
    comp = data.get("comparison")
    if comp and comp.get("status") == "ok":
        comp_html = '<p><a href="comparison.html">Comparison of the scenarios</a></p>'
    elif comp and comp.get("status") == "failed":
        comp_html = f'<div class="ci-error">The comparison failed: {esc(comp.get("error") or "")}</div>'
    elif comp:
        comp_html = f'<p class="ci-muted">Comparison: {esc(comp.get("status", ""))}</p>'
    else:
        comp_html = ""
    v = data.get("versions") or {}
    facts = [("Budget cycle", data.get("cycle")), ("Run", data.get("run_id")), ("Status", data.get("status")),
             ("Started", data.get("started")), ("Finished", data.get("finished") or report.DASH),
             ("climateinvest", v.get("climateinvest")), ("Python", v.get("python"))]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(x))}</dd>" for k, x in facts)
    cycle = esc(str(data.get("cycle")))
    body = (f'<section class="ci-title"><div class="ci-kicker">Klimatinvesteringsplan · reports</div>'
            f"<h1>Scenario reports, budget {cycle}</h1><dl>{dl}</dl></section>"
            f"{comp_html}<div class=\"ci-scroll\"><table class=\"ci-index\"><thead>{head}</thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
            '<p class="ci-muted">Key figures from each scenario\'s result; “–” where the result does not hold '
            'the figure. Every input file, parameter, version and timing is listed in '
            '<a href="manifest.json">manifest.json</a>.</p>')
    return page(body, f"Scenario reports, budget {data.get('cycle')} — run {data.get('run_id')}", plotly=False)


# ---------------------------------------------------------------------------------------------
# The batch


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
    msg = f"[{i}/{n}] {label} {status} {rec.get('seconds', 0):.1f} s"
    if status != "ok" and rec.get("error"):
        msg += ": " + " ".join(line.strip() for line in rec["error"].splitlines())[:300]
    print(msg, file=stream, flush=True)


def run_batch(scenarios, out: str | Path = "reports", jobs: int = 1, run_id: str | None = None, *,
              stream=None, timeout: float | None = None) -> int:
    """Reports for ``scenarios`` (scenario file paths) in a new run folder under ``out``.

    Prints one progress line per scenario to ``stream`` (stderr) and the path of ``index.html``
    on stdout. ``timeout`` [s] limits each notebook cell (default ``CELL_TIMEOUT_S``). Returns the
    exit code (module docstring).
    """
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
    folder = new_run_folder(Path(out) / cycle, run_id)
    run = Run(folder, cycle, jobs, [str(p) for p in paths])
    date = _dt.date.today().isoformat()
    names = _unique_names(paths)
    report_nb = notebook_path(REPORT_NOTEBOOK)
    tasks = []
    for (p, s, err), name in zip(checked, names):
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
                          "title": f"{s.title} — {city.name}, klimatinvesteringsplan {s.budget_cycle}",
                          "footer": f"{city.name} · budget {s.budget_cycle} · {s.title} · {date}"})
    run.write()
    n = len(paths)
    done = 0
    for rec in run.scenarios:
        if rec["status"] == "failed":
            done += 1
            _progress(done, n, Path(rec["file"]).name, {"status": "failed", "seconds": 0, "error": rec["error"]}, stream)
    by_name = {r["name"]: r for r in run.scenarios}

    def record(result: dict) -> None:
        nonlocal done
        rec = by_name[result["name"]]
        rec.update({k: result[k] for k in ("status", "error", "traceback", "warnings", "outputs", "seconds")})
        if result["status"] == "ok":
            saved = _saved_summary(folder / rec["name"])
            rec["inputs_sha256"] = saved.get("inputs_sha256")
            rec["summary"] = saved.get("summary")
            rec["timings_s"] = saved.get("timings_s")
        done += 1
        _progress(done, n, Path(rec["file"]).name, rec, stream)
        run.write()

    executor = None
    try:
        with _sigterm_as_interrupt():
            if jobs == 1 or len(tasks) <= 1:
                for task in tasks:
                    by_name[task["name"]]["status"] = "running"
                    record(report_one(task))
            else:
                executor = cf.ProcessPoolExecutor(max_workers=min(jobs, len(tasks)), initializer=_worker_init,
                                                  mp_context=multiprocessing.get_context("spawn"))
                futures = {executor.submit(_worker_task, t): t for t in tasks}
                for t in tasks:
                    by_name[t["name"]]["status"] = "running"
                for fut in cf.as_completed(futures):
                    t = futures[fut]
                    try:
                        record(fut.result())
                    except cf.process.BrokenProcessPool as e:
                        record({"name": t["name"], "status": "failed", "error": f"worker process died: {e}",
                                "traceback": None, "warnings": [], "outputs": {}, "seconds": None})
                executor.shutdown(wait=True)
                executor = None

            ok = [r for r in run.scenarios if r["status"] == "ok"]
            if len(ok) >= 2:
                run.data["comparison"] = {"status": "running"}
                run.write()
                comp = compare_all({"run_folder": str(folder), "notebook": str(notebook_path(COMPARISON_NOTEBOOK)),
                                    "folders": [str(folder / r["name"]) for r in ok], "date": date,
                                    "title": f"Scenario comparison — budget {cycle}",
                                    "footer": f"Scenario comparison · budget {cycle} · {date}"})
                comp["scenarios"] = [r["name"] for r in ok]
                run.data["comparison"] = comp
                print(f"comparison {comp['status']} {comp['seconds']:.1f} s"
                      + (f": {comp['error']}" if comp.get("error") else ""), file=stream, flush=True)
            else:
                run.data["comparison"] = {"status": "skipped: fewer than two scenarios succeeded"}
    except KeyboardInterrupt:
        with _signals_ignored():
            if executor is not None:
                _stop(executor)
            _reconcile(folder, run)
            run.finish(interrupted=True)
        print(f"interrupted; partial run recorded in {folder / 'manifest.json'}", file=stream, flush=True)
        raise
    run.finish()
    print(folder / "index.html")
    return EXIT_OK if run.data["status"] == "complete" else EXIT_FAILED


GRACE_S = 10.0  # after an interrupt, further Ctrl-C / SIGTERM are ignored this long (clean exit)


@contextmanager
def _signals_ignored():
    """Let the clean-up after an interrupt, and the exit after it, finish even if Ctrl-C is
    pressed again: signals are ignored during the clean-up and for ``GRACE_S`` seconds after it;
    later ones get their usual handling back."""
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
    arrived); of any other, remove what an unfinished move left, and every hidden partial."""
    for partial in folder.glob(".*.partial*"):
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
    for rec in run.scenarios:
        if rec["status"] in ("ok", "failed"):
            continue
        name = rec["name"]
        if (folder / f"{name}.html").is_file() and (folder / name / "manifest.json").is_file():
            saved = _saved_summary(folder / name)
            rec.update(status="ok", inputs_sha256=saved.get("inputs_sha256"), summary=saved.get("summary"),
                       timings_s=saved.get("timings_s"),
                       outputs={"html": f"{name}.html", "tables": f"{name}/"}
                       | ({"xlsx": f"{name}.xlsx"} if (folder / f"{name}.xlsx").is_file() else {}))
        else:
            _remove_outputs(folder, name)


def _stop(executor: cf.ProcessPoolExecutor) -> None:
    """Cancel pending work and stop the workers (each stops its kernel on SIGTERM)."""
    procs = list(getattr(executor, "_processes", {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        if p.is_alive():
            p.terminate()
    deadline = time.monotonic() + 10
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
        if p.is_alive():
            p.kill()

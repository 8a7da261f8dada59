"""One notebook to one HTML page, for the batch: run in the main process or in a task process.

``report_one`` executes the scenario report notebook under papermill and moves its outputs into
place only when the page has been exported (hidden partial files until then); ``compare_all``
does the same for the comparison notebook. Neither raises for a failing notebook: each returns
a record with ``status``, ``error`` and ``traceback``.

On Dask (``batch.engine``) each task is ``run_task``: it starts ``main`` in a
new Python process (``TASK_PROCESS TASK.json RESULT.json``) as a child of the Dask worker and waits for
it. In that task process (``worker_init``) Ctrl-C or SIGTERM stops a running notebook as by
Ctrl-C, so papermill stops its kernel and the partial files are removed; the process dies with
its Dask worker; and a task process killed by the system (the out-of-memory killer's SIGKILL)
fails its own scenario only, its partial files removed (``died_without_result``).
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from pathlib import Path

from climateinvest.io.files import atomic_write_text

EXIT_INTERRUPTED = 130
KERNEL = "python3"
CELL_TIMEOUT_S = 3600  # a cell that runs longer is stopped and its scenario fails (no batch hangs)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def _clean_traceback(lines) -> str:
    text = "\n".join(lines) if isinstance(lines, list | tuple) else str(lines or "")
    return _ANSI.sub("", text)[-8000:]


_BUSY = False  # in a worker: is a notebook running?


def worker_init(parent: int | None = None) -> None:
    """Install a worker's signal handlers: interrupt a running notebook cleanly, then exit quietly;
    and make the worker die with its parent ``parent`` (pid; see :func:`die_with_parent`).
    """
    # Ctrl-C (the whole process group) or SIGTERM (from the main process) in a worker: a running
    # notebook is stopped as by Ctrl-C, so papermill stops its kernel and the partial files are
    # removed; then, or at once when idle, the worker exits quietly (no traceback on the terminal).
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if parent is not None:
        die_with_parent(parent)


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def die_with_parent(parent: int) -> None:
    """SIGTERM this process when ``parent`` (pid) is gone, e.g. killed with SIGKILL, so no worker
    goes on writing reports under a manifest that no one updates. On Linux the kernel sends it
    (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also watches the parent pid. The
    SIGTERM stops a running notebook as Ctrl-C does (its kernel stops too, partials are removed).
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    if os.getppid() != parent:  # gone before the watch began
        os.kill(os.getpid(), signal.SIGTERM)
    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _on_signal(signum, frame):
    if _BUSY:
        raise KeyboardInterrupt(f"signal {signum}")
    os._exit(EXIT_INTERRUPTED)


def worker_task(task: dict) -> dict:
    """The task (``kind`` "report": ``report_one``, "compare": ``compare_all``) in a task process."""
    global _BUSY
    _BUSY = True
    try:
        return run_in_process(task)
    except KeyboardInterrupt:
        os._exit(EXIT_INTERRUPTED)  # clean-up done by report_one's finally blocks
    finally:
        _BUSY = False


def run_in_process(task: dict) -> dict:
    """Run one task in this process: ``report_one`` or, for ``kind == "compare"``, ``compare_all``."""
    return compare_all(task) if task.get("kind") == "compare" else report_one(task)


TASK_PROCESS = "import sys; from climateinvest.batch.worker import main; sys.exit(main())"
_CHILDREN: dict[subprocess.Popen, str] = {}  # the task processes this (Dask worker) process runs: batch
_CHILDREN_LOCK = threading.Lock()
_STOPPED: set[str] = set()  # the batches (engine tokens) stop_children stopped: none of their tasks starts
STOP_GRACE_S = 10.0  # a task process still running this long after SIGTERM is killed


def run_task(task: dict, batch: str = "") -> dict:
    """A Dask task of the batch ``batch`` (its engine's token): run ``task`` in a child process
    and return its record.

    The child writes its record to a file; a child that ends without one (killed by a signal,
    or interrupted) gives the failed record of ``died_without_result``.
    """
    if batch in _STOPPED:
        return died_without_result(task, "not started: the batch was interrupted")
    with tempfile.TemporaryDirectory(prefix="climateinvest-task-") as tmp:
        task_file, result_file = Path(tmp) / "task.json", Path(tmp) / "result.json"
        task_file.write_text(json.dumps(task), encoding="utf-8")
        proc = subprocess.Popen([sys.executable, "-c", TASK_PROCESS, str(task_file), str(result_file)],
                                stdin=subprocess.DEVNULL)
        with _CHILDREN_LOCK:
            _CHILDREN[proc] = batch
            if batch in _STOPPED:  # stop_children ran while this one was starting
                proc.terminate()
        try:
            code = proc.wait()
        finally:
            with _CHILDREN_LOCK:
                _CHILDREN.pop(proc, None)
        if result_file.is_file():
            return json.loads(result_file.read_text(encoding="utf-8"))
        return died_without_result(task, _exit_reason(code))


def stop_children(batch: str = "") -> int:
    """Stop every task process of this process (SIGTERM: a notebook stops as by Ctrl-C; SIGKILL
    after ``STOP_GRACE_S``) and wait until they are gone; no task of ``batch`` starts after this.
    Returns how many there were.
    """
    _STOPPED.add(batch)
    with _CHILDREN_LOCK:
        procs = [p for p, b in _CHILDREN.items() if b == batch]
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for p in procs:
        try:
            p.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return len(procs)


def _exit_reason(exitcode: int | None) -> str:
    """Why a task process ended without a result, in words (the signal named)."""
    if exitcode is not None and exitcode < 0:
        try:
            sig = signal.Signals(-exitcode).name
        except ValueError:
            sig = f"signal {-exitcode}"
        return (f"the worker process was killed by {sig} ({-exitcode})"
                + (" — the system's out-of-memory killer does this when memory runs out" if -exitcode == 9 else ""))
    return f"the worker process ended with exit code {exitcode} without a result"


def died(task: dict, exitcode: int | None) -> dict:
    """The failed record of a task whose process ended with ``exitcode`` without a result."""
    return died_without_result(task, _exit_reason(exitcode))


def died_without_result(task: dict, why: str) -> dict:
    """The failed record of a task that ended without a result (``why``), its partials removed."""
    if task.get("kind") != "compare":
        discard_partial(Path(task["run_folder"]), task["name"])
    return {"name": task["name"], "status": "failed", "error": why, "traceback": None,
            "warnings": [], "outputs": {}, "seconds": None}


def main(argv: list[str] | None = None) -> int:
    """A task process (``python -c TASK_PROCESS TASK.json RESULT.json``): run the task, write its record."""
    task_file, result_file = (argv if argv is not None else sys.argv[1:])[:2]
    worker_init(os.getppid())
    task = json.loads(Path(task_file).read_text(encoding="utf-8"))
    result = worker_task(task)
    atomic_write_text(Path(result_file), json.dumps(result))
    return 0


def execute_to_html(notebook: Path, parameters: dict, html_path: Path, title: str, *,
                    cwd: Path | None = None, footer: str = "", timeout: float | None = None,
                    lang: str = "en") -> list[str]:
    """Execute ``notebook`` with papermill (kernel ``python3``) and write it as a self-contained
    page to ``html_path`` (atomically). Returns the stderr texts (warnings) of the cells.

    Raises ``papermill.PapermillExecutionError`` when a cell fails (nothing is written then).
    """
    import papermill as pm

    from climateinvest.report.html_export import notebook_to_html

    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
        try:
            nb = pm.execute_notebook(str(notebook), None, parameters=parameters, kernel_name=KERNEL,
                                     progress_bar=False, log_output=False, cwd=str(cwd) if cwd else None,
                                     execution_timeout=timeout or CELL_TIMEOUT_S,
                                     # the kernel's own log (e.g. its TCP notice) is noise on a terminal
                                     extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
            break
        except Exception as e:  # noqa: BLE001 - only a kernel that never started is tried again
            if attempt == KERNEL_START_ATTEMPTS or not kernel_did_not_start(e):
                raise
            time.sleep(0.5 * attempt)
    page, warnings = notebook_to_html(nb, title, footer=footer, lang=lang)
    atomic_write_text(html_path, page)
    return warnings


# Two kernels started at once can pick the same free port (jupyter_client chooses the ports
# before the kernel binds them): the kernel dies before any cell ran, so starting it again is safe.
KERNEL_START_ATTEMPTS = 3


def kernel_did_not_start(exc: BaseException) -> bool:
    """True for a kernel that died before it answered (a port taken meanwhile), when no cell ran."""
    text = f"{type(exc).__name__}: {exc}"
    return ("Kernel died before replying to kernel_info" in text or "Address already in use" in text) and \
        not getattr(exc, "ename", None)


def _error_of(exc: BaseException) -> tuple[str, str]:
    """(one-line message, traceback text) of a failure, papermill's cell errors unwrapped."""
    ename = getattr(exc, "ename", None)
    if ename:
        return f"{ename}: {getattr(exc, 'evalue', '')}".strip(), _clean_traceback(getattr(exc, "traceback", ""))
    return f"{type(exc).__name__}: {exc}", _clean_traceback(traceback.format_exception(exc))


def report_one(task: dict) -> dict:
    """Execute the report notebook for one scenario; write ``<name>.html``, ``<name>.xlsx`` and
    ``<name>/``. Never raises for a failing scenario: returns a record with ``status``.
    """
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
            {"scenario_path": task["scenario_path"], "output_dir": str(tmp), "report_date": task["date"],
             "language": task.get("language", "")},
            html_tmp, task["title"], cwd=run, footer=task.get("footer", ""), timeout=task.get("timeout"),
            lang=task.get("language") or "en")
        out["warnings"] = warnings
        # Move into place: the workbook, the tables folder, then the report last. The report's
        # presence is what marks a scenario as finished (see ``batch._reconcile``).
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
            remove_outputs(run, name)
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


def discard_partial(run: Path, name: str) -> None:
    """Remove a scenario's hidden partial files (left by a worker that was killed)."""
    for partial in run.glob(f".{name}.*partial*"):
        shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
    if not (run / f"{name}.html").is_file():  # the report moves in last: without it, unfinished
        remove_outputs(run, name)


def remove_outputs(run: Path, name: str) -> None:
    """Remove whatever of a scenario's outputs is in place (an unfinished move)."""
    for p in (run / f"{name}.html", run / f"{name}.xlsx"):
        p.unlink(missing_ok=True)
    shutil.rmtree(run / name, ignore_errors=True)


def compare_all(task: dict) -> dict:
    """Execute the comparison notebook over the saved result folders of the run."""
    t0 = time.perf_counter()
    run = Path(task["run_folder"])
    out = {"name": task.get("name", "comparison"), "status": "failed", "error": None, "traceback": None,
           "warnings": [], "outputs": {}}
    try:
        out["warnings"] = execute_to_html(
            Path(task["notebook"]),
            {"scenarios": json.dumps(task["folders"]), "report_date": task["date"],
             "language": task.get("language", "")},
            run / "comparison.html", task["title"], cwd=run, footer=task.get("footer", ""),
            lang=task.get("language") or "en")
        out["outputs"]["html"] = "comparison.html"
        out["status"] = "ok"
    except KeyboardInterrupt:
        raise
    except BaseException as e:  # noqa: BLE001
        out["error"], out["traceback"] = _error_of(e)
    out["seconds"] = round(time.perf_counter() - t0, 3)
    return out

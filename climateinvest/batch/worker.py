"""One notebook to one HTML page, for the batch: run in the main process or in a worker.

``report_one`` executes the scenario report notebook under papermill and moves its outputs into
place only when the page has been exported (hidden partial files until then); ``compare_all``
does the same for the comparison notebook. Neither raises for a failing notebook: each returns
a record with ``status``, ``error`` and ``traceback``. In a worker process (``worker_init``),
Ctrl-C or SIGTERM stops a running notebook as by Ctrl-C, so papermill stops its kernel and the
partial files are removed.
"""
from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import sys
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


def worker_main(task: dict, conn, parent: int) -> None:
    """A spawned worker process: run one scenario and send its record through ``conn``."""
    worker_init(parent)
    result = worker_task(task)
    conn.send(result)
    conn.close()


def worker_task(task: dict) -> dict:
    """``report_one`` in a worker process."""
    global _BUSY
    _BUSY = True
    try:
        return report_one(task)
    except KeyboardInterrupt:
        os._exit(EXIT_INTERRUPTED)  # clean-up done by report_one's finally blocks
    finally:
        _BUSY = False


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
    nb = pm.execute_notebook(str(notebook), None, parameters=parameters, kernel_name=KERNEL,
                             progress_bar=False, log_output=False, cwd=str(cwd) if cwd else None,
                             execution_timeout=timeout or CELL_TIMEOUT_S,
                             # the kernel's own log (e.g. its TCP notice) is noise on a user's terminal
                             extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    page, warnings = notebook_to_html(nb, title, footer=footer, lang=lang)
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
    out = {"status": "failed", "error": None, "traceback": None, "warnings": [], "outputs": {}}
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


"""Where a batch's tasks run: on Dask (``dask.distributed``), or in this process.

``DaskEngine`` starts a ``LocalCluster`` bound to 127.0.0.1 (``jobs`` worker processes, one
thread each, no dashboard), or connects to a running cluster by address (``tcp://host:8786``).
Each task (one scenario report or one comparison) is a Dask task that runs the notebook in a
child process of its Dask worker (``worker.run_task``): a notebook killed by the system fails
its own scenario only, and a Ctrl-C or SIGTERM stops it cleanly (kernel stopped, partial files
removed) as before. ``InProcessEngine`` runs the tasks one after another in this process: the
reference a Dask run is compared with byte for byte.

A cluster given by address must see the same file paths as this machine (a shared file system:
the scenario files, the city folders and the reports root) and run the same climateinvest
version; its workers write the reports where this process reads them.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import uuid
from collections.abc import Callable
from contextlib import contextmanager

from distributed import WorkerPlugin

from climateinvest.batch.worker import died_without_result, run_in_process, run_task, stop_children

LOCALHOST = "127.0.0.1"
IN_PROCESS = "in-process"


@contextmanager
def _sigint_ignored():
    """Start worker processes with Ctrl-C ignored (they inherit the disposition): a Ctrl-C to the
    terminal's process group reaches the notebook processes, which stop cleanly, and the main
    process, which then stops the cluster; a Dask worker must not die of it half-way.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


POLL_S = 0.2  # [s] how often the wait loop looks at the interrupt flag


@contextmanager
def _interrupt_as_flag(stop: threading.Event):
    """While the block runs, Ctrl-C (SIGINT) and SIGTERM set ``stop`` instead of raising at once;
    the previous handlers come back afterwards. Outside the main thread: nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def flag(signum, frame):
        stop.set()

    old = {sig: signal.signal(sig, flag) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


class LocalWorkerGuard(WorkerPlugin):
    """A Dask worker plugin for the local cluster: ignore Ctrl-C (see ``_sigint_ignored``; also for
    a worker the nanny restarts) and die with the main process (``worker.die_with_parent``).
    """

    name = "climateinvest-local-worker-guard"

    def __init__(self, parent: int):
        self.parent = parent

    def setup(self, worker) -> None:
        """Runs in the worker process when the worker starts."""
        from climateinvest.batch.worker import die_with_parent

        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        die_with_parent(self.parent)

    def teardown(self, worker) -> None:
        """Nothing to undo."""


class InProcessEngine:
    """Every task in this process, one after another (no Dask)."""

    def __enter__(self) -> InProcessEngine:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def run(self, tasks: list[dict], record: Callable[[dict, dict], None]) -> None:
        """Run ``tasks`` in order; ``record(task, result)`` after each."""
        for task in tasks:
            record(task, run_in_process(task))

    def stop(self) -> None:
        """Nothing runs elsewhere: an interrupt has already stopped the running notebook."""


class DaskEngine:
    """The tasks on a Dask cluster: a new ``LocalCluster`` (``scheduler=None``) or a running one.

    Parameters
    ----------
    jobs : int
        Worker processes of the local cluster (one thread each); ignored with ``scheduler``.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://host:8786``.
    """

    def __init__(self, jobs: int = 1, scheduler: str | None = None):
        self.jobs = max(1, int(jobs or 1))
        self.scheduler = scheduler
        self.cluster = None
        self.client = None
        self._futures: list = []
        self.token = uuid.uuid4().hex  # this batch's tasks, on a cluster that may serve others too

    def __enter__(self) -> DaskEngine:
        import dask
        from distributed import Client, LocalCluster

        # A dead notebook fails its scenario (``worker.run_task``); a dead *Dask worker* is not
        # retried either: a task that kills its worker (memory) would kill the next one too.
        dask.config.set({"distributed.scheduler.allowed-failures": 0})
        if self.scheduler:
            self.client = Client(self.scheduler, timeout="30s")
        else:
            with _sigint_ignored():
                self.cluster = LocalCluster(
                    n_workers=self.jobs, threads_per_worker=1, processes=True, host=LOCALHOST,
                    scheduler_port=0, dashboard_address=None, silence_logs=logging.CRITICAL,
                    # its HTTP server (health checks; no dashboard) on a free port of 127.0.0.1 too
                    scheduler_kwargs={"dashboard": False, "dashboard_address": f"{LOCALHOST}:0"})
                self.client = Client(self.cluster)
                self.client.register_plugin(LocalWorkerGuard(os.getpid()))
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        with _sigint_ignored():
            if exc_type is not None:  # an interrupt (or an error): nothing may go on running
                self.stop()
            if self.client is not None:
                self.client.close()
            if self.cluster is not None:
                self.cluster.close()
        self.client = self.cluster = None

    def run(self, tasks: list[dict], record: Callable[[dict, dict], None]) -> None:
        """Submit every task; ``record(task, result)`` as each ends, in the order they end.

        Ctrl-C and SIGTERM only set a flag while the tasks run (``_interrupt_as_flag``); the wait
        loop raises ``KeyboardInterrupt`` at its next turn (within ``POLL_S``). A signal raised as
        an exception at any bytecode would land in Dask's own callbacks (its garbage-collection
        diagnosis, its event loop) and print "Exception ignored ... Traceback" to the terminal.
        """
        from distributed import wait

        run = uuid.uuid4().hex[:8]
        futures = {self.client.submit(run_task, t, self.token, key=f"climateinvest-{i}-{t['name']}-{run}",
                                      pure=False): t for i, t in enumerate(tasks)}
        self._futures = list(futures)
        pending = set(futures)
        stop = threading.Event()
        with _interrupt_as_flag(stop):
            while pending:
                if stop.is_set():
                    raise KeyboardInterrupt("interrupted")
                try:
                    done, pending = wait(pending, timeout=POLL_S, return_when="FIRST_COMPLETED")
                except TimeoutError:
                    continue
                for fut in sorted(done, key=lambda f: self._futures.index(f)):
                    task = futures[fut]
                    try:
                        result = fut.result()
                    except Exception as e:  # noqa: BLE001 - a lost Dask worker fails its task, the others go on
                        result = died_without_result(task, f"its Dask worker was lost ({type(e).__name__}: {e})")
                    record(task, result)
        self._futures = []

    def stop(self) -> None:
        """After an interrupt: cancel what has not started and stop every running notebook
        (SIGTERM, SIGKILL after 10 s) on every worker, waiting until they are gone.
        """
        if self.client is None:
            return
        try:
            self.client.run(stop_children, self.token)  # first: no worker starts a task after this
            if self._futures:
                self.client.cancel(self._futures)
        except Exception:  # noqa: BLE001, S110 - a cluster already gone has nothing left to stop
            pass
        self._futures = []


def make_engine(jobs: int = 1, scheduler: str | None = None):
    """``InProcessEngine`` for ``scheduler="in-process"``, else a ``DaskEngine``."""
    if scheduler == IN_PROCESS:
        return InProcessEngine()
    return DaskEngine(jobs, scheduler)


def describe(jobs: int = 1, scheduler: str | None = None) -> dict:
    """What runs the tasks of ``make_engine(jobs, scheduler)``, for the manifest."""
    if scheduler == IN_PROCESS:
        return {"engine": IN_PROCESS, "workers": 1}
    if scheduler:
        return {"engine": "dask", "scheduler": scheduler}
    return {"engine": "dask-local", "scheduler": f"LocalCluster on {LOCALHOST}", "workers": max(1, int(jobs or 1))}

"""Batch runs: one set of reports per budget cycle, in worker processes.

``runner`` validates every scenario, starts the workers and handles interrupts, ``worker`` runs
one scenario's report notebook, ``index`` writes the run's index page and manifest.
"""
from climateinvest.batch.runner import run_batch

__all__ = ["run_batch"]

"""Uncertainty: Monte Carlo over the city's ranges, for each measure and for the portfolio.

``sampling`` draws the multipliers, ``montecarlo`` is the vectorised appraisal core,
``fixed_portfolio`` evaluates the chosen portfolio per draw, ``reselection`` repeats the
selection per draw, ``sensitivity`` builds the tornado, and ``analysis`` wires them into
:func:`run_monte_carlo`.
"""
from climateinvest.uncertainty.analysis import (
    MEASURE_COLUMNS,
    UncertaintyResult,
    run_monte_carlo,
    sample_multipliers,
    selection_frequency,
    tornado,
)

__all__ = ["MEASURE_COLUMNS", "UncertaintyResult", "run_monte_carlo", "sample_multipliers",
           "selection_frequency", "tornado"]

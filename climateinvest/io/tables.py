"""Step results as tables: every table a step computes is saved, and saved once.

Each step returns one typed, frozen result (``MaccResult``, ``PortfolioResult``,
``FinancingResult``, ``PathwayResult``, ``UncertaintyResult``), documented field by field with
columns and units, as pvlib's ``ModelChainResult`` is. :class:`StepTables` derives the tables to
save from those fields, so a table added to a step is saved without a hand-kept list, and a
field that only refers to another step's table says so in ``NOT_SAVED`` with the reason.
"""
from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import pandas as pd


class StepTables:
    """Mixin for a step's result dataclass: each ``pd.DataFrame`` field is one saved table.

    The field named ``MAIN`` is saved under the step's name ``STEP`` (``macc``, ``portfolio`` …),
    every other table field as ``<STEP>_<field>``; fields set to None are skipped.
    """

    STEP: ClassVar[str] = ""
    MAIN: ClassVar[str] = ""
    NOT_SAVED: ClassVar[dict[str, str]] = {}  # field -> why it is not a table of its own

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table of this step by its saved name, the main table first.

        Returns
        -------
        dict of str to pandas.DataFrame
        """
        out: dict[str, pd.DataFrame] = {}
        fields = sorted(dataclasses.fields(self),  # type: ignore[arg-type]
                        key=lambda f: f.name != self.MAIN)
        for f in fields:
            value: Any = getattr(self, f.name)
            if f.name in self.NOT_SAVED or not isinstance(value, pd.DataFrame):
                continue
            out[self.STEP if f.name == self.MAIN else f"{self.STEP}_{f.name}"] = value
        return out

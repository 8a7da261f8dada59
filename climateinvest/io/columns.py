"""Column specs and the generic validator: how each city table's cells are parsed and checked.

``data.py`` declares one :class:`Table` of :class:`Col` per city table; :func:`validate` turns a
:class:`~climateinvest.io.tabular.RawTable` (every cell a string) into a typed DataFrame and a list
of problems, each with file, row, column, value and rule.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import pandas as pd

from climateinvest.io.errors import Problem, did_you_mean
from climateinvest.io.tabular import AMBIGUOUS_RULE, MAGNITUDE, TINY, RawTable, Records, ambiguous, parse_number

ANY = "*"
Entries = dict[str, tuple[int | None, str]]  # key -> (row or None, text) of a key/value table


@dataclass(frozen=True)
class Col:
    """How one column's cells are parsed and checked. ``kind``: text, number or whole."""

    name: str
    kind: str = "text"
    required: bool = True
    default: object = None  # value of an empty optional cell; None = "" (text) or NaN (numbers)
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()  # matched case-insensitively, stored in lower case
    many: bool = False  # a ";"-separated list (of choices, if any), or "*"
    pattern: tuple[str, str] | None = None  # (regex, what it allows)
    most: float = MAGNITUDE  # numbers: largest magnitude accepted (overflow and nonsense guard)

    @property
    def dtype(self) -> str:
        """The pandas dtype of the parsed column."""
        return "str" if self.kind == "text" else "float64"

    @property
    def empty(self) -> object:
        """The value an empty cell takes: the column's default, else '' or NaN."""
        if self.default is not None:
            return self.default
        return "" if self.kind == "text" else math.nan

    @property
    def rule(self) -> str:
        """The rule in plain words, as an error message states it."""
        if self.choices:
            listed = ", ".join(self.choices)
            return f"* or a ';'-separated list of {listed}" if self.many else f"one of {listed}"
        if self.pattern:
            return self.pattern[1]
        noun = {"text": "text", "number": "a number", "whole": "a whole number"}[self.kind]
        if self.lo is not None and self.hi is not None:
            return f"{noun} from {self.lo:g} to {self.hi:g}"
        return f"{noun} ≥ {self.lo:g}" if self.lo is not None else noun

    def parse(self, text: str, number: Callable[[str], float | None]) -> tuple[object, str | None]:
        """(value, None), or (empty value, what is wrong) for one stripped cell."""
        if not text:
            return self.empty, "must not be empty" if self.required else None
        if self.kind == "text":
            value = self._text(text)
            if value is not None:
                return value, None
            hint = ""
            if self.choices:
                words = [t.strip() for t in text.split(";")] if self.many else [text]
                bad = [w for w in words if w and w.lower() not in self.choices]
                hint = "".join(did_you_mean(w, self.choices) for w in bad[:1])
            return self.empty, f"must be {self.rule}, got {text!r}{hint}"
        x = number(text)
        if x is None and ambiguous(text):
            return math.nan, f"must be {self.rule}, got {text}: {AMBIGUOUS_RULE}"
        ok = (x is not None and (self.kind == "number" or x.is_integer())
              and (self.lo is None or x >= self.lo) and (self.hi is None or x <= self.hi))
        if not ok:
            return math.nan, f"must be {self.rule}, got {text}"
        if abs(x) > self.most:  # (where a column has hi, it is below most)
            size = f"{self.rule} and at most {self.most:g}" if self.lo is not None else \
                f"{self.rule} from {-self.most:g} to {self.most:g}"
            return math.nan, f"must be {size}, got {text}"
        if 0 < abs(x) < TINY:
            return math.nan, f"must be {self.rule}, either 0 or at least {TINY:g} in size, got {text}"
        return x, None

    def _text(self, text: str) -> str | None:
        if self.pattern:
            return text if re.fullmatch(self.pattern[0], text) else None
        if not self.choices or (self.many and text == ANY):
            return text
        items = [t.strip().lower() for t in text.split(";")] if self.many else [text.lower()]
        items = [t for t in items if t]
        return ";".join(items) if items and set(items) <= set(self.choices) else None


@dataclass(frozen=True)
class Table:
    """A table's columns (in output order), the columns unique together and extra row checks
    (``check(typed, cells, label)``, run only when every required column exists).
    """

    cols: tuple[Col, ...]
    key: tuple[str, ...] = ()
    min_rows: int = 0
    optional: bool = False  # the file may be absent
    check: Callable[[pd.DataFrame, pd.DataFrame, str], list[Problem]] | None = None

    @property
    def names(self) -> list[str]:
        """The column names in order."""
        return [c.name for c in self.cols]

    @property
    def required(self) -> list[str]:
        """The names of the columns that must be present."""
        return [c.name for c in self.cols if c.required]

    def col(self, name: str) -> Col:
        """The column called ``name``."""
        return next(c for c in self.cols if c.name == name)

    def empty_frame(self) -> pd.DataFrame:
        """An empty frame with this table's columns and dtypes."""
        return pd.DataFrame({c.name: pd.Series([], dtype=c.dtype) for c in self.cols})


def validate(raw: RawTable, spec: Table) -> tuple[pd.DataFrame, list[Problem], bool]:
    """Typed frame (index = row numbers), its problems, and whether every required column exists.

    Every cell is parsed by its column; problems carry file, row, column, value and rule.
    """
    label, cells, names = raw.label, raw.cells, spec.names
    problems = [Problem(label, f"unknown column{did_you_mean(c, names)} (allowed: {', '.join(names)})",
                        column=c, value=c) for c in cells.columns if c not in names]
    missing = [n for n in spec.required if n not in cells.columns]
    problems += [Problem(label, f"missing required column (required: {', '.join(spec.required)})",
                         column=n) for n in missing]
    full = cells.reindex(columns=names, fill_value="")
    data, bad, rows = {}, [], full.index.tolist()
    for j, col in enumerate(spec.cols):
        values = []
        for row, text in zip(rows, full[col.name].tolist(), strict=True):
            value, error = col.parse(text, raw.number)
            if error and not text and (why := raw.why_empty(row, col.name)):
                error = f"{error}: the cell reads as empty because {why}"
            if error and col.name in cells.columns:
                bad.append((row, j, Problem(label, error, row, col.name, text)))
            values.append(value)
        data[col.name] = values
    problems += [p for _, _, p in sorted(bad, key=lambda b: b[:2])]  # top to bottom, left to right
    df = pd.DataFrame(data, index=full.index, columns=names).astype(
        {c.name: c.dtype for c in spec.cols})
    if len(df) < spec.min_rows:
        problems.append(Problem(label, "has no data rows: at least one row below the header is "
                                       "required"))
    problems += duplicates(df, spec.key, label)
    if spec.check and not missing:
        problems += spec.check(df, full, label)
    return df, problems, not missing


def validate_entries(entries: Entries, spec: Table, label: str
                     ) -> tuple[dict[str, object], list[Problem]]:
    """Parse a key/value table (``city.yaml``, the ``city`` sheet) with ``spec``'s columns."""
    names = spec.names
    problems = [Problem(label, f"unknown key{did_you_mean(key, names)} (allowed: {', '.join(names)})",
                        row, key, key, where="key") for key, (row, _) in entries.items() if key not in names]
    values = {}
    for col in spec.cols:
        if col.name not in entries and col.required:
            problems.append(Problem(label, "missing required key (required: "
                                           f"{', '.join(spec.required)})", column=col.name, where="key"))
        row, text = entries.get(col.name, (None, ""))
        values[col.name], error = col.parse(text, parse_number)
        if error and col.name in entries:
            problems.append(Problem(label, error, row, value=text, column=col.name, where="key"))
    return values, problems


def key_values(records: Records, label: str, problems: list[Problem]) -> Entries:
    """Key/value rows of a two-column sheet (an optional header row ``key | value`` is skipped)."""
    entries: Entries = {}
    for row, cells in records:
        key, value = (cells + ["", ""])[0].strip().lower(), (cells + ["", ""])[1].strip()
        if not key or (key, value.lower()) == ("key", "value"):
            continue
        if key in entries:
            problems.append(Problem(label, f"appears twice (first at row {entries[key][0]})", row,
                                    key, value))
        entries.setdefault(key, (row, value))
    return entries


def duplicates(df: pd.DataFrame, key: tuple[str, ...], label: str) -> list[Problem]:
    """A problem for each row repeating an earlier row's ``key`` (rows with empty keys skipped)."""
    first, out = {}, []
    for row, *values in zip(df.index, *(df[k].tolist() for k in key), strict=True):
        values = tuple(values)
        if any(v == "" or (isinstance(v, float) and math.isnan(v)) for v in values):  # empty or NaN: reported already
            continue
        if values in first:
            shown = "+".join(f"{v:g}" if isinstance(v, float) else v for v in values)
            out.append(Problem(label, f"must be unique, got {shown} again (first at row "
                               f"{first[values]})", row, "+".join(key), shown))
        first.setdefault(values, row)
    return out


def listing(values: Iterable[str], most: int = 12) -> str:
    """Sorted distinct values, comma-separated, shortened after ``most``."""
    values = sorted(set(values))
    return ", ".join(values[:most]) + (", …" if len(values) > most else "") if values else "none"


def for_writing(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with object columns ready for a file: whole floats as int, NaN as empty."""
    def plain(v: object) -> object:
        if isinstance(v, float):
            return None if math.isnan(v) else int(v) if v.is_integer() else v
        return v
    return pd.DataFrame({c: pd.Series([plain(v) for v in df[c]], dtype=object) for c in df.columns},
                        columns=df.columns)

"""Errors that carry their evidence: the file, the row, the column, the value and the rule.

Messages are plain English templates (:data:`MESSAGES`) filled with named values; a
:class:`Problem` built with :meth:`Problem.about` keeps its template's ``code`` and values, so a
report can render it again from its own catalogue (e.g. in Swedish) with :func:`render`.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

# code -> English template; the values are named. A translation supplies the same codes.
MESSAGES: dict[str, str] = {
    "not_found": "file not found",
    "not_found_in": "file not found in {folder}",
    "broken_link": "is a link to {target}, which does not exist",
    "link_loop": "is a link that leads back to itself (a loop of symbolic links)",
    "permission": "cannot be read: permission denied",
    "unreadable": "cannot be read: {reason}",
    "not_regular": "must be a regular file, but is {kind}",
    "too_big": "is {size:,} bytes, more than the limit of {limit:,} bytes",
    "unpacked_too_big": "would unpack to {size:,} bytes, more than the limit of {limit:,} bytes",
    "too_many_rows": "has more than {limit:,} rows, the limit",
    "too_many_columns": "has more than {limit:,} columns, the limit",
    "too_many_cells": "has more than {limit:,} cells, the limit",
    "sheet_too_big": "sheet {sheet!r} spans {ref} ({rows:,} rows × {cols:,} columns), more than the limit "
                     "of {max_rows:,} rows × {max_cols:,} columns: delete the unused rows and columns",
    "yaml_aliases": "uses more than {limit} YAML aliases (*name), the limit",
    "yaml_values": "expands to more than {limit:,} values, the limit (aliases that repeat aliases: "
                   "an alias bomb?)",
    "yaml_depth": "nests more than {limit} levels deep, the limit",
    "encrypted": "is password-protected or encrypted (or an old .xls): save it as an .xlsx workbook "
                 "without a password",
    "mixed_encoding": "line {line} is not UTF-8 while the rest of the file is (a row pasted from "
                      "another program?): save the whole file as UTF-8",
    "unknown_key": "unknown key {key!r}{hint}",
    "unknown_choice": "must be {rule}, got {value!r}{hint}",
    "output_is_input": "is {what}: results are never written into an input folder or over an "
                       "input file; choose another folder",
    "output_not_folder": "must be a folder, but is {kind}",
    "output_not_results": "holds other files and no {marker} of an earlier result: results replace "
                          "their folder whole, so choose a new or empty folder",
    "output_not_writable": "cannot be written: {reason}",
    # a scenario key's rule (pydantic's error type after "key_"); the value given follows it
    "key_missing": "missing required key",
    "key_float_parsing": "must be a number", "key_float_type": "must be a number",
    "key_int_parsing": "must be a whole number", "key_int_type": "must be a whole number",
    "key_int_from_float": "must be a whole number",
    "key_bool_parsing": "must be true or false", "key_bool_type": "must be true or false",
    "key_string_type": "must be text", "key_path_type": "must be a path (text)",
    "key_dict_type": "must be a mapping (key: value, ...)",
    "key_model_type": "must be a mapping of keys to values",
    "key_model_attributes_type": "must be a mapping of keys to values",
    "key_finite_number": "must be a finite number",
    "key_greater_than_equal": "must be at least {ge}", "key_greater_than": "must be more than {gt}",
    "key_less_than_equal": "must be at most {le}", "key_less_than": "must be less than {lt}",
    "key_string_too_short": "must have at least {min_length} character(s)",
    "key_string_too_long": "must have at most {max_length} characters",
    "key_literal_error": "must be one of {expected}{hint}",
}


def render(code: str, params: Mapping[str, object], catalogue: Mapping[str, str] | None = None) -> str:
    """The message ``code`` filled with ``params``, from ``catalogue`` when it has the code."""
    template = (catalogue or {}).get(code) or MESSAGES[code]
    return template.format(**params)


def did_you_mean(value: object, allowed: Iterable[str]) -> str:
    """``" (did you mean 'transport'?)"`` for the closest allowed word, else ``""``."""
    words = [str(a) for a in allowed]
    text = str(value).strip()
    close = difflib.get_close_matches(text.lower(), [w.lower() for w in words], n=1, cutoff=0.6)
    if not close:
        return ""
    word = next(w for w in words if w.lower() == close[0])
    return f" (did you mean {word!r}?)"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file.

    ``row`` is the 1-based data row as a person sees it in a spreadsheet (the header is row 1,
    so the first data row is row 2); None when the problem concerns the whole file or a column.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None
    value: object = None
    where: str = "column"  # what ``column`` names: a table's "column", or a YAML file's "key" path
    code: str | None = field(default=None, compare=False)  # the MESSAGES template, if built from one
    params: Mapping[str, object] = field(default_factory=dict, compare=False)

    @classmethod
    def about(cls, code: str, file: str, *, row: int | None = None, column: str | None = None,
              value: object = None, key: str | None = None, **params: object) -> Problem:
        """A problem whose message is the template ``code`` of :data:`MESSAGES` with ``params``;
        ``key`` (a YAML key path) instead of ``column`` shows as "key ...".
        """
        return cls(file=file, message=render(code, params), row=row, column=key or column, value=value,
                   where="key" if key else "column", code=code, params=params)

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f" row {self.row}"
        if self.column is not None:
            where += f", {self.where} {self.column}"
        return f"{where}: {self.message}"


class ValidationError(ValueError):
    """Raised for invalid input; ``problems`` lists every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | Problem | str):
        if isinstance(problems, str):
            problems = [Problem(file="input", message=problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__(self.report())

    def report(self) -> str:
        """Every problem, one per line, under a count."""
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} found:"
        return "\n".join([head] + [f"  - {p}" for p in self.problems])


class ScenarioError(RuntimeError):
    """A valid scenario that cannot be computed (e.g. an infeasible constraint set)."""

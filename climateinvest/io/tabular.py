"""Raw tables from CSV files and XLSX sheets: every cell as a stripped string, nothing inferred.

This module knows text formats, not the city tables (``data.py`` holds the column specs). It
accepts what Swedish users' files really look like when the reading is unambiguous, and records a
phrase for each thing it accepted so the loader can tell the user:

- UTF-8, UTF-8 with a byte-order mark, UTF-16 with a byte-order mark, else Windows-1252 (only
  if that decodes and gives no control characters);
- comma, semicolon (Excel with a Swedish locale) or tab separators, sniffed from the header line,
  or an explicit ``sep=;`` first line;
- in semicolon-separated files a decimal comma (``12,5``); everywhere spaces, no-break spaces
  (U+00A0, U+202F, U+2009) as thousands separators in strict groups of three (``12 500 000``)
  and a typographic minus (U+2212);
- whitespace around cells and column names, column names in any case (lower-cased, unless two
  then collide), blank rows anywhere, empty unnamed trailing columns.

Rows are numbered as a person sees them: in a CSV file the header is row 1; in a sheet, the
sheet's own row numbers.
"""
from __future__ import annotations

import codecs
import csv
import io
import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import yaml

from climateinvest.io.errors import Problem

SEPARATORS = {",": "comma", ";": "semicolon", "\t": "tab"}
_SPACES = "[ \u00a0\u202f\u2009]"
# ASCII digits only: ``\d`` would also take Arabic-Indic or full-width digits, silently.
_GROUPED = re.compile(rf"[+-]?[0-9]{{1,3}}(?:{_SPACES}[0-9]{{3}})+(?:[.,][0-9]+)?")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# Largest magnitude any number cell may have unless its column says otherwise: far above any
# city's money, energy or tonnes, far below where sums over years and products overflow to inf.
MAGNITUDE = 1e15
# Smallest magnitude of a number that is not 0: below it a value is an artefact, not data, and
# ratios over it (cost per tonne over 1e-300 tonnes) overflow to inf.
TINY = 1e-100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Records = list[tuple[int, list[str]]]  # (row number as a person sees it, cells)


@dataclass
class RawTable:
    """One table as text. ``cells`` is None when there was nothing to read (empty or unreadable).

    ``cells`` columns are the normalised (stripped, lower-case) header names; its index is the
    row number; every value is a stripped ``str`` ("" for an empty cell).
    """

    label: str  # how messages name it: "measures.csv" or "city.xlsx:measures"
    cells: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # phrases, e.g. "read as Windows-1252"
    decimal_comma: bool = False
    number_formats: set[str] = field(default_factory=set)  # formats met by number()

    def number(self, text: str) -> float | None:
        """The number in ``text`` (see ``parse_number``), remembering the formats met."""
        return parse_number(text, self.decimal_comma, self.number_formats)

    def summary(self) -> str | None:
        """One sentence on what was accepted, or None when the file was clean."""
        parts = list(self.notes)
        if self.number_formats:
            parts.append("numbers with " + " and ".join(sorted(self.number_formats)))
        return f"{self.label}: " + "; ".join(parts) if parts else None


def parse_number(text: str, decimal_comma: bool = False, formats: set[str] | None = None
                 ) -> float | None:
    """The finite number written in ``text``, or None if it is not one unambiguously.

    ``decimal_comma`` allows ``12,5`` (never together with a ``.``); thousands separators are
    spaces in strict groups of three. Each format met is added to ``formats``.
    """
    formats = set() if formats is None else formats
    t = text.strip().replace("\u2212", "-")
    if _GROUPED.fullmatch(t):
        t = re.sub(_SPACES, "", t)
        formats.add("spaces as thousands separators")
    if "," in t:
        if not decimal_comma or "." in t or t.count(",") > 1:
            return None
        t = t.replace(",", ".")
        formats.add("decimal comma")
    if not _NUMBER.fullmatch(t):
        return None
    x = float(t)
    return x if math.isfinite(x) else None


def decode(data: bytes) -> tuple[str, list[str]]:
    """Text of ``data`` and phrases on how it was read; ValueError if it is not text we know."""
    notes = []
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16"), ["read as UTF-16"]
        except UnicodeDecodeError as e:
            raise ValueError(f"starts like UTF-16 text but is not ({e.reason})") from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8):]
        notes.append("UTF-8 with byte-order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        try:
            text = data.decode("cp1252")
        except UnicodeDecodeError:
            raise ValueError(f"not UTF-8 or Windows-1252 text (byte 0x{data[e.start]:02x} at "
                             f"position {e.start})") from None
        notes.append("read as Windows-1252")
    if bad := _CONTROL.search(text):
        raise ValueError(f"not UTF-8 or Windows-1252 text (control character "
                         f"U+{ord(bad.group()):04X} at position {bad.start()}: a binary file?)")
    return text, notes


def read_text(path: Path, label: str) -> tuple[str | None, list[str], list[Problem]]:
    """Decoded text of a file, phrases on how it was read, and problems (text None if any)."""
    try:
        return *decode(path.read_bytes()), []
    except ValueError as e:
        return None, [], [Problem(file=label, message=str(e))]
    except OSError as e:
        return None, [], [Problem(file=label, message=f"cannot be read: {e.strerror}")]


def read_csv(path: Path, label: str) -> RawTable:
    """Read a delimited text file; the separator is sniffed from the header line."""
    text, notes, problems = read_text(path, label)
    if text is None:
        return RawTable(label, problems=problems)
    lines = re.split(r"\r\n|[\r\n]", text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return RawTable(label, notes=notes)
    header = lines[first]
    if re.fullmatch(r"sep=.", header.strip()):
        sep = header.strip()[-1]
        notes.append(f"separator taken from its '{header.strip()}' line")
        text = "\n".join(lines[first + 1:])
    else:
        sep = ";" if ";" in header and "," not in header else \
              "\t" if "\t" in header and not {",", ";"} & set(header) else ","
        text = "\n".join(lines[first:])
    if sep != ",":
        notes.append(f"{SEPARATORS.get(sep, repr(sep))}-separated")
    records: Records = []
    reader = csv.reader(io.StringIO(text), delimiter=sep)
    try:
        for row in reader:
            records.append((len(records) + 1, row))
    except csv.Error as e:  # e.g. a cell longer than csv.field_size_limit()
        return RawTable(label, problems=[Problem(label, f"cannot be read as a table ({e})",
                                                 row=len(records) + 1)], notes=notes)
    table = from_records(label, records, blank_rows_note=True)
    table.notes[:0] = notes
    table.decimal_comma = sep == ";"
    return table


def from_records(label: str, records: Records, blank_rows_note: bool = False) -> RawTable:
    """A RawTable from rows of cells; the first non-blank row is the header."""
    table = RawTable(label)
    rows = [(n, [c.strip() for c in cells]) for n, cells in records if any(c.strip() for c in cells)]
    if not rows:
        return table
    (top, raw_header), body = rows[0], rows[1:]
    width = len(raw_header)
    blank = sum(1 for n, cells in records if n > top and not any(c.strip() for c in cells))
    if blank_rows_note and blank:
        table.notes.append(f"{blank} blank row{'s' if blank > 1 else ''} ignored")
    if any(c != c.strip() for n, cells in records if n == top for c in cells):
        table.notes.append("spaces around column names removed")
    if any(h != h.lower() for h in raw_header):
        table.notes.append("column names read case-insensitively")
    names = [h.lower() for h in raw_header]
    keep, seen = [], {}
    for j, name in enumerate(names):
        if not name:
            if any(j < len(cells) and cells[j] for _, cells in body):
                table.problems.append(Problem(label, f"column {j + 1} has values but no name in "
                                              "the header"))
            continue
        if name in seen:
            table.problems.append(Problem(label, "appears more than once in the header ("
                                          f"{raw_header[seen[name]]!r} and {raw_header[j]!r})",
                                          column=name))
            continue
        seen[name] = j
        keep.append(j)
    data = []
    for n, cells in body:
        if any(cells[width:]):
            table.problems.append(Problem(label, f"has {len(cells)} cells but the header has "
                                          f"{width} columns", row=n))
        cells = cells + [""] * (width - len(cells))
        data.append([cells[j] for j in keep])
    table.cells = pd.DataFrame(data, columns=[names[j] for j in keep],
                               index=pd.Index([n for n, _ in body], name="row"), dtype="str")
    return table


class _SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (no Python objects from tags) that also refuses a key given twice in
    one mapping: PyYAML would keep the last one silently (``discount_rate`` at the top and again
    at the bottom: which one did the author mean?).
    """

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":  # "<<": keys merged from an anchor
                    continue
                key = self.construct_object(key_node, deep=deep)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:  # unhashable: the base class says so
                    break
                if first is not key_node.start_mark:
                    raise yaml.constructor.ConstructorError(
                        "while constructing a mapping", node.start_mark,
                        f"found the key {key!r} twice (first at line {first.line + 1})",
                        key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def load_yaml(text: str) -> object:
    """``text`` parsed as YAML, safely (plain data only) and with every key at most once per
    mapping. Raises ``yaml.YAMLError``, or ValueError / RecursionError for absurd input (an
    integer of thousands of digits, thousands of nested brackets).
    """
    return yaml.load(text, Loader=_SafeLoader)  # a SafeLoader subclass: plain data only


def cell_text(value: object) -> str:
    """A spreadsheet cell as text: whole floats without ".0", dates as ISO 8601, None as ""."""
    if value is None:
        return ""
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def read_workbook(path: Path) -> tuple[dict[str, tuple[str, Records]], list[Problem]]:
    """Every sheet of an XLSX workbook as records, keyed by lower-case sheet name (with its
    title as written). Values are cached results, so formulas read as what Excel last showed.
    """
    from openpyxl import load_workbook
    sheets = {}
    try:
        book = load_workbook(path, data_only=True)
        for ws in book.worksheets:
            records = [(n, [cell_text(v) for v in row])
                       for n, row in enumerate(ws.iter_rows(min_row=1, values_only=True), start=1)]
            sheets.setdefault(ws.title.strip().lower(), (ws.title, records))
    # Not only OSError, BadZipFile, InvalidFileException, KeyError and ValueError: a damaged file
    # also raises zlib.error, an XML ParseError, NotImplementedError (unknown compression), ...
    except Exception as e:  # noqa: BLE001 - whatever openpyxl cannot read is unreadable
        return {}, [Problem(path.name, f"not a readable .xlsx workbook ({type(e).__name__}: {e})")]
    return sheets, []


def write_workbook(sheets: dict[str, pd.DataFrame], path: Path) -> None:
    """Write one sheet per frame (header row frozen, columns wide enough to read).

    Text is written as text: a cell such as ``=1+2`` or ``=HYPERLINK(...)`` from a data file is
    not turned into a formula (openpyxl would, and Excel would then run it).
    """
    from openpyxl.utils import get_column_letter
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            frame.to_excel(writer, sheet_name=name, index=False)
            ws = writer.sheets[name]
            text_cells(ws)
            ws.freeze_panes = "A2"
            for j, column in enumerate(frame.columns, start=1):
                longest = max([len(str(column))] + [len(cell_text(v)) for v in frame[column]])
                ws.column_dimensions[get_column_letter(j)].width = min(60, longest + 2)


def text_cells(ws) -> None:
    """Make every cell of an openpyxl worksheet that openpyxl took for a formula (a string
    starting with ``=``) a plain string cell again, so it is stored and shown as the text it is.
    """
    for row in ws.iter_rows():
        for c in row:
            if c.data_type == "f" and isinstance(c.value, str):
                c.data_type = "s"

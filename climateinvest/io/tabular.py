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

Limits, checked before (or while) parsing, each named in its refusal: a file of at most
``files.MAX_INPUT_BYTES``; a workbook unpacking to at most :data:`MAX_UNPACKED_BYTES`; a table of
at most :data:`MAX_ROWS` rows, :data:`MAX_COLUMNS` columns and :data:`MAX_CELLS` cells; YAML with
at most :data:`MAX_YAML_ALIASES` aliases, :data:`MAX_YAML_DEPTH` levels of nesting and
:data:`MAX_YAML_VALUES` values with every alias expanded. Only
regular files are read (``files.read_input``).
"""
from __future__ import annotations

import codecs
import csv
import io
import math
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import yaml

from climateinvest.io.errors import Problem, ValidationError, render
from climateinvest.io.files import read_input

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
# A comma followed by exactly three digits after 1–3 digits not starting with 0: "30,000" is 30
# with a decimal comma but thirty thousand to anyone used to English number formats.
_AMBIGUOUS_COMMA = re.compile(r"[+-]?[1-9][0-9]{0,2},[0-9]{3}")
_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")

MAX_ROWS = 100_000  # rows of one table (header included): far above any city's measures or prices
MAX_COLUMNS = 100  # columns of one table or sheet
MAX_CELLS = 2_000_000  # cells of one table
MAX_UNPACKED_BYTES = 200 * 2**20  # everything inside one .xlsx workbook, unpacked (zip bombs)
MAX_YAML_ALIASES = 100  # *alias references in one YAML file (alias bombs)
MAX_YAML_DEPTH = 30  # nesting of mappings and lists in one YAML file
MAX_YAML_VALUES = 100_000  # values of one YAML file with every alias expanded (a scenario has ~50)

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
    sheet: Sheet | None = None  # the sheet it came from (why some cells are empty)
    positions: dict[str, int] = field(default_factory=dict)  # column name -> index in the sheet

    def why_empty(self, row: int, column: str) -> str | None:
        """Why the cell reads as empty when the sheet says (a formula never calculated, a merged
        range), else None.
        """
        from openpyxl.utils import get_column_letter

        j = self.positions.get(column)
        if self.sheet is None or j is None:
            return None
        if (row, j) in self.sheet.formulas:
            return "it holds a formula without a saved result (open the file in Excel and save it again)"
        for c1, r1, c2, r2 in self.sheet.merged:
            if r1 <= row <= r2 and c1 <= j + 1 <= c2 and (row, j + 1) != (r1, c1):
                return (f"it is part of merged cells ({get_column_letter(c1)}{r1}:"
                        f"{get_column_letter(c2)}{r2}): unmerge them and fill every cell")
        return None

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

    ``decimal_comma`` allows ``12,5`` (never together with a ``.``), but not ``30,000`` (1–3
    digits, a comma, exactly three digits: 30 or thirty thousand? see :func:`ambiguous`);
    thousands separators are spaces in strict groups of three. Each format met is added to
    ``formats``.
    """
    formats = set() if formats is None else formats
    t = text.strip().replace("\u2212", "-")
    if _GROUPED.fullmatch(t):
        t = re.sub(_SPACES, "", t)
        formats.add("spaces as thousands separators")
    if "," in t:
        if not decimal_comma or "." in t or t.count(",") > 1 or _AMBIGUOUS_COMMA.fullmatch(t):
            return None
        t = t.replace(",", ".")
        formats.add("decimal comma")
    if not _NUMBER.fullmatch(t):
        return None
    x = float(t)
    return x if math.isfinite(x) else None


def ambiguous(text: str) -> bool:
    """True for a number such as ``30,000`` that a decimal comma reads as 30 and English
    habits as 30 000: refused, with :data:`AMBIGUOUS_RULE` in the message.
    """
    return bool(_AMBIGUOUS_COMMA.fullmatch(text.strip().replace("\u2212", "-")))


AMBIGUOUS_RULE = ("a comma before exactly three digits could be a decimal or a thousands separator: "
                  "write 30000 (or 30 000) for thirty thousand, 30 or 30,0 for thirty")


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
        if _UTF8_MULTIBYTE.search(data):  # UTF-8 letters elsewhere: one part is in another encoding
            raise ValueError(render("mixed_encoding", {"line": data.count(b"\n", 0, e.start) + 1})) from None
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
    """Decoded text of a file, phrases on how it was read, and problems (text None if any).

    Only a regular file within the size limit is read (``files.read_input``).
    """
    try:
        return *decode(read_input(path, label)), []
    except ValidationError as e:
        return None, [], e.problems
    except ValueError as e:
        return None, [], [Problem(file=label, message=str(e))]


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
    cells = 0
    try:
        for row in reader:
            records.append((len(records) + 1, row))
            cells += len(row)
            if (limit := too_large(len(records), len(row), cells, label)) is not None:
                return RawTable(label, problems=[limit], notes=notes)
    except csv.Error as e:  # e.g. a cell longer than csv.field_size_limit()
        return RawTable(label, problems=[Problem(label, f"cannot be read as a table ({e})",
                                                 row=len(records) + 1)], notes=notes)
    table = from_records(label, records, blank_rows_note=True)
    table.notes[:0] = notes
    table.decimal_comma = sep == ";"
    return table


def too_large(rows: int, width: int, cells: int, label: str) -> Problem | None:
    """A Problem when a table passes :data:`MAX_ROWS`, :data:`MAX_COLUMNS` or :data:`MAX_CELLS`."""
    if rows > MAX_ROWS:
        return Problem.about("too_many_rows", label, limit=MAX_ROWS)
    if width > MAX_COLUMNS:
        return Problem.about("too_many_columns", label, row=rows, limit=MAX_COLUMNS)
    if cells > MAX_CELLS:
        return Problem.about("too_many_cells", label, limit=MAX_CELLS)
    return None


def from_records(label: str, records: Records, blank_rows_note: bool = False,
                 sheet: Sheet | None = None) -> RawTable:
    """A RawTable from rows of cells (of ``sheet``, if given); the first non-blank row is the header."""
    table = RawTable(label, sheet=sheet)
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
        table.positions[name] = j
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


class YamlLimit(ValueError):
    """A YAML file beyond :data:`MAX_YAML_ALIASES` or :data:`MAX_YAML_DEPTH` (message says which)."""


class _SafeLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` (no Python objects from tags) that also refuses a key given twice in
    one mapping: PyYAML would keep the last one silently (``discount_rate`` at the top and again
    at the bottom: which one did the author mean?). Aliases and nesting are counted while the
    document is composed, before anything is built: a 400-byte alias bomb stops at once.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0
        self._depth = 0
        self._sizes: dict[int, int] = {}
        self._keep: list = []

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > MAX_YAML_ALIASES:
                raise YamlLimit(render("yaml_aliases", {"limit": MAX_YAML_ALIASES}))
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise YamlLimit(render("yaml_depth", {"limit": MAX_YAML_DEPTH}))
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if id(node) not in self._sizes:  # values with aliases expanded (an aliased node counts each time)
            children = node.value if isinstance(node, yaml.SequenceNode) else \
                [n for pair in node.value for n in pair] if isinstance(node, yaml.MappingNode) else []
            self._sizes[id(node)] = 1 + sum(self._sizes.get(id(c), 1) for c in children)
            self._keep.append(node)  # ids stay unique while the sizes are used
            if self._sizes[id(node)] > MAX_YAML_VALUES:
                raise YamlLimit(render("yaml_values", {"limit": MAX_YAML_VALUES}))
        return node

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
    mapping, at most :data:`MAX_YAML_ALIASES` aliases and :data:`MAX_YAML_DEPTH` levels deep.
    Raises ``yaml.YAMLError``, :class:`YamlLimit`, or ValueError / RecursionError for other
    absurd input (an integer of thousands of digits).
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


class Sheet(NamedTuple):
    """One sheet as records, with the cells that read as empty for a reason: formulas without a
    saved result ``(row, column index)`` and merged ranges ``(first col, first row, last col,
    last row)``, 1-based columns as in openpyxl.
    """

    title: str
    records: Records
    formulas: frozenset[tuple[int, int]] = frozenset()
    merged: tuple[tuple[int, int, int, int], ...] = ()


_ENCRYPTED = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE file: a password-protected .xlsx or an .xls


def read_workbook(path: Path, wanted: Iterable[str] | None = None
                  ) -> tuple[dict[str, Sheet], list[str], list[Problem]]:
    """The sheets of an XLSX workbook whose lower-case, stripped names are in ``wanted`` (all if
    None), keyed by that name; notes; problems. Values are cached results, so formulas read as
    what Excel last showed (a formula never calculated reads as empty, with that reason).

    Checked before parsing: the file (``files.read_input``), a password (refused in plain
    words), the unpacked size (:data:`MAX_UNPACKED_BYTES`), each sheet's rows and columns
    (:data:`MAX_ROWS`, :data:`MAX_COLUMNS`, :data:`MAX_CELLS`; cells are streamed, never laid
    out as a full grid). Two sheets with the same name up to case and spaces: the visible one
    is read (a note says so); two visible ones are a problem.
    """
    from openpyxl import load_workbook

    label = path.name
    try:
        data = read_input(path, label)
    except ValidationError as e:
        return {}, [], e.problems
    if data.startswith(_ENCRYPTED):
        return {}, [], [Problem.about("encrypted", label)]
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            unpacked = sum(i.file_size for i in z.infolist())
        if unpacked > MAX_UNPACKED_BYTES:
            return {}, [], [Problem.about("unpacked_too_big", label, size=unpacked, limit=MAX_UNPACKED_BYTES)]
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        want = None if wanted is None else set(wanted)
        chosen: dict[str, object] = {}
        notes, problems = [], []
        for ws in book.worksheets:
            key = ws.title.strip().lower()
            if want is not None and key not in want:
                continue
            other = chosen.get(key)
            if other is None:
                chosen[key] = ws
                continue
            visible = [w for w in (other, ws) if getattr(w, "sheet_state", "visible") == "visible"]
            if len(visible) == 2:
                problems.append(Problem(label, f"has two sheets read as {key!r} ({other.title!r} and "
                                        f"{ws.title!r}): rename or delete one"))
            elif visible:
                hidden = ws if visible[0] is other else other
                chosen[key] = visible[0]
                notes.append(f"{label}: hidden sheet {hidden.title!r} ignored, the visible "
                             f"{visible[0].title!r} is read")
        sheets = {}
        for key, ws in chosen.items():
            if getattr(ws, "sheet_state", "visible") != "visible":
                notes.append(f"{label}: sheet {ws.title!r} is hidden (read all the same)")
            sheet = _read_sheet(book, ws, f"{label}:{key}")
            if isinstance(sheet, Problem):
                problems.append(sheet)
            else:
                sheets[key] = sheet
        titles = [ws.title for ws in book.worksheets]
        book.close()
    # Not only OSError, BadZipFile, InvalidFileException, KeyError and ValueError: a damaged file
    # also raises zlib.error, an XML ParseError, NotImplementedError (unknown compression), ...
    except Exception as e:  # noqa: BLE001 - whatever openpyxl cannot read is unreadable
        return {}, [], [Problem(label, f"not a readable .xlsx workbook ({_plain(e)})")]
    if want is not None and not sheets:
        notes.append(f"{label}: sheets {', '.join(repr(t) for t in titles)}")
    return sheets, notes, problems


def _plain(e: Exception) -> str:
    """An exception as words: its message, or its kind when it has none."""
    text = str(e).strip()
    kind = re.sub(r"(?<!^)(?=[A-Z])", " ", type(e).__name__).lower()
    return f"{kind}: {text}" if text else kind


def _read_sheet(book, ws, label: str) -> Sheet | Problem:
    """Stream one read-only worksheet's cells (present cells only) within the limits."""
    from openpyxl.worksheet._reader import FORMULA_TAG, WorkSheetParser

    class Parser(WorkSheetParser):  # also says which cells are formulas without a saved value
        def parse_cell(self, element):
            cell = super().parse_cell(element)
            if cell["value"] is None and element.find(FORMULA_TAG) is not None:
                cell["formula"] = True
            return cell

    dims = (ws.max_row or 0, ws.max_column or 0)
    if dims[0] > MAX_ROWS or dims[1] > MAX_COLUMNS:
        return Problem.about("sheet_too_big", label, sheet=ws.title, ref=ws.calculate_dimension(),
                             rows=dims[0], cols=dims[1], max_rows=MAX_ROWS, max_cols=MAX_COLUMNS)
    from openpyxl.utils.cell import range_boundaries

    records: Records = []
    formulas = set()
    cells = 0
    with ws._get_source() as src:
        parser = Parser(src, ws._shared_strings, data_only=True, epoch=book.epoch,
                        date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for n, row in parser.parse():
            width = max((c["column"] for c in row), default=0)
            cells += width
            if (limit := too_large(n, width, cells, label)) is not None:
                return limit
            values = [""] * width
            for c in row:
                values[c["column"] - 1] = cell_text(c["value"])
                if c.get("formula"):
                    formulas.add((n, c["column"] - 1))
            records.append((n, values))
        merged = tuple(range_boundaries(rng.ref) for rng in
                       (parser.merged_cells.mergeCell if parser.merged_cells else ()))
    return Sheet(ws.title, records, frozenset(formulas), merged)


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

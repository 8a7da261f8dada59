"""Safe files: inputs read within limits, outputs written all-or-nothing, never over inputs.

Reading: only regular files are read (no named pipes, devices, folders or symbolic-link loops),
at most :data:`MAX_INPUT_BYTES` each, checked before a byte is parsed (:func:`read_input`).

Writing: every file atomically (:func:`atomic_write_bytes`); a folder of results is built in a
fresh hidden sibling and moved into place at the end (:func:`publish_folder`); nothing is written
into an input folder or over an input file (:func:`check_output`); result CSVs neutralise
formula-leading text (:func:`csv_safe`, OWASP's rule) and JSON holds no Infinity or NaN
(:func:`json_safe`).
"""
from __future__ import annotations

import errno
import hashlib
import io
import json
import math
import numbers
import os
import re
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from climateinvest.io.errors import Problem, ValidationError

MAX_INPUT_BYTES = 50 * 2**20  # one input file (CSV, YAML, XLSX) on disk: 50 MiB

_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` via a temporary file in the same folder and ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; a report is for others to read
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` as UTF-8 atomically (see :func:`atomic_write_bytes`)."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def sha256_file(path: str | Path) -> str:
    """The SHA-256 hex digest of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def deterministic_xlsx(data: bytes) -> bytes:
    """The same workbook with its save time fixed (``docProps/core.xml`` and every zip member's
    date), so that identical results give byte-identical XLSX files.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info)
            if info.filename == "docProps/core.xml":
                body = re.sub(rb"(<dcterms:(created|modified)[^>]*>)[^<]*", rb"\g<1>2000-01-01T00:00:00Z", body)
            dst.writestr(zipfile.ZipInfo(info.filename, date_time=(2000, 1, 1, 0, 0, 0)), body,
                         compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


# --- reading inputs -----------------------------------------------------------------------------

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISDIR, "a folder"), (stat.S_ISSOCK, "a socket"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def input_problem(path: str | Path, label: str) -> Problem | None:
    """Why ``path`` cannot be read as an input file (a Problem), or None if it is a regular file.

    Links are followed; a broken link, a loop of links, a pipe, a device or a folder is a problem.
    """
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return Problem.about("broken_link", label, target=os.readlink(path))
        return Problem.about("not_found", label)
    except OSError as e:
        if e.errno == errno.ELOOP:
            return Problem.about("link_loop", label)
        if e.errno == errno.EACCES:
            return Problem.about("permission", label)
        return Problem.about("unreadable", label, reason=(e.strerror or str(e)).lower())
    if not stat.S_ISREG(st.st_mode):
        return Problem.about("not_regular", label, kind=_kind(st.st_mode))
    return None


def read_input(path: str | Path, label: str, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises ``ValidationError`` (one Problem naming ``label``) for anything else: missing, a broken
    link or a loop of links, a pipe or a device (never waited on: opened non-blocking), a folder,
    unreadable, or larger than ``limit`` [bytes] (checked before reading, and while reading).
    """
    if (problem := input_problem(path, label)) is not None:
        raise ValidationError(problem)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as e:
        raise ValidationError(Problem.about("unreadable", label, reason=(e.strerror or str(e)).lower())) from None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):  # swapped for a pipe since the check above
            raise ValidationError(Problem.about("not_regular", label, kind=_kind(st.st_mode)))
        if st.st_size > limit:
            raise ValidationError(Problem.about("too_big", label, size=st.st_size, limit=limit))
        try:
            data = f.read(limit + 1)
        except OSError as e:
            raise ValidationError(Problem.about("unreadable", label, reason=(e.strerror or str(e)).lower())) from None
    if len(data) > limit:  # grew while read
        raise ValidationError(Problem.about("too_big", label, size=len(data), limit=limit))
    return data


# --- where outputs go ---------------------------------------------------------------------------

def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(out: str | Path, inputs: Iterable[str | Path], label: str = "--out", *,
                 replaces: str | None = None) -> Path:
    """``out`` resolved, after checking that results may go there; else ``ValidationError``.

    Refused: ``out`` is an input file, lies in (or is) an input *folder* (a city folder), or
    holds an input file at any depth; ``out`` exists and is not a folder; the nearest existing
    folder cannot be written. With ``replaces`` (a file name such as ``manifest.json``), an
    existing non-empty ``out`` must hold that file: only an earlier result folder is replaced
    whole by :func:`publish_folder`, never a folder of other files.
    """
    label = f"{label} {out}"
    try:
        target = Path(out).expanduser().resolve()
    except (OSError, RuntimeError, ValueError) as e:
        raise ValidationError(Problem.about("output_not_writable", label, value=str(out),
                                            reason=str(e))) from None
    for given in inputs:
        p = Path(given).resolve()
        if target == p:
            what = "an input file" if not p.is_dir() else "an input folder"
        elif p.is_dir() and _inside(target, p):
            what = f"inside the input folder {p}"
        elif _inside(p, target):
            what = f"a folder that holds the input {p}"
        else:
            continue
        raise ValidationError(Problem.about("output_is_input", label, value=str(out), what=what))
    if target.exists() and not target.is_dir():
        try:
            kind = "a file" if target.is_file() else _kind(os.stat(target).st_mode)
        except OSError:
            kind = "not a folder"
        raise ValidationError(Problem.about("output_not_folder", label, value=str(out), kind=kind))
    if replaces and target.is_dir() and any(target.iterdir()) and not (target / replaces).is_file():
        raise ValidationError(Problem.about("output_not_results", label, value=str(out), marker=replaces))
    above = next(p for p in (target, *target.parents) if p.exists())
    if not above.is_dir() or not os.access(above, os.W_OK | os.X_OK):
        raise ValidationError(Problem.about("output_not_writable", label, value=str(out),
                                            reason=f"{above} is not a writable folder"))
    return target


def publish_folder(out: str | Path, write: Callable[[Path], None]) -> Path:
    """Build a folder of results all-or-nothing: ``write(tmp)`` fills a fresh hidden sibling
    ``.<name>.partial-*`` of ``out``, which then replaces ``out`` (the previous content, if any,
    is moved aside first and removed after). A failure or an interrupt at any point leaves
    ``out`` as it was (or absent) and removes the partial folder.
    """
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    old = None
    try:
        os.chmod(tmp, 0o777 & ~_UMASK)
        write(tmp)
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / out.name)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old is not None:
                os.replace(old / out.name, out)
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return out


# --- what is written ----------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # OWASP "CSV injection": text starting so


def _neutral(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell and column name that starts with ``=``, ``+``, ``-``, ``@``,
    a tab or a carriage return prefixed with ``'`` (OWASP's rule against CSV injection), so a
    spreadsheet shows it as text instead of running it. Numbers are untouched (``-5`` stays a
    number); only ``str`` values change.
    """
    out = df.copy()
    out.columns = [_neutral(c) if isinstance(c, str) else c for c in df.columns]
    for j in range(out.shape[1]):
        col = out.iloc[:, j]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            out.isetitem(j, col.map(lambda v: _neutral(v) if isinstance(v, str) else v))
    return out


def json_safe(obj: object, path: str = "", notes: list[str] | None = None) -> object:
    """``obj`` with every non-finite number (inf, -inf, NaN) replaced by None, and a phrase per
    replacement appended to ``notes`` (``"summary.portfolio.gap: inf written as null"``); numpy
    scalars become Python numbers. The result passes ``json.dumps(..., allow_nan=False)``.
    """
    if isinstance(obj, dict):
        return {k: json_safe(v, f"{path}.{k}" if path else str(k), notes) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v, f"{path}[{i}]", notes) for i, v in enumerate(obj)]
    if obj is None or isinstance(obj, bool | str):
        return obj
    if getattr(getattr(obj, "dtype", None), "kind", "") == "b":  # numpy bool
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        x = float(obj)
        if math.isfinite(x):
            return x
        if notes is not None:
            notes.append(f"{path or 'value'}: {x} written as null")
        return None
    return obj


def json_text(obj: object) -> str:
    """``obj`` as indented, valid JSON (no Infinity or NaN: see :func:`json_safe`); when values
    were replaced, a top-level ``"json_notes"`` list says which.
    """
    notes: list[str] = []
    clean = json_safe(obj, notes=notes)
    if notes and isinstance(clean, dict):
        clean["json_notes"] = notes
    return json.dumps(clean, indent=2, ensure_ascii=False, default=str, allow_nan=False) + "\n"

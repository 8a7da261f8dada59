"""What people type, read as they mean it: percentages and money amounts, Swedish or English.

A finance officer types ``3``, ``3 %``, ``2,5 %`` or ``0.025`` for a rate and ``10 000``,
``10 000 000``, ``12,5 mnkr`` or ``2.5 MSEK`` for money. Each reader returns the number and the
text it was read as; anything it cannot read, or a value outside the allowed range, raises
:class:`InputError` with a sentence saying what was typed, what it was read as and what is
allowed. Nothing is clamped silently.

Rules
-----
* Spaces of every kind (normal, no-break U+00A0, narrow no-break U+202F, thin U+2009), ``_`` and
  ``'`` group thousands and are ignored.
* The decimal mark is a comma or a point. When both occur, the last one is the decimal mark
  (``1.234,5`` and ``1,234.5`` are both 1234.5). A single comma or point is a decimal mark.
* A percentage: with a ``%`` sign the number is in percent; without it a number whose magnitude
  is at least 1 is read as percent (``3`` → 3 %) and a smaller one as a share (``0.025`` →
  2.5 %). So ``0,5`` is 50 %: write ``0,5 %`` for half a percent (the message says so when the
  range refuses it).
* Money: an optional unit ``kr``, ``SEK``, ``EUR`` (× 1), ``tkr``/``kSEK`` (× 1 000) or
  ``mnkr``/``Mkr``/``MSEK``/``MEUR`` (× 1 000 000), any case.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from climateinvest.report.formatting import fmt_number
from climateinvest.report.i18n import t

_GROUPING = re.compile(r"[\s\u00a0\u202f\u2009_']")
_MINUS = str.maketrans({"\u2212": "-", "\u2013": "-"})
_MONEY_UNITS = {"": 1.0, "kr": 1.0, "sek": 1.0, "eur": 1.0, "€": 1.0, "tkr": 1e3, "ksek": 1e3, "keur": 1e3,
                "mnkr": 1e6, "mkr": 1e6, "msek": 1e6, "meur": 1e6, "mn": 1e6}


class InputError(ValueError):
    """Input that cannot be used; ``str(error)`` is the sentence to show."""


@dataclass(frozen=True)
class Read:
    """A typed input as read: ``value`` (a share for percentages, currency units for money)
    and ``shown``, the value written back the way it was understood.
    """

    value: float
    shown: str


def _pct(share: float) -> str:
    """A share as the report writes a percentage, with at most two decimals: "2,5 %"."""
    text = fmt_number(share * 100, 2)
    point = "," if "," in fmt_number(0.5, 1) else "."
    if point in text:
        text = text.rstrip("0").rstrip(point)
    return f"{text}\u202f%"


def number(text: str) -> float:
    """The number in ``text`` by the module's rules (grouping and decimal marks); InputError if none."""
    raw = str(text)
    s = _GROUPING.sub("", raw.translate(_MINUS))
    if "," in s and "." in s:
        decimal = "," if s.rfind(",") > s.rfind(".") else "."
        s = s.replace("." if decimal == "," else ",", "").replace(",", ".")
    elif s.count(",") == 1:
        s = s.replace(",", ".")
    try:
        value = float(s)
    except ValueError:
        raise InputError(t("in.not_number", text=raw.strip())) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InputError(t("in.not_number", text=raw.strip()))
    return value


def percent(text: str, low: float, high: float, what: str) -> Read:
    """A rate typed as ``3``, ``3 %``, ``2,5 %`` or ``0.025`` as a share, within [``low``,
    ``high``] (shares); ``what`` names the field in the message.
    """
    raw = str(text).strip()
    has_sign = raw.endswith("%")
    body = raw.rstrip("%").strip()
    allowed = t("in.allowed", low=_pct(low), high=_pct(high))
    if not body:
        raise InputError(t("in.empty", what=what, allowed=allowed))
    value = number(body)
    share = value / 100.0 if has_sign or abs(value) >= 1 else value
    shown = _pct(share)
    if not low - 1e-12 <= share <= high + 1e-12:
        hint = t("in.pct_hint", typed=raw) if not has_sign and abs(value) < 1 else ""
        raise InputError(t("in.range", what=what, typed=raw, shown=shown, hint=hint, allowed=allowed))
    return Read(share, shown)


def money(text: str, low: float, high: float, what: str, currency: str = "") -> Read:
    """An amount typed as ``10 000``, ``10 000 000``, ``12,5 mnkr`` or ``2.5 MSEK`` in currency
    units, within [``low``, ``high``]; ``what`` names the field in the message.
    """
    raw = str(text).strip()
    m = re.fullmatch(r"(.*?)\s*([A-Za-z€]*)\.?", raw)
    body, unit = (m.group(1), m.group(2)) if m else (raw, "")
    if unit.lower() not in _MONEY_UNITS:
        raise InputError(t("in.unit", what=what, unit=unit))
    cur = f"\u00a0{currency}" if currency else ""
    allowed = t("in.allowed", low=fmt_number(low) + cur, high=fmt_number(high) + cur)
    if not body:
        raise InputError(t("in.empty", what=what, allowed=allowed))
    value = number(body) * _MONEY_UNITS[unit.lower()]
    shown = fmt_number(value) + cur
    if not low <= value <= high:
        raise InputError(t("in.range", what=what, typed=raw, shown=shown, hint="", allowed=allowed))
    return Read(value, shown)

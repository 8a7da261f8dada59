"""The report's language and the city words it needs, and the one way to get a text: ``t(key)``.

A report is written in one language, Swedish (``sv``) or English (``en``). ``choose_language``
decides it (the command line's ``--lang``, else the scenario's ``language``, else ``sv`` for a
city whose ``city.yaml`` says ``country: SE`` and ``en`` otherwise). ``use(context)`` makes a
:class:`Context` current for the report being built (the notebook's ``report.load`` does it):
every heading, label and number then follows it. Texts come from ``messages.MESSAGES`` only.
"""
from __future__ import annotations

import contextvars
from collections.abc import Mapping
from dataclasses import dataclass, field

from climateinvest.io.output_columns import LANGUAGES, default_language
from climateinvest.report.messages import MESSAGES


@dataclass(frozen=True)
class Context:
    """What a report needs to word its numbers: the language, the currency, the city's names of
    its funding sources (id → name) and its sectors.
    """

    lang: str = "en"
    currency: str = ""
    funding_sources: Mapping[str, str] = field(default_factory=dict)
    sectors: frozenset[str] = frozenset()


_CURRENT: contextvars.ContextVar[Context | None] = contextvars.ContextVar("climateinvest_report", default=None)
_DEFAULT = Context()


def use(context: Context) -> Context:
    """Make ``context`` the current one (for the rest of this notebook or thread); returns it."""
    if context.lang not in LANGUAGES:
        raise ValueError(f"language {context.lang!r} is not supported; allowed: {', '.join(LANGUAGES)}")
    _CURRENT.set(context)
    return context


def current() -> Context:
    """The current context (English, no currency, before ``use``)."""
    return _CURRENT.get() or _DEFAULT


def lang() -> str:
    """The current language, ``"sv"`` or ``"en"``."""
    return current().lang


def choose_language(override: str | None, scenario_language: str | None, country: str | None) -> str:
    """``override`` (``--lang``) if given, else the scenario's ``language``, else ``sv`` for a
    Swedish city (``country: SE``) and ``en`` for any other.
    """
    return default_language(override or scenario_language, country)


def t(key: str, /, **values) -> str:
    """The text ``key`` of the message catalogue in the current language, ``{name}`` fields
    filled from ``values`` (already escaped or formatted by the caller).
    """
    try:
        english, swedish = MESSAGES[key]
    except KeyError:
        raise KeyError(f"no message {key!r} in climateinvest/report/messages.py") from None
    text = swedish if lang() == "sv" else english
    return text.format(**values) if values else text

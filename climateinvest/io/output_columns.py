"""The output column registry: every column of every saved table, once.

Each column has a kind (money, money_per_tonne, tonnes, tonnes_per_year, share, year, years,
count, flag, text, id, by_row), a label and a one-line meaning in English and Swedish. The data
live in ``output_columns.yaml`` beside this module; the report tables, the XLSX headers and
``docs/glossary.md`` read them from here. Nothing here needs Jupyter or plotly.

Columns named by the city's own ids (a funding source per column in ``financing``, a sector per
column in ``pathway_by_sector``) belong to a *family*: their label is the city's name for them.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

REGISTRY_FILE = Path(__file__).with_name("output_columns.yaml")
LANGUAGES = ("sv", "en")
MONEY_SCALES = {"": 1.0, "k": 1e3, "M": 1e6}
_SEK_WORDS = {"sv": {"": "kr", "k": "tkr", "M": "mnkr"}, "en": {"": "SEK", "k": "kSEK", "M": "MSEK"}}


@dataclass(frozen=True)
class OutputColumn:
    """One output column: its kind, label and meaning per language (``"sv"``, ``"en"``).

    ``tables`` maps a table name to another kind the column has in that table.
    """

    name: str
    kind: str
    label: Mapping[str, str]
    meaning: Mapping[str, str]
    tables: Mapping[str, str] = field(default_factory=dict)
    unit_override: Mapping[str, str] | None = None

    def kind_in(self, table: str | None) -> str:
        """The column's kind in ``table`` (its own kind unless the table says otherwise)."""
        return self.tables.get(table or "", self.kind)

    def unit(self, lang: str, currency: str = "", table: str | None = None, scale: str = "") -> str:
        """The unit text, e.g. ``"kr/t CO₂e"``; ``scale`` ``"k"`` or ``"M"`` for money in
        thousands or millions (``"tkr"``, ``"mnkr"``). Empty for kinds without a unit.
        """
        if self.unit_override:
            return self.unit_override[lang]
        template = kinds()[self.kind_in(table)][lang]
        per_tonne = self.kind_in(table) in ("money_per_tonne", "money_eur_per_tonne")
        scale = "" if per_tonne else scale
        return template.replace("{cur}", currency_unit(currency, lang, scale)).replace(
            "{eur}", currency_unit("EUR", lang, scale))

    def header(self, lang: str, currency: str = "", table: str | None = None, scale: str = "") -> str:
        """Label with its unit: ``"Investering (mnkr)"``; the label alone for unitless kinds."""
        unit = self.unit(lang, currency, table, scale)
        return f"{self.label[lang]} ({unit})" if unit else self.label[lang]


def currency_unit(currency: str, lang: str, scale: str = "") -> str:
    """How money is written: SEK as "kr", "tkr", "mnkr" in Swedish and "SEK", "kSEK", "MSEK" in
    English; another currency as its code with "k"/"M" in front.
    """
    if currency.upper() == "SEK":
        return _SEK_WORDS[lang][scale]
    return f"{scale}{currency}" if scale else currency


def default_language(scenario_language: str | None, country: str | None) -> str:
    """The language of a scenario's outputs: its ``language`` if set, else ``sv`` for a Swedish
    city (``country: SE``) and ``en`` for any other.
    """
    if scenario_language:
        return _check_lang(str(scenario_language).strip().lower())
    return "sv" if str(country or "").upper() == "SE" else "en"


def _check_lang(lang: str) -> str:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported; allowed: {', '.join(LANGUAGES)}")
    return lang


@lru_cache(maxsize=1)
def _data() -> dict:
    return yaml.safe_load(REGISTRY_FILE.read_text(encoding="utf-8"))


def _column(name: str, entry: Mapping) -> OutputColumn:
    for lang in LANGUAGES:
        if len(entry[lang]) != 2:
            raise ValueError(f"{REGISTRY_FILE.name}, column {name}: {lang} must be [label, meaning], "
                             f"got {entry[lang]!r} (quote a label that holds a comma)")
    return OutputColumn(
        name=name,
        kind=entry["kind"],
        label={lang: entry[lang][0] for lang in LANGUAGES},
        meaning={lang: entry[lang][1] for lang in LANGUAGES},
        tables=dict(entry.get("tables") or {}) if isinstance(entry.get("tables"), Mapping) else {},
        unit_override=entry.get("unit"),
    )


@lru_cache(maxsize=1)
def kinds() -> dict[str, dict[str, str]]:
    """Unit template per kind and language (``{cur}`` stands for the currency)."""
    return {k: dict(zip(("en", "sv"), v, strict=True)) for k, v in _data()["kinds"].items()}


@lru_cache(maxsize=1)
def registry() -> dict[str, OutputColumn]:
    """Every fixed output column by name."""
    return {name: _column(name, entry) for name, entry in _data()["columns"].items()}


@lru_cache(maxsize=1)
def families() -> dict[str, tuple[OutputColumn, tuple[str, ...]]]:
    """The families of city-named columns: name → (its column description, the tables it is in)."""
    return {name: (_column(name, entry), tuple(entry["tables"])) for name, entry in _data()["families"].items()}


def value_label(value, lang: str) -> str:
    """A word that stands in a table cell (payer, scope, kind, sector …) in ``lang``; any
    other value as it is.
    """
    words = _data()["values"].get(str(value))
    english, swedish = words or (value, value)
    return str(swedish if _check_lang(lang) == "sv" else english)


def lookup(name, table: str | None = None, *, funding_sources: Mapping[str, str] | None = None,
           sectors: Iterable[str] = ()) -> OutputColumn | None:
    """The description of column ``name`` (of ``table``), or None when the registry does not
    know it.

    ``funding_sources`` (id → name, from the city's ``funding_sources.csv``) and ``sectors`` (the
    city's sector names) resolve the family columns of ``financing`` and ``pathway_by_sector``:
    their label is the city's name (sectors in the report's language).
    """
    name = str(name)
    fixed = registry().get(name)
    fams = families()
    funding_sources = funding_sources or {}
    if name in funding_sources and (table is None or table in fams["funding_source"][1]):
        base = fams["funding_source"][0]
        label = str(funding_sources[name])
        return OutputColumn(name, base.kind, {lang: label for lang in LANGUAGES}, base.meaning)
    if name in set(map(str, sectors)) and (table is None or table in fams["sector"][1]):
        base = fams["sector"][0]
        return OutputColumn(name, base.kind, {lang: value_label(name, lang).capitalize() for lang in LANGUAGES},
                            base.meaning)
    return fixed


def city_names(city) -> tuple[dict[str, str], frozenset[str]]:
    """The names a city gives its family columns: (funding source id → name, sector names), from
    a ``CityData``'s ``funding_sources``, ``measures`` and ``baseline`` tables.
    """
    fs = city.funding_sources
    sectors = set(city.measures["sector"].astype(str)) | set(city.baseline["sector"].astype(str))
    return dict(zip(fs["source_id"].astype(str), fs["name"].astype(str), strict=True)), frozenset(sectors)


def unknown_columns(tables: Mapping[str, pd.DataFrame], *, funding_sources: Mapping[str, str] | None = None,
                    sectors: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(table, column) of every column the registry does not know; empty when all are known."""
    sectors = tuple(sectors)
    return [(t, str(c)) for t, df in tables.items() for c in df.columns
            if lookup(c, t, funding_sources=funding_sources, sectors=sectors) is None]


def glossary_markdown() -> str:
    """``docs/glossary.md``: every output column with its kind, unit and meaning, in Swedish and
    English (generated; ``tests/test_output_columns.py`` checks that the file is current).
    """
    lines = ["# Glossary of the result columns / Ordlista för resultatkolumnerna", "",
             "Generated from `climateinvest/io/output_columns.yaml` by "
             "`climateinvest.io.output_columns.glossary_markdown()`; do not edit by hand.",
             "Money is in the city's currency (`SEK` below) at its price year, real terms.", "",
             "| column | kind | unit | English | Svenska |", "|---|---|---|---|---|"]
    for col in sorted(registry().values(), key=lambda c: c.name):
        lines.append(_glossary_row(col.name, col))
    for name, (col, tables) in sorted(families().items()):
        lines.append(_glossary_row(f"*{name} ids* ({', '.join(tables)})", col))
    return "\n".join(lines) + "\n"


def _glossary_row(name: str, col: OutputColumn) -> str:
    unit = col.unit("en", "SEK")
    kinds_text = col.kind + "".join(f"; {k} in {t}" for t, k in col.tables.items())
    cells = [name if name.startswith("*") else f"`{name}`", kinds_text, unit,
             f"**{col.label['en']}**: {col.meaning['en']}", f"**{col.label['sv']}**: {col.meaning['sv']}"]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

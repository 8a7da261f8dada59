"""CityData: read and validate a city's tables (a folder of CSV files or one XLSX workbook).

CONTRACT (docs/architecture.md section 3), normalised by the loader so later steps never re-check:
- every table is a pandas DataFrame with exactly the documented columns (optional ones filled
  with their defaults), numeric columns as float64 (``annual_cap`` NaN = no cap), text columns as
  Python ``str`` with "" for empty optional text;
- ``measures``: one row per measure in file order; ``capex_years`` default 1,
  ``opex_change_per_year`` 0, ``direct_abatement_tco2e_per_year`` 0, ``exclusive_group``,
  ``requires`` and ``source`` default "";
- ``energy_prices`` / ``emission_factors``: a row whose ``price_path`` / ``factor_set`` is ``*``
  applies to every path / set that has no row of its own for that carrier (so diesel needs no
  copy per electricity convention);
- ``baseline``: ``scope`` default ``territorial``;
- ``funding_sources``: ``amortisation`` (``straight`` default, or ``annuity``) is an optional
  extension column; ``eligible_sectors`` / ``eligible_payers`` kept as the raw ``;`` text.

Further normalisation (extensions of the contract above, all compatible with it):
- years and counts are float64 like every numeric column, but validated as whole numbers;
- ``funding_sources``: ``interest_rate`` default 0; ``term_years`` NaN when empty (only a
  ``loan`` needs one); ``eligible_sectors`` / ``eligible_payers`` default ``*``;
- ``uncertainty``: ``mode`` may be empty for ``uniform`` and is then (low + high) / 2; no file
  gives an empty frame with the documented columns;
- choice values (payer, kind, scope, distribution, ...) are matched case-insensitively and stored
  in lower case; all other text is kept as written, without surrounding whitespace;
- every number is finite and sane so later steps never overflow: at most 1e15 in magnitude
  (``tabular.MAGNITUDE``), 0 or at least 1e-100 in magnitude (``tabular.TINY``), and
  ``capex_years``, ``lifetime_years`` and ``term_years`` at most 200 (``MAX_YEARS``); digits are
  ASCII only; a key given twice in ``city.yaml`` (also "Name" beside "name") is an error.

Messy input that is unambiguous is accepted and said in ``CityData.load_notes`` (see
``tabular.py``, ``columns.py``); everything else is collected and raised as one ``ValidationError`` whose problems
name the file (``measures.csv`` or ``city.xlsx:measures``), the row (header = row 1), the column,
the value and the rule.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
import yaml

from climateinvest.io import columns, files, tabular
from climateinvest.io.columns import ANY, Col, Table, listing
from climateinvest.io.errors import Problem, ValidationError, did_you_mean

TABLES = ("measures", "energy_changes", "energy_prices", "emission_factors", "baseline_emissions",
          "funding_sources", "uncertainty", "baseline_projection", "municipal_inventory", "cobenefit_values",
          "cobenefit_effects", "pollutant_factors")
PAYERS = ("municipality", "municipal_company", "external")
CITY_PAYERS = PAYERS[:2]  # the municipal group: their investment counts against the city's budget
PARTIES = ("municipality", "municipal_company", "residents", "businesses", "state")
"""Who a cash flow belongs to (Viable Cities' *vem som ska betala*); the state pays the grants and
collects the energy and CO2 taxes."""
EXTERNAL_PARTIES = ("businesses", "residents")  # who an ``external`` measure's payer is
CONTROLS = ("direct", "indirect", "none")
"""The municipality's *rådighet* over a measure: it decides it (``direct``: its own nämnder and
companies), it can steer it (``indirect``: plans, permits, procurement, agreements, grants), or
neither (``none``: national instruments, EU ETS). Empty: direct for the municipal group's
payers, indirect for ``external``."""
STATUSES = ("idea", "planned", "decided")
"""How far a measure has come: an idea, planned (in someone's plan, not decided) or decided."""
FACTOR_BASES = ("lifecycle", "territorial")
FUNDING_KINDS = ("grant", "loan", "own_funds")
UNCERTAIN_PARAMETERS = ("capex", "opex", "abatement", "energy_price", "emission_factor")
FIELDS = {"baseline_emissions": "baseline"}  # table name -> CityData field, where they differ
COBENEFIT_EFFECTS = ("pm25_kg", "nox_kg", "so2_kg", "voc_kg", "cyclists", "walkers", "noise_persons")
"""Physical co-benefits a measure may state (``cobenefit_effects.csv``): kg per year less emitted
locally of each pollutant, new regular cyclists or walkers (persons, with ``minutes_per_day``),
people exposed to less noise (persons, with ``db_reduction``)."""
COBENEFIT_PARAMETERS = (
    "air_local_pm25", "air_local_nox", "air_local_so2", "air_local_voc",
    "air_regional_pm25", "air_regional_nox", "air_regional_so2", "air_regional_voc",
    "air_ref_population", "air_ref_ventilation", "town_population", "town_ventilation",
    "noise_per_person_db", "vsl", "mortality_rate",
    "heat_rr_cycling", "heat_ref_min_week_cycling", "heat_cap_cycling",
    "heat_rr_walking", "heat_ref_min_week_walking", "heat_cap_walking", "kpi")
"""The parameters of a valuation table (``cobenefit_values.csv``); see ``climateinvest.portfolio.cobenefits``."""
POLLUTANTS = ("pm25", "nox", "so2", "voc")
"""The exhaust pollutants of ``pollutant_factors.csv`` (kg per MWh of a carrier burnt locally)."""


@dataclass(frozen=True)
class CityData:
    """A validated city. Money in ``currency`` at ``price_year`` prices, real terms."""

    name: str
    country: str
    currency: str
    price_year: int
    population: int
    measures: pd.DataFrame
    energy_changes: pd.DataFrame
    energy_prices: pd.DataFrame
    emission_factors: pd.DataFrame
    baseline: pd.DataFrame
    funding_sources: pd.DataFrame
    uncertainty: pd.DataFrame
    notes: str = ""
    eur_rate: float | None = None  # [currency / EUR] for the Investment Plan tables; None: no euros
    eur_rate_date: str = ""
    eur_rate_source: str = ""
    path: Path | None = None
    files: dict[str, Path] = field(default_factory=dict)  # table name -> file it came from
    load_notes: tuple[str, ...] = ()  # what the loader accepted and normalised (e.g. decimal comma)
    # optional: the co-benefit valuation table and the measures' physical co-benefits (empty = none)
    cobenefit_values: pd.DataFrame = field(default_factory=lambda: SPECS["cobenefit_values"].empty_frame())
    cobenefit_effects: pd.DataFrame = field(default_factory=lambda: SPECS["cobenefit_effects"].empty_frame())
    # optional: exhaust pollutants per MWh of each carrier; a measure's pollutant without a row of
    # its own in cobenefit_effects is derived from its energy_changes (empty = none derived)
    pollutant_factors: pd.DataFrame = field(default_factory=lambda: SPECS["pollutant_factors"].empty_frame())
    # optional: the with-existing-measures projection (a factor on the last inventory year per
    # sector) and the municipal group's own emissions (empty = flat baseline, no second scope)
    baseline_projection: pd.DataFrame = field(default_factory=lambda: SPECS["baseline_projection"].empty_frame())
    municipal_inventory: pd.DataFrame = field(default_factory=lambda: SPECS["municipal_inventory"].empty_frame())

    @property
    def measure_ids(self) -> list[str]:
        """The measure ids in file order."""
        return self.measures["measure_id"].tolist()

    @property
    def carriers(self) -> list[str]:
        """The energy carriers that any measure changes, sorted."""
        return sorted(set(self.energy_changes["carrier"]))

    def table(self, name: str) -> pd.DataFrame:
        """A table by its file name without ``.csv`` (``baseline_emissions`` is ``baseline``)."""
        return getattr(self, FIELDS.get(name, name))

    def label(self, name: str) -> str:
        """How messages name a table's file: ``measures.csv`` or ``city.xlsx:measures``."""
        file = self.files.get(name)
        if file is not None and file.suffix.lower() == ".xlsx":
            return f"{file.name}:{name}"
        return file.name if file is not None else f"{name}.csv"


# --- column specs -------------------------------------------------------------------------------

def _loan_terms(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """A loan needs ``term_years`` ≥ 1; for a grant or own funds it does not apply (0 or empty,
    as people fill templates, is accepted; so is any ``interest_rate``, unused).
    """
    loans = df["kind"] == "loan"
    rule = "a whole number ≥ 1"
    return ([Problem(label, f"must be {rule} for a loan, got an empty cell", row, "term_years", "")
             for row in df.index[loans & (cells["term_years"] == "")]]
            + [Problem(label, f"must be {rule} for a loan, got {cells.at[row, 'term_years']}", row,
                       "term_years", cells.at[row, "term_years"])
               for row in df.index[loans & (df["term_years"] == 0)]])


def _ets_within(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """The emissions under the EU ETS are part of the source's emissions."""
    if "ets_tco2e" not in df:
        return []
    bad = df["ets_tco2e"].notna() & df["tco2e"].notna() & (df["ets_tco2e"] > df["tco2e"])
    return [Problem(label, f"must be at most tco2e ({df.at[row, 'tco2e']:g}: the part of the source's "
                    f"emissions under the EU ETS), got {cells.at[row, 'ets_tco2e']}", row, "ets_tco2e",
                    cells.at[row, "ets_tco2e"]) for row in df.index[bad]]


def _bounds(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    out = []
    for row, r in df.iterrows():
        if pd.isna(r["low"]) or pd.isna(r["high"]):
            continue  # a bad low or high cell is reported already; comparing with NaN says nothing
        if r["distribution"] == "triangular" and cells.at[row, "mode"] == "":
            out.append(Problem(label, "must not be empty for a triangular distribution", row,
                               "mode", ""))
        elif r["high"] < r["low"]:
            out.append(Problem(label, f"must be ≥ low ({r['low']:g}), got {cells.at[row, 'high']}",
                               row, "high", cells.at[row, "high"]))
        elif (r["distribution"] == "triangular" and pd.notna(r["mode"])
              and not r["low"] <= r["mode"] <= r["high"]):
            out.append(Problem(label, f"must be from low to high ({r['low']:g} to {r['high']:g}), "
                               f"got {cells.at[row, 'mode']}", row, "mode", cells.at[row, "mode"]))
    return out


def _territory_details(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """A measure the municipal group pays is under its direct control; an identified financing
    share belongs to a measure others pay (the city's own are financed by its plan); only the
    municipal group's measures cut a category of its own emissions (``municipal_category``).
    """
    out = []
    for row in df.index:
        city_pays = df.at[row, "payer"] in CITY_PAYERS
        if city_pays and df.at[row, "control"] in ("indirect", "none"):
            out.append(Problem(label, f"must be direct (or empty) for a measure paid by {df.at[row, 'payer']}",
                               row, "control", cells.at[row, "control"]))
        if not city_pays and df.at[row, "municipal_category"]:
            out.append(Problem(label, f"must be empty for a measure paid by {df.at[row, 'payer']} (it cuts "
                               "others' emissions, not the municipal group's own)", row, "municipal_category",
                               cells.at[row, "municipal_category"]))
        if city_pays and cells.at[row, "financing_identified_share"] != "":
            out.append(Problem(label, "must be empty for a measure the municipal group pays (its financing "
                                      "is the plan's)", row, "financing_identified_share",
                               cells.at[row, "financing_identified_share"]))
    return out


def _effect_details(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """Cyclists and walkers need ``minutes_per_day`` (per person, averaged over the year);
    people exposed to less noise need ``db_reduction``.
    """
    out = []
    for row, effect in df["effect"].items():
        need = {"cyclists": "minutes_per_day", "walkers": "minutes_per_day",
                "noise_persons": "db_reduction"}.get(effect)
        if need and cells.at[row, need] == "":
            out.append(Problem(label, f"must not be empty for effect {effect}", row, need, ""))
    return out


ID = (r"[A-Za-z0-9_-]+", "an id of letters, digits, _ and - only")
YEAR = {"kind": "whole", "lo": 1900, "hi": 2200}
MAX_YEARS = 200  # longest investment period, lifetime or loan term: the arrays run this long
SPECS: dict[str, Table] = {
    "measures": Table((
        Col("measure_id", pattern=ID), Col("name"), Col("sector"), Col("emission_source"),
        Col("payer", choices=PAYERS), Col("capex", "number", lo=0),
        Col("capex_years", "whole", False, 1.0, lo=1, most=MAX_YEARS),
        Col("earliest_start_year", **YEAR), Col("lifetime_years", "whole", lo=1, most=MAX_YEARS),
        Col("opex_change_per_year", "number", False, 0.0),
        Col("direct_abatement_tco2e_per_year", "number", False, 0.0, lo=0),
        Col("exclusive_group", required=False), Col("requires", required=False),
        Col("source", required=False),
        Col("operating_share", "number", False, 0.0, lo=0, hi=1),
        Col("fee_revenue_per_year", "number", False, 0.0),
        Col("external_party", required=False, default="businesses", choices=EXTERNAL_PARTIES),
        Col("actor", required=False), Col("control", required=False, choices=CONTROLS),
        Col("ets", required=False, default="false", choices=("true", "false")),
        Col("status", required=False, default="planned", choices=STATUSES),
        Col("financing_identified_share", "number", False, lo=0, hi=1), Col("financing_note", required=False),
        Col("municipal_category", required=False)),
        key=("measure_id",), min_rows=1, check=_territory_details),
    "energy_changes": Table((
        Col("measure_id"), Col("carrier"), Col("delta_mwh_per_year", "number"),
        Col("energy_payer", required=False, choices=PARTIES[:4])),
        key=("measure_id", "carrier")),
    "energy_prices": Table((
        Col("carrier"), Col("price_path"), Col("year", **YEAR), Col("price_per_mwh", "number", lo=0),
        Col("tax_per_mwh", "number", False, 0.0, lo=0)),
        key=("carrier", "price_path", "year")),
    "emission_factors": Table((
        Col("carrier"), Col("factor_set"), Col("year", **YEAR),
        Col("kgco2e_per_mwh", "number", lo=-10000),
        Col("basis", required=False, default="lifecycle", choices=FACTOR_BASES)),
        key=("carrier", "factor_set", "year", "basis")),
    "baseline_emissions": Table((
        Col("source_id"), Col("sector"), Col("year", **YEAR), Col("tco2e", "number", lo=0),
        Col("scope", required=False, default="territorial", choices=("territorial", "indirect")),
        Col("ets_tco2e", "number", False, lo=0)),
        key=("source_id", "year"), min_rows=1, check=_ets_within),
    "funding_sources": Table((
        Col("source_id"), Col("name"), Col("kind", choices=FUNDING_KINDS),
        Col("max_share", "number", lo=0, hi=1), Col("annual_cap", "number", False, lo=0),
        Col("interest_rate", "number", False, 0.0, lo=-0.05, hi=1),
        Col("term_years", "whole", False, lo=0, most=MAX_YEARS),  # ≥ 1 for a loan: _loan_terms
        Col("eligible_sectors", required=False, default=ANY, many=True),
        Col("eligible_payers", required=False, default=ANY, many=True, choices=PAYERS),
        Col("amortisation", required=False, default="straight", choices=("straight", "annuity")),
        Col("eligible_measures", required=False, default=ANY, many=True),
        Col("uncertain_measures", required=False, many=True)),
        key=("source_id",), check=_loan_terms),
    "uncertainty": Table((
        Col("target"), Col("parameter", choices=UNCERTAIN_PARAMETERS),
        Col("distribution", choices=("triangular", "uniform")), Col("low", "number", lo=0),
        Col("mode", "number", False), Col("high", "number")),
        key=("target", "parameter"), optional=True, check=_bounds),
    "baseline_projection": Table((
        Col("sector"), Col("year", **YEAR), Col("factor", "number", lo=0, hi=10), Col("source", required=False)),
        key=("sector", "year"), optional=True),
    "municipal_inventory": Table((
        Col("category"), Col("year", **YEAR), Col("tco2e", "number", lo=0), Col("source", required=False)),
        key=("category", "year"), optional=True),
    "cobenefit_values": Table((
        Col("parameter", choices=COBENEFIT_PARAMETERS), Col("value", "number", lo=0), Col("unit"),
        Col("price_year", **YEAR), Col("value_year", **YEAR),
        Col("status", choices=("current", "older", "assumption")), Col("source", required=False)),
        key=("parameter", "price_year"), optional=True),
    "cobenefit_effects": Table((
        Col("measure_id"), Col("effect", choices=COBENEFIT_EFFECTS), Col("quantity", "number", lo=0),
        Col("minutes_per_day", "number", False, lo=0, hi=1440),
        Col("db_reduction", "number", False, lo=0, hi=60), Col("source", required=False)),
        key=("measure_id", "effect"), optional=True, check=_effect_details),
    "pollutant_factors": Table((
        Col("carrier"), Col("pollutant", choices=POLLUTANTS), Col("kg_per_mwh", "number", lo=0),
        Col("source", required=False)),
        key=("carrier", "pollutant"), optional=True),
}
CITY = Table((Col("name"), Col("country"), Col("currency"), Col("price_year", **YEAR),
              Col("population", "whole", lo=1), Col("notes", required=False),
              # the Investment Plan tables' euros: city currency per euro, its date and source
              Col("eur_rate", "number", False, lo=0.000001), Col("eur_rate_date", required=False),
              Col("eur_rate_source", required=False)))


def _cross_checks(t: dict[str, pd.DataFrame], label: dict[str, str]) -> list[Problem]:
    """References between tables; ``t`` holds only the tables read with all required columns."""
    out: list[Problem] = []

    def refer(table: str, column: str, allowed: set[str], rule: str) -> None:
        for row, v in t[table][column].items():
            if v and v not in allowed:
                out.append(Problem(label[table], f"must be {rule}, got {v!r}{did_you_mean(v, allowed)}",
                                   row, column, v))

    ids = set(t["measures"]["measure_id"]) if "measures" in t else set()
    if {"measures", "baseline_emissions"} <= t.keys():
        sources = set(t["baseline_emissions"]["source_id"])
        refer("measures", "emission_source", sources,
              f"a source_id of {label['baseline_emissions']} ({listing(sources)})")
    if "measures" in t:
        m = t["measures"]
        refer("measures", "requires", ids, f"a measure_id of {label['measures']}")
        group = dict(zip(m["measure_id"], m["exclusive_group"], strict=True))
        for row, mid, req, grp in zip(m.index, m["measure_id"], m["requires"], m["exclusive_group"], strict=True):
            if req and req == mid:
                out.append(Problem(label["measures"], f"must name another measure, got {req!r} "
                                   "(itself)", row, "requires", req))
            elif req and grp and group.get(req) == grp:
                out.append(Problem(label["measures"], f"must not be an alternative in the same "
                                   f"exclusive_group {grp!r}, got {req!r}", row, "requires", req))
    if {"measures", "funding_sources"} <= t.keys():
        for column in ("eligible_measures", "uncertain_measures"):
            for row, cell in t["funding_sources"][column].items():
                for v in (x.strip() for x in str(cell).split(";")):
                    if v and v != ANY and v not in ids:
                        out.append(Problem(label["funding_sources"], f"must list measure_ids of "
                                           f"{label['measures']} (or *), got {v!r}", row, column, v))
    if {"measures", "energy_changes"} <= t.keys():
        refer("energy_changes", "measure_id", ids, f"a measure_id of {label['measures']}")
    if {"measures", "cobenefit_effects"} <= t.keys():
        refer("cobenefit_effects", "measure_id", ids, f"a measure_id of {label['measures']}")
    carriers = set()
    if "energy_changes" in t:
        changes = t["energy_changes"]
        for table, noun in (("energy_prices", "price"), ("emission_factors", "factor")):
            if table not in t:
                continue
            carriers |= set(t[table]["carrier"])
            for c in sorted(set(changes["carrier"]) - set(t[table]["carrier"]) - {""}):
                rows = [str(r) for r in changes.index[changes["carrier"] == c]]
                known = set(t[table]["carrier"])
                out.append(Problem(label[table], f"has no {noun} rows for carrier {c!r}, which "
                                   f"{label['energy_changes']} uses (row{'s' * (len(rows) > 1)} "
                                   f"{', '.join(rows)}){did_you_mean(c, known)}", None,
                                   "carrier", c))
        carriers |= set(changes["carrier"])
        if "pollutant_factors" in t:  # a typo would leave a carrier's pollutants silently underived
            refer("pollutant_factors", "carrier", carriers, f"a carrier of {label['energy_changes']}, "
                  f"{label['energy_prices']} or {label['emission_factors']} ({listing(carriers)})")
    if {"funding_sources", "measures"} <= t.keys():  # a sector typo would drop a grant silently
        sectors = set(t["measures"]["sector"]) | (set(t["baseline_emissions"]["sector"])
                                                  if "baseline_emissions" in t else set())
        for row, v in t["funding_sources"]["eligible_sectors"].items():
            for sector in [x.strip() for x in v.split(";")] if v != ANY else []:
                if sector and sector not in sectors:
                    out.append(Problem(label["funding_sources"], f"must be * or a ';'-separated list of "
                                       f"sectors of {label['measures']} ({listing(sectors)}), got "
                                       f"{sector!r}{did_you_mean(sector, sectors)}", row,
                                       "eligible_sectors", v))
    if {"uncertainty", "measures", "energy_changes"} <= t.keys():
        refer("uncertainty", "target", ids | carriers | {ANY}, "a measure_id, a carrier or *")
    if {"baseline_projection", "baseline_emissions"} <= t.keys():
        inventory = set(t["baseline_emissions"]["sector"])
        refer("baseline_projection", "sector", inventory, f"a sector of {label['baseline_emissions']} "
              f"({listing(inventory)})")
    if "measures" in t:
        categories = set(t["municipal_inventory"]["category"]) if "municipal_inventory" in t else set()
        refer("measures", "municipal_category", categories,
              f"a category of {label.get('municipal_inventory', 'municipal_inventory.csv')} "
              f"({listing(categories) if categories else 'the file is absent'})")
    if {"measures", "baseline_emissions"} <= t.keys():
        ets_share = ets_shares(t["baseline_emissions"])
        m = t["measures"]
        for row, flag, src in zip(m.index, ets_flags(m), m["emission_source"], strict=True):
            if flag and src in ets_share.index and ets_share[src] <= 0:
                out.append(Problem(label["measures"], f"is true, but emission source {src!r} has no emissions "
                                   f"under the EU ETS in {label['baseline_emissions']} (column ets_tco2e of "
                                   "its last inventory year)", row, "ets", "true"))
    if "baseline_emissions" in t:
        b = t["baseline_emissions"]
        for column in ("sector", "scope"):
            first: dict[str, tuple[int, str]] = {}
            for row, sid, v in zip(b.index, b["source_id"], b[column], strict=True):
                r0, v0 = first.setdefault(sid, (row, v))
                if v != v0 and sid:
                    out.append(Problem(label["baseline_emissions"], f"must be the same on every row "
                                       f"of source_id {sid!r} ({v0!r} at row {r0}), got {v!r}",
                                       row, column, v))
    return out


# --- reading ------------------------------------------------------------------------------------

class _Source(NamedTuple):
    city_label: str
    city: columns.Entries | None
    raws: dict[str, tabular.RawTable]
    files: dict[str, Path]
    notes: list[str]
    problems: list[Problem]


def _from_folder(path: Path) -> _Source:
    problems, notes, raws = [], [], {}
    file = path / "city.yaml"
    city = None
    if not os.path.lexists(file):
        problems.append(Problem.about("not_found_in", file.name, folder=path))
    else:
        text, how, unreadable = tabular.read_text(file, file.name)
        notes += [f"{file.name}: {h}" for h in how]
        problems += unreadable
        if text is not None:
            city = _yaml_entries(text, file.name, problems)
    for name, spec in SPECS.items():
        file = path / f"{name}.csv"
        if os.path.lexists(file):  # a pipe, a device or a broken link is refused, never skipped
            raws[name] = tabular.read_csv(file, file.name)
        elif not spec.optional:
            problems.append(Problem.about("not_found_in", file.name, folder=path))
    files = {"city": path / "city.yaml"} | {name: path / f"{name}.csv" for name in raws}
    return _Source("city.yaml", city, raws, files, notes, problems)


def _yaml_entries(text: str, label: str, problems: list[Problem]) -> columns.Entries | None:
    try:
        raw = tabular.load_yaml(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problems.append(Problem(label, f"not valid YAML: {getattr(e, 'problem', e)}",
                                row=mark.line + 1 if mark else None))
        return None
    except tabular.YamlLimit as e:
        problems.append(Problem(label, str(e)))
        return None
    except (ValueError, RecursionError) as e:  # an integer of > 4300 digits, nesting too deep
        problems.append(Problem(label, f"not valid YAML: {e}"))
        return None
    if not isinstance(raw, dict):
        problems.append(Problem(label, "must be a mapping of keys to values (name: ..., "
                                       "country: ...)"))
        return None
    entries = {}
    for key, value in raw.items():
        if isinstance(value, (dict, list, set, tuple)):
            problems.append(Problem(label, f"must be a single value, got {value!r}", None,
                                    value=value, column=str(key), where="key"))
            value = None
        name = str(key).strip().lower()
        if name in entries:  # "Name" and "name": which one is meant?
            problems.append(Problem(label, "appears twice (keys are read case-insensitively)",
                                    None, value=value, column=name, where="key"))
        entries.setdefault(name, (None, tabular.cell_text(value).strip()))
    return entries


def _from_workbook(path: Path) -> _Source:
    sheets, notes, problems = tabular.read_workbook(path, ("city", *SPECS))
    raws, city = {}, None
    for name in ("city", *SPECS) if sheets or not problems else ():
        if name not in sheets:
            if name == "city" or not SPECS[name].optional:
                problems.append(Problem(path.name, f"has no sheet {name!r} (sheets: "
                                        f"{listing(sheet.title for sheet in sheets.values())})"))
            continue
        sheet = sheets[name]
        if sheet.title != name:
            notes.append(f"{path.name}: sheet {sheet.title!r} read as {name!r}")
        if name == "city":
            city = columns.key_values(sheet.records, f"{path.name}:city", problems)
        else:
            raws[name] = tabular.from_records(f"{path.name}:{name}", sheet.records, sheet=sheet)
    files = {name: path for name in ("city", *raws)}
    return _Source(f"{path.name}:city", city, raws, files, notes, problems)


# --- public -------------------------------------------------------------------------------------

def load_city(path: str | Path) -> CityData:
    """Read and validate a city: a folder (``city.yaml`` + one CSV per table) or an ``.xlsx``
    workbook (a ``city`` key/value sheet + one sheet per table).

    Returns a ``CityData`` normalised as the module docstring says. Raises ``ValidationError``
    listing every problem found (file, row, column, value, rule), never a bare parsing error.
    """
    path = Path(path)
    try:
        is_dir = path.is_dir()
        if is_dir:
            os.listdir(path)  # an unreadable folder is refused here, in plain words
    except OSError:
        raise ValidationError(Problem.about("permission", str(path))) from None
    if is_dir:
        source = _from_folder(path)
    elif path.suffix.lower() == ".xlsx" and os.path.lexists(path):
        source = _from_workbook(path)
    elif (problem := files.input_problem(path, str(path))) is not None:
        raise ValidationError(problem)
    else:
        raise ValidationError(Problem(str(path), "must be a city folder or an .xlsx workbook"))
    problems = list(source.problems)
    city: dict[str, object] = {}
    if source.city is not None:
        city, found = columns.validate_entries(source.city, CITY, source.city_label)
        problems += found
    tables, complete, label = {}, {}, {n: f"{n}.csv" for n in SPECS}
    for name, spec in SPECS.items():
        raw = source.raws.get(name)
        if raw is None or raw.cells is None:
            tables[name] = spec.empty_frame()
        if raw is None:
            continue
        label[name] = raw.label
        problems += raw.problems
        if raw.cells is None:
            if not raw.problems:
                problems.append(Problem(raw.label, "is empty: expected a header row with the "
                                                   f"columns {', '.join(spec.names)}"))
            continue
        tables[name], found, ok = columns.validate(raw, spec)
        problems += found
        if ok:
            complete[name] = tables[name]
    problems += _cross_checks(complete, label)
    if problems:
        raise ValidationError(problems)
    negative = tables["emission_factors"]
    negative = negative[negative["kgco2e_per_mwh"] < 0]
    if len(negative):
        rows = ", ".join(f"{r} ({c} {v:g})" for r, c, v in
                         zip(negative.index[:5], negative["carrier"], negative["kgco2e_per_mwh"], strict=False))
        source_notes = [f"{label['emission_factors']}: {len(negative)} negative emission factor"
                        f"{'s' * (len(negative) > 1)} (a carrier that removes emissions: check they are "
                        f"meant), row{'s' * (len(negative) > 1)} {rows}{', …' * (len(negative) > 5)}"]
    else:
        source_notes = []
    tables = {name: df.reset_index(drop=True) for name, df in tables.items()}
    u = tables["uncertainty"]
    u["mode"] = u["mode"].fillna((u["low"] + u["high"]) / 2)
    m = tables["measures"]
    city_pays = m["payer"].isin(CITY_PAYERS)
    m["control"] = m["control"].mask(m["control"] == "", city_pays.map({True: "direct", False: "indirect"}))
    m["actor"] = m["actor"].mask(m["actor"] == "", m["payer"].where(city_pays, m["external_party"]))
    summaries = [raw.summary() for raw in source.raws.values()]
    return CityData(
        name=city["name"], country=city["country"], currency=city["currency"],
        price_year=int(city["price_year"]), population=int(city["population"]),
        notes=city["notes"], path=path, files=source.files,
        eur_rate=None if pd.isna(city["eur_rate"]) else float(city["eur_rate"]),
        eur_rate_date=str(city["eur_rate_date"]), eur_rate_source=str(city["eur_rate_source"]),
        load_notes=tuple(source.notes + [s for s in summaries if s] + source_notes),
        **{FIELDS.get(name, name): df for name, df in tables.items()})


def check_against_scenario(city: CityData, price_path: str, factor_set: str) -> None:
    """Raise ValidationError unless every carrier used has prices on ``price_path`` and factors in
    ``factor_set`` (directly or through ``*`` rows).
    """
    if problems := _coverage(city, price_path, factor_set):
        raise ValidationError(problems)


def _coverage(city: CityData, price_path: str, factor_set: str, file: str | None = None,
              keys: tuple[str, str] = ("price_path", "emission_factor_set")) -> list[Problem]:
    problems = []
    for table, column, value, noun, key in (("energy_prices", "price_path", price_path, "prices", keys[0]),
                                            ("emission_factors", "factor_set", factor_set, "factors", keys[1])):
        df = city.table(table)
        covered = set(df["carrier"][df[column].isin([value, ANY])])
        if missing := [c for c in city.carriers if c not in covered]:
            known = set(df[column]) - {ANY}
            text = (f"no {noun} for {listing(missing)} on {column} {value!r}{did_you_mean(value, known)} "
                    f"and no '*' rows for them; {column}s in the data: {listing(known)}")
            problems.append(Problem(file, text, column=key, value=value, where="key") if file else
                            Problem(city.label(table), text, column=column, value=value))
    return problems


def _projection_problems(city: CityData, scenario, file: str) -> list[Problem]:
    """``baseline: projection`` needs the city's projection table, no trend on top of it, and
    factors only for years after the last inventory year (they are relative to it).
    """
    label = city.label("baseline_projection")
    if not len(city.baseline_projection):
        return [Problem(file, f"projection needs {label} in the city folder (factors per sector and year "
                        "relative to the last inventory year); use flat without it", column="baseline",
                        value="projection", where="key")]
    out = []
    if scenario.baseline_trend:
        out.append(Problem(file, "must be 0 with baseline: projection (the projection already says how the "
                           f"baseline changes), got {scenario.baseline_trend}", column="baseline_trend",
                           value=scenario.baseline_trend, where="key"))
    last = int(city.baseline["year"].max()) if len(city.baseline) else None
    if last is not None:
        p = city.baseline_projection
        for row, year in zip(p.index, p["year"].astype(int), strict=True):
            if year <= last:
                out.append(Problem(label, f"must be after {last}, the last inventory year in "
                                   f"{city.label('baseline_emissions')} (the factors are relative to it), "
                                   f"got {year}", row, "year", year))
    return out


def ets_flags(measures: pd.DataFrame) -> np.ndarray:
    """(M,) bool: the measure acts on emissions under the EU ETS (``ets`` true; false if absent)."""
    if "ets" not in measures:
        return np.zeros(len(measures), bool)
    return measures["ets"].fillna("false").astype(str).str.lower().eq("true").to_numpy()


def ets_shares(baseline: pd.DataFrame) -> pd.Series:
    """Share [-] of each source's emissions under the EU ETS in its last inventory year
    (``ets_tco2e`` ÷ ``tco2e``; 0 where not given), by ``source_id``.
    """
    last = baseline.sort_values("year").groupby("source_id", sort=False).tail(1).set_index("source_id")
    ets = pd.to_numeric(last["ets_tco2e"], errors="coerce") if "ets_tco2e" in last else pd.Series(0.0, last.index)
    tot = last["tco2e"].astype(float)
    return (ets.fillna(0.0) / tot.where(tot > 0)).fillna(0.0).clip(0.0, 1.0)


def check_scenario(city: CityData, scenario) -> None:
    """Every check of a scenario against its city that a run makes, before any step runs, so
    that ``validate`` refuses what ``run`` would (exit 2, never a failure halfway).

    Checked: prices and emission factors for every carrier on the scenario's price path and
    factor set (with "did you mean"); ``target.base_year`` and ``carbon_budget.from_year`` not
    before the first inventory year of ``baseline_emissions`` (the base-year emissions must be
    known); with ``baseline: projection`` the city's projection table, no ``baseline_trend`` and
    factor years after the last inventory year. Raises ``ValidationError`` naming the scenario
    file and key.
    """
    file = scenario.source_file.name if scenario.source_file else "scenario"
    problems = _coverage(city, scenario.price_path, scenario.emission_factor_set, file)
    years = city.baseline["year"]
    if len(years):
        first = int(years.min())
        budget = scenario.carbon_budget
        for key, year in (("target.base_year", scenario.target.base_year),
                          ("carbon_budget.from_year", budget.from_year if budget else None)):
            if year is not None and year < first:
                problems.append(Problem(file, f"must not be before {first}, the first inventory year in "
                                        f"{city.label('baseline_emissions')} (the emissions of {year} are "
                                        f"unknown), got {year}", column=key, value=year, where="key"))
    if scenario.baseline == "projection":
        problems += _projection_problems(city, scenario, file)
    known = set(city.measure_ids)
    earliest = dict(zip(city.measures["measure_id"], city.measures["earliest_start_year"].astype(int), strict=True))
    for key, ids in (("measures_in", scenario.measures_in), ("measures_out", scenario.measures_out),
                     ("start_years", list(scenario.start_years))):
        for mid in ids:
            if mid not in known:
                problems.append(Problem(file, f"no measure {mid!r} in {city.label('measures')}"
                                        f"{did_you_mean(mid, sorted(known))}", column=key, value=mid, where="key"))
    for mid, year in scenario.start_years.items():
        if mid in earliest and year < earliest[mid]:
            problems.append(Problem(file, f"must not be before the measure's earliest_start_year {earliest[mid]} "
                                    f"in {city.label('measures')}, got {year}", column=f"start_years.{mid}",
                                    value=year, where="key"))
    if problems:
        raise ValidationError(problems)


def price_table(city: CityData, price_path: str) -> pd.DataFrame:
    """The ``energy_prices`` rows [currency / MWh] that apply on ``price_path``: a carrier's own
    rows on that path, else its ``*`` rows. Columns as ``energy_prices``; sorted by carrier, year.
    """
    return _applying(city.energy_prices, "price_path", price_path)


def factor_table(city: CityData, factor_set: str, basis: str = "lifecycle") -> pd.DataFrame:
    """The ``emission_factors`` rows [kg CO2e / MWh] that apply in ``factor_set``: a carrier's own
    rows in that set, else its ``*`` rows. Columns as ``emission_factors``; sorted by carrier, year.

    ``basis="territorial"``: a carrier with ``territorial`` rows (in the set, else ``*``) takes
    them (tailpipe CO2e as SMHI's inventory counts it); the others keep their life-cycle rows.
    """
    df = city.emission_factors
    is_terr = df["basis"] == "territorial" if "basis" in df.columns else pd.Series(False, index=df.index)
    life = _applying(df[~is_terr], "factor_set", factor_set)
    if basis != "territorial" or not is_terr.any():
        return life
    terr = _applying(df[is_terr], "factor_set", factor_set)
    out = pd.concat([life[~life["carrier"].isin(terr["carrier"])], terr])
    return out.sort_values(["carrier", "year"]).reset_index(drop=True)


def _applying(df: pd.DataFrame, column: str, value: str) -> pd.DataFrame:
    own = df[column] == value
    star = (df[column] == ANY) & ~df["carrier"].isin(df.loc[own, "carrier"])
    return df[own | star].sort_values(["carrier", "year"]).reset_index(drop=True)


def write_city(city: CityData | None, path: str | Path, empty: bool = False) -> Path:
    """Write ``city`` as a CSV folder, or as one workbook when ``path`` ends in ``.xlsx``, in the
    format ``load_city`` reads (every column written; whole numbers without ``.0``).

    ``empty`` (or no ``city``) writes a template to fill in: the ``city`` keys with empty values
    and every table with its header row only.
    """
    path = Path(path)
    keys = ("name", "country", "currency", "price_year", "population", "notes", "eur_rate", "eur_rate_date",
            "eur_rate_source")
    meta = {k: None if city is None else getattr(city, k) for k in keys}
    if city is not None:
        meta = {k: v for k, v in meta.items() if k in keys[:5] or v not in (None, "")}
    empty = empty or city is None
    frames = {name: spec.empty_frame() if empty else columns.for_writing(city.table(name))
              for name, spec in SPECS.items()}
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".xlsx":
        sheet = pd.DataFrame({"key": list(meta), "value": pd.Series(list(meta.values()), dtype=object)})
        tabular.write_workbook({"city": sheet} | frames, path)
        return path
    path.mkdir(exist_ok=True)
    text = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True).replace(": null\n", ":\n")
    (path / "city.yaml").write_text(text, encoding="utf-8")
    for name, frame in frames.items():
        frame.to_csv(path / f"{name}.csv", index=False, lineterminator="\n")
    return path

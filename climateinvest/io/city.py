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

import pandas as pd
import yaml

from climateinvest.io import columns, files, tabular
from climateinvest.io.city_specs import CITY, CITY_PAYERS, FIELDS, SPECS, cross_checks
from climateinvest.io.columns import ANY, listing
from climateinvest.io.errors import Problem, ValidationError, did_you_mean


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
    problems += cross_checks(complete, label)
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

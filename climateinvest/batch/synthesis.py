"""``climateinvest synthesis``: many cities' scenario reports in one run, and what they add up to.

Layout of one run (a new folder every time; nothing earlier is ever overwritten)::

    <out>/<cycle>/<run id>/
        synthesis.html      the cities side by side and their totals (self-contained, no script)
        manifest.json       cities, conversions, engine, versions, status, per-city run folders
        synthesis/          the synthesis tables as CSV (cities, by_payer, by_source, by_kind,
                            by_sector, cost_by_sector, cost_spread, scenarios, followup)
        <city>/             one ``climateinvest report`` run folder per city (index.html,
                            manifest.json, a report per scenario, the comparison)

A *city folder* holds the city's data (``city.yaml`` and its tables, as ``load_city`` reads them)
and its scenario files in ``scenarios/*.yaml``; the scenarios whose ``budget_cycle`` is
``--cycle`` are run. A folder without ``city.yaml`` stands for every city folder in it.

Every city's scenarios run on one engine (``batch.engine``: Dask, a LocalCluster by default, or
a cluster by address), then every comparison, then the synthesis is read from the saved results.
A city whose files are invalid, or whose every scenario failed, is listed as failed; the others
go on. The synthesis takes one scenario per city, the *headline* (``--scenario``, default
``base``, else the city's first scenario that succeeded) and, beside it, the totals of every
scenario name.

Money: every city keeps its own currency and price year in its own reports. The synthesis shows
each city's figures in its own currency and converts them into one currency and price year for
the totals, with the factors of ``--conversions`` (a YAML file: ``currency``, ``price_year``
and ``factors``: one ``{currency, price_year, factor, source}`` per other currency or price
year, ``factor`` = units of the common currency at the common price year per unit of the
city's). The factors are stated in the report. Without a file, every city must share one
currency and price year.
"""
from __future__ import annotations

import datetime as _dt
import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from climateinvest.batch.index import versions
from climateinvest.batch.runner import (
    EXIT_FAILED,
    EXIT_INVALID,
    EXIT_OK,
    BatchRun,
    _signals_ignored,
    _sigterm_as_interrupt,
    check_batch,
    new_run_folder,
    run_comparisons,
    unique_names,
)
from climateinvest.io.errors import Problem, ValidationError
from climateinvest.io.files import atomic_write_text, check_output, json_text

SCHEMA = "climateinvest-synthesis/1"
SCENARIO_DIR = "scenarios"
TABLES_DIR = "synthesis"


# ---------------------------------------------------------------------------------------------
# Inputs: cities, their scenarios, the conversions


def find_cities(paths) -> list[Path]:
    """The city folders of ``paths``: a folder with ``city.yaml`` is a city; a folder without one
    stands for its subfolders that have one (sorted by name). Raises ValidationError naming
    every path that is neither.
    """
    out, problems = [], []
    for p in map(Path, paths):
        if (p / "city.yaml").is_file():
            out.append(p)
        elif p.is_dir() and (inner := sorted(q for q in p.iterdir() if (q / "city.yaml").is_file())):
            out += inner
        else:
            what = "does not exist" if not p.exists() else "is neither a city folder (with city.yaml) " \
                                                           "nor a folder of city folders"
            problems.append(Problem(file=str(p), message=what))
    if problems:
        raise ValidationError(problems)
    seen: set[Path] = set()
    unique = [p for p in out if not (p.resolve() in seen or seen.add(p.resolve()))]
    return unique


def city_scenarios(city: Path, cycle: int) -> list[Path]:
    """The scenario files of ``city`` (``scenarios/*.yaml``) whose ``budget_cycle`` is ``cycle``
    (a file that cannot be read as YAML is kept: the batch records it as failed).
    """
    import yaml

    files = sorted((city / SCENARIO_DIR).glob("*.yaml")) + sorted((city / SCENARIO_DIR).glob("*.yml"))
    keep = []
    for f in files:
        try:
            data = yaml.safe_load(f.read_text(encoding="utf-8"))
        except (OSError, ValueError, yaml.YAMLError):
            keep.append(f)
            continue
        if not isinstance(data, dict) or str(data.get("budget_cycle")) == str(cycle):
            keep.append(f)
    return keep


@dataclass
class Conversions:
    """Into one currency at one price year: ``factors[(currency, price_year)]`` = (factor, source)."""

    currency: str
    price_year: int
    factors: dict[tuple[str, int], tuple[float, str]] = field(default_factory=dict)

    def factor(self, currency: str, price_year: int) -> float:
        """Units of the common currency (common price year) per unit of ``currency`` at ``price_year``."""
        if (currency, int(price_year)) == (self.currency, self.price_year):
            return 1.0
        return self.factors[(currency, int(price_year))][0]

    def statements(self) -> list[dict]:
        """Every factor with its source, for the manifest and the report."""
        return [{"currency": c, "price_year": y, "factor": f, "to_currency": self.currency,
                 "to_price_year": self.price_year, "source": s} for (c, y), (f, s) in sorted(self.factors.items())]


def load_conversions(path: str | Path | None, cities: list) -> Conversions:
    """The conversions of ``path`` (see the module docstring), checked against ``cities``
    (CityData): every city's currency and price year must be convertible. Without ``path``,
    the cities' shared currency and price year. Raises ValidationError.
    """
    import yaml

    if path is None:
        kinds = sorted({(c.currency, int(c.price_year)) for c in cities})
        if len(kinds) > 1:
            raise ValidationError(Problem(
                file="--conversions", message="the cities use several currencies or price years ("
                + ", ".join(f"{c} {y}" for c, y in kinds) + "): give a conversions file (see "
                "`climateinvest synthesis --help`)"))
        return Conversions(*kinds[0])
    name = str(path)
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(Problem(file=name, message="file not found")) from None
    except yaml.YAMLError as e:
        raise ValidationError(Problem(file=name, message=f"is not valid YAML: {e}")) from None
    problems = []
    if not isinstance(data, dict) or not isinstance(data.get("currency"), str) or \
            not isinstance(data.get("price_year"), int):
        raise ValidationError(Problem(file=name, message="needs the keys currency (text) and price_year (a year)"))
    conv = Conversions(data["currency"], int(data["price_year"]))
    for i, row in enumerate(data.get("factors") or [], start=1):
        ok = isinstance(row, dict) and isinstance(row.get("currency"), str) and \
            isinstance(row.get("price_year"), int) and isinstance(row.get("factor"), int | float) and \
            not isinstance(row.get("factor"), bool) and row["factor"] > 0 and str(row.get("source") or "").strip()
        if not ok:
            problems.append(Problem(file=name, column=f"factors[{i}]", where="key", value=row,
                                    message="needs currency, price_year, factor (a number > 0) and source"))
            continue
        conv.factors[(row["currency"], int(row["price_year"]))] = (float(row["factor"]), str(row["source"]))
    for c in cities:
        key = (c.currency, int(c.price_year))
        if key != (conv.currency, conv.price_year) and key not in conv.factors:
            problems.append(Problem(file=name, column="factors", where="key",
                                    message=f"has no factor for {c.currency} at {c.price_year} prices "
                                            f"(city {c.name})"))
    if problems:
        raise ValidationError(problems)
    return conv


# ---------------------------------------------------------------------------------------------
# Figures of one city's scenario, from its saved result


def _csv(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.csv"
    try:
        return pd.read_csv(path) if path.is_file() else pd.DataFrame()
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def scenario_figures(folder: Path) -> dict:
    """The figures the synthesis takes from one saved scenario result (``folder``), in the
    city's currency: totals from the manifest's ``summary``, breakdowns from the CSV tables.

    Returns a dict: ``totals`` (investment, grants, loans, own funds, financing gap [currency];
    target-year emissions, abatement, target, gap [t CO2e/yr]; measures), ``by_payer``,
    ``by_source`` (source name and kind; the gap as its own row), ``by_sector`` (target-year
    territorial baseline, abatement and emissions [t CO2e/yr]), ``cost_by_sector`` (the MAC
    curve's cost per tonne per sector [currency / t CO2e]) and ``followup`` (rows of any saved
    table whose name starts with ``followup``).
    """
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    summ = manifest.get("summary") or {}
    fin, path, port = summ.get("financing") or {}, summ.get("pathway") or {}, summ.get("portfolio") or {}
    totals = {
        "investment": fin.get("investment_total"), "grants": fin.get("grant_total"),
        "loans": fin.get("loan_total"), "own_funds": fin.get("own_funds_total"),
        "financing_gap": fin.get("gap_total"), "measures": port.get("n_measures"),
        "baseline_target_year_tco2e": path.get("target_year_baseline_tco2e"),
        "target_year_tco2e": path.get("target_year_with_portfolio_tco2e"),
        "abatement_tco2e": path.get("target_year_abatement_territorial_tco2e"),
        "target_tco2e": path.get("target_tco2e"), "gap_tco2e": path.get("gap_tco2e"),
        "target_year": path.get("target_year"),
    }
    spending = _csv(folder, "portfolio_spending")
    by_payer = (spending.groupby("payer", as_index=False)["capex"].sum().rename(columns={"capex": "investment"})
                if len(spending) else pd.DataFrame(columns=["payer", "investment"]))
    alloc, sources = _csv(folder, "financing_allocation"), _csv(folder, "financing_sources")
    names = dict(zip(sources.get("source_id", []), sources.get("name", []), strict=True))
    rows = []
    if len(alloc):
        for (sid, kind), amount in alloc.groupby(["source_id", "kind"])["amount"].sum().items():
            rows.append({"source": names.get(sid, sid), "kind": kind, "amount": float(amount)})
    if totals["financing_gap"]:
        rows.append({"source": "financing_gap", "kind": "gap", "amount": float(totals["financing_gap"])})
    by_source = pd.DataFrame(rows, columns=["source", "kind", "amount"])
    src = _csv(folder, "pathway_by_source")
    year = totals["target_year"]
    if len(src) and year is not None:
        at = src[(src["year"] == year) & (src["scope"] == "territorial")]
        by_sector = at.groupby("sector", as_index=False)[["baseline_tco2e", "abatement_tco2e",
                                                           "with_portfolio_tco2e"]].sum()
    else:
        by_sector = pd.DataFrame(columns=["sector", "baseline_tco2e", "abatement_tco2e", "with_portfolio_tco2e"])
    cost = _csv(folder, "macc_sector_summary")
    cost_by_sector = cost[["sector", "cost_per_tco2e"]] if len(cost) else pd.DataFrame(
        columns=["sector", "cost_per_tco2e"])
    followup = [_csv(folder, p.stem).assign(table=p.stem) for p in sorted(folder.glob("followup*.csv"))]
    return {"totals": totals, "by_payer": by_payer, "by_source": by_source, "by_sector": by_sector,
            "cost_by_sector": cost_by_sector,
            "followup": pd.concat(followup, ignore_index=True) if followup else pd.DataFrame()}


MONEY_TOTALS = ("investment", "grants", "loans", "own_funds", "financing_gap")
TONNE_TOTALS = ("baseline_target_year_tco2e", "target_year_tco2e", "abatement_tco2e", "target_tco2e", "gap_tco2e")


def synthesise(cities: list[dict], conv: Conversions) -> dict[str, pd.DataFrame]:
    """The synthesis tables from ``cities``: dicts with ``name``, ``population``, ``currency``,
    ``price_year``, ``scenario`` (the headline's name), ``figures`` (:func:`scenario_figures` of
    the headline) and ``scenarios`` ({name: totals} of every scenario that succeeded).

    Money in the common currency at the common price year (``conv``) unless a column says
    ``_own`` (the city's currency); tonnes [t CO2e/yr] in the target year. ``totals`` holds one
    row per figure: the sum over the cities, per inhabitant (sum / total population) and the
    number of cities that hold the figure.
    """
    rows, payer, source, sector, cost, follow, per_scenario = [], [], [], [], [], [], []
    for c in cities:
        f = conv.factor(c["currency"], c["price_year"])
        t = c["figures"]["totals"]
        row = {"city": c["name"], "population": c["population"], "currency": c["currency"],
               "price_year": c["price_year"], "factor": f, "scenario": c["scenario"]}
        for k in MONEY_TOTALS:
            row[f"{k}_own"] = t[k]
            row[k] = None if t[k] is None else t[k] * f
        row |= {k: t[k] for k in (*TONNE_TOTALS, "measures")}
        row["investment_per_capita"] = None if row["investment"] is None else row["investment"] / c["population"]
        rows.append(row)
        fig = c["figures"]
        payer.append(fig["by_payer"].assign(city=c["name"], investment=fig["by_payer"]["investment"] * f))
        source.append(fig["by_source"].assign(city=c["name"], amount=fig["by_source"]["amount"] * f))
        sector.append(fig["by_sector"].assign(city=c["name"]))
        cost.append(fig["cost_by_sector"].assign(city=c["name"], cost_per_tco2e_own=fig["cost_by_sector"][
            "cost_per_tco2e"], cost_per_tco2e=fig["cost_by_sector"]["cost_per_tco2e"] * f))
        if len(fig["followup"]):
            follow.append(fig["followup"].assign(city=c["name"]))
        for name, tot in c["scenarios"].items():
            per_scenario.append({"scenario": name, "city": c["name"]}
                                | {k: None if tot[k] is None else tot[k] * f for k in MONEY_TOTALS}
                                | {k: tot[k] for k in TONNE_TOTALS})
    cities_df = pd.DataFrame(rows)
    population = float(cities_df["population"].sum()) if len(cities_df) else 0.0
    totals = []
    for k in (*MONEY_TOTALS, *TONNE_TOTALS, "measures"):
        held = cities_df[k].dropna() if len(cities_df) else pd.Series(dtype=float)
        total = float(held.sum()) if len(held) else None
        totals.append({"figure": k, "total": total, "per_capita": total / population if total is not None
                       and population else None, "cities": int(len(held))})
    by_payer = _concat(payer, ["city", "payer", "investment"])
    by_source = _concat(source, ["city", "source", "kind", "amount"])
    by_sector = _concat(sector, ["city", "sector", "baseline_tco2e", "abatement_tco2e", "with_portfolio_tco2e"])
    cost_df = _concat(cost, ["city", "sector", "cost_per_tco2e_own", "cost_per_tco2e"])
    spread = (cost_df.dropna(subset=["cost_per_tco2e"]).groupby("sector")["cost_per_tco2e"]
              .agg(cities="count", min="min", median="median", max="max").reset_index()
              .sort_values(["median", "sector"], kind="mergesort").reset_index(drop=True)
              if len(cost_df) else pd.DataFrame(columns=["sector", "cities", "min", "median", "max"]))
    scen = pd.DataFrame(per_scenario)
    scen_tot = (scen.groupby("scenario", as_index=False).agg(
        cities=("city", "count"), **{k: (k, lambda s: s.sum(min_count=1)) for k in (*MONEY_TOTALS, *TONNE_TOTALS)})
        if len(scen) else pd.DataFrame(columns=["scenario", "cities"]))
    return {
        "cities": cities_df,
        "totals": pd.DataFrame(totals),
        "by_payer": by_payer.groupby("payer", as_index=False)["investment"].sum() if len(by_payer) else by_payer,
        "by_source": by_source.groupby(["source", "kind"], as_index=False)["amount"].sum()
        if len(by_source) else by_source,
        "by_kind": by_source.groupby("kind", as_index=False)["amount"].sum() if len(by_source) else by_source,
        "by_sector": by_sector.groupby("sector", as_index=False)[
            ["baseline_tco2e", "abatement_tco2e", "with_portfolio_tco2e"]].sum() if len(by_sector) else by_sector,
        "city_payer": by_payer, "city_source": by_source, "city_sector": by_sector,
        "cost_by_sector": cost_df, "cost_spread": spread, "scenarios": scen_tot,
        "followup": pd.concat(follow, ignore_index=True) if follow else pd.DataFrame(),
    }


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f[columns] for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


# ---------------------------------------------------------------------------------------------
# The run


def _slug_names(cities: list) -> list[str]:
    """The output folder of each city: as ``unique_names`` gives scenario names (never a clash)."""
    return unique_names([Path(f"{c}.yaml") for c in cities])


def run_synthesis(paths, cycle: int, out: str | Path = "reports", *, jobs: int = 1, scheduler: str | None = None,
                  run_id: str | None = None, conversions: str | Path | None = None, headline: str = "base",
                  language: str = "sv", stream=None, timeout: float | None = None) -> int:
    """Run every city's scenarios for ``cycle`` and write the synthesis (module docstring).

    Returns 0 when every city and scenario succeeded, 1 when some failed (the others are still
    written and summed), 2 when the input is invalid (nothing written); an interrupt raises
    KeyboardInterrupt after marking every manifest incomplete.
    """
    from climateinvest.batch.engine import describe, make_engine
    from climateinvest.io.city import load_city
    from climateinvest.report.i18n import LANGUAGES

    if language not in LANGUAGES:
        raise ValidationError(Problem(file="--language", message=f"must be one of {', '.join(LANGUAGES)}",
                                      value=language))
    stream = stream or sys.stderr
    t0 = time.perf_counter()
    folders = find_cities(paths)
    entries = []  # (folder, CityData or None, error, checked scenarios, the cities read)
    for folder in folders:
        try:
            city = load_city(folder)
        except ValidationError as e:
            entries.append((folder, None, "invalid input: " + e.report(), [], {}))
            continue
        cities_read: dict = {}
        checked = check_batch(city_scenarios(folder, cycle), cities_read)
        if not checked:
            error = f"no scenario for budget cycle {cycle} in {folder / SCENARIO_DIR}"
        elif all(s is None for _, s, _ in checked):
            error = "no valid scenario: " + "; ".join(f"{Path(p).name}: {err}" for p, _, err in checked)
        else:
            error = None
        entries.append((folder, city, error, checked, cities_read))
    good = [e for e in entries if e[2] is None]
    if not good:
        for e in entries:
            print(f"{e[0]}: {e[2]}", file=stream)
        return EXIT_INVALID
    conv = load_conversions(conversions, [e[1] for e in good])
    inputs = [*(e[0] for e in entries), *(p for e in good for p, _, _ in e[3])]
    if conversions is not None:
        inputs.append(Path(conversions))
    root = check_output(out, inputs)
    engine = make_engine(jobs, scheduler)
    folder = new_run_folder(root / str(cycle), run_id)
    names = _slug_names([e[1].name if e[1] is not None else e[0].name for e in entries])
    manifest = {
        "schema": SCHEMA, "run_id": folder.name, "cycle": cycle, "folder": str(folder), "status": "incomplete",
        "interrupted": False, "started": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "finished": None, "seconds": None, "engine": describe(jobs, scheduler), "language": language,
        "headline_scenario": headline, "conversions": {"currency": conv.currency, "price_year": conv.price_year,
                                                       "factors": conv.statements()},
        "versions": versions(), "cities": [], "outputs": {},
    }
    batches: dict[str, BatchRun] = {}

    def write() -> None:
        atomic_write_text(folder / "manifest.json", json_text(manifest))

    try:
        with _sigterm_as_interrupt():
            for entry, name in zip(entries, names, strict=True):
                city_folder, city, error = entry[0], entry[1], entry[2]
                rec = {"name": city.name if city else city_folder.name, "folder": name,
                       "input": str(city_folder), "status": "failed" if error else "pending",
                       "error": error, "currency": getattr(city, "currency", None),
                       "price_year": getattr(city, "price_year", None),
                       "population": getattr(city, "population", None), "scenarios": len(entry[3])}
                manifest["cities"].append(rec)
                if error is None:
                    (folder / name).mkdir()
                    batches[name] = BatchRun(folder / name, entry[3], entry[4], jobs=jobs,
                                             engine=manifest["engine"], stream=stream, timeout=timeout,
                                             label=f"{city.name}: ")
                    batches[name].run.data["synthesis"] = "../manifest.json"
            write()
            tasks = {id(t): b for b in batches.values() for t in b.tasks}
            with engine:
                engine.run([t for b in batches.values() for t in b.tasks], lambda t, r: tasks[id(t)].record(t, r))
                run_comparisons(engine, list(batches.values()))
    except KeyboardInterrupt:
        with _signals_ignored():
            engine.stop()
            for b in batches.values():
                b.interrupted()
            manifest["interrupted"] = True
            for rec in manifest["cities"]:
                if rec["status"] == "pending":
                    rec["status"] = "not finished (interrupted)"
            _stamp(manifest, t0)
            write()
        print(f"interrupted; partial run recorded in {folder / 'manifest.json'}", file=stream, flush=True)
        raise
    for rec in manifest["cities"]:
        b = batches.get(rec["folder"])
        if b is None:
            continue
        b.finish()
        rec["status"] = b.run.data["status"]
        rec["run"] = f"{rec['folder']}/manifest.json"
    cities = _headlines(manifest, batches, folder, headline)
    tables = synthesise(cities, conv)
    for name, df in tables.items():
        atomic_write_text(folder / TABLES_DIR / f"{name}.csv", df.to_csv(index=False, lineterminator="\n"))
    from climateinvest.batch.synthesis_page import synthesis_html

    atomic_write_text(folder / "synthesis.html", synthesis_html(manifest, tables, conv, language))
    manifest["outputs"] = {"html": "synthesis.html", "tables": f"{TABLES_DIR}/"}
    failed = any(r["status"] != "complete" for r in manifest["cities"])
    manifest["status"] = "complete with failures" if failed else "complete"
    _stamp(manifest, t0)
    write()
    print(folder / "synthesis.html")
    return EXIT_FAILED if failed else EXIT_OK


def _stamp(manifest: dict, t0: float) -> None:
    manifest["finished"] = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
    manifest["seconds"] = round(time.perf_counter() - t0, 3)


def _headlines(manifest: dict, batches: dict[str, BatchRun], folder: Path, headline: str) -> list[dict]:
    """Each city's headline scenario (``headline`` if it succeeded, else its first that did),
    recorded in the manifest; the cities without any successful scenario are left out.
    """
    out = []
    for rec in manifest["cities"]:
        b = batches.get(rec["folder"])
        ok = [s["name"] for s in b.run.scenarios if s["status"] == "ok"] if b else []
        if not ok:
            rec["headline"] = None
            if rec["status"] != "failed":
                rec["status"] = "failed"
                rec["error"] = rec.get("error") or "no scenario succeeded"
            continue
        name = headline if headline in ok else ok[0]
        rec["headline"] = name
        base = folder / rec["folder"]
        out.append({"name": rec["name"], "population": rec["population"], "currency": rec["currency"],
                    "price_year": rec["price_year"], "scenario": name, "folder": rec["folder"],
                    "figures": scenario_figures(base / name),
                    "scenarios": {s: scenario_figures(base / s)["totals"] for s in ok}})
    return out

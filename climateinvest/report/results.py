"""The results a report shows: a live ``ScenarioResult`` or one saved by ``save_result``.

A live result holds each step's own typed result in ``result.steps`` (``run_scenario`` always
fills it; ``steps.uncertainty`` is None without a Monte Carlo). A saved result holds the
tables and the manifest only: the comparison reads it, and every report part that needs a step
object says plainly that the saved result does not hold it.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pandas as pd

from climateinvest.io.output_columns import city_names
from climateinvest.report import i18n
from climateinvest.report.formatting import is_missing

TABLE_NAMES = ("measures", "macc", "portfolio", "financing", "pathway", "uncertainty")


@dataclasses.dataclass
class SavedResult:
    """A result read back from the folder ``save_result`` wrote (CSV tables + manifest.json)."""

    folder: Path
    manifest: dict
    tables_: dict[str, pd.DataFrame]

    def __getattr__(self, name):
        if name in TABLE_NAMES:
            return self.tables_.get(name)
        raise AttributeError(name)

    @property
    def extra(self) -> dict[str, pd.DataFrame]:
        """The tables beyond the six main ones."""
        return {k: v for k, v in self.tables_.items() if k not in TABLE_NAMES}

    @property
    def steps(self) -> dict:
        """No step objects: a saved result holds tables only."""
        return {}

    @property
    def summary(self) -> dict:
        """The run's summary figures from the manifest."""
        return self.manifest.get("summary") or {}

    @property
    def inputs_sha256(self) -> dict[str, str]:
        """SHA-256 of every input file, as hashed when the run read it."""
        return self.manifest.get("inputs_sha256") or {}

    @property
    def timings(self) -> dict[str, float]:
        """Seconds per step."""
        return self.manifest.get("timings_s") or {}

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every saved table by name."""
        return dict(self.tables_)


def load_saved(folder: str | Path) -> SavedResult:
    """Read a result folder written by ``ScenarioResult.save`` (``manifest.json`` + CSVs)."""
    folder = Path(folder)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    names = manifest.get("tables") or sorted(p.stem for p in folder.glob("*.csv"))
    tables = {}
    for name in names:
        path = folder / f"{name}.csv"
        if path.exists():
            try:
                tables[name] = pd.read_csv(path)
            except pd.errors.EmptyDataError:
                tables[name] = pd.DataFrame()
    return SavedResult(folder=folder, manifest=manifest, tables_=tables)


def report_context(result, language: str | None = None) -> i18n.Context:
    """The words a report on ``result`` needs: its language (``language`` if given, else the
    scenario's, else Swedish for a Swedish city), currency, funding-source names and sectors.
    """
    s = scenario_dict(result)
    if isinstance(result, SavedResult):
        city = result.manifest.get("city") or {}
        return i18n.Context(lang=i18n.choose_language(language, s.get("language"), city.get("country")),
                            currency=city.get("currency", ""))
    funding_sources, sectors = city_names(result.city)
    return i18n.Context(lang=i18n.choose_language(language, s.get("language"), result.city.country),
                        currency=result.city.currency, funding_sources=funding_sources, sectors=sectors)


def load(source: str | Path, language: str | None = None):
    """A result to report on: a scenario file is computed (``run_scenario``); a folder written by
    ``save_result`` / ``climateinvest run`` is read back. Makes the report's language and city
    words current (``report_context``): ``language`` ("sv", "en") overrides the scenario's.
    """
    path = Path(str(source))
    if path.is_dir() and (path / "manifest.json").exists():
        result = load_saved(path)
    else:
        from climateinvest.run import run_scenario

        result = run_scenario(path)
    i18n.use(report_context(result, language or None))
    return result


def load_many(sources, language: str | None = None) -> list:
    """``load`` for a list of scenario files or result folders (a JSON list text is accepted); a
    folder of scenario files stands for every ``*.yaml`` in it. The first result sets the
    language (unless ``language`` is given).
    """
    if isinstance(sources, str):
        text = sources.strip()
        sources = json.loads(text) if text.startswith("[") else [text]
    paths = []
    for s in sources:
        p = Path(str(s))
        if p.is_dir() and not (p / "manifest.json").exists():
            paths += sorted(p.glob("*.yaml")) + sorted(p.glob("*.yml"))  # a cycle's folder of scenarios
        else:
            paths.append(p)
    results = [load(p, language) for p in paths]
    if results:
        i18n.use(report_context(results[0], language or None))
    return results


def scenario_dict(result) -> dict:
    """The scenario's parameters as plain JSON values."""
    if isinstance(result, SavedResult):
        return dict(result.manifest.get("scenario") or {})
    return result.scenario.model_dump(mode="json")


def meta(result) -> dict:
    """Title-page facts of a result (plain, unescaped values)."""
    s = scenario_dict(result)
    if isinstance(result, SavedResult):
        city = result.manifest.get("city") or {}
        name, currency, price_year = city.get("name", ""), city.get("currency", ""), city.get("price_year")
        country, source = city.get("country", ""), str(result.folder)
        version = result.manifest.get("climateinvest_version", "")
    else:
        name, currency, price_year = result.city.name, result.city.currency, result.city.price_year
        country = result.city.country
        source = str(result.scenario.source_file or "")
        from climateinvest import __version__ as version
    cycle = s.get("budget_cycle")
    return {"title": s.get("title", ""), "city": name, "country": country, "currency": currency,
            "price_year": price_year, "cycle": cycle,
            "plan_years": [cycle, cycle + 1, cycle + 2] if isinstance(cycle, int) else [],
            "perspective": s.get("perspective", ""), "scenario_file": source, "version": version,
            "target": s.get("target") or {}, "scenario": s}


def summary_value(result, step: str, key: str):
    """``result.summary[step][key]``; None where the step or the key is absent or the value is
    missing (NaN).
    """
    value = (result.summary.get(step) or {}).get(key)
    return None if value is None or is_missing(value) else value


# ---------------------------------------------------------------------------------------------
# Key figures: (id, label, kind, step, key of the step's summary)

KEY_FIGURES = (
    ("measures_funded", "Measures funded", "count", "portfolio", "n_measures"),
    ("investment", "Investment in the chosen measures", "money", "financing", "investment_total"),
    ("target_year_tco2e", "Emissions in the target year with the portfolio", "tonnes",
     "pathway", "target_year_with_portfolio_tco2e"),
    ("abatement_tco2e", "Portfolio abatement in the target year", "tonnes",
     "pathway", "target_year_abatement_territorial_tco2e"),
    ("gap_tco2e", "Gap to the target (positive = short)", "tonnes", "pathway", "gap_tco2e"),
    ("financing_gap", "Financing gap", "money", "financing", "gap_total"),
    ("cost_per_tco2e", "Portfolio cost per tonne", "money_per_tonne", "portfolio", "cost_per_tco2e"),
    ("prob_meet_target", "Probability of meeting the target", "share", "uncertainty", "prob_meet_target"),
    ("budget_runs_out_year", "Carbon budget runs out", "year", "pathway", "budget_runs_out_year"),
)


# A fossil-CO2-only budget (Klimatkollen's) against a pathway of all greenhouse gases.
FOSSIL_BUDGET_LABEL = "Carbon budget runs out (indicator: a fossil-CO2 budget against all greenhouse gases)"


def key_figures(result) -> list[dict]:
    """The decision's key figures from ``result.summary``: dicts with id, label, kind, value
    (None where the result does not hold it).
    """
    fossil = summary_value(result, "pathway", "carbon_budget_basis") in ("fossil_co2", None)
    labels = {"budget_runs_out_year": FOSSIL_BUDGET_LABEL} if fossil else {}
    return [{"id": fid, "label": labels.get(fid, label), "kind": kind, "value": summary_value(result, step, key)}
            for fid, label, kind, step, key in KEY_FIGURES]

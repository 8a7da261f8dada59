"""The adopted plan: what the council decided for a budget cycle, kept as a plain YAML file.

``adopt_scenario`` reads one scenario's saved result (the ``<name>/`` CSV folder of a report run,
with its ``manifest.json``) and writes a snapshot to ``<city>/plans/<cycle>.yaml``: every chosen
measure with its start year, investment per year, financing per source and expected tonnes, the
key figures, the inventory the plan stood on, and the SHA-256 of every input the run read. The
file is created exclusively: an adopted plan is never overwritten (a second ``adopt`` for the same
cycle is refused and names the file).

Money in the city's currency at its price year (real); tonnes in t CO2e per year in the target
year (``expected_tco2e``, the portfolio's adjusted tonnes).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from climateinvest.io.errors import Problem, ValidationError
from climateinvest.io.files import _UMASK, sha256_file
from climateinvest.io.tabular import load_yaml

PLAN_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class PlannedMeasure(_Strict):
    """One measure of the adopted plan. Money [currency], tonnes [t CO2e / year, target year]."""

    measure_id: str = Field(min_length=1)
    name: str = ""
    sector: str = ""
    payer: str = ""
    emission_source: str = ""
    start_year: int = Field(ge=1900, le=2200)
    capex: float = Field(ge=0)
    capex_years: int = Field(1, ge=1, le=200)
    counts_against_budget: bool = True
    investment_by_year: dict[int, float] = Field(default_factory=dict)
    financing: dict[str, float] = Field(default_factory=dict, description="source_id -> amount")
    expected_tco2e: float = 0.0
    cost_per_tco2e: float | None = None


class AdoptedPlan(_Strict):
    """A snapshot of the scenario a council adopted for one budget cycle."""

    plan_version: int = PLAN_VERSION
    cycle: int = Field(ge=2000, le=2100)
    city: str
    scenario: str
    title: str = ""
    adopted_from: str = ""
    scenario_file: str = ""
    emission_factor_set: str = ""
    price_path: str = ""
    target_year: int = 2030
    last_inventory_year: int | None = None
    last_inventory_tco2e: float | None = None
    carbon_budget_tco2e: float | None = None
    carbon_budget_from_year: int | None = None
    key_figures: dict[str, float | int | None] = Field(default_factory=dict)
    inputs_sha256: dict[str, str] = Field(default_factory=dict)
    measures: list[PlannedMeasure] = Field(default_factory=list)

    @property
    def measure_ids(self) -> list[str]:
        """The adopted measures' ids in plan order."""
        return [m.measure_id for m in self.measures]

    def measure(self, measure_id: str) -> PlannedMeasure:
        """The adopted measure ``measure_id``."""
        return next(m for m in self.measures if m.measure_id == measure_id)


KEY_FIGURES = (  # (name in the plan, step, key of the step's summary)
    ("n_measures", "portfolio", "n_measures"),
    ("investment_total", "financing", "investment_total"),
    ("grants_total", "financing", "grant_total"),
    ("loans_total", "financing", "loan_total"),
    ("own_funds_total", "financing", "own_funds_total"),
    ("financing_gap", "financing", "gap_total"),
    ("target_year_abatement_tco2e", "pathway", "target_year_abatement_territorial_tco2e"),
    ("target_year_with_portfolio_tco2e", "pathway", "target_year_with_portfolio_tco2e"),
    ("gap_tco2e", "pathway", "gap_tco2e"),
    ("cost_per_tco2e", "portfolio", "cost_per_tco2e"),
)


def _csv(folder: Path, name: str) -> pd.DataFrame:
    path = folder / f"{name}.csv"
    if not path.is_file():
        raise ValidationError(Problem(str(folder), f"has no {name}.csv: not a saved scenario result"))
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _num(x) -> float | int | None:
    if isinstance(x, int) and not isinstance(x, bool):
        return x
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v == v and abs(v) != float("inf") else None


def _shown(path: str) -> str:
    """``path`` relative to the working folder when it lies inside it (plans travel with the
    repository), else as given.
    """
    if not path:
        return path
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return path


def plan_from_result(folder: str | Path, scenario_name: str) -> AdoptedPlan:
    """The plan snapshot of the saved result in ``folder`` (written by ``ScenarioResult.save``).

    Parameters
    ----------
    folder : the scenario's result folder (CSV tables and ``manifest.json``)
    scenario_name : the scenario's name in the run (its folder name)

    Returns
    -------
    AdoptedPlan
    """
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ValidationError(Problem(str(folder / "manifest.json"),
                                      f"cannot be read as a result manifest ({e})")) from None
    chosen = _csv(folder, "portfolio")
    spending = _csv(folder, "portfolio_spending")
    allocation = _csv(folder, "financing_allocation")
    summary, scen = manifest.get("summary") or {}, manifest.get("scenario") or {}
    measures = []
    for r in chosen.to_dict("records"):
        mid = str(r["measure_id"])
        spend = spending[spending["measure_id"] == mid] if len(spending) else spending
        alloc = (allocation[(allocation["measure_id"] == mid) & (allocation["amount"] > 0)]
                 if len(allocation) else allocation)
        measures.append(PlannedMeasure(
            measure_id=mid, name=str(r.get("name", "")), sector=str(r.get("sector", "")),
            payer=str(r.get("payer", "")), emission_source=str(r.get("emission_source", "")),
            start_year=int(r["start_year"]), capex=float(r["capex"]), capex_years=int(r.get("capex_years", 1)),
            counts_against_budget=bool(r.get("counts_against_budget", True)),
            investment_by_year={int(y): float(v) for y, v in spend.groupby("year")["capex"].sum().items()}
            if len(spend) else {},
            financing={str(s): float(v) for s, v in alloc.groupby("source_id")["amount"].sum().items()}
            if len(alloc) else {},
            expected_tco2e=float(r.get("adjusted_tco2e", 0.0)), cost_per_tco2e=_num(r.get("cost_per_tco2e"))))
    pathway = _csv(folder, "pathway")
    path_summary = summary.get("pathway") or {}
    last = path_summary.get("last_inventory_year")
    last_t = None
    if last is not None and len(pathway):
        row = pathway[pathway["year"] == last]
        last_t = _num(row["baseline_territorial_tco2e"].iloc[0]) if len(row) else None
    budget = scen.get("carbon_budget") or {}
    return AdoptedPlan(
        cycle=int(scen["budget_cycle"]), city=str((manifest.get("city") or {}).get("name", "")),
        scenario=scenario_name, title=str(scen.get("title", "")), adopted_from=_shown(str(folder)),
        scenario_file=next((_shown(k) for k in (manifest.get("inputs_sha256") or {})
                            if k.endswith((".yaml", ".yml")) and Path(k).name != "city.yaml"
                            and Path(k).parent.name != "plans"), ""),
        emission_factor_set=str(scen.get("emission_factor_set", "")), price_path=str(scen.get("price_path", "")),
        target_year=int((scen.get("target") or {}).get("year", 2030)),
        last_inventory_year=last, last_inventory_tco2e=last_t,
        carbon_budget_tco2e=_num(budget.get("tco2e")), carbon_budget_from_year=budget.get("from_year"),
        key_figures={k: _num((summary.get(step) or {}).get(key)) for k, step, key in KEY_FIGURES},
        inputs_sha256={_shown(k): v for k, v in (manifest.get("inputs_sha256") or {}).items()}, measures=measures)


def plan_text(plan: AdoptedPlan) -> str:
    """The plan as YAML text, with a header saying what it is."""
    head = (f"# Adopted climate investment plan, budget cycle {plan.cycle} ({plan.city}), written by\n"
            f"# `climateinvest adopt` from scenario {plan.scenario!r}. Never edit or overwrite: the follow-up\n"
            f"# (followup/<year>.csv) and the next cycle refer to it. Money in the city's currency, real.\n")
    body = yaml.safe_dump(plan.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=100)
    return head + body


def write_new(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically, refusing if ``path`` exists (never overwrites).

    The text goes to a temporary file in the same folder, which is then hard-linked to ``path``
    (``os.link`` fails when the name exists, so two writers cannot both succeed).
    """
    path = Path(path)
    if path.exists():
        raise ValidationError(Problem(str(path), "exists already: an adopted plan is never overwritten "
                                                 "(nothing was written)"))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(text.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise ValidationError(Problem(str(path), "exists already: an adopted plan is never overwritten "
                                                     "(nothing was written)")) from None
    finally:
        Path(tmp).unlink(missing_ok=True)
    return path


def adopt_scenario(run_folder: str | Path, scenario_name: str, city_folder: str | Path | None = None) -> Path:
    """Record the scenario ``scenario_name`` of a report run as the adopted plan of its cycle.

    Parameters
    ----------
    run_folder : a report run folder (``reports/<cycle>/<run id>/``) or the scenario's own result
        folder
    scenario_name : the scenario's name in the run (e.g. ``base``)
    city_folder : where ``plans/`` goes; default the city folder the run read

    Returns
    -------
    Path of the new ``plans/<cycle>.yaml``. Raises ``ValidationError`` (nothing written) when the
    result is missing or the plan exists already.
    """
    run_folder = Path(run_folder)
    folder = run_folder / scenario_name
    if not (folder / "manifest.json").is_file():
        if (run_folder / "manifest.json").is_file() and run_folder.name == scenario_name:
            folder = run_folder
        else:
            names = sorted(p.parent.name for p in run_folder.glob("*/manifest.json"))
            raise ValidationError(Problem(str(run_folder), f"has no saved result of scenario {scenario_name!r} "
                                          f"(scenarios: {', '.join(names) or 'none'})"))
    plan = plan_from_result(folder, scenario_name)
    city = Path(city_folder) if city_folder else Path(json.loads(
        (folder / "manifest.json").read_text(encoding="utf-8"))["scenario"]["city"])
    return write_new(city / "plans" / f"{plan.cycle}.yaml", plan_text(plan))


def load_plan(path: str | Path) -> AdoptedPlan:
    """Read and validate an adopted plan file; ``ValidationError`` names the file and key."""
    path = Path(path)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(Problem(str(path), "file not found (write it with `climateinvest adopt`)")) from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError, ValueError) as e:
        raise ValidationError(Problem(str(path), f"cannot be read as an adopted plan: {e}")) from None
    try:
        return AdoptedPlan.model_validate(raw)
    except PydanticError as e:
        raise ValidationError([Problem(str(path), f"{err['msg']}, got {err.get('input')!r}",
                                       column=".".join(str(p) for p in err["loc"]) or None)
                               for err in e.errors()]) from None


def plan_hash(path: str | Path) -> str:
    """SHA-256 of an adopted plan file (recorded by the runs built on it)."""
    return sha256_file(path)

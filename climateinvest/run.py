"""run_scenario: the pipeline, readable top to bottom (see docs/architecture.md)."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from climateinvest import __version__
from climateinvest.appraisal import appraise
from climateinvest.cashflows import Flows, build_flows
from climateinvest.financing import plan_financing
from climateinvest.io.city import CityData, check_against_scenario, load_city
from climateinvest.io.files import atomic_write_bytes, atomic_write_text, deterministic_xlsx, sha256_file
from climateinvest.io.results_workbook import results_workbook_of
from climateinvest.io.scenario import Scenario, load_scenario
from climateinvest.macc import build_macc, sector_summary
from climateinvest.pathway import build_pathway
from climateinvest.portfolio.select import flows_for_chosen, select_portfolio
from climateinvest.uncertainty.analysis import run_monte_carlo
from climateinvest.uncertainty.fixed_portfolio import portfolio_cost_per_tonne


@dataclass
class ScenarioResult:
    """Every table of one scenario run. Money in ``city.currency`` at ``city.price_year`` prices."""

    scenario: Scenario
    city: CityData
    flows: Flows
    measures: pd.DataFrame
    macc: pd.DataFrame | None = None
    portfolio: pd.DataFrame | None = None
    financing: pd.DataFrame | None = None
    pathway: pd.DataFrame | None = None
    uncertainty: pd.DataFrame | None = None
    extra: dict[str, pd.DataFrame] = field(default_factory=dict)
    steps: dict[str, Any] = field(default_factory=dict)  # each step's own result object, for plots
    inputs_sha256: dict[str, str] = field(default_factory=dict)  # hashed when the run read them
    summary: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """All result tables by name, main ones first."""
        main = {"measures": self.measures, "macc": self.macc, "portfolio": self.portfolio,
                "financing": self.financing, "pathway": self.pathway, "uncertainty": self.uncertainty}
        return {k: v for k, v in (main | self.extra).items() if v is not None}

    def manifest(self) -> dict:
        """Inputs (with SHA-256), parameters, versions and timings of this run."""
        return {
            "climateinvest_version": __version__,
            "scenario": self.scenario.model_dump(mode="json"),
            "city": {"name": self.city.name, "currency": self.city.currency, "price_year": self.city.price_year},
            "inputs_sha256": self.inputs_sha256,
            "summary": self.summary,
            "timings_s": {k: round(v, 4) for k, v in self.timings.items()},
            "tables": sorted(self.tables()),
        }

    def save(self, out_dir: str | Path) -> Path:
        """Write one CSV per table, one XLSX with a sheet per table and ``manifest.json``.

        Each file is written atomically; CSVs are byte-identical for identical inputs and seed.
        """
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        tables = self.tables()
        for name, df in tables.items():
            atomic_write_text(out / f"{name}.csv", df.to_csv(index=False, lineterminator="\n"))
        atomic_write_bytes(out / "results.xlsx", deterministic_xlsx(results_workbook_of(self)))
        atomic_write_text(
            out / "manifest.json", json.dumps(self.manifest(), indent=2, ensure_ascii=False, default=str) + "\n"
        )
        return out


def _untimed(name, fn, *args, **kwargs):
    return fn(*args, **kwargs)


def scenario_flows(city: CityData, scenario: Scenario) -> Flows:
    """Every measure's arrays at its appraisal start year (its earliest start, not before the
    budget year) on the scenario's price path and emission-factor set.
    """
    check_against_scenario(city, scenario.price_path, scenario.emission_factor_set)
    start = city.measures["earliest_start_year"].clip(lower=scenario.budget_cycle).to_numpy(int)
    return build_flows(city, scenario.price_path, scenario.emission_factor_set, start)


def run_curve(scenario: Scenario, city: CityData, flows: Flows | None = None, timed=_untimed) -> ScenarioResult:
    """The first steps: cash flows (unless given), appraisal and the MAC curve. The explorer
    redraws from here; ``run_scenario`` goes on from here.
    """
    if flows is None:
        flows = timed("cashflows", scenario_flows, city, scenario)
    measures = timed(
        "appraisal",
        appraise,
        flows,
        city,
        scenario.discount_rate,
        scenario.perspective,
        scenario.carbon_value_per_tco2e,
        scenario.discount_abatement,
    )
    macc = timed("macc", build_macc, measures, flows, city, scenario)
    result = ScenarioResult(
        scenario=scenario, city=city, flows=flows, measures=measures, macc=macc.curve, steps={"macc": macc}
    )
    result.extra.update(
        macc_alternatives=macc.alternatives,
        macc_reconciliation=macc.reconciliation,
        macc_excluded=macc.excluded,
        macc_sector_summary=sector_summary(macc.curve),
    )
    result.summary["macc"] = {
        "reference_year": macc.reference_year,
        "interaction": macc.interaction,
        "total_tco2e": float(macc.curve["adjusted_tco2e"].sum()),
        "double_count_avoided_tco2e": float(macc.reconciliation["double_count_avoided_tco2e"].sum()),
    }
    return result


def run_scenario(scenario: Scenario | str | Path, city: CityData | None = None) -> ScenarioResult:
    """Run every step for one scenario. ``scenario`` may be a path; ``city`` overrides its folder."""
    clock = {}

    def timed(name, fn, *args, **kwargs):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        clock[name] = time.perf_counter() - t0
        return out

    if not isinstance(scenario, Scenario):
        scenario = timed("load_scenario", load_scenario, scenario)
    assert isinstance(scenario, Scenario)
    if city is None:
        city = timed("load_city", load_city, scenario.city)
    inputs = [scenario.source_file] if scenario.source_file else []
    inputs_sha256 = {str(p): sha256_file(p) for p in sorted({*inputs, *city.files.values()}, key=str)}

    result = run_curve(scenario, city, timed=timed)
    flows, measures, macc = result.flows, result.measures, result.steps["macc"]
    portfolio = timed("portfolio", select_portfolio, city, scenario, measures, macc.curve)
    chosen_flows = flows_for_chosen(city, scenario, portfolio.chosen)
    financing = timed("financing", plan_financing, city, scenario, portfolio.chosen, chosen_flows)
    pathway = timed("pathway", build_pathway, city, scenario, portfolio.chosen, chosen_flows)
    uncertainty = None
    if scenario.monte_carlo is not None and len(city.uncertainty):
        uncertainty = timed(
            "uncertainty",
            run_monte_carlo,
            city,
            scenario,
            flows,
            measures,
            portfolio.chosen,
            pathway,
            macc_curve=macc.curve,
        )

    result.portfolio, result.financing, result.pathway = portfolio.chosen, financing.by_year, pathway.table
    result.uncertainty = uncertainty.measures if uncertainty else None
    result.timings, result.inputs_sha256 = clock, inputs_sha256
    result.steps.update(portfolio=portfolio, financing=financing, pathway=pathway, uncertainty=uncertainty)
    result.extra.update(
        portfolio_budget_use=portfolio.budget_use,
        portfolio_greedy=portfolio.greedy,
        portfolio_comparison=portfolio.comparison,
        portfolio_frontier=portfolio.frontier,
        financing_allocation=financing.allocation,
        financing_loans=financing.loans,
        financing_debt_service=financing.debt_service,
        financing_budget_impact=financing.budget_impact,
        pathway_by_sector=pathway.by_sector,
        pathway_by_source=pathway.by_source,
    )
    if uncertainty:
        result.extra.update(
            {f"uncertainty_{k}": v for k, v in uncertainty.tables().items() if v is not None and k != "measures"}
        )
    result.summary.update(
        {
            "portfolio": portfolio.summary()
            | {"cost_per_tco2e": portfolio_cost_per_tonne(city, scenario, flows, portfolio.chosen, pathway)},
            "financing": financing.summary,
            "pathway": pathway.summary,
        }
        | ({"uncertainty": uncertainty.summary} if uncertainty else {})
    )
    return result

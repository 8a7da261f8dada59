"""run_scenario: the pipeline, readable top to bottom (see docs/architecture.md)."""
from __future__ import annotations

import dataclasses
import datetime
import functools
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from climateinvest import __version__
from climateinvest.appraisal import appraise, stakeholders
from climateinvest.cashflows import Flows, build_flows
from climateinvest.financing import FinancingResult
from climateinvest.followup import carry_forward
from climateinvest.io.city import CityData, check_scenario, load_city
from climateinvest.io.files import (
    atomic_write_bytes,
    atomic_write_text,
    check_output,
    csv_safe,
    deterministic_xlsx,
    json_text,
    publish_folder,
    sha256_file,
)
from climateinvest.io.results_workbook import results_workbook_of
from climateinvest.io.scenario import Scenario, load_scenario
from climateinvest.macc import MaccResult, build_macc
from climateinvest.portfolio.cobenefits import CobenefitResult, build_cobenefits
from climateinvest.portfolio.grants import select_with_grants
from climateinvest.portfolio.select import PortfolioResult
from climateinvest.territory.investment_plan import InvestmentPlanResult, build_investment_plan
from climateinvest.territory.municipal_scope import MunicipalScopeResult, build_municipal_scope
from climateinvest.territory.pathway import PathwayResult, build_pathway
from climateinvest.uncertainty.analysis import UncertaintyResult, run_monte_carlo
from climateinvest.uncertainty.fixed_portfolio import portfolio_cost_per_tonne

MAIN_TABLES = ("measures", "macc", "portfolio", "financing", "pathway", "uncertainty")


@dataclass
class Steps:
    """Each step's own typed result; None for a step that did not run.

    ``macc`` : :class:`~climateinvest.macc.MaccResult`;
    ``portfolio`` : :class:`~climateinvest.portfolio.PortfolioResult`;
    ``financing`` : :class:`~climateinvest.financing.FinancingResult`;
    ``pathway`` : :class:`~climateinvest.territory.pathway.PathwayResult`;
    ``uncertainty`` : :class:`~climateinvest.uncertainty.UncertaintyResult` (None without a Monte
    Carlo); ``cobenefits`` : :class:`~climateinvest.portfolio.cobenefits.CobenefitResult` (None
    when the city states no co-benefits); ``investment_plan`` :
    :class:`~climateinvest.territory.investment_plan.InvestmentPlanResult` (the EU Cities Mission's
    tables); ``municipal_scope`` : :class:`~climateinvest.territory.municipal_scope.MunicipalScopeResult`
    (None without ``municipal_inventory.csv``). Each documents its tables' columns and units, and
    each table it holds is saved.
    """

    macc: MaccResult | None = None
    portfolio: PortfolioResult | None = None
    financing: FinancingResult | None = None
    pathway: PathwayResult | None = None
    uncertainty: UncertaintyResult | None = None
    cobenefits: CobenefitResult | None = None
    investment_plan: InvestmentPlanResult | None = None
    municipal_scope: MunicipalScopeResult | None = None

    def get(self, name: str) -> Any:
        """The step result called ``name``, or None."""
        return getattr(self, name, None)

    def __getitem__(self, name: str) -> Any:
        if name not in STEP_NAMES:
            raise KeyError(name)
        return getattr(self, name)

    def present(self) -> list[Any]:
        """The results of the steps that ran, in pipeline order."""
        return [r for r in (getattr(self, n) for n in STEP_NAMES) if r is not None]


STEP_NAMES = tuple(f.name for f in dataclasses.fields(Steps))


@dataclass
class ScenarioResult:
    """One scenario run: its inputs, the appraisal and each step's typed result.

    Money in ``city.currency`` at ``city.price_year`` prices. The main tables are reachable as
    ``measures`` (the appraisal), ``macc``, ``portfolio``, ``financing``, ``pathway`` and
    ``uncertainty``; every other table through ``steps`` and :meth:`tables`. Nothing is held
    twice: the tables, the summary and the manifest are derived from the step results.
    """

    scenario: Scenario
    city: CityData
    flows: Flows
    measures: pd.DataFrame  # the appraisal, one row per measure (appraisal.APPRAISAL_COLUMNS)
    steps: Steps = field(default_factory=Steps)
    portfolio_cost_per_tco2e: float | None = None  # [currency / t CO2e], the chosen portfolio
    stakeholders: pd.DataFrame | None = None  # who pays and who gains (appraisal.stakeholders)
    grant_rounds: dict[str, Any] = field(default_factory=dict)  # the grant fixed point's status
    inputs_sha256: dict[str, str] = field(default_factory=dict)  # hashed when the run read them
    timings: dict[str, float] = field(default_factory=dict)  # seconds per step
    computed_on: str = field(default_factory=lambda: datetime.date.today().isoformat())  # ISO date of the run

    @property
    def macc(self) -> pd.DataFrame | None:
        """The MAC curve (``steps.macc.curve``)."""
        return self.steps.macc.curve if self.steps.macc else None

    @property
    def portfolio(self) -> pd.DataFrame | None:
        """The chosen measures (``steps.portfolio.chosen``)."""
        return self.steps.portfolio.chosen if self.steps.portfolio else None

    @property
    def financing(self) -> pd.DataFrame | None:
        """The financing plan per year (``steps.financing.by_year``)."""
        return self.steps.financing.by_year if self.steps.financing else None

    @property
    def pathway(self) -> pd.DataFrame | None:
        """Emissions per year against the target (``steps.pathway.table``)."""
        return self.steps.pathway.table if self.steps.pathway else None

    @property
    def uncertainty(self) -> pd.DataFrame | None:
        """Monte Carlo figures per measure (``steps.uncertainty.measures``)."""
        return self.steps.uncertainty.measures if self.steps.uncertainty else None

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every result table by name: the appraisal, then each step's tables, main ones first."""
        out = {"measures": self.measures}
        for step in self.steps.present():
            out |= step.tables()
        if self.stakeholders is not None:
            out["stakeholders"] = self.stakeholders
        return out

    @property
    def extra(self) -> dict[str, pd.DataFrame]:
        """The tables beyond the six main ones."""
        return {k: v for k, v in self.tables().items() if k not in MAIN_TABLES}

    @property
    def summary(self) -> dict:
        """JSON-serialisable key figures per step (for the manifest and the reports)."""
        out: dict[str, Any] = {}
        s = self.steps
        if s.macc:
            out["macc"] = s.macc.summary()
        if s.portfolio:
            out["portfolio"] = s.portfolio.summary() | {"cost_per_tco2e": self.portfolio_cost_per_tco2e}
        if s.financing:
            out["financing"] = s.financing.summary
        if s.pathway:
            out["pathway"] = s.pathway.summary
        if s.uncertainty:
            out["uncertainty"] = s.uncertainty.summary
        if s.cobenefits:
            out["cobenefits"] = s.cobenefits.summary
        if s.investment_plan:
            out["investment_plan"] = s.investment_plan.summary
        if s.municipal_scope:
            out["municipal_scope"] = s.municipal_scope.summary
        if self.grant_rounds:
            out["grants"] = self.grant_rounds
        out["conventions"] = self.scenario.conventions(self.city.price_year, self.city.currency)
        return out

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

        All or nothing: the files are written into a fresh folder that then replaces ``out_dir``
        (an earlier result folder; never an input folder, see ``io.files.check_output``). CSV
        text starting like a formula is neutralised (``io.files.csv_safe``); the manifest is
        valid JSON (``io.files.json_text``). CSVs are byte-identical for identical inputs and seed.
        """
        inputs = [self.scenario.source_file, self.city.path, *self.city.files.values()]
        out = check_output(out_dir, [p for p in inputs if p is not None], replaces="manifest.json")
        tables = self.tables()

        def write(folder: Path) -> None:
            for name, df in tables.items():
                atomic_write_text(folder / f"{name}.csv", csv_safe(df).to_csv(index=False, lineterminator="\n"))
            atomic_write_bytes(folder / "results.xlsx", deterministic_xlsx(results_workbook_of(self)))
            atomic_write_text(folder / "manifest.json", json_text(self.manifest()))

        return publish_folder(out, write)


def _timer(clock: dict[str, float]):
    """A ``timed(name, fn, *args)`` that calls ``fn`` and records its seconds in ``clock[name]``."""

    def timed(name, fn, *args, **kwargs):
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        clock[name] = time.perf_counter() - t0
        return out

    return timed


def _untimed(name, fn, *args, **kwargs):
    return fn(*args, **kwargs)


def scenario_flows(city: CityData, scenario: Scenario) -> Flows:
    """Every measure's arrays at its appraisal start year (its earliest start, not before the
    budget year) on the scenario's price path and emission-factor set.
    """
    check_scenario(city, scenario)
    start = city.measures["earliest_start_year"].clip(lower=scenario.budget_cycle).to_numpy(int)
    return build_flows(city, scenario.price_path, scenario.emission_factor_set, start)


def run_curve(scenario: Scenario, city: CityData, flows: Flows | None = None, timed=_untimed,
              grants: tuple | None = None) -> ScenarioResult:
    """The first steps: cash flows (unless given), appraisal and the MAC curve. The explorer
    redraws from here; ``run_scenario`` goes on from here. ``grants``: (M,) shares and their
    words (``grant_basis``) to appraise with, e.g. an earlier fixed point's; default the
    lone-candidate grants.
    """
    extra = {} if grants is None else {"grant": grants[0], "grant_basis": grants[1]}
    if flows is None:
        flows = timed("cashflows", scenario_flows, city, scenario)
    measures = timed(
        "appraisal",
        appraise,
        flows,
        city,
        scenario.real_rate,
        scenario.perspective,
        scenario.carbon_value_per_tco2e,
        scenario.discount_abatement,
        tax_factor=scenario.tax_factor,
        **extra,
    )
    macc = timed("macc", build_macc, measures, flows, city, scenario)
    return ScenarioResult(scenario=scenario, city=city, flows=flows, measures=measures, steps=Steps(macc=macc))


def run_scenario(scenario: Scenario | str | Path, city: CityData | None = None) -> ScenarioResult:
    """Run every step for one scenario.

    Parameters
    ----------
    scenario : Scenario or path of a scenario YAML
    city : CityData, optional
        Overrides the scenario's ``city`` folder.

    Returns
    -------
    ScenarioResult
    """
    clock: dict[str, float] = {}
    timed = _timer(clock)
    loaded = scenario if isinstance(scenario, Scenario) else timed("load_scenario", load_scenario, scenario)
    if city is None:
        city = timed("load_city", load_city, loaded.city)
    return _run(loaded, city, timed, clock)


def run_interactive(scenario: Scenario, city: CityData, previous: ScenarioResult | None = None,
                    time_limit_s: float | None = None) -> ScenarioResult:
    """Every step but the Monte Carlo and the efficient frontier: what the explorer redraws.

    Parameters
    ----------
    scenario, city : as for :func:`run_scenario` (``scenario.monte_carlo`` is not read)
    previous : an earlier result for the same city. Not used for the grant fixed point: started
        from an earlier result's grants (``select_with_grants``'s ``warm``) the loop can settle on
        another fixed point than the batch's (Landskrona 2027 base at 3 % real: ``bus_biogas``
        2029 instead of 2028), so the explorer would show a plan the report does not. The fixed
        point starts, as in :func:`run_scenario`, from the lone-candidate grants; the result equals
        the batch's for the same settings (``tests/test_explorer_session.py``).
    time_limit_s : [s] wall-clock limit of the portfolio solves (None: the node limit only, as
        the batch; the status says when a limit stopped a solve)

    Returns
    -------
    ScenarioResult  with ``steps.uncertainty`` None and an empty ``portfolio.frontier``
    """
    clock: dict[str, float] = {}
    timed = _timer(clock)
    del previous  # kept for callers; see above
    return _run(scenario.with_changes(monte_carlo=None), city, timed, clock, frontier=False,
                time_limit_s=time_limit_s)


def run_uncertainty(result: ScenarioResult, monte_carlo: dict) -> UncertaintyResult | None:
    """The Monte Carlo step alone, on an earlier result (the explorer's button).

    Exactly what :func:`run_scenario` computes for the same settings: ``run_monte_carlo`` on the
    result's city (grants off and a follow-up's carried measures as the run left them), flows,
    appraisal (with the fixed point's grants), chosen portfolio, pathway and MAC curve; nothing
    before it is recomputed.

    Parameters
    ----------
    result : a :func:`run_interactive` or :func:`run_scenario` result (its portfolio and pathway)
    monte_carlo : the scenario key ``monte_carlo`` (``draws``, ``seed``, optional ``reselect_draws``)

    Returns
    -------
    UncertaintyResult, or None when the city has no uncertainty table or the result no portfolio.
    Raises ValidationError for a cycle built on a follow-up (no Monte Carlo there) or bad settings.
    """
    scenario = result.scenario.with_changes(monte_carlo=monte_carlo)
    steps = result.steps
    if steps.portfolio is None or steps.pathway is None or steps.macc is None:
        return None
    if result.city.uncertainty is None or not len(result.city.uncertainty):
        return None
    return run_monte_carlo(result.city, scenario, result.flows, result.measures, steps.portfolio.chosen,
                           steps.pathway, macc_curve=steps.macc.curve)


def all_actors_cost_per_tonne(flows: Flows, city: CityData, scenario: Scenario) -> pd.Series:
    """[currency / t CO2e] by measure_id: the cost per tonne whoever pays (the societal appraisal
    without a carbon value, at the scenario's rate), for the Investment Plan's costing per action.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the run's own appraisal warns about the same measures once
        whole = appraise(flows, city, scenario.real_rate, "societal", 0.0, scenario.discount_abatement,
                         tax_factor=scenario.tax_factor)
    return whole.set_index("measure_id")["cost_per_tco2e"]


def without_grants(city: CityData) -> CityData:
    """The city with no funding source of kind ``grant`` (scenario ``grants: false``)."""
    f = city.funding_sources
    return dataclasses.replace(city, funding_sources=f[f["kind"] != "grant"].reset_index(drop=True))


def _run(scenario: Scenario, city: CityData, timed, clock: dict[str, float], frontier: bool = True,
         time_limit_s: float | None = None) -> ScenarioResult:
    if not scenario.grants:
        city = without_grants(city)
    # Where the cycle starts: the adopted plan and its follow-up, if the scenario names them
    # (climateinvest.followup); without them the inputs pass through unchanged.
    start = timed("carry_forward", carry_forward, city, scenario)
    scenario, city = start.scenario, start.city
    inputs = [scenario.source_file] if scenario.source_file else []
    inputs_sha256 = {str(p): sha256_file(p) for p in sorted({*inputs, *city.files.values()}, key=str)}

    result = run_curve(scenario, start.candidates, timed=timed)
    flows, curve = result.flows, result.steps.macc
    assert curve is not None  # run_curve always builds the curve
    # selection and grant allocation to a fixed point: the costs use the plan's own grants; a
    # follow-up cycle selects among the candidates and carries the adopted plan's measures
    options = {} if time_limit_s is None else {"time_limit_s": time_limit_s}
    fixed = timed("portfolio", select_with_grants, start.candidates, scenario, flows, result.measures, curve,
                  select=functools.partial(start.select_portfolio, **options), whole_city=city, frontier=frontier)
    measures, macc, portfolio, financing = fixed.measures, fixed.macc, fixed.portfolio, fixed.financing
    chosen_flows = fixed.chosen_flows
    result.measures = measures
    pathway = timed("pathway", build_pathway, city, scenario, portfolio.chosen, chosen_flows)
    own = timed("municipal_scope", build_municipal_scope, city, scenario, portfolio.chosen, chosen_flows,
                pathway.summary)
    uncertainty = None
    if scenario.monte_carlo is not None and len(city.uncertainty):
        uncertainty = timed("uncertainty", run_monte_carlo, city, scenario, flows, measures, portfolio.chosen,
                            pathway, macc_curve=macc.curve)

    # beside, not inside: the co-benefits change no cash flow, selection or municipal figure
    cobenefits = timed("cobenefits", build_cobenefits, start.candidates, flows, measures, scenario.real_rate,
                       scenario.perspective, scenario.discount_abatement, portfolio.chosen["measure_id"],
                       macc.curve)

    plan = timed("investment_plan", build_investment_plan, city, scenario, portfolio.chosen, financing.allocation,
                 pathway.by_source, pathway.summary["last_inventory_year"],
                 cobenefits.valued if cobenefits is not None else None,
                 all_actors_cost_per_tonne(flows, start.candidates, scenario))

    result.city = city
    result.steps = Steps(macc=macc, portfolio=portfolio, financing=financing, pathway=pathway,
                         uncertainty=uncertainty, cobenefits=cobenefits, investment_plan=plan,
                         municipal_scope=own)
    result.portfolio_cost_per_tco2e = portfolio_cost_per_tonne(city, scenario, chosen_flows, portfolio.chosen, pathway)
    result.stakeholders = stakeholders(flows, start.candidates, scenario.real_rate,
                                       measures["grant_share"].to_numpy(float))
    result.grant_rounds = {"status": fixed.status, "rounds": fixed.rounds, "converged": fixed.converged}
    result.timings, result.inputs_sha256 = clock, inputs_sha256
    return result

"""run_scenario: the pipeline of DESIGN.md section 2, readable top to bottom."""
from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import __version__
from .appraisal import appraise
from .cashflows import Flows, build_flows
from .data import CityData, check_against_scenario, load_city
from .files import atomic_write_bytes, atomic_write_text, sha256_file
from .scenario import Scenario, load_scenario


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
    summary: dict = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        """All result tables by name, main ones first."""
        main = {"measures": self.measures, "macc": self.macc, "portfolio": self.portfolio,
                "financing": self.financing, "pathway": self.pathway, "uncertainty": self.uncertainty}
        return {k: v for k, v in (main | self.extra).items() if v is not None}

    def manifest(self) -> dict:
        """Inputs (with SHA-256), parameters, versions and timings of this run."""
        inputs = {}
        if self.scenario.source_file:
            inputs[str(self.scenario.source_file)] = sha256_file(self.scenario.source_file)
        for path in sorted({str(p) for p in self.city.files.values()}):
            inputs[path] = sha256_file(path)
        return {
            "climateinvest_version": __version__,
            "scenario": self.scenario.model_dump(mode="json"),
            "city": {"name": self.city.name, "currency": self.city.currency, "price_year": self.city.price_year},
            "inputs_sha256": inputs,
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
        buf = io.BytesIO()
        with pd.ExcelWriter(buf, engine="openpyxl") as xl:
            for name, df in tables.items():
                df.to_excel(xl, sheet_name=name[:31], index=False)
        atomic_write_bytes(out / "results.xlsx", buf.getvalue())
        atomic_write_text(out / "manifest.json", json.dumps(self.manifest(), indent=2, ensure_ascii=False, default=str) + "\n")
        return out


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
    if city is None:
        city = timed("load_city", load_city, scenario.city)
    check_against_scenario(city, scenario.price_path, scenario.emission_factor_set)

    start = city.measures["earliest_start_year"].clip(lower=scenario.budget_cycle).to_numpy(int)
    flows = timed("cashflows", build_flows, city, scenario.price_path, scenario.emission_factor_set, start)
    measures = timed("appraisal", appraise, flows, city, scenario.discount_rate, scenario.perspective,
                     scenario.carbon_value_per_tco2e, scenario.discount_abatement)
    result = ScenarioResult(scenario=scenario, city=city, flows=flows, measures=measures, timings=clock)
    return result

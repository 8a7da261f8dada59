"""The explorer's state without any widget: a loaded scenario, the finance officer's changes to
it, the recomputed result, and what can be kept (a scenario file, the tables, the report).

Each change is a set of scenario keys (``Scenario.with_changes``: validated again, so an
impossible setting is refused with the scenario's own message). The recomputation runs every
step but the Monte Carlo and the efficient frontier (:func:`climateinvest.run.run_interactive`)
in two stages, so the MAC curve moves at once and the portfolio, financing, budget impact and
pathway follow: ``update_curve`` (cash flows cached per price path and factor set; appraisal;
MAC curve) and ``update_all``. The grant fixed point starts from the previous result's grants.
"""
from __future__ import annotations

import datetime as _dt
import html
import os
import re
import subprocess
import sys
import time
import warnings
from pathlib import Path

import yaml

from climateinvest.io.city import check_scenario, load_city
from climateinvest.io.errors import ValidationError
from climateinvest.io.files import atomic_write_bytes, atomic_write_text, deterministic_xlsx
from climateinvest.io.results_workbook import results_workbook_of
from climateinvest.io.scenario import Scenario, load_scenario
from climateinvest.portfolio.grants import warm_start
from climateinvest.report.display import FigureOut, Html, note
from climateinvest.report.figures import section_figures
from climateinvest.report.i18n import Context, choose_language, t, use
from climateinvest.report.sections import key_figures_html
from climateinvest.run import (
    ScenarioResult,
    run_curve,
    run_interactive,
    run_scenario,
    scenario_flows,
    without_grants,
)

# the views beside the MAC curve: (section, figure name)
VIEWS = {"macc": ("macc", "macc_figure"), "portfolio": ("portfolio", "phasing_figure"),
         "financing": ("financing", "financing_figure"), "budget": ("financing", "budget_impact_figure"),
         "pathway": ("pathway", "pathway_figure")}


def scenario_files(root: str | Path) -> list[Path]:
    """The scenario files under ``root`` (``parameters/``): ``<cycle>/<name>.yaml``, sorted."""
    root = Path(root)
    return sorted(p for p in root.glob("*/*.yaml") if p.is_file()) if root.is_dir() else []


def problem_text(error: Exception) -> str:
    """A refusal in plain words (a ValidationError's own list of problems), never a traceback."""
    if isinstance(error, ValidationError):
        return str(error)
    return f"{type(error).__name__}: {error}"


class Explorer:
    """A scenario to explore: ``base`` as loaded, ``changes`` (scenario keys) applied to it,
    ``result`` of the last update and ``base_result`` of the loaded scenario (the key figures
    say how far the changes moved each number).

    Parameters
    ----------
    scenario_path : a scenario YAML; its ``city`` is loaded with it
    time_limit_s : [s] wall-clock limit of each portfolio solve (the status says when it bound)
    """

    time_limit_s = 5.0

    def __init__(self, scenario_path: str | Path):
        self.base: Scenario = load_scenario(scenario_path)
        self.city = load_city(self.base.city)
        check_scenario(self.city, self.base)
        self.path = Path(scenario_path)
        language = choose_language(None, self.base.language, self.city.country)
        self.context = Context(lang=language, currency=self.city.currency,
                               funding_sources=dict(zip(self.city.funding_sources["source_id"],
                                                        self.city.funding_sources["name"], strict=True)),
                               sectors=frozenset(self.city.measures["sector"].astype(str)))
        use(self.context)
        self._flows: dict = {}
        self._pending = False  # a curve newer than the full result
        self.changes: dict = {}
        self.seconds: dict[str, float] = {}
        self.scenario_now = self.base
        self.base_result = self._run_all(self.base, None)
        self.result: ScenarioResult = self.base_result

    # --- recomputing ---------------------------------------------------------------------------

    def scenario(self, changes: dict | None = None) -> Scenario:
        """The base scenario with ``changes`` (default: the current ones) applied and validated."""
        return self.base.with_changes(**(self.changes if changes is None else changes))

    def _run_all(self, s: Scenario, previous: ScenarioResult | None) -> ScenarioResult:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return run_interactive(s, self.city, previous=previous, time_limit_s=self.time_limit_s)

    def update_curve(self, changes: dict | None = None) -> float:
        """Apply ``changes`` (replacing the current ones) and recompute the MAC curve only; the
        seconds taken. Raises ValidationError (scenario key, value, rule) for an impossible setting.
        """
        t0 = time.perf_counter()
        s = self.scenario(changes)
        check_scenario(self.city, s)
        key = (s.price_path, s.emission_factor_set, s.budget_cycle)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if key not in self._flows:
                self._flows[key] = scenario_flows(self.city, s)
            warm = warm_start(self.result.measures, self.result.steps.portfolio.chosen, self.city) \
                if s.grants and self.result.steps.get("portfolio") is not None else None
            self.curve = run_curve(s, self.city if s.grants else without_grants(self.city), self._flows[key],
                                   grants=None if warm is None else warm[1:])
        self.changes, self.scenario_now = dict(self.changes if changes is None else changes), s
        self._pending = True
        self.seconds["curve"] = time.perf_counter() - t0
        return self.seconds["curve"]

    def update_all(self) -> float:
        """Every step but the Monte Carlo and the frontier for the scenario of the last
        ``update_curve``; the seconds taken.
        """
        t0 = time.perf_counter()
        self.result = self._run_all(self.scenario_now, self.result)
        self._pending = False
        self.seconds["portfolio"] = time.perf_counter() - t0
        return self.seconds["portfolio"]

    def update(self, changes: dict | None = None) -> float:
        """Both stages; the total seconds."""
        return self.update_curve(changes) + self.update_all()

    def reset(self) -> None:
        """Back to the loaded scenario (its result is kept, nothing is recomputed)."""
        self.changes, self.scenario_now, self.result = {}, self.base, self.base_result
        self._pending = False

    def uncertainty(self) -> dict:
        """The Monte Carlo of the current settings (the scenario's ``monte_carlo``, else 2 000
        draws): its summary (``prob_meet_target`` …). Seconds in ``seconds["uncertainty"]``.
        """
        t0 = time.perf_counter()
        s = self.scenario_now
        mc = self.base.monte_carlo.model_dump() if self.base.monte_carlo else {"draws": 2000, "seed": 0}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            full = run_scenario(s.with_changes(monte_carlo=mc), self.city)
        self.seconds["uncertainty"] = time.perf_counter() - t0
        unc = full.steps.get("uncertainty")
        return dict(unc.summary) if unc is not None else {}

    # --- what is shown -------------------------------------------------------------------------

    def figure(self, view: str):
        """The figure of ``view`` (a key of :data:`VIEWS`) for the last update, or a note."""
        section, name = VIEWS[view]
        # the MAC curve right after a change, before the portfolio follows; then the full
        # result's (costed with the plan's grants, the chosen measures marked)
        result = self.curve if view == "macc" and self._pending else self.result
        figs = [f for f in section_figures(result, section, only=name) if isinstance(f, FigureOut)]
        return figs[0] if figs else note(t("ex.no_figure"))

    def key_figures(self) -> Html:
        """The report's key figures for the current result, each against the loaded scenario."""
        return Html(key_figures_html(self.result, against=self.base_result))

    def status_line(self) -> Html:
        """The solver's status and the grant fixed point, in one line."""
        p = self.result.steps.get("portfolio")
        if p is None:
            return Html("")
        return Html(f'<p class="ci-muted">{html.escape(t("ex.solver", status=str(p.status)))}; '
                    f'{html.escape(str(self.result.grant_rounds.get("status", "")))}</p>')

    def changed(self) -> list[str]:
        """One line per scenario key the changes moved: ``key: before → now``."""
        before, now = self.base.model_dump(mode="json"), self.scenario_now.model_dump(mode="json")
        return [f"{k}: {before[k]!r} → {now[k]!r}" for k in now if now[k] != before.get(k)]

    # --- keeping what was found ----------------------------------------------------------------

    def scenario_yaml(self, title: str) -> str:
        """The current settings as a scenario file (the loaded one's keys and the changes, the
        city path as written in the loaded file), with a comment naming every change.
        """
        s = self.scenario_now.with_changes(title=title)
        data = s.model_dump(mode="json", exclude_defaults=True)
        data["title"], data["city"] = title, _city_as_written(self.path, self.base)
        for key in ("adopted_plan", "followup"):
            if data.get(key):
                data[key] = _relative(Path(data[key]), self.path.parent)
        head = [f"# Saved from the explorer on {_dt.date.today().isoformat()}, starting from {self.path.name}.",
                "# Changed from that scenario:"] + [f"#   {line}" for line in self.changed() or ["(nothing)"]]
        return "\n".join(head) + "\n" + yaml.safe_dump(data, allow_unicode=True, sort_keys=False)

    def save_scenario(self, name: str, title: str | None = None) -> Path:
        """Write the current settings as ``<name>.yaml`` next to the loaded scenario (never over an
        existing file) and check that it loads back; the path written.
        """
        stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_")
        if not stem:
            raise ValueError(t("ex.bad_name", name=name))
        path = self.path.parent / f"{stem}.yaml"
        if path.exists():
            raise FileExistsError(t("ex.exists", path=str(path)))
        atomic_write_text(path, self.scenario_yaml(title or f"{self.base.title} ({stem})"))
        load_scenario(path)  # what was written is a valid scenario
        return path

    def export_xlsx(self, path: str | Path) -> Path:
        """The current result's tables as one workbook (the batch's ``<name>.xlsx`` layout)."""
        path = Path(path)
        atomic_write_bytes(path, deterministic_xlsx(results_workbook_of(self.result)))
        return path

    def render_report(self, scenario_file: Path, out: str | Path) -> subprocess.Popen:
        """Start ``climateinvest report`` on a saved scenario file (the batch's own report, Monte
        Carlo included) in a separate process; the caller polls it and reads its stdout (the
        path of the run's index.html).
        """
        return subprocess.Popen([sys.executable, "-m", "climateinvest.cli", "report", str(scenario_file),
                                 "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    # --- choices the widget offers -------------------------------------------------------------

    def factor_sets(self) -> list[str]:
        """The electricity factor sets the city offers."""
        ef = self.city.emission_factors
        carriers = ef["carrier"].astype(str).str.lower()
        sets = ef.loc[carriers.str.startswith("electric"), "factor_set"] if carriers.str.startswith("electric").any() \
            else ef["factor_set"]
        return sorted({str(s) for s in sets if s != "*"}) or [self.base.emission_factor_set]

    def price_paths(self) -> list[str]:
        """The energy price paths of the city (``energy_prices.price_path``, ``*`` left out)."""
        paths = {str(p) for p in self.city.energy_prices["price_path"] if str(p) != "*"}
        return sorted(paths | {self.base.price_path})


def _relative(path: Path, folder: Path) -> str:
    try:
        return str(path.resolve().relative_to(folder.resolve()))
    except ValueError:
        return os.path.relpath(path.resolve(), folder.resolve())


def _city_as_written(path: Path, base: Scenario) -> str:
    """The ``city`` of the loaded file as its author wrote it (relative paths stay relative)."""
    from climateinvest.io.tabular import load_yaml

    try:
        raw = load_yaml(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict) and isinstance(raw.get("city"), str):
            return raw["city"]
    except (OSError, ValueError, yaml.YAMLError):
        pass
    return _relative(base.city, path.parent)

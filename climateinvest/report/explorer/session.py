"""The explorer's state without any widget: a loaded scenario, the finance officer's changes to
it, the recomputed result, and what can be kept (a scenario file, the tables, the report).

Each change is a set of scenario keys (``Scenario.with_changes``: validated again, so an
impossible setting is refused with the scenario's own message). The recomputation runs every
step but the Monte Carlo and the efficient frontier (:func:`climateinvest.run.run_interactive`)
in two stages, so the MAC curve moves at once and the portfolio, financing, budget impact and
pathway follow: ``update_curve`` (cash flows cached per price path and factor set; appraisal;
MAC curve) and ``update_all``. The grant fixed point starts, as in the batch, from the lone-candidate
grants (a start from the previous result's could settle elsewhere: ``run_interactive``).
The Monte Carlo button runs the uncertainty step alone on the current result
(:func:`climateinvest.run.run_uncertainty`); the tables and the report are written into an output
folder (default ``explorer_output/`` beside the notebook), never into an input folder and never
over an earlier file.
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
from climateinvest.io.files import atomic_write_bytes, atomic_write_text, check_output, deterministic_xlsx
from climateinvest.io.results_workbook import results_workbook_of
from climateinvest.io.scenario import Scenario, load_scenario
from climateinvest.portfolio.grants import warm_start
from climateinvest.report.decision import key_figures_html
from climateinvest.report.display import FigureOut, Html, note
from climateinvest.report.explorer.wording import grant_status, problem_text, solver_status
from climateinvest.report.figures import section_figures
from climateinvest.report.i18n import Context, choose_language, t, use
from climateinvest.run import (
    ScenarioResult,
    run_curve,
    run_interactive,
    run_uncertainty,
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


__all__ = ["VIEWS", "Explorer", "problem_text", "scenario_files"]  # problem_text: from .wording

OUTPUT_FOLDER = "explorer_output"  # the default output folder, in the notebook's folder


class Explorer:
    """A scenario to explore: ``base`` as loaded, ``changes`` (scenario keys) applied to it,
    ``result`` of the last update and ``base_result`` of the loaded scenario (the key figures
    say how far the changes moved each number).

    Parameters
    ----------
    scenario_path : a scenario YAML; its ``city`` is loaded with it
    out : the folder the tables and reports are written into (default ``explorer_output`` in the
        working directory, which in JupyterLab is the notebook's folder); never an input folder
    time_limit_s : [s] wall-clock limit of each portfolio solve (the status says when it bound)
    """

    time_limit_s = 5.0

    def __init__(self, scenario_path: str | Path, out: str | Path | None = None):
        self.base: Scenario = load_scenario(scenario_path)
        self.city = load_city(self.base.city)
        check_scenario(self.city, self.base)
        self.path = Path(scenario_path)
        self.out = Path(out) if out else Path.cwd() / OUTPUT_FOLDER
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
        self.last_uncertainty = None  # the UncertaintyResult of the last uncertainty()
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

    def monte_carlo(self, draws: int | None = None, seed: int | None = None) -> dict:
        """The ``monte_carlo`` key of the uncertainty run: the loaded scenario's (else 2 000 draws,
        seed 0), ``draws`` and ``seed`` replacing its values when given; the selection frequency
        always by the greedy walk (a labelled fast approximation, so the button answers at once).
        """
        mc = self.base.monte_carlo.model_dump() if self.base.monte_carlo else {"draws": 2000, "seed": 0}
        mc |= {"reselect_method": "greedy"}  # the labelled fast approximation: a button answers in a second
        return mc | ({} if draws is None else {"draws": int(draws)}) | ({} if seed is None else {"seed": int(seed)})

    def uncertainty(self, draws: int | None = None, seed: int | None = None) -> dict:
        """The Monte Carlo of the current result alone (:func:`climateinvest.run.run_uncertainty`:
        the same city, scenario, flows, measures, chosen portfolio and pathway, so the same figures
        as ``run_scenario`` with these settings): its summary (``prob_meet_target`` …); {} when
        the city has no uncertainty table. Seconds in ``seconds["uncertainty"]``.

        A curve newer than the result (settings changed, portfolio not yet followed) is first
        completed with :meth:`update_all`. Raises ValueError (catalogue words) for a cycle built
        on a follow-up, which has no Monte Carlo.
        """
        t0 = time.perf_counter()
        if self.scenario_now.followup is not None:
            raise ValueError(t("ex.mc_followup"))
        if self._pending:
            self.update_all()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            unc = run_uncertainty(self.result, self.monte_carlo(draws, seed))
        self.seconds["uncertainty"] = time.perf_counter() - t0
        self.last_uncertainty = unc
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
        return Html(f'<p class="ci-muted">{html.escape(self.status_text())}</p>')

    def status_text(self) -> str:
        """The status line's words in the explorer's language: the solver's status and the grant
        fixed point's outcome (both from the message catalogue); "" before a portfolio.
        """
        p = self.result.steps.get("portfolio")
        if p is None:
            return ""
        grants = grant_status(self.result.grant_rounds)
        return t("ex.solver", status=solver_status(str(p.status))) + (f"; {grants}" if grants else "")

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
        stem = _stem(name)
        path = self.path.parent / f"{stem}.yaml"
        if path.exists():
            raise FileExistsError(t("ex.exists", path=str(path)))
        atomic_write_text(path, self.scenario_yaml(title or f"{self.base.title} ({stem})"))
        load_scenario(path)  # what was written is a valid scenario
        return path

    def output_folder(self, out: str | Path | None = None) -> Path:
        """``out`` (default :attr:`out`) resolved and checked: never an input (the scenario's folder,
        the city folder or one of its files) nor a folder holding one; else ValidationError.
        """
        inputs = [self.path.parent, self.city.path, *self.city.files.values()]
        return check_output(out if out is not None else self.out, [p for p in inputs if p is not None],
                            label=t("ex.out_dir"))

    def export_xlsx(self, name: str, out: str | Path | None = None) -> Path:
        """The current result's tables as one workbook (the batch's ``<name>.xlsx`` layout) in the
        output folder (:meth:`output_folder`): ``<name>.xlsx``, or ``<name>-2.xlsx`` … when that
        exists (an earlier file is never overwritten); the path written.
        """
        folder = self.output_folder(out)
        folder.mkdir(parents=True, exist_ok=True)
        path = _free_path(folder, _stem(name), ".xlsx")
        atomic_write_bytes(path, deterministic_xlsx(results_workbook_of(self.result)))
        return path

    def render_report(self, scenario_file: Path, out: str | Path | None = None) -> subprocess.Popen:
        """Start ``climateinvest report`` on a saved scenario file (the batch's own report, Monte
        Carlo included) in a separate process, into ``<output folder>/reports`` (each run its own
        new ``<cycle>/<run id>/`` folder); the caller waits for it and reads its stdout (the path of
        the run's index.html).
        """
        folder = self.output_folder(out) / "reports"
        return subprocess.Popen([sys.executable, "-m", "climateinvest.cli", "report", str(scenario_file),
                                 "--out", str(folder), "--lang", self.context.lang],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

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


def _stem(name: str) -> str:
    """``name`` as a file name's stem (letters, digits, ``_``, ``-``); ValueError if nothing is left."""
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name.strip()).strip("_")
    if not stem:
        raise ValueError(t("ex.bad_name", name=name))
    return stem


def _free_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/<stem><suffix>``, or the first of ``<stem>-2``, ``<stem>-3`` … that does not exist."""
    path, n = folder / f"{stem}{suffix}", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}{suffix}"
    return path


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

"""The interactive explorer (JupyterLab, ipywidgets): sliders and choices that recompute a
scenario without Monte Carlo and redraw its MAC curve and portfolio.
"""
from __future__ import annotations

import html
import time
import warnings
from pathlib import Path

from climateinvest.report.display import FigureOut, Html, note
from climateinvest.report.figures import section_figures
from climateinvest.report.formatting import NNBSP, TONNES, fmt_number


class Explorer:
    """Sliders and choices that recompute a scenario (without Monte Carlo) and redraw the MAC curve
    and the portfolio.

    The recomputation calls the pipeline's steps directly, in two stages, so the curve moves at
    once and the portfolio follows: ``update_curve`` (cash flows, cached per factor set and price
    path; appraisal; MAC curve — hundredths of a second) and ``update_portfolio`` (the budget
    MILP, without the efficient frontier, its time limit capped at ``portfolio_time_limit_s``).
    Both return the seconds they took.
    """

    portfolio_time_limit_s = 5.0

    def __init__(self, scenario_path: str | Path):
        from climateinvest.io.city import load_city
        from climateinvest.io.scenario import load_scenario

        self.base = load_scenario(scenario_path)
        self.city = load_city(self.base.city)
        self._flows: dict = {}
        self.scenario_now = self.base
        self.result = None
        self.seconds: dict[str, float] = {}

    def factor_sets(self) -> list[str]:
        """The electricity factor sets the city offers."""
        ef = self.city.emission_factors
        carriers = ef["carrier"].astype(str).str.lower()
        sets = ef.loc[carriers.str.startswith("electric"), "factor_set"] if carriers.str.startswith("electric").any() \
            else ef["factor_set"]
        return sorted({str(s) for s in sets if s != "*"}) or [self.base.emission_factor_set]

    def scenario(self, discount_rate=None, carbon_value=None, budget_multiplier=1.0, factor_set=None,
                 interaction=None, perspective=None):
        """The base scenario with the explorer's settings applied."""
        b = self.base
        changes = {"monte_carlo": None,
                   "solver_time_limit_s": min(b.solver_time_limit_s, self.portfolio_time_limit_s)}
        if discount_rate is not None:
            changes["discount_rate"] = float(discount_rate)
        if carbon_value is not None:
            changes["carbon_value_per_tco2e"] = float(carbon_value)
        if budget_multiplier is not None:
            changes["investment_budget"] = {
                y: float(v) * float(budget_multiplier) for y, v in b.investment_budget.items()
            }
        if factor_set:
            changes["emission_factor_set"] = factor_set
        if interaction:
            changes["interaction"] = interaction
        if perspective:
            changes["perspective"] = perspective
        return b.with_changes(**changes)

    def update_curve(self, **changes) -> float:
        """Recompute cash flows (cached), appraisal and the MAC curve; the portfolio is cleared."""
        from climateinvest.run import run_curve, scenario_flows

        t0 = time.perf_counter()
        s = self.scenario(**changes)
        key = (s.price_path, s.emission_factor_set, s.budget_cycle)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if key not in self._flows:
                self._flows[key] = scenario_flows(self.city, s)
            r = run_curve(s, self.city, self._flows[key])
        self.scenario_now, self.result = s, r
        self.seconds["curve"] = time.perf_counter() - t0
        return self.seconds["curve"]

    def update_portfolio(self) -> float:
        """Choose the portfolio for the scenario of the last ``update_curve``."""
        from climateinvest.portfolio.select import select_portfolio

        t0 = time.perf_counter()
        r, s = self.result, self.scenario_now
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            port = select_portfolio(self.city, s, r.measures, r.steps["macc"].curve, frontier=False)
        r.steps.portfolio = port  # result.portfolio and result.summary follow from the step result
        self.seconds["portfolio"] = time.perf_counter() - t0
        return self.seconds["portfolio"]

    def update(self, **changes) -> float:
        """Both stages; the total seconds."""
        return self.update_curve(**changes) + self.update_portfolio()

    def curve_figure(self):
        """The MAC curve of the last ``update_curve`` (or a note saying why there is none)."""
        return self._first_figure("macc", "No MAC curve could be drawn.")

    def portfolio_figure(self):
        """The phasing of the last ``update_portfolio``'s portfolio (or a note)."""
        return self._first_figure("portfolio", "No portfolio figure could be drawn.")

    def _first_figure(self, section: str, missing: str):
        figs = [f for f in section_figures(self.result, section, first_only=True) if isinstance(f, FigureOut)]
        return figs[0] if figs else note(missing)

    def portfolio_text(self) -> Html:
        """One line on the chosen portfolio: measures, investment, tonnes, shortfall, solver."""
        p = self.result.steps.get("portfolio")
        if p is None:
            return Html("")
        cur = html.escape(self.city.currency)
        capex = float(p.chosen["capex"].sum())
        return Html(
            f"<p><b>{len(p.chosen)}</b> measures chosen, investment <b>{fmt_number(capex)}{NNBSP}{cur}</b>, "
            f"<b>{fmt_number(p.achieved_tco2e)}{NNBSP}{TONNES}</b> in {int(p.target_year)} "
            f"(shortfall {fmt_number(p.shortfall_tco2e)}{NNBSP}{TONNES}); solver: {html.escape(str(p.status))}.</p>"
        )

    def widget(self):
        """The explorer's controls and outputs as an ipywidgets box."""
        import ipywidgets as w
        from IPython.display import display

        b = self.base
        style = {"description_width": "12rem"}
        layout = w.Layout(width="36rem")
        rate = w.FloatSlider(
            value=b.discount_rate,
            min=0.0,
            max=0.08,
            step=0.0025,
            readout_format=".2%",
            description="Discount rate (real)",
            continuous_update=False,
            style=style,
            layout=layout,
        )
        cv = w.FloatSlider(
            value=b.carbon_value_per_tco2e or 7000.0,
            min=0.0,
            max=15000.0,
            step=250.0,
            readout_format=",.0f",
            description=f"Carbon value [{self.city.currency}/t]",
            continuous_update=False,
            style=style,
            layout=layout,
        )
        budget = w.FloatSlider(
            value=1.0,
            min=0.0,
            max=3.0,
            step=0.05,
            readout_format=".2f",
            description="Budget × (every plan year)",
            continuous_update=False,
            style=style,
            layout=layout,
        )
        sets = self.factor_sets()
        fs = w.Dropdown(
            options=sets,
            value=b.emission_factor_set if b.emission_factor_set in sets else sets[0],
            description="Electricity factor set",
            style=style,
            layout=layout,
        )
        inter = w.ToggleButtons(
            options=["sequential", "independent"], value=b.interaction, description="Interaction", style=style
        )
        persp = w.ToggleButtons(
            options=["municipal", "societal"], value=b.perspective, description="Perspective", style=style
        )
        status = w.HTML()
        curve_out, port_out = w.Output(), w.Output()

        def redraw(*_):
            try:
                t_curve = self.update_curve(
                    discount_rate=rate.value,
                    carbon_value=cv.value,
                    budget_multiplier=budget.value,
                    factor_set=fs.value,
                    interaction=inter.value,
                    perspective=persp.value,
                )
                with curve_out:
                    curve_out.clear_output(wait=True)
                    display(self.curve_figure())
                status.value = f'<span class="ci-muted">curve recomputed in {t_curve:.2f} s; portfolio …</span>'
                t_port = self.update_portfolio()
                with port_out:
                    port_out.clear_output(wait=True)
                    display(self.portfolio_text(), self.portfolio_figure())
                status.value = (
                    f'<span class="ci-muted">curve {t_curve:.2f} s, portfolio {t_port:.2f} s '
                    f"(without Monte Carlo and frontier)</span>"
                )
            except Exception as e:  # noqa: BLE001 - an explorer shows the problem and stays usable
                status.value = f'<span class="ci-failed">{html.escape(type(e).__name__)}: {html.escape(str(e))}</span>'

        for control in (rate, cv, budget, fs, inter, persp):
            control.observe(redraw, names="value")
        redraw()
        head = w.HTML(f"<b>{html.escape(b.title)}</b> — {html.escape(self.city.name)}")
        return w.VBox([head, rate, cv, budget, fs, inter, persp, status, curve_out, port_out])

"""The explorer's controls (ipywidgets): a scenario chooser, the levers, the key figures against
the loaded scenario, the views and the buttons that keep what was found.

Every lever writes scenario keys (:meth:`Explorer.update_curve`); a refused input or setting is
shown in words beside the controls and changes nothing. A lever that does not apply under the
current settings (the carbon value in the municipal perspective) is disabled with its reason.
In a running kernel the recomputation runs on one worker thread (:class:`Redrawer`), so the
kernel keeps reading the controls while a portfolio is solved: a portfolio whose settings were
changed again before it finished is dropped, not shown, and the settings changed meanwhile are
coalesced into one recomputation with the newest. Without a kernel (a headless run) it is
synchronous.
"""
from __future__ import annotations

import contextvars
import html
import threading
from collections.abc import Callable
from pathlib import Path

from climateinvest.report.explorer.inputs import InputError, money, percent
from climateinvest.report.explorer.session import VIEWS, Explorer, scenario_files
from climateinvest.report.explorer.wording import problem_text, seconds, share
from climateinvest.report.i18n import t, use

_STYLE = {"description_width": "14rem"}


def explorer_widget(scenario_path: str | Path | None = None, parameters: str | Path = "../parameters",
                    out: str | Path | None = None):
    """The whole explorer as one ipywidgets box (display it in JupyterLab).

    Parameters
    ----------
    scenario_path : the scenario loaded first (default: the first file under ``parameters``)
    parameters : the folder of the cycles' scenario files the chooser lists
    out : the folder the tables and reports go into (default ``explorer_output`` beside the
        notebook; the widget shows it and lets the user change it)
    """
    import ipywidgets as w

    files = [str(p) for p in scenario_files(parameters)]
    first = str(scenario_path) if scenario_path else (files[0] if files else "")
    chooser = w.Combobox(value=first, options=files, description=t("ex.scenario"), ensure_option=False,
                         style=_STYLE, layout=w.Layout(width="48rem"))
    load = w.Button(description=t("ex.load"), button_style="primary")
    message = w.HTML()
    body = w.VBox()
    head = w.HTML()
    root = w.VBox([head, w.HBox([chooser, load]), message, body])
    root.add_class("ci-explorer")

    def label():
        """The first line and the chooser in the current language (the loaded scenario's)."""
        head.value = f"<b>{html.escape(t('ex.first_line'))}</b>"
        chooser.description, load.description = t("ex.scenario"), t("ex.load")

    def open_scenario(*_):
        message.value = f'<span class="ci-muted">{html.escape(t("ex.loading"))}</span>'
        try:
            explorer = Explorer(chooser.value, out=out)
        except Exception as e:  # noqa: BLE001 - a wrong path or file is shown, never a traceback
            message.value = f'<pre class="ci-failed">{html.escape(problem_text(e))}</pre>'
            return
        message.value = ""
        label()  # Explorer made its language current
        body.children = [_controls(w, explorer, rebuild)]

    label()

    def rebuild(explorer: Explorer):
        """Every control back to the loaded scenario (reset)."""
        explorer.reset()
        body.children = [_controls(w, explorer, rebuild)]

    load.on_click(open_scenario)
    if first:
        open_scenario()
    return root


class Redrawer:
    """Runs ``work(request)`` for the newest request only, on one worker thread.

    ``submit`` returns at once; requests arriving while one is being worked on replace each
    other, and the worker then takes the newest. ``work`` asks ``stale()`` between its stages
    and before showing anything: True when a newer request is waiting, so its result is dropped.
    ``lock`` is held while ``work`` runs (the buttons take it too, so they never read a result
    half-way). With ``threaded`` False everything runs in the caller's thread.
    """

    def __init__(self, work: Callable[[object, Callable[[], bool]], None], threaded: bool):
        self.work, self.threaded = work, threaded
        self.lock = threading.RLock()
        self._cv = threading.Condition()
        self._latest: object = None
        self._waiting = False
        self._thread: threading.Thread | None = None
        self.dropped = 0  # results dropped because newer settings arrived

    def stale(self) -> bool:
        """Whether a newer request is waiting."""
        with self._cv:
            return self._waiting

    def submit(self, request: object) -> None:
        """Work on ``request`` (or drop it for a newer one)."""
        if not self.threaded:
            with self.lock:
                self.work(request, lambda: False)
            return
        with self._cv:  # the caller's context goes along (the report language is a context variable)
            self._latest, self._waiting = (request, contextvars.copy_context()), True
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="explorer-redraw", daemon=True)
                self._thread.start()

    def _loop(self) -> None:
        while True:
            with self._cv:
                if not self._waiting:
                    self._thread = None
                    return
                (request, context), self._waiting = self._latest, False  # type: ignore[misc]
            with self.lock:
                context.run(self.work, request, self.stale)

    def wait(self, timeout: float = 60.0) -> None:
        """Until the worker has nothing left to do (tests)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)


def mc_text(summary: dict, s: float) -> str:
    """The Monte Carlo button's answer: the probability of meeting the target, the draws and the
    seconds ``s`` [s] it took; or why there is none (the city has no uncertainty table).
    """
    if not summary:
        return t("ex.mc_none")
    return t("ex.mc_done", prob=share(summary.get("prob_meet_target")), draws=int(summary.get("draws", 0)),
             s=seconds(s, 1))


def render_failure(code: int, stderr: str) -> str:
    """Why ``climateinvest report`` failed, in plain words: its exit code and the last line of what
    it wrote (the problem, never a traceback's frames).
    """
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    frames = ("Traceback", "File ", "^", "~")
    reason = next((ln for ln in reversed(lines) if not ln.startswith(frames)), "") or t("ex.none")
    return t("ex.render_failed", code=code, reason=reason)


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipywidgets needs IPython
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _output_of(obj) -> dict:
    """``obj`` as one display_data output (the kernel's formatter), settable from any thread."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        data, metadata = shell.display_formatter.format(obj)
    else:
        data, metadata = {"text/html": obj._repr_html_()} if hasattr(obj, "_repr_html_") else \
            {"text/plain": repr(obj)}, {}
    return {"output_type": "display_data", "data": data, "metadata": metadata}


def _controls(w, e: Explorer, rebuild: Callable[[Explorer], None]):
    """The levers, panels and buttons of one loaded scenario."""
    b, cur = e.base, e.city.currency
    plan = b.plan_years
    text = lambda label, value: w.Text(value=value, description=label, style=_STYLE,  # noqa: E731
                                       layout=w.Layout(width="30rem"), continuous_update=False)
    rate = text(t("ex.rate"), f"{b.real_rate * 100:.2f} %".replace(".", ","))
    cv = text(t("ex.carbon_value", currency=cur), f"{b.carbon_value_per_tco2e:,.0f}".replace(",", " "))
    opts = lambda *values: [(t(f"ex.opt.{v}"), v) for v in values]  # noqa: E731 - (label, value) pairs
    persp = w.ToggleButtons(options=opts("municipal", "societal"), value=b.perspective,
                            description=t("ex.perspective"), style=_STYLE)
    fs_opts = e.factor_sets()
    fs = w.Dropdown(options=fs_opts, value=b.emission_factor_set if b.emission_factor_set in fs_opts else fs_opts[0],
                    description=t("ex.factor_set"), style=_STYLE)
    paths = e.price_paths()
    price = w.Dropdown(options=paths, value=b.price_path, description=t("ex.price_path"), style=_STYLE)
    inter = w.ToggleButtons(options=opts("sequential", "independent"), value=b.interaction,
                            description=t("ex.interaction"), style=_STYLE)
    objective = w.ToggleButtons(options=opts("max_abatement", "min_cost"), value=b.objective,
                                description=t("ex.objective"), style=_STYLE)
    grants = w.Checkbox(value=b.grants, description=t("ex.grants"), style=_STYLE)
    target = text(t("ex.target", year=b.target.year, base=b.target.base_year), f"{b.target.reduction * 100:.0f} %")
    budgets = [text(t("ex.budget", year=y), f"{b.investment_budget.get(y, 0):,.0f}".replace(",", " ")
                    if b.investment_budget else "") for y in plan]
    caps = [text(t("ex.own_cap", year=y), f"{(b.own_funds_cap or {}).get(y, 0):,.0f}".replace(",", " ")
                 if b.own_funds_cap else "") for y in plan]
    ids = e.city.measure_ids
    forced_in = w.SelectMultiple(options=ids, value=tuple(b.measures_in), description=t("ex.in"), rows=5,
                                 style=_STYLE)
    forced_out = w.SelectMultiple(options=ids, value=tuple(b.measures_out), description=t("ex.out"), rows=5,
                                  style=_STYLE)
    fix_measure = w.Dropdown(options=[""] + ids, value="", description=t("ex.fix_measure"), style=_STYLE)
    fix_year = w.Dropdown(options=[0] + plan, value=0, description=t("ex.fix_year"), style=_STYLE)
    fixed = dict(b.start_years)
    earliest = dict(zip(e.city.measures["measure_id"], e.city.measures["earliest_start_year"].astype(int),
                        strict=True))
    read = w.HTML()
    read.add_class("ci-read")
    status = w.HTML()
    figures = w.HTML()
    outs = {v: w.Output() for v in VIEWS}
    for v, out in outs.items():  # (the browser test and benchmark find the views by these classes)
        out.add_class(f"ci-view-{v}")
    figures.add_class("ci-figures")
    status.add_class("ci-status")
    tabs = w.Tab(children=list(outs.values()))
    for i, v in enumerate(VIEWS):
        tabs.set_title(i, t(f"ex.view.{v}"))

    def changes() -> tuple[dict, list[str]]:
        """The scenario keys the controls say, and how each typed value was read."""
        shown, ch = [], {}
        r = percent(rate.value, -0.05, 0.5, t("ex.rate"))
        shown.append(f"{t('ex.rate')}: {r.shown}")
        if abs(r.value - b.real_rate) > 1e-9:
            ch |= {"discount_rate": r.value, "rate_basis": "real"}
        c = money(cv.value, 0, 1e6, t("ex.carbon_value", currency=cur), cur)
        shown.append(f"{t('ex.carbon_value', currency=cur)}: {c.shown}")
        ch |= {"carbon_value_per_tco2e": c.value, "perspective": persp.value, "emission_factor_set": fs.value,
               "price_path": price.value, "interaction": inter.value, "objective": objective.value,
               "grants": bool(grants.value)}
        tr = percent(target.value, 0, 1, t("ex.target", year=b.target.year, base=b.target.base_year))
        ch["target"] = b.target.model_dump() | {"reduction": tr.value}
        if any(x.value.strip() for x in budgets):
            ch["investment_budget"] = {y: money(x.value or "0", 0, 1e15, t("ex.budget", year=y), cur).value
                                       for y, x in zip(plan, budgets, strict=True)}
        else:
            ch["investment_budget"] = {}
        if any(x.value.strip() for x in caps):
            ch["own_funds_cap"] = {y: money(x.value or "0", 0, 1e15, t("ex.own_cap", year=y), cur).value
                                   for y, x in zip(plan, caps, strict=True)}
        else:
            ch["own_funds_cap"] = None
        both = sorted(set(forced_in.value) & set(forced_out.value))
        if both:
            raise InputError(t("ex.in_and_out", ids=", ".join(both)))
        for mid, year in sorted(fixed.items()):
            if year < earliest[mid]:
                raise InputError(t("ex.too_early", measure=mid, year=year, earliest=earliest[mid]))
        ch |= {"measures_in": list(forced_in.value), "measures_out": list(forced_out.value),
               "start_years": dict(fixed)}
        return ch, shown

    def applicability():
        municipal = persp.value == "municipal"
        cv.disabled = municipal
        cv.tooltip = t("ex.cv_disabled") if municipal else ""
        note = [t("ex.cv_disabled")] if municipal else []
        return note

    def show(view: str):
        outs[view].outputs = (_output_of(e.figure(view)),)

    def recompute(request, stale: Callable[[], bool]):
        use(e.context)  # the explorer's language, whichever thread and context the kernel runs this in
        ch, shown, notes = request
        try:
            t_curve = e.update_curve(ch)
        except (InputError, ValueError) as err:  # ValidationError is a ValueError
            read.value = f'<span class="ci-failed">{html.escape(problem_text(err))}</span>'
            return
        pinned = ", ".join(f"{m} → {y}" for m, y in sorted(fixed.items())) or t("ex.none")
        read.value = html.escape(" · ".join(shown + notes + [f"{t('ex.fixed')}: {pinned}"]))
        show("macc")
        status.value = f'<span class="ci-muted">{html.escape(t("ex.curve_time", s=seconds(t_curve)))}</span>'
        if stale():  # newer settings are waiting: their curve comes first
            redrawer.dropped += 1
            return
        try:
            t_all = e.update_all()
        except Exception as err:  # noqa: BLE001 - shown, the explorer stays usable
            status.value = f'<span class="ci-failed">{html.escape(problem_text(err))}</span>'
            return
        if stale():  # changed again meanwhile: this result is dropped
            redrawer.dropped += 1
            return
        figures.value = str(e.key_figures()) + str(e.status_line())
        for v in sorted(VIEWS, key=lambda v: v == "macc"):  # the curve is already drawn: the others first
            show(v)
        took = t("ex.all_time", c=seconds(t_curve), p=seconds(t_all))
        status.value = f'<span class="ci-muted">{html.escape(took)}</span>'
        root_box.add_class("ci-ready")

    redrawer = Redrawer(recompute, threaded=_in_kernel())

    def redraw(*_):
        use(e.context)
        notes = applicability()
        try:
            ch, shown = changes()
        except (InputError, ValueError) as err:
            read.value = f'<span class="ci-failed">{html.escape(problem_text(err))}</span>'
            return
        root_box.remove_class("ci-ready")
        redrawer.submit((ch, shown, notes))

    def set_fixed(*_):
        if fix_measure.value:
            if fix_year.value:
                fixed[fix_measure.value] = int(fix_year.value)
            else:
                fixed.pop(fix_measure.value, None)
            redraw()

    for control in (rate, cv, persp, fs, price, inter, objective, grants, target, *budgets, *caps, forced_in,
                    forced_out):
        control.observe(redraw, names="value")
    fix_year.observe(set_fixed, names="value")

    # keeping what was found
    name = w.Text(value=f"{e.path.stem}_explored", description=t("ex.save_name"), style=_STYLE)
    out_dir = w.Text(value=str(e.out), description=t("ex.out_dir"), style=_STYLE, layout=w.Layout(width="48rem"))
    save = w.Button(description=t("ex.save"))
    xlsx = w.Button(description=t("ex.xlsx"))
    render = w.Button(description=t("ex.render"))
    mc = w.Button(description=t("ex.mc"))
    reset = w.Button(description=t("ex.reset"))
    kept = w.HTML()
    kept.add_class("ci-kept")
    saved: dict = {}

    def do_save(*_):
        try:
            saved["path"] = e.save_scenario(name.value)
            kept.value = html.escape(t("ex.saved", path=str(saved["path"])))
        except Exception as err:  # noqa: BLE001
            kept.value = f'<span class="ci-failed">{html.escape(problem_text(err))}</span>'

    def do_xlsx(*_):
        try:
            path = e.export_xlsx(name.value, out_dir.value.strip() or None)
            kept.value = html.escape(t("ex.xlsx_saved", path=str(path)))
        except Exception as err:  # noqa: BLE001
            kept.value = f'<span class="ci-failed">{html.escape(problem_text(err))}</span>'

    def do_render(*_):
        if "path" not in saved:
            do_save()
        if "path" not in saved:
            return
        kept.value = html.escape(t("ex.rendering"))
        try:
            proc = e.render_report(saved["path"], out_dir.value.strip() or None)
        except Exception as err:  # noqa: BLE001 - an output folder refused: said in words
            kept.value = f'<span class="ci-failed">{html.escape(problem_text(err))}</span>'
            return
        out, err = proc.communicate()
        if proc.returncode == 0:
            kept.value = html.escape(t("ex.rendered", path=out.strip().splitlines()[-1] if out.strip() else ""))
        else:
            kept.value = f'<span class="ci-failed">{html.escape(render_failure(proc.returncode, err))}</span>'

    def do_mc(*_):
        kept.value = html.escape(t("ex.mc_running"))
        try:
            summary = e.uncertainty()
        except Exception as err:  # noqa: BLE001 - a follow-up cycle has no Monte Carlo: said in words
            kept.value = f'<span class="ci-failed">{html.escape(problem_text(err))}</span>'
            return
        kept.value = html.escape(mc_text(summary, e.seconds["uncertainty"]))

    def do_reset(*_):
        rebuild(e)

    def locked(action):
        """``action`` once the worker is idle (a button never reads a result half-way)."""
        def run(*_):
            with redrawer.lock:
                use(e.context)
                action()
        return run

    save.on_click(locked(do_save))
    xlsx.on_click(locked(do_xlsx))
    render.on_click(locked(do_render))
    mc.on_click(locked(do_mc))
    reset.on_click(locked(do_reset))

    from climateinvest.report.display import jupyter_css

    levers = w.VBox([rate, cv, persp, fs, price, inter, objective, grants, target, *budgets, *caps,
                     w.HBox([forced_in, forced_out]), w.HBox([fix_measure, fix_year]), read])
    keep = w.VBox([w.HBox([name, save, xlsx, render]), out_dir, w.HBox([mc, reset]), kept])
    root_box = w.VBox([w.HTML(jupyter_css() + f"<h3>{html.escape(b.title)} — {html.escape(e.city.name)}</h3>"),
                       levers, status, figures, tabs, keep])
    root_box.add_class("ci-controls")
    root_box.redrawer = redrawer  # type: ignore[attr-defined]  # (tests wait on it)
    redrawer.threaded, threaded = False, redrawer.threaded  # the first drawing before the cell returns
    redraw()
    redrawer.threaded = threaded
    return root_box

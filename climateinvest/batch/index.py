"""The record of one batch run: ``manifest.json`` and ``index.html``, rewritten as it goes.

``Run`` holds the run's state (status, versions, one record per scenario, the comparison) and
writes both files atomically after every change; ``index_html`` is the page: status, key
figures and links per scenario, every text escaped.
"""
from __future__ import annotations

import datetime as _dt
import html
import json
import os
import platform
import threading
import time
from pathlib import Path

from climateinvest.io.files import atomic_write_text, json_text
from climateinvest.report.formatting import DASH, fmt_number
from climateinvest.report.html_export import page
from climateinvest.report.results import key_figures, load_saved

VERSIONED = ("climateinvest", "numpy", "pandas", "scipy", "plotly", "papermill", "nbconvert",
             "nbformat", "ipykernel", "pydantic", "openpyxl")


def _now() -> str:
    return _dt.datetime.now().astimezone().isoformat(timespec="seconds")


def versions() -> dict[str, str]:
    """Versions of Python and of the packages a run depends on, for the manifest."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


class Run:
    """The state of one batch run, written to ``manifest.json`` and ``index.html`` as it goes."""

    def __init__(self, folder: Path, cycle: str, jobs: int, argv: list[str]):
        self.folder = folder
        self.data = {
            "schema": "climateinvest-report-run/1",
            "run_id": folder.name,
            "cycle": cycle,
            "folder": str(folder),
            "status": "incomplete",
            "interrupted": False,
            "started": _now(),
            "finished": None,
            "seconds": None,
            "jobs": jobs,
            "scenario_files": argv,
            "versions": versions(),
            "scenarios": [],
            "comparison": None,
        }
        self._t0 = time.perf_counter()
        self._lock = threading.Lock()

    @property
    def scenarios(self) -> list[dict]:
        """The manifest's records, one per scenario, in run order."""
        return self.data["scenarios"]

    def write(self) -> None:
        """Write ``manifest.json`` atomically (thread-safe)."""
        with self._lock:
            atomic_write_text(self.folder / "manifest.json", json_text(self.data))  # valid JSON: no Infinity
            atomic_write_text(self.folder / "index.html", index_html(self.data, self.folder))

    def finish(self, interrupted: bool = False) -> None:
        """Stamp the finish time and status (``incomplete`` when interrupted) and write the manifest."""
        self.data["finished"] = _now()
        self.data["seconds"] = round(time.perf_counter() - self._t0, 3)
        if interrupted:
            self.data["interrupted"] = True
            self.data["status"] = "incomplete"
            for s in self.scenarios:
                if s["status"] in ("pending", "running"):
                    s["status"] = "not run (interrupted)"
        else:
            failed = any(s["status"] != "ok" for s in self.scenarios) or \
                (self.data["comparison"] or {}).get("status") == "failed"
            self.data["status"] = "complete with failures" if failed else "complete"
        self.write()
        _readable(self.folder)


def _readable(folder: Path) -> None:
    """Give the run's files the usual permissions (0644 under a 022 umask): atomic writes go
    through ``mkstemp``, whose files are private (0600), and reports are meant to be shared.
    """
    umask = os.umask(0)
    os.umask(umask)
    for p in folder.rglob("*"):
        try:
            if p.is_file() and not p.is_symlink():
                os.chmod(p, 0o666 & ~umask)
        except OSError:
            pass


def saved_summary(folder: Path) -> dict:
    """The manifest of a saved scenario folder, or an empty dict when it is missing or unreadable."""
    try:
        return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# Key figures in the index: (report_results.KEY_FIGURES id, column header with its unit)
INDEX_FIGURES = (("target_year_tco2e", "Emissions in the target year [t CO2e]"),
                 ("gap_tco2e", "Gap to the target [t CO2e]"),
                 ("investment", "Investment [{cur}]"),
                 ("financing_gap", "Financing gap [{cur}]"),
                 ("cost_per_tco2e", "Portfolio cost per tonne [{cur}/t CO2e]"),
                 ("measures_funded", "Measures funded"))


def index_html(data: dict, folder: Path) -> str:
    """The run's index page: status, key figures and links per scenario (all text escaped)."""
    esc = html.escape
    rows, currencies = [], set()
    for s in data["scenarios"]:
        title = s.get("title") or s.get("file", "")
        status = s["status"]
        figs = [DASH] * len(INDEX_FIGURES)
        links = []
        if status == "ok":
            saved = load_saved(folder / s["name"]) if (folder / s["name"] / "manifest.json").exists() else None
            if saved is not None:
                currencies.add((saved.manifest.get("city") or {}).get("currency", ""))
                kf = {k["id"]: k for k in key_figures(saved)}
                figs = [fmt_number(kf[i]["value"]) if kf[i]["value"] is not None else DASH
                        for i, _ in INDEX_FIGURES]
            outs = s.get("outputs") or {}
            for key, label in (("html", "report"), ("xlsx", "XLSX"), ("tables", "CSV tables")):
                if outs.get(key):
                    links.append(f'<a href="{esc(outs[key])}">{label}</a>')
            cell = '<span class="ci-ok">ok</span>'
        elif status == "failed":
            cell = '<span class="ci-failed">failed</span>'
        else:
            cell = f'<span class="ci-muted">{esc(status)}</span>'
        rows.append(
            "<tr>"
            + f'<td><b>{esc(str(title))}</b><br><span class="ci-muted">{esc(s.get("file", ""))}</span></td>'
            + f"<td>{cell}</td>"
            + "".join(f'<td class="ci-num">{v}</td>' for v in figs)
            + f'<td class="ci-links">{"<br>".join(links) or DASH}</td></tr>'
        )
        if status == "failed":
            detail = (
                f"<details><summary>details</summary><pre>{esc(s['traceback'])}</pre></details>"
                if s.get("traceback")
                else ""
            )
            rows.append(
                f'<tr class="ci-error-row"><td colspan="{len(INDEX_FIGURES) + 3}">'
                f'<div class="ci-error">{esc(s.get("error") or "")}</div>{detail}</td></tr>'
            )
    cur = ", ".join(sorted(c for c in currencies if c)) or "currency"
    head = (
        "<tr><th>Scenario</th><th>Status</th>"
        + "".join(f'<th class="ci-num">{esc(h.format(cur=cur))}</th>' for _, h in INDEX_FIGURES)
        + "<th>Files</th></tr>"
    )
    comp = data.get("comparison")
    if comp and comp.get("status") == "ok":
        comp_html = '<p><a href="comparison.html">Comparison of the scenarios</a></p>'
    elif comp and comp.get("status") == "failed":
        comp_html = f'<div class="ci-error">The comparison failed: {esc(comp.get("error") or "")}</div>'
    elif comp:
        comp_html = f'<p class="ci-muted">Comparison: {esc(comp.get("status", ""))}</p>'
    else:
        comp_html = ""
    v = data.get("versions") or {}
    facts = [
        ("Budget cycle", data.get("cycle")),
        ("Run", data.get("run_id")),
        ("Status", data.get("status")),
        ("Started", data.get("started")),
        ("Finished", data.get("finished") or DASH),
        ("climateinvest", v.get("climateinvest")),
        ("Python", v.get("python")),
    ]
    dl = "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(x))}</dd>" for k, x in facts)
    cycle = esc(str(data.get("cycle")))
    body = (
        f'<section class="ci-title"><div class="ci-kicker">Klimatinvesteringsplan · reports</div>'
        f"<h1>Scenario reports, budget {cycle}</h1><dl>{dl}</dl></section>"
        f'{comp_html}<div class="ci-scroll"><table class="ci-index"><thead>{head}</thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
        '<p class="ci-muted">Key figures from each scenario\'s result; “–” where the result does not hold '
        "the figure. Every input file, parameter, version and timing is listed in "
        '<a href="manifest.json">manifest.json</a>.</p>'
    )
    return page(body, f"Scenario reports, budget {data.get('cycle')} — run {data.get('run_id')}", plotly=False)

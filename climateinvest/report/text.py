"""The fixed texts of a report: title page, glossary of the Swedish terms, and the appendix
(parameters, input files with hashes, SOURCES.md rendered safely, computing notes and times).

Every data text is escaped (``html.escape``); SOURCES.md goes through ``markdown_safe``.
"""
from __future__ import annotations

import datetime as _dt
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from climateinvest.io.output_columns import currency_unit
from climateinvest.report.display import Html, jupyter_css, note, paragraph
from climateinvest.report.formatting import (
    DASH,
    fmt_number,
    fmt_year,
    markdown_safe,
    table_html,
    text_table_html,
    yes_no,
)
from climateinvest.report.i18n import lang, t
from climateinvest.report.messages import GLOSSARY_IDS
from climateinvest.report.results import SavedResult, meta, scenario_dict


def title_page(result, date: str | None = None) -> Html:
    """City, cycle and plan years, scenario, perspective, money, date, version — all escaped;
    compact, so that the decision basis under it starts on the first screen.
    """
    m = meta(result)
    date = date or _dt.date.today().isoformat()
    plan = f"{m['plan_years'][1]}–{m['plan_years'][-1]}" if m["plan_years"] else ""
    persp = m["perspective"]
    rows = [(t("title.city"), f"{m['city']}" + (f" ({m['country']})" if m["country"] else "")),
            (t("title.cycle"), t("title.cycle_value", cycle=m["cycle"], plan=plan) if plan else m["cycle"]),
            (t("title.perspective"), t(f"perspective.{persp}") if persp in ("municipal", "societal") else persp),
            (t("title.money"), t("title.money_value", currency=currency_unit(m["currency"], lang()),
                                 price_year=m["price_year"]) if m["currency"] else DASH),
            (t("title.date"), date),
            ("climateinvest", m["version"])]
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    kicker = f"{t('kicker')} · {m['city']} · {t('title.budget', cycle=m['cycle'])}"
    return Html(f'{jupyter_css()}<section class="ci-title"><div class="ci-kicker">{html.escape(kicker)}</div>'
                f'<h1>{html.escape(str(m["title"]))}</h1><dl>{dl}</dl></section>')


def glossary() -> Html:
    """The Swedish terms used in the reports, explained once, in the report's language."""
    items = "".join(f"<dt>{html.escape(t(f'gloss.{g}.term'))}</dt><dd>{html.escape(t(f'gloss.{g}.text'))}</dd>"
                    for g in GLOSSARY_IDS)
    return Html(f'<dl class="ci-glossary">{items}</dl>')


def collapsed(heading: str, body: str) -> str:
    """``body`` (trusted HTML) under a closed ``<details>`` headed ``heading`` (plain text): the
    appendix and the glossary stay out of the way and out of the print unless opened.
    """
    return (f'<details class="ci-appendix"><summary>{html.escape(heading)} '
            f'<span class="ci-muted">{t("appendix.open")}</span></summary>{body}</details>')


def flatten_parameters(d: Mapping, prefix: str = "") -> list[tuple[str, Any]]:
    """(dotted key, value) of every parameter; a mapping of years stays one value."""
    rows = []
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, Mapping) and v and not all(str(x).isdigit() for x in v):
            rows += flatten_parameters(v, key)
        else:
            rows.append((key, v))
    return rows


def parameter_text(v) -> str:
    """A parameter value as plain text."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k}: {fmt_number(x) if isinstance(x, int | float) else x}" for k, x in v.items()) or "{}"
    if v is None:
        return t("not_set")
    if isinstance(v, bool):
        return yes_no(v)
    if isinstance(v, float) and abs(v) < 1 and v != 0:
        return f"{v:g}"
    if isinstance(v, int | float) and not isinstance(v, bool):
        return fmt_number(v, 0 if float(v).is_integer() else 3)
    return str(v)


def parameters_table(result) -> pd.DataFrame:
    """Every scenario parameter (flattened ``target.year`` …) with its meaning."""
    from climateinvest.io.scenario import Scenario

    s = scenario_dict(result)
    desc = {k: (f.description or "") for k, f in Scenario.model_fields.items()}
    def shown(key: str, v) -> str:
        is_year = ("year" in key or key == "budget_cycle") and isinstance(v, int) and not isinstance(v, bool)
        return fmt_year(v) if is_year else html.unescape(parameter_text(v))

    rows = [(k, shown(k, v), desc.get(k.split(".")[0], "")) for k, v in flatten_parameters(s)]
    return pd.DataFrame(rows, columns=[t("col.parameter"), t("col.value"), t("col.meaning")])


def input_files_table(result) -> pd.DataFrame:
    """Every input file (scenario, city tables) with its SHA-256."""
    rows = [(f"{Path(p).parent.name}/{Path(p).name}", h) for p, h in result.inputs_sha256.items()]
    return pd.DataFrame(rows, columns=[t("col.file"), "SHA-256"])


def sources_markdown(result) -> str | None:
    """The city's ``SOURCES.md`` text, or None."""
    if isinstance(result, SavedResult):
        city = (result.manifest.get("scenario") or {}).get("city")
        if not city:
            return None
        folder = Path(city)
    else:
        folder = Path(result.city.path or result.scenario.city)
    for cand in (folder / "SOURCES.md", folder.parent / "SOURCES.md" if folder.suffix else None):
        if cand is not None and cand.is_file():
            return cand.read_text(encoding="utf-8", errors="replace")
    return None


def assumptions(result) -> Html:
    """Appendix: every parameter, every data file with its hash, the sources of every figure."""
    m = meta(result)
    parts = [f"<h3>{t('appendix.parameters')}</h3>", paragraph(t("appendix.parameters.intro")),
             text_table_html(parameters_table(result))]
    notes = (m["scenario"] or {}).get("notes")
    if notes:
        parts += [f"<h3>{t('appendix.notes')}</h3>", f"<pre>{html.escape(str(notes))}</pre>"]
    parts += [f"<h3>{t('appendix.files')}</h3>", paragraph(t("appendix.files.intro")),
              text_table_html(input_files_table(result))]
    saved = isinstance(result, SavedResult)
    measures = result.measures if saved else result.city.measures
    if measures is not None and "source" in measures.columns:
        parts += [f"<h3>{t('appendix.measure_sources')}</h3>",
                  table_html(measures[["measure_id", "name", "source"]], labels={"source": t("col.source")})]
    city_notes = "" if saved else result.city.notes
    if city_notes:
        parts += [f"<h3>{t('appendix.city_notes')}</h3>", f"<pre>{html.escape(str(city_notes))}</pre>"]
    text = sources_markdown(result)
    parts.append(f"<h3>{t('appendix.sources')}</h3>")
    if text:
        parts.append(f'<div class="ci-sources">{markdown_safe(text)}</div>')
    else:
        parts.append(str(note(t("appendix.no_sources"))))
    return Html("".join(parts))


def run_info(result) -> Html:
    """Notes the steps left in their summaries and the timings of the pipeline steps (escaped)."""
    parts = []
    items = []
    for step_summary in result.summary.values():
        notes = step_summary.get("notes") if isinstance(step_summary, Mapping) else None
        for n in ([notes] if isinstance(notes, str) else notes or []):
            items.append(f"<li>{html.escape(str(n))}</li>")
    if items:
        parts += [f"<h3>{t('appendix.run_notes')}</h3>", f"<ul>{''.join(items)}</ul>"]
    timings = result.timings
    if timings:
        df = pd.DataFrame({t("col.step"): list(timings), t("col.seconds"): [float(v) for v in timings.values()]})
        parts += [f"<h3>{t('appendix.timing')}</h3>", text_table_html(df, numeric=(t("col.seconds"),))]
    return Html("".join(parts))

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

from climateinvest.report.display import Html, jupyter_css, note, paragraph
from climateinvest.report.formatting import DASH, fmt_number, markdown_safe, table_html, text_table_html
from climateinvest.report.results import SavedResult, meta, scenario_dict


def title_page(result, date: str | None = None) -> Html:
    """City, cycle and plan years, scenario, date, version — all escaped."""
    m = meta(result)
    date = date or _dt.date.today().isoformat()
    plan = f"{m['plan_years'][0]}–{m['plan_years'][-1]}" if m["plan_years"] else ""
    rows = [("City", f"{m['city']}" + (f" ({m['country']})" if m["country"] else "")),
            ("Budget cycle", f"{m['cycle']} (budget year {m['cycle']}, plan years {plan})" if plan else m["cycle"]),
            ("Scenario", m["title"]),
            ("Scenario file", Path(m["scenario_file"]).name if m["scenario_file"] else DASH),
            ("Perspective", m["perspective"]),
            ("Money", f"{m['currency']}, {m['price_year']} prices, real terms" if m["currency"] else DASH),
            ("Date", date),
            ("climateinvest", m["version"])]
    dl = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in rows)
    return Html(f'{jupyter_css()}<section class="ci-title"><div class="ci-kicker">Klimatinvesteringsplan · '
                f'{html.escape(str(m["city"]))} · budget {html.escape(str(m["cycle"]))}</div>'
                f'<h1>{html.escape(str(m["title"]))}</h1><dl>{dl}</dl></section>')


GLOSSARY = [
    ("Klimatinvesteringsplan (climate investment plan)", (
        "The part of a city's climate work that says which measures to fund, in which budget year, at "
        "what cost per tonne of CO2e, who pays and whether the portfolio reaches the 2030 target. In "
        "the EU Cities Mission it is the investment plan of the Climate City Contract; this report is "
        "one scenario of such a plan."
    )),
    ("Klimatkontrakt 2030 / Viable Cities", (
        "Viable Cities is a Swedish strategic innovation programme (funded by Vinnova, the Swedish "
        "Energy Agency and Formas). Its Klimatkontrakt 2030 is signed by municipalities, the "
        "programme and government agencies: the cities commit to climate-neutral ambitions by 2030. "
        "It is the Swedish arm of the EU Mission for 100 climate-neutral and smart cities."
    )),
    ("SMHI Nationella emissionsdatabasen", (
        "The national emissions database (RUS/SMHI) that breaks Sweden's greenhouse-gas inventory "
        "down to counties and municipalities by sector (transport, industry, electricity and district "
        "heating, agriculture, machinery, waste, product use, own heating). It is territorial (what is "
        "emitted inside the municipality), published with a delay of about two years; it is the "
        "baseline of the pathway and of the target."
    )),
    ("Klimatklivet", (
        "The Swedish Environmental Protection Agency's (Naturvårdsverket) investment grant for local "
        "and regional measures that cut greenhouse-gas emissions. It pays a share of the investment, "
        "judged by the emission cut per krona. In this report it is a grant in the financing plan."
    )),
    ("Kommuninvest gröna lån (green loans)", (
        "Kommuninvest is the Swedish municipalities' and regions' jointly owned credit institution. "
        "Its green loans finance investment projects that meet environmental criteria; in the "
        "financing plan they are loans with an interest rate and term."
    )),
    ("SKR internränta (internal interest rate)", (
        "Sveriges Kommuner och Regioner (SKR) recommends each year the internal interest rate that "
        "municipalities use to charge the capital cost of investments to their operations. Capital "
        "cost = depreciation + internal interest on book value. The scenario's discount rate follows "
        "it (2.5 % for 2025)."
    )),
    ("ASEK", (
        "The Swedish Transport Administration's (Trafikverket) guidance on economic appraisal values. "
        "Its value of carbon emissions (7 SEK per kg CO2e in ASEK 7.0, 2017 prices, i.e. 7 000 SEK "
        "per tonne) is the usual carbon value of the societal perspective."
    )),
    ("Residual mix, nordisk elmix, ursprungsgarantier (electricity emission factors)", (
        "The emission factor of electricity depends on the accounting convention: the Nordic "
        "production mix (nordisk elmix, low); the Nordic residual mix (what remains after electricity "
        "sold with guarantees of origin is taken out, much higher); guarantees of origin "
        "(ursprungsgarantier, near zero for certified renewable power); or the marginal producer. The "
        "choice decides how much every electrification measure abates, so it is a scenario parameter."
    )),
    ("Budget year and plan years (budgetår, planår)", (
        "Each autumn a Swedish council adopts a budget for the next year together with a plan for the "
        "two years after it (Kommunallagen chapter 11). A budget cycle here is that budget year plus "
        "two plan years; the investment budget is given per year."
    )),
    ("Driftsbudget (operating budget)", (
        "The municipality's yearly operating budget, separate from the investment budget. An "
        "investment reaches it as capital cost (depreciation and internal interest) plus changes in "
        "running and energy costs; the budget impact section shows that effect per year."
    )),
]


def glossary() -> Html:
    """The Swedish terms used in the reports, explained once."""
    items = "".join(f"<dt>{html.escape(t)}</dt><dd>{html.escape(d)}</dd>" for t, d in GLOSSARY)
    return Html(f'<dl class="ci-glossary">{items}</dl>')


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
        return "not set"
    if isinstance(v, bool):
        return "yes" if v else "no"
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
    rows = [(k, html.unescape(parameter_text(v)), desc.get(k.split(".")[0], "")) for k, v in flatten_parameters(s)]
    return pd.DataFrame(rows, columns=["Parameter", "Value", "Meaning"])


def input_files_table(result) -> pd.DataFrame:
    """Every input file (scenario, city tables) with its SHA-256."""
    rows = [(f"{Path(p).parent.name}/{Path(p).name}", h) for p, h in result.inputs_sha256.items()]
    return pd.DataFrame(rows, columns=["File", "SHA-256"])


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
    parts = ["<h3>Scenario parameters</h3>",
             paragraph("Every parameter of the scenario file as it was used (defaults included)."),
             text_table_html(parameters_table(result))]
    notes = (m["scenario"] or {}).get("notes")
    if notes:
        parts += ["<h3>Scenario notes</h3>", f"<pre>{html.escape(str(notes))}</pre>"]
    parts += ["<h3>Input files</h3>",
              paragraph("The files this report was computed from and their SHA-256 hashes: a file with the "
                        "same hash holds exactly the same data."),
              text_table_html(input_files_table(result))]
    saved = isinstance(result, SavedResult)
    measures = result.measures if saved else result.city.measures
    if measures is not None and "source" in measures.columns:
        parts += ["<h3>Source of each measure's figures</h3>",
                  table_html(measures[["measure_id", "name", "source"]], labels={"source": "Source"})]
    city_notes = "" if saved else result.city.notes
    if city_notes:
        parts += ["<h3>Notes of the city data</h3>", f"<pre>{html.escape(str(city_notes))}</pre>"]
    text = sources_markdown(result)
    parts.append("<h3>Sources of the city data (SOURCES.md)</h3>")
    if text:
        parts.append(f'<div class="ci-sources">{markdown_safe(text)}</div>')
    else:
        parts.append(str(note("The city folder has no SOURCES.md.")))
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
        parts += ["<h3>Notes from the computation</h3>", f"<ul>{''.join(items)}</ul>"]
    timings = result.timings
    if timings:
        df = pd.DataFrame({"Step": list(timings), "Time [s]": [float(v) for v in timings.values()]})
        parts += ["<h3>Computing time</h3>", text_table_html(df, numeric=("Time [s]",))]
    return Html("".join(parts))

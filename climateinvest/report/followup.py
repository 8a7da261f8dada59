"""Uppföljningsrapporter: plan mot utfall, vad som ändrats, gröna lån och EU-uppdragets indikatorer.

Self-contained Swedish pages (``html_export.page``: offline, no scripts) for every scenario of a
report run that builds on an adopted plan, written by ``climateinvest followup REPORT_RUN`` into
``<run>/followup/<scenario>/``: ``uppfoljning.html`` (plan against outcome with traffic lights),
``andringar.html`` (what changed since the adopted plan, with the reasons), ``grona_lan.html``
(the green-loan impact re-report) and ``eu_indikatorer.html`` (EU Cities Mission indicators),
each beside its CSV. The figures come from the saved run (its tables and manifest) and from the
adopted plan and follow-up files, which must be the ones the run read (SHA-256 checked).
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from climateinvest.followup import carry_forward
from climateinvest.followup import outcome as oc
from climateinvest.io.city import load_city
from climateinvest.io.errors import Problem, ValidationError
from climateinvest.io.files import atomic_write_text, sha256_file
from climateinvest.io.scenario import Scenario
from climateinvest.report.formatting import DASH, fmt_number, is_missing
from climateinvest.report.html_export import escape, page
from climateinvest.report.results import load_saved

STATUS_SV = {"planned": "planerad", "decided": "beslutad", "ongoing": "pågående", "done": "genomförd",
             "delayed": "försenad", "cancelled": "avbruten"}
DELIVERY_SV = {"done": "genomförd", "partly done": "delvis genomförd", "not done": "ej genomförd"}
LIGHT_SV = {"green": "Grön", "yellow": "Gul", "red": "Röd"}
LIGHT_COLOUR = {"green": "#2e7d32", "yellow": "#f9a825", "red": "#c62828"}
METHOD_SV = {"measured": "mätt", "calculated": "beräknad", "estimated": "uppskattad", "": ""}
IMPACT_SV = {"reduced": "minskad", "avoided": "undviken"}
STYLE = ("<style>.ljus{display:inline-block;width:.9em;height:.9em;border-radius:50%;vertical-align:-.1em;"
         "margin-right:.3em}.illustrativ{border:2px solid #c62828;padding:.5em .8em;font-weight:bold}"
         "td.num{text-align:right;white-space:nowrap}</style>")


def sv_number(x, decimals: int = 0) -> str:
    """A number the Swedish way: thin spaces between thousands, decimal comma; '–' when missing."""
    if is_missing(x) or x == "":
        return DASH
    return fmt_number(x, decimals).replace(".", ",")


def sv_share(x) -> str:
    """A share as per cent with a decimal comma (0.153 → '15,3 %')."""
    return DASH if is_missing(x) else sv_number(100 * float(x), 1) + "\u202f%"


def _light(light: str) -> str:
    return (f'<span class="ljus" style="background:{LIGHT_COLOUR[light]}" aria-hidden="true"></span>'
            f"{LIGHT_SV[light]}")


def _table(rows: list[list], head: list[str], numeric: set[int] = frozenset()) -> str:
    """An HTML table; cells are escaped unless given as ``("html", text)``."""
    def cell(j, v):
        text = v[1] if isinstance(v, tuple) and v[0] == "html" else escape(v)
        return f'<td class="num">{text}</td>' if j in numeric else f"<td>{text}</td>"
    body = "".join("<tr>" + "".join(cell(j, v) for j, v in enumerate(r)) + "</tr>" for r in rows)
    return ("<table><thead><tr>" + "".join(f"<th>{escape(h)}</th>" for h in head) + "</tr></thead><tbody>"
            + body + "</tbody></table>")


def _year(x) -> str:
    return DASH if is_missing(x) else str(int(x))


def _banner(scenario: Scenario) -> str:
    text = f"{scenario.title} {scenario.notes}".lower()
    if "illustrativ" not in text:
        return ""
    return ('<p class="illustrativ">Illustrativt exempel: uppföljningsdata är påhittade men rimliga och visar '
            "hur uppföljningen fungerar. De är inte kommunens verkliga utfall.</p>")


def outcome_page(ctx: dict) -> str:
    """Plan mot utfall (uppföljning) with traffic lights, money per year, deviations and outlook."""
    pv, plan, cur, s = ctx["outcome"], ctx["plan"], ctx["currency"], ctx["summary"]
    year = oc.followup_year(ctx["followup"])
    counts = pv["delivery"].value_counts()
    lights = pv["light"].value_counts()
    parts = [STYLE, f"<h1>Uppföljning av klimatinvesteringsplanen {plan.cycle} – {escape(plan.city)}</h1>",
             _banner(ctx["scenario"]),
             f"<p>Antagen plan: scenario <b>{escape(plan.scenario)}</b> ({escape(plan.title)}). Uppföljning per "
             f"{escape(', '.join(sorted(set(pv['period']))))}. Belopp i {escape(cur)}, fasta priser; "
             "utsläpp i ton CO2e per år.</p>",
             "<h2>Sammanfattning</h2>",
             _table([[DELIVERY_SV[k], int(counts.get(k, 0))] for k in ("done", "partly done", "not done")],
                    ["Genomförande", "Antal åtgärder"], {1}),
             _table([[("html", _light(k)), int(lights.get(k, 0))] for k in ("green", "yellow", "red")],
                    ["Trafikljus", "Antal åtgärder"], {1}),
             "<h2>Pengar per år: planerat och utfall</h2>",
             _table([[str(r.year), sv_number(r.planned_investment), sv_number(r.spent_to_date)]
                     for r in ctx["money"].itertuples()],
                    ["År", "Planerad investering", f"Utfall hittills (t.o.m. {year})"], {1, 2}),
             "<h2>Åtgärder: plan mot utfall</h2>",
             _table([[("html", _light(r.light)), r.name, STATUS_SV[r.status], DELIVERY_SV[r.delivery],
                      _year(r.adopted_start_year), sv_number(r.planned_investment), sv_number(r.decided_total),
                      sv_number(r.estimated_total), sv_number(r.spent_to_date), sv_share(r.cost_deviation),
                      sv_number(r.expected_tco2e, 1), sv_number(r.achieved_tco2e, 1), METHOD_SV[r.tco2e_method],
                      f"{sv_number(r.indicator_value, 1)} / {sv_number(r.indicator_target, 1)} {r.indicator_unit}"
                      if r.indicator else ""]
                     for r in pv.itertuples()],
                    ["Ljus", "Åtgärd", "Status", "Genomförande", "Planerat startår", "Planerad investering",
                     "Beslutad totalutgift", "Beräknad totalutgift", "Utfall hittills", "Avvikelse kostnad",
                     "Planerat ton/år", "Uppnått ton/år", "Metod", "Resultatindikator (värde / mål)"],
                    {4, 5, 6, 7, 8, 9, 10, 11}),
             "<h2>Avvikelser</h2><ul>"
             + "".join(f"<li><b>{escape(r.name)}</b> ({STATUS_SV[r.status]}): {escape(r.deviation)}</li>"
                       for r in pv.itertuples() if r.deviation) + "</ul>"]
    p = s.get("pathway") or {}
    parts += ["<h2>Utblick mot målet</h2>",
              _table([[f"Utsläpp {p.get('target_year')} med planen {ctx['cycle']}",
                       sv_number(p.get("target_year_with_portfolio_tco2e"))],
                      [f"Målnivå {p.get('target_year')}", sv_number(p.get("target_tco2e"))],
                      ["Avstånd till målet (positivt = kvar att minska)", sv_number(p.get("gap_tco2e"))],
                      ["Koldioxidbudget kvar från " + _year(p.get("carbon_budget_from_year")),
                       sv_number(p.get("carbon_budget_tco2e"))],
                      ["Koldioxidbudgeten tar slut år", _year(p.get("budget_runs_out_year"))]],
                     ["Nyckeltal", "Ton CO2e"], {1}),
              "<h2>Regler för trafikljusen</h2><ul>"
              f"<li>Röd: avbruten, eller beräknad totalutgift mer än {oc.COST_RED:.0%} över beslutad.</li>"
              f"<li>Gul: försenad; beräknad totalutgift mer än {oc.COST_YELLOW:.0%} över beslutad; genomförd men "
              f"uppnådda ton under {oc.TONNES_YELLOW:.0%} av planerade; eller fortfarande planerad fast "
              "startåret har kommit.</li><li>Grön: övriga (genomförd eller enligt plan).</li></ul>"]
    return "".join(parts).replace("%</li>", " %</li>")


def changes_page(ctx: dict) -> str:
    """Vad har ändrats sedan den antagna planen: every difference per measure and in the key figures."""
    plan, ch, kf = ctx["plan"], ctx["changes"], ctx["key_figures"]
    names = {"n_measures": "Antal åtgärder", "investment_total": "Investering i planen (kommunkoncernen)",
             "grants_total": "Bidrag", "loans_total": "Gröna lån", "financing_gap": "Finansieringsgap",
             "target_year_abatement_tco2e": "Minskning målåret, ton CO2e/år",
             "gap_tco2e": "Avstånd till målet, ton CO2e", "cost_per_tco2e": "Kostnad per ton, portföljen",
             "last_inventory_year": "Senaste utsläppsinventering (år)",
             "carbon_budget_tco2e": "Koldioxidbudget, ton", "carbon_budget_from_year": "Koldioxidbudget från år",
             "carbon_budget_used_tco2e": "Koldioxidbudget förbrukad enligt inventeringen, ton"}
    years = {"last_inventory_year", "carbon_budget_from_year"}
    fmt = {True: _year, False: sv_number}
    rows = [[names[r.figure], fmt[r.figure in years](r.adopted), fmt[r.figure in years](r.now),
             fmt[r.figure in years](r.change) if r.figure not in years else
             (DASH if is_missing(r.change) else f"{int(r.change):+d}")]
            for r in kf.itertuples()]
    return "".join([
        STYLE, f"<h1>Vad har ändrats sedan den antagna planen {plan.cycle}</h1>", _banner(ctx["scenario"]),
        f"<p>Budget {ctx['cycle']} bygger på planen som antogs för {plan.cycle} "
        f"(scenario {escape(plan.scenario)}) och uppföljningen {escape(Path(str(ctx['scenario'].followup)).name)}. "
        "Genomförda åtgärder lämnar kandidatlistan och deras ton räknas i utsläppsbanan; pågående, "
        "försenade och beslutade åtgärder behåller sin återstående investering i budgetåren; avbrutna kommer "
        "tillbaka som kandidater bara om uppföljningen säger det.</p>",
        "<h2>Nyckeltal</h2>", _table(rows, ["Nyckeltal", f"Antagen plan {plan.cycle}", f"Plan {ctx['cycle']}",
                                             "Förändring"], {1, 2, 3}),
        "<h2>Åtgärder</h2>",
        _table([[r.name, "ja" if r.in_adopted_plan else "nej", "ja" if r.in_new_plan else "nej",
                 _year(r.adopted_start_year), _year(r.new_start_year), sv_number(r.adopted_capex),
                 sv_number(r.new_capex), sv_number(r.adopted_tco2e, 1), sv_number(r.new_tco2e, 1),
                 r.change, r.reason] for r in ch.itertuples()],
               ["Åtgärd", "I antagen plan", "I ny plan", "Startår (antagen)", "Startår (ny)",
                "Investering (antagen)", "Investering kvar (ny)", "Ton/år (antagen)", "Ton/år (ny)",
                "Ändring", "Skäl"], {3, 4, 5, 6, 7, 8}),
        "<h2>Hur uppföljningen fördes vidare</h2><ul>"
        + "".join(f"<li>{escape(n)}</li>" for n in ctx["notes"]) + "</ul>"])


def green_loan_page(ctx: dict) -> str:
    """Grön finansiering: the annual impact re-report per project, reconciled with the plan."""
    g, total = ctx["green"], ctx["loan_total"]
    return "".join([
        STYLE, f"<h1>Gröna lån – årlig återrapportering {ctx['cycle']}</h1>", _banner(ctx["scenario"]),
        "<p>Per projekt: förväntad och, där den är känd, uppnådd minskning (territoriella källor) eller "
        "undvikna utsläpp (el, som släpps ut där den produceras), energi sparad och tillförd, andelen som "
        "finansieras med lånet och emissionsfaktorerna med år. Belopp i "
        f"{escape(ctx['currency'])}; lånebelopp enligt finansieringsplanen {ctx['cycle']}.</p>",
        _table([[r.name, r.source_id, sv_number(r.investment), sv_number(r.loan_amount), sv_share(r.loan_share),
                 sv_number(r.loan_drawn_to_date), IMPACT_SV[r.impact], sv_number(r.expected_tco2e, 1),
                 sv_number(r.actual_tco2e, 1), sv_number(r.energy_saved_mwh), sv_number(r.energy_added_mwh),
                 r.emission_factors] for r in g.itertuples()],
               ["Projekt", "Lån", "Investering i planen", "Lånebelopp", "Andel lån", "Upplånat hittills",
                "Effekt", "Förväntat ton/år", "Uppnått ton/år", "Energi sparad MWh/år", "Energi tillförd MWh/år",
                "Emissionsfaktorer"], {2, 3, 4, 5, 7, 8, 9, 10}),
        f"<p>Avstämning: summa lånebelopp i återrapporten {sv_number(g['loan_amount'].sum())}; gröna lån i "
        f"finansieringsplanen {sv_number(total)}.</p>"])


def mission_page(ctx: dict) -> str:
    """EU-uppdraget klimatneutrala städer: the monitoring indicators."""
    m = ctx["mission"]

    def v(x, unit):
        return sv_share(x) if unit == "share" else sv_number(x, 2 if "inhabitant" in unit else 0)
    return "".join([
        STYLE, f"<h1>EU-uppdraget 100 klimatneutrala städer – uppföljningsindikatorer {ctx['cycle']}</h1>",
        _banner(ctx["scenario"]),
        "<p>Målvärden 2025, 2027 och 2030 följer den raka linjen från senaste inventering till målet; "
        "värdet är senaste inventering (SMHI:s nationella emissionsdatabas, via kommunens data).</p>",
        _table([[r.indicator, "andel" if r.unit == "share" else r.unit, _year(r.baseline_year), v(r.baseline, r.unit),
                 v(r.target_2025, r.unit), v(r.target_2027, r.unit), v(r.target_2030, r.unit), v(r.value, r.unit),
                 _year(r.value_year)] for r in m.itertuples()],
               ["Indikator", "Enhet", "Basår", "Basvärde", "Mål 2025", "Mål 2027", "Mål 2030", "Värde", "År"],
               {2, 3, 4, 5, 6, 7, 8})])


def _check_inputs(manifest: dict, scenario: Scenario, folder: Path) -> None:
    hashes = manifest.get("inputs_sha256") or {}
    for path in (scenario.adopted_plan, scenario.followup):
        key = str(path)
        if key in hashes and Path(key).is_file() and sha256_file(key) != hashes[key]:
            raise ValidationError(Problem(key, f"has changed since the run in {folder} read it: run the "
                                               "reports again before the follow-up (nothing was written)"))


def followup_context(folder: str | Path) -> dict | None:
    """Everything the follow-up pages show for one saved scenario result, or None when the
    scenario builds on no adopted plan.
    """
    saved = load_saved(folder)
    raw = dict(saved.manifest.get("scenario") or {})
    if not raw.get("adopted_plan"):
        return None
    scenario = Scenario.model_validate(raw)
    _check_inputs(saved.manifest, scenario, Path(folder))
    city = load_city(scenario.city)
    start = carry_forward(city, scenario)
    assert start.plan is not None and start.followup is not None
    chosen = saved.tables_["portfolio"].fillna({"carried": ""})
    allocation = saved.tables_["financing_allocation"]
    loans = city.funding_sources.loc[city.funding_sources["kind"] == "loan", "source_id"].tolist()
    pv = oc.plan_vs_outcome(start.plan, start.followup)
    fin = saved.summary.get("financing") or {}
    return {
        "scenario": scenario, "plan": start.plan, "followup": start.followup, "cycle": scenario.budget_cycle,
        "currency": city.currency, "summary": saved.summary, "outcome": pv,
        "money": oc.money_by_year(start.plan, start.followup),
        "changes": oc.what_changed(start.plan, start.carried, chosen, scenario.budget_cycle),
        "key_figures": oc.key_figures_changed(start.plan, saved.summary, start.carbon_budget_used_tco2e),
        "green": oc.green_loan_report(start.city, start.scenario, chosen, allocation, start.followup, loans),
        "loan_total": fin.get("loan_total", math.nan),
        "mission": oc.mission_indicators(city, saved.tables_["pathway"], saved.summary.get("pathway") or {}, pv),
        "notes": list(start.notes) + [f"{r.name}: {r.treatment}" for r in start.carried.itertuples()],
    }


PAGES = (("uppfoljning", "Uppföljning: plan mot utfall", outcome_page, "outcome"),
         ("andringar", "Vad har ändrats sedan den antagna planen", changes_page, "changes"),
         ("grona_lan", "Gröna lån – återrapportering", green_loan_page, "green"),
         ("eu_indikatorer", "EU-uppdraget – indikatorer", mission_page, "mission"))


def write_followup_reports(run_folder: str | Path) -> list[Path]:
    """Write the follow-up pages and tables of every scenario in a report run built on an adopted
    plan into ``<run>/followup/<scenario>/``; return the pages written (none when no scenario
    builds on a plan). Raises ``ValidationError`` when the folder is no run.
    """
    run = Path(run_folder)
    folders = sorted(p.parent for p in run.glob("*/manifest.json"))
    if not folders:
        raise ValidationError(Problem(str(run), "holds no saved scenario results (<scenario>/manifest.json)"))
    contexts = {f.name: ctx for f in folders if (ctx := followup_context(f)) is not None}
    written = []
    for name, ctx in contexts.items():
        out = run / "followup" / name
        city, cycle = ctx["plan"].city, ctx["cycle"]
        for stem, title, render, table in PAGES:
            atomic_write_text(out / f"{stem}.csv", pd.DataFrame(ctx[table]).to_csv(index=False, lineterminator="\n"))
            text = page(render(ctx), f"{title} – {city}, budget {cycle}", lang="sv", plotly=False,
                        footer=f"{city} · budget {cycle} · {ctx['scenario'].title}")
            written.append(atomic_write_text(out / f"{stem}.html", text))
        atomic_write_text(out / "nyckeltal.csv", ctx["key_figures"].to_csv(index=False, lineterminator="\n"))
    return written

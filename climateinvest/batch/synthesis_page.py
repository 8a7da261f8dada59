"""The synthesis page: the cities side by side and their totals, in Swedish (default) or English.

One self-contained page (``report.html_export.page``: no script, no network). Every figure is
taken from the synthesis tables (``synthesis.synthesise``), which are also written as CSV, so
the page and the files show the same numbers. Every text from an input is escaped.
"""
from __future__ import annotations

import html

import pandas as pd

from climateinvest.report import i18n
from climateinvest.report.formatting import DASH, fmt_number
from climateinvest.report.html_export import page

WORDS = {
    "sv": {
        "kicker": "Viable Cities · Klimatneutrala städer 2030 · nationell sammanställning",
        "title": "Städernas klimatinvesteringsplaner, budget {cycle}",
        "intro": "Sammanställning av {n} städers scenarier: vad planerna tillsammans kostar, vem som betalar, "
                 "hur de finansieras, vad de minskar per sektor och hur långt det är kvar till varje stads mål.",
        "money_note": "Belopp i {cur}, {year} års priser, omräknade med faktorerna nedan; varje stads egna "
                      "belopp står i dess egen valuta i stadens rapporter och i kolumnerna ”egen valuta”.",
        "headline_note": "Per stad används scenariot {scenario} (eller stadens första lyckade scenario där det "
                         "saknas); totaler för alla scenarier står sist.",
        "totals": "Totalt och per invånare", "figure": "Storhet", "total": "Totalt", "per_capita": "Per invånare",
        "cities_n": "Städer", "by_payer": "Investering per aktör (betalare)", "payer": "Betalare",
        "by_source": "Investering per finansieringskälla", "source": "Källa", "kind": "Slag",
        "by_kind": "Investering per slag av finansiering",
        "by_sector": "Ton per sektor i målåret [t CO2e/år]", "sector": "Sektor",
        "baseline": "Utan åtgärder", "abatement": "Minskning", "with": "Med portföljen",
        "gap_title": "Avstånd till varje stads mål [t CO2e/år]",
        "cost_title": "Kostnad per ton per åtgärdstyp (sektor), spridning mellan städerna",
        "cost_note": "Kostnad per ton för sektorns åtgärder på stadens MAC-kurva (nuvärde av nettokostnad per "
                     "diskonterat ton), omräknad; negativ = sparar pengar. Lägst median först.",
        "min": "Lägst", "median": "Median", "max": "Högst",
        "side": "Städerna sida vid sida", "city": "Stad", "population": "Invånare", "currency": "Valuta",
        "price_year": "Prisår", "scenario": "Scenario", "status": "Status", "links": "Rapporter",
        "investment": "Investering", "investment_own": "Investering, egen valuta", "grants": "Bidrag",
        "loans": "Lån", "own_funds": "Egna medel", "financing_gap": "Finansieringsgap",
        "measures": "Åtgärder", "baseline_target_year_tco2e": "Utsläpp i målåret utan åtgärder",
        "target_year_tco2e": "Utsläpp i målåret med portföljen", "abatement_tco2e": "Minskning i målåret",
        "target_tco2e": "Målnivå", "gap_tco2e": "Avstånd till målet (positivt = kvar)",
        "investment_per_capita": "Investering per invånare",
        "scenarios": "Totaler per scenario", "followup": "Uppföljningsindikatorer",
        "followup_none": "Inga uppföljningsindikatorer i städernas resultat.",
        "conversions": "Omräkningar", "conv_none": "Ingen omräkning: alla städer har {cur} i {year} års priser.",
        "conv_row": "1 {c} ({y} års priser) = {f} {cur} ({year} års priser). Källa: {s}",
        "failed": "Städer som inte kom med", "report": "index", "gap": "gap",
        "facts": "Körning", "run": "Körning", "engine": "Motor", "started": "Startad", "finished": "Klar",
        "files": "Alla tal finns som CSV i mappen synthesis/; indata, versioner och tider i manifest.json.",
    },
    "en": {
        "kicker": "Viable Cities · Climate-neutral cities 2030 · national synthesis",
        "title": "The cities' climate investment plans, budget {cycle}",
        "intro": "Synthesis of {n} cities' scenarios: what the plans cost together, who pays, how they are "
                 "financed, what they abate per sector and how far each city remains from its target.",
        "money_note": "Money in {cur} at {year} prices, converted with the factors below; each city's own "
                      "amounts are in its own currency in its reports and in the columns “own currency”.",
        "headline_note": "Per city the scenario {scenario} is used (or the city's first successful scenario "
                         "where it has none); the totals of every scenario come last.",
        "totals": "Totals and per inhabitant", "figure": "Figure", "total": "Total", "per_capita": "Per inhabitant",
        "cities_n": "Cities", "by_payer": "Investment by actor (payer)", "payer": "Payer",
        "by_source": "Investment by financing source", "source": "Source", "kind": "Kind",
        "by_kind": "Investment by kind of financing",
        "by_sector": "Tonnes by sector in the target year [t CO2e/yr]", "sector": "Sector",
        "baseline": "Without measures", "abatement": "Abatement", "with": "With the portfolio",
        "gap_title": "Gap to each city's target [t CO2e/yr]",
        "cost_title": "Cost per tonne by measure type (sector), spread across the cities",
        "cost_note": "Cost per tonne of the sector's measures on the city's MAC curve (present value of the net "
                     "cost per discounted tonne), converted; negative = saves money. Lowest median first.",
        "min": "Lowest", "median": "Median", "max": "Highest",
        "side": "The cities side by side", "city": "City", "population": "Inhabitants", "currency": "Currency",
        "price_year": "Price year", "scenario": "Scenario", "status": "Status", "links": "Reports",
        "investment": "Investment", "investment_own": "Investment, own currency", "grants": "Grants",
        "loans": "Loans", "own_funds": "Own funds", "financing_gap": "Financing gap",
        "measures": "Measures", "baseline_target_year_tco2e": "Target-year emissions without measures",
        "target_year_tco2e": "Target-year emissions with the portfolio", "abatement_tco2e": "Target-year abatement",
        "target_tco2e": "Target level", "gap_tco2e": "Gap to the target (positive = short)",
        "investment_per_capita": "Investment per inhabitant",
        "scenarios": "Totals per scenario", "followup": "Follow-up indicators",
        "followup_none": "No follow-up indicators in the cities' results.",
        "conversions": "Conversions", "conv_none": "No conversion: every city is in {cur} at {year} prices.",
        "conv_row": "1 {c} ({y} prices) = {f} {cur} ({year} prices). Source: {s}",
        "failed": "Cities left out", "report": "index", "gap": "gap",
        "facts": "Run", "run": "Run", "engine": "Engine", "started": "Started", "finished": "Finished",
        "files": "Every figure is in the folder synthesis/ as CSV; inputs, versions and timings in manifest.json.",
    },
}
MONEY = ("investment", "grants", "loans", "own_funds", "financing_gap")
KINDS = {"sv": {"grant": "bidrag", "loan": "lån", "own_funds": "egna medel", "gap": "finansieringsgap"},
         "en": {"grant": "grant", "loan": "loan", "own_funds": "own funds", "gap": "financing gap"}}


def _table(df: pd.DataFrame, columns: list[tuple[str, str, str]]) -> str:
    """``columns``: (column, header, kind: "text" | "number" | "decimal" | "html"); every text escaped."""
    head = "".join(f'<th class="ci-num">{html.escape(h)}</th>' if k != "text" and k != "html"
                   else f"<th>{html.escape(h)}</th>" for _, h, k in columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for col, _, kind in columns:
            v = row.get(col)
            if kind == "text":
                cells.append(f"<td>{html.escape(str(v)) if v is not None and not pd.isna(v) else DASH}</td>")
            elif kind == "html":
                cells.append(f"<td>{v}</td>")
            else:
                cells.append(f'<td class="ci-num">{fmt_number(v, 2 if kind == "decimal" else 0)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f'<div class="ci-scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def synthesis_html(manifest: dict, tables: dict[str, pd.DataFrame], conv, language: str = "sv") -> str:
    """The synthesis page of ``manifest`` (the synthesis run's) and ``tables`` (``synthesise``)."""
    i18n.use(i18n.Context(lang=language, currency=conv.currency))
    w = WORDS[language]
    esc = html.escape
    cur, year = esc(conv.currency), conv.price_year
    m = lambda k: f"{w[k]} [{cur}]"  # noqa: E731 - a header with its unit
    tonnes = lambda k: f"{w[k]} [t CO2e/{'år' if language == 'sv' else 'yr'}]"  # noqa: E731
    kinds = KINDS[language]
    cities = tables["cities"]
    n_ok = len(cities)
    parts = [f'<section class="ci-title"><div class="ci-kicker">{esc(w["kicker"])}</div>'
             f'<h1>{esc(w["title"].format(cycle=manifest["cycle"]))}</h1>'
             f'<p>{esc(w["intro"].format(n=n_ok))}</p>'
             f'<p>{esc(w["money_note"].format(cur=conv.currency, year=year))}</p>'
             f'<p>{esc(w["headline_note"].format(scenario=manifest["headline_scenario"]))}</p></section>']

    totals = tables["totals"].assign(label=lambda d: [
        m(f) if f in MONEY else tonnes(f) if f.endswith("tco2e") else w[f] for f in d["figure"]])
    parts.append(f"<h2>{esc(w['totals'])}</h2>" + _table(totals, [
        ("label", w["figure"], "text"), ("total", w["total"], "number"),
        ("per_capita", w["per_capita"], "decimal"), ("cities", w["cities_n"], "number")]))
    parts.append(f"<h2>{esc(w['by_payer'])}</h2>" + _table(tables["by_payer"], [
        ("payer", w["payer"], "text"), ("investment", m("investment"), "number")]))
    by_kind = tables["by_kind"].assign(kind=lambda d: [kinds.get(k, k) for k in d["kind"]])
    by_source = tables["by_source"].assign(kind=lambda d: [kinds.get(k, k) for k in d["kind"]],
                                           source=lambda d: [w["financing_gap"] if s == "financing_gap" else s
                                                             for s in d["source"]])
    parts.append(f"<h2>{esc(w['by_kind'])}</h2>" + _table(by_kind, [
        ("kind", w["kind"], "text"), ("amount", m("investment"), "number")]))
    parts.append(f"<h2>{esc(w['by_source'])}</h2>" + _table(by_source, [
        ("source", w["source"], "text"), ("kind", w["kind"], "text"), ("amount", m("investment"), "number")]))
    parts.append(f"<h2>{esc(w['by_sector'])}</h2>" + _table(tables["by_sector"], [
        ("sector", w["sector"], "text"), ("baseline_tco2e", w["baseline"], "number"),
        ("abatement_tco2e", w["abatement"], "number"), ("with_portfolio_tco2e", w["with"], "number")]))
    parts.append(f"<h2>{esc(w['gap_title'])}</h2>" + _table(cities, [
        ("city", w["city"], "text"), ("target_tco2e", w["target_tco2e"], "number"),
        ("target_year_tco2e", w["target_year_tco2e"], "number"), ("gap_tco2e", w["gap_tco2e"], "number")]))
    parts.append(f"<h2>{esc(w['cost_title'])}</h2><p>{esc(w['cost_note'])}</p>" + _table(tables["cost_spread"], [
        ("sector", w["sector"], "text"), ("cities", w["cities_n"], "number"),
        ("min", f"{w['min']} [{cur}/t CO2e]", "number"), ("median", f"{w['median']} [{cur}/t CO2e]", "number"),
        ("max", f"{w['max']} [{cur}/t CO2e]", "number")]))

    by_folder = {c["name"]: c for c in manifest["cities"]}
    side = cities.assign(link=[f'<a href="{esc(by_folder[c]["folder"])}/index.html">{esc(w["report"])}</a>'
                               for c in cities["city"]])
    parts.append(f"<h2>{esc(w['side'])}</h2>" + _table(side, [
        ("city", w["city"], "text"), ("population", w["population"], "number"),
        ("scenario", w["scenario"], "text"), ("currency", w["currency"], "text"),
        ("investment_own", w["investment_own"], "number"), ("investment", m("investment"), "number"),
        ("investment_per_capita", f"{w['investment_per_capita']} [{cur}]", "number"),
        ("grants", m("grants"), "number"), ("loans", m("loans"), "number"),
        ("own_funds", m("own_funds"), "number"), ("financing_gap", m("financing_gap"), "number"),
        ("abatement_tco2e", tonnes("abatement_tco2e"), "number"), ("gap_tco2e", tonnes("gap_tco2e"), "number"),
        ("measures", w["measures"], "number"), ("link", w["links"], "html")]))
    parts.append(f"<h2>{esc(w['scenarios'])}</h2>" + _table(tables["scenarios"], [
        ("scenario", w["scenario"], "text"), ("cities", w["cities_n"], "number"),
        ("investment", m("investment"), "number"), ("financing_gap", m("financing_gap"), "number"),
        ("abatement_tco2e", tonnes("abatement_tco2e"), "number"), ("gap_tco2e", tonnes("gap_tco2e"), "number")]))

    follow = tables["followup"]
    parts.append(f"<h2>{esc(w['followup'])}</h2>")
    if len(follow):
        cols = ["city", "table"] + [c for c in follow.columns if c not in ("city", "table")]
        parts.append(_table(follow[cols], [(c, c, "text") for c in cols]))
    else:
        parts.append(f'<p class="ci-muted">{esc(w["followup_none"])}</p>')

    parts.append(f"<h2>{esc(w['conversions'])}</h2>")
    rows = [w["conv_row"].format(c=s["currency"], y=s["price_year"], f=fmt_number(s["factor"], 4),
                                 cur=conv.currency, year=year, s=s["source"])
            for s in manifest["conversions"]["factors"]]
    parts.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in rows) + "</ul>" if rows else
                 f"<p>{esc(w['conv_none'].format(cur=conv.currency, year=year))}</p>")
    left = [c for c in manifest["cities"] if c.get("headline") is None]
    if left:
        parts.append(f"<h2>{esc(w['failed'])}</h2><ul>" + "".join(
            f'<li><b>{esc(str(c["name"]))}</b>: <span class="ci-error">{esc(str(c.get("error") or c["status"]))}'
            "</span></li>" for c in left) + "</ul>")
    eng = manifest.get("engine") or {}
    facts = [(w["run"], manifest["run_id"]), (w["engine"], f"{eng.get('engine')} ({eng.get('scheduler', '')})"),
             (w["started"], manifest["started"])]
    parts.append(f"<h2>{esc(w['facts'])}</h2><dl>" + "".join(f"<dt>{esc(k)}</dt><dd>{esc(str(v))}</dd>"
                                                            for k, v in facts) + f"</dl><p>{esc(w['files'])}</p>")
    title = w["title"].format(cycle=manifest["cycle"])
    return page("".join(parts), title, lang=language, plotly=False,
                footer=f"{title} · {manifest['run_id']}")

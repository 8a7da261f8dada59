"""The texts of the charts in the report's language: titles, axis titles, legend entries,
annotations and hover labels.

The plot functions (``report.plots``) write English; ``translate_figure`` rewrites a finished
figure for a Swedish report from the catalogue below, in the manner of gettext (the English text
is the key). ``PHRASES`` are whole texts or their start (a title, an axis title, a legend entry);
``WORDS`` are the words of the hover labels. Data (measure names, currency) pass unchanged.
``untranslated`` lists what a figure still holds in English (the tests require none).
"""
from __future__ import annotations

import re

from climateinvest.report.i18n import lang

# (English, Swedish); the longest English text is tried first. "{x}" stands for any text (kept).
PHRASES: tuple[tuple[str, str], ...] = (
    ("Cost after co-benefits [{x} per t CO2e]", "Kostnad efter sidonyttor [{x}/t CO₂e]"),
    ("Cost [{x} per t CO2e]", "Kostnad [{x}/t CO₂e]"),
    ("Abatement in {x} [t CO2e/year]", "Minskning år {x} [t CO₂e/år]"),
    ("Abatement [t CO2e/year]", "Minskning [t CO₂e/år]"),
    ("Carbon value", "Klimatvärde"),
    ("No measure abates emissions in the reference year", "Ingen åtgärd minskar utsläppen under referensåret"),
    ("energy", "el och fjärrvärme"), ("buildings", "bebyggelse"), ("transport", "transporter"),
    ("agriculture", "jordbruk"), ("consumption", "konsumtion"), ("industry", "industri"), ("waste", "avfall"),
    ("machinery", "arbetsmaskiner"), ("product_use", "produktanvändning"), ("other", "övrigt"),
    ("Investment by year of the chosen portfolio", "Investering per år i den valda portföljen"),
    ("Investment [{x}/year]", "Investering [{x}/år]"),
    ("Investment [{x}]", "Investering [{x}]"),
    ("Year (measures at their chosen start years)", "År (åtgärderna vid sina valda startår)"),
    ("after the budget cycle", "efter budgetperioden"),
    ("{x} (external, outside budget)", "{x} (andra betalare, utanför ramen)"),
    ("Investment budget", "Investeringsram"),
    ("Budget use per year", "Utnyttjad ram per år"),
    ("Plan year", "Planår"),
    ("Committed after {x}: {x} (budget-counted)", "Åtaganden efter {x}: {x} (inom ramen)"),
    ("Chosen portfolio", "Vald portfölj"),
    ("Greedy down the MAC curve", "Längs MAC-kurvan"),
    ("External measures of the chosen portfolio (outside budget)", "Andra betalares åtgärder i portföljen (utanför ramen)"),
    ("Efficient frontier: abatement against budget", "Effektiv front: minskning mot ram"),
    ("Total investment budget {x} [{x}]", "Total investeringsram {x} [{x}]"),
    ("scenario budget", "scenariots ram"),
    ("The target needs {x} t CO2e/year in {x} (above the chart)", "Målet kräver {x} t CO₂e/år år {x} (ovanför diagrammet)"),
    ("Optimised (MILP)", "Optimerad (MILP)"),
    ("Chosen portfolio at the scenario budget", "Vald portfölj vid scenariots ram"),
    ("Greedy portfolio at the scenario budget", "MAC-ordningens portfölj vid scenariots ram"),
    ("Financing of the investment by year and source", "Finansiering av investeringen per år och källa"),
    ("Year", "År"),
    ("{x} (grant)", "{x} (bidrag)"), ("{x} (loan)", "{x} (lån)"), ("{x} (own funds)", "{x} (egna medel)"),
    ("Financing gap", "Finansieringsgap"),
    ("Debt service of the loans", "Lånens kapitaltjänst"),
    ("Debt outstanding [{x}]", "Utestående skuld [{x}]"),
    ("Debt service [{x}/year]", "Kapitaltjänst [{x}/år]"),
    ("Interest", "Ränta"), ("Amortisation", "Amortering"),
    ("Debt outstanding (right axis)", "Utestående skuld (höger axel)"),
    ("Impact on the municipal operating budget (positive = cost)", "Påverkan på driftbudgeten (positivt = kostnad)"),
    ("Operating-budget impact [{x}/year]", "Påverkan på driftbudgeten [{x}/år]"),
    ("Depreciation (net of grants)", "Avskrivning (efter bidrag)"),
    ("Internal interest (internränta)", "Internränta"),
    ("Running-cost change", "Förändrad driftkostnad"), ("Energy-cost change", "Förändrad energikostnad"),
    ("Net impact", "Nettopåverkan"),
    ("Emission pathway against the target", "Utsläppsbana mot målet"),
    ("Emissions [t CO2e/year]", "Utsläpp [t CO₂e/år]"),
    ("gap {x} t CO2e/year", "kvar till målet {x} t CO₂e/år"),
    ("inventory | projection", "statistik | prognos"),
    ("Baseline (territorial)", "Referensbana (territoriell)"),
    ("With the portfolio (territorial)", "Med portföljen (territoriell)"),
    ("Baseline, indirect (not in target)", "Referens, indirekt (ej i målet)"),
    ("With the portfolio, indirect (not in target)", "Med portföljen, indirekt (ej i målet)"),
    ("Straight path to the target", "Rak väg till målet"),
    ("Of which under the EU ETS, with the portfolio", "Varav inom EU ETS, med portföljen"),
    ("Target {x}: {x} vs {x}", "Mål {x}: {x} mot {x}"),
    ("Cumulative emissions against the carbon budget", "Kumulativa utsläpp mot koldioxidbudgeten"),
    ("Cumulative emissions (t CO2e, all greenhouse gases) against a fossil-CO2 carbon budget: an indicator, "
     "not a like-for-like comparison",
     "Kumulativa utsläpp (t CO₂e, alla växthusgaser) mot en koldioxidbudget för fossil CO₂: en indikator, "
     "inte lika med lika"),
    ("carbon budget {x} t fossil CO2 only from {x}", "koldioxidbudget {x} t enbart fossil CO₂ från {x}"),
    ("Cumulative emissions [t CO2e]", "Kumulativa utsläpp [t CO₂e]"),
    ("carbon budget {x} t CO2e from {x}", "koldioxidbudget {x} t CO₂e från {x}"),
    ("Baseline, cumulative", "Referens, kumulativ"),
    ("With the portfolio, cumulative", "Med portföljen, kumulativ"),
    ("Budget spent (baseline)", "Budget förbrukad (referens)"),
    ("Budget spent (with the portfolio)", "Budget förbrukad (med portföljen)"),
    ("Territorial emissions with the portfolio under uncertainty<br><sub>{x}</sub>",
     "Territoriella utsläpp med portföljen under osäkerhet<br><sub>{x}</sub>"),
    ("Territorial emissions [t CO2e/year]", "Territoriella utsläpp [t CO₂e/år]"),
    ("P90", "P90"), ("P10", "P10"),
    ("With the portfolio, P10–P90", "Med portföljen, P10–P90"),
    ("With the portfolio, median", "Med portföljen, median"),
    ("With the portfolio, central values", "Med portföljen, centrala värden"),
    ("Target level {x}", "Målnivå {x}"),
    ("Portfolio cost per tonne", "Portföljens kostnad per ton"),
    ("base {x}", "grundfall {x}"),
    ("Low case (left label)", "Lågt fall (vänster etikett)"),
    ("High case (right label)", "Högt fall (höger etikett)"),
    ("Gap to the target in the target year (positive = short)", "Kvar till målet under målåret (positivt = underskott)"),
    ("Gap to the target [t CO2e/year]", "Kvar till målet [t CO₂e/år]"),
    ("How often each measure is chosen under uncertainty<br><sub>{x} draws; exact: the portfolio's MILP re-solved "
     "per draw on the draw's perturbed candidates, proven optimal within the portfolio's gap</sub>",
     "Hur ofta varje åtgärd väljs under osäkerhet<br><sub>{x} dragningar; exakt: portföljens optimering (MILP) "
     "löst på nytt för varje dragning, bevisat optimal inom portföljens gap</sub>"),
    ("How often each measure is chosen under uncertainty<br><sub>{x} draws; greedy: the portfolio's greedy "
     "baseline (fund down the MAC curve under the yearly budgets) walked on each draw's own curve; a fast "
     "approximation of the MILP</sub>",
     "Hur ofta varje åtgärd väljs under osäkerhet<br><sub>{x} dragningar; snabb uppskattning: åtgärderna "
     "finansieras längs varje dragnings egen MAC-kurva inom årens ramar, inte portföljens optimering</sub>"),
    ("How often each measure is chosen under uncertainty<br><sub>{x} draws; {x}</sub>",
     "Hur ofta varje åtgärd väljs under osäkerhet<br><sub>{x} dragningar; {x}</sub>"),
    ("Share of draws in which the measure is chosen", "Andel dragningar där åtgärden väljs"),
    ("In the central-value portfolio", "I portföljen med centrala värden"),
    ("Not in the central-value portfolio", "Inte i portföljen med centrala värden"),
    ("P10–P90 (Monte Carlo)", "P10–P90 (Monte Carlo)"),
)
WORDS: tuple[tuple[str, str], ...] = (
    ("Cost:", "Kostnad:"), ("Abatement:", "Minskning:"), ("(alone", "(ensam"), ("Investment in", "Investering"),
    ("Investment:", "Investering:"), ("NPV cost:", "Nuvärde kostnad:"), ("NPV cost", "Nuvärde kostnad"),
    ("Payer:", "Betalare:"), (" measures<br>", " åtgärder<br>"), (" measures;", " åtgärder;"),
    ("Start year:", "Startår:"), ("Budget ", "Ram "), ("per t CO2e", "/t CO₂e"), ("t CO2e/year", "t CO₂e/år"),
    ("t CO2e", "t CO₂e"), ("Chosen portfolio", "Vald portfölj"), ("Greedy down the MAC curve", "Längs MAC-kurvan"),
    ("External measures of the chosen portfolio (outside budget)", "Andra betalares åtgärder (utanför ramen)"),
    ("of the scenario's", "av scenariots"), ("Greedy:", "MAC-ordning:"), ("median", "median"),
    ("Target level:", "Målnivå:"), ("chosen in", "vald i"), ("of the draws", "av dragningarna"),
    ("Carbon value:", "Klimatvärde:"),
)


def _compile():
    out = []
    for en, sv in sorted(PHRASES, key=lambda p: -len(p[0])):
        pattern = "^" + re.escape(en).replace(r"\{x\}", "(.*?)") + "$"
        out.append((re.compile(pattern, re.DOTALL), sv))
    return out


_PATTERNS = _compile()


def translate_text(text: str) -> str:
    """``text`` in Swedish if the catalogue has it (whole, with ``{x}`` parts kept), else as is."""
    if not text:
        return text
    for pattern, sv in _PATTERNS:
        m = pattern.match(text)
        if m:
            out = sv
            for part in m.groups():
                out = out.replace("{x}", part, 1)
            return out
    return text


def translate_hover(template: str) -> str:
    """A hover template with its words in Swedish (placeholders ``%{...}`` untouched)."""
    for en, sv in WORDS:
        template = template.replace(en, sv)
    return template


def _kronor(text: str) -> str:
    """Swedish money units in a translated text: "MSEK" → "mnkr", "SEK" → "kr"."""
    return re.sub(r"\bSEK\b", "kr", re.sub(r"\bMSEK\b", "mnkr", text))


def _texts(fig):
    """(getter, setter) pairs of every text of ``fig`` a reader sees."""
    lay = fig.layout
    if lay.title is not None and lay.title.text:
        yield lay.title.text, lambda v: lay.title.update(text=v)
    for name in [k for k in lay if k.startswith(("xaxis", "yaxis"))]:
        axis = lay[name]
        if axis.title is not None and axis.title.text:
            yield axis.title.text, lambda v, a=axis: a.title.update(text=v)
    for ann in lay.annotations or ():
        if ann.text:
            yield ann.text, lambda v, a=ann: a.update(text=v)
    for tr in fig.data:
        if getattr(tr, "name", None):
            yield tr.name, lambda v, tr=tr: tr.update(name=v)


def translate_figure(fig):
    """``fig`` with its texts in the report's language (Swedish decimal comma too); English
    reports are returned unchanged. Returns the same figure.
    """
    if lang() != "sv":
        return fig
    fig.update_layout(separators=",\u202f")
    for text, set_text in list(_texts(fig)):
        new = translate_text(text)
        if new != text:
            set_text(_kronor(new))
    for tr in fig.data:
        if getattr(tr, "hovertemplate", None):
            tr.update(hovertemplate=translate_hover(tr.hovertemplate))
    return fig


def untranslated(fig, known_data: set[str] = frozenset()) -> list[str]:
    """The texts of a (translated) figure that are still English: neither in the catalogue's
    Swedish nor data (``known_data``: measure names, sector names …).
    """
    swedish = {sv for _, sv in PHRASES}
    left = []
    for text, _ in _texts(fig):
        if text in known_data or text in swedish or translate_text(text) != text:
            continue
        if any(re.match("^" + re.escape(sv).replace(r"\{x\}", ".*?") + "$", text, re.DOTALL) for sv in swedish):
            continue
        if re.fullmatch(r"[\d\s.,\u202f\u2212%–-]*", text) or re.match(r"^\d+ ", text):
            continue  # numbers, and a bar's rank with its (data) name
        left.append(text)
    return left

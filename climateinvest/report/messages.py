"""The message catalogue of the reports: every fixed text, once, as (English, Swedish).

``report.i18n.t(key, **values)`` picks the text in the report's language and fills its
``{fields}``. Column headers, units and meanings are not here: they are in the output column
registry (``climateinvest/io/output_columns.yaml``). ``tests/test_messages.py`` checks that every
key used in the code is here, in both languages, with the same fields.
"""
from __future__ import annotations

from climateinvest.report.messages_explorer import EXPLORER_MESSAGES

MESSAGES: dict[str, tuple[str, str]] = {
    # words
    "yes": ("yes", "ja"),
    "no": ("no", "nej"),
    "never": ("never", "aldrig"),
    "per_year": ("/yr", "/år"),
}

MESSAGES.update({
    # title page
    "kicker": ("Climate investment plan", "Klimatinvesteringsplan"),
    "title.city": ("City", "Kommun"),
    "title.cycle": ("Budget cycle", "Budgetperiod"),
    "title.cycle_value": ("budget year {cycle}, plan years {plan}", "budgetår {cycle}, planår {plan}"),
    "title.scenario_file": ("Scenario file", "Scenariofil"),
    "title.perspective": ("Perspective", "Perspektiv"),
    "title.money": ("Money", "Belopp"),
    "title.money_value": ("{currency}, {price_year} prices, real terms, excl. VAT",
                          "{currency}, {price_year} års priser, reala, exkl. moms"),
    "title.date": ("Date", "Datum"),
    "title.budget": ("budget {cycle}", "budget {cycle}"),
    "perspective.municipal": ("municipal (what the municipal group pays)", "kommunalt (det kommunkoncernen betalar)"),
    "perspective.societal": ("societal (with the carbon value)", "samhällsekonomiskt (med klimatvärde)"),
    # the decision basis
    "status.head": ("Status of the data", "Underlagets status"),
    "status.default": ("Illustrative figures, not the adopted plan.", "Illustrativa siffror, inte den antagna planen."),
    "summary.head": ("Summary", "Sammanfattning"),
    "summary.cut": ("The plan funds {n} measures that cut territorial emissions by {tonnes} in {year}, {share} of "
                    "that year's emissions without the plan.",
                    "Planen finansierar {n} åtgärder som minskar de territoriella utsläppen med {tonnes} år {year}, "
                    "{share} av årets utsläpp utan planen."),
    "summary.cost_saves": ("Over their lifetimes the measures save money: {cost} per tonne cut (present value, "
                           "{perspective} perspective).",
                           "Över sin livslängd sparar åtgärderna pengar: {cost} per minskat ton (nuvärde, "
                           "{perspective} perspektiv)."),
    "summary.cost_costs": ("Each tonne cut costs {cost} on average (present value over the lifetimes, {perspective} "
                           "perspective).",
                           "Varje minskat ton kostar i genomsnitt {cost} (nuvärde över livslängden, {perspective} "
                           "perspektiv)."),
    "summary.money": ("The municipal group invests {investment} in {years} ({external} more is paid by others); "
                      "{grants} is expected from grants and {loans} from green loans{rest}.",
                      "Kommunkoncernen investerar {investment} under {years} (därtill {external} som andra betalar); "
                      "{grants} väntas från bidrag och {loans} från gröna lån{rest}."),
    "summary.own_funds": (", {amount} from own funds", ", {amount} ur egna medel"),
    "summary.fin_gap": (", and {amount} has no funding yet", ", och {amount} saknar ännu finansiering"),
    "summary.budget": ("Debt service peaks at {debt} in {debt_year}; the net burden on the operating budget peaks "
                       "at {net} in {net_year}.",
                       "Kapitaltjänsten blir som högst {debt} år {debt_year}; driftbudgeten belastas netto med som "
                       "mest {net} år {net_year}."),
    "summary.gap": ("In {year} emissions are {with_plan} against a target of {target}: {gap} short of it{prob}. "
                    "Most of what remains comes from {sectors}, which the plan's measures barely reach.",
                    "År {year} är utsläppen {with_plan} mot målet {target}: {gap} återstår till målet{prob}. "
                    "Det mesta av det som återstår kommer från {sectors}, som planens åtgärder knappt når."),
    "summary.met": ("In {year} emissions are {with_plan}, at or below the target of {target}{prob}.",
                    "År {year} är utsläppen {with_plan}, på eller under målet {target}{prob}."),
    "summary.prob": (" (probability of meeting it {prob} over {draws} Monte Carlo draws)",
                     " (sannolikheten att nå det är {prob} över {draws} Monte Carlo-dragningar)"),
    "and": ("and", "och"),
    "proposal.head": ("Proposed decision", "Förslag till beslut"),
    "proposal.lead": ("The council is asked to decide", "Kommunfullmäktige föreslås besluta"),
    "proposal.frame": ("to set the investment frame for the climate measures at {frames} (municipal group){after};",
                       "att fastställa investeringsramen för klimatåtgärderna till {frames} (kommunkoncernen){after};"),
    "proposal.frame_year": ("{amount} in {year}", "{amount} år {year}"),
    "proposal.after": (", with {amount} in {years} for measures started within the cycle",
                       ", samt {amount} under {years} för åtgärder som startar inom perioden"),
    "proposal.loans": ("that the municipal group may borrow at most {amount} in green loans for them;",
                       "att kommunkoncernen för dessa får uppta gröna lån om högst {amount};"),
    "proposal.start": ("to start these {n} measures in the budget year {year}: {names};",
                       "att under budgetåret {year} starta följande {n} åtgärder: {names};"),
    "proposal.start_none": ("no measure starts in the budget year {year};", "ingen åtgärd startar under budgetåret {year};"),
    "proposal.gap": ("to find funding for the financing gap of {amount}.",
                     "att anvisa finansiering för finansieringsgapet på {amount}."),
    "proposal.note": ("The proposal follows from this scenario's figures; which measures to adopt is the council's "
                      "decision.", "Förslaget följer av scenariots siffror; vilka åtgärder som antas beslutar fullmäktige."),
    "keyfigs.head": ("Key figures", "Nyckeltal"),
    "kf.investment": ("Investment in the plan's measures", "Investering i planens åtgärder"),
    "kf.abatement": ("Cut in {year}, territorial", "Minskning år {year}, territoriell"),
    "kf.cost": ("Cost per tonne cut, portfolio", "Kostnad per minskat ton, portföljen"),
    "kf.cost_basis.municipal": ("the municipal group's money over the tonnes of its own measures",
                                "kommunkoncernens pengar per ton av dess egna åtgärder"),
    "kf.cost_basis.societal": ("every payer's cost over every measure's tonnes",
                               "alla betalares kostnad per ton av alla åtgärder"),
    "kf.emissions": ("Emissions in {year} with the plan (target {target})", "Utsläpp år {year} med planen (mål {target})"),
    "kf.gap": ("Gap to the target in {year}", "Kvar till målet år {year}"),
    "kf.financing": ("Financing of the municipal group's investment", "Finansiering av kommunkoncernens investering"),
    "kf.debt": ("Peak debt service ({year})", "Högsta kapitaltjänst ({year})"),
    "kf.net": ("Peak net burden on the operating budget ({year})", "Högsta nettobelastning på driftbudgeten ({year})"),
    "kf.prob": ("Probability of meeting the target", "Sannolikhet att nå målet"),
    "kf.budget_out": ("Carbon budget used up", "Koldioxidbudgeten förbrukad"),
    "kf.npv": ("Net present cost of the portfolio", "Nuvärde av portföljens kostnad"),
    "kf.fin_gap": ("Financing gap", "Finansieringsgap"),
    "kf.loans": ("Borrowing", "Upplåning"),
    "kf.same": ("same as the loaded scenario", "samma som det inlästa scenariot"),
    "kf.diff": ("{sign}{amount} against the loaded scenario", "{sign}{amount} mot det inlästa scenariot"),
    "kf.measures": ("Measures in the plan", "Åtgärder i planen"),
    "kf.split": ("of which {parts}", "varav {parts}"),
    "kf.financing_parts": ("grants {grants}, loans {loans}, own funds {own}, gap {gap}",
                           "bidrag {grants}, lån {loans}, egna medel {own}, gap {gap}"),
    "kf.none": ("The key figures appear here once the portfolio, financing and pathway steps are part of the result.",
                "Nyckeltalen visas här när portfölj, finansiering och utsläppsbana ingår i resultatet."),
    "fund.head": ("What to fund", "Vad som finansieras"),
    "fund.intro": ("{n} measures in the order of their cost per tonne, with who pays. Tonnes are those of the plan "
                   "in {year}, after overlaps; a measure that acts only after {year} says from when.",
                   "{n} åtgärder i ordning efter kostnad per ton, med betalare. Tonnen är planens år {year}, efter "
                   "överlapp; en åtgärd som verkar först efter {year} anger från när."),
    "fund.acts_from": ("acts from {year}", "verkar från {year}"),
    "fund.subtotal": ("Subtotal, {payer}", "Delsumma, {payer}"),
    "fund.total": ("Total", "Summa"),
    "years.head": ("Investment and financing per year", "Investering och finansiering per år"),
    # sections
    "section.measures": ("Candidate measures", "Kandidatåtgärder"),
    "section.measures.intro": (
        "Every candidate appraised alone (standalone figures, before overlaps) from the {persp} perspective at a {rate} "
        "real discount rate. Negative costs are savings. The plan's figures are in the summary above.",
        "Varje kandidat bedömd för sig (fristående värden, före överlapp) ur {persp} perspektiv med {rate} real "
        "kalkylränta. Negativa kostnader är besparingar. Planens värden står i sammanfattningen ovan."),
    "section.macc": ("Marginal abatement cost curve", "Åtgärdskostnadskurva (MAC-kurva)"),
    "section.macc.intro": (
        "Measures ordered from the cheapest tonne to the dearest. With interaction <em>{interaction}</em>, "
        "overlapping measures on one emission source are adjusted so that no tonne is counted twice.",
        "Åtgärderna ordnade från billigaste till dyraste ton. Med samverkan <em>{interaction}</em> justeras "
        "åtgärder som överlappar på samma utsläppskälla så att inget ton räknas två gånger."),
    "section.portfolio": ("Portfolio and phasing", "Portfölj och etappindelning"),
    "section.portfolio.intro": (
        "When each chosen measure is paid, against the yearly investment budgets, and what the optimisation buys "
        "compared with funding down the MAC curve.",
        "När varje vald åtgärd betalas, mot årens investeringsramar, och vad optimeringen ger jämfört med att "
        "finansiera längs MAC-kurvan."),
    "tie_break.equal_tonnes": (
        " With the most tonnes found, the cheapest portfolio abating the same tonnes measure for measure is "
        "chosen (another start year or another measure of equal tonnes may stand in; measures without tonnes "
        "are free) (tie_break: equal_tonnes).",
        " När flest ton är funna väljs den billigaste portföljen som ger samma ton åtgärd för åtgärd (ett annat "
        "startår eller en annan åtgärd med lika många ton kan ersätta; åtgärder utan ton är fria) "
        "(tie_break: equal_tonnes)."),
    "tie_break.any_portfolio": (
        " With the most tonnes found, the cheapest of every portfolio abating as much is chosen "
        "(tie_break: any_portfolio).",
        " När flest ton är funna väljs den billigaste av alla portföljer som minskar lika mycket "
        "(tie_break: any_portfolio)."),
    "section.cobenefits": ("Co-benefits: clean air, quiet streets, health", "Sidonyttor: ren luft, tystare gator, hälsa"),
    "section.cobenefits.intro": (
        "Beside the cost per tonne, not inside it: the measures' effects on local air, noise and "
        "physical activity, first in their own units, then valued with ASEK (air, noise) and WHO HEAT "
        "(walking and cycling). The municipal cash flows never include these values; the cost per tonne "
        "after co-benefits is shown in the societal perspective only (this report: {persp}). Values that "
        "are older or assumed are listed above the tables.",
        "Vid sidan av kostnaden per ton, inte i den: åtgärdernas effekter på lokal luft, buller och "
        "fysisk aktivitet, först i egna enheter, sedan värderade med ASEK (luft, buller) och WHO HEAT "
        "(gång och cykel). De kommunala betalningsströmmarna innehåller aldrig dessa värden; kostnaden "
        "per ton efter sidonyttor visas bara i det samhällsekonomiska perspektivet (denna rapport: "
        "{persp}). Äldre eller antagna värden listas ovanför tabellerna."),
    "missing.cobenefits": ("No co-benefit inputs for this city (cobenefit_effects.csv and cobenefit_values.csv "
                           "are optional).",
                           "Inga indata om sidonyttor för kommunen (cobenefit_effects.csv och "
                           "cobenefit_values.csv är frivilliga)."),
    "table.cobenefits_physical": ("Physical effects per measure", "Fysiska effekter per åtgärd"),
    "table.cobenefits": ("Co-benefits valued, and the cost per tonne before and after",
                         "Värderade sidonyttor och kostnad per ton före och efter"),
    "table.cobenefits_net_curve": ("The MAC curve net of co-benefits, cheapest first after co-benefits",
                                   "MAC-kurvan efter sidonyttor, billigast först efter sidonyttor"),
    "table.cobenefits_values": ("Valuation table (source, year, price year)", "Värderingstabell (källa, år, prisår)"),
    "section.financing": ("Financing and budget impact", "Finansiering och budgetpåverkan"),
    "section.financing.intro": (
        "Who pays (grants, loans, own funds), what remains unfunded, the debt service of the loans and the effect "
        "on the operating budget (driftsbudget).",
        "Vem som betalar (bidrag, lån, egna medel), vad som saknar finansiering, lånens kapitaltjänst och "
        "effekten på driftbudgeten."),
    "section.pathway": ("Emission pathway", "Utsläppsbana"),
    "section.pathway.intro": (
        "Territorial emissions without and with the portfolio against the target of {reduction} below {base_year} "
        "by {target_year}, and the carbon budget. Years between inventory years are interpolated.",
        "Territoriella utsläpp utan och med portföljen mot målet {reduction} under {base_year} till "
        "{target_year}, och koldioxidbudgeten. År mellan inventeringsåren är interpolerade."),
    "section.investment_plan": ("Investment plan for the whole territory (EU Cities Mission)",
                                "Investeringsplan för hela det geografiska området (EU:s stadsuppdrag)"),
    "section.investment_plan.intro": (
        "The plan in the shape of the EU Cities Mission's Investment Plan: the emissions gap per sector in "
        "{target_year} (Action Plan table A-2.1), who carries out which measure and how much capital each "
        "actor needs, the costing per action (IP-B1) and the capital planning per action (IP-B2). Baseline: "
        "{baseline}. Each sector's target is its {base_year} emissions cut by {reduction}, so the sectors add "
        "up to the target. The municipal group's measures are financed by the financing plan; the measures of "
        "others count only the financing they have identified. {eur}",
        "Planen i formen för EU:s stadsuppdrags investeringsplan: utsläppsgapet per sektor {target_year} "
        "(handlingsplanens tabell A-2.1), vem som genomför vilken åtgärd och hur mycket kapital varje aktör "
        "behöver, kostnaden per åtgärd (IP-B1) och kapitalplaneringen per åtgärd (IP-B2). Referensbana: "
        "{baseline}. Varje sektors mål är dess utsläpp {base_year} minskade med {reduction}, så att sektorerna "
        "summeras till målet. Kommunkoncernens åtgärder finansieras enligt finansieringsplanen; andras "
        "åtgärder räknas bara med den finansiering de har identifierat. {eur}"),
    "missing.investment_plan": ("The Investment Plan tables are not part of this result.",
                                "Investeringsplanens tabeller ingår inte i resultatet."),
    "baseline.flat": ("the last inventory year held (flat)", "senaste inventeringsårets nivå (oförändrad)"),
    "baseline.projection": ("the projection with existing measures (baseline_projection.csv)",
                            "prognosen med beslutade styrmedel (baseline_projection.csv)"),
    "eur.rate": ("Euros at {rate} {unit} per EUR ({date}; {source}).",
                 "Euro till {rate} {unit} per EUR ({date}; {source})."),
    "eur.none": ("No exchange rate in the city's city.yaml (eur_rate): the euro columns are empty.",
                 "Ingen växelkurs i kommunens city.yaml (eur_rate): kolumnerna i euro är tomma."),
    "table.investment_plan": ("The emissions gap per sector (A-2.1), t CO₂e per year in the target year",
                              "Utsläppsgapet per sektor (A-2.1), t CO₂e per år målåret"),
    "table.investment_plan_by_actor": ("Capital need per actor", "Kapitalbehov per aktör"),
    "table.investment_plan_costing": ("Costing per action (IP-B1)", "Kostnad per åtgärd (IP-B1)"),
    "table.investment_plan_capital": ("Capital planning per action (IP-B2)", "Kapitalplanering per åtgärd (IP-B2)"),
    "section.uncertainty": ("Uncertainty", "Osäkerhet"),
    "section.uncertainty.intro": (
        "How the results change when costs, abatement, prices and emission factors vary within their stated "
        "ranges (Monte Carlo), and which inputs matter most.",
        "Hur resultaten ändras när kostnader, utsläppsminskning, priser och emissionsfaktorer varierar inom "
        "sina angivna intervall (Monte Carlo), och vilka indata som betyder mest."),
    "missing.macc": ("The MAC curve is not part of this result.", "MAC-kurvan ingår inte i resultatet."),
    "missing.portfolio": ("The portfolio selection is not part of this result.", "Portföljvalet ingår inte i resultatet."),
    "missing.financing": ("The financing plan is not part of this result.", "Finansieringsplanen ingår inte i resultatet."),
    "missing.pathway": ("The emission pathway is not part of this result.", "Utsläppsbanan ingår inte i resultatet."),
    "missing.uncertainty": ("No uncertainty analysis in this scenario (set monte_carlo in the scenario file to add one).",
                            "Ingen osäkerhetsanalys i scenariot (ange monte_carlo i scenariofilen för att lägga till en)."),
    "table.macc": ("Measures on the curve", "Åtgärder på kurvan"),
    "table.macc_alternatives": ("Alternatives not on the curve (exclusive groups)",
                                "Alternativ som inte står på kurvan (uteslutande grupper)"),
    "table.macc_excluded": ("Measures without abatement in the reference year", "Åtgärder utan minskning under referensåret"),
    "table.macc_reconciliation": ("Overlaps per emission source", "Överlapp per utsläppskälla"),
    "table.portfolio_comparison": ("Optimised portfolio against funding down the MAC curve",
                                   "Optimerad portfölj mot finansiering längs MAC-kurvan"),
    "table.portfolio_budget_use": ("Budget use per plan year", "Utnyttjad ram per planår"),
    "table.financing_budget_impact": ("Effect on the operating budget per year (nominal: money of each year)",
                                      "Effekt på driftbudgeten per år (nominellt: varje års penningvärde)"),
    "table.financing_budget_impact_by_payer": ("Effect on the operating budget per payer: the kommun's tax-financed "
                                               "budget and the municipal companies' own accounts (nominal)",
                                               "Effekt på driftbudgeten per betalare: kommunens skattefinansierade "
                                               "budget och de kommunala bolagens egna räkningar (nominellt)"),
    "table.financing_debt_service": ("Debt service per year", "Kapitaltjänst per år"),
    "table.municipal_scope_scopes": ("Two targets side by side: the geographic area and the municipal group's own "
                                     "emissions (t CO₂e per year)",
                                     "Två mål sida vid sida: det geografiska området och kommunkoncernens egna "
                                     "utsläpp (t CO₂e per år)"),
    "table.municipal_scope": ("The municipal group's own emissions in selected years (municipal_inventory.csv)",
                              "Kommunkoncernens egna utsläpp valda år (municipal_inventory.csv)"),
    "table.pathway": ("Emissions in selected years", "Utsläpp valda år"),
    "table.uncertainty_portfolio": ("The portfolio under uncertainty", "Portföljen under osäkerhet"),
    "table.uncertainty": ("Cost per tonne of each measure under uncertainty", "Varje åtgärds kostnad per ton under osäkerhet"),
    "table.uncertainty_selection_frequency": ("How often each measure is chosen over the draws",
                                              "Hur ofta varje åtgärd väljs över dragningarna"),
    "table.uncertainty_tornado": ("Sensitivity (one input at a time)", "Känslighet (en indata i taget)"),
    "step.message": ("Message", "Meddelande"),
    "step.status": ("Status", "Status"),
    "pf.msg.most": ("most abatement in {year} within the budget, cheapest among equals",
                    "störst minskning år {year} inom ramen, billigast bland likvärdiga"),
    "pf.msg.most_limited": ("the most abatement in {year} found within the solver's limits",
                            "den största minskning år {year} som lösaren fann inom sina gränser"),
    "pf.msg.cheapest": ("cheapest portfolio reaching the target ({required} in {year})",
                        "billigaste portföljen som når målet ({required} år {year})"),
    "pf.msg.unreachable": ("no portfolio reaching the target was found: the portfolio with the most abatement "
                           "in {year} is reported, short by {short}",
                           "ingen portfölj som når målet hittades: portföljen med störst minskning år {year} "
                           "redovisas, {short} saknas"),
    "figure.failed": ("The chart {name} could not be drawn: {error}", "Diagrammet {name} kunde inte ritas: {error}"),
    "caption.macc": ("Each bar is a measure: its width is the tonnes it cuts in the reference year (after overlaps "
                     "with the measures to its left), its height the cost per tonne. Bars below zero save money; the "
                     "largest and the chosen bars are labelled.",
                     "Varje stapel är en åtgärd: bredden är tonnen den minskar under referensåret (efter överlapp med "
                     "åtgärderna till vänster), höjden kostnaden per ton. Staplar under noll sparar pengar; de största "
                     "och de valda staplarna har etikett."),
    "caption.macc_net": ("The MAC curve net of co-benefits (societal perspective): each bar's height is (NPV of cost − "
                         "NPV of co-benefits) ÷ the same tonnes as the MAC curve; clean-air values shrink with the "
                         "bar's share of effect kept after overlaps, noise and health do not. Widths and alternatives "
                         "are the MAC curve's; the bars are reordered by their height after co-benefits.",
                         "MAC-kurvan efter sidonyttor (samhällsekonomiskt perspektiv): varje stapels höjd är (nuvärde "
                         "av kostnad − nuvärde av sidonyttor) ÷ samma ton som MAC-kurvan; värdet av renare luft minskar "
                         "med stapelns kvarvarande andel efter överlapp, buller och hälsa gör det inte. Bredder och "
                         "alternativ är MAC-kurvans; staplarna ordnas om efter höjden efter sidonyttor."),
    "note.cobenefits_net_absent": ("No MAC curve net of co-benefits: in the municipal perspective the co-benefits are "
                                   "not in the cash flows.",
                                   "Ingen MAC-kurva efter sidonyttor: i det kommunala perspektivet ingår sidonyttorna "
                                   "inte i betalningsströmmarna."),
    "caption.frontier": ("What a larger or smaller total budget would buy: the most tonnes reachable for each budget, "
                         "against funding down the MAC curve.",
                         "Vad en större eller mindre total ram skulle ge: flest ton för varje ram, jämfört med "
                         "finansiering längs MAC-kurvan."),
    # glossary and appendix
    "glossary.head": ("Terms used in this report", "Begrepp i rapporten"),
    "appendix.head": ("Appendix: assumptions, parameters and sources", "Bilaga: antaganden, parametrar och källor"),
    "appendix.open": ("(click to open)", "(klicka för att öppna)"),
    "appendix.parameters": ("Scenario parameters", "Scenariots parametrar"),
    "appendix.parameters.intro": ("Every parameter of the scenario file as it was used (defaults included).",
                                  "Varje parameter i scenariofilen som den användes (med standardvärden)."),
    "appendix.notes": ("Scenario notes", "Scenariots anteckningar"),
    "appendix.files": ("Input files", "Indatafiler"),
    "appendix.files.intro": ("The files this report was computed from and their SHA-256 hashes: a file with the same "
                             "hash holds exactly the same data.",
                             "Filerna som rapporten beräknats från och deras SHA-256-kontrollsummor: en fil med samma "
                             "kontrollsumma innehåller exakt samma data."),
    "appendix.measure_sources": ("Source of each measure's figures", "Källa för varje åtgärds siffror"),
    "appendix.city_notes": ("Notes of the city data", "Anteckningar till kommunens data"),
    "appendix.sources": ("Sources of the city data (SOURCES.md)", "Källor till kommunens data (SOURCES.md)"),
    "appendix.no_sources": ("The city folder has no SOURCES.md.", "Kommunens mapp har ingen SOURCES.md."),
    "appendix.run_notes": ("Notes from the computation", "Anteckningar från beräkningen"),
    "appendix.timing": ("Computing time", "Beräkningstid"),
    "col.parameter": ("Parameter", "Parameter"),
    "col.value": ("Value", "Värde"),
    "col.meaning": ("Meaning", "Betydelse"),
    "col.file": ("File", "Fil"),
    "col.source": ("Source", "Källa"),
    "col.step": ("Step", "Steg"),
    "col.seconds": ("Time (s)", "Tid (s)"),
    "not_set": ("not set", "ej angiven"),
})

# The glossary of the Swedish terms: (term, explanation) per id, in English and Swedish.
GLOSSARY_IDS = ("kip", "kk2030", "smhi", "klimatklivet", "kommuninvest", "internranta", "asek", "elmix", "budgetar",
                "driftbudget")
MESSAGES.update({
    "gloss.kip.term": ("Klimatinvesteringsplan (climate investment plan)", "Klimatinvesteringsplan"),
    "gloss.kip.text": (
        "The part of a city's climate work that says which measures to fund, in which budget year, at what cost per "
        "tonne of CO2e, who pays and whether the portfolio reaches the 2030 target. In the EU Cities Mission it is the "
        "investment plan of the Climate City Contract; this report is one scenario of such a plan.",
        "Den del av kommunens klimatarbete som anger vilka åtgärder som ska finansieras, vilket budgetår, till vilken "
        "kostnad per ton CO2e, vem som betalar och om portföljen når 2030-målet. I EU:s städer-mission är den "
        "investeringsplanen i klimatkontraktet; rapporten är ett scenario för en sådan plan."),
    "gloss.kk2030.term": ("Klimatkontrakt 2030 / Viable Cities", "Klimatkontrakt 2030 / Viable Cities"),
    "gloss.kk2030.text": (
        "Viable Cities is a Swedish strategic innovation programme (Vinnova, the Swedish Energy Agency, Formas). Its "
        "Klimatkontrakt 2030 is signed by municipalities, the programme and government agencies; it is the Swedish arm "
        "of the EU Mission for 100 climate-neutral and smart cities.",
        "Viable Cities är ett strategiskt innovationsprogram (Vinnova, Energimyndigheten, Formas). Klimatkontrakt 2030 "
        "tecknas av kommuner, programmet och myndigheter; det är den svenska delen av EU:s mission för 100 "
        "klimatneutrala och smarta städer."),
    "gloss.smhi.term": ("SMHI Nationella emissionsdatabasen", "SMHI:s nationella emissionsdatabas"),
    "gloss.smhi.text": (
        "The national emissions database (RUS/SMHI): Sweden's greenhouse-gas inventory by municipality and sector. It "
        "is territorial (what is emitted inside the municipality) and published about two years late; it is the "
        "baseline of the pathway and of the target.",
        "Den nationella emissionsdatabasen (RUS/SMHI): Sveriges växthusgasutsläpp per kommun och sektor. Den är "
        "territoriell (det som släpps ut inom kommunen) och publiceras med ungefär två års fördröjning; den är "
        "utgångspunkt för utsläppsbanan och målet."),
    "gloss.klimatklivet.term": ("Klimatklivet", "Klimatklivet"),
    "gloss.klimatklivet.text": (
        "Naturvårdsverket's investment grant for local and regional measures that cut greenhouse-gas emissions; it pays "
        "a share of the investment, judged by the emission cut per krona.",
        "Naturvårdsverkets investeringsstöd för lokala och regionala åtgärder som minskar växthusgasutsläpp; det "
        "betalar en andel av investeringen och bedöms efter utsläppsminskning per krona."),
    "gloss.kommuninvest.term": ("Kommuninvest gröna lån (green loans)", "Kommuninvests gröna lån"),
    "gloss.kommuninvest.text": (
        "Kommuninvest is the municipalities' and regions' jointly owned credit institution; its green loans finance "
        "projects that meet environmental criteria, with an interest rate and term.",
        "Kommuninvest är kommunernas och regionernas gemensamt ägda kreditinstitut; dess gröna lån finansierar "
        "projekt som uppfyller miljökriterier, med ränta och löptid."),
    "gloss.internranta.term": ("SKR internränta (internal interest rate)", "SKR:s internränta"),
    "gloss.internranta.text": (
        "The rate SKR recommends each year for charging the capital cost of investments to operations (capital cost = "
        "depreciation + internal interest on book value). The discount rate follows it (2.5 % for 2025).",
        "Den ränta SKR varje år rekommenderar för att belasta verksamheten med investeringarnas kapitalkostnad "
        "(kapitalkostnad = avskrivning + internränta på bokfört värde). Kalkylräntan följer den (2,5 % för 2025)."),
    "gloss.asek.term": ("ASEK", "ASEK"),
    "gloss.asek.text": (
        "Trafikverket's guidance on appraisal values; its carbon value (7 SEK per kg CO2e in ASEK 7.0, i.e. 7 000 SEK "
        "per tonne) is the usual carbon value of the societal perspective.",
        "Trafikverkets kalkylvärden för samhällsekonomisk analys; dess klimatvärde (7 kr per kg CO2e i ASEK 7.0, "
        "alltså 7 000 kr per ton) är det vanliga klimatvärdet i samhällsperspektivet."),
    "gloss.elmix.term": ("Residual mix, nordisk elmix, ursprungsgarantier", "Residualmix, nordisk elmix, ursprungsgarantier"),
    "gloss.elmix.text": (
        "The emission factor of electricity depends on the convention: the Nordic production mix (low), the residual "
        "mix (after power sold with guarantees of origin is taken out, much higher), guarantees of origin (near zero) "
        "or the marginal producer. It decides how much every electrification measure abates, so it is a scenario "
        "parameter.",
        "Elens emissionsfaktor beror på redovisningsprincip: nordisk produktionsmix (låg), residualmix (efter att el "
        "såld med ursprungsgarantier räknats bort, mycket högre), ursprungsgarantier (nära noll) eller marginalel. "
        "Den avgör hur mycket varje elektrifieringsåtgärd minskar, och är därför en scenarioparameter."),
    "gloss.budgetar.term": ("Budget year and plan years (budgetår, planår)", "Budgetår och planår"),
    "gloss.budgetar.text": (
        "Each autumn a council adopts a budget for the next year with a plan for the two years after it (Kommunallagen "
        "chapter 11). A budget cycle here is that budget year plus two plan years; the investment budget is per year.",
        "Varje höst beslutar fullmäktige en budget för nästa år med en plan för de två följande åren (kommunallagen "
        "11 kap.). En budgetperiod är här budgetåret och två planår; investeringsramen anges per år."),
    "gloss.driftbudget.term": ("Driftsbudget (operating budget)", "Driftbudget"),
    "gloss.driftbudget.text": (
        "The yearly operating budget, separate from the investment budget. An investment reaches it as capital cost "
        "(depreciation and internal interest) plus changes in running and energy costs.",
        "Den årliga driftbudgeten, skild från investeringsbudgeten. En investering påverkar den genom kapitalkostnad "
        "(avskrivning och internränta) samt förändrade drift- och energikostnader."),
})

# The scenario comparison
MESSAGES.update({
    "cmp.kicker": ("scenario comparison", "scenariojämförelse"),
    "cmp.title": ("Scenario comparison, budget {cycles}", "Scenariojämförelse, budget {cycles}"),
    "cmp.scenarios": ("Scenarios", "Scenarier"),
    "cmp.reference": ("Every difference is taken from the first scenario, <em>{ref}</em>.",
                      "Alla skillnader räknas mot det första scenariot, <em>{ref}</em>."),
    "cmp.key_figure": ("Key figure", "Nyckeltal"),
    "cmp.financing": ("Financing", "Finansiering"),
    "cmp.funded": ("funded", "finansieras"),
    "cmp.enters": ("enters", "tillkommer"),
    "cmp.leaves": ("leaves", "utgår"),
    "cmp.year": ("Year", "År"),
    "cmp.pathway_title": ("Territorial emissions with the portfolio: difference from {ref}",
                          "Territoriella utsläpp med portföljen: skillnad mot {ref}"),
    "cmp.pathway_axis": ("Difference [t CO₂e/year]", "Skillnad [t CO₂e/år]"),
    "cmp.financing_title": ("Financing of each scenario's portfolio", "Finansiering av varje scenarios portfölj"),
    "cmp.financing_axis": ("Investment [{unit}]", "Investering [{unit}]"),
    "cmp.head.key_figures": ("Key figures and differences", "Nyckeltal och skillnader"),
    "cmp.head.parameters": ("Parameters that differ", "Parametrar som skiljer sig"),
    "cmp.head.pathways": ("Pathways: difference from the first scenario", "Utsläppsbanor: skillnad mot första scenariot"),
    "cmp.head.measures": ("Measures entering or leaving the portfolio", "Åtgärder som tillkommer eller utgår"),
    "cmp.head.financing": ("Financing", "Finansiering"),
    "cmp.none": ("No scenario to compare.", "Inget scenario att jämföra."),
    "cmp.same_parameters": ("The scenarios have the same parameters apart from their titles.",
                            "Scenarierna har samma parametrar utom titeln."),
    "cmp.no_pathway": ("Fewer than two scenarios have an emission pathway in their result.",
                       "Färre än två scenarier har en utsläppsbana i resultatet."),
    "cmp.no_portfolio": ("No scenario has a portfolio in its result.", "Inget scenario har en portfölj i resultatet."),
    "cmp.no_financing": ("No scenario has a financing plan in its result.",
                         "Inget scenario har en finansieringsplan i resultatet."),
    "cmp.measures_intro": ("Against <em>{ref}</em>: the {n} measures whose funding differs (green: enters somewhere, "
                           "red: leaves somewhere); every other measure is funded alike in all scenarios.",
                           "Mot <em>{ref}</em>: de {n} åtgärder vars finansiering skiljer sig (grön: tillkommer "
                           "någonstans, röd: utgår någonstans); alla andra åtgärder finansieras lika i alla scenarier."),
    "fin.investment_total": ("Investment (municipal group)", "Investering (kommunkoncernen)"),
    "fin.grant_total": ("Grants", "Bidrag"),
    "fin.loan_total": ("Loans", "Lån"),
    "fin.own_funds_total": ("Own funds", "Egna medel"),
    "fin.gap_total": ("Financing gap", "Finansieringsgap"),
    "fin.peak_debt_service": ("Peak debt service per year", "Högsta kapitaltjänst per år"),
    "fin.peak_net_budget_impact": ("Peak net effect on the operating budget per year",
                                   "Högsta nettoeffekt på driftbudgeten per år"),
    "kfc.measures_funded": ("Measures funded", "Finansierade åtgärder"),
    "kfc.investment": ("Investment (municipal group)", "Investering (kommunkoncernen)"),
    "kfc.target_year_tco2e": ("Emissions in the target year with the portfolio", "Utsläpp målåret med portföljen"),
    "kfc.abatement_tco2e": ("Portfolio abatement in the target year", "Portföljens minskning målåret"),
    "kfc.gap_tco2e": ("Gap to the target (positive = short)", "Kvar till målet (positivt = underskott)"),
    "kfc.financing_gap": ("Financing gap", "Finansieringsgap"),
    "kfc.cost_per_tco2e": ("Portfolio cost per tonne", "Portföljens kostnad per ton"),
    "kfc.prob_meet_target": ("Probability of meeting the target", "Sannolikhet att nå målet"),
    "kfc.budget_runs_out_year": ("Carbon budget runs out", "Koldioxidbudgeten tar slut"),
})

MESSAGES.update({
    # the conventions of a run (appendix of the measures section)
    "conv.head": ("Conventions of this run", "Konventioner i denna körning"),
    "conv.rate_basis": ("Discount rate", "Diskonteringsränta"),
    "conv.rate_asek": ("ASEK's social discount rate {rate} real", "ASEK:s samhällsekonomiska kalkylränta {rate} real"),
    "conv.rate_skr": ("SKR internränta {rate} nominal", "SKR:s internränta {rate} nominell"),
    "conv.rate_given_real": ("{rate} real (as given)", "{rate} real (enligt scenariot)"),
    "conv.rate_given_nominal": ("{rate} nominal (as given)", "{rate} nominell (enligt scenariot)"),
    "conv.fisher": (", made real with Fisher at {inflation} inflation", ", omräknad till real med Fisher vid {inflation} inflation"),
    "conv.rate_text": ("{given}{fisher}: {real} real a year discounts the real (price-year) cash flows of the appraisal, "
                       "MAC curve and portfolio",
                       "{given}{fisher}: {real} real per år diskonterar de reala (prisårets) kassaflödena i "
                       "kalkylen, MAC-kurvan och portföljen"),
    "conv.inflation": ("Inflation", "Inflation"),
    "conv.inflation_given": ("as given in the scenario", "enligt scenariot"),
    "conv.inflation_default": ("default: the Riksbank's KPIF target 2 %", "standard: Riksbankens KPIF-mål 2 %"),
    "conv.inflation_text": ("{inflation} a year ({source}): cash flows in {price_year} {currency} (real); debt service, "
                            "book value and operating-budget impact in nominal {currency} of each year",
                            "{inflation} per år ({source}): kassaflöden i {price_year} års {currency} (reala); "
                            "kapitaltjänst, bokfört värde och driftbudgetpåverkan i varje års nominella {currency}"),
    "conv.perspective": ("Perspective counts", "Perspektivet räknar"),
    "conv.perspective_municipal": (
        "municipal: the municipal group's money only (municipality and municipal companies: investment net of the "
        "grants, one-off operating costs, running costs net of fees, the energy they buy); residents', businesses' "
        "and external investors' money is not counted",
        "kommunalt: bara kommunkoncernens pengar (kommunen och de kommunala bolagen: investering efter bidrag, "
        "engångskostnader i driften, driftkostnader efter avgifter, energin de köper); invånares, företags och "
        "externa investerares pengar räknas inte"),
    "conv.perspective_societal": (
        "societal (ASEK): resources — full investment (grants are transfers), energy at prices without energy and "
        "CO2 tax, fees as transfers, the carbon value {value} {currency} per t added once, skattefaktor "
        "{tax_factor} on public money",
        "samhällsekonomiskt (ASEK): resurser — hela investeringen (bidrag är transfereringar), energi till priser "
        "utan energi- och koldioxidskatt, avgifter som transfereringar, klimatvärdet {value} {currency} per ton "
        "räknat en gång, skattefaktor {tax_factor} på offentliga medel"),
    "conv.grant_basis": ("Grants", "Bidrag"),
    "conv.grant_text": ("grants as the financing plan allocates them (max_share and annual_cap per year), selection "
                        "and allocation iterated to a fixed point; a measure not chosen shows its lone-candidate grant "
                        "(column grant basis); a grant whose rule was not found is shown as uncertain and not counted",
                        "bidrag så som finansieringsplanen fördelar dem (högsta andel och årligt tak), urval och "
                        "fördelning upprepade tills de stämmer; en åtgärd som inte valts visar bidraget den skulle få "
                        "ensam (kolumnen bidragsgrund); ett bidrag vars regel inte hittats visas som osäkert och "
                        "räknas inte"),
    "conv.loan_term": ("Loan term", "Lånetid"),
    "conv.loan_asset_life": ("a loan runs the financed asset's life, capped by the source's term (amortisation "
                             "follows depreciation)",
                             "ett lån löper över tillgångens livslängd, högst källans löptid (amorteringen följer "
                             "avskrivningen)"),
    "conv.loan_source_term": ("a loan runs the source's term", "ett lån löper över källans löptid"),
    "conv.internranta": ("Internränta", "Internränta"),
    "conv.internranta_net": ("{rate} nominal on the book value net of grants, charged to the kommun's tax-financed "
                             "budget; municipal companies carry their loans' actual interest",
                             "{rate} nominell på bokfört värde efter bidrag, belastar kommunens skattefinansierade "
                             "budget; de kommunala bolagen bär sina låns faktiska ränta"),
    "conv.internranta_gross": ("{rate} nominal on the gross book value (RKR R2: the grant a liability released over "
                               "the life), charged to the kommun's tax-financed budget; municipal companies carry "
                               "their loans' actual interest",
                               "{rate} nominell på bruttovärdet (RKR R2: bidraget en skuld som löses upp över "
                               "livslängden), belastar kommunens skattefinansierade budget; de kommunala bolagen bär "
                               "sina låns faktiska ränta"),
    "conv.factor_basis": ("Emission factors", "Emissionsfaktorer"),
    "conv.factor_text": ("territorial tonnes (toward the target): fuels at the tailpipe as SMHI's inventory counts "
                         "them, electricity with factor set {factor_set}; life-cycle tonnes shown beside "
                         "(consumption view)",
                         "territoriella ton (mot målet): bränslen vid avgasröret som SMHI:s statistik räknar dem, el "
                         "med faktoruppsättningen {factor_set}; livscykelton visas bredvid (konsumtionsperspektiv)"),
    "conv.carbon_budget": ("Carbon budget", "Koldioxidbudget"),
    "conv.carbon_budget_fossil_co2": ("Klimatkollen's budget is fossil CO2 only; the pathway is all greenhouse gases "
                                      "(CO2e): an indicator, not a like-for-like comparison",
                                      "Klimatkollens budget gäller bara fossil koldioxid; utsläppsbanan är alla "
                                      "växthusgaser (CO₂e): en indikator, inte en jämförelse av lika med lika"),
    "conv.carbon_budget_co2e": ("the budget is in CO2e, like the pathway", "budgeten är i CO₂e, som utsläppsbanan"),
    "conv.warnings": ("Warnings", "Varningar"),
    "conv.skr_missing": ("SKR internränta for {year} not in the table (2017–2025): {rate} of 2025 is used",
                         "SKR:s internränta för {year} finns inte i tabellen (2017–2025): 2025 års {rate} används"),
    "conv.grant_allocation": ("Grant allocation", "Bidragsfördelning"),
    "conv.grant_fixed_point": ("grants and selection agree: fixed point after {rounds} selections",
                               "bidrag och urval stämmer: fast punkt efter {rounds} urval"),
    "conv.grant_not_converged": ("grants and selection did not settle after {rounds} selections: the last allocation "
                                 "is used", "bidrag och urval stabiliserades inte efter {rounds} urval: den sista "
                                 "fördelningen används"),
    "kf.budget_out_fossil": ("Carbon budget used up (indicator: a fossil-CO2 budget against all greenhouse gases)",
                             "Koldioxidbudgeten förbrukad (indikator: fossil koldioxid mot alla växthusgaser)"),
})

# the explorer's texts (report.explorer): in their own file
MESSAGES.update(EXPLORER_MESSAGES)

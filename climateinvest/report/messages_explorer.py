"""The explorer's part of the message catalogue (``report.messages.MESSAGES`` holds it too): what
people type (``in.*``), the explorer's controls and answers (``ex.*``) and a ValidationError's
frame and coded rules on its screen (``err.*``), each as (English, Swedish).
"""
from __future__ import annotations

EXPLORER_MESSAGES: dict[str, tuple[str, str]] = {}

EXPLORER_MESSAGES.update({
    # what people type in the explorer (report.explorer.inputs)
    "in.not_number": ("{text!r} is not a number", "{text!r} är inte ett tal"),
    "in.empty": ("{what}: nothing typed; {allowed}", "{what}: inget ifyllt; {allowed}"),
    "in.allowed": ("allowed {low} to {high}", "tillåtet {low} till {high}"),
    "in.range": ("{what}: {typed!r} reads as {shown}{hint}; {allowed}",
                 "{what}: {typed!r} läses som {shown}{hint}; {allowed}"),
    "in.pct_hint": (" (type {typed} % for that many percent)", " (skriv {typed} % för så många procent)"),
    "in.unit": ("{what}: unit {unit!r} not known; allowed kr, tkr, mnkr, SEK, kSEK, MSEK, EUR, MEUR or none",
                "{what}: enheten {unit!r} okänd; tillåtet kr, tkr, mnkr, SEK, kSEK, MSEK, EUR, MEUR eller ingen"),
})

EXPLORER_MESSAGES.update({
    # the explorer (report.explorer.widget)
    "ex.first_line": ("Run all (Run ▸ Run All Cells) is all you need: then choose a scenario and move the levers.",
                      "Kör alla celler (Run ▸ Run All Cells), mer behövs inte: välj sedan scenario och ändra "
                      "reglagen."),
    "ex.scenario": ("Scenario file", "Scenariofil"),
    "ex.load": ("Load", "Läs in"),
    "ex.loading": ("loading and computing …", "läser in och räknar …"),
    "ex.rate": ("Discount rate (real)", "Kalkylränta (real)"),
    "ex.carbon_value": ("Carbon value [{currency}/t]", "Klimatvärde [{currency}/t]"),
    "ex.cv_disabled": ("the carbon value counts only in the societal perspective",
                       "klimatvärdet räknas bara i det samhällsekonomiska perspektivet"),
    "ex.perspective": ("Perspective", "Perspektiv"),
    "ex.factor_set": ("Electricity factor set", "Emissionsfaktorer för el"),
    "ex.price_path": ("Energy price path", "Energiprisbana"),
    "ex.interaction": ("Interaction", "Samverkan mellan åtgärder"),
    "ex.objective": ("Objective", "Mål för urvalet"),
    "ex.grants": ("Grants (bidrag)", "Bidrag"),
    "ex.target": ("Target: cut by {year} vs {base}", "Mål: minskning till {year} mot {base}"),
    "ex.budget": ("Investment budget {year}", "Investeringsram {year}"),
    "ex.own_cap": ("Own-funds cap {year} (empty: none)", "Tak för egna medel {year} (tomt: inget)"),
    "ex.in": ("Force in", "Tvinga in"),
    "ex.out": ("Leave out", "Uteslut"),
    "ex.fix_measure": ("Fix the start year of", "Lås startår för"),
    "ex.fix_year": ("to (0: free)", "till (0: fritt)"),
    "ex.fixed": ("fixed start years", "låsta startår"),
    "ex.curve_time": ("MAC curve {s} s; portfolio, financing and pathway …",
                      "MAC-kurva {s} s; portfölj, finansiering och utsläppsbana …"),
    "ex.all_time": ("MAC curve {c} s, portfolio with financing and pathway {p} s (kernel; without Monte Carlo "
                    "and frontier)",
                    "MAC-kurva {c} s, portfölj med finansiering och utsläppsbana {p} s (kärnan; utan Monte Carlo "
                    "och front)"),
    "ex.solver": ("solver: {status}", "lösare: {status}"),
    "ex.no_figure": ("No chart for these settings.", "Inget diagram för dessa inställningar."),
    "ex.view.macc": ("MAC curve", "MAC-kurva"),
    "ex.view.portfolio": ("Portfolio", "Portfölj"),
    "ex.view.financing": ("Financing", "Finansiering"),
    "ex.view.budget": ("Budget impact", "Budgetpåverkan"),
    "ex.view.pathway": ("Pathway", "Utsläppsbana"),
    "ex.save_name": ("Name of the new scenario", "Namn på nytt scenario"),
    "ex.save": ("Save as scenario", "Spara som scenario"),
    "ex.xlsx": ("Download tables (XLSX)", "Hämta tabeller (XLSX)"),
    "ex.render": ("Write the report", "Skriv rapporten"),
    "ex.rendering": ("writing the report (with Monte Carlo) …", "skriver rapporten (med Monte Carlo) …"),
    "ex.rendered": ("report written: {path}", "rapporten skriven: {path}"),
    "ex.mc": ("Uncertainty (Monte Carlo)", "Osäkerhet (Monte Carlo)"),
    "ex.mc_running": ("Monte Carlo running …", "Monte Carlo räknar …"),
    "ex.mc_done": ("probability of meeting the target {prob} ({draws} draws, {s} s)",
                   "sannolikhet att nå målet {prob} ({draws} dragningar, {s} s)"),
    "ex.reset": ("Back to the loaded scenario", "Tillbaka till inläst scenario"),
    "ex.saved": ("saved: {path}", "sparat: {path}"),
    "ex.exists": ("{path} exists already; choose another name", "{path} finns redan; välj ett annat namn"),
    "ex.bad_name": ("{name!r} is not usable as a file name", "{name!r} går inte att använda som filnamn"),
})

EXPLORER_MESSAGES.update({
    # the explorer's words for what the core says in English (report.explorer.wording)
    "ex.st.optimal": ("optimal", "optimal"),
    "ex.st.infeasible": ("no portfolio meets the constraints", "ingen portfölj uppfyller villkoren"),
    "ex.st.unbounded": ("the model is unbounded", "modellen är obegränsad"),
    "ex.st.failed": ("the solver failed", "lösaren misslyckades"),
    "ex.st.node_limit": ("node limit", "nodgräns"),
    "ex.st.time_limit": ("time limit", "tidsgräns"),
    "ex.st.no_solution": ("no solution within the {limit}", "ingen lösning inom {limit}en"),
    "ex.st.feasible": ("feasible, stopped by the {limit}, gap {gap}",
                       "godtagbar, stoppad av {limit}en, gap {gap}"),
    "ex.st.feasible_unknown": ("feasible, stopped by the {limit}, gap unknown",
                               "godtagbar, stoppad av {limit}en, gap okänt"),
    "ex.st.greedy_kept": ("; the greedy portfolio is kept (better than the solver's)",
                          "; den giriga portföljen behålls (bättre än lösarens)"),
    "ex.st.unknown": ("status not recognised ({status})", "okänd status ({status})"),
    "ex.failed": ("it did not work: {error}", "det gick inte: {error}"),
    "ex.opt.municipal": ("municipal", "kommunalt"),
    "ex.opt.societal": ("societal", "samhällsekonomiskt"),
    "ex.opt.sequential": ("sequential", "i tur och ordning"),
    "ex.opt.independent": ("independent", "oberoende"),
    "ex.opt.max_abatement": ("most abatement", "störst minskning"),
    "ex.opt.min_cost": ("lowest cost", "lägst kostnad"),
    "ex.in_and_out": ("forced in and left out at once: {ids}; choose one", "både intvingad och utesluten: {ids}; "
                      "välj det ena"),
    "ex.none": ("none", "inga"),
    "ex.too_early": ("{measure} cannot start in {year}: its earliest start year is {earliest}",
                     "{measure} kan inte starta {year}: tidigaste startår är {earliest}"),
    "ex.mc_none": ("no Monte Carlo: the city has no uncertainty table (uncertainty.csv)",
                   "ingen Monte Carlo: kommunen har ingen osäkerhetstabell (uncertainty.csv)"),
    "ex.mc_followup": ("no Monte Carlo for a cycle built on a follow-up (the carried measures are not drawn)",
                       "ingen Monte Carlo för en cykel byggd på en uppföljning (de överförda åtgärderna dras inte)"),
    "ex.render_failed": ("the report could not be written (exit code {code}): {reason}",
                         "rapporten kunde inte skrivas (felkod {code}): {reason}"),
    # a ValidationError on the explorer's screen (io.errors: the frame and the coded rules)
    "err.count_one": ("1 problem found:", "1 problem hittades:"),
    "err.count": ("{n} problems found:", "{n} problem hittades:"),
    "err.row": (" row {row}", " rad {row}"),
    "err.column": (", column {name}", ", kolumn {name}"),
    "err.key": (", key {name}", ", nyckel {name}"),
    "err.not_found": ("file not found", "filen finns inte"),
    "err.not_found_in": ("file not found in {folder}", "filen finns inte i {folder}"),
    "err.broken_link": ("is a link to {target}, which does not exist", "är en länk till {target}, som inte finns"),
    "err.link_loop": ("is a link that leads back to itself (a loop of symbolic links)",
                      "är en länk som leder tillbaka till sig själv (en slinga av symboliska länkar)"),
    "err.permission": ("cannot be read: permission denied", "kan inte läsas: behörighet saknas"),
    "err.unreadable": ("cannot be read: {reason}", "kan inte läsas: {reason}"),
    "err.not_regular": ("must be a regular file, but is {kind}", "måste vara en vanlig fil, men är {kind}"),
    "err.unknown_key": ("unknown key {key!r}{hint}", "okänd nyckel {key!r}{hint}"),
    "err.unknown_choice": ("must be {rule}, got {value!r}{hint}", "måste vara {rule}, fick {value!r}{hint}"),
    "err.output_is_input": ("is {what}: results are never written into an input folder or over an input file; "
                            "choose another folder",
                            "är {what}: resultat skrivs aldrig i en indatamapp eller över en indatafil; "
                            "välj en annan mapp"),
    "err.output_not_folder": ("must be a folder, but is {kind}", "måste vara en mapp, men är {kind}"),
    "err.output_not_results": ("holds other files and no {marker} of an earlier result: results replace their "
                               "folder whole, so choose a new or empty folder",
                               "innehåller andra filer och ingen {marker} från ett tidigare resultat: resultat "
                               "ersätter hela sin mapp, så välj en ny eller tom mapp"),
    "err.output_not_writable": ("cannot be written: {reason}", "kan inte skrivas: {reason}"),
})

EXPLORER_MESSAGES.update({
    # where the explorer writes (report.explorer.session.Explorer.output_folder)
    "ex.out_dir": ("Output folder (tables, reports)", "Utdatamapp (tabeller, rapporter)"),
    "ex.xlsx_saved": ("tables written to {path}", "tabellerna skrivna till {path}"),
})

"""What each section of a scenario report shows: heading, intro, notes, figures and tables.

Everything is read from the step objects in ``result.steps`` (``run_scenario`` always fills them;
``steps["uncertainty"]`` is None without a Monte Carlo) and only selected and formatted here.
A section whose step is not in the result says so in a note.
"""
from __future__ import annotations

import html

import pandas as pd

from climateinvest.report.display import Html, note, paragraph
from climateinvest.report.figures import section_figures
from climateinvest.report.formatting import fmt_share, format_value, table_html
from climateinvest.report.results import key_figures, meta, scenario_dict

SECTIONS = {
    "measures": ("Candidate measures",
                 ("Every candidate measure appraised alone from the {persp} perspective: investment, "
                 "tonnes, net present value of costs and cost per tonne at a {rate} real discount rate. "
                 "Negative costs are savings.")),
    "macc": ("Marginal abatement cost curve",
             ("Measures ordered from the cheapest tonne to the dearest. With interaction "
             "<em>{interaction}</em>, overlapping measures on one emission source are adjusted so "
             "that no tonne is counted twice.")),
    "portfolio": ("Portfolio and phasing",
                  ("The measures chosen within the yearly investment budgets of the budget cycle, and "
                  "the year each one starts.")),
    "financing": ("Financing and budget impact",
                  ("Who pays for the chosen measures (grants, loans, own funds), what remains unfunded "
                  "(the financing gap), the debt service of the loans and the effect on the "
                  "municipal operating budget (driftsbudget).")),
    "pathway": ("Emission pathway",
                ("Territorial emissions without and with the portfolio against the target of "
                "{reduction} below {base_year} by {target_year}, and the carbon budget.")),
    "uncertainty": ("Uncertainty",
                    ("How the results change when costs, abatement, prices and emission factors vary "
                    "within their stated ranges (Monte Carlo), and which inputs matter most.")),
}

# Tables per section: (field of the step, saved table name, caption, columns to show or None for all).
SECTION_TABLES = {
    "measures": [("measures", "measures", None, ["measure_id", "name", "sector", "payer", "start_year", "capex",
                                     "grant_share", "grant_basis", "grant_uncertain", "lifetime_years",
                                     "abatement_tco2e_per_year", "lifecycle_tco2e_per_year",
                                     "npv_cost", "cost_per_tco2e", "simple_payback_years"])],
    "macc": [("curve", "macc", "Measures on the curve", ["rank", "measure_id", "name", "sector", "capex", "npv_cost",
                                                 "standalone_tco2e", "adjusted_tco2e", "cost_per_tco2e",
                                                 "own_cost_per_tco2e", "note"]),
             ("alternatives", "macc_alternatives", "Alternatives not on the curve (exclusive groups)",
              ["measure_id", "name", "instead_of", "capex", "standalone_tco2e", "adjusted_tco2e",
               "cost_per_tco2e", "note"]),
             ("excluded", "macc_excluded", "Measures without abatement in the reference year",
              ["measure_id", "name", "sector", "capex", "standalone_tco2e", "reason"]),
             ("reconciliation", "macc_reconciliation", "Overlaps per emission source",
              ["source_id", "sector", "scope", "baseline_tco2e", "standalone_sum_tco2e",
               "adjusted_sum_tco2e", "remaining_tco2e", "double_count_avoided_tco2e"])],
    "portfolio": [("chosen", "portfolio", "Chosen measures", ["measure_id", "name", "payer", "start_year", "capex",
                                                 "capex_in_cycle", "capex_after_cycle", "adjusted_tco2e",
                                                 "npv_cost", "cost_per_tco2e"]),
                  ("budget_use", "portfolio_budget_use", "Budget use per plan year", None),
                  ("comparison", "portfolio_comparison",
                   "Optimised portfolio against funding down the MAC curve", None)],
    "financing": [("by_year", "financing", "Financing per year", None),
                  ("budget_impact", "financing_budget_impact",
                   "Effect on the driftsbudget per year (nominal: money of each year)", None),
                  ("budget_impact_by_payer", "financing_budget_impact_by_payer",
                   "Effect on the driftsbudget per payer: the kommun's tax-financed "
                   "budget and the municipal companies' own accounts (nominal: money of each year)", None),
                  ("debt_service", "financing_debt_service", "Debt service per year", None)],
    "pathway": [("table", "pathway", "Emissions in selected years", ["year", "baseline_territorial_tco2e",
                                                           "abatement_territorial_tco2e",
                                                           "with_portfolio_territorial_tco2e", "target_tco2e",
                                                           "with_portfolio_indirect_tco2e",
                                                           "cumulative_from_budget_year_tco2e",
                                                           "carbon_budget_remaining_tco2e"])],
    "uncertainty": [("portfolio", "uncertainty_portfolio", "The portfolio under uncertainty", None),
                    ("measures", "uncertainty", "Cost per tonne of each measure under uncertainty",
                     ["measure_id", "name", "cost_per_tco2e", "cost_per_tco2e_p10", "cost_per_tco2e_p50",
                      "cost_per_tco2e_p90", "prob_saves_money", "prob_abates"]),
                    ("selection_frequency", "uncertainty_selection_frequency",
                     "How often each measure is chosen over the draws",
                     ["measure_id", "share_of_draws_chosen", "chosen_in_base", "method", "draws"]),
                    ("tornado", "uncertainty_tornado", "Sensitivity (one input at a time)", None)],
}

_MISSING = {
    "macc": "The MAC curve is not part of this result.",
    "portfolio": "The portfolio selection is not part of this result.",
    "financing": "The financing plan is not part of this result.",
    "pathway": "The emission pathway is not part of this result.",
    "uncertainty": "No uncertainty analysis in this scenario (set monte_carlo in the scenario file to add one).",
}


def _intro(result, section: str) -> str:
    s = scenario_dict(result)
    target = s.get("target") or {}
    text = SECTIONS[section][1].format(
        persp=html.escape(str(s.get("perspective", ""))),
        rate=fmt_share(result.scenario.real_rate, 2) if hasattr(result, "scenario") else fmt_share(
            s.get("discount_rate"), 1),
        interaction=html.escape(str(s.get("interaction", ""))),
        reduction=fmt_share(target.get("reduction"), 0),
        base_year=html.escape(str(target.get("base_year", ""))),
        target_year=html.escape(str(target.get("year", ""))))
    return paragraph(text)


def _key_years(df: pd.DataFrame, result) -> pd.DataFrame:
    """Rows of a yearly table worth reading: the plan years, the target year, every fifth year."""
    if "year" not in df.columns or len(df) <= 15:
        return df
    target = scenario_dict(result).get("target") or {}
    keep = set(meta(result)["plan_years"]) | {target.get("year"), target.get("base_year")}
    years = pd.to_numeric(df["year"], errors="coerce")
    mask = years.isin(keep) | (years % 5 == 0) | (years == years.min()) | (years == years.max())
    return df[mask.fillna(False).to_numpy(bool)]


def _columns(df: pd.DataFrame, cols) -> pd.DataFrame:
    if not cols:
        return df
    keep = [c for c in cols if c in df.columns]
    return df[keep] if len(keep) >= 2 else df


def section_tables(result, section: str) -> list[tuple[str | None, str, pd.DataFrame]]:
    """(caption, saved table name, table) of a section, in reading order: the tables worth reading, with the
    columns worth reading (long yearly tables cut to key years). Every table, complete, is in the
    scenario's XLSX and CSV files.
    """
    if section == "measures":
        return [(None, "measures", _columns(result.measures, SECTION_TABLES["measures"][0][3]))]
    step = result.steps[section]
    out = []
    for field, table, caption, cols in SECTION_TABLES[section]:
        df = getattr(step, field)
        if df is None or not len(df):
            continue
        out.append((caption, table, _columns(_key_years(df, result), cols)))
    return out


def _step_notes(step, section: str) -> list[str]:
    """What the step says about its own result: the portfolio's solver message, status and
    notes; the notes in the summary of the financing, pathway and uncertainty steps.
    """
    if section == "macc":
        return []
    found = step.notes if section == "portfolio" else step.summary.get("notes")
    notes: list[str] = []
    for n in ([found] if isinstance(found, str) else found or []):
        if n and str(n) not in notes:
            notes.append(str(n))
    if section == "portfolio":
        notes = [f"{label}: {v}" for label, v in (("Message", step.message), ("Status", step.status)) if v] + notes
    return notes


CONVENTION_LABELS = {"rate_basis": "Discount rate", "real_rate": "Real rate used", "inflation": "Inflation",
                     "perspective": "Perspective counts", "grant_basis": "Grants", "loan_term": "Loan term",
                     "internranta": "Internränta", "factor_basis": "Emission factors",
                     "carbon_budget": "Carbon budget", "warnings": "Warnings"}


def conventions_html(result) -> str:
    """The run's conventions, one line each (``summary["conventions"]``); "" when none."""
    conv = (getattr(result, "summary", None) or {}).get("conventions") or {}
    if not conv:
        return ""
    items = "".join(f"<li><strong>{html.escape(CONVENTION_LABELS.get(k, k))}</strong>: {html.escape(str(v))}</li>"
                    for k, v in conv.items())
    grants = (result.summary.get("grants") or {}).get("status")
    if grants:
        items += f"<li><strong>Grant allocation</strong>: {html.escape(str(grants))}</li>"
    return f'<h3>Conventions of this run</h3><ul class="ci-notes">{items}</ul>'


def section(result, name: str) -> list:
    """The displayable parts of a report section: heading, intro, figures, tables (or a note)."""
    title = SECTIONS[name][0]
    parts: list = [Html(f"<h2>{html.escape(title)}</h2>")]
    if name != "measures" and result.steps.get(name) is None:
        parts.append(note(_MISSING[name]))
        return parts
    parts.append(Html(_intro(result, name)))
    if name == "measures" and conventions_html(result):
        parts.append(Html(conventions_html(result)))
    if name != "measures":
        notes = _step_notes(result.steps[name], name)
        if notes:
            parts.append(Html('<ul class="ci-notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"))
    parts += section_figures(result, name)
    for caption, table, df in section_tables(result, name):
        if caption:
            parts.append(Html(f"<h3>{html.escape(caption)}</h3>"))
        parts.append(Html(table_html(df, table=table)))
    return parts


def key_figures_html(result) -> str:
    """The key figures as cards; a note while the result holds none of them."""
    cur = meta(result)["currency"]
    cards = []
    for k in key_figures(result):
        if k["value"] is None:
            continue
        cards.append(f'<div class="ci-keyfig"><div class="ci-value">{format_value(k["value"], k["kind"], cur)}</div>'
                     f'<div class="ci-label">{html.escape(k["label"])}</div></div>')
    if not cards:
        return str(note("The key figures appear here once the portfolio, financing and pathway steps "
                        "are part of the result."))
    return '<div class="ci-keyfigs">' + "".join(cards) + "</div>"


def decision_summary(result) -> list:
    """Section 1: the decision in key figures, what to fund and the investment per year."""
    parts: list = [Html("<h2>Summary of the decision</h2>"), Html(key_figures_html(result))]
    portfolio = result.steps.get("portfolio")
    financing = result.steps.get("financing")
    if portfolio is not None:
        cols = ["name", "sector", "start_year", "capex", "adjusted_tco2e", "cost_per_tco2e"]
        parts += [
            Html("<h3>What to fund</h3>"),
            Html(paragraph(f"{len(portfolio.chosen)} measures, in the order of their cost per tonne.")),
            Html(table_html(_columns(portfolio.chosen, cols), table="portfolio")),
            Html("<h3>Investment per year against the budget</h3>"),
            Html(table_html(portfolio.budget_use, table="portfolio_budget_use")),
        ]
    if financing is not None:
        parts += [Html("<h3>Investment and financing per year</h3>"),
                  Html(table_html(financing.by_year, table="financing"))]
    return parts

"""What each section of a scenario report shows, after the decision basis
(:mod:`climateinvest.report.decision`): its introduction, tables, charts, notes and the
conventions.

Everything is read from the step objects in ``result.steps`` (``run_scenario`` always fills them;
``steps["uncertainty"]`` is None without a Monte Carlo) and only selected and worded here; texts
come from ``report.messages``, column headers from the output column registry. Each table and
chart appears once: the decision basis holds the chosen measures and the money per year, the
sections the rest.
"""
from __future__ import annotations

import html

import pandas as pd

from climateinvest.io.output_columns import currency_unit
from climateinvest.io.scenario import ASEK_REAL_RATE, Scenario, skr_internranta
from climateinvest.report.display import Html, note, paragraph
from climateinvest.report.figures import section_figures
from climateinvest.report.formatting import fmt_number, fmt_share, table_html
from climateinvest.report.i18n import lang, t
from climateinvest.report.results import meta, scenario_dict, summary_value
from climateinvest.report.solver_words import portfolio_message, solver_status

SECTIONS = ("measures", "macc", "portfolio", "cobenefits", "financing", "pathway", "investment_plan", "uncertainty")

# Tables per section: (field of the step, saved table name, columns to show or None for all).
SECTION_TABLES = {
    # standalone figures only: no start year here (the plan's start years are in "what to fund")
    "measures": [("measures", "measures", ["name", "payer", "capex", "grant_share", "lifetime_years",
                                           "abatement_tco2e_per_year", "npv_cost", "cost_per_tco2e",
                                           "simple_payback_years"])],
    "macc": [("curve", "macc", ["rank", "name", "sector", "payer", "capex", "npv_cost", "standalone_tco2e",
                                "adjusted_tco2e", "cost_per_tco2e", "own_cost_per_tco2e"]),
             ("alternatives", "macc_alternatives", ["name", "instead_of", "capex", "standalone_tco2e",
                                                    "adjusted_tco2e", "cost_per_tco2e"]),
             ("excluded", "macc_excluded", ["name", "sector", "payer", "capex", "reason"]),
             ("reconciliation", "macc_reconciliation", ["source_id", "sector", "scope", "baseline_tco2e",
                                                        "standalone_sum_tco2e", "adjusted_sum_tco2e",
                                                        "remaining_tco2e", "double_count_avoided_tco2e"])],
    "portfolio": [("comparison", "portfolio_comparison", None)],
    # physical effects first, in their own units; then the money; then the valuation table
    "cobenefits": [("physical", "cobenefits_physical", ["name", "cobenefit_kind", "quantity", "quantity_unit",
                                                        "minutes_per_day", "db_reduction",
                                                        "deaths_avoided_per_year", "value_per_year", "derived"]),
                   ("valued", "cobenefits", ["name", "in_portfolio", "cobenefit_value_per_year", "npv_cobenefits",
                                             "cost_per_tco2e", "cost_per_tco2e_after_cobenefits", "not_valued"]),
                   ("net_curve", "cobenefits_net_curve", ["net_rank", "name", "rank", "scale", "cost_per_tco2e",
                                                          "npv_cobenefits_on_curve",
                                                          "cost_per_tco2e_after_cobenefits"]),
                   ("values", "cobenefits_values", None)],
    "financing": [("budget_impact", "financing_budget_impact", None),
                  ("budget_impact_by_payer", "financing_budget_impact_by_payer", None),
                  ("debt_service", "financing_debt_service", None)],
    "pathway": [("table", "pathway", ["year", "baseline_territorial_tco2e", "abatement_territorial_tco2e",
                                      "with_portfolio_territorial_tco2e", "target_tco2e",
                                      "with_portfolio_ets_tco2e", "with_portfolio_non_ets_tco2e",
                                      "with_portfolio_indirect_tco2e", "cumulative_from_budget_year_tco2e",
                                      "carbon_budget_remaining_tco2e"])],
    # the EU Cities Mission's Investment Plan: the gap, who needs how much capital, the
    # costing per action (IP-B1) and the capital planning per action (IP-B2)
    "investment_plan": [("gap", "investment_plan", None),
                        ("by_actor", "investment_plan_by_actor", ["actor", "control", "n_measures", "capex",
                                                                  "identified_financing", "unfinanced",
                                                                  "identified_share", "tco2e_target_year",
                                                                  "capex_eur"]),
                        # the euros and the ETS and control columns are in the XLSX and the other tables
                        ("costing", "investment_plan_costing", ["name", "actor", "measure_status", "capex",
                                                                "tco2e_target_year", "cost_per_tco2e",
                                                                "cost_per_tco2e_all_actors",
                                                                "cobenefit_value_per_year"]),
                        ("capital", "investment_plan_capital", ["name", "actor", "cost_to_municipality",
                                                                "cost_to_others", "identified_financing",
                                                                "identified_share", "capex_eur",
                                                                "financing_note"])],
    "uncertainty": [("portfolio", "uncertainty_portfolio", None),
                    ("measures", "uncertainty", ["name", "cost_per_tco2e", "cost_per_tco2e_p10", "cost_per_tco2e_p50",
                                                 "cost_per_tco2e_p90", "prob_saves_money", "prob_abates"]),
                    ("tornado", "uncertainty_tornado", ["parameter", "low_label", "high_label", "metric", "unit",
                                                        "low_value", "base_value", "high_value"])],
}
# Tables of another step shown in a section: (step, field, saved table name, columns or None).
# The pathway shows the municipal group's own emissions beside the territory's (two scopes).
OTHER_STEP_TABLES = {
    "pathway": [("municipal_scope", "scopes", "municipal_scope_scopes", None),
                ("municipal_scope", "table", "municipal_scope", ["year", "baseline_tco2e", "abatement_tco2e",
                                                                  "with_portfolio_tco2e", "target_tco2e"])],
}


def perspective_name(result) -> str:
    """The scenario's perspective in the report's words (municipal or societal)."""
    p = str(scenario_dict(result).get("perspective", ""))
    return t(f"perspective.{p}").split(" (")[0] if p in ("municipal", "societal") else html.escape(p)


def _intro(result, section: str) -> str:
    s = scenario_dict(result)
    target = s.get("target") or {}
    sc = scenario_of(result)
    return paragraph(t(f"section.{section}.intro",
                       persp=perspective_name(result),
                       rate=fmt_share(sc.real_rate, 2) if sc is not None else fmt_share(s.get("discount_rate"), 1),
                       interaction=html.escape(str(s.get("interaction", ""))),
                       reduction=fmt_share(target.get("reduction"), 0),
                       base_year=html.escape(str(target.get("base_year", ""))),
                       target_year=html.escape(str(target.get("year", ""))),
                       baseline=t(f"baseline.{getattr(sc, 'baseline', 'flat')}"),
                       eur=_eur_text(result)) + _tie_break_text(section, sc))


def _tie_break_text(section: str, sc) -> str:
    """How the portfolio's cost tie-break chose among the portfolios of most tonnes (max_abatement)."""
    if section != "portfolio" or sc is None or sc.objective != "max_abatement":
        return ""
    return t(f"tie_break.{sc.tie_break}")


def _eur_text(result) -> str:
    """The euro rate the Investment Plan tables use, with its date and source, or that there is none."""
    c = result.city
    if not getattr(c, "eur_rate", None):
        return t("eur.none")
    return t("eur.rate", rate=fmt_number(c.eur_rate, 4), unit=html.escape(currency_unit(c.currency, lang())),
             date=html.escape(c.eur_rate_date), source=html.escape(c.eur_rate_source))


def _key_years(df: pd.DataFrame, result) -> pd.DataFrame:
    """Rows of a yearly table worth reading: every year from the budget year to the target year,
    the peak years of debt service and budget impact, then every fifth year and the last.
    """
    if "year" not in df.columns or len(df) <= 15:
        return df
    m = meta(result)
    target = m["target"]
    cycle = m["cycle"] if isinstance(m["cycle"], int) else None
    keep = set(m["plan_years"]) | {target.get("year"), target.get("base_year")}
    if cycle is not None and target.get("year"):
        keep |= set(range(cycle, int(target["year"]) + 1))
    keep |= {summary_value(result, "financing", k) for k in ("peak_debt_service_year", "peak_net_budget_impact_year")}
    years = pd.to_numeric(df["year"], errors="coerce")
    mask = years.isin(keep) | (years % 5 == 0) | (years == years.max())
    if cycle is not None:
        mask &= (years >= cycle - 5) | years.isin(keep)
    return df[mask.fillna(False).to_numpy(bool)]


def _columns(df: pd.DataFrame, cols) -> pd.DataFrame:
    if not cols:
        return df
    keep = [c for c in cols if c in df.columns]
    return df[keep] if len(keep) >= 2 else df


def section_tables(result, section: str) -> list[tuple[str | None, str, pd.DataFrame]]:
    """(caption, saved table name, table) of a section, in reading order, with the columns worth
    reading (long yearly tables cut to key years). Every table, complete, is in the XLSX and CSVs.
    """
    if section == "measures":
        return [(None, "measures", _columns(result.measures, SECTION_TABLES["measures"][0][2]))]
    wanted = [(section, *entry) for entry in SECTION_TABLES[section]] + OTHER_STEP_TABLES.get(section, [])
    out = []
    for step_name, field, table, cols in wanted:
        step = result.steps.get(step_name)
        df = getattr(step, field) if step is not None else None
        if df is None or not len(df):
            continue
        out.append((t(f"table.{table}"), table, _columns(_key_years(df, result), cols)))
    return out


def _step_notes(step, section: str) -> list[str]:
    """What the step says about its own result: the portfolio's solver message, status and
    notes; the notes in the summary of the financing, pathway and uncertainty steps.
    """
    if section == "macc":
        return []
    found = step.notes if section == "portfolio" else step.summary.get(
        "warnings" if section == "cobenefits" else "notes")
    notes: list[str] = []
    for n in ([found] if isinstance(found, str) else found or []):
        if n and str(n) not in notes:
            notes.append(str(n))
    if section == "portfolio":
        said = (("step.message", portfolio_message(step)), ("step.status", solver_status(step.status)))
        notes = [f"{t(label)}: {v}" for label, v in said if v] + notes
    return notes


def scenario_of(result):
    """The run's :class:`~climateinvest.io.scenario.Scenario` (a saved result rebuilds it from its
    manifest); None where it cannot be rebuilt.
    """
    if hasattr(result, "scenario"):
        return result.scenario
    try:
        return Scenario.model_validate(scenario_dict(result))
    except ValueError:
        return None


def convention_lines(result) -> list[tuple[str, str]]:
    """(label, text) of each convention of the run, in the report's language: the rate and how it
    is made real, inflation and money, the perspective, grants, loans, internränta, emission factors
    and the carbon budget (the same facts as ``summary["conventions"]``, worded from the catalogue).
    """
    sc = scenario_of(result)
    if sc is None:
        return []
    m = meta(result)
    currency, price_year = m["currency"], m["price_year"]
    if sc.discount_rate is None and sc.perspective == "societal":
        given, real_given = t("conv.rate_asek", rate=fmt_share(ASEK_REAL_RATE, 1)), True
    elif sc.discount_rate is None:
        given, real_given = t("conv.rate_skr", rate=fmt_share(skr_internranta(sc.budget_cycle)[0], 2)), False
    else:
        real_given = sc.rate_basis == "real"
        given = t("conv.rate_given_real" if real_given else "conv.rate_given_nominal",
                  rate=fmt_share(sc.discount_rate, 2))
    fisher = "" if real_given else t("conv.fisher", inflation=fmt_share(sc.inflation, 1))
    lines = [
        (t("conv.rate_basis"), t("conv.rate_text", given=given, fisher=fisher, real=fmt_share(sc.real_rate, 4))),
        (t("conv.inflation"), t("conv.inflation_text", inflation=fmt_share(sc.inflation, 1),
                                source=t("conv.inflation_given" if "inflation" in sc.model_fields_set
                                         else "conv.inflation_default"),
                                price_year=price_year, currency=currency)),
        (t("conv.perspective"), t(f"conv.perspective_{sc.perspective}", value=fmt_number(sc.carbon_value_per_tco2e, 0),
                                  currency=currency, tax_factor=fmt_number(sc.tax_factor, 2))),
        (t("conv.grant_basis"), t("conv.grant_text")),
        (t("conv.loan_term"), t(f"conv.loan_{sc.loan_term}")),
        (t("conv.internranta"), t(f"conv.internranta_{sc.internal_interest_basis}",
                                  rate=fmt_share(sc.internal_rate_used, 2))),
        (t("conv.factor_basis"), t("conv.factor_text", factor_set=html.escape(str(sc.emission_factor_set)))),
    ]
    if sc.carbon_budget is not None:
        lines.append((t("conv.carbon_budget"), t(f"conv.carbon_budget_{sc.carbon_budget.basis}")))
    year = sc.budget_cycle
    if sc.internal_rate is None or (sc.discount_rate is None and sc.perspective == "municipal"):
        rate, note_text = skr_internranta(year)
        if note_text:
            lines.append((t("conv.warnings"), t("conv.skr_missing", year=year, rate=fmt_share(rate, 2))))
    grants = (result.summary.get("grants") or {})
    if grants.get("rounds") is not None:
        lines.append((t("conv.grant_allocation"), t("conv.grant_fixed_point" if grants.get("converged")
                                                    else "conv.grant_not_converged", rounds=grants["rounds"])))
    return lines


def conventions_html(result) -> str:
    """The run's conventions as a list under a heading; "" when none can be stated."""
    lines = convention_lines(result)
    if not lines:
        return ""
    items = "".join(f"<li><strong>{html.escape(label)}</strong>: {text}</li>" for label, text in lines)
    return f'<h3>{html.escape(t("conv.head"))}</h3><ul class="ci-notes">{items}</ul>'


def section(result, name: str) -> list:
    """The displayable parts of a report section: heading, intro, figures, tables (or a note)."""
    parts: list = [Html(f"<h2>{html.escape(t(f'section.{name}'))}</h2>")]
    if name != "measures" and result.steps.get(name) is None:
        parts.append(note(t(f"missing.{name}")))
        return parts
    parts.append(Html(_intro(result, name)))
    if name == "measures" and conventions_html(result):
        parts.append(Html(conventions_html(result)))
    if name != "measures":
        notes = _step_notes(result.steps[name], name)
        if notes:
            parts.append(Html('<ul class="ci-notes">' + "".join(f"<li>{html.escape(n)}</li>" for n in notes) + "</ul>"))
    parts += section_figures(result, name)
    if name == "cobenefits" and result.steps[name].net_curve is None:  # municipal: not in the cash flows
        parts.append(note(t("note.cobenefits_net_absent")))
    for caption, table, df in section_tables(result, name):
        if caption:
            parts.append(Html(f"<h3>{html.escape(caption)}</h3>"))
        parts.append(Html(table_html(df, table=table)))
    return parts

"""The decision basis, the first screen of a scenario report: the data's status, the summary,
the proposed decision, the key figures (by payer, with the difference from another result) and
what to fund.

Read from the step objects in ``result.steps`` and worded from ``report.messages``, like the
sections (:mod:`climateinvest.report.sections`); the key figures are the ones the explorer's
panel shows, so the two always agree. Each figure appears once: the decision basis holds the
chosen measures and the money per year, the sections the rest.
"""
from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd

from climateinvest.io.output_columns import currency_unit, value_label
from climateinvest.report.display import Html, note, paragraph
from climateinvest.report.formatting import fmt_money, fmt_number, fmt_share, fmt_tonnes, format_value, table_html
from climateinvest.report.i18n import lang, t
from climateinvest.report.results import meta, scenario_dict, summary_value
from climateinvest.report.sections import perspective_name, scenario_of

FUND_COLUMNS = ["name", "payer", "scope", "start_year", "capex", "adjusted_tco2e", "cost_per_tco2e"]
PAYERS = ("municipality", "municipal_company", "external")


def data_status(result) -> Html:
    """The status of the data (illustrative or adopted), from the scenario's and city's notes,
    shown before any figure.
    """
    s = scenario_dict(result)
    notes = str(s.get("notes") or "").strip()
    text = html.escape(notes) if notes else t("status.default")
    return Html(f'<div class="ci-status" role="note"><strong>{t("status.head")}:</strong> {text}</div>')


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {t('and')} " + items[-1]


def _years_span(years) -> str:
    years = sorted(int(y) for y in years)
    return str(years[0]) if len(years) == 1 or years[0] == years[-1] else f"{years[0]}–{years[-1]}"


def _largest_sectors(result, year: int, n: int = 2) -> list[str]:
    by_sector = result.steps["pathway"].by_sector
    row = by_sector[by_sector["year"] == year]
    if not len(row):
        return []
    values = row.drop(columns="year").iloc[0].astype(float).sort_values(ascending=False)
    return [html.escape(value_label(s, lang())) for s in values.index[:n]]


def summary_sentences(result) -> list[str]:
    """Three to five sentences written from the results (trusted HTML, numbers formatted): what
    the plan cuts, at what cost per tonne, what it asks of the budget and the borrowing, how far
    it leaves the city from the target and why.
    """
    pf, fin, pw = (result.steps.get(k) for k in ("portfolio", "financing", "pathway"))
    if pf is None or fin is None or pw is None:
        return []
    ps, fs, ws = pf.summary(), fin.summary, pw.summary
    year = int(ws["target_year"])
    out = [t("summary.cut", n=ps["n_measures"], tonnes=fmt_tonnes(ws["target_year_abatement_territorial_tco2e"]),
             year=year, share=fmt_share(ws["target_year_abatement_territorial_tco2e"]
                                        / ws["target_year_baseline_tco2e"]))]
    cost = summary_value(result, "portfolio", "cost_per_tco2e")
    if cost is not None:
        key = "summary.cost_saves" if cost < 0 else "summary.cost_costs"
        unit = currency_unit(meta(result)["currency"], lang())
        out.append(t(key, cost=f"{fmt_number(abs(cost))}\u202f{html.escape(unit)}",
                     perspective=perspective_name(result)))
    by_year = fin.by_year
    years = by_year.loc[by_year["investment"] > 0, "year"]
    rest = ""
    if fs["own_funds_total"] > 0:
        rest += t("summary.own_funds", amount=fmt_money(fs["own_funds_total"]))
    if fs["gap_total"] > 0:
        rest += t("summary.fin_gap", amount=fmt_money(fs["gap_total"]))
    out.append(t("summary.money", investment=fmt_money(fs["investment_total"]),
                 years=_years_span(years) if len(years) else meta(result)["cycle"],
                 external=fmt_money(fs["external_investment_total"]), grants=fmt_money(fs["grant_total"]),
                 loans=fmt_money(fs["loan_total"]), rest=rest))
    if fs.get("peak_debt_service_year") is not None and fs.get("peak_net_budget_impact_year") is not None:
        out.append(t("summary.budget", debt=fmt_money(fs["peak_debt_service"]), debt_year=fs["peak_debt_service_year"],
                     net=fmt_money(fs["peak_net_budget_impact"]), net_year=fs["peak_net_budget_impact_year"]))
    prob = ""
    unc = result.steps.get("uncertainty")
    if unc is not None and unc.summary.get("prob_meet_target") is not None:
        prob = t("summary.prob", prob=fmt_share(unc.summary["prob_meet_target"], 0),
                 draws=format_value(unc.summary["draws"], "count"))
    with_plan, target = fmt_tonnes(ws["target_year_with_portfolio_tco2e"]), fmt_tonnes(ws["target_tco2e"])
    if ws["gap_tco2e"] > 0:
        sectors = _largest_sectors(result, year)
        out.append(t("summary.gap", year=year, with_plan=with_plan, target=target, gap=fmt_tonnes(ws["gap_tco2e"]),
                     prob=prob, sectors=_join(sectors) if sectors else "–"))
    else:
        out.append(t("summary.met", year=year, with_plan=with_plan, target=target, prob=prob))
    return out


def proposal(result) -> str | None:
    """The *förslag till beslut*: the investment frame per plan year, the borrowing, the measures
    to start in the budget year (and the financing gap to cover); None without a portfolio.
    """
    pf, fin = result.steps.get("portfolio"), result.steps.get("financing")
    if pf is None or fin is None:
        return None
    m = meta(result)
    plan = m["plan_years"]
    by_year = fin.by_year.set_index("year")["investment"]
    frames = [t("proposal.frame_year", amount=fmt_money(by_year.get(y, 0.0)), year=y) for y in plan]
    later = by_year[(by_year.index > plan[-1]) & (by_year > 0)]
    after = t("proposal.after", amount=fmt_money(later.sum()), years=_years_span(later.index)) if len(later) else ""
    items = [t("proposal.frame", frames=_join(frames), after=after)]
    if fin.summary["loan_total"] > 0:
        items.append(t("proposal.loans", amount=fmt_money(fin.summary["loan_total"])))
    starting = pf.chosen[pf.chosen["start_year"] == m["cycle"]]
    if len(starting):
        names = [html.escape(str(n)) for n in starting["name"]]
        items.append(t("proposal.start", n=len(names), year=m["cycle"], names="; ".join(names)))
    else:
        items.append(t("proposal.start_none", year=m["cycle"]))
    if fin.summary["gap_total"] > 0:
        items.append(t("proposal.gap", amount=fmt_money(fin.summary["gap_total"])))
    lis = "".join(f"<li>{i}</li>" for i in items)
    return (f'<section class="ci-proposal"><h3>{t("proposal.head")}</h3><p>{t("proposal.lead")}</p><ol>{lis}</ol>'
            f'<p class="ci-muted">{t("proposal.note")}</p></section>')


def _by_payer(chosen: pd.DataFrame, column: str, fmt, territorial_only: bool = False) -> str:
    df = chosen[chosen["scope"] == "territorial"] if territorial_only else chosen
    sums = df.groupby("payer")[column].sum()
    parts = [f"{html.escape(value_label(p, lang()))} {fmt(sums[p])}" for p in PAYERS if p in sums.index]
    parts += [f"{html.escape(value_label(p, lang()))} {fmt(v)}" for p, v in sums.items() if p not in PAYERS]
    return t("kf.split", parts=", ".join(parts))


@dataclass(frozen=True)
class KeyFigure:
    """One key figure of the first screen: its number (``value``, in the unit of ``kind``), the
    formatted ``text``, the ``label`` and the split by payer or source (trusted HTML, may be "").
    """

    key: str
    value: float | None
    kind: str  # "money" [currency], "tonnes" [t CO2e], "money_per_tonne", "share", "year"
    text: str
    label: str
    split: str = ""


def _figure(key: str, value, kind: str, label: str, split: str = "") -> KeyFigure:
    number = None if value is None or pd.isna(value) else float(value)
    text = {"money": fmt_money, "tonnes": fmt_tonnes}.get(kind, lambda v: format_value(v, kind))(number)
    return KeyFigure(key, number, kind, text, label, split)


def key_figures(result) -> list[KeyFigure]:
    """The key figures of the report's first screen (and of the explorer's panel: one function,
    so both always show the same numbers); [] without portfolio, financing and pathway.
    """
    pf, fin, pw = (result.steps.get(k) for k in ("portfolio", "financing", "pathway"))
    if pf is None or fin is None or pw is None:
        return []
    ws, fs, chosen = pw.summary, fin.summary, pf.chosen
    year = int(ws["target_year"])
    out = [
        _figure("investment", chosen["capex"].sum(), "money", t("kf.investment"),
                _by_payer(chosen, "capex", fmt_money)),
        _figure("abatement", ws["target_year_abatement_territorial_tco2e"], "tonnes", t("kf.abatement", year=year),
                _by_payer(chosen, "adjusted_tco2e", fmt_tonnes, territorial_only=True)),
        _figure("cost_per_tco2e", summary_value(result, "portfolio", "cost_per_tco2e"), "money_per_tonne",
                t("kf.cost"), t("kf.cost_basis.municipal" if getattr(scenario_of(result), "perspective", "")
                                == "municipal" else "kf.cost_basis.societal")),
        _figure("npv_cost", summary_value(result, "portfolio", "npv_cost"), "money", t("kf.npv")),
        _figure("emissions", ws["target_year_with_portfolio_tco2e"], "tonnes",
                t("kf.emissions", year=year, target=fmt_tonnes(ws["target_tco2e"]))),
        _figure("gap", ws["gap_tco2e"], "tonnes", t("kf.gap", year=year)),
        _figure("financing", fs["investment_total"], "money", t("kf.financing"),
                t("kf.financing_parts", grants=fmt_money(fs["grant_total"]), loans=fmt_money(fs["loan_total"]),
                  own=fmt_money(fs["own_funds_total"]), gap=fmt_money(fs["gap_total"]))),
        _figure("financing_gap", fs["gap_total"], "money", t("kf.fin_gap")),
        _figure("loans", fs["loan_total"], "money", t("kf.loans")),
    ]
    if fs.get("peak_debt_service_year") is not None:
        out.append(_figure("peak_debt_service", fs["peak_debt_service"], "money",
                           t("kf.debt", year=fs["peak_debt_service_year"])))
    if fs.get("peak_net_budget_impact_year") is not None:
        out.append(_figure("peak_net_budget_impact", fs["peak_net_budget_impact"], "money",
                           t("kf.net", year=fs["peak_net_budget_impact_year"])))
    prob = summary_value(result, "uncertainty", "prob_meet_target")
    if prob is not None:
        out.append(KeyFigure("prob_meet_target", float(prob), "share", fmt_share(prob, 0), t("kf.prob")))
    out_year = summary_value(result, "pathway", "budget_runs_out_year")
    if out_year is not None:
        fossil = summary_value(result, "pathway", "carbon_budget_basis") in ("fossil_co2", None)
        out.append(_figure("budget_runs_out_year", out_year, "year",
                           t("kf.budget_out_fossil" if fossil else "kf.budget_out")))
    return out


def _difference(now: KeyFigure, before: KeyFigure | None) -> str:
    """"+1,2 mnkr against the loaded scenario" (trusted HTML), "" when there is nothing to compare."""
    if before is None or now.value is None or before.value is None or now.kind in ("year", "share"):
        return ""
    d = now.value - before.value
    if abs(d) < (0.5 if now.kind != "money" else 5e3):
        return t("kf.same")
    text = {"money": fmt_money, "tonnes": fmt_tonnes}.get(now.kind, lambda v: format_value(v, now.kind))(abs(d))
    return t("kf.diff", sign="+" if d > 0 else "−", amount=text)


def key_figures_html(result, against=None) -> str:
    """The key figures as cards, each with its split by payer or source where it has one;
    ``against`` (an earlier result, the explorer's loaded scenario): each card also says by how
    much it differs from that result.
    """
    figures = key_figures(result)
    if not figures:
        return str(note(t("kf.none")))
    before = {f.key: f for f in key_figures(against)} if against is not None else {}
    cards = []
    for f in figures:
        diff = _difference(f, before.get(f.key)) if against is not None else ""
        cards.append(
            f'<div class="ci-keyfig" data-key="{f.key}"><div class="ci-value">{f.text}</div>'
            f'<div class="ci-label">{html.escape(f.label)}</div>'
            + (f'<div class="ci-split">{f.split}</div>' if f.split else "")
            + (f'<div class="ci-diff">{diff}</div>' if diff else "") + "</div>")
    return f'<div class="ci-keyfigs">{"".join(cards)}</div>'


def fund_table(result) -> pd.DataFrame:
    """The chosen measures with payer and scope, cheapest per tonne first, a subtotal per payer
    and the total (rows without a payer); a measure that acts only after the target year says
    from when instead of 0 t. The tonnes column is text (formatted here); its subtotals count
    territorial tonnes only, as the key figure does.
    """
    pf = result.steps["portfolio"]
    year = int(pf.target_year)
    chosen = pf.chosen.sort_values("cost_per_tco2e", kind="stable")
    acts_from = chosen["start_year"] + chosen["capex_years"]
    tonnes = [t("fund.acts_from", year=int(a)) if v == 0 and a > year else fmt_number(v)
              for v, a in zip(chosen["adjusted_tco2e"], acts_from, strict=True)]
    shown = chosen[FUND_COLUMNS].astype({"adjusted_tco2e": object}).copy()
    shown["adjusted_tco2e"] = tonnes
    rows = [shown]
    for payer in [p for p in PAYERS if p in set(chosen["payer"])]:
        part = chosen[chosen["payer"] == payer]
        rows.append(_total_row(t("fund.subtotal", payer=value_label(payer, lang())), part))
    rows.append(_total_row(t("fund.total"), chosen))
    return pd.concat(rows, ignore_index=True)


def _total_row(label: str, part: pd.DataFrame) -> pd.DataFrame:
    territorial = part.loc[part["scope"] == "territorial", "adjusted_tco2e"].sum()
    return pd.DataFrame([{"name": label, "payer": None, "scope": None, "start_year": None,
                          "capex": part["capex"].sum(),
                          "adjusted_tco2e": fmt_number(territorial),
                          "cost_per_tco2e": None}])


def decision_summary(result) -> list:
    """The first screen: data status, summary, proposed decision, key figures by payer, then what
    to fund and the money per year.
    """
    parts: list = [data_status(result)]
    sentences = summary_sentences(result)
    if sentences:
        parts.append(Html(f'<section class="ci-summary"><h2>{t("summary.head")}</h2>'
                          + "".join(paragraph(s) for s in sentences) + "</section>"))
    prop = proposal(result)
    if prop:
        parts.append(Html(prop))
    parts += [Html(f"<h2>{t('keyfigs.head')}</h2>"), Html(key_figures_html(result))]
    portfolio = result.steps.get("portfolio")
    financing = result.steps.get("financing")
    if portfolio is not None:
        fund = fund_table(result)
        parts += [
            Html(f"<h3>{t('fund.head')}</h3>"),
            Html(paragraph(t("fund.intro", n=len(portfolio.chosen), year=int(portfolio.target_year)))),
            Html(table_html(fund, table="portfolio", kinds={"adjusted_tco2e": "preformatted"},
                            row_classes=["ci-subtotal" if pd.isna(p) else "" for p in fund["payer"]])),
        ]
    if financing is not None:
        by_year = financing.by_year
        # sources that pay nothing in any year are left out here (the workbook has every column)
        keep = [c for c in by_year.columns
                if c in ("year", "financing_gap", "investment") or (by_year[c].fillna(0) != 0).any()]
        parts += [Html(f"<h3>{t('years.head')}</h3>"), Html(table_html(by_year[keep], table="financing"))]
    return parts

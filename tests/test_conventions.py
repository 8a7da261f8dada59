"""The economic conventions of issue 11, each against a hand-computed case (computation in the comments)."""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from citybuilder import build_city

from climateinvest import finance
from climateinvest.appraisal import appraise, net_cost, stakeholders
from climateinvest.cashflows import build_flows
from climateinvest.financing import plan_financing
from climateinvest.io.scenario import Scenario, fisher_real_rate, load_scenario, skr_internranta
from climateinvest.macc import build_macc

NAN = np.nan
ROOT = Path(__file__).resolve().parents[1]


def scenario(**kw):
    return Scenario(title="t", city=Path("."), budget_cycle=2027, **kw)


def plan(city, sc, scale=1.0):
    start = city.measures["earliest_start_year"].to_numpy(int)
    flows = build_flows(city, "base", "nordic_mix", start)
    chosen = pd.DataFrame({"measure_id": city.measures["measure_id"], "start_year": start, "scale": scale})
    return plan_financing(city, sc, chosen, flows), flows


def test_fisher_nominal_rate_gives_the_same_cost_per_tonne_as_its_real_rate():
    # (1.025 / 1.02) − 1 = 0.0049019608 (0.49 % real)
    sc = scenario(discount_rate=0.025, rate_basis="nominal", inflation=0.02)
    assert sc.real_rate == pytest.approx(0.0049019608, abs=1e-10)
    assert fisher_real_rate(0.025, 0.02) == pytest.approx(0.0049019608, abs=1e-10)
    real = scenario(discount_rate=0.0049019608, rate_basis="real")
    city = build_city([{"measure_id": "a", "capex": 1e6, "opex_change_per_year": 1e4}],
                      [("a", "electricity", -100.0)], direct_abatement_tco2e_per_year=10.0)
    fl = build_flows(city, "base", "nordic_mix", [2027])
    a = appraise(fl, city, sc.real_rate)["cost_per_tco2e"].iloc[0]
    b = appraise(fl, city, real.real_rate)["cost_per_tco2e"].iloc[0]
    assert a == pytest.approx(b, rel=1e-9)
    # default: SKR internränta of the budget year; 2027 is not in the table → 2025's 2.5 %, said
    rate, note = skr_internranta(2027)
    assert rate == 0.025 and "2027 not found" in note and "2025" in note
    assert scenario().real_rate == pytest.approx(0.0049019608, abs=1e-10)
    assert scenario(perspective="societal").real_rate == 0.035  # ASEK's real rate


def _stakeholder_city():
    # one municipal measure: capex 100 000 with a 30 % grant; residents buy 10 MWh less petrol at
    # 1 000 SEK/MWh of which 400 is tax; the city collects a 2 000 SEK/yr fee; life 2 years.
    prices = [("electricity", "*", 2020, 1000.0, 0.0), ("petrol", "*", 2020, 1000.0, 400.0)]
    city = build_city([{"measure_id": "a", "capex": 100_000.0, "lifetime_years": 2, "fee_revenue_per_year": 2000.0}],
                      [("a", "petrol", -10.0)], prices=prices, factors=[("petrol", "*", 2020, 250.0)],
                      funding=[("g", "Grant", "grant", 0.3, NAN, NAN, NAN, "*", "*", "")],
                      direct_abatement_tco2e_per_year=0.0)
    city.energy_changes["energy_payer"] = "residents"
    return city


def test_stakeholder_split_adds_up_to_the_societal_total_without_transfers():
    # at r = 0 (sums): municipality 70 000 − 2 × 2 000 = 66 000; state 30 000 (grant) + 2 × 4 000 lost
    # tax = 38 000; residents −2 × 10 000 + 2 × 2 000 fee = −16 000. Sum 88 000 = societal resources:
    # 100 000 − 2 × 10 × (1 000 − 400) = 88 000. The transfers (grant, tax, fee) cancel.
    city = _stakeholder_city()
    fl = build_flows(city, "base", "nordic_mix", [2027])
    t = stakeholders(fl, city, 0.0).set_index("measure_id")
    assert t.loc["a", "municipality"] == pytest.approx(66_000.0)
    assert t.loc["a", "state"] == pytest.approx(38_000.0)
    assert t.loc["a", "residents"] == pytest.approx(-16_000.0)
    assert t.loc["a", "societal"] == pytest.approx(88_000.0)
    assert net_cost(fl, city, "societal").sum() == pytest.approx(88_000.0)
    # the municipal perspective counts the group only: 70 000 − 4 000 fees, not residents' petrol
    assert net_cost(fl, city, "municipal").sum() == pytest.approx(66_000.0)


def test_societal_energy_is_priced_without_taxes_and_the_tax_factor_weighs_public_money():
    # societal energy = −10 MWh × (1 000 − 400) per year = −6 000; with skattefaktor 1.3 the
    # municipality's 66 000 and the state's 38 000 weigh 1.3: 1.3 × 104 000 − 16 000 = 119 200
    city = _stakeholder_city()
    fl = build_flows(city, "base", "nordic_mix", [2027])
    cost = net_cost(fl, city, "societal")
    assert cost[0, 1] == pytest.approx(-6_000.0 + 0.0)  # year 1: energy only (the fee nets out)
    assert net_cost(fl, city, "societal", tax_factor=1.3).sum() == pytest.approx(1.3 * 104_000 - 16_000)


def test_a_bundle_is_priced_with_what_it_requires():
    # bus: capex 1 000 000, 100 t/yr for 10 years; charger: capex 500 000, no tonnes; r = 0, tonnes
    # plain: own 1 000 000 / 1 000 = 1 000 SEK/t; bundle (1 000 000 + 500 000) / 1 000 = 1 500 SEK/t
    bus = {"measure_id": "bus", "capex": 1e6, "requires": "charger", "direct_abatement_tco2e_per_year": 100.0}
    city = build_city([bus, {"measure_id": "charger", "capex": 5e5}])
    sc = scenario(discount_rate=0.0, rate_basis="real", discount_abatement=False, interaction="independent")
    fl = build_flows(city, "base", "nordic_mix", [2027, 2027])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the charger has no tonnes
        m = appraise(fl, city, 0.0, discount_abatement=False)
    curve = build_macc(m, fl, city, sc).curve.set_index("measure_id")
    assert curve.loc["bus", "cost_per_tco2e"] == pytest.approx(1500.0)
    assert curve.loc["bus", "own_cost_per_tco2e"] == pytest.approx(1000.0)


def test_a_loan_matches_a_ten_year_asset():
    # 1 000 000 loan, source term 25 years, asset life 10: the loan runs 10 years, straight
    # 100 000 a year, nothing owed when the asset stops (2037); book value falls in step
    city = build_city([{"measure_id": "a", "capex": 1e6, "lifetime_years": 10}],
                      funding=[("kl", "Loan", "loan", 1.0, NAN, 0.03, 25, "*", "*", "straight")])
    fin, _ = plan(city, scenario(inflation=0.0))
    assert fin.loans["term_years"].unique().tolist() == [10] and len(fin.loans) == 10
    assert fin.loans["amortisation"].to_numpy() == pytest.approx([100_000.0] * 10)
    ds = fin.debt_service.set_index("year")
    assert ds.loc[2037, "debt_outstanding"] == pytest.approx(0.0)
    assert ds.loc[2030, "debt_outstanding"] == pytest.approx(700_000.0)
    assert ds.loc[2030, "book_value"] == pytest.approx(700_000.0)  # 1 000 000 − 3 × 100 000
    old, _ = plan(city, scenario(inflation=0.0, loan_term="source_term"))
    assert len(old.loans) == 25


def test_a_one_off_operating_part_is_expensed_in_its_year_and_not_loan_financed():
    # capex 100 000 of which 40 % one-off operating: 40 000 in the 2027 budget; 60 000 investment,
    # loan-financed and depreciated 6 000 a year over 10 years; the NPV at r = 0 keeps all 100 000
    city = build_city([{"measure_id": "a", "capex": 100_000.0, "operating_share": 0.4}],
                      funding=[("kl", "Loan", "loan", 1.0, NAN, 0.0, 10, "*", "*", "straight")])
    fin, fl = plan(city, scenario(inflation=0.0))
    bi = fin.budget_impact.set_index("year")
    assert bi.loc[2027, "one_off_operating"] == pytest.approx(40_000.0)
    assert bi.loc[2028, "depreciation"] == pytest.approx(6_000.0)
    assert fin.summary["loan_total"] == pytest.approx(60_000.0)
    assert net_cost(fl, city, "municipal").sum() == pytest.approx(100_000.0)


def test_the_budget_impact_is_split_between_the_kommun_and_its_company():
    # kommun: 1 000 000, life 10, internränta 2.5 % on the opening book value: 2028 25 000;
    # company: 1 000 000 loan at 4 % (own term 10): its 2028 capital cost is the loan's actual
    # interest 40 000, not internränta. Depreciation 100 000 each. Nominal = real at 0 % inflation.
    company = {"measure_id": "c", "capex": 1e6, "payer": "municipal_company"}
    city = build_city([{"measure_id": "k", "capex": 1e6}, company],
                      funding=[("kl", "Loan", "loan", 1.0, NAN, 0.04, 10, "*", "municipal_company", "straight"),
                               ("own", "Own", "own_funds", 1.0, NAN, 0.0, NAN, "*", "*", "straight")])
    fin, _ = plan(city, scenario(inflation=0.0, internal_rate=0.025))
    p = fin.budget_impact_by_payer.set_index(["payer", "year"])
    assert p.loc[("municipality", 2028), "internal_interest"] == pytest.approx(25_000.0)
    assert p.loc[("municipality", 2028), "loan_interest"] == 0.0
    assert p.loc[("municipal_company", 2028), "loan_interest"] == pytest.approx(40_000.0)
    assert p.loc[("municipal_company", 2028), "internal_interest"] == 0.0
    assert p.loc[("municipal_company", 2028), "net"] == pytest.approx(140_000.0)
    assert p.loc[("municipality", 2028), "net"] == pytest.approx(125_000.0)


def test_internranta_gross_basis_charges_the_full_book_value():
    # 1 000 000 with a 30 % grant: net basis 2.5 % × 700 000 = 17 500; gross (RKR R2) 25 000;
    # depreciation net of the grant release 70 000 either way
    city = build_city([{"measure_id": "a", "capex": 1e6}],
                      funding=[("g", "Grant", "grant", 0.3, NAN, NAN, NAN, "*", "*", ""),
                               ("own", "Own", "own_funds", 1.0, NAN, 0.0, NAN, "*", "*", "straight")])
    for basis, want in (("net", 17_500.0), ("gross", 25_000.0)):
        fin, _ = plan(city, scenario(inflation=0.0, internal_rate=0.025, internal_interest_basis=basis))
        bi = fin.budget_impact.set_index("year")
        assert bi.loc[2028, "internal_interest"] == pytest.approx(want)
        assert bi.loc[2028, "depreciation"] == pytest.approx(70_000.0)


def test_the_budget_impact_is_in_nominal_kronor():
    # opex +5 000 a year in 2025 kronor; at 2 % inflation the 2028 budget sees 5 000 × 1.02³ = 5 306.04
    city = build_city([{"measure_id": "a", "capex": 0.0, "opex_change_per_year": 5000.0}])
    fin, _ = plan(city, scenario(inflation=0.02))
    assert fin.budget_impact.set_index("year").loc[2028, "opex_change"] == pytest.approx(5000 * 1.02**3)


@pytest.fixture(scope="module")
def landskrona():
    from climateinvest.run import run_scenario

    sc = load_scenario(ROOT / "parameters/2027/base.yaml").with_changes(monte_carlo=None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_scenario(sc)


def test_grants_in_the_portfolio_costs_equal_the_financing_plans_to_the_ore(landskrona):
    r = landskrona
    chosen = r.portfolio
    used = float((chosen["grant_share"] * r.flows.capex.sum(axis=1)[
        [r.flows.measure_ids.index(m) for m in chosen["measure_id"]]]).sum())
    assert abs(used - r.summary["financing"]["grant_total"]) < 0.005
    # and to the plan's own table as a reader sees it: the grant sources' columns per year
    grant_ids = r.city.funding_sources.loc[r.city.funding_sources["kind"] == "grant", "source_id"]
    assert abs(used - float(r.financing[list(grant_ids)].to_numpy().sum())) < 0.005
    assert used > 1e6  # Landskrona's base portfolio does get grants: the equality is not 0 = 0
    assert r.summary["grants"]["converged"]
    # the MAC curve and the appraisal use the same grants as the portfolio
    m = r.measures.set_index("measure_id")
    assert np.allclose(m.loc[chosen["measure_id"], "grant_share"], chosen["grant_share"])
    assert all(b.startswith("allocated") for b in m.loc[chosen["measure_id"], "grant_basis"]
               if m.loc[chosen["measure_id"], "grant_share"].any())
    # the first screen's portfolio cost per tonne = NPV ÷ tonnes recomputed from the plan's grants
    rate, y0 = r.scenario.real_rate, r.scenario.plan_years[0]
    cf = r.steps["financing"]
    pos = [r.flows.measure_ids.index(x) for x in chosen["measure_id"]]
    assert len(pos) and cf is not None
    npv = chosen["npv_cost"].sum()
    tonnes = 0.0
    from climateinvest.portfolio.select import flows_for_chosen
    fl = flows_for_chosen(r.city, r.scenario, chosen)
    ab = fl.abatement * chosen["scale"].to_numpy(float)[:, None]
    shift = (1 + rate) ** -(chosen["start_year"].to_numpy(float) - y0)
    # the municipal perspective divides by the tonnes the municipal group's own measures buy
    own = chosen["payer"].isin(["municipality", "municipal_company"]).to_numpy()
    assert r.scenario.perspective == "municipal" and own.any() and not own.all()
    tonnes = float((np.asarray(finance.npv(rate, ab)) * shift)[own].sum())
    assert r.summary["portfolio"]["cost_per_tco2e"] == pytest.approx(npv / tonnes, rel=1e-9)


def test_the_budget_impact_is_reported_per_payer_and_no_loan_outlives_its_asset(landskrona):
    r = landskrona
    by_payer = r.extra["financing_budget_impact_by_payer"]
    assert set(by_payer["payer"]) <= {"municipality", "municipal_company"}
    total = r.extra["financing_budget_impact"].set_index("year")["net"]
    assert by_payer.groupby("year")["net"].sum().reindex(total.index, fill_value=0.0).to_numpy() == pytest.approx(
        total.to_numpy())
    life = r.city.measures.set_index("measure_id")["lifetime_years"]
    loans = r.extra["financing_loans"]
    assert (loans["term_years"].to_numpy() <= life.loc[loans["measure_id"]].to_numpy()).all()
    assert set(r.summary["conventions"]) >= {"rate_basis", "real_rate", "inflation", "perspective", "grant_basis",
                                             "loan_term", "internranta", "factor_basis"}


def test_the_fictional_town_uses_its_own_rates_and_currency():
    """Nothing Landskrona- or Sweden-specific leaks into Exempelstad (EUR, no SKR table)."""
    from climateinvest.run import run_scenario

    sc = load_scenario(ROOT / "parameters/exempelstad/base.yaml").with_changes(monte_carlo=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "SKR internränta for 2027 not found" warning
        r = run_scenario(sc)
    # 3 % nominal at 2 % inflation: 1.03 / 1.02 − 1 = 0.980 % real
    assert sc.real_rate == pytest.approx(0.01 / 1.02, rel=1e-12)
    assert r.summary["financing"]["internal_rate"] == 0.03
    conv = r.summary["conventions"]
    assert "EUR" in conv["inflation"] and "kronor" not in " ".join(conv.values())
    assert "as given" in conv["inflation"] and conv["warnings"] == "none"
    assert conv["carbon_budget"] == "the budget is in CO2e, like the pathway"
    assert "nominal EUR" in r.summary["financing"]["money"]
    # the homeowners' heat pumps cost the town nothing in the municipal perspective
    m = r.measures.set_index("measure_id")
    assert m.loc["ex_oil_boiler_grant", "npv_cost"] == 0.0


def test_a_fossil_co2_budget_is_labelled_an_indicator_on_the_chart_and_the_first_screen(landskrona):
    """Klimatkollen's budget is fossil CO2 only, the pathway all greenhouse gases (issue 11 item 8)."""
    from climateinvest.report.plots.pathway import carbon_budget_figure
    from climateinvest.report.results import key_figures

    r = landskrona
    assert r.summary["pathway"]["carbon_budget_basis"] == "fossil_co2"
    fig = carbon_budget_figure(r.steps.pathway)
    assert "fossil-CO2 carbon budget: an indicator" in fig.layout.title.text
    assert any("t fossil CO2 only" in (a.text or "") for a in fig.layout.annotations)
    [card] = [k for k in key_figures(r) if k["id"] == "budget_runs_out_year"]
    assert "indicator: a fossil-CO2 budget against all greenhouse gases" in card["label"]
    assert "fossil CO2 only" in r.summary["conventions"]["carbon_budget"]

"""The finance officer's levers: typed input as people write it, measures forced in or out, fixed
start years, grants off, and the key figures the explorer and the report share."""
from __future__ import annotations

import pytest
from conftest import DEFAULT_CYCLE

from climateinvest import load_city, load_scenario
from climateinvest.io.city import check_scenario
from climateinvest.io.errors import ValidationError
from climateinvest.report.explorer.inputs import InputError, money, percent
from climateinvest.report.i18n import Context, use
from climateinvest.run import run_interactive


@pytest.fixture(autouse=True)
def swedish():
    use(Context(lang="sv", currency="SEK"))


@pytest.mark.parametrize("typed, share", [("3", 0.03), ("3 %", 0.03), ("3%", 0.03), ("2,5 %", 0.025),
                                          ("2.5", 0.025), ("0.025", 0.025), ("0,025", 0.025), ("−1 %", -0.01)])
def test_percent_reads_what_people_type(typed, share):
    assert percent(typed, -0.05, 0.5, "ränta").value == pytest.approx(share, abs=1e-12)


def test_percent_shows_what_it_read_and_refuses_out_of_range():
    assert percent("2,5 %", 0, 0.5, "ränta").shown == "2,5\u202f%"
    with pytest.raises(InputError, match="läses som 80"):
        percent("80", 0, 0.5, "ränta")
    with pytest.raises(InputError, match="inte ett tal"):
        percent("tre", 0, 0.5, "ränta")


@pytest.mark.parametrize("typed, amount", [("10 000", 1e4), ("10\u00a0000\u00a0000", 1e7), ("10\u202f000", 1e4),
                                           ("12,5 mnkr", 12.5e6), ("2.5 MSEK", 2.5e6), ("1.234,5", 1234.5),
                                           ("1,234.5", 1234.5), ("750 tkr", 750e3), ("7000", 7000.0)])
def test_money_reads_spaces_decimal_commas_and_units(typed, amount):
    assert money(typed, 0, 1e12, "belopp").value == pytest.approx(amount)


def test_money_refuses_unknown_units_and_out_of_range():
    with pytest.raises(InputError, match="okänd"):
        money("10 dollar", 0, 1e9, "belopp")
    with pytest.raises(InputError, match="tillåtet"):
        money("-5", 0, 1e9, "belopp")


@pytest.fixture(scope="module")
def base():
    s = load_scenario(DEFAULT_CYCLE / "base.yaml")
    city = load_city(s.city)
    return s, city, run_interactive(s, city)


def test_out_in_and_fixed_start_are_obeyed(base):
    s, city, r = base
    chosen = r.portfolio
    out_id = chosen["measure_id"].iloc[0]
    in_id = next(m for m in city.measure_ids if m not in set(chosen["measure_id"]) and
                 int(city.measures.set_index("measure_id").loc[m, "earliest_start_year"]) <= 2029)
    fix_id = chosen["measure_id"].iloc[1]
    year = 2029 if int(chosen["start_year"].iloc[1]) != 2029 else 2028
    s2 = s.with_changes(measures_in=[in_id, fix_id], measures_out=[out_id], start_years={fix_id: year})
    r2 = run_interactive(s2, city, previous=r)
    got = r2.portfolio.set_index("measure_id")
    assert in_id in got.index and out_id not in got.index
    assert int(got.loc[fix_id, "start_year"]) == year
    assert any("measures_out" in n for n in r2.steps.portfolio.notes)


def test_grants_off_means_no_grant_anywhere(base):
    s, city, r = base
    assert r.summary["financing"]["grant_total"] > 0
    r2 = run_interactive(s.with_changes(grants=False), city)
    assert r2.summary["financing"]["grant_total"] == 0
    assert (r2.measures["grant_share"].fillna(0) == 0).all()


def test_a_previous_result_does_not_change_the_fixed_point(base):
    """The fixed point starts from the lone-candidate grants whatever came before, as the batch
    does: from the 2,0 % result's grants a 3,0 % run once settled on another plan (bus_biogas 2029
    instead of 2028) than run_scenario's."""
    s, city, r = base
    s3 = s.with_changes(discount_rate=0.03, rate_basis="real")
    cold = run_interactive(s3, city)
    after = run_interactive(s3, city, previous=run_interactive(s.with_changes(discount_rate=0.02,
                                                                              rate_basis="real"), city))
    assert list(zip(after.portfolio["measure_id"], after.portfolio["start_year"], strict=True)) == \
        list(zip(cold.portfolio["measure_id"], cold.portfolio["start_year"], strict=True))
    # bus_biogas is paid by others at no cost to the group: it starts in its earliest plan year
    assert dict(zip(cold.portfolio["measure_id"], cold.portfolio["start_year"], strict=True))["bus_biogas"] == 2027
    assert after.grant_rounds == cold.grant_rounds and cold.grant_rounds["converged"]
    assert after.summary["portfolio"]["npv_cost"] == cold.summary["portfolio"]["npv_cost"]


def test_unknown_or_conflicting_measures_are_refused(base):
    s, city, _ = base
    with pytest.raises(ValidationError, match="no measure 'fleet_eev'.*fleet_ev"):
        check_scenario(city, s.with_changes(measures_in=["fleet_eev"]))
    with pytest.raises(ValueError, match="both"):
        s.with_changes(measures_in=["fleet_ev"], measures_out=["fleet_ev"])
    with pytest.raises(ValueError, match="plan year"):
        s.with_changes(start_years={"fleet_ev": 2035})


def test_the_explorer_panel_shows_the_report_summary_figures(base):
    from climateinvest.report.decision import key_figures

    _, _, r = base
    figs = {f.key: f.value for f in key_figures(r)}
    fs, ps, ws = r.summary["financing"], r.summary["portfolio"], r.summary["pathway"]
    # all payers' investment (the card splits it by payer) and the municipal group's financed part
    assert figs["investment"] == pytest.approx(r.portfolio["capex"].sum(), abs=1)
    assert figs["financing"] == fs["investment_total"]
    assert figs["npv_cost"] == ps["npv_cost"]
    assert figs["abatement"] == ws["target_year_abatement_territorial_tco2e"]
    assert figs["gap"] == ws["gap_tco2e"] and figs["loans"] == fs["loan_total"]
    assert figs["financing_gap"] == fs["gap_total"]

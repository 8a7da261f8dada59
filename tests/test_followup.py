"""Follow-up and the next cycle (issue 16): carry-forward rules on a hand-made case, the adopted
plan never overwritten, the follow-up table's messages, the green-loan reconciliation and the
round trip adopt 2027 → follow-up → run 2028."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import climateinvest as ci
from climateinvest.followup import carry_forward, load_followup
from climateinvest.followup import outcome as oc
from climateinvest.followup.plan import AdoptedPlan, PlannedMeasure, adopt_scenario, load_plan, plan_text, write_new
from climateinvest.io.errors import ValidationError
from climateinvest.io.scenario import Scenario
from tests.citybuilder import build_city

ROOT = Path(__file__).resolve().parents[1]
HEADER = ("measure_id,period,status,decided_total,estimated_total,spent_to_date,grant_decided,grant_paid,"
          "green_loan_drawn,indicator,indicator_unit,indicator_value,indicator_target,achieved_tco2e,"
          "tco2e_method,new_start_year,return_as_candidate,deviation\n")


def small_city():
    # Five measures on one heat source of 5 000 t (inventory 2020); tonnes as direct abatement.
    rows = [dict(measure_id=m, capex=c, capex_years=y, direct_abatement_tco2e_per_year=t)
            for m, c, y, t in [("d", 200_000, 1, 100), ("o", 1_000_000, 2, 50), ("l", 500_000, 1, 40),
                               ("c", 300_000, 1, 30), ("r", 100_000, 1, 20), ("n", 150_000, 1, 10)]]
    return build_city(rows)


def small_plan():
    return AdoptedPlan(cycle=2027, city="Testby", scenario="base", measures=[
        PlannedMeasure(measure_id="d", start_year=2027, capex=200_000, expected_tco2e=100),
        PlannedMeasure(measure_id="o", start_year=2027, capex=1_000_000, capex_years=2, expected_tco2e=50),
        PlannedMeasure(measure_id="l", start_year=2027, capex=500_000, expected_tco2e=40),
        PlannedMeasure(measure_id="c", start_year=2028, capex=300_000, expected_tco2e=30),
        PlannedMeasure(measure_id="r", start_year=2028, capex=100_000, expected_tco2e=20)])


FOLLOWUP = HEADER + (
    "d,2027-T2,done,200000,200000,200000,0,0,0,,,,,80,estimated,,,\n"
    "o,2027-T2,ongoing,1000000,1100000,400000,0,0,0,,,,,,,,,\n"
    "l,2027-T2,delayed,500000,500000,50000,0,0,0,,,,,,,2029,,grid connection moved\n"
    "c,2027-T2,cancelled,,,0,0,0,0,,,,,,,,no,withdrawn\n"
    "r,2027-T2,cancelled,,,0,0,0,0,,,,,,,,yes,referred back\n")


@pytest.fixture
def start(tmp_path):
    (tmp_path / "plan.yaml").write_text(plan_text(small_plan()), encoding="utf-8")
    (tmp_path / "followup.csv").write_text(FOLLOWUP, encoding="utf-8")
    scenario = Scenario(title="t", city=tmp_path, budget_cycle=2028, adopted_plan=tmp_path / "plan.yaml",
                        followup=tmp_path / "followup.csv", emission_factor_set="x",
                        investment_budget={2028: 1_000_000, 2029: 1_000_000, 2030: 1_000_000},
                        carbon_budget={"from_year": 2020, "tco2e": 100_000})
    return carry_forward(small_city(), scenario)


def test_done_leaves_the_candidates_and_its_achieved_tonnes_join_the_plan(start):
    assert "d" not in start.candidates.measure_ids
    d = start.carried.set_index("measure_id").loc["d"]
    assert d["scale"] == pytest.approx(80 / 100)  # achieved 80 t of the 100 t expected
    assert d["remaining_capex"] == 0.0 and d["start_year"] == 2027


def test_ongoing_keeps_decided_minus_spent_from_the_budget_year(start):
    o = start.carried.set_index("measure_id").loc["o"]
    assert o["remaining_capex"] == 1_000_000 - 400_000  # decided total − spent, not the 1.1 M estimate
    assert o["start_year"] == 2028 and o["capex_years"] == 1  # 2027 + 2 investment years − 2028
    row = start.city.measures.set_index("measure_id").loc["o"]
    assert row["capex"] == 600_000 and row["earliest_start_year"] == 2028


def test_delayed_start_shifts_and_its_budget_commitment_follows(start):
    l_ = start.carried.set_index("measure_id").loc["l"]
    assert l_["start_year"] == 2029 and l_["remaining_capex"] == 500_000 - 50_000
    # commitments per plan year: o 600 000 in 2028; l 450 000 in 2029; nothing in 2030
    assert start.committed_investment([2028, 2029, 2030]).tolist() == [600_000, 450_000, 0]


def test_cancelled_returns_only_where_the_file_says_so(start):
    assert "c" not in start.city.measure_ids and "c" not in start.candidates.measure_ids
    assert "r" in start.candidates.measure_ids and "n" in start.candidates.measure_ids
    assert sorted(start.candidates.measure_ids) == ["n", "r"]


def test_carbon_budget_used_so_far_is_deducted(start):
    # inventory: 5 000 t in 2020 (the only inventory year) → 100 000 − 5 000 from 2021
    assert start.carbon_budget_used_tco2e == 5000
    assert start.scenario.carbon_budget.from_year == 2021 and start.scenario.carbon_budget.tco2e == 95_000


def test_new_selection_gets_the_budget_less_the_commitments(start):
    m = start.candidates
    measures = ci.appraisal.appraise(ci.cashflows.build_flows(m, "base", "x", 2028), m, 0.025)
    p = start.select_portfolio(m, start.scenario, measures)
    use = p.budget_use.set_index("year")
    assert use["committed"].tolist() == [600_000, 450_000, 0]
    assert (use["spent"] <= use["budget"] + 0.01).all()
    carried = p.chosen.set_index("measure_id")["carried"]
    assert carried.to_dict() | {} == {"d": "done", "o": "ongoing", "l": "delayed", **{k: "" for k in carried.index
                                                                                    if k in ("r", "n")}}
    # r (100 000) and n (150 000) both fit into 2028's 400 000 left: both are chosen
    assert set(carried.index) == {"d", "o", "l", "r", "n"}


def test_an_adopted_plan_is_never_overwritten(tmp_path):
    path = write_new(tmp_path / "plans" / "2027.yaml", plan_text(small_plan()))
    before = path.read_bytes()
    with pytest.raises(ValidationError, match="exists already: an adopted plan is never overwritten"):
        write_new(path, "something else")
    assert path.read_bytes() == before
    assert load_plan(path).measure_ids == ["d", "o", "l", "c", "r"]
    assert [p.name for p in path.parent.iterdir()] == ["2027.yaml"]  # no temporary file left


def test_followup_validation_names_file_row_column_value_and_rule(tmp_path):
    bad = tmp_path / "2027.csv"
    bad.write_text(HEADER + (
        "d,2027-T2,finished,,,0,0,0,0,,,,,,,,,\n"            # row 2: unknown status
        "o,2027-T4,ongoing,1000000,,1200000,0,0,0,,,,,,,,,\n"  # row 3: bad period; spent > decided
        "l,2027-T2,delayed,500000,,0,0,0,0,,,,,,,,,\n"         # row 4: delayed needs a year and a reason
        "x,2027-T2,planned,,,0,5,6,0,,,,,12,,,,\n"),           # row 5: unknown measure; paid > decided; no method
        encoding="utf-8")
    with pytest.raises(ValidationError) as e:
        load_followup(bad, ["d", "o", "l", "c", "r"], {"l": 2027})
    got = [str(p) for p in e.value.problems]
    expected = [
        "2027.csv row 2, column status: must be one of planned, decided, ongoing, done, delayed, cancelled, "
        "got 'finished'",
        "2027.csv row 3, column period: must be a year (2027) or a tertial (2027-T1, 2027-T2, 2027-T3), "
        "got '2027-T4'",
        "2027.csv row 3, column spent_to_date: must be at most the estimated total (1e+06); update "
        "estimated_total (beräknad totalutgift), got 1200000",
        "2027.csv row 4, column new_start_year: must not be empty for status delayed: the year the start moves to",
        "2027.csv row 4, column deviation: must explain the deviation for status delayed",
        "2027.csv row 5, column tco2e_method: must say how achieved_tco2e was obtained (measured, calculated, "
        "estimated)",
        "2027.csv row 5, column grant_paid: must be at most grant_decided (5), got 6",
        "2027.csv row 5, column measure_id: must be a measure of the adopted plan (c, d, l, o, r), got 'x'",
        "2027.csv, column measure_id: has no row for 'c' of the adopted plan: every adopted measure needs a status",
        "2027.csv, column measure_id: has no row for 'r' of the adopted plan: every adopted measure needs a status",
    ]
    assert got == expected


def test_traffic_lights_follow_the_stated_rules(start):
    pv = oc.plan_vs_outcome(start.plan, start.followup).set_index("measure_id")
    # d done at 80 % of its tonnes (≥ 80 %: green); o estimate 10 % over decided (not > 10 %: green);
    # l delayed: yellow; c and r cancelled: red
    assert pv["light"].to_dict() == {"d": "green", "o": "green", "l": "yellow", "c": "red", "r": "red"}
    assert pv.loc["o", "cost_deviation"] == pytest.approx(0.10)
    assert pv["delivery"].to_dict() == {"d": "done", "o": "partly done", "l": "not done", "c": "not done",
                                        "r": "not done"}


@pytest.fixture(scope="module")
def landskrona_2028():
    scenario = ci.load_scenario(ROOT / "parameters/2028/base.yaml")
    return scenario, ci.run_scenario(scenario)


def test_green_loan_report_reconciles_with_the_financing_plan(landskrona_2028):
    scenario, r = landskrona_2028
    start = carry_forward(ci.load_city(scenario.city), scenario)
    alloc = r.steps.financing.allocation
    g = oc.green_loan_report(r.city, r.scenario, r.portfolio, alloc, start.followup, ["kommuninvest_green"])
    planned = alloc.loc[alloc["source_id"] == "kommuninvest_green", "amount"].sum()
    assert g["loan_amount"].sum() == pytest.approx(planned, abs=0.005)
    assert g["loan_amount"].sum() == pytest.approx(r.summary["financing"]["loan_total"], abs=0.005)
    # public charging was done in 2027 on a 3.96 MSEK drawdown: re-reported although no loan is left
    pc = g.set_index("measure_id").loc["public_charging"]
    assert pc["loan_amount"] == 0 and pc["loan_drawn_to_date"] == 3_960_000 and pc["actual_tco2e"] == 118
    assert ((g["loan_share"] > 0) & (g["loan_share"] <= 1) | (g["loan_amount"] == 0)).all()


def test_landskrona_2028_carries_the_2027_plan(landskrona_2028):
    _, r = landskrona_2028
    c = r.portfolio.set_index("measure_id")
    assert c.loc["energy_management", "carried"] == "done" and c.loc["energy_management", "capex"] == 0
    assert c.loc["cycle_network", "capex"] == 40_000_000 - 22_000_000  # decided − spent by 2027-T2
    assert c.loc["depot_charging", "start_year"] == 2028  # delayed from 2027
    assert "farm_biogas" not in c.index  # cancelled, not to return
    use = r.steps.portfolio.budget_use.set_index("year")
    # committed in 2028: fleet 4.4 + cycle paths 18 + depot 6.9 + heat pumps 7.8 MSEK (oil boilers: external)
    assert use.loc[2028, "committed"] == pytest.approx(37_100_000)
    assert (use["spent"] <= use["budget"] + 0.01).all()
    assert r.scenario.carbon_budget.from_year == 2025  # 2024 inventory (237 496 t) deducted
    assert r.scenario.carbon_budget.tco2e == pytest.approx(348_151 - 237_496, abs=1)
    assert any(k.endswith("plans/2027.yaml") for k in r.inputs_sha256)


@pytest.mark.slow
def test_round_trip_adopt_followup_run_holds_no_done_measure(tmp_path):
    city = tmp_path / "city"
    shutil.copytree(ROOT / "data/landskrona", city, ignore=shutil.ignore_patterns("plans", "followup"))
    base = ci.load_scenario(ROOT / "parameters/2027/base.yaml")
    base = base.model_copy(update={"city": city, "monte_carlo": None})
    ci.run_scenario(base).save(tmp_path / "run" / "base")
    plan_path = adopt_scenario(tmp_path / "run", "base")
    assert plan_path == city / "plans" / "2027.yaml"
    plan = load_plan(plan_path)
    done = [m.measure_id for m in plan.measures if m.start_year == 2027]  # everything started in 2027 is done
    rows = [f"{m.measure_id},2027,{'done' if m.measure_id in done else 'planned'},"
            f"{m.capex if m.measure_id in done else ''},,{m.capex if m.measure_id in done else 0},0,0,0,,,,,,,,,"
            for m in plan.measures]
    (city / "followup").mkdir()
    (city / "followup" / "2027.csv").write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    (tmp_path / "2028.yaml").write_text(
        f"title: t\ncity: {city}\nbudget_cycle: 2028\nadopted_plan: {plan_path}\n"
        f"followup: {city / 'followup' / '2027.csv'}\n"
        "investment_budget: {2028: 40000000, 2029: 40000000, 2030: 40000000}\n", encoding="utf-8")
    r = ci.run_scenario(tmp_path / "2028.yaml")
    new = r.portfolio[r.portfolio["carried"] == ""]
    assert done and not set(done) & set(new["measure_id"])
    assert set(r.portfolio.loc[r.portfolio["carried"] == "done", "measure_id"]) == set(done)
    with pytest.raises(ValidationError, match="never overwritten"):
        adopt_scenario(tmp_path / "run", "base")
    # the command line says the same and exits 2
    cli = subprocess.run([sys.executable, "-m", "climateinvest.cli", "adopt", str(tmp_path / "run"), "base"],
                         capture_output=True, text=True, timeout=120)
    assert cli.returncode == 2 and "never overwritten" in cli.stderr and "Traceback" not in cli.stderr
    assert np.isfinite(r.summary["pathway"]["gap_tco2e"])
    assert isinstance(r.measures, pd.DataFrame)


def test_followup_pages_are_swedish_offline_and_show_the_same_figures(landskrona_2028, tmp_path):
    from climateinvest.report.followup import sv_number, write_followup_reports

    _, r = landskrona_2028
    r.save(tmp_path / "run" / "base")
    pages = write_followup_reports(tmp_path / "run")
    assert [p.name for p in pages] == ["uppfoljning.html", "andringar.html", "grona_lan.html", "eu_indikatorer.html"]
    text = {p.stem: p.read_text(encoding="utf-8") for p in pages}
    assert all('<html lang="sv">' in t and "Illustrativt exempel" in t for t in text.values())
    assert "Trafikljus" in text["uppfoljning"] and "Avvikelser" in text["uppfoljning"]
    # one number per fact: the gap to the target on the outcome page is the run's
    assert sv_number(r.summary["pathway"]["gap_tco2e"]) in text["uppfoljning"]
    assert sv_number(r.summary["financing"]["loan_total"]) in text["grona_lan"]
    changed = pd.read_csv(tmp_path / "run" / "followup" / "base" / "andringar.csv").set_index("measure_id")
    assert changed.loc["depot_charging", "change"].startswith("start 2027 → 2028")
    assert "grid connection" in changed.loc["depot_charging", "reason"]
    assert changed.loc["farm_biogas", "change"] == "left the plan"

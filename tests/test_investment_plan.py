"""The EU Cities Mission's Investment Plan tables (climateinvest.territory.investment_plan): the gap per
sector adds up to the pathway, the capital planning to the investment per actor, the euros to the
stated rate; ETS and non-ETS add up to the territory; and Landskrona's whole-territory plan."""
from __future__ import annotations

import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from citybuilder import build_city
from conftest import ROOT

from climateinvest.cashflows import build_flows
from climateinvest.io.scenario import Scenario
from climateinvest.territory.investment_plan import (
    ACTOR_COLUMNS,
    CAPITAL_COLUMNS,
    COSTING_COLUMNS,
    GAP_COLUMNS,
    build_investment_plan,
    gap_by_sector,
)
from climateinvest.territory.pathway import build_pathway


def scenario(**kw) -> Scenario:
    kw.setdefault("target", {"year": 2030, "reduction": 0.5, "base_year": 2020})
    return Scenario(title="t", city=Path("."), budget_cycle=2027, **kw)


def by_source_rows(rows):
    return pd.DataFrame(rows, columns=["year", "source_id", "sector", "scope", "baseline_tco2e", "abatement_tco2e"])


def test_the_gap_per_sector_by_hand():
    # heat (buildings): 1 000 t in 2020 (base year), 800 t in 2024 (now), projected 700 t in 2030,
    # of which the plan cuts 50 t; road (transport): 600, 500, 500, cut 0; grid is indirect
    rows = by_source_rows([
        (2020, "heat", "buildings", "territorial", 1000.0, 0.0), (2024, "heat", "buildings", "territorial", 800.0, 0.0),
        (2030, "heat", "buildings", "territorial", 700.0, 50.0),
        (2020, "road", "transport", "territorial", 600.0, 0.0), (2024, "road", "transport", "territorial", 500.0, 0.0),
        (2030, "road", "transport", "territorial", 500.0, 0.0),
        (2024, "grid", "energy", "indirect", 300.0, 0.0), (2030, "grid", "energy", "indirect", 300.0, 40.0)])
    g = gap_by_sector(rows, scenario(), 2024).set_index("sector")
    assert list(g.reset_index().columns) == GAP_COLUMNS and list(g.index) == ["buildings", "transport", "total"]
    # buildings: target 0.5 × 1 000 = 500; existing measures 800 − 700 = 100; gap 700 − 500 = 200;
    # plan 50; left 150. transport: target 300, existing 0, gap 200, plan 0, left 200
    assert g.loc["buildings"].tolist() == [800.0, 500.0, 100.0, 200.0, 50.0, 150.0]
    assert g.loc["transport"].tolist() == [500.0, 300.0, 0.0, 200.0, 0.0, 200.0]
    assert g.loc["total"].tolist() == [1300.0, 800.0, 100.0, 400.0, 50.0, 350.0]


def _plan_case(eur_rate=None):
    city = build_city([
        {"measure_id": "A", "capex": 10e6, "payer": "municipality", "actor": "Tekniska nämnden", "control": "direct",
         "opex_change_per_year": -1e5, "direct_abatement_tco2e_per_year": 100.0},
        {"measure_id": "B", "capex": 4e6, "payer": "municipal_company", "actor": "Landskrona Energi",
         "control": "direct", "direct_abatement_tco2e_per_year": 50.0},
        {"measure_id": "C", "capex": 30e6, "payer": "external", "actor": "Industri AB", "control": "none",
         "financing_identified_share": 0.4, "financing_note": "Industriklivet applied for",
         "direct_abatement_tco2e_per_year": 200.0},
        {"measure_id": "D", "capex": 6e6, "payer": "external", "actor": "Industri AB", "control": "none",
         "financing_identified_share": np.nan, "direct_abatement_tco2e_per_year": 20.0}])
    city = replace(city, eur_rate=eur_rate, eur_rate_date="2024", eur_rate_source="ECB")
    chosen = pd.DataFrame({"measure_id": list("ABCD"), "payer": city.measures["payer"], "start_year": 2027,
                           "capex": city.measures["capex"], "adjusted_tco2e": [100.0, 50.0, 200.0, 20.0],
                           "cost_per_tco2e": [500.0, 800.0, 1100.0, 2000.0]})
    # the financing plan leaves 1 MSEK of A unfinanced (a gap) and covers B
    allocation = pd.DataFrame([("A", 2027, "loan", "loan", 9e6), ("A", 2027, "financing_gap", "gap", 1e6),
                               ("B", 2027, "grant", "grant", 4e6), ("C", 2027, "external", "external", 30e6)],
                              columns=["measure_id", "year", "source_id", "kind", "amount"])
    rows = by_source_rows([(2020, "heat", "buildings", "territorial", 1000.0, 0.0),
                           (2024, "heat", "buildings", "territorial", 900.0, 0.0),
                           (2030, "heat", "buildings", "territorial", 900.0, 370.0)])
    whole = pd.Series([900.0, 1000.0, 1500.0, np.nan], index=list("ABCD"))  # all actors' cost per tonne
    return build_investment_plan(city, scenario(), chosen, allocation, rows, 2024, all_actors_cost_per_tco2e=whole)


def test_capital_planning_adds_up_per_actor_and_converts_at_the_stated_rate():
    p = _plan_case(eur_rate=11.0)
    assert list(p.costing.columns) == COSTING_COLUMNS and list(p.capital.columns) == CAPITAL_COLUMNS
    assert list(p.by_actor.columns) == ACTOR_COLUMNS
    cap = p.capital.set_index("measure_id")
    # A: 10 MSEK to the municipal group, 9 MSEK financed (1 MSEK gap); B fully financed;
    # C: 30 MSEK to others, 40 % identified; D: nothing identified (empty share)
    assert cap["cost_to_municipality"].tolist() == [10e6, 4e6, 0.0, 0.0]
    assert cap["cost_to_others"].tolist() == [0.0, 0.0, 30e6, 6e6]
    assert cap["identified_financing"].tolist() == pytest.approx([9e6, 4e6, 12e6, 0.0])
    assert cap["identified_share"].tolist() == pytest.approx([0.9, 1.0, 0.4, 0.0])
    assert cap.loc["C", "financing_note"] == "Industriklivet applied for"
    actor = p.by_actor.set_index("actor")
    for name, group in p.capital.groupby("actor"):
        assert actor.loc[name, "capex"] == pytest.approx(group["capex"].sum())
    assert actor.loc["Industri AB", "unfinanced"] == pytest.approx(36e6 - 12e6)
    assert actor.loc["Industri AB", "control"] == "none" and actor.loc["Industri AB", "n_measures"] == 2
    assert actor["capex"].sum() == pytest.approx(50e6) == p.summary["capex"]
    # euros: 11 SEK per EUR
    assert cap.loc["C", "capex_eur"] == pytest.approx(30e6 / 11.0)
    costing = p.costing.set_index("measure_id")
    assert costing.loc["C", "cost_per_tco2e"] == 1100.0 and costing.loc["C", "cost_per_tco2e_all_actors"] == 1500.0
    assert costing.loc["C", "cost_per_tco2e_all_actors_eur"] == pytest.approx(1500.0 / 11.0)
    assert p.summary["eur_rate"] == 11.0 and p.summary["eur_rate_source"] == "ECB"


def test_without_a_rate_the_euro_columns_are_empty_and_the_summary_says_so():
    p = _plan_case(eur_rate=None)
    assert p.capital["capex_eur"].isna().all() and p.by_actor["capex_eur"].isna().all()
    assert p.summary["eur_rate"] is None


def test_ets_and_non_ets_add_up_to_the_territory():
    base = pd.DataFrame([("industry", "industry", 2020, 1000.0, "territorial", np.nan),
                         ("industry", "industry", 2024, 1000.0, "territorial", 600.0),
                         ("road", "transport", 2020, 500.0, "territorial", np.nan),
                         ("road", "transport", 2024, 500.0, "territorial", np.nan)],
                        columns=["source_id", "sector", "year", "tco2e", "scope", "ets_tco2e"])
    city = build_city([
        {"measure_id": "E", "emission_source": "industry", "sector": "industry", "ets": "true", "payer": "external",
         "direct_abatement_tco2e_per_year": 700.0, "capex": 1.0, "earliest_start_year": 2027},
        {"measure_id": "N", "emission_source": "industry", "sector": "industry", "ets": "false",
         "direct_abatement_tco2e_per_year": 100.0, "capex": 1.0, "earliest_start_year": 2027}], baseline=base)
    flows = build_flows(city, "base", "nordic_mix", [2027, 2027])
    chosen = pd.DataFrame({"measure_id": ["E", "N"], "start_year": [2027, 2027], "scale": [1.0, 1.0]})
    p = build_pathway(city, scenario(), chosen, flows)
    t = p.table.set_index("year")
    from climateinvest.report.plots.pathway import pathway_figure
    ets_line = [tr for tr in pathway_figure(p).data if "EU ETS" in (tr.name or "")]
    assert len(ets_line) == 1 and list(ets_line[0].x)[0] == 2024  # drawn from the last inventory year
    assert ets_line[0].y[list(ets_line[0].x).index(2030)] == pytest.approx(0.0)
    # industry: 600 t ETS and 400 t outside; E's 700 t cut the ETS part only, to zero (100 t cut off);
    # N's 100 t cut the rest to 300 t; road 500 t is outside the ETS
    assert t.loc[2030, "baseline_ets_tco2e"] == pytest.approx(600.0)
    assert t.loc[2030, "with_portfolio_ets_tco2e"] == pytest.approx(0.0)
    assert t.loc[2030, "with_portfolio_non_ets_tco2e"] == pytest.approx(300.0 + 500.0)
    assert t.loc[2030, "with_portfolio_territorial_tco2e"] == pytest.approx(800.0)
    after = t.loc[2024:]
    np.testing.assert_allclose(after["with_portfolio_ets_tco2e"] + after["with_portfolio_non_ets_tco2e"],
                               after["with_portfolio_territorial_tco2e"])
    assert t.loc[:2023, "baseline_ets_tco2e"].isna().all()  # the share is known from 2024 on


@pytest.fixture(scope="module")
def landskrona():
    import climateinvest as ci
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ci.run_scenario(ROOT / "parameters" / "2027" / "base.yaml")


def test_landskrona_gap_table_adds_up_to_the_pathway(landskrona):
    ip, pw = landskrona.steps.investment_plan, landskrona.steps.pathway
    total = ip.gap.set_index("sector").loc["total"]
    s = pw.summary
    assert total["target_tco2e"] == pytest.approx(s["target_tco2e"])
    assert total["gap_tco2e"] == pytest.approx(s["baseline_gap_tco2e"])
    assert total["residual_tco2e"] == pytest.approx(s["gap_tco2e"])
    assert total["plan_tco2e"] == pytest.approx(s["target_year_abatement_territorial_tco2e"])
    sectors = ip.gap[ip.gap["sector"] != "total"]
    by_sector = pw.by_sector.set_index("year").loc[s["target_year"]]
    for _, row in sectors.iterrows():  # every sector's residual + target is the pathway's sector
        assert row["residual_tco2e"] + row["target_tco2e"] == pytest.approx(by_sector[row["sector"]])


def test_landskrona_capital_need_adds_up_to_the_portfolio_per_payer(landskrona):
    ip, chosen = landskrona.steps.investment_plan, landskrona.steps.portfolio.chosen
    cap = ip.capital
    city_pays = chosen["payer"].isin(["municipality", "municipal_company"])
    assert cap["cost_to_municipality"].sum() == pytest.approx(chosen.loc[city_pays, "capex"].sum())
    assert cap["cost_to_others"].sum() == pytest.approx(chosen.loc[~city_pays, "capex"].sum())
    assert ip.by_actor["capex"].sum() == pytest.approx(chosen["capex"].sum())
    # nothing outside the municipal group's control is counted against its budget
    m = landskrona.city.measures.set_index("measure_id")
    outside = chosen["measure_id"].map(m["control"]).isin(["indirect", "none"])
    assert not chosen.loc[outside, "counts_against_budget"].any()


def test_the_municipal_groups_own_emissions_by_hand():
    from climateinvest.territory.municipal_scope import SCOPE_COLUMNS, build_municipal_scope
    inv = pd.DataFrame([("heating", 2023, 1000.0, "t"), ("vehicles", 2023, 200.0, "t"), ("vehicles", 2025, 100.0, "t")],
                       columns=["category", "year", "tco2e", "source"])
    city = build_city([
        {"measure_id": "V", "capex": 1.0, "direct_abatement_tco2e_per_year": 150.0, "municipal_category": "vehicles",
         "earliest_start_year": 2027},
        {"measure_id": "H", "capex": 1.0, "direct_abatement_tco2e_per_year": 300.0, "municipal_category": "heating",
         "earliest_start_year": 2027},
        {"measure_id": "T", "capex": 1.0, "direct_abatement_tco2e_per_year": 50.0, "municipal_category": "",
         "earliest_start_year": 2027}])
    city = replace(city, municipal_inventory=inv)
    sc = scenario(municipal_target={"year": 2030, "reduction": 0.5, "base_year": 2023})
    flows = build_flows(city, "base", "nordic_mix", [2027, 2027, 2027])
    chosen = pd.DataFrame({"measure_id": ["V", "H", "T"], "start_year": 2027, "scale": [1.0, 0.5, 1.0]})
    terr = {"base_year": 2020, "base_year_tco2e": 5000.0, "target_year": 2030, "target_tco2e": 2500.0,
            "target_year_baseline_tco2e": 4000.0, "target_year_with_portfolio_tco2e": 3000.0, "gap_tco2e": 500.0}
    r = build_municipal_scope(city, sc, chosen, flows, terr)
    t = r.table.set_index("year")
    # 2030: heating 1 000 t − H's 300 × 0.5 = 850; vehicles 100 t (held after 2025) − V's 150 → 0 (50 t
    # clipped); T names no category. Target: 0.5 × (1 000 + 200) in 2023 = 600
    assert t.loc[2024, "baseline_tco2e"] == pytest.approx(1150.0)  # vehicles half-way 200 → 100
    assert t.loc[2030, "with_portfolio_tco2e"] == pytest.approx(850.0)
    assert t.loc[2030, "abatement_tco2e"] == pytest.approx(250.0)
    assert r.summary["target_tco2e"] == pytest.approx(600.0) and r.summary["gap_tco2e"] == pytest.approx(250.0)
    # V acts 2028–2037 (its investment year 2027, 10 years' life): 50 t cut off each of those years
    assert r.summary["clipped_tco2e"] == pytest.approx(50.0 * 10)
    by = r.by_category.set_index(["year", "category"])
    assert by.loc[(2030, "vehicles"), "clipped_tco2e"] == pytest.approx(50.0)
    assert r.summary["measures_counted"] == ["V", "H"]
    s = r.scopes.set_index("scope")
    assert list(r.scopes.columns) == SCOPE_COLUMNS
    assert s.loc["territorial", "residual_tco2e"] == 500.0 and s.loc["municipal_group", "residual_tco2e"] == 250.0
    # without an inventory there is no second scope
    assert build_municipal_scope(replace(city, municipal_inventory=inv.iloc[:0]), sc, chosen, flows, terr) is None


def test_only_the_municipal_groups_measures_name_a_category_of_its_inventory(tmp_path):
    import shutil

    import climateinvest as ci
    from climateinvest.io.errors import ValidationError
    city = tmp_path / "city"
    shutil.copytree(ROOT / "data" / "landskrona", city)
    m = pd.read_csv(city / "measures.csv", dtype=str, keep_default_na=False)
    m.loc[m["measure_id"] == "farm_biogas", "municipal_category"] = "public_meals"
    m.loc[m["measure_id"] == "fleet_ev", "municipal_category"] = "own_vehicle"
    m.to_csv(city / "measures.csv", index=False)
    with pytest.raises(ValidationError) as e:
        ci.load_city(city)
    text = str(e.value)
    assert "column municipal_category: must be empty for a measure paid by external" in text
    assert "must be a category of municipal_inventory.csv" in text and "own_vehicles" in text


def test_a_city_folder_without_the_territory_columns_still_validates_and_runs(tmp_path):
    """The territory's columns and tables are optional: exempelstad with all of them removed runs,
    with the documented defaults (actor = payer, control direct or indirect, no ETS, planned)."""
    import shutil

    import climateinvest as ci
    city = tmp_path / "exempelstad"
    shutil.copytree(ROOT / "data" / "exempelstad", city)
    new = ["actor", "control", "ets", "status", "financing_identified_share", "financing_note", "municipal_category"]
    m = pd.read_csv(city / "measures.csv", dtype=str, keep_default_na=False)
    m.drop(columns=[c for c in new if c in m]).to_csv(city / "measures.csv", index=False)
    (city / "baseline_projection.csv").unlink()
    meta = [line for line in (city / "city.yaml").read_text(encoding="utf-8").splitlines()
            if not line.startswith("eur_rate")]
    (city / "city.yaml").write_text("\n".join(meta) + "\n", encoding="utf-8")
    loaded = ci.load_city(city)
    ext = loaded.measures.set_index("measure_id").loc["ex_oil_boiler_grant"]
    assert (ext["actor"], ext["control"], ext["status"]) == ("residents", "indirect", "planned")
    own = loaded.measures.set_index("measure_id").loc["ex_led"]
    assert (own["actor"], own["control"]) == ("municipality", "direct") and loaded.eur_rate is None
    sc = ci.load_scenario(ROOT / "parameters" / "exempelstad" / "base.yaml").model_copy(
        update={"city": city, "monte_carlo": None})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = ci.run_scenario(sc, loaded)
    ip = r.steps.investment_plan
    assert ip.by_actor["capex"].sum() == pytest.approx(r.steps.portfolio.chosen["capex"].sum())
    assert ip.capital["capex_eur"].isna().all() and r.steps.municipal_scope is None

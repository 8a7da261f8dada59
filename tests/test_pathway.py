"""Emission pathway by hand: baseline − portfolio, scopes kept apart, target line, carbon budget."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from citybuilder import BASE_COLS, build_city

from climateinvest.cashflows import build_flows
from climateinvest.io.scenario import Scenario
from climateinvest.territory.pathway import build_pathway


def make_city(measures, energy_changes=(), baseline=None):
    """A small CityData (see ``citybuilder``)."""
    return build_city(measures, energy_changes, baseline=baseline)

TWO_SOURCES = pd.DataFrame([
    ("heat", "buildings", 2020, 1000.0, "territorial"), ("heat", "buildings", 2024, 800.0, "territorial"),
    ("road", "transport", 2020, 500.0, "territorial"), ("road", "transport", 2024, 500.0, "territorial"),
    ("grid", "energy", 2020, 200.0, "indirect"), ("grid", "energy", 2024, 200.0, "indirect"),
], columns=BASE_COLS)


def scenario(**kw):
    kw.setdefault("target", {"year": 2030, "reduction": 0.5, "base_year": 2020})
    return Scenario(title="t", city=Path("."), budget_cycle=2027, **kw)


def two_measure_case(payer_b="municipality", **scen):
    # A: 100 t/yr direct on heat (territorial), invest 2026, effect 2027–2036, scale 0.5 → 50 t/yr
    # B: −1 000 MWh electricity × 50 kg/MWh = 50 t/yr on grid (indirect), effect 2028–2032
    city = make_city(
        [
            {
                "measure_id": "A",
                "emission_source": "heat",
                "earliest_start_year": 2026,
                "direct_abatement_tco2e_per_year": 100.0,
                "capex": 1.0,
            },
            {
                "measure_id": "B",
                "emission_source": "grid",
                "sector": "energy",
                "earliest_start_year": 2027,
                "direct_abatement_tco2e_per_year": 0.0,
                "lifetime_years": 5,
                "capex": 1.0,
                "payer": payer_b,
            },
        ],
        energy_changes=[("B", "electricity", -1000.0)],
        baseline=TWO_SOURCES,
    )
    flows = build_flows(city, "base", "nordic_mix", [2026, 2027])
    chosen = pd.DataFrame({"measure_id": ["A", "B"], "start_year": [2026, 2027], "scale": [0.5, 1.0]})
    return build_pathway(city, scenario(**scen), chosen, flows)


def test_two_measure_pathway_by_hand():
    p = two_measure_case(baseline_trend=-0.01)
    t = p.table.set_index("year")
    assert t.index[0] == 2020 and t.index[-1] == 2045
    # 2022: heat interpolated 900, road 500; nothing abated yet
    assert t.loc[2022, "baseline_territorial_tco2e"] == pytest.approx(1400.0)
    assert t.loc[2026, "abatement_territorial_tco2e"] == 0.0
    # 2030: heat 800 × 0.99^6 (trend after 2024) + road 500 × 0.99^6; A removes 50 t
    base_2030 = (800.0 + 500.0) * 0.99**6
    assert t.loc[2030, "baseline_territorial_tco2e"] == pytest.approx(base_2030)
    assert t.loc[2030, "abatement_territorial_tco2e"] == pytest.approx(50.0)
    assert t.loc[2030, "with_portfolio_territorial_tco2e"] == pytest.approx(base_2030 - 50.0)
    # B's 50 t are indirect: beside the pathway, never in the territorial total
    assert t.loc[2030, "baseline_indirect_tco2e"] == pytest.approx(200.0 * 0.99**6)
    assert t.loc[2030, "abatement_indirect_tco2e"] == pytest.approx(50.0)
    assert t.loc[2030, "with_portfolio_indirect_tco2e"] == pytest.approx(200.0 * 0.99**6 - 50.0)
    assert t.loc[2033, "abatement_indirect_tco2e"] == 0.0  # B's five years are 2028–2032
    assert t.loc[2036, "abatement_territorial_tco2e"] == pytest.approx(50.0)
    assert t.loc[2037, "abatement_territorial_tco2e"] == 0.0
    # target: 50 % below 2020's territorial 1 500 t → 750 t on every row
    assert (t["target_tco2e"] == 750.0).all()
    # straight path from the last inventory year (2024: 1 300 t) to 750 t in 2030
    assert t.loc[2027, "target_path_tco2e"] == pytest.approx(1300.0 + (750.0 - 1300.0) * 3 / 6)
    assert t.loc[2024, "target_path_tco2e"] == 1300.0 and t.loc[2030, "target_path_tco2e"] == 750.0
    assert np.isnan(t.loc[2023, "target_path_tco2e"]) and np.isnan(t.loc[2031, "target_path_tco2e"])
    s = p.summary
    assert s["base_year_tco2e"] == pytest.approx(1500.0)
    assert s["target_tco2e"] == pytest.approx(750.0)
    assert s["gap_tco2e"] == pytest.approx(base_2030 - 50.0 - 750.0)  # positive: short of the target
    assert s["baseline_gap_tco2e"] == pytest.approx(base_2030 - 750.0)
    assert s["target_year_abatement_indirect_tco2e"] == pytest.approx(50.0)
    assert s["reduction_vs_base_year"] == pytest.approx(1 - (base_2030 - 50.0) / 1500.0)
    # by sector: territorial sectors only
    bs = p.by_sector.set_index("year")
    assert list(bs.columns) == ["buildings", "transport"]
    assert bs.loc[2030, "buildings"] == pytest.approx(800 * 0.99**6 - 50.0)
    assert bs.loc[2030, "transport"] == pytest.approx(500 * 0.99**6)


def test_external_measure_left_out_when_include_external_is_false():
    p = two_measure_case(payer_b="external", include_external=False)
    assert p.table["abatement_indirect_tco2e"].sum() == 0.0
    assert p.summary["measures_counted"] == ["A"]
    q = two_measure_case(payer_b="external")
    assert q.table.set_index("year").loc[2030, "abatement_indirect_tco2e"] == pytest.approx(50.0)


def test_abatement_is_clipped_so_no_source_goes_negative():
    city = make_city(
        [
            {
                "measure_id": "big",
                "emission_source": "road",
                "direct_abatement_tco2e_per_year": 2000.0,
                "capex": 1.0,
                "earliest_start_year": 2026,
            }
        ],
        baseline=TWO_SOURCES,
    )
    flows = build_flows(city, "base", "nordic_mix", [2026])
    p = build_pathway(city, scenario(), pd.DataFrame({"measure_id": ["big"]}), flows)
    src = p.by_source.set_index(["source_id", "year"])
    assert src.loc[("road", 2030), "with_portfolio_tco2e"] == 0.0
    assert src.loc[("road", 2030), "abatement_tco2e"] == 500.0
    assert src.loc[("road", 2030), "clipped_tco2e"] == 1500.0
    assert src.loc[("heat", 2030), "with_portfolio_tco2e"] == 800.0
    assert p.table.set_index("year").loc[2030, "with_portfolio_territorial_tco2e"] == 800.0
    assert p.summary["clipped_tco2e"] == pytest.approx(1500.0 * 10)  # ten years of effect
    assert "clipped" in p.summary["notes"][0]


def test_base_year_is_interpolated_and_before_the_inventory_is_an_error():
    p = two_measure_case(target={"year": 2030, "reduction": 0.5, "base_year": 2022})
    assert p.summary["target_tco2e"] == pytest.approx(0.5 * 1400.0)
    with pytest.raises(ValueError, match="target.base_year 2019 is before the first inventory year 2020"):
        two_measure_case(target={"year": 2030, "reduction": 0.5, "base_year": 2019})


def flat_case(budget):
    base = pd.DataFrame([("x", "energy", 2020, 1000.0, "territorial")], columns=BASE_COLS)
    city = make_city(
        [
            {
                "measure_id": "c",
                "emission_source": "x",
                "direct_abatement_tco2e_per_year": 500.0,
                "capex": 1.0,
                "earliest_start_year": 2026,
                "lifetime_years": 30,
            }
        ],
        baseline=base,
    )
    flows = build_flows(city, "base", "nordic_mix", [2026])
    return build_pathway(city, scenario(carbon_budget=budget), pd.DataFrame({"measure_id": ["c"]}), flows)


def test_carbon_budget_run_out_year_by_hand():
    # 1 000 t/yr from 2025; the measure halves it from 2027. Budget 3 500 t from the start of 2025.
    # baseline: 1 000, 2 000, 3 000, 4 000 (2028 > 3 500) → runs out 2028.
    # portfolio: 1 000, 2 000, 2 500, 3 000, 3 500 (2029: equal, not over), 4 000 → 2030.
    p = flat_case({"from_year": 2025, "tco2e": 3500.0})
    t = p.table.set_index("year")
    assert np.isnan(t.loc[2024, "cumulative_from_budget_year_tco2e"])
    assert t.loc[2025:2030, "cumulative_from_budget_year_tco2e"].tolist() == [1000, 2000, 2500, 3000, 3500, 4000]
    assert t.loc[2025:2028, "baseline_cumulative_from_budget_year_tco2e"].tolist() == [1000, 2000, 3000, 4000]
    assert t.loc[2029, "carbon_budget_remaining_tco2e"] == 0.0
    assert p.summary["budget_runs_out_year"] == 2030
    assert p.summary["baseline_budget_runs_out_year"] == 2028
    assert p.summary["cumulative_to_target_year_tco2e"] == 4000.0
    never = flat_case({"from_year": 2025, "tco2e": 1e9})
    assert never.summary["budget_runs_out_year"] is None
    assert never.summary["baseline_budget_runs_out_year"] is None


def test_pathway_figures_mark_the_gap_and_the_budget():
    from climateinvest.report.plots.pathway import carbon_budget_figure, pathway_figure

    p = two_measure_case()
    fig = pathway_figure(p, scenario().target)
    assert fig.layout.yaxis.title.text == "Emissions [t CO2e/year]"
    names = [t.name for t in fig.data]
    assert "Baseline, indirect (not in target)" in names
    assert next(t for t in fig.data if t.name.startswith("Target 2030")).y == (750.0,)
    gap = p.summary["gap_tco2e"]
    assert gap == pytest.approx(1300.0 - 50.0 - 750.0)
    assert any(a.text == "gap 500 t CO2e/year" for a in fig.layout.annotations)
    cb = carbon_budget_figure(flat_case({"from_year": 2025, "tco2e": 3500.0}))
    marks = {t.name: t.x for t in cb.data if t.mode == "markers+text"}
    assert marks == {"Budget spent (baseline)": (2028,), "Budget spent (with the portfolio)": (2030,)}


PROJECTION = pd.DataFrame([("buildings", 2030, 0.7, "t"), ("buildings", 2040, 0.4, "t"), ("transport", 2026, 0.9, "t")],
                          columns=["sector", "year", "factor", "source"])


def test_the_projection_moves_each_sector_by_its_own_factors():
    from dataclasses import replace

    from climateinvest.cashflows import scenario_baseline
    city = replace(make_city([{"measure_id": "A", "emission_source": "heat", "capex": 1.0}], baseline=TWO_SOURCES),
                   baseline_projection=PROJECTION)
    base = scenario_baseline(city, scenario(baseline="projection"), [2024, 2027, 2030, 2035, 2050])
    # heat (buildings), 800 t in 2024: factor 1 in 2024, linear to 0.7 in 2030: 2027 is half-way
    # (0.85 → 680 t), 2030 0.7 (560 t), 2035 half-way to 0.4 (0.55 → 440 t), held after 2040 (320 t)
    assert base.loc["heat"].tolist() == pytest.approx([800.0, 680.0, 560.0, 440.0, 320.0])
    # road (transport), 500 t: 0.9 from 2026 on (450 t); 2024 is the inventory itself
    assert base.loc["road"].tolist() == pytest.approx([500.0, 450.0, 450.0, 450.0, 450.0])
    # grid (energy) has no factors: held flat, as in the flat baseline
    assert base.loc["grid"].tolist() == pytest.approx([200.0] * 5)
    flat = scenario_baseline(city, scenario(), [2024, 2030])
    assert flat.loc["heat"].tolist() == [800.0, 800.0]
    # the pathway's baseline is the projection, and the target level (base year 2020) is not moved
    p = build_pathway(city, scenario(baseline="projection"), pd.DataFrame(
        {"measure_id": [], "start_year": [], "scale": []}), build_flows(city, "base", "nordic_mix", [2026]))
    t = p.table.set_index("year")
    assert t.loc[2030, "baseline_territorial_tco2e"] == pytest.approx(560.0 + 450.0)
    assert t.loc[2030, "target_tco2e"] == pytest.approx(0.5 * 1500.0)


def test_a_projection_is_refused_without_its_table_with_a_trend_or_before_the_last_inventory():
    from dataclasses import replace

    from climateinvest.io.city import check_scenario
    from climateinvest.io.errors import ValidationError
    city = make_city([{"measure_id": "A", "emission_source": "heat", "capex": 1.0}], baseline=TWO_SOURCES)
    with pytest.raises(ValidationError, match="projection needs"):
        check_scenario(city, scenario(baseline="projection"))
    city = replace(city, baseline_projection=PROJECTION)
    with pytest.raises(ValidationError, match="must be 0 with baseline: projection"):
        check_scenario(city, scenario(baseline="projection", baseline_trend=-0.01))
    early = replace(city, baseline_projection=pd.concat([PROJECTION, pd.DataFrame(
        [("buildings", 2024, 1.1, "t")], columns=PROJECTION.columns)], ignore_index=True))
    with pytest.raises(ValidationError, match="must be after 2024, the last inventory year"):
        check_scenario(early, scenario(baseline="projection"))
    check_scenario(city, scenario(baseline="projection"))  # valid

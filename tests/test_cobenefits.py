"""Co-benefits beside the cost per tonne (issue 17): HEAT by hand, ASEK's town scaling against
ASEK 4's published table, properties, and the Landskrona run."""
from __future__ import annotations

import dataclasses
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import FICTIONAL, ROOT

from climateinvest.io.city import load_city
from climateinvest.io.errors import ValidationError
from climateinvest.portfolio.cobenefits import air_value_per_kg, build_cobenefits, heat_value, noise_value, price_values

LANDSKRONA = ROOT / "data" / "landskrona"
BASE = ROOT / "parameters" / "2027" / "base.yaml"
SOCIETAL = ROOT / "parameters" / "2027" / "societal.yaml"


def run(path, city=None):
    from climateinvest.run import run_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_scenario(path, city)


@pytest.fixture(scope="module")
def societal():
    return run(SOCIETAL)


def test_heat_by_hand():
    # 100 new cyclists, 20 min a day each: 140 min a week. HEAT: RR 0.90 at 100 min/week, linear:
    # risk reduction = (1 - 0.90) x 140 / 100 = 0.14 (below the 0.45 cap). Baseline mortality
    # 0.0025 a year: deaths avoided = 100 x 0.0025 x 0.14 = 0.035 a year; at a VSL of 40 MSEK the
    # value is 0.035 x 40 000 000 = 1 400 000 a year.
    deaths, value = heat_value(100, 20, 0.90, 100, 0.45, 0.0025, 40e6)
    assert deaths == pytest.approx(0.035)
    assert value == pytest.approx(1_400_000)
    # 100 min a day = 700 min/week: (1 - 0.90) x 7 = 0.70, capped at 0.45:
    # 100 x 0.0025 x 0.45 x 40e6 = 4 500 000
    assert heat_value(100, 100, 0.90, 100, 0.45, 0.0025, 40e6)[1] == pytest.approx(4_500_000)
    # walking: RR 0.89 at 168 min/week; 24 min/day = 168 min/week -> reduction 0.11
    assert heat_value(10, 24, 0.89, 168, 0.30, 0.0025, 40e6)[0] == pytest.approx(10 * 0.0025 * 0.11)


def test_asek_town_scaling_reproduces_asek4_table():
    # ASEK 4 (SIKA 2008) table 4, SEK/kg 2006: local PM2.5 Södertälje (VF 1.0, 57 000) 3 564,
    # Uppsala (1.0, 120 000) 5 172, Falun (1.4, 36 000) 3 966, Laholm (1.0, 5 600) 1 118.
    for pop, vf, published in ((120_000, 1.0, 5172), (36_000, 1.4, 3966), (5_600, 1.0, 1118)):
        assert air_value_per_kg(3564, 0, pop, 57_000, vf, 1.0) == pytest.approx(published, rel=0.002)
    # total NOx in Uppsala: regional 75 + local 12 x sqrt(120/57) = 92.4; the table prints 93
    assert air_value_per_kg(12, 75, 120_000, 57_000) == pytest.approx(93, abs=1)
    # two towns: four times the people, twice the local value; the regional part stays
    small, big = air_value_per_kg(100, 50, [10_000, 40_000], 10_000)
    assert (small, big) == pytest.approx((150, 250))


def test_noise_and_kpi():
    assert noise_value(1000, 2, 1000) == pytest.approx(2_000_000)
    values = pd.DataFrame({"parameter": ["vsl", "heat_rr_cycling", "kpi", "kpi"], "value": [100.0, 0.9, 200.0, 300.0],
                           "unit": "", "price_year": [2017, 2014, 2017, 2025], "value_year": 2017,
                           "status": "current", "source": ""})
    out = price_values(values, 2025).set_index("parameter")
    assert out.at["vsl", "value_at_price_year"] == pytest.approx(150.0)  # 100 x 300/200
    assert out.at["heat_rr_cycling", "value_at_price_year"] == pytest.approx(0.9)  # not money
    assert np.isnan(price_values(values, 2030).set_index("parameter").at["vsl", "value_at_price_year"])


def test_landskrona_values_by_hand(societal):
    cb = societal.steps.cobenefits
    phys = cb.physical.set_index(["measure_id", "effect"])
    # cycle network: 261 cyclists x 27 min/day. Reduction = 0.10 x 189/100 = 0.189; deaths =
    # 261 x 0.0025 x 0.189 = 0.1233 a year; VSL 40.5 MSEK (2017) x KPI 420/322.11
    deaths = 261 * 0.0025 * 0.10 * 27 * 7 / 100
    assert phys.at[("cycle_network", "cyclists"), "deaths_avoided_per_year"] == pytest.approx(deaths)
    assert phys.at[("cycle_network", "cyclists"), "value_per_year"] == pytest.approx(deaths * 40.5e6 * 420 / 322.11)
    # PM2.5 from electric machinery: 39 kg x 3 564 x sqrt(46 000/57 000) x 420/284.22 (regional 0)
    per_kg = 3564 * np.sqrt(46_000 / 57_000) * 420 / 284.22
    assert phys.at[("electric_machinery", "pm25_kg"), "value_per_year"] == pytest.approx(39 * per_kg)
    assert cb.summary["warnings"] and any("noise_per_person_db: assumption" in w for w in cb.summary["warnings"])


def test_cost_per_tonne_after_cobenefits_societal(societal):
    v = societal.steps.cobenefits.valued.set_index("measure_id")
    m = societal.measures.set_index("measure_id")
    rate = societal.scenario.real_rate
    for mid in ("cycle_network", "electric_machinery", "bus_electric"):
        tonnes = m.at[mid, "npv_cost"] / m.at[mid, "cost_per_tco2e"]
        assert v.at[mid, "cost_per_tco2e_after_cobenefits"] == pytest.approx(
            (m.at[mid, "npv_cost"] - v.at[mid, "npv_cobenefits"]) / tonnes)
        assert v.at[mid, "cost_per_tco2e_after_cobenefits"] < v.at[mid, "cost_per_tco2e"]
    # the NPV is the level yearly value over the life at the real rate, timed as the cash flows:
    # invested at t = 0 and 1 (capex_years 2), effects at t = 2 ... 31 (lifetime 30)
    life, years = int(m.at["cycle_network", "lifetime_years"]), 2
    af = sum((1 + rate) ** -t for t in range(years, years + life))
    assert v.at["cycle_network", "npv_cobenefits"] == pytest.approx(v.at["cycle_network", "cobenefit_value_per_year"]
                                                                    * af)


def test_municipal_perspective_states_cobenefits_are_not_in_the_cash_flows_and_changes_nothing():
    with_cb = run(BASE)
    base_city = load_city(LANDSKRONA)
    empty = dataclasses.replace(base_city, cobenefit_effects=base_city.cobenefit_effects.iloc[0:0],
                                cobenefit_values=base_city.cobenefit_values.iloc[0:0],
                                pollutant_factors=base_city.pollutant_factors.iloc[0:0])
    without = run(BASE, empty)
    assert without.steps.cobenefits is None
    v = with_cb.steps.cobenefits.valued
    assert v["cost_per_tco2e_after_cobenefits"].isna().all()
    assert set(v["note"]) == {"co-benefits are not in the municipal cash flows"}
    for name in ("measures", "macc", "portfolio", "financing", "pathway"):
        pd.testing.assert_frame_equal(getattr(with_cb, name), getattr(without, name), obj=name)
    assert with_cb.portfolio_cost_per_tco2e == without.portfolio_cost_per_tco2e
    assert "cobenefits" in with_cb.summary and "cobenefits" not in without.summary


def _scaled(result, factor):
    city = result.city
    eff = city.cobenefit_effects.assign(quantity=city.cobenefit_effects["quantity"] * factor)
    kg = city.pollutant_factors.assign(kg_per_mwh=city.pollutant_factors["kg_per_mwh"] * factor)  # derived rows too
    city = dataclasses.replace(city, cobenefit_effects=eff, pollutant_factors=kg)
    return build_cobenefits(city, result.flows, result.measures, result.scenario.real_rate, "societal", True,
                            result.portfolio["measure_id"])


def test_zero_effect_zero_value_and_doubling_doubles(societal):
    one, two, zero = (_scaled(societal, f) for f in (1.0, 2.0, 0.0))
    cols = ["air_value_per_year", "noise_value_per_year", "health_value_per_year", "npv_cobenefits"]
    assert (one.valued[cols].to_numpy() > 0).any()
    np.testing.assert_allclose(two.valued[cols].to_numpy(), 2 * one.valued[cols].to_numpy())
    np.testing.assert_allclose(zero.valued[cols].to_numpy(), 0.0)
    m = societal.measures.set_index("measure_id")
    after = zero.valued.set_index("measure_id")["cost_per_tco2e_after_cobenefits"]
    np.testing.assert_allclose(after, m.loc[after.index, "cost_per_tco2e"])  # nothing valued, nothing changes


def test_landskrona_run_has_the_step_and_saves_registered_tables(societal):
    from climateinvest.io import output_columns as oc

    tables = {k: v for k, v in societal.tables().items() if k.startswith("cobenefits")}
    assert set(tables) == {"cobenefits", "cobenefits_physical", "cobenefits_values", "cobenefits_net_curve"}
    fs, sectors = oc.city_names(societal.city)
    assert oc.unknown_columns(tables, funding_sources=fs, sectors=sectors) == []
    s = societal.summary["cobenefits"]
    chosen = set(societal.portfolio["measure_id"])
    v = societal.steps.cobenefits.valued
    assert s["portfolio_value_per_year"] == pytest.approx(v.loc[v["measure_id"].isin(chosen),
                                                                "cobenefit_value_per_year"].sum())
    assert s["portfolio_value_per_year"] > 0


def test_a_city_without_cobenefits_has_no_step():
    assert run(FICTIONAL).steps.cobenefits is None


def test_bad_effect_rows_are_reported_with_file_row_column(tmp_path):
    folder = shutil.copytree(LANDSKRONA, tmp_path / "city")
    path = folder / "cobenefit_effects.csv"
    text = path.read_text(encoding="utf-8").splitlines()
    text[1] = "cycle_network,cyclists,261,,,"       # minutes missing
    text[2] = "no_such_measure,nox_kg,18,,,"        # unknown measure
    text[3] = "parking_policy,smog_kg,30,,,"        # unknown effect
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_city(folder)
    found = {(p.file, p.row, p.column) for p in info.value.problems}
    assert ("cobenefit_effects.csv", 2, "minutes_per_day") in found
    assert ("cobenefit_effects.csv", 3, "measure_id") in found
    assert ("cobenefit_effects.csv", 4, "effect") in found

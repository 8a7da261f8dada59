"""The MAC curve net of co-benefits (issue 17 item 3): a hand-computed curve, the reconciliation of
the standalone co-benefit NPV with the curve's scaled tonnes, and the properties on Landskrona."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from climateinvest.portfolio.cobenefit_curve import ABSENT_MUNICIPAL, net_curve
from climateinvest.portfolio.cobenefits import build_cobenefits

BASE = ROOT / "parameters" / "2027" / "base.yaml"
SOCIETAL = ROOT / "parameters" / "2027" / "societal.yaml"


def run(path):
    from climateinvest.run import run_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_scenario(path)


@pytest.fixture(scope="module")
def societal():
    return run(SOCIETAL)


def _curve():
    # three bars: A (no co-benefits), B (half its standalone effect kept), C (requires D, off the curve)
    return pd.DataFrame({
        "rank": [1, 2, 3], "measure_id": ["A", "B", "C"], "name": ["A", "B", "C"], "sector": "transport",
        "payer": "municipality", "capex": 0.0, "npv_cost": [100.0, 300.0, 500.0],
        "standalone_tco2e": [1.0, 2.0, 1.0], "adjusted_tco2e": [1.0, 1.0, 1.0], "scale": [1.0, 0.5, 1.0],
        "appraised_tco2e": [10.0, 10.0, 10.0], "cost_per_tco2e": [10.0, 30.0, 50.0]})


def _valued():
    return pd.DataFrame({"measure_id": ["B", "D"], "air_value_per_year": [10.0, 0.0],
                         "cobenefit_value_per_year": [40.0, 5.0], "npv_cobenefits": [400.0, 200.0]})


def test_net_curve_by_hand():
    net = net_curve(_curve(), _valued(), {"C": "D"}).set_index("measure_id")
    # B: 400 of co-benefits, a quarter air (10 of 40 a year): air 100 x scale 0.5 + noise/health 300 = 350;
    #    (300 - 350) / 10 t = -5 per tonne
    assert net.at["B", "npv_cobenefits_on_curve"] == pytest.approx(350.0)
    assert net.at["B", "cost_per_tco2e_after_cobenefits"] == pytest.approx(-5.0)
    # A: none, the height stays (100 / 10 = 10); C: D's 200 comes with the bundle, (500 - 200) / 10 = 30
    assert net.at["A", "cost_per_tco2e_after_cobenefits"] == pytest.approx(10.0)
    assert net.at["C", "npv_cobenefits"] == pytest.approx(200.0)
    assert net.at["C", "cost_per_tco2e_after_cobenefits"] == pytest.approx(30.0)
    assert net.at["C", "npv_cost_after_cobenefits"] == pytest.approx(300.0)
    # reordered by the net height: B, A, C; widths stacked along the new order
    assert net.sort_values("net_rank").index.tolist() == ["B", "A", "C"]
    assert net["rank"].to_dict() == {"A": 1, "B": 2, "C": 3}
    assert net.loc[["B", "A", "C"], "cum_start_tco2e"].tolist() == [0.0, 1.0, 2.0]


def test_zero_cobenefits_leave_the_curve_as_it_is():
    curve = _curve()
    net = net_curve(curve, _valued().assign(npv_cobenefits=0.0, air_value_per_year=0.0, cobenefit_value_per_year=0.0),
                    {"C": "D"})
    assert net["measure_id"].tolist() == curve["measure_id"].tolist()
    np.testing.assert_allclose(net["cost_per_tco2e_after_cobenefits"], curve["cost_per_tco2e"])
    np.testing.assert_allclose(net["net_rank"], curve["rank"])
    # tonnes not positive: no height, placed last
    flat = net_curve(curve.assign(appraised_tco2e=[10.0, 0.0, 10.0]), _valued())
    assert flat["measure_id"].iloc[-1] == "B" and np.isnan(flat["cost_per_tco2e_after_cobenefits"].iloc[-1])


def test_landskrona_net_curve_reconciles_with_the_appraisal(societal):
    cb = societal.steps.cobenefits
    curve = societal.steps.macc.curve.set_index("measure_id")
    net = cb.net_curve.set_index("measure_id")
    v = cb.valued.set_index("measure_id")
    assert set(net.index) == set(curve.index)  # the same bars, no alternative swapped in
    # the same denominator as the curve: height = (curve npv_cost - co-benefits on the curve) / appraised_tco2e
    np.testing.assert_allclose(net["cost_per_tco2e_after_cobenefits"],
                               (curve.loc[net.index, "npv_cost"] - net["npv_cobenefits_on_curve"])
                               / curve.loc[net.index, "appraised_tco2e"])
    # air is scaled with the bar's share kept, noise and health are not (electric machinery keeps 87 %)
    for mid in ("electric_machinery", "cycle_network"):
        s, air = curve.at[mid, "scale"], v.at[mid, "air_value_per_year"] / v.at[mid, "cobenefit_value_per_year"]
        assert s < 1
        assert net.at[mid, "npv_cobenefits_on_curve"] == pytest.approx(
            v.at[mid, "npv_cobenefits"] * (air * s + (1 - air)))
    # a bar with its whole effect kept and nothing required: the appraisal's cost per tonne after co-benefits
    for mid in ("parking_policy", "hvo_machinery", "industry_process_heat"):
        assert curve.at[mid, "scale"] == 1.0
        assert net.at[mid, "cost_per_tco2e_after_cobenefits"] == pytest.approx(
            v.at[mid, "cost_per_tco2e_after_cobenefits"])
    # air-only bars with a share kept < 1: the co-benefit per tonne is the standalone one, as the air
    # scales with the tonnes (fleet_ev: NOx, PM2.5, SO2, VOC only)
    assert curve.at["fleet_ev", "scale"] < 1 and v.at["fleet_ev", "air_value_per_year"] == pytest.approx(
        v.at["fleet_ev", "cobenefit_value_per_year"])
    assert (net.at["fleet_ev", "cost_per_tco2e"] - net.at["fleet_ev", "cost_per_tco2e_after_cobenefits"]) == \
        pytest.approx(v.at["fleet_ev", "cost_per_tco2e"] - v.at["fleet_ev", "cost_per_tco2e_after_cobenefits"])
    # reordered by the height after co-benefits; the cycle network moves from last to first
    heights = cb.net_curve["cost_per_tco2e_after_cobenefits"].to_numpy()
    assert (np.diff(heights) >= 0).all() and cb.net_curve["net_rank"].tolist() == list(range(1, len(heights) + 1))
    assert curve.at["cycle_network", "rank"] == len(curve) and net.at["cycle_network", "net_rank"] == 1
    assert cb.summary["net_curve"] == "drawn" and "cobenefits_net_curve" in societal.tables()


def _scaled(result, factor):
    city = result.city
    eff = city.cobenefit_effects.assign(quantity=city.cobenefit_effects["quantity"] * factor)
    kg = city.pollutant_factors.assign(kg_per_mwh=city.pollutant_factors["kg_per_mwh"] * factor)
    city = dataclasses.replace(city, cobenefit_effects=eff, pollutant_factors=kg)
    return build_cobenefits(city, result.flows, result.measures, result.scenario.real_rate, "societal", True,
                            result.portfolio["measure_id"], result.steps.macc.curve)


def test_landskrona_zero_and_doubled_cobenefits(societal):
    curve = societal.steps.macc.curve
    zero = _scaled(societal, 0.0).net_curve
    # zero co-benefits: the net view is the gross curve (same order, heights, stacking)
    assert zero["measure_id"].tolist() == curve["measure_id"].tolist()
    np.testing.assert_allclose(zero["cost_per_tco2e_after_cobenefits"], curve["cost_per_tco2e"])
    np.testing.assert_allclose(zero["cum_end_tco2e"], curve["cum_end_tco2e"])
    one = _scaled(societal, 1.0).net_curve.set_index("measure_id")
    two = _scaled(societal, 2.0).net_curve.set_index("measure_id").loc[one.index]
    assert (one["npv_cobenefits_on_curve"] > 0).any()
    np.testing.assert_allclose(two["npv_cobenefits_on_curve"], 2 * one["npv_cobenefits_on_curve"])


def test_municipal_perspective_has_no_net_curve_and_says_why():
    base = run(BASE)
    cb = base.steps.cobenefits
    assert cb.net_curve is None and cb.summary["net_curve"] == ABSENT_MUNICIPAL
    assert "cobenefits_net_curve" not in base.tables()


@pytest.mark.parametrize("scenario", [SOCIETAL, BASE], ids=["societal", "municipal"])
def test_report_draws_the_net_curve_in_swedish_or_says_why_not(scenario):
    from climateinvest import report
    from climateinvest.report import sections
    from climateinvest.report.chart_text import untranslated

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = report.load(scenario, "sv")
    parts = sections.section(result, "cobenefits")
    figures = [p for p in parts if hasattr(p, "fig")]
    text = "".join(str(p) for p in parts if not hasattr(p, "fig"))
    assert "Härledd från energi" in text  # the physical table marks the derived rows
    if scenario == SOCIETAL:
        (fig,) = figures
        assert fig.fig.layout.yaxis.title.text == "Kostnad efter sidonyttor [kr/t CO₂e]"
        assert fig.fig.layout.xaxis.title.text == "Minskning år 2030 [t CO₂e/år]"
        assert untranslated(fig.fig, set(result.measures["name"].astype(str))) == []
        assert "MAC-kurvan efter sidonyttor" in fig.caption and "Ordning efter sidonyttor" in text
        assert "Ingen MAC-kurva efter sidonyttor" not in text
    else:
        assert figures == [] and "Ingen MAC-kurva efter sidonyttor: i det kommunala perspektivet" in text

"""The tornado against a direct computation."""
import warnings

import pandas as pd
import pytest
from scipy import stats
from uncertainty_city import CHANGES, MEASURES, make_city, scenario, setup

from climateinvest.appraisal import appraise
from climateinvest.cashflows import build_flows
from climateinvest.territory.pathway import build_pathway
from climateinvest.uncertainty.fixed_portfolio import chosen_flows
from climateinvest.uncertainty.sensitivity import TORNADO_COLUMNS, tornado

# --- tornado ----------------------------------------------------------------------------------

def test_tornado_values_against_direct_computation():
    one = pd.DataFrame({"measure_id": ["hp"], "start_year": [2027], "scale": [1.0]})
    city, sc, flows, _table = setup(sc=scenario(draws=20, carbon_value_per_tco2e=500.0),
                                   measures=MEASURES[:1], changes=CHANGES[:2])
    t = tornado(city, sc, flows, one, build_pathway(city, sc, one, chosen_flows(city, sc, flows, one)))
    cost = t[t["metric"] == "cost_per_tco2e"].set_index("parameter")
    fl = chosen_flows(city, sc, flows, one)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for rate, col in ((0.01, "low_value"), (0.04, "high_value"), (sc.real_rate, "base_value")):
            want = appraise(fl, city, rate)["cost_per_tco2e"].iloc[0]
            assert cost.loc["discount_rate", col] == pytest.approx(want, rel=1e-12)
        # investment costs at the P10 / P90 of the '*' capex row (triangular 0.9, 1.0, 1.4)
        q10 = stats.triang(c=0.2, loc=0.9, scale=0.5).ppf(0.1)
        cap = make_city([MEASURES[0] | {"capex": 2e6 * q10}], CHANGES[:2])
        # at the base rate: the scenario's real rate (no discount_rate given: SKR's internränta
        # made real with Fisher, 0.49 %), not the nominal 2.5 % the test used before issue 11
        want = appraise(build_flows(cap, "base", "nordic_mix", [2027]), cap,
                        sc.real_rate)["cost_per_tco2e"].iloc[0]
    assert cost.loc["investment_costs", "low_value"] == pytest.approx(want, rel=1e-12)
    assert cost.loc["investment_costs", "low_label"] == f"× {q10:.2f} (P10)"
    # carbon value: municipal perspective counts none at base; net cost per tonne falls by the value
    net = t[t["metric"] == "net_cost_per_tco2e"].set_index("parameter").loc["carbon_value"]
    assert net["low_value"] == pytest.approx(net["base_value"])
    assert net["base_value"] - net["high_value"] == pytest.approx(1000.0, rel=1e-12)  # 2 × 500, tonnes discounted
    # factor sets: residual mix makes the heat pump add electricity emissions → larger gap
    gap = t[t["metric"] == "gap_tco2e"].set_index("parameter")
    assert gap.loc["electricity_factor_set", "high_label"] == "residual_mix"
    assert gap.loc["electricity_factor_set", "low_label"] == "nordic_mix"
    assert gap.loc["discount_rate", "swing"] == 0.0  # a fixed portfolio's tonnes do not depend on the rate
    assert gap.loc["electricity_factor_set", "base_value"] == gap.loc["electricity_factor_set", "low_value"]
    assert list(t.columns) == TORNADO_COLUMNS
    # no low/high price paths in this city: prices × 0.7 / × 1.3
    assert cost.loc["energy_prices", "low_label"] == "prices × 0.7"

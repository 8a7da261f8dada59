"""A small city and scenario for the Monte Carlo tests (test_sampling, test_montecarlo,
test_uncertainty, test_reselection, test_sensitivity): four measures on two territorial sources
and one indirect, two carriers, and an uncertainty table with ``*`` rows and own rows."""
import warnings
from pathlib import Path

import pandas as pd
from citybuilder import build_city

from climateinvest.appraisal import appraise
from climateinvest.cashflows import build_flows
from climateinvest.io.scenario import Scenario

BASELINE = pd.DataFrame([
    ("heat", "buildings", 1990, 20000.0, "territorial"), ("heat", "buildings", 2024, 10000.0, "territorial"),
    ("road", "transport", 1990, 8000.0, "territorial"), ("road", "transport", 2024, 6000.0, "territorial"),
    ("grid", "energy", 2024, 3000.0, "indirect"),
], columns=["source_id", "sector", "year", "tco2e", "scope"])


def make_city(measures, energy_changes=(), uncertainty=(), funding=None, factors=None, prices=None):
    """A small CityData (see ``citybuilder``) on ``BASELINE`` with electricity and diesel."""
    prices = prices or [("electricity", "*", 2020, 1000.0), ("electricity", "*", 2040, 1400.0),
                        ("diesel", "*", 2020, 1500.0)]
    factors = factors or [("electricity", "nordic_mix", 2020, 50.0), ("electricity", "nordic_mix", 2040, 10.0),
                          ("electricity", "residual_mix", 2020, 300.0), ("diesel", "*", 2020, 265.0)]
    return build_city(measures, energy_changes, prices=prices, factors=factors, baseline=BASELINE,
                      uncertainty=uncertainty, **({"funding": funding} if funding else {}))

def scenario(draws=500, seed=7, reselect=0, **kw):
    kw.setdefault("target", {"year": 2030, "reduction": 0.5, "base_year": 1990})
    kw.setdefault("investment_budget", {2027: 3e6, 2028: 3e6, 2029: 3e6})
    return Scenario(title="t", city=Path("."), budget_cycle=2027,
                    monte_carlo={"draws": draws, "seed": seed, "reselect_draws": reselect}, **kw)


MEASURES = [
    {"measure_id": "hp", "capex": 2e6, "opex_change_per_year": 10000.0, "lifetime_years": 15,
     "earliest_start_year": 2026},
    {"measure_id": "ev", "capex": 1.5e7, "capex_years": 2, "emission_source": "road", "sector": "transport",
     "lifetime_years": 8},
    {"measure_id": "meals", "capex": 0.0, "direct_abatement_tco2e_per_year": 40.0, "opex_change_per_year": -5000.0,
     "emission_source": "heat", "lifetime_years": 5, "earliest_start_year": 2028},
    {"measure_id": "grid_led", "capex": 4e5, "emission_source": "grid", "sector": "energy", "lifetime_years": 20},
]
CHANGES = [("hp", "electricity", 300.0), ("hp", "diesel", -1200.0),
           ("ev", "diesel", -800.0), ("ev", "electricity", 250.0), ("grid_led", "electricity", -150.0)]
RANGES = [("*", "capex", "triangular", 0.9, 1.0, 1.4), ("ev", "capex", "uniform", 0.8, 1.0, 2.0),
          ("*", "opex", "triangular", 0.8, 1.0, 1.3), ("*", "abatement", "triangular", 0.8, 1.0, 1.1),
          ("meals", "abatement", "uniform", 0.3, 0.9, 1.5),
          ("electricity", "energy_price", "triangular", 0.7, 1.0, 1.6),
          ("diesel", "energy_price", "uniform", 0.8, 1.0, 1.3),
          ("electricity", "emission_factor", "triangular", 0.6, 1.0, 1.5)]


def setup(uncertainty=RANGES, sc=None, funding=None, measures=MEASURES, changes=CHANGES):
    city = make_city(measures, changes, uncertainty, funding=funding)
    sc = sc or scenario()
    start = city.measures["earliest_start_year"].clip(lower=sc.budget_cycle).to_numpy(int)
    flows = build_flows(city, sc.price_path, sc.emission_factor_set, start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = appraise(flows, city, sc.real_rate, sc.perspective, sc.carbon_value_per_tco2e,
                         sc.discount_abatement)
    return city, sc, flows, table


CHOSEN = pd.DataFrame({"measure_id": ["hp", "ev", "meals", "grid_led"], "start_year": [2028, 2027, 2029, 2027],
                       "scale": [0.7, 1.0, 0.5, 1.0]})


def zero_width(mode=1.0):
    return [(t, p, "triangular", mode, mode, mode) for t, p, *_ in RANGES] + \
           [("*", p, "uniform", mode, mode, mode) for p in ("energy_price", "emission_factor")]

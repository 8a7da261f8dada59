"""A small city and scenario for the Monte Carlo tests (test_sampling, test_montecarlo,
test_uncertainty, test_reselection, test_sensitivity): four measures on two territorial sources
and one indirect, two carriers, and an uncertainty table with ``*`` rows and own rows."""
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from climateinvest.appraisal import appraise
from climateinvest.cashflows import build_flows
from climateinvest.data import CityData
from climateinvest.scenario import Scenario

UNC_COLS = ["target", "parameter", "distribution", "low", "mode", "high"]
FUND_COLS = ["source_id", "name", "kind", "max_share", "annual_cap", "interest_rate", "term_years",
             "eligible_sectors", "eligible_payers", "amortisation"]
BASELINE = pd.DataFrame([
    ("heat", "buildings", 1990, 20000.0, "territorial"), ("heat", "buildings", 2024, 10000.0, "territorial"),
    ("road", "transport", 1990, 8000.0, "territorial"), ("road", "transport", 2024, 6000.0, "territorial"),
    ("grid", "energy", 2024, 3000.0, "indirect"),
], columns=["source_id", "sector", "year", "tco2e", "scope"])


def make_city(measures, energy_changes=(), uncertainty=(), funding=None, factors=None, prices=None):
    """A small CityData built directly (columns as the loader normalises them)."""
    defaults = {"capex_years": 1, "opex_change_per_year": 0.0, "direct_abatement_tco2e_per_year": 0.0,
                "exclusive_group": "", "requires": "", "source": "", "sector": "buildings", "name": "m",
                "emission_source": "heat", "payer": "municipality", "earliest_start_year": 2027,
                "lifetime_years": 10}
    m = pd.DataFrame([defaults | row for row in measures])
    for col in ("capex", "capex_years", "lifetime_years", "opex_change_per_year",
                "direct_abatement_tco2e_per_year", "earliest_start_year"):
        m[col] = m[col].astype(float)
    ec = pd.DataFrame(list(energy_changes), columns=["measure_id", "carrier", "delta_mwh_per_year"])
    prices = prices or [("electricity", "*", 2020, 1000.0), ("electricity", "*", 2040, 1400.0),
                        ("diesel", "*", 2020, 1500.0)]
    factors = factors or [("electricity", "nordic_mix", 2020, 50.0), ("electricity", "nordic_mix", 2040, 10.0),
                          ("electricity", "residual_mix", 2020, 300.0), ("diesel", "*", 2020, 265.0)]
    fund = funding or [("own", "Own funds", "own_funds", 1.0, np.nan, 0.0, np.nan, "*", "*", "straight")]
    return CityData(
        name="Testby", country="SE", currency="SEK", price_year=2025, population=1000,
        measures=m, energy_changes=ec.astype({"delta_mwh_per_year": float}),
        energy_prices=pd.DataFrame(prices, columns=["carrier", "price_path", "year", "price_per_mwh"]),
        emission_factors=pd.DataFrame(factors, columns=["carrier", "factor_set", "year", "kgco2e_per_mwh"]),
        baseline=BASELINE,
        funding_sources=pd.DataFrame(fund, columns=FUND_COLS),
        uncertainty=pd.DataFrame(list(uncertainty), columns=UNC_COLS).astype(
            {"low": float, "mode": float, "high": float}),
    )


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
        table = appraise(flows, city, sc.discount_rate, sc.perspective, sc.carbon_value_per_tco2e,
                         sc.discount_abatement)
    return city, sc, flows, table


CHOSEN = pd.DataFrame({"measure_id": ["hp", "ev", "meals", "grid_led"], "start_year": [2028, 2027, 2029, 2027],
                       "scale": [0.7, 1.0, 0.5, 1.0]})


def zero_width(mode=1.0):
    return [(t, p, "triangular", mode, mode, mode) for t, p, *_ in RANGES] + \
           [("*", p, "uniform", mode, mode, mode) for p in ("energy_price", "emission_factor")]

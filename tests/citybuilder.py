"""One builder for the small CityData objects the unit tests construct directly (columns and
dtypes as the loader normalises them), so that each test file states only what it varies."""
import numpy as np
import pandas as pd

from climateinvest.io.city import CityData

MEASURE_DEFAULTS = {"capex_years": 1, "opex_change_per_year": 0.0, "direct_abatement_tco2e_per_year": 0.0,
                    "exclusive_group": "", "requires": "", "source": "", "sector": "buildings", "name": "m",
                    "emission_source": "heat", "payer": "municipality", "earliest_start_year": 2027,
                    "lifetime_years": 10}
NUMERIC = ("capex", "capex_years", "lifetime_years", "opex_change_per_year",
           "direct_abatement_tco2e_per_year", "earliest_start_year")
FUND_COLS = ["source_id", "name", "kind", "max_share", "annual_cap", "interest_rate", "term_years",
             "eligible_sectors", "eligible_payers", "amortisation"]
BASE_COLS = ["source_id", "sector", "year", "tco2e", "scope"]
UNC_COLS = ["target", "parameter", "distribution", "low", "mode", "high"]
OWN_FUNDS = ("own", "Own funds", "own_funds", 1.0, np.nan, 0.0, np.nan, "*", "*", "straight")
PRICE_COLS = ["carrier", "price_path", "year", "price_per_mwh", "tax_per_mwh"]
ELECTRICITY_PRICE = [("electricity", "*", 2020, 1000.0)]
ELECTRICITY_FACTOR = [("electricity", "*", 2020, 50.0)]
HEAT_BASELINE = [("heat", "buildings", 2020, 5000.0, "territorial")]


def build_city(measures, energy_changes=(), *, prices=None, factors=None, baseline=None, funding=(OWN_FUNDS,),
               uncertainty=(), **defaults) -> CityData:
    """``measures``: dicts overriding ``MEASURE_DEFAULTS`` (and ``defaults``); ``prices``,
    ``factors``, ``funding``, ``uncertainty``: row tuples; ``baseline``: rows or a DataFrame."""
    m = pd.DataFrame([MEASURE_DEFAULTS | defaults | row for row in measures])
    m = m.astype({col: float for col in NUMERIC})
    ec = pd.DataFrame(list(energy_changes), columns=["measure_id", "carrier", "delta_mwh_per_year"])
    base = baseline if isinstance(baseline, pd.DataFrame) else pd.DataFrame(baseline or HEAT_BASELINE,
                                                                            columns=BASE_COLS)
    return CityData(
        name="Testby",
        country="SE",
        currency="SEK",
        price_year=2025,
        population=1000,
        measures=m,
        energy_changes=ec.astype({"delta_mwh_per_year": float}),
        energy_prices=pd.DataFrame(  # rows of 4, or of 5 with the tax inside the price
            prices or ELECTRICITY_PRICE,
            columns=PRICE_COLS[:len((prices or ELECTRICITY_PRICE)[0])],
        ),
        emission_factors=pd.DataFrame(
            factors or ELECTRICITY_FACTOR, columns=["carrier", "factor_set", "year", "kgco2e_per_mwh"]
        ),
        baseline=base,
        funding_sources=pd.DataFrame(list(funding), columns=FUND_COLS),
        uncertainty=pd.DataFrame(list(uncertainty), columns=UNC_COLS).astype(
            {"low": float, "mode": float, "high": float}
        ),
    )

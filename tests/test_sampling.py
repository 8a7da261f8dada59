"""Sampling the multipliers: the inverse CDF against scipy, shared and own rows, stable streams."""
import numpy as np
import pandas as pd
from citybuilder import UNC_COLS
from scipy import stats
from uncertainty_city import RANGES

from climateinvest.uncertainty.sampling import ppf, sample_multipliers

# --- sampling ---------------------------------------------------------------------------------

def test_ppf_matches_scipy_and_zero_width_is_exact():
    q = np.linspace(0, 0.999, 37)
    expect = stats.triang(c=(1.0 - 0.7) / (1.6 - 0.7), loc=0.7, scale=0.9).ppf(q)
    np.testing.assert_allclose(ppf("triangular", 0.7, 1.0, 1.6, q), expect, rtol=1e-12)
    np.testing.assert_allclose(ppf("uniform", 0.5, 1.0, 1.5, q), 0.5 + q, rtol=1e-14)
    assert np.all(ppf("triangular", 1.3, 1.3, 1.3, q) == 1.3)
    assert np.all(ppf("uniform", 0.8, 0.8, 0.8, q) == 0.8)
    # mode at an end: right-angled triangles
    np.testing.assert_allclose(ppf("triangular", 1.0, 1.0, 2.0, q), 2 - np.sqrt(1 - q), rtol=1e-12)


def test_star_rows_are_shared_specific_rows_override_and_streams_are_stable():
    ids, cars = ["hp", "ev", "meals", "grid_led"], ["diesel", "electricity"]
    k = sample_multipliers(pd.DataFrame(RANGES, columns=UNC_COLS), ids, cars, 400, 1)
    # '*' capex: one multiplier per draw shared by every measure without a row of its own
    assert np.array_equal(k.capex[:, 0], k.capex[:, 2]) and np.array_equal(k.capex[:, 0], k.capex[:, 3])
    assert not np.allclose(k.capex[:, 1], k.capex[:, 0])  # ev has its own (override)
    assert k.capex[:, 1].min() >= 0.8 and k.capex[:, 1].max() <= 2.0 and k.capex[:, 1].max() > 1.4
    assert k.capex[:, 0].min() >= 0.9 and k.capex[:, 0].max() <= 1.4
    assert np.all(k.emission_factor[:, 0] == 1.0)  # diesel has no factor row: multiplier 1
    # adding a row (and a measure) leaves every other row's draws unchanged
    more = pd.DataFrame(RANGES + [("hp", "opex", "uniform", 0.5, 1.0, 1.5)], columns=UNC_COLS)
    k2 = sample_multipliers(more, ["new"] + ids, cars, 400, 1)
    assert np.array_equal(k2.capex[:, 2], k.capex[:, 1]) and np.array_equal(k2.abatement[:, 3], k.abatement[:, 2])
    assert np.array_equal(k2.opex[:, 2], k.opex[:, 1])  # ev keeps the '*' opex draw
    # a carrier named on a measure parameter is ignored with a note
    odd = pd.DataFrame(RANGES + [("electricity", "capex", "uniform", 0.5, 1.0, 1.5)], columns=UNC_COLS)
    assert any("'electricity' is not a measure" in n for n in sample_multipliers(odd, ids, cars, 5, 1).notes)

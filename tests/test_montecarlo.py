"""The Monte Carlo core against a slow reference loop, and the per-measure statistics."""
import numpy as np
import numpy_financial as npf
import pytest
from uncertainty_city import CHANGES, MEASURES, RANGES, scenario, setup

from climateinvest.uncertainty.montecarlo import (
    cost_per_tonne_draws,
    cost_per_tonne_percentiles,
    measure_statistics,
    npv_draws,
    npv_draws_materialised,
    present_values,
)
from climateinvest.uncertainty.sampling import sample_multipliers

# --- vectorised core against a slow reference loop --------------------------------------------

def test_vectorised_equals_reference_loop_with_numpy_financial():
    city, _sc, flows, _table = setup(sc=scenario(discount_rate=0.03))
    k = sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, 40, 3)
    pv = present_values(flows, city, 0.03)
    fast = npv_draws(pv, k)
    gen_npv, gen_t = npv_draws_materialised(flows, city, k, 0.03, max_elements=500)
    cost_c, t_c, t_plain = np.empty((40, 4)), np.empty((40, 4)), np.empty((40, 4))
    for d in range(40):  # the slow reference: one cash-flow vector and one npf.npv per draw and measure
        for m in range(4):
            cost = (flows.capex[m] * k.capex[d, m] + flows.opex[m] * k.opex[d, m]
                    + sum(flows.energy_cost_c[m, c] * k.energy_price[d, c] for c in range(2)))
            ab = (flows.direct[m] - sum(flows.emissions_c[m, c] * k.emission_factor[d, c] for c in range(2))) \
                * k.abatement[d, m]
            cost_c[d, m], t_c[d, m], t_plain[d, m] = npf.npv(0.03, cost), npf.npv(0.03, ab), ab.sum()
    np.testing.assert_allclose(fast.npv_cost, cost_c, rtol=1e-11)
    np.testing.assert_allclose(fast.tonnes, t_c, rtol=1e-11)
    np.testing.assert_allclose(gen_npv, cost_c, rtol=1e-11)
    np.testing.assert_allclose(gen_t, t_c, rtol=1e-11)
    plain = npv_draws(present_values(flows, city, 0.03, discount_abatement=False), k)
    np.testing.assert_allclose(plain.tonnes, t_plain, rtol=1e-11)
    assert np.ptp(cost_c[:, 1]) > 0.1 * abs(cost_c[:, 1].mean())  # the draws really vary


# --- per-measure statistics against a plain reference ---------------------------------------

def _linear_percentiles(draws: np.ndarray) -> np.ndarray:
    """P10/P50/P90 (3, M) of each column, linear method, +inf allowed: a reference loop."""
    out = np.empty((3, draws.shape[1]))
    for m in range(draws.shape[1]):
        a = np.sort(draws[:, m])
        for j, q in enumerate((0.1, 0.5, 0.9)):
            h = q * (len(a) - 1)
            i, g = int(np.floor(h)), h - np.floor(h)
            lo, hi = a[i], a[min(i + 1, len(a) - 1)]
            out[j, m] = lo if g == 0 else (np.inf if np.isinf(hi) else lo + (hi - lo) * g)
    return out


@pytest.mark.parametrize("max_elements", [2000, 1 << 22])
def test_statistics_equal_a_plain_reference(max_elements):
    # "x" abates only where the electricity factor is low (+inf cost per tonne elsewhere); "y"
    # only adds emissions (no abating draw: NaN percentiles)
    measures = MEASURES + [{"measure_id": "x", "capex": 1e5}, {"measure_id": "y", "capex": 1e5}]
    changes = CHANGES + [("x", "diesel", -100.0), ("x", "electricity", 600.0), ("y", "electricity", 50.0)]
    ranges = [r for r in RANGES if r[1] != "emission_factor"] + [
        ("electricity", "emission_factor", "uniform", 1.0, 2.5, 4.0)]
    D, cv = 2000, 800.0
    city, _sc, flows, _table = setup(ranges, scenario(draws=D), measures=measures, changes=changes)
    k = sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, D, 5)
    pv = present_values(flows, city, 0.025)
    got = measure_statistics(pv, k, cv, max_elements).set_index("measure_id")
    r = npv_draws(pv, k)
    cpt = _linear_percentiles(cost_per_tonne_draws(r.npv_cost, r.tonnes))
    abates = (r.tonnes > 0).sum(axis=0)
    cpt[:, abates == 0] = np.nan
    assert 0 < abates[-2] < D and abates[-1] == 0 and (abates[:4] == D).all()
    for j, p in enumerate((10, 50, 90)):
        np.testing.assert_allclose(got[f"cost_per_tco2e_p{p}"], cpt[j], rtol=1e-12)
        np.testing.assert_allclose(got[f"npv_cost_p{p}"], _linear_percentiles(r.npv_cost)[j], rtol=1e-12)
        np.testing.assert_allclose(got[f"abatement_target_year_p{p}"],
                                   _linear_percentiles(r.abatement_year)[j], rtol=1e-12)
    np.testing.assert_allclose(cost_per_tonne_percentiles(pv, k, max_elements), cpt, rtol=1e-12)
    assert np.isinf(got.loc["x", "cost_per_tco2e_p90"]) and np.isnan(got.loc["y", "cost_per_tco2e_p50"])
    np.testing.assert_array_equal(got["prob_abates"], abates / D)
    np.testing.assert_array_equal(got["prob_saves_money"], (r.npv_cost < 0).mean(axis=0))
    np.testing.assert_array_equal(got["prob_net_benefit"], (r.npv_cost - cv * r.tonnes_pv < 0).mean(axis=0))
    np.testing.assert_allclose(got["npv_cost_mean"], r.npv_cost.mean(axis=0), rtol=1e-12)
    mean_t = r.tonnes.mean(axis=0)
    want = np.where(mean_t > 0, r.npv_cost.mean(axis=0) / np.where(mean_t > 0, mean_t, 1), np.nan)
    np.testing.assert_allclose(got["expected_cost_per_tco2e"], want, rtol=1e-12)

"""Tests for climateinvest.finance: published values, numpy-financial oracle, properties, edges."""

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from climateinvest import finance as fin

# Any RuntimeWarning (division by zero, overflow) leaking from the library fails the test.
pytestmark = pytest.mark.filterwarnings("error")

FAST = settings(max_examples=40, deadline=None)


def conventional_flows(rng, shape, years):
    """Investment at t = 0, positive savings after: one sign change."""
    invest = -rng.uniform(1e3, 1e6, shape + (1,))
    savings = (
        rng.uniform(0.02, 0.4, shape + (1,)) * -invest * rng.uniform(0.5, 1.5, shape + (years,))
    )
    return np.concatenate([invest, savings], axis=-1)


money = st.floats(0, 1e5, allow_nan=False, allow_subnormal=False)
savings_rows = st.integers(1, 25).flatmap(lambda n: arrays(float, n, elements=money))
investments = st.floats(1, 1e6, allow_subnormal=False)
rates = st.floats(0, 0.3)


def project(invest, savings):
    return np.concatenate([[-invest], savings])


# ---------------------------------------------------------------- published worked examples


def test_npv_numpy_financial_docs_example():
    assert fin.npv(0.08, [-40_000, 5_000, 8_000, 12_000, 30_000]) == pytest.approx(
        3065.22267, abs=1e-5
    )


@pytest.mark.parametrize(
    "flows, expected",  # numpy-financial irr docstring, rounded to 5 decimals there
    [
        ([-100, 39, 59, 55, 20], 0.28095),
        ([-100, 0, 0, 74], -0.0955),
        ([-100, 100, 0, -7], -0.0833),
        ([-100, 100, 0, 7], 0.06206),
        ([-5, 10.5, 1, -8, 1], 0.0886),  # several roots: the one closest to 0
    ],
)
def test_irr_numpy_financial_docs_examples(flows, expected):
    assert round(float(fin.irr(flows)), 5) == expected


def test_textbook_annuity_loan():
    # 100 000 at 5 % over 10 years: level payment 12 950.46 (annuity tables, npf.pmt).
    s = fin.loan_schedule(100_000, 0.05, 10)
    np.testing.assert_allclose(s.payment, 12_950.4575, atol=1e-4)
    assert s.interest[0] == pytest.approx(5_000.0)
    assert s.principal[0] == pytest.approx(7_950.4575, abs=1e-4)
    assert s.closing_balance[0] == pytest.approx(92_049.5425, abs=1e-4)
    np.testing.assert_array_equal(s.year, np.arange(1, 11))


def test_straight_loan_by_hand():
    # 1.2 M at 4 % over 4 years, equal principal 300 000 a year, interest on the opening balance.
    s = fin.loan_schedule(1_200_000, 0.04, 4, method="straight")
    np.testing.assert_allclose(s.opening_balance, [1_200_000, 900_000, 600_000, 300_000])
    np.testing.assert_allclose(s.principal, [300_000] * 4)
    np.testing.assert_allclose(s.interest, [48_000, 36_000, 24_000, 12_000])
    np.testing.assert_allclose(s.payment, [348_000, 336_000, 324_000, 312_000])
    np.testing.assert_allclose(s.closing_balance, [900_000, 600_000, 300_000, 0], atol=1e-9)


def test_crf_annuity_and_eac_table_values():
    assert fin.capital_recovery_factor(0.05, 20) == pytest.approx(0.080243, abs=5e-7)
    assert fin.annuity_factor(0.05, 20) == pytest.approx(12.4622, abs=5e-5)
    assert fin.annuity_factor(0.05, 20) * fin.capital_recovery_factor(0.05, 20) == pytest.approx(1)
    # 1 M capex + 20 k/yr running cost over 20 years at 5 %: 80 242.59 + 20 000.
    assert fin.equivalent_annual_cost(1e6, 20_000, 0.05, 20) == pytest.approx(100_242.59, abs=0.01)


def test_simple_payback_worked_example():
    assert fin.simple_payback([-1000, 300, 300, 300, 300]) == pytest.approx(10 / 3)
    assert fin.simple_payback([-1000, 500, 500, 500]) == pytest.approx(2.0)  # exact hit at t = 2


def test_discounted_payback_by_hand():
    # At 10 %: 300 a year discounts to 272.73, 247.93, 225.39, 204.90, 186.28;
    # cumulative -49.04 after year 4, so 4 + 49.04 / 186.28 = 4.2633 years.
    flows = [-1000, 300, 300, 300, 300, 300]
    assert fin.discounted_payback(0.10, flows) == pytest.approx(4.26327, abs=1e-5)
    short = 1000 - sum(300 / 1.1**t for t in range(1, 5))
    assert fin.discounted_payback(0.10, flows) == pytest.approx(4 + short / (300 / 1.1**5))


# ---------------------------------------------------------------- numpy-financial as oracle


def test_npv_and_irr_match_numpy_financial_on_random_conventional_flows():
    rng = np.random.default_rng(2027)
    flows = conventional_flows(rng, (200,), 25)
    for rate in (0.0, 0.035, 0.12):
        expected = [npf.npv(rate, row) for row in flows]
        np.testing.assert_allclose(fin.npv(rate, flows), expected, rtol=1e-12, atol=1e-6)
    np.testing.assert_allclose(fin.irr(flows), [npf.irr(row) for row in flows], atol=1e-9)


def test_irr_matches_numpy_financial_on_random_nonconventional_flows():
    # Several sign changes: both return the root closest to 0 (or nan when none).
    rng = np.random.default_rng(7)
    flows = rng.normal(size=(300, 6))
    expected = [npf.irr(row) for row in flows]
    np.testing.assert_allclose(fin.irr(flows), expected, atol=1e-8, equal_nan=True)


@pytest.mark.parametrize(
    "rate, n, principal", [(0.05, 10, 100_000), (0.021, 30, 7.5e6), (0.11, 1, 50)]
)
def test_annuity_schedule_matches_pmt_ipmt_ppmt(rate, n, principal):
    s = fin.loan_schedule(principal, rate, n)
    per = np.arange(1, n + 1)
    np.testing.assert_allclose(s.payment, -npf.pmt(rate, n, principal), rtol=1e-12)
    np.testing.assert_allclose(
        s.interest, -npf.ipmt(rate, per, n, principal), rtol=1e-10, atol=1e-8
    )
    np.testing.assert_allclose(s.principal, -npf.ppmt(rate, per, n, principal), rtol=1e-10)


def test_crf_matches_pmt():
    rate, years = np.meshgrid([0.001, 0.03, 0.08, 0.5], [1, 5, 25, 60])
    np.testing.assert_allclose(fin.capital_recovery_factor(rate, years), -npf.pmt(rate, years, 1))


# ---------------------------------------------------------------- broadcasting


def test_npv_rates_broadcast_against_leading_axes():
    rng = np.random.default_rng(1)
    flows = conventional_flows(rng, (4,), 12)  # (M, T)
    rate = np.array([[0.0], [0.03], [0.07]])  # (R, 1)
    got = fin.npv(rate, flows)
    assert got.shape == (3, 4)
    np.testing.assert_allclose(got, [[npf.npv(r, f) for f in flows] for r in rate[:, 0]])
    assert fin.discount_factors(rate, 5).shape == (3, 1, 5)
    np.testing.assert_allclose(fin.discount_factors(0.1, 3), [1, 1 / 1.1, 1 / 1.21])


def test_irr_and_payback_keep_leading_shape():
    flows = conventional_flows(np.random.default_rng(3), (2, 3, 5), 10)
    assert fin.irr(flows).shape == (2, 3, 5)
    assert fin.simple_payback(flows).shape == (2, 3, 5)
    assert fin.discounted_payback(np.array([0.02, 0.05])[:, None, None], flows).shape == (2, 3, 5)
    assert np.ndim(fin.irr(flows[0, 0, 0])) == 0


def test_loan_schedule_broadcasts_over_principal_and_rate():
    s = fin.loan_schedule(np.array([1e5, 2e5, 3e5]), np.array([[0.0], [0.05]]), 8, "straight")
    assert s.payment.shape == (2, 3, 8) and s.year.shape == (8,)
    np.testing.assert_allclose(s.payment[0], np.array([[1e5], [2e5], [3e5]]) / 8 * np.ones(8))
    one = fin.loan_schedule(2e5, 0.05, 8, "straight")
    np.testing.assert_allclose(s.interest[1, 1], one.interest)


# ---------------------------------------------------------------- properties


@FAST
@given(investments, savings_rows, arrays(float, 25, elements=st.floats(0, 1e4)), rates)
def test_payback_falls_as_savings_rise(invest, savings, extra, rate):
    more = savings + extra[: len(savings)]
    assert fin.simple_payback(project(invest, more)) <= fin.simple_payback(project(invest, savings))
    before = fin.discounted_payback(rate, project(invest, savings))
    assert fin.discounted_payback(rate, project(invest, more)) <= before


@FAST
@given(investments, savings_rows, st.integers(1, 50))
def test_rate_zero_gives_plain_sums(invest, savings, years):
    flows = project(invest, savings)
    assert fin.npv(0.0, flows) == pytest.approx(flows.sum(), rel=1e-12, abs=1e-6)
    assert fin.discounted_payback(0.0, flows) == fin.simple_payback(flows)
    assert fin.capital_recovery_factor(0.0, years) == 1 / years
    assert fin.annuity_factor(0.0, years) == years
    assert fin.equivalent_annual_cost(invest, 10.0, 0.0, years) == pytest.approx(
        invest / years + 10
    )


@FAST
@given(
    st.integers(1, 6).flatmap(
        lambda m: st.integers(2, 15).flatmap(
            lambda t: arrays(float, (m, t), elements=st.floats(-1e4, 1e4, allow_subnormal=False))
        )
    ),
    rates,
)
def test_vectorised_equals_loop_over_scalars(flows, rate):
    np.testing.assert_allclose(
        fin.npv(rate, flows), [fin.npv(rate, row) for row in flows], rtol=1e-12, atol=1e-8
    )
    np.testing.assert_allclose(
        fin.irr(flows), [fin.irr(row) for row in flows], rtol=1e-12, atol=1e-12, equal_nan=True
    )
    np.testing.assert_array_equal(fin.simple_payback(flows), [fin.simple_payback(r) for r in flows])
    np.testing.assert_allclose(
        fin.discounted_payback(rate, flows), [fin.discounted_payback(rate, r) for r in flows]
    )


@FAST
@given(investments, savings_rows, st.floats(1e-3, 1e3), st.integers(-20, 20), rates)
def test_scaling_money_scales_npv_only(invest, savings, k, j, rate):
    flows = project(invest, savings)
    assert fin.npv(rate, k * flows) == pytest.approx(k * fin.npv(rate, flows), rel=1e-9, abs=1e-6)
    np.testing.assert_allclose(
        fin.irr(k * flows), fin.irr(flows), rtol=1e-9, atol=1e-12, equal_nan=True
    )
    # 2**j scales exactly, so a cumulative sum that hits 0 exactly still does after scaling.
    assert fin.simple_payback(2.0**j * flows) == fin.simple_payback(flows)
    assert fin.discounted_payback(rate, 2.0**j * flows) == fin.discounted_payback(rate, flows)


@FAST
@given(
    st.floats(1, 1e9),
    st.floats(0, 0.25),
    st.integers(1, 40),
    st.sampled_from(fin.LOAN_METHODS),
)
def test_loan_schedule_repays_the_principal(principal, rate, term, method):
    s = fin.loan_schedule(principal, rate, term, method)
    assert s.principal.sum() == pytest.approx(principal, rel=1e-12)
    assert s.opening_balance[0] == principal
    assert s.closing_balance[-1] == 0
    np.testing.assert_allclose(s.opening_balance[1:], s.closing_balance[:-1])
    np.testing.assert_allclose(s.payment, s.interest + s.principal)
    np.testing.assert_allclose(s.interest, rate * s.opening_balance)
    if method == "annuity":
        np.testing.assert_allclose(s.payment, principal * fin.capital_recovery_factor(rate, term))
    else:
        np.testing.assert_allclose(s.principal, principal / term)


# ---------------------------------------------------------------- edge cases and errors


@pytest.mark.parametrize("flows", [[100, 50, 20], [-100, -5, -1], [0, 0, 0], [-100], [-1, 0, 0]])
def test_irr_nan_without_sign_change(flows):
    assert np.isnan(fin.irr(flows))


@pytest.mark.parametrize(
    "a, b",  # flows -(1 - a x)(1 - b x), x = 1/(1+r): roots at r = a - 1 and b - 1
    [(1.1, 1.5), (0.95, 1.2), (0.8, 1.1), (0.5, 0.7)],
)
def test_irr_returns_root_closest_to_zero(a, b):
    flows = [-1.0, a + b, -a * b]
    roots = np.array([a - 1, b - 1])
    assert fin.irr(flows) == pytest.approx(roots[np.argmin(abs(roots))], abs=1e-12)


def test_irr_exact_zero_and_large_rates():
    assert fin.irr([-2, 1, 1]) == pytest.approx(0, abs=1e-14)
    assert fin.irr([-1, 1000]) == pytest.approx(999)
    assert fin.irr([-1, 0.5]) == pytest.approx(-0.5)


def test_payback_edges():
    assert fin.simple_payback([-1000, 100, 100]) == np.inf
    assert (
        fin.discounted_payback(0.1, [-1000, 100] + [100] * 9) == np.inf
    )  # pays back only undiscounted
    assert fin.simple_payback([-1000, 100] + [100] * 9) == 10
    assert fin.simple_payback([0, -5, 10]) == 0  # already ≥ 0 at t = 0
    assert fin.simple_payback([50, 10]) == 0
    assert fin.simple_payback([-1]) == np.inf
    # only the first crossing counts
    assert fin.simple_payback([-100, 100, -500, 0]) == 1


def test_crf_rate_zero_is_exact_and_vectorised():
    crf = fin.capital_recovery_factor(np.array([0.0, 0.05, 0.0]), np.array([10, 20, 3]))
    assert crf[0] == 0.1 and crf[2] == 1 / 3
    assert crf[1] == pytest.approx(0.080243, abs=5e-7)
    # continuous through 0: a tiny rate is close to 1/n
    assert fin.capital_recovery_factor(1e-12, 10) == pytest.approx(0.1, rel=1e-9)


def test_bad_method_message():
    with pytest.raises(
        ValueError, match=r"method must be one of \('annuity', 'straight'\), got 'bullet'"
    ):
        fin.loan_schedule(1000, 0.05, 10, method="bullet")


@pytest.mark.parametrize("term", [0, -3, 2.5, [5, 6]])
def test_bad_term_message(term):
    with pytest.raises(ValueError, match=r"term_years must be a whole number ≥ 1, got "):
        fin.loan_schedule(1000, 0.05, term)


def test_bad_rate_and_years_messages():
    with pytest.raises(ValueError, match=r"rate must be > -1 \[1/year\], got -1$"):
        fin.npv(-1.0, [1, 2])
    with pytest.raises(ValueError, match=r"rate must be > -1 \[1/year\], got -1.5$"):
        fin.loan_schedule(1000, np.array([0.05, -1.5, -1.2]), 5)
    with pytest.raises(ValueError, match=r"years must be > 0, got 0$"):
        fin.capital_recovery_factor(0.05, [10, 0])
    with pytest.raises(ValueError, match=r"years must be ≥ 0, got -2$"):
        fin.annuity_factor(0.05, -2)

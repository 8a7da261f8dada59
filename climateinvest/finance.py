"""Vectorised money maths: discounting, NPV, IRR, annuities, payback and loans.

Conventions
-----------
* Real terms: rates are real discount rates [1/year]; money is in constant
  currency of the base year.
* Timing follows numpy-financial: ``cashflows[..., 0]`` falls at t = 0 and is
  not discounted; ``cashflows[..., t]`` falls at the end of year t. Years run
  along the **last** axis.
* Every function broadcasts over leading axes (measures x draws x rates ...),
  with one matrix product or a fixed number of array operations, never a
  Python loop per cash-flow vector.

References: numpy-financial (``npv``, ``irr``, ``pmt``, ``ipmt``, ``ppmt``),
which the tests use as an oracle; Brealey, Myers & Allen, *Principles of
Corporate Finance* (present values, annuities, NPV/IRR/payback rules).
"""

from typing import NamedTuple

import numpy as np

__all__ = [
    "LoanSchedule",
    "annuity_factor",
    "capital_recovery_factor",
    "discount_factors",
    "discounted_payback",
    "equivalent_annual_cost",
    "irr",
    "loan_schedule",
    "npv",
    "simple_payback",
]

LOAN_METHODS = ("annuity", "straight")


def _rate(rate):
    r = np.asarray(rate, dtype=float)
    if np.any(r <= -1):
        raise ValueError(f"rate must be > -1 [1/year], got {r[r <= -1].min():g}")
    return r


def discount_factors(rate, n_years):
    """Discount factors ``(1 + rate) ** -t`` for t = 0 .. n_years - 1.

    Parameters
    ----------
    rate : float or array, shape (...) [1/year, real]
    n_years : int [years], number of factors (≥ 0)

    Returns
    -------
    array, shape (..., n_years) [-]

    Notes
    -----
    Factor t applies to a flow at the end of year t; factor 0 (t = 0) is 1.
    """
    r = _rate(rate)
    return (1.0 + r[..., None]) ** -np.arange(int(n_years))


def npv(rate, cashflows):
    """Net present value, broadcasting rates against the leading axes of the flows.

    Parameters
    ----------
    rate : float or array, shape (...) [1/year, real]
        Broadcasts against ``cashflows.shape[:-1]``; e.g. rates of shape (R, 1)
        with flows (M, T) give (R, M).
    cashflows : array, shape (..., T) [currency], last axis = years

    Returns
    -------
    float or array [currency]

    Notes
    -----
    ``cashflows[..., 0]`` is at t = 0 (undiscounted), ``cashflows[..., t]`` at the
    end of year t, as ``numpy_financial.npv``, which this equals for 1-D input.

    Examples
    --------
    100 invested now, 60 back at the end of each of two years, at 5 %:

    >>> round(float(npv(0.05, [-100, 60, 60])), 4)
    11.5646

    Rates broadcast against the flows' leading axes (two rates × two measures):

    >>> npv(np.array([[0.0], [0.05]]), np.array([[-100, 60, 60], [-50, 30, 30]])).round(2)
    array([[20.  , 10.  ],
           [11.56,  5.78]])
    """
    cf = np.asarray(cashflows, dtype=float)
    return np.einsum("...t,...t->...", discount_factors(rate, cf.shape[-1]), cf)


# IRR search grid in u = ln(1 + r): rates from -0.9999 to 9999, with 0 exactly on it.
_U_GRID = np.linspace(-1, 1, 241) * np.log(1e4)
_U_ZERO = 120  # index of u = 0 in _U_GRID
_BISECTIONS = 32  # bracket 0.077 -> 2e-11 in ln(1 + r), then one secant step
_BLOCK = 1 << 14  # rows per block, bounds the (rows x grid) work array to ~30 MB


def _powers(u, n):
    """x^t for t = 0 .. n-1 with x = exp(-|u|) ≤ 1, shape (n, ...), by cumulative product."""
    x = np.exp(-np.abs(u))
    p = np.ones((n,) + x.shape)
    np.cumprod(np.broadcast_to(x, (n - 1,) + x.shape), axis=0, out=p[1:])
    return p


def _irr_rows(cf):
    """IRR of each row of a 2-D block (N, T); see :func:`irr`.

    With x = exp(-|u|), NPV × (1 + r)^(T-1) = sum c[T-1-t] x^t for r < 0 and
    NPV = sum c[t] x^t for r ≥ 0: same sign as NPV, all powers ≤ 1, no overflow.
    """
    n = cf.shape[1]
    grid = _powers(_U_GRID, n)  # (T, K)
    f = np.concatenate([cf[:, ::-1] @ grid[:, :_U_ZERO], cf @ grid[:, _U_ZERO:]], 1)  # (N, K)
    neg, zero = np.signbit(f), f == 0
    bracket = (neg[:, :-1] != neg[:, 1:]) | zero[:, :-1] | zero[:, 1:]  # (N, K - 1)
    above, below = bracket[:, _U_ZERO:], bracket[:, :_U_ZERO]
    k = np.stack([_U_ZERO + above.argmax(1), _U_ZERO - 1 - below[:, ::-1].argmax(1)], 1)
    found = np.stack([above.any(1), below.any(1)], 1)  # (N, 2): r ≥ 0 side, r < 0 side
    lo, hi = _U_GRID[k], _U_GRID[k + 1]
    flo, fhi = np.take_along_axis(f, k, 1), np.take_along_axis(f, k + 1, 1)
    coef = np.stack([cf, cf[:, ::-1]], 1)  # (N, 2, T)
    for _ in range(_BISECTIONS):  # fixed count, all rows and both sides at once
        mid = 0.5 * (lo + hi)
        fmid = np.einsum("nkt,tnk->nk", coef, _powers(mid, n))
        right = np.sign(fmid) == np.sign(flo)  # root in [mid, hi]
        lo, flo = np.where(right, mid, lo), np.where(right, fmid, flo)
        hi, fhi = np.where(right, hi, mid), np.where(right, fhi, fmid)
    step = np.divide(flo, flo - fhi, out=np.full_like(lo, 0.5), where=flo != fhi)
    roots = np.expm1(np.where(found, lo + step * (hi - lo), np.nan))
    pick = np.isnan(roots[:, 0]) | (np.abs(roots[:, 1]) < np.abs(roots[:, 0]))
    out = np.where(pick, roots[:, 1], roots[:, 0])
    return np.where((cf > 0).any(1) & (cf < 0).any(1), out, np.nan)


def irr(cashflows):
    """Internal rate of return of each cash-flow vector, vectorised over leading axes.

    Parameters
    ----------
    cashflows : array, shape (..., T) [currency], last axis = years

    Returns
    -------
    float or array, shape (...) [1/year, real]
        NaN where the flows have no sign change or no root is found.

    Notes
    -----
    Timing as in :func:`npv` (flow 0 at t = 0, flow t at the end of year t).
    Method: the sign of NPV is evaluated for all rows at once (a matrix product)
    on a grid of 241 rates uniform in ln(1 + r) from -0.9999 to 9999, 0
    included. In each row the first sign change at r ≥ 0 and the last one at
    r < 0 are refined together by 32 bisection steps in ln(1 + r) and a final
    secant step (to machine precision); of these two, the root **closest to 0**
    is returned, as ``numpy_financial.irr`` does. Roots outside the grid, or
    pairs of roots in one grid cell (width 0.077 in ln(1 + r)), are not seen.
    Rows are processed in blocks of 16384, so memory stays bounded.

    Examples
    --------
    >>> round(float(irr([-100, 60, 60])), 6)
    0.130662
    """
    cf = np.asarray(cashflows, dtype=float)
    rows = cf.reshape(-1, cf.shape[-1])
    blocks = np.array_split(rows, max(1, -(-len(rows) // _BLOCK)))
    return np.concatenate([_irr_rows(b) for b in blocks]).reshape(cf.shape[:-1])[()]


def annuity_factor(rate, years):
    """Present value of 1 per year for ``years`` years: (1 - (1 + r)^-n) / r.

    Parameters
    ----------
    rate : float or array [1/year, real]
    years : float or array [years] (≥ 0)

    Returns
    -------
    float or array [years] ; equals ``years`` at rate 0 (handled exactly).

    Notes
    -----
    Payments at the end of years 1 .. n, valued at t = 0; = 1 / CRF.

    Examples
    --------
    The present value of 1 SEK a year for 10 years at the 2.5 % internränta:

    >>> round(float(annuity_factor(0.025, 10)), 6)
    8.752064
    """
    r, n = np.broadcast_arrays(_rate(rate), np.asarray(years, dtype=float))
    if np.any(n < 0):
        raise ValueError(f"years must be ≥ 0, got {n[n < 0].min():g}")
    zero = r == 0
    safe = np.where(zero, 1.0, r)
    return np.where(zero, n, -np.expm1(-n * np.log1p(safe)) / safe)[()]


def capital_recovery_factor(rate, years):
    """Capital recovery factor r(1 + r)^n / ((1 + r)^n - 1); 1/n at rate 0.

    Parameters
    ----------
    rate : float or array [1/year, real]
    years : float or array [years] (> 0)

    Returns
    -------
    float or array [1/year]: level end-of-year payment per unit of t = 0 capital.

    Notes
    -----
    Payments at the end of years 1 .. n (numpy-financial ``-pmt(rate, n, 1)``).

    Examples
    --------
    >>> round(float(capital_recovery_factor(0.025, 10)), 6)
    0.114259
    >>> float(capital_recovery_factor(0.0, 4))
    0.25
    """
    n = np.asarray(years, dtype=float)
    if np.any(n <= 0):
        raise ValueError(f"years must be > 0, got {n[n <= 0].min():g}")
    return 1.0 / annuity_factor(rate, n)


def equivalent_annual_cost(capex, annual_cost, rate, years):
    """Equivalent annual cost: capex × CRF(rate, years) + annual_cost.

    Parameters
    ----------
    capex : float or array [currency], paid at t = 0
    annual_cost : float or array [currency / year], at the end of years 1 .. n
    rate : float or array [1/year, real]
    years : float or array [years] (> 0)

    Returns
    -------
    float or array [currency / year]

    Notes
    -----
    Level end-of-year amount with the same NPV as the capex plus running costs.

    Examples
    --------
    1 MSEK over 10 years at 2.5 % plus 20 000 SEK a year of running cost:

    >>> round(float(equivalent_annual_cost(1_000_000, 20_000, 0.025, 10)), 2)
    134258.76
    """
    return np.asarray(capex) * capital_recovery_factor(rate, years) + np.asarray(annual_cost)


def simple_payback(cashflows):
    """Years until the cumulative undiscounted net benefit first reaches ≥ 0.

    Parameters
    ----------
    cashflows : array, shape (..., T) [currency], last axis = years
        Net benefits: investment negative at t = 0, savings positive later.

    Returns
    -------
    float or array, shape (...) [years]
        0 if ``cashflows[..., 0] >= 0``; ``inf`` if the sum never reaches 0.

    Notes
    -----
    Flow 0 at t = 0, flow t at the end of year t; the cumulative sum is
    interpolated linearly between t - 1 and t within the crossing year. Only the
    first crossing counts (later costs that turn it negative are ignored).

    Examples
    --------
    >>> float(simple_payback([-100, 40, 40, 40]))
    2.5
    """
    cum = np.cumsum(np.asarray(cashflows, dtype=float), axis=-1)
    prev = np.concatenate([cum[..., :1], cum[..., :-1]], axis=-1)  # cum at t - 1; t = 0: itself
    ok = cum >= 0
    t = ok.argmax(-1)[..., None]  # first year with cum >= 0 (0 if none)
    before, after = (np.take_along_axis(a, t, -1)[..., 0] for a in (prev, cum))
    rise = after - before  # > 0 at a crossing in year t >= 1, 0 when t = 0
    frac = np.divide(-before, rise, out=np.ones_like(rise), where=rise > 0)
    out = t[..., 0] - 1 + frac
    return np.where(ok.any(-1), out, np.inf)[()]


def discounted_payback(rate, cashflows):
    """Years until the cumulative discounted net benefit first reaches ≥ 0.

    Parameters
    ----------
    rate : float or array [1/year, real], broadcasts as in :func:`npv`
    cashflows : array, shape (..., T) [currency], last axis = years (net benefits)

    Returns
    -------
    float or array [years]; 0 if ``cashflows[..., 0] >= 0``, ``inf`` if never.

    Notes
    -----
    :func:`simple_payback` of ``cashflows * (1 + rate) ** -t``: flow 0 at t = 0,
    flow t at the end of year t, linear within the crossing year.

    Examples
    --------
    >>> round(float(discounted_payback(0.05, [-100, 40, 40, 40])), 4)
    2.7416
    """
    cf = np.asarray(cashflows, dtype=float)
    return simple_payback(cf * discount_factors(rate, cf.shape[-1]))


class LoanSchedule(NamedTuple):
    """Yearly loan schedule; money arrays have shape (..., term) [currency]."""

    year: np.ndarray  # (term,) 1 .. term, payments at year end
    opening_balance: np.ndarray
    interest: np.ndarray
    principal: np.ndarray
    payment: np.ndarray
    closing_balance: np.ndarray


def loan_schedule(principal, rate, term_years, method="annuity"):
    """Repayment schedule of a loan taken at t = 0.

    Parameters
    ----------
    principal : float or array, shape (...) [currency]
    rate : float or array [1/year], loan interest rate; broadcasts with principal
    term_years : int [years] (≥ 1)
    method : {"annuity", "straight"}
        ``"annuity"``: level payment = principal × CRF (numpy-financial ``pmt``).
        ``"straight"`` (rak amortering): equal principal each year, interest on
        the opening balance, so payments fall over time.

    Returns
    -------
    LoanSchedule
        ``year`` has shape (term,); the other fields (..., term) [currency].

    Notes
    -----
    Interest and repayment are paid at the end of each year; the opening balance
    of year 1 is the principal and the closing balance of the last year is 0.

    Examples
    --------
    A 300 000 SEK loan at 2.7 % over three years, straight-line (*rak amortering*):

    >>> s = loan_schedule(300_000, 0.027, 3, method="straight")
    >>> s.principal.tolist()
    [100000.0, 100000.0, 100000.0]
    >>> s.interest.round(2).tolist()
    [8100.0, 5400.0, 2700.0]
    """
    if method not in LOAN_METHODS:
        raise ValueError(f"method must be one of {LOAN_METHODS}, got {method!r}")
    if not (np.ndim(term_years) == 0 and float(term_years).is_integer() and term_years >= 1):
        raise ValueError(f"term_years must be a whole number ≥ 1, got {term_years!r}")
    n = int(term_years)
    year = np.arange(1, n + 1)
    p = np.asarray(principal, dtype=float)[..., None]
    r = _rate(rate)[..., None]
    k = np.arange(n + 1)  # balances after k payments, as a share of the principal
    if method == "annuity":
        share = annuity_factor(r, n - k) / annuity_factor(r, n)
    else:
        share = np.broadcast_to((n - k) / n, np.broadcast_shapes(r.shape, k.shape))
    balance = p * share
    opening, closing = balance[..., :-1], balance[..., 1:]
    interest = opening * r
    repaid = opening - closing
    return LoanSchedule(year, opening, interest, repaid, interest + repaid, closing)

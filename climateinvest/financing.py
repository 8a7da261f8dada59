"""Financing plan: who pays for the chosen measures, what the loans cost, and the operating budget.

Allocation (the documented order, :data:`FINANCING_ORDER`)
------------------------------------------------------------
Each chosen measure's investment per calendar year (``Flows.capex`` on the calendar) is split
over the funding sources **year by year**, because ``annual_cap`` is a yearly limit:

1. **grants** first, in the file order of ``funding_sources`` (most restrictive, free money);
2. then **loans**, in file order;
3. then **own funds**, in file order, their total per year capped by ``scenario.own_funds_cap``
   (a year missing from the mapping, or no mapping at all, is uncapped);
4. what no source covers is the **financing gap** of that measure and year.

A source may fund a measure only if the measure's sector and payer are listed in its
``eligible_sectors`` / ``eligible_payers`` (:func:`climateinvest.appraisal.eligibility`). Per
source, measure and year it pays at most ``max_share`` (NaN = 1) of that measure's investment
that year, and over all measures at most ``annual_cap`` (NaN = no cap) that year. When a cap
binds, the money goes to the measures in **cost-per-tonne order** (``cost_per_tco2e`` of the
chosen table, lowest first, NaN last, ties in table order; :data:`CAP_RULE`), so a shortfall —
and finally the gap — lands on the measures that buy the fewest tonnes per krona, the first
candidates to postpone. ``cap_rule="pro_rata"`` shares a binding cap in proportion to what each
measure could take instead (largest-remainder rounding to the cent).

All money is allocated in integer öre/cents, so every measure-year reconciles exactly:
grants + loans + own funds + gap == investment, to the cent. An investment spread over several
years is rounded to the cent on its running total, so its years add up to its ``capex`` exactly
(1 000 000.01 over 3 years: 333 333.34, 333 333.33, 333 333.34). Only measures whose payer is
``municipality`` or ``municipal_company`` are financed by the city's plan; ``external``
measures are listed with kind ``"external (not financed by the city)"`` and kept out of the
investment total, the loans and the budget impact.

If ``funding_sources`` lists no own-funds source, an implicit one (:data:`IMPLICIT_OWN_FUNDS`,
all sectors and payers, max_share 1, no cap of its own) is added and a note says so: a
municipality can always finance from its own result and liquidity, within the scenario cap.

Loans
-----
One loan per drawdown (source × measure × investment year), scheduled with
:func:`climateinvest.finance.loan_schedule` at the source's ``interest_rate`` (nominal) with its
``amortisation``. Its term (``scenario.loan_term``): by default (``asset_life``) the financed
asset's ``lifetime_years`` capped by the source's ``term_years`` — amortisation follows
depreciation and no loan outlives its asset; ``source_term``: the source's ``term_years``
(``straight`` default — *rak amortering*, the common
Swedish municipal practice — or ``annuity``). A loan drawn in year *d* is paid at the end of
calendar years *d*+1 … *d*+term (numpy-financial timing). Debt service per calendar year is
interest + amortisation of all loans.

Operating-budget impact (kommunal driftsbudget), municipal group payers only: see
:mod:`climateinvest.budget_impact` (depreciation net of the grants allocated here + internal
interest + running-cost and energy-cost changes).

Money: the allocation (investment, grants, loans, own funds, gap) is in the city's currency at its
price year (real, as the appraisal and the investment budget); a loan is drawn at the nominal
value of its drawdown year (× (1 + ``scenario.inflation``)^(year − price year)), so the loans,
the debt service, the book value and the operating-budget impact are in **nominal** kronor of
each year, what the budget sees.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.appraisal import eligibility
from climateinvest.budget_impact import book_value, nominal_index, operating_budget_impact
from climateinvest.cashflows import Flows
from climateinvest.io.city import CityData
from climateinvest.io.city_specs import CITY_PAYERS
from climateinvest.io.errors import Problem, ValidationError
from climateinvest.io.scenario import Scenario
from climateinvest.io.tables import StepTables

FINANCING_ORDER = ("grant", "loan", "own_funds")
"""Kinds of source in the order they are drawn on; within a kind, file order; then the gap."""
CAP_RULES = ("cost_per_tonne", "pro_rata")
CAP_RULE = "cost_per_tonne"
"""Default rule when an ``annual_cap`` (or the own-funds cap) binds; see the module docstring."""
EXTERNAL_KIND = "external (not financed by the city)"
EXTERNAL_SOURCE = "external"
GAP_SOURCE = "financing_gap"
GAP_KIND = "gap"
IMPLICIT_OWN_FUNDS = "own_funds"
DEFAULT_AMORTISATION = "straight"
_EPS_CENT = 1e-6  # tolerance (in cents) when flooring max_share × investment


@dataclass(frozen=True)
class FinancingResult(StepTables):
    """The financing plan of a portfolio. Money [currency] at the city's price year.

    allocation : measure_id, year, source_id, kind, amount — one row per measure, year and source
        with a positive amount, including ``financing_gap`` rows (kind ``gap``) and external
        measures (source ``external``, kind ``external (not financed by the city)``).
    by_year : year, one column per source_id, financing_gap, investment (city-financed total;
        the sources and the gap add up to it to the cent), external_investment.
    loans : one row per loan drawdown and repayment year: source_id, measure_id, drawdown_year,
        year (calendar), loan_year (1 … term), opening_balance, interest, amortisation, payment,
        closing_balance.
    debt_service : year, interest, amortisation, total, debt_outstanding (at year end).
    debt_service also has book_value (year end, net of grants) beside debt_outstanding [nominal].
    budget_impact : year and the parts of :data:`climateinvest.budget_impact.PARTS`, net [nominal].
    budget_impact_by_measure : the same per measure_id and payer (long table).
    budget_impact_by_payer : the same per payer (municipality; municipal_company) and year.
    grants_by_measure : measure_id → grants allocated [currency, price year] (0 if none).
    gap_by_year : year, gap.
    sources : the funding sources used (source_id, name, kind, ...), in drawing order.
    summary : totals per kind, gap, peaks (JSON-serialisable).
    """

    STEP: ClassVar[str] = "financing"
    MAIN: ClassVar[str] = "by_year"
    NOT_SAVED: ClassVar[dict[str, str]] = {"gap_by_year": "the financing_gap column of by_year"}

    allocation: pd.DataFrame
    by_year: pd.DataFrame
    loans: pd.DataFrame
    debt_service: pd.DataFrame
    budget_impact: pd.DataFrame
    budget_impact_by_measure: pd.DataFrame
    gap_by_year: pd.DataFrame
    sources: pd.DataFrame
    summary: dict = field(default_factory=dict)
    budget_impact_by_payer: pd.DataFrame | None = None
    grants_by_measure: pd.Series | None = None


def select_flows(flows: Flows, measure_ids) -> Flows:
    """``flows`` restricted to ``measure_ids`` (in that order); KeyError names a missing one."""
    ids = list(measure_ids)
    pos = {m: i for i, m in enumerate(flows.measure_ids)}
    missing = [m for m in ids if m not in pos]
    if missing:
        raise KeyError(f"measures not in the flows: {', '.join(map(str, missing))}")
    return flows.take([pos[m] for m in ids])


def check_chosen(chosen: pd.DataFrame, flows: Flows, city: CityData) -> pd.DataFrame:
    """The chosen table with ``payer``, ``sector``, ``emission_source``, ``scale`` (default 1)
    and ``cost_per_tco2e`` (default NaN) filled from the city where missing; checks that every
    measure is in the flows and that the start years agree.
    """
    if "measure_id" not in chosen.columns:
        raise ValueError("chosen: column measure_id is required")
    c = chosen.reset_index(drop=True).copy()
    if c["measure_id"].duplicated().any():
        repeated = sorted(set(c.loc[c["measure_id"].duplicated(), "measure_id"]))
        raise ValueError(f"chosen: measure_id repeated: {repeated}")
    m = city.measures.set_index("measure_id")
    unknown = [x for x in c["measure_id"] if x not in m.index]
    if unknown:
        raise ValueError(f"chosen: measures not in the city's measures.csv: {', '.join(unknown)}")
    for col in ("payer", "sector", "emission_source"):
        if col not in c.columns:
            c[col] = m.loc[c["measure_id"], col].to_numpy()
    if "scale" not in c.columns:
        c["scale"] = 1.0
    if "cost_per_tco2e" not in c.columns:
        c["cost_per_tco2e"] = np.nan
    c["scale"] = c["scale"].astype(float)
    c["cost_per_tco2e"] = c["cost_per_tco2e"].astype(float)
    pos = {mid: i for i, mid in enumerate(flows.measure_ids)}
    missing = [x for x in c["measure_id"] if x not in pos]
    if missing:
        raise ValueError(
            f"chosen measures missing from the flows: {', '.join(missing)} "
            "(build the flows for the chosen measures, e.g. portfolio.flows_for_chosen)"
        )
    if "start_year" in c.columns:
        flow_start = flows.start_year[[pos[x] for x in c["measure_id"]]]
        bad = c["start_year"].to_numpy(int) != flow_start
        if bad.any():
            i = int(np.argmax(bad))
            raise ValueError(
                f"chosen start_year {int(c['start_year'].iloc[i])} for {c['measure_id'].iloc[i]} "
                f"but the flows start in {int(flow_start[i])}: build the flows with the chosen "
                "start years"
            )
    return c


def _sources(city: CityData) -> tuple[pd.DataFrame, list[str]]:
    """Funding sources in drawing order, validated; plus notes."""
    f = city.funding_sources.copy().reset_index(drop=True)
    file = str(city.files.get("funding_sources", "funding_sources.csv"))
    f["_row"] = np.arange(len(f)) + 2  # spreadsheet row (header = row 1)
    if "amortisation" not in f.columns:
        f["amortisation"] = DEFAULT_AMORTISATION
    f["amortisation"] = [
        (str(a).strip() if isinstance(a, str) and a.strip() else DEFAULT_AMORTISATION) for a in f["amortisation"]
    ]
    notes = []
    if not (f["kind"] == "own_funds").any():
        f = pd.concat(
            [
                f,
                pd.DataFrame(
                    [
                        {
                            "source_id": IMPLICIT_OWN_FUNDS,
                            "name": "Own funds (implicit)",
                            "kind": "own_funds",
                            "max_share": 1.0,
                            "annual_cap": np.nan,
                            "interest_rate": np.nan,
                            "term_years": np.nan,
                            "eligible_sectors": "*",
                            "eligible_payers": "*",
                            "amortisation": DEFAULT_AMORTISATION,
                            "_row": -1,
                        }
                    ]
                ),
            ],
            ignore_index=True,
        )
        notes.append(
            f"funding_sources lists no own_funds source: an implicit '{IMPLICIT_OWN_FUNDS}' "
            "(all measures, no cap of its own) was added"
        )
    problems = []
    for _, s in f.iterrows():
        if s["kind"] not in FINANCING_ORDER:
            problems.append(
                Problem(
                    file, f"kind must be one of {FINANCING_ORDER}, got {s['kind']!r}", int(s["_row"]), "kind", s["kind"]
                )
            )
        if s["kind"] != "loan":
            continue
        rate, term = float(s["interest_rate"]), float(s["term_years"])
        if not np.isfinite(rate) or rate <= -1:
            problems.append(
                Problem(
                    file, f"a loan needs an interest_rate > -1, got {rate!r}", int(s["_row"]), "interest_rate", rate
                )
            )
        if not (np.isfinite(term) and term >= 1 and term.is_integer()):
            problems.append(
                Problem(
                    file,
                    f"a loan needs term_years, a whole number ≥ 1, got {term!r}",
                    int(s["_row"]),
                    "term_years",
                    term,
                )
            )
        if s["amortisation"] not in finance.LOAN_METHODS:
            problems.append(
                Problem(
                    file,
                    f"amortisation must be one of {finance.LOAN_METHODS}, got {s['amortisation']!r}",
                    int(s["_row"]),
                    "amortisation",
                    s["amortisation"],
                )
            )
    if problems:
        raise ValidationError(problems)
    order = {k: i for i, k in enumerate(FINANCING_ORDER)}
    f["_order"] = f["kind"].map(order)
    f = f.sort_values(["_order"], kind="stable").drop(columns="_order").reset_index(drop=True)
    return f, notes


def _floor_cents(x: float) -> int:
    return int(np.floor(x + _EPS_CENT))


def _share_cap(want: np.ndarray, cap: int, priority: np.ndarray, rule: str) -> np.ndarray:
    """Amounts [cents] ≤ ``want`` summing to min(cap, Σ want) under ``rule``."""
    total = int(want.sum())
    if total <= cap:
        return want.copy()
    if cap <= 0:
        return np.zeros_like(want)
    if rule == "pro_rata":
        exact = [int(w) * cap for w in want]  # Python ints: exact
        base = np.array([e // total for e in exact], dtype=np.int64)
        rem = np.array([e % total for e in exact], dtype=object)
        left = cap - int(base.sum())
        order = sorted(range(len(want)), key=lambda i: (-rem[i], priority[i]))
        for i in order[:left]:
            base[i] += 1
        return base
    out = np.zeros_like(want)
    left = cap
    for i in np.argsort(priority, kind="stable"):
        take = min(int(want[i]), left)
        out[i] = take
        left -= take
        if left == 0:
            break
    return out


def plan_financing(
    city: CityData, scenario: Scenario, chosen: pd.DataFrame, flows: Flows, cap_rule: str = CAP_RULE
) -> FinancingResult:
    """Financing plan, loans, debt service and operating-budget impact of the chosen measures.

    Parameters
    ----------
    city : CityData  (``funding_sources``: kind, max_share [share], annual_cap [currency/year],
        interest_rate [1/year], term_years [years], eligibility, amortisation)
    scenario : Scenario  (``own_funds_cap`` [currency/year], ``internal_rate_used`` [1/year,
        nominal], ``internal_interest_basis``, ``loan_term``, ``inflation`` [1/year])
    chosen : DataFrame, one row per chosen measure: measure_id, and (else taken from the city)
        payer, sector; optional start_year (checked against the flows), scale [share] (default
        1), cost_per_tco2e [currency/t] (cap priority; default NaN = last).
    flows : Flows  containing at least the chosen measures at their chosen start years.
    cap_rule : "cost_per_tonne" (default) or "pro_rata", see the module docstring.

    Returns
    -------
    FinancingResult (see its docstring).

    Notes
    -----
    Order, caps, rounding, loan timing and the budget-impact conventions are in the module
    docstring.
    """
    if cap_rule not in CAP_RULES:
        raise ValueError(f"cap_rule must be one of {CAP_RULES}, got {cap_rule!r}")
    c = check_chosen(chosen, flows, city)
    ids = c["measure_id"].tolist()
    sub = select_flows(flows, ids)
    sources, notes = _sources(city)
    elig = eligibility(city).reindex(ids)
    if IMPLICIT_OWN_FUNDS in set(sources["source_id"]) and IMPLICIT_OWN_FUNDS not in elig.columns:
        elig[IMPLICIT_OWN_FUNDS] = True

    financed = c["payer"].isin(CITY_PAYERS).to_numpy()
    n = len(ids)
    if n:
        y0 = int(sub.start_year.min())
        y1 = int((sub.start_year + sub.n_years - 1).max())
    else:
        y0 = y1 = scenario.budget_cycle
    cal_years = np.arange(y0, y1 + 1)
    invest_cal = sub.calendar(sub.capex, cal_years) if n else np.zeros((0, len(cal_years)))
    # (M, Y) cents; rounding the running total makes each measure's years add up to its capex
    cum = np.rint(np.cumsum(invest_cal, axis=1) * 100.0).astype(np.int64)
    cents = np.diff(cum, axis=1, prepend=0)
    active = np.flatnonzero(cents.any(axis=0))
    inv_years = cal_years[active.min() : active.max() + 1] if active.size else np.array([scenario.budget_cycle])

    cpt = c["cost_per_tco2e"].to_numpy(float)
    priority = np.lexsort((np.arange(n), np.where(np.isnan(cpt), np.inf, cpt), np.isnan(cpt)))
    rank = np.empty(n, dtype=np.int64)
    rank[priority] = np.arange(n)
    own_cap = scenario.own_funds_cap or {}

    S = len(sources)
    alloc = np.zeros((S, n, len(inv_years)), dtype=np.int64)  # cents
    gap = np.zeros((n, len(inv_years)), dtype=np.int64)
    src_ok = np.stack([elig[s].to_numpy(bool) for s in sources["source_id"]]) if S else np.zeros((0, n), bool)
    max_share = sources["max_share"].astype(float).fillna(1.0).clip(0.0, 1.0).to_numpy()
    annual_cap = sources["annual_cap"].astype(float).to_numpy()
    kinds = sources["kind"].to_numpy()
    for j, year in enumerate(inv_years):
        inv = cents[:, np.searchsorted(cal_years, year)] * financed
        remaining = inv.copy()
        own_left = _floor_cents(own_cap[int(year)] * 100) if int(year) in own_cap else None
        for s in range(S):
            limit = np.array([_floor_cents(max_share[s] * int(v)) for v in inv], dtype=np.int64)
            want = np.minimum(remaining, limit) * src_ok[s]
            cap = None if np.isnan(annual_cap[s]) else _floor_cents(annual_cap[s] * 100)
            if kinds[s] == "own_funds" and own_left is not None:
                cap = own_left if cap is None else min(cap, own_left)
            take = want if cap is None else _share_cap(want, cap, rank, cap_rule)
            if kinds[s] == "own_funds" and own_left is not None:
                own_left -= int(take.sum())
            alloc[s, :, j] = take
            remaining -= take
        gap[:, j] = remaining
    assert (alloc.sum(axis=0) + gap == cents[:, np.searchsorted(cal_years, inv_years)] * financed[:, None]).all()

    # allocation (long)
    rows = []
    ext_cents = cents[:, np.searchsorted(cal_years, inv_years)] * (~financed)[:, None]
    for i, mid in enumerate(ids):
        for j, year in enumerate(inv_years):
            for s in range(S):
                if alloc[s, i, j]:
                    rows.append((mid, int(year), sources["source_id"].iloc[s], kinds[s], alloc[s, i, j] / 100))
            if gap[i, j]:
                rows.append((mid, int(year), GAP_SOURCE, GAP_KIND, gap[i, j] / 100))
            if ext_cents[i, j]:
                rows.append((mid, int(year), EXTERNAL_SOURCE, EXTERNAL_KIND, ext_cents[i, j] / 100))
    allocation = pd.DataFrame(rows, columns=["measure_id", "year", "source_id", "kind", "amount"])

    by_year = pd.DataFrame({"year": inv_years.astype(int)})
    for k, source_id in enumerate(sources["source_id"]):
        by_year[source_id] = alloc[k].sum(axis=0) / 100
    by_year[GAP_SOURCE] = gap.sum(axis=0) / 100
    by_year["investment"] = (alloc.sum(axis=(0, 1)) + gap.sum(axis=0)) / 100
    by_year["external_investment"] = ext_cents.sum(axis=0) / 100
    gap_by_year = pd.DataFrame({"year": inv_years.astype(int), "gap": gap.sum(axis=0) / 100})

    # loans (nominal: each drawdown at the prices of its year)
    index_inv = nominal_index(inv_years, city.price_year, scenario.inflation)
    life_m = city.measures.set_index("measure_id").loc[ids, "lifetime_years"].to_numpy(int) if n else np.zeros(0, int)
    loan_frames = []
    for s in map(int, np.flatnonzero(kinds == "loan")):
        i_idx, j_idx = np.nonzero(alloc[s])
        if not len(i_idx):
            continue
        src = sources.iloc[s]
        terms = np.full(len(i_idx), int(src["term_years"]))
        if scenario.loan_term == "asset_life":
            terms = np.minimum(terms, life_m[i_idx])
        for term in sorted(set(terms.tolist())):
            sel = terms == term
            ii, jj = i_idx[sel], j_idx[sel]
            sched = finance.loan_schedule(
                alloc[s, ii, jj] / 100 * index_inv[jj], float(src["interest_rate"]), term, method=src["amortisation"]
            )
            d = inv_years[jj].astype(int)
            k = len(ii)
            loan_frames.append(
                pd.DataFrame(
                    {
                        "source_id": src["source_id"],
                        "measure_id": np.repeat(np.asarray(ids, dtype=object)[ii], term),
                        "drawdown_year": np.repeat(d, term),
                        "year": (d[:, None] + sched.year[None, :]).ravel(),
                        "loan_year": np.tile(sched.year, k),
                        "term_years": term,
                        "opening_balance": sched.opening_balance.ravel(),
                        "interest": sched.interest.ravel(),
                        "amortisation": sched.principal.ravel(),
                        "payment": sched.payment.ravel(),
                        "closing_balance": sched.closing_balance.ravel(),
                    }
                )
            )
    loan_cols = [
        "source_id",
        "measure_id",
        "drawdown_year",
        "year",
        "loan_year",
        "term_years",
        "opening_balance",
        "interest",
        "amortisation",
        "payment",
        "closing_balance",
    ]
    loans = pd.concat(loan_frames, ignore_index=True) if loan_frames else pd.DataFrame(columns=loan_cols)
    loans = loans.astype({"drawdown_year": int, "year": int, "loan_year": int, "term_years": int})
    if len(loans):
        loans = loans.sort_values(["source_id", "drawdown_year", "measure_id", "loan_year"], kind="stable",
                                  key=lambda col: col.map({m: i for i, m in enumerate(ids)}) if col.name == "measure_id"
                                  else col).reset_index(drop=True)

    # the common horizon of debt service and budget impact
    last_loan = int(loans["year"].max()) if len(loans) else y0
    horizon = np.arange(int(inv_years[0]), max(y1, last_loan, int(inv_years[-1])) + 1)

    ds = pd.DataFrame({"year": horizon})
    if len(loans):
        g = loans.groupby("year")[["interest", "amortisation"]].sum()
        ds = ds.join(g, on="year")
    else:
        ds["interest"], ds["amortisation"] = 0.0, 0.0
    ds = ds.fillna({"interest": 0.0, "amortisation": 0.0})
    ds["total"] = ds["interest"] + ds["amortisation"]
    debt = np.zeros(len(horizon))
    for s in map(int, np.flatnonzero(kinds == "loan")):
        for i, j in zip(*np.nonzero(alloc[s]), strict=True):
            debt[horizon == inv_years[j]] += alloc[s, i, j] / 100 * index_inv[j]
    if len(loans):  # balance at year end = drawn this year + closing balances of loans paying this year
        debt = debt + loans.groupby("year")["closing_balance"].sum().reindex(horizon, fill_value=0.0).to_numpy()
    ds["debt_outstanding"] = debt

    # operating-budget impact, nominal kronor
    grant_cents = alloc[kinds == "grant"].sum(axis=0) if S else np.zeros((n, len(inv_years)), np.int64)  # (M, J)
    inv_cents = cents[:, np.searchsorted(cal_years, inv_years)]
    grants_nom = np.where(financed, (grant_cents / 100 * index_inv).sum(axis=1), 0.0)
    net_by_year = np.zeros((n, len(horizon)))
    at = np.searchsorted(horizon, inv_years)
    net_by_year[:, at] = np.where(financed[:, None], (inv_cents - grant_cents) / 100 * index_inv, 0.0)
    net_capex = net_by_year.sum(axis=1)
    ds["book_value"] = book_value(net_by_year, sub, horizon)
    rel = nominal_index(sub.start_year[:, None] + np.arange(sub.n_years)[None, :], city.price_year,
                        scenario.inflation)  # (M, T)
    sub_nom = dataclasses.replace(
        sub, opex=sub.opex * rel, one_off=sub.zeros_or(sub.one_off) * rel, fee=sub.zeros_or(sub.fee) * rel,
        energy_cost_c=sub.energy_cost_c * rel[:, None, :])
    loan_interest = np.zeros((n, len(horizon)))
    if len(loans):
        li = loans.groupby(["measure_id", "year"])["interest"].sum()
        pos_m = {m: i for i, m in enumerate(ids)}
        for (mid, year), v in zip(li.index.tolist(), li.to_numpy(float), strict=True):
            loan_interest[pos_m[mid], int(year) - int(horizon[0])] += v
    budget_impact, bim, by_payer = operating_budget_impact(
        sub_nom, net_capex, grants_nom, financed, c["scale"].to_numpy(float), horizon, scenario.internal_rate_used,
        loan_interest=loan_interest, basis=scenario.internal_interest_basis,
    )
    grants_m = grant_cents.sum(axis=1) / 100
    ty = int(scenario.target.year)
    at_target = by_payer[by_payer["year"] == ty].set_index("payer")["net"] if len(by_payer) else pd.Series(dtype=float)

    totals = {kind: round(float(alloc[kinds == kind].sum()) / 100, 2) for kind in FINANCING_ORDER}
    peak_ds = int(ds["total"].to_numpy().argmax()) if len(ds) else 0
    peak_bi = int(budget_impact["net"].to_numpy().argmax()) if len(budget_impact) else 0
    summary = {
        "order": "grants (file order) → loans (file order) → own funds (capped per year) → gap",
        "cap_rule": cap_rule,
        "investment_total": round(float(by_year["investment"].sum()), 2),
        "external_investment_total": round(float(by_year["external_investment"].sum()), 2),
        "grant_total": totals["grant"],
        "loan_total": totals["loan"],
        "own_funds_total": totals["own_funds"],
        "gap_total": round(float(gap.sum()) / 100, 2),
        "gap_years": [int(y) for y, g in zip(inv_years, gap.sum(axis=0), strict=True) if g > 0],
        "peak_debt_service": float(ds["total"].iloc[peak_ds]) if len(ds) else 0.0,
        "peak_debt_service_year": int(ds["year"].iloc[peak_ds]) if len(ds) else None,
        "peak_net_budget_impact": float(budget_impact["net"].iloc[peak_bi]) if len(budget_impact) else 0.0,
        "peak_net_budget_impact_year": int(budget_impact["year"].iloc[peak_bi]) if len(budget_impact) else None,
        "internal_rate": float(scenario.internal_rate_used),
        "internal_interest_basis": scenario.internal_interest_basis,
        "loan_term": scenario.loan_term,
        "money": (f"allocation in {city.price_year} prices (real); loans, debt service and budget impact in "
                  f"nominal {city.currency} at {scenario.inflation:.1%} inflation"),
        "budget_impact_target_year": ty,
        "budget_impact_target_year_by_payer": {str(k): float(v) for k, v in at_target.items()},
        "notes": notes,
    }
    sources_out = sources.drop(columns="_row")
    return FinancingResult(
        allocation=allocation,
        by_year=by_year,
        loans=loans,
        debt_service=ds,
        budget_impact=budget_impact,
        budget_impact_by_measure=bim,
        gap_by_year=gap_by_year,
        sources=sources_out,
        summary=summary,
        budget_impact_by_payer=by_payer,
        grants_by_measure=pd.Series(grants_m, index=pd.Index(ids, name="measure_id"), dtype=float),
    )

"""One grant truth: selection and grant allocation iterated to a fixed point.

Why a fixed point outside the MILP, not grants inside it: a grant's ``annual_cap`` is shared by
every chosen measure year by year, and who gets it is the financing plan's rule (cost-per-tonne
order, :data:`climateinvest.financing.CAP_RULE`), itself depending on the grants. Putting the
allocation into the MILP would add a continuous grant variable per source × measure × year and
make the objective's cost depend on a rule the optimiser does not follow; iterating keeps one
allocation rule (the plan's) and one cost formula (the appraisal's), and is easy to audit.

The loop (at most :data:`MAX_ROUNDS` rounds):

1. appraise every measure with the current grants (round 1: each measure's lone-candidate grant,
   as if it had the caps to itself) and build the MAC curve;
2. select the portfolio (:func:`climateinvest.portfolio.select.select_portfolio`);
3. plan its financing (grants first within ``max_share`` and ``annual_cap`` per year);
4. the chosen measures' grants become what the plan allocated to them (÷ their investment); the
   others keep their lone-candidate grant (what they would get if chosen: optimistic, corrected in
   the next round if they are chosen);
5. stop when the chosen set (measure and start year) and its grants repeat (to the öre).

After the loop the appraisal and MAC curve are those of the final allocation, and the chosen
table's ``grant_share``, ``npv_cost`` and ``cost_per_tco2e`` are recomputed with it
(:func:`recost_chosen`), so the portfolio's costs use exactly the grants of the financing plan
(the sum of grants in the costs equals the plan's to the öre) whatever the loop's outcome; the
``status`` says whether the set converged or the rounds ran out (then the last set is reported).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from climateinvest import finance
from climateinvest.appraisal import appraise, grant_share, grants_of, lone_grant_basis, net_cost
from climateinvest.cashflows import Flows
from climateinvest.financing import FinancingResult, plan_financing
from climateinvest.io.city import CityData
from climateinvest.io.scenario import Scenario
from climateinvest.macc import MaccResult, build_macc
from climateinvest.portfolio.select import PortfolioResult, flows_for_chosen, select_portfolio

MAX_ROUNDS = 6
GRANT_TOL = 0.005  # [currency] half an öre: grants repeat when no measure's moves by more


@dataclass(frozen=True)
class GrantFixedPoint:
    """The selection, its financing and the tables costed with the plan's grants.

    measures : appraisal of every measure with ``grant_share`` / ``grant_basis`` as used
    macc : MAC curve built from ``measures``
    portfolio, financing : the final round's
    chosen_flows : the chosen measures' flows at their start years
    rounds : number of selections made; converged : whether the chosen set and grants repeated
    status : one line for the report
    """

    measures: pd.DataFrame
    macc: MaccResult
    portfolio: PortfolioResult
    financing: FinancingResult
    chosen_flows: Flows
    rounds: int
    converged: bool
    status: str


def chosen_key(chosen: pd.DataFrame) -> tuple:
    """The chosen set as ``((measure_id, start_year), ...)`` (what the fixed point compares)."""
    return tuple(zip(chosen["measure_id"], chosen["start_year"].astype(int), strict=True))


def warm_start(result_measures: pd.DataFrame, chosen: pd.DataFrame, city: CityData
               ) -> tuple[tuple, np.ndarray, list[str]] | None:
    """``warm`` for :func:`select_with_grants` from an earlier run's appraisal and chosen table,
    or None when its measures are not the city's (another city or data).
    """
    table = result_measures.drop_duplicates("measure_id").set_index("measure_id")
    if "grant_share" not in table or list(table.index) != list(city.measure_ids):
        return None
    basis = table["grant_basis"].astype(str).tolist() if "grant_basis" in table else lone_grant_basis(city)
    return chosen_key(chosen), table["grant_share"].to_numpy(float), basis


def _appraise(flows: Flows, city: CityData, scenario: Scenario, grant, basis) -> pd.DataFrame:
    return appraise(flows, city, scenario.real_rate, scenario.perspective, scenario.carbon_value_per_tco2e,
                    scenario.discount_abatement, grant=grant, grant_basis=basis, tax_factor=scenario.tax_factor)


def allocated_shares(city: CityData, financing: FinancingResult, chosen_flows: Flows
                     ) -> tuple[np.ndarray, list[str]]:
    """(M,) [share of the investment] grants per measure: the plan's for the chosen ones, the
    lone-candidate grant for the others; and the words saying which (``grant_basis``).
    """
    lone = pd.Series(grant_share(city), index=city.measure_ids)
    words = pd.Series(lone_grant_basis(city), index=city.measure_ids)
    got = financing.grants_by_measure if financing.grants_by_measure is not None else pd.Series(dtype=float)
    invest = pd.Series(chosen_flows.capex.sum(axis=1), index=list(chosen_flows.measure_ids))
    for mid, amount in got.items():
        if mid not in lone.index:  # a measure carried from an adopted plan, not a candidate
            continue
        lone[mid] = amount / invest[mid] if invest[mid] > 0 else 0.0
        words[mid] = f"allocated in the financing plan: {amount:,.2f}"
    return lone.to_numpy(float), words.tolist()


def plan_shares(financing: FinancingResult, chosen_flows: Flows) -> np.ndarray:
    """(K,) [share of the investment] the grants the financing plan allocates to each chosen
    measure (``chosen_flows`` order), 0 where it allocates none.
    """
    got = financing.grants_by_measure if financing.grants_by_measure is not None else pd.Series(dtype=float)
    invest = chosen_flows.capex.sum(axis=1)
    amount = got.reindex(list(chosen_flows.measure_ids)).fillna(0.0).to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(invest > 0, amount / np.where(invest > 0, invest, 1.0), 0.0)


def select_with_grants(city: CityData, scenario: Scenario, flows: Flows, measures: pd.DataFrame,
                       macc: MaccResult, max_rounds: int = MAX_ROUNDS, select=None,
                       whole_city: CityData | None = None,
                       warm: tuple[tuple, np.ndarray, list[str]] | None = None,
                       frontier=True) -> GrantFixedPoint:
    """Iterate selection and grant allocation to a fixed point (module docstring).

    Parameters
    ----------
    city, scenario : the run's (``city``: the candidates the selection may choose)
    flows : every candidate's flows at its appraisal start year
    measures, macc : the round-1 appraisal (lone-candidate grants) and its MAC curve
    max_rounds : int  at most this many selections
    select : callable like :func:`~climateinvest.portfolio.select.select_portfolio` (default); a
        follow-up cycle passes ``CycleStart.select_portfolio``, which adds the measures carried
        from the adopted plan to the chosen ones
    whole_city : the city of every chosen measure (candidates and carried ones); default ``city``.
        The financing plan and its grants cover all chosen measures.
    warm : (chosen set, grants, grant words) of an earlier fixed point of the same city — the set
        as ``((measure_id, start_year), ...)``, the grants (M,) [share] the plan allocated for it.
        Round 1 then appraises with those grants instead of the lone-candidate ones, and stops
        after one selection when it chooses that set again and its plan allocates the same grants
        (a fixed point by the same test; the explorer's redraw after a small change).
    frontier : ``select``'s ``frontier`` for the reported selection only (True, False or budget
        shares). The rounds select without one; the last round's selection is then repeated with
        it (its solves are kept, :func:`climateinvest.io.memo.cached`, so only the frontier's
        points are solved), so no frontier of a round that is not reported is computed.
    """
    select = select or select_portfolio
    whole = whole_city if whole_city is not None else city
    last = None
    if warm is not None:
        last, grant, basis = warm
        measures = _appraise(flows, city, scenario, grant, basis)
        macc = build_macc(measures, flows, city, scenario)
    converged = False
    rounds = 0
    while True:
        rounds += 1
        used = (measures, macc.curve)  # the reported round's inputs, for its frontier
        portfolio = select(city, scenario, measures, macc.curve, frontier=False)
        cf = flows_for_chosen(whole, scenario, portfolio.chosen)
        financing = plan_financing(whole, scenario, portfolio.chosen, cf)
        grant, basis = allocated_shares(city, financing, cf)
        key = chosen_key(portfolio.chosen)
        before = measures.set_index("measure_id")["grant_share"].reindex(city.measure_ids).to_numpy(float)
        invest = city.measures["capex"].to_numpy(float)
        same_grants = bool(np.all(np.abs((grant - before) * invest) <= GRANT_TOL))
        if key == last and same_grants:
            converged = True
            break
        last = key
        measures = _appraise(flows, city, scenario, grant, basis)
        macc = build_macc(measures, flows, city, scenario)
        if rounds >= max_rounds:
            break
    if frontier is not False and (frontier is True or len(frontier)):
        portfolio = select(city, scenario, *used, frontier=frontier)  # the same selection, with its frontier
    if converged:
        status = f"grants and selection agree: fixed point after {rounds} selections"
    else:
        status = (f"no fixed point within {max_rounds} selections: the last selection is reported, costed "
                  "with the grants its financing plan allocates")
    # the chosen measures costed with the grants the financing plan allocates, exactly (carried ones too)
    allocated = pd.DataFrame({"measure_id": list(cf.measure_ids), "grant_share": plan_shares(financing, cf)})
    portfolio = replace(portfolio, chosen=recost_chosen(whole, scenario, portfolio.chosen, cf, allocated))
    return GrantFixedPoint(measures=measures, macc=macc, portfolio=portfolio, financing=financing,
                           chosen_flows=cf, rounds=rounds, converged=converged, status=status)


def recost_chosen(city: CityData, scenario: Scenario, chosen: pd.DataFrame, cf: Flows,
                  measures: pd.DataFrame) -> pd.DataFrame:
    """The chosen table with ``grant_share`` (from ``measures``), ``npv_cost`` [currency, at the
    first plan year] and ``cost_per_tco2e`` [currency / t CO2e] recomputed with those grants:
    each measure at its start year, energy effects and tonnes × ``scale``, the NPV moved to the
    first plan year by (1 + r)^−(start − first plan year), as the portfolio model counts it.
    """
    out = chosen.copy()
    if not len(out):
        return out.assign(grant_share=pd.Series(dtype=float))
    grant = grants_of(measures, cf)
    rate = scenario.real_rate
    kw = {"grant": grant, "tax_factor": scenario.tax_factor}
    scale = out["scale"].to_numpy(float)
    own = np.asarray(finance.npv(rate, net_cost(cf, city, scenario.perspective, scale=scale, **kw)), float)
    ab = cf.abatement * scale[:, None]
    tonnes = np.asarray(finance.npv(rate, ab) if scenario.discount_abatement else ab.sum(axis=-1), float)
    shift = (1.0 + rate) ** -(out["start_year"].to_numpy(float) - scenario.plan_years[0])
    out["grant_share"] = grant
    out["npv_cost"] = own * shift
    with np.errstate(divide="ignore", invalid="ignore"):
        out["cost_per_tco2e"] = np.where(tonnes > 0, own / np.where(tonnes > 0, tonnes, 1.0), np.nan)
    return out

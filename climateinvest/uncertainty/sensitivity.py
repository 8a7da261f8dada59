"""One-at-a-time sensitivity (tornado) of the chosen portfolio, held fixed.

Settings (cited): SKR internränta 2025 = 2.5 % (the default discount rate); the European
Commission's Impact Assessment Guidelines (SEC(2009) 92) use 4 % real as the social rate; ASEK
7.0 values carbon at 7 SEK/kg CO2e (Trafikverket).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from climateinvest.cashflows import Flows
from climateinvest.io.city import CityData
from climateinvest.io.errors import ValidationError
from climateinvest.io.scenario import Scenario
from climateinvest.uncertainty.fixed_portfolio import chosen_flows, portfolio_draws, prepare_portfolio
from climateinvest.uncertainty.montecarlo import DEFAULT_MAX_ELEMENTS
from climateinvest.uncertainty.sampling import ANY, Multipliers, star_quantiles

TORNADO_RATES = (0.01, 0.04)  # [1/year, real]
TORNADO_PRICE_FACTORS = (0.7, 1.3)  # [-] when the city has no "low"/"high" price paths
TORNADO_CAPEX_FALLBACK = (0.8, 1.2)  # [-] when uncertainty.csv has no "*" capex row
ASEK_SEK_PER_T = 7000.0  # [SEK / t CO2e] used when the scenario has no carbon value
TORNADO_COLUMNS = ["parameter", "low_label", "high_label", "metric", "unit", "low_value",
                   "base_value", "high_value", "swing"]
METRIC_UNITS = {"cost_per_tco2e": "{cur}/t CO2e", "net_cost_per_tco2e": "{cur}/t CO2e",
                "gap_tco2e": "t CO2e/year"}


def _paths(df: pd.DataFrame, column: str) -> list[str]:
    return [p for p in dict.fromkeys(df[column]) if p != ANY]


def tornado(city: CityData, scenario: Scenario, flows: Flows, chosen: pd.DataFrame, pathway,
            max_elements: int = DEFAULT_MAX_ELEMENTS) -> pd.DataFrame:
    """One-at-a-time sensitivity of the chosen portfolio (held fixed) → tidy table.

    Rows: parameter, low_label, high_label, metric, unit, low_value, base_value, high_value,
    swing (|high − low|), sorted by metric and swing (largest first).

    Parameters varied (everything else at the scenario's values):

    * ``discount_rate``: 1 % and 4 % real (the base is the scenario's, e.g. SKR's internränta
      2.5 %; 4 % is the European Commission's Impact Assessment Guidelines rate, SEC(2009) 92).
    * ``carbon_value``: 0 and 2 × the scenario's value (ASEK 7.0, 7 000 SEK/t, for a SEK city
      whose scenario has none).
    * ``energy_prices``: the city's ``low`` / ``high`` price paths if it has both, else all
      prices × 0.7 / × 1.3.
    * ``electricity_factor_set``: every factor set the city has for electricity; low / high are
      the sets giving the lowest / highest value of each metric (the labels name them).
    * ``investment_costs``: P10 / P90 of the ``*`` capex row of ``uncertainty.csv`` on every
      measure (× 0.8 / × 1.2 if there is no such row).
    * ``abatement``: P10 / P90 of the ``*`` abatement row, if there is one.

    Metrics: ``cost_per_tco2e`` (portfolio NPV cost ÷ tonnes, as the MAC curve: no carbon value),
    ``net_cost_per_tco2e`` (NPV cost − carbon value × discounted tonnes, ÷ tonnes; the base counts
    the carbon value only in the societal perspective) and ``gap_tco2e`` (with-portfolio
    territorial emissions − target level in the target year; positive = short).
    """
    cur = city.currency
    cv = scenario.carbon_value_per_tco2e if scenario.perspective == "societal" else 0.0
    flows_c = chosen_flows(city, scenario, flows, chosen)
    C = len(flows_c.carriers)
    ones = Multipliers.ones(1, flows_c.measure_ids, flows_c.carriers)

    def evaluate(fl=flows_c, rate=None, k=ones, carbon=cv) -> dict[str, float]:
        p = prepare_portfolio(city, scenario, fl, chosen, pathway, rate)
        r = portfolio_draws(p, k, carbon, max_elements)
        t = p.target_index
        gap = float(r["territorial"][0, t] - p.target_level) if t is not None else np.nan
        return {"cost_per_tco2e": float(r["cost_per_tco2e"][0]),
                "net_cost_per_tco2e": float(r["net_cost_per_tco2e"][0]), "gap_tco2e": gap}

    cases: list[tuple[str, str, str, dict, dict]] = []  # parameter, labels, low and high metrics

    def case(parameter, low_label, high_label, low: dict, high: dict):
        cases.append((parameter, low_label, high_label, evaluate(**low), evaluate(**high)))

    base = evaluate()
    case("discount_rate", f"{TORNADO_RATES[0] * 100:g} %", f"{TORNADO_RATES[1] * 100:g} %",
         {"rate": TORNADO_RATES[0]}, {"rate": TORNADO_RATES[1]})
    sc_cv = scenario.carbon_value_per_tco2e
    high_cv = 2 * sc_cv if sc_cv > 0 else (ASEK_SEK_PER_T if cur.upper() == "SEK" else 0.0)
    if high_cv > 0:
        case("carbon_value", f"0 {cur}/t",
             f"{high_cv:,.0f} {cur}/t" + (" (2 × scenario)" if sc_cv > 0 else " (ASEK 7.0)"),
             {"carbon": 0.0}, {"carbon": high_cv})
    by_path = _price_path_flows(city, scenario, flows, chosen)
    if by_path:
        case("energy_prices", "price path low", "price path high", {"fl": by_path[0]}, {"fl": by_path[1]})
    else:
        f_lo, f_hi = TORNADO_PRICE_FACTORS
        case("energy_prices", f"prices × {f_lo:g}", f"prices × {f_hi:g}",
             {"k": ones.with_(energy_price=np.full((1, C), f_lo))},
             {"k": ones.with_(energy_price=np.full((1, C), f_hi))})
    for name, parameter, fallback in (("investment_costs", "capex", TORNADO_CAPEX_FALLBACK),
                                      ("abatement", "abatement", None)):
        q = star_quantiles(city.uncertainty, parameter)
        tags = ("P10", "P90") if q is not None else (f"assumed, no '*' {parameter} row",) * 2
        q = q if q is not None else fallback
        if q is not None:
            case(name, f"× {q[0]:.2f} ({tags[0]})", f"× {q[1]:.2f} ({tags[1]})",
                 {"k": ones.with_(**{parameter: q[0]})}, {"k": ones.with_(**{parameter: q[1]})})
    rows = [(name, lo_l, hi_l, metric, lo[metric], hi[metric])
            for name, lo_l, hi_l, lo, hi in cases for metric in base]
    rows += _factor_set_rows(city, scenario, flows, chosen, evaluate, list(base))
    out = pd.DataFrame(rows, columns=["parameter", "low_label", "high_label", "metric", "low_value",
                                      "high_value"])
    out["base_value"] = out["metric"].map(base)
    out["unit"] = out["metric"].map(lambda m: METRIC_UNITS[m].format(cur=cur))
    out["swing"] = (out["high_value"] - out["low_value"]).abs()
    out["_m"] = out["metric"].map({m: i for i, m in enumerate(METRIC_UNITS)})
    out = out.sort_values(["_m", "swing", "parameter"], ascending=[True, False, True], kind="stable")
    return out[TORNADO_COLUMNS].reset_index(drop=True)


def _price_path_flows(city, scenario, flows, chosen) -> tuple[Flows, Flows] | None:
    """Flows of ``chosen`` on the city's ``low`` and ``high`` price paths (None without both)."""
    if not {"low", "high"} <= set(_paths(city.energy_prices, "price_path")):
        return None
    try:
        return tuple(chosen_flows(city, scenario, flows, chosen, price_path=p) for p in ("low", "high"))
    except (ValidationError, ValueError, KeyError):
        return None


def _factor_set_rows(city, scenario, flows, chosen, evaluate, metrics) -> list[tuple]:
    """Tornado rows of ``electricity_factor_set``: per metric the sets giving its lowest and
    highest value (none with fewer than two usable sets).
    """
    ef = city.emission_factors
    results = {}
    for s in _paths(ef[ef["carrier"] == "electricity"], "factor_set") or _paths(ef, "factor_set"):
        try:
            results[s] = evaluate(fl=chosen_flows(city, scenario, flows, chosen, factor_set=s))
        except (ValidationError, ValueError, KeyError):
            continue
    if len(results) < 2:
        return []
    rows = []
    for metric in metrics:
        vals = {s: r[metric] for s, r in results.items()}
        lo_s = min(vals, key=lambda s: (vals[s], s))
        hi_s = max(vals, key=lambda s: (vals[s], s))
        rows.append(("electricity_factor_set", lo_s, hi_s, metric, vals[lo_s], vals[hi_s]))
    return rows

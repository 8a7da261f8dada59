"""Benchmark: the project's vectorised Monte Carlo appraisal against a naive loop and a numpy
lower bound, on a synthetic city built in memory.

    .venv/bin/python benchmarks/bench_montecarlo.py [--measures 500] [--years 40] [--draws 10000]

What is timed (same multipliers for all three, drawn once beforehand; best of ``--repeat``):

1. **project**: ``montecarlo.present_values`` + ``montecarlo.npv_draws`` (NPV cost and tonnes
   of every draw × measure by the exact factorisation) + cost per tonne. Also reported: the
   sampling, the per-measure statistics (``montecarlo.measure_statistics``: percentiles and
   probabilities) and the whole ``uncertainty.run_monte_carlo`` (sampling + statistics).
2. **naive loop**: what an analyst would write: for every draw and measure, build the yearly cost
   and abatement vectors with that draw's multipliers and call ``numpy_financial.npv`` twice.
   Timed on ``--naive-draws`` draws (default 100) and extrapolated linearly to all draws.
3. **numpy lower bound**: one matrix product of a precomputed (draws·measures, years) cash-flow
   array with the discount-factor vector; the array is not built in the timing (building it is
   part of what the naive approach pays). At the default size the array would be 1.6 GB, so
   one chunk of the draws is materialised and its product timed and scaled by the number of
   chunks (the product is memory-bound and linear in the rows).

Peak memory: a child process runs ``run_monte_carlo`` (sampling + statistics) at the given size
and reports its ``ru_maxrss`` (resident set, includes Python, numpy and pandas), next to the
same process's resident set before the Monte Carlo.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from climateinvest.appraisal import appraise, perspective_parts
from climateinvest.cashflows import build_flows
from climateinvest.io.city import CityData
from climateinvest.io.scenario import Scenario
from climateinvest.uncertainty.analysis import run_monte_carlo
from climateinvest.uncertainty.montecarlo import (
    cost_per_tonne_draws,
    measure_statistics,
    npv_draws,
    present_values,
)
from climateinvest.uncertainty.sampling import sample_multipliers

CARRIERS = ("electricity", "district_heating", "diesel", "biogas", "petrol")
RATE = 0.025


def synthetic_city(n_measures: int = 500, n_years: int = 40, seed: int = 1) -> CityData:
    """A city of ``n_measures`` measures whose longest life spans ``n_years`` relative years,
    with five carriers, price paths and factor sets, and an uncertainty table with ``*`` rows,
    one row per carrier and own capex rows for every fifth measure."""
    rng = np.random.default_rng(seed)
    M = int(n_measures)
    capex_years = rng.integers(1, 3, M)
    life = rng.integers(5, n_years - 1, M)
    life[0] = n_years - capex_years[0]  # the longest measure spans exactly n_years
    ids = [f"m{i:04d}" for i in range(M)]
    sectors = np.array(["transport", "buildings", "energy", "waste"])
    measures = pd.DataFrame({
        "measure_id": ids, "name": [f"Measure {i}" for i in range(M)],
        "sector": sectors[rng.integers(0, 4, M)], "emission_source": "all",
        "payer": np.array(["municipality", "municipal_company", "external"])[rng.integers(0, 3, M)],
        "capex": rng.uniform(1e5, 5e7, M).round(), "capex_years": capex_years.astype(float),
        "earliest_start_year": rng.integers(2027, 2030, M).astype(float),
        "lifetime_years": life.astype(float),
        "opex_change_per_year": rng.uniform(-5e5, 2e5, M).round(),
        "direct_abatement_tco2e_per_year": np.where(rng.random(M) < 0.3, rng.uniform(0, 500, M), 0.0),
        "exclusive_group": "", "requires": "", "source": "synthetic"})
    rows = []
    for mid in ids:
        for c in rng.choice(CARRIERS, size=int(rng.integers(1, 3)), replace=False):
            rows.append((mid, str(c), float(rng.uniform(-3000, 1000))))
    changes = pd.DataFrame(rows, columns=["measure_id", "carrier", "delta_mwh_per_year"])
    years = [2020, 2030, 2040, 2050, 2080]
    prices = pd.DataFrame([(c, path, y, float(500 + 100 * k + 20 * j * (1 + (path == "high")) ))
                           for k, c in enumerate(CARRIERS) for path in ("base", "high")
                           for j, y in enumerate(years)],
                          columns=["carrier", "price_path", "year", "price_per_mwh"])
    factors = pd.DataFrame([(c, "*" if c != "electricity" else fs, y, float(max(5, 300 - 40 * j + 30 * k)))
                            for k, c in enumerate(CARRIERS)
                            for fs in (("nordic_mix", "residual_mix") if c == "electricity" else ("*",))
                            for j, y in enumerate(years)],
                           columns=["carrier", "factor_set", "year", "kgco2e_per_mwh"])
    unc = [("*", "capex", "triangular", 0.9, 1.0, 1.4), ("*", "opex", "triangular", 0.8, 1.0, 1.3),
           ("*", "abatement", "triangular", 0.8, 1.0, 1.1)]
    unc += [(c, "energy_price", "triangular", 0.7, 1.0, 1.5) for c in CARRIERS]
    unc += [(c, "emission_factor", "uniform", 0.8, 1.0, 1.2) for c in CARRIERS]
    unc += [(mid, "capex", "triangular", 0.8, 1.0, 2.0) for mid in ids[::5]]
    return CityData(
        name="Synthby", country="SE", currency="SEK", price_year=2025, population=100_000,
        measures=measures, energy_changes=changes, energy_prices=prices, emission_factors=factors,
        baseline=pd.DataFrame([("all", "all", 1990, 1e6, "territorial"), ("all", "all", 2024, 8e5, "territorial")],
                              columns=["source_id", "sector", "year", "tco2e", "scope"]),
        funding_sources=pd.DataFrame(
            [("grant", "Grant", "grant", 0.3, np.nan, 0.0, np.nan, "transport", "*", "straight"),
             ("own", "Own funds", "own_funds", 1.0, np.nan, 0.0, np.nan, "*", "*", "straight")],
            columns=["source_id", "name", "kind", "max_share", "annual_cap", "interest_rate",
                     "term_years", "eligible_sectors", "eligible_payers", "amortisation"]),
        uncertainty=pd.DataFrame(unc, columns=["target", "parameter", "distribution", "low", "mode", "high"]))


def scenario(draws: int, seed: int = 2027) -> Scenario:
    return Scenario(title="benchmark", city=Path("."), budget_cycle=2027, discount_rate=RATE, rate_basis="real",
                    monte_carlo={"draws": draws, "seed": seed, "reselect_draws": 0})


def setup(measures: int, years: int):
    city = synthetic_city(measures, years)
    start = city.measures["earliest_start_year"].to_numpy(int)
    flows = build_flows(city, "base", "nordic_mix", start)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        table = appraise(flows, city, RATE)
    return city, flows, table


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def project(flows, city, k):
    pv = present_values(flows, city, RATE)
    r = npv_draws(pv, k, want=("npv_cost", "tonnes"))
    return cost_per_tonne_draws(r.npv_cost, r.tonnes)


def naive(flows, city, k, n_draws: int):
    """The analyst's loop: per draw and measure, the yearly vectors and two ``npf.npv`` calls."""
    import numpy_financial as npf

    capex, opex, energy_c = perspective_parts(flows, city, "municipal")
    M = capex.shape[0]
    out = np.empty((n_draws, M))
    for d in range(n_draws):
        kc, ko, ka = k.capex[d], k.opex[d], k.abatement[d]
        kp, kf = k.energy_price[d], k.emission_factor[d]
        for m in range(M):
            cost = capex[m] * kc[m] + opex[m] * ko[m] + (energy_c[m] * kp[:, None]).sum(0)
            tonnes = (flows.direct[m] - (flows.emissions_c[m] * kf[:, None]).sum(0)) * ka[m]
            t = npf.npv(RATE, tonnes)
            out[d, m] = npf.npv(RATE, cost) / t if t > 0 else np.inf
    return out


def lower_bound(flows, draws: int, repeat: int, max_rows: int = 500_000) -> tuple[float, int]:
    """Seconds for (draws·M, T) @ (T,), timed on one materialised chunk and scaled."""
    M, T = flows.capex.shape
    rows = draws * M
    chunk = min(rows, max_rows)
    rng = np.random.default_rng(0)
    cf = np.ascontiguousarray(rng.standard_normal((chunk, T)))
    df = (1 + RATE) ** -np.arange(T)
    t = best(lambda: cf @ df, repeat)
    return t * rows / chunk, int(np.ceil(rows / chunk))


def _memory_mib() -> tuple[float, float]:
    """(current, peak) resident set of this process [MiB]: /proc/self/status VmRSS / VmHWM on
    Linux (reset at exec, unlike ru_maxrss, which can carry the forking parent's peak), else
    ru_maxrss for both."""
    try:
        vals = {}
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                vals[key] = float(rest.split()[0]) / 1024
        return vals["VmRSS"], vals["VmHWM"]
    except (OSError, KeyError, ValueError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 if sys.platform != "darwin" else 1024**2)
        return peak, peak


def child_memory(measures: int, years: int, draws: int) -> dict:
    """Run in a child: resident set before and peak after ``run_monte_carlo``."""
    city, flows, table = setup(measures, years)
    before, _ = _memory_mib()
    t0 = time.perf_counter()
    res = run_monte_carlo(city, scenario(draws), flows, table)
    seconds = time.perf_counter() - t0
    _, peak = _memory_mib()
    return {"rss_before_mb": before, "peak_rss_mb": peak, "run_monte_carlo_s": seconds,
            "rows": len(res.measures)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--measures", type=int, default=500)
    ap.add_argument("--years", type=int, default=40)
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--naive-draws", type=int, default=100, help="draws timed in the naive loop")
    ap.add_argument("--repeat", type=int, default=5, help="timings are the best of this many runs")
    ap.add_argument("--child-memory", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", action="store_true", help="print the figures as JSON too")
    a = ap.parse_args(argv)
    if a.child_memory:
        print(json.dumps(child_memory(a.measures, a.years, a.draws)))
        return 0

    city, flows, table = setup(a.measures, a.years)
    M, T = flows.capex.shape
    C = len(flows.carriers)
    print(f"synthetic city: {M} measures, {T} years, {C} carriers, {a.draws} draws "
          f"({a.draws * M:,} draw × measure appraisals)")
    t0 = time.perf_counter()
    k = sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, a.draws, 2027)
    t_sample = time.perf_counter() - t0

    t_project = best(lambda: project(flows, city, k), a.repeat)
    pv = present_values(flows, city, RATE)
    t_stats = best(lambda: measure_statistics(pv, k), a.repeat)
    t_run = best(lambda: run_monte_carlo(city, scenario(a.draws), flows, table), a.repeat)

    nd = min(a.naive_draws, a.draws)
    t0 = time.perf_counter()
    slow = naive(flows, city, k.rows(slice(0, nd)), nd)
    t_naive = (time.perf_counter() - t0) * a.draws / nd
    fast = project(flows, city, k.rows(slice(0, nd)))
    agree = np.allclose(np.where(np.isinf(slow), 0, slow), np.where(np.isinf(fast), 0, fast), rtol=1e-9, atol=1e-6)

    t_lower, chunks = lower_bound(flows, a.draws, a.repeat)

    child = subprocess.run([sys.executable, __file__, "--child-memory", "--measures", str(a.measures),
                            "--years", str(a.years), "--draws", str(a.draws)],
                           capture_output=True, text=True, check=True)
    mem = json.loads(child.stdout.strip().splitlines()[-1])

    fig = {
        "measures": M, "years": T, "carriers": C, "draws": a.draws,
        "sampling_s": t_sample, "project_core_s": t_project, "measure_statistics_s": t_stats,
        "run_monte_carlo_s": t_run, "naive_loop_s_extrapolated": t_naive, "naive_draws_timed": nd,
        "numpy_lower_bound_s": t_lower, "lower_bound_chunks": chunks,
        "speedup_vs_naive": t_naive / t_project, "ratio_to_lower_bound": t_project / t_lower,
        "run_speedup_vs_naive": t_naive / t_run, "run_ratio_to_lower_bound": t_run / t_lower,
        "peak_rss_mb": mem["peak_rss_mb"], "rss_before_mc_mb": mem["rss_before_mb"],
        "naive_equals_project": bool(agree),
    }
    print(f"sampling the multipliers              {t_sample:9.3f} s")
    print("project core (NPV cost, tonnes, cost per tonne, all draws × measures)")
    print(f"                                      {t_project:9.3f} s  (best of {a.repeat})")
    print(f"  + per-measure statistics            {t_stats:9.3f} s")
    print(f"  whole run_monte_carlo (measures)    {t_run:9.3f} s")
    print(f"naive loop, numpy_financial.npv       {t_naive:9.1f} s  (timed on {nd} draws, ×{a.draws / nd:g})")
    print(f"numpy lower bound (one matmul)        {t_lower:9.3f} s  ({chunks} chunk(s) of ≤ 500 000 rows)")
    print(f"speed-up vs naive loop: core {fig['speedup_vs_naive']:,.0f}×, whole run {fig['run_speedup_vs_naive']:,.0f}×"
          "   (target ≥ 100×)")
    print(
        f"ratio to the lower bound: core {fig['ratio_to_lower_bound']:.2f}×, "
        f"whole run {fig['run_ratio_to_lower_bound']:.2f}×"
        "   (target ≤ 3×)"
    )
    print(
        f"peak memory of run_monte_carlo's process: {mem['peak_rss_mb']:.0f} MiB "
        f"(before the Monte Carlo {mem['rss_before_mb']:.0f} MiB; target < 1024 MiB)"
    )
    print(f"naive loop and project agree on the timed draws: {agree}")
    if a.json:
        print(json.dumps(fig, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

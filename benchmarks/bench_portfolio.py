"""Benchmark: the portfolio step and the whole run at 30 … 1 000 measures, in one run, against
a naive numpy-financial Monte Carlo appraisal; and the re-selection per
draw on Landskrona.

    .venv/bin/python benchmarks/bench_portfolio.py [--sizes 30 100 300 500 1000] [--draws 10000]
        [--naive-draws 20] [--reselect-draws 3] [--exact-draws 50]

The synthetic city is ``bench_montecarlo.synthetic_city`` with its measures spread over 50
emission sources (baseline per source = 1.5 × the standalone tonnes of its measures, so the
sequential interaction binds), 3 plan years and a yearly budget of a third of the
budget-counted investment ÷ 3 (the budget binds), ``max_abatement``, ``sequential``.

What is timed (wall clock, one run each; the machine's load shows in the figures):

1. **portfolio**: ``portfolio.select_portfolio`` with the frontier (the McCormick model of
   ``portfolio.model``), with its CPU split into ``select`` (the main solve and its tie-break) and
   ``frontier`` (the six points), against **before**: the same call as it was before issue 18's
   rework (``tie_break: any_portfolio``, the frontier's points one after another), timed in the
   same run up to ``--before-up-to`` measures (an outer-approximation tonnes stage was tried
   earlier and measured slower on this city). Both start with nothing kept (``io.memo``).
2. **run_scenario** on the synthetic city with ``--draws`` Monte Carlo draws (re-selection off),
   against **naive**: ``bench_montecarlo.naive`` (per draw and measure, yearly vectors and two
   ``numpy_financial.npv`` calls), timed on ``--naive-draws`` draws and extrapolated linearly.
3. The growth exponent b of t ≈ a nᵇ, fitted by least squares on log t against log n.
4. **Re-selection per draw on Landskrona** (base, 2027): the greedy (all draws at once), the
   portfolio's MILP re-solved per draw on perturbed candidates (``reselect_method="exact"``)
   and the MILP on a fully re-appraised city per draw (``reselect_method="milp"``).

Peak memory: the process's peak resident set (``ru_maxrss``) after each size (it only grows).
"""
from __future__ import annotations

import argparse
import dataclasses
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_montecarlo import naive, synthetic_city  # noqa: E402

import climateinvest as ci  # noqa: E402
from climateinvest.appraisal import appraise  # noqa: E402
from climateinvest.cashflows import build_flows  # noqa: E402
from climateinvest.io.memo import clear_cache  # noqa: E402
from climateinvest.io.scenario import Scenario  # noqa: E402
from climateinvest.macc import build_macc  # noqa: E402
from climateinvest.portfolio import frontier as frontier_module  # noqa: E402
from climateinvest.portfolio.select import select_portfolio  # noqa: E402
from climateinvest.uncertainty.analysis import run_monte_carlo  # noqa: E402
from climateinvest.uncertainty.sampling import sample_multipliers  # noqa: E402

RATE = 0.025
N_SOURCES = 50


def city_and_scenario(n: int, draws: int):
    city = synthetic_city(n, 40)
    m = city.measures.copy()
    rng = np.random.default_rng(n)
    m["emission_source"] = [f"s{i:02d}" for i in rng.integers(0, N_SOURCES, n)]
    m["direct_abatement_tco2e_per_year"] = rng.uniform(10, 500, n).round(1)
    m["earliest_start_year"] = rng.integers(2027, 2030, n).astype(float)
    per_source = m.groupby("emission_source")["direct_abatement_tco2e_per_year"].sum()
    import pandas as pd

    baseline = pd.DataFrame([(s, "all", y, float(1.5 * t), "territorial") for s, t in per_source.items()
                             for y in (1990, 2024)], columns=["source_id", "sector", "year", "tco2e", "scope"])
    city = dataclasses.replace(city, measures=m, baseline=baseline)
    counted = m.loc[m["payer"] != "external", "capex"].sum()
    budget = {y: float(counted / 3 / 3) for y in (2027, 2028, 2029)}
    sc = Scenario(title="bench", city=Path("."), budget_cycle=2027, discount_rate=RATE, investment_budget=budget,
                  target={"year": 2030, "reduction": 0.8, "base_year": 1990},
                  monte_carlo={"draws": draws, "seed": 2027, "reselect_draws": 0})
    return city, sc


def portfolio_time(city, sc, before: bool = False) -> tuple[float, object]:
    """Wall-clock seconds of ``select_portfolio`` (frontier included) and its result; ``before``:
    the formulation before issue 18's rework (the tie-break over every portfolio holding the
    tonnes, the frontier's points one after another). Nothing kept from an earlier solve is used.
    """
    start = city.measures["earliest_start_year"].to_numpy(int)
    threads = frontier_module.SOLVE_THREADS
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        flows = build_flows(city, sc.price_path, sc.emission_factor_set, start)
        meas = appraise(flows, city, RATE)
        curve = build_macc(meas, flows, city, sc).curve
        clear_cache()
        if before:
            sc, frontier_module.SOLVE_THREADS = sc.with_changes(tie_break="any_portfolio"), 1
        try:
            t0 = time.perf_counter()
            r = select_portfolio(city, sc, meas, curve)
            return time.perf_counter() - t0, r
        finally:
            frontier_module.SOLVE_THREADS = threads


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def exponent(ns, ts) -> float:
    return float(np.polyfit(np.log(ns), np.log(ts), 1)[0]) if len(ns) >= 2 else float("nan")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[30, 100, 300, 500, 1000])
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--naive-draws", type=int, default=20)
    ap.add_argument("--reselect-draws", type=int, default=3)
    ap.add_argument("--exact-draws", type=int, default=50)
    ap.add_argument("--before-up-to", type=int, default=500,
                    help="time the formulation before issue 18's rework up to this many measures")
    a = ap.parse_args(argv)
    print(f"{'n':>5} {'portfolio s':>11} {'before s':>8} {'before/now':>10} {'select cpu':>10} {'frontier cpu':>12} "
          f"{'run s':>7} {'naive MC s':>10} {'naive/run':>9} {'peak MiB':>8}  status")
    ns, tp, trun = [], [], []
    for n in a.sizes:
        city, sc = city_and_scenario(n, a.draws)
        t_new, r_new = portfolio_time(city, sc)
        t_old, r_old = portfolio_time(city, sc, before=True) if n <= a.before_up_to else (np.nan, None)
        if r_old is not None and abs(r_old.achieved_tco2e - r_new.achieved_tco2e) > 1e-4 * r_new.achieved_tco2e:
            print(f"  n={n}: the two formulations' tonnes differ by more than the gap: "
                  f"{r_old.achieved_tco2e:.1f} before, {r_new.achieved_tco2e:.1f} now")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clear_cache()  # the run solves everything itself
            t0 = time.perf_counter()
            ci.run_scenario(sc, city)
            t_run = time.perf_counter() - t0
            start = city.measures["earliest_start_year"].to_numpy(int)
            flows = build_flows(city, sc.price_path, sc.emission_factor_set, start)
            k = sample_multipliers(city.uncertainty, flows.measure_ids, flows.carriers, a.naive_draws, 1)
            t0 = time.perf_counter()
            naive(flows, city, k, a.naive_draws)
            t_naive = (time.perf_counter() - t0) * a.draws / a.naive_draws
        ns.append(n), tp.append(t_new), trun.append(t_run)
        tm = r_new.timings
        print(f"{n:>5} {t_new:>11.2f} {t_old:>8.1f} {t_old / t_new:>10.1f} {tm['select']:>10.2f} "
              f"{tm['frontier']:>12.2f} {t_run:>7.2f} {t_naive:>10.1f} {t_naive / t_run:>9.1f} "
              f"{peak_mib():>8.0f}  {r_new.status}", flush=True)
    print(f"growth exponent (t ~ n^b): portfolio b = {exponent(ns, tp):.2f}, run_scenario b = {exponent(ns, trun):.2f}")

    if a.reselect_draws > 0:
        sc = ci.load_scenario(Path(__file__).resolve().parents[1] / "parameters/2027/base.yaml")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = ci.run_scenario(sc.with_changes(monte_carlo={"draws": 2000, "seed": 2027, "reselect_draws": 0}))
            for method, draws in (("greedy", 2000), ("exact", a.exact_draws), ("milp", a.reselect_draws)):
                u = run_monte_carlo(res.city, sc, res.flows, res.measures, res.portfolio, res.steps["pathway"],
                                    reselect_draws=draws, reselect_method=method, with_tornado=False,
                                    macc_curve=res.macc)
                info = u.summary["selection_frequency"]
                print(f"Landskrona re-selection, {method}: {info['draws']} draws, "
                      f"{info['seconds_per_draw']:.4f} s per draw")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""`climateinvest synthesis`: the fictional test cities, their sums, conversions and the Dask engine.

The cities (tests/fixtures/cities, written by tests/fixtures/make_cities.py) are Miniby scaled by
population: every amount and tonne that grows with a town is multiplied by population / 12 500,
so each city's figures per inhabitant are Miniby's, whatever its size. Eurostad's money is in EUR
(SEK amounts / 11, rounded to cents) and converted back with the factor 11 of conversions.yaml.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest

from climateinvest import run_scenario
from climateinvest.batch.synthesis import (
    find_cities,
    load_conversions,
    scenario_figures,
    synthesise,
)
from climateinvest.cli import main
from climateinvest.io.city import load_city
from climateinvest.io.errors import ValidationError

ROOT = Path(__file__).resolve().parents[1]
CITIES = ROOT / "tests" / "fixtures" / "cities"
CONVERSIONS = CITIES / "conversions.yaml"
sys.path.insert(0, str(ROOT / "tests" / "fixtures"))
import make_cities  # noqa: E402


def tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_the_fixture_cities_are_what_the_rules_give(tmp_path):
    make_cities.write_cities(tmp_path / "cities")
    assert tree(tmp_path / "cities") == tree(CITIES)


@pytest.fixture(scope="module")
def computed(tmp_path_factory) -> list[dict]:
    """Each fixture city's base scenario computed and saved (no notebook), as the synthesis reads it."""
    out = tmp_path_factory.mktemp("saved")
    cities = []
    for folder in find_cities([CITIES]):
        city = load_city(folder)
        figures = scenario_figures(run_scenario(folder / "scenarios" / "base.yaml").save(out / folder.name))
        cities.append({"name": city.name, "population": city.population, "currency": city.currency,
                       "price_year": city.price_year, "scenario": "base", "figures": figures,
                       "scenarios": {"base": figures["totals"]}})
    return cities


def test_per_inhabitant_figures_do_not_depend_on_size(computed):
    conv = load_conversions(CONVERSIONS, [load_city(f) for f in find_cities([CITIES])])
    t = synthesise(computed, conv)["cities"].set_index("city")
    # Every city is Miniby scaled: per inhabitant its investment is Miniby's (Eurostad to within
    # the cents its EUR amounts were rounded to), and its tonnes scale with the population.
    per_capita = t["investment"] / t["population"]
    assert per_capita.max() - per_capita.min() < 1e-3 * per_capita.max()
    assert t.loc["Storby", "investment"] == pytest.approx(4 * t.loc["Mellanby", "investment"], rel=1e-9)
    assert t.loc["Lillby", "gap_tco2e"] == pytest.approx(0.5 * t.loc["Mellanby", "gap_tco2e"], rel=1e-9)
    assert t.loc["Eurostad", "investment"] == pytest.approx(11.0 * t.loc["Eurostad", "investment_own"], rel=1e-12)
    assert t.loc["Eurostad", "investment"] == pytest.approx(2 * t.loc["Mellanby", "investment"], rel=1e-6)
    assert t["investment"].min() > 0


def test_synthesis_totals_are_the_sums_of_the_cities(computed):
    conv = load_conversions(CONVERSIONS, [load_city(f) for f in find_cities([CITIES])])
    tables = synthesise(computed, conv)
    totals = tables["totals"].set_index("figure")
    factor = {c["name"]: 11.0 if c["currency"] == "EUR" else 1.0 for c in computed}
    want = sum(c["figures"]["totals"]["investment"] * factor[c["name"]] for c in computed)
    assert totals.loc["investment", "total"] == pytest.approx(want, rel=1e-12)
    population = sum(c["population"] for c in computed)  # 6 250 + 12 500 + 50 000 + 25 000 = 93 750
    assert population == 93_750
    assert totals.loc["investment", "per_capita"] == pytest.approx(want / population, rel=1e-12)
    gap = sum(c["figures"]["totals"]["gap_tco2e"] for c in computed)
    assert totals.loc["gap_tco2e", "total"] == pytest.approx(gap, rel=1e-12)
    # the breakdowns add up to the same investment: by payer, and by financing source with the gap
    assert tables["by_payer"]["investment"].sum() == pytest.approx(want, rel=1e-9)
    assert tables["by_source"]["amount"].sum() == pytest.approx(want, rel=1e-9)
    assert tables["by_kind"]["amount"].sum() == pytest.approx(want, rel=1e-9)
    abatement = sum(c["figures"]["totals"]["abatement_tco2e"] for c in computed)
    assert tables["by_sector"]["abatement_tco2e"].sum() == pytest.approx(abatement, rel=1e-9, abs=1e-6)
    # the cost spread per sector holds every city's (converted) cost per tonne
    spread = tables["cost_spread"].set_index("sector")
    costs = tables["cost_by_sector"]
    for sector, row in spread.iterrows():
        values = costs.loc[costs["sector"] == sector, "cost_per_tco2e"]
        assert row["cities"] == len(values) == 4
        assert (row["min"], row["median"], row["max"]) == (values.min(), values.median(), values.max())


def test_mixed_currencies_need_a_stated_conversion(tmp_path):
    cities = [load_city(f) for f in find_cities([CITIES])]
    with pytest.raises(ValidationError, match=r"several currencies or price years \(EUR 2025, SEK 2024\)"):
        load_conversions(None, cities)
    bad = tmp_path / "conv.yaml"
    bad.write_text("currency: SEK\nprice_year: 2024\nfactors:\n  - {currency: EUR, price_year: 2024, "
                   "factor: 11, source: made up}\n  - {currency: USD, price_year: 2024, factor: -1}\n",
                   encoding="utf-8")
    with pytest.raises(ValidationError) as err:
        load_conversions(bad, cities)
    text = err.value.report()
    assert "conv.yaml, key factors[2]: needs currency, price_year, factor (a number > 0) and source" in text
    assert "conv.yaml, key factors: has no factor for EUR at 2025 prices (city Eurostad)" in text


def test_paths_that_are_no_city_exit_2_and_write_nothing(tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = cli("synthesis", str(tmp_path / "empty"), str(tmp_path / "nowhere"), "--cycle", "2027",
                       "--out", str(tmp_path / "out"))
    assert code == 2, err
    assert "empty: is neither a city folder (with city.yaml) nor a folder of city folders" in err
    assert "nowhere: does not exist" in err
    assert not (tmp_path / "out").exists()


def test_the_local_cluster_listens_on_localhost_only():
    from climateinvest.batch.engine import DaskEngine

    with DaskEngine(2) as engine:
        info = engine.client.scheduler_info()
        addresses = [info["address"], *info["workers"]]
        addresses += [w.get("nanny") for w in info["workers"].values() if w.get("nanny")]
        http = engine.cluster.scheduler.http_server.address  # health checks; there is no dashboard
    assert len(info["workers"]) == 2 and http == "127.0.0.1"
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses


# --- end to end on a LocalCluster of two workers ----------------------------------------------

@pytest.mark.slow
def test_synthesis_of_the_test_cities_on_dask(tmp_path):
    broken = tmp_path / "input" / "trasigby"
    shutil.copytree(CITIES / "lillby", broken)
    measures = pd.read_csv(broken / "measures.csv", dtype=str, keep_default_na=False)
    measures.loc[0, "capex"] = "-5"
    measures.to_csv(broken / "measures.csv", index=False)
    before = tree(CITIES)
    code, out, err = cli("synthesis", str(CITIES), str(broken), "--cycle", "2027", "--out", str(tmp_path / "r"),
                         "--jobs", "2", "--conversions", str(CONVERSIONS), "--run-id", "national")
    assert code == 1, err  # one city failed, the others are written and summed
    folder = tmp_path / "r" / "2027" / "national"
    assert Path(out.strip().splitlines()[-1]) == folder / "synthesis.html"
    assert tree(CITIES) == before  # inputs untouched
    m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert m["status"] == "complete with failures" and m["engine"]["engine"] == "dask-local"
    assert m["engine"]["workers"] == 2
    by = {c["name"]: c for c in m["cities"]}
    assert by["trasigby"]["status"] == "failed" and "capex" in by["trasigby"]["error"]
    good = ["Eurostad", "Lillby", "Mellanby", "Storby"]
    for name in good:
        assert by[name]["status"] == "complete" and by[name]["headline"] == "base"
        run = json.loads((folder / by[name]["folder"] / "manifest.json").read_text(encoding="utf-8"))
        assert [s["status"] for s in run["scenarios"]] == ["ok", "ok"]
        assert run["comparison"]["status"] == "ok"
        assert (folder / by[name]["folder"] / "base.html").is_file()
    # the synthesis totals are the sums of the city reports (their saved summaries, converted)
    want = 0.0
    for name in good:
        run = json.loads((folder / by[name]["folder"] / "manifest.json").read_text(encoding="utf-8"))
        base = next(s for s in run["scenarios"] if s["name"] == "base")
        want += base["summary"]["financing"]["investment_total"] * (11.0 if by[name]["currency"] == "EUR" else 1.0)
    totals = pd.read_csv(folder / "synthesis" / "totals.csv").set_index("figure")
    assert totals.loc["investment", "total"] == pytest.approx(want, rel=1e-12)
    page = (folder / "synthesis.html").read_text(encoding="utf-8")
    assert "Städernas klimatinvesteringsplaner, budget 2027" in page and "<script" not in page.split("</head>")[1]
    assert "1 EUR (2025 års priser) = 11,0000 SEK (2024 års priser)" in page
    assert "trasigby" in page and 'href="Storby/index.html"' in page and "<td>bidrag</td>" in page
    from climateinvest.report.html_export import outside_references

    assert outside_references(page) == []


@pytest.mark.slow
def test_dask_results_equal_in_process_results_byte_for_byte(tmp_path):
    from climateinvest.batch.runner import run_batch

    scenario = CITIES / "storby" / "scenarios" / "base.yaml"
    folders = {}
    for engine, scheduler in (("local", "in-process"), ("dask", None)):
        code = run_batch([scenario], out=tmp_path / engine, jobs=2, run_id="x", scheduler=scheduler,
                         stream=io.StringIO())
        assert code == 0
        folders[engine] = tmp_path / engine / "2027" / "x"
    a, b = (tree(folders[e] / "base") for e in ("local", "dask"))
    assert a.keys() == b.keys() and "results.xlsx" not in a  # the workbook is moved beside the folder
    differ = [name for name in a if a[name] != b[name]]
    assert differ == ["manifest.json"]  # its timings, measured in each run, and nothing else:

    def untimed(path: Path) -> dict:
        data = json.loads(path.read_text(encoding="utf-8"))
        data.pop("timings_s")
        data["summary"]["uncertainty"].pop("timings_s")
        data["summary"]["uncertainty"]["selection_frequency"].pop("seconds_per_draw", None)
        return data

    assert untimed(folders["local"] / "base" / "manifest.json") == untimed(folders["dask"] / "base" / "manifest.json")
    assert (folders["local"] / "base.xlsx").read_bytes() == (folders["dask"] / "base.xlsx").read_bytes()
    pages = []
    for e in ("local", "dask"):
        text = (folders[e] / "base.html").read_bytes()
        timing = re.search(rb"<h3>(Computing time|Ber\xc3\xa4kningstid)</h3>.*?</table>", text, flags=re.DOTALL)
        assert timing
        pages.append(text.replace(timing.group(), b""))
    assert pages[0] == pages[1]

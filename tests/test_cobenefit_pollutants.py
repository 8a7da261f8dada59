"""Pollutants derived from energy carriers (issue 17 item 2): a hand-computed case, the explicit row
winning, Landskrona's derived rows by hand, the loader's errors, and the properties."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import ROOT

from climateinvest.io.city import load_city
from climateinvest.io.errors import ValidationError
from climateinvest.portfolio.cobenefits import derive_pollutants

LANDSKRONA = ROOT / "data" / "landskrona"
SOCIETAL = ROOT / "parameters" / "2027" / "societal.yaml"

EFFECTS = pd.DataFrame({"measure_id": ["A"], "effect": ["pm25_kg"], "quantity": [5.0], "minutes_per_day": [np.nan],
                        "db_reduction": [np.nan], "source": ["stated"]})
CHANGES = pd.DataFrame({"measure_id": ["A", "A", "B", "C"], "carrier": ["diesel", "electricity", "diesel", "diesel"],
                        "delta_mwh_per_year": [-1000.0, 300.0, 200.0, -10.0]})
FACTORS = pd.DataFrame({"carrier": ["diesel", "diesel", "electricity", "electricity"],
                        "pollutant": ["nox", "pm25", "nox", "pm25"], "kg_per_mwh": [0.125, 0.0025, 0.0, 0.0]})


def _rows(out):
    return out.set_index(["measure_id", "effect"])


def test_derived_by_hand_and_the_stated_row_wins():
    out, lacking = derive_pollutants(EFFECTS, CHANGES, FACTORS, ["A", "B"])
    rows = _rows(out)
    # A: NOx = -(-1000 MWh x 0.125 + 300 MWh x 0) = 125 kg/yr avoided, derived
    assert rows.at[("A", "nox_kg"), "quantity"] == pytest.approx(125.0)
    assert bool(rows.at[("A", "nox_kg"), "derived"])
    assert "diesel" in rows.at[("A", "nox_kg"), "derivation"]
    # A's PM2.5 is stated (5 kg): kept, not derived, never both (1000 x 0.0025 = 2.5 would be the derived one)
    assert rows.at[("A", "pm25_kg"), "quantity"] == 5.0 and not bool(rows.at[("A", "pm25_kg"), "derived"])
    assert out.groupby(["measure_id", "effect"]).size().max() == 1
    # B burns 200 MWh more diesel: -(200 x 0.125) = -25 kg/yr (more emitted), -(200 x 0.0025) = -0.5
    assert rows.at[("B", "nox_kg"), "quantity"] == pytest.approx(-25.0)
    assert rows.at[("B", "pm25_kg"), "quantity"] == pytest.approx(-0.5)
    # C is not a candidate: nothing derived for it; SO2 and VOC have no factors: named, not invented
    assert "C" not in set(out["measure_id"]) and not ({"so2_kg", "voc_kg"} & set(out["effect"]))
    assert lacking == ["diesel", "electricity"]


def test_zero_and_doubling_factors():
    zero, _ = derive_pollutants(EFFECTS, CHANGES, FACTORS.assign(kg_per_mwh=0.0), ["A", "B"])
    assert not zero["derived"].any()  # 0 kg derives no row; the stated row stays
    one, _ = derive_pollutants(EFFECTS, CHANGES, FACTORS, ["A", "B"])
    two, _ = derive_pollutants(EFFECTS, CHANGES, FACTORS.assign(kg_per_mwh=2 * FACTORS["kg_per_mwh"]), ["A", "B"])
    d1, d2 = one[one["derived"]], two[two["derived"]]
    np.testing.assert_allclose(d2["quantity"].to_numpy(), 2 * d1["quantity"].to_numpy())
    without, lacking = derive_pollutants(EFFECTS, CHANGES, FACTORS.iloc[0:0], ["A", "B"])
    assert len(without) == 1 and lacking == []  # no table: nothing derived


@pytest.fixture(scope="module")
def societal():
    from climateinvest.run import run_scenario

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_scenario(SOCIETAL)


def test_landskrona_derived_rows_by_hand(societal):
    cb = societal.steps.cobenefits
    phys = cb.physical.set_index(["measure_id", "effect"])
    # bus_electric: NOx is stated (289 kg), SO2 derived: 2 308.3 MWh diesel x 0.0017 kg/MWh = 3.924 kg
    assert phys.at[("bus_electric", "nox_kg"), "quantity"] == 289 and not phys.at[("bus_electric", "nox_kg"), "derived"]
    assert phys.at[("bus_electric", "so2_kg"), "quantity"] == pytest.approx(2308.3 * 0.0017)
    assert phys.at[("bus_electric", "so2_kg"), "derived"]
    # waste trucks (no stated rows): NOx = 1 775 x 0.125 - 2 130 x 0.068 = 221.875 - 144.84 = 77.035 kg;
    # value = 77.035 x (regional 75 + local 12 x sqrt(46 000 / 57 000)) x KPI 420 / 284.22
    nox = 1775 * 0.125 - 2130 * 0.068
    assert phys.at[("waste_trucks_biogas", "nox_kg"), "quantity"] == pytest.approx(nox)
    per_kg = (75 + 12 * np.sqrt(46_000 / 57_000)) * 420 / 284.22
    assert phys.at[("waste_trucks_biogas", "nox_kg"), "value_per_year"] == pytest.approx(nox * per_kg)
    # no double counting: one row per measure and effect; every stated row kept as stated
    assert cb.physical.groupby(["measure_id", "effect"]).size().max() == 1
    stated = societal.city.cobenefit_effects.set_index(["measure_id", "effect"])["quantity"]
    kept = phys.loc[stated.index]
    assert not kept["derived"].any() and (kept["quantity"] == stated).all()
    # district heating has no factors: named in the warnings, never a silent zero
    assert any("district_heating" in w for w in cb.summary["warnings"])
    assert cb.summary["derived_pollutant_rows"] == int(cb.physical["derived"].sum()) > 0


def test_bad_factor_rows_are_reported_with_file_row_column(tmp_path):
    folder = shutil.copytree(LANDSKRONA, tmp_path / "city")
    path = folder / "pollutant_factors.csv"
    text = path.read_text(encoding="utf-8").splitlines()
    text[1] = "diesel,co2,0.125,x"   # not a pollutant of the table
    text[2] = "diesel,pm25,-1,x"     # negative
    text[3] = "disel,voc,0.052,x"    # not a carrier of the city
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as info:
        load_city(folder)
    found = {(p.file, p.row, p.column): str(p) for p in info.value.problems}
    assert ("pollutant_factors.csv", 2, "pollutant") in found
    assert ("pollutant_factors.csv", 3, "kg_per_mwh") in found
    assert ("pollutant_factors.csv", 4, "carrier") in found
    assert "diesel" in found[("pollutant_factors.csv", 4, "carrier")]  # did you mean

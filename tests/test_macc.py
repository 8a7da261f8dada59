"""MAC curve: reference ranking, interactions, exclusive groups, excluded measures, properties."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from climateinvest import macc
from climateinvest.appraisal import appraise
from climateinvest.cashflows import Flows
from climateinvest.io.city import CityData
from climateinvest.io.scenario import Scenario
from climateinvest.macc import build_macc, interaction_scale, sector_summary

FUNDING_COLUMNS = ["source_id", "name", "kind", "max_share", "annual_cap", "interest_rate",
                   "term_years", "eligible_sectors", "eligible_payers", "amortisation"]
DEFAULTS = {"energy": 0.0, "tonnes": 0.0, "direct": 0.0, "opex": 0.0, "source": "s1",
            "sector": "buildings", "payer": "municipality", "group": "", "requires": "",
            "start": 2027}


def make_case(rows, baseline, rate=0.04, interaction="independent", discount_abatement=True,
              year=2030, appraised=False):
    """Level-flow measures as (measures, Flows, CityData, Scenario), built directly.

    Each row: measure_id, capex [SEK at t=0], life [years], energy [SEK/year] (energy cost
    change), tonnes [t CO2e/year] (abatement through energy), optionally direct [t/year], opex
    [SEK/year], source, sector, payer, group, requires, start [year]. ``baseline``: source_id ->
    t CO2e/year (flat). The measures table is ``appraise``'s output with ``appraised=True``, else
    the city's own table (it has every column the curve reads; faster for the property tests).
    """
    rows = [DEFAULTS | r for r in rows]
    t = np.arange(1 + max(r["life"] for r in rows))
    active = np.array([(t >= 1) & (t <= r["life"]) for r in rows])

    def col(k):
        return np.array([float(r[k]) for r in rows])[:, None]

    def text(k):
        return [r[k] for r in rows]

    flows = Flows(
        measure_ids=tuple(text("measure_id")), carriers=("electricity",),
        start_year=np.array(text("start"), dtype=int),
        capex=np.where(t[None, :] == 0, col("capex"), 0.0), opex=np.where(active, col("opex"), 0.0),
        energy_cost_c=np.where(active, col("energy"), 0.0)[:, None, :],
        emissions_c=np.where(active, -col("tonnes"), 0.0)[:, None, :],
        mwh_c=np.where(active, -10 * col("tonnes"), 0.0)[:, None, :],
        direct=np.where(active, col("direct"), 0.0), active=active)
    measures = pd.DataFrame({
        "measure_id": text("measure_id"), "name": [f"Measure {m}" for m in text("measure_id")],
        "sector": text("sector"), "emission_source": text("source"), "payer": text("payer"),
        "capex": col("capex")[:, 0], "capex_years": 1.0,
        "earliest_start_year": col("start")[:, 0], "lifetime_years": col("life")[:, 0],
        "opex_change_per_year": col("opex")[:, 0],
        "direct_abatement_tco2e_per_year": col("direct")[:, 0],
        "exclusive_group": text("group"), "requires": text("requires"), "source": ""})
    sector = {"road": "transport"}
    city = CityData(
        name="Testby", country="SE", currency="SEK", price_year=2025, population=1000,
        measures=measures,
        energy_changes=pd.DataFrame(columns=["measure_id", "carrier", "delta_mwh_per_year"]),
        energy_prices=pd.DataFrame(columns=["carrier", "price_path", "year", "price_per_mwh"]),
        emission_factors=pd.DataFrame(columns=["carrier", "factor_set", "year", "kgco2e_per_mwh"]),
        baseline=pd.DataFrame([(s, sector.get(s, "buildings"), 2020, float(v), "territorial")
                               for s, v in baseline.items()],
                              columns=["source_id", "sector", "year", "tco2e", "scope"]),
        funding_sources=pd.DataFrame(columns=FUNDING_COLUMNS),
        uncertainty=pd.DataFrame(columns=["target", "parameter", "distribution", "low", "mode",
                                          "high"]))
    scenario = Scenario(title="test", city="x", budget_cycle=2027, discount_rate=rate, rate_basis="real",
                        interaction=interaction, discount_abatement=discount_abatement,
                        reference_year=year)
    if not appraised:
        return measures, flows, city, scenario
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # appraisal warns on zero abatement; not under test here
        table = appraise(flows, city, rate, scenario.perspective, 0.0, discount_abatement)
    return table, flows, city, scenario


def run(rows, baseline, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the MAC curve never divides by zero nor warns
        return build_macc(*make_case(rows, baseline, **kw))


def crf(r, n):
    return r * (1 + r) ** n / ((1 + r) ** n - 1)


def M(measure_id, **kw):
    """One measure row for ``make_case``."""
    return {"measure_id": measure_id, **kw}


# Reference ranking. The convention is McKinsey & Company's ("Pathways to a Low-Carbon Economy",
# 2009, "how to read the cost curve"; the same levelised formula as Ibrahim & Kennedy 2016,
# Energies 9(4):227, eq. 1-3, for city curves): height = (capex x CRF + annual net cost) / annual
# tonnes, width = annual abatement in the reference year, bars cheapest first, each starting where
# the previous ends. The five inputs are small illustrative numbers, computed by hand below
# (r = 4 %): CRF(20) = 0.0735818, CRF(10) = 0.1232909, CRF(15) = 0.0899411.
REFERENCE = [
    M("led", capex=1_000_000, energy=-150_000, tonnes=100, life=20, source="a"),  # -764.18
    M("hp", capex=1_000_000, energy=-50_000, tonnes=100, life=20, source="b"),  # 235.82
    M("pv", capex=2_000_000, tonnes=400, life=10, source="c"),  # 616.45
    M("ev", capex=500_000, energy=20_000, tonnes=50, life=15, source="d", sector="transport"),
    M("meals", capex=0, opex=100_000, direct=250, life=5, source="e"),  # 400.00
]
REF_BASE = {"a": 1000, "b": 1000, "c": 1000, "d": 1000, "e": 1000}


def test_reference_ranking_order_heights_and_cumulative_widths():
    result = run(REFERENCE, REF_BASE)
    c = result.curve
    assert c["measure_id"].tolist() == ["led", "hp", "meals", "pv", "ev"]
    expected = [(1e6 * crf(0.04, 20) - 150_000) / 100, (1e6 * crf(0.04, 20) - 50_000) / 100,
                100_000 / 250, 2e6 * crf(0.04, 10) / 400, (5e5 * crf(0.04, 15) + 20_000) / 50]
    assert c["cost_per_tco2e"].to_numpy() == pytest.approx(expected, rel=1e-9)
    assert c["cost_per_tco2e"].to_numpy() == pytest.approx([-764.18, 235.82, 400.0, 616.45,
                                                            1299.41], abs=0.01)
    assert c["adjusted_tco2e"].tolist() == [100, 100, 250, 400, 50]
    assert c["cum_start_tco2e"].tolist() == [0, 100, 200, 450, 850]
    assert c["cum_end_tco2e"].tolist() == [100, 200, 450, 850, 900]
    assert c["rank"].tolist() == [1, 2, 3, 4, 5]
    assert c["saves_money"].tolist() == [True, False, False, False, False]
    assert result.excluded.empty and result.alternatives.empty
    assert result.reference_year == 2030 and result.currency == "SEK"


def test_standalone_cost_per_tonne_equals_appraisal_and_plain_tonnes_convention():
    appraised, flows, city, sc = make_case(REFERENCE, REF_BASE, discount_abatement=False,
                                           appraised=True)
    c = build_macc(appraised, flows, city, sc).curve
    by_id = appraised.set_index("measure_id")["cost_per_tco2e"]
    assert c["standalone_cost_per_tco2e"].to_numpy() == pytest.approx(
        by_id[c["measure_id"]].to_numpy(), rel=1e-12)
    # plain tonnes, meals: discounted cost 100 000 x (1 - 1.04^-5) / 0.04 over 5 x 250 plain t
    meals = c.set_index("measure_id").at["meals", "cost_per_tco2e"]
    assert meals == pytest.approx(356.1458, abs=1e-4)


def test_saving_measures_keep_their_npv_beside_the_ratio():
    # Taylor (2012, Energy Policy 48:430): among savers the ratio ranks a small saver (1 t, saves
    # 100/yr) ahead of a large one (10 t, saves 500/yr). Both NPVs stay in the table.
    rows = [M("small", capex=0, energy=-100, tonnes=1, life=10, source="a"),
            M("large", capex=0, energy=-500, tonnes=10, life=10, source="b")]
    c = run(rows, {"a": 100, "b": 100}, rate=0.0).curve.set_index("measure_id")
    assert c.index.tolist() == ["small", "large"]
    assert c["cost_per_tco2e"].tolist() == pytest.approx([-100.0, -50.0])
    assert c["npv_cost"].tolist() == pytest.approx([-1000.0, -5000.0])
    assert c["saves_money"].all()
    assert "saves money: NPV -5,000 SEK" in c.at["large", "note"]


def test_interaction_scale_hand_example():
    # source h: baseline 1000; x (400 t) then y (500 t): y keeps 60 % -> 300 t. z (100 t) is
    # capped at its source k (50 t); w adds emissions (scale 1); v is not applied (scale 0).
    s = interaction_scale([400, 500, 100, -50, 80], ["h", "h", "k", "h", "h"],
                          {"h": 1000, "k": 50}, [0, 1, 2, 3])
    assert s.tolist() == pytest.approx([1.0, 0.6, 0.5, 1.0, 0.0])
    # order matters for each measure, not for the total per source: 1000 (1 - 0.6 x 0.5)
    r = interaction_scale([400, 500], ["h", "h"], {"h": 1000}, [1, 0])
    assert r.tolist() == pytest.approx([0.5, 1.0])
    assert 400 * r[0] + 500 * r[1] == pytest.approx(400 + 500 * 0.6)


def test_interaction_scale_errors_carry_evidence():
    msg = r"emission_source 'road' has no baseline \(known sources: h\)"
    with pytest.raises(ValueError, match=msg):
        interaction_scale([1.0], ["road"], {"h": 10.0}, [0])
    with pytest.raises(ValueError, match="order lists a measure twice"):
        interaction_scale([1.0, 2.0], ["h", "h"], {"h": 10.0}, [0, 0])


def test_sequential_recomputes_costs_and_reorders():
    # p (600 t, 100/t) and q (500 t, 150/t) share source s (1000 t); r (200 t, 200/t) is alone.
    # After p, q keeps 40 % of its effect: 200 t at 150 / 0.4 = 375/t (investment not scaled),
    # so r comes before it. Independent order: p, q, r.
    rows = [M("p", capex=60_000, direct=600, life=1, source="s", start=2029),
            M("q", capex=75_000, direct=500, life=1, source="s", start=2029),
            M("r", capex=40_000, direct=200, life=1, source="t", start=2029)]
    base = {"s": 1000, "t": 1000}
    ind = run(rows, base, rate=0.0)
    seq = run(rows, base, rate=0.0, interaction="sequential")
    assert ind.curve["measure_id"].tolist() == ["p", "q", "r"]
    c = seq.curve.set_index("measure_id")
    assert c.index.tolist() == ["p", "r", "q"]
    assert c["adjusted_tco2e"].tolist() == pytest.approx([600, 200, 200])
    assert c["cost_per_tco2e"].tolist() == pytest.approx([100, 200, 375])
    assert c.at["q", "standalone_cost_per_tco2e"] == pytest.approx(150)
    assert c.at["q", "scale"] == pytest.approx(0.4)
    assert "40% of its standalone effect" in c.at["q", "note"]
    rec = seq.reconciliation.set_index("source_id")
    cols = ["baseline_tco2e", "standalone_sum_tco2e", "adjusted_sum_tco2e", "remaining_tco2e",
            "double_count_avoided_tco2e", "measures"]
    assert rec.loc["s", cols].tolist() == pytest.approx([1000, 1100, 800, 200, 300, 2])
    assert ind.reconciliation.set_index("source_id").at["s", "remaining_tco2e"] == -100


def test_energy_effects_scale_but_investment_does_not():
    # both on s (baseline 200): a (-100/t) takes 50 %, b (100 t, capex 10 000, saves 3 000/yr over
    # 5 years at r=0) keeps 50 %: NPV = 10 000 - 0.5 x 15 000 = 2 500 over 0.5 x 500 t = 10/t
    # (alone: -10/t): a saver alone, a cost once its source is half gone.
    rows = [M("a", capex=0, energy=-10_000, direct=100, life=5, source="s"),
            M("b", capex=10_000, energy=-3_000, tonnes=100, life=5, source="s")]
    c = run(rows, {"s": 200}, rate=0.0, interaction="sequential").curve.set_index("measure_id")
    assert c.at["b", "npv_cost"] == pytest.approx(2_500)
    assert c.at["b", "cost_per_tco2e"] == pytest.approx(10.0)
    assert c.at["b", "standalone_cost_per_tco2e"] == pytest.approx(-10.0)
    assert not c.at["b", "saves_money"]


def test_exclusive_group_keeps_cheapest_and_lists_the_others():
    bus = {"life": 1, "source": "road", "group": "fleet", "start": 2029}
    rows = [M("bus_el", capex=30_000, tonnes=100, **bus),
            M("bus_gas", capex=10_000, tonnes=50, **bus),
            M("bus_hvo", capex=40_000, tonnes=80, **bus),
            M("other", capex=1_000, tonnes=10, life=1, source="x", start=2029)]
    for mode in ("independent", "sequential"):
        r = run(rows, {"road": 1000, "x": 100}, rate=0.0, interaction=mode)
        assert r.curve["measure_id"].tolist() == ["other", "bus_gas"]
        alt = r.alternatives.set_index("measure_id")
        assert sorted(alt.index) == ["bus_el", "bus_hvo"]
        assert (alt["instead_of"] == "bus_gas").all() and (alt["rank"] == 2).all()
        assert alt.at["bus_el", "cost_per_tco2e"] == pytest.approx(300.0)
        assert alt.at["bus_el", "adjusted_tco2e"] == pytest.approx(100.0)
        assert alt["cum_start_tco2e"].isna().all()


def test_tie_goes_to_larger_abatement():
    rows = [M("small", capex=1_000, direct=10, life=1, group="g", start=2029),
            M("big", capex=5_000, direct=50, life=1, group="g", start=2029)]
    assert run(rows, {"s1": 1000}, rate=0.0).curve["measure_id"].tolist() == ["big"]


def test_zero_negative_and_inactive_measures_are_excluded_with_reason():
    rows = [M("ok", capex=1_000, direct=10, life=10, requires="charger"),
            M("charger", capex=7_000, life=10),  # an enabler: no abatement of its own
            M("adds", capex=1_000, tonnes=-5, life=10),
            M("late", capex=1_000, direct=10, life=10, start=2031),
            M("old", capex=1_000, direct=10, life=2, start=2026),
            M("dup", capex=1_000, direct=10, life=10, source="gone")]
    r = run(rows, {"s1": 1000, "gone": 0.0}, interaction="sequential")
    assert r.curve["measure_id"].tolist() == ["ok"]
    note = r.curve.at[0, "note"]
    assert "requires charger (NPV cost 7,000 SEK, included in this cost per tonne)" in note
    why = r.excluded.set_index("measure_id")["reason"]
    assert why["charger"] == "zero abatement in 2030: cost per tonne undefined"
    assert why["adds"].startswith("adds 5.0 t CO2e in 2030")
    assert why["late"] == "no effect in 2030: acts 2032–2041 (has not begun)"
    assert why["old"] == "no effect in 2030: acts 2027–2028 (has ended)"
    assert why["dup"] == "source gone has no emissions in 2030 (baseline ≤ 0)"
    assert np.isfinite(r.curve.select_dtypes("number").to_numpy(float)).all()


def test_exhausted_source_is_reported_not_divided_by():
    rows = [M("all", capex=100, direct=500, life=1, start=2029),
            M("more", capex=900, direct=10, life=1, start=2029)]
    r = run(rows, {"s1": 400}, rate=0.0, interaction="sequential")
    assert r.curve["adjusted_tco2e"].tolist() == pytest.approx([400.0])  # capped at the source
    assert r.excluded["reason"].tolist() == [
        "nothing left of source s1 in 2030 after measures earlier on the curve"]


def test_subset_of_measures_and_unknown_measure():
    appraised, flows, city, sc = make_case(REFERENCE, REF_BASE, appraised=True)
    r = build_macc(appraised.iloc[[3, 0]], flows, city, sc)
    assert r.curve["measure_id"].tolist() == ["led", "ev"]
    bad = appraised.assign(measure_id=["led", "hp", "pv", "ev", "nope"])
    with pytest.raises(ValueError, match="measures not in flows: nope"):
        build_macc(bad, flows, city, sc)


def test_sector_summary_weights_by_tonnes():
    s = sector_summary(run(REFERENCE, REF_BASE, rate=0.0).curve).set_index("sector")
    assert s.index.tolist() == ["buildings", "transport"]
    assert s.at["transport", "measures"] == 1 and s.at["buildings", "measures"] == 4
    assert s.at["buildings", "abatement_tco2e"] == pytest.approx(850)
    assert s.at["buildings", "investment"] == pytest.approx(4_000_000)
    # rate 0: (1e6 - 3e6) + (1e6 - 1e6) + 2e6 + 5e5 over 2000 + 2000 + 4000 + 1250 t
    assert s.at["buildings", "cost_per_tco2e"] == pytest.approx(500_000 / 9250)
    assert s["share_of_abatement"].sum() == pytest.approx(1.0)


# --- properties ---------------------------------------------------------------------------------

measure = st.fixed_dictionaries({
    "capex": st.floats(0, 1e6), "energy": st.floats(-5e4, 5e4),
    "tonnes": st.floats(0, 500, allow_subnormal=False),
    "direct": st.floats(0, 300, allow_subnormal=False), "life": st.integers(4, 15)})
two_sources = st.lists(st.sampled_from("ab"), min_size=8, max_size=8)
modes = st.sampled_from(["sequential", "independent"])


def _rows(ms, sources, groups=None):
    return [m | {"measure_id": f"m{i}", "source": sources[i], "group": groups[i] if groups else ""}
            for i, m in enumerate(ms)]


@settings(max_examples=30, deadline=None)
@given(ms=st.lists(measure, min_size=1, max_size=6), k=st.floats(1.0, 5.0))
def test_property_no_shared_sources_sequential_equals_independent(ms, k):
    rows = _rows(ms, [f"s{i}" for i in range(len(ms))])
    # each measure fits its own source (else sequential caps it at the source)
    base = {f"s{i}": k * (m["tonnes"] + m["direct"]) + 1.0 for i, m in enumerate(ms)}
    ind, seq = run(rows, base), run(rows, base, interaction="sequential")
    assert seq.curve["measure_id"].tolist() == ind.curve["measure_id"].tolist()
    for col in ("adjusted_tco2e", "cost_per_tco2e", "cum_end_tco2e", "npv_cost"):
        assert seq.curve[col].to_numpy() == pytest.approx(ind.curve[col].to_numpy(), rel=1e-9,
                                                          abs=1e-9)


@settings(max_examples=30, deadline=None)
@given(ms=st.lists(measure, min_size=1, max_size=8), src=two_sources,
       base=st.tuples(st.floats(1, 2000), st.floats(1, 2000)))
def test_property_shared_sources_never_exceed_baseline_or_standalone_sum(ms, src, base):
    r = run(_rows(ms, src), {"a": base[0], "b": base[1]}, interaction="sequential")
    rec = r.reconciliation
    assert (rec["adjusted_sum_tco2e"] <= rec["baseline_tco2e"] * (1 + 1e-9)).all()
    assert (rec["adjusted_sum_tco2e"] <= rec["standalone_sum_tco2e"] * (1 + 1e-9) + 1e-9).all()
    assert (rec["remaining_tco2e"] >= -1e-9 * rec["baseline_tco2e"]).all()
    total = r.curve["cum_end_tco2e"].iat[-1] if len(r.curve) else 0.0
    assert total == pytest.approx(rec["adjusted_sum_tco2e"].sum())
    assert np.isfinite(r.curve["cost_per_tco2e"]).all()


@settings(max_examples=30, deadline=None)
@given(ms=st.lists(measure, min_size=2, max_size=8), src=two_sources,
       base=st.tuples(st.floats(1, 2000), st.floats(1, 2000)), mode=modes)
def test_property_adding_a_measure_never_raises_remaining_emissions(ms, src, base, mode):
    rows, baseline = _rows(ms, src), {"a": base[0], "b": base[1]}
    before = run(rows[:-1], baseline, interaction=mode).reconciliation["remaining_tco2e"]
    after = run(rows, baseline, interaction=mode).reconciliation["remaining_tco2e"]
    assert (after <= before + 1e-9 * (1 + before.abs())).all()


@settings(max_examples=30, deadline=None)
@given(ms=st.lists(measure, min_size=1, max_size=8), src=two_sources, mode=modes,
       groups=st.lists(st.sampled_from(["", "g1", "g2"]), min_size=8, max_size=8))
def test_property_exclusive_groups_hold(ms, src, groups, mode):
    r = run(_rows(ms, src, groups), {"a": 300.0, "b": 3000.0}, interaction=mode)
    on = r.curve[r.curve["exclusive_group"] != ""]
    assert not on["exclusive_group"].duplicated().any()  # at most one member per group
    tables = (r.curve, r.alternatives, r.excluded)
    ids = [m for t in tables for m in t["measure_id"]]
    assert sorted(ids) == sorted(f"m{i}" for i in range(len(ms)))  # each reported exactly once
    chosen = r.curve.set_index("measure_id")["exclusive_group"]
    for _, a in r.alternatives.iterrows():
        assert chosen[a["instead_of"]] == a["exclusive_group"] != ""


@settings(max_examples=30, deadline=None)
@given(ms=st.lists(measure, min_size=1, max_size=5), zero_at=st.integers(0, 4))
def test_property_zero_abatement_is_reported_not_divided_by(ms, zero_at):
    ms = list(ms)
    i = zero_at % len(ms)
    ms[i] = ms[i] | {"tonnes": 0.0, "direct": 0.0}
    r = run(_rows(ms, ["a"] * len(ms)), {"a": 1e4}, interaction="sequential")  # warnings = errors
    assert f"m{i}" in set(r.excluded["measure_id"])
    assert f"m{i}" not in set(r.curve["measure_id"])
    assert np.isfinite(r.curve.select_dtypes("number").to_numpy(float)).all()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-100, 1000), st.sampled_from("ab")), min_size=1, max_size=8),
       st.randoms())
def test_property_interaction_scale_total_is_order_free_and_bounded(ms, rnd):
    stand, src = np.array([m[0] for m in ms]), np.array([m[1] for m in ms])
    base = {"a": 500.0, "b": 50.0}
    order = list(range(len(ms)))
    rnd.shuffle(order)
    s1 = interaction_scale(stand, src, base, order)
    s2 = interaction_scale(stand, src, base, order[::-1])
    pos = stand > 0
    for k, b in base.items():
        on = pos & (src == k)
        total = (stand * s1)[on].sum()
        assert total == pytest.approx((stand * s2)[on].sum(), rel=1e-9, abs=1e-9)
        assert total <= min(b, stand[on].sum()) * (1 + 1e-12) + 1e-12
    assert (s1[~pos] == 1.0).all() and ((0 <= s1) & (s1 <= 1)).all()
    assert macc.interaction_scale(stand, src, base, []).tolist() == [0.0] * len(ms)

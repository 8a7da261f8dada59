"""What a city folder holds, as rules: the closed vocabularies, every table's columns (``SPECS``,
``CITY``), the checks within a row or a table, the checks between tables (``cross_checks``), and
the EU ETS reading of the measures and the baseline. :mod:`climateinvest.io.city` reads a folder or
a workbook with these rules and builds :class:`~climateinvest.io.city.CityData`.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from climateinvest.io.columns import ANY, Col, Table, listing
from climateinvest.io.errors import Problem, did_you_mean

TABLES = ("measures", "energy_changes", "energy_prices", "emission_factors", "baseline_emissions",
          "funding_sources", "uncertainty", "baseline_projection", "municipal_inventory", "cobenefit_values",
          "cobenefit_effects", "pollutant_factors")
PAYERS = ("municipality", "municipal_company", "external")
CITY_PAYERS = PAYERS[:2]  # the municipal group: their investment counts against the city's budget
PARTIES = ("municipality", "municipal_company", "residents", "businesses", "state")
"""Who a cash flow belongs to (Viable Cities' *vem som ska betala*); the state pays the grants and
collects the energy and CO2 taxes."""
EXTERNAL_PARTIES = ("businesses", "residents")  # who an ``external`` measure's payer is
CONTROLS = ("direct", "indirect", "none")
"""The municipality's *rådighet* over a measure: it decides it (``direct``: its own nämnder and
companies), it can steer it (``indirect``: plans, permits, procurement, agreements, grants), or
neither (``none``: national instruments, EU ETS). Empty: direct for the municipal group's
payers, indirect for ``external``."""
STATUSES = ("idea", "planned", "decided")
"""How far a measure has come: an idea, planned (in someone's plan, not decided) or decided."""
FACTOR_BASES = ("lifecycle", "territorial")
FUNDING_KINDS = ("grant", "loan", "own_funds")
UNCERTAIN_PARAMETERS = ("capex", "opex", "abatement", "energy_price", "emission_factor")
FIELDS = {"baseline_emissions": "baseline"}  # table name -> CityData field, where they differ
COBENEFIT_EFFECTS = ("pm25_kg", "nox_kg", "so2_kg", "voc_kg", "cyclists", "walkers", "noise_persons")
"""Physical co-benefits a measure may state (``cobenefit_effects.csv``): kg per year less emitted
locally of each pollutant, new regular cyclists or walkers (persons, with ``minutes_per_day``),
people exposed to less noise (persons, with ``db_reduction``)."""
COBENEFIT_PARAMETERS = (
    "air_local_pm25", "air_local_nox", "air_local_so2", "air_local_voc",
    "air_regional_pm25", "air_regional_nox", "air_regional_so2", "air_regional_voc",
    "air_ref_population", "air_ref_ventilation", "town_population", "town_ventilation",
    "noise_per_person_db", "vsl", "mortality_rate",
    "heat_rr_cycling", "heat_ref_min_week_cycling", "heat_cap_cycling",
    "heat_rr_walking", "heat_ref_min_week_walking", "heat_cap_walking", "kpi")
"""The parameters of a valuation table (``cobenefit_values.csv``); see ``climateinvest.portfolio.cobenefits``."""
POLLUTANTS = ("pm25", "nox", "so2", "voc")
"""The exhaust pollutants of ``pollutant_factors.csv`` (kg per MWh of a carrier burnt locally)."""


# --- column specs -------------------------------------------------------------------------------

def _loan_terms(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """A loan needs ``term_years`` ≥ 1; for a grant or own funds it does not apply (0 or empty,
    as people fill templates, is accepted; so is any ``interest_rate``, unused).
    """
    loans = df["kind"] == "loan"
    rule = "a whole number ≥ 1"
    return ([Problem(label, f"must be {rule} for a loan, got an empty cell", row, "term_years", "")
             for row in df.index[loans & (cells["term_years"] == "")]]
            + [Problem(label, f"must be {rule} for a loan, got {cells.at[row, 'term_years']}", row,
                       "term_years", cells.at[row, "term_years"])
               for row in df.index[loans & (df["term_years"] == 0)]])


def _ets_within(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """The emissions under the EU ETS are part of the source's emissions."""
    if "ets_tco2e" not in df:
        return []
    bad = df["ets_tco2e"].notna() & df["tco2e"].notna() & (df["ets_tco2e"] > df["tco2e"])
    return [Problem(label, f"must be at most tco2e ({df.at[row, 'tco2e']:g}: the part of the source's "
                    f"emissions under the EU ETS), got {cells.at[row, 'ets_tco2e']}", row, "ets_tco2e",
                    cells.at[row, "ets_tco2e"]) for row in df.index[bad]]


def _bounds(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    out = []
    for row, r in df.iterrows():
        if pd.isna(r["low"]) or pd.isna(r["high"]):
            continue  # a bad low or high cell is reported already; comparing with NaN says nothing
        if r["distribution"] == "triangular" and cells.at[row, "mode"] == "":
            out.append(Problem(label, "must not be empty for a triangular distribution", row,
                               "mode", ""))
        elif r["high"] < r["low"]:
            out.append(Problem(label, f"must be ≥ low ({r['low']:g}), got {cells.at[row, 'high']}",
                               row, "high", cells.at[row, "high"]))
        elif (r["distribution"] == "triangular" and pd.notna(r["mode"])
              and not r["low"] <= r["mode"] <= r["high"]):
            out.append(Problem(label, f"must be from low to high ({r['low']:g} to {r['high']:g}), "
                               f"got {cells.at[row, 'mode']}", row, "mode", cells.at[row, "mode"]))
    return out


def _territory_details(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """A measure the municipal group pays is under its direct control; an identified financing
    share belongs to a measure others pay (the city's own are financed by its plan); only the
    municipal group's measures cut a category of its own emissions (``municipal_category``).
    """
    out = []
    for row in df.index:
        city_pays = df.at[row, "payer"] in CITY_PAYERS
        if city_pays and df.at[row, "control"] in ("indirect", "none"):
            out.append(Problem(label, f"must be direct (or empty) for a measure paid by {df.at[row, 'payer']}",
                               row, "control", cells.at[row, "control"]))
        if not city_pays and df.at[row, "municipal_category"]:
            out.append(Problem(label, f"must be empty for a measure paid by {df.at[row, 'payer']} (it cuts "
                               "others' emissions, not the municipal group's own)", row, "municipal_category",
                               cells.at[row, "municipal_category"]))
        if city_pays and cells.at[row, "financing_identified_share"] != "":
            out.append(Problem(label, "must be empty for a measure the municipal group pays (its financing "
                                      "is the plan's)", row, "financing_identified_share",
                               cells.at[row, "financing_identified_share"]))
    return out


def _effect_details(df: pd.DataFrame, cells: pd.DataFrame, label: str) -> list[Problem]:
    """Cyclists and walkers need ``minutes_per_day`` (per person, averaged over the year);
    people exposed to less noise need ``db_reduction``.
    """
    out = []
    for row, effect in df["effect"].items():
        need = {"cyclists": "minutes_per_day", "walkers": "minutes_per_day",
                "noise_persons": "db_reduction"}.get(effect)
        if need and cells.at[row, need] == "":
            out.append(Problem(label, f"must not be empty for effect {effect}", row, need, ""))
    return out


ID = (r"[A-Za-z0-9_-]+", "an id of letters, digits, _ and - only")
YEAR = {"kind": "whole", "lo": 1900, "hi": 2200}
MAX_YEARS = 200  # longest investment period, lifetime or loan term: the arrays run this long
SPECS: dict[str, Table] = {
    "measures": Table((
        Col("measure_id", pattern=ID), Col("name"), Col("sector"), Col("emission_source"),
        Col("payer", choices=PAYERS), Col("capex", "number", lo=0),
        Col("capex_years", "whole", False, 1.0, lo=1, most=MAX_YEARS),
        Col("earliest_start_year", **YEAR), Col("lifetime_years", "whole", lo=1, most=MAX_YEARS),
        Col("opex_change_per_year", "number", False, 0.0),
        Col("direct_abatement_tco2e_per_year", "number", False, 0.0, lo=0),
        Col("exclusive_group", required=False), Col("requires", required=False),
        Col("source", required=False),
        Col("operating_share", "number", False, 0.0, lo=0, hi=1),
        Col("fee_revenue_per_year", "number", False, 0.0),
        Col("external_party", required=False, default="businesses", choices=EXTERNAL_PARTIES),
        Col("actor", required=False), Col("control", required=False, choices=CONTROLS),
        Col("ets", required=False, default="false", choices=("true", "false")),
        Col("status", required=False, default="planned", choices=STATUSES),
        Col("financing_identified_share", "number", False, lo=0, hi=1), Col("financing_note", required=False),
        Col("municipal_category", required=False)),
        key=("measure_id",), min_rows=1, check=_territory_details),
    "energy_changes": Table((
        Col("measure_id"), Col("carrier"), Col("delta_mwh_per_year", "number"),
        Col("energy_payer", required=False, choices=PARTIES[:4])),
        key=("measure_id", "carrier")),
    "energy_prices": Table((
        Col("carrier"), Col("price_path"), Col("year", **YEAR), Col("price_per_mwh", "number", lo=0),
        Col("tax_per_mwh", "number", False, 0.0, lo=0)),
        key=("carrier", "price_path", "year")),
    "emission_factors": Table((
        Col("carrier"), Col("factor_set"), Col("year", **YEAR),
        Col("kgco2e_per_mwh", "number", lo=-10000),
        Col("basis", required=False, default="lifecycle", choices=FACTOR_BASES)),
        key=("carrier", "factor_set", "year", "basis")),
    "baseline_emissions": Table((
        Col("source_id"), Col("sector"), Col("year", **YEAR), Col("tco2e", "number", lo=0),
        Col("scope", required=False, default="territorial", choices=("territorial", "indirect")),
        Col("ets_tco2e", "number", False, lo=0)),
        key=("source_id", "year"), min_rows=1, check=_ets_within),
    "funding_sources": Table((
        Col("source_id"), Col("name"), Col("kind", choices=FUNDING_KINDS),
        Col("max_share", "number", lo=0, hi=1), Col("annual_cap", "number", False, lo=0),
        Col("interest_rate", "number", False, 0.0, lo=-0.05, hi=1),
        Col("term_years", "whole", False, lo=0, most=MAX_YEARS),  # ≥ 1 for a loan: _loan_terms
        Col("eligible_sectors", required=False, default=ANY, many=True),
        Col("eligible_payers", required=False, default=ANY, many=True, choices=PAYERS),
        Col("amortisation", required=False, default="straight", choices=("straight", "annuity")),
        Col("eligible_measures", required=False, default=ANY, many=True),
        Col("uncertain_measures", required=False, many=True)),
        key=("source_id",), check=_loan_terms),
    "uncertainty": Table((
        Col("target"), Col("parameter", choices=UNCERTAIN_PARAMETERS),
        Col("distribution", choices=("triangular", "uniform")), Col("low", "number", lo=0),
        Col("mode", "number", False), Col("high", "number")),
        key=("target", "parameter"), optional=True, check=_bounds),
    "baseline_projection": Table((
        Col("sector"), Col("year", **YEAR), Col("factor", "number", lo=0, hi=10), Col("source", required=False)),
        key=("sector", "year"), optional=True),
    "municipal_inventory": Table((
        Col("category"), Col("year", **YEAR), Col("tco2e", "number", lo=0), Col("source", required=False)),
        key=("category", "year"), optional=True),
    "cobenefit_values": Table((
        Col("parameter", choices=COBENEFIT_PARAMETERS), Col("value", "number", lo=0), Col("unit"),
        Col("price_year", **YEAR), Col("value_year", **YEAR),
        Col("status", choices=("current", "older", "assumption")), Col("source", required=False)),
        key=("parameter", "price_year"), optional=True),
    "cobenefit_effects": Table((
        Col("measure_id"), Col("effect", choices=COBENEFIT_EFFECTS), Col("quantity", "number", lo=0),
        Col("minutes_per_day", "number", False, lo=0, hi=1440),
        Col("db_reduction", "number", False, lo=0, hi=60), Col("source", required=False)),
        key=("measure_id", "effect"), optional=True, check=_effect_details),
    "pollutant_factors": Table((
        Col("carrier"), Col("pollutant", choices=POLLUTANTS), Col("kg_per_mwh", "number", lo=0),
        Col("source", required=False)),
        key=("carrier", "pollutant"), optional=True),
}
CITY = Table((Col("name"), Col("country"), Col("currency"), Col("price_year", **YEAR),
              Col("population", "whole", lo=1), Col("notes", required=False),
              # the Investment Plan tables' euros: city currency per euro, its date and source
              Col("eur_rate", "number", False, lo=0.000001), Col("eur_rate_date", required=False),
              Col("eur_rate_source", required=False)))


def cross_checks(t: dict[str, pd.DataFrame], label: dict[str, str]) -> list[Problem]:
    """References between tables; ``t`` holds only the tables read with all required columns."""
    out: list[Problem] = []

    def refer(table: str, column: str, allowed: set[str], rule: str) -> None:
        for row, v in t[table][column].items():
            if v and v not in allowed:
                out.append(Problem(label[table], f"must be {rule}, got {v!r}{did_you_mean(v, allowed)}",
                                   row, column, v))

    ids = set(t["measures"]["measure_id"]) if "measures" in t else set()
    if {"measures", "baseline_emissions"} <= t.keys():
        sources = set(t["baseline_emissions"]["source_id"])
        refer("measures", "emission_source", sources,
              f"a source_id of {label['baseline_emissions']} ({listing(sources)})")
    if "measures" in t:
        m = t["measures"]
        refer("measures", "requires", ids, f"a measure_id of {label['measures']}")
        group = dict(zip(m["measure_id"], m["exclusive_group"], strict=True))
        for row, mid, req, grp in zip(m.index, m["measure_id"], m["requires"], m["exclusive_group"], strict=True):
            if req and req == mid:
                out.append(Problem(label["measures"], f"must name another measure, got {req!r} "
                                   "(itself)", row, "requires", req))
            elif req and grp and group.get(req) == grp:
                out.append(Problem(label["measures"], f"must not be an alternative in the same "
                                   f"exclusive_group {grp!r}, got {req!r}", row, "requires", req))
    if {"measures", "funding_sources"} <= t.keys():
        for column in ("eligible_measures", "uncertain_measures"):
            for row, cell in t["funding_sources"][column].items():
                for v in (x.strip() for x in str(cell).split(";")):
                    if v and v != ANY and v not in ids:
                        out.append(Problem(label["funding_sources"], f"must list measure_ids of "
                                           f"{label['measures']} (or *), got {v!r}", row, column, v))
    if {"measures", "energy_changes"} <= t.keys():
        refer("energy_changes", "measure_id", ids, f"a measure_id of {label['measures']}")
    if {"measures", "cobenefit_effects"} <= t.keys():
        refer("cobenefit_effects", "measure_id", ids, f"a measure_id of {label['measures']}")
    carriers = set()
    if "energy_changes" in t:
        changes = t["energy_changes"]
        for table, noun in (("energy_prices", "price"), ("emission_factors", "factor")):
            if table not in t:
                continue
            carriers |= set(t[table]["carrier"])
            for c in sorted(set(changes["carrier"]) - set(t[table]["carrier"]) - {""}):
                rows = [str(r) for r in changes.index[changes["carrier"] == c]]
                known = set(t[table]["carrier"])
                out.append(Problem(label[table], f"has no {noun} rows for carrier {c!r}, which "
                                   f"{label['energy_changes']} uses (row{'s' * (len(rows) > 1)} "
                                   f"{', '.join(rows)}){did_you_mean(c, known)}", None,
                                   "carrier", c))
        carriers |= set(changes["carrier"])
        if "pollutant_factors" in t:  # a typo would leave a carrier's pollutants silently underived
            refer("pollutant_factors", "carrier", carriers, f"a carrier of {label['energy_changes']}, "
                  f"{label['energy_prices']} or {label['emission_factors']} ({listing(carriers)})")
    if {"funding_sources", "measures"} <= t.keys():  # a sector typo would drop a grant silently
        sectors = set(t["measures"]["sector"]) | (set(t["baseline_emissions"]["sector"])
                                                  if "baseline_emissions" in t else set())
        for row, v in t["funding_sources"]["eligible_sectors"].items():
            for sector in [x.strip() for x in v.split(";")] if v != ANY else []:
                if sector and sector not in sectors:
                    out.append(Problem(label["funding_sources"], f"must be * or a ';'-separated list of "
                                       f"sectors of {label['measures']} ({listing(sectors)}), got "
                                       f"{sector!r}{did_you_mean(sector, sectors)}", row,
                                       "eligible_sectors", v))
    if {"uncertainty", "measures", "energy_changes"} <= t.keys():
        refer("uncertainty", "target", ids | carriers | {ANY}, "a measure_id, a carrier or *")
    if {"baseline_projection", "baseline_emissions"} <= t.keys():
        inventory = set(t["baseline_emissions"]["sector"])
        refer("baseline_projection", "sector", inventory, f"a sector of {label['baseline_emissions']} "
              f"({listing(inventory)})")
    if "measures" in t:
        categories = set(t["municipal_inventory"]["category"]) if "municipal_inventory" in t else set()
        refer("measures", "municipal_category", categories,
              f"a category of {label.get('municipal_inventory', 'municipal_inventory.csv')} "
              f"({listing(categories) if categories else 'the file is absent'})")
    if {"measures", "baseline_emissions"} <= t.keys():
        ets_share = ets_shares(t["baseline_emissions"])
        m = t["measures"]
        for row, flag, src in zip(m.index, ets_flags(m), m["emission_source"], strict=True):
            if flag and src in ets_share.index and ets_share[src] <= 0:
                out.append(Problem(label["measures"], f"is true, but emission source {src!r} has no emissions "
                                   f"under the EU ETS in {label['baseline_emissions']} (column ets_tco2e of "
                                   "its last inventory year)", row, "ets", "true"))
    if "baseline_emissions" in t:
        b = t["baseline_emissions"]
        for column in ("sector", "scope"):
            first: dict[str, tuple[int, str]] = {}
            for row, sid, v in zip(b.index, b["source_id"], b[column], strict=True):
                r0, v0 = first.setdefault(sid, (row, v))
                if v != v0 and sid:
                    out.append(Problem(label["baseline_emissions"], f"must be the same on every row "
                                       f"of source_id {sid!r} ({v0!r} at row {r0}), got {v!r}",
                                       row, column, v))
    return out


def ets_flags(measures: pd.DataFrame) -> np.ndarray:
    """(M,) bool: the measure acts on emissions under the EU ETS (``ets`` true; false if absent)."""
    if "ets" not in measures:
        return np.zeros(len(measures), bool)
    return measures["ets"].fillna("false").astype(str).str.lower().eq("true").to_numpy()


def ets_shares(baseline: pd.DataFrame) -> pd.Series:
    """Share [-] of each source's emissions under the EU ETS in its last inventory year
    (``ets_tco2e`` ÷ ``tco2e``; 0 where not given), by ``source_id``.
    """
    last = baseline.sort_values("year").groupby("source_id", sort=False).tail(1).set_index("source_id")
    ets = pd.to_numeric(last["ets_tco2e"], errors="coerce") if "ets_tco2e" in last else pd.Series(0.0, last.index)
    tot = last["tco2e"].astype(float)
    return (ets.fillna(0.0) / tot.where(tot > 0)).fillna(0.0).clip(0.0, 1.0)

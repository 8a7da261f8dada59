"""The output column registry: every saved column is known, once, in both languages; the glossary
in docs/ is generated from it and current."""
from __future__ import annotations

import pytest
from conftest import FICTIONAL, ROOT

from climateinvest.io import output_columns as oc

LANDSKRONA_BASE = ROOT / "parameters" / "2027" / "base.yaml"


@pytest.mark.parametrize("scenario", [LANDSKRONA_BASE, FICTIONAL], ids=["landskrona", "exempelstad"])
def test_every_saved_column_is_in_the_registry(scenario):
    from climateinvest.run import run_scenario

    result = run_scenario(scenario)
    tables = result.tables()
    assert len(tables) >= 20  # every step's tables, uncertainty included
    funding_sources, sectors = oc.city_names(result.city)
    assert "klimatklivet" in funding_sources or "regional_fund" in funding_sources
    unknown = oc.unknown_columns(tables, funding_sources=funding_sources, sectors=sectors)
    assert unknown == []


def test_an_unknown_column_is_reported():
    import pandas as pd

    tables = {"financing": pd.DataFrame(columns=["year", "klimatklivet", "made_up_column"])}
    assert oc.unknown_columns(tables) == [("financing", "klimatklivet"), ("financing", "made_up_column")]
    assert oc.unknown_columns(tables, funding_sources={"klimatklivet": "Klimatklivet"}) == [
        ("financing", "made_up_column")]


def test_family_columns_take_the_city_names():
    col = oc.lookup("klimatklivet", "financing", funding_sources={"klimatklivet": "Klimatklivet (Naturvårdsverket)"})
    assert col.header("sv", "SEK", scale="k") == "Klimatklivet (Naturvårdsverket) (tkr)"
    # a funding-source id is not a column of another table
    assert oc.lookup("klimatklivet", "pathway", funding_sources={"klimatklivet": "x"}) is None
    sector = oc.lookup("transport", "pathway_by_sector", sectors={"transport"})
    assert sector.label == {"sv": "Transporter", "en": "Transport"}
    assert sector.unit("sv") == "t CO₂e/år"


def test_every_entry_has_both_languages_and_a_known_kind():
    kinds = oc.kinds()
    for col in [*oc.registry().values(), *(c for c, _ in oc.families().values())]:
        assert col.kind in kinds, col.name
        assert all(col.tables.get(t) in kinds for t in col.tables), col.name
        for lang in oc.LANGUAGES:
            assert col.label[lang].strip() and col.meaning[lang].strip(), (col.name, lang)
            assert col.meaning[lang].endswith((".", ")")), (col.name, lang)
        assert col.label["sv"] != col.meaning["sv"]


def test_units_follow_the_kind_not_the_name():
    reg = oc.registry()
    # the old header guessing printed "[SEK]" above SEK/t and t CO2e columns and "2 045" for years
    assert reg["cost_per_tco2e"].header("sv", "SEK", scale="k") == "Kostnad per ton (kr/t CO₂e)"
    assert reg["cost_per_tco2e"].header("en", "SEK") == "Cost per tonne (SEK/t CO₂e)"
    assert reg["capex"].header("sv", "SEK", scale="M") == "Investering (mnkr)"
    assert reg["capex"].header("en", "EUR", scale="k") == "Investment (kEUR)"
    assert reg["net"].unit("en", "SEK") == "SEK"
    assert reg["standalone_tco2e"].unit("sv") == "t CO₂e/år"
    assert reg["lifetime_abatement_tco2e"].unit("en") == "t CO₂e"
    assert reg["year"].header("sv") == "År"
    assert reg["p50"].kind_in("uncertainty_portfolio") == "by_row"
    assert reg["p50"].kind_in("uncertainty_fan") == "tonnes_per_year"


def test_values_are_translated():
    assert oc.value_label("municipal_company", "sv") == "kommunalt bolag"
    assert oc.value_label("external", "en") == "others"
    assert oc.value_label("something else", "sv") == "something else"
    with pytest.raises(ValueError, match="allowed: sv, en"):
        oc.value_label("grant", "de")


def test_glossary_in_docs_is_current():
    path = ROOT / "docs" / "glossary.md"
    assert path.read_text(encoding="utf-8") == oc.glossary_markdown(), (
        "docs/glossary.md is out of date: run "
        "python -c 'from climateinvest.io.output_columns import glossary_markdown as g; "
        "open(\"docs/glossary.md\",\"w\").write(g())'")

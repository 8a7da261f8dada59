"""The scenario file: safe YAML, unknown keys named, types and ranges, years inside the cycle."""
from pathlib import Path

import pytest

from climateinvest import ValidationError, load_scenario

GOOD = """\
title: Budget 2027 — base case
city: ../city
budget_cycle: 2027
discount_rate: 0.025
investment_budget: {2027: 40000000, 2028: 40000000, 2029: 40000000}
target: {year: 2030, reduction: 0.8, base_year: 1990}
carbon_budget: {from_year: 2024, tco2e: 348151}
monte_carlo: {draws: 2000, seed: 2027}
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "scen" / "s.yaml"
    p.parent.mkdir(exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def test_good_scenario_resolves_city_relative_to_file(tmp_path):
    s = load_scenario(write(tmp_path, GOOD))
    assert s.city == (tmp_path / "city").resolve()
    assert s.plan_years == [2027, 2028, 2029]
    assert s.investment_budget[2028] == 40_000_000
    assert s.macc_year == 2030 and s.monte_carlo.seed == 2027


@pytest.mark.parametrize(
    "extra, pattern",
    [
        ("discount_rat: 0.03\n", r"s\.yaml, key discount_rat: unknown key \(did you mean 'discount_rate'\?\)"),
        (
            "target: {year: 2030, reductoin: 0.5}\n",
            r"key target\.reductoin: unknown key \(did you mean 'reduction'\?\)",
        ),
    ],
)
def test_unknown_keys_are_named(tmp_path, extra, pattern):
    text = GOOD.replace("target: {year: 2030, reduction: 0.8, base_year: 1990}\n", "") + extra
    with pytest.raises(ValidationError, match=pattern):
        load_scenario(write(tmp_path, text))


@pytest.mark.parametrize(
    "old, new, pattern",
    [
        ("discount_rate: 0.025", "discount_rate: 0.9", r"key discount_rate: must be at most 0\.5, got 0\.9"),
        ("discount_rate: 0.025", "discount_rate: high", r"key discount_rate: must be a number, got 'high'"),
        ("2029: 40000000}", "2031: 40000000}", r"year 2031 is outside the budget cycle 2027–2029"),
        ("reduction: 0.8", "reduction: 1.5", r"key target\.reduction: must be at most 1, got 1\.5"),
        ("city: ../city\n", "", r"key city: missing required key"),
    ],
)
def test_types_ranges_and_cycle_years(tmp_path, old, new, pattern):
    with pytest.raises(ValidationError, match=pattern):
        load_scenario(write(tmp_path, GOOD.replace(old, new)))


def test_every_problem_reported_at_once(tmp_path):
    text = GOOD.replace("discount_rate: 0.025", "discount_rate: 2") + "colour: red\n"
    with pytest.raises(ValidationError) as e:
        load_scenario(write(tmp_path, text))
    assert len(e.value.problems) == 2


def test_yaml_is_loaded_safely(tmp_path):
    text = GOOD + "notes: !!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(ValidationError, match=r"not valid YAML"):
        load_scenario(write(tmp_path, text))


@pytest.mark.parametrize(
    "content, pattern",
    [
        ("- a\n- b\n", "must be a mapping"),
        ("title: [unclosed\n", r"s\.yaml: not valid YAML at line 2, column 1"),
    ],
)
def test_not_a_scenario(tmp_path, content, pattern):
    with pytest.raises(ValidationError, match=pattern):
        load_scenario(write(tmp_path, content))


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(ValidationError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    p = tmp_path / "bin.yaml"
    p.write_bytes(b"title: \xff\xfe\x00")
    with pytest.raises(ValidationError, match="not UTF-8"):
        load_scenario(p)

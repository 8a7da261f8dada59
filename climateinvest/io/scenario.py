"""The scenario file: one YAML of parameters for one run (docs/architecture.md section 4).

Read with a safe YAML loader (``tabular.load_yaml``: no Python objects from YAML, a key given twice
is an error), validated with pydantic: unknown keys are an error that names the key, types and
ranges are checked (numbers finite), and every problem is reported at once with the file and the
key path. Paths inside the file are relative to the file.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic import ValidationError as PydanticError

from climateinvest.io.errors import Problem, ValidationError, did_you_mean
from climateinvest.io.files import read_input
from climateinvest.io.tabular import YamlLimit, load_yaml

MAX_SCENARIO_BYTES = 1 * 2**20  # a scenario file is a page of parameters: 1 MiB is far above any

PLAN_YEARS = 3  # a Swedish budget cycle: the budget year plus two plan years (Kommunallagen ch. 11)
MAX_AMOUNT = 1e15  # largest money or tonnes amount, as for the city tables (tabular.MAGNITUDE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_bool_as_number(cls, value, info):
        """``discount_rate: false`` is not 0 %: true/false only where a yes/no is asked."""
        if info.field_name and cls.model_fields[info.field_name].annotation is bool:
            return value
        values = value.values() if isinstance(value, dict) else [value]
        if any(isinstance(v, bool) for v in values):
            raise ValueError("must be a number or text, not true or false")
        return value


class Target(_Strict):
    """Territorial target: ``reduction`` (share, 0–1) below ``base_year`` emissions by ``year``."""

    year: int = Field(2030, ge=2000, le=2100)
    reduction: float = Field(0.8, ge=0, le=1)
    base_year: int = Field(1990, ge=1900, le=2100)


class CarbonBudget(_Strict):
    """Remaining budget [t CO2e] from the start of ``from_year``."""

    from_year: int = Field(ge=1990, le=2100)
    tco2e: float = Field(gt=0, le=MAX_AMOUNT)


class MonteCarlo(_Strict):
    """Monte Carlo settings: number of draws, seed and re-selection draws."""

    draws: int = Field(2000, ge=1, le=1_000_000)
    seed: int = 0
    reselect_draws: int = Field(
        200,
        ge=0,
        le=100_000,
        description="draws over which the portfolio is re-optimised to count how often each measure is chosen",
    )


class Scenario(_Strict):
    """One scenario of one budget cycle. Money in the city's currency at its price year."""

    title: str = Field(min_length=1, max_length=300)
    city: Path
    budget_cycle: int = Field(ge=2000, le=2100, description="budget year; plan years are this and the next two")
    discount_rate: float = Field(0.025, ge=-0.05, le=0.5, description="real, per year")
    perspective: Literal["municipal", "societal"] = "municipal"
    carbon_value_per_tco2e: float = Field(
        0.0, ge=0, le=MAX_AMOUNT, description="[currency / t CO2e], societal perspective"
    )
    price_path: str = "base"
    emission_factor_set: str = "nordic_mix"
    discount_abatement: bool = True
    interaction: Literal["independent", "sequential"] = "sequential"
    investment_budget: dict[int, float] = Field(default_factory=dict, description="[currency] per plan year")
    own_funds_cap: dict[int, float] | None = Field(None, description="[currency] per plan year; None = unlimited")
    objective: Literal["max_abatement", "min_cost"] = "max_abatement"
    include_external: bool = Field(True, description="external payers' measures enter the pathway (not the budget)")
    baseline_trend: float = Field(
        0.0, ge=-0.5, le=0.5, description="baseline change per year after the last inventory year (share)"
    )
    reference_year: int | None = Field(None, ge=1990, le=2100, description="MAC curve width year; default target year")
    pathway_end_year: int = Field(2045, ge=2000, le=2100)
    target: Target = Target()
    carbon_budget: CarbonBudget | None = None
    monte_carlo: MonteCarlo | None = None
    solver_time_limit_s: float = Field(20.0, gt=0, le=3600)
    notes: str = ""
    language: Literal["sv", "en"] | None = Field(
        None, description="language of the reports; default sv for a city with country SE, else en"
    )

    # Set by the loader, not by users: where the file came from.
    source_file: Path | None = Field(None, exclude=True)

    @property
    def plan_years(self) -> list[int]:
        """The budget year and the two plan years."""
        return [self.budget_cycle + i for i in range(PLAN_YEARS)]

    @property
    def macc_year(self) -> int:
        """The year the MAC curve is drawn for: ``reference_year``, else the target year."""
        return self.reference_year or self.target.year

    @model_validator(mode="after")
    def _years_inside_cycle(self) -> Scenario:
        plan = self.plan_years
        for name in ("investment_budget", "own_funds_cap"):
            for year, amount in (getattr(self, name) or {}).items():
                if year not in plan:
                    raise ValueError(f"{name}: year {year} is outside the budget cycle {plan[0]}–{plan[-1]}")
                if not amount >= 0:
                    raise ValueError(f"{name}.{year}: must be ≥ 0, got {amount}")
                if amount > MAX_AMOUNT:
                    raise ValueError(f"{name}.{year}: must be at most {MAX_AMOUNT:g}, got {amount:g}")
        if self.investment_budget and (gone := [y for y in plan if y not in self.investment_budget]):
            raise ValueError(f"investment_budget: has no amount for {', '.join(map(str, gone))}: give every "
                             f"plan year {plan[0]}–{plan[-1]} an amount (0 for a year without budget), or "
                             "leave investment_budget out for no budget limit")
        if self.target.base_year >= self.target.year:
            raise ValueError(f"target.base_year: must be before target.year ({self.target.year}), "
                             f"got {self.target.base_year}")
        if self.pathway_end_year < self.target.year:
            raise ValueError(f"pathway_end_year: must not be before target.year ({self.target.year}), "
                             f"got {self.pathway_end_year}")
        return self

    def with_changes(self, **changes) -> Scenario:
        """A copy with some parameters changed, validated again (used by the explorer)."""
        data = self.model_dump() | changes
        data["source_file"] = self.source_file
        return Scenario.model_validate(data)


# pydantic error type -> plain English template (values from the error's context)
_PLAIN = {
    "missing": "missing required key",
    "float_parsing": "must be a number", "float_type": "must be a number",
    "int_parsing": "must be a whole number", "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "bool_parsing": "must be true or false", "bool_type": "must be true or false",
    "string_type": "must be text", "path_type": "must be a path (text)",
    "dict_type": "must be a mapping (key: value, ...)",
    "model_type": "must be a mapping of keys to values", "model_attributes_type": "must be a mapping of keys to values",
    "finite_number": "must be a finite number",
    "greater_than_equal": "must be at least {ge}", "greater_than": "must be more than {gt}",
    "less_than_equal": "must be at most {le}", "less_than": "must be less than {lt}",
    "string_too_short": "must have at least {min_length} character(s)",
    "string_too_long": "must have at most {max_length} characters",
    "literal_error": "must be one of {expected}",
}


def _problems(file: str, err: PydanticError) -> list[Problem]:
    """One Problem per pydantic error, in plain words: the key path, the rule and the value given."""
    out = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or None
        value = e.get("input")
        if e["type"] == "extra_forbidden":
            allowed = sorted(_allowed(e["loc"]))
            hint = did_you_mean(e["loc"][-1], allowed)
            msg = f"unknown key{hint}" if hint else f"unknown key (allowed: {', '.join(allowed)})"
            value = None
        elif e["type"] == "value_error":
            msg = str(e.get("ctx", {}).get("error", e["msg"]))
            if key is None and ": " in msg:  # a check across keys names its key first
                key, msg = msg.split(": ", 1)
        else:
            ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (e.get("ctx") or {}).items()}
            template = _PLAIN.get(e["type"])
            msg = template.format(**ctx) if template else e["msg"][0].lower() + e["msg"][1:]
            if e["type"] == "literal_error":
                msg += did_you_mean(value, [w.strip(" '") for w in str(ctx.get("expected", "")).split(" or ")
                                            for w in w.split(",")])
        if value is not None and not isinstance(value, dict | list) and e["type"] != "missing":
            msg += f", got {value!r}"
        out.append(Problem(file=file, column=key, message=msg, value=value, where="key"))
    return out


def _allowed(loc: tuple) -> set[str]:
    model: type[BaseModel] = Scenario
    for part in loc[:-1]:
        field = model.model_fields.get(str(part))
        ann = getattr(field, "annotation", None) if field else None
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if not inner:
            break
        model = inner[0]
    return {k for k in model.model_fields if k != "source_file"}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file; ``city`` is resolved relative to the file.

    Raises ``ValidationError`` listing every problem (file, key, value, rule).
    """
    path = Path(path)
    name = str(path)
    try:
        raw = load_yaml(read_input(path, name, MAX_SCENARIO_BYTES).decode("utf-8"))
    except UnicodeDecodeError as e:
        raise ValidationError(Problem(file=name, message=f"not UTF-8 text ({e.reason} at byte {e.start})")) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValidationError(Problem(file=name, message=f"not valid YAML{line}: {getattr(e, 'problem', e)}")) from None
    except YamlLimit as e:
        raise ValidationError(Problem(file=name, message=str(e))) from None
    except ValidationError:
        raise
    except (ValueError, RecursionError) as e:  # an integer of > 4300 digits, nesting too deep
        raise ValidationError(Problem(file=name, message=f"not valid YAML: {e}")) from None
    if not isinstance(raw, dict):
        raise ValidationError(Problem(file=name, message="must be a mapping of keys to values (title: ..., city: ...)"))
    raw = {str(k): v for k, v in raw.items()}
    if "source_file" in raw:
        raise ValidationError(Problem(file=name, column="source_file", message="unknown key", where="key"))
    try:
        scenario = Scenario.model_validate(raw)
    except PydanticError as e:
        raise ValidationError(_problems(name, e)) from None
    city = scenario.city if scenario.city.is_absolute() else (path.parent / scenario.city)
    try:
        city = Path(city).resolve()
    except (OSError, ValueError) as e:  # e.g. an embedded NUL character
        raise ValidationError(
            Problem(file=name, column="city", value=str(scenario.city), message=f"not a usable path ({e})",
                    where="key")
        ) from None
    return scenario.model_copy(update={"city": city, "source_file": path.resolve()})

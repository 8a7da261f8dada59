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
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticError

from climateinvest.io.errors import Problem, ValidationError
from climateinvest.io.tabular import load_yaml

PLAN_YEARS = 3  # a Swedish budget cycle: the budget year plus two plan years (Kommunallagen ch. 11)
MAX_AMOUNT = 1e15  # largest money or tonnes amount, as for the city tables (tabular.MAGNITUDE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


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
    # The next cycle starts from where the city stands (climateinvest.followup): the plan adopted
    # in an earlier cycle (``climateinvest adopt``) and its follow-up table, both relative to this file.
    adopted_plan: Path | None = Field(None, description="plans/<cycle>.yaml written by climateinvest adopt")
    followup: Path | None = Field(None, description="followup/<year>.csv: status per measure and period")

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
                    raise ValueError(f"{name}: {year} must be ≥ 0, got {amount}")
                if amount > MAX_AMOUNT:
                    raise ValueError(f"{name}: {year} must be at most {MAX_AMOUNT:g}, got {amount:g}")
        if self.target.base_year >= self.target.year:
            raise ValueError(f"target.base_year {self.target.base_year} must be before target.year {self.target.year}")
        if self.pathway_end_year < self.target.year:
            raise ValueError("pathway_end_year must not be before target.year")
        if (self.adopted_plan is None) != (self.followup is None):
            raise ValueError("adopted_plan and followup go together: name both or neither")
        if self.followup is not None and self.monte_carlo is not None:
            raise ValueError("monte_carlo is not available for a cycle built on a follow-up "
                             "(the carried measures are not drawn); remove monte_carlo or followup")
        return self

    def with_changes(self, **changes) -> Scenario:
        """A copy with some parameters changed, validated again (used by the explorer)."""
        data = self.model_dump() | changes
        data["source_file"] = self.source_file
        return Scenario.model_validate(data)


def _problems(file: str, err: PydanticError) -> list[Problem]:
    """One Problem per pydantic error: the key path, the rule and the value given."""
    out = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or None
        if e["type"] == "extra_forbidden":
            msg = "unknown key (allowed: " + ", ".join(sorted(_allowed(e["loc"]))) + ")"
        elif isinstance(e.get("input"), dict):
            msg = e["msg"]
        else:
            msg = f"{e['msg']}, got {e['input']!r}"
        out.append(Problem(file=file, column=key, message=msg, value=e.get("input")))
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
        raw = load_yaml(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(Problem(file=name, message="file not found")) from None
    except UnicodeDecodeError as e:
        raise ValidationError(Problem(file=name, message=f"not UTF-8 text ({e.reason} at byte {e.start})")) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValidationError(Problem(file=name, message=f"not valid YAML{line}: {getattr(e, 'problem', e)}")) from None
    except (ValueError, RecursionError) as e:  # an integer of > 4300 digits, nesting too deep
        raise ValidationError(Problem(file=name, message=f"not valid YAML: {type(e).__name__}: {e}")) from None
    except OSError as e:
        raise ValidationError(Problem(file=name, message=f"cannot be read: {e.strerror}")) from None
    if not isinstance(raw, dict):
        raise ValidationError(Problem(file=name, message="must be a mapping of keys to values (title: ..., city: ...)"))
    raw = {str(k): v for k, v in raw.items()}
    if "source_file" in raw:
        raise ValidationError(Problem(file=name, column="source_file", message="unknown key"))
    try:
        scenario = Scenario.model_validate(raw)
    except PydanticError as e:
        raise ValidationError(_problems(name, e)) from None
    city = scenario.city if scenario.city.is_absolute() else (path.parent / scenario.city)
    try:
        city = Path(city).resolve()
    except (OSError, ValueError) as e:  # e.g. an embedded NUL character
        raise ValidationError(
            Problem(file=name, column="city", value=str(scenario.city), message=f"not a usable path ({e})")
        ) from None
    update = {"city": city, "source_file": path.resolve()}
    for key in ("adopted_plan", "followup"):
        given = getattr(scenario, key)
        if given is not None:
            update[key] = (given if given.is_absolute() else path.parent / given).resolve()
    return scenario.model_copy(update=update)

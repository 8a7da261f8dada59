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

from climateinvest.io.errors import MESSAGES, Problem, ValidationError, did_you_mean, render
from climateinvest.io.files import read_input
from climateinvest.io.tabular import YamlLimit, load_yaml

MAX_SCENARIO_BYTES = 1 * 2**20  # a scenario file is a page of parameters: 1 MiB is far above any

# SKR's suggested internal rate (internränta), NOMINAL, per budget year. SKR publishes it each
# February for the year after next (Kommuninvest's sector borrowing cost, internräntekommittén).
# 2017-2019: SKL "Arkiv Finansfrågor" (2019: 1.5 %, "sänkning med 0,25 procentenheter jämfört med
# 2017 respektive 2018"); 2020: SKR cirkulär "Internränta för år 2020" (2019-02-01); 2021: stated
# as the 2021 level in the 2022 notice; 2022: "Internräntan för 2022 sänks" (cirkulär 21:11);
# 2023: "Internräntan för 2023 höjs" (cirkulär 22:05); 2024: "Internräntan för 2024 höjs"
# (2023-02-09); 2025: SKR cirkulär "Internränta för år 2025" (2024-02). 2026 and later: not found.
SKR_INTERNRANTA = {2017: 0.0175, 2018: 0.0175, 2019: 0.015, 2020: 0.015, 2021: 0.0125, 2022: 0.010,
                   2023: 0.0125, 2024: 0.025, 2025: 0.025}
# Riksbanken: "Riksbankens mål är att hålla inflationen mätt med KPIF kring 2 procent per år"
# (riksbank.se/sv/Penningpolitik; KPIF the target variable since September 2017).
RIKSBANK_INFLATION_TARGET = 0.02
# Trafikverket ASEK 7.0 ch. 5: the social discount rate, 3.5 % REAL (in force since ASEK 6.0).
ASEK_REAL_RATE = 0.035
# ASEK: skattefaktor (marginal cost of public funds) on tax-financed money.
ASEK_TAX_FACTOR = 1.3


def fisher_real_rate(nominal: float, inflation: float) -> float:
    """[1/year] real rate from a nominal rate and inflation (Fisher): (1 + n) ÷ (1 + i) − 1.

    >>> round(fisher_real_rate(0.025, 0.02), 6)
    0.004902
    """
    return (1.0 + nominal) / (1.0 + inflation) - 1.0


def skr_internranta(year: int) -> tuple[float, str]:
    """SKR's internränta [1/year, nominal] for budget ``year`` and a note: empty when the year is
    in :data:`SKR_INTERNRANTA`, else it names the year and the latest year used instead.
    """
    if year in SKR_INTERNRANTA:
        return SKR_INTERNRANTA[year], ""
    known = sorted(SKR_INTERNRANTA)
    use = known[-1] if year > known[-1] else known[0]
    rate = SKR_INTERNRANTA[use]
    return rate, (f"SKR internränta for {year} not found (table {known[0]}–{known[-1]}): "
                  f"{use}'s {rate:.2%} is used")


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
    basis: Literal["fossil_co2", "co2e"] = Field(
        "fossil_co2", description="what the budget counts: fossil CO2 only (Klimatkollen's) or all GHG")


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
    reselect_method: Literal["greedy", "exact"] = Field(
        "greedy", description="how a draw's portfolio is chosen: exact (the portfolio's MILP, proven optimal "
        "within its gap, about 0.1 s a draw on two cores) or greedy (fund down the draw's MAC curve, a fast "
        "approximation)")


class Scenario(_Strict):
    """One scenario of one budget cycle. Money in the city's currency at its price year."""

    title: str = Field(min_length=1, max_length=300)
    city: Path
    budget_cycle: int = Field(ge=2000, le=2100, description="budget year; plan years are this and the next two")
    discount_rate: float | None = Field(
        None, ge=-0.05, le=0.5,
        description="per year, of the basis ``rate_basis``; None = SKR internränta of the budget year "
        "(nominal) in the municipal perspective, ASEK's 3.5 % real in the societal one")
    rate_basis: Literal["nominal", "real"] = Field(
        "nominal", description="whether a given discount_rate is nominal (made real with Fisher) or real")
    inflation: float = Field(RIKSBANK_INFLATION_TARGET, ge=-0.05, le=0.5,
                             description="per year (KPIF); Riksbank target 2 %")
    internal_rate: float | None = Field(
        None, ge=-0.05, le=0.5, description="internränta, nominal per year; None = SKR's for the budget year")
    internal_interest_basis: Literal["net", "gross"] = Field(
        "net", description="internränta on book value net of grants, or gross (RKR R2: grant as a liability)")
    loan_term: Literal["asset_life", "source_term"] = Field(
        "asset_life", description="a loan runs the financed asset's life, capped by term_years; or term_years")
    tax_factor: float = Field(1.0, ge=1.0, le=3.0, description="skattefaktor on public money, societal (ASEK 1.3)")
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
    tie_break: Literal["equal_tonnes", "any_portfolio"] = Field(
        "equal_tonnes", description="max_abatement's second stage, the cheapest portfolio among those that "
        "abate the most: equal_tonnes among those abating the first stage's tonnes measure for measure (a start "
        "year or another measure of equal tonnes may stand in, measures without territorial tonnes free); "
        "any_portfolio among every portfolio holding the tonnes (slower)")
    # A finance officer's levers on the portfolio (the explorer writes them; checked against the
    # city's measures by io.city.check_scenario)
    measures_in: list[str] = Field(default_factory=list, description="measure ids the portfolio must contain")
    measures_out: list[str] = Field(default_factory=list, description="measure ids the portfolio must not contain")
    start_years: dict[str, int] = Field(
        default_factory=dict, description="measure id → the plan year it starts in when chosen")
    grants: bool = Field(True, description="false: no grant at all (every funding source of kind grant left out)")
    include_external: bool = Field(True, description="external payers' measures enter the pathway (not the budget)")
    baseline: Literal["flat", "projection"] = Field(
        "flat", description="after the last inventory year: flat (held, or changed by baseline_trend), or "
        "projection (with existing measures: the city's baseline_projection.csv factors per sector)")
    baseline_trend: float = Field(
        0.0, ge=-0.5, le=0.5, description="baseline change per year after the last inventory year (share; flat only)"
    )
    reference_year: int | None = Field(None, ge=1990, le=2100, description="MAC curve width year; default target year")
    pathway_end_year: int = Field(2045, ge=2000, le=2100)
    target: Target = Target()
    municipal_target: Target | None = Field(
        None, description="the municipal group's own emissions (municipal_inventory.csv): reduction below base_year "
        "by year; none: that scope is shown without a target")
    carbon_budget: CarbonBudget | None = None
    monte_carlo: MonteCarlo | None = None
    solver_time_limit_s: float = Field(20.0, gt=0, le=3600)
    notes: str = ""
    language: Literal["sv", "en"] | None = Field(
        None, description="language of the reports; default sv for a city with country SE, else en"
    )
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
    def real_rate(self) -> float:
        """[1/year] the real rate every real (price-year) cash flow is discounted with."""
        if self.discount_rate is None:
            if self.perspective == "societal":
                return ASEK_REAL_RATE
            return fisher_real_rate(skr_internranta(self.budget_cycle)[0], self.inflation)
        if self.rate_basis == "real":
            return float(self.discount_rate)
        return fisher_real_rate(float(self.discount_rate), self.inflation)

    @property
    def internal_rate_used(self) -> float:
        """[1/year, nominal] the internränta of the operating-budget impact."""
        return float(self.internal_rate if self.internal_rate is not None
                     else skr_internranta(self.budget_cycle)[0])

    def rate_notes(self) -> list[str]:
        """Warnings about the rates: a year missing from the SKR table."""
        uses_table = self.internal_rate is None or (self.discount_rate is None and self.perspective == "municipal")
        note = skr_internranta(self.budget_cycle)[1] if uses_table else ""
        return [note] if note else []

    def rate_statement(self) -> str:
        """One line: which rate discounts which flows."""
        if self.discount_rate is None and self.perspective == "societal":
            given = f"ASEK's social rate {ASEK_REAL_RATE:.1%} real"
        elif self.discount_rate is None:
            given = f"SKR internränta {skr_internranta(self.budget_cycle)[0]:.2%} nominal"
        else:
            given = f"{self.discount_rate:.2%} {self.rate_basis}"
        how = "" if given.endswith("real") else f", made real with Fisher at {self.inflation:.1%} inflation"
        return (f"{given}{how}: {self.real_rate:.4%} real discounts the real (price-year) cash flows "
                "of the appraisal, MAC curve and portfolio")

    def conventions(self, price_year: int, currency: str) -> dict[str, str]:
        """One line per convention of this run, for the report (plain data); money words name the
        city's ``currency`` (e.g. "SEK", "EUR").
        """
        rate = self.rate_statement()
        given = "inflation" in self.model_fields_set
        source = "as given in the scenario" if given else "default: the Riksbank's KPIF target 2 %"
        internal = f"{self.internal_rate_used:.2%} nominal"
        budget = self.carbon_budget.basis if self.carbon_budget else None
        return {
            "rate_basis": rate,
            "real_rate": f"{self.real_rate:.4%} real a year",
            "inflation": (f"{self.inflation:.1%} a year ({source}): cash flows in {price_year} {currency} "
                          f"(real); debt service, book value and operating-budget impact in nominal {currency} "
                          "of each year"),
            "perspective": {
                "municipal": ("municipal: the municipal group's money only (municipality and municipal companies: "
                              "investment net of the grants, one-off operating costs, running costs net of fees, "
                              "the energy they buy); residents', businesses' and external investors' money is not "
                              "counted"),
                "societal": (f"societal (ASEK): resources — full investment (grants are transfers), energy at prices "
                             f"without energy and CO2 tax, fees as transfers, the carbon value "
                             f"{self.carbon_value_per_tco2e:,.0f} per t added once, skattefaktor "
                             f"{self.tax_factor:g} on public money"),
            }[self.perspective],
            "grant_basis": ("grants as the financing plan allocates them (max_share and annual_cap per year), "
                            "selection and allocation iterated to a fixed point; a measure not chosen shows its "
                            "lone-candidate grant (column grant_basis); a grant whose rule was not found is shown "
                            "as uncertain and not counted"),
            "loan_term": {"asset_life": "a loan runs the financed asset's life, capped by the source's term_years "
                                        "(amortisation follows depreciation)",
                          "source_term": "a loan runs the source's term_years"}[self.loan_term],
            "internranta": (f"internränta {internal} on the book value "
                            + ("net of grants" if self.internal_interest_basis == "net" else
                               "gross (RKR R2: the grant a liability released over the life)")
                            + ", charged to the kommun's tax-financed budget; municipal companies carry their "
                              "loans' actual interest"),
            "factor_basis": ("territorial tonnes (toward the target): fuels at the tailpipe as SMHI's inventory "
                             f"counts them, electricity with factor set {self.emission_factor_set}; life-cycle tonnes "
                             "shown beside (consumption view)"),
            "carbon_budget": ("none" if budget is None else
                              "Klimatkollen's budget is fossil CO2 only; the pathway is all greenhouse gases (CO2e): "
                              "an indicator, not a like-for-like comparison" if budget == "fossil_co2" else
                              "the budget is in CO2e, like the pathway"),
            "warnings": "; ".join(self.rate_notes()) or "none",
        }

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
        both = sorted(set(self.measures_in) & set(self.measures_out))
        if both:
            raise ValueError(f"measures_out: {', '.join(both)} also in measures_in; a measure is forced in or out, "
                             "not both")
        for mid, year in self.start_years.items():
            if year not in plan:
                raise ValueError(f"start_years.{mid}: must be a plan year {plan[0]}–{plan[-1]}, got {year}")
            if mid in self.measures_out:
                raise ValueError(f"start_years.{mid}: the measure is in measures_out; a start year applies to a "
                                 "measure the portfolio may choose")
        if self.target.base_year >= self.target.year:
            raise ValueError(f"target.base_year: must be before target.year ({self.target.year}), "
                             f"got {self.target.base_year}")
        if self.pathway_end_year < self.target.year:
            raise ValueError(f"pathway_end_year: must not be before target.year ({self.target.year}), "
                             f"got {self.pathway_end_year}")
        if (self.adopted_plan is None) != (self.followup is None):
            raise ValueError("adopted_plan and followup go together: name both or neither")
        if self.followup is not None and self.monte_carlo is not None:
            raise ValueError("monte_carlo is not available for a cycle built on a follow-up "
                             "(the carried measures are not drawn); remove monte_carlo or followup")
        return self

    def with_changes(self, **changes) -> Scenario:
        """A copy with some parameters changed, validated again (used by the explorer).

        Raises :class:`~climateinvest.io.errors.ValidationError` (a ValueError) naming each
        refused key in plain words, as ``load_scenario`` does, never pydantic's own report.
        """
        data = self.model_dump() | changes
        data["source_file"] = self.source_file
        try:
            return Scenario.model_validate(data)
        except PydanticError as e:
            name = self.source_file.name if self.source_file is not None else "scenario"
            raise ValidationError(_problems(name, e)) from None


def _problems(file: str, err: PydanticError) -> list[Problem]:
    """One Problem per pydantic error, in plain words: the key path, the rule and the value given.

    A rule of the catalogue (``key_<pydantic type>`` in :data:`~climateinvest.io.errors.MESSAGES`)
    keeps its code and values, so a report or the explorer says it in its own language.
    """
    out = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or None
        value = e.get("input")
        code, params = None, {}
        if e["type"] == "extra_forbidden":
            allowed = sorted(_allowed(e["loc"]))
            hint = did_you_mean(e["loc"][-1], allowed)
            msg = f"unknown key{hint}" if hint else f"unknown key (allowed: {', '.join(allowed)})"
            value = None
        elif e["type"] == "value_error":
            msg = str(e.get("ctx", {}).get("error", e["msg"]))
            if key is None and ": " in msg:  # a check across keys names its key first
                key, msg = msg.split(": ", 1)
        elif f"key_{e['type']}" in MESSAGES:
            ctx = {k: f"{v:g}" if isinstance(v, float) else v for k, v in (e.get("ctx") or {}).items()}
            words = [w.strip(" '") for w in str(ctx.get("expected", "")).split(" or ") for w in w.split(",")]
            code = f"key_{e['type']}"
            hint = did_you_mean(value, words) if e["type"] == "literal_error" else ""
            params = {**ctx, "hint": hint, "suggest": hint.split("'")[1] if hint.count("'") >= 2 else ""}
            msg = render(code, params)
        else:
            msg = e["msg"][0].lower() + e["msg"][1:]
        if value is not None and not isinstance(value, dict | list) and e["type"] != "missing":
            msg += f", got {value!r}"
        out.append(Problem(file=file, column=key, message=msg, value=value, where="key", code=code, params=params))
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
    update = {"city": city, "source_file": path.resolve()}
    for key in ("adopted_plan", "followup"):
        given = getattr(scenario, key)
        if given is not None:
            update[key] = (given if given.is_absolute() else path.parent / given).resolve()
    return scenario.model_copy(update=update)

"""Reading and validating inputs: the city folder or workbook, the scenario file, and safe files.

Everything a run reads comes through here and is checked before any step runs: CSV (Swedish
Excel dialects included), XLSX, YAML, the column specifications and the validator engine, and
the atomic writers every output goes through. Every problem is reported at once with file, row,
column, value and rule (:class:`ValidationError`).
"""
from climateinvest.io.city import CityData, check_against_scenario, factor_table, load_city, price_table, write_city
from climateinvest.io.city_specs import CITY_PAYERS, PAYERS
from climateinvest.io.errors import Problem, ScenarioError, ValidationError
from climateinvest.io.scenario import PLAN_YEARS, Scenario, load_scenario

__all__ = ["CITY_PAYERS", "PAYERS", "PLAN_YEARS", "CityData", "Problem", "Scenario", "ScenarioError",
           "ValidationError", "check_against_scenario", "factor_table", "load_city",
           "load_scenario", "price_table", "write_city"]

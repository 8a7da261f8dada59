"""The typed results: each step's tables are saved, once, and read back as they were written."""
import dataclasses
import warnings

import pandas as pd
import pytest
from conftest import FICTIONAL

import climateinvest as ci
from climateinvest.report.results import load_saved


@pytest.fixture(scope="module")
def result():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ci.run_scenario(FICTIONAL)


def test_every_table_of_every_step_is_saved(result):
    """Each DataFrame field of each step result is a table, unless the step says why not."""
    tables = result.tables()
    for step in result.steps.present():
        for f in dataclasses.fields(step):
            value = getattr(step, f.name)
            if not isinstance(value, pd.DataFrame):
                continue
            saved = [name for name, df in tables.items() if df is value]
            if f.name in step.NOT_SAVED:  # a reference to another table, not a table of its own
                assert f"{step.STEP}_{f.name}" not in tables, (step.STEP, f.name)
            else:
                assert len(saved) == 1, (step.STEP, f.name, saved)
    # tables that the hand-kept list of earlier versions left out
    assert {"portfolio_spending", "financing_budget_impact_by_measure", "financing_sources",
            "pathway_abatement_by_measure"} <= set(tables)


def test_nothing_is_held_twice(result):
    frames = list(result.tables().values())
    assert len({id(df) for df in frames}) == len(frames)
    # the skipped field really is a copy of a saved column
    fin = result.steps.financing
    assert fin.gap_by_year["gap"].tolist() == fin.by_year["financing_gap"].tolist()


def test_main_tables_are_the_step_tables(result):
    s = result.steps
    assert result.macc is s.macc.curve and result.portfolio is s.portfolio.chosen
    assert result.financing is s.financing.by_year and result.pathway is s.pathway.table
    assert result.uncertainty is s.uncertainty.measures
    # one entry per step (the Investment Plan tables too, issue 15), plus (issue 11) the grant
    # fixed point's status and the run's conventions
    assert set(result.summary) == {"macc", "portfolio", "financing", "pathway", "uncertainty",
                                   "investment_plan", "grants", "conventions"}
    assert result.summary["grants"] == result.grant_rounds and result.summary["grants"]["converged"]
    assert result.summary["portfolio"]["n_measures"] == len(result.portfolio)


def test_saved_folder_reads_back_every_table(result, tmp_path):
    out = result.save(tmp_path / "out")
    saved = load_saved(out)
    assert set(saved.tables()) == set(result.tables())
    for name, df in result.tables().items():
        back = saved.tables()[name]
        assert list(back.columns) == list(df.columns), name
        assert len(back) == len(df), name
    assert saved.summary["portfolio"]["n_measures"] == result.summary["portfolio"]["n_measures"]

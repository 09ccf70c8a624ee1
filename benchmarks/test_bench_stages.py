"""Speed of each stage of the deterministic baseline, warm (pytest-benchmark).

Each stage is timed on the Dataset the previous stages produced, so the figures add up to
``ssp.run("baseline")`` less loading the scenario.
"""

from __future__ import annotations

import pytest

from socsec_proj.demography.population import project_population
from socsec_proj.inputs.scenario import load_scenario
from socsec_proj.labour.coverage import project_coverage
from socsec_proj.projection import empty_dataset


@pytest.fixture(scope="module")
def scenario():
    return load_scenario("baseline")


@pytest.fixture(scope="module")
def after_population(scenario):
    return project_population(empty_dataset(scenario), scenario)


def test_stage_population(benchmark, scenario):
    benchmark.group = "stages of the baseline, warm"
    start = empty_dataset(scenario)
    project_population(start, scenario)
    ds = benchmark.pedantic(project_population, args=(start, scenario), rounds=20, iterations=1)
    assert "population" in ds


def test_stage_labour(benchmark, scenario, after_population):
    benchmark.group = "stages of the baseline, warm"
    project_coverage(after_population, scenario)
    ds = benchmark.pedantic(project_coverage, args=(after_population, scenario), rounds=20, iterations=1)
    assert "employee_pension_contributors" in ds


@pytest.fixture(scope="module")
def after_labour(scenario, after_population):
    return project_coverage(after_population, scenario)


def test_stage_funds(benchmark, scenario, after_labour):
    from socsec_proj.funds.employee_pension import project_employee_pension
    from socsec_proj.funds.resident_pension import project_resident_pension

    def funds(ds):
        return project_resident_pension(project_employee_pension(ds, scenario), scenario)

    benchmark.group = "stages of the baseline, warm"
    funds(after_labour)
    ds = benchmark.pedantic(funds, args=(after_labour,), rounds=20, iterations=1)
    assert "employee_pension_balance" in ds

"""Speed of the population stage (pytest-benchmark): the kernel against its numpy reference.

Run: ``python -m pytest benchmarks --benchmark-only`` (see benchmarks/README.md).
31 provinces x 2 sexes x 101 ages x 77 years (2024-2100), for 1, 100 and 1000 independent
input sets; totals per (province, sex, year) are kept, not the age cube (1000 cubes would
take 3.9 GB).
"""

from __future__ import annotations

import pytest

import socsec_proj as ssp
from socsec_proj.demography.population import project

from .conftest import set_factors


@pytest.mark.parametrize("n_sets", [1, 100, 1000])
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_population_kernel(benchmark, baseline_inputs, engine, n_sets):
    benchmark.group = f"population kernel, {n_sets} set(s)"
    factors = set_factors(n_sets, len(baseline_inputs.years) - 1)
    project(baseline_inputs, keep_cube=False, engine=engine, **factors)  # compile / warm caches
    rounds = 1 if engine == "numpy" and n_sets >= 100 else 5
    result = benchmark.pedantic(project, args=(baseline_inputs,),
                                kwargs=dict(keep_cube=False, engine=engine, validate=False, **factors),
                                rounds=rounds, iterations=1)
    assert result["population"].shape == (n_sets, 77, 31, 2)


def test_run_baseline_population_only(benchmark):
    from socsec_proj.demography.population import project_population

    benchmark.group = "ssp.run('baseline'), warm"
    ssp.run("baseline", stages=[project_population])
    ds = benchmark.pedantic(ssp.run, args=("baseline",), kwargs={"stages": [project_population]},
                            rounds=10, iterations=1)
    assert ds["population"].sizes["year"] == 81


def test_run_baseline_all_stages(benchmark):
    benchmark.group = "ssp.run('baseline'), warm"
    ssp.run("baseline")
    ds = benchmark.pedantic(ssp.run, args=("baseline",), rounds=10, iterations=1)
    assert "employee_pension_balance" in ds

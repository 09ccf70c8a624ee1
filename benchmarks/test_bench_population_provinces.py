"""Speed of the provincial demography (issue #12): the stage's inputs with and without its life tables.

Each of the 31 provinces has its own mortality by sex and age, so the population stage forms
31 x 2 x 81 life tables; ``prepare_inputs`` keeps the last few sets of them (keyed by the
mortality parameters), and these benchmarks time it both ways. ``test_run_baseline_population_only``
in ``test_bench_population.py`` is the stage as a user runs it (warm).
"""

from __future__ import annotations

import numpy as np

from socsec_proj.demography import population
from socsec_proj.inputs.scenario import load_scenario

YEARS = np.arange(2020, 2101)


def _cold(parameters):
    population._LIFE_TABLES.clear()
    return population.prepare_inputs(parameters, YEARS)


def test_prepare_inputs_with_life_tables(benchmark):
    benchmark.group = "population inputs, 31 provinces, 2020-2100"
    parameters = load_scenario("baseline").parameters
    inputs = benchmark.pedantic(_cold, args=(parameters,), rounds=10, iterations=1)
    assert inputs.survival.shape == (80, 31, 2, 101)


def test_prepare_inputs_life_tables_kept(benchmark):
    benchmark.group = "population inputs, 31 provinces, 2020-2100"
    parameters = load_scenario("baseline").parameters
    population.prepare_inputs(parameters, YEARS)
    inputs = benchmark.pedantic(population.prepare_inputs, args=(parameters, YEARS), rounds=10, iterations=1)
    assert inputs.life_expectancy.shape == (81, 31, 2)

"""Shared inputs of the benchmarks: the baseline's real population inputs, 2024-2100."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def baseline_inputs():
    from socsec_proj.demography.population import prepare_inputs
    from socsec_proj.inputs.scenario import load_scenario

    # 77 population years, 76 steps: the 2024-2100 window the issues benchmark
    return prepare_inputs(load_scenario("baseline").parameters, np.arange(2024, 2101))


def set_factors(n_sets: int, n_steps: int, seed: int = 0) -> dict:
    """Independent input sets: per-set, per-year multipliers of mortality, fertility and migration."""
    rng = np.random.default_rng(seed)
    return {name: rng.lognormal(0.0, 0.05, size=(n_sets, n_steps))
            for name in ("mortality_factor", "fertility_factor", "migration_factor")}

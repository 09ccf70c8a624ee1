"""Random but valid population-kernel inputs, shared by the kernel tests and benchmarks."""

from __future__ import annotations

import numpy as np

from socsec_proj.demography.population import PopulationInputs


def random_inputs(rng: np.random.Generator, n_prov=3, n_age=8, n_steps=4, zero=False) -> PopulationInputs:
    """A small :class:`PopulationInputs` with random valid values (or all rates zero)."""
    provinces = tuple(f"P{p}" for p in range(n_prov))
    shape = (n_steps, n_prov, 2, n_age)
    in_share = rng.dirichlet(np.ones(n_prov), size=n_steps)
    fertility = rng.uniform(0.0, 0.2, size=(n_steps, n_prov, n_age))
    fertility[:, :, :1] = 0.0
    return PopulationInputs(
        years=np.arange(2020, 2021 + n_steps),
        provinces=provinces,
        pop0=rng.uniform(0.0, 1e5, size=(n_prov, 2, n_age)),
        survival=np.ones(shape) if zero else rng.uniform(0.5, 1.0, size=shape),
        birth_survival=np.ones((n_steps, n_prov, 2)) if zero else rng.uniform(0.9, 1.0, size=(n_steps, n_prov, 2)),
        fertility=np.zeros_like(fertility) if zero else fertility,
        male_birth_share=rng.uniform(0.45, 0.55, size=(n_steps, n_prov)),
        out_rate=np.zeros(shape) if zero else rng.uniform(0.0, 0.05, size=shape),
        in_share=in_share,
        international=np.zeros((n_steps, 2, n_age)) if zero else rng.normal(0.0, 100.0, size=(n_steps, 2, n_age)),
        mx=np.zeros((n_steps + 1, n_prov, 2, n_age)),
        tfr=np.zeros((n_steps + 1, n_prov)),
    )

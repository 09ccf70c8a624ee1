"""The cohort-component kernel: equal to its numpy reference, and the accounting it must keep."""

from __future__ import annotations

import dataclasses

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from socsec_proj.demography import _kernels
from socsec_proj.demography.population import project

from .helpers import random_inputs

dims = st.tuples(st.integers(1, 5), st.integers(2, 12), st.integers(1, 6), st.integers(1, 3), st.integers(0, 2**32 - 1))


@settings(deadline=None, max_examples=60)
@given(dims)
def test_kernel_equals_numpy_reference(shape):
    n_prov, n_age, n_steps, n_sets, seed = shape
    rng = np.random.default_rng(seed)
    inputs = random_inputs(rng, n_prov, n_age, n_steps)
    factors = {name: rng.uniform(0.5, 1.5, size=(n_sets, n_steps))
               for name in ("mortality_factor", "fertility_factor", "migration_factor")}
    weights = rng.uniform(0, 1, size=(2, n_steps + 1, n_prov, 2, n_age))
    weights[0, ..., : n_age // 2] = 0.0  # the kernel sums only where a weight is not zero
    weights[1, :, :, 1, n_age // 2:] = 0.0  # ... for each sex
    if seed % 2:
        weights = weights.astype(np.float32)  # single-precision weights are kept as they are
    fast = project(inputs, engine="numba", weights=weights, **factors)
    slow = project(inputs, engine="numpy", weights=weights, **factors)
    # the weighted totals are the weights times the population cube, summed over sex and age
    np.testing.assert_allclose(fast["weighted"], np.einsum("ktpsa,ntpsa->ntpk", weights, fast["population_cube"]),
                               rtol=1e-12)
    assert fast.keys() == slow.keys()
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, atol=1e-9, err_msg=name)
    # what a stochastic run asks for: totals and weighted sums only, the same numbers
    for engine, full in (("numba", fast), ("numpy", slow)):
        lean = project(inputs, engine=engine, weights=weights, keep_cube=False, keep_flows=False, **factors)
        assert lean.keys() == {"population", "weighted"}
        for name in lean:
            np.testing.assert_array_equal(lean[name], full[name], err_msg=f"{engine} {name}")


@settings(deadline=None, max_examples=40)
@given(dims)
def test_accounting_identity(shape):
    """population(t+1) = population(t) - deaths + births + net migration, per province and sex."""
    n_prov, n_age, n_steps, n_sets, seed = shape
    inputs = random_inputs(np.random.default_rng(seed), n_prov, n_age, n_steps)
    out = project(inputs)
    pop = out["population"]
    expected = pop[:, :-1] - out["deaths"] + out["births"] + out["net_migration"]
    np.testing.assert_allclose(pop[:, 1:], expected, rtol=1e-9)
    # the totals are the sums of the cube
    np.testing.assert_allclose(out["population_cube"].sum(axis=-1), pop, rtol=1e-12)
    np.testing.assert_allclose(out["migration_cube"].sum(axis=-1), out["net_migration"], rtol=1e-9, atol=1e-6)


def test_inter_provincial_migration_sums_to_zero_nationally():
    inputs = random_inputs(np.random.default_rng(1), 5, 10, 6)
    inputs.international[:] = 0.0
    out = project(inputs)
    np.testing.assert_allclose(out["net_migration"].sum(axis=2), 0.0, atol=1e-6)
    assert np.abs(out["net_migration"]).max() > 1.0  # migration did happen


def test_no_mortality_fertility_or_migration_only_ages():
    inputs = random_inputs(np.random.default_rng(2), 3, 6, 8, zero=True)
    out = project(inputs)
    cube = out["population_cube"][0]
    pop0 = inputs.pop0
    for t in range(1, 9):
        expected = np.zeros_like(pop0)
        for age in range(5):
            if age - t >= 0:
                expected[..., age] = pop0[..., age - t]
        expected[..., 5] = pop0[..., max(5 - t, 0):].sum(axis=-1)  # the open group keeps everyone
        np.testing.assert_allclose(cube[t], expected, rtol=1e-12, err_msg=f"step {t}")
    assert np.all(out["births"] == 0) and np.all(out["deaths"] == 0)


def test_open_age_group_hand_computed():
    """Two ages, one step, no births or migration: hand-computed survivors."""
    inputs = random_inputs(np.random.default_rng(3), 1, 2, 1, zero=True)
    inputs.pop0[:] = np.array([[[100.0, 50.0], [80.0, 20.0]]])
    inputs.survival[0, 0] = [[0.9, 0.6], [0.95, 0.7]]
    out = project(inputs)
    # age 0 -> open group 1+: 100*0.9 + 50*0.6 = 120 (men); 80*0.95 + 20*0.7 = 90 (women)
    np.testing.assert_allclose(out["population_cube"][0, 1, 0], [[0.0, 120.0], [0.0, 90.0]])
    np.testing.assert_allclose(out["deaths"][0, 0, 0], [30.0, 10.0])


def test_births_hand_computed():
    """One province, ages 0..2, fertility only at age 1: births = f x mean(women at start, end)."""
    inputs = random_inputs(np.random.default_rng(4), 1, 3, 1, zero=True)
    inputs.pop0[:] = np.array([[[0.0, 0.0, 0.0], [40.0, 60.0, 10.0]]])
    inputs.survival[:] = 0.5
    inputs.fertility[0, 0] = [0.0, 0.2, 0.0]
    inputs.male_birth_share[:] = 0.5
    inputs.birth_survival[:] = 0.9
    out = project(inputs)
    # women aged 1: 60 at the start, 40*0.5 = 20 at the end -> exposure 40, births 0.2*40 = 8
    np.testing.assert_allclose(out["births"][0, 0, 0], [4.0, 4.0])
    np.testing.assert_allclose(out["population_cube"][0, 1, 0, :, 0], [3.6, 3.6])


@settings(deadline=None, max_examples=25)
@given(dims, st.floats(0.1, 10.0))
def test_scaling_base_population_scales_every_count(shape, factor):
    n_prov, n_age, n_steps, _, seed = shape
    inputs = random_inputs(np.random.default_rng(seed), n_prov, n_age, n_steps)
    inputs.international[:] = 0.0  # absolute migrant numbers do not scale with the population
    base = project(inputs)
    scaled = project(dataclasses.replace(inputs, pop0=inputs.pop0 * factor))
    for name in base:
        np.testing.assert_allclose(scaled[name], base[name] * factor, rtol=1e-10, atol=1e-8, err_msg=name)


@settings(deadline=None, max_examples=25)
@given(dims)
def test_province_order_does_not_change_results(shape):
    n_prov, n_age, n_steps, _, seed = shape
    rng = np.random.default_rng(seed)
    inputs = random_inputs(rng, n_prov, n_age, n_steps)
    order = rng.permutation(n_prov)
    permuted = dataclasses.replace(
        inputs,
        provinces=tuple(inputs.provinces[i] for i in order),
        pop0=inputs.pop0[order],
        survival=inputs.survival[:, order],
        birth_survival=inputs.birth_survival[:, order],
        fertility=inputs.fertility[:, order],
        male_birth_share=inputs.male_birth_share[:, order],
        out_rate=inputs.out_rate[:, order],
        in_share=inputs.in_share[:, order],
        mx=inputs.mx[:, order],
        tfr=inputs.tfr[:, order],
    )
    base, moved = project(inputs), project(permuted)
    for name in base:  # axis 2 is the province axis of every output
        np.testing.assert_allclose(moved[name], base[name][:, :, order], rtol=1e-12, atol=1e-9, err_msg=name)


def test_blocks_spread_sets_evenly_over_threads():
    assert _kernels.SETS_PER_BLOCK == 32
    assert _kernels.block_count(1000, 2) == 32   # 31 or 32 sets each, 500 per thread
    assert _kernels.block_count(100, 2) == 4     # 25 each, two blocks per thread
    assert _kernels.block_count(1000, 1) == 32   # a dask worker: one thread
    assert _kernels.block_count(3, 2) == 2       # fewer sets than a block: one block per thread
    assert _kernels.block_count(1, 8) == 1       # the deterministic run: never an empty block
    assert _kernels.block_count(0, 2) == 1
    for n_sets, n_blocks in ((1000, 32), (100, 4), (3, 2), (7, 7)):
        sizes = [(b + 1) * n_sets // n_blocks - b * n_sets // n_blocks for b in range(n_blocks)]
        assert sum(sizes) == n_sets and max(sizes) - min(sizes) <= 1 and min(sizes) >= 1


@settings(deadline=None, max_examples=40)
@given(dims)
def test_shares_by_sex_and_age(shape):
    """In-shares by (step, province, sex, age): kernel = reference, and with no international
    migrants the provinces' net migration adds to zero at every step, sex and age (issue #12)."""
    n_prov, n_age, n_steps, n_sets, seed = shape
    rng = np.random.default_rng(seed)
    inputs = random_inputs(rng, n_prov, n_age, n_steps)
    in_share = np.moveaxis(rng.dirichlet(np.ones(n_prov), size=(n_steps, 2, n_age)), -1, 1)  # (T, P, S, A)
    inputs = dataclasses.replace(inputs, in_share=in_share, international=np.zeros_like(inputs.international))
    factors = {"migration_factor": rng.uniform(0.5, 1.5, size=(n_sets, n_steps))}
    fast = project(inputs, engine="numba", **factors)
    slow = project(inputs, engine="numpy", **factors)
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, atol=1e-9, err_msg=name)
    np.testing.assert_allclose(fast["migration_cube"].sum(axis=2), 0.0, atol=1e-6)
    # a (T, P) share is the same share at every sex and age
    flat = dataclasses.replace(inputs, in_share=in_share[:, :, 0, 0] / in_share[:, :, 0, 0].sum(axis=1, keepdims=True))
    spread = dataclasses.replace(flat, in_share=np.broadcast_to(flat.in_share[:, :, None, None], in_share.shape))
    np.testing.assert_array_equal(project(flat)["population_cube"], project(spread)["population_cube"])

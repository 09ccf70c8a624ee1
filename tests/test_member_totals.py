"""The member cubes' sums over sex and age, added once (``{cube}_total``) and read by every fund
stage and a stochastic run's kept totals: equal to the direct sums, and the same numbers as
when a stage sums the cube itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import socsec_proj as ssp
from socsec_proj import stochastic
from socsec_proj.funds import accounts
from socsec_proj.report import scheme_variables
from socsec_proj.variables import DRAW_CUBE_DTYPE, MEMBER_CUBES, VARIABLES, member_total_name


@pytest.mark.parametrize("cube", MEMBER_CUBES)
def test_declared_total_is_the_cubes_sum(baseline, cube):
    total = baseline[member_total_name(cube)]
    assert total.dims == ("province", "year") and total.attrs["units"] == "persons"
    direct = baseline[cube].sum(["sex", "age"])
    np.testing.assert_allclose(total.values, direct.transpose("province", "year").values, rtol=1e-12)
    assert float(total.sel(year=2024).sum()) > 1e6  # tens of millions of members, not zeros


@pytest.mark.parametrize("cube", MEMBER_CUBES)
def test_member_totals_read_the_total_or_sum_the_same(baseline, cube):
    read = accounts.member_totals(baseline, cube, first=4)
    summed = accounts.member_totals(baseline.drop_vars(member_total_name(cube)), cube, first=4)
    np.testing.assert_array_equal(read, summed)  # the same kernel, so the same bits
    assert read.shape == (1, baseline.sizes["province"], baseline.sizes["year"] - 4)
    read[...] = -1.0  # a copy: the Dataset's total is untouched
    assert float(baseline[member_total_name(cube)].min()) >= 0.0


def test_totals_stay_out_of_the_scheme_tables(baseline):
    # the tables sum each cube over sex and age themselves: the total would be the same column twice
    for cube in MEMBER_CUBES:
        assert VARIABLES[member_total_name(cube)].scheme is None
    for scheme in ("employee_pension", "resident_pension"):
        names = scheme_variables(baseline, scheme)
        assert not any(name.endswith("_total") for name in names), names
        assert any(name in MEMBER_CUBES for name in names)


def test_draws_keep_the_declared_totals():
    scenario = ssp.load_scenario("baseline")
    settings_ = stochastic.driver_settings(scenario.parameters, np.arange(2020, 2101))
    paths = stochastic.draw_drivers(settings_, 5, 0, 3, 81)
    ds = stochastic.project_draws(scenario, paths)
    part = stochastic.kept(ds)
    # a chunk's labour stage writes no resident cubes (nothing reads them by age): the stage asked
    # for them on the same Dataset gives them, and the chunk's totals are their sums
    from socsec_proj.labour.coverage import project_coverage

    assert "resident_pension_contributors" not in ds and "resident_pension_beneficiaries" not in ds
    with_cubes = project_coverage(ds, scenario, resident_cubes=True)
    for cube in MEMBER_CUBES:
        # the cubes of draws are single precision (variables.DRAW_CUBE_DTYPE); their sums float64
        assert with_cubes[cube].dtype == DRAW_CUBE_DTYPE
        direct = with_cubes[cube].astype(float).sum(["sex", "age"]).transpose("draw", "province", "year").values
        np.testing.assert_allclose(ds[member_total_name(cube)].transpose("draw", "province", "year").values, direct,
                                   rtol=1e-12)
        np.testing.assert_allclose(part[cube], direct, rtol=1e-12)
    # the draws differ (their own populations), so the totals are each draw's own
    workers = part["employee_pension_contributors"]
    assert not np.allclose(workers[0, :, -1], workers[1, :, -1])


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 20), st.integers(1, 3), st.integers(1, 9), st.integers(0, 8), st.integers(1, 3),
       st.integers(0, 2**32 - 1))
def test_weighted_totals_kernel_equals_numpy(n_rows, n_sex, n_years, first, n_weights, seed):
    """Every weighting of a cube in one pass (the unemployment entrants and their entitlement),
    against numpy's einsum, and with weights of one against the plain sums."""
    rng = np.random.default_rng(seed)
    first = min(first, n_years - 1)
    cube = rng.uniform(0, 1e5, (n_rows, n_sex, n_years, 101)) * (rng.uniform(0, 1, (n_rows, n_sex, 1, 101)) > 0.3)
    weights = rng.uniform(0, 2, (n_weights, n_sex, n_years - first, 101))
    fast, slow = (np.empty((n_weights, n_rows, n_years - first)) for _ in range(2))
    accounts.sex_age_weighted_totals(cube, first, weights, fast)
    accounts.sex_age_weighted_totals_numpy(cube, first, weights, slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    ones = np.ones((1, n_sex, n_years - first, 101))
    plain, weighted = np.empty((n_rows, n_years - first)), np.empty((1, n_rows, n_years - first))
    accounts.sex_age_totals(cube, first, plain)
    accounts.sex_age_weighted_totals(cube, first, ones, weighted)
    np.testing.assert_allclose(weighted[0], plain, rtol=1e-12)


def test_the_labour_stage_adds_the_totals_its_kernel_took_as_the_cubes_sums():
    # no fund stage needs to pass over a cube to sum it: the labour stage's kernel summed each row
    # as it wrote it, with the same additions in the same order as accounts.member_totals
    from socsec_proj.demography.population import project_population
    from socsec_proj.labour.coverage import project_coverage

    ds = ssp.run("baseline", stages=[project_population, project_coverage])
    for cube in MEMBER_CUBES:
        assert member_total_name(cube) in ds.variables
        summed = accounts.member_totals(ds.drop_vars(member_total_name(cube)), cube)
        np.testing.assert_array_equal(ds[member_total_name(cube)].values[None], summed, err_msg=cube)

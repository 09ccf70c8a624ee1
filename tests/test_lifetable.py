"""Life tables: a hand-computed case, identities, and the xarray form."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from socsec_proj.demography.lifetable import life_expectancy, life_table, life_table_dataset, survival_ratios


def test_three_age_table_by_hand():
    # female, m = 0.1, 0.2, 0.5 (last open). a0 = 0.31411 (Andreev-Kingkade, m0 >= 0.06891)
    table = life_table(np.array([0.1, 0.2, 0.5]), "female")
    q0 = 0.1 / (1 + (1 - 0.31411) * 0.1)      # 0.0935818
    q1 = 0.2 / (1 + 0.5 * 0.2)                # 0.1818182
    l1, l2 = 1 - q0, (1 - q0) * (1 - q1)
    L0 = 1 - (1 - 0.31411) * q0
    L1 = l1 - 0.5 * l1 * q1
    L2 = l2 / 0.5                             # the open group: l / m
    np.testing.assert_allclose(table["qx"], [q0, q1, 1.0])
    np.testing.assert_allclose(table["lx"], [1.0, l1, l2])
    np.testing.assert_allclose(table["Lx"], [L0, L1, L2])
    assert table["ex"][0] == pytest.approx(L0 + L1 + L2)
    assert table["ex"][0] == pytest.approx(3.24306, abs=1e-5)


@settings(deadline=None, max_examples=50)
@given(arrays(float, st.integers(2, 30), elements=st.floats(1e-5, 2.0)), st.sampled_from(["male", "female"]))
def test_identities(mx, sex):
    table = life_table(mx, sex)
    np.testing.assert_allclose(table["dx"].sum(), 1.0, rtol=1e-12)        # everybody dies
    np.testing.assert_allclose(table["Tx"][0], table["Lx"].sum(), rtol=1e-12)
    assert np.all(np.diff(table["lx"]) <= 0)
    # deaths / person-years = mx in every closed interval
    # with m >= 2 and ax = 0.5 everybody dies at once; where m is a hair below 2 the survivors
    # shrink by ~1e-16 a year and reach subnormal numbers (a few digits of precision) by age 20
    alive = table["Lx"][:-1] > 1e-280
    np.testing.assert_allclose(table["dx"][:-1][alive] / table["Lx"][:-1][alive], mx[:-1][alive], rtol=1e-9)
    survival, birth_survival = survival_ratios(mx, sex)
    assert np.all((survival >= 0) & (survival <= 1)) and 0 < birth_survival <= 1


def test_higher_mortality_lowers_life_expectancy():
    mx = np.geomspace(1e-4, 0.5, 101)
    assert life_expectancy(mx * 1.1, "male") < life_expectancy(mx, "male")


def test_dataset_form_keeps_other_dimensions():
    mx = xr.DataArray(np.geomspace(1e-4, 0.5, 101)[None, None, :].repeat(2, 0).repeat(3, 1),
                      dims=("sex", "year", "age"),
                      coords={"sex": ["male", "female"], "year": [2020, 2021, 2022], "age": np.arange(101)})
    ds = life_table_dataset(mx)
    assert ds["ex"].dims == ("sex", "year", "age")
    assert ds["ex"].attrs["units"] == "years"
    assert float(ds["ex"].sel(sex="male", year=2021, age=0)) == pytest.approx(
        life_expectancy(mx.sel(sex="male", year=2021).values, "male"))

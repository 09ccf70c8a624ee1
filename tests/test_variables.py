"""The Dataset every stage adds to: declared variables, units, replacing, sizes."""

import numpy as np
import pytest
import xarray as xr

from socsec_proj.variables import add


@pytest.fixture
def base():
    return xr.Dataset(coords={"province": ["CN-GD", "CN-HE"], "year": [2020, 2021, 2022]},
                      attrs={"scenario": "test"})


def test_add_declares_units_and_new_coordinates(base):
    values = {"population": np.arange(2 * 2 * 3 * 3, dtype=float).reshape(2, 2, 3, 3),
              "total_fertility_rate": np.array([[1.0, 1.1, 1.2], [1.3, 1.4, 1.5]])}
    coords = {"province": ["CN-XX", "CN-YY"], "sex": ["male", "female"], "age": [0, 1, 2],
              "year": [2020, 2021, 2022]}
    added = add(base, values, coords)
    expected = base.assign_coords(sex=["male", "female"], age=[0, 1, 2]).assign(
        population=(("province", "sex", "age", "year"), values["population"],
                    {"units": "persons", "long_name": added["population"].attrs["long_name"]}),
        total_fertility_rate=(("province", "year"), values["total_fertility_rate"],
                              {"units": added["total_fertility_rate"].attrs["units"],
                               "long_name": added["total_fertility_rate"].attrs["long_name"]}))
    xr.testing.assert_identical(added, expected)
    assert list(added["province"].values) == ["CN-GD", "CN-HE"]  # coordinates ds has stay as they are
    assert added["population"].attrs["units"] == "persons"
    assert list(added["sex"].values) == ["male", "female"]
    assert added.attrs == {"scenario": "test"}
    assert float(added["population"].sel(province="CN-HE", sex="female", age=2, year=2022)) == 35.0


def test_add_replaces_a_variable_of_the_same_name(base):
    first = add(base, {"total_fertility_rate": np.ones((2, 3))})
    second = add(first, {"total_fertility_rate": np.full((2, 3), 2.0)})
    assert list(second.data_vars) == ["total_fertility_rate"]
    assert float(second["total_fertility_rate"].sum()) == 12.0
    assert float(first["total_fertility_rate"].sum()) == 6.0  # the input is left as it was


def test_add_rejects_wrong_sizes_dimensions_and_undeclared_names(base):
    with pytest.raises(ValueError, match="province"):
        add(base, {"total_fertility_rate": np.ones((3, 3))})
    with pytest.raises(ValueError, match="total_fertility_rate: got 1 dimensions"):
        add(base, {"total_fertility_rate": np.ones(3)})
    with pytest.raises(KeyError, match="fertility_typo"):
        add(base, {"fertility_typo": np.ones((2, 3))})

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


def test_every_aggregation_rule_names_declared_parts():
    from socsec_proj.variables import AGGREGATIONS, SCHEMES, VARIABLES

    for variable in VARIABLES.values():
        assert variable.aggregation in AGGREGATIONS, variable.name
        assert all(part in VARIABLES for part in variable.parts), variable.name
        assert len(variable.parts) == {"sum": 0, "none": 0, "ratio": 2, "mean": 1}[variable.aggregation]
        assert variable.scheme in (None, *SCHEMES)
    assert VARIABLES["injury_months_of_reserve"].factor == 12.0
    assert VARIABLES["system_dependency_ratio"].scheme == "employee_pension"
    assert VARIABLES["employee_pension_coverage"].aggregation == "none"   # a calibrated constant


def test_aggregate_by_the_declared_rules():
    from socsec_proj.variables import aggregate

    two = ("province", "year")
    ds = xr.Dataset({
        "unemployment_balance": (two, [[10.0, -4.0], [30.0, 8.0]]),
        "unemployment_expenditure": (two, [[12.0, 24.0], [36.0, 12.0]]),
        "unemployment_months_of_reserve": (two, [[10.0, -2.0], [10.0, 8.0]]),
        "unemployment_beneficiaries": (two, [[1.0, 3.0], [3.0, 1.0]]),
        "unemployment_average_benefit": (two, [[100.0, 200.0], [300.0, 400.0]]),
    }, coords={"province": ["CN-BJ", "CN-HE"], "year": [2030, 2031]})
    total, how = aggregate(ds, "unemployment_balance")
    assert how == "sum" and total.values.tolist() == [40.0, 4.0]
    months, how = aggregate(ds, "unemployment_months_of_reserve")
    assert how == "ratio of the totals"
    np.testing.assert_allclose(months.values, [12 * 40 / 48, 12 * 4 / 36])   # not the mean of 10 and 10
    benefit, how = aggregate(ds, "unemployment_average_benefit")
    assert how == "mean weighted by beneficiaries"
    np.testing.assert_allclose(benefit.values, [(100 + 900) / 4, (600 + 400) / 4])
    same, how = aggregate(ds, "unemployment_balance", ("sex",))
    assert how == "as projected" and same.identical(ds["unemployment_balance"])


def test_add_puts_a_draw_dimension_first(base):
    with_draws = base.assign_coords(draw=[0, 1, 2])
    values = np.ones((3,) + tuple(base.sizes[d] for d in ("province", "year")))
    out = add(with_draws, {"unemployment_balance": values})
    assert out["unemployment_balance"].dims == ("draw", "province", "year")
    single = add(base, {"unemployment_balance": values[:1]})   # a deterministic run's one path
    assert single["unemployment_balance"].dims == ("province", "year")
    with pytest.raises(ValueError, match="no draw dimension"):
        add(base, {"unemployment_balance": values})


def test_add_without_rebuilding_gives_the_dataset_the_public_constructor_gives(base):
    # add() puts variables on dimensions the Dataset has without rebuilding it (variables._replaced);
    # the result must be the one xarray's constructor gives, attributes not shared with the input
    first = add(base, {"total_fertility_rate": np.ones((2, 3))})
    values = {"total_fertility_rate": np.full((2, 3), 2.0), "system_dependency_ratio": np.arange(6.0).reshape(2, 3)}
    fast = add(first, values)
    public = xr.Dataset({name: (("province", "year"), array, fast[name].attrs) for name, array in values.items()},
                        coords=first.coords, attrs=first.attrs)
    xr.testing.assert_identical(fast, public)
    assert list(fast.data_vars) == ["total_fertility_rate", "system_dependency_ratio"]
    fast.attrs["changed"] = 1
    assert "changed" not in first.attrs
    with pytest.raises(ValueError, match="system_dependency_ratio: year has 4 values, the Dataset 3"):
        add(first, {"system_dependency_ratio": np.ones((2, 4))})

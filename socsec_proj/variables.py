"""Every variable of the projection Dataset, declared once: dimensions, unit and long name.

Stages build their outputs with :func:`data_array`, so a variable's unit and meaning are
written in exactly one place. Dimension names are fixed across the project: ``scenario``,
``draw``, ``province``, ``sex``, ``age``, ``year``.

Flows (births, deaths, migrants, revenue, payout) labelled ``year`` = Y are those of the
twelve months from mid-year Y-1 to mid-year Y, so that
``population[Y] = population[Y-1] - deaths[Y] + births[Y] + net_migration[Y]``; the base year's
flows are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

DIMENSIONS = ("scenario", "draw", "province", "sex", "age", "year")
SEXES = ("male", "female")


@dataclass(frozen=True)
class Variable:
    """Declaration of one Dataset variable."""

    name: str
    dims: tuple[str, ...]
    units: str
    long_name: str


_DECLARED = [
    Variable("population", ("province", "sex", "age", "year"), "persons",
             "resident population at 1 July (age 100 = 100 and over)"),
    Variable("population_total", ("province", "sex", "year"), "persons",
             "resident population at 1 July, all ages"),
    Variable("births", ("province", "sex", "year"), "persons/year",
             "live births in the twelve months to 1 July"),
    Variable("deaths", ("province", "sex", "year"), "persons/year",
             "deaths in the twelve months to 1 July"),
    Variable("net_migration", ("province", "sex", "age", "year"), "persons/year",
             "net migrants (inter-provincial and international) in the twelve months to 1 July,"
             " by age at 1 July"),
    Variable("net_migration_total", ("province", "sex", "year"), "persons/year",
             "net migrants in the twelve months to 1 July, all ages"),
    Variable("life_expectancy", ("province", "sex", "year"), "years",
             "period life expectancy at birth of the calendar year"),
    Variable("total_fertility_rate", ("province", "year"), "children/woman",
             "period total fertility rate of the calendar year"),
]

VARIABLES: dict[str, Variable] = {v.name: v for v in _DECLARED}


def data_array(name: str, values, coords: dict) -> xr.DataArray:
    """A DataArray for the declared variable ``name``, with its dims, ``units`` and ``long_name``.

    Parameters
    ----------
    name : str
        A key of :data:`VARIABLES`.
    values : numpy.ndarray
        Data in the declared dimension order.
    coords : dict
        Coordinates; those of the variable's dims are used.
    """
    variable = VARIABLES[name]
    values = np.asarray(values)
    if values.ndim != len(variable.dims):
        raise ValueError(f"{name}: got {values.ndim} dimensions, declared {variable.dims}")
    array = xr.DataArray(values, dims=variable.dims, name=name)
    array = array.assign_coords({d: coords[d] for d in variable.dims if d in coords})
    array.attrs.update(units=variable.units, long_name=variable.long_name)
    return array

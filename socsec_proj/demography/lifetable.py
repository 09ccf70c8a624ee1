"""Life tables: central death rates mx -> qx -> lx -> dx -> Lx -> Tx -> ex.

Single-year ages 0..ω with ω an open interval (ω = 100 in the embedded data). The
person-years lived by those dying in an interval, ax, are half a year except at age 0,
where they follow Andreev & Kingkade (2015), the rule the UN uses for WPP 2022+; in the
open interval everybody dies: L_ω = l_ω / m_ω.

Reference: Preston, Heuveline & Guillot (2001), *Demography*, ch. 3; Andreev, E. M. and
Kingkade, W. W. (2015), "Average age at death in infancy and infant mortality level",
Demographic Research 33(13), table 3.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

#: Andreev-Kingkade a0 segments: (m0 upper bound, intercept, slope), per sex.
_A0_RULES = {
    "male": ((0.02300, 0.14929, -1.99545), (0.08307, 0.02832, 3.26201), (np.inf, 0.29915, 0.0)),
    "female": ((0.01724, 0.14903, -2.05527), (0.06891, 0.04667, 3.88089), (np.inf, 0.31411, 0.0)),
}


def infant_ax(m0, sex):
    """Average years lived in [0, 1) by infants who die, from the infant death rate.

    Parameters
    ----------
    m0 : array_like
        Central death rate at age 0 [/year].
    sex : {"male", "female"}

    Returns
    -------
    numpy.ndarray
        a0 [years].
    """
    m0 = np.asarray(m0, dtype=float)
    rules = _A0_RULES[sex]
    a0 = np.full(m0.shape, rules[-1][1])
    for upper, intercept, slope in reversed(rules):
        a0 = np.where(m0 < upper, intercept + slope * m0, a0)
    return a0


def _person_years(mx, sex):
    """``(ax, qx, lx, dx, Lx)`` of :func:`life_table`: what survival and life expectancy at birth need."""
    mx = np.asarray(mx, dtype=float)
    ax = np.full(mx.shape, 0.5)
    ax[..., 0] = infant_ax(mx[..., 0], sex)
    qx = mx / (1.0 + (1.0 - ax) * mx)
    qx[..., -1] = 1.0
    qx = np.clip(qx, 0.0, 1.0)
    lx = np.empty(mx.shape)
    lx[..., 0] = 1.0
    np.cumprod(1.0 - qx[..., :-1], axis=-1, out=lx[..., 1:])
    dx = lx * qx
    Lx = lx - (1.0 - ax) * dx
    with np.errstate(divide="ignore", invalid="ignore"):
        Lx[..., -1] = np.where(mx[..., -1] > 0, lx[..., -1] / mx[..., -1], 0.0)
    return ax, qx, lx, dx, Lx


def life_table(mx, sex):
    """Single-year life table from central death rates, vectorised over leading axes.

    Parameters
    ----------
    mx : array_like, shape (..., n_ages)
        Central death rates by single age 0..ω, the last age open [/year].
    sex : {"male", "female"}
        Chooses the infant ax rule.

    Returns
    -------
    dict of numpy.ndarray
        ``ax`` [years], ``qx`` [/1], ``lx`` (radix 1) [/1], ``dx`` [/1], ``Lx`` [years],
        ``Tx`` [years], ``ex`` [years], each of the shape of ``mx``.
    """
    ax, qx, lx, dx, Lx = _person_years(mx, sex)
    Tx = np.cumsum(Lx[..., ::-1], axis=-1)[..., ::-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ex = np.where(lx > 0, Tx / lx, 0.0)
    return {"ax": ax, "qx": qx, "lx": lx, "dx": dx, "Lx": Lx, "Tx": Tx, "ex": ex}


def life_expectancy(mx, sex, age=0):
    """Life expectancy at ``age`` [years] from single-year mx (see :func:`life_table`)."""
    if age == 0:  # T(0) / l(0) with l(0) = 1: no need for the whole table
        return _person_years(mx, sex)[-1].sum(axis=-1)
    return life_table(mx, sex)["ex"][..., age]


_UNITS = {"ax": "years", "qx": "1", "lx": "1", "dx": "1", "Lx": "years", "Tx": "years", "ex": "years"}
_NAMES = {
    "ax": "average years lived in the interval by those dying in it",
    "qx": "probability of dying between age x and x+1",
    "lx": "survivors to exact age x (radix 1)",
    "dx": "deaths between age x and x+1 (radix 1)",
    "Lx": "person-years lived between age x and x+1 (radix 1)",
    "Tx": "person-years lived above age x (radix 1)",
    "ex": "life expectancy at age x",
}


def life_table_dataset(mx: xr.DataArray) -> xr.Dataset:
    """Life tables for every cell of an xarray of death rates.

    Parameters
    ----------
    mx : xarray.DataArray
        Central death rates [/year] with dims including ``age`` (single years, last open)
        and ``sex`` (``"male"``, ``"female"``); any other dims (``province``, ``year``) are
        carried along.

    Returns
    -------
    xarray.Dataset
        ``mx`` and the columns of :func:`life_table`, each with ``units`` and ``long_name``.
    """
    mx = mx.transpose(..., "age")
    columns = {name: np.empty(mx.shape) for name in _UNITS}
    sex_axis = mx.dims.index("sex")
    for i, sex in enumerate(mx["sex"].values):
        table = life_table(np.take(mx.values, i, axis=sex_axis), str(sex))
        for name in _UNITS:
            index = [slice(None)] * mx.ndim
            index[sex_axis] = i
            columns[name][tuple(index)] = table[name]
    ds = xr.Dataset({name: (mx.dims, values) for name, values in columns.items()}, coords=mx.coords)
    ds["mx"] = mx
    ds["mx"].attrs.update(units="1/year", long_name="central death rate")
    for name in _UNITS:
        ds[name].attrs.update(units=_UNITS[name], long_name=_NAMES[name])
    return ds


def survival_ratios(mx, sex):
    """Cohort-component survival ratios for a one-year step, from single-year mx.

    Parameters
    ----------
    mx : array_like, shape (..., n_ages)
        Central death rates by single age, last open [/year].
    sex : {"male", "female"}

    Returns
    -------
    survival : numpy.ndarray, shape (..., n_ages)
        Share of those aged a at the start who are alive one year later (aged a+1, or
        still in the open group): L(a+1)/L(a) below the last two ages, and
        T(ω)/T(ω-1) for both the age just below the open group and the open group itself
        (the UN convention for the open interval) [/1].
    birth_survival : numpy.ndarray, shape (...)
        Share of births in a year alive at its end, L(0)/l(0) [/1].
    """
    Lx = _person_years(mx, sex)[-1]
    survival = np.empty_like(Lx)
    last, before = Lx[..., -1], Lx[..., -2] + Lx[..., -1]  # T(ω) and T(ω-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        survival[..., :-2] = np.where(Lx[..., :-2] > 0, Lx[..., 1:-1] / Lx[..., :-2], 0.0)
        open_survival = np.where(before > 0, last / before, 0.0)
    survival[..., -2] = open_survival
    survival[..., -1] = open_survival
    return survival, Lx[..., 0]

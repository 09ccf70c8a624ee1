"""The national figures the unemployment and work-injury funds are calibrated to, and the rules
that spread them over provinces.

The MOHRSS bulletins (``params/history/national_bulletin.csv``) publish these funds for China
only: insured, revenue, expenditure, balance and beneficiaries of 2021 (both funds) and 2023
(unemployment). No province's UI or injury fund is in the shipped data, so each national
figure is spread over provinces by one stated rule, written here once for both funds:

- **insured**: the seed provinces (Guangdong, Hebei, Guizhou) keep the ratio of scheme insured
  to urban-employee insured workers that reproduces their seed figure of 2020
  (:func:`~socsec_proj.funds.accounts.coverage_ratios`); every other province gets the same
  ratio, times its ``{scheme}.relative_coverage`` (1 by default), scaled in every run so that
  the national insured of the bulletin year equal the bulletin (:func:`coverage`);
- **opening balance**: set in every run so that the national balance at the end of the
  bulletin year equals the bulletin, each province holding the national balance in proportion
  to its contributions of the first account year (:func:`opening_balance`). The balance is
  linear in the opening, so this is solved exactly, through the model's own flows, whenever the
  bulletin year is an account year or the year before the first. Where the bulletin year lies
  earlier (the injury fund's 2021 while its accounts start in 2023), the opening keeps the
  bulletin year's national months of reserve (balance / monthly expenditure).

The account years of both funds start one year before the pension funds' first fund year
(:func:`account_start`): the wage path of :mod:`.accounts` holds that year (its column 0), so
the unemployment fund's 2023 and the injury fund's 2023 are computed by the same rules as
every later year and can be held against the 2023 bulletin.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..errors import InputError
from ..inputs import data
from ..inputs.provinces import CODES
from . import accounts

#: The table the national figures come from (``params/history/``).
BULLETIN = "national_bulletin"


def figure(series: str, year: int) -> float:
    """The national bulletin's figure of ``series`` in ``year`` [its unit: persons, CNY, CNY/year].

    Raises
    ------
    InputError
        If ``params/history/national_bulletin.csv`` holds no such figure (naming the series and year).
    """
    values = data.national_actuals().get((BULLETIN, series, int(year)), ())
    if len(values) != 1:
        raise InputError(f"{len(values)} national figures of {series} in {year}",
                         source=data.table_path(f"history/{BULLETIN}"), key=series,
                         expected=f"exactly one row {series},CN,{year},actual")
    return values[0]


def account_start(first: int, earliest: int = 0) -> int:
    """Index of the first account year of the unemployment and injury funds: the year before the
    pension funds' first fund year ``first`` where the Dataset holds it, never before ``earliest``."""
    return max(first - 1, earliest)


def coverage(ds: xr.Dataset, scenario, scheme: str, year: int) -> np.ndarray:
    """Scheme insured per urban-employee insured worker, by province of ``ds`` [/1].

    The seed provinces keep their ratio to the seeds' 2020 insured; the others share one ratio x
    ``{scheme}.relative_coverage``, scaled so that the national insured of ``year`` (1 July
    stock of the model, against the bulletin's year-end figure, as :mod:`socsec_proj.validation`
    compares them) equal the bulletin's ``{scheme}_insured``. Years before 2025 are the same in
    every draw: draw 0 calibrates.

    Raises
    ------
    InputError
        If ``ds`` does not hold all 31 provinces (``ssp.run`` always projects them, deterministic
        or stochastic, and selects a scenario's provinces after), or ``year``, or the seed
        provinces alone exceed the national figure.
    """
    provinces = list(ds.variables["province"].values)
    if not complete(ds):
        raise InputError(f"the {scheme} fund is calibrated to national figures, but the Dataset holds "
                         f"{len(provinces)} provinces", key="provinces",
                         expected="a Dataset of all 31 provinces (ssp.run projects all and selects after)")
    parameters = scenario.parameters
    years = ds.variables["year"].values
    if year not in years:
        raise InputError(f"the {scheme} fund is calibrated to the national insured of {year}", key="horizon",
                         expected=f"a projection that includes {year}")
    indicator = f"{scheme}_insured"
    ratios = accounts.coverage_ratios(ds, parameters, indicator, f"{scheme}.relative_coverage")
    seeded = np.isin(provinces, list(data.seed_actuals(indicator, years)))
    at = int(np.searchsorted(years, year))
    workers = accounts.member_totals(ds, "employee_pension_contributors", draws=slice(0, 1))[0, :, at]   # (P,)
    target = figure(indicator, year)
    rest = target - float((ratios[seeded] * workers[seeded]).sum())
    unscaled = float((ratios[~seeded] * workers[~seeded]).sum())
    if rest <= 0 or unscaled <= 0:
        raise InputError(f"the seed provinces' {indicator} leave {rest:,.0f} of the national {target:,.0f} in {year}",
                         source=data.table_path(f"history/{BULLETIN}"), key=indicator,
                         expected="a national figure above the seed provinces' and insured workers elsewhere")
    ratios[~seeded] *= rest / unscaled
    return ratios


def complete(ds: xr.Dataset) -> bool:
    """Whether ``ds`` holds all 31 provinces."""
    return sorted(str(p) for p in ds.variables["province"].values) == sorted(CODES)


def opening_balance(contributions, expenditure, returns, target_index: int, target: float,
                    months_then: float | None = None, engine: str = "numba") -> np.ndarray:
    """Balance at the end of the year before the first account year, by province ``[..., P]`` [CNY].

    Parameters
    ----------
    contributions, expenditure : numpy.ndarray, shape (..., P, Y)
        The fund's flows of its account years [CNY/year].
    returns : numpy.ndarray, broadcastable to (..., P, Y)
        Rate of return on the opening balance of each year [/1].
    target_index : int
        Account year (index) at whose end the national balance is ``target``; -1 = the opening
        itself; below -1 = a year before the opening.
    target : float
        The bulletin's national balance [CNY].
    months_then : float, optional
        The bulletin's national months of reserve in that year (balance / (expenditure / 12))
        [months]; needed when ``target_index < -1``: the opening then holds as many months of
        the first account year's national expenditure.

    Returns
    -------
    numpy.ndarray, shape (..., P)
        The national opening spread in proportion to the provinces' contributions of the first
        account year; the national balance at the end of ``target_index`` equals ``target``
        (to rounding) when ``target_index >= -1``.
    """
    contributions = np.asarray(contributions, dtype=float)
    share = contributions[..., 0] / contributions[..., 0].sum(axis=-1, keepdims=True)
    if target_index < -1:
        if months_then is None:
            raise ValueError("a target year before the opening needs its months of reserve")
        national = months_then / 12.0 * np.asarray(expenditure, dtype=float)[..., 0].sum(axis=-1)
        return national[..., None] * share
    if target_index == -1:
        return target * share
    free = accounts.accounts(0.0, contributions, expenditure, returns, engine=engine).balance
    growth = np.broadcast_to(np.cumprod(1.0 + np.broadcast_to(returns, free.shape), axis=-1), free.shape)
    national = (target - free[..., target_index].sum(axis=-1)) / (share * growth[..., target_index]).sum(axis=-1)
    return national[..., None] * share

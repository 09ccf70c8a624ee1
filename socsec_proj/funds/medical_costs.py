"""What the two basic-medical-insurance funds share: the calibration year, spending by age and
its growth, the national opening balances and their provincial spread.

:mod:`.employee_medical` and :mod:`.resident_medical` take these from here, so that each rule
is written once; the balance recursion itself is :func:`.accounts.accounts`, as for every fund.
Arrays carry a leading draw axis (size 1 in a deterministic run), then provinces, then years.

Spending of a group = sum over sex and age of its members x ``spending_profile.csv`` (relative
spending per head) x a level [CNY/year per unit of relative spending] calibrated in 2024 (per
province, to its share of the bulletin's national figure) x the
cost index of :func:`cost_index`: 1 in 2024, moving each year by
``(1 + wage growth) x (1 + excess cost growth) - 1`` (``economy.wage_growth`` with the draw's
wage shock, ``{scheme}.excess_cost_growth``).

Every calibration constant comes from national data (NHSA, NBS, the 2024 yearbook), never from
summing the Dataset's provinces, so a province's figures do not depend on which provinces a
run computes.
"""

from __future__ import annotations

import functools

import numpy as np

from ..errors import InputError
from ..inputs import data
from ..inputs.paths import params_dir
from . import accounts

#: The medical funds calibrate to the NHSA bulletin of this year (the yearbook year of the other funds).
CALIBRATION_YEAR = 2024


def calibration_index(years) -> int:
    """Index of :data:`CALIBRATION_YEAR` in ``years`` (the fund years, or all years)."""
    years = np.asarray(years)
    if CALIBRATION_YEAR not in years:
        raise InputError(f"the medical funds calibrate to {CALIBRATION_YEAR}", key="horizon",
                         expected=f"fund years that include {CALIBRATION_YEAR}")
    return int(np.searchsorted(years, CALIBRATION_YEAR))


def growth_factors(parameters, scheme: str, years, wage_shock=None) -> np.ndarray:
    """Yearly factor of spending per head at a given age ``[D, Y]``: (1 + wage growth) x (1 + excess) [/1]."""
    excess = accounts.national(parameters, f"{scheme}.excess_cost_growth", years)
    return (1.0 + accounts.wage_growth(parameters, years, wage_shock)) * (1.0 + excess)[None, :]


def cost_index(parameters, scheme: str, years, wage_shock=None) -> np.ndarray:
    """Spending per head at a given sex and age relative to :data:`CALIBRATION_YEAR` ``[D, Y]`` [/1].

    Years after 2024 multiply the factors of :func:`growth_factors` from 2025 on; years before
    divide by those of the years up to 2024 (a fund that starts before its calibration year).
    """
    years = np.asarray(years)
    factors = growth_factors(parameters, scheme, years, wage_shock)
    c = calibration_index(years)
    log = np.log(factors)
    cumulative = np.cumsum(log, axis=1)
    return np.exp(cumulative - cumulative[:, c:c + 1])


def check_cost_growth(scenario, scheme: str) -> None:
    """Refuse an excess cost growth that would drive spending per head to zero or below."""
    parameters = scenario.parameters
    years = np.arange(2020, 2101)
    factors = growth_factors(parameters, scheme, years)[0]
    if np.any(factors <= 0):
        year = int(years[np.argmax(factors <= 0)])
        parameter = parameters.get(f"{scheme}.excess_cost_growth")
        raise InputError(f"{scheme}.excess_cost_growth makes medical spending per head fall to zero or below in {year}",
                         source=getattr(parameter, "source", None), key=f"{scheme}.excess_cost_growth",
                         expected="(1 + economy.wage_growth) x (1 + excess cost growth) > 0 in every year")


def spending_units(members: np.ndarray, profile: np.ndarray) -> np.ndarray:
    """Members ``[D, P, S, Y, A]`` weighted by the relative spending ``[S, A]``, summed: ``[D, P, Y]``.

    A matrix product over age (a third of the time of the equivalent ``einsum``)."""
    return np.matmul(members, profile[:, :, None])[..., 0].sum(axis=2)


def bulletin_reader():
    """``figure(series, year)``: a national NHSA figure of ``medical/national_bulletin.csv``
    [persons, CNY/year or CNY, /1]; the table is read (from its cache) once per reader."""
    values = data.medical_bulletin()

    def figure(series: str, year: int) -> float:
        if year not in values.get(series, {}):
            raise InputError(f"no {series} for {year}", source=data.table_path("medical/national_bulletin"),
                             key="series", expected=f"a row {series},{year}")
        return float(values[series][year])

    return figure


def bulletin(series: str, year: int) -> float:
    """One national NHSA figure (see :func:`bulletin_reader`, for many)."""
    return bulletin_reader()(series, year)


def opening_balances(national: float, shares: np.ndarray, shape) -> np.ndarray:
    """Each province's balance at the end of the year before the first fund year ``shape`` = ``(D, P)`` [CNY].

    ``national``: the balance published (or derived) for that year, spread over the provinces by
    ``shares`` (``[P]``, the province's share of the fund's 2024 spending: the same months of
    reserve everywhere; the shipped data have no provincial medical balances).
    """
    return np.broadcast_to(national * np.asarray(shares), shape).copy()


def employee_shares(provinces) -> tuple[np.ndarray, np.ndarray]:
    """Each province's share of China's employee-medical spending and contributions in 2024 [/1]
    (read-only; memoised per data folder, see :func:`_employee_shares`)."""
    return _employee_shares(tuple(provinces), params_dir())


@functools.lru_cache(maxsize=16)
def _employee_shares(provinces: tuple, folder) -> tuple[np.ndarray, np.ndarray]:
    """The shares of :func:`employee_shares`.

    From the 2024 yearbook's urban-employee pension members (which the labour stage's 2024
    members equal, province by province), so that the shares do not depend on which provinces
    a run computes: spending = insured workers + retirees x the bulletin's retiree / in-service
    spending per head (3.33); contributions = insured workers x the 2024 average wage.
    """
    yearbook = data.yearbook_employee_pension()
    ratio = bulletin("retiree_spending_ratio", CALIBRATION_YEAR)
    weights = yearbook["insured_workers"] + ratio * yearbook["retirees"]
    payroll = yearbook["insured_workers"] * data.average_wage()[CALIBRATION_YEAR].reindex(yearbook.index)
    shares = ((weights / weights.sum()).loc[list(provinces)].to_numpy(),
              (payroll / payroll.sum()).loc[list(provinces)].to_numpy())
    for values in shares:
        values.setflags(write=False)
    return shares


def employee_coverage(figure) -> tuple[float, float]:
    """NHSA's 2024 in-service insured per urban-employee pension insured worker, and its retirees
    per pensioner, both national over the 2024 yearbook's totals [/1] (``figure``: :func:`bulletin_reader`)."""
    workers, retirees = _yearbook_totals(params_dir())
    return (figure("employee_in_service", CALIBRATION_YEAR) / workers,
            figure("employee_retirees", CALIBRATION_YEAR) / retirees)


@functools.lru_cache(maxsize=16)
def _yearbook_totals(folder) -> tuple[float, float]:
    yearbook = data.yearbook_employee_pension()
    return float(yearbook["insured_workers"].sum()), float(yearbook["retirees"].sum())

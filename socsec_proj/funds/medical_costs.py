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
wage shock, ``{scheme}.excess_cost_growth``; in the bulletin years per head as published).
The employee fund runs from 2023, the resident fund from 2020; the balances before the first
fund year are solved so that 2024's are the bulletin's (:func:`opening_balances`).

Every calibration constant comes from national data (NHSA, NBS, the 2024 yearbook), never from
summing the Dataset's provinces, so a province's figures do not depend on which provinces a
run computes.
"""

from __future__ import annotations

import functools

import numpy as np

from .._accelerate import jit, kernel, row_dot, row_sum
from ..errors import InputError
from ..inputs import data
from ..inputs.paths import params_dir
from . import accounts

#: The medical funds calibrate to the NHSA bulletin of this year (the yearbook year of the other funds).
CALIBRATION_YEAR = 2024

#: The employee fund's first fund year: the first year whose NHSA bulletin splits the fund's flows
#: into the pooled fund and the individual accounts (the 2021 account reform, implemented locally
#: in 2021-2023, changed that split; no earlier split is published).
EMPLOYEE_FIRST_YEAR = 2023

#: The resident fund's first fund year: the pension funds' (its flows and balances are published from 2020).
RESIDENT_FIRST_YEAR = accounts.FUND_FIRST_YEAR


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


def cost_index(parameters, scheme: str, years, wage_shock=None, mix=None) -> np.ndarray:
    """Spending per head at a given sex and age relative to :data:`CALIBRATION_YEAR` ``[D, P, Y]`` [/1].

    Years after 2024 multiply the factors of :func:`growth_factors` from 2025 on; years before
    divide by those of the years up to 2024 (a fund that starts before its calibration year).

    ``excess_cost_growth`` of the years the bulletins publish (to :func:`last_published_year`) is
    what they show per head (the employee scheme's in-service insured + 3.33 x retirees, the
    resident scheme's insured; ``params/build/build_medical.py``), not per head at a given age:
    in those years a province's factor is divided by the growth of its ``mix`` (``[D, P, Y]``,
    spending units per such head, the model's age mix), so that its spending per head grows as
    published whatever its ageing. Without ``mix`` the index is the same for every province.
    """
    years = np.asarray(years)
    factors = growth_factors(parameters, scheme, years, wage_shock)[:, None, :]
    if mix is not None:
        published = (years <= last_published_year()) & (np.arange(len(years)) > 0)
        ageing = np.ones(np.broadcast_shapes(np.shape(mix), factors.shape))
        ageing[..., 1:] = mix[..., 1:] / mix[..., :-1]
        factors = np.where(published, factors / ageing, factors)
    c = calibration_index(years)
    cumulative = np.cumsum(np.log(factors), axis=-1)
    return np.exp(cumulative - cumulative[..., c:c + 1])


def last_published_year() -> int:
    """The last year of the NHSA bulletins' expenditure in ``medical/national_bulletin.csv`` (2025)."""
    return int(max(data.medical_bulletin()["resident_expenditure"]))


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


@jit
def weighted_totals(cube, profile, totals, units):
    """``totals[n, t]`` = the sum over sex and age of ``cube[n, :, t, :]`` [persons];
    ``units[n, t]`` = the same weighted by ``profile[sex, age]`` (relative spending [/1]).

    ``cube`` is ``[N, S, T, A]``, C-contiguous (rows = draws x provinces of a labour cube, or
    draws x years x provinces of the population cube with ``T`` = 1): both sums in one read of
    the cube, at memory speed (sums over age with vector adds,
    :func:`~socsec_proj._accelerate.row_sum` / :func:`~socsec_proj._accelerate.row_dot`).
    Not parallel, as :func:`~socsec_proj.funds.accounts.sex_age_totals`.
    """
    n_rows, n_sex, n_years = cube.shape[:3]
    for n in range(n_rows):
        for t in range(n_years):
            totals[n, t] = 0.0
            units[n, t] = 0.0
        # a sex's rows of every year one after the other, as they lie in memory (years within a sex
        # were 32 kB apart): the same additions in the same order per cell (see weighted_sums)
        for s in range(n_sex):
            for t in range(n_years):
                totals[n, t] += row_sum(cube[n, s, t])
                units[n, t] += row_dot(cube[n, s, t], profile[s])


def weighted_totals_numpy(cube, profile, totals, units):
    """Plain-numpy reference of :func:`weighted_totals` (same arguments, same outputs)."""
    totals[:] = cube.sum(axis=(1, 3))
    units[:] = np.einsum("nsta,sa->nt", cube, profile)


weighted_kernel = kernel(weighted_totals, weighted_totals_numpy)


@jit
def weighted_sums(cube, profile, units):
    """``units[n, t]`` = the sum over sex and age of ``cube[n, :, t, :]`` weighted by
    ``profile[sex, age]`` [persons]: :func:`weighted_totals`' units alone, the same bits.

    For a cube whose plain sums the caller has (the labour stage's declared ``{cube}_total``) or
    does not need (the population's units): the sum over age it leaves out was a fifth of the
    pass (measured on one chunk of 32 draws, one thread: 0.32 -> 0.23-0.28 ms per draw a cube).
    """
    n_rows, n_sex, n_years = cube.shape[:3]
    for n in range(n_rows):
        for t in range(n_years):
            units[n, t] = 0.0
        # a sex's rows of every year one after the other, as they lie in memory: each cell still
        # 0 + the first sex's dot product + the second's (the same bits), at twice the speed of
        # alternating the sexes within a year, 32 kB apart (0.13 -> 0.06 ms per draw a cube)
        for s in range(n_sex):
            for t in range(n_years):
                units[n, t] += row_dot(cube[n, s, t], profile[s])


def weighted_sums_numpy(cube, profile, units):
    """Plain-numpy reference of :func:`weighted_sums` (same arguments, same output)."""
    units[:] = np.einsum("nsta,sa->nt", cube, profile)


sums_kernel = kernel(weighted_sums, weighted_sums_numpy)


def _units(rows: np.ndarray, profile: np.ndarray, engine: str) -> np.ndarray:
    units = np.empty(rows.shape[:1] + rows.shape[2:3])
    sums_kernel(engine)(rows, np.ascontiguousarray(profile, dtype=float), units)
    return units


def spending_units(cube: np.ndarray, profile: np.ndarray, engine: str = "numba",
                   totals: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A labour cube ``[D, P, S, Y, A]`` summed over sex and age, and weighted by the relative
    spending ``profile`` ``[S, A]`` and summed: ``(totals, units)``, each ``[D, P, Y]`` [persons]
    (:func:`weighted_totals`, the cube read once). ``totals`` ``[D, P, Y]`` [persons]: the cube's
    sums when the caller has them (the labour stage's ``{cube}_total``, the same bits as summed
    here), returned as given; then only the units are summed (:func:`weighted_sums`)."""
    n_draws, n_prov, n_sex, n_years, n_age = cube.shape
    rows = np.ascontiguousarray(cube).reshape(n_draws * n_prov, n_sex, n_years, n_age)
    if totals is not None:
        return totals, _units(rows, profile, engine).reshape(n_draws, n_prov, n_years)
    totals = np.empty(rows.shape[:1] + rows.shape[2:3])
    units = np.empty(rows.shape[:1] + rows.shape[2:3])
    weighted_kernel(engine)(rows, np.ascontiguousarray(profile, dtype=float), totals, units)
    return totals.reshape(n_draws, n_prov, n_years), units.reshape(n_draws, n_prov, n_years)


def population_units(population: np.ndarray, profile: np.ndarray, engine: str = "numba") -> np.ndarray:
    """The population cube in its own layout ``[D, Y, P, S, A]`` weighted by the relative spending
    ``profile`` and summed over sex and age: ``[D, P, Y]`` [persons] (:func:`weighted_sums`
    on rows of one year each, so the cube is read in place)."""
    n_draws, n_years, n_prov, n_sex, n_age = population.shape
    rows = np.ascontiguousarray(population).reshape(n_draws * n_years * n_prov, n_sex, 1, n_age)
    return _units(rows, profile, engine).reshape(n_draws, n_years, n_prov).transpose(0, 2, 1)


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


def opening_balances(national: float, shares: np.ndarray, years, contributions, expenditure, rate_of_return,
                     transfer=None, engine: str = "numba") -> np.ndarray:
    """Each province's balance at the end of the year before the first fund year ``[D, P]`` [CNY],
    solved so that its balance at the end of :data:`CALIBRATION_YEAR` is ``national`` x its share.

    Solved in every draw: a draw's flows up to 2024 may differ from another's (the resident
    premiums of 2024 are paid by 2025's insured), and a stochastic run's result must not depend
    on how its draws are split into chunks.

    ``national``: the bulletin's balance at the end of 2024, spread over the provinces by
    ``shares`` (``[P]``, the province's share of the fund's 2024 spending or contributions: the
    shipped data have no provincial medical balances); the flows as :func:`.accounts.accounts`
    (``[D, P, Y]`` of the fund ``years``). The recursion is affine in the opening balance
    (:func:`.accounts.opening_for`), so the 2024 balance is met exactly and the years before it
    are the model's flows run backwards from it (held against the bulletins by ``validation``).
    """
    t = calibration_index(years) + 1
    shape = np.shape(contributions)

    def rows(values):  # every draw's provinces as rows of one "draw": each draw meets 2024 itself
        return np.broadcast_to(np.asarray(values, dtype=float), shape).reshape(1, -1, shape[-1])

    closing = np.broadcast_to(national * np.asarray(shares, dtype=float), shape[:-1]).reshape(-1)
    opening = accounts.opening_for(closing, t, rows(contributions), rows(expenditure), rows(rate_of_return),
                                   transfer=None if transfer is None else rows(transfer), engine=engine)
    return opening.reshape(shape[:-1])


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

"""The labour and coverage stage: contributors and retirees per province and scheme.

Urban-employee pension (城镇职工基本养老保险). Insured workers and pensioners are shares of
the resident population by province, sex and single age, followed by cohort
(:mod:`socsec_proj.labour._kernels`): below age :data:`CARRY_AGE` the insured share is the
province's coverage level from the minimum working age on; from :data:`CARRY_AGE` on a cohort
keeps its shares and its insured move to retirement as the cohort reaches its statutory
retirement age, month by month (:mod:`socsec_proj.labour.retirement`, the 2024 law or a
scenario's schedule, with flexible early or late retirement for a share of each cohort).
Women are split between the cadre/staff rule (55 originally) and the worker rule (50).

Calibration. The two levels of each province, the coverage of insured workers and the
pension take-up of the cohorts already retired in the base year, are set so that the 2024
insured workers and retirees equal the 2024 yearbook (表24-26). The stage is linear in both
levels, so two unit runs of the kernel give them exactly.

Urban-rural resident pension (城乡居民基本养老保险). Contributors are a share of the residents
aged from the minimum working age to 59 who are not in the employee scheme; beneficiaries a
share of those aged 60 and over who draw no employee pension; both shares are set so that
2024 equals the yearbook (表24-27; contributors = insured - beneficiaries).

The yearbook counts people where they are enrolled, the census where they live: Beijing's
insured workers exceed its residents aged 16-59, and several provinces of origin of migrant
workers have more resident-scheme members than residents outside the employee scheme. The
calibrated shares carry these differences forward; shares above 1 are enrolments per
resident, not a coverage rate.
"""

from __future__ import annotations

import datetime

import numpy as np
import xarray as xr

from .._accelerate import buffer
from ..errors import InputError
from ..inputs import data
from ..variables import SEXES, add, by_draw
from . import _kernels
from .retirement import CATEGORIES, RetirementSchedule, retirement_age_table

#: From this age on, coverage shares follow their cohort: five years below the youngest
#: statutory retirement age (50, women workers), so every retirement happens in carried cohorts.
CARRY_AGE = 45

#: The year the levels are calibrated to (the 2024 yearbook).
CALIBRATION_YEAR = 2024

#: The resident pension is paid from age 60 (国发〔2014〕8号).
RESIDENT_PENSION_AGE = 60


def retirement_schedules(parameters, source=None) -> dict:
    """The scenario's retirement schedule of each category, from ``retirement.*`` parameters.

    Raises
    ------
    InputError
        Naming the category's parameters (and ``source``, the scenario file) if a schedule is
        impossible, e.g. a target age below the original age.
    """
    day = datetime.date(2025, 1, 1)
    year = int(parameters.get("retirement.delay_start_year").at(day))
    month = int(parameters.get("retirement.delay_start_month").at(day))
    schedules = {}
    for category in CATEGORIES:
        def value(name):
            return int(round(parameters.get(f"retirement.{category}.{name}").at(day)))

        try:
            schedules[category] = RetirementSchedule(
                original_age_months=value("original_age_months"),
                target_age_months=value("target_age_months"),
                birth_months_per_step=value("birth_months_per_step"),
                start=datetime.date(year, month, 1),
            )
        except InputError as error:
            raise InputError(error.reason, source=source, key=f"retirement.{category}.{error.key}",
                             expected=error.expected) from None
    return schedules


def _retired_by_age_months(age_months, years, n_age, first_birth_year):
    """Share of the cohort aged a on 1 July of each year whose retirement month has come.

    ``age_months[birth_year - first_birth_year, month - 1]`` is each birth month's retirement
    age in months. People aged a on 1 July of year y were born from July of y-a-1 to June of
    y-a; a person is retired from the first day of the month the age is reached.
    """
    years = np.asarray(years)[:, None, None]                           # (Y, 1, 1)
    ages = np.arange(n_age)[None, :, None]                             # (1, A, 1)
    offsets = np.arange(12)[None, None, :]                             # twelve birth months
    birth_index = 12 * (years - ages - 1) + 6 + offsets                # July y-a-1 .. June y-a
    table = age_months.reshape(-1)
    reached = birth_index + table[birth_index - 12 * first_birth_year]
    return (reached <= 12 * years + 6).mean(axis=-1)                   # (Y, A)


def retired_fraction(schedules: dict, years, n_age=101, early_share=None, late_share=None, flexible_months=36):
    """Share of each cohort that has reached its retirement age, by category, year and age.

    Cached: a pure function of the schedules and shares, which most runs share.
    See :func:`_retired_fraction` for the parameters.
    """
    return retirement_by_cohort(schedules, years, n_age, early_share, late_share, flexible_months)[0]


def retirement_by_cohort(schedules: dict, years, n_age=101, early_share=None, late_share=None, flexible_months=36):
    """:func:`retired_fraction` and the share of each cohort's insured retiring each year.

    Both are pure functions of the schedules and shares, which most runs share: cached, and
    returned read-only.

    Returns
    -------
    retired : numpy.ndarray, shape (3, Y, A)
        [/1], see :func:`_retired_fraction`
    leaving : numpy.ndarray, shape (3, Y, A)
        [/1], see :func:`._kernels.leaving_fraction`
    """
    years = tuple(int(y) for y in years)
    early = None if early_share is None else tuple(float(x) for x in early_share)
    late = None if late_share is None else tuple(float(x) for x in late_share)
    key = (tuple(sorted(schedules.items())), years, n_age, early, late, int(flexible_months))
    result = _RETIRED_CACHE.get(key)
    if result is None:
        if len(_RETIRED_CACHE) > 32:
            _RETIRED_CACHE.clear()
        retired = _retired_fraction(schedules, years, n_age, early, late, flexible_months)
        result = (retired, _kernels.leaving_fraction(retired))
        for array in result:
            array.setflags(write=False)
        _RETIRED_CACHE[key] = result
    return result


_RETIRED_CACHE: dict = {}


def _retired_fraction(schedules: dict, years, n_age=101, early_share=None, late_share=None, flexible_months=36):
    """Share of each cohort that has reached its retirement age, by category, year and age.

    Parameters
    ----------
    schedules : dict of RetirementSchedule
        By category (``"male"``, ``"female_cadre"``, ``"female_worker"``).
    years : array_like of int
        Calendar years (ages are at 1 July).
    n_age : int
        Number of single ages (last open).
    early_share, late_share : array_like, shape (Y,), optional
        Share of cohorts retiring ``flexible_months`` before (never below the original age)
        or after their statutory age [/1]; default 0.
    flexible_months : int
        The flexible window [months].

    Returns
    -------
    numpy.ndarray, shape (3, Y, A)
        [/1]
    """
    years = np.asarray(years, dtype=int)
    early = np.zeros(len(years)) if early_share is None else np.asarray(early_share, dtype=float)
    late = np.zeros(len(years)) if late_share is None else np.asarray(late_share, dtype=float)
    first_birth_year = int(years[0]) - n_age - 1
    birth_years = np.arange(first_birth_year, int(years[-1]) + 1)
    result = np.empty((len(CATEGORIES), len(years), n_age))
    for c, category in enumerate(CATEGORIES):
        schedule = schedules[category]
        statutory = retirement_age_table(category, birth_years, schedule)
        on_time = _retired_by_age_months(statutory, years, n_age, first_birth_year)
        earliest = np.maximum(statutory - flexible_months, schedule.original_age_months)
        early_retired = _retired_by_age_months(earliest, years, n_age, first_birth_year)
        late_retired = _retired_by_age_months(statutory + flexible_months, years, n_age, first_birth_year)
        result[c] = ((1.0 - early - late)[:, None] * on_time + early[:, None] * early_retired
                     + late[:, None] * late_retired)
    return result


def run_coverage(population, retired, category_weight, coverage, entry_profile, retired_level,
                 resident_contribution, contributing_mask, resident_take_up, pension_mask, engine="numba",
                 leaving=None, reuse=False) -> dict:
    """Insured workers, retirees and resident-scheme members (see :mod:`._kernels`).

    ``population`` is ``[Y, P, S, A]`` or, for many draws, ``[D, Y, P, S, A]``; the outputs
    then have the same leading draw axis. ``leaving`` is :func:`._kernels.leaving_fraction`
    of ``retired``, worked out here if not given (a caller running the kernel several times
    on the same schedules passes it). With ``reuse`` the cubes are
    :func:`~socsec_proj._accelerate.buffer`'s (the previous chunk's, in a stochastic run).

    Returns
    -------
    dict of numpy.ndarray
        ``insured``, ``retired``, ``resident_contributors``, ``resident_beneficiaries`` as
        ``[(D,) P, S, Y, A]`` and ``insured_total``, ``retired_total``, ``outside_contributing``,
        ``outside_old`` as ``[(D,) P, Y]`` [persons].
    """
    single = np.ndim(population) == 4
    population = np.ascontiguousarray(population[None] if single else population, dtype=float)
    n_draws, n_years, n_prov, n_sex, n_age = population.shape
    # Every element is written by the kernel: no need to zero the cubes first. One block, not four
    # arrays of 3.9 MB: numpy asks Linux for huge pages from 4 MiB on, and faulting the fresh
    # memory in was then the largest cost of the stage (6.5 ms for four arrays, 1.4 ms for one).
    shape = (4, n_draws, n_prov, n_sex, n_years, n_age)
    block = buffer("coverage.cubes", shape) if reuse else np.empty(shape)
    totals = np.empty((4, n_draws, n_prov, n_years))
    outputs = _kernels.CoverageOutputs(*block, *totals)
    if leaving is None:
        leaving = _kernels.leaving_fraction(retired)

    def contiguous(values):
        return np.ascontiguousarray(values, dtype=float)

    inputs = _kernels.CoverageInputs(
        population=population, retired_fraction=contiguous(retired), leaving=contiguous(leaving),
        category_weight=contiguous(category_weight), coverage=contiguous(coverage),
        entry_profile=contiguous(entry_profile), retired_level=contiguous(retired_level), carry_age=CARRY_AGE,
        resident_contribution=contiguous(resident_contribution), contributing_mask=contiguous(contributing_mask),
        resident_take_up=contiguous(resident_take_up), pension_mask=contiguous(pension_mask))
    _kernels.coverage_engine(engine, work=n_draws * n_prov * n_years)(inputs, outputs)
    out = outputs._asdict()
    return {name: values[0] for name, values in out.items()} if single else out


def _check_share(values, key, source=None, low=0.0, high=1.0):
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < low) or np.any(values > high):
        bad = values[~(np.isfinite(values) & (values >= low) & (values <= high))][0]
        raise InputError(f"value {float(bad)!r}", source=source, key=key, expected=f"values in [{low}, {high}]")
    return values


def project_coverage(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Labour and coverage stage: Dataset in (with ``population``), Dataset out.

    Adds ``employee_pension_contributors``, ``employee_pension_retirees``,
    ``resident_pension_contributors``, ``resident_pension_beneficiaries`` (by province, sex,
    age, year), ``system_dependency_ratio`` (by province, year) and the calibrated levels
    ``employee_pension_coverage``, ``employee_pension_retired_take_up``,
    ``resident_pension_contribution_share``, ``resident_pension_take_up`` (by province).

    With a ``draw`` dimension every draw's population is covered by the same calibrated
    levels: the calibration reads years up to 2024 only, which no draw changes (drivers start
    in 2025), so draw 0 calibrates. ``engine`` picks the kernel or its numpy reference.
    """
    parameters = scenario.parameters
    years = ds.variables["year"].values
    provinces = ds.variables["province"].values
    if CALIBRATION_YEAR not in years:
        raise InputError(f"the labour stage is calibrated to {CALIBRATION_YEAR}", key="horizon",
                         expected=f"a projection that includes {CALIBRATION_YEAR}")
    t_cal = int(np.searchsorted(years, CALIBRATION_YEAR))
    # the population stage's buffer is [draw, year, province, sex, age]: this view of it is contiguous
    population = by_draw(ds, "population", ("year", "province", "sex", "age"))
    n_age = population.shape[-1]
    ages = np.arange(n_age)

    schedules = retirement_schedules(parameters, scenario.source)
    early = _check_share(parameters.get("labour.flexible_early_share").annual(years), "labour.flexible_early_share")
    late = _check_share(parameters.get("labour.flexible_late_share").annual(years), "labour.flexible_late_share")
    if np.any(early + late > 1.0):
        raise InputError("early and late shares add to more than 1", key="labour.flexible_early_share",
                         expected="flexible_early_share + flexible_late_share <= 1")
    months = int(round(parameters.get("labour.flexible_months").at(datetime.date(2025, 1, 1))))
    retired, leaving = retirement_by_cohort(schedules, years, n_age, early, late, months)

    cadre = _check_share(parameters.get("labour.female_cadre_share").by_province([years[0]], provinces)[:, 0],
                         "labour.female_cadre_share")
    weight = np.stack([np.ones_like(cadre), cadre, 1.0 - cadre], axis=1)
    entry_age = parameters.get("labour.minimum_working_age").at(datetime.date(int(years[0]), 7, 1))
    entry = np.broadcast_to((ages >= entry_age).astype(float), (len(SEXES), n_age))
    scale = _check_share(parameters.get("labour.employee_coverage_scale").by_province(years, provinces),
                         "labour.employee_coverage_scale", high=3.0)
    scale = scale / scale[:, t_cal:t_cal + 1]  # the calibrated level is the 2024 one
    resident_scale = _check_share(parameters.get("labour.resident_coverage_scale").by_province(years, provinces),
                                  "labour.resident_coverage_scale", high=3.0)
    resident_scale = resident_scale / resident_scale[:, t_cal:t_cal + 1]
    contributing_mask = ((ages >= entry_age) & (ages < RESIDENT_PENSION_AGE)).astype(float)
    pension_mask = (ages >= RESIDENT_PENSION_AGE).astype(float)

    # Calibration. The employee scheme is linear in its coverage level and the retired take-up,
    # so two unit runs up to the calibration year give both levels of every province exactly;
    # a third gives the residents outside the scheme on which the resident shares are set.
    head = slice(0, t_cal + 1)
    population_head, retired_head, leaving_head = population[0, head], retired[:, head], leaving[:, head]
    ones, zeros = np.ones(len(provinces)), np.zeros(len(provinces))
    resident_head = (resident_scale[:, head], contributing_mask, ones, pension_mask)
    from_workers = run_coverage(population_head, retired_head, weight, scale[:, head], entry, zeros, *resident_head,
                                leaving=leaving_head, engine=engine)
    from_retired = run_coverage(population_head, retired_head, weight, 0.0 * scale[:, head], entry, ones,
                                *resident_head, leaving=leaving_head, engine=engine)
    insured_workers, retirees = data.province_columns(data.yearbook_employee_pension(), provinces,
                                                      "insured_workers", "retirees")
    level = insured_workers / from_workers["insured_total"][:, t_cal]
    take_up = (retirees - level * from_workers["retired_total"][:, t_cal]) \
        / from_retired["retired_total"][:, t_cal]
    if np.any(take_up < 0):
        p = int(np.argmin(take_up))
        raise InputError(f"{provinces[p]}: the 2024 retirees cannot be reproduced (take-up {take_up[p]:.3f})",
                         source=data.table_path("social_insurance/yearbook_2024_employee_pension"),
                         key="retirees", expected="retirees above those the insured workers alone produce")
    coverage = level[:, None] * scale
    calibrated = run_coverage(population_head, retired_head, weight, coverage[:, head], entry, take_up,
                              *resident_head, leaving=leaving_head, engine=engine)
    insured, beneficiaries = data.province_columns(data.yearbook_resident_pension(), provinces,
                                                   "insured", "beneficiaries")
    contribution_share = (insured - beneficiaries) / calibrated["outside_contributing"][:, t_cal]
    resident_take_up = beneficiaries / calibrated["outside_old"][:, t_cal]

    result = run_coverage(population, retired, weight, coverage, entry, take_up,
                          contribution_share[:, None] * resident_scale, contributing_mask, resident_take_up,
                          pension_mask, leaving=leaving, engine=engine, reuse=True)

    def cube(values):  # kernel layout [D, P, S, Y, A] -> declared (draw, province, sex, age, year), a view
        return np.swapaxes(values, -1, -2)

    with np.errstate(divide="ignore", invalid="ignore"):
        dependency = np.where(result["insured_total"] > 0, result["retired_total"] / result["insured_total"], np.nan)
    employee_insured = result["insured_total"] + result["retired_total"]
    # the kernel's totals of resident members (no need to sum the cubes again)
    resident_insured = result["outside_contributing"] + result["outside_old"]
    adults = population[..., int(np.ceil(entry_age)):].sum(axis=(3, 4)).transpose(0, 2, 1)   # residents 16+ (D, P, Y)
    coords = {"province": provinces, "sex": list(SEXES), "age": ages, "year": years}
    return add(ds, {
        "employee_pension_insured": employee_insured,
        "resident_pension_insured": resident_insured,
        "pension_coverage_rate": (employee_insured + resident_insured) / adults,
        "employee_pension_contributors": cube(result["insured"]),
        "employee_pension_retirees": cube(result["retired"]),
        "resident_pension_contributors": cube(result["resident_contributors"]),
        "resident_pension_beneficiaries": cube(result["resident_beneficiaries"]),
        "system_dependency_ratio": dependency,
        "employee_pension_coverage": level,
        "employee_pension_retired_take_up": take_up,
        "resident_pension_contribution_share": contribution_share,
        "resident_pension_take_up": resident_take_up,
    }, coords)


def check_parameters(scenario) -> None:
    """Relations between the stage's parameters that their ranges alone cannot check.

    Run by :func:`socsec_proj.projection.run` before any stage computes, so that a schedule
    whose target age is below its original age, or flexible shares adding to more than one,
    stop the run before anything is computed.
    """
    parameters = scenario.parameters
    retirement_schedules(parameters, scenario.source)  # target >= original, steps >= 1
    for year in (2025, 2050, 2100):
        day = datetime.date(year, 7, 1)
        early = parameters.get("labour.flexible_early_share").at(day)
        late = parameters.get("labour.flexible_late_share").at(day)
        if early + late > 1.0:
            raise InputError(f"early ({early}) and late ({late}) shares add to more than 1 in {year}",
                             source=scenario.source, key="labour.flexible_early_share",
                             expected="flexible_early_share + flexible_late_share <= 1")


project_coverage.check = check_parameters

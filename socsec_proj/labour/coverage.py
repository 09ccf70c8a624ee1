"""The labour and coverage stage: contributors and retirees per province and scheme.

Urban-employee pension (城镇职工基本养老保险). Insured workers and pensioners are shares of
the resident population by province, sex and single age, followed by cohort
(:mod:`socsec_proj.labour._kernels`): below age :data:`CARRY_AGE` the insured share is the
province's coverage level from the minimum working age on; from :data:`CARRY_AGE` on a cohort
keeps its shares and its insured move to retirement as the cohort reaches its statutory
retirement age, month by month (:mod:`socsec_proj.labour.retirement`, the 2024 law or a
scenario's schedule, with flexible early or late retirement for a share of each cohort).
Women are split between the cadre/staff rule (55 originally) and the worker rule (50).

Coverage by age and over time. Below :data:`CARRY_AGE` coverage rises from zero at the
minimum working age to its full level over ``labour.entry_ramp_years`` (young entrants: most
of those aged 16-23 are in school). The level of each province moves over time: from 2020 to
2024 by a national trend, ``g`` of its 2024 level per year, fitted so that the national
insured workers of 2021 equal the MOHRSS bulletin (scaled by the provinces' share of the
national total in 2024, which holds a part not allocated to any province); after 2024 by
``labour.employee_coverage_trend_share`` x ``g`` a year (0 holds the 2024 level), where it is
below one insured worker per resident (a province above, Beijing, keeps its level). When the
level changes, carried cohorts not yet retired change with it (late joiners: the enrolment
drives of 2021-2024 reached every age), so coverage is not frozen at the age of 45.

Calibration. The two levels of each province, the coverage of insured workers and the
pension take-up of the cohorts already retired in the base year, are set so that the 2024
insured workers and retirees equal the 2024 yearbook (表24-26). The stage is linear in both
levels and in ``g`` x level, so unit runs of the kernel give them exactly for any ``g``, and
``g`` is the root of one equation in one unknown (the national 2021 figure).

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
import hashlib

import numpy as np
import xarray as xr

from .._accelerate import buffer
from ..errors import InputError
from ..inputs import data
from ..inputs.paths import params_dir
from ..inputs.provinces import CODES
from ..solvers import brentq
from ..variables import SEXES, add, by_draw, member_total_name
from . import _kernels
from .retirement import CATEGORIES, RetirementSchedule, retirement_age_table

#: From this age on, coverage shares follow their cohort: five years below the youngest
#: statutory retirement age (50, women workers), so every retirement happens in carried cohorts.
CARRY_AGE = 45

#: The year the levels are calibrated to (the 2024 yearbook).
CALIBRATION_YEAR = 2024

#: The resident pension is paid from age 60 (国发〔2014〕8号).
RESIDENT_PENSION_AGE = 60

#: The year of the national bulletin's insured workers the 2020-2024 coverage trend is fitted to.
TREND_YEAR = 2021


def entry_profile(ages, entry_age: float, ramp_years: float) -> np.ndarray:
    """Coverage by age relative to its full level [/1]: 0 below the minimum working age, rising
    linearly over ``ramp_years`` (at the mid-year age a + 0.5), 1 after; a step if ``ramp_years`` is 0."""
    ages = np.asarray(ages, dtype=float)
    if ramp_years <= 0:
        return (ages >= entry_age).astype(float)
    return np.where(ages >= entry_age, np.clip((ages + 0.5 - entry_age) / ramp_years, 0.0, 1.0), 0.0)


def coverage_path(years, trend: float, trend_share) -> np.ndarray:
    """The coverage level of each year relative to 2024 [/1], ``(Y,)``.

    ``exp(trend x (year - 2024))`` up to 2024 (the fitted national trend of 2020-2024 [/year]);
    after 2024 it grows by ``trend_share(year) x trend`` a year (``labour.employee_coverage_trend_share``).
    """
    years = np.asarray(years)
    after = np.where(years > CALIBRATION_YEAR, np.asarray(trend_share, dtype=float), 0.0)
    return np.exp(trend * np.where(years <= CALIBRATION_YEAR, years - CALIBRATION_YEAR, np.cumsum(after)))


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

    def compute():
        retired = _retired_fraction(schedules, years, n_age, early, late, flexible_months)
        result = (retired, _kernels.leaving_fraction(retired))
        for array in result:
            array.setflags(write=False)
        return result

    return _memo(_RETIRED_CACHE, key, compute)


def _memo(cache: dict, key, compute):
    """``cache[key]``, computed by ``compute()`` the first time; a cache of more than 32 entries is
    emptied first (scenarios differ in few keys, so a run keeps what it shares, in bounded memory)."""
    value = cache.get(key)
    if value is None:
        if len(cache) > 32:
            cache.clear()
        value = cache[key] = compute()
    return value


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


#: The kernel's outputs without a draw axis (the same in every draw below the open age).
SHARES = ("insured_share", "retired_share")


def run_coverage(population, retired, category_weight, coverage, entry_profile, retired_level,
                 resident_contribution, contributing_mask, resident_take_up, pension_mask, engine="numba",
                 leaving=None, reuse=False, minimum_years=None, resident_cubes=True, young_ages=0) -> dict:
    """Insured workers, retirees and resident-scheme members (see :mod:`._kernels`).

    ``minimum_years[Y]`` (or one number for every year) is the minimum contribution in force in each year [years]
    (``retirement.minimum_contribution_years``); ``None`` is no minimum (everyone insured at
    the retirement age draws), for unit use of the kernel only: the stage always passes it.

    ``population`` is ``[Y, P, S, A]`` or, for many draws, ``[D, Y, P, S, A]``; the outputs
    then have the same leading draw axis and the cubes its precision (float32 in a run with
    draws, ``variables.DRAW_CUBE_DTYPE``; the totals float64). ``leaving`` is :func:`._kernels.leaving_fraction`
    of ``retired``, worked out here if not given (a caller running the kernel several times
    on the same schedules passes it). With ``reuse`` the cubes are
    :func:`~socsec_proj._accelerate.buffer`'s (the previous chunk's, in a stochastic run).
    Without ``resident_cubes`` the two resident-scheme cubes are not written (size 0), only
    their totals. ``young_ages``: the residents below this whole age are summed too (``young_total``).

    Returns
    -------
    dict of numpy.ndarray
        ``insured``, ``retired``, ``resident_contributors``, ``resident_beneficiaries`` as
        ``[(D,) P, S, Y, A]`` and ``insured_total``, ``retired_total``, ``outside_contributing``,
        ``outside_old``, ``young_total`` as ``[(D,) P, Y]`` [persons]; ``insured_share``, ``retired_share`` ``[P, S, Y,
        A]`` [/1] (no draw axis: the same in every draw below the open age, draw 0's at the open age).
    """
    single = np.ndim(population) == 4
    # the cubes are stored as the population is: float64, or single precision in a run with draws
    # (variables.DRAW_CUBE_DTYPE); the shares and every sum are float64 either way
    dtype = np.float32 if np.asarray(population).dtype == np.float32 else np.float64
    population = np.ascontiguousarray(population[None] if single else population, dtype=dtype)
    n_draws, n_years, n_prov, n_sex, n_age = population.shape
    # Every element is written by the kernel: no need to zero the cubes first. One block, not four
    # arrays of 3.9 MB: numpy asks Linux for huge pages from 4 MiB on, and faulting the fresh
    # memory in was then the largest cost of the stage (6.5 ms for four arrays, 1.4 ms for one).
    shape = (4 if resident_cubes else 2, n_draws, n_prov, n_sex, n_years, n_age)
    block = list(buffer("coverage.cubes", shape, dtype) if reuse else np.empty(shape, dtype))
    if not resident_cubes:
        block += [np.empty((0, n_prov, n_sex, n_years, n_age), dtype)] * 2
    totals = np.empty((5, n_draws, n_prov, n_years))
    shares_shape = (2, n_prov, n_sex, n_years, n_age)  # float64 either way, no draw axis: as the cubes, reused
    shares = buffer("coverage.shares", shares_shape, float) if reuse else np.empty(shares_shape)
    outputs = _kernels.CoverageOutputs(*block, *totals, *shares)
    if leaving is None:
        leaving = _kernels.leaving_fraction(retired)
    minimum_years = np.broadcast_to(np.asarray(0.0 if minimum_years is None else minimum_years, dtype=float),
                                    (n_years,))
    # one slot per year insured up to the largest minimum: a joiner of `slots` years has every minimum
    slots = max(1, int(np.ceil(float(minimum_years.max()) - 1e-9)))
    recent_top, waiting_top = _kernels.buffer_ages(retired, slots, CARRY_AGE)

    def contiguous(values):
        return np.ascontiguousarray(values, dtype=float)

    inputs = _kernels.CoverageInputs(
        population=population, retired_fraction=contiguous(retired), leaving=contiguous(leaving),
        category_weight=contiguous(category_weight), coverage=contiguous(coverage),
        entry_profile=contiguous(entry_profile), retired_level=contiguous(retired_level), carry_age=CARRY_AGE,
        minimum_years=contiguous(minimum_years), slots=slots, recent_top=recent_top, waiting_top=waiting_top,
        resident_contribution=contiguous(resident_contribution), contributing_mask=contiguous(contributing_mask),
        resident_take_up=contiguous(resident_take_up), pension_mask=contiguous(pension_mask),
        young_ages=int(young_ages))
    _kernels.coverage_engine(engine, work=n_draws * n_prov * n_years)(inputs, outputs)
    out = outputs._asdict()
    if single:
        out = {name: values if name in SHARES else values[0] if len(values) else values[:, 0]
               for name, values in out.items()}
    return out


def _check_share(values, key, source=None, low=0.0, high=1.0):
    values = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(values)) or np.any(values < low) or np.any(values > high):
        bad = values[~(np.isfinite(values) & (values >= low) & (values <= high))][0]
        raise InputError(f"value {float(bad)!r}", source=source, key=key, expected=f"values in [{low}, {high}]")
    return values


_TREND_CACHE: dict = {}


def _digest(*parts) -> bytes:
    """A digest of arrays and plain values (the key of :data:`_TREND_CACHE`)."""
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(str((part.shape, part.dtype.str)).encode())
            digest.update(np.ascontiguousarray(part).tobytes())
        else:
            digest.update(repr(part).encode())
    return digest.digest()


def fitted_trend(years, provinces, runs, default: float = 0.0) -> float:
    """The national trend ``g`` of coverage 2020-2024 [/year] (see the module docstring).

    ``runs(g)`` gives the unit run of the years to 2024 under trend ``g`` and the levels that
    make each province's 2024 insured workers the yearbook's; China's insured workers of
    :data:`TREND_YEAR` are then a smooth function of ``g`` alone, whose root against the
    bulletin Brent's method finds (about ten runs of the kernel over five years). Without all
    31 provinces (or the year) it cannot be fitted: ``default`` (``labour.employee_coverage_trend``,
    the full run's value) is used.
    """
    years = list(int(y) for y in years)
    if TREND_YEAR not in years or len(provinces) != len(CODES):
        return float(default)
    t = years.index(TREND_YEAR)
    history = data.history()

    def published(year):
        rows = history[(history["series"] == "employee_pension_insured_workers") & (history["province"] == "CN")
                       & (history["year"] == year) & (history["kind"] == "actual")]
        return float(rows["value"].iloc[0])

    # the national figure holds insured workers no province reports (不分地区, 0.14 % in 2024)
    insured_2024 = data.yearbook_employee_pension()["insured_workers"].sum()
    target = published(TREND_YEAR) * float(insured_2024) / published(CALIBRATION_YEAR)

    def gap(g):
        unit, level = runs(g)
        return float(np.sum(level * unit["insured_total"][:, t])) / target - 1.0

    # the gap is nearly linear in g: Brent's method from a narrow bracket needs a few runs
    low, high = 0.0, 0.08
    if gap(low) * gap(high) > 0:
        low, high = -0.1, 0.2
    return float(brentq(gap, low, high, xtol=1e-10))


def cohort_factor(ages, trend: float) -> np.ndarray:
    """Coverage of the base year's cohorts aged 45 and over relative to the younger [/1]: each at
    the level of the year it was :data:`CARRY_AGE`, ``exp(-g (a - 45))`` (cohorts carry their coverage)."""
    return np.exp(-trend * np.clip(np.asarray(ages, dtype=float) - CARRY_AGE, 0.0, None))


def check_coverage(coverage, level, years, provinces, source=None) -> None:
    """Coverage may not rise above one insured worker per resident, or above its 2024 level
    where that is already more (enrolments per resident), in any year.

    Raises
    ------
    InputError
        Naming ``labour.employee_coverage_trend_share`` (and the province and year) otherwise.
    """
    ceiling = np.maximum(1.0, level)[:, None] * (1.0 + 1e-12)
    above = np.argwhere(coverage > ceiling)
    if len(above):
        p, t = above[0]
        raise InputError(f"{provinces[p]}: coverage {coverage[p, t]:.3f} in {int(years[t])} is above"
                         f" {max(1.0, float(level[p])):.3f}", source=source,
                         key="labour.employee_coverage_trend_share",
                         expected="a trend keeping coverage at most 1 insured worker per resident, or at most"
                                  " its 2024 level where that is above 1")


_LEVELS_CACHE: dict = {}


def _calibrated_levels(head_runs, trend, population_head, retired_head, leaving_head, weight, scale_head,
                       years_head, trend_share_head, resident_head, minimum_head, retirees, provinces, t_cal, engine):
    """The calibrated levels of every province for trend ``g`` (see the module docstring), from runs
    of the years to 2024: the coverage level, the retired take-up, the entry profile with the
    cohort factor, the resident contribution share and take-up.

    Raises
    ------
    InputError
        If a province's 2024 retirees cannot be reproduced (a negative take-up).
    """
    from_workers, level, entry = head_runs(trend)
    ones = np.ones(len(provinces))
    from_retired = run_coverage(population_head, retired_head, weight, 0.0 * scale_head, entry, ones,
                                *resident_head, leaving=leaving_head, engine=engine, minimum_years=minimum_head)
    take_up = (retirees - level * from_workers["retired_total"][:, t_cal]) / from_retired["retired_total"][:, t_cal]
    if np.any(take_up < 0):
        p = int(np.argmin(take_up))
        raise InputError(f"{provinces[p]}: the 2024 retirees cannot be reproduced (take-up {take_up[p]:.3f})",
                         source=data.table_path("social_insurance/yearbook_2024_employee_pension"),
                         key="retirees", expected="retirees above those the insured workers alone produce")
    # the years to 2024 of the projection's coverage (the path after 2024 does not enter them)
    coverage_head = level[:, None] * scale_head * coverage_path(years_head, trend, trend_share_head)[None, :]
    calibrated = run_coverage(population_head, retired_head, weight, coverage_head, entry, take_up,
                              *resident_head, leaving=leaving_head, engine=engine, minimum_years=minimum_head)
    insured, beneficiaries = data.province_columns(data.yearbook_resident_pension(), provinces,
                                                   "insured", "beneficiaries")
    contribution_share = (insured - beneficiaries) / calibrated["outside_contributing"][:, t_cal]
    resident_take_up = beneficiaries / calibrated["outside_old"][:, t_cal]
    levels = (level, take_up, entry, contribution_share, resident_take_up)
    for array in levels:
        array.setflags(write=False)
    return levels


def project_coverage(ds: xr.Dataset, scenario, *, engine: str = "numba", resident_cubes: bool | None = None
                     ) -> xr.Dataset:
    """Labour and coverage stage: Dataset in (with ``population``), Dataset out.

    Adds ``employee_pension_contributors``, ``employee_pension_retirees``,
    ``resident_pension_contributors``, ``resident_pension_beneficiaries`` (by province, sex,
    age, year), ``system_dependency_ratio`` (by province, year) and the calibrated levels
    ``employee_pension_coverage``, ``employee_pension_retired_take_up``,
    ``resident_pension_contribution_share``, ``resident_pension_take_up`` (by province).

    With a ``draw`` dimension every draw's population is covered by the same calibrated
    levels: the calibration reads years up to 2024 only, which no draw changes (drivers start
    in 2025), so draw 0 calibrates. ``engine`` picks the kernel or its numpy reference.

    ``resident_cubes``: add the two resident-scheme cubes by sex and age; default without draws
    only. With draws only their sums over sex and age (``{cube}_total``) are added: no stage
    reads those cubes by age, and a stochastic run keeps the totals (writing the two cubes was
    130 MB per chunk of 16 draws that nothing read).
    """
    resident_cubes = "draw" not in ds.dims if resident_cubes is None else resident_cubes
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
    # read at every date: the minimum in force in each year decides who of those reaching the age draws
    minimum = parameters.get("retirement.minimum_contribution_years").annual(years)
    # a late joiner brings these years (a lapsed record, or a sum paid in): what it still owes is
    # the minimum beyond them, counted from the year it joined
    credited = parameters.get("retirement.late_joiner_credited_years").annual(years)
    minimum = np.maximum(minimum - credited, 0.0)

    cadre = _check_share(parameters.get("labour.female_cadre_share").by_province([years[0]], provinces)[:, 0],
                         "labour.female_cadre_share")
    weight = np.stack([np.ones_like(cadre), cadre, 1.0 - cadre], axis=1)
    entry_age = parameters.get("labour.minimum_working_age").at(datetime.date(int(years[0]), 7, 1))
    ramp = float(parameters.get("labour.entry_ramp_years").at(datetime.date(int(years[0]), 7, 1)))
    entry = np.broadcast_to(entry_profile(ages, entry_age, ramp), (len(SEXES), n_age))
    scale = _check_share(parameters.get("labour.employee_coverage_scale").by_province(years, provinces),
                         "labour.employee_coverage_scale", high=3.0)
    scale = scale / scale[:, t_cal:t_cal + 1]  # the calibrated level is the 2024 one
    trend_share = parameters.get("labour.employee_coverage_trend_share").annual(years)
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
    # coverage(t) = level x scale(t) x exp(g (t - 2024)), the base year's carried cohorts at the level
    # of the year they were 45 (entry profile x cohort factor): linear in the level for a given g
    insured_workers, retirees = data.province_columns(data.yearbook_employee_pension(), provinces,
                                                      "insured_workers", "retirees")

    def head_runs(g):
        """The unit run (level 1) of the years to 2024 under trend g, and the province levels it gives."""
        profile = entry * cohort_factor(ages, g)[None, :]
        path = scale[:, head] * coverage_path(years[head], g, trend_share[head])[None, :]
        unit = run_coverage(population_head, retired_head, weight, path, profile, zeros, *resident_head,
                            leaving=leaving_head, engine=engine, minimum_years=minimum[head])
        return unit, insured_workers / unit["insured_total"][:, t_cal], profile

    # The calibration reads 2020-2024 only, the same in every chunk of a stochastic run and in most
    # scenarios: the trend (about ten kernel runs) and the levels (three more) are cached on a digest
    # of everything they read, so a chunk whose years to 2024 are the same reuses them, to the bit.
    default_trend = parameters.get("labour.employee_coverage_trend").at(datetime.date(int(years[0]), 7, 1))
    key = _digest(population_head, retired_head, leaving_head, weight, scale[:, head], entry, years[head],
                  minimum[head], default_trend, engine, str(params_dir()), tuple(provinces))
    trend = _memo(_TREND_CACHE, key,
                  lambda: fitted_trend(years, provinces, lambda g: head_runs(g)[:2], default_trend))
    levels_key = key + _digest(trend, resident_scale[:, head], contributing_mask, pension_mask)
    levels = _memo(_LEVELS_CACHE, levels_key,
                   lambda: _calibrated_levels(head_runs, trend, population_head, retired_head, leaving_head, weight,
                                              scale[:, head], years[head], trend_share[head], resident_head,
                                              minimum[head], retirees, provinces, t_cal, engine))
    # copies: the cache's arrays are read-only (numba would compile the kernel again for those)
    level, take_up, entry, contribution_share, resident_take_up = (array.copy() for array in levels)
    # after 2024 the trend applies where coverage is below one insured worker per resident; a
    # province already above (Beijing: enrolments per resident) keeps its 2024 level
    path = np.where((level[:, None] >= 1.0) & (years[None, :] > CALIBRATION_YEAR), 1.0,
                    coverage_path(years, trend, trend_share)[None, :])
    # the trend's part (the scale has its own range)
    check_coverage(level[:, None] * path, level, years, provinces, scenario.source)
    coverage = level[:, None] * scale * path

    result = run_coverage(population, retired, weight, coverage, entry, take_up,
                          contribution_share[:, None] * resident_scale, contributing_mask, resident_take_up,
                          pension_mask, leaving=leaving, engine=engine, reuse=True, minimum_years=minimum,
                          resident_cubes=resident_cubes, young_ages=int(np.ceil(entry_age)))

    def cube(values):  # kernel layout [D, P, S, Y, A] -> declared (draw, province, sex, age, year), a view
        return np.swapaxes(values, -1, -2)

    with np.errstate(divide="ignore", invalid="ignore"):
        dependency = np.where(result["insured_total"] > 0, result["retired_total"] / result["insured_total"], np.nan)
    employee_insured = result["insured_total"] + result["retired_total"]
    # the kernel's totals of resident members (no need to sum the cubes again)
    resident_insured = result["outside_contributing"] + result["outside_old"]
    # residents 16+ (D, P, Y): the population stage's totals less the young, whom the kernel sums as it
    # reads the cube (the cube's sum over ages and its totals differ by < 1e-14)
    young = result["young_total"]
    adults = by_draw(ds, "population_total", ("province", "year", "sex")).sum(axis=-1) - young
    coords = {"province": provinces, "sex": list(SEXES), "age": ages, "year": years}
    return add(ds, {
        "employee_pension_insured": employee_insured,
        "resident_pension_insured": resident_insured,
        "pension_coverage_rate": (employee_insured + resident_insured) / adults,
        "employee_pension_contributors": cube(result["insured"]),
        "employee_pension_retirees": cube(result["retired"]),
        "employee_pension_contributor_share": np.swapaxes(result["insured_share"], -1, -2),
        "employee_pension_retiree_share": np.swapaxes(result["retired_share"], -1, -2),
        **({"resident_pension_contributors": cube(result["resident_contributors"]),
            "resident_pension_beneficiaries": cube(result["resident_beneficiaries"])} if resident_cubes else {}),
        # the cubes' sums over sex and age, as the kernel took them while writing the cubes (the
        # same additions, in the same order, as a later sum of the cube): no fund sums a cube again
        member_total_name("employee_pension_contributors"): result["insured_total"],
        member_total_name("employee_pension_retirees"): result["retired_total"],
        member_total_name("resident_pension_contributors"): result["outside_contributing"],
        member_total_name("resident_pension_beneficiaries"): result["outside_old"],
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

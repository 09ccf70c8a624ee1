"""Statutory retirement ages in China, exact to the month, before and after the 2024 reform.

Legal basis
-----------
*全国人民代表大会常务委员会关于实施渐进式延迟法定退休年龄的决定* (Decision of the Standing
Committee of the National People's Congress on gradually raising the statutory retirement age),
adopted 2024-09-13, effective 2025-01-01, with its annexed *国务院关于渐进式延迟法定退休年龄的办法*
and the month-by-month comparison tables (附件1-3).

The decision raises, over fifteen years from 2025-01-01:

* men from 60 to 63, one month of delay for every four months of birth;
* women cadres/staff (原法定退休年龄五十五周岁的女职工) from 55 to 58, one month per four months;
* women workers (原法定退休年龄五十周岁的女职工) from 50 to 55, one month per two months.

The first people affected are those who would have reached the original age on or after
2025-01-01: men born January 1965, women cadres born January 1970, women workers born January
1975. For a birth month ``k`` months after the first affected one (``k >= 0``) the delay is::

    delay_months = min(target - original, k // birth_months_per_step + 1)

and earlier births keep the original age. The same decision raises the minimum contribution for a
monthly basic pension from 15 years by six months a year from 2030-01-01 to 20 years, and allows
flexible retirement: up to three years before the new statutory age but never below the original
one, or up to three years after it.

Conventions
-----------
Everything is counted in whole calendar months, because the law is: a person born in month
``(y, m)`` with a statutory age of ``A`` months reaches that age in the calendar month
``(y, m) + A`` (the month of the birthday). Birthdays within a month are not modelled, so a person
is treated as having reached the age (being retired) from the *first day* of that month; the
resulting bias is at most one month and half a month on average.

Alternative scenarios ("no delay", "faster delay", a unified age) are expressed as
:class:`RetirementSchedule` / :class:`MinimumContributionSchedule` parameters rather than code.
"""

from __future__ import annotations

import datetime
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import InputError

__all__ = [
    "CATEGORIES",
    "LAW_2024",
    "MINIMUM_CONTRIBUTION_2024",
    "MinimumContributionSchedule",
    "RetirementSchedule",
    "flexible_retirement_range",
    "minimum_contribution_years",
    "no_delay",
    "retired_share",
    "retirement_age_table",
    "retirement_date",
    "share_retiring_by_age",
    "statutory_retirement_age",
]

#: The three categories the law distinguishes.
CATEGORIES: tuple[str, ...] = ("male", "female_cadre", "female_worker")

# Bounds used only to catch swapped or nonsensical arguments (an age passed as a birth year, a
# month index passed as a month). They are far wider than any projection needs.
_YEAR_MIN, _YEAR_MAX = 1800, 2300
# Special-occupation early retirement (特殊工种) goes down to 45 for women, so the lower bound on a
# scheduled age is below every ordinary statutory age; 80 years is a generous upper bound.
_AGE_MIN_MONTHS, _AGE_MAX_MONTHS = 40 * 12, 80 * 12
_FLEX_MAX_MONTHS = 10 * 12


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------


def _is_integer(value) -> bool:
    # bool is an Integral subclass, but True as a birth month is a bug, not a month.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(value, name: str, lo: int, hi: int, unit: str = "") -> int:
    expected = f"an integer in [{lo}, {hi}]" + (f" {unit}" if unit else "")
    if not _is_integer(value):
        raise InputError(f"{name} must be an integer, got {value!r}", key=name, expected=expected)
    if not lo <= value <= hi:
        raise InputError(f"{name} = {value} is out of range", key=name, expected=expected)
    return int(value)


def _check_int_array(values, name: str, lo: int, hi: int) -> np.ndarray:
    """Integer array from a scalar or array-like; rejects floats, bools and out-of-range values."""
    expected = f"integers in [{lo}, {hi}]"
    array = np.asarray(values)
    if array.dtype == bool or not np.issubdtype(array.dtype, np.integer):
        raise InputError(
            f"{name} must be integer-valued, got dtype {array.dtype}", key=name, expected=expected
        )
    if array.size and (array.min() < lo or array.max() > hi):
        bad = array[(array < lo) | (array > hi)].flat[0]
        raise InputError(f"{name} contains {bad}, out of range", key=name, expected=expected)
    return array.astype(np.int64)


def _check_real(value, name: str, lo: float, hi: float, unit: str) -> float:
    expected = f"a number in [{lo}, {hi}] {unit}"
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not np.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}", key=name, expected=expected)
    if not lo <= value <= hi:
        raise InputError(f"{name} = {value} is out of range", key=name, expected=expected)
    return float(value)


def _check_category(category) -> str:
    if category not in CATEGORIES:
        raise InputError(
            f"unknown category {category!r}",
            key="category",
            expected="one of " + ", ".join(repr(c) for c in CATEGORIES),
        )
    return category


# --------------------------------------------------------------------------------------------
# Schedules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RetirementSchedule:
    """A gradual move of the statutory retirement age from one age to another.

    Parameters
    ----------
    original_age_months : int
        Statutory age before the change [months], e.g. ``720`` for 60 years.
    target_age_months : int
        Final statutory age [months]; at least ``original_age_months``. Equal means no delay.
    birth_months_per_step : int
        Months of birth per one month of delay [months], at least 1 (4 for men and women cadres,
        2 for women workers in the 2024 law; 1 is a "one month per month" fast schedule).
    start : datetime.date
        First day the delay applies (default 2025-01-01). The first affected birth month is the
        one whose original retirement month begins on or after ``start``.
    flex_early_months : int
        How far before the statutory age one may retire by choice [months] (default 36), never
        below ``original_age_months``.
    flex_late_months : int
        How far after the statutory age one may retire by choice [months] (default 36).

    Raises
    ------
    InputError
        If an age is outside 40-80 years, the target is below the original age, the step is
        not a positive integer, ``start`` is not a date, or a flexible window is outside 0-120
        months.
    """

    original_age_months: int
    target_age_months: int
    birth_months_per_step: int
    start: datetime.date = datetime.date(2025, 1, 1)
    flex_early_months: int = 36
    flex_late_months: int = 36

    def __post_init__(self):
        # Normalise numpy integers to int so that hashing/equality behave like plain ints.
        set_ = object.__setattr__
        original = _check_int(
            self.original_age_months, "original_age_months", _AGE_MIN_MONTHS, _AGE_MAX_MONTHS, "months"
        )
        set_(self, "original_age_months", original)
        set_(
            self,
            "target_age_months",
            _check_int(
                self.target_age_months, "target_age_months", original, _AGE_MAX_MONTHS,
                "months (not below original_age_months)",
            ),
        )
        if not _is_integer(self.birth_months_per_step) or self.birth_months_per_step < 1:
            raise InputError(
                f"birth_months_per_step must be a positive integer, got {self.birth_months_per_step!r}",
                key="birth_months_per_step",
                expected="an integer >= 1 [months of birth per month of delay]",
            )
        set_(self, "birth_months_per_step", int(self.birth_months_per_step))
        if not isinstance(self.start, datetime.date):
            raise InputError(
                f"start must be a datetime.date, got {self.start!r}",
                key="start",
                expected=f"a datetime.date in years [{_YEAR_MIN}, {_YEAR_MAX}]",
            )
        _check_int(self.start.year, "start", _YEAR_MIN, _YEAR_MAX, "(year of start)")
        for name in ("flex_early_months", "flex_late_months"):
            set_(self, name, _check_int(getattr(self, name), name, 0, _FLEX_MAX_MONTHS, "months"))

    @property
    def max_delay_months(self) -> int:
        """Full delay once phased in [months]."""
        return self.target_age_months - self.original_age_months

    @property
    def first_affected_birth_index(self) -> int:
        """Month index (``12 * year + month - 1``) of the first birth month that is delayed."""
        start_index = _month_index(self.start.year, self.start.month)
        # A retirement month counts as on/after ``start`` if its first day is; a mid-month start
        # therefore begins with the following month (we do not know birthdays within a month).
        if self.start.day > 1:
            start_index += 1
        return start_index - self.original_age_months


@dataclass(frozen=True)
class MinimumContributionSchedule:
    """Minimum contribution period for a monthly pension, by calendar year of retirement.

    ``base_years`` up to ``start_year - 1``; from ``start_year`` it rises by ``step_years`` each
    year (``base + step`` in ``start_year`` itself) until it reaches ``final_years``.

    Parameters
    ----------
    base_years : float
        Minimum before the increase [years] (15).
    start_year : int
        First calendar year with a higher minimum (2030).
    step_years : float
        Increase per calendar year [years] (0.5), positive.
    final_years : float
        Ceiling [years] (20), at least ``base_years``; equal to it means no increase.

    Raises
    ------
    InputError
        If a value is out of range (years in 0-50, a non-positive step, final below base).
    """

    base_years: float = 15.0
    start_year: int = 2030
    step_years: float = 0.5
    final_years: float = 20.0

    def __post_init__(self):
        set_ = object.__setattr__
        base = _check_real(self.base_years, "base_years", 0.0, 50.0, "[years]")
        set_(self, "base_years", base)
        set_(self, "start_year", _check_int(self.start_year, "start_year", _YEAR_MIN, _YEAR_MAX))
        step = _check_real(self.step_years, "step_years", 0.0, 50.0, "[years]")
        if step <= 0.0:
            raise InputError(
                "step_years must be positive (set final_years = base_years for no increase)",
                key="step_years",
                expected="a number in (0, 50] [years]",
            )
        set_(self, "step_years", step)
        set_(
            self,
            "final_years",
            _check_real(self.final_years, "final_years", base, 50.0, "[years] (not below base_years)"),
        )


#: The 2024 NPC Standing Committee decision, by category.
LAW_2024: dict[str, RetirementSchedule] = {
    "male": RetirementSchedule(60 * 12, 63 * 12, 4),
    "female_cadre": RetirementSchedule(55 * 12, 58 * 12, 4),
    "female_worker": RetirementSchedule(50 * 12, 55 * 12, 2),
}

#: Minimum contribution under the 2024 decision: 15 years, +6 months a year from 2030, 20 from 2039.
MINIMUM_CONTRIBUTION_2024 = MinimumContributionSchedule()


def no_delay() -> dict[str, RetirementSchedule]:
    """Counterfactual without the reform: every category keeps its original age.

    Returns
    -------
    dict of str to RetirementSchedule
        One schedule per category with ``target_age_months == original_age_months``.
    """
    return {
        category: RetirementSchedule(
            schedule.original_age_months,
            schedule.original_age_months,
            schedule.birth_months_per_step,
            schedule.start,
        )
        for category, schedule in LAW_2024.items()
    }


def _resolve(category, schedule) -> RetirementSchedule:
    category = _check_category(category)
    if schedule is None:
        return LAW_2024[category]
    # A mapping such as ``no_delay()`` or ``LAW_2024`` is accepted too, to save callers a lookup.
    if isinstance(schedule, Mapping):
        if category not in schedule:
            raise InputError(
                f"schedule mapping has no entry for category {category!r}",
                key="schedule",
                expected="a RetirementSchedule or a mapping with keys " + ", ".join(CATEGORIES),
            )
        schedule = schedule[category]
    if not isinstance(schedule, RetirementSchedule):
        raise InputError(
            f"schedule must be a RetirementSchedule, got {type(schedule).__name__}",
            key="schedule",
            expected="a RetirementSchedule, a mapping of category to one, or None",
        )
    return schedule


# --------------------------------------------------------------------------------------------
# Core arithmetic (shared by the scalar and vectorised functions, so they cannot disagree)
# --------------------------------------------------------------------------------------------


def _month_index(year, month):
    """Months since year 0: ``12 * year + month - 1``; works on ints and arrays."""
    return year * 12 + (month - 1)


def _age_months(birth_index, schedule: RetirementSchedule):
    """Statutory age [months] for birth month index(es); ints or int arrays."""
    k = np.asarray(birth_index, dtype=np.int64) - schedule.first_affected_birth_index
    # Floor division makes k in [-step, -1] give 0 and earlier births negative; the clip sends
    # both to "no delay", and caps the phase-in at the full delay.
    delay = np.clip(k // schedule.birth_months_per_step + 1, 0, schedule.max_delay_months)
    return schedule.original_age_months + delay


def _birth_args(birth_year, birth_month) -> tuple[int, int]:
    return (
        _check_int(birth_year, "birth_year", _YEAR_MIN, _YEAR_MAX),
        _check_int(birth_month, "birth_month", 1, 12),
    )


# --------------------------------------------------------------------------------------------
# Public functions
# --------------------------------------------------------------------------------------------


def statutory_retirement_age(category, birth_year, birth_month, schedule=None) -> tuple[int, int]:
    """Statutory retirement age of a birth month.

    Parameters
    ----------
    category : {"male", "female_cadre", "female_worker"}
        Category under the law (women cadres/staff retire originally at 55, workers at 50).
    birth_year : int
        Year of birth.
    birth_month : int
        Month of birth, 1-12.
    schedule : RetirementSchedule or mapping, optional
        Defaults to ``LAW_2024[category]``.

    Returns
    -------
    tuple of int
        ``(years, months)`` of age, ``months`` in 0-11.

    Raises
    ------
    InputError
        On an unknown category, a non-integer or out-of-range year or month.

    Examples
    --------
    >>> statutory_retirement_age("male", 1965, 1)
    (60, 1)
    """
    schedule = _resolve(category, schedule)
    year, month = _birth_args(birth_year, birth_month)
    return divmod(int(_age_months(_month_index(year, month), schedule)), 12)


def retirement_date(category, birth_year, birth_month, schedule=None) -> tuple[int, int]:
    """Calendar month in which a person reaches the statutory retirement age.

    The birth month plus the statutory age in months (the month of the birthday on which the age
    is reached).

    Parameters
    ----------
    category, birth_year, birth_month, schedule
        As in :func:`statutory_retirement_age`.

    Returns
    -------
    tuple of int
        ``(year, month)``, month 1-12.

    Examples
    --------
    >>> retirement_date("male", 1965, 1)
    (2025, 2)
    """
    schedule = _resolve(category, schedule)
    year, month = _birth_args(birth_year, birth_month)
    birth = _month_index(year, month)
    ret_year, ret_month0 = divmod(birth + int(_age_months(birth, schedule)), 12)
    return ret_year, ret_month0 + 1


def minimum_contribution_years(year, schedule=None) -> float:
    """Minimum contribution period for a monthly basic pension when retiring in ``year``.

    Parameters
    ----------
    year : int
        Calendar year of retirement.
    schedule : MinimumContributionSchedule, optional
        Defaults to :data:`MINIMUM_CONTRIBUTION_2024` (15 to 2029, 15.5 in 2030, ..., 20 from 2039).

    Returns
    -------
    float
        Minimum contribution [years].
    """
    year = _check_int(year, "year", _YEAR_MIN, _YEAR_MAX)
    if schedule is None:
        schedule = MINIMUM_CONTRIBUTION_2024
    if not isinstance(schedule, MinimumContributionSchedule):
        raise InputError(
            f"schedule must be a MinimumContributionSchedule, got {type(schedule).__name__}",
            key="schedule",
            expected="a MinimumContributionSchedule or None",
        )
    if year < schedule.start_year:
        return schedule.base_years
    steps = year - schedule.start_year + 1
    return min(schedule.final_years, schedule.base_years + steps * schedule.step_years)


def flexible_retirement_range(
    category, birth_year, birth_month, schedule=None
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Earliest and latest ages at which a person may choose to retire.

    Early: at most ``flex_early_months`` (3 years) before the statutory age and never below the
    original age, so cohorts not affected by the reform cannot retire early. Late: at most
    ``flex_late_months`` (3 years) after it. The law's further conditions (early retirement needs
    the minimum contribution; late retirement needs the employer's agreement) are not checked.

    Parameters
    ----------
    category, birth_year, birth_month, schedule
        As in :func:`statutory_retirement_age`.

    Returns
    -------
    tuple
        ``((earliest_years, earliest_months), (latest_years, latest_months))``.
    """
    schedule = _resolve(category, schedule)
    year, month = _birth_args(birth_year, birth_month)
    age = int(_age_months(_month_index(year, month), schedule))
    earliest = max(schedule.original_age_months, age - schedule.flex_early_months)
    latest = age + schedule.flex_late_months
    return divmod(earliest, 12), divmod(latest, 12)


def retirement_age_table(category, birth_years, schedule=None) -> np.ndarray:
    """Statutory ages for whole birth years, month by month.

    Parameters
    ----------
    category : {"male", "female_cadre", "female_worker"}
    birth_years : int or array-like of int, shape (n,)
        Years of birth.
    schedule : RetirementSchedule or mapping, optional
        Defaults to ``LAW_2024[category]``.

    Returns
    -------
    numpy.ndarray of int64, shape (n, 12)
        ``table[i, m - 1]`` is the statutory age [months] of people born in month ``m`` of
        ``birth_years[i]``; divide by 12 for [years].
    """
    schedule = _resolve(category, schedule)
    years = _check_int_array(birth_years, "birth_years", _YEAR_MIN, _YEAR_MAX).reshape(-1)
    births = _month_index(years[:, None], np.arange(1, 13, dtype=np.int64)[None, :])
    return _age_months(births, schedule).astype(np.int64)


def retired_share(category, birth_year, at_year, at_month=7, schedule=None):
    """Share of a birth-year cohort past its statutory retirement date at a given month.

    The twelve birth months are equally weighted. A birth month counts as retired if its
    retirement month (:func:`retirement_date`) is on or before ``(at_year, at_month)``, i.e. people
    are counted as retired from the first day of the month in which they reach the age; with the
    default ``at_month=7`` the share is as at 1 July (mid-year).

    Parameters
    ----------
    category : {"male", "female_cadre", "female_worker"}
    birth_year : int or array-like of int
        Year(s) of birth.
    at_year : int or array-like of int
        Calendar year(s) of observation; broadcast against ``birth_year``.
    at_month : int, default 7
        Calendar month of observation, 1-12.
    schedule : RetirementSchedule or mapping, optional
        Defaults to ``LAW_2024[category]``.

    Returns
    -------
    float or numpy.ndarray of float
        Share in [0, 1], a multiple of 1/12; a float if both years are scalars, else an array of
        the broadcast shape.
    """
    schedule = _resolve(category, schedule)
    births = _check_int_array(birth_year, "birth_year", _YEAR_MIN, _YEAR_MAX)
    at_years = _check_int_array(at_year, "at_year", _YEAR_MIN, _YEAR_MAX)
    at_month = _check_int(at_month, "at_month", 1, 12)
    birth_idx = _month_index(births[..., None], np.arange(1, 13, dtype=np.int64))
    retire_idx = birth_idx + _age_months(birth_idx, schedule)
    observed = _month_index(at_years, at_month)[..., None]
    share = np.mean(retire_idx <= observed, axis=-1)
    return float(share) if share.ndim == 0 else share


def share_retiring_by_age(category, calendar_year, ages, schedule=None) -> np.ndarray:
    """Share of each single-age group that reaches its statutory age during a calendar year.

    People aged ``a`` completed years at the start (1 January) of ``calendar_year`` are taken to
    be the birth cohort ``calendar_year - a - 1``, spread uniformly over its 12 birth months. The
    result is the share of that cohort whose retirement month falls in ``calendar_year``
    (January-December), i.e. ``retired_share(..., calendar_year, 12) -
    retired_share(..., calendar_year - 1, 12)``.

    Parameters
    ----------
    category : {"male", "female_cadre", "female_worker"}
    calendar_year : int
        Calendar year.
    ages : int or array-like of int
        Completed ages [years] at 1 January of ``calendar_year``, 0-150.
    schedule : RetirementSchedule or mapping, optional
        Defaults to ``LAW_2024[category]``.

    Returns
    -------
    numpy.ndarray of float
        Same shape as ``ages``; each value a multiple of 1/12 in [0, 1].
    """
    schedule = _resolve(category, schedule)
    calendar_year = _check_int(calendar_year, "calendar_year", _YEAR_MIN, _YEAR_MAX)
    ages = _check_int_array(ages, "ages", 0, 150)
    cohorts = calendar_year - ages - 1
    after = retired_share(category, cohorts, calendar_year, 12, schedule)
    before = retired_share(category, cohorts, calendar_year - 1, 12, schedule)
    return np.asarray(after, dtype=float) - np.asarray(before, dtype=float)

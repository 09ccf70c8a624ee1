"""Tests of the statutory retirement-age rules (socsec_proj.labour.retirement).

Expected values are derived here independently of the implementation: the month-by-month table is
built by walking through birth months and counting delays from hand-entered first affected
cohorts, and a few rows of the law's annexed comparison tables are entered literally.
"""

from __future__ import annotations

import datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socsec_proj.errors import InputError
from socsec_proj.labour.retirement import (
    LAW_2024,
    MinimumContributionSchedule,
    RetirementSchedule,
    flexible_retirement_range,
    minimum_contribution_years,
    no_delay,
    retired_share,
    retirement_age_table,
    retirement_date,
    share_retiring_by_age,
    statutory_retirement_age,
)

CATEGORIES = ("male", "female_cadre", "female_worker")

# Entered by hand from the decision (not read from the module): original age, final age [years],
# months of birth per month of delay, and the first birth month that would reach the original
# age on or after 2025-01-01.
LAW = {
    "male": dict(original=60, target=63, step=4, first=(1965, 1)),
    "female_cadre": dict(original=55, target=58, step=4, first=(1970, 1)),
    "female_worker": dict(original=50, target=55, step=2, first=(1975, 1)),
}


def walk_expected_ages(category, first_year=1960, last_year=1990):
    """Statutory age [months] per birth month, by walking month by month and counting delays.

    Before the first affected month: no delay. From it on, the delay goes up by one at the start of
    every block of ``step`` birth months until it reaches the full delay.
    """
    law = LAW[category]
    original = law["original"] * 12
    full_delay = (law["target"] - law["original"]) * 12
    expected = {}
    delay = 0
    months_in_block = 0  # birth months already seen in the current block of `step`
    affected = False
    for year in range(first_year, last_year + 1):
        for month in range(1, 13):
            if (year, month) == law["first"]:
                affected = True
            if affected:
                if months_in_block == 0 and delay < full_delay:
                    delay += 1
                months_in_block = (months_in_block + 1) % law["step"]
            expected[(year, month)] = original + delay
    return expected


def add_months(year, month, n):
    """(year, month) + n months, by stepping one month at a time (independent of divmod logic)."""
    for _ in range(n):
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return year, month


# ------------------------------------------------------------------------------------------
# The rule table
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_rule_table_1960_1990_month_by_month(category):
    expected = walk_expected_ages(category)
    mismatches = [
        (ym, statutory_retirement_age(category, *ym), divmod(age, 12))
        for ym, age in expected.items()
        if statutory_retirement_age(category, *ym) != divmod(age, 12)
    ]
    assert not mismatches, mismatches[:5]


@pytest.mark.parametrize("category", CATEGORIES)
def test_vectorised_table_matches_walk(category):
    expected = walk_expected_ages(category)
    table = retirement_age_table(category, np.arange(1960, 1991))
    assert table.shape == (31, 12)
    want = np.array([[expected[(y, m)] for m in range(1, 13)] for y in range(1960, 1991)])
    np.testing.assert_array_equal(table, want)


def test_walk_reaches_full_delay_where_the_law_says():
    # Guard on the test helper itself: the law's last phase-in cohorts.
    assert walk_expected_ages("male")[(1976, 8)] == 63 * 12 - 1
    assert walk_expected_ages("male")[(1976, 9)] == 63 * 12
    assert walk_expected_ages("female_worker")[(1984, 10)] == 55 * 12 - 1
    assert walk_expected_ages("female_worker")[(1984, 11)] == 55 * 12


@pytest.mark.parametrize(
    "category, birth, age",
    [
        ("male", (1965, 1), (60, 1)),
        ("male", (1964, 12), (60, 0)),
        ("male", (1965, 5), (60, 2)),
        ("male", (1976, 9), (63, 0)),
        ("male", (1976, 8), (62, 11)),
        ("male", (1990, 6), (63, 0)),
        # Man born 1971-03: k = (1971 - 1965) * 12 + (3 - 1) = 74 months after January 1965;
        # 74 // 4 = 18 completed blocks, + 1 for the block he is in = 19 months of delay;
        # 720 + 19 = 739 months = 61 years 7 months.
        ("male", (1971, 3), (61, 7)),
        ("female_cadre", (1970, 1), (55, 1)),
        ("female_cadre", (1969, 12), (55, 0)),
        ("female_cadre", (1981, 9), (58, 0)),
        ("female_cadre", (1981, 8), (57, 11)),
        ("female_worker", (1975, 1), (50, 1)),
        ("female_worker", (1975, 2), (50, 1)),
        ("female_worker", (1975, 3), (50, 2)),
        ("female_worker", (1974, 12), (50, 0)),
        ("female_worker", (1984, 11), (55, 0)),
        ("female_worker", (1984, 10), (54, 11)),
    ],
)
def test_hand_checked_ages(category, birth, age):
    assert statutory_retirement_age(category, *birth) == age


@pytest.mark.parametrize(
    "category, birth, date",
    [
        ("male", (1965, 1), (2025, 2)),
        ("male", (1964, 12), (2024, 12)),
        # 1971-03 + 61y7m: 1971 + 61 = 2032, March + 7 months = October.
        ("male", (1971, 3), (2032, 10)),
        ("female_cadre", (1970, 1), (2025, 2)),
        ("female_worker", (1984, 11), (2039, 11)),
    ],
)
def test_hand_checked_dates(category, birth, date):
    assert retirement_date(category, *birth) == date


# A few rows of the law's annexed comparison tables (附件1-3), entered literally:
# (category, first birth month, last birth month, age, first retirement month, last retirement month)
ANNEX_ROWS = [
    ("male", (1965, 1), (1965, 4), (60, 1), (2025, 2), (2025, 5)),
    ("male", (1965, 5), (1965, 8), (60, 2), (2025, 7), (2025, 10)),
    ("male", (1965, 9), (1965, 12), (60, 3), (2025, 12), (2026, 3)),
    ("female_cadre", (1970, 1), (1970, 4), (55, 1), (2025, 2), (2025, 5)),
    ("female_worker", (1975, 1), (1975, 2), (50, 1), (2025, 2), (2025, 3)),
    ("female_worker", (1975, 3), (1975, 4), (50, 2), (2025, 5), (2025, 6)),
]


@pytest.mark.parametrize("category, first, last, age, ret_first, ret_last", ANNEX_ROWS)
def test_annex_rows(category, first, last, age, ret_first, ret_last):
    assert statutory_retirement_age(category, *first) == age
    assert statutory_retirement_age(category, *last) == age
    assert retirement_date(category, *first) == ret_first
    assert retirement_date(category, *last) == ret_last


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

birth_months = st.tuples(st.integers(1900, 2100), st.integers(1, 12))


@settings(deadline=None)
@given(st.sampled_from(CATEGORIES), birth_months, birth_months)
def test_age_never_decreases_with_later_birth(category, a, b):
    early, late = sorted([a, b])
    age_early = statutory_retirement_age(category, *early)
    age_late = statutory_retirement_age(category, *late)
    assert age_early <= age_late  # (years, months) tuples compare like ages


@settings(deadline=None)
@given(st.sampled_from(CATEGORIES), birth_months)
def test_age_between_original_and_target(category, birth):
    law = LAW[category]
    age = statutory_retirement_age(category, *birth)
    assert (law["original"], 0) <= age <= (law["target"], 0)


@settings(deadline=None)
@given(st.sampled_from(CATEGORIES), birth_months)
def test_no_delay_gives_original_age(category, birth):
    schedules = no_delay()
    assert statutory_retirement_age(category, *birth, schedule=schedules[category]) == (
        LAW[category]["original"],
        0,
    )
    # A mapping of schedules is accepted directly.
    assert statutory_retirement_age(category, *birth, schedule=schedules) == (LAW[category]["original"], 0)


@settings(deadline=None)
@given(st.sampled_from(CATEGORIES), birth_months)
def test_retirement_date_is_birth_plus_age(category, birth):
    years, months = statutory_retirement_age(category, *birth)
    assert retirement_date(category, *birth) == add_months(*birth, 12 * years + months)


schedules = st.builds(
    lambda original, extra, step, start: RetirementSchedule(original, original + extra, step, start),
    st.integers(45 * 12, 65 * 12),
    st.integers(0, 10 * 12),
    st.integers(1, 12),
    st.dates(datetime.date(2000, 1, 1), datetime.date(2060, 12, 31)),
)


@settings(deadline=None)
@given(schedules, birth_months, birth_months)
def test_any_schedule_monotone_and_bounded(schedule, a, b):
    early, late = sorted([a, b])
    y0, m0 = statutory_retirement_age("male", *early, schedule=schedule)
    y1, m1 = statutory_retirement_age("male", *late, schedule=schedule)
    assert schedule.original_age_months <= 12 * y0 + m0 <= 12 * y1 + m1 <= schedule.target_age_months


@settings(deadline=None)
@given(schedules)
def test_any_schedule_first_affected_cohort(schedule):
    # The cohort whose original retirement month is the first one starting on/after `start` is
    # the first delayed (by one month, if there is any delay); the month before is not delayed.
    start = schedule.start
    first_retirement = (start.year, start.month) if start.day == 1 else add_months(start.year, start.month, 1)
    # Step back `original` months by hand.
    year, month = first_retirement
    for _ in range(schedule.original_age_months):
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    prev = (year, month - 1) if month > 1 else (year - 1, 12)
    to_months = lambda ym: 12 * ym[0] + ym[1]  # noqa: E731
    assert to_months(statutory_retirement_age("male", *prev, schedule=schedule)) == schedule.original_age_months
    delayed = to_months(statutory_retirement_age("male", year, month, schedule=schedule))
    assert delayed == schedule.original_age_months + min(1, schedule.max_delay_months)


def test_faster_and_unified_schedules():
    fast = RetirementSchedule(720, 756, 1)  # one month of delay per month of birth
    assert statutory_retirement_age("male", 1965, 1, schedule=fast) == (60, 1)
    assert statutory_retirement_age("male", 1965, 12, schedule=fast) == (61, 0)
    assert statutory_retirement_age("male", 1967, 12, schedule=fast) == (63, 0)
    # Women workers 50 → 60 at the law's pace (one month per two): 1990-01 is 180 months after
    # 1975-01, so 180 // 2 + 1 = 91 months of delay = 57y7m; 1994-11 is 238 months after, so
    # 238 // 2 + 1 = 120 months = the full 10 years (1994-10: 237 // 2 + 1 = 119).
    unified = RetirementSchedule(600, 720, 2)
    assert statutory_retirement_age("female_worker", 1990, 1, schedule=unified) == (57, 7)
    assert statutory_retirement_age("female_worker", 1994, 10, schedule=unified) == (59, 11)
    assert statutory_retirement_age("female_worker", 1994, 11, schedule=unified) == (60, 0)


# ------------------------------------------------------------------------------------------
# Minimum contribution
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "year, years",
    [(2000, 15.0), (2029, 15.0), (2030, 15.5), (2031, 16.0), (2035, 18.0), (2038, 19.5), (2039, 20.0), (2050, 20.0)],
)
def test_minimum_contribution_years(year, years):
    assert minimum_contribution_years(year) == years


def test_minimum_contribution_custom_schedule():
    flat = MinimumContributionSchedule(final_years=15.0)
    assert minimum_contribution_years(2050, flat) == 15.0
    quick = MinimumContributionSchedule(start_year=2026, step_years=1.0)
    assert [minimum_contribution_years(y, quick) for y in (2025, 2026, 2030, 2031)] == [15.0, 16.0, 20.0, 20.0]


@settings(deadline=None)
@given(st.integers(1900, 2200), st.integers(1900, 2200))
def test_minimum_contribution_monotone(a, b):
    lo, hi = sorted([a, b])
    assert 15.0 <= minimum_contribution_years(lo) <= minimum_contribution_years(hi) <= 20.0


# ------------------------------------------------------------------------------------------
# Flexible retirement
# ------------------------------------------------------------------------------------------


@settings(deadline=None)
@given(st.sampled_from(CATEGORIES), birth_months)
def test_flexible_range(category, birth):
    (ey, em), (ly, lm) = flexible_retirement_range(category, *birth)
    years, months = statutory_retirement_age(category, *birth)
    statutory = 12 * years + months
    earliest, latest = 12 * ey + em, 12 * ly + lm
    assert earliest >= LAW[category]["original"] * 12
    assert earliest >= statutory - 36
    assert earliest == max(LAW[category]["original"] * 12, statutory - 36)
    assert latest == statutory + 36
    assert 0 <= em < 12 and 0 <= lm < 12


def test_flexible_range_examples():
    # Fully phased-in man: 63 → may retire 60..66.
    assert flexible_retirement_range("male", 1980, 1) == ((60, 0), (66, 0))
    # Man born 1965-01 (60y1m): early floor is the original 60; late 63y1m.
    assert flexible_retirement_range("male", 1965, 1) == ((60, 0), (63, 1))
    # Female worker fully phased in (55): 52..58.
    assert flexible_retirement_range("female_worker", 1990, 1) == ((52, 0), (58, 0))


# ------------------------------------------------------------------------------------------
# Retired shares
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_retired_share_extremes(category):
    assert retired_share(category, 1970, 2000) == 0.0
    assert retired_share(category, 1970, 2060) == 1.0


def test_retired_share_hand_computed():
    # Men born 1965 at 1 July 2025 (at_month=7):
    #   Jan-Apr births, 60y1m → retire Feb-May 2025: 4 retired;
    #   May-Aug births, 60y2m → retire Jul-Oct 2025: only May (July) counts: 1;
    #   Sep-Dec births, 60y3m → retire Dec 2025-Mar 2026: 0.  Share = 5/12.
    assert retired_share("male", 1965, 2025) == pytest.approx(5 / 12)
    # Men born 1964 (age 60, no delay) at June 2024: Jan-Jun births → 6/12.
    assert retired_share("male", 1964, 2024, at_month=6) == pytest.approx(0.5)
    # Vectorised over birth years and observation years together.
    np.testing.assert_allclose(retired_share("male", [1964, 1965], [2024, 2025]), [7 / 12, 5 / 12])


@settings(deadline=None)
@given(st.sampled_from(CATEGORIES), st.integers(1950, 2000), st.integers(1990, 2070), st.integers(1990, 2070),
       st.integers(1, 12))
def test_retired_share_monotone_in_year(category, birth_year, y0, y1, month):
    lo, hi = sorted([y0, y1])
    a = retired_share(category, birth_year, lo, month)
    b = retired_share(category, birth_year, hi, month)
    assert 0.0 <= a <= b <= 1.0


@settings(deadline=None)
@given(st.sampled_from(CATEGORIES), st.integers(1950, 2000), st.integers(2000, 2070), st.integers(1, 12))
def test_retired_share_counts_birth_months(category, birth_year, at_year, at_month):
    count = sum(
        retirement_date(category, birth_year, m) <= (at_year, at_month) for m in range(1, 13)
    )
    assert retired_share(category, birth_year, at_year, at_month) == pytest.approx(count / 12)


def test_share_retiring_by_age():
    # Aged 59 at 1 January 2025 → born 1965: retirement months Feb-May, Jul-Oct, Dec 2025 fall in
    # 2025 (9 of 12); Jan-Mar 2026 do not.
    shares = share_retiring_by_age("male", 2025, [58, 59, 60])
    np.testing.assert_allclose(shares, [0.0, 9 / 12, 0.0])
    # Without delay, those aged 59 on 1 January 2025 (born 1965) all turn 60 during 2025, and
    # those aged 60 (born 1964) already did so in 2024.
    np.testing.assert_allclose(share_retiring_by_age("male", 2025, [59, 60], schedule=no_delay()), [1.0, 0.0])


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, names",
    [
        (lambda: statutory_retirement_age("man", 1965, 1), ["category", "male", "female_cadre", "female_worker"]),
        (lambda: statutory_retirement_age("male", 1965, 13), ["birth_month", "[1, 12]"]),
        (lambda: statutory_retirement_age("male", 1965, 0), ["birth_month", "[1, 12]"]),
        (lambda: statutory_retirement_age("male", 1965.0, 1), ["birth_year"]),
        (lambda: statutory_retirement_age("male", "1965", 1), ["birth_year"]),
        (lambda: statutory_retirement_age("male", 1965, True), ["birth_month"]),
        (lambda: retirement_date("female", 1965, 1), ["category"]),
        (lambda: flexible_retirement_range("male", 1965, 1.5), ["birth_month"]),
        (lambda: retirement_age_table("male", [1965.5]), ["birth_years"]),
        (lambda: retirement_age_table("other", [1965]), ["category"]),
        (lambda: retired_share("male", 1965, 2025, 13), ["at_month"]),
        (lambda: retired_share("male", 1965.0, 2025), ["birth_year"]),
        (lambda: minimum_contribution_years(2030.5), ["year"]),
        (lambda: statutory_retirement_age("male", 1965, 1, schedule="law"), ["schedule"]),
        (lambda: RetirementSchedule(720, 700, 4), ["target_age_months"]),
        (lambda: RetirementSchedule(720, 756, 0), ["birth_months_per_step"]),
        (lambda: RetirementSchedule(720, 756, -4), ["birth_months_per_step"]),
        (lambda: RetirementSchedule(60, 63, 4), ["original_age_months"]),
        (lambda: RetirementSchedule(720, 756, 4, "2025-01-01"), ["start"]),
        (lambda: MinimumContributionSchedule(step_years=0.0), ["step_years"]),
        (lambda: MinimumContributionSchedule(final_years=10.0), ["final_years"]),
    ],
)
def test_bad_input_raises_input_error(call, names):
    with pytest.raises(InputError) as info:
        call()
    message = str(info.value)
    for name in names:
        assert name in message
    assert isinstance(info.value, ValueError)


def test_schedules_are_frozen():
    with pytest.raises(Exception):
        LAW_2024["male"].target_age_months = 800  # type: ignore[misc]

"""The coverage step: insured workers and retirees of the urban-employee pension by cohort.

A numba kernel and its plain-numpy reference, held equal by ``tests/test_labour.py``.

Coverage is kept as shares of the resident population of a province, category and single age
(categories: 0 men, 1 women under the cadre/staff rule, 2 women under the worker rule):

- ``insured`` — insured workers (参保职工) not yet retired,
- ``retired`` — pensioners (离退休人员).

Below ``carry_age`` the insured share is the year's coverage level times the entry profile
times the share of the cohort not yet retired (people join, move and leave at those ages).
From ``carry_age`` on, shares follow their cohort: each year the insured who reach their
retirement age (the cohort's retired fraction rises from r to r') move to ``retired``, a
fraction (r' - r) / (1 - r) of those still insured. Late joiners: when the coverage level
changes from c to c', the insured share of every carried cohort not yet retired changes by
the same amount, (c' - c) x entry profile x (1 - r') (an enrolment drive reaches all ages; a
share stays at c' x entry profile x (1 - r') >= 0, and the step stays linear in the coverage
levels, which the calibration needs); nobody joins or leaves otherwise. The open age group merges two cohorts,
weighted by their populations.

Minimum contribution years (the 2024 NPC decision: 15, rising by six months a year from 2030 to
20). The model has no individual histories, but its late joiners are explicit: each carried
cohort keeps the late joiners of the last ``M`` years (``M`` = the largest minimum, rounded
up) in a ring of join-year slots, ``recent[c, j mod M, a]``; a late joiner of year j has
t - j years insured in year t. Entrants below ``carry_age`` and the base year's insured have
long careers (at least the minimum). When a cohort's insured reach their retirement age, the
same share ``leaving`` of every slot does; those whose years are below the minimum in force in
that year, ``minimum_years[t]``, do not draw yet: as the decision's 办法 allows
(延长缴费至满最低缴费年限) they keep contributing, counted as insured workers (``waiting[c, j
mod M, a]``), and retire and draw in the first year their years reach the minimum then in
force (so a rising minimum can keep them longer); whoever still waits at the open age draws
there. After ``M`` years a slot's joiners have at least every minimum and are no longer
tracked. A fall of the coverage level (a negative increment) takes the same proportion from
every part of a cohort's insured not yet retired, its late-joiner slots included; those
waiting are past their retirement age and are not touched. All of it is linear in the
coverage levels (a ratio of shares scales the slots), as the calibration needs.

Inputs and outputs are the named tuples :class:`CoverageInputs` and :class:`CoverageOutputs`
(``D`` draws, ``Y`` years, ``P`` provinces, ``C`` = 3 categories, ``A`` ages, ``S`` = 2 sexes):

- ``population[D, Y, P, S, A]`` residents of each draw [persons] (the population kernel's layout)
- ``retired_fraction[C, Y, A]`` share of the cohort aged a on 1 July of year y that has
  reached its retirement age [/1]
- ``leaving[C, Y, A]`` share of the insured of each cohort retiring in the year
  (:func:`leaving_fraction`) [/1]
- ``category_weight[P, C]`` share of the sex in each category (men 1; women: cadre, worker) [/1]
- ``coverage[P, Y]`` insured workers per resident below ``carry_age`` (times the entry profile) [/1]
- ``entry_profile[S, A]`` age profile of coverage (0 below the minimum working age) [/1]
- ``retired_level[P]`` share of the base year's retired cohorts drawing a pension [/1]
- ``minimum_years[Y]`` minimum contribution years in force in each year [years]; ``slots`` = ``M``
  (at least the largest minimum); ``recent_top``, ``waiting_top`` the oldest ages whose late
  joiners, and whose insured waiting for the minimum, can be non-zero (:func:`buffer_ages`;
  the kernel skips older ages, the reference tracks every age below the open one)
- ``resident_contribution[P, Y]``, ``resident_take_up[P]`` resident-pension contributors and
  beneficiaries per resident outside the employee scheme [/1], at the ages of
  ``contributing_mask[A]`` and ``pension_mask[A]`` (1 where they apply, else 0)

Outputs, by sex (the two categories of women added), in the layout ``[D, P, S, Y, A]``
[persons]: ``insured`` (those waiting for the minimum included), ``retired``,
``resident_contributors``, ``resident_beneficiaries`` (these two with no draws, size 0 in
their first axis, when only their totals are asked for);
totals ``[D, P, Y]``: ``insured_total``, ``retired_total`` and the residents outside the
employee scheme weighted by the two resident shares, ``outside_contributing`` and
``outside_old`` (what calibrating the resident shares needs), ``young_total`` the residents
younger than ``young_ages`` (an input, a whole age); and ``insured_share``,
``retired_share`` ``[P, S, Y, A]`` [/1], the shares of the residents insured and drawing a
pension, the same in every draw below the open age (each cube is its share times each draw's
population there), at the open age those of draw 0 (the open group merges two cohorts by each
draw's population): what the pension stock's continuing pensioners and the injury stock's
carried recipients follow (:func:`socsec_proj.funds._kernels.continuing_share`,
:func:`socsec_proj.funds.injury.carried_working_share`).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._accelerate import jit, kernel, prefetch_open_age, prefetch_row, row_sum

#: sex of each category
CATEGORY_SEX = np.array([0, 1, 1])
#: Years ahead whose residents' rows the cubes' writing asks the CPU for (``_accelerate.prefetch_row``).
PREFETCH_YEARS = 2
#: ... and of the open ages only, for the pass over each draw's open group: its year is a few
#: divisions (~40 ns), a miss of the population's row takes longer, so it asks further ahead.
OPEN_PREFETCH_YEARS = 4


def leaving_fraction(retired_fraction):
    """Share of last year's insured of each cohort who retire this year, by category, year, age.

    ``leaving[c, t, a]`` applies to the cohort aged ``a - 1`` in year ``t - 1`` (aged ``a`` in
    year ``t``); ``leaving[c, t, 0]`` to the open age group, which stays at the last age. The
    retired fraction of the cohort rises from r to r': (r' - r) / (1 - r) of those still
    insured retire, all of them once r' reaches 1, none in the base year. It depends on the
    schedules alone, so it is worked out once for all provinces.

    Parameters
    ----------
    retired_fraction : numpy.ndarray, shape (C, Y, A)
        [/1]

    Returns
    -------
    numpy.ndarray, shape (C, Y, A)
        [/1], in [0, 1]
    """
    r = np.asarray(retired_fraction, dtype=float)
    leaving = np.zeros_like(r)
    leaving[:, 1:, 1:] = _retiring_share(r[:, :-1, :-1], r[:, 1:, 1:])
    leaving[:, 1:, 0] = _retiring_share(r[:, :-1, -1], r[:, 1:, -1])
    return leaving


def _retiring_share(before, after):
    """(r' - r) / (1 - r) where the fraction rises, 1 once it reaches 1, else 0 [/1]."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rising = np.where((before < 1.0) & (after > before), (after - before) / (1.0 - before), 0.0)
    return np.where(after >= 1.0, 1.0, np.minimum(rising, 1.0))


def buffer_ages(retired_fraction, slots, carry_age):
    """Oldest ages whose late joiners (``recent_top``) and whose insured waiting for the minimum
    contribution (``waiting_top``) can be non-zero, below the open age.

    Late joiners are insured not yet retired: only at ages some cohort has not fully reached its
    retirement age, at most ``A_r`` = the oldest age with a retired fraction below 1 in any
    category and year. Those waiting arrive at most at ``A_r + 1`` and wait fewer than ``slots``
    years. Ages from ``carry_age`` on only (none if no such age).

    Returns
    -------
    tuple of int
        ``(recent_top, waiting_top)`` [years of age], each at most ``A - 2``.
    """
    r = np.asarray(retired_fraction)
    last = r.shape[-1] - 1
    below = np.nonzero((r < 1.0).any(axis=(0, 1)))[0]
    oldest = int(below[-1]) if len(below) else carry_age - 1
    oldest = max(oldest, carry_age - 1)
    return min(oldest, last - 1), min(oldest + int(slots), last - 1)


class CoverageInputs(NamedTuple):
    """Inputs of :func:`coverage_kernel` (see the module docstring; ``population`` is ``[D, Y, P, S, A]``)."""

    population: np.ndarray
    retired_fraction: np.ndarray
    leaving: np.ndarray
    category_weight: np.ndarray
    coverage: np.ndarray
    entry_profile: np.ndarray
    retired_level: np.ndarray
    carry_age: int
    minimum_years: np.ndarray
    slots: int
    recent_top: int
    waiting_top: int
    resident_contribution: np.ndarray
    contributing_mask: np.ndarray
    resident_take_up: np.ndarray
    pension_mask: np.ndarray
    young_ages: int


class CoverageOutputs(NamedTuple):
    """Outputs of :func:`coverage_kernel`: cubes ``[D, P, S, Y, A]``, totals ``[D, P, Y]`` [persons];
    ``insured_share``, ``retired_share`` ``[P, S, Y, A]`` [/1] (no draw axis: see the module docstring)."""

    insured: np.ndarray
    retired: np.ndarray
    resident_contributors: np.ndarray
    resident_beneficiaries: np.ndarray
    insured_total: np.ndarray
    retired_total: np.ndarray
    outside_contributing: np.ndarray
    outside_old: np.ndarray
    young_total: np.ndarray
    insured_share: np.ndarray
    retired_share: np.ndarray


@jit
def _empty_slots(n_cat, slots, n_age, low, high):
    """Join-year slots ``[C, slots, A]``, zero at the ages ``low .. high`` they are read at first."""
    values = np.empty((n_cat, slots, n_age))
    values[:, :, low:high + 1] = 0.0
    return values


@jit
def _join_slots(recent, slot_now, a, joined, insured):
    """This year's late joiners at age ``a`` into this year's slot, or, coverage falling, the same
    proportion of every slot leaving (slots of no joiner hold 0, or ages not read again)."""
    if joined > 0.0:
        recent[slot_now, a] += joined
    elif joined < 0.0:
        factor = 0.0
        if insured != 0.0:
            factor = (insured + joined) / insured
        for slot in range(recent.shape[0]):
            recent[slot, a] *= factor


@jit
def _age_slots(recent, waiting, extra, waiting_share, leaving, coverage, t, slot_now, minimum, first_carried,
               recent_top, waiting_top, last):
    """One category's join-year slots one year older (see the module docstring); True if any slot was
    worked on. ``recent``, ``waiting`` are ``[slots, A]``, ``extra`` (retiring beyond the usual
    flow) and ``waiting_share`` ``[A]``, ``leaving`` this year's ``[A]``, ``coverage`` the province's ``[Y]``."""
    slots = recent.shape[0]
    worked = False
    for k in range(1, slots + 1):
        j = t - k
        if j < 1:
            break
        if coverage[j] == coverage[j - 1]:
            continue
        slot = slot_now - k
        if slot < 0:
            slot += slots
        worked = True
        # the slot's people are aged from carry_age + k (they joined at carry_age or older) to
        # recent_top + k (joiners are not yet retired, those waiting wait < k years); only those
        # ages are current (the others are not read again before the slot is cleared)
        low = first_carried + k
        high = min(waiting_top, recent_top + k)
        if waiting_top == last - 1 and recent_top + k - 1 >= last - 1:
            extra[last] += waiting[slot, last - 1]  # still waiting at the open age: draw
        if k == slots:  # `slots` years insured: no longer tracked, whoever waited draws
            for a in range(low, high + 1):
                extra[a] += waiting[slot, a - 1]
            for a in range(first_carried - 1, waiting_top + 1):  # cleared for this year's joiners
                recent[slot, a] = 0.0
                waiting[slot, a] = 0.0
            continue
        short = k < minimum
        for a in range(high, low - 1, -1):  # downwards: a - 1 is last year's
            before = recent[slot, a - 1]
            arriving = before * leaving[a]
            waited = waiting[slot, a - 1]
            recent[slot, a] = before - arriving
            if short:
                waiting[slot, a] = waited + arriving
                waiting_share[a] += waited + arriving
                extra[a] -= arriving
            else:
                waiting[slot, a] = 0.0
                extra[a] += waited
    return worked


@jit
def coverage_kernel(inputs, outputs):
    """The coverage step of every province and draw (see the module docstring).

    The shares of a province do not depend on its draws but at the open age: the schedules,
    the coverage levels and the slots are the scenario's, and only the open group merges its
    two cohorts by each draw's population. So each province's shares are carried once, year
    after year, with the open age's shares carried per draw, and every draw's cubes are the
    shares times its population (the same operations on each element as one row at a time).
    A province's rows of every year are worked out first (draw-independent, 2 x 131 kB), then
    each draw's cubes are written year after year: a draw's rows follow one another in memory,
    where writing a year across all the draws of a chunk kept four output streams per draw
    open (stage, chunk of 32 on one thread, three alternating pairs: 3.15-3.36 -> 2.69-3.16 ms
    per draw; the same bits).
    """
    population, retired_fraction, leaving = inputs.population, inputs.retired_fraction, inputs.leaving
    category_weight, coverage, entry_profile = inputs.category_weight, inputs.coverage, inputs.entry_profile
    retired_level, carry_age = inputs.retired_level, inputs.carry_age
    minimum_years, slots = inputs.minimum_years, inputs.slots
    recent_top, waiting_top = inputs.recent_top, inputs.waiting_top
    resident_contribution, contributing_mask = inputs.resident_contribution, inputs.contributing_mask
    resident_take_up, pension_mask = inputs.resident_take_up, inputs.pension_mask
    young_ages = inputs.young_ages
    # outputs as locals: short names for the loops below
    insured, retired = outputs.insured, outputs.retired
    resident_contributors, resident_beneficiaries = outputs.resident_contributors, outputs.resident_beneficiaries
    insured_total, retired_total = outputs.insured_total, outputs.retired_total
    outside_contributing, outside_old = outputs.outside_contributing, outputs.outside_old
    insured_share, retired_share = outputs.insured_share, outputs.retired_share
    n_draws, n_years, n_prov, n_sex, n_age = population.shape
    n_cat = retired_fraction.shape[0]
    last = n_age - 1
    first_carried = max(carry_age, 1)
    open_rows_insured = np.empty((n_draws, n_years, n_sex))  # the open age of each draw's rows
    open_rows_retired = np.empty((n_draws, n_years, n_sex))
    for p in range(n_prov):  # provinces are independent
        # the province's shares at every age; at the open age, before its two cohorts merge
        share_insured = np.empty((n_cat, n_age))
        share_retired = np.empty((n_cat, n_age))
        previous_insured = np.empty((n_cat, n_age))
        previous_retired = np.empty((n_cat, n_age))
        # the open age's shares of the draw being written (draws are written one after the other),
        # and what joins there this year
        open_insured = np.empty(n_cat)
        open_retired = np.empty(n_cat)
        joined_open = np.empty(n_cat)
        joins_open = np.empty(n_cat)  # 1 where a category's coverage level changed this year
        # the rows by sex of every year (the open age filled per draw below), and what the open age of
        # each year needs: its shares before merging, what joins there, the waiting at the open age
        rows_insured = np.empty((n_years, n_sex, n_age))
        rows_retired = np.empty((n_years, n_sex, n_age))
        open_share_insured = np.empty((n_years, n_cat))
        open_share_retired = np.empty((n_years, n_cat))
        open_joined = np.empty((n_years, n_cat))
        open_joins = np.empty((n_years, n_cat))  # 1 where the level changed that year (joined_open added)
        open_waiting = np.empty((n_years, n_cat))
        # late joiners of the last `slots` years and those waiting for the minimum, by join-year slot;
        # only the ages the slots can reach are read before they are written: zero those alone
        recent = _empty_slots(n_cat, slots, n_age, first_carried - 1, waiting_top)
        waiting = _empty_slots(n_cat, slots, n_age, first_carried - 1, waiting_top)
        last_change = -slots - 1  # the last year the coverage level changed (none yet)
        # (only what is read before it is written is zeroed)
        waiting_share = _empty_slots(1, n_cat, n_age, 0, n_age - 1)[0]
        extra = _empty_slots(1, n_cat, n_age, 0, n_age - 1)[0]
        # whether a category's slots were worked on last year (else extra and waiting_share are still 0)
        dirty = np.empty(n_cat)
        for c in range(n_cat):
            dirty[c] = 0.0
        slot_now = 0  # t mod slots, counted (no division in the kernel)
        for t in range(n_years):
            if t > 0:
                slot_now = slot_now + 1 if slot_now + 1 < slots else 0
            changed = t > 0 and coverage[p, t] != coverage[p, t - 1]
            for c in range(n_cat):
                s = 0 if c == 0 else 1
                w = category_weight[p, c]
                if t == 0:
                    for a in range(n_age):
                        r = retired_fraction[c, 0, a]
                        share_insured[c, a] = w * coverage[p, 0] * entry_profile[s, a] * (1.0 - r)
                        share_retired[c, a] = w * retired_level[p] * r
                    continue
                for a in range(n_age):
                    previous_insured[c, a] = share_insured[c, a]
                    previous_retired[c, a] = share_retired[c, a]
                if dirty[c] != 0.0:
                    for a in range(n_age):
                        extra[c, a] = 0.0
                        waiting_share[c, a] = 0.0
                    dirty[c] = 0.0
                # the slots of the years the coverage level changed (the others hold nobody), one year
                # older: arrivals at the retirement age short of the minimum wait, waiting who reach it draw
                if t - last_change <= slots:
                    dirty[c] = _age_slots(recent[c], waiting[c], extra[c], waiting_share[c], leaving[c, t],
                                          coverage[p], t, slot_now, minimum_years[t], first_carried, recent_top,
                                          waiting_top, last)
                # cohorts from carry_age on: last year's shares, one year older, some retiring (at the open
                # age the cohort that turned ω, merged below with each draw's open group)
                for a in range(first_carried, n_age):
                    moving = previous_insured[c, a - 1] * leaving[c, t, a]
                    share_insured[c, a] = previous_insured[c, a - 1] - moving
                    share_retired[c, a] = previous_retired[c, a - 1] + moving + extra[c, a]
                # late joiners: a change of the coverage level reaches the carried cohorts not yet retired
                change = w * (coverage[p, t] - coverage[p, t - 1])
                joined_open[c] = 0.0
                joins_open[c] = 0.0
                if change != 0.0:
                    joins_open[c] = 1.0
                    for a in range(first_carried, n_age):
                        joined = change * entry_profile[s, a] * (1.0 - retired_fraction[c, t, a])
                        if a <= recent_top:
                            _join_slots(recent[c], slot_now, a, joined, share_insured[c, a])
                        if a < last:
                            share_insured[c, a] += joined
                        else:
                            joined_open[c] = joined
                # younger ages: this year's coverage of those not yet retired
                level = w * coverage[p, t]
                for a in range(min(carry_age, n_age)):
                    share_insured[c, a] = level * entry_profile[s, a] * (1.0 - retired_fraction[c, t, a])
                    share_retired[c, a] = 0.0
            if changed:
                last_change = t
            # the rows by sex below the open age, the same for every draw (loops without sums: vectorisable)
            row_insured = rows_insured[t]
            row_retired = rows_retired[t]
            for a in range(last):
                row_insured[0, a] = share_insured[0, a] + waiting_share[0, a]
                row_retired[0, a] = share_retired[0, a]
                row_insured[1, a] = share_insured[1, a] + share_insured[2, a] + waiting_share[1, a] \
                    + waiting_share[2, a]
                row_retired[1, a] = share_retired[1, a] + share_retired[2, a]
            for c in range(n_cat):
                open_share_insured[t, c] = share_insured[c, last]
                open_share_retired[t, c] = share_retired[c, last]
                open_joins[t, c] = joins_open[c] if t > 0 else 0.0
                open_joined[t, c] = joined_open[c] if t > 0 else 0.0
                open_waiting[t, c] = waiting_share[c, last]
        take_up = resident_take_up[p]
        # then each draw year by year: its open age (merged by the draw's population), and its cubes'
        # rows written one after the other (a draw at a time, not a year at a time across the draws:
        # 4 output streams instead of 4 per draw)
        for d in range(n_draws):
            for t in range(n_years):
                if t + OPEN_PREFETCH_YEARS < n_years:  # the open ages a few years on (a year here is short)
                    for s in range(n_sex):
                        prefetch_open_age(population[d, t + OPEN_PREFETCH_YEARS, p, s])
                for c in range(n_cat):
                    if t == 0:
                        open_insured[c] = open_share_insured[0, c]
                        open_retired[c] = open_share_retired[0, c]
                        continue
                    # the open group: the cohort that turned ω and the open group itself, by population
                    s = 0 if c == 0 else 1
                    insured_open = open_share_insured[t, c]
                    retired_open = open_share_retired[t, c]
                    below = population[d, t - 1, p, s, last - 1]
                    top = population[d, t - 1, p, s, last]
                    if below + top > 0.0:
                        moving = open_insured[c] * leaving[c, t, 0]
                        insured_open = (insured_open * below + (open_insured[c] - moving) * top) / (below + top)
                        retired_open = (retired_open * below + (open_retired[c] + moving) * top) / (below + top)
                    if open_joins[t, c] != 0.0:
                        insured_open += open_joined[t, c]
                    open_insured[c] = insured_open
                    open_retired[c] = retired_open
                open_rows_insured[d, t, 0] = open_insured[0] + open_waiting[t, 0]
                open_rows_retired[d, t, 0] = open_retired[0]
                open_rows_insured[d, t, 1] = open_insured[1] + open_insured[2] + open_waiting[t, 1] \
                    + open_waiting[t, 2]
                open_rows_retired[d, t, 1] = open_retired[1] + open_retired[2]
        # the shares by sex, the same for every draw below the open age; draw 0's at the open age
        for s in range(n_sex):
            for t in range(n_years):
                for a in range(last):
                    insured_share[p, s, t, a] = rows_insured[t, s, a]
                    retired_share[p, s, t, a] = rows_retired[t, s, a]
                insured_share[p, s, t, last] = open_rows_insured[0, t, s]
                retired_share[p, s, t, last] = open_rows_retired[0, t, s]
        _draw_rows(population, p, rows_insured, rows_retired, open_rows_insured, open_rows_retired,
                   resident_contribution[p], take_up, contributing_mask, pension_mask, insured, retired,
                   resident_contributors, resident_beneficiaries, insured_total, retired_total,
                   outside_contributing, outside_old, young_ages, outputs.young_total)


@jit(fastmath={"reassoc", "nsz"})
def _draw_rows(population, p, rows_insured, rows_retired, open_rows_insured, open_rows_retired, contribution,
               take_up, contributing_mask, pension_mask, insured, retired, resident_contributors,
               resident_beneficiaries, insured_total, retired_total, outside_contributing, outside_old,
               young_ages, young_total):
    """Province ``p``'s rows of every draw's insured and retired cubes (shares x residents, in the
    cubes' precision) and their four totals, and the residents below ``young_ages`` (read here
    with the rest: the stage's numpy sum of them was ~3 ms a chunk of 32 draws). A written row is
    summed by ``row_sum`` as ``accounts.sex_age_totals`` sums a cube (the same bits:
    ``member_totals`` may read the total or sum the cube). Without the resident cubes (a run with
    draws) their totals are summed as the values are worked out, no scratch rows written and read
    again: the same values, summed in another order (equal to ~1e-16). The written values are the
    plain loop's, bit for bit. Measured on a captured chunk of 32 draws, four alternating pairs: the
    kernel 1.07-1.41 ms per draw before (four rows written, two of them scratch, then four sums),
    0.92-1.08 with this; a function of its own for each row was slower than either (so the loops
    stay in one function)."""
    n_draws, n_years, _, n_sex, n_age = population.shape
    last = n_age - 1
    cast = insured.dtype.type
    resident_cubes = resident_contributors.shape[0] > 0
    for d in range(n_draws):
        for t in range(n_years):
            if t + PREFETCH_YEARS < n_years:  # the residents' rows a few years on: 25 kB apart
                for s in range(n_sex):
                    prefetch_row(population[d, t + PREFETCH_YEARS, p, s])
            totals_insured = 0.0
            totals_retired = 0.0
            totals_contributing = 0.0
            totals_old = 0.0
            resident_contributing = 0.0
            resident_old = 0.0
            young = 0.0
            paying = contribution[t]
            for s in range(n_sex):
                people = population[d, t, p, s]
                for a in range(young_ages):
                    young += people[a]
                ins_row = rows_insured[t, s]
                ret_row = rows_retired[t, s]
                ins_out = insured[d, p, s, t]
                ret_out = retired[d, p, s, t]
                for a in range(last):
                    ins = cast(ins_row[a] * people[a])
                    ret = cast(ret_row[a] * people[a])
                    ins_out[a] = ins
                    ret_out[a] = ret
                    outside = people[a] - ins - ret
                    outside = 0.0 if 0.0 > outside else outside  # max(outside, 0.0): a select LLVM vectorizes
                    totals_contributing += cast(outside * paying * contributing_mask[a])
                    totals_old += cast(outside * take_up * pension_mask[a])
                ins = cast(open_rows_insured[d, t, s] * people[last])
                ret = cast(open_rows_retired[d, t, s] * people[last])
                ins_out[last] = ins
                ret_out[last] = ret
                outside = max(people[last] - ins - ret, 0.0)
                totals_contributing += cast(outside * paying * contributing_mask[last])
                totals_old += cast(outside * take_up * pension_mask[last])
                # the rows just written (in the first-level cache) summed as accounts.sex_age_totals sums
                # a cube, the same bits: what member_totals reads is what it would have summed
                totals_insured += row_sum(ins_out)
                totals_retired += row_sum(ret_out)
                if resident_cubes:  # their rows, and their totals as sex_age_totals sums them (as above)
                    con_out = resident_contributors[d, p, s, t]
                    ben_out = resident_beneficiaries[d, p, s, t]
                    for a in range(n_age):
                        outside = max(people[a] - ins_out[a] - ret_out[a], 0.0)
                        con_out[a] = outside * paying * contributing_mask[a]
                        ben_out[a] = outside * take_up * pension_mask[a]
                    resident_contributing += row_sum(con_out)
                    resident_old += row_sum(ben_out)
            insured_total[d, p, t] = totals_insured
            retired_total[d, p, t] = totals_retired
            outside_contributing[d, p, t] = resident_contributing if resident_cubes else totals_contributing
            outside_old[d, p, t] = resident_old if resident_cubes else totals_old
            young_total[d, p, t] = young


def coverage_numpy(inputs, outputs):
    """Plain-numpy reference of :func:`coverage_kernel` (same arguments, same outputs).

    Vectorised over province, category and age; loops over draws and years.
    """
    for d in range(inputs.population.shape[0]):
        _coverage_numpy_one(inputs, outputs, d)


def _coverage_numpy_one(inputs, outputs, d):
    population, retired_fraction, leaving = inputs.population[d], inputs.retired_fraction, inputs.leaving
    category_weight, coverage, entry_profile = inputs.category_weight, inputs.coverage, inputs.entry_profile
    retired_level, carry_age = inputs.retired_level, inputs.carry_age
    minimum_years, slots = inputs.minimum_years, inputs.slots
    resident_contribution, contributing_mask = inputs.resident_contribution, inputs.contributing_mask
    resident_take_up, pension_mask = inputs.resident_take_up, inputs.pension_mask
    insured, retired = outputs.insured[d], outputs.retired[d]
    resident_cubes = outputs.resident_contributors.shape[0] > 0  # else the totals only, as the kernel
    if resident_cubes:
        resident_contributors, resident_beneficiaries = outputs.resident_contributors[d], outputs.resident_beneficiaries[d]
    insured_total, retired_total = outputs.insured_total[d], outputs.retired_total[d]
    outside_contributing, outside_old = outputs.outside_contributing[d], outputs.outside_old[d]
    n_years, n_prov, n_sex, n_age = population.shape
    last = n_age - 1
    weight = category_weight[:, :, None]                      # (P, C, 1)
    profile = entry_profile[CATEGORY_SEX][None]               # (1, C, A)
    pop = population[:, :, CATEGORY_SEX]                      # (Y, P, C, A)
    young = np.arange(n_age) < carry_age
    tracked = ~young & (np.arange(n_age) < last)              # ages with late-joiner slots
    r0 = retired_fraction[:, 0][None]                         # (1, C, A)
    share_insured = weight * coverage[:, 0, None, None] * profile * (1.0 - r0)
    share_retired = weight * retired_level[:, None, None] * r0
    # late joiners and those waiting for the minimum, by join-year slot (j mod slots): (P, C, M, A)
    recent = np.zeros(share_insured.shape[:2] + (slots, n_age))
    waiting = np.zeros_like(recent)
    for t in range(n_years):
        if t > 0:
            # years insured of each slot's joiners this year (slots: the slot about to take this year's)
            years_in = (t - np.arange(slots)) % slots
            years_in[years_in == 0] = slots
            short = (years_in < minimum_years[t])[:, None]                 # (M, 1)
            kept = (years_in < slots)[:, None]
            arriving = recent[..., :-1] * leaving[:, t, 1:][None, :, None, :]
            new_recent = np.zeros_like(recent)
            new_waiting = np.zeros_like(waiting)
            new_recent[..., 1:] = np.where(kept, recent[..., :-1] - arriving, 0.0)
            new_waiting[..., 1:] = np.where(short, waiting[..., :-1] + arriving, 0.0)
            extra = np.zeros_like(share_insured)
            extra[..., 1:] = (np.where(short, 0.0, waiting[..., :-1]) - np.where(short, arriving, 0.0)).sum(axis=2)
            # the open age keeps no slots: whoever still waits there draws, arrivals retire as usual
            extra[..., last] = waiting[..., last - 1].sum(axis=2)
            new_recent[..., ~tracked] = 0.0
            new_waiting[..., ~tracked] = 0.0
            # cohort a-1 last year is cohort a now
            moving = share_insured[..., :-1] * leaving[:, t, 1:][None]
            new_insured = share_insured.copy()
            new_retired = share_retired.copy()
            new_insured[..., 1:] = share_insured[..., :-1] - moving
            new_retired[..., 1:] = share_retired[..., :-1] + moving + extra[..., 1:]
            moving_top = share_insured[..., last] * leaving[:, t, 0][None]
            below, top = pop[t - 1, ..., last - 1], pop[t - 1, ..., last]
            both = below + top
            safe = np.where(both > 0, both, 1.0)
            merged_insured = (new_insured[..., last] * below + (share_insured[..., last] - moving_top) * top) / safe
            merged_retired = (new_retired[..., last] * below + (share_retired[..., last] + moving_top) * top) / safe
            new_insured[..., last] = np.where(both > 0, merged_insured, new_insured[..., last])
            new_retired[..., last] = np.where(both > 0, merged_retired, new_retired[..., last])
            # late joiners at the carried ages: the change of the coverage level, on those not yet retired;
            # a rise fills this year's slot, a fall takes the same proportion from every slot
            change = weight * (coverage[:, t] - coverage[:, t - 1])[:, None, None]
            joined = change * profile * (1.0 - retired_fraction[:, t][None])
            new_recent[:, :, t % slots] += np.where((change > 0) & tracked, joined, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                factor = np.where(new_insured != 0.0, (new_insured + joined) / new_insured, 0.0)
            new_recent *= np.where((change < 0) & tracked, factor, 1.0)[:, :, None, :]
            new_insured[..., ~young] = (new_insured + joined)[..., ~young]
            fresh = weight * coverage[:, t, None, None] * profile * (1.0 - retired_fraction[:, t][None])
            new_insured[..., young] = fresh[..., young]
            new_retired[..., young] = 0.0
            share_insured, share_retired = new_insured, new_retired
            recent, waiting = new_recent, new_waiting
        everyone = share_insured + waiting.sum(axis=2)             # insured workers, waiting included
        ins = np.stack([everyone[:, 0], everyone[:, 1] + everyone[:, 2]], axis=1)  # (P, S, A)
        ret = np.stack([share_retired[:, 0], share_retired[:, 1] + share_retired[:, 2]], axis=1)
        if d == 0:  # the same in every draw below the open age; draw 0's at the open age
            outputs.insured_share[:, :, t] = ins
            outputs.retired_share[:, :, t] = ret
        people = population[t]
        insured[:, :, t] = ins * people
        retired[:, :, t] = ret * people
        insured_total[:, t] = insured[:, :, t].sum(axis=(1, 2))
        retired_total[:, t] = retired[:, :, t].sum(axis=(1, 2))
        outside = np.maximum(people - ins * people - ret * people, 0.0)
        contributors = outside * (resident_contribution[:, t, None, None] * contributing_mask)
        beneficiaries = outside * (resident_take_up[:, None, None] * pension_mask)
        if resident_cubes:
            resident_contributors[:, :, t] = contributors
            resident_beneficiaries[:, :, t] = beneficiaries
            contributors, beneficiaries = resident_contributors[:, :, t], resident_beneficiaries[:, :, t]
        outside_contributing[:, t] = contributors.sum(axis=(1, 2))
        outside_old[:, t] = beneficiaries.sum(axis=(1, 2))
        outputs.young_total[d][:, t] = people[..., :inputs.young_ages].sum(axis=(1, 2), dtype=float)


coverage_engine = kernel(coverage_kernel, coverage_numpy)

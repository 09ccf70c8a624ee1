"""Fund kernel: the pensions in payment by cohort (the balance recursion is in :mod:`.accounts`).

The kernel has a plain-numpy reference of the same contract, held equal by
``tests/test_funds.py``.

``pension_stock``: the average monthly pension of the pensioners of each row (row ``d x P + p``
is province p of draw d), sex and age. Each year the pensioners who were already retired (one
year younger last year, :func:`continuing_pensioners`) keep their pension, raised by the
year's indexation; those newly retired bring the new pension of their cohort; the average at
each age is the mix, in the proportions :func:`continuing_share` works out from the labour
stage's shares of residents drawing a pension (the same in every draw). Inputs
(:class:`PensionStockInputs`): ``retirees[N, S, Y_all, A]`` of every year of the projection;
``population[D, Y_all, P, S, A]`` (the population stage's layout: the open age, which merges two
cohorts by each draw's population, reads it); ``continuing[P, S, Y_all, A]``
(:func:`continuing_share`); ``first`` the index of the first fund year; the new pension of each row, year and
age [CNY/month] (the same for both sexes) as the terms of :func:`new_pension_numpy`, which
the kernel evaluates where it uses them (a cube of new pensions per draw was 2 MB written and
read again, and its numpy assembly a third of the employee-pension stage); ``indexation[N, Y]``
[/1] of the fund years; ``base_benefit[N]`` the average pension of the first year [CNY/month].
Output ``expenditure[N, Y]`` = 12 x sum of pensioners x average pension [CNY/year].

The new pension of row n, fund year t and age a (:func:`new_pension_numpy`; the formula of
:func:`socsec_proj.funds.employee_pension.new_pension_formula`, linear in the wage and in the
account, so its per-unit terms are worked out once by year and age)::

    level[n] x ((paid[n, t] - paid[n, start[t, a]]) x per_account[t, a]
                + wages[n, 1] x account_first[t, a] + wages[n, t] x per_wage[p, t, a])
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .._accelerate import jit, kernel, prefetch_open_age, row_dot, row_sum

#: How many years ahead the pension stock asks for the residents at the open age
#: (:func:`~socsec_proj._accelerate.prefetch_open_age`).
PREFETCH_YEARS = 2


class PensionStockInputs(NamedTuple):
    """Inputs of :func:`pension_stock` (see the module docstring).

    Attributes
    ----------
    retirees : numpy.ndarray, shape (N, S, Y_all, A)
        Pensioners of every year [persons].
    population : numpy.ndarray, shape (D, Y_all, P, S, A)
        Residents [persons] (read at the open age only).
    continuing : numpy.ndarray, shape (P, S, Y_all, A)
        Share of each cohort's pensioners who were pensioners of it a year before, below the
        open age (:func:`continuing_share`) [/1].
    first : int
        Index of the first fund year in ``Y_all``.
    level : numpy.ndarray, shape (N,)
        Calibrated level of the new pensions [/1].
    wages : numpy.ndarray, shape (N, Y+1)
        Average wage, column 0 the year before the first fund year [CNY/month].
    paid : numpy.ndarray, shape (N, Y+1)
        Account contributions since the first fund year, discounted by the crediting [CNY].
    start : numpy.ndarray of int64, shape (Y, A)
        Column of ``paid`` at which the cohort's first contribution since the first fund year falls.
    per_account, account_first : numpy.ndarray, shape (Y, A)
        New pension per unit of ``paid`` and of the first fund year's wage [/month].
    per_wage : numpy.ndarray, shape (P, Y, A)
        New pension per unit of the wage of the year before, by province (row ``d x P + p``
        reads ``per_wage[p]``: each province's transitional coefficient) [/month].
    indexation : numpy.ndarray, shape (N, Y)
        [/1]
    base_benefit : numpy.ndarray, shape (N,)
        Average pension of the first fund year [CNY/month].
    """

    retirees: np.ndarray
    population: np.ndarray
    continuing: np.ndarray
    first: int
    level: np.ndarray
    wages: np.ndarray
    paid: np.ndarray
    start: np.ndarray
    per_account: np.ndarray
    account_first: np.ndarray
    per_wage: np.ndarray
    indexation: np.ndarray
    base_benefit: np.ndarray


def new_pension_numpy(level, wages, paid, start, per_account, account_first, per_wage):
    """New pensions ``[..., Y, A]`` [CNY/month] from their terms (see the module docstring);
    ``level``, ``wages`` and ``paid`` with any leading axes (``level`` broadcast to ``[..., 1, 1]``),
    ``per_wage`` ``[Y, A]`` or with the same leading axes (by province).

    The reference the kernel evaluates in the same order of operations, so both give the same bits.
    """
    formula = np.take(paid, start, axis=-1)                                          # (..., Y, A)
    np.subtract(paid[..., :-1, None], formula, out=formula)
    formula *= per_account
    formula += wages[..., 1][..., None, None] * account_first
    formula += wages[..., :-1, None] * per_wage
    return np.asarray(level)[..., None, None] * formula


@jit(error_model="numpy")
def pension_stock(inputs, expenditure):
    """The expenditure of every row, carrying each cohort's average pension by sex and age year by
    year (only the last two years' are kept: ~3 kB per row instead of a cube).

    Below the open age a cohort's average is ``m x (last year's average one year younger) x (1 +
    indexation) + (1 - m) x the new pension``, ``m`` the share of its pensioners continuing
    (``inputs.continuing``, :func:`continuing_share`: the same in every draw, so worked out once
    for all of them); its bill is its pensioners times that average. No division and no read of
    the population there: the continuing share from each draw's cubes, ``min(was / r x resident,
    now) / now``, was a division per cell and two population reads, and bounded this loop
    (captured chunk of 32 draws, one thread, three alternating pairs: 0.68-0.88 -> 0.43-0.44 ms per
    draw). The open age gathers two cohorts by each draw's population and pays the open group's own
    average, which is carried for it alone from the cubes; its residents, one row of the population
    cube 25 kB from the year before's, are asked for two years ahead (:data:`PREFETCH_YEARS`): a
    cache miss a year and sex was a third of the kernel on an AVX2 host (captured chunk, three
    alternating pairs: 1.42-1.44 -> 1.04-1.21 ms per draw; the same bits). Each row, year and sex
    is one pass over the ages, last year's averages read from the other of two buffers (so no age
    waits for the one before). Equal to :func:`pension_stock_numpy` up to rounding (~1e-15 a year).
    """
    retirees, population, continuing = inputs.retirees, inputs.population, inputs.continuing
    wages, account_paid, start = inputs.wages, inputs.paid, inputs.start
    per_account, account_first, per_wage = inputs.per_account, inputs.account_first, inputs.per_wage
    first = inputs.first
    n_rows, n_sex, _, n_age = retirees.shape
    n_prov = population.shape[2]
    n_years = inputs.indexation.shape[1]
    last = n_age - 1
    # each cohort's average pension [CNY/month]: [t % 2] this year's, [1 - t % 2] last year's
    average = np.empty((2, n_sex, n_age))
    open_average = np.empty(n_sex)      # the open group's average pension [CNY/month]
    new_benefit = np.empty(n_age)
    paid_before = np.empty(n_age)  # account contributions at each cohort's first column
    bill = np.empty(n_age)         # this year's pension bill of each cohort [CNY/month]
    for row in range(n_rows):
        d = row // n_prov
        p = row - d * n_prov
        level = inputs.level[row]
        total = 0.0
        for s in range(n_sex):
            now = retirees[row, s, first]
            for a in range(n_age):
                average[0, s, a] = inputs.base_benefit[row]
                bill[a] = now[a] * inputs.base_benefit[row]
            open_average[s] = inputs.base_benefit[row]
            total += row_sum(bill)
        expenditure[row, 0] = 12.0 * total
        for t in range(1, n_years):
            y = first + t
            this, then = average[t % 2], average[1 - t % 2]
            # the new pension of each age this year, as new_pension_numpy orders it (the gather
            # of each cohort's first column apart, so that the formula's loop is vectorized)
            for a in range(n_age):
                paid_before[a] = account_paid[row, start[t, a]]
            for a in range(n_age):
                formula = (account_paid[row, t] - paid_before[a]) * per_account[t, a]
                formula = formula + wages[row, 1] * account_first[t, a]
                formula = formula + wages[row, t] * per_wage[p, t, a]
                new_benefit[a] = level * formula
            raise_factor = 1.0 + inputs.indexation[row, t]
            if t + PREFETCH_YEARS < n_years:  # the residents at the open age two years on: 25 kB apart
                for s in range(n_sex):
                    prefetch_open_age(population[d, y + PREFETCH_YEARS, p, s])
            total = 0.0
            for s in range(n_sex):
                now = retirees[row, s, y]
                mix = continuing[p, s, y]
                before, average_now = then[s], this[s]
                average_now[0] = new_benefit[0]  # nobody of age 0 was a pensioner a year before
                for a in range(1, last):
                    average_now[a] = mix[a] * (before[a - 1] * raise_factor) + (1.0 - mix[a]) * new_benefit[a]
                # the open age: both oldest cohorts' pensioners of last year, at the open group's own average
                was = retirees[row, s, y - 1]
                resident_before = population[d, y - 1, p, s]
                both = resident_before[last - 1] + resident_before[last]
                share = (was[last - 1] + was[last]) / both if both > 0.0 else 0.0
                raised = open_average[s] * raise_factor
                continuing_open = min(share * population[d, y, p, s, last], now[last])
                bill_open = continuing_open * raised + (now[last] - continuing_open) * new_benefit[last]
                open_average[s] = bill_open / now[last] if now[last] > 0.0 else raised
                average_now[last] = open_average[s]
                # the bills: pensioners x average, summed as the reference sums them (vector adds)
                total += row_dot(now, average_now)
            expenditure[row, t] = 12.0 * total



def continuing_share(retiree_share, engine="numba"):
    """Share of each cohort's pensioners who were pensioners of it a year before, ``[P, S, Y, A]``
    [/1], from the labour stage's share of residents drawing a pension ``R[P, S, Y, A]``
    (``employee_pension_retiree_share``, every year).

    A cohort's pensioners of last year (one year younger) continue in the proportion of the
    cohort still resident, so per resident at last year's share ``R[t-1, a-1]``, never more than
    this year's ``R[t, a]`` (the rest are new): ``min(R[t-1, a-1], R[t, a]) / R[t, a]`` of this
    year's pensioners, 0 where ``R[t, a]`` is 0, in the first year and at age 0. With the
    pensioners ``R x residents`` this is the count :func:`continuing_pensioners` took from the
    cubes, ``min(was / residents before x residents, now)``, without its division by each draw's
    residents: ``R`` is the same in every draw. At the open age, where it is not (the open group
    merges two cohorts by each draw's population), 0: :func:`continuing_pensioners` and the
    kernel take the open age from the cubes. ``engine``: :func:`continuing_share_kernel` or its
    numpy reference (numpy took ~3 ms a chunk of draws, the kernel a tenth).
    """
    r = np.ascontiguousarray(retiree_share, dtype=float)
    share = np.empty(r.shape)
    continuing_share_engine(engine)(r, share)
    return share


@jit(error_model="numpy")
def continuing_share_kernel(retiree_share, share):
    """:func:`continuing_share` into ``share`` (``[P, S, Y, A]``, as ``retiree_share``)."""
    n_prov, n_sex, n_years, n_age = retiree_share.shape
    for p in range(n_prov):
        for s in range(n_sex):
            for a in range(n_age):
                share[p, s, 0, a] = 0.0
            for y in range(1, n_years):
                before, now, out = retiree_share[p, s, y - 1], retiree_share[p, s, y], share[p, s, y]
                out[0] = 0.0
                out[n_age - 1] = 0.0
                for a in range(1, n_age - 1):
                    kept = (before[a - 1] if before[a - 1] < now[a] else now[a]) / now[a]
                    out[a] = kept if now[a] > 0.0 else 0.0


def continuing_share_numpy(retiree_share, share):
    """Plain-numpy reference of :func:`continuing_share_kernel` (same arguments, same output)."""
    share[:] = 0.0
    before, now = retiree_share[..., :-1, :-2], retiree_share[..., 1:, 1:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        share[..., 1:, 1:-1] = np.where(now > 0.0, np.minimum(before, now) / now, 0.0)


continuing_share_engine = kernel(continuing_share_kernel, continuing_share_numpy)


def continuing_pensioners(retirees, population, continuing):
    """Pensioners already retired a year earlier, ``[..., P, S, Y, A]`` [persons].

    ``retirees[..., P, S, Y, A]`` (the labour layout), ``population[..., Y, P, S, A]`` and
    ``continuing[P, S, Y, A]`` (:func:`continuing_share`), any leading axes (draws) on the first
    two. Below the open age, this year's pensioners times their continuing share; the open age
    merges its two oldest cohorts: their pensioners of last year in the proportion of the two
    cohorts' residents still resident. Never more than this year's pensioners (the rest are new).
    """
    pop = np.moveaxis(population, -4, -2)                                 # (..., P, S, Y, A)
    out = continuing * retirees
    with np.errstate(divide="ignore", invalid="ignore"):
        both = pop[..., :-1, -2] + pop[..., :-1, -1]
        top_share = np.where(both > 0, (retirees[..., :-1, -2] + retirees[..., :-1, -1]) / both, 0.0)
    out[..., 1:, -1] = np.minimum(top_share * pop[..., 1:, -1], retirees[..., 1:, -1])
    return out


def pension_stock_numpy(inputs, expenditure):
    """Plain-numpy reference of :func:`pension_stock` (same arguments, same output)."""
    n_draws, _, n_prov = inputs.population.shape[:3]
    rows = inputs.retirees.shape
    retirees_all = inputs.retirees.reshape((n_draws, n_prov) + rows[1:])
    continuing = continuing_pensioners(retirees_all, inputs.population,
                                       inputs.continuing).reshape(rows)[:, :, inputs.first:]
    share = np.tile(inputs.continuing, (n_draws, 1, 1, 1))[:, :, inputs.first:]       # rows d x P + p
    retirees = inputs.retirees[:, :, inputs.first:]
    per_wage = np.tile(inputs.per_wage, (n_draws, 1, 1))                              # rows d x P + p
    new_benefit = new_pension_numpy(inputs.level, inputs.wages, inputs.paid, inputs.start, inputs.per_account,
                                    inputs.account_first, per_wage)                    # (N, Y, A)
    average = np.empty(retirees.shape)
    average[:, :, 0, :] = inputs.base_benefit[:, None, None]
    for t in range(1, retirees.shape[2]):
        previous = average[:, :, t - 1, :]
        before = np.concatenate([previous[..., :1], previous[..., :-2], previous[..., -1:]], axis=-1)
        raised = before * (1.0 + inputs.indexation[:, t, None, None])
        # below the open age: the mix in the continuing share (every cohort, even one with nobody);
        # the open age: its continuing and new pensioners' bill over its pensioners
        mixed = share[:, :, t] * raised + (1.0 - share[:, :, t]) * new_benefit[:, None, t]
        kept = continuing[:, :, t, -1] * raised[..., -1]
        joined = (retirees[:, :, t, -1] - continuing[:, :, t, -1]) * new_benefit[:, None, t, -1]
        with np.errstate(divide="ignore", invalid="ignore"):
            mixed[..., -1] = np.where(retirees[:, :, t, -1] > 0, (kept + joined) / retirees[:, :, t, -1],
                                      raised[..., -1])
        mixed[..., 0] = new_benefit[:, None, t, 0]
        average[:, :, t] = mixed
    expenditure[:] = 12.0 * (retirees * average).sum(axis=(1, 3))


pension_stock_engine = kernel(pension_stock, pension_stock_numpy)

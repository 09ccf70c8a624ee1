"""Fund kernel: the pensions in payment by cohort (the balance recursion is in :mod:`.accounts`).

The kernel has a plain-numpy reference of the same contract, held equal by
``tests/test_funds.py``.

``pension_stock``: the average monthly pension of the pensioners of each row (row ``d x P + p``
is province p of draw d), sex and age. Each year the pensioners who were already retired (one
year younger last year, :func:`continuing_pensioners`) keep their pension, raised by the
year's indexation; those newly retired bring the new pension of their cohort; the average at
each age is the mix. Inputs (:class:`PensionStockInputs`): ``retirees[N, S, Y_all, A]`` of
every year of the projection; ``population[D, Y_all, P, S, A]`` (the population stage's
layout); ``first`` the index of the first fund year; the new pension of each row, year and
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

from .._accelerate import jit, kernel, row_sum


class PensionStockInputs(NamedTuple):
    """Inputs of :func:`pension_stock` (see the module docstring).

    Attributes
    ----------
    retirees : numpy.ndarray, shape (N, S, Y_all, A)
        Pensioners of every year [persons].
    population : numpy.ndarray, shape (D, Y_all, P, S, A)
        Residents [persons].
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
    """The expenditure of every row, carrying what each cohort is paid by sex and age year by year
    (only the last two years' are kept: ~3 kB per row instead of a cube).

    A cohort's pensioners continuing from last year (one year younger) are ``c = min(was / r x
    resident, now)`` (``was`` last year's pensioners, ``r`` last year's residents of the cohort),
    paid last year's average ``P_before / was`` raised by the indexation; the rest are new. So
    this year's pension bill of the cohort is ``q x P_before x raise + (now - q x was) x new``
    with ``q = c / was = min(resident x was, now x r) / (r x was)``: one division per cell (the
    average and the mix were two, and a division is what bounds this loop), taken in every cell
    and selected where its divisor is positive (``error_model="numpy"``: no branch, so LLVM
    divides several ages at a time). The open age gathers two cohorts but pays the open group's
    own average, which is carried for it alone. Each row, year and sex is one pass over the ages,
    last year's bills read from the other of two buffers (so no age waits for the one before).
    Equal to :func:`pension_stock_numpy`'s averages up to rounding (~1e-15 a year).
    """
    retirees, population = inputs.retirees, inputs.population
    wages, account_paid, start = inputs.wages, inputs.paid, inputs.start
    per_account, account_first, per_wage = inputs.per_account, inputs.account_first, inputs.per_wage
    first = inputs.first
    n_rows, n_sex, _, n_age = retirees.shape
    n_prov = population.shape[2]
    n_years = inputs.indexation.shape[1]
    last = n_age - 1
    # each cohort's pension bill [CNY/month]: [t % 2] this year's, [1 - t % 2] last year's
    bill = np.empty((2, n_sex, n_age))
    open_average = np.empty(n_sex)      # the open group's average pension [CNY/month]
    new_benefit = np.empty(n_age)
    paid_before = np.empty(n_age)  # account contributions at each cohort's first column
    for row in range(n_rows):
        d = row // n_prov
        p = row - d * n_prov
        level = inputs.level[row]
        total = 0.0
        for s in range(n_sex):
            now = retirees[row, s, first]
            for a in range(n_age):
                bill[0, s, a] = now[a] * inputs.base_benefit[row]
            open_average[s] = inputs.base_benefit[row]
            total += row_sum(bill[0, s])
        expenditure[row, 0] = 12.0 * total
        for t in range(1, n_years):
            y = first + t
            this, then = bill[t % 2], bill[1 - t % 2]
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
            total = 0.0
            for s in range(n_sex):
                now = retirees[row, s, y]
                was = retirees[row, s, y - 1]
                resident_before = population[d, y - 1, p, s]
                resident = population[d, y, p, s]
                before, bill_now = then[s], this[s]
                bill_now[0] = now[0] * new_benefit[0]  # nobody of age 0 was a pensioner a year before
                for a in range(1, last):
                    r = resident_before[a - 1]
                    kept = was[a - 1]
                    below = r * kept
                    bound = resident[a] * kept
                    cap = now[a] * r
                    q = (bound if bound < cap else cap) / below  # min(): a call LLVM does not vectorize
                    q = q if below > 0.0 else 0.0
                    bill_now[a] = q * before[a - 1] * raise_factor + (now[a] - q * kept) * new_benefit[a]
                # the open age: both oldest cohorts' pensioners of last year, at the open group's own average
                both = resident_before[last - 1] + resident_before[last]
                share = (was[last - 1] + was[last]) / both if both > 0.0 else 0.0
                raised = open_average[s] * raise_factor
                continuing = min(share * resident[last], now[last])  # one cell: min() as before
                bill_now[last] = continuing * raised + (now[last] - continuing) * new_benefit[last]
                open_average[s] = bill_now[last] / now[last] if now[last] > 0.0 else raised
                total += row_sum(bill_now)
            expenditure[row, t] = 12.0 * total


def continuing_pensioners(retirees, population):
    """Pensioners already retired a year earlier, ``[..., P, S, Y, A]`` [persons].

    ``retirees[..., P, S, Y, A]`` (the labour layout) and ``population[..., Y, P, S, A]``, any
    leading axes (draws). A cohort's pensioners of last year, one year older, are its
    continuing pensioners this year, in the proportion of the cohort still resident; the open
    age merges its two cohorts. Never more than this year's pensioners (the rest are new).
    """
    pop = np.moveaxis(population, -4, -2)                                 # (..., P, S, Y, A)
    continuing = np.zeros_like(retirees)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pop[..., :-1, :-1] > 0, retirees[..., :-1, :-1] / pop[..., :-1, :-1], 0.0)
        continuing[..., 1:, 1:] = share * pop[..., 1:, 1:]
        both = pop[..., :-1, -2] + pop[..., :-1, -1]
        top_share = np.where(both > 0, (retirees[..., :-1, -2] + retirees[..., :-1, -1]) / both, 0.0)
    continuing[..., 1:, -1] = top_share * pop[..., 1:, -1]
    return np.minimum(continuing, retirees)


def pension_stock_numpy(inputs, expenditure):
    """Plain-numpy reference of :func:`pension_stock` (same arguments, same output)."""
    n_draws, _, n_prov = inputs.population.shape[:3]
    rows = inputs.retirees.shape
    retirees_all = inputs.retirees.reshape((n_draws, n_prov) + rows[1:])
    continuing = continuing_pensioners(retirees_all, inputs.population).reshape(rows)[:, :, inputs.first:]
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
        kept = continuing[:, :, t] * raised
        joined = (retirees[:, :, t] - continuing[:, :, t]) * new_benefit[:, None, t]
        with np.errstate(divide="ignore", invalid="ignore"):
            average[:, :, t] = np.where(retirees[:, :, t] > 0, (kept + joined) / retirees[:, :, t], raised)
    expenditure[:] = 12.0 * (retirees * average).sum(axis=(1, 3))


pension_stock_engine = kernel(pension_stock, pension_stock_numpy)

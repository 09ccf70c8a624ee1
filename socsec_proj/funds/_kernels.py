"""Fund kernels: the pensions in payment by cohort, and the fund's year-by-year accounts.

Each kernel has a plain-numpy reference of the same contract, held equal by
``tests/test_funds.py``.

``pension_stock``: the average monthly pension of the pensioners of each province, sex and
age. Each year the pensioners who were already retired (one year younger last year) keep
their pension, raised by the year's indexation; those newly retired bring the new pension of
their cohort; the average at each age is the mix. Inputs ``[P, S, Y, A]`` (the labour
stage's layout): ``retirees``, ``continuing`` (of them, those already retired a year ago),
``new_benefit`` [CNY/month]; ``indexation[P, Y]`` [/1]; ``base_benefit[P]`` the average
pension of the first year [CNY/month]. Output ``average[P, S, Y, A]`` and
``expenditure[P, Y]`` = 12 x sum of pensioners x average pension [CNY/year].

``fund_accounts``: B(t) = B(t-1) + contributions + subsidy + return x B(t-1) + pooling
transfer - expenditure, with the subsidy either a share of expenditure (``subsidy_share[P, Y]``)
or frozen at last year's amount (``frozen[Y]``). Inputs ``[P, Y]`` except ``opening[P]``
(balance at the end of the year before the first) and ``frozen[Y]``, ``rate_of_return[Y]``.
"""

from __future__ import annotations

import numpy as np

from .._accelerate import jit, row_sum


@jit
def pension_stock(retirees, continuing, new_benefit, indexation, base_benefit, average, expenditure):
    n_prov, n_sex, n_years, n_age = retirees.shape
    previous = np.empty(n_age)
    paid = np.empty(n_age)
    for p in range(n_prov):
        for t in range(n_years):
            total = 0.0
            for s in range(n_sex):
                if t == 0:
                    for a in range(n_age):
                        average[p, s, 0, a] = base_benefit[p]
                else:
                    raise_factor = 1.0 + indexation[p, t]
                    for a in range(n_age):
                        previous[a] = average[p, s, t - 1, a]
                    for a in range(n_age):
                        # those retired a year ago were one year younger (the open group keeps its own)
                        before = previous[a - 1] if a > 0 else previous[0]
                        if a == n_age - 1:
                            before = previous[a]
                        kept = continuing[p, s, t, a] * before * raise_factor
                        joined = (retirees[p, s, t, a] - continuing[p, s, t, a]) * new_benefit[p, s, t, a]
                        if retirees[p, s, t, a] > 0.0:
                            average[p, s, t, a] = (kept + joined) / retirees[p, s, t, a]
                        else:
                            average[p, s, t, a] = before * raise_factor
                for a in range(n_age):
                    paid[a] = retirees[p, s, t, a] * average[p, s, t, a]
                total += row_sum(paid)
            expenditure[p, t] = 12.0 * total


def pension_stock_numpy(retirees, continuing, new_benefit, indexation, base_benefit, average, expenditure):
    """Plain-numpy reference of :func:`pension_stock` (same arguments, same outputs)."""
    n_prov, n_sex, n_years, n_age = retirees.shape
    average[:, :, 0, :] = base_benefit[:, None, None]
    for t in range(1, n_years):
        previous = average[:, :, t - 1, :]
        before = np.concatenate([previous[..., :1], previous[..., :-2], previous[..., -1:]], axis=-1)
        raised = before * (1.0 + indexation[:, t, None, None])
        kept = continuing[:, :, t] * raised
        joined = (retirees[:, :, t] - continuing[:, :, t]) * new_benefit[:, :, t]
        with np.errstate(divide="ignore", invalid="ignore"):
            average[:, :, t] = np.where(retirees[:, :, t] > 0, (kept + joined) / retirees[:, :, t], raised)
    expenditure[:] = 12.0 * (retirees * average).sum(axis=(1, 3))


@jit
def fund_accounts(opening, contributions, expenditure, subsidy_share, pooling_transfer, rate_of_return, frozen,
                  subsidy, investment_income, balance):
    n_prov, n_years = contributions.shape
    for p in range(n_prov):
        previous = opening[p]
        for t in range(n_years):
            if frozen[t] and t > 0:
                subsidy[p, t] = subsidy[p, t - 1]
            else:
                subsidy[p, t] = subsidy_share[p, t] * expenditure[p, t]
            investment_income[p, t] = rate_of_return[t] * previous
            previous = (previous + contributions[p, t] + subsidy[p, t] + investment_income[p, t]
                        + pooling_transfer[p, t] - expenditure[p, t])
            balance[p, t] = previous


def fund_accounts_numpy(opening, contributions, expenditure, subsidy_share, pooling_transfer, rate_of_return, frozen,
                        subsidy, investment_income, balance):
    """Plain-numpy reference of :func:`fund_accounts` (same arguments, same outputs)."""
    previous = opening.astype(float).copy()
    for t in range(contributions.shape[1]):
        subsidy[:, t] = subsidy[:, t - 1] if (frozen[t] and t > 0) else subsidy_share[:, t] * expenditure[:, t]
        investment_income[:, t] = rate_of_return[t] * previous
        previous = (previous + contributions[:, t] + subsidy[:, t] + investment_income[:, t]
                    + pooling_transfer[:, t] - expenditure[:, t])
        balance[:, t] = previous

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

from .._accelerate import jit, prange, row_sum
from .pooling import BASE_SHARE_OF_WAGE


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


#: Schemes and quantities of :func:`draw_funds` outputs, in order.
DRAW_SCHEMES = ("employee_pension", "resident_pension", "unemployment", "injury")
DRAW_QUANTITIES = ("revenue", "expenditure", "balance", "months_of_reserve")


@jit(parallel=True)
def draw_funds(first, present, base_flows, base_members, opening, members, wage_ratio, returns, unemployment,
               pooled_share, frozen, out):
    """The four funds of many stochastic draws, scaled from the deterministic projection.

    Parameters
    ----------
    first : int
        Index of the first fund year (2024).
    present : int array [4]
        Which schemes the deterministic projection has (1) or not (0).
    base_flows : array [11, P, Y]
        Deterministic flows: 0 employee contributions, 1 employee expenditure, 2 employee subsidy,
        3 employee wage per insured worker [CNY/month], 4 resident contributions, 5 resident
        subsidy, 6 resident expenditure, 7 unemployment inflow (revenue less investment
        income), 8 unemployment expenditure, 9 injury inflow, 10 injury expenditure.
    base_members : array [4, P, Y]
        Deterministic insured workers, pensioners, resident contributors and beneficiaries.
    opening : array [4, P]
        Balances at the end of the year before the first fund year.
    members : array [D, Y, P, 4]
        The draws' members (the population kernel's ``weighted`` output).
    wage_ratio, returns, unemployment : arrays [D, Y]
        Each draw's wage index relative to the deterministic one, rate of return, and
        multiplier of unemployment inflow.
    pooled_share : array [Y]
        National pooling remittance share (0 when pooling is off).
    frozen : bool array [Y]
        Years whose employee-pension subsidy stays at the previous year's amount.
    out : array [4, 4, D, P, Y]
        Filled with revenue, expenditure, balance and months of reserve (NaN before ``first``
        and for absent schemes).
    """
    n_draws, n_years, n_prov = members.shape[0], members.shape[1], members.shape[2]
    for d in prange(n_draws):
        # national pooling of this draw, year by year: remittances on insured workers' wages,
        # shared out equally per retiree
        per_retiree = np.zeros(n_years)
        remitted = np.empty((n_prov, n_years))
        for t in range(first, n_years):
            remitted_total = 0.0
            retirees_total = 0.0
            for p in range(n_prov):
                remitted[p, t] = pooled_share[t] * base_flows[3, p, t] * wage_ratio[d, t] * 12.0 \
                    * BASE_SHARE_OF_WAGE * members[d, t, p, 0]
                remitted_total += remitted[p, t]
                retirees_total += members[d, t, p, 1]
            per_retiree[t] = remitted_total / retirees_total if retirees_total > 0.0 else 0.0
        # then each fund of each province along its years (the paths are written in order)
        for k in range(4):
            for p in range(n_prov):
                # NaN before the first fund year and for schemes the projection lacks
                for t in range(n_years if present[k] == 0 else first):
                    for q in range(4):
                        out[k, q, d, p, t] = np.nan
                if present[k] == 0:
                    continue
                balance = opening[k, p]
                subsidy_before = 0.0
                for t in range(first, n_years):
                    wage = wage_ratio[d, t]
                    if k == 0:
                        retired = _ratio(members[d, t, p, 1], base_members[1, p, t])
                        expenditure = base_flows[1, p, t] * retired
                        share = base_flows[2, p, t] / base_flows[1, p, t] if base_flows[1, p, t] > 0.0 else 0.0
                        subsidy = subsidy_before if (frozen[t] and t > first) else share * expenditure
                        subsidy_before = subsidy
                        inflow = (base_flows[0, p, t] * _ratio(members[d, t, p, 0], base_members[0, p, t]) * wage
                                  + subsidy + per_retiree[t] * members[d, t, p, 1] - remitted[p, t])
                    elif k == 1:
                        beneficiaries = _ratio(members[d, t, p, 3], base_members[3, p, t])
                        expenditure = base_flows[6, p, t] * beneficiaries
                        inflow = (base_flows[4, p, t] * _ratio(members[d, t, p, 2], base_members[2, p, t])
                                  + base_flows[5, p, t] * beneficiaries)
                    else:
                        workers = _ratio(members[d, t, p, 0], base_members[0, p, t]) * wage
                        if k == 2:
                            expenditure = base_flows[8, p, t] * workers * unemployment[d, t]
                            inflow = base_flows[7, p, t] * workers
                        else:
                            expenditure = base_flows[10, p, t] * workers
                            inflow = base_flows[9, p, t] * workers
                    income = returns[d, t] * balance
                    balance = balance + inflow + income - expenditure
                    out[k, 0, d, p, t] = inflow + income
                    out[k, 1, d, p, t] = expenditure
                    out[k, 2, d, p, t] = balance
                    out[k, 3, d, p, t] = balance / (expenditure / 12.0) if expenditure > 0.0 else np.nan


@jit
def _ratio(members, base):
    """A draw's members per deterministic member (1 where the deterministic run had none)."""
    return members / base if base > 0.0 else 1.0


def draw_funds_numpy(first, present, base_flows, base_members, opening, members, wage_ratio, returns, unemployment,
                     pooled_share, frozen, out):
    """Plain-numpy reference of :func:`draw_funds` (same arguments, same outputs), vectorised over draws and provinces."""
    n_draws, n_years, n_prov = members.shape[0], members.shape[1], members.shape[2]
    out[:] = np.nan
    by = np.moveaxis(members, 1, 2)                                                   # (D, P, Y, 4)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(np.moveaxis(base_members, 0, -1)[None] > 0, by / np.moveaxis(base_members, 0, -1)[None], 1.0)
        share = np.where(base_flows[1] > 0, base_flows[2] / base_flows[1], 0.0)
    balance = np.repeat(opening[:, None, :], n_draws, axis=1).astype(float)           # (4, D, P)
    subsidy_before = np.zeros((n_draws, n_prov))
    for t in range(first, n_years):
        wage = wage_ratio[:, t, None]
        rate = returns[:, t, None]
        remitted = pooled_share[t] * base_flows[3, :, t][None] * wage * 12.0 * BASE_SHARE_OF_WAGE * by[:, :, t, 0]
        retirees_total = by[:, :, t, 1].sum(axis=1, keepdims=True)
        per_retiree = np.divide(remitted.sum(axis=1, keepdims=True), retirees_total,
                                out=np.zeros_like(retirees_total), where=retirees_total > 0)
        r = ratios[:, :, t]                                                            # (D, P, 4)
        flows = {}
        expenditure = base_flows[1, :, t][None] * r[..., 1]
        subsidy = subsidy_before if (frozen[t] and t > first) else share[:, t][None] * expenditure
        subsidy_before = subsidy
        flows[0] = (base_flows[0, :, t][None] * r[..., 0] * wage + subsidy + per_retiree * by[:, :, t, 1] - remitted,
                    expenditure)
        flows[1] = (base_flows[4, :, t][None] * r[..., 2] + base_flows[5, :, t][None] * r[..., 3],
                    base_flows[6, :, t][None] * r[..., 3])
        flows[2] = (base_flows[7, :, t][None] * r[..., 0] * wage,
                    base_flows[8, :, t][None] * r[..., 0] * wage * unemployment[:, t, None])
        flows[3] = (base_flows[9, :, t][None] * r[..., 0] * wage, base_flows[10, :, t][None] * r[..., 0] * wage)
        for k in range(4):
            if not present[k]:
                continue
            inflow, spent = flows[k]
            income = rate * balance[k]
            balance[k] = balance[k] + inflow + income - spent
            out[k, 0, :, :, t] = inflow + income
            out[k, 1, :, :, t] = spent
            out[k, 2, :, :, t] = balance[k]
            with np.errstate(divide="ignore", invalid="ignore"):
                out[k, 3, :, :, t] = np.where(spent > 0, balance[k] / (spent / 12.0), np.nan)

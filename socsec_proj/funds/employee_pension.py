"""The urban-employee basic pension fund (城镇职工基本养老保险基金), per province and year.

The fund years run from the calibration year 2024 (the last yearbook) to the horizon; flows
are those of the calendar year, balances at its end. For every province:

Revenue (as the yearbook counts it) = contributions + fiscal subsidy + investment income +
the net transfer of national pooling, where

- contributions = insured workers x effective contribution factor x 12 x average wage x
  contribution base ratio x (employer rate + employee rate). The base ratio is the average
  contributor's base over the average wage (1 by definition of the average), bounded by the
  floor (60 %) and the cap (300 %); the effective factor (the share of the insured who pay,
  times collection) is calibrated;
- investment income = rate of return x the balance at the end of the previous year;
- the pooling transfer is computed by :mod:`socsec_proj.funds.pooling`;
- the subsidy is calibrated in 2024 and then follows ``employee_pension.subsidy_rule``.

Expenditure = 12 x the pensioners of each sex and age x their average pension, which
:func:`~socsec_proj.funds._kernels.pension_stock` carries by cohort: pensions in payment are
indexed (``employee_pension.indexation_rule``), new pensioners bring the pension of their
cohort from the national formula (:func:`benefit_formula`).

Calibration to 2024 (the yearbook, 表24-26), per province:

- the average pension of 2024 is expenditure / (retirees x 12), and the new pensions of every
  later cohort are the formula's, scaled so that 2024's new pensioners get 2024's average;
- the balance at the end of 2023 is the 2024 balance less 2024's revenue net of expenditure,
  and 2024's investment income is the return on it;
- revenue less investment income and the pooling transfer is split between contributions
  and subsidy. No provincial split is published in the shipped data, so one rule is used:
  every province contributes with its implied effective factor (that revenue over the
  contribution capacity) but at most the median implied factor of the provinces whose fund
  was in surplus in 2024; the subsidy is the rest. Provinces below the median receive no
  subsidy; the rest receive what their revenue shows beyond typical contributions.
"""

from __future__ import annotations

import datetime

import numpy as np
import xarray as xr

from ..inputs import data
from ..variables import add
from . import _kernels, accounts, pooling
from .accounts import FUND_BASE_YEAR, indexation, wage_path

__all__ = ["FUND_BASE_YEAR", "benefit_formula", "annuity_divisor_at", "wage_path", "indexation",
           "continuing_and_new", "new_pension_formula", "project_employee_pension"]

#: The individual accounts started in 1997 (国发〔1997〕26号); service before it counts as
#: deemed contribution years (视同缴费年限) for the transitional pension.
ACCOUNTS_START_YEAR = 1997


def benefit_formula(average_wage, own_index, years, account_balance, divisor, deemed_years=0.0,
                    accrual=0.01, transitional_coefficient=0.012):
    """The monthly pension of a new retiree by the national formula (国发〔2005〕38号).

    Parameters
    ----------
    average_wage : array_like
        Provincial average wage of the year before retirement [CNY/month].
    own_index : array_like
        The retiree's average contribution index (own base / average wage) [/1].
    years : array_like
        Contribution years, deemed years included [years].
    account_balance : array_like
        Individual-account balance at retirement [CNY].
    divisor : array_like
        Months divisor for the retirement age [months].
    deemed_years : array_like
        Service before the individual accounts [years].
    accrual : float
        Basic pension per contribution year [/1] (1 %).
    transitional_coefficient : float
        Transitional pension per deemed year [/1] (provincial, commonly 1.0 %-1.4 %).

    Returns
    -------
    basic, account, transitional : numpy.ndarray
        [CNY/month]: (average wage + own indexed wage) / 2 x years x accrual; balance /
        divisor; average wage x own index x deemed years x coefficient.
    """
    average_wage = np.asarray(average_wage, dtype=float)
    basic = (average_wage + average_wage * own_index) / 2.0 * years * accrual
    account = np.asarray(account_balance, dtype=float) / divisor
    transitional = average_wage * own_index * deemed_years * transitional_coefficient
    return basic, account, transitional


def annuity_divisor_at(age_years):
    """Months divisor for a retirement age [years], linear between whole ages of the table."""
    ages, divisors = data.annuity_divisor()
    return np.interp(age_years, ages, divisors)


#: Pensioners already retired a year earlier (kept under its former name).
continuing_and_new = _kernels.continuing_pensioners


def new_pension_formula(parameters, years, wages, n_age, entry_age):
    """The formula pension of a new retiree aged a in year t, before calibration [CNY/month].

    Careers are full from the minimum working age (the calibration scales the level, so only
    the formula's changes across cohorts and years matter): contribution years = age - entry
    age, deemed years = those before 1997, the account = 8 % of the average wage for each
    year since 1997. Before 2024 the account is taken to have been credited at the wage's
    growth (0.96 x wage of 2024 x years), after at ``employee_pension.account_crediting_rate``.

    ``wages`` is :func:`wage_path`'s ``[..., P, Y+1]`` (any leading axes, e.g. draws).

    Returns
    -------
    numpy.ndarray, shape (..., P, Y, A)
    """
    ages = np.arange(n_age) + 0.5                      # retiring during the year of age
    accrual = accounts.national(parameters, "employee_pension.basic_pension_accrual", years)
    coefficient = accounts.national(parameters, "employee_pension.transitional_pension_coefficient", years)
    employee_rate = accounts.national(parameters, "employee_pension.employee_rate", years)
    crediting = accounts.national(parameters, "employee_pension.account_crediting_rate", years)
    # the account of a member who paid in every year since 2024 (index 0): A(k) = G(k) [A(0) + Q(k)],
    # G(k) the crediting since 2024, Q(k) the contributions discounted by it (credited at year end)
    g_full = np.concatenate([[1.0], np.cumprod(1.0 + crediting)])                      # (Y+1,)
    paid_in = 12.0 * employee_rate * wages[..., 1:]                                    # (..., P, Y)
    q_full = np.concatenate([np.zeros(paid_in.shape[:-1] + (1,)), np.cumsum(paid_in / g_full[1:], axis=-1)], axis=-1)
    birth = np.asarray(years)[:, None] - np.arange(n_age)[None, :]                     # (Y, A)
    entry = birth + entry_age
    # years in the account by 2024, valued at the 2024 wage (credited at the wage's growth before)
    before = np.clip(FUND_BASE_YEAR - np.maximum(ACCOUNTS_START_YEAR, entry), 0, None)
    k = np.arange(len(years))[:, None]
    start = np.minimum(np.clip(entry - FUND_BASE_YEAR, 0, None), k).astype(int)       # first year paid in
    years_paid = np.clip(ages - entry_age, 0, None)[None, :]                 # (1, A)
    deemed = np.clip(ACCOUNTS_START_YEAR - entry, 0, None)
    deemed = np.minimum(deemed, years_paid)
    # The formula is linear in the wage and in the account: evaluated once per unit (Y, A), then
    # scaled by each province's (and draw's) wages and accounts in a few passes over the cube.
    basic, per_balance, transitional = benefit_formula(1.0, 1.0, years_paid, 1.0, annuity_divisor_at(ages),
                                                       deemed, accrual[:, None], coefficient[:, None])
    per_wage = basic + transitional                                                    # (Y, A)
    per_account = g_full[:-1, None] * per_balance                                      # (Y, A)
    account_2024 = (12.0 * employee_rate[0]) * before * per_account                    # (Y, A)
    formula = np.take(q_full, start, axis=-1)                                          # (..., P, Y, A)
    np.subtract(q_full[..., :-1, None], formula, out=formula)
    formula *= per_account
    formula += wages[..., 1][..., None, None] * account_2024
    formula += wages[..., :-1, None] * per_wage
    return formula


def project_employee_pension(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Urban-employee pension fund stage: Dataset in (population, labour), Dataset out.

    Adds, per province and fund year (2024 on; earlier years NaN): ``employee_pension_revenue``,
    ``_contributions``, ``_subsidy``, ``_investment_income``, ``_pooling_transfer``,
    ``_expenditure``, ``_balance``, ``_months_of_reserve``, ``_average_benefit``,
    ``_covered_payroll``; per province the calibrated ``_contribution_factor`` and
    ``_subsidy_share``.

    With a ``draw`` dimension every draw runs the same rules on its own members, wages
    (``driver_wage``: contributions, new pensions, pooling and wage-linked indexation follow
    them), CPI (``driver_cpi``) and returns (``driver_return``). The calibration reads 2024 only,
    which no draw changes, so draw 0 calibrates. ``engine`` picks the kernels or their numpy
    references.
    """
    parameters = scenario.parameters
    all_years, first = accounts.fund_years(ds)
    years = all_years[first:]
    provinces = list(ds["province"].values)
    retirees_all = accounts.members(ds, "employee_pension_retirees")                # (D, P, S, Y_all, A)
    population = accounts.population(ds)                                             # (D, Y_all, P, S, A)
    workers = accounts.members(ds, "employee_pension_contributors")[..., first:, :].sum(axis=(2, 4))  # (D, P, Y)
    retirees = retirees_all[..., first:, :]
    retirees_total = retirees.sum(axis=(2, 4))                                       # (D, P, Y)
    n_draws, n_prov, n_sex, n_years, n_age = retirees.shape

    wages = accounts.fund_wages(ds, parameters, first)                              # (D, P, Y+1)
    national_wage = wages.sum(axis=1)                                                # (D, Y+1)
    growth = national_wage[:, 1:] / national_wage[:, :-1] - 1.0                      # (D, Y)
    index = indexation(parameters, years, growth, accounts.driver(ds, "cpi")[:, first:])
    entry_age = float(parameters.get("labour.minimum_working_age").at(datetime.date(FUND_BASE_YEAR, 7, 1)))
    formula = new_pension_formula(parameters, years, wages, n_age, entry_age)      # (D, P, Y, A)

    yearbook = data.yearbook_employee_pension().loc[provinces]
    base_benefit = yearbook["fund_expenditure"].to_numpy() / (retirees_total[0, :, 0] * 12.0)
    # new pensioners of 2024 (draw 0: 2024 is the same in every draw), (P, S, A)
    joining = retirees[0, :, :, 0] - continuing_and_new(retirees_all[0, ..., first - 1:first + 1, :],
                                                        population[0, first - 1:first + 1])[:, :, 1]
    weights = joining.sum(axis=1)
    mean_formula = (weights * formula[0, :, 0]).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)
    level = base_benefit / mean_formula
    new_benefit = level[:, None, None] * formula                                      # (D, P, Y, A), both sexes

    stock = _kernels.PensionStockInputs(
        retirees=np.ascontiguousarray(retirees_all).reshape((n_draws * n_prov,) + retirees_all.shape[2:]),
        population=np.ascontiguousarray(population), first=first,
        new_benefit=np.ascontiguousarray(np.broadcast_to(new_benefit, (n_draws, n_prov, n_years, n_age))
                                         .reshape(n_draws * n_prov, n_years, n_age)),
        indexation=np.ascontiguousarray(np.broadcast_to(index[:, None, :], (n_draws, n_prov, n_years))
                                        .reshape(n_draws * n_prov, n_years)),
        base_benefit=np.tile(base_benefit, n_draws))
    expenditure = np.empty((n_draws * n_prov, n_years))
    _kernels.pension_stock_engine(engine)(stock, expenditure)
    expenditure = expenditure.reshape(n_draws, n_prov, n_years)

    # contributions per unit of the effective factor
    # (P, Y): the employer rate and the base bounds may differ by province (issue #17 item 5);
    # the employee rate is national by law (国发〔2005〕38号)
    employer = accounts.by_province(parameters, "employee_pension.employer_rate", years, provinces)
    employee = accounts.national(parameters, "employee_pension.employee_rate", years)
    floor = accounts.by_province(parameters, "employee_pension.contribution_base_floor", years, provinces)
    cap = accounts.by_province(parameters, "employee_pension.contribution_base_cap", years, provinces)
    base_ratio = np.clip(1.0, floor, cap)
    payroll = workers * 12.0 * wages[..., 1:]                                         # covered payroll (D, P, Y)
    capacity = payroll * base_ratio * (employer + employee)
    transfer = pooling.transfers(parameters, years, workers, retirees_total, wages[..., 1:])
    rate = accounts.investment_return(ds, parameters, first)                          # (D, Y)

    # the 2024 revenue split (the same in every draw: read from draw 0)
    revenue_2024 = yearbook["fund_revenue"].to_numpy()
    opening = accounts.opening_balance(yearbook)
    own_revenue = revenue_2024 - rate[0, 0] * opening - transfer[0, :, 0]
    surplus = revenue_2024 >= yearbook["fund_expenditure"].to_numpy()
    implied = own_revenue / capacity[0, :, 0]
    typical = float(np.median(implied[surplus])) if surplus.any() else float(np.median(implied))
    factor = np.minimum(implied, typical)
    subsidy_2024 = own_revenue - factor * capacity[0, :, 0]
    subsidy_share = subsidy_2024 / expenditure[0, :, 0]
    contributions = factor[:, None] * capacity

    frozen = np.array([str(rule) == "frozen" for rule in parameters.get("employee_pension.subsidy_rule").annual(years)])
    subsidy_scale = accounts.national(parameters, "employee_pension.subsidy_scale", years)
    # 2024 is the calibration: the scale applies from 2025 on
    shares = subsidy_share[:, None] * np.concatenate([[1.0], subsidy_scale[1:]])[None, :]
    subsidy, income, balance = accounts.accounts(opening, contributions, expenditure, rate[:, None, :], shares,
                                                 transfer, frozen, engine=engine)
    revenue = contributions + subsidy + income + transfer
    with np.errstate(divide="ignore", invalid="ignore"):
        average_benefit = np.where(retirees_total > 0, expenditure / (12.0 * retirees_total), np.nan)

    def padded(values):  # fund years -> all years, NaN before the fund's first
        return accounts.padded(values, len(all_years), first)

    coords = {"province": provinces, "year": all_years}
    return add(ds, {
        "employee_pension_revenue": padded(revenue),
        "employee_pension_contributions": padded(contributions),
        "employee_pension_subsidy": padded(subsidy),
        "employee_pension_investment_income": padded(income),
        "employee_pension_pooling_transfer": padded(transfer),
        "employee_pension_expenditure": padded(expenditure),
        "employee_pension_balance": padded(balance),
        "employee_pension_months_of_reserve": padded(accounts.reserve_months(balance, expenditure)),
        "employee_pension_average_benefit": padded(average_benefit),
        "employee_pension_covered_payroll": padded(payroll),
        "employee_pension_contribution_factor": factor,
        "employee_pension_subsidy_share": subsidy_share,
    }, coords)

"""The urban-employee basic pension fund (城镇职工基本养老保险基金), per province and year.

The fund years run from 2020 (:data:`~socsec_proj.funds.accounts.FUND_FIRST_YEAR`: the years
2020-2023 are the model's backcast, held against the bulletins) to the horizon, calibrated to
the last yearbook, 2024; flows are those of the calendar year, balances at its end. For every
province:

Revenue (as the yearbook counts it) = contributions + fiscal subsidy + investment income +
the net transfer of national pooling, where

- contributions = insured workers x effective contribution factor x 12 x average wage x
  contribution base ratio x (employer rate + employee rate). The base ratio is the average
  contributor's base over the average wage: own wages lognormal of mean 1
  (``employee_pension.wage_dispersion``), each bounded by the floor (60 %) and the cap
  (300 %), :func:`contribution_base_ratio`; the effective factor (the share of the insured who
  pay, times collection) is calibrated;
- investment income = rate of return x the balance at the end of the previous year;
- the pooling transfer is computed by :mod:`socsec_proj.funds.pooling`;
- the subsidy (central + local) is calibrated in 2024 as a share of expenditure, the same in
  every year to 2024; from 2025 it follows ``employee_pension.subsidy_rule`` and
  ``employee_pension.subsidy_scale``, its central part in the 2024 proportion.

Expenditure = 12 x the pensioners of each sex and age x their average pension, which
:func:`~socsec_proj.funds._kernels.pension_stock` carries by cohort: pensions in payment are
indexed (``employee_pension.indexation_rule``), new pensioners bring the pension of their
cohort from the national formula (:func:`benefit_formula`).

Calibration to 2024 (the yearbook, 表24-26), per province:

- the average pension of 2024 is expenditure / (retirees x 12), and the new pensions of every
  later cohort are the formula's, scaled so that 2024's new pensioners get 2024's average;
- the pensions in payment of 2020 are 2024's average deflated by the increases of 2021-2024;
  stock and new pensions are then scaled together (expenditure is linear in them) so that
  2024's expenditure is the yearbook's exactly;
- the balance at the end of 2023 is the 2024 balance less 2024's revenue net of expenditure,
  and 2024's investment income is the return on it; the balance at the end of 2019 is the one
  that gives it after 2020-2023 (:func:`~socsec_proj.funds.accounts.opening_for`);
- the central subsidy: the Ministry of Finance's 2023 central subsidy to both pension schemes
  less the resident scheme's central part
  (:func:`~socsec_proj.funds.accounts.resident_central_subsidy`), over the provinces in
  proportion to their 2023 expenditure x :func:`~socsec_proj.funds.accounts.central_weight`
  (half the rate in the east; the provincial split is not published);
- revenue less investment income, the pooling transfer and the central subsidy is split
  between contributions and the local subsidy. No provincial split is published in the
  shipped data, so one rule is used: every province contributes with its implied effective
  factor (that revenue over the contribution capacity) but at most the median implied factor
  of the provinces whose fund was in surplus in 2024; the local subsidy is the rest (it holds
  the budgets' payments for government and public-institution members, which the data do not
  separate).
"""

from __future__ import annotations

import datetime
import functools
import math

import numpy as np
import xarray as xr

from ..errors import InputError
from ..inputs import data
from ..inputs.provinces import CODES
from ..variables import add
from . import _kernels, accounts, pooling
from .accounts import FUND_BASE_YEAR, indexation, wage_path

__all__ = ["FUND_BASE_YEAR", "benefit_formula", "annuity_divisor_at", "wage_path", "indexation",
           "continuing_and_new", "new_pension_formula", "new_pension_terms", "project_employee_pension"]

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


_ERFC = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(x):
    """The standard normal distribution function, Phi(x) = erfc(-x / sqrt(2)) / 2 [/1], element
    by element (the C library's ``erfc``: within 2e-16 of ``scipy.special.ndtr``, tested, whose
    import cost 0.19 s on the way to a command's first projection; ``scipy.stats`` ~0.8 s)."""
    return 0.5 * np.asarray(_ERFC(-np.asarray(x, dtype=float) / math.sqrt(2.0)), dtype=float)


def contribution_base_ratio(floor, cap, dispersion):
    """Average contribution base over the average wage [/1]: E[min(max(W, floor), cap)] for own
    wages W lognormal of mean 1 and log standard deviation ``dispersion`` (floor and cap in
    multiples of the average wage).

    Closed form: floor x P(W < floor) + E[W; floor <= W <= cap] + cap x P(W > cap), with
    E[W; W < x] = Phi((ln x - s^2/2) / s) for mean 1.
    A dispersion of 0 gives min(max(1, floor), cap).
    """
    floor, cap, s = (np.asarray(v, dtype=float) for v in (floor, cap, dispersion))
    if np.all(s == 0):
        return np.clip(1.0, floor, cap)
    s = np.where(s > 0, s, 1e-12)
    mu = -0.5 * s**2                                           # mean 1

    def below(x):       # P(W < x)
        return normal_cdf((np.log(x) - mu) / s)

    def mass_below(x):  # E[W; W < x]
        return normal_cdf((np.log(x) - mu - s**2) / s)

    with np.errstate(divide="ignore"):  # a floor of 0: log 0 = -inf, P = 0
        return floor * below(floor) + (mass_below(cap) - mass_below(floor)) + cap * (1.0 - below(cap))


@functools.lru_cache(maxsize=64)
def _base_ratio(floor, cap, dispersion, years: tuple, provinces: tuple) -> np.ndarray:
    """:func:`contribution_base_ratio` of the parameters' annual values ``[P, Y]`` (read-only),
    memoised on the (immutable) parameters as :func:`.accounts.by_province` is: the same in
    every chunk of a stochastic run, and its ~10,000 ``erfc`` calls were ~1 ms of each."""
    ratio = contribution_base_ratio(accounts.parameter_by_province(floor, years, provinces),
                                    accounts.parameter_by_province(cap, years, provinces),
                                    accounts.parameter_national(dispersion, years))
    ratio.setflags(write=False)
    return ratio


def annuity_divisor_at(age_years):
    """Months divisor for a retirement age [years], linear between whole ages of the table."""
    ages, divisors = data.annuity_divisor()
    return np.interp(age_years, ages, divisors)


#: Pensioners already retired a year earlier (kept under its former name).
continuing_and_new = _kernels.continuing_pensioners


def new_pension_formula(parameters, years, wages, n_age, entry_age, provinces):
    """The formula pension of a new retiree aged a in year t, before calibration [CNY/month].

    :func:`new_pension_terms` put together by :func:`._kernels.new_pension_numpy` (level 1);
    the pension-stock kernel evaluates the same terms where it uses them.

    Careers are full from the minimum working age (the calibration scales the level, so only
    the formula's changes across cohorts and years matter): contribution years = age - entry
    age, deemed years = those before 1997, the account = 8 % of the average wage for each
    year since 1997. Before the first of ``years`` the account is taken to have been credited at the wage's
    growth (0.96 x wage of the first year x years), after at ``employee_pension.account_crediting_rate``.

    ``wages`` is :func:`wage_path`'s ``[..., P, Y+1]`` (any leading axes, e.g. draws).

    Returns
    -------
    numpy.ndarray, shape (..., P, Y, A)
    """
    terms = new_pension_terms(parameters, years, wages, n_age, entry_age, provinces)
    return _kernels.new_pension_numpy(1.0, wages, *terms)


def new_pension_terms(parameters, years, wages, n_age, entry_age, provinces):
    """The terms of :func:`new_pension_formula` (see :mod:`._kernels`): ``paid [..., P, Y+1]``
    from ``wages``, and ``start`` (int64), ``per_account``, ``account_first``, each ``[Y, A]``, and
    ``per_wage [P, Y, A]`` (the transitional coefficient is each province's): the formula per unit
    of the account, the first fund year's wage and the wage."""
    ages = np.arange(n_age) + 0.5                      # retiring during the year of age
    accrual = accounts.national(parameters, "employee_pension.basic_pension_accrual", years)
    # each province sets its own transitional coefficient (issue #17 item 5): (P, Y)
    coefficient = accounts.by_province(parameters, "employee_pension.transitional_pension_coefficient", years,
                                       provinces)
    employee_rate = accounts.national(parameters, "employee_pension.employee_rate", years)
    crediting = accounts.national(parameters, "employee_pension.account_crediting_rate", years)
    # the account of a member who paid in every year since the first (index 0): A(k) = G(k) [A(0) + Q(k)],
    # G(k) the crediting since then, Q(k) the contributions discounted by it (credited at year end)
    g_full = np.concatenate([[1.0], np.cumprod(1.0 + crediting)])                      # (Y+1,)
    paid_in = 12.0 * employee_rate * wages[..., 1:]                                    # (..., P, Y)
    q_full = np.concatenate([np.zeros(paid_in.shape[:-1] + (1,)), np.cumsum(paid_in / g_full[1:], axis=-1)], axis=-1)
    birth = np.asarray(years)[:, None] - np.arange(n_age)[None, :]                     # (Y, A)
    entry = birth + entry_age
    # years in the account by the first year, valued at its wage (credited at the wage's growth before)
    first_year = int(years[0])
    before = np.clip(first_year - np.maximum(ACCOUNTS_START_YEAR, entry), 0, None)
    k = np.arange(len(years))[:, None]
    start = np.minimum(np.clip(entry - first_year, 0, None), k).astype(int)           # first year paid in
    years_paid = np.clip(ages - entry_age, 0, None)[None, :]                 # (1, A)
    deemed = np.clip(ACCOUNTS_START_YEAR - entry, 0, None)
    deemed = np.minimum(deemed, years_paid)
    # The formula is linear in the wage and in the account: evaluated once per unit (Y, A), then
    # scaled by each province's (and draw's) wages and accounts in a few passes over the cube.
    basic, per_balance, transitional = benefit_formula(1.0, 1.0, years_paid, 1.0, annuity_divisor_at(ages),
                                                       deemed, accrual[:, None], coefficient[:, :, None])
    per_wage = np.ascontiguousarray(basic + transitional)                              # (P, Y, A)
    per_account = g_full[:-1, None] * per_balance                                      # (Y, A)
    account_first = (12.0 * employee_rate[0]) * before * per_account                   # (Y, A)
    return q_full, np.ascontiguousarray(start, dtype=np.int64), per_account, account_first, per_wage


def project_employee_pension(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Urban-employee pension fund stage: Dataset in (population, labour), Dataset out.

    Adds, per province and fund year (2020 on; earlier years NaN): ``employee_pension_revenue``,
    ``_contributions``, ``_subsidy``, ``_central_subsidy``, ``_local_subsidy``, ``_investment_income``,
    ``_pooling_transfer``,
    ``_expenditure``, ``_balance``, ``_months_of_reserve``, ``_average_benefit``,
    ``_covered_payroll``; per province the calibrated ``_contribution_factor`` and
    ``_subsidy_share``.

    With a ``draw`` dimension every draw runs the same rules on its own members, wages
    (``driver_wage``: contributions, new pensions, pooling and wage-linked indexation follow
    them), CPI (``driver_cpi``) and returns (``driver_return``). The calibration reads 2020-2024 only,
    which no draw changes, so draw 0 calibrates. ``engine`` picks the kernels or their numpy
    references.
    """
    parameters = scenario.parameters
    all_years, first = accounts.fund_years(ds, accounts.FUND_FIRST_YEAR)
    years = all_years[first:]
    cal = int(np.searchsorted(years, FUND_BASE_YEAR))                                # 2024 among the fund years
    provinces = list(ds.variables["province"].values)
    # the scheme's members by province and year, summed once for every fund stage after
    ds = accounts.with_member_totals(ds, ("employee_pension_contributors", "employee_pension_retirees"), engine)
    retirees_all = accounts.members(ds, "employee_pension_retirees")                # (D, P, S, Y_all, A)
    population = accounts.population(ds)                                             # (D, Y_all, P, S, A)
    # of each cohort's pensioners, those continuing from last year: the same in every draw (P, S, Y_all, A)
    continuing = _kernels.continuing_share(accounts.labour_share(ds, "employee_pension_retiree_share"), engine)
    workers = accounts.member_totals(ds, "employee_pension_contributors", first, engine)  # (D, P, Y)
    retirees = retirees_all[..., first:, :]
    retirees_total = accounts.member_totals(ds, "employee_pension_retirees", first, engine)  # (D, P, Y)
    n_draws, n_prov, n_sex, n_years, n_age = retirees.shape

    wages = accounts.fund_wages(ds, parameters, first)                              # (D, P, Y+1)
    national_wage = wages.sum(axis=1)                                                # (D, Y+1)
    growth = national_wage[:, 1:] / national_wage[:, :-1] - 1.0                      # (D, Y)
    index = indexation(parameters, years, growth, accounts.driver(ds, "cpi")[:, first:])
    entry_age = float(parameters.get("labour.minimum_working_age").at(datetime.date(FUND_BASE_YEAR, 7, 1)))
    terms = new_pension_terms(parameters, years, wages, n_age, entry_age, provinces)  # paid (D, P, Y+1); (Y, A)

    # Calibration of the pensions: the new pensions of 2024 average the 2024 yearbook's average
    # pension, the first year's stock has it deflated by the indexation since; then both scale
    # (the stock is linear in them) so that 2024's expenditure is the yearbook's exactly.
    yearbook = accounts.yearbook_funds(data.yearbook_employee_pension(), provinces)
    benefit_2024 = yearbook["fund_expenditure"] / (retirees_total[0, :, cal] * 12.0)
    at_2024 = first + cal
    joining = retirees[0, :, :, cal] - continuing_and_new(retirees_all[0, ..., at_2024 - 1:at_2024 + 1, :],
                                                          population[0, at_2024 - 1:at_2024 + 1],
                                                          continuing[:, :, at_2024 - 1:at_2024 + 1])[:, :, 1]
    weights = joining.sum(axis=1)
    # the formula of 2024 (draw 0): the terms cut to the years up to 2024 (paid and wages to one more column)
    paid, start, per_account, account_first, per_wage = terms
    upto = cal + 1
    formula_2024 = _kernels.new_pension_numpy(1.0, wages[0, :, :upto + 1], paid[0, :, :upto + 1], start[:upto],
                                              per_account[:upto], account_first[:upto], per_wage[:, :upto])[:, cal]
    mean_formula = (weights * formula_2024).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-12)   # (P,)
    level = benefit_2024 / mean_formula
    base_benefit = benefit_2024 / np.prod(1.0 + index[0, 1:cal + 1])

    def rows(values):  # (D or 1, P, ...) -> (D x P, ...), contiguous
        values = np.broadcast_to(values, (n_draws, n_prov) + values.shape[2:])
        return np.ascontiguousarray(values).reshape((n_draws * n_prov,) + values.shape[2:])

    stock = _kernels.PensionStockInputs(
        retirees=np.ascontiguousarray(retirees_all).reshape((n_draws * n_prov,) + retirees_all.shape[2:]),
        population=np.ascontiguousarray(population), continuing=continuing, first=first,
        level=np.tile(level, n_draws),
        wages=rows(wages), paid=rows(paid), start=start, per_account=np.ascontiguousarray(per_account),
        account_first=np.ascontiguousarray(account_first), per_wage=np.ascontiguousarray(per_wage),
        indexation=rows(np.broadcast_to(index[:, None, :], (index.shape[0], n_prov, n_years))),
        base_benefit=np.tile(base_benefit, n_draws))
    expenditure = np.empty((n_draws * n_prov, n_years))
    _kernels.pension_stock_engine(engine, work=expenditure.size)(stock, expenditure)
    expenditure = expenditure.reshape(n_draws, n_prov, n_years)
    expenditure *= (yearbook["fund_expenditure"] / expenditure[0, :, cal])[:, None]

    # contributions per unit of the effective factor
    # (P, Y): the employer rate and the base bounds may differ by province (issue #17 item 5);
    # the employee rate is national by law (国发〔2005〕38号)
    employer = accounts.by_province(parameters, "employee_pension.employer_rate", years, provinces)
    employee = accounts.national(parameters, "employee_pension.employee_rate", years)
    base_ratio = _base_ratio(parameters.get("employee_pension.contribution_base_floor"),
                             parameters.get("employee_pension.contribution_base_cap"),
                             parameters.get("employee_pension.wage_dispersion"), accounts.year_key(years),
                             tuple(provinces))
    payroll = workers * 12.0 * wages[..., 1:]                                         # covered payroll (D, P, Y)
    capacity = payroll * base_ratio * (employer + employee)
    transfer = pooling.transfers(parameters, years, workers, retirees_total, wages[..., 1:])
    rate = accounts.investment_return(ds, parameters, first)                          # (D, Y)

    # the 2024 revenue split (the same in every draw: read from draw 0)
    revenue_2024 = yearbook["fund_revenue"]
    closing_2023 = accounts.opening_balance(yearbook)
    own_revenue = revenue_2024 - rate[0, cal] * closing_2023 - transfer[0, :, cal]
    # the central subsidy: the Ministry of Finance's 2023 total less the resident scheme's central
    # part, over the provinces by expenditure x central_weight (the provincial split is not published)
    weight = accounts.central_weight(parameters, provinces)
    t_central = int(np.searchsorted(years, accounts.CENTRAL_SUBSIDY_YEAR))
    resident_central = accounts.resident_central_subsidy(ds, parameters, first, draws=slice(0, 1))[0, :, t_central]
    resident_central = resident_central.sum()
    if len(provinces) == len(CODES):
        central_rate = (accounts.published_central_subsidy() - resident_central) \
            / float((weight * expenditure[0, :, t_central]).sum())
    else:  # a national total needs every province: the full run's rate, a derived parameter
        central_rate = float(parameters.get("employee_pension.central_subsidy_rate").at(datetime.date(2024, 7, 1)))
    central_2024 = central_rate * weight * expenditure[0, :, cal]
    rest = own_revenue - central_2024
    if np.any(rest <= 0):
        p = int(np.argmin(rest))
        raise InputError(f"{provinces[p]}: the central subsidy ({central_2024[p] / 1e9:.1f} bn CNY) exceeds the 2024"
                         " revenue net of investment income and pooling", source=scenario.source,
                         key="employee_pension.central_subsidy_east_share",
                         expected="a split of the central subsidy that leaves every province contributions")
    surplus = revenue_2024 >= yearbook["fund_expenditure"]
    implied = rest / capacity[0, :, cal]
    typical = float(np.median(implied[surplus])) if surplus.any() else float(np.median(implied))
    factor = np.minimum(implied, typical)
    local_2024 = rest - factor * capacity[0, :, cal]
    subsidy_2024 = central_2024 + local_2024
    subsidy_share = subsidy_2024 / expenditure[0, :, cal]
    central_fraction = np.divide(central_2024, subsidy_2024, out=np.zeros(n_prov), where=subsidy_2024 > 0)
    contributions = factor[:, None] * capacity

    # the rules apply as calibrated up to 2024; a freeze or a scale from 2025 on
    later = years > FUND_BASE_YEAR
    frozen = later & np.array([str(rule) == "frozen"
                               for rule in parameters.get("employee_pension.subsidy_rule").annual(years)])
    subsidy_scale = accounts.national(parameters, "employee_pension.subsidy_scale", years)
    shares = subsidy_share[:, None] * np.where(later, subsidy_scale, 1.0)[None, :]
    opening = accounts.opening_for(closing_2023, cal, contributions, expenditure, rate[:, None, :], shares,
                                   transfer, frozen, engine=engine)
    subsidy, income, balance = accounts.accounts(opening, contributions, expenditure, rate[:, None, :], shares,
                                                 transfer, frozen, engine=engine)
    revenue = contributions + subsidy + income + transfer
    with np.errstate(divide="ignore", invalid="ignore"):
        average_benefit = np.where(retirees_total > 0, expenditure / (12.0 * retirees_total), np.nan)

    padded = accounts.FundYears  # fund years -> all years, NaN before the fund's first
    coords = {"province": provinces, "year": all_years}
    return add(ds, accounts.padded_variables({
        "employee_pension_revenue": padded(revenue),
        "employee_pension_contributions": padded(contributions),
        "employee_pension_subsidy": padded(subsidy),
        "employee_pension_central_subsidy": padded(central_fraction[:, None] * subsidy),
        "employee_pension_local_subsidy": padded((1.0 - central_fraction[:, None]) * subsidy),
        "employee_pension_investment_income": padded(income),
        "employee_pension_pooling_transfer": padded(transfer),
        "employee_pension_expenditure": padded(expenditure),
        "employee_pension_balance": padded(balance),
        "employee_pension_months_of_reserve": padded(accounts.reserve_months(balance, expenditure)),
        "employee_pension_average_benefit": padded(average_benefit),
        "employee_pension_covered_payroll": padded(payroll),
        "employee_pension_contribution_factor": factor,
        "employee_pension_subsidy_share": subsidy_share,
    }, len(all_years), first), coords)

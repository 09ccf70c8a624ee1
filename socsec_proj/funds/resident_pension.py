"""The urban-rural resident basic pension fund (城乡居民基本养老保险基金), per province and year.

The pension is a basic pension (基础养老金), paid by government: the national minimum plus
provincial top-ups (``resident_pension.basic_pension``, never below
``resident_pension.minimum_basic_pension``), and an individual-account annuity from the
members' contributions and the government's matching (国发〔2014〕8号). Per province and
calendar year from 2020 (:data:`~socsec_proj.funds.accounts.FUND_FIRST_YEAR`):

- expenditure = beneficiaries x 12 x basic pension (after the last announced level raised as
  the employee pensions in payment are, ``resident_pension.basic_pension_rule``) x the province's
  calibrated ratio of all it pays per beneficiary to the basic pension (the account annuities and
  local additions);
- subsidy = the government's funding: the basic pension and its other funding, in the 2024
  proportion to expenditure;
- contributions (with matching) = contributors x the province's 2024 contribution per
  contributor, growing with CPI inflation (contribution tiers are set in CNY);
- investment income = ``employee_pension.investment_return`` x the opening balance;
- balance(t) = balance(t-1) + contributions + subsidy + investment income - expenditure.

Calibration to 2024 (yearbook, 表24-27): expenditure gives the ratio; the balance at the end of
2023 is the 2024 balance less 2024's net revenue, and the balance at the end of 2019 is the one
that gives it after the model's 2020-2023 (:func:`~socsec_proj.funds.accounts.opening_for`);
contributions are revenue less subsidy and investment income (never below zero; the subsidy then takes the rest).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..inputs import data
from ..variables import add
from . import accounts


def basic_pension(parameters, years, provinces):
    """Monthly basic pension by province and year [CNY/month].

    In a year under the ``notices`` rule (``resident_pension.basic_pension_rule``) it is the
    dated provincial level, at least the national minimum; in a year under
    ``employee_indexation`` it is the previous year's, raised by the increase of the employee
    pensions in payment (:func:`~socsec_proj.funds.accounts.indexation` on the national
    ``economy.wage_growth``), so that the two pensions of the state keep the same rule once the
    announced levels end.

    Returns
    -------
    numpy.ndarray, shape (province, year)
    """
    provincial = parameters.get("resident_pension.basic_pension").by_province(years, provinces)
    minimum = np.asarray(parameters.get("resident_pension.minimum_basic_pension").annual(years), dtype=float)
    level = np.maximum(provincial, minimum[None, :])
    indexed = np.asarray(parameters.get("resident_pension.basic_pension_rule").annual(years)) == "employee_indexation"
    if indexed[1:].any():
        increase = accounts.indexation(parameters, years, accounts.wage_growth(parameters, years)[0])
        for t in np.flatnonzero(indexed[1:]) + 1:  # in year order: each year builds on the one before
            level[:, t] = level[:, t - 1] * (1.0 + increase[t])
    return level


def project_resident_pension(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Resident pension fund stage: Dataset in (labour), Dataset out.

    Adds, per province and fund year (2020 on, calibrated to 2024; NaN before): ``resident_pension_revenue``,
    ``_contributions``, ``_subsidy``, ``_investment_income``, ``_expenditure``, ``_balance``,
    ``_months_of_reserve``, ``_average_benefit``. With a ``draw`` dimension each draw has its
    own members, CPI (contributions) and returns; draw 0 calibrates (2024 is the same in all).
    """
    parameters = scenario.parameters
    all_years, first = accounts.fund_years(ds, accounts.FUND_FIRST_YEAR)
    years = all_years[first:]
    cal = int(np.searchsorted(years, accounts.FUND_BASE_YEAR))                      # 2024 among the fund years
    provinces = list(ds.variables["province"].values)
    # the scheme's members by province and year, summed once (a stochastic run keeps them too)
    ds = accounts.with_member_totals(ds, ("resident_pension_contributors", "resident_pension_beneficiaries"), engine)
    beneficiaries = accounts.member_totals(ds, "resident_pension_beneficiaries", first, engine)   # (D, P, Y)
    contributors = accounts.member_totals(ds, "resident_pension_contributors", first, engine)
    basic = basic_pension(parameters, years, provinces)
    government = beneficiaries * 12.0 * basic                                       # (D, P, Y)
    yearbook = accounts.yearbook_funds(data.yearbook_resident_pension(), provinces)
    ratio = yearbook["fund_expenditure"] / government[0, :, cal]
    expenditure = ratio[:, None] * government

    rate = accounts.investment_return(ds, parameters, first)                        # (D, Y)
    revenue_2024 = yearbook["fund_revenue"]
    closing_2023 = accounts.opening_balance(yearbook)
    own = revenue_2024 - rate[0, cal] * closing_2023
    paid_2024 = np.maximum(own - government[0, :, cal], 0.0)
    per_contributor = np.divide(paid_2024, contributors[0, :, cal], out=np.zeros(len(provinces)),
                                where=contributors[0, :, cal] > 0)
    cpi = accounts.cpi_inflation(ds, parameters, first)                              # (D, Y)
    prices = np.concatenate([np.ones((cpi.shape[0], 1)), np.cumprod(1.0 + cpi[:, 1:], axis=1)], axis=1)
    prices = prices / prices[:, cal:cal + 1]                                         # 2024 prices = 1
    contributions = contributors * per_contributor[:, None] * prices[:, None, :]
    # the subsidy is what 2024's revenue shows beyond contributions and income: the basic pension
    # and the government's other funding, kept in proportion to the basic pension (so to expenditure)
    subsidy_share = (own - contributions[0, :, cal]) / expenditure[0, :, cal]
    opening = accounts.opening_for(closing_2023, cal, contributions, expenditure, rate[:, None, :],
                                   subsidy_share[:, None], engine=engine)
    subsidy, income, balance = accounts.accounts(opening, contributions, expenditure, rate[:, None, :],
                                                 subsidy_share[:, None], engine=engine)
    revenue = contributions + subsidy + income
    central = np.minimum(accounts.resident_central_subsidy(ds, parameters, first), subsidy)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(beneficiaries > 0, expenditure / (12.0 * beneficiaries), np.nan)

    padded = accounts.FundYears  # fund years -> all years, NaN before the fund's first
    return add(ds, accounts.padded_variables({
        "resident_pension_revenue": padded(revenue),
        "resident_pension_contributions": padded(contributions),
        "resident_pension_subsidy": padded(subsidy),
        "resident_pension_central_subsidy": padded(central),
        "resident_pension_investment_income": padded(income),
        "resident_pension_expenditure": padded(expenditure),
        "resident_pension_balance": padded(balance),
        "resident_pension_months_of_reserve": padded(accounts.reserve_months(balance, expenditure)),
        "resident_pension_average_benefit": padded(average),
    }, len(all_years), first), {"province": provinces, "year": all_years})

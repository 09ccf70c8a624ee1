"""The unemployment-insurance fund (失业保险基金), per province and calendar year.

Fund years run from 2024 (the first year of the pension funds, :data:`FUND_BASE_YEAR`) to the
horizon; earlier years are NaN. Flows are those of the calendar year, balances at its end. For
every province p and year t:

- insured workers (参保人数) = the urban-employee pension's insured workers x a coverage ratio.
  The ratio of Guangdong, Hebei and Guizhou is calibrated in every run so that the model's
  insured equal the seeds' UI insured in the latest seed year of actual figures (2020); the
  other provinces take ``unemployment.default_coverage_ratio``, the mean of those three ratios
  (see :func:`coverage_ratios`);
- contributions = insured x 12 x provincial average wage x contribution rate
  (``unemployment.contribution_rate``: 1 % nationally, Guangdong 0.64 %) x collection factor
  (``unemployment.collection_rate``);
- investment income = ``employee_pension.investment_return`` x the balance at the end of the
  previous year (no return series of the UI funds is sourced; the pension funds' proxy is used);
- beneficiaries (a stock, persons at a time) = sum over sex and age of insured x inflow rate
  (``unemployment.inflow_rate`` x ``unemployment.inflow_relative``) x take-up
  (``unemployment.take_up``) x entitlement / 12, the entitlement in months following the
  contribution years (age - minimum working age, full careers as for the pensions) through
  ``unemployment_benefit_duration.csv`` (失业保险条例 art. 17);
- benefits = beneficiaries x 12 x benefit, the benefit = ``unemployment.benefit_share_of_minimum_wage``
  x the province's first-tier minimum wage of 2025 (``minimum_wage_2025.csv``), moved with the
  province's average wage (before 2025 too, so 2024 = the 2025 value / (1 + the 2025 wage growth));
- job-stabilisation refunds and skills subsidies = ``unemployment.refund_share`` and
  ``unemployment.skills_subsidy_share`` x contributions;
- balance(t) = balance(t-1) + contributions + investment income - benefits - refunds -
  subsidies, from ``unemployment.opening_reserve_months`` of 2024's expenditure at the end of 2023.

Why the first tier of the minimum wage: seed 003 gives Guangdong's average benefit of 2020,
1,691 CNY/month at 90 % of the local minimum wage, and seed 000 Guizhou's, 1,611. The 2025 first
tier moved back to 2020 with the provinces' average wage gives 1,778 and 1,585 (+5 %, -2 %),
the mid-point of the first and lowest tiers 1,511 and 1,495 (-11 %, -7 %).

The seeds hold no UI beneficiaries, spending or balance for any province, so the inflow level,
the take-up and the opening balance are documented defaults, not calibrated values (see
``params/SOURCES.md#unemployment-and-work-injury``).
"""

from __future__ import annotations

import datetime

import numpy as np
import xarray as xr

from ..inputs.data import LONGEST_ENTITLEMENT, benefit_duration, minimum_wage, seed_figures  # noqa: F401 (re-exported)
from ..inputs.provinces import CODES
from ..variables import SEXES, add
from . import accounts
from .accounts import FUND_BASE_YEAR, by_province

#: Year of the minimum-wage table (standards in force on 1 July 2025).
MINIMUM_WAGE_YEAR = 2025

#: Upper ends (exclusive) of the age bands of ``unemployment.inflow_relative``; the last is open.
INFLOW_BANDS = (("under_25", 25), ("25_34", 35), ("35_44", 45), ("45_54", 55), ("55_plus", None))

def entitlement_months(contribution_years) -> np.ndarray:
    """Months of benefit for the given contribution years [years] under the duration table [months]."""
    lower, months = benefit_duration()
    index = np.searchsorted(lower, np.asarray(contribution_years, dtype=float), side="right") - 1
    return np.where(index >= 0, months[np.clip(index, 0, None)], 0.0)




# --------------------------------------------------------------------------------------------
# The unemployment fund
# --------------------------------------------------------------------------------------------


def minimum_wage_path(parameters, wages: np.ndarray, provinces) -> np.ndarray:
    """First-tier minimum wage by province and fund year [CNY/month].

    The standards in force on 1 July 2025 (``minimum_wage_2025.csv``) moved with the province's
    average wage, so with ``economy.wage_growth`` after 2025: ``wages`` is :func:`wages_of`'s
    ``[..., P, Y+1]`` array (column 0 = 2023, column k = fund year k-1), and the minimum wage of
    year t is the 2025 value x wage(t) / wage(2025), with wage(2025) = wage(2024) x (1 + the
    2025 growth of ``economy.wage_growth``). 2024 is thus the 2025 value deflated by one year
    of wage growth; a draw's wage shocks move the minimum wage with its wages.
    """
    table = minimum_wage()[[CODES.index(p) for p in provinces]]
    growth = by_province(parameters, "economy.wage_growth", [MINIMUM_WAGE_YEAR], CODES[:1])[0, 0]
    anchor = wages[..., MINIMUM_WAGE_YEAR - FUND_BASE_YEAR] * (1.0 + growth)
    return table[:, None] * wages[..., 1:] / anchor[..., None]


def inflow_profile(parameters, years, entry_age: float, n_age: int) -> np.ndarray:
    """``unemployment.inflow_relative`` by sex, year and age ``[S, Y, A]`` [/1] (0 below the working age)."""
    ages = np.arange(n_age)
    profile = np.empty((len(SEXES), len(years), n_age))
    for s, sex in enumerate(SEXES):
        low = 0
        for band, high in INFLOW_BANDS:
            values = by_province(parameters, f"unemployment.inflow_relative.{sex}_{band}", years, CODES[:1])[0]
            in_band = (ages >= low) if high is None else ((ages >= low) & (ages < high))
            profile[s][:, in_band] = values[:, None]
            low = high if high is not None else low
    profile[:, :, ages < entry_age] = 0.0
    return profile


def project_unemployment(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Unemployment-insurance fund stage: Dataset in (population, labour), Dataset out.

    Adds, per province and fund year (2024 on; NaN before): ``unemployment_contributors``,
    ``unemployment_beneficiaries`` [persons]; ``unemployment_revenue``, ``_contributions``,
    ``_investment_income``, ``_expenditure``, ``_benefits``, ``_refunds``, ``_subsidies``
    [CNY/year]; ``unemployment_balance`` [CNY]; ``unemployment_months_of_reserve`` [months];
    ``unemployment_average_benefit`` [CNY/month]; per province the calibrated
    ``unemployment_coverage`` [/1]. With a ``draw`` dimension each draw has its own insured,
    wages, returns and inflow (``exp(driver_unemployment)`` x ``unemployment.inflow_rate``).
    """
    parameters = scenario.parameters
    all_years, first = accounts.fund_years(ds)
    years = all_years[first:]
    provinces = list(ds["province"].values)
    insured = accounts.members(ds, "employee_pension_contributors")[..., first:, :]   # (D, P, S, Y, A)
    n_age = insured.shape[-1]

    coverage = accounts.coverage_ratios(ds, parameters, "unemployment_insured", "unemployment.default_coverage_ratio")
    workers = accounts.member_totals(ds, "employee_pension_contributors", first, engine)  # (D, P, Y)
    contributors = coverage[:, None] * workers

    wages = accounts.fund_wages(ds, parameters, first)                    # (D, P, Y+1), column 0 = 2023
    rate = by_province(parameters, "unemployment.contribution_rate", years, provinces)
    collection = by_province(parameters, "unemployment.collection_rate", years, provinces)
    contributions = contributors * 12.0 * wages[..., 1:] * rate * collection

    # Beneficiaries: the entitlement follows contribution years, counted from the minimum
    # working age (full careers, as the pension formula assumes); one weight per sex and age.
    entry_age = float(parameters.get("labour.minimum_working_age").at(datetime.date(FUND_BASE_YEAR, 7, 1)))
    months = entitlement_months(np.arange(n_age) - entry_age)             # (A,)
    weight = inflow_profile(parameters, years, entry_age, n_age) * (months / 12.0)   # (S, Y, A)
    weighted = np.einsum("dpsya,sya->dpy", insured, weight, optimize=False)
    inflow = by_province(parameters, "unemployment.inflow_rate", years, provinces) \
        * np.exp(accounts.driver(ds, "unemployment")[:, None, first:])
    take_up = by_province(parameters, "unemployment.take_up", years, provinces)
    beneficiaries = coverage[:, None] * weighted * inflow * take_up

    share = by_province(parameters, "unemployment.benefit_share_of_minimum_wage", years, provinces)
    benefit = share * minimum_wage_path(parameters, wages, provinces)     # (D, P, Y) [CNY/month]
    benefits = beneficiaries * 12.0 * benefit
    refunds = by_province(parameters, "unemployment.refund_share", years, provinces) * contributions
    subsidies = by_province(parameters, "unemployment.skills_subsidy_share", years, provinces) * contributions
    expenditure = benefits + refunds + subsidies

    reserve = by_province(parameters, "unemployment.opening_reserve_months", years[:1], provinces)[:, 0]
    opening = reserve / 12.0 * expenditure[..., 0]
    returns = accounts.investment_return(ds, parameters, first)[:, None, :]
    _, income, balance = accounts.accounts(opening, contributions, expenditure, returns, engine=engine)
    revenue = contributions + income

    n = len(all_years)
    padded = accounts.padded
    return add(ds, {
        "unemployment_contributors": padded(contributors, n, first),
        "unemployment_beneficiaries": padded(beneficiaries, n, first),
        "unemployment_revenue": padded(revenue, n, first),
        "unemployment_contributions": padded(contributions, n, first),
        "unemployment_investment_income": padded(income, n, first),
        "unemployment_expenditure": padded(expenditure, n, first),
        "unemployment_benefits": padded(benefits, n, first),
        "unemployment_refunds": padded(refunds, n, first),
        "unemployment_subsidies": padded(subsidies, n, first),
        "unemployment_balance": padded(balance, n, first),
        "unemployment_months_of_reserve": padded(accounts.reserve_months(balance, expenditure), n, first),
        "unemployment_average_benefit": padded(benefit, n, first),
        "unemployment_coverage": coverage,
    }, {"province": provinces, "year": all_years})


def check_parameters(scenario) -> None:
    """What loading a scenario cannot check, before any stage computes: the duration table
    (no gap, no overlap, months in 0..24), the minimum-wage table and the seed figures."""
    benefit_duration()
    minimum_wage()
    seed_figures()


project_unemployment.check = check_parameters

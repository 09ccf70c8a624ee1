"""The unemployment-insurance fund (失业保险基金), per province and calendar year.

Account years run from the year before the pension funds' first fund year (2023 while those
start in 2024, :func:`.bulletin.account_start`) to the horizon; earlier years are NaN. Flows are
those of the calendar year, balances at its end. For every province p and year t:

- insured workers (参保人数) = the urban-employee pension's insured workers x a coverage ratio:
  Guangdong, Hebei and Guizhou keep the ratio that reproduces their seeds' 2020 UI insured, the
  other provinces one common ratio (x ``unemployment.relative_coverage``) scaled so that the
  national insured of 2021 are the bulletin's 229.58 M (:func:`.bulletin.coverage`);
- contributions = insured x 12 x provincial average wage x contribution rate
  (``unemployment.contribution_rate``: 1 % nationally, Guangdong 0.64 %) x collection factor
  (``unemployment.collection_rate``, derived from the 2023 bulletin's revenue);
- investment income = ``employee_pension.investment_return`` x the balance at the end of the
  previous year (no return series of the UI funds is sourced; the pension funds' proxy is used);
- entrants = sum over sex and age of insured with an entitlement x inflow rate
  (``unemployment.inflow_rate`` x ``unemployment.inflow_relative``) x take-up
  (``unemployment.take_up``); beneficiaries (an average stock) = the same sum weighted by the
  entitlement in years x ``unemployment.duration_share`` (the share of it drawn on average), the
  entitlement in months following the contribution years (age - minimum working age, full careers
  as for the pensions) through ``unemployment_benefit_duration.csv`` (失业保险条例 art. 17);
  recipients during the year = the stock + the year's entrants (inflow and share derived from the
  2023 bulletin's 3.52 M at the year end and 7.30 M during the year);
- benefits = beneficiaries x 12 x benefit, the benefit = ``unemployment.benefit_share_of_minimum_wage``
  x the province's first-tier minimum wage of 2025 (``minimum_wage_2025.csv``), moved with the
  province's average wage (before 2025 too, so 2024 = the 2025 value / (1 + the 2025 wage growth));
- other spending = ``unemployment.other_spending_share`` x contributions (the 2023 bulletin's
  spending besides benefits: refunds, subsidies and items it does not split); further
  job-stabilisation refunds and skills subsidies = ``unemployment.refund_share`` and
  ``unemployment.skills_subsidy_share`` x contributions;
- balance(t) = balance(t-1) + contributions + investment income - benefits - refunds -
  subsidies - other spending, the opening set so that the national balance at the end of 2023 is
  the bulletin's 321.3 bn CNY, spread by the provinces' contributions (:func:`.bulletin.opening_balance`).

Why the first tier of the minimum wage: seed 003 gives Guangdong's average benefit of 2020,
1,691 CNY/month at 90 % of the local minimum wage, and seed 000 Guizhou's, 1,611. The 2025 first
tier moved back to 2020 with the provinces' average wage gives 1,778 and 1,585 at 90 % (+5 %, -2 %),
the mid-point of the first and lowest tiers 1,511 and 1,495 (-11 %, -7 %).

No province's UI beneficiaries, spending or balance are sourced: the national levels come from
the bulletins and are spread by the rules above (``params/SOURCES.md#unemployment-and-work-injury``).
"""

from __future__ import annotations

import datetime

import numpy as np
import xarray as xr

from ..inputs.data import LONGEST_ENTITLEMENT, benefit_duration, minimum_wage, seed_figures  # noqa: F401 (re-exported)
from ..inputs.provinces import CODES
from ..variables import SEXES, add
from . import accounts, bulletin
from .accounts import FUND_BASE_YEAR, by_province

#: Year of the minimum-wage table (standards in force on 1 July 2025).
MINIMUM_WAGE_YEAR = 2025

#: Year of the national UI insured the coverage is calibrated to (bulletin 2021: 229.58 M).
COVERAGE_YEAR = 2021

#: Year at whose end the national balance is the bulletin's (2023: 321.3 bn CNY).
BALANCE_YEAR = 2023

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
    """First-tier minimum wage by province, for each column of ``wages`` [CNY/month].

    The standards in force on 1 July 2025 (``minimum_wage_2025.csv``) moved with the province's
    average wage, so with ``economy.wage_growth`` after 2025: ``wages`` is :func:`accounts.fund_wages`'s
    ``[..., P, Y+1]`` array (column 0 = 2023, column k = fund year k-1), and the minimum wage of
    year t is the 2025 value x wage(t) / wage(2025), with wage(2025) = wage(2024) x (1 + the
    2025 growth of ``economy.wage_growth``). 2024 is thus the 2025 value deflated by one year
    of wage growth; a draw's wage shocks move the minimum wage with its wages.
    """
    table = minimum_wage()[[CODES.index(p) for p in provinces]]
    growth = by_province(parameters, "economy.wage_growth", [MINIMUM_WAGE_YEAR], CODES[:1])[0, 0]
    anchor = wages[..., MINIMUM_WAGE_YEAR - FUND_BASE_YEAR] * (1.0 + growth)
    return table[:, None] * wages / anchor[..., None]


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

    Adds, per province and account year (2023 on, :func:`bulletin.account_start`; NaN before):
    ``unemployment_contributors``, ``unemployment_beneficiaries`` (average stock),
    ``unemployment_recipients_during_year`` [persons]; ``unemployment_revenue``,
    ``_contributions``, ``_investment_income``, ``_expenditure``, ``_benefits``, ``_refunds``,
    ``_subsidies``, ``_other_spending`` [CNY/year]; ``unemployment_balance`` [CNY];
    ``unemployment_months_of_reserve`` [months]; ``unemployment_average_benefit`` [CNY/month];
    per province the calibrated ``unemployment_coverage`` [/1]. With a ``draw`` dimension each
    draw has its own insured, wages, returns and inflow (``exp(driver_unemployment)`` x
    ``unemployment.inflow_rate``).
    """
    parameters = scenario.parameters
    all_years, first = accounts.fund_years(ds)
    start = bulletin.account_start(first)
    years = all_years[start:]
    provinces = list(ds.variables["province"].values)
    insured = accounts.members(ds, "employee_pension_contributors")[..., start:, :]   # (D, P, S, Y, A)
    n_age = insured.shape[-1]

    coverage = bulletin.coverage(ds, scenario, "unemployment", COVERAGE_YEAR)
    workers = accounts.member_totals(ds, "employee_pension_contributors", start, engine)  # (D, P, Y)
    contributors = coverage[:, None] * workers

    # the wage path's column 0 is the year before the first fund year: the first account year
    wage_path = accounts.fund_wages(ds, parameters, first)
    wages = wage_path[..., start - first + 1:]                            # (D, P, Y)
    rate = by_province(parameters, "unemployment.contribution_rate", years, provinces)
    collection = by_province(parameters, "unemployment.collection_rate", years, provinces)
    contributions = contributors * 12.0 * wages * rate * collection

    # Beneficiaries: the entitlement follows contribution years, counted from the minimum
    # working age (full careers, as the pension formula assumes); each entrant draws
    # unemployment.duration_share of it on average (the rest find work first).
    entry_age = float(parameters.get("labour.minimum_working_age").at(datetime.date(FUND_BASE_YEAR, 7, 1)))
    months = entitlement_months(np.arange(n_age) - entry_age)             # (A,)
    profile = inflow_profile(parameters, years, entry_age, n_age)         # (S, Y, A)
    # the entrants entitled to a benefit and their years of entitlement, in one pass over the cube
    entitled, weighted = accounts.weighted_member_totals(
        ds, "employee_pension_contributors", np.stack([profile * (months > 0), profile * (months / 12.0)]),
        start, engine)                                                    # (D, P, Y) each
    inflow = by_province(parameters, "unemployment.inflow_rate", years, provinces) \
        * np.exp(accounts.driver(ds, "unemployment")[:, None, start:])
    take_up = by_province(parameters, "unemployment.take_up", years, provinces)
    drawn = by_province(parameters, "unemployment.duration_share", years, provinces)
    entrants = coverage[:, None] * entitled * inflow * take_up
    beneficiaries = coverage[:, None] * weighted * inflow * take_up * drawn
    recipients = beneficiaries + entrants      # on benefit at the start of the year (stationary stock) + entrants

    share = by_province(parameters, "unemployment.benefit_share_of_minimum_wage", years, provinces)
    benefit = share * minimum_wage_path(parameters, wage_path, provinces)[..., start - first + 1:]   # [CNY/month]
    benefits = beneficiaries * 12.0 * benefit
    refunds = by_province(parameters, "unemployment.refund_share", years, provinces) * contributions
    subsidies = by_province(parameters, "unemployment.skills_subsidy_share", years, provinces) * contributions
    other = by_province(parameters, "unemployment.other_spending_share", years, provinces) * contributions
    expenditure = benefits + refunds + subsidies + other

    returns = accounts.investment_return(ds, parameters, start)[:, None, :]
    opening = bulletin.opening_balance(contributions, expenditure, returns, int(BALANCE_YEAR - years[0]),
                                       bulletin.figure("unemployment_balance", BALANCE_YEAR), engine=engine)
    _, income, balance = accounts.accounts(opening, contributions, expenditure, returns, engine=engine)
    revenue = contributions + income

    n = len(all_years)

    padded = accounts.FundYears  # account years -> all years, NaN before the first
    return add(ds, accounts.padded_variables({
        "unemployment_contributors": padded(contributors),
        "unemployment_beneficiaries": padded(beneficiaries),
        "unemployment_recipients_during_year": padded(recipients),
        "unemployment_revenue": padded(revenue),
        "unemployment_contributions": padded(contributions),
        "unemployment_investment_income": padded(income),
        "unemployment_expenditure": padded(expenditure),
        "unemployment_benefits": padded(benefits),
        "unemployment_refunds": padded(refunds),
        "unemployment_subsidies": padded(subsidies),
        "unemployment_other_spending": padded(other),
        "unemployment_balance": padded(balance),
        "unemployment_months_of_reserve": padded(accounts.reserve_months(balance, expenditure)),
        "unemployment_average_benefit": padded(benefit),
        "unemployment_coverage": coverage,
    }, n, start), {"province": provinces, "year": all_years})


def check_parameters(scenario) -> None:
    """What loading a scenario cannot check, before any stage computes: the duration table
    (no gap, no overlap, months in 0..24), the minimum-wage table and the seed figures."""
    benefit_duration()
    minimum_wage()
    seed_figures()


project_unemployment.check = check_parameters

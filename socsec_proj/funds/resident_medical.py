"""The urban-rural resident basic medical insurance fund (城乡居民基本医疗保险基金), per province and year.

Insured residents, by province, sex, age and year = (population - the employee medical
scheme's insured) x an enrolment rate, national: NHSA's 2024 resident insured over China's
1 July 2024 population (NBS) less NHSA's employee insured (it carries duplicate enrolments
removed since 2020, migrants insured where they are registered and the uninsured). Per fund year,
from :data:`~socsec_proj.funds.medical_costs.RESIDENT_FIRST_YEAR` (2020):

- financing standards per person [CNY/year]: the individual premium
  (``resident_medical.individual_premium``) and the fiscal subsidy
  (``resident_medical.fiscal_subsidy``) of each year's notice; under the ``wage_indexation``
  rule (``resident_medical.financing_rule``, from 2027) the previous year's raised by
  ``economy.wage_growth`` (with the draw's wage shock);
- collection timing: premiums of the notice of year N are paid in N, a share
  ``advance_collection_share`` of them in the autumn by the insured of coverage year N+1, the rest
  by those of N; the subsidy of year N is paid in N for the insured of N;
- premiums and subsidy x a revenue factor, national (:func:`revenue_factor`): the bulletins'
  revenue less investment income over NHSA's insured x the standards, the mean of 2023-2025
  (provinces set standards above the national minimum; one year carries collection timing);
- expenditure = sum over sex and age of insured x ``medical/spending_profile.csv`` x a level
  calibrated so that 2024's spending per insured is the bulletin's national figure x the cost
  index (:func:`~socsec_proj.funds.medical_costs.cost_index`; per insured as published in the
  bulletin years);
- investment income = ``employee_pension.investment_return`` x the opening balance (proxy);
- balance(t) = balance(t-1) + premiums + subsidy + investment income - expenditure
  (:func:`~socsec_proj.funds.accounts.accounts`), the opening solved so that the balance at the
  end of 2024 is the NHSA national balance spread by 2024 insured.

Every constant is national data (NHSA, NBS), so a province's figures do not depend on which
provinces a run computes.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..inputs import data
from ..variables import add, by_draw
from . import accounts, medical_costs
from .medical_costs import CALIBRATION_YEAR

SCHEME = "resident_medical"


def financing_standards(parameters, years, wage_shock=None) -> tuple[np.ndarray, np.ndarray]:
    """National premium and fiscal subsidy per insured resident by year ``[D, Y]`` [CNY/year]."""
    years = np.asarray(years)
    growth = accounts.wage_growth(parameters, years, wage_shock)                         # (D, Y)
    indexed = np.asarray(parameters.get(f"{SCHEME}.financing_rule").annual(years)) == "wage_indexation"
    # each run of indexed years builds on the year before it: that year's standard x cumulative growth
    indexed[0] = False   # the first year keeps its own standard
    starts = np.flatnonzero(indexed[1:] & ~indexed[:-1]) + 1
    ends = np.append(np.flatnonzero(~indexed[1:] & indexed[:-1]) + 1, len(years))
    out = []
    for name in ("individual_premium", "fiscal_subsidy"):
        values = np.broadcast_to(accounts.national(parameters, f"{SCHEME}.{name}", years), growth.shape).copy()
        for start in starts:
            end = ends[ends > start][0]
            values[:, start:end] = values[:, start - 1:start] * np.cumprod(1.0 + growth[:, start:end], axis=1)
        out.append(values)
    return out[0], out[1]


#: The bulletin years whose mean sets the revenue factor: one year carries the collection timing
#: (revenue grew 5.8 % in 2024 and 0.5 % in 2025, the standards x insured 3.2 % and 2.3 %), and
#: the years before 2023 the return proxy's 6 % (the pension accounts' crediting rate of
#: 2020-2022) on the balance, which the medical funds' deposits do not earn.
REVENUE_YEARS = (2023, 2024, 2025)


def revenue_factor(parameters, figure) -> float:
    """Revenue per unit of the national standards, national [/1]: the mean over
    :data:`REVENUE_YEARS` of the bulletin's revenue less the return on the balance of the year
    before, over NHSA's insured at that year's standards (premiums paid as the stage pays them:
    ``advance_collection_share`` of them by the next year's insured, the last year's own where
    the next is not published). ``figure``: :func:`~socsec_proj.funds.medical_costs.bulletin_reader`.
    """
    years = np.asarray(REVENUE_YEARS)
    premium, subsidy = financing_standards(parameters, years)
    advance = accounts.national(parameters, f"{SCHEME}.advance_collection_share", years)
    rate = accounts.national(parameters, "employee_pension.investment_return", years)
    published = data.medical_bulletin()["resident_insured"]
    ratios = []
    for k, year in enumerate(REVENUE_YEARS):
        now = figure("resident_insured", year)
        following = published.get(year + 1, now)
        raised = premium[0, k] * (advance[k] * following + (1.0 - advance[k]) * now) + subsidy[0, k] * now
        ratios.append((figure("resident_revenue", year) - rate[k] * figure("resident_balance", year - 1)) / raised)
    return float(np.mean(ratios))


def project_resident_medical(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Resident medical insurance stage: Dataset in (population, labour, employee medical: its insured
    and spending units), Dataset out.

    Adds ``resident_medical_insured`` [persons] and ``medical_coverage_rate`` [/1] for every
    year; per fund year (NaN before) ``resident_medical_revenue``, ``_premiums``, ``_subsidy``,
    ``_investment_income``, ``_expenditure``, ``_balance``, ``_months_of_reserve``,
    ``_financing`` (insured x the national standards); per province the calibrated
    ``resident_medical_enrolment_rate``.
    """
    parameters = scenario.parameters
    bulletin = medical_costs.bulletin_reader()
    all_years, first = accounts.fund_years(ds, medical_costs.RESIDENT_FIRST_YEAR)
    years = all_years[first:]
    provinces = list(ds.indexes["province"])
    c = medical_costs.calibration_index(years)
    at = first + c

    employee_insured = by_draw(ds, "employee_medical_insured", ("province", "year"))   # (D, P, Y)
    employee_units = by_draw(ds, "employee_medical_spending_units", ("province", "year"))
    profile = data.medical_spending_profile()

    residents = by_draw(ds, "population_total", ("province", "year", "sex")).sum(axis=-1)   # (D, P, Y)
    others_total = residents - employee_insured
    insured_2024 = bulletin("resident_insured", CALIBRATION_YEAR)
    outside = bulletin("population", CALIBRATION_YEAR) - bulletin("employee_in_service", CALIBRATION_YEAR) \
        - bulletin("employee_retirees", CALIBRATION_YEAR)
    enrolment = insured_2024 / outside
    insured = enrolment * np.clip(others_total, 0.0, None)                     # (D, P, Y), all years

    resident_units = medical_costs.population_units(accounts.population(ds), profile, engine=engine)   # (D, P, Y)
    units = enrolment * np.clip(resident_units[..., first:] - employee_units[..., first:], 0.0, None)
    shock = accounts.driver(ds, "wage")[:, first:] if "driver_wage" in ds else None
    with np.errstate(divide="ignore", invalid="ignore"):
        mix = np.where(insured[..., first:] > 0, units / insured[..., first:], 1.0)
    index = medical_costs.cost_index(parameters, SCHEME, years, shock, mix=mix)           # (D, P, Y)
    share = insured[0, :, at] / insured_2024                                  # of China's 2024 insured
    level = bulletin("resident_expenditure", CALIBRATION_YEAR) * share / units[0, :, c]
    expenditure = level[:, None] * units * index

    premium, subsidy_standard = financing_standards(parameters, years, shock)      # (D, Y)
    advance = accounts.national(parameters, f"{SCHEME}.advance_collection_share", years)
    now = insured[..., first:]
    following = np.concatenate([insured[..., first + 1:], insured[..., -1:]], axis=-1)   # the last year: its own
    payers = advance * following + (1.0 - advance) * now
    rate = accounts.investment_return(ds, parameters, first)
    factor = revenue_factor(parameters, bulletin)
    premiums = factor * payers * premium[:, None, :]
    subsidy = factor * now * subsidy_standard[:, None, :]

    opening = medical_costs.opening_balances(bulletin("resident_balance", CALIBRATION_YEAR), share, years,
                                             premiums + subsidy, expenditure, rate[:, None, :], engine=engine)
    _, income, balance = accounts.accounts(opening, premiums + subsidy, expenditure, rate[:, None, :], engine=engine)
    revenue = premiums + subsidy + income

    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = (employee_insured + insured) / residents

    padded = accounts.FundYears  # fund years -> all years, NaN before the fund's first
    return add(ds, accounts.padded_variables({
        "resident_medical_insured": insured,
        "medical_coverage_rate": coverage,
        "resident_medical_revenue": padded(revenue),
        "resident_medical_premiums": padded(premiums),
        "resident_medical_subsidy": padded(subsidy),
        "resident_medical_investment_income": padded(income),
        "resident_medical_expenditure": padded(expenditure),
        "resident_medical_balance": padded(balance),
        "resident_medical_months_of_reserve": padded(accounts.reserve_months(balance, expenditure)),
        "resident_medical_financing": padded(now * (premium + subsidy_standard)[:, None, :]),
        "resident_medical_enrolment_rate": np.full(len(provinces), enrolment),
        "resident_medical_revenue_factor": np.full(len(provinces), factor),
    }, len(all_years), first), {"province": provinces, "year": all_years})


def check_parameters(scenario) -> None:
    """Before any stage computes: the spending profile, the bulletin table and the cost growth."""
    data.medical_spending_profile()
    medical_costs.bulletin("resident_expenditure", CALIBRATION_YEAR)
    medical_costs.check_cost_growth(scenario, SCHEME)


project_resident_medical.check = check_parameters

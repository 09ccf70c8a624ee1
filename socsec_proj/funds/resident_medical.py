"""The urban-rural resident basic medical insurance fund (城乡居民基本医疗保险基金), per province and year.

Insured residents, by province, sex, age and year = (population - the employee medical
scheme's insured) x an enrolment rate, national: NHSA's 2024 resident insured over China's
1 July 2024 population (NBS) less NHSA's employee insured (it carries duplicate enrolments
removed since 2020, migrants insured where they are registered and the uninsured). Per fund year:

- financing standards per person [CNY/year]: the individual premium
  (``resident_medical.individual_premium``) and the fiscal subsidy
  (``resident_medical.fiscal_subsidy``) of each year's notice; under the ``wage_indexation``
  rule (``resident_medical.financing_rule``, from 2027) the previous year's raised by
  ``economy.wage_growth`` (with the draw's wage shock);
- collection timing: premiums of the notice of year N are paid in N, a share
  ``advance_collection_share`` of them in the autumn by the insured of coverage year N+1, the rest
  by those of N; the subsidy of year N is paid in N for the insured of N;
- premiums and subsidy x a revenue factor, national: the bulletin's 2024 revenue less investment
  income over NHSA's 2024 insured x 2024's standards (provinces set standards above the national
  minimum);
- expenditure = sum over sex and age of insured x ``medical/spending_profile.csv`` x a level
  calibrated so that 2024's spending per insured is the bulletin's national figure x the cost
  index (:func:`~socsec_proj.funds.medical_costs.cost_index`);
- investment income = ``employee_pension.investment_return`` x the opening balance (proxy);
- balance(t) = balance(t-1) + premiums + subsidy + investment income - expenditure
  (:func:`~socsec_proj.funds.accounts.accounts`), from the NHSA national balance spread by
  2024 insured.

Every constant is national data (NHSA, NBS), so a province's figures do not depend on which
provinces a run computes.
"""

from __future__ import annotations

import functools

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
    out = []
    for name in ("individual_premium", "fiscal_subsidy"):
        values = np.broadcast_to(accounts.national(parameters, f"{SCHEME}.{name}", years), growth.shape).copy()
        for t in np.flatnonzero(indexed[1:]) + 1:  # in year order: each builds on the year before
            values[:, t] = values[:, t - 1] * (1.0 + growth[:, t])
        out.append(values)
    return out[0], out[1]


def project_resident_medical(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Resident medical insurance stage: Dataset in (population, labour, employee medical), Dataset out.

    Adds ``resident_medical_insured`` [persons] and ``medical_coverage_rate`` [/1] for every
    year; per fund year (NaN before) ``resident_medical_revenue``, ``_premiums``, ``_subsidy``,
    ``_investment_income``, ``_expenditure``, ``_balance``, ``_months_of_reserve``,
    ``_financing`` (insured x the national standards); per province the calibrated
    ``resident_medical_enrolment_rate``.
    """
    parameters = scenario.parameters
    bulletin = medical_costs.bulletin_reader()
    all_years, first = accounts.fund_years(ds)
    years = all_years[first:]
    provinces = list(ds.indexes["province"])
    c = medical_costs.calibration_index(years)
    at = first + c

    population = accounts.population(ds)                                      # (D, Y, P, S, A)
    workers = accounts.members(ds, "employee_pension_contributors")            # (D, P, S, Y, A)
    pensioners = accounts.members(ds, "employee_pension_retirees")
    in_service = by_draw(ds, "employee_medical_in_service_coverage", ("province",))[0][None, :, None]   # (1, P, 1)
    retired = by_draw(ds, "employee_medical_retiree_coverage", ("province",))[0][None, :, None]
    employee_insured = by_draw(ds, "employee_medical_insured", ("province", "year"))   # (D, P, Y)
    profile = data.medical_spending_profile()

    residents = by_draw(ds, "population_total", ("province", "year", "sex")).sum(axis=-1)   # (D, P, Y)
    others_total = residents - employee_insured
    insured_2024 = bulletin("resident_insured", CALIBRATION_YEAR)
    outside = bulletin("population", CALIBRATION_YEAR) - bulletin("employee_in_service", CALIBRATION_YEAR) \
        - bulletin("employee_retirees", CALIBRATION_YEAR)
    enrolment = insured_2024 / outside
    insured = enrolment * np.clip(others_total, 0.0, None)                     # (D, P, Y), all years

    by_residents = np.matmul(population[:, first:, :, :, None, :], profile[:, :, None])[..., 0, 0]   # (D, Y, P, S)
    units = (by_residents.sum(axis=3).transpose(0, 2, 1)
             - in_service * medical_costs.spending_units(workers[..., first:, :], profile)
             - retired * medical_costs.spending_units(pensioners[..., first:, :], profile))
    units = enrolment * np.clip(units, 0.0, None)
    shock = accounts.driver(ds, "wage")[:, first:] if "driver_wage" in ds else None
    index = medical_costs.cost_index(parameters, SCHEME, years, shock)
    share = insured[0, :, at] / insured_2024                                  # of China's 2024 insured
    level = bulletin("resident_expenditure", CALIBRATION_YEAR) * share / units[0, :, c]
    expenditure = level[:, None] * units * index[:, None, :]

    premium, subsidy_standard = financing_standards(parameters, years, shock)      # (D, Y)
    advance = accounts.national(parameters, f"{SCHEME}.advance_collection_share", years)
    now = insured[..., first:]
    following = np.concatenate([insured[..., first + 1:], insured[..., -1:]], axis=-1)   # the last year: its own
    payers = advance * following + (1.0 - advance) * now
    rate = accounts.investment_return(ds, parameters, first)
    opening_2024 = bulletin("resident_balance", CALIBRATION_YEAR - 1)
    # China's 2024 insured at 2024's standards (the advance payers of 2024 are 2025's insured, by draw)
    raised = insured_2024 * (premium[0, c] + subsidy_standard[0, c])
    factor = (bulletin("resident_revenue", CALIBRATION_YEAR) - rate[0, c] * opening_2024) / raised
    premiums = factor * payers * premium[:, None, :]
    subsidy = factor * now * subsidy_standard[:, None, :]

    opening = medical_costs.opening_balances(bulletin("resident_balance", int(years[0]) - 1), share,
                                             expenditure.shape[:-1])
    _, income, balance = accounts.accounts(opening, premiums + subsidy, expenditure, rate[:, None, :], engine=engine)
    revenue = premiums + subsidy + income

    with np.errstate(divide="ignore", invalid="ignore"):
        coverage = (employee_insured + insured) / residents

    padded = functools.partial(accounts.padded, n_years=len(all_years), first=first)
    return add(ds, {
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
    }, {"province": provinces, "year": all_years})


def check_parameters(scenario) -> None:
    """Before any stage computes: the spending profile, the bulletin table and the cost growth."""
    data.medical_spending_profile()
    medical_costs.bulletin("resident_expenditure", CALIBRATION_YEAR)
    medical_costs.check_cost_growth(scenario, SCHEME)


project_resident_medical.check = check_parameters

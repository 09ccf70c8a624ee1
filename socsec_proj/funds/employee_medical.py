"""The urban-employee basic medical insurance fund (职工基本医疗保险基金), per province and year.

Maternity insurance is merged into it (its contributions are in the employer's, its spending in
the pooled fund's, as the NHSA bulletins count them). After the 2021 reform (国办发〔2021〕14号)
the fund is two accounts, each run through the shared balance recursion
(:func:`~socsec_proj.funds.accounts.accounts`):

- the **pooled fund** (统筹基金): employer contributions (and, under the policy option
  ``employee_medical.retiree_contribution_rate``, retirees' contributions on their pension)
  + investment income - the fixed credits it pays into retirees' accounts - expenditure;
- the **individual accounts** (个人账户): in-service workers' own contributions
  (``employee_medical.employee_rate``) + the retirees' credits + investment income - what the
  accounts pay.

Members, by province, sex, age and year: in-service insured = the urban-employee pension's
insured workers x the national ratio of the NHSA's in-service insured to the 2024 yearbook's
insured workers (which the labour stage's 2024 members equal); retirees likewise (Social
Insurance Law art. 27: retirees who met the required years pay no
contributions, so none do here unless the option is on). Per fund year:

- contributions = in-service insured x 12 x provincial average wage x (employer + employee rate)
  x a contribution factor, calibrated so 2024 gives each province its share (yearbook insured
  workers x 2024 wage) of the bulletin's revenue less investment income (the factor carries
  local rates above the national guide and bases below the wage);
- retirees' account credit per retiree = the 2024 account revenue less investment income and
  workers' contributions, per retiree; fixed in CNY (the reform: 「今后年度不再调整」);
- pooled expenditure = sum over sex and age of insured x ``medical/spending_profile.csv`` x a
  level calibrated to the province's share of the 2024 pooled expenditure (yearbook insured
  workers + 3.33 x retirees) x the cost index
  (:func:`~socsec_proj.funds.medical_costs.cost_index`: wages and ``excess_cost_growth``);
- account expenditure = the accounts' 2024 share of their own inflow spent, x their inflow;
- investment income = ``employee_medical`` balances x ``employee_pension.investment_return`` (no
  return series of the medical funds is in the shipped data; the pension funds' proxy is used).

Provinces: the shipped data have no provincial medical figures, so China's 2024 figures are
spread by the yearbook's members and wages (contributions: insured workers x wage; spending and
the pooled opening balance: insured workers + 3.33 x retirees; account balances: as
contributions); every constant is national data, not a sum over the Dataset's provinces.
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr

from ..inputs import data
from ..variables import add, by_draw
from . import accounts, medical_costs
from .medical_costs import CALIBRATION_YEAR

SCHEME = "employee_medical"


def project_employee_medical(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Employee medical insurance stage: Dataset in (labour, employee pension), Dataset out.

    Adds ``employee_medical_contributors``, ``_retirees``, ``_insured`` [persons] for every year;
    per fund year (NaN before) the pooled fund's ``_revenue``, ``_contributions`` (employer and
    retirees), ``_investment_income``, ``_account_credits``, ``_expenditure``, ``_balance``,
    ``_months_of_reserve``; the accounts' ``_account_revenue``, ``_account_contributions``,
    ``_account_investment_income``, ``_account_expenditure``, ``_account_savings`` (balance); both
    accounts' ``_total_revenue``, ``_total_expenditure``; ``_retiree_contributions``,
    ``_covered_payroll``; per province the calibrated coverages and factor. With a ``draw``
    dimension each draw has its own members, wages (contributions and costs) and returns.
    """
    parameters = scenario.parameters
    bulletin = medical_costs.bulletin_reader()
    all_years, first = accounts.fund_years(ds)
    years = all_years[first:]
    provinces = list(ds.indexes["province"])
    c = medical_costs.calibration_index(years)          # 2024 among the fund years

    workers = accounts.members(ds, "employee_pension_contributors")          # (D, P, S, Y, A), all years
    pensioners = accounts.members(ds, "employee_pension_retirees")
    worker_totals = workers.sum(axis=(2, 4))                                 # (D, P, Y)
    pensioner_totals = pensioners.sum(axis=(2, 4))
    in_service_coverage, retiree_coverage = medical_costs.employee_coverage(bulletin)
    contributors = in_service_coverage * worker_totals
    retirees = retiree_coverage * pensioner_totals
    spending_share, payroll_share = medical_costs.employee_shares(provinces)

    profile = data.medical_spending_profile()
    units = (in_service_coverage * medical_costs.spending_units(workers[..., first:, :], profile)
             + retiree_coverage * medical_costs.spending_units(pensioners[..., first:, :], profile))   # (D, P, Y)
    shock = accounts.driver(ds, "wage")[:, first:] if "driver_wage" in ds else None
    index = medical_costs.cost_index(parameters, SCHEME, years, shock)                     # (D, Y)
    level = bulletin("employee_pooled_expenditure", CALIBRATION_YEAR) * spending_share / units[0, :, c]
    expenditure = level[:, None] * units * index[:, None, :]

    rate = accounts.investment_return(ds, parameters, first)                               # (D, Y)
    wages = accounts.fund_wages(ds, parameters, first)[..., 1:]                            # (D, P, Y) [CNY/month]
    payroll = contributors[..., first:] * 12.0 * wages
    employer_rate = accounts.by_province(parameters, f"{SCHEME}.employer_rate", years, provinces)
    employee_rate = accounts.by_province(parameters, f"{SCHEME}.employee_rate", years, provinces)
    interest = rate[0, c] * (bulletin("employee_pooled_balance", CALIBRATION_YEAR - 1)
                             + bulletin("employee_account_balance", CALIBRATION_YEAR - 1))
    # China's 2024 contributions: both accounts' revenue less their return
    paid = (bulletin("employee_pooled_revenue", CALIBRATION_YEAR)
            + bulletin("employee_account_revenue", CALIBRATION_YEAR) - interest)
    factor = paid * payroll_share / (payroll[0, :, c] * (employer_rate[:, c] + employee_rate[:, c]))
    employer = factor[:, None] * payroll * employer_rate
    own = factor[:, None] * payroll * employee_rate

    # retirees' credits: China's 2024 account inflow beyond workers' own contributions, per retiree
    national_employer = accounts.national(parameters, f"{SCHEME}.employer_rate", years)[c]
    national_employee = accounts.national(parameters, f"{SCHEME}.employee_rate", years)[c]
    account_inflow = bulletin("employee_account_revenue", CALIBRATION_YEAR) \
        - rate[0, c] * bulletin("employee_account_balance", CALIBRATION_YEAR - 1)
    own_2024 = paid * national_employee / (national_employer + national_employee)
    credit = max(account_inflow - own_2024, 0.0) / bulletin("employee_retirees", CALIBRATION_YEAR)  # [CNY/year]
    credits = credit * retirees[..., first:]
    spent_share = bulletin("employee_account_expenditure", CALIBRATION_YEAR) / account_inflow
    account_expenditure = spent_share * (own + credits)

    retiree_rate = accounts.by_province(parameters, f"{SCHEME}.retiree_contribution_rate", years, provinces)
    if np.any(retiree_rate > 0):
        pension = by_draw(ds, "employee_pension_average_benefit", ("province", "year"))[..., first:]
        retiree_paid = retirees[..., first:] * 12.0 * np.nan_to_num(pension) * retiree_rate
    else:
        retiree_paid = np.zeros_like(expenditure)
    pooled_in = employer + retiree_paid

    shape = expenditure.shape[:-1]
    pooled_opening = medical_costs.opening_balances(bulletin("employee_pooled_balance", int(years[0]) - 1),
                                                    spending_share, shape)
    account_opening = medical_costs.opening_balances(bulletin("employee_account_balance", int(years[0]) - 1),
                                                     payroll_share, shape)
    _, pooled_income, pooled_balance = accounts.accounts(pooled_opening, pooled_in, expenditure, rate[:, None, :],
                                                         transfer=-credits, engine=engine)
    _, account_income, account_balance = accounts.accounts(account_opening, own, account_expenditure,
                                                           rate[:, None, :], transfer=credits, engine=engine)
    revenue = pooled_in + pooled_income - credits
    account_revenue = own + credits + account_income

    padded = functools.partial(accounts.padded, n_years=len(all_years), first=first)
    return add(ds, {
        "employee_medical_contributors": contributors,
        "employee_medical_retirees": retirees,
        "employee_medical_insured": contributors + retirees,
        "employee_medical_revenue": padded(revenue),
        "employee_medical_contributions": padded(pooled_in),
        "employee_medical_retiree_contributions": padded(retiree_paid),
        "employee_medical_investment_income": padded(pooled_income),
        "employee_medical_account_credits": padded(credits),
        "employee_medical_expenditure": padded(expenditure),
        "employee_medical_balance": padded(pooled_balance),
        "employee_medical_months_of_reserve": padded(accounts.reserve_months(pooled_balance, expenditure)),
        "employee_medical_account_revenue": padded(account_revenue),
        "employee_medical_account_contributions": padded(own),
        "employee_medical_account_investment_income": padded(account_income),
        "employee_medical_account_expenditure": padded(account_expenditure),
        "employee_medical_account_savings": padded(account_balance),
        "employee_medical_total_revenue": padded(revenue + account_revenue),
        "employee_medical_total_expenditure": padded(expenditure + account_expenditure),
        "employee_medical_covered_payroll": padded(payroll),
        "employee_medical_in_service_coverage": np.full(len(provinces), in_service_coverage),
        "employee_medical_retiree_coverage": np.full(len(provinces), retiree_coverage),
        "employee_medical_contribution_factor": factor,
    }, {"province": provinces, "year": all_years})


def check_parameters(scenario) -> None:
    """Before any stage computes: the spending profile (every sex and age), the bulletin table,
    and a cost growth that keeps spending per head above zero."""
    data.medical_spending_profile()
    medical_costs.bulletin("employee_pooled_expenditure", CALIBRATION_YEAR)
    medical_costs.check_cost_growth(scenario, SCHEME)


project_employee_medical.check = check_parameters

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

Fund years from :data:`~socsec_proj.funds.medical_costs.EMPLOYEE_FIRST_YEAR` (2023, the first
bulletin that splits the flows between the two accounts). Members, by province, sex, age and
year: in-service insured = the urban-employee pension's insured workers x the national ratio of
the NHSA's in-service insured to the 2024 yearbook's insured workers (which the labour stage's
2024 members equal); retirees likewise (Social Insurance Law art. 27: retirees who met the
required years pay no contributions, so none do here unless the option is on). Per fund year:

- contributions = in-service insured x 12 x provincial average wage x (employer + employee rate)
  x a contribution factor, calibrated so 2024 gives each province its share (yearbook insured
  workers x 2024 wage) of the bulletin's revenue less investment income (the factor carries
  local rates above the national guide and bases below the wage);
- what both accounts spend = sum over sex and age of insured x ``medical/spending_profile.csv`` x
  a level calibrated to the province's share of the 2024 employee expenditure (yearbook insured
  workers + 3.33 x retirees) x the cost index
  (:func:`~socsec_proj.funds.medical_costs.cost_index`: wages and ``excess_cost_growth``; per
  in-service + 3.33 x retirees as published in the bulletin years);
- the accounts' terms of each bulletin year 2023-2025 (:func:`account_terms`: the 2021 reform
  phasing in), held after 2025: retirees' credit per retiree [CNY/year] (fixed in CNY, the
  reform: 「今后年度不再调整」) and the share of the accounts' inflow they spend;
- pooled expenditure = what both spend less what the accounts spend (outpatient costs moved to
  the pooled fund, 门诊共济);
- investment income = ``employee_medical`` balances x ``employee_pension.investment_return`` (no
  return series of the medical funds is in the shipped data; the pension funds' proxy is used);
- the balances before the first fund year are solved so that each account's balance at the end
  of 2024 is the bulletin's (:func:`~socsec_proj.funds.medical_costs.opening_balances`).

Provinces: the shipped data have no provincial medical figures, so China's 2024 figures are
spread by the yearbook's members and wages (contributions: insured workers x wage; spending and
the pooled balance of 2024: insured workers + 3.33 x retirees; account balances: as
contributions); every constant is national data, not a sum over the Dataset's provinces.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import xarray as xr

from ..inputs import data
from ..variables import add, by_draw
from . import accounts, medical_costs
from .medical_costs import CALIBRATION_YEAR

SCHEME = "employee_medical"


def project_employee_medical(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Employee medical insurance stage: Dataset in (labour, employee pension), Dataset out.

    Adds ``employee_medical_contributors``, ``_retirees``, ``_insured``, ``_spending_units``
    [persons] for every year;
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
    all_years, first = accounts.fund_years(ds, medical_costs.EMPLOYEE_FIRST_YEAR)
    years = all_years[first:]
    provinces = list(ds.indexes["province"])
    c = medical_costs.calibration_index(years)          # 2024 among the fund years

    profile = data.medical_spending_profile()
    # each labour cube (D, P, S, Y, A) read once for its spending units, all years; its totals are
    # the labour stage's (the same bits as summed in that pass)
    worker_totals, worker_units = medical_costs.spending_units(
        accounts.members(ds, "employee_pension_contributors"), profile, engine=engine,
        totals=accounts.member_totals(ds, "employee_pension_contributors", engine=engine))
    pensioner_totals, pensioner_units = medical_costs.spending_units(
        accounts.members(ds, "employee_pension_retirees"), profile, engine=engine,
        totals=accounts.member_totals(ds, "employee_pension_retirees", engine=engine))
    in_service_coverage, retiree_coverage = medical_costs.employee_coverage(bulletin)
    contributors = in_service_coverage * worker_totals                       # (D, P, Y), all years
    retirees = retiree_coverage * pensioner_totals
    all_units = in_service_coverage * worker_units + retiree_coverage * pensioner_units
    units = all_units[..., first:]
    spending_share, payroll_share = medical_costs.employee_shares(provinces)

    shock = accounts.driver(ds, "wage")[:, first:] if "driver_wage" in ds else None
    ratio = bulletin("retiree_spending_ratio", CALIBRATION_YEAR)
    heads = contributors[..., first:] + ratio * retirees[..., first:]      # as the build reads the bulletins
    index = medical_costs.cost_index(parameters, SCHEME, years, shock, mix=units / heads)   # (D, P, Y)
    # what both accounts pay for the insured (excess_cost_growth is read on this total)
    level = bulletin("employee_expenditure", CALIBRATION_YEAR) * spending_share / units[0, :, c]
    spending = level[:, None] * units * index

    rate = accounts.investment_return(ds, parameters, first)                               # (D, Y)
    wages = accounts.fund_wages(ds, parameters, first)[..., 1:]                            # (D, P, Y) [CNY/month]
    payroll = contributors[..., first:] * 12.0 * wages
    employer_rate = accounts.by_province(parameters, f"{SCHEME}.employer_rate", years, provinces)
    employee_rate = accounts.by_province(parameters, f"{SCHEME}.employee_rate", years, provinces)
    terms = account_terms(parameters, bulletin, years)
    factor = terms.paid[CALIBRATION_YEAR] * payroll_share / (payroll[0, :, c] * (employer_rate[:, c]
                                                                                + employee_rate[:, c]))
    employer = factor[:, None] * payroll * employer_rate
    own = factor[:, None] * payroll * employee_rate

    credits = terms.credit[None, None, :] * retirees[..., first:]
    account_expenditure = terms.spent_share[None, None, :] * (own + credits)
    expenditure = spending - account_expenditure      # the pooled fund pays what the accounts do not

    retiree_rate = accounts.by_province(parameters, f"{SCHEME}.retiree_contribution_rate", years, provinces)
    if np.any(retiree_rate > 0):
        pension = by_draw(ds, "employee_pension_average_benefit", ("province", "year"))[..., first:]
        retiree_paid = retirees[..., first:] * 12.0 * np.nan_to_num(pension) * retiree_rate
    else:
        retiree_paid = np.zeros_like(expenditure)
    pooled_in = employer + retiree_paid

    returns = rate[:, None, :]
    pooled_opening = medical_costs.opening_balances(bulletin("employee_pooled_balance", CALIBRATION_YEAR),
                                                    spending_share, years, pooled_in, expenditure, returns,
                                                    transfer=-credits, engine=engine)
    account_opening = medical_costs.opening_balances(bulletin("employee_account_balance", CALIBRATION_YEAR),
                                                     payroll_share, years, own, account_expenditure, returns,
                                                     transfer=credits, engine=engine)
    _, pooled_income, pooled_balance = accounts.accounts(pooled_opening, pooled_in, expenditure, returns,
                                                         transfer=-credits, engine=engine)
    _, account_income, account_balance = accounts.accounts(account_opening, own, account_expenditure,
                                                           returns, transfer=credits, engine=engine)
    revenue = pooled_in + pooled_income - credits
    account_revenue = own + credits + account_income

    padded = accounts.FundYears  # fund years -> all years, NaN before the fund's first
    return add(ds, accounts.padded_variables({
        "employee_medical_contributors": contributors,
        "employee_medical_retirees": retirees,
        "employee_medical_insured": contributors + retirees,
        "employee_medical_spending_units": all_units,
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
    }, len(all_years), first), {"province": provinces, "year": all_years})


class AccountTerms(NamedTuple):
    """What the NHSA bulletins of 2023-2025 say of the two accounts, national, per fund year.

    Attributes
    ----------
    paid : dict
        ``{bulletin year: contributions}``: both accounts' revenue less the return on their
        balances at the end of the year before [CNY/year].
    credit : numpy.ndarray, shape (Y,)
        Credit per retiree into the individual accounts [CNY/year].
    spent_share : numpy.ndarray, shape (Y,)
        Share of the accounts' inflow (workers' contributions and retirees' credits) they spend [/1].
    """

    paid: dict
    credit: np.ndarray
    spent_share: np.ndarray


def account_terms(parameters, figure, years) -> AccountTerms:
    """The accounts' terms of each fund year ``years``, read from the bulletin year nearest it.

    The 2021 reform (国办发〔2021〕14号) was implemented by each pooling region in its own year
    (in-service 2021-2023, retirees 2021-2024): the bulletins of 2023-2025 still show it phasing
    in, the accounts' revenue flat (639.0 billion CNY in 2024 and 2025) while contributions grew 4 %,
    their spending falling as outpatient costs moved to the pooled fund (门诊共济). So each
    bulletin year sets its own terms; a fund year before the first takes the first's, after the
    last the last's (the reform: the retirees' credit 「今后年度不再调整」). For a bulletin year B,
    with r = ``employee_pension.investment_return`` (the proxy of the stage):

    - contributions(B) = pooled + account revenue(B) - r(B) x (pooled + account balance(B-1));
    - workers' own = contributions(B) x employee rate / (employer + employee rate) (national);
    - the accounts' inflow(B) = account revenue(B) - r(B) x account balance(B-1);
    - credit(B) = (inflow(B) - workers' own) / retirees(B) (never below 0);
    - spent share(B) = account expenditure(B) / inflow(B).

    ``figure``: :func:`~socsec_proj.funds.medical_costs.bulletin_reader`.
    """
    split = sorted(data.medical_bulletin()["employee_account_revenue"])
    rate = accounts.national(parameters, "employee_pension.investment_return", split)
    employer = accounts.national(parameters, f"{SCHEME}.employer_rate", split)
    employee = accounts.national(parameters, f"{SCHEME}.employee_rate", split)
    paid, credit, spent = {}, {}, {}
    for k, year in enumerate(split):
        pooled_then = figure("employee_pooled_balance", year - 1)
        account_then = figure("employee_account_balance", year - 1)
        paid[year] = (figure("employee_pooled_revenue", year) + figure("employee_account_revenue", year)
                      - rate[k] * (pooled_then + account_then))
        inflow = figure("employee_account_revenue", year) - rate[k] * account_then
        own = paid[year] * employee[k] / (employer[k] + employee[k])
        credit[year] = max(inflow - own, 0.0) / figure("employee_retirees", year)
        spent[year] = figure("employee_account_expenditure", year) / inflow
    nearest = np.clip(np.asarray(years), split[0], split[-1])
    return AccountTerms(paid, np.array([credit[y] for y in nearest]), np.array([spent[y] for y in nearest]))


def check_parameters(scenario) -> None:
    """Before any stage computes: the spending profile (every sex and age), the bulletin table,
    and a cost growth that keeps spending per head above zero."""
    data.medical_spending_profile()
    medical_costs.bulletin("employee_pooled_expenditure", CALIBRATION_YEAR)
    medical_costs.check_cost_growth(scenario, SCHEME)


project_employee_medical.check = check_parameters

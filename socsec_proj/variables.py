"""Every variable of the projection Dataset, declared once: dimensions, unit and long name.

Stages add their outputs with :func:`add`, so a variable's unit and meaning are written in
exactly one place. Dimension names are fixed across the project: ``scenario``,
``draw``, ``province``, ``sex``, ``age``, ``year``.

Flows (births, deaths, migrants, revenue, payout) labelled ``year`` = Y are those of the
twelve months from mid-year Y-1 to mid-year Y, so that
``population[Y] = population[Y-1] - deaths[Y] + births[Y] + net_migration[Y]``; the base year's
flows are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

DIMENSIONS = ("scenario", "draw", "province", "sex", "age", "year")
SEXES = ("male", "female")


@dataclass(frozen=True)
class Variable:
    """Declaration of one Dataset variable."""

    name: str
    dims: tuple[str, ...]
    units: str
    long_name: str


_DECLARED = [
    Variable("population", ("province", "sex", "age", "year"), "persons",
             "resident population at 1 July (age 100 = 100 and over)"),
    Variable("population_total", ("province", "sex", "year"), "persons",
             "resident population at 1 July, all ages"),
    Variable("births", ("province", "sex", "year"), "persons/year",
             "live births in the twelve months to 1 July"),
    Variable("deaths", ("province", "sex", "year"), "persons/year",
             "deaths in the twelve months to 1 July"),
    Variable("net_migration", ("province", "sex", "age", "year"), "persons/year",
             "net migrants (inter-provincial and international) in the twelve months to 1 July,"
             " by age at 1 July"),
    Variable("net_migration_total", ("province", "sex", "year"), "persons/year",
             "net migrants in the twelve months to 1 July, all ages"),
    Variable("life_expectancy", ("province", "sex", "year"), "years",
             "period life expectancy at birth of the calendar year"),
    Variable("total_fertility_rate", ("province", "year"), "children/woman",
             "period total fertility rate of the calendar year"),
    # labour and coverage
    Variable("employee_pension_contributors", ("province", "sex", "age", "year"), "persons",
             "insured workers of the urban-employee pension (参保职工), not yet retired, at 1 July"),
    Variable("employee_pension_retirees", ("province", "sex", "age", "year"), "persons",
             "pensioners of the urban-employee pension (离退休人员) at 1 July"),
    Variable("resident_pension_contributors", ("province", "sex", "age", "year"), "persons",
             "insured of the urban-rural resident pension below the pension age at 1 July"),
    Variable("resident_pension_beneficiaries", ("province", "sex", "age", "year"), "persons",
             "beneficiaries of the urban-rural resident pension (实际领取待遇人数) at 1 July"),
    Variable("system_dependency_ratio", ("province", "year"), "1",
             "urban-employee pensioners per insured worker"),
    Variable("employee_pension_insured", ("province", "year"), "persons",
             "all insured of the urban-employee pension (参保人数): insured workers and pensioners"),
    Variable("resident_pension_insured", ("province", "year"), "persons",
             "all insured of the urban-rural resident pension (参保人数): contributors and beneficiaries"),
    Variable("pension_coverage_rate", ("province", "year"), "1",
             "basic pension coverage (基本养老保险参保率): insured of both schemes per resident aged 16 and over"),
    Variable("employee_pension_coverage", ("province",), "1",
             "calibrated insured workers per resident of working age below the cohort age (2024)"),
    Variable("employee_pension_retired_take_up", ("province",), "1",
             "calibrated share of the base year's retired cohorts drawing an urban-employee pension"),
    Variable("resident_pension_contribution_share", ("province",), "1",
             "calibrated resident-pension contributors per resident aged 16-59 outside the employee scheme (2024)"),
    # funds: flows of the calendar year, balances at its end (NaN before 2024, the first fund year)
    Variable("employee_pension_revenue", ("province", "year"), "CNY/year",
             "urban-employee pension fund revenue as the yearbook counts it: contributions + subsidy"
             " + investment income + net pooling transfer"),
    Variable("employee_pension_contributions", ("province", "year"), "CNY/year",
             "urban-employee pension contributions (employer and employee)"),
    Variable("employee_pension_subsidy", ("province", "year"), "CNY/year",
             "fiscal subsidy to the urban-employee pension fund"),
    Variable("employee_pension_investment_income", ("province", "year"), "CNY/year",
             "return on the urban-employee pension fund's opening balance"),
    Variable("employee_pension_pooling_transfer", ("province", "year"), "CNY/year",
             "net transfer received from national pooling (allocation less remittance)"),
    Variable("employee_pension_expenditure", ("province", "year"), "CNY/year",
             "urban-employee pension fund expenditure"),
    Variable("employee_pension_balance", ("province", "year"), "CNY",
             "urban-employee pension fund accumulated balance at the end of the year"),
    Variable("employee_pension_months_of_reserve", ("province", "year"), "months",
             "months of payment the balance covers: balance / (expenditure / 12)"),
    Variable("employee_pension_average_benefit", ("province", "year"), "CNY/month",
             "average urban-employee pension per pensioner"),
    Variable("employee_pension_covered_payroll", ("province", "year"), "CNY/year",
             "insured workers x 12 x provincial average wage"),
    Variable("employee_pension_contribution_factor", ("province",), "1",
             "calibrated effective contribution factor: contributions / (insured workers x 12 x average wage"
             " x contribution rate), 2024"),
    Variable("employee_pension_subsidy_share", ("province",), "1",
             "calibrated fiscal subsidy as a share of expenditure, 2024"),
    Variable("resident_pension_revenue", ("province", "year"), "CNY/year",
             "urban-rural resident pension fund revenue: contributions + subsidy + investment income"),
    Variable("resident_pension_contributions", ("province", "year"), "CNY/year",
             "resident pension contributions, with the government's matching contributions (缴费补贴)"),
    Variable("resident_pension_subsidy", ("province", "year"), "CNY/year",
             "government funding of the basic pension (基础养老金) of the resident pension"),
    Variable("resident_pension_investment_income", ("province", "year"), "CNY/year",
             "return on the resident pension fund's opening balance"),
    Variable("resident_pension_expenditure", ("province", "year"), "CNY/year",
             "resident pension fund expenditure"),
    Variable("resident_pension_balance", ("province", "year"), "CNY",
             "resident pension fund accumulated balance at the end of the year"),
    Variable("resident_pension_months_of_reserve", ("province", "year"), "months",
             "months of payment the balance covers: balance / (expenditure / 12)"),
    Variable("resident_pension_average_benefit", ("province", "year"), "CNY/month",
             "average resident pension per beneficiary"),
    Variable("resident_pension_take_up", ("province",), "1",
             "calibrated resident-pension beneficiaries per resident aged 60+ without an employee pension (2024)"),
    # unemployment and work-injury funds (calendar-year flows, balances at the end; NaN before 2024)
    Variable("unemployment_contributors", ("province", "year"), "persons",
             "unemployment-insurance insured workers (失业保险参保人数)"),
    Variable("unemployment_beneficiaries", ("province", "year"), "persons",
             "unemployed drawing unemployment benefit (失业保险金), average stock over the year"),
    Variable("unemployment_revenue", ("province", "year"), "CNY/year",
             "unemployment fund revenue: contributions + investment income"),
    Variable("unemployment_contributions", ("province", "year"), "CNY/year",
             "unemployment-insurance contributions (employer and employee)"),
    Variable("unemployment_investment_income", ("province", "year"), "CNY/year",
             "return on the unemployment fund's opening balance"),
    Variable("unemployment_expenditure", ("province", "year"), "CNY/year",
             "unemployment fund expenditure: benefits + job-stabilisation refunds + skills subsidies"),
    Variable("unemployment_benefits", ("province", "year"), "CNY/year",
             "unemployment benefit paid (失业保险金)"),
    Variable("unemployment_refunds", ("province", "year"), "CNY/year",
             "job-stabilisation refunds to employers (稳岗返还)"),
    Variable("unemployment_subsidies", ("province", "year"), "CNY/year",
             "skills-upgrading subsidies and other employment spending (技能提升补贴)"),
    Variable("unemployment_balance", ("province", "year"), "CNY",
             "unemployment fund accumulated balance at the end of the year"),
    Variable("unemployment_months_of_reserve", ("province", "year"), "months",
             "months of unemployment-fund expenditure the balance covers: balance / (expenditure / 12)"),
    Variable("unemployment_average_benefit", ("province", "year"), "CNY/month",
             "unemployment benefit per beneficiary: benefit share x first-tier minimum wage"),
    Variable("unemployment_coverage", ("province",), "1",
             "unemployment insured per urban-employee insured worker (calibrated to the seeds' 2020 insured"
             " for CN-GD, CN-HE, CN-GZ; unemployment.default_coverage_ratio elsewhere)"),
    Variable("injury_contributors", ("province", "year"), "persons",
             "work-injury insured workers (工伤保险参保人数)"),
    Variable("injury_revenue", ("province", "year"), "CNY/year",
             "work-injury fund revenue: contributions + investment income"),
    Variable("injury_contributions", ("province", "year"), "CNY/year",
             "work-injury insurance contributions (employers)"),
    Variable("injury_investment_income", ("province", "year"), "CNY/year",
             "return on the work-injury fund's opening balance"),
    Variable("injury_expenditure", ("province", "year"), "CNY/year",
             "work-injury fund expenditure: one-off benefits + long-term benefits + prevention"),
    Variable("injury_one_off_benefits", ("province", "year"), "CNY/year",
             "one-off work-injury payments for the year's cases without a long-term allowance"),
    Variable("injury_long_term_benefits", ("province", "year"), "CNY/year",
             "disability allowances (伤残津贴) paid to long-term recipients"),
    Variable("injury_prevention", ("province", "year"), "CNY/year",
             "injury-prevention spending (工伤预防费)"),
    Variable("injury_long_term_recipients", ("province", "year"), "persons",
             "recipients of a work-injury disability allowance, below retirement, at 1 July"),
    Variable("injury_balance", ("province", "year"), "CNY",
             "work-injury fund accumulated balance at the end of the year"),
    Variable("injury_months_of_reserve", ("province", "year"), "months",
             "months of work-injury-fund expenditure the balance covers: balance / (expenditure / 12)"),
    Variable("injury_average_benefit", ("province", "year"), "CNY/month",
             "disability allowance per long-term recipient"),
    Variable("injury_coverage", ("province",), "1",
             "work-injury insured per urban-employee insured worker (calibrated to the seeds' 2020 insured"
             " for CN-GD, CN-HE, CN-GZ; injury.default_coverage_ratio elsewhere)"),
    Variable("injury_one_off_payment_months", ("province",), "months",
             "calibrated one-off payment per one-off case in months of the provincial average wage (2024)"),
]

VARIABLES: dict[str, Variable] = {v.name: v for v in _DECLARED}


def add(ds: xr.Dataset, values: dict, coords: dict | None = None) -> xr.Dataset:
    """``ds`` with the declared variables ``values`` added, replacing any of the same name.

    What every stage returns. The arrays are in their declared dimension order on ``ds``'s
    coordinates, so nothing needs aligning and xarray checks only that the sizes agree
    (0.3 ms for the labour stage's twelve variables; merging a Dataset of them took 1.0 ms).

    Parameters
    ----------
    ds : xarray.Dataset
        The Dataset so far.
    values : dict of str to numpy.ndarray
        Data of each declared variable, in its declared dimension order.
    coords : dict, optional
        Coordinates of dimensions ``ds`` does not have yet (the population stage adds ``sex``
        and ``age``); dimensions ``ds`` has keep its coordinates.

    Raises
    ------
    ValueError
        If a variable is not declared, has the wrong number of dimensions, or a size differs
        from ``ds``'s.
    """
    variables = {name: ds.variables[name] for name in ds.data_vars if name not in values}
    for name, array in values.items():
        if name not in VARIABLES:
            raise KeyError(f"{name!r} is not declared in socsec_proj.variables")
        variable = VARIABLES[name]
        array = np.asarray(array)
        if array.ndim != len(variable.dims):
            raise ValueError(f"{name}: got {array.ndim} dimensions, declared {variable.dims}")
        variables[name] = xr.Variable(variable.dims, array, {"units": variable.units,
                                                            "long_name": variable.long_name})
    extra = {dim: labels for dim, labels in (coords or {}).items() if dim not in ds.coords}
    all_coords = ds.coords if not extra else ds.coords.merge(xr.Coordinates(extra)).coords
    return xr.Dataset(variables, coords=all_coords, attrs=ds.attrs)

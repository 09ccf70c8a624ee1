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

from dataclasses import dataclass, replace

import numpy as np
import xarray as xr

DIMENSIONS = ("scenario", "draw", "province", "sex", "age", "year")
SEXES = ("male", "female")

#: The social-insurance schemes, as variable-name prefixes (fund variables are ``{scheme}_{quantity}``).
SCHEMES = ("employee_pension", "resident_pension", "unemployment", "injury", "employee_medical", "resident_medical")


#: The labour stage's member cubes (province, sex, age, year). Each has a declared sum over sex
#: and age, ``{cube}_total`` (province, year), that the labour stage adds from its kernel's sums.
MEMBER_CUBES = ("employee_pension_contributors", "employee_pension_retirees",
                "resident_pension_contributors", "resident_pension_beneficiaries")


#: Storage precision of the cubes by sex and age of a run with draws (``population`` and the
#: labour stage's member cubes), float64 without draws. Every sum of them (totals, weighted sums,
#: the funds' kernels) accumulates in float64, so a draw's results lie within ~1e-6 of the same
#: path in float64 (7 significant digits, far finer than the draws' own spread). Why single
#: precision: the kernels that read the cubes stream them from memory (a chunk of 32 draws holds
#: 130 MB per cube), and half the bytes made a draw 1.3x cheaper (benchmarks/README.md, "Session
#: of 2026-12-02, sixth").
DRAW_CUBE_DTYPE = np.float32


def member_total_name(cube: str) -> str:
    """The declared sum over sex and age of a member cube of :data:`MEMBER_CUBES`."""
    return f"{cube}_total"


#: How a variable aggregates over sex, age and provinces (see :func:`aggregate`).
AGGREGATIONS = ("sum", "ratio", "mean", "none")


@dataclass(frozen=True)
class Variable:
    """Declaration of one Dataset variable.

    Attributes
    ----------
    name, dims, units, long_name
        The variable's name, dimensions, unit and meaning.
    aggregation : {"sum", "ratio", "mean", "none"}
        How it aggregates over sex, age and provinces: counts and money add up; a ratio is
        ``factor x sum(parts[0]) / sum(parts[1])`` of two declared variables; a mean is weighted
        by the declared variable ``parts[0]``; ``none`` (calibrated constants, drivers) does not
        aggregate.
    parts : tuple of str
        The declared variables a ratio or mean is formed from.
    factor : float
        Multiplier of a ratio (12 for months of reserve: balance / monthly expenditure).
    scheme : str or None
        The scheme of :data:`SCHEMES` whose tables show the variable.
    """

    name: str
    dims: tuple[str, ...]
    units: str
    long_name: str
    aggregation: str = "sum"
    parts: tuple[str, ...] = ()
    factor: float = 1.0
    scheme: str | None = None


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
    Variable("employee_pension_contributor_share", ("province", "sex", "age", "year"), "1",
             "share of the residents insured as workers of the urban-employee pension at 1 July (the same "
             "in every draw below the open age; at the open age, where each draw merges two cohorts by "
             "its own population, that of the first draw)"),
    Variable("employee_pension_retiree_share", ("province", "sex", "age", "year"), "1",
             "share of the residents drawing an urban-employee pension at 1 July (the same in every draw "
             "below the open age; at the open age, where each draw merges two cohorts by its own "
             "population, that of the first draw)"),
    Variable("resident_pension_contributors", ("province", "sex", "age", "year"), "persons",
             "insured of the urban-rural resident pension below the pension age at 1 July"),
    Variable("resident_pension_beneficiaries", ("province", "sex", "age", "year"), "persons",
             "beneficiaries of the urban-rural resident pension (实际领取待遇人数) at 1 July"),
    # the cubes' sums over sex and age, added by the labour stage as its kernel writes the cubes (every
    # fund stage and a stochastic run's kept totals read them: no fund passes over a cube to sum it)
    Variable("employee_pension_contributors_total", ("province", "year"), "persons",
             "insured workers of the urban-employee pension, not yet retired, at 1 July, all sexes and ages"),
    Variable("employee_pension_retirees_total", ("province", "year"), "persons",
             "pensioners of the urban-employee pension at 1 July, all sexes and ages"),
    Variable("resident_pension_contributors_total", ("province", "year"), "persons",
             "insured of the urban-rural resident pension below the pension age at 1 July, all sexes and ages"),
    Variable("resident_pension_beneficiaries_total", ("province", "year"), "persons",
             "beneficiaries of the urban-rural resident pension at 1 July, all sexes and ages"),
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
    # funds: flows of the calendar year, balances at its end (NaN before 2024, the pension funds' first year)
    Variable("employee_pension_revenue", ("province", "year"), "CNY/year",
             "urban-employee pension fund revenue as the yearbook counts it: contributions + subsidy"
             " + investment income + net pooling transfer"),
    Variable("employee_pension_contributions", ("province", "year"), "CNY/year",
             "urban-employee pension contributions (employer and employee)"),
    Variable("employee_pension_subsidy", ("province", "year"), "CNY/year",
             "fiscal subsidy to the urban-employee pension fund"),
    Variable("employee_pension_central_subsidy", ("province", "year"), "CNY/year",
             "the central budget's part of the fiscal subsidy to the urban-employee pension fund"),
    Variable("employee_pension_local_subsidy", ("province", "year"), "CNY/year",
             "the provincial and local budgets' part of the fiscal subsidy to the urban-employee pension fund"),
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
    Variable("resident_pension_central_subsidy", ("province", "year"), "CNY/year",
             "the central budget's part of the resident basic pension (national minimum, 国发〔2014〕8号)"),
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
    # unemployment and work-injury funds (calendar-year flows, balances at the end; NaN before their
    # first account year, the year before the pension funds' first)
    Variable("unemployment_contributors", ("province", "year"), "persons",
             "unemployment-insurance insured workers (失业保险参保人数)"),
    Variable("unemployment_beneficiaries", ("province", "year"), "persons",
             "unemployed drawing unemployment benefit (失业保险金), average stock over the year"),
    Variable("unemployment_recipients_during_year", ("province", "year"), "persons",
             "people drawing unemployment benefit at some time in the year: the stock + the year's entrants"),
    Variable("unemployment_revenue", ("province", "year"), "CNY/year",
             "unemployment fund revenue: contributions + investment income"),
    Variable("unemployment_contributions", ("province", "year"), "CNY/year",
             "unemployment-insurance contributions (employer and employee)"),
    Variable("unemployment_investment_income", ("province", "year"), "CNY/year",
             "return on the unemployment fund's opening balance"),
    Variable("unemployment_expenditure", ("province", "year"), "CNY/year",
             "unemployment fund expenditure: benefits + job-stabilisation refunds + skills subsidies + other spending"),
    Variable("unemployment_benefits", ("province", "year"), "CNY/year",
             "unemployment benefit paid (失业保险金)"),
    Variable("unemployment_refunds", ("province", "year"), "CNY/year",
             "job-stabilisation refunds to employers (稳岗返还)"),
    Variable("unemployment_subsidies", ("province", "year"), "CNY/year",
             "skills-upgrading subsidies and other employment spending (技能提升补贴)"),
    Variable("unemployment_other_spending", ("province", "year"), "CNY/year",
             "unemployment fund spending other than benefits at the 2023 bulletin's level (refunds, subsidies,"
             " other items not split)"),
    Variable("unemployment_balance", ("province", "year"), "CNY",
             "unemployment fund accumulated balance at the end of the year"),
    Variable("unemployment_months_of_reserve", ("province", "year"), "months",
             "months of unemployment-fund expenditure the balance covers: balance / (expenditure / 12)"),
    Variable("unemployment_average_benefit", ("province", "year"), "CNY/month",
             "unemployment benefit per beneficiary: benefit share x first-tier minimum wage"),
    Variable("unemployment_coverage", ("province",), "1",
             "unemployment insured per urban-employee insured worker (calibrated to the seeds' 2020 insured"
             " for CN-GD, CN-HE, CN-GZ; elsewhere one ratio x unemployment.relative_coverage, to the 2021 bulletin)"),
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
    Variable("injury_beneficiaries", ("province", "year"), "persons",
             "people receiving any work-injury benefit in the year (the bulletin's 享受工伤保险待遇人数): the year's"
             " cases + the long-term recipients"),
    Variable("injury_balance", ("province", "year"), "CNY",
             "work-injury fund accumulated balance at the end of the year"),
    Variable("injury_months_of_reserve", ("province", "year"), "months",
             "months of work-injury-fund expenditure the balance covers: balance / (expenditure / 12)"),
    Variable("injury_average_benefit", ("province", "year"), "CNY/month",
             "disability allowance per long-term recipient"),
    Variable("injury_coverage", ("province",), "1",
             "work-injury insured per urban-employee insured worker (calibrated to the seeds' 2020 insured"
             " for CN-GD, CN-HE, CN-GZ; elsewhere one ratio x injury.relative_coverage, to the 2021 bulletin)"),
    Variable("injury_one_off_payment_months", ("province",), "months",
             "calibrated one-off payment per one-off case in months of the provincial average wage"
             " (first account year)"),
    # basic medical insurance (NaN before the first fund year for flows and balances; members every year)
    Variable("employee_medical_contributors", ("province", "year"), "persons",
             "in-service insured of the employee basic medical insurance (在职职工), at 1 July"),
    Variable("employee_medical_retirees", ("province", "year"), "persons",
             "retired insured of the employee basic medical insurance (退休人员), contributing nothing, at 1 July"),
    Variable("employee_medical_insured", ("province", "year"), "persons",
             "all insured of the employee basic medical insurance (职工医保参保人数)"),
    Variable("employee_medical_spending_units", ("province", "year"), "persons",
             "employee medical insured weighted by the relative spending per head of their sex and age"
             " (medical/spending_profile.csv; 1 below age 20): what the resident scheme's residents are"
             " weighted against"),
    Variable("employee_medical_revenue", ("province", "year"), "CNY/year",
             "employee medical pooled fund (统筹基金) revenue as NHSA counts it: employer and retirees' contributions"
             " + investment income - the credits paid into retirees' individual accounts"),
    Variable("employee_medical_contributions", ("province", "year"), "CNY/year",
             "contributions to the employee medical pooled fund: employer (maternity merged) and retirees'"),
    Variable("employee_medical_retiree_contributions", ("province", "year"), "CNY/year",
             "retirees' contributions on their pension (policy option; 0 under current law)"),
    Variable("employee_medical_investment_income", ("province", "year"), "CNY/year",
             "return on the employee medical pooled fund's opening balance"),
    Variable("employee_medical_account_credits", ("province", "year"), "CNY/year",
             "fixed credits the pooled fund pays into retirees' individual accounts"),
    Variable("employee_medical_expenditure", ("province", "year"), "CNY/year",
             "employee medical pooled fund expenditure (maternity included)"),
    Variable("employee_medical_balance", ("province", "year"), "CNY",
             "employee medical pooled fund accumulated balance at the end of the year"),
    Variable("employee_medical_months_of_reserve", ("province", "year"), "months",
             "months of pooled-fund expenditure the pooled balance covers: balance / (expenditure / 12)"),
    Variable("employee_medical_account_revenue", ("province", "year"), "CNY/year",
             "employee medical individual accounts' revenue: workers' own contributions + retirees' credits"
             " + investment income"),
    Variable("employee_medical_account_contributions", ("province", "year"), "CNY/year",
             "in-service workers' own contributions, all credited to their individual accounts"),
    Variable("employee_medical_account_investment_income", ("province", "year"), "CNY/year",
             "return on the individual accounts' opening balance"),
    Variable("employee_medical_account_expenditure", ("province", "year"), "CNY/year",
             "spending paid from the employee medical individual accounts"),
    Variable("employee_medical_account_savings", ("province", "year"), "CNY",
             "employee medical individual accounts (medical savings accounts): accumulated balance at the end"
             " of the year (个人账户累计结存)"),
    Variable("employee_medical_total_revenue", ("province", "year"), "CNY/year",
             "employee medical insurance fund revenue, pooled fund and individual accounts (职工医保基金收入)"),
    Variable("employee_medical_total_expenditure", ("province", "year"), "CNY/year",
             "employee medical insurance fund expenditure, pooled fund and individual accounts"),
    Variable("employee_medical_covered_payroll", ("province", "year"), "CNY/year",
             "in-service insured x 12 x provincial average wage"),
    Variable("employee_medical_in_service_coverage", ("province",), "1",
             "calibrated employee-medical in-service insured per urban-employee pension insured worker (2024)"),
    Variable("employee_medical_retiree_coverage", ("province",), "1",
             "calibrated employee-medical retirees per urban-employee pensioner (2024)"),
    Variable("employee_medical_contribution_factor", ("province",), "1",
             "calibrated contributions / (in-service insured x 12 x average wage x (employer + employee rate)), 2024"),
    Variable("resident_medical_insured", ("province", "year"), "persons",
             "insured of the urban-rural resident basic medical insurance (居民医保参保人数)"),
    Variable("medical_coverage_rate", ("province", "year"), "1",
             "basic medical insurance coverage: insured of both medical schemes per resident"),
    Variable("resident_medical_revenue", ("province", "year"), "CNY/year",
             "resident medical fund revenue: premiums + fiscal subsidy + investment income"),
    Variable("resident_medical_premiums", ("province", "year"), "CNY/year",
             "individual premiums collected in the year (个人缴费)"),
    Variable("resident_medical_subsidy", ("province", "year"), "CNY/year",
             "fiscal subsidy to the resident medical fund (财政补助)"),
    Variable("resident_medical_investment_income", ("province", "year"), "CNY/year",
             "return on the resident medical fund's opening balance"),
    Variable("resident_medical_expenditure", ("province", "year"), "CNY/year",
             "resident medical fund expenditure"),
    Variable("resident_medical_balance", ("province", "year"), "CNY",
             "resident medical fund accumulated balance at the end of the year"),
    Variable("resident_medical_months_of_reserve", ("province", "year"), "months",
             "months of resident-medical expenditure the balance covers: balance / (expenditure / 12)"),
    Variable("resident_medical_financing", ("province", "year"), "CNY/year",
             "insured residents x the national financing standard (premium + minimum subsidy)"),
    Variable("resident_medical_enrolment_rate", ("province",), "1",
             "calibrated resident-medical insured per resident outside the employee medical scheme (2024)"),
    Variable("resident_medical_revenue_factor", ("province",), "1",
             "calibrated resident-medical revenue per unit of the national standards (2024)"),
    # stochastic drivers, per draw and calendar year (0 before 2025); the stages read them when present
    Variable("driver_fertility", ("draw", "year"), "1", "log multiplier of the TFR"),
    Variable("driver_mortality", ("draw", "year"), "1", "log multiplier of the probability of dying"),
    Variable("driver_wage", ("draw", "year"), "1", "shock to nominal wage growth"),
    Variable("driver_cpi", ("draw", "year"), "1", "shock to CPI inflation"),
    Variable("driver_return", ("draw", "year"), "1", "shock to the rate of return"),
    Variable("driver_unemployment", ("draw", "year"), "1", "log multiplier of unemployment inflow"),
]

def _rules() -> dict:
    """The aggregation of every variable that is not a plain sum: ``{name: (aggregation, parts, factor)}``."""
    rules = {
        "life_expectancy": ("mean", ("population_total",), 1.0),
        "total_fertility_rate": ("mean", ("population_total",), 1.0),
        "pension_coverage_rate": ("mean", ("population_total",), 1.0),
        "medical_coverage_rate": ("mean", ("population_total",), 1.0),
        "system_dependency_ratio": ("ratio", ("employee_pension_retirees", "employee_pension_contributors"), 1.0),
        "employee_pension_contributor_share": ("ratio", ("employee_pension_contributors", "population"), 1.0),
        "employee_pension_retiree_share": ("ratio", ("employee_pension_retirees", "population"), 1.0),
        "employee_pension_average_benefit": ("mean", ("employee_pension_retirees",), 1.0),
        "resident_pension_average_benefit": ("mean", ("resident_pension_beneficiaries",), 1.0),
        "unemployment_average_benefit": ("mean", ("unemployment_beneficiaries",), 1.0),
        "injury_average_benefit": ("mean", ("injury_long_term_recipients",), 1.0),
    }
    for scheme in SCHEMES:
        rules[f"{scheme}_months_of_reserve"] = ("ratio", (f"{scheme}_balance", f"{scheme}_expenditure"), 12.0)
    for variable in _DECLARED:  # calibrated constants by province and the stochastic drivers
        if "year" not in variable.dims or variable.name.startswith("driver_"):
            rules[variable.name] = ("none", (), 1.0)
    return rules


def _scheme(name: str) -> str | None:
    if name == "system_dependency_ratio":
        return "employee_pension"
    if name in _MEMBER_TOTALS:  # a scheme's tables sum the cube itself: the same column twice otherwise
        return None
    if name in ("employee_pension_contributor_share", "employee_pension_retiree_share"):
        return None  # rates by age for the fund kernels: the tables show the members
    return next((scheme for scheme in SCHEMES if name.startswith(scheme + "_")), None)


def _with_rule(variable: Variable, rules: dict) -> Variable:
    aggregation, parts, factor = rules.get(variable.name, ("sum", (), 1.0))
    return replace(variable, aggregation=aggregation, parts=parts, factor=factor, scheme=_scheme(variable.name))


_MEMBER_TOTALS = frozenset(member_total_name(cube) for cube in MEMBER_CUBES)
_RULES = _rules()
_DECLARED = [_with_rule(variable, _RULES) for variable in _DECLARED]

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

    Notes
    -----
    A stochastic run's Dataset has a ``draw`` dimension: an array with one more (leading)
    dimension than declared is then that variable by draw, ``("draw", *declared)``. Without a
    ``draw`` dimension such an array must have a leading size of 1 (the one path of a
    deterministic run), which is dropped; so stages always compute with a leading draw axis.
    """
    has_draws = "draw" in ds.dims
    variables = {}
    for name, array in values.items():
        if name not in VARIABLES:
            raise KeyError(f"{name!r} is not declared in socsec_proj.variables")
        variable = VARIABLES[name]
        dims = variable.dims
        array = np.asarray(array)
        if array.ndim == len(dims) + 1 and "draw" not in dims:
            if has_draws:
                dims = ("draw",) + dims
            elif array.shape[0] == 1:
                array = array[0]
            else:
                raise ValueError(f"{name}: {array.shape[0]} draws, but the Dataset has no draw dimension")
        if array.ndim != len(dims):
            raise ValueError(f"{name}: got {array.ndim} dimensions, declared {variable.dims}")
        variables[name] = xr.Variable(dims, array, {"units": variable.units,
                                                            "long_name": variable.long_name})
    extra = {dim: labels for dim, labels in (coords or {}).items() if dim not in ds.coords}
    if not extra:
        fast = _replaced(ds, variables)
        if fast is not None:
            return fast
    # the public way: every variable of ds but those replaced, then the new ones (the kept ones
    # gathered only here: a stage's Dataset holds ~150, and the fast path needs none of them)
    variables = {**{name: ds.variables[name] for name in ds.data_vars if name not in values}, **variables}
    all_coords = ds.coords if not extra else ds.coords.merge(xr.Coordinates(extra)).coords
    return xr.Dataset(variables, coords=all_coords, attrs=ds.attrs)


def _replaced(ds: xr.Dataset, new: dict) -> xr.Dataset | None:
    """``ds`` with the variables ``new`` (on dimensions ``ds`` has) put in, without rebuilding it.

    Constructing a Dataset checks and copies every variable it holds, so each stage paid for all
    the earlier stages' variables again: a quarter of a deterministic run (40 calls, ~4,600
    variable copies). The sizes are checked here instead; the Dataset is assembled by xarray's
    own ``_replace``. Returns None (the caller then builds it the public way) when a variable has a
    dimension ``ds`` lacks, or where this xarray has no ``_replace`` of that form.
    """
    sizes = ds.sizes
    for name, variable in new.items():
        for dim, size in zip(variable.dims, variable.shape):
            if dim not in sizes:
                return None
            if sizes[dim] != size:
                raise ValueError(f"{name}: {dim} has {size} values, the Dataset {sizes[dim]}")
    replace = getattr(ds, "_replace", None)
    if replace is None:
        return None
    kept = {key: value for key, value in ds._variables.items() if key not in new}
    try:
        return replace(variables={**kept, **new}, attrs=dict(ds.attrs))
    except TypeError:  # another xarray's private signature
        return None


def by_draw(ds: xr.Dataset, name: str, dims: tuple) -> np.ndarray:
    """The values of ``ds[name]`` in the order ``dims`` behind a leading draw axis (size 1 without
    draws): what stages compute on. A view wherever the transposition allows one."""
    values = ds.variables[name]
    if "draw" in values.dims:
        return values.transpose("draw", *dims).values
    return values.transpose(*dims).values[None]


def draw_count(ds: xr.Dataset) -> int:
    """Number of draws of ``ds`` (1 for a deterministic projection)."""
    return int(ds.sizes.get("draw", 1))


def aggregate(ds: xr.Dataset, name: str, dims=("sex", "age", "province")) -> tuple[xr.DataArray, str]:
    """``ds[name]`` aggregated over those of ``dims`` it has, by its declared rule.

    Parameters
    ----------
    ds : xarray.Dataset
    name : str
        A declared variable.
    dims : sequence of str
        Dimensions to aggregate over (those the variable lacks are ignored; a ``draw``
        dimension is always kept).

    Returns
    -------
    xarray.DataArray, str
        The aggregate (NaN kept where every part is NaN: ``min_count=1``) and how it was formed
        (``"sum"``, ``"ratio of the totals"``, ``"mean weighted by ..."``, ``"as projected"``).

    Raises
    ------
    KeyError
        If ``name`` is not declared.
    ValueError
        If the variable does not aggregate (``none``) but would have to.
    """
    variable = VARIABLES[name]
    array = ds[name]
    over = [d for d in dims if d in array.dims]
    if not over:
        return array, "as projected"
    kept_dims = [d for d in array.dims if d not in over]

    def total(part):  # a part summed to the variable's kept dimensions
        values = ds[part]
        return values.sum([d for d in values.dims if d not in kept_dims], min_count=1)

    rule, parts = variable.aggregation, variable.parts
    if rule in ("ratio", "mean") and not all(part in ds.data_vars for part in parts):
        rule, parts = "mean", tuple(p for p in ("population", "population_total") if p in ds.data_vars)[:1]
    if rule == "sum":
        return array.sum(over, min_count=1), "sum"
    if rule == "ratio":
        return variable.factor * total(parts[0]) / total(parts[1]), "ratio of the totals"
    if rule == "mean":
        if not parts:
            return array.mean(over), "mean"
        weight = ds[parts[0]]
        weight = weight.sum([d for d in weight.dims if d not in array.dims])
        how = "population-weighted mean" if parts[0].startswith("population") else "mean weighted by beneficiaries"
        return (array * weight).sum(over, min_count=1) / weight.sum(over), how
    raise ValueError(f"{name} ({variable.aggregation}) does not aggregate over {', '.join(over)}")

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
import functools
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from ..errors import InputError
from ..inputs import data
from ..inputs.parameters import ParameterSet
from ..inputs.paths import params_dir
from ..inputs.provinces import CODES
from ..variables import SEXES, add
from . import _kernels
from .employee_pension import FUND_BASE_YEAR, wage_path

#: Year of the minimum-wage table (standards in force on 1 July 2025).
MINIMUM_WAGE_YEAR = 2025

#: Upper ends (exclusive) of the age bands of ``unemployment.inflow_relative``; the last is open.
INFLOW_BANDS = (("under_25", 25), ("25_34", 35), ("35_44", 45), ("45_54", 55), ("55_plus", None))

#: The longest benefit entitlement the law allows (失业保险条例 art. 17) [months].
LONGEST_ENTITLEMENT = 24


# --------------------------------------------------------------------------------------------
# Tables of params/social_insurance (read here: the stage is their only reader)
# --------------------------------------------------------------------------------------------


def _read_table(name: str, columns: list[str]) -> tuple[pd.DataFrame, Path]:
    path = data.table_path(name)
    if not path.is_file():
        raise InputError("table not found", source=path, expected=f"the embedded table {name}.csv")
    frame = pd.read_csv(path, comment="#")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}", source=path, expected=f"columns {columns}")
    return frame, path


@data.cached_per_folder
def minimum_wage() -> np.ndarray:
    """First-tier monthly minimum wage in force on 1 July 2025, in national province order [CNY/month]."""
    frame, path = _read_table("social_insurance/minimum_wage_2025",
                              ["province", "minimum_wage_tier1", "minimum_wage_lowest_tier"])
    unknown = sorted(set(frame["province"]) - set(CODES))
    if unknown:
        raise InputError(f"unexpected province {unknown[0]!r}", source=path, key="province",
                         expected="ISO 3166-2:CN codes")
    if frame["province"].duplicated().any():
        raise InputError(f"province {frame['province'][frame['province'].duplicated()].iloc[0]!r} appears twice",
                         source=path, key="province", expected="one row per province")
    frame = frame.set_index("province")
    missing = [code for code in CODES if code not in frame.index]
    if missing:
        raise InputError(f"no row for province {missing[0]!r}", source=path, key="province",
                         expected="a row for every province")
    values = pd.to_numeric(frame.loc[list(CODES), "minimum_wage_tier1"], errors="coerce").to_numpy(float)
    lowest = pd.to_numeric(frame.loc[list(CODES), "minimum_wage_lowest_tier"], errors="coerce").to_numpy(float)
    for column, column_values in (("minimum_wage_tier1", values), ("minimum_wage_lowest_tier", lowest)):
        bad = ~(np.isfinite(column_values) & (column_values > 0))
        if bad.any():
            raise InputError(f"{CODES[int(np.argmax(bad))]}: value {float(column_values[bad][0])!r}", source=path,
                             key=column, expected="a positive number [CNY/month] for every province")
    if np.any(lowest > values):
        p = int(np.argmax(lowest > values))
        raise InputError(f"{CODES[p]}: lowest tier {lowest[p]} above the first tier {values[p]}", source=path,
                         key="minimum_wage_lowest_tier", expected="lowest tier <= first tier")
    values.setflags(write=False)
    return values


@data.cached_per_folder
def benefit_duration() -> tuple[np.ndarray, np.ndarray]:
    """The entitlement rule: lower bounds of contribution years [years] and months of benefit [months].

    A worker with at least ``lower[i]`` (and fewer than ``lower[i + 1]``) contribution years is
    entitled to ``months[i]``; below ``lower[0]`` to none.

    Raises
    ------
    InputError
        Naming ``unemployment_benefit_duration.csv`` and the column if the ranges leave a gap or
        overlap, the last range is closed, a bound is not a number of years >= 0, or months lie
        outside 0..24.
    """
    frame, path = _read_table("social_insurance/unemployment_benefit_duration",
                              ["min_contribution_years", "max_contribution_years", "months"])
    expected = ("contiguous ranges [min, max) of contribution years, each max equal to the next min, the last"
                " with no max")
    if frame.empty:
        raise InputError("no rows", source=path, expected=expected)
    frame = frame.sort_values("min_contribution_years", kind="stable").reset_index(drop=True)
    lower = pd.to_numeric(frame["min_contribution_years"], errors="coerce").to_numpy(float)
    upper = pd.to_numeric(frame["max_contribution_years"], errors="coerce").to_numpy(float)
    months = pd.to_numeric(frame["months"], errors="coerce").to_numpy(float)
    if not np.all(np.isfinite(lower)) or np.any(lower < 0):
        raise InputError("a lower bound is missing or negative", source=path, key="min_contribution_years",
                         expected="years >= 0 in every row")
    if not np.all(np.isfinite(months)) or np.any(months < 0) or np.any(months > LONGEST_ENTITLEMENT):
        bad = months[~(np.isfinite(months) & (months >= 0) & (months <= LONGEST_ENTITLEMENT))][0]
        raise InputError(f"value {float(bad)!r}", source=path, key="months",
                         expected=f"months in [0, {LONGEST_ENTITLEMENT}] (失业保险条例 art. 17)")
    if np.isfinite(upper[-1]):
        raise InputError(f"the last range ends at {upper[-1]:g} years", source=path, key="max_contribution_years",
                         expected=expected)
    for i in range(len(lower) - 1):
        if not np.isfinite(upper[i]):
            raise InputError(f"the range from {lower[i]:g} years has no upper bound but is not the last",
                             source=path, key="max_contribution_years", expected=expected)
        if upper[i] <= lower[i]:
            raise InputError(f"the range [{lower[i]:g}, {upper[i]:g}) is empty", source=path,
                             key="max_contribution_years", expected=expected)
        if upper[i] < lower[i + 1]:
            raise InputError(f"gap between {upper[i]:g} and {lower[i + 1]:g} contribution years", source=path,
                             key="min_contribution_years", expected=expected)
        if upper[i] > lower[i + 1]:
            raise InputError(f"ranges [{lower[i]:g}, {upper[i]:g}) and [{lower[i + 1]:g}, ...) overlap",
                             source=path, key="min_contribution_years", expected=expected)
    lower.setflags(write=False)
    months.setflags(write=False)
    return lower, months


def entitlement_months(contribution_years) -> np.ndarray:
    """Months of benefit for the given contribution years [years] under the duration table [months]."""
    lower, months = benefit_duration()
    index = np.searchsorted(lower, np.asarray(contribution_years, dtype=float), side="right") - 1
    return np.where(index >= 0, months[np.clip(index, 0, None)], 0.0)


@data.cached_per_folder
def seed_figures() -> pd.DataFrame:
    """The seed figures (``seed_figures.csv``): province, year, indicator, value, kind, ..."""
    frame, path = _read_table("social_insurance/seed_figures", ["province", "year", "indicator", "value", "kind"])
    if frame[["province", "year", "indicator", "value", "kind"]].isna().any().any():
        raise InputError("an empty value", source=path,
                         expected="province, year, indicator, value and kind in every row")
    return frame


def seed_actuals(indicator: str, years) -> dict:
    """``{province: (year, value)}``: each seed province's latest actual figure within ``years``."""
    return _seed_actuals(params_dir(), indicator, int(years[0]), int(years[-1]))


@functools.lru_cache(maxsize=32)
def _seed_actuals(folder, indicator: str, first: int, last: int) -> dict:
    frame = seed_figures()
    rows = frame[(frame["indicator"] == indicator) & (frame["kind"] == "actual") & frame["year"].between(first, last)]
    latest = {}
    for province, year, value in zip(rows["province"], rows["year"], rows["value"]):
        if province not in latest or int(year) >= latest[province][0]:
            latest[province] = (int(year), float(value))
    return latest


# --------------------------------------------------------------------------------------------
# Calibration and shared pieces (the injury fund uses them too)
# --------------------------------------------------------------------------------------------


def coverage_ratios(ds: xr.Dataset, parameters, indicator: str, default_path: str) -> np.ndarray:
    """Insured of a scheme per urban-employee insured worker, by province of ``ds`` [/1].

    A seed province's ratio makes the model's insured of its latest actual seed year (2020)
    equal the seed figure ``indicator`` of ``seed_figures.csv``: ratio = seed insured / the
    model's urban-employee insured workers of that year. The other provinces take the parameter
    ``default_path``, whose value is the mean of the seed provinces' ratios (held by
    ``tests/test_unemployment_injury.py``). Computing the seed provinces here keeps them exact
    whatever the labour stage does; the default stays a parameter so that a run on a subset of
    provinces without the seed provinces gets the same ratios.
    """
    years = ds["year"].values
    provinces = list(ds["province"].values)
    ratios = by_province(parameters, default_path, [FUND_BASE_YEAR], provinces)[:, 0].copy()
    insured = None
    for province, (year, value) in seed_actuals(indicator, years).items():
        if province not in provinces:
            continue
        if insured is None:  # [P, S, Y, A], a view of the labour stage's buffer
            insured = np.swapaxes(ds["employee_pension_contributors"].values, 2, 3)
        p, t = provinces.index(province), int(np.searchsorted(years, year))
        model = float(insured[p, :, t, :].sum())
        if model <= 0:
            raise InputError(f"{province}: no urban-employee insured workers in {year} to calibrate to",
                             source=data.table_path("social_insurance/seed_figures"), key=indicator,
                             expected="insured workers > 0 in the seed year")
        ratios[p] = value / model
    return ratios


def fund_years(ds: xr.Dataset) -> tuple[np.ndarray, int]:
    """All years of ``ds``, and the index of the first fund year (2024)."""
    all_years = ds["year"].values
    if FUND_BASE_YEAR not in all_years:
        raise InputError(f"the fund stages start in {FUND_BASE_YEAR}", key="horizon",
                         expected=f"a projection that includes {FUND_BASE_YEAR}")
    return all_years, int(np.searchsorted(all_years, FUND_BASE_YEAR))


def padded(values: np.ndarray, n_years: int, first: int) -> np.ndarray:
    """Fund years -> all years of the Dataset, NaN before the first fund year."""
    out = np.full((values.shape[0], n_years), np.nan)
    out[:, first:] = values
    return out


def insured_by_age(ds: xr.Dataset, first: int) -> np.ndarray:
    """Urban-employee insured workers ``[P, S, Y, A]`` of the fund years [persons] (a view, no copy)."""
    if "employee_pension_contributors" not in ds:
        raise InputError("the Dataset has no employee_pension_contributors", key="stages",
                         expected="the labour stage (project_coverage) before the unemployment and injury funds")
    return np.swapaxes(ds["employee_pension_contributors"].values, 2, 3)[:, :, first:, :]


def by_province(parameters, path: str, years, provinces) -> np.ndarray:
    """``[P, Y]`` annual values of a parameter (read-only).

    Memoised on the (immutable, hashable) parameter, years and provinces: evaluating a step
    function year by year costs ~0.1 ms, and the two stages read some forty parameters whose
    values most runs share (a scenario's changes make new parameter objects, so new keys).
    """
    return _by_province(parameters.get(path), tuple(int(y) for y in years), tuple(provinces))


@functools.lru_cache(maxsize=1024)
def _by_province(parameter, years: tuple, provinces: tuple) -> np.ndarray:
    values = np.asarray(parameter.by_province(np.array(years, dtype=np.int64), list(provinces)), dtype=float)
    values.setflags(write=False)
    return values


def wages_of(parameters, years, provinces) -> np.ndarray:
    """:func:`~socsec_proj.funds.employee_pension.wage_path` (``(P, Y+1)``, column 0 = 2023) [CNY/month],
    memoised on the wage-growth parameter, the years, the provinces and the data folder (read-only)."""
    return _wages(parameters.get("economy.wage_growth"), tuple(int(y) for y in years), tuple(provinces), params_dir())


@functools.lru_cache(maxsize=64)
def _wages(growth, years: tuple, provinces: tuple, folder) -> np.ndarray:
    # wage_path reads this one parameter only
    values = wage_path(ParameterSet({"economy.wage_growth": growth}), np.array(years), list(provinces))
    values.setflags(write=False)
    return values


def reserve_months(balance: np.ndarray, expenditure: np.ndarray) -> np.ndarray:
    """Months of expenditure the balance covers: balance / (expenditure / 12) [months] (NaN without spending)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expenditure > 0, balance / (expenditure / 12.0), np.nan)


def accounts(opening: np.ndarray, contributions: np.ndarray, expenditure: np.ndarray, rate: np.ndarray):
    """Investment income and year-end balance, by :func:`~socsec_proj.funds._kernels.fund_accounts`.

    balance(t) = balance(t-1) x (1 + rate(t)) + contributions(t) - expenditure(t): the pension
    funds' kernel with no subsidy and no pooling transfer.
    """
    n_prov, n_years = contributions.shape
    income = np.empty((n_prov, n_years))
    balance = np.empty((n_prov, n_years))
    zeros = np.zeros((n_prov, n_years))
    # subsidy share and pooling transfer 0: these funds have neither (subsidy_share is [P, Y])
    _kernels.fund_accounts(np.ascontiguousarray(opening, dtype=float), np.ascontiguousarray(contributions),
                           np.ascontiguousarray(expenditure), zeros, zeros, np.ascontiguousarray(rate),
                           np.zeros(n_years, dtype=bool), np.empty((n_prov, n_years)), income, balance)
    return income, balance


# --------------------------------------------------------------------------------------------
# The unemployment fund
# --------------------------------------------------------------------------------------------


def minimum_wage_path(parameters, wages: np.ndarray, provinces) -> np.ndarray:
    """First-tier minimum wage by province and fund year [CNY/month].

    The standards in force on 1 July 2025 (``minimum_wage_2025.csv``) moved with the province's
    average wage, so with ``economy.wage_growth`` after 2025: ``wages`` is :func:`wages_of`'s
    ``(P, Y+1)`` array (column 0 = 2023, column k = fund year k-1), and the minimum wage of year
    t is the 2025 value x wage(t) / wage(2025), with wage(2025) = wage(2024) x (1 + the 2025
    growth). 2024 is thus the 2025 value deflated by one year of wage growth.
    """
    table = minimum_wage()[[CODES.index(p) for p in provinces]]
    growth = by_province(parameters, "economy.wage_growth", [MINIMUM_WAGE_YEAR], CODES[:1])[0, 0]
    anchor = wages[:, MINIMUM_WAGE_YEAR - FUND_BASE_YEAR] * (1.0 + growth)
    return table[:, None] * wages[:, 1:] / anchor[:, None]


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


def project_unemployment(ds: xr.Dataset, scenario) -> xr.Dataset:
    """Unemployment-insurance fund stage: Dataset in (population, labour), Dataset out.

    Adds, per province and fund year (2024 on; NaN before): ``unemployment_contributors``,
    ``unemployment_beneficiaries`` [persons]; ``unemployment_revenue``, ``_contributions``,
    ``_investment_income``, ``_expenditure``, ``_benefits``, ``_refunds``, ``_subsidies``
    [CNY/year]; ``unemployment_balance`` [CNY]; ``unemployment_months_of_reserve`` [months];
    ``unemployment_average_benefit`` [CNY/month]; per province the calibrated
    ``unemployment_coverage`` [/1].
    """
    parameters = scenario.parameters
    all_years, first = fund_years(ds)
    years = all_years[first:]
    provinces = list(ds["province"].values)
    insured = insured_by_age(ds, first)                                    # (P, S, Y, A)
    n_age = insured.shape[-1]

    coverage = coverage_ratios(ds, parameters, "unemployment_insured", "unemployment.default_coverage_ratio")
    workers = insured.sum(axis=(1, 3))                                    # (P, Y)
    contributors = coverage[:, None] * workers

    wages = wages_of(parameters, years, provinces)                        # (P, Y+1), column 0 = 2023
    rate = by_province(parameters, "unemployment.contribution_rate", years, provinces)
    collection = by_province(parameters, "unemployment.collection_rate", years, provinces)
    contributions = contributors * 12.0 * wages[:, 1:] * rate * collection

    # Beneficiaries: the entitlement follows contribution years, counted from the minimum
    # working age (full careers, as the pension formula assumes); one weight per sex and age.
    entry_age = float(parameters.get("labour.minimum_working_age").at(datetime.date(FUND_BASE_YEAR, 7, 1)))
    months = entitlement_months(np.arange(n_age) - entry_age)             # (A,)
    weight = inflow_profile(parameters, years, entry_age, n_age) * (months / 12.0)   # (S, Y, A)
    weighted = np.einsum("psya,sya->py", insured, weight, optimize=False)
    inflow = by_province(parameters, "unemployment.inflow_rate", years, provinces)
    take_up = by_province(parameters, "unemployment.take_up", years, provinces)
    beneficiaries = coverage[:, None] * weighted * inflow * take_up

    share = by_province(parameters, "unemployment.benefit_share_of_minimum_wage", years, provinces)
    benefit = share * minimum_wage_path(parameters, wages, provinces)     # (P, Y) [CNY/month]
    benefits = beneficiaries * 12.0 * benefit
    refunds = by_province(parameters, "unemployment.refund_share", years, provinces) * contributions
    subsidies = by_province(parameters, "unemployment.skills_subsidy_share", years, provinces) * contributions
    expenditure = benefits + refunds + subsidies

    reserve = by_province(parameters, "unemployment.opening_reserve_months", years[:1], provinces)[:, 0]
    opening = reserve / 12.0 * expenditure[:, 0]
    returns = by_province(parameters, "employee_pension.investment_return", years, provinces[:1])[0]
    income, balance = accounts(opening, contributions, expenditure, returns)
    revenue = contributions + income

    n = len(all_years)
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
        "unemployment_months_of_reserve": padded(reserve_months(balance, expenditure), n, first),
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

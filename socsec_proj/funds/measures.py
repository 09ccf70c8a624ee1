"""Summary measures of the funds: national totals, depletion year, cost rate, GAP, balancing rate.

These read a projection Dataset and never run one, except :func:`balancing_contribution_rate`,
which reruns the employee-pension stage (only) on a projection's population and labour.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import variables
from ..errors import InputError
from ..variables import SCHEMES
from .accounts import FUND_BASE_YEAR


def _check_scheme(ds, scheme):
    if scheme not in SCHEMES:
        raise InputError(f"unknown scheme {scheme!r}", key="scheme", expected=f"one of {', '.join(SCHEMES)}")
    if f"{scheme}_balance" not in ds:
        raise InputError(f"the Dataset has no {scheme}_balance", key="scheme",
                         expected="a projection that ran the scheme's fund stage")


def national(ds: xr.Dataset, scheme: str) -> xr.Dataset:
    """The scheme's fund for China: flows and balances summed over provinces, ratios recomputed.

    The national aggregate is a separate Dataset (dims ``year``, and ``draw`` for a stochastic
    run) rather than a ``"CN"`` province, so that summing over ``province`` never double counts.
    Each variable aggregates by its rule in :mod:`socsec_proj.variables` (sums; ratios such as
    months of reserve from the national totals; means weighted by their declared weights);
    calibrated constants by province are left out.
    """
    _check_scheme(ds, scheme)
    names = [n for n in ds.data_vars if n in variables.VARIABLES and variables.VARIABLES[n].scheme == scheme
             and "province" in ds[n].dims and "year" in ds[n].dims and variables.VARIABLES[n].aggregation != "none"]
    out = xr.Dataset({name: variables.aggregate(ds, name, ("province",))[0] for name in names})
    for name in names:
        out[name].attrs.update(ds[name].attrs)
    return out


def national_sum(values: np.ndarray) -> np.ndarray:
    """China's total of values by province, ``(..., province, year) -> (..., year)``: the sum over
    provinces, NaN where no province has a number (as xarray's ``sum("province", min_count=1)``)."""
    return np.where(np.isnan(values).all(axis=-2), np.nan, np.nansum(values, axis=-2))


def check_pooled(ds: xr.Dataset, name: str) -> xr.DataArray:
    """``ds[name]``, a summary's figure of its provinces pooled (``{variable}_national``,
    ``{scheme}_national_depletion_year``), if ``ds`` holds the provinces it pooled; else
    InputError: a summary selected to other provinces has no national figure of them."""
    pooled = ds[name].attrs.get("pooled")
    provinces = [str(code) for code in ds["province"].values]
    if pooled is not None and pooled.split(",") != provinces:
        raise InputError(f"{name} pools {pooled}, the Dataset holds {','.join(provinces)}", key=name,
                         expected="the summary's own provinces (ssp.run(..., summary=...) with those provinces)")
    return ds[name]


def first_year_below_zero(balance: np.ndarray, years: np.ndarray, national_total: bool = False) -> np.ndarray:
    """The rule of :func:`depletion_year` on arrays: the smallest year from 2024 with a balance below zero.

    Parameters
    ----------
    balance : numpy.ndarray, shape (..., province, year)
        Fund balances [CNY].
    years : numpy.ndarray, shape (year,)
        Calendar years [year].
    national_total : bool
        Of China's total balance (the sum over provinces, NaN where every province is NaN).

    Returns
    -------
    numpy.ndarray, shape (..., province) or (...)
        First year [year], NaN if the balance never falls below zero within the years given.
    """
    if national_total:
        balance = national_sum(balance)
    # a summary-only run asks this twelve times per chunk of draws: on the values, not through
    # xarray (about 1 ms a call there, 0.3 ms of a draw's ~6)
    below = (balance < 0) & (years >= FUND_BASE_YEAR)
    first = np.min(np.where(below, years, np.inf), axis=-1)
    return np.where(np.isfinite(first), first, np.nan)


def depletion_year(ds: xr.Dataset, scheme: str = "employee_pension", national_total: bool = False) -> xr.DataArray:
    """First year the scheme's balance falls below zero, per province (NaN: never within the horizon).

    Counted from the calibration year 2024 (:data:`~socsec_proj.funds.accounts.FUND_BASE_YEAR`)
    on: the pension funds' years 2020-2023 are the model's backcast of the past, held against
    the bulletins by :mod:`socsec_proj.validation`, not a projection.

    A stochastic summary (``ssp.run(..., draws=N, summary=...)``, whose balances are quantiles)
    keeps each draw's depletion years as it reduces the draws: they are returned as kept
    (``{scheme}_depletion_year`` by draw and province, ``{scheme}_national_depletion_year`` by
    draw), the same years as of the draws kept whole; the national ones only of the provinces the
    summary pooled (:func:`check_pooled`).

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.
    scheme : str
        ``"employee_pension"``, ``"resident_pension"``, ``"unemployment"`` or ``"injury"``.
    national_total : bool
        Return the year for China's total balance instead (a 0-d DataArray).
    """
    _check_scheme(ds, scheme)
    balance = ds[f"{scheme}_balance"]
    if "quantile" in balance.dims:
        kept = f"{scheme}_national_depletion_year" if national_total else f"{scheme}_depletion_year"
        if kept not in ds.data_vars:
            raise InputError(f"a summary without {kept}", key=kept,
                             expected="a summary of ssp.run(..., summary=...), which keeps each draw's depletion years")
        return check_pooled(ds, kept) if national_total else ds[kept]
    if national_total and "province" not in balance.dims:
        raise InputError(f"{scheme}_balance has no province dimension to sum", key="national_total",
                         expected="a Dataset by province (a national one: national_total=False)")
    # year last, the province before it where there is one (a national Dataset has none)
    balance = balance.transpose(..., *[dim for dim in ("province", "year") if dim in balance.dims])
    first = first_year_below_zero(balance.values, balance["year"].values, national_total=national_total)
    gone = ("province", "year") if national_total else ("year",)
    dims = tuple(dim for dim in balance.dims if dim not in gone)
    coords = {name: coord for name, coord in balance.coords.items() if not set(gone) & set(coord.dims)}
    result = xr.DataArray(first, dims=dims, coords=coords, name=f"{scheme}_depletion_year")
    result.attrs.update(units="year", long_name=f"first year the {scheme.replace('_', ' ')} balance is below zero")
    return result


def depletion_year_quantiles(draws: xr.Dataset, scheme: str = "employee_pension", quantiles=(0.05, 0.5, 0.95),
                             national_total: bool = True) -> xr.DataArray:
    """Quantiles over draws of the depletion year, counting the draws that never deplete.

    A draw whose balance stays at or above zero through the horizon is depleted "after the
    horizon": it counts as +inf, never as missing. Leaving those draws out would report
    "5-95 %: 2044-2078" when 5 % of the draws last beyond 2100. A quantile is the earliest
    year by which at least that share of the draws are depleted (``inverted_cdf``: always a
    year some draw has, never an average of two), +inf when fewer are depleted by the horizon;
    :func:`format_depletion_year` prints that as "> 2100".

    Parameters
    ----------
    draws : xarray.Dataset
        A stochastic projection (dim ``draw``) with ``{scheme}_balance`` [CNY].
    scheme : str
        ``"employee_pension"``, ``"resident_pension"``, ``"unemployment"`` or ``"injury"``.
    quantiles : sequence of float
        Shares in [0, 1].
    national_total : bool, default True
        Quantiles of the year China's total balance is depleted; False: per province.

    Returns
    -------
    xarray.DataArray
        Dim ``quantile`` (and ``province``): calendar year [year], +inf for "after the
        horizon"; attributes ``horizon`` (the last year projected) and ``never_depleted``
        (share of draws [/1] not depleted by then, national or the largest over provinces).
    """
    q = [float(x) for x in quantiles]
    if not q or any(not 0.0 <= x <= 1.0 for x in q):
        raise InputError(f"quantiles {quantiles!r}", key="quantiles", expected="numbers between 0 and 1")
    if "draw" not in draws.dims:
        raise InputError("the Dataset has no draw dimension", key="draws", expected="a stochastic projection")
    years = depletion_year(draws, scheme, national_total=national_total)
    never = years.isnull()
    result = year_quantiles(years, q)
    result.name = f"{scheme}_depletion_year"
    horizon = int(draws["year"].values[-1])
    result.attrs.update(units="year", horizon=horizon, never_depleted=float(never.mean("draw").max()),
                        long_name=f"quantiles over draws of the first year the {scheme.replace('_', ' ')} balance "
                                  f"is below zero (inf: not by {horizon})")
    return result


def year_quantiles(years: xr.DataArray, quantiles) -> xr.DataArray:
    """The rule of :func:`depletion_year_quantiles` on depletion years by draw (NaN: never): a
    never-depleted draw counts as +inf, and a quantile is a year some draw has (``inverted_cdf``)."""
    return years.fillna(np.inf).quantile([float(x) for x in quantiles], dim="draw", method="inverted_cdf")


def format_depletion_year(year, horizon: int) -> str:
    """A depletion year as text: ``"2055"``, or ``"> 2100"`` for a year after the horizon
    (+inf from :func:`depletion_year_quantiles`, or NaN from :func:`depletion_year`)."""
    year = float(year)
    if np.isnan(year) or year > horizon:
        return f"> {horizon}"
    return str(int(year))


#: What each scheme's cost rate divides its expenditure by.
COST_BASES = {
    "employee_pension": ("employee_pension_covered_payroll", "covered payroll"),
    "employee_medical": ("employee_medical_covered_payroll", "covered payroll"),
    "resident_medical": ("resident_medical_financing", "insured x the national financing standard"),
}


def cost_rate(ds: xr.Dataset, scheme: str = "employee_pension") -> xr.DataArray:
    """Cost rate of a scheme [/1]: PAYG expenditure / covered payroll (employee pension, employee
    medical pooled fund), or expenditure / (insured x the national premium and subsidy) (resident medical)."""
    _check_scheme(ds, scheme)
    if scheme not in COST_BASES:
        raise InputError(f"no cost rate for {scheme!r}", key="scheme", expected=f"one of {', '.join(COST_BASES)}")
    base, words = COST_BASES[scheme]
    rate = ds[f"{scheme}_expenditure"] / ds[base]
    rate.name = f"{scheme}_cost_rate"
    rate.attrs.update(units="1", long_name=f"cost rate: expenditure / {words}")
    return rate


def general_average_premium(ds: xr.Dataset, last_year: int, discount_rate: float = 0.03,
                            national_total: bool = False) -> xr.DataArray:
    """General average premium of the employee pension from the calibration year 2024 to ``last_year``.

    The level contribution rate on covered payroll that, with the opening balance, pays the
    expenditure over the period: (PV expenditure - balance at the start) / PV payroll [/1],
    per province, or for China with ``national_total``.
    """
    _check_scheme(ds, "employee_pension")
    if national_total:
        names = ["employee_pension_expenditure", "employee_pension_covered_payroll", "employee_pension_balance",
                 "employee_pension_revenue"]
        ds = ds[names].sum("province", min_count=1).expand_dims(province=["CN"])
    expenditure = ds["employee_pension_expenditure"].dropna("year", how="all").sel(year=slice(FUND_BASE_YEAR,
                                                                                               last_year))
    payroll = ds["employee_pension_covered_payroll"].sel(year=expenditure["year"])
    first = int(expenditure["year"][0])
    opening = ds["employee_pension_balance"].sel(year=first) - ds["employee_pension_revenue"].sel(year=first) \
        + ds["employee_pension_expenditure"].sel(year=first)
    discount = (1.0 + discount_rate) ** -(expenditure["year"] - first)
    gap = ((expenditure * discount).sum("year") - opening) / (payroll * discount).sum("year")
    gap.name = "employee_pension_general_average_premium"
    gap.attrs.update(units="1", long_name=f"general average premium {first}-{last_year}")
    return gap


def balancing_contribution_rate(ds: xr.Dataset, scenario, through_year: int, from_year: int = 2026,
                                national_total: bool = True):
    """The employer contribution rate, from ``from_year`` on, that keeps the employee-pension
    balance at or above zero through ``through_year``.

    The balance is linear in the contribution rate (contributions are, and the return on the
    balance carries them forward linearly), so two reruns of the fund stage give the exact
    answer: B(r) = B(r0) + (r - r0) dB/dr, and the rate is the smallest r with B(r) >= 0 in
    every year up to ``through_year``.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection of ``scenario`` (population and labour are reused).
    scenario : Scenario
    through_year, from_year : int
    national_total : bool
        Solve for China's total balance (a float) rather than each province's (a DataArray).

    Returns
    -------
    float or xarray.DataArray
        Employer rate [/1] (NaN for a province whose balance does not depend on the rate).
    """
    from .employee_pension import project_employee_pension

    def balance_at(rate):
        changes = {"employee_pension.employer_rate": {f"{from_year}-01-01": float(rate)}}
        changed = scenario.model_copy(update={"parameters": scenario.parameters.with_changes(changes)})
        out = project_employee_pension(ds, changed)["employee_pension_balance"].sel(year=slice(None, through_year))
        return out.sum("province") if national_total else out

    low, high = 0.10, 0.20
    b_low, b_high = balance_at(low), balance_at(high)
    slope = (b_high - b_low) / (high - low)
    window = b_low["year"] >= from_year
    needed = xr.where(slope > 0, low - b_low / slope, np.nan).where(window)
    rate = needed.max("year")
    if national_total:
        return float(rate)
    rate.name = "employee_pension_balancing_employer_rate"
    rate.attrs.update(units="1", long_name=f"employer rate from {from_year} keeping the balance >= 0 to {through_year}")
    return rate

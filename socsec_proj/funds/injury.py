"""The work-injury insurance fund (工伤保险基金), per province and calendar year.

Account years run from the year before the pension funds' first fund year (2023 while those start
in 2024; never before the second year of the projection, since the stock of recipients reads the
year before) to the horizon, NaN before; flows are those of the calendar year, balances at its
end. The national levels are the 2021 MOHRSS bulletin's (:data:`BULLETIN_YEAR`). For every
province p and year t:

- insured (参保人数) = urban-employee insured workers x a coverage ratio, calibrated like the
  unemployment fund's (:func:`.bulletin.coverage`): the seeds' 2020 injury insured of Guangdong,
  Hebei and Guizhou, one common ratio elsewhere scaled to the bulletin's 282.87 M of 2021;
- contributions = insured x 12 x average wage x rate x ``injury.collection_rate``, the rate being
  ``injury.average_rate`` (Guangdong 0.17 %, Guizhou 0.328 % from its 2020 revenue, elsewhere the
  rate derived from the 2021 bulletin's revenue) or, where ``injury.industry_class`` names a class,
  that class's base rate
  (``injury_industry_base_rates.csv``, 人社部发〔2015〕71号);
- investment income = ``employee_pension.investment_return`` x the opening balance;
- cases = insured x ``injury.incidence_rate`` (Guangdong 0.31 % from 2020; elsewhere derived so that
  the beneficiaries per insured are the 2021 bulletin's); beneficiaries (the bulletin's people
  receiving any benefit in the year) = the year's cases + the long-term recipients; a share
  ``injury.long_term_share`` of them draws a disability allowance (伤残津贴) until retirement, the
  others are paid once;
- long-term recipients: a stock by sex and single age (:func:`long_term_stock`). Each year the
  recipients of a cohort move one year older, shrink with their cohort's resident population
  (deaths, migration) and leave as their cohort reaches retirement (the share of the cohort's
  insured still working, ``employee_pension_contributors / (contributors + retirees)``, which
  follows the statutory ages and their delay), and the year's new long-term cases join. The
  stock of the first account year is the stationary one of its rates (the recursion over age
  within the year);
- long-term benefits = 12 x recipients x allowance, the allowance = ``injury.disability_allowance_ratio``
  x the provincial average wage (Guangdong: 4,426 CNY/month in 2020, so indexed with wages);
- one-off benefits = one-off cases x a payment of m months of the average wage, m calibrated
  (below);
- prevention (工伤预防费) = ``injury.prevention_share`` x contributions;
- balance(t) = balance(t-1) + contributions + investment income - one-off - long-term - prevention,
  the opening from the bulletin's national balance (:func:`.bulletin.opening_balance`: the end-2021
  balance reproduced once the accounts start by 2021; until then the opening keeps 2021's months
  of reserve), spread by the provinces' contributions.

Calibration of the one-off payment. No seed gives the injury benefits or spending of any
province. Rates are set from claims (the base rates "floated up or down by claims experience",
人社部发〔2015〕71号, policy README), so each province's one-off payment per case, m [months of the
average wage], is set so that its first account year spends its contributions x the 2021
bulletin's national ratio of expenditure to contributions (:func:`spending_ratio`):
m = (ratio x contributions - prevention - long-term benefits) / (one-off cases x average wage),
never below 0. Later years then follow incidence, the stock of recipients, wages, rates and
coverage.
"""

from __future__ import annotations

import datetime
import functools

import numpy as np
import xarray as xr

from .._accelerate import jit, kernel, prefetch_row, row_sum
from ..errors import InputError
from ..inputs.data import industry_base_rates
from ..inputs.paths import params_dir
from ..variables import add
from . import accounts, bulletin
from .accounts import by_province

#: Year of the national figures the fund is calibrated to (MOHRSS bulletin 2021: insured 282.87 M,
#: revenue 95.2 bn, expenditure 99.0 bn, balance 141.1 bn CNY, 2.06 M beneficiaries).
BULLETIN_YEAR = 2021


def check_industry_classes(parameter, source=None) -> None:
    """Every value ``injury.industry_class`` takes, nationally and in every province, at any date,
    is 0 or a class of ``injury_industry_base_rates.csv``.

    Raises
    ------
    InputError
        Naming ``injury.industry_class``, the date (and province) of the first class that does not
        exist, and the accepted classes; ``source`` is the file the value came from.
    """
    n_classes = len(industry_base_rates())
    for label, steps in [("", parameter.national)] + [(f"{code}: ", steps) for code, steps in parameter.provincial]:
        for day, value in steps.items():
            if float(value) != round(float(value)) or not 0 <= value <= n_classes:
                when = "before its first date" if day == datetime.date.min else str(day)
                raise InputError(f"{label}{when}: industry class {float(value):g} does not exist", source=source,
                                 key="injury.industry_class",
                                 expected=f"0 (the province's average rate) or a whole class 1..{n_classes}"
                                          " of injury_industry_base_rates.csv")


def contribution_rate(parameters, years, provinces) -> np.ndarray:
    """The rate employers pay, by province and year ``[P, Y]`` [/1].

    ``injury.average_rate`` (its mean over the year), or the base rate of the class
    ``injury.industry_class`` names on 1 July of the year (a class is a category, not a quantity
    to average: a change in the middle of a year counts from the year it is in force on 1 July).
    """
    classes = industry_classes(parameters.get("injury.industry_class"), tuple(int(y) for y in years),
                               tuple(provinces), params_dir())
    average = by_province(parameters, "injury.average_rate", years, provinces)
    return np.where(classes == 0, average, industry_base_rates()[np.clip(classes - 1, 0, None)])


@functools.lru_cache(maxsize=64)
def industry_classes(parameter, years: tuple, provinces: tuple, folder) -> np.ndarray:
    """``injury.industry_class`` in force on 1 July, ``[P, Y]`` (checked first; cached per data folder)."""
    check_industry_classes(parameter, parameter.source)
    days = np.array(years, dtype=np.int64)
    classes = np.stack([np.asarray(parameter.steps(p).on_day_of_years(days), dtype=float) for p in provinces])
    classes = classes.astype(int)
    classes.setflags(write=False)
    return classes


# --------------------------------------------------------------------------------------------
# The stock of long-term recipients: numba kernel and its numpy reference
# --------------------------------------------------------------------------------------------


def working_share(insured_share, retiree_share):
    """Share of each cohort's urban-employee insured still working, ``[..., Y, A]`` [/1]: the
    insured workers over the insured and the pensioners, ``C / (C + R)`` of the labour stage's
    shares of residents (``employee_pension_contributor_share``, ``_retiree_share``), 1 where
    neither is above 0. The same in every draw below the open age (the shares are): the
    contributors over contributors and retirees of any draw's cubes there, whatever its residents."""
    c, r = np.asarray(insured_share, dtype=float), np.asarray(retiree_share, dtype=float)
    total = c + r
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0.0, c / total, 1.0)


def carried_working_share(insured_share, retiree_share, engine="numba"):
    """The factor ``min(1, W[t, a] / W[t-1, a-1])`` by which a cohort's long-term recipients
    follow its insured still working (:func:`working_share` ``W``) from age a-1 of last year to age
    a, ``[P, S, Y, A]`` [/1], as ``min(W, W_before) / W_before``; 0 where ``W_before`` is 0, in the
    first year, at age 0 and at the open age (the open group merges two cohorts by each draw's
    population: the kernel takes it from the cubes). The same in every draw, so the stock's
    kernel divides once per cell, by each draw's residents, instead of three times. ``engine``:
    :func:`carried_working_share_kernel` or its numpy reference (numpy ~3.5 ms a chunk of draws)."""
    c = np.ascontiguousarray(insured_share, dtype=float)
    r = np.ascontiguousarray(retiree_share, dtype=float)
    factor = np.empty(c.shape)
    carried_engine(engine)(c, r, factor)
    return factor


@jit(error_model="numpy")
def carried_working_share_kernel(insured_share, retiree_share, factor):
    """:func:`carried_working_share` into ``factor`` (``[P, S, Y, A]``, as the shares)."""
    n_prov, n_sex, n_years, n_age = insured_share.shape
    working = np.empty((2, n_age))  # W of last year [(y - 1) % 2] and of this year [y % 2]
    for p in range(n_prov):
        for s in range(n_sex):
            for y in range(n_years):
                this = working[y % 2]
                for a in range(n_age):
                    total = insured_share[p, s, y, a] + retiree_share[p, s, y, a]
                    share = insured_share[p, s, y, a] / total
                    this[a] = share if total > 0.0 else 1.0
                out = factor[p, s, y]
                out[0] = 0.0
                out[n_age - 1] = 0.0
                if y == 0:
                    for a in range(n_age):
                        out[a] = 0.0
                    continue
                before = working[1 - y % 2]
                for a in range(1, n_age - 1):
                    kept = (before[a - 1] if before[a - 1] < this[a] else this[a]) / before[a - 1]
                    out[a] = kept if before[a - 1] > 0.0 else 0.0


def carried_working_share_numpy(insured_share, retiree_share, factor):
    """Plain-numpy reference of :func:`carried_working_share_kernel` (same arguments, same output)."""
    w = working_share(insured_share, retiree_share)
    factor[:] = 0.0
    before, now = w[..., :-1, :-2], w[..., 1:, 1:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        factor[..., 1:, 1:-1] = np.where(before > 0.0, np.minimum(before, now) / before, 0.0)


carried_engine = kernel(carried_working_share_kernel, carried_working_share_numpy)


@jit(error_model="numpy", inline="always")  # compiled within the kernel
def _open_factor(insured_now, retired_now, insured_before, retired_before, resident_now, resident_before):
    """``min(1, w / w_before) x min(1, n / n_before)`` of one cell from its cubes (the open age,
    where the working shares depend on each draw's population), 0 where a divisor is not above 0."""
    total = insured_now + retired_now
    working = insured_now / total if total > 0.0 else 1.0
    total_before = insured_before + retired_before
    working_before = insured_before / total_before if total_before > 0.0 else 1.0
    if working_before > 0.0 and resident_before > 0.0:
        return min(1.0, working / working_before) * min(1.0, resident_now / resident_before)
    return 0.0


#: Years ahead whose residents the stock's kernel asks the CPU for (``_accelerate.prefetch_row``).
PREFETCH_YEARS = 2


@jit(error_model="numpy")
def long_term_stock(insured, retirees, population, carried, first, new_rate, stock):
    """Recipients of a disability allowance by province and fund year (see :func:`long_term_stock_numpy`).

    Per row, sex and year two passes over the ages, each without a branch: the factor carried
    from age a-1 of last year, ``carried x min(n, n_before) / n_before`` (``carried`` the draw-free
    :func:`carried_working_share`; the division taken in every cell and selected where its divisor
    is positive, compiled with ``error_model="numpy"`` so LLVM divides several ages at a time, and
    ``min`` written as a select, a call LLVM does not vectorize), then the stock. The working shares
    from each draw's cubes were a pass and two divisions more per cell. What is left waits on the
    residents' rows, read year after year 25 kB apart: the rows two years ahead are asked for
    (:func:`~socsec_proj._accelerate.prefetch_row`). On a captured chunk of 32 draws, one thread:
    0.60-0.64 ms per draw before, 0.75-0.77 with the shares alone, 0.51-0.53 with both. The
    stock's sum over ages has vector adds (:func:`~socsec_proj._accelerate.row_sum`; the sums
    differ in the last bits). The open age's carry-over (from the cubes) and the first year's
    recursion over age are the only steps in order.
    """
    n_rows, n_sex, _, n_age = insured.shape
    n_prov = population.shape[2]
    n_all = population.shape[1]
    n_years = new_rate.shape[1]
    last = n_age - 1
    previous = np.zeros(n_age)
    current = np.zeros(n_age)
    factor = np.empty(n_age)          # carried from age a-1 of last year to age a
    for p in range(n_rows):  # rows (province q of draw d: p = d x P + q) are independent
        d = p // n_prov
        q = p - d * n_prov
        for t in range(n_years):
            stock[p, t] = 0.0
        for s in range(n_sex):
            for t in range(n_years):
                y = first + t
                if y + PREFETCH_YEARS < n_all:
                    prefetch_row(population[d, y + PREFETCH_YEARS, q, s])
                insured_now = insured[p, s, y]
                resident_now = population[d, y, q, s]
                resident_before = population[d, y - 1, q, s]
                carry = carried[q, s, y]
                rate = new_rate[p, t]
                for a in range(1, last):
                    residents = resident_before[a - 1]
                    still_resident = resident_now[a] if resident_now[a] < residents else residents
                    kept = carry[a] * still_resident / residents
                    factor[a] = kept if residents > 0.0 else 0.0
                current[0] = insured_now[0] * rate
                if t == 0:  # the stationary stock: this year's cohort one year younger
                    if last > 0:
                        factor[last] = _open_factor(insured_now[last], retirees[p, s, y, last],
                                                    insured[p, s, y - 1, last - 1], retirees[p, s, y - 1, last - 1],
                                                    resident_now[last], resident_before[last - 1])
                    for a in range(1, n_age):
                        current[a] = current[a - 1] * factor[a] + insured_now[a] * rate
                else:
                    for a in range(1, last):
                        current[a] = previous[a - 1] * factor[a] + insured_now[a] * rate
                    if last > 0:  # the open age gathers two cohorts
                        kept = _open_factor(insured_now[last], retirees[p, s, y, last],
                                            insured[p, s, y - 1, last - 1] + insured[p, s, y - 1, last],
                                            retirees[p, s, y - 1, last - 1] + retirees[p, s, y - 1, last],
                                            resident_now[last], resident_before[last - 1] + resident_before[last])
                        current[last] = (previous[last - 1] + previous[last]) * kept + insured_now[last] * rate
                stock[p, t] += row_sum(current)
                previous, current = current, previous


def long_term_stock_numpy(insured, retirees, population, carried, first, new_rate, stock):
    """Plain-numpy reference of :func:`long_term_stock` (same arguments, same outputs).

    Parameters
    ----------
    insured, retirees : numpy.ndarray, shape (N, S, Y_all, A)
        Urban-employee insured workers and pensioners of every year of the projection [persons];
        row ``d x P + p`` is province p of draw d.
    population : numpy.ndarray, shape (D, Y_all, P, S, A)
        Resident population [persons] (the population stage's layout).
    carried : numpy.ndarray, shape (P, S, Y_all, A)
        :func:`carried_working_share` of the labour stage's shares [/1] (the same in every draw).
    first : int
        Index of the first fund year in the projection's years (at least 1: the year before is read).
    new_rate : numpy.ndarray, shape (N, T)
        New long-term recipients per urban-employee insured worker in each fund year [1/year]:
        injury coverage x incidence x long-term share.
    stock : numpy.ndarray, shape (N, T)
        Output: recipients at 1 July, all sexes and ages [persons].

    Notes
    -----
    recipients(a, t) = recipients(a-1, t-1) x min(1, W(a, t) / W(a-1, t-1)) x min(1, N(a, t) /
    N(a-1, t-1)) + insured(a, t) x new_rate(t), with W the share of the cohort's insured still
    working (1 where none is insured) and N the resident population; the open age gathers the
    two oldest cohorts. Below the open age ``min(1, W(a, t) / W(a-1, t-1))`` is the draw-free
    ``carried`` (W from the labour stage's shares: the cubes' own wherever the cohort has
    residents, and where it has none the factor is 0 either way). In the first fund year
    ``recipients(a-1, t-1)`` is replaced by ``recipients(a-1, t)`` (the stationary stock of that
    year's rates), without the open age's own carry-over.
    """
    n_age = insured.shape[-1]
    n_years = new_rate.shape[1]
    total = insured + retirees
    with np.errstate(divide="ignore", invalid="ignore"):
        working = np.where(total > 0, insured / total, 1.0)   # (N, S, Y_all, A): the open age's, from the cubes
    n_draws, _, n_prov = population.shape[:3]
    people = np.moveaxis(population, 1, 3).reshape(insured.shape)               # (N, S, Y_all, A)
    carried = np.tile(carried, (n_draws, 1, 1, 1))                               # rows d x P + p

    def kept(y):  # survival factor from age a-1 in y-1 to age a in y, for a >= 1 (the open age apart)
        before_n = people[:, :, y - 1, :-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            factor = carried[:, :, y, 1:] * np.minimum(people[:, :, y, 1:], before_n) / before_n
            # the open age (read by the first year's recursion): from the cubes, one year younger last year
            before_w = working[:, :, y - 1, -2]
            top = np.minimum(1.0, working[:, :, y, -1] / before_w) * np.minimum(1.0, people[:, :, y, -1]
                                                                               / before_n[..., -1])
        factor[..., -1] = np.where((before_w > 0) & (before_n[..., -1] > 0), top, 0.0)
        return np.where(before_n > 0, factor, 0.0)

    previous = None
    for t in range(n_years):
        y = first + t
        new = insured[:, :, y, :] * new_rate[:, t, None, None]
        factor = kept(y)
        current = np.empty_like(new)
        current[..., 0] = new[..., 0]
        if t == 0:
            for a in range(1, n_age):
                current[..., a] = current[..., a - 1] * factor[..., a - 1] + new[..., a]
        else:
            current[..., 1:] = previous[..., :-1] * factor + new[..., 1:]
            # the open age: both oldest cohorts of last year
            before_total = total[:, :, y - 1, -2] + total[:, :, y - 1, -1]
            with np.errstate(divide="ignore", invalid="ignore"):
                before_w = np.where(before_total > 0, (insured[:, :, y - 1, -2] + insured[:, :, y - 1, -1])
                                    / before_total, 1.0)
                before_n = people[:, :, y - 1, -2] + people[:, :, y - 1, -1]
                top = (np.minimum(1.0, working[:, :, y, -1] / before_w)
                       * np.minimum(1.0, people[:, :, y, -1] / before_n))
            top = np.where((before_w > 0) & (before_n > 0), top, 0.0)
            current[..., -1] = (previous[..., -2] + previous[..., -1]) * top + new[..., -1]
        stock[:, t] = current.sum(axis=(1, 2))
        previous = current


# --------------------------------------------------------------------------------------------
# The stage
# --------------------------------------------------------------------------------------------


long_term_stock_engine = kernel(long_term_stock, long_term_stock_numpy)


def project_injury(ds: xr.Dataset, scenario, *, engine: str = "numba") -> xr.Dataset:
    """Work-injury insurance fund stage: Dataset in (population, labour), Dataset out.

    Adds, per province and account year (2023 on, the year before the pension funds' first; NaN
    before): ``injury_contributors``, ``injury_long_term_recipients``, ``injury_beneficiaries``
    [persons]; ``injury_revenue``, ``_contributions``,
    ``_investment_income``, ``_expenditure``, ``_one_off_benefits``, ``_long_term_benefits``,
    ``_prevention`` [CNY/year]; ``injury_balance`` [CNY]; ``injury_months_of_reserve``
    [months]; ``injury_average_benefit`` [CNY/month]; per province the calibrated
    ``injury_coverage`` [/1] and ``injury_one_off_payment_months`` [months]. With a ``draw``
    dimension each draw has its own insured, population, wages and returns; draw 0 calibrates.

    Parameters
    ----------
    engine : {"numba", "numpy"}
        The kernels (stock of long-term recipients, accounts) or their numpy references.
    """
    parameters = scenario.parameters
    all_years, first = accounts.fund_years(ds)
    # the kernel reads the year before the first account year
    start = bulletin.account_start(first, earliest=1)
    if start >= len(all_years):
        raise InputError("the injury stage reads the year before its first", key="horizon",
                         expected="a projection of at least two years")
    years = all_years[start:]
    provinces = list(ds.variables["province"].values)
    n = len(all_years)
    # the kernel reads the year before the first account year too: the labour stage's whole buffers
    insured_all = accounts.members(ds, "employee_pension_contributors")          # (D, P, S, Y_all, A)
    retirees_all = accounts.members(ds, "employee_pension_retirees")
    n_draws, n_prov, n_sex, n_all, n_age = insured_all.shape
    workers = accounts.member_totals(ds, "employee_pension_contributors", start, engine)  # (D, P, Y)

    coverage = bulletin.coverage(ds, scenario, "injury", BULLETIN_YEAR)
    contributors = coverage[:, None] * workers
    wages = accounts.fund_wages(ds, parameters, first)[..., start - first + 1:]   # (D, P, Y)
    rate = contribution_rate(parameters, years, provinces)
    collection = by_province(parameters, "injury.collection_rate", years, provinces)
    contributions = contributors * 12.0 * wages * rate * collection

    incidence = by_province(parameters, "injury.incidence_rate", years, provinces)
    long_term_share = by_province(parameters, "injury.long_term_share", years, provinces)
    cases = contributors * incidence
    new_rate = np.ascontiguousarray(np.broadcast_to(coverage[:, None] * incidence * long_term_share,
                                                    (n_draws, n_prov, len(years))).reshape(-1, len(years)))
    recipients = np.empty((n_draws * n_prov, len(years)))
    rows = (n_draws * n_prov, n_sex, n_all, n_age)
    # how recipients follow their cohort's insured still working: the same in every draw (P, S, Y_all, A)
    carried = carried_working_share(*(accounts.labour_share(ds, name) for name in (
        "employee_pension_contributor_share", "employee_pension_retiree_share")), engine=engine)
    long_term_stock_engine(engine, work=recipients.size)(np.ascontiguousarray(insured_all).reshape(rows),
                                   np.ascontiguousarray(retirees_all).reshape(rows),
                                   np.ascontiguousarray(accounts.population(ds)), carried, start, new_rate,
                                   recipients)
    recipients = recipients.reshape(n_draws, n_prov, len(years))

    allowance = by_province(parameters, "injury.disability_allowance_ratio", years, provinces) * wages
    long_term = 12.0 * recipients * allowance
    prevention = by_province(parameters, "injury.prevention_share", years, provinces) * contributions
    one_off_cases = cases * (1.0 - long_term_share)
    # the first account year spends its contributions x the bulletin's national ratio of expenditure
    # to contributions: the one-off payment per case that does so (draw 0: the year is the same
    # in every draw)
    spending = contributions[0, :, 0] * spending_ratio(parameters)
    with np.errstate(divide="ignore", invalid="ignore"):
        months = (spending - prevention[0, :, 0] - long_term[0, :, 0]) / (one_off_cases[0, :, 0] * wages[0, :, 0])
    months = np.where(np.isfinite(months), np.maximum(months, 0.0), 0.0)
    one_off = one_off_cases * months[:, None] * wages
    expenditure = one_off + long_term + prevention

    returns = accounts.investment_return(ds, parameters, start)[:, None, :]
    balance_then = bulletin.figure("injury_balance", BULLETIN_YEAR)
    opening = bulletin.opening_balance(
        contributions, expenditure, returns, int(BULLETIN_YEAR - years[0]), balance_then,
        months_then=balance_then / (bulletin.figure("injury_expenditure", BULLETIN_YEAR) / 12.0), engine=engine)
    _, income, balance = accounts.accounts(opening, contributions, expenditure, returns, engine=engine)
    with np.errstate(divide="ignore", invalid="ignore"):
        average = np.where(recipients > 0, long_term / (12.0 * recipients), np.nan)

    padded = accounts.FundYears  # account years -> all years, NaN before the first
    return add(ds, accounts.padded_variables({
        "injury_contributors": padded(contributors),
        "injury_revenue": padded(contributions + income),
        "injury_contributions": padded(contributions),
        "injury_investment_income": padded(income),
        "injury_expenditure": padded(expenditure),
        "injury_one_off_benefits": padded(one_off),
        "injury_long_term_benefits": padded(long_term),
        "injury_prevention": padded(prevention),
        "injury_long_term_recipients": padded(recipients),
        "injury_beneficiaries": padded(cases + recipients),
        "injury_balance": padded(balance),
        "injury_months_of_reserve": padded(accounts.reserve_months(balance, expenditure)),
        "injury_average_benefit": padded(average),
        "injury_coverage": coverage,
        "injury_one_off_payment_months": months,
    }, n, start), {"province": provinces, "year": all_years})


def spending_ratio(parameters) -> float:
    """The bulletin's national expenditure over contributions of the work-injury fund in :data:`BULLETIN_YEAR` [/1].

    The bulletin gives revenue R, expenditure E and the year-end balance B; the contributions are
    R less the investment income the model's rule gives, ``employee_pension.investment_return``
    (r) x the balance a year earlier, B - R + E: ratio = E / (R - r (B - R + E)). 2021: 99.0 /
    (95.2 - 0.0669 x 144.9) = 99.0 / 85.5 = 1.158.
    """
    revenue, expenditure, balance = (bulletin.figure(f"injury_{name}", BULLETIN_YEAR)
                                     for name in ("revenue", "expenditure", "balance"))
    rate = float(accounts.national(parameters, "employee_pension.investment_return", [BULLETIN_YEAR])[0])
    return expenditure / (revenue - rate * (balance - revenue + expenditure))


def check_parameters(scenario) -> None:
    """Before any stage computes: the base-rate table, and that every value ``injury.industry_class``
    takes is a class of it (naming the scenario file if the scenario changed the class)."""
    parameter = scenario.parameters.get("injury.industry_class")
    changed = "injury.industry_class" in (scenario.changes or {})
    check_industry_classes(parameter, scenario.source if changed else parameter.source)


project_injury.check = check_parameters

"""What every fund shares: fund years, the balance recursion, months of reserve, opening
balances, parameter and wage paths, coverage ratios to the seeds.

The four fund stages (:mod:`.employee_pension`, :mod:`.resident_pension`,
:mod:`.unemployment`, :mod:`.injury`) take these from here and from nowhere else, so each
rule is written once. Arrays may carry any leading axes (a stochastic run's ``draw``): the
fund years are always the last axis and provinces the one before.

``fund_accounts`` is the balance recursion, a numba kernel over independent rows (a row is
one province of one draw) with its plain-numpy reference ``fund_accounts_numpy``, held equal
by ``tests/test_funds.py``::

    subsidy(t) = subsidy(t-1)                          if frozen(t) and t > 0
               = subsidy_share(t) x expenditure(t)     otherwise
    income(t)  = rate_of_return(t) x balance(t-1)
    balance(t) = balance(t-1) + contributions(t) + subsidy(t) + income(t) + transfer(t) - expenditure(t)

with balance(-1) = ``opening``.
"""

from __future__ import annotations

import datetime
import functools
from typing import NamedTuple

import numpy as np
import xarray as xr

from .._accelerate import buffer, jit, kernel, row_dot, row_sum
from ..errors import InputError
from ..inputs import data
from ..inputs.paths import params_dir
from ..variables import add, by_draw, member_total_name

#: The year of the last yearbook, to which the fund stages are calibrated.
FUND_BASE_YEAR = 2024

#: The first fund year of the pension funds: the population's base year, the first year of the
#: all-unit average-wage series (2019 is on the break of params/social_insurance/average_wage.csv).
#: The flows and balances of 2020-2023 are then the model's, held against the bulletins, while
#: 2024 stays calibrated to the yearbook. ``fund_years(ds, FUND_FIRST_YEAR)`` gives its index.
FUND_FIRST_YEAR = 2020


# --------------------------------------------------------------------------------------------
# The balance recursion


class AccountInputs(NamedTuple):
    """Inputs of :func:`fund_accounts`, ``N`` independent rows (province x draw) by ``Y`` fund years.

    Attributes
    ----------
    opening : numpy.ndarray, shape (N,)
        Balance at the end of the year before the first [CNY].
    contributions, expenditure, transfer : numpy.ndarray, shape (N, Y)
        [CNY/year]; ``transfer`` is the net pooling transfer received (0 for the other funds).
    subsidy_share : numpy.ndarray, shape (N, Y)
        Fiscal subsidy per unit of expenditure [/1].
    rate_of_return : numpy.ndarray, shape (N, Y)
        Return on the opening balance of the year [/1].
    frozen : numpy.ndarray of bool, shape (Y,)
        Years whose subsidy stays at the previous year's amount.
    """

    opening: np.ndarray
    contributions: np.ndarray
    expenditure: np.ndarray
    subsidy_share: np.ndarray
    transfer: np.ndarray
    rate_of_return: np.ndarray
    frozen: np.ndarray


class AccountOutputs(NamedTuple):
    """Outputs of :func:`fund_accounts`, each ``(N, Y)``: subsidy, investment income [CNY/year], balance [CNY]."""

    subsidy: np.ndarray
    investment_income: np.ndarray
    balance: np.ndarray


@jit
def fund_accounts(inputs, outputs):
    """The balance recursion of every row (see the module docstring).

    Not parallel: a thousand draws of 31 provinces are ~2 million steps (a few milliseconds),
    less than waking numba's threads for each call of a chunk costs on a busy machine.
    """
    subsidy, income, balance = outputs.subsidy, outputs.investment_income, outputs.balance
    n_rows, n_years = inputs.contributions.shape
    for row in range(n_rows):
        previous = inputs.opening[row]
        for t in range(n_years):
            if inputs.frozen[t] and t > 0:
                subsidy[row, t] = subsidy[row, t - 1]
            else:
                subsidy[row, t] = inputs.subsidy_share[row, t] * inputs.expenditure[row, t]
            income[row, t] = inputs.rate_of_return[row, t] * previous
            previous = (previous + inputs.contributions[row, t] + subsidy[row, t]
                        + income[row, t] + inputs.transfer[row, t] - inputs.expenditure[row, t])
            balance[row, t] = previous


def fund_accounts_numpy(inputs, outputs):
    """Plain-numpy reference of :func:`fund_accounts` (same arguments, same outputs), vectorised over rows."""
    previous = inputs.opening.astype(float).copy()
    for t in range(inputs.contributions.shape[1]):
        if inputs.frozen[t] and t > 0:
            outputs.subsidy[:, t] = outputs.subsidy[:, t - 1]
        else:
            outputs.subsidy[:, t] = inputs.subsidy_share[:, t] * inputs.expenditure[:, t]
        outputs.investment_income[:, t] = inputs.rate_of_return[:, t] * previous
        previous = (previous + inputs.contributions[:, t] + outputs.subsidy[:, t] + outputs.investment_income[:, t]
                    + inputs.transfer[:, t] - inputs.expenditure[:, t])
        outputs.balance[:, t] = previous


accounts_kernel = kernel(fund_accounts, fund_accounts_numpy)


def accounts(opening, contributions, expenditure, rate_of_return, subsidy_share=None, transfer=None, frozen=None,
             engine="numba") -> AccountOutputs:
    """Run :func:`fund_accounts` on arrays ``[..., P, Y]`` (any leading axes, e.g. draws).

    Parameters
    ----------
    opening : array_like, shape (..., P)
        Balance at the end of the year before the first fund year [CNY].
    contributions, expenditure : array_like, shape (..., P, Y)
        [CNY/year]
    rate_of_return : array_like, broadcastable to (..., P, Y)
        [/1]
    subsidy_share : array_like, broadcastable to (..., P, Y), optional
        Subsidy per unit of expenditure [/1]; default none.
    transfer : array_like, broadcastable to (..., P, Y), optional
        Net pooling transfer received [CNY/year]; default none.
    frozen : array_like of bool, shape (Y,), optional
        Years whose subsidy stays at the previous year's amount; default none.

    Returns
    -------
    AccountOutputs
        ``subsidy``, ``investment_income``, ``balance``, each ``(..., P, Y)``.
    """
    contributions = np.asarray(contributions, dtype=float)
    shape = contributions.shape
    n_years = shape[-1]

    def rows(values, default=0.0):
        values = default if values is None else values
        return np.ascontiguousarray(np.broadcast_to(np.asarray(values, dtype=float), shape).reshape(-1, n_years))

    frozen = np.zeros(n_years, dtype=bool) if frozen is None else np.asarray(frozen, dtype=bool)
    inputs = AccountInputs(
        opening=np.ascontiguousarray(np.broadcast_to(np.asarray(opening, dtype=float), shape[:-1]).reshape(-1)),
        contributions=rows(contributions), expenditure=rows(expenditure), subsidy_share=rows(subsidy_share),
        transfer=rows(transfer), rate_of_return=rows(rate_of_return), frozen=np.ascontiguousarray(frozen))
    n_rows = inputs.contributions.shape[0]
    outputs = AccountOutputs(*(np.empty((n_rows, n_years)) for _ in AccountOutputs._fields))
    accounts_kernel(engine)(inputs, outputs)
    return AccountOutputs(*(values.reshape(shape) for values in outputs))


def opening_for(closing, t, contributions, expenditure, rate_of_return, subsidy_share=None, transfer=None,
                frozen=None, engine="numba") -> np.ndarray:
    """The balance before the first fund year that makes the balance at the end of fund year
    ``t - 1`` equal ``closing`` (``[P]``, read from draw 0), ``[P]`` [CNY].

    The recursion is affine in its opening balance with slope prod(1 + return) over the years
    before ``t`` (the subsidy does not depend on the balance): one run from zero gives it.
    Arguments as :func:`accounts` (leading axes allowed; draw 0 is used).
    """
    if t == 0:
        return np.asarray(closing, dtype=float)
    zero = np.zeros(np.shape(contributions)[:-1])
    from_zero = accounts(zero, contributions, expenditure, rate_of_return, subsidy_share, transfer, frozen,
                         engine=engine).balance
    from_zero = from_zero.reshape((-1,) + from_zero.shape[-2:])[0, :, t - 1]
    rate = np.broadcast_to(np.asarray(rate_of_return, dtype=float), np.shape(contributions))
    growth = np.prod(1.0 + rate.reshape((-1,) + rate.shape[-2:])[0, :, :t], axis=-1)
    return (np.asarray(closing, dtype=float) - from_zero) / growth


def reserve_months(balance: np.ndarray, expenditure: np.ndarray) -> np.ndarray:
    """Months of expenditure the balance covers: balance / (expenditure / 12) [months] (NaN without spending)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(expenditure > 0, balance / (expenditure / 12.0), np.nan)


def opening_balance(yearbook) -> np.ndarray:
    """Balance at the end of the year before the yearbook's: its balance less its net revenue [CNY].
    ``yearbook``: the yearbook's rows of the provinces, a table or :func:`yearbook_funds`' columns."""
    balance, revenue, expenditure = (np.asarray(yearbook[name], dtype=float) for name in YEARBOOK_FUND_COLUMNS)
    return balance - (revenue - expenditure)


#: The yearbook's fund figures of a pension scheme by province [CNY].
YEARBOOK_FUND_COLUMNS = ("accumulated_balance", "fund_revenue", "fund_expenditure")


def yearbook_funds(table, provinces) -> dict:
    """The fund columns (:data:`YEARBOOK_FUND_COLUMNS`) of a yearbook table for ``provinces``,
    in that order [CNY]: what ``table.loc[provinces]`` gave the fund stages, at a tenth of its
    cost (0.7-0.9 ms a call, in every chunk of a stochastic run; :func:`.data.province_columns`)."""
    return dict(zip(YEARBOOK_FUND_COLUMNS, data.province_columns(table, provinces, *YEARBOOK_FUND_COLUMNS)))


# --------------------------------------------------------------------------------------------
# Years and the draw axis


def fund_years(ds: xr.Dataset, start: int = FUND_BASE_YEAR) -> tuple[np.ndarray, int]:
    """All years of ``ds``, and the index of the first fund year ``start`` (2024, or
    :data:`FUND_FIRST_YEAR` for the funds that start in 2020); 2024 must be in ``ds``."""
    all_years = ds.variables["year"].values
    for year in {start, FUND_BASE_YEAR}:
        if year not in all_years:
            raise InputError(f"the fund stages run from {start} and are calibrated to {FUND_BASE_YEAR}", key="horizon",
                             expected=f"a projection that includes {start} to {FUND_BASE_YEAR}")
    return all_years, int(np.searchsorted(all_years, start))


def padded(values: np.ndarray, n_years: int, first: int, out: np.ndarray | None = None) -> np.ndarray:
    """Fund years -> all years of the Dataset (last axis), NaN before the first fund year; into
    ``out`` (``values.shape[:-1] + (n_years,)``) if given."""
    if out is None:
        out = np.empty(values.shape[:-1] + (n_years,))  # each element written once (np.full wrote the fund years twice)
    out[..., :first] = np.nan
    out[..., first:] = values
    return out


class FundYears(NamedTuple):
    """A fund variable over the fund years (last axis), for :func:`padded_variables` to pad."""

    values: np.ndarray


def padded_variables(variables: dict, n_years: int, first: int) -> dict:
    """``variables`` (name -> array) with each :class:`FundYears` padded to all years
    (:func:`padded`), in order, the rest as they are.

    Each padded variable is written into the :func:`~socsec_proj._accelerate.buffer` of its
    name: in a stochastic run's chunks (``reused_buffers``) the previous chunk's array of that
    variable, outside them a new one. A fresh array of a chunk's (draw, province, year) is 640 kB
    for 32 draws, which Linux faulted in page by page: the 72 padded variables of the fund
    stages were 0.63 ms of CPU per draw (half of it system time; 5,800 page faults per chunk of
    32 draws, one thread).
    """
    out = {}
    for name, values in variables.items():
        if isinstance(values, FundYears):
            values = np.asarray(values.values)
            values = padded(values, n_years, first, out=buffer(f"funds.{name}", values.shape[:-1] + (n_years,)))
        out[name] = values
    return out


def driver(ds: xr.Dataset, name: str) -> np.ndarray:
    """A stochastic driver ``driver_{name}`` as ``[D, Y]`` (all years), or ``[1, Y]`` zeros without one."""
    key = f"driver_{name}"
    if key in ds.variables:  # the Variable, not a DataArray with coordinates (~1 ms each, several per stage)
        return ds.variables[key].transpose("draw", "year").values
    return np.zeros((1, ds.sizes["year"]))


def members(ds: xr.Dataset, name: str) -> np.ndarray:
    """A cube of the labour stage as ``[D, P, S, Y, A]`` (all years; D = 1 without draws), a view."""
    if name not in ds:
        raise InputError(f"the Dataset has no {name}", key="stages",
                         expected="the labour stage (project_coverage) before the fund stages")
    return by_draw(ds, name, ("province", "sex", "year", "age"))


def labour_share(ds: xr.Dataset, name: str) -> np.ndarray:
    """A share of residents by cohort of the labour stage (``employee_pension_contributor_share``,
    ``_retiree_share``) as ``[P, S, Y, A]`` (all years; no draw axis: the same in every draw below
    the open age), a view."""
    if name not in ds:
        raise InputError(f"the Dataset has no {name}", key="stages",
                         expected="the labour stage (project_coverage) before the fund stages")
    return ds.variables[name].transpose("province", "sex", "year", "age").values


@jit
def sex_age_totals(cube, first, totals):
    """``totals[n, t]`` = the sum over sex and age of ``cube[n, :, first + t, :]`` (the sums over
    age with vector adds, :func:`~socsec_proj._accelerate.row_sum`).

    Not parallel: it reads the cube once at memory speed, which one thread nearly saturates.
    Measured on the 2 shared cores, 16 draws' cube: one thread 2.5 ms at best, 10.5 ms by
    median; two threads 1.6-9.6 ms at best but 16-24 ms by median (the call waits for the
    second thread whenever another process holds its core); numpy's sum 3.5 / 11.7 ms.
    """
    n_rows, n_sex = cube.shape[:2]
    n_years = totals.shape[1]
    for row in range(n_rows):
        for t in range(n_years):
            totals[row, t] = 0.0
        # a sex's rows of every year one after the other, as they lie in memory: each cell still
        # 0 + the first sex's sum + the second's, the same bits as the labour kernel's totals
        for s in range(n_sex):
            for t in range(n_years):
                totals[row, t] += row_sum(cube[row, s, first + t])


def sex_age_totals_numpy(cube, first, totals):
    """Plain-numpy reference of :func:`sex_age_totals` (same arguments, same output)."""
    totals[:] = cube[:, :, first:first + totals.shape[1]].sum(axis=(1, 3))


totals_kernel = kernel(sex_age_totals, sex_age_totals_numpy)


def member_totals(ds: xr.Dataset, name: str, first: int = 0, engine: str = "numba",
                  draws: slice = slice(None)) -> np.ndarray:
    """A labour cube (:func:`members`) summed over sex and age from year index ``first`` on,
    ``[D, P, Y - first]`` [persons] (a copy), of the draws ``draws``.

    The declared total ``{name}_total`` when a stage has added it (:func:`with_member_totals`:
    the labour stage adds them, as its kernel took them while writing the cubes; a labour stage
    of a user's own may not), else summed here. Every fund and the stochastic run's
    kept totals read these sums, ten of them per run: the kernel reads the (contiguous) cube
    once, at memory speed, where numpy's reduction over two non-adjacent axes of a sliced cube
    was the stages' largest numpy cost.
    """
    total = member_total_name(name)
    if total in ds.variables:
        return by_draw(ds, total, ("province", "year"))[draws, :, first:].copy()
    cube = members(ds, name)[draws]                                         # (D, P, S, Y_all, A)
    n_draws, n_prov, n_sex, n_all, n_age = cube.shape
    rows = np.ascontiguousarray(cube).reshape(n_draws * n_prov, n_sex, n_all, n_age)
    totals = np.empty((n_draws * n_prov, n_all - first))
    totals_kernel(engine, work=totals.size)(rows, first, totals)
    return totals.reshape(n_draws, n_prov, n_all - first)


@jit(fastmath={"reassoc", "nsz"})
def sex_age_weighted_totals(cube, first, weights, totals):
    """``totals[k, n, t]`` = the sum over sex s and age a of ``cube[n, s, first + t, a] x
    weights[k, s, t, a]``: every weighting of the cube in one pass over it, two weightings at a
    time (each row of the cube read once for both: the unemployment stage's two, on a captured
    chunk of 32 draws, 0.27 -> 0.19 ms per draw against a dot product per weighting,
    :func:`~socsec_proj._accelerate.row_dot`; the same bits there). Reassociated sums only (vector
    adds). Not parallel, as :func:`sex_age_totals`."""
    n_rows, n_sex, _, n_age = cube.shape
    n_weights, _, n_years = totals.shape
    for row in range(n_rows):
        for t in range(n_years):
            for k in range(0, n_weights - 1, 2):
                total = 0.0
                other = 0.0
                for s in range(n_sex):
                    values = cube[row, s, first + t]
                    weight, weight_other = weights[k, s, t], weights[k + 1, s, t]
                    for a in range(n_age):
                        total += values[a] * weight[a]
                        other += values[a] * weight_other[a]
                totals[k, row, t] = total
                totals[k + 1, row, t] = other
            if n_weights % 2:
                total = 0.0
                for s in range(n_sex):
                    total += row_dot(cube[row, s, first + t], weights[n_weights - 1, s, t])
                totals[n_weights - 1, row, t] = total


def sex_age_weighted_totals_numpy(cube, first, weights, totals):
    """Plain-numpy reference of :func:`sex_age_weighted_totals` (same arguments, same output)."""
    totals[:] = np.einsum("nsya,ksya->kny", cube[:, :, first:first + totals.shape[2]], weights)


weighted_totals_kernel = kernel(sex_age_weighted_totals, sex_age_weighted_totals_numpy)


def weighted_member_totals(ds: xr.Dataset, name: str, weights, first: int = 0, engine: str = "numba") -> np.ndarray:
    """A labour cube (:func:`members`) weighted by each of ``weights`` ``[K, S, Y - first, A]``
    [/1] and summed over sex and age from year index ``first`` on, ``[K, D, P, Y - first]``
    [persons]: one pass over the cube for all K weightings."""
    cube = members(ds, name)                                                # (D, P, S, Y_all, A)
    n_draws, n_prov, n_sex, n_all, n_age = cube.shape
    rows = np.ascontiguousarray(cube).reshape(n_draws * n_prov, n_sex, n_all, n_age)
    weights = np.ascontiguousarray(weights, dtype=float)
    if weights.shape[1:] != (n_sex, n_all - first, n_age):
        raise ValueError(f"weights of shape {weights.shape} for {name} from year index {first}")
    totals = np.empty((len(weights), n_draws * n_prov, n_all - first))
    weighted_totals_kernel(engine, work=totals.size)(rows, first, weights, totals)
    return totals.reshape(len(weights), n_draws, n_prov, n_all - first)


def with_member_totals(ds: xr.Dataset, cubes, engine: str = "numba") -> xr.Dataset:
    """``ds`` with the declared totals over sex and age (``{cube}_total``, province x year) of
    the member cubes ``cubes`` added, each summed once (:func:`member_totals`); a total already
    there is kept."""
    missing = [cube for cube in cubes if member_total_name(cube) not in ds.variables]
    if not missing:
        return ds
    return add(ds, {member_total_name(cube): member_totals(ds, cube, engine=engine) for cube in missing})


def population(ds: xr.Dataset) -> np.ndarray:
    """The population cube as ``[D, Y, P, S, A]`` (the population kernel's layout; D = 1 without draws)."""
    return by_draw(ds, "population", ("year", "province", "sex", "age"))


# --------------------------------------------------------------------------------------------
# Parameters and wages


def by_province(parameters, path: str, years, provinces) -> np.ndarray:
    """``[P, Y]`` annual values of a parameter (read-only).

    Memoised on the (immutable, hashable) parameter, years and provinces: evaluating a step
    function year by year costs ~0.1 ms, and the fund stages read some forty parameters whose
    values most runs share (a scenario's changes make new parameter objects, so new keys).
    """
    return parameter_by_province(parameters.get(path), year_key(years), tuple(provinces))


def year_key(years) -> tuple:
    """Years as a tuple of Python ints, the memo key (``tolist`` converts 80 years ~20x faster than a generator)."""
    return tuple(np.asarray(years, dtype=np.int64).tolist())


@functools.lru_cache(maxsize=1024)
def parameter_by_province(parameter, years: tuple, provinces: tuple) -> np.ndarray:
    """``[P, Y]`` annual values of one (immutable) parameter, memoised: what :func:`by_province` reads."""
    values = np.asarray(parameter.by_province(np.array(years, dtype=np.int64), list(provinces)), dtype=float)
    values.setflags(write=False)
    return values


def national(parameters, path: str, years) -> np.ndarray:
    """``[Y]`` national annual values of a parameter (read-only, memoised as :func:`by_province`)."""
    return parameter_national(parameters.get(path), year_key(years))


@functools.lru_cache(maxsize=1024)
def parameter_national(parameter, years: tuple) -> np.ndarray:
    """``[Y]`` national annual values of one (immutable) parameter, memoised: what :func:`national` reads."""
    values = np.asarray(parameter.annual(np.array(years, dtype=np.int64)), dtype=float)
    values.setflags(write=False)
    return values


def wage_growth(parameters, years, shock=None) -> np.ndarray:
    """Nominal wage growth ``[D, Y]`` [/1]: ``economy.wage_growth`` plus a draw's shock (``[D, Y]``)."""
    growth = national(parameters, "economy.wage_growth", years)[None, :]
    return growth if shock is None else growth + shock


def indexation(parameters, years, wage_growth, cpi_shock=0.0):
    """Yearly increase of pensions in payment [/1] under the scenario's rule, by year.

    The increase of year t is set at the start of t by the annual notice, with the outcomes of
    year t-1 known: the ``wage_share`` and ``cpi_plus`` rules therefore use the wage growth and
    the CPI inflation of the year before (of the first year itself for the first year), as the
    record of 2016-2025 behind ``employee_pension.indexation_wage_share`` was fitted.

    Parameters
    ----------
    parameters : ParameterSet
    years : array_like of int
        Calendar years [year].
    wage_growth : array_like of float, shape (Y,) or (D, Y)
        Nominal growth of the average wage in each of ``years`` [/1], one path per draw.
    cpi_shock : float or array_like, shape (D, Y), default 0
        A draw's shock to ``economy.cpi_inflation`` [/1].

    Returns
    -------
    numpy.ndarray, the shape of ``wage_growth`` (and ``cpi_shock``)
        The increase of each year [/1]: ``fixed`` = ``employee_pension.pension_increase``;
        ``wage_share`` = ``indexation_wage_share`` x wage growth(t-1); ``cpi_plus`` = CPI(t-1)
        + ``indexation_real_wage_share`` x (wage growth(t-1) - CPI(t-1)).
    """
    rules = parameters.get("employee_pension.indexation_rule").annual(years)
    fixed = national(parameters, "employee_pension.pension_increase", years)
    wage_share = national(parameters, "employee_pension.indexation_wage_share", years)
    real_share = national(parameters, "employee_pension.indexation_real_wage_share", years)
    wage_growth = np.asarray(wage_growth, dtype=float)
    cpi = national(parameters, "economy.cpi_inflation", years) + np.asarray(cpi_shock, dtype=float)

    def year_before(values):  # along the year axis; the first year keeps its own
        values = np.asarray(values, dtype=float)
        return np.concatenate([values[..., :1], values[..., :-1]], axis=-1)

    known_growth, known_cpi = year_before(wage_growth), year_before(cpi)
    by_rule = {"fixed": fixed, "wage_share": wage_share * known_growth,
               "cpi_plus": known_cpi + real_share * (known_growth - known_cpi)}
    shape = np.broadcast_shapes(*(np.shape(values) for values in by_rule.values()))
    rules = np.array([str(rule) for rule in rules])
    unknown = sorted(set(rules.tolist()) - set(by_rule))
    if unknown:
        raise KeyError(unknown[0])
    # each year the rule in force picks its increase (a selection: the same values as taking each
    # year's column of its rule, in one pass instead of a slice per year)
    return np.select([rules == rule for rule in by_rule],
                     [np.broadcast_to(values, shape) for values in by_rule.values()])


#: The first year of the consistent (all-unit, 全口径) average-wage series.
WAGE_SERIES_START = 2020


def wage_path(parameters, years, provinces, shock=None) -> np.ndarray:
    """Average wage [CNY/month] ``[D, P, Y+1]``: column 0 is the year before the first of ``years``,
    column k the year ``years[k-1]``; the table's wages up to 2024, growing with
    :func:`wage_growth` after (D = 1 without a shock). Before :data:`WAGE_SERIES_START` (the
    break of the series) the wage is backcast by the growth of the series' first year."""
    growth = wage_growth(parameters, years, shock)
    base = _known_wages(tuple(provinces), int(years[0]), params_dir())
    n_known = base.shape[-1]
    path = np.empty((growth.shape[0], len(provinces), len(years) + 1))
    path[:, :, :n_known] = base[None]
    # each year's wage the year before's times its growth, one product after the other (as a loop
    # over the years multiplies, the same bits): 0.3 ms -> 0.05 ms a call, five stages a chunk
    path[:, :, n_known - 1:] = np.multiply.accumulate(_growth_factors(path[:, :, n_known - 1], growth, n_known),
                                                      axis=-1)
    return path


def _growth_factors(start, growth, n_known):
    """``[start, 1 + g(n_known - 1), 1 + g(n_known), ...]`` along the last axis, ``[D, P, Y - n_known + 2]``."""
    factors = np.empty(start.shape + (growth.shape[1] - n_known + 2,))
    factors[..., 0] = start
    factors[..., 1:] = 1.0 + growth[:, None, n_known - 1:]
    return factors


@functools.lru_cache(maxsize=64)
def _known_wages(provinces: tuple, first: int, folder) -> np.ndarray:
    """The table's wages ``[P, K]`` from the year before ``first`` (backcast before the series'
    start) to 2024 (read-only; memoised per data folder: every fund stage of every chunk asks)."""
    table = data.average_wage().loc[list(provinces)]
    known = list(range(max(first - 1, WAGE_SERIES_START), FUND_BASE_YEAR + 1))
    base = np.stack([table[year].to_numpy() for year in known], axis=-1)
    if not np.all(np.isfinite(base)):
        p, k = np.argwhere(~np.isfinite(base))[0]
        raise InputError(f"no average wage for {provinces[p]} in {known[k]}",
                         source=data.table_path("social_insurance/average_wage"), key="average_wage",
                         expected=f"every year from {known[0]} to {FUND_BASE_YEAR}")
    if first - 1 < WAGE_SERIES_START:
        base = np.concatenate([(base[:, 0] ** 2 / base[:, 1])[:, None], base], axis=-1)
    base.setflags(write=False)
    return base


def fund_wages(ds: xr.Dataset, parameters, first: int) -> np.ndarray:
    """:func:`wage_path` of the fund years of ``ds`` (from index ``first``) with its wage driver,
    ``[D, P, Y+1]`` [CNY/month].

    Without draws memoised on the wage-growth parameter, the years, the provinces and the data
    folder (read-only): three fund stages read it.
    """
    years = ds.variables["year"].values[first:]
    provinces = tuple(ds.variables["province"].values)
    if "driver_wage" in ds:
        return wage_path(parameters, years, provinces, driver(ds, "wage")[:, first:])
    return _wages(parameters.get("economy.wage_growth"), year_key(years), provinces, params_dir())


@functools.lru_cache(maxsize=64)
def _wages(growth, years: tuple, provinces: tuple, folder) -> np.ndarray:
    from ..inputs.parameters import ParameterSet  # wage_path reads this one parameter only

    values = wage_path(ParameterSet({"economy.wage_growth": growth}), np.array(years), list(provinces))
    values.setflags(write=False)
    return values


def investment_return(ds: xr.Dataset, parameters, first: int) -> np.ndarray:
    """The funds' rate of return ``[D, Y]`` of the fund years [/1]: ``employee_pension.investment_return``
    plus the draw's return shock."""
    years = ds.variables["year"].values[first:]
    return national(parameters, "employee_pension.investment_return", years)[None, :] + driver(ds, "return")[:, first:]


def cpi_inflation(ds: xr.Dataset, parameters, first: int) -> np.ndarray:
    """CPI inflation ``[D, Y]`` of the fund years [/1]: ``economy.cpi_inflation`` plus the draw's CPI shock."""
    years = ds.variables["year"].values[first:]
    return national(parameters, "economy.cpi_inflation", years)[None, :] + driver(ds, "cpi")[:, first:]


# --------------------------------------------------------------------------------------------
# The central budget's subsidy to the two pension funds

#: NBS's ten eastern provinces (东部), whose central subsidy per unit is
#: ``employee_pension.central_subsidy_east_share`` of the others' (the north-east counts with the
#: central and western provinces, as the old industrial bases the central subsidy favours).
EASTERN_PROVINCES = ("CN-BJ", "CN-TJ", "CN-HE", "CN-SH", "CN-JS", "CN-ZJ", "CN-FJ", "CN-SD", "CN-GD", "CN-HI")

#: The year of the Ministry of Finance's central subsidy (params/history/national_bulletin.csv).
CENTRAL_SUBSIDY_YEAR = 2023


def central_weight(parameters, provinces) -> np.ndarray:
    """Central subsidy per unit of each province relative to a central or western one, ``[P]`` [/1]."""
    east = float(parameters.get("employee_pension.central_subsidy_east_share").at(datetime.date(FUND_BASE_YEAR, 7, 1)))
    return np.where(np.isin(np.asarray(provinces), EASTERN_PROVINCES), east, 1.0)


def resident_central_subsidy(ds: xr.Dataset, parameters, first: int, draws: slice = slice(None)) -> np.ndarray:
    """The central budget's part of the resident basic pension, ``[D, P, Y]`` [CNY/year] of the
    fund years from index ``first``: beneficiaries x 12 x the national minimum basic pension x
    :func:`central_weight` (国发〔2014〕8号); of the draws ``draws`` (a calibration reads draw 0)."""
    years = ds.variables["year"].values[first:]
    provinces = list(ds.variables["province"].values)
    beneficiaries = member_totals(ds, "resident_pension_beneficiaries", first, draws=draws)
    minimum = national(parameters, "resident_pension.minimum_basic_pension", years)
    return beneficiaries * 12.0 * minimum[None, None, :] * central_weight(parameters, provinces)[None, :, None]


def published_central_subsidy() -> float:
    """The Ministry of Finance's central subsidy to basic pension insurance of
    :data:`CENTRAL_SUBSIDY_YEAR` [CNY/year] (both pension schemes; "about 1 trillion")."""
    # the national actuals' index (built once per data folder), not a filter of the whole history per run
    values = data.national_actuals().get(("national_bulletin", "basic_pension_central_subsidy", CENTRAL_SUBSIDY_YEAR),
                                         ())
    if len(values) != 1:
        raise InputError(f"no central subsidy of {CENTRAL_SUBSIDY_YEAR}",
                         source=data.table_path("history/national_bulletin"),
                         key="basic_pension_central_subsidy", expected="one national row")
    return float(values[0])


# --------------------------------------------------------------------------------------------
# Coverage of the unemployment and injury funds


def coverage_ratios(ds: xr.Dataset, parameters, indicator: str, default_path: str) -> np.ndarray:
    """Insured of a scheme per urban-employee insured worker, by province of ``ds`` [/1].

    A seed province's ratio makes the model's insured of its latest actual seed year (2020)
    equal the seed figure ``indicator`` of ``seed_figures.csv``: ratio = seed insured / the
    model's urban-employee insured workers of that year. The other provinces take the parameter
    ``default_path``, whose value is the mean of the seed provinces' ratios (held by
    ``tests/test_unemployment_injury.py``). Computing the seed provinces here keeps them exact
    whatever the labour stage does; the default stays a parameter so that a run on a subset of
    provinces without the seed provinces gets the same ratios. Years before 2025 are the same
    in every draw, so draw 0 calibrates.
    """
    years = ds.variables["year"].values
    provinces = list(ds.variables["province"].values)
    ratios = by_province(parameters, default_path, [FUND_BASE_YEAR], provinces)[:, 0].copy()
    insured = None
    for province, (year, value) in data.seed_actuals(indicator, years).items():
        if province not in provinces:
            continue
        if insured is None:
            insured = members(ds, "employee_pension_contributors")[0]            # (P, S, Y, A)
        p, t = provinces.index(province), int(np.searchsorted(years, year))
        model = float(insured[p, :, t, :].sum())
        if model <= 0:
            raise InputError(f"{province}: no urban-employee insured workers in {year} to calibrate to",
                             source=data.table_path("social_insurance/seed_figures"), key=indicator,
                             expected="insured workers > 0 in the seed year")
        ratios[p] = value / model
    return ratios

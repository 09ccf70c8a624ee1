"""Tables and a one-page Markdown summary of a projection, for policy staff.

Everything here reads a finished projection Dataset (``ssp.run(...)`` or an opened
``projection.nc``) and never runs a projection itself. Fund variables follow the naming
``{scheme}_{quantity}`` (:data:`SCHEMES` x :data:`FUND_QUANTITIES`); every function works on
whichever of them a Dataset holds and skips the others, so the same code serves a projection
with or without the funds stage.

Aggregation rules (:func:`aggregate`), used by the tables, the targets and the charts alike:

* Counts and money totals (units ``persons``, ``persons/year``, ``CNY``, ``CNY/year``, or
  yuan) are summed over sex, age and, for a national figure, provinces.
* Ratios are recomputed from their parts when a figure covers several provinces, because a
  sum or a plain mean of provincial ratios is not the ratio of the totals:
  ``system_dependency_ratio = retirees / contributors`` and
  ``{scheme}_months_of_reserve = 12 x balance / expenditure``.
* An average benefit per pensioner (``{scheme}_average_benefit``, CNY/month) is averaged with
  the scheme's pensioners as weights; any other intensive variable (life expectancy,
  fertility) with the population as weights. The result's ``aggregation`` attribute says
  which rule applied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import xarray as xr

from .. import variables
from ..provenance import provenance

__all__ = [
    "FUND_QUANTITIES",
    "SCHEMES",
    "SCHEME_TITLES",
    "aggregate",
    "comparison_markdown",
    "depletion_years",
    "differences",
    "ASSUMPTION_SETS",
    "assumption_sets",
    "draws_depletion",
    "fund_variables",
    "scheme_variables",
    "schemes_present",
    "summary_markdown",
    "target_checks",
    "tidy_tables",
]

#: The social-insurance schemes, as variable-name prefixes (declared in :mod:`socsec_proj.variables`).
SCHEMES = variables.SCHEMES

#: The quantities each scheme's fund reports, as variable-name suffixes.
FUND_QUANTITIES = ("revenue", "expenditure", "balance", "months_of_reserve")

#: Plain-language names of the schemes, for titles and tables.
SCHEME_TITLES = {
    "employee_pension": "Urban-employee pension",
    "resident_pension": "Urban-rural resident pension",
    "unemployment": "Unemployment insurance",
    "injury": "Work-injury insurance",
    "employee_medical": "Employee medical insurance (pooled fund)",
    "resident_medical": "Resident medical insurance",
}

#: Last year drawn by default: 2024-2060 is what plans and policy debates are about.
CHART_END = 2060

#: Chinese names of the schemes, for titles and tables.
SCHEME_TITLES_ZH = {
    "employee_pension": "城镇职工基本养老保险",
    "resident_pension": "城乡居民基本养老保险",
    "unemployment": "失业保险",
    "injury": "工伤保险",
    "employee_medical": "职工基本医疗保险（统筹基金）",
    "resident_medical": "城乡居民基本医疗保险",
}

#: Columns of the ``population`` table, in order (those present are kept).
_POPULATION_VARIABLES = ("population_total", "births", "deaths", "net_migration_total", "life_expectancy")

#: Indicators for which a plan target is a ceiling (met when the projection is at or below
#: it); every other target is a floor (met when the projection is at or above it).
_CEILING_SUFFIXES = ("_expenditure", "system_dependency_ratio", "deaths")

#: Headline years of the summary (those inside the projection are shown).
HEADLINE_YEARS = (2024, 2035, 2050)
RESERVE_YEARS = (2030, 2035)

_SUMMED_DIMS = ("sex", "age")
_NATIONAL_COUNT = 31


# --------------------------------------------------------------------------------------------
# Which variables a Dataset holds
# --------------------------------------------------------------------------------------------


def _has_province_year(ds: xr.Dataset, name: str) -> bool:
    dims = ds[name].dims
    return "province" in dims and "year" in dims


def scheme_variables(ds: xr.Dataset, scheme: str) -> list[str]:
    """The variables of one scheme's table, in Dataset order.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.
    scheme : str
        One of :data:`SCHEMES`.

    Returns
    -------
    list of str
        Every ``{scheme}_*`` variable with ``province`` and ``year`` dimensions (calibrated
        constants by province only, such as ``employee_pension_coverage``, are left out: they
        have no year), plus ``system_dependency_ratio`` for the employee pension.
    """
    def belongs(name):  # declared: the variable's scheme; a stage's own variable: its prefix
        declared = variables.VARIABLES.get(name)
        return declared.scheme == scheme if declared is not None else name.startswith(f"{scheme}_")

    return [str(name) for name in ds.data_vars if belongs(str(name)) and _has_province_year(ds, name)]


def schemes_present(ds: xr.Dataset) -> list[str]:
    """The schemes of :data:`SCHEMES` with at least one variable by province and year."""
    return [scheme for scheme in SCHEMES if scheme_variables(ds, scheme)]


def fund_variables(ds: xr.Dataset) -> list[str]:
    """The ``{scheme}_{quantity}`` fund variables the Dataset holds, scheme by scheme."""
    return [f"{scheme}_{quantity}" for scheme in SCHEMES for quantity in FUND_QUANTITIES
            if f"{scheme}_{quantity}" in ds.data_vars]


# --------------------------------------------------------------------------------------------
# Aggregation
# --------------------------------------------------------------------------------------------


#: Units of money totals (stocks and flows of a whole fund), which add up across provinces:
#: how a variable no stage declared (a user's own stage) is treated. Declared variables
#: aggregate by their rule in :mod:`socsec_proj.variables`.
_MONEY_TOTALS = ("cny", "cny/year", "yuan", "yuan/year", "元", "元/年")


def _is_additive(ds: xr.Dataset, name: str) -> bool:
    """Whether a variable is summed over sex, age and provinces: its declared rule is ``sum``
    (undeclared: counts and money totals, by unit)."""
    declared = variables.VARIABLES.get(name)
    if declared is not None:
        return declared.aggregation == "sum"
    units = str(ds[name].attrs.get("units", "")).strip().lower()
    return units.startswith("persons") or units in _MONEY_TOTALS


def _select(ds: xr.Dataset, province):
    """``ds`` restricted to ``province`` (a code, a list of codes or None for all)."""
    if province is None:
        return ds
    if isinstance(province, str):
        if province not in ds["province"].values:
            raise KeyError(f"province {province} not in this projection")
        return ds.sel(province=province)  # a scalar selection: ratios are then taken as projected
    missing = [code for code in province if code not in ds["province"].values]
    if missing:
        raise KeyError(f"province(s) {', '.join(missing)} not in this projection")
    return ds.sel(province=list(province))


def _sum(array: xr.DataArray) -> xr.DataArray:
    dims = [d for d in (*_SUMMED_DIMS, "province") if d in array.dims]
    # min_count=1 keeps the base year's flows NaN (they are undefined) instead of 0.
    return array.sum(dims, min_count=1) if dims else array


def _weighted_mean(ds: xr.Dataset, array: xr.DataArray, weights: xr.DataArray | None = None) -> xr.DataArray:
    """``array`` averaged over sex, age and provinces, weighted by ``weights`` or the population."""
    dims = [d for d in (*_SUMMED_DIMS, "province") if d in array.dims]
    if not dims:
        return array
    if weights is None:
        for candidate in ("population", "population_total"):
            if candidate in ds.data_vars:
                weights = ds[candidate]
                break
    if weights is None:
        return array.mean(dims)
    weights = weights.sum([d for d in weights.dims if d not in array.dims])
    return (array * weights).sum(dims, min_count=1) / weights.sum(dims)


def aggregate(ds: xr.Dataset, variable: str, province=None) -> xr.DataArray:
    """One variable as a series over ``year``, for a province or the provinces together.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.
    variable : str
        A variable with a ``year`` dimension.
    province : str, sequence of str or None
        An ISO code, several codes (taken together), or None for every province of ``ds``
        (national when the Dataset holds all 31).

    Returns
    -------
    xarray.DataArray
        Dimension ``year``, in the variable's ``units`` (a ratio keeps its unit); the
        ``aggregation`` attribute says how it was formed (see the module notes).

    Raises
    ------
    KeyError
        If the variable or a province is not in ``ds``.
    """
    if variable not in ds.data_vars:
        raise KeyError(f"{variable!r} is not in this projection")
    part = _select(ds, province)
    array = part[variable]
    collapsed = [d for d in (*_SUMMED_DIMS, "province") if d in array.dims]
    if variable in variables.VARIABLES:
        result, how = variables.aggregate(part, variable, collapsed)
        if variables.VARIABLES[variable].aggregation == "ratio" and collapsed:
            declared = variables.VARIABLES[variable]
            numerator, denominator = (part.removeprefix(f"{declared.scheme}_") for part in declared.parts)
            how = (f"{declared.factor:g} x " if declared.factor != 1 else "") \
                + f"{numerator} / {denominator} of the provinces together"
    elif _is_additive(ds, variable):
        result, how = _sum(array), "sum"
    elif not collapsed:
        result, how = array, "as projected"
    else:
        result, how = _weighted_mean(part, array), "population-weighted mean"
    result = result.rename(variable)
    result.attrs = {**array.attrs, "aggregation": how}
    return result


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _collapsed(ds: xr.Dataset, names, keep=("province", "year")) -> xr.Dataset:
    """``names`` summed over every dimension not in ``keep`` (sex and age, usually)."""
    columns = {}
    for name in names:
        array = ds[name]
        drop = [d for d in array.dims if d not in keep]
        columns[name] = array.sum(drop, min_count=1) if drop else array
    return xr.Dataset(columns)


def _collapse(ds: xr.Dataset, names, keep=("province", "year")) -> pd.DataFrame:
    """A tidy table of ``names`` summed over every dimension not in ``keep``."""
    collapsed = _collapsed(ds, names, keep)
    order = [d for d in keep if d in collapsed.dims]
    table = collapsed.to_dataframe(dim_order=order)
    # reset_index, then keep only the keys and the variables: the name_zh / name_en
    # coordinates that ride along are left out.
    return table.reset_index()[[*order, *names]]


def tidy_tables(ds: xr.Dataset) -> dict[str, pd.DataFrame]:
    """One tidy table per scheme and one for the population, ready for a CSV.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.

    Returns
    -------
    dict of str to pandas.DataFrame
        ``{scheme: table}`` for each scheme with variables (:func:`schemes_present`): columns
        ``province``, ``year``, the province's ``name_zh`` and ``name_en`` (when the Dataset
        has them) and every variable of :func:`scheme_variables` summed over sex and age
        (counts [persons], money in the variable's unit [e.g. yuan], ratios as projected per
        province [1 or months]). Plus ``"population"``: ``province``, ``sex``, ``year``, the
        names, ``population_total`` [persons], ``births``, ``deaths``,
        ``net_migration_total`` [persons/year] and ``life_expectancy`` [years], those present.
        Rows are in the Dataset's province order, then year. Each table's ``attrs`` hold
        ``units`` and ``long_names``: ``{column: text}`` for the variable columns.
    """
    tables = {}
    for scheme in schemes_present(ds):
        names = scheme_variables(ds, scheme)
        # Ratios by province and year are not summed; counts lose their sex and age.
        tables[scheme] = _collapse(ds, names)
    population = [name for name in _POPULATION_VARIABLES if name in ds.data_vars]
    if not population and "population" in ds.data_vars:
        population = ["population"]
    if population:
        tables["population"] = _collapse(ds, population, keep=("province", "sex", "year"))
    return {name: _described(ds, table) for name, table in tables.items()}


def _described(ds: xr.Dataset, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the provinces' Chinese and English names after its keys, and its units in ``attrs``."""
    keys = [column for column in ("province", "sex", "year") if column in table.columns]
    names = [name for name in ("name_zh", "name_en") if name in ds.coords]
    if names and "province" in table.columns:
        lookup = {name: dict(zip(ds["province"].values, ds[name].values)) for name in names}
        position = len(keys)
        for offset, name in enumerate(names):
            table.insert(position + offset, name, table["province"].map(lookup[name]))
    variables = [column for column in table.columns if column in ds.data_vars]
    # the variables' own attributes: ds[name] would build a DataArray for each (0.03 s a run)
    table.attrs["units"] = {name: str(ds.variables[name].attrs.get("units", "")) for name in variables}
    table.attrs["long_names"] = {name: str(ds.variables[name].attrs.get("long_name", "")) for name in variables}
    return table


def depletion_years(ds: xr.Dataset, national: bool = False) -> pd.DataFrame:
    """The first year each fund's balance is below zero, by province.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``{scheme}_balance`` variables [yuan] by province and year.
    national : bool, default False
        Add a row ``"total"`` for the balance of all the Dataset's provinces pooled (national
        when it holds all 31), which is what matters under national pooling (全国统筹).

    Returns
    -------
    pandas.DataFrame
        Index ``province`` (ISO codes, Dataset order), one float column per scheme with a
        balance: the first year [calendar year] from 2024 with ``balance < 0``, NaN if the balance never
        goes below zero within the projection (a zero balance is not depleted). No columns
        when the Dataset holds no balance.
    """
    from ..funds.measures import depletion_year

    columns = {}
    index = [str(code) for code in ds["province"].values]
    for scheme in SCHEMES:
        name = f"{scheme}_balance"
        if name not in ds.data_vars:
            continue
        balance = ds[name]
        balance = balance.sum([d for d in balance.dims if d not in ("province", "year")], min_count=1)
        pooled = balance.to_dataset(name=name)  # the rule (from 2024: 2020-2023 are the backcast) is measures'
        years = depletion_year(pooled, scheme).transpose("province").values
        if national:
            years = np.append(years, depletion_year(pooled, scheme, national_total=True).values)
        columns[scheme] = years
    rows = index + (["total"] if national else [])
    table = pd.DataFrame(columns, index=pd.Index(rows, name="province"), dtype=float)
    return table


def _rule(indicator: str) -> str:
    return "<=" if indicator.endswith(_CEILING_SUFFIXES) else ">="


def target_checks(ds: xr.Dataset, scenario) -> pd.DataFrame:
    """The scenario's plan targets set against the projection.

    Rule: a target is a floor (``met`` when projected >= target) for counts, revenues,
    balances, months of reserve, population and life expectancy; a ceiling (``met`` when
    projected <= target) for ``*_expenditure``, ``system_dependency_ratio`` and ``deaths``,
    where less is better. The ``rule`` column says which applied.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.
    scenario : Scenario or sequence of Target
        The scenario (its ``targets`` are used) or the targets themselves.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``indicator``, ``province`` (None = national), ``year``,
        ``target`` and ``projected`` [the indicator's unit], ``ratio`` = projected / target
        [1], ``rule`` (``">="`` or ``"<="``), ``met`` (bool, or None when nothing could be
        projected), ``source`` and ``note``. ``projected`` is the indicator summed over sex
        and age at that province and year, or over the Dataset's provinces for a national
        target (ratios recomputed from their parts, see :func:`aggregate`); it is NaN, with a
        note, when the indicator, the province or the year is not in the projection.
    """
    targets = getattr(scenario, "targets", scenario) or ()
    rows = []
    years = {int(y) for y in ds["year"].values}
    for target in targets:
        projected, note = math.nan, ""
        if target.indicator not in ds.data_vars:
            note = "indicator not in this projection"
        elif target.province is not None and target.province not in ds["province"].values:
            note = "province not in this projection"
        elif int(target.year) not in years:
            note = "year outside the projection"
        else:
            series = aggregate(ds, target.indicator, target.province)
            projected = float(series.sel(year=int(target.year)))
            if target.province is None and ds.sizes["province"] < _NATIONAL_COUNT:
                note = f"total of the {ds.sizes['province']} provinces projected, not national"
        rule = _rule(target.indicator)
        ratio = projected / target.value if target.value and not math.isnan(projected) else math.nan
        if math.isnan(projected):
            met = None
        else:
            met = bool(projected >= target.value) if rule == ">=" else bool(projected <= target.value)
        rows.append({"indicator": target.indicator, "province": target.province, "year": int(target.year),
                     "target": float(target.value), "projected": projected, "ratio": ratio, "rule": rule,
                     "met": met, "source": target.source, "note": note})
    columns = ["indicator", "province", "year", "target", "projected", "ratio", "rule", "met", "source", "note"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------------------------
# Markdown
# --------------------------------------------------------------------------------------------


def _scaled(value: float, units: str, size: float | None = None) -> tuple[float, str]:
    """A value in millions of persons or billions of yuan, with the unit to print beside it.

    ``size`` [the value's unit] decides the scale (default: the value itself), so that every
    cell of a row shares one unit; small counts stay in persons.
    """
    size = abs(value if size is None else size)
    if units.startswith("persons") and not size < 1e5:  # NaN scales like a large value
        return value / 1e6, "million " + units
    if units.lower() in _MONEY_TOTALS and not size < 1e8:
        return value / 1e9, "billion " + units  # 1 billion = 10 亿
    return value, units


def _digits(unit: str, units: str) -> int:
    """Decimals to print: 2 for a ratio, none for unscaled persons or yuan, else 1."""
    if unit in ("1", ""):
        return 2
    if unit == units and (units.startswith("persons") or units.lower() in _MONEY_TOTALS):
        return 0
    return 1


def _number(value, digits=1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def _year(value) -> str:
    return "never" if value is None or math.isnan(value) else str(int(value))


def _place(ds: xr.Dataset, province=None) -> str:
    if province is not None:
        return _province_name(ds, province)
    n = ds.sizes["province"]
    if n == 1:
        return _province_name(ds, str(ds["province"].values[0]))
    return "China" if n == _NATIONAL_COUNT else f"{n} provinces together"


def _province_name(ds: xr.Dataset, code) -> str:
    if code is None:
        return "national"
    if "name_en" in ds.coords and code in ds["province"].values:
        return f"{ds['name_en'].sel(province=code).item()} ({code})"
    return str(code)


def _markdown_table(header, rows, align) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return lines


def _changes_text(scenario, limit=8) -> list[str]:
    changes = getattr(scenario, "changes", None) or {}
    items = []
    for path, entries in changes.items():
        dated = [f"{value} from {key}" if "/" not in key else f"{value} in {key.replace('/', ' to ')}"
                 for key, value in entries.items() if key != "provinces"]
        for code, values in (entries.get("provinces") or {}).items():
            dated += [f"{value} in {code} from {key}" for key, value in values.items()]
        items.append(f"`{path}`: " + "; ".join(dated))
    if len(items) > limit:
        items = items[:limit] + [f"... and {len(items) - limit} more (see the scenario file)"]
    return items


#: The headline indicators: (variable, English label, Chinese label).
HEADLINE_INDICATORS = (
    ("population", "Population (1 July)", "常住人口（7月1日）"),
    ("employee_pension_contributors", "Urban-employee pension: insured workers", "城镇职工基本养老保险：参保职工"),
    ("employee_pension_retirees", "Urban-employee pension: pensioners", "城镇职工基本养老保险：离退休人员"),
    ("system_dependency_ratio", "Pensioners per insured worker (system dependency ratio)", "制度抚养比（离退休人员/参保职工）"),
    ("resident_pension_contributors", "Resident pension: contributors", "城乡居民基本养老保险：缴费人数"),
    ("resident_pension_beneficiaries", "Resident pension: beneficiaries", "城乡居民基本养老保险：领取待遇人数"),
    ("unemployment_contributors", "Unemployment insurance: insured", "失业保险：参保人数"),
    ("injury_contributors", "Work-injury insurance: insured", "工伤保险：参保人数"),
)


def headline_figures(ds: xr.Dataset) -> tuple[list[int], list[dict]]:
    """The headline indicators of :data:`HEADLINE_INDICATORS` the Dataset holds, for the provinces together.

    Returns
    -------
    years : list of int
        2024, 2035 and 2050, those inside the projection (else its first and last years).
    rows : list of dict
        ``variable``, ``label``, ``label_zh``, ``unit`` (scaled: ``million persons``; ``1``
        for a ratio), ``values`` (one float per year, in ``unit``) and ``digits`` to print.
    """
    years = [y for y in HEADLINE_YEARS if y in ds["year"].values]
    if not years:
        years = [int(ds["year"].values[0]), int(ds["year"].values[-1])]
    rows = []
    for name, label, label_zh in HEADLINE_INDICATORS:
        if name not in ds.data_vars:
            continue
        series = aggregate(ds, name)
        units = str(series.attrs.get("units", ""))
        size = float(np.nanmax(np.abs(series.sel(year=years).values), initial=0.0))
        values, unit = [], units
        for year in years:
            value, unit = _scaled(float(series.sel(year=year)), units, size)
            values.append(value)
        rows.append({"variable": name, "label": label, "label_zh": label_zh, "unit": unit, "values": values,
                     "digits": _digits(unit, units)})
    return years, rows


def _headline(ds: xr.Dataset) -> list[str]:
    years, figures = headline_figures(ds)
    rows = [[row["label"], "ratio" if row["unit"] == "1" else row["unit"],
             *(_number(value, row["digits"]) for value in row["values"])] for row in figures]
    return _markdown_table(["indicator", "unit", *map(str, years)], rows, ["---", "---", *["---:"] * len(years)])


def _funds(ds: xr.Dataset) -> list[str]:
    schemes = [s for s in SCHEMES if any(f"{s}_{q}" in ds.data_vars for q in FUND_QUANTITIES)]
    if not schemes:
        return [("Fund results (revenue, expenditure, balance, months of reserve) are not part of this "
                "projection.")]
    depletion = depletion_years(ds, national=True)
    last = int(ds["year"].values[-1])
    reserve_years = [y for y in RESERVE_YEARS if y in ds["year"].values]
    header = ["scheme", "balance first below zero (provinces pooled)", f"provinces below zero by {last}",
              "first province below zero", *[f"months of reserve {y}" for y in reserve_years]]
    rows = []
    for scheme in schemes:
        row = [SCHEME_TITLES[scheme]]
        if scheme in depletion.columns:
            years = depletion[scheme]
            provincial = years.drop("total").dropna()
            first = (f"{_province_name(ds, provincial.idxmin())}, {int(provincial.min())}"
                     if len(provincial) else "none")
            row += [_year(years["total"]), f"{len(provincial)} of {ds.sizes['province']}", first]
        else:
            row += ["–", "–", "–"]
        name = f"{scheme}_months_of_reserve"
        if name in ds.data_vars:
            series = aggregate(ds, name)
            row += [_number(float(series.sel(year=y))) for y in reserve_years]
        else:
            row += ["–"] * len(reserve_years)
        rows.append(row)
    lines = _markdown_table(header, rows, ["---", "---:", "---:", "---", *["---:"] * len(reserve_years)])
    lines += ["", ("A fund is depleted in the first year its accumulated balance is below zero; months of "
              "reserve = balance / monthly expenditure (可支付月数), for the provinces pooled.")]
    return lines


def draws_depletion(draws: xr.Dataset, quantiles=(0.05, 0.5, 0.95)) -> pd.DataFrame:
    """Depletion year of each fund's national balance over a stochastic run's draws, as text.

    Draws never depleted within the projection count as after the horizon, shown "> 2100"
    (:func:`~socsec_proj.funds.measures.depletion_year_quantiles`), so a median falls there
    when fewer than half the draws are depleted.

    Returns
    -------
    pandas.DataFrame
        Index scheme; one column per quantile (``"5 %"``, ``"median"``, ...) holding a year or
        ``"> 2100"``, and ``never depleted`` (draws not depleted by the horizon, ``"44 of 1,000"``).
    """
    from ..funds.measures import depletion_year, depletion_year_quantiles, format_depletion_year

    horizon = int(draws["year"].values[-1])
    columns = ["median" if q == 0.5 else f"{100 * q:g} %" for q in quantiles]
    rows = {}
    for scheme in SCHEMES:
        if f"{scheme}_balance" not in draws.data_vars:
            continue
        values = depletion_year_quantiles(draws, scheme, quantiles).values
        never = int(depletion_year(draws, scheme, national_total=True).isnull().sum())
        rows[SCHEME_TITLES[scheme]] = [format_depletion_year(v, horizon) for v in values] + [
            f"{never:,} of {draws.sizes['draw']:,}"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=[*columns, "never depleted"])


def _draws(draws: xr.Dataset, charts: Mapping[str, str]) -> list[str]:
    table = draws_depletion(draws)
    last = int(draws["year"].values[-1])
    lines = [f"{draws.sizes['draw']:,} stochastic draws (seed {draws.attrs.get('seed', '?')}). The year the "
             f"balance, provinces pooled, first falls below zero; a draw never depleted by {last} counts as "
             f"after {last} (\"> {last}\"), so a quantile shows \"> {last}\" when fewer draws than that share "
             "are depleted by then.", ""]
    rows = [[scheme, *values] for scheme, values in zip(table.index, table.values.tolist())]
    lines += _markdown_table(["scheme", *table.columns], rows, ["---", *["---:"] * len(table.columns)])
    shown = [(title, path) for title, path in charts.items() if path.endswith(("_fan.png", "_depletion_years.png"))]
    return lines + [line for title, path in shown for line in ("", f"![{title}]({path})")]


#: The three assumption sets (issue #14), from the one that hurts the funds most to the one
#: that helps them most; the baseline is the intermediate set.
ASSUMPTION_SETS = ("high_cost", "baseline", "low_cost")

#: Years whose national employee-pension balance the assumption-set table shows.
ASSUMPTION_SET_YEARS = (2035, 2050)


def assumption_sets(sets: Mapping[str, xr.Dataset], years=ASSUMPTION_SET_YEARS) -> pd.DataFrame:
    """The employee pension's depletion year and balances under each assumption set, provinces pooled.

    Parameters
    ----------
    sets : mapping of str to xarray.Dataset
        ``{set name: projection}``, e.g. the baseline, ``low_cost`` and ``high_cost`` runs
        (national when each holds all 31 provinces).
    years : sequence of int
        Years of the balance columns (those inside every projection are kept).

    Returns
    -------
    pandas.DataFrame
        Index the set names in the order given; ``depletion_year`` [calendar year] (NaN: not
        below zero by the horizon), ``horizon`` [calendar year] and ``balance_<year>``
        [trillion CNY, nominal] per year.
    """
    from ..funds.measures import depletion_year

    kept = [y for y in years if all(y in ds["year"].values for ds in sets.values())]
    rows = {}
    for name, ds in sets.items():
        balance = ds["employee_pension_balance"]
        balance = balance.sum([d for d in balance.dims if d != "year"], min_count=1)
        first = depletion_year(balance.to_dataset(name="employee_pension_balance"), "employee_pension")
        rows[name] = {"depletion_year": float(first), "horizon": int(ds["year"].values[-1]),
                      **{f"balance_{y}": float(balance.sel(year=y)) / 1e12 for y in kept}}
    return pd.DataFrame.from_dict(rows, orient="index")


def _assumption_sets(sets: Mapping[str, xr.Dataset], place: str) -> list[str]:
    table = assumption_sets(sets)
    years = [c.split("_")[1] for c in table.columns if c.startswith("balance_")]
    rows = []
    for name, row in table.iterrows():
        label = f"`{name}`" + (" (intermediate)" if name == "baseline" else "")
        year = row["depletion_year"]
        depleted = _year(year) if np.isfinite(year) else f"not by {int(row['horizon'])}"
        rows.append([label, depleted, *(_number(row[f"balance_{y}"], 2) for y in years)])
    lines = [f"The urban-employee pension of {place} under the three assumption sets (`params/SOURCES.md`, "
             "long-run assumptions): `high_cost` and `low_cost` move wage growth, indexation, the fund's return "
             "and flexible retirement together against and for the funds. A depletion year quoted without the "
             "other two overstates what is known.", ""]
    return lines + _markdown_table(["assumption set", "balance first below zero",
                                    *(f"balance {y} (trillion CNY, nominal)" for y in years)], rows,
                                   ["---", "---:", *["---:"] * len(years)])


def _targets(ds: xr.Dataset, scenario) -> list[str]:
    checks = target_checks(ds, scenario)
    if checks.empty:
        return ["The scenario sets no plan targets."]
    rows = []
    for check in checks.itertuples(index=False):
        units = str(ds[check.indicator].attrs.get("units", "")) if check.indicator in ds.data_vars else ""
        target, unit = _scaled(check.target, units)
        projected, _ = _scaled(check.projected, units, check.target)
        # A ratio [1] and an unknown unit print without one; a big number needs no decimals.
        digits = 0 if abs(target) >= 1000 else _digits(unit, units)
        unit = "" if unit == "1" else unit
        met = {True: "yes", False: "**no**", None: "–"}[check.met]
        rows.append([f"`{check.indicator}`", _province_name(ds, check.province), check.year,
                     f"{check.rule} {_number(target, digits)} {unit}".strip(), _number(projected, digits),
                     _number(check.ratio * 100, 0) + " %" if not math.isnan(check.ratio) else "–", met,
                     check.source + (f" ({check.note})" if check.note else "")])
    met = sum(check is True for check in checks["met"])
    unchecked = sum(check is None for check in checks["met"])
    lines = [f"{met} of {len(checks)} targets met" + (f" ({unchecked} could not be checked)" if unchecked else "")
             + ". A count, revenue or balance target is met when the projection reaches it; an expenditure or "
             "dependency-ratio target when it stays at or below.", ""]
    return lines + _markdown_table(["indicator", "where", "year", "target", "projected", "projected / target",
                                    "met", "source"], rows, ["---", "---", "---:", "---:", "---:", "---:", "---",
                                                             "---"])


def summary_markdown(ds: xr.Dataset, scenario=None, charts: Mapping[str, str] | None = None,
                     draws: xr.Dataset | None = None, sets: Mapping[str, xr.Dataset] | None = None) -> str:
    """A one-page Markdown summary of one projection, for readers who do not read code.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection.
    scenario : Scenario, optional
        The scenario it ran (name, description, file, changes, targets); without it the
        Dataset's ``scenario`` and ``description`` attributes are used and no targets checked.
    charts : mapping of str to str, optional
        ``{title: relative path}`` of the charts to link, e.g.
        ``{"Population pyramid": "population_pyramid.png"}``.
    draws : xarray.Dataset, optional
        A stochastic run of the same scenario: adds the depletion year over the draws
        (quantiles, never-depleted draws counted as "> 2100") and its fan charts.
    sets : mapping of str to xarray.Dataset, optional
        ``{name: projection}`` of the three assumption sets (:data:`ASSUMPTION_SETS`; the
        command line passes them for a baseline run): adds the employee pension's depletion
        year and balances under each (:func:`assumption_sets`).

    Returns
    -------
    str
        Markdown: the scenario's name and description, what it changes, the years and
        provinces projected; a headline table (population [million persons], insured workers,
        pensioners, the system dependency ratio [1] in 2024, 2035 and 2050); the funds present
        (depletion year [calendar year] and months of reserve [months] in 2030 and 2035);
        the plan-target checks; links to the charts; how to read the figures.
    """
    name = getattr(scenario, "name", None) or ds.attrs.get("scenario", "projection")
    description = getattr(scenario, "description", None) or ds.attrs.get("description", "")
    first, last = int(ds["year"].values[0]), int(ds["year"].values[-1])
    n = ds.sizes["province"]
    provinces = ("all 31 provinces" if n == _NATIONAL_COUNT else
                 ("one province: " if n == 1 else f"{n} provinces: ")
                 + ", ".join(_province_name(ds, p) for p in ds["province"].values))
    lines = [f"# Projection summary: scenario `{name}`", ""]
    if description:
        lines += [" ".join(str(description).split()), ""]
    if scenario is not None:
        source = getattr(scenario, "source", None)
        parent = getattr(scenario, "extends", None)
        if source is not None:
            lines.append(f"- Scenario file: `{getattr(source, 'name', source)}`"
                         + (f", building on `{parent}`" if parent else ""))
        elif parent:
            lines.append(f"- Building on `{parent}`")
        changes = _changes_text(scenario)
        if changes:
            lines.append("- Changes to current law and the central outlook:")
            lines += [f"  - {item}" for item in changes]
        else:
            lines.append("- Changes to current law and the central outlook: none")
    place = "China as a whole" if n == _NATIONAL_COUNT else (_place(ds) if n == 1 else f"the {n} provinces together")
    lines += [f"- Years reported: {first}–{last}; {provinces}. Figures below are for {place}.", ""]
    lines += ["## Headline figures", ""] + _headline(ds) + [""]
    lines += ["## Funds", ""] + _funds(ds) + [""]
    if sets:
        lines += ["## Three assumption sets", ""] + _assumption_sets(sets, place) + [""]
    if draws is not None:
        lines += ["## Stochastic draws", ""] + _draws(draws, charts or {}) + [""]
    if scenario is not None:
        lines += ["## Plan targets", ""] + _targets(ds, scenario) + [""]
    if charts:
        lines += ["## Charts", ""] + [f"- [{title}]({path})" for title, path in charts.items()] + [""]
    lines += ["## How to read the figures", "",
              ("People are counted at 1 July of each year; flows (births, deaths, revenue, expenditure) are "
              "those of the twelve months to 1 July. Insured workers and pensioners are calibrated to the "
              "2024 statistical yearbook. The tables beside this file (one CSV per scheme, `population.csv`) "
              "hold every figure by province and year; `projection.nc` holds the whole projection."), ""]
    lines += [_provenance_line(ds, scenario), ""]
    return "\n".join(lines)


def _provenance_line(ds: xr.Dataset, scenario, label: str = "") -> str:
    info = provenance(ds, scenario)
    return (f"{label}Made by socsec_proj {info['version']}; scenario content hash (SHA-256 of its files) "
            f"`{info['scenario_hash'] or '-'}`; created {info['created']}.")


# --------------------------------------------------------------------------------------------
# Two scenarios
# --------------------------------------------------------------------------------------------


def _compared_variables(ds_a: xr.Dataset, ds_b: xr.Dataset) -> list[str]:
    names = [name for scheme in SCHEMES for name in scheme_variables(ds_a, scheme)]
    return [name for name in names if name in ds_b.data_vars and _has_province_year(ds_b, name)]


def differences(ds_a: xr.Dataset, ds_b: xr.Dataset) -> pd.DataFrame:
    """Scenario B minus scenario A for every scheme variable, by province and year.

    Parameters
    ----------
    ds_a, ds_b : xarray.Dataset
        Two projections; only the provinces and years both hold are compared.

    Returns
    -------
    pandas.DataFrame
        Columns ``province``, ``year`` and, for every variable of the schemes' tables
        (:func:`scheme_variables`: contributors, retirees, beneficiaries, the dependency ratio
        and every fund variable) present in both, B - A summed over sex and age, in the
        variable's unit [persons, yuan, months, 1].
    """
    names = _compared_variables(ds_a, ds_b)
    if not names:
        return pd.DataFrame(columns=["province", "year"])
    a, b = xr.align(_collapsed(ds_a, names), _collapsed(ds_b, names), join="inner")
    table = (b - a).to_dataframe(dim_order=["province", "year"])
    return table.reset_index()[["province", "year", *names]]


def _common(ds_a: xr.Dataset, ds_b: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    years = np.intersect1d(ds_a["year"].values, ds_b["year"].values)
    provinces = [p for p in ds_a["province"].values if p in set(ds_b["province"].values)]
    return ds_a.sel(year=years, province=provinces), ds_b.sel(year=years, province=provinces)


def comparison_markdown(ds_a: xr.Dataset, ds_b: xr.Dataset, scenario_a=None, scenario_b=None,
                        charts: Mapping[str, str] | None = None) -> str:
    """A one-page Markdown comparison of scenario B against scenario A.

    Parameters
    ----------
    ds_a, ds_b : xarray.Dataset
        The two projections; the provinces and years both hold are compared.
    scenario_a, scenario_b : Scenario, optional
        Their scenarios (names and descriptions); the Datasets' attributes otherwise.
    charts : mapping of str to str, optional
        ``{title: relative path}`` of the comparison charts.

    Returns
    -------
    str
        Markdown: what each scenario is; headline indicators in 2030, 2035 and 2050 under A and
        B with B - A and the change in percent (counts [million persons], ratios [1], money
        [billion yuan], months of reserve [months]); each fund's depletion year [calendar
        year] under A and B; links to the charts and to ``differences.csv``.
    """
    a, b = _common(ds_a, ds_b)
    name_a = getattr(scenario_a, "name", None) or ds_a.attrs.get("scenario", "A")
    name_b = getattr(scenario_b, "name", None) or ds_b.attrs.get("scenario", "B")
    lines = [f"# Comparison: `{name_b}` against `{name_a}`", ""]
    for label, name, scenario, ds in (("A", name_a, scenario_a, ds_a), ("B", name_b, scenario_b, ds_b)):
        description = getattr(scenario, "description", None) or ds.attrs.get("description", "")
        lines.append(f"- **{label} = `{name}`**: " + " ".join(str(description).split()))
    n = a.sizes["province"]
    where = "China as a whole" if n == _NATIONAL_COUNT else f"the {n} provinces together"
    lines += [(f"- Compared: {int(a['year'].values[0])}–{int(a['year'].values[-1])}, {where}. "
              f"B − A is what `{name_b}` changes."), ""]

    years = [y for y in (2030, 2035, 2050) if y in a["year"].values]
    indicators = [("population", "Population"),
                  ("employee_pension_contributors", "Urban-employee pension: insured workers"),
                  ("employee_pension_retirees", "Urban-employee pension: pensioners"),
                  ("system_dependency_ratio", "Pensioners per insured worker")]
    indicators += [(f"{scheme}_{quantity}", f"{SCHEME_TITLES[scheme]}: {quantity.replace('_', ' ')}")
                   for scheme in SCHEMES for quantity in ("balance", "months_of_reserve")]
    rows = []
    for name, label in indicators:
        if name not in a.data_vars or name not in b.data_vars:
            continue
        series_a, series_b = aggregate(a, name), aggregate(b, name)
        units = str(series_a.attrs.get("units", ""))
        size = float(np.nanmax(np.abs(series_a.sel(year=years).values), initial=0.0))
        for year in years:
            value_a, unit = _scaled(float(series_a.sel(year=year)), units, size)
            value_b, _ = _scaled(float(series_b.sel(year=year)), units, size)
            digits = _digits(unit, units)
            change = (value_b - value_a) / abs(value_a) * 100 if value_a else math.nan
            rows.append([label, "ratio" if unit == "1" else unit, year, _number(value_a, digits),
                         _number(value_b, digits), f"{value_b - value_a:+,.{digits}f}",
                         f"{change:+.1f} %" if not math.isnan(change) else "–"])
    lines += ["## Headline figures", ""]
    lines += _markdown_table(["indicator", "unit", "year", f"A: {name_a}", f"B: {name_b}", "B − A", "change"],
                             rows, ["---", "---", "---:", "---:", "---:", "---:", "---:"]) + [""]

    depletion_a, depletion_b = depletion_years(a, national=True), depletion_years(b, national=True)
    schemes = [s for s in depletion_a.columns if s in depletion_b.columns]
    lines += ["## Funds", ""]
    if schemes:
        last = int(a["year"].values[-1])
        rows = []
        for scheme in schemes:
            below_a = int(depletion_a[scheme].drop("total").notna().sum())
            below_b = int(depletion_b[scheme].drop("total").notna().sum())
            rows.append([SCHEME_TITLES[scheme], _year(depletion_a[scheme]["total"]),
                         _year(depletion_b[scheme]["total"]), f"{below_a} / {below_b}"])
        lines += _markdown_table(["scheme", "balance first below zero, A", "B",
                                  f"provinces below zero by {last}, A / B"], rows, ["---", "---:", "---:", "---:"])
        lines += ["", "Depletion: the first year the accumulated balance of the provinces pooled is below zero."]
    else:
        lines.append("Fund results are not part of these projections.")
    lines.append("")
    if charts:
        lines += ["## Charts", ""] + [f"- [{title}]({path})" for title, path in charts.items()] + [""]
    lines += ["## Files", "",
              (f"`differences.csv` holds B − A (`{name_b}` minus `{name_a}`) for every scheme variable by province "
              "and year: insured workers, pensioners and beneficiaries [persons], the dependency ratio [1] and, "
              "when projected, fund revenue and expenditure [yuan/year], balance [yuan] and months of reserve "
              "[months]."), ""]
    lines += [_provenance_line(ds_a, scenario_a, f"A (`{name_a}`): "), "",
              _provenance_line(ds_b, scenario_b, f"B (`{name_b}`): "), ""]
    return "\n".join(lines)

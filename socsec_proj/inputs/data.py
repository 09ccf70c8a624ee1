"""Reading the embedded tables in ``params/`` (CSV with a ``#`` header naming unit and source).

Every reader checks what it reads before any computing starts: the columns, that every
province, sex, age and year the projection needs is present exactly once, that no value is
missing or NaN, and that values lie in their range. A failure raises
:class:`~socsec_proj.errors.InputError` naming the table, the key and what was expected.
Tables are read once per process and cached; callers get read-only arrays.
"""

from __future__ import annotations

import functools
import types
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import InputError
from ..variables import SEXES
from .paths import params_dir
from .provinces import CODES

AGES = np.arange(0, 101)


def table_path(name: str) -> Path:
    """Path of the embedded table ``name`` (e.g. ``"demography/mortality_rates"``)."""
    return params_dir() / f"{name}.csv"


def read_header(path: Path) -> list[str]:
    """The ``#`` lines at the top of a table: what it holds, its unit, source and method."""
    lines = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.startswith("#"):
                break
            lines.append(line[1:].strip())
    return lines


def _read(name: str, columns: dict[str, str]) -> pd.DataFrame:
    path = table_path(name)
    if not path.is_file():
        raise InputError("table not found", source=path, expected=f"the embedded table {name}.csv")
    frame = pd.read_csv(path, comment="#", dtype={c: t for c, t in columns.items()})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}", source=path, expected=f"columns {list(columns)}")
    for column in columns:
        bad = frame[column].isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"empty or NaN value in row {row + 1}", source=path, key=column,
                             expected="a value in every row")
    return frame


def _cube(frame: pd.DataFrame, keys: dict[str, tuple], value: str, path: Path) -> np.ndarray:
    """Reshape a long table into an array over the full product of ``keys``, checking completeness."""
    for key, labels in keys.items():
        unknown = sorted(set(frame[key].unique().tolist()) - set(labels), key=str)  # not row by row: 86,000 rows a run
        if unknown:
            raise InputError(f"unexpected {key} {unknown[0]!r}", source=path, key=key,
                             expected=f"values among {labels[0]!r}..{labels[-1]!r}")
    # Each row's place in the product, from each key's position among its labels: a complete
    # table (every cell once) fills the array directly, 4x faster than indexing the frame by all
    # its keys (pandas' MultiIndex, ~30 ms of a first projection). Anything else takes the indexed
    # path below, which names the first duplicate or missing cell.
    shape = tuple(len(labels) for labels in keys.values())
    cells = np.ravel_multi_index([pd.Index(labels).get_indexer(frame[key].to_numpy())
                                  for key, labels in keys.items()], shape)
    if len(cells) == int(np.prod(shape)) and np.all(np.bincount(cells, minlength=len(cells)) == 1):
        values = np.empty(len(cells))
        values[cells] = frame[value].to_numpy(float)
        return values.reshape(shape)
    return _indexed_cube(frame, keys, value, path)


def _indexed_cube(frame: pd.DataFrame, keys: dict[str, tuple], value: str, path: Path) -> np.ndarray:
    """:func:`_cube` by indexing the frame on its keys: the first duplicate or missing cell named."""
    if len(keys) == 1:
        index = pd.Index(list(keys.values())[0], name=list(keys)[0])
        indexed = frame.set_index(list(keys)[0])
    else:
        index = pd.MultiIndex.from_product(list(keys.values()), names=list(keys))
        indexed = frame.set_index(list(keys))
    if indexed.index.duplicated().any():
        dup = indexed.index[indexed.index.duplicated()][0]
        raise InputError(f"row {dup} appears twice", source=path, key=",".join(keys))
    missing = index.difference(indexed.index)
    if len(missing):
        labels = missing[0] if len(keys) > 1 else (missing[0],)
        first = {key: (label.item() if hasattr(label, "item") else label) for key, label in zip(keys, labels)}
        raise InputError(f"no row for {first}", source=path, key=",".join(keys),
                         expected=f"one row for every {' x '.join(keys)}")
    values = indexed[value].reindex(index).to_numpy(float)
    return values.reshape([len(v) for v in keys.values()])


def _check_range(values: np.ndarray, path: Path, key: str, low=None, high=None) -> None:
    if not np.all(np.isfinite(values)):
        raise InputError("non-finite value", source=path, key=key, expected="finite numbers")
    if low is not None and np.any(values < low):
        raise InputError(f"value {float(values.min())!r} below {low}", source=path, key=key,
                         expected=f"values >= {low}")
    if high is not None and np.any(values > high):
        raise InputError(f"value {float(values.max())!r} above {high}", source=path, key=key,
                         expected=f"values <= {high}")


def _frozen(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def cached_per_folder(reader):
    """Cache a reader's result per ``params_dir()``, so that pointing ``SOCSEC_PROJ_PARAMS``
    elsewhere (a test, a user's own tables) reads the other folder."""
    cached = functools.lru_cache(maxsize=8)(lambda folder: reader())

    @functools.wraps(reader)
    def wrapper():
        return cached(params_dir())

    wrapper.cache_clear = cached.cache_clear
    return wrapper


def _province_sex_age(name: str, column: str, low=None, high=None) -> np.ndarray:
    """A table with one row per province, sex and age 0..100 -> ``[province, sex, age]``, range-checked."""
    frame = _read(name, {"province": str, "sex": str, "age": int, column: float})
    path = table_path(name)
    cube = _cube(frame, {"province": CODES, "sex": SEXES, "age": tuple(AGES)}, column, path)
    _check_range(cube, path, column, low=low, high=high)
    return _frozen(cube)


@cached_per_folder
def base_population() -> np.ndarray:
    """Base-year population [province, sex, age] in national province order [persons]."""
    return _province_sex_age("demography/base_population_2020", "population", low=0.0)


@cached_per_folder
def mortality_rates() -> tuple[np.ndarray, np.ndarray]:
    """National central death rates ``mx[year, sex, age]`` [1/year] and their calendar years."""
    name = "demography/mortality_rates"
    frame = _read(name, {"year": int, "sex": str, "age": int, "mx": float})
    years = tuple(range(int(frame["year"].min()), int(frame["year"].max()) + 1))
    path = table_path(name)
    cube = _cube(frame, {"year": years, "sex": SEXES, "age": tuple(AGES)}, "mx", path)
    _check_range(cube, path, "mx", low=0.0, high=10.0)
    return _frozen(cube), np.array(years)


@cached_per_folder
def fertility_age_pattern() -> tuple[np.ndarray, np.ndarray]:
    """Share of the TFR by single age of mother, ``pattern[year, age]`` over ages 0..100 [1], and years."""
    name = "demography/fertility_age_pattern"
    frame = _read(name, {"year": int, "age": int, "share": float})
    path = table_path(name)
    years = tuple(range(int(frame["year"].min()), int(frame["year"].max()) + 1))
    ages = tuple(sorted(frame["age"].unique()))
    cube = _cube(frame, {"year": years, "age": ages}, "share", path)
    _check_range(cube, path, "share", low=0.0, high=1.0)
    sums = cube.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-6):
        year = years[int(np.argmax(np.abs(sums - 1.0)))]
        raise InputError(f"shares of year {year} add to {sums.max():.6f}", source=path, key="share",
                         expected="shares adding to 1 in every year")
    full = np.zeros((len(years), len(AGES)))
    full[:, list(ages)] = cube
    return _frozen(full), np.array(years)


@cached_per_folder
def international_migration() -> tuple[np.ndarray, np.ndarray]:
    """National net international migrants ``[year, sex, age]`` [persons/year], and years."""
    name = "demography/international_migration"
    frame = _read(name, {"year": int, "sex": str, "age": int, "net_migrants": float})
    path = table_path(name)
    years = tuple(range(int(frame["year"].min()), int(frame["year"].max()) + 1))
    cube = _cube(frame, {"year": years, "sex": SEXES, "age": tuple(AGES)}, "net_migrants", path)
    _check_range(cube, path, "net_migrants")
    return _frozen(cube), np.array(years)


@cached_per_folder
def relative_mortality() -> np.ndarray:
    """Provincial death rates relative to the national schedule, ``ratio[province, sex, age]`` [1]."""
    return _province_sex_age("demography/mortality_relative", "ratio", low=0.0, high=10.0)


@cached_per_folder
def internal_migration() -> tuple[np.ndarray, np.ndarray]:
    """Inter-provincial ``out_rate[province, sex, age]`` [1/year] and ``in_share[province, sex, age]`` [1].

    ``in_share`` is each province's share of the national pool of leavers of that sex and age:
    it adds to 1 over provinces at every sex and age where anybody leaves.
    """
    name = "demography/internal_migration"
    frame = _read(name, {"province": str, "sex": str, "age": int, "out_rate": float, "in_share": float})
    path = table_path(name)
    keys = {"province": CODES, "sex": SEXES, "age": tuple(AGES)}
    out_rate = _cube(frame, keys, "out_rate", path)
    in_share = _cube(frame, keys, "in_share", path)
    _check_range(out_rate, path, "out_rate", low=0.0, high=1.0)
    _check_range(in_share, path, "in_share", low=0.0, high=1.0)
    sums = in_share.sum(axis=0)
    leaving = out_rate.sum(axis=0) > 0
    if not np.allclose(sums[leaving], 1.0, atol=1e-9):
        s, a = np.argwhere(leaving & ~np.isclose(sums, 1.0, atol=1e-9))[0]
        raise InputError(f"in_share of {SEXES[s]} aged {a} adds to {sums[s, a]:.9f}", source=path, key="in_share",
                         expected="shares adding to 1 over provinces at every sex and age that has leavers")
    return _frozen(out_rate), _frozen(in_share)


@cached_per_folder
def provincial_census_checks() -> pd.DataFrame:
    """Census figures the provinces' demography is checked against, one row per province (ISO code):
    indirect total fertility 2020 [children/woman], official life expectancy 1990 and 2000 [years]."""
    columns = ["tfr_census_2020", "e0_1990_male", "e0_1990_female", "e0_2000_male", "e0_2000_female"]
    name = "demography/provincial_census_checks"
    frame = pd.read_csv(table_path(name), comment="#")
    return frame.set_index("province").loc[list(CODES), columns]


def _province_table(name: str, columns: list[str]) -> pd.DataFrame:
    """A table with one row per province (ISO code) and non-negative numeric columns."""
    frame = _read(name, {"province": str, **{c: float for c in columns}})
    path = table_path(name)
    _cube(frame, {"province": CODES}, columns[0], path)  # every province exactly once, no stranger
    for column in columns:
        _check_range(frame[column].to_numpy(), path, column, low=0.0)
    return frame.set_index("province").loc[list(CODES), columns]


def province_columns(frame: pd.DataFrame, provinces, *columns: str) -> list[np.ndarray]:
    """Columns of a province table (indexed by code) for ``provinces``, in that order.

    The same as ``frame.loc[list(provinces), column].to_numpy()`` for each column, at a tenth
    of the cost: stages call it on every run.

    Raises
    ------
    KeyError
        If a province is not in the table.
    """
    rows = frame.index.get_indexer(list(provinces))
    if np.any(rows < 0):
        missing = [code for code, row in zip(provinces, rows) if row < 0]
        raise KeyError(f"provinces not in the table: {missing}")
    return [frame[column].to_numpy()[rows] for column in columns]


@cached_per_folder
def yearbook_employee_pension() -> pd.DataFrame:
    """Urban-employee pension by province, 2024 yearbook: insured workers, retirees [persons],
    fund revenue, expenditure and accumulated balance [CNY]."""
    return _province_table("social_insurance/yearbook_2024_employee_pension",
                           ["insured_workers", "retirees", "fund_revenue", "fund_expenditure",
                            "accumulated_balance"])


@cached_per_folder
def yearbook_resident_pension() -> pd.DataFrame:
    """Urban-rural resident pension by province, 2024 yearbook: insured, beneficiaries [persons],
    fund revenue, expenditure and accumulated balance [CNY]."""
    return _province_table("social_insurance/yearbook_2024_resident_pension",
                           ["insured", "beneficiaries", "fund_revenue", "fund_expenditure",
                            "accumulated_balance"])


@cached_per_folder
def average_wage() -> pd.DataFrame:
    """Provincial average wage used for pensions [CNY/month], provinces (rows) by years (columns).

    Years a province's series does not cover are NaN (see params/SOURCES.md#average-wage).
    """
    name = "social_insurance/average_wage"
    frame = _read(name, {"province": str, "year": int, "average_wage": float})
    path = table_path(name)
    _check_range(frame["average_wage"].to_numpy(), path, "average_wage", low=0.0)
    unknown = sorted(set(frame["province"]) - set(CODES))
    if unknown:
        raise InputError(f"unexpected province {unknown[0]!r}", source=path, key="province",
                         expected="ISO 3166-2:CN codes")
    wide = frame.pivot(index="province", columns="year", values="average_wage")
    missing = [code for code in CODES if code not in wide.index]
    if missing:
        raise InputError(f"no row for province {missing[0]!r}", source=path, key="province",
                         expected="a series for every province")
    return wide.loc[list(CODES)]


@cached_per_folder
def annuity_divisor() -> tuple[np.ndarray, np.ndarray]:
    """Individual-account months divisor by retirement age: (ages [years], divisors [months])."""
    name = "social_insurance/ia_annuity_divisor"
    frame = _read(name, {"retirement_age": int, "months_divisor": float}).sort_values("retirement_age")
    path = table_path(name)
    _check_range(frame["months_divisor"].to_numpy(), path, "months_divisor", low=1.0)
    ages = frame["retirement_age"].to_numpy()
    if np.any(np.diff(ages) != 1):
        raise InputError("ages are not consecutive", source=path, key="retirement_age",
                         expected="one row for every whole age")
    return _frozen(ages.astype(float)), _frozen(frame["months_divisor"].to_numpy())


# --------------------------------------------------------------------------------------------
# Tables of the unemployment and work-injury funds


#: The longest unemployment-benefit entitlement the law allows (失业保险条例 art. 17) [months].
LONGEST_ENTITLEMENT = 24


def _read_table(name: str, columns: list[str]) -> tuple[pd.DataFrame, Path]:
    path = table_path(name)
    if not path.is_file():
        raise InputError("table not found", source=path, expected=f"the embedded table {name}.csv")
    frame = pd.read_csv(path, comment="#")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(f"missing column(s) {missing}", source=path, expected=f"columns {columns}")
    return frame, path


@cached_per_folder
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


@cached_per_folder
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


@cached_per_folder
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



@cached_per_folder
def industry_base_rates() -> np.ndarray:
    """Base rate of industry risk classes 1..n (index 0 = class 1) [/1 of payroll].

    From ``injury_industry_base_rates.csv``.
    """
    path = table_path("social_insurance/injury_industry_base_rates")
    if not path.is_file():
        raise InputError("table not found", source=path, expected="the embedded table injury_industry_base_rates.csv")
    frame = pd.read_csv(path, comment="#")
    for column in ("industry_class", "base_rate"):
        if column not in frame.columns:
            raise InputError(f"missing column {column!r}", source=path, expected="columns industry_class, base_rate")
    classes = pd.to_numeric(frame["industry_class"], errors="coerce").to_numpy(float)
    rates = pd.to_numeric(frame["base_rate"], errors="coerce").to_numpy(float)
    if len(classes) == 0 or not np.array_equal(np.sort(classes), np.arange(1, len(classes) + 1)):
        raise InputError(f"classes {sorted(frame['industry_class'].tolist())}", source=path, key="industry_class",
                         expected="the classes 1, 2, ..., n, each once")
    good = np.isfinite(rates) & (rates >= 0) & (rates <= 0.05)
    if not good.all():
        raise InputError(f"value {float(rates[~good][0])!r}", source=path, key="base_rate",
                         expected="rates in [0, 0.05] of payroll")
    ordered = rates[np.argsort(classes)]
    ordered.setflags(write=False)
    return ordered



#: The tables of ``params/history/``: published figures of past years (and plan targets) that
#: :mod:`socsec_proj.validation` sets against the projection.
HISTORY_TABLES = ("national_bulletin", "yearbook_2024", "seed_figures", "nbs_demography", "medical_insurance")
HISTORY_KINDS = ("actual", "target")


@cached_per_folder
def history() -> pd.DataFrame:
    """Published figures of past years, one row per figure (``params/history/*.csv``).

    Columns ``series``, ``province`` (ISO code, or ``"CN"`` for China), ``year``, ``kind``
    (``"actual"`` or ``"target"``), ``value`` [``unit``], ``unit``, ``source`` (page, table or
    seed), ``note`` and ``table`` (the file it comes from), in the tables' order.
    """
    text = {"series": str, "province": str, "kind": str, "unit": str, "source": str}
    frames = []
    for name in HISTORY_TABLES:
        table = f"history/{name}"
        path = table_path(table)
        frame = _read(table, {**text, "year": int, "value": float})
        if "note" not in frame.columns:
            raise InputError("missing column ['note']", source=path, expected="a note column (may be empty)")
        frame["note"] = ["" if pd.isna(note) else str(note) for note in frame["note"]]
        unknown = sorted(set(frame["province"]) - set(CODES) - {"CN"})
        if unknown:
            raise InputError(f"unexpected province {unknown[0]!r}", source=path, key="province",
                             expected="ISO 3166-2:CN codes or CN (China)")
        kinds = sorted(set(frame["kind"]) - set(HISTORY_KINDS))
        if kinds:
            raise InputError(f"unexpected kind {kinds[0]!r}", source=path, key="kind",
                             expected=f"one of {HISTORY_KINDS}")
        _check_range(frame["value"].to_numpy(), path, "value")
        frames.append(frame.assign(table=name))
    return pd.concat(frames, ignore_index=True)


@cached_per_folder
def national_actuals() -> types.MappingProxyType:
    """``{(table, series, year): (value, ...)}``: the national (``"CN"``) actual figures of
    :func:`history`, looked up by the fund stages in every run (a filter of the whole table
    each time was a sixth of a deterministic run)."""
    rows = history()
    rows = rows[(rows["province"] == "CN") & (rows["kind"] == "actual")]
    out: dict = {}
    for table, series, year, value in zip(rows["table"], rows["series"], rows["year"], rows["value"]):
        out[(table, series, int(year))] = out.get((table, series, int(year)), ()) + (float(value),)
    return types.MappingProxyType(out)


# --------------------------------------------------------------------------------------------
# Basic medical insurance (params/medical/)

#: Series of ``medical/national_bulletin.csv`` and their units.
MEDICAL_SERIES = {
    "employee_in_service": "persons", "employee_retirees": "persons", "resident_insured": "persons",
    "employee_revenue": "CNY/year", "employee_expenditure": "CNY/year",
    "employee_pooled_revenue": "CNY/year", "employee_pooled_expenditure": "CNY/year",
    "employee_account_revenue": "CNY/year", "employee_account_expenditure": "CNY/year",
    "resident_revenue": "CNY/year", "resident_expenditure": "CNY/year",
    "employee_pooled_balance": "CNY", "employee_account_balance": "CNY", "resident_balance": "CNY",
    "population": "persons", "retiree_spending_ratio": "/1",
}


@cached_per_folder
def medical_bulletin() -> dict:
    """National NHSA figures ``{series: {year: value}}`` of ``medical/national_bulletin.csv``
    [persons, CNY/year, CNY at year end], checked: known series, finite, counts and flows >= 0."""
    name = "medical/national_bulletin"
    path = table_path(name)
    frame = _read(name, {"series": str, "year": int, "value": float, "unit": str})
    unknown = sorted(set(frame["series"]) - set(MEDICAL_SERIES))
    if unknown:
        raise InputError(f"unexpected series {unknown[0]!r}", source=path, key="series",
                         expected=f"one of {', '.join(MEDICAL_SERIES)}")
    out = {}
    for series, part in frame.groupby("series"):
        values = part["value"].to_numpy()
        _check_range(values, path, f"value ({series})", low=None if series.endswith("balance") else 0.0)
        if part["year"].duplicated().any():
            raise InputError(f"{series}: a year appears twice", source=path, key="year")
        out[series] = dict(zip(part["year"].astype(int), values.astype(float)))
    return out


@cached_per_folder
def medical_spending_profile() -> np.ndarray:
    """Relative medical spending per head ``[sex, age]`` [/1] of ``medical/spending_profile.csv``:
    every sex and age 0..100 exactly once, finite, >= 0, and above 0 somewhere for each sex."""
    name = "medical/spending_profile"
    path = table_path(name)
    frame = _read(name, {"sex": str, "age": int, "relative_spending": float})
    cube = _cube(frame, {"sex": SEXES, "age": tuple(AGES)}, "relative_spending", path)
    _check_range(cube, path, "relative_spending", low=0.0)
    if not np.all(cube.max(axis=1) > 0):
        raise InputError("a sex with no spending at any age", source=path, key="relative_spending",
                         expected="a positive value at some age for each sex")
    return _frozen(cube)

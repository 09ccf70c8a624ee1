"""Reading the embedded tables in ``params/`` (CSV with a ``#`` header naming unit and source).

Every reader checks what it reads before any computing starts: the columns, that every
province, sex, age and year the projection needs is present exactly once, that no value is
missing or NaN, and that values lie in their range. A failure raises
:class:`~socsec_proj.errors.InputError` naming the table, the key and what was expected.
Tables are read once per process and cached; callers get read-only arrays.
"""

from __future__ import annotations

import functools
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
        unknown = sorted(set(frame[key]) - set(labels), key=str)
        if unknown:
            raise InputError(f"unexpected {key} {unknown[0]!r}", source=path, key=key,
                             expected=f"values among {labels[0]!r}..{labels[-1]!r}")
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


@cached_per_folder
def base_population() -> np.ndarray:
    """Base-year population [province, sex, age] in national province order [persons]."""
    name = "demography/base_population_2020"
    frame = _read(name, {"province": str, "sex": str, "age": int, "population": float})
    path = table_path(name)
    cube = _cube(frame, {"province": CODES, "sex": SEXES, "age": tuple(AGES)}, "population", path)
    _check_range(cube, path, "population", low=0.0)
    return _frozen(cube)


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
def internal_migration() -> tuple[np.ndarray, np.ndarray]:
    """Inter-provincial ``out_rate[province, sex, age]`` [1/year] and ``in_share[province]`` [1]."""
    name = "demography/internal_migration"
    frame = _read(name, {"province": str, "sex": str, "age": int, "out_rate": float, "in_share": float})
    path = table_path(name)
    keys = {"province": CODES, "sex": SEXES, "age": tuple(AGES)}
    out_rate = _cube(frame, keys, "out_rate", path)
    in_share = _cube(frame, keys, "in_share", path)[:, 0, 0]
    _check_range(out_rate, path, "out_rate", low=0.0, high=1.0)
    _check_range(in_share, path, "in_share", low=0.0, high=1.0)
    if not np.isclose(in_share.sum(), 1.0, atol=1e-9):
        raise InputError(f"in_share adds to {in_share.sum():.9f}", source=path, key="in_share",
                         expected="shares adding to 1 over provinces")
    return _frozen(out_rate), _frozen(in_share)


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


#: The tables of ``params/history/``: published figures of past years (and plan targets) that
#: :mod:`socsec_proj.validation` sets against the projection.
HISTORY_TABLES = ("national_bulletin", "yearbook_2024", "seed_figures", "nbs_demography")
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

"""Bad demographic input fails before the kernel runs, naming the table, the key and what was expected."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import socsec_proj as ssp
from socsec_proj.demography import population
from socsec_proj.errors import InputError
from socsec_proj.inputs import data

from .helpers import random_inputs




def _spoil(path, old, new, count=1):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def _never_runs(*args, **kwargs):
    raise AssertionError("the kernel ran on bad input")


@pytest.fixture
def no_kernel(monkeypatch):
    monkeypatch.setattr(population._kernels, "project_population_kernel", _never_runs)


def test_negative_population(params_copy, no_kernel):
    _spoil(params_copy / "demography/base_population_2020.csv", "CN-BJ,male,0,", "CN-BJ,male,0,-")
    with pytest.raises(InputError, match=r"base_population_2020\.csv: population: value .* below 0"):
        ssp.run("baseline")


def test_nan_in_a_table(params_copy, no_kernel):
    _spoil(params_copy / "demography/mortality_rates.csv", "2020,male,1,", "2020,male,1,nan#")
    with pytest.raises(InputError, match=r"mortality_rates\.csv: mx: empty or NaN value"):
        ssp.run("baseline")


def test_missing_province(params_copy, no_kernel):
    path = params_copy / "demography/base_population_2020.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("CN-GZ,")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"no row for \{'province': 'CN-GZ'"):
        ssp.run("baseline")


def test_missing_age(params_copy, no_kernel):
    path = params_copy / "demography/mortality_rates.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("2030,female,57,")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"mortality_rates\.csv: year,sex,age: no row for .*'age': 57"):
        ssp.run("baseline")


def test_unknown_province(params_copy, no_kernel):
    _spoil(params_copy / "demography/internal_migration.csv", "CN-BJ,male,0,", "CN-XX,male,0,")
    with pytest.raises(InputError, match=r"unexpected province 'CN-XX'"):
        ssp.run("baseline")


def test_mismatched_years(params_copy, no_kernel):
    path = params_copy / "demography/fertility_age_pattern.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("2100,")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"fertility_age_pattern\.csv: year: no data for year 2100"):
        ssp.run("baseline")


def test_rate_out_of_range_in_a_table(params_copy, no_kernel):
    _spoil(params_copy / "demography/fertility_age_pattern.csv", "2020,15,", "2020,15,1")
    with pytest.raises(InputError, match=r"fertility_age_pattern\.csv: share"):
        ssp.run("baseline")


@pytest.mark.parametrize(
    "field, index, value, message",
    [
        ("survival", (0, 0, 0, 1), 1.2, r"survival: value 1\.2 at \[step, province, sex, age\] = \(0, 0, 0, 1\)"),
        ("fertility", (1, 0, 2), -0.1, r"fertility: value -0\.1"),
        ("pop0", (0, 1, 3), -5.0, r"pop0: value -5\.0"),
        ("pop0", (0, 1, 3), np.nan, r"pop0: NaN or infinite value"),
        ("male_birth_share", (0, 0), 1.5, r"male_birth_share: value 1\.5"),
        ("out_rate", (0, 0, 0, 0), np.inf, r"out_rate: NaN or infinite"),
    ],
)
def test_kernel_inputs_are_checked(field, index, value, message, no_kernel):
    inputs = random_inputs(np.random.default_rng(0), 2, 5, 3)
    getattr(inputs, field)[index] = value
    with pytest.raises(InputError, match=message):
        population.project(inputs)


def test_mismatched_step_count(no_kernel):
    inputs = random_inputs(np.random.default_rng(0), 2, 5, 3)
    inputs = dataclasses.replace(inputs, fertility=inputs.fertility[:2])
    with pytest.raises(InputError, match=r"fertility: shape \(2, 2, 5\) \(expected shape \(3, 2, 5\)"):
        population.project(inputs)


def test_input_error_is_a_value_error():
    assert issubclass(InputError, ValueError)


def test_tables_cached_per_folder(params_copy):
    first = data.base_population()
    assert not first.flags.writeable  # callers cannot spoil the cache


def test_a_table_in_any_row_order_fills_the_same_cube_and_a_duplicate_is_named(tmp_path):
    """``data._cube`` places a complete table's rows by their keys' positions; the same array as
    indexing the frame by its keys (``_indexed_cube``), whatever the row order; a duplicated or
    missing cell goes to the indexed path, which names it."""
    import pandas as pd

    keys = {"year": (2020, 2021, 2022), "sex": ("male", "female"), "age": (0, 1, 2, 3)}
    rows = [(y, s, a) for y in keys["year"] for s in keys["sex"] for a in keys["age"]]
    frame = pd.DataFrame(rows, columns=list(keys)).assign(mx=np.arange(len(rows)) * 0.5 + 0.25)
    shuffled = frame.sample(frac=1.0, random_state=3).reset_index(drop=True)
    path = tmp_path / "t.csv"
    cube = data._cube(shuffled, keys, "mx", path)
    assert np.array_equal(cube, data._indexed_cube(frame, keys, "mx", path))
    assert cube[1, 0, 2] == frame.loc[(frame.year == 2021) & (frame.sex == "male") & (frame.age == 2), "mx"].item()
    twice = pd.concat([shuffled.iloc[:-1], shuffled.iloc[[0]]], ignore_index=True)  # one cell twice, one missing
    with pytest.raises(InputError, match="appears twice"):
        data._cube(twice, keys, "mx", path)
    with pytest.raises(InputError, match="no row for"):
        data._cube(shuffled.iloc[1:], keys, "mx", path)

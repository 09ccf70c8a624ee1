"""One-at-a-time sensitivity: the shifts it applies, the table it returns, bad input, the CLI."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import socsec_proj as ssp
from socsec_proj import cli
from socsec_proj.errors import InputError
from socsec_proj.sensitivity import MAIN_ASSUMPTIONS, shifted_changes, tornado_chart

TWO = ["economy.wage_growth", "employee_pension.indexation_wage_share"]


@pytest.fixture(scope="module")
def parameters():
    return ssp.load_scenario("baseline").parameters


@pytest.fixture(scope="module")
def table():
    return ssp.sensitivity("baseline", TWO)


def test_about_ten_main_assumptions_each_within_its_range(parameters):
    assert 10 <= len(MAIN_ASSUMPTIONS) <= 12
    for assumption in MAIN_ASSUMPTIONS:
        for signed in (-assumption.shift, assumption.shift):
            shifted_changes(parameters.get(assumption.path), signed)  # raises if out of range


def test_shift_moves_every_value_from_2026_and_keeps_the_record(parameters):
    wage = parameters.get("economy.wage_growth")
    change = shifted_changes(wage, 0.01)
    assert change["2026-01-01"] == pytest.approx(0.053056 + 0.01)
    assert change["2050-01-01"] == pytest.approx(0.05)
    assert "2025-01-01" not in change and "provinces" not in change
    moved = parameters.with_changes({wage.path: change}).get(wage.path).annual(np.arange(2024, 2101))
    np.testing.assert_allclose(moved - wage.annual(np.arange(2024, 2101)),
                               np.where(np.arange(2024, 2101) >= 2026, 0.01, 0.0), atol=1e-15)
    # a value in force before 2026 is shifted from 2026 on: the CPI of 2025 (2 %) gives 2.5 % in 2026
    assert shifted_changes(parameters.get("economy.cpi_inflation"), 0.005) == {"2026-01-01": pytest.approx(0.025)}


def test_shift_moves_the_provinces_own_values(parameters):
    basic = parameters.get("resident_pension.basic_pension")
    change = shifted_changes(basic, 10.0, start=dt.date(2026, 1, 1))
    assert change["2026-01-01"] == 173
    assert change["provinces"]["CN-GD"] == {"2026-01-01": 190}       # 180 from 2020, in force in 2026
    assert change["provinces"]["CN-GZ"] == {"2026-01-01": 173}


def test_table_rows_and_the_unshifted_figures(table, baseline):
    assert list(table["parameter"]) == [TWO[0], TWO[0], TWO[1], TWO[1]]
    assert list(table["direction"]) == ["down", "up", "down", "up"]
    np.testing.assert_allclose(table["shift"], [-0.005, 0.005, -0.1, 0.1])
    national = baseline["employee_pension_balance"].sum("province")
    cost = (baseline["employee_pension_expenditure"].sum("province")
            / baseline["employee_pension_covered_payroll"].sum("province")).sel(year=2060)
    assert (table["baseline_depletion_year"] == float(ssp.depletion_year(baseline, national_total=True))).all()
    np.testing.assert_allclose(table["baseline_balance_2050"], float(national.sel(year=2050)), rtol=1e-12)
    np.testing.assert_allclose(table["baseline_cost_rate_2060"], float(cost), rtol=1e-12)
    assert table.attrs == {"scenario": "baseline", "horizon": 2100}


def test_a_row_is_the_projection_of_its_shifted_scenario(table, tmp_path, parameters):
    values = shifted_changes(parameters.get("economy.wage_growth"), 0.005)
    lines = "".join(f"    {day}: {value!r}\n" for day, value in values.items())
    path = tmp_path / "wage_up.yaml"
    path.write_text(f"name: wage_up\ndescription: test\nchanges:\n  economy.wage_growth:\n{lines}")
    ds = ssp.run(path)
    row = table[(table["parameter"] == "economy.wage_growth") & (table["direction"] == "up")].iloc[0]
    assert row["depletion_year"] == float(ssp.depletion_year(ds, national_total=True))
    assert row["balance_2050"] == pytest.approx(float(ds["employee_pension_balance"].sel(year=2050).sum()),
                                                rel=1e-12)


def test_directions(table):
    rows = table.set_index(["parameter", "direction"])
    # more wage growth: more contributions than pensions in payment (0.59 of it); a larger share: the reverse
    assert rows.loc[(TWO[0], "up"), "balance_2050"] > rows.loc[(TWO[0], "down"), "balance_2050"]
    assert rows.loc[(TWO[0], "up"), "cost_rate_2060"] < rows.loc[(TWO[0], "down"), "cost_rate_2060"]
    assert rows.loc[(TWO[1], "up"), "depletion_year"] < rows.loc[(TWO[1], "down"), "depletion_year"]


@pytest.mark.parametrize("kwargs, match", [
    ({"parameters": ["labour.flexible_late_share"], "shift": 0.1},
     r"labour\.flexible_late_share: a shift of -0\.1 takes its value of 2026-01-01 to -0\.05, outside its declared "
     r"range \[0, 1\]"),
    ({"parameters": ["economy.wage_grwth"]}, r"unknown parameter; did you mean 'economy\.wage_growth'"),
    ({"parameters": ["employee_pension.indexation_rule"], "shift": 1.0}, "cannot be shifted"),
    ({"parameters": ["employee_pension.employer_rate"]}, "has no stated shift"),
    ({"parameters": TWO, "shift": {"economy.cpi_inflation": 0.01}}, "not among the parameters moved"),
    ({"parameters": TWO, "shift": -0.01}, "not a positive number"),
    ({"parameters": "economy.wage_growth"}, "not one string"),
])
def test_bad_input_stops_before_any_projection(monkeypatch, kwargs, match):
    module = sys.modules["socsec_proj.sensitivity"]  # ssp.sensitivity is the function

    def never(*args, **kw):
        raise AssertionError("projected on bad input")

    monkeypatch.setattr(module, "run", never)
    with pytest.raises(InputError, match=match):
        ssp.sensitivity("baseline", **kwargs)


def test_tornado_chart_draws_two_bars_per_parameter(table):
    figure = tornado_chart(table)
    axis = figure.axes[0]
    assert len(axis.patches) == 2 * 2
    # widest swing on top: the indexation share (2041-2047) above wage growth (2043-2046)
    assert [t.get_text().split()[0] for t in axis.get_yticklabels()] == [TWO[0], TWO[1]]
    with pytest.raises(InputError, match="unknown metric"):
        tornado_chart(table, metric="balance")


def test_cli_writes_csv_and_png(tmp_path):
    done = subprocess.run([sys.executable, "-m", "socsec_proj.cli", "sensitivity", "baseline", "--out",
                           str(tmp_path), "--parameters", ",".join(TWO), "--shift",
                           "economy.wage_growth=0.01"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    folder = tmp_path / "sensitivity_baseline"
    # besides the hidden marker that says the folder is socsec-proj's own (see socsec_proj/outputs.py)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == ["sensitivity.csv", "tornado.png"]
    written = pd.read_csv(folder / "sensitivity.csv")
    np.testing.assert_allclose(written["shift"], [-0.01, 0.01, -0.1, 0.1])
    assert "5 projections" in done.stdout


@pytest.mark.parametrize("args", [["--shift", "x="], ["--parameters", "labour.flexible_late_share", "--shift", "0.2"]])
def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, args):
    out = tmp_path / "out"
    assert cli.main(["sensitivity", "baseline", "--out", str(out), *args]) == cli.EXIT_BAD_INPUT
    assert not out.exists()
    error = capsys.readouterr().err
    assert error.startswith("socsec-proj: error:") and "Traceback" not in error

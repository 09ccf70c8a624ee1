"""The command line, run as a user runs it: a subprocess, exit codes, files left behind."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import xarray as xr


def socsec_proj(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "socsec_proj.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_run_baseline_writes_netcdf_and_csv(tmp_path, baseline):
    out = tmp_path / "results"
    done = socsec_proj("run", "baseline", "--out", out, "--provinces", "CN-GD,CN-HE", "--end", "2040")
    assert done.returncode == 0, done.stderr
    assert "baseline: 2 provinces, 2020-2040" in done.stdout
    ds = xr.open_dataset(out / "baseline" / "projection.nc")
    assert list(ds["province"].values) == ["CN-HE", "CN-GD"]  # national order, whatever the order asked
    np.testing.assert_allclose(ds["population"].sel(year=2040),
                               baseline["population"].sel(province=["CN-HE", "CN-GD"], year=2040), rtol=1e-12)
    assert ds["population"].attrs["units"] == "persons"
    table = pd.read_csv(out / "baseline" / "population.csv")
    assert {"province", "sex", "year", "population_total", "births", "deaths"} <= set(table.columns)
    gd_2020 = table.query("province == 'CN-GD' and year == 2020")["population_total"].sum()
    assert abs(gd_2020 - 126_012_510) < 1e3  # the census total, to the CSV's 6 significant digits
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_bad_scenario_exits_2_and_writes_nothing(tmp_path):
    scenario = tmp_path / "typo.yaml"
    scenario.write_text("name: typo\ndescription: a misspelt parameter\nchanges:\n"
                        "  demography.total_fertility_rat:\n    2030-01-01: 1.6\n")
    out = tmp_path / "results"
    done = socsec_proj("run", scenario, "--out", out)
    assert done.returncode == 2
    assert "typo.yaml:4" in done.stderr and "demography.total_fertility_rate" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [scenario]


def test_unknown_province_exits_2(tmp_path):
    done = socsec_proj("run", "baseline", "--out", tmp_path / "r", "--provinces", "CN-GX,CN-GG")
    assert done.returncode == 2
    assert "CN-GG" in done.stderr and "Traceback" not in done.stderr


def test_list_validate_params(tmp_path):
    listed = socsec_proj("list")
    assert listed.returncode == 0 and "baseline" in listed.stdout
    shown = socsec_proj("params", "demography.total_fertility_rate")
    assert shown.returncode == 0
    assert "children/woman" in shown.stdout and "wpp2024_china_tfr_annual" in shown.stdout
    assert "2023-01-01: 0.999488" in shown.stdout
    valid = tmp_path / "ok.yaml"
    valid.write_text("name: ok\ndescription: fine\nchanges:\n  demography.total_fertility_rate:\n    2030-01-01: 1.6\n")
    assert socsec_proj("validate", valid).returncode == 0
    assert socsec_proj("params", "demography.nonexistent").returncode == 2

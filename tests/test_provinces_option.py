"""``provinces`` (a scenario's, or ``--provinces``) selects what is reported, never what is computed.

Inter-provincial migration and national pooling involve all 31 provinces: a run reporting
Guangdong alone must give Guangdong's figures of the full run, not those of a country of one
(before, its pooling transfer was 0 and its fund was depleted in 2067 instead of 2072).
"""

from __future__ import annotations

import numpy as np
import pytest

import socsec_proj as ssp


def test_one_province_run_equals_the_full_run(baseline):
    scenario = ssp.load_scenario("baseline")
    alone = ssp.run(scenario.model_copy(update={"provinces": ("CN-GD",)}))
    assert list(alone["province"].values) == ["CN-GD"]
    full = baseline.sel(province=["CN-GD"])
    assert set(alone.data_vars) == set(full.data_vars)
    for name in alone.data_vars:
        np.testing.assert_allclose(alone[name].values, full[name].values, rtol=1e-12, atol=0, err_msg=name)
    # Guangdong pays into national pooling: a country of one would transfer nothing
    assert float(alone["employee_pension_pooling_transfer"].sel(province="CN-GD", year=2030)) < 0
    assert ssp.depletion_year(alone, "employee_pension").item() == ssp.depletion_year(baseline, "employee_pension").sel(
        province="CN-GD").item()


def test_run_takes_provinces_by_any_name_and_an_end_year(baseline):
    ds = ssp.run("baseline", provinces=["广东", "hebei", "GZ", "cn-bj"], end=2040)
    assert list(ds["province"].values) == ["CN-BJ", "CN-HE", "CN-GD", "CN-GZ"]  # national order
    assert int(ds["year"][-1]) == 2040
    expected = baseline["employee_pension_balance"].sel(province=["CN-BJ", "CN-HE", "CN-GD", "CN-GZ"],
                                                         year=slice(None, 2040))
    np.testing.assert_allclose(ds["employee_pension_balance"].values, expected.values, rtol=1e-12)
    # every projection records where it came from; the date only when outputs are written, so that
    # two runs of one scenario stay identical Datasets
    assert ds.attrs["socsec_proj_version"] == ssp.__version__ and len(ds.attrs["scenario_hash"]) == 64
    assert "created" not in ds.attrs


def test_unknown_province_name_and_end_are_refused_with_a_suggestion():
    with pytest.raises(ssp.InputError, match=r"unknown province 'Guangdnog'; did you mean Guangdong \(CN-GD\)\?"):
        ssp.run("baseline", provinces="Guangdnog")
    with pytest.raises(ssp.InputError, match=r"end: 2200 is outside the embedded data"):
        ssp.run("baseline", end=2200)
    with pytest.raises(ssp.InputError, match="a province is listed twice"):
        ssp.run("baseline", provinces=["GD", "Guangdong"])

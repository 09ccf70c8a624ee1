"""``provinces`` (a scenario's, or ``--provinces``) selects what is reported, never what is computed.

Inter-provincial migration and national pooling involve all 31 provinces: a run reporting
Guangdong alone must give Guangdong's figures of the full run, not those of a country of one
(before, its pooling transfer was 0 and its fund was depleted in 2067 instead of 2072).
"""

from __future__ import annotations

import numpy as np

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

"""Every shipped scenario loads, says what it asks, runs, and moves the projection the way it says."""

from __future__ import annotations

import pytest

import socsec_proj as ssp
from socsec_proj.variables import VARIABLES

SHIPPED = [name for name, _ in ssp.list_scenarios()]


def test_the_issue_list_is_shipped():
    assert {"baseline", "no_retirement_delay", "faster_delay", "unified_age_65", "contribution_rate_cut",
            "indexation_wage_linked", "indexation_cpi", "no_national_pooling", "fiscal_subsidy_freeze",
            "guangdong_14th_plan", "hebei_14th_plan", "guizhou_14th_plan", "low_cost", "high_cost"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
def test_each_loads_with_a_description(name):
    scenario = ssp.load_scenario(name)
    assert len(scenario.description.split()) >= 15, "one paragraph saying what it asks"
    for target in scenario.targets:
        assert target.indicator in VARIABLES, target.indicator
        assert target.source


def _national(ds, name, year):
    return float(ds[name].sel(year=year).sum())


@pytest.fixture(scope="module")
def runs():
    return {name: ssp.run(name) for name in SHIPPED if not name.endswith("_plan")}


def test_directions(runs):
    base = runs["baseline"]
    assert _national(runs["contribution_rate_cut"], "employee_pension_balance", 2035) < \
        _national(base, "employee_pension_balance", 2035)
    assert _national(runs["indexation_wage_linked"], "employee_pension_expenditure", 2040) > \
        _national(base, "employee_pension_expenditure", 2040)
    # prices only (2 %) rise more slowly than the baseline's share of wage growth (0.59 x 4-5 %)
    assert _national(runs["indexation_cpi"], "employee_pension_expenditure", 2040) < \
        _national(base, "employee_pension_expenditure", 2040)
    assert _national(runs["fiscal_subsidy_freeze"], "employee_pension_subsidy", 2040) < \
        _national(base, "employee_pension_subsidy", 2040)
    assert _national(runs["faster_delay"], "employee_pension_contributors", 2030) > \
        _national(base, "employee_pension_contributors", 2030)
    assert _national(runs["unified_age_65"], "employee_pension_retirees", 2045) < \
        _national(runs["faster_delay"], "employee_pension_retirees", 2045)
    pooling = runs["no_national_pooling"]
    assert float(abs(pooling["employee_pension_pooling_transfer"].sel(year=slice(2026, None))).max()) == 0.0
    assert float(pooling["employee_pension_balance"].sel(province="CN-GD", year=2035)) > \
        float(base["employee_pension_balance"].sel(province="CN-GD", year=2035))
    assert float(pooling["employee_pension_balance"].sel(province="CN-HL", year=2035)) < \
        float(base["employee_pension_balance"].sel(province="CN-HL", year=2035))


@pytest.mark.parametrize("name, province", [("guangdong_14th_plan", "CN-GD"), ("hebei_14th_plan", "CN-HE"),
                                            ("guizhou_14th_plan", "CN-GZ")])
def test_plan_scenarios_project_their_province(name, province):
    ds = ssp.run(name)
    assert list(ds["province"].values) == [province]
    assert len(ssp.load_scenario(name).targets) >= 3

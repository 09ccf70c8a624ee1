"""The long-run assumptions: rebuilt from the record, fitted by hand, and the rules that use them."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest

import socsec_proj as ssp
from socsec_proj.funds.employee_pension import indexation
from socsec_proj.funds.resident_pension import basic_pension

from .conftest import REPO, SHARED

YEARS = np.arange(2024, 2101)


def _build():
    spec = importlib.util.spec_from_file_location("build_assumptions", REPO / "params/build/build_assumptions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def parameters():
    return ssp.load_scenario("baseline").parameters


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not beside this checkout")
def test_rebuild_matches_committed_files(tmp_path):
    figures = _build().build(SHARED, tmp_path / "params", tmp_path / "scenarios")
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert [str(p) for p in written] == [
        "params/parameters/economy/wage_growth.yaml",
        "params/parameters/employee_pension/account_crediting_rate.yaml",
        "params/parameters/employee_pension/indexation_wage_share.yaml",
        "params/parameters/employee_pension/investment_return.yaml",
        "params/parameters/labour/flexible_early_share.yaml",
        "params/parameters/labour/flexible_late_share.yaml",
        "scenarios/high_cost.yaml",
        "scenarios/low_cost.yaml",
    ]
    for relative in written:
        assert (tmp_path / relative).read_text(encoding="utf-8") == (REPO / relative).read_text(encoding="utf-8")
    record = figures["record"]
    # the record, by hand: policy/national_rates_by_year.csv and the weighted national wage growth
    assert record.loc[2016, "increase"] == 0.065 and record.loc[2025, "increase"] == 0.02
    assert record.loc[2016, "wage_growth"] == pytest.approx(0.1050, abs=5e-5)   # growth of 2015
    assert record.loc[2023, "wage_growth"] == pytest.approx(0.0643, abs=5e-5)   # growth of 2022
    assert list(record.index[~record["kept"]]) == [2019, 2020, 2021]            # 2018-2020 wage break
    kept = record[record["kept"]]
    by_hand = sum(math.log1p(v) for v in [0.065, 0.055, 0.05, 0.04, 0.038, 0.03, 0.02]) / sum(
        math.log1p(v) for v in kept["wage_growth"])
    assert figures["indexation_share"] == pytest.approx(by_hand, rel=1e-12)
    assert figures["indexation_share"] == pytest.approx(0.5907, abs=5e-5)
    assert figures["recent_wage_growth"] == pytest.approx(0.0536, abs=5e-5)


def test_wage_growth_tapers_to_the_long_run_rate(parameters):
    growth = parameters.get("economy.wage_growth").annual(YEARS)
    at = dict(zip(YEARS, growth))
    assert at[2024] == at[2025] == 0.0536          # the 2020-2024 record (the first value holds before)
    assert at[2050] == at[2100] == 0.04            # real 2 % + CPI 2 %, held after 2050
    assert at[2038] == pytest.approx(0.0536 + (0.04 - 0.0536) * 13 / 25, abs=1e-6)  # a straight line
    assert np.all(np.diff(growth) <= 1e-12)
    cpi = parameters.get("economy.cpi_inflation").annual(YEARS)
    np.testing.assert_allclose(at[2050] - cpi[YEARS >= 2050], 0.02)


def test_return_and_crediting_rise_from_the_record_to_three_percent(parameters):
    for path in ("employee_pension.investment_return", "employee_pension.account_crediting_rate"):
        rate = dict(zip(range(2016, 2101), parameters.get(path).annual(np.arange(2016, 2101))))
        assert rate[2016] == 0.0831 and rate[2025] == 0.015   # the notices
        assert rate[2030] == pytest.approx(0.0225) and rate[2035] == rate[2100] == 0.03


def test_indexation_follows_the_record_then_a_share_of_last_years_wage_growth(parameters):
    growth = np.linspace(0.06, 0.03, YEARS.size)
    increase = indexation(parameters, YEARS, growth)
    assert increase[0] == 0.03 and increase[1] == 0.02                  # 2024, 2025: the notices
    np.testing.assert_allclose(increase[2:], 0.5907 * growth[1:-1], rtol=1e-12)  # from 2026, growth(t-1)
    cpi = parameters.with_changes({"employee_pension.indexation_rule": {"2026-01-01": "cpi_plus"},
                                   "employee_pension.indexation_real_wage_share": {"2026-01-01": 0.5},
                                   "economy.cpi_inflation": {"2027-01-01": 0.01}})
    by_cpi = indexation(cpi, YEARS, growth)
    # 2026: CPI of 2025 (2 %) + half the real wage growth of 2025; 2028: the 1 % of 2027
    assert by_cpi[2] == pytest.approx(0.02 + 0.5 * (growth[1] - 0.02), rel=1e-12)
    assert by_cpi[4] == pytest.approx(0.01 + 0.5 * (growth[3] - 0.01), rel=1e-12)


def test_indexation_of_many_draws_is_each_years_rule_on_each_draw(parameters):
    """With draws (wage growth and CPI shocks [D, Y]) every year's increase is the rule in force
    that year on that draw's figures, exactly; a rule the model does not know is refused."""
    mixed = parameters.with_changes({"employee_pension.indexation_rule": {"2026-01-01": "cpi_plus",
                                                                          "2028-01-01": "wage_share"},
                                     "employee_pension.indexation_real_wage_share": {"2026-01-01": 0.5}})
    rng = np.random.default_rng(3)
    growth = 0.05 + rng.normal(0.0, 0.01, (3, YEARS.size))
    shock = rng.normal(0.0, 0.005, (3, YEARS.size))
    increase = indexation(mixed, YEARS, growth, shock)
    assert increase.shape == (3, YEARS.size)
    cpi = mixed.get("economy.cpi_inflation").annual(YEARS) + shock
    at = {int(year): k for k, year in enumerate(YEARS)}
    np.testing.assert_array_equal(increase[:, at[2025]], 0.02)                        # the notice
    for year in (2026, 2027):
        k = at[year]
        np.testing.assert_array_equal(increase[:, k], cpi[:, k - 1] + 0.5 * (growth[:, k - 1] - cpi[:, k - 1]))
    k = at[2030]
    np.testing.assert_array_equal(increase[:, k], 0.5907 * growth[:, k - 1])
    with pytest.raises(ssp.InputError, match="not allowed"):  # the schema's three rules, checked before any run
        parameters.with_changes({"employee_pension.indexation_rule": {"2026-01-01": "unknown"}})


def test_resident_basic_pension_follows_the_notices_then_the_employee_rule(parameters):
    provinces = ["CN-BJ", "CN-GD", "CN-GZ"]
    basic = basic_pension(parameters, YEARS, provinces)
    at = {year: basic[:, k] for k, year in enumerate(YEARS)}
    np.testing.assert_array_equal(at[2026], [163, 180, 163])  # the national minimum; Guangdong's 2020 level
    # 2027: raised as employee pensions are, 0.5907 x the wage growth of 2026 (0.053056)
    np.testing.assert_allclose(at[2027], at[2026] * (1 + 0.5907 * 0.053056), rtol=1e-12)
    growth = parameters.get("economy.wage_growth").annual(YEARS)
    raised = at[2026] * np.prod(1 + 0.5907 * growth[YEARS.searchsorted(2026):YEARS.searchsorted(2050)])
    np.testing.assert_allclose(at[2050], raised, rtol=1e-12)
    notices = parameters.with_changes({"resident_pension.basic_pension_rule": {"2027-01-01": "notices"}})
    np.testing.assert_array_equal(basic_pension(notices, YEARS, provinces)[:, -1], [163, 180, 163])


def test_indexation_cpi_differs_from_the_baseline_from_2026(baseline):
    prices = ssp.run("indexation_cpi")
    gap = (prices["employee_pension_expenditure"] - baseline["employee_pension_expenditure"]).sum("province")
    assert float(abs(gap.sel(year=slice(2024, 2025))).max()) == 0.0
    assert (gap.sel(year=slice(2026, 2060)) < 0).all()  # 2 % a year is below 0.59 x wage growth of 4-5.3 %
    # and so the fund lasts longer: the national depletion year moves (2042 -> 2047 when written)
    later = ssp.depletion_year(prices, "employee_pension", national_total=True)
    earlier = ssp.depletion_year(baseline, "employee_pension", national_total=True)
    assert float(later) > float(earlier)


def test_flexible_take_up_starts_with_the_law(parameters):
    early = parameters.get("labour.flexible_early_share").annual([2024, 2025, 2060])
    late = parameters.get("labour.flexible_late_share").annual([2024, 2025, 2060])
    np.testing.assert_array_equal(early, [0.0, 0.2, 0.2])
    np.testing.assert_array_equal(late, [0.0, 0.05, 0.05])

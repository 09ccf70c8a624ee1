"""The social-insurance tables and parameters in params/: rebuilt from ../shared, and their numbers.

The rebuild test needs ``../shared`` beside the checkout; the other tests read only the committed
files and check real figures of the sources, copied here by hand.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from socsec_proj.inputs.parameters import load_parameters
from socsec_proj.inputs.provinces import CODES
from socsec_proj.labour import retirement

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
PARAMS = REPO / "params"
TABLES = PARAMS / "social_insurance"
#: The parameter groups the build writes (every file in them is built).
GROUPS = ("employee_pension", "resident_pension", "unemployment", "retirement")

PATHS = (
    "employee_pension.employer_rate",
    "employee_pension.employee_rate",
    "employee_pension.contribution_base_floor",
    "employee_pension.contribution_base_cap",
    "employee_pension.pension_increase",
    "employee_pension.account_crediting_rate",
    "employee_pension.pooling_remittance_share",
    "employee_pension.transitional_pension_coefficient",
    "employee_pension.basic_pension_accrual",
    "resident_pension.minimum_basic_pension",
    "resident_pension.basic_pension",
    "unemployment.contribution_rate",
    "unemployment.benefit_share_of_minimum_wage",
    "retirement.male.original_age_months",
    "retirement.male.target_age_months",
    "retirement.male.birth_months_per_step",
    "retirement.female_cadre.original_age_months",
    "retirement.female_cadre.target_age_months",
    "retirement.female_cadre.birth_months_per_step",
    "retirement.female_worker.original_age_months",
    "retirement.female_worker.target_age_months",
    "retirement.female_worker.birth_months_per_step",
    "retirement.delay_start_year",
    "retirement.delay_start_month",
    "retirement.minimum_contribution_years",
)


def _table(name: str) -> pd.DataFrame:
    return pd.read_csv(TABLES / f"{name}.csv", comment="#")


def _header(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")]


@pytest.fixture(scope="module")
def parameters():
    return load_parameters(PARAMS / "parameters")


# --------------------------------------------------------------------------------------------
# (a) the committed files are what the build makes


def _load_build():
    spec = importlib.util.spec_from_file_location("build_social_insurance",
                                                  REPO / "params/build/build_social_insurance.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not SHARED.is_dir() or not (SHARED.parent / "seeds").is_dir(),
                    reason="../shared/data and ../shared/seeds are not beside this checkout")
def test_rebuild_matches_committed_files(tmp_path):
    _load_build().build(SHARED, tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == 8 + 19
    for relative in written:
        committed = PARAMS / relative
        assert committed.is_file(), f"{relative} is built but not committed"
        if relative.suffix == ".csv":
            new, old = pd.read_csv(tmp_path / relative, comment="#"), pd.read_csv(committed, comment="#")
            pd.testing.assert_frame_equal(new, old, rtol=1e-12, check_exact=False, obj=str(relative))
            assert _header(tmp_path / relative) == _header(committed), relative
        else:
            assert (tmp_path / relative).read_text(encoding="utf-8") == committed.read_text(encoding="utf-8"), relative
    # Nothing stale: every committed file of these folders comes out of the build.
    committed = {p.relative_to(PARAMS) for p in TABLES.rglob("*") if p.is_file()}
    for group in GROUPS:
        committed |= {p.relative_to(PARAMS) for p in (PARAMS / "parameters" / group).rglob("*") if p.is_file()}
    assert committed == set(written)


# --------------------------------------------------------------------------------------------
# (b) real numbers of the committed tables


def test_yearbook_employee_national_sums_up_to_the_unallocated_part():
    table = _table("yearbook_2024_employee_pension")
    assert list(table["province"]) == list(CODES)
    # 全国 row of table 24-26: workers 38713.2 万, retirees 14739.1 万, insured 53452.2 万; the
    # header documents what the yearbook does not allocate to a province (不分地区).
    for column, national, unallocated in (
        ("insured_workers", 387_132_000, 554_000),
        ("retirees", 147_391_000, 412_000),
        ("insured_total", 534_522_000, 981_000),
        ("fund_expenditure", 6_765_630_000_000, 42_690_000_000),
    ):
        assert table[column].sum() + unallocated == national
        assert unallocated < 0.01 * national
        header = " ".join(_header(TABLES / "yearbook_2024_employee_pension.csv"))
        assert f"{column} {national:,}" in header and f"difference {unallocated:,}" in header


def test_yearbook_employee_guangdong_and_beijing_by_hand():
    table = _table("yearbook_2024_employee_pension").set_index("province")
    # 广东 2024: 5473.8, 4564.4, 909.4 万人; 7881.7, 4313.2, 20258.8 亿元
    assert table.loc["CN-GD"].tolist() == [54_738_000, 45_644_000, 9_094_000,
                                           788_170_000_000, 431_320_000_000, 2_025_880_000_000]
    # 北京 2024: 1939.4, 1587.6, 351.8 万人; 4294.9, 2521.7, 10039.5 亿元
    assert table.loc["CN-BJ"].tolist() == [19_394_000, 15_876_000, 3_518_000,
                                           429_490_000_000, 252_170_000_000, 1_003_950_000_000]
    # the columns socsec_proj.inputs.data reads
    assert {"insured_workers", "retirees", "fund_revenue", "fund_expenditure", "accumulated_balance"} <= set(table)


def test_yearbook_resident_sums_to_national_within_rounding():
    table = _table("yearbook_2024_resident_pension").set_index("province")
    assert list(table.index) == list(CODES)
    assert abs(table["insured"].sum() - 538_302_000) <= 2_000          # 53830.2 万
    assert abs(table["beneficiaries"].sum() - 180_394_000) <= 2_000    # 18039.4 万
    # 广东 2024: 2745.2, 935.1 万人; 359.3, 338.5, 623.2 亿元
    assert table.loc["CN-GD"].tolist() == [27_452_000, 9_351_000, 35_930_000_000, 33_850_000_000, 62_320_000_000]


def test_annuity_divisor():
    divisor = _table("ia_annuity_divisor").set_index("retirement_age")["months_divisor"]
    assert (divisor.loc[60], divisor.loc[55], divisor.loc[50]) == (139, 170, 195)
    assert list(divisor.index) == list(range(40, 71))
    assert (np.diff(divisor.to_numpy()) < 0).all()


def test_minimum_wage():
    wage = _table("minimum_wage_2025").set_index("province")
    assert list(wage.index) == list(CODES)
    assert wage.loc["CN-GD"].tolist() == [2500, 1750]
    assert wage.loc["CN-HE"].tolist() == [2200, 1800]
    assert wage.loc["CN-SH"].tolist() == [2740, 2740]
    assert (wage["minimum_wage_lowest_tier"] <= wage["minimum_wage_tier1"]).all()


def test_unemployment_duration_and_injury_base_rates():
    duration = _table("unemployment_benefit_duration")
    assert duration["months"].tolist() == [12, 18, 24]
    assert duration["min_contribution_years"].tolist() == [1, 5, 10]
    upper = duration["max_contribution_years"]
    assert upper.tolist()[:2] == [5, 10] and pd.isna(upper.iloc[2])
    rates = _table("injury_industry_base_rates")
    assert rates["industry_class"].tolist() == list(range(1, 9))
    np.testing.assert_allclose(rates["base_rate"], [0.002, 0.004, 0.007, 0.009, 0.011, 0.013, 0.016, 0.019])


def test_average_wage_screened_series():
    wage = _table("average_wage")
    series = wage.set_index(["province", "year"])["average_wage"]
    assert set(wage["province"]) == set(CODES)
    assert wage["year"].between(1995, 2024).all()
    assert all((code, 2024) in series.index for code in CODES)
    assert not wage.duplicated(["province", "year"]).any()
    assert series[("CN-GD", 2020)] == 7647 and series[("CN-GD", 2015)] == pytest.approx(5324.33)
    assert series[("CN-GZ", 2020)] == pytest.approx(6378.92) and series[("CN-GZ", 2015)] == 4492
    assert series[("CN-BJ", 2024)] == 11937
    # synthetic x1.05 chains are gone; the years before Anhui's break too
    years = wage.groupby("province")["year"].apply(set)
    assert years["CN-SH"] == {1995, *range(2020, 2025)}
    assert years["CN-SC"] == set(range(2020, 2025)) and years["CN-LN"] == set(range(2020, 2025))
    assert min(years["CN-AH"]) == 2007
    assert not years["CN-XZ"] & set(range(2005, 2016))
    # no remaining year-on-year change outside -30 % .. +40 %
    for code, group in wage.groupby("province"):
        group = group.sort_values("year")
        consecutive = np.diff(group["year"].to_numpy()) == 1
        ratio = group["average_wage"].to_numpy()[1:] / group["average_wage"].to_numpy()[:-1]
        assert ((ratio[consecutive] >= 0.7) & (ratio[consecutive] <= 1.4)).all(), code


def test_seed_figures():
    seeds = _table("seed_figures")
    assert set(seeds["province"]) == {"CN-GD", "CN-HE", "CN-GZ"}
    assert set(seeds["kind"]) == {"actual", "target"}
    assert seeds["quote"].str.len().gt(0).all() and seeds["note_id"].notna().all()
    fractions = seeds.loc[seeds["unit"].str.startswith("/1"), "value"]
    assert fractions.between(0, 1).all()

    def value(province, year, indicator, kind="actual"):
        rows = seeds[(seeds["province"] == province) & (seeds["year"] == year)
                     & (seeds["indicator"] == indicator) & (seeds["kind"] == kind)]
        assert len(rows) == 1, (province, year, indicator, kind)
        return rows["value"].iloc[0]

    assert value("CN-GD", 2020, "resident_pension_basic_pension") == 180
    assert value("CN-GZ", 2020, "resident_pension_basic_pension") == 98
    assert value("CN-GD", 2020, "unemployment_insured") == 36_030_000          # G31: 3603 万人
    assert value("CN-GD", 2020, "unemployment_contribution_rate") == pytest.approx(0.0064)
    assert value("CN-GD", 2020, "injury_contribution_rate") == pytest.approx(0.0017)
    assert value("CN-GD", 2015, "injury_incidence_rate") == pytest.approx(0.0047)
    assert value("CN-GD", 2020, "injury_incidence_rate") == pytest.approx(0.0031)
    assert value("CN-GD", 2020, "injury_disability_allowance") == 4426
    assert value("CN-GD", 2020, "fund_balance_pension_unemployment_injury") == 1.35e12
    assert value("CN-HE", 2020, "employee_pension_insured") == 17_370_000        # H01
    assert value("CN-HE", 2025, "employee_pension_insured", "target") == 18_670_000
    assert value("CN-GZ", 2020, "employee_pension_revenue") == 66_801_000_000    # 668.01 亿元
    assert value("CN-GZ", 2020, "pension_coverage_rate") == pytest.approx(0.9102)
    # Guizhou: enterprise + public-institution insured = total (713.98 万, to rounding)
    total = value("CN-GZ", 2020, "employee_pension_insured")
    parts = value("CN-GZ", 2020, "employee_pension_insured_enterprise") \
        + value("CN-GZ", 2020, "employee_pension_insured_public_institution")
    assert abs(total - parts) <= 100


# --------------------------------------------------------------------------------------------
# (b) the policy parameters


def test_every_parameter_is_loaded_with_its_metadata(parameters):
    for path in PATHS:
        assert path in parameters, path
        parameter = parameters[path]
        assert parameter.metadata.unit and parameter.metadata.label and str(parameter.metadata.reference)
        assert parameter.metadata.range is not None and parameter.description


def test_employee_pension_rates(parameters):
    employer = parameters["employee_pension.employer_rate"]
    expected_2019 = (120 * 0.20 + 245 * 0.16) / 365   # January-April at 20 %, from 1 May 16 %
    np.testing.assert_allclose(employer.annual([2018, 2019, 2020]), [0.20, expected_2019, 0.16], rtol=1e-12)
    assert parameters["employee_pension.employee_rate"].at("2024-07-01") == 0.08
    assert parameters["employee_pension.contribution_base_floor"].at("2024-07-01") == 0.60
    assert parameters["employee_pension.contribution_base_cap"].at("2024-07-01") == 3.00
    assert parameters["employee_pension.basic_pension_accrual"].at("2024-07-01") == 0.01
    assert parameters["employee_pension.transitional_pension_coefficient"].at("2024-07-01") == 0.012
    increase = parameters["employee_pension.pension_increase"]
    np.testing.assert_allclose(increase.annual(np.arange(2016, 2026)),
                               [0.065, 0.055, 0.05, 0.05, 0.05, 0.045, 0.04, 0.038, 0.03, 0.02])
    crediting = parameters["employee_pension.account_crediting_rate"]
    np.testing.assert_allclose(crediting.annual([2016, 2020, 2025]), [0.0831, 0.0604, 0.015])
    remittance = parameters["employee_pension.pooling_remittance_share"]
    np.testing.assert_allclose(remittance.annual(np.arange(2017, 2024)), [0, 0.03, 0.035, 0.04, 0.045, 0.045, 0.045])


def test_resident_pension(parameters):
    minimum = parameters["resident_pension.minimum_basic_pension"]
    np.testing.assert_array_equal(minimum.annual([2018, 2023, 2024, 2025, 2026]), [88, 103, 123, 143, 163])
    basic = parameters["resident_pension.basic_pension"]
    np.testing.assert_array_equal(basic.annual([2015, 2020, 2026], "CN-GD"), [100, 180, 180])
    np.testing.assert_array_equal(basic.annual([2015, 2018, 2020, 2022, 2025], "CN-GZ"), [70, 88, 98, 98, 143])
    np.testing.assert_array_equal(basic.annual([2025], "CN-HE"), [143])
    # no province below the national minimum
    years = np.arange(2018, 2031)
    assert (basic.by_province(years) >= minimum.annual(years)[None, :]).all()


def test_unemployment(parameters):
    rate = parameters["unemployment.contribution_rate"]
    assert rate.annual([2020], "CN-GD")[0] == pytest.approx(0.0064)
    assert rate.annual([2020], "CN-HE")[0] == pytest.approx(0.01)
    share = parameters["unemployment.benefit_share_of_minimum_wage"]
    assert share.annual([2020], "CN-GD")[0] == pytest.approx(0.90)


def test_retirement_parameters_agree_with_the_law_in_code(parameters):
    for category, schedule in retirement.LAW_2024.items():
        for name in ("original_age_months", "target_age_months", "birth_months_per_step"):
            assert parameters[f"retirement.{category}.{name}"].at("2025-01-01") == getattr(schedule, name)
    assert (parameters["retirement.male.original_age_months"].at("2025-01-01"),
            parameters["retirement.male.target_age_months"].at("2025-01-01")) == (720, 756)
    assert parameters["retirement.female_worker.birth_months_per_step"].at("2025-01-01") == 2
    assert parameters["retirement.delay_start_year"].at("2025-01-01") == 2025
    assert parameters["retirement.delay_start_month"].at("2025-01-01") == 1
    minimum = parameters["retirement.minimum_contribution_years"]
    for year in range(2025, 2046):
        assert minimum.annual([year])[0] == retirement.minimum_contribution_years(year)
    np.testing.assert_array_equal(minimum.annual([2029, 2030, 2035, 2039, 2040]), [15, 15.5, 18, 20, 20])

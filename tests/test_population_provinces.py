"""Each province's own demography (issue #12), checked against the census and NBS's recorded figures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import socsec_proj as ssp
from socsec_proj.demography import population
from socsec_proj.demography.calibration import provincial_checks
from socsec_proj.errors import InputError
from socsec_proj.inputs import data

# NBS January press releases (shared/data china_national/nbs_population_2022_2025.csv and
# nbs_births_deaths_1950_2023_vicalloy.csv), 10,000 persons: calendar-year births and deaths,
# year-end population (31 provinces and the servicemen), year-end shares of 60+ and 65+ [%]
NBS_BIRTHS = {2020: 1202, 2021: 1062, 2022: 956, 2023: 902, 2024: 954, 2025: 792}
NBS_DEATHS = {2020: 997, 2021: 1014, 2022: 1041, 2023: 1110, 2024: 1093, 2025: 1131}
NBS_YEAR_END = {2022: 141175, 2023: 140967, 2024: 140828, 2025: 140489}
NBS_SHARE_60 = {2023: 21.1, 2024: 22.0, 2025: 23.0}
NBS_SHARE_65 = {2023: 15.4, 2024: 15.6, 2025: 15.9}
SERVICEMEN = 2.0e6  # census 2020: 1,411,778,724 with them, 1,409,778,724 in the 31 provinces


def _national(ds, name):
    return ds[name].sum([d for d in ds[name].dims if d != "year"])


@pytest.mark.parametrize("year", range(2021, 2026))
def test_births_follow_nbs(baseline, year):
    """The July-June births within 3 % of the mean of NBS's two calendar years (set so, 2021-2025)."""
    target = 0.5 * (NBS_BIRTHS[year - 1] + NBS_BIRTHS[year]) * 1e4
    assert float(_national(baseline, "births").sel(year=year)) == pytest.approx(target, rel=0.03)


@pytest.mark.parametrize("year", range(2021, 2026))
def test_deaths_follow_nbs(baseline, year):
    target = 0.5 * (NBS_DEATHS[year - 1] + NBS_DEATHS[year]) * 1e4
    assert float(_national(baseline, "deaths").sel(year=year)) == pytest.approx(target, rel=0.05)


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_population_on_1_july_matches_nbs(baseline, year):
    """1 July within 0.5 % of the mean of NBS's year-ends around it, less the servicemen."""
    target = 0.5 * (NBS_YEAR_END[year - 1] + NBS_YEAR_END[year]) * 1e4 - SERVICEMEN
    assert float(_national(baseline, "population_total").sel(year=year)) == pytest.approx(target, rel=0.005)


@pytest.mark.parametrize("year", [2023, 2024, 2025])
def test_old_age_shares_match_nbs(baseline, year):
    """Shares of 60+ and 65+ at the year's end (mean of the 1 Julys around it) within 0.5 points of NBS's."""
    pop = baseline["population"].sum(("province", "sex")).sel(year=[year, year + 1]).mean("year")
    share = pop / pop.sum() * 100
    assert float(share.sel(age=slice(60, None)).sum()) == pytest.approx(NBS_SHARE_60[year], abs=0.5)
    assert float(share.sel(age=slice(65, None)).sum()) == pytest.approx(NBS_SHARE_65[year], abs=0.5)


def test_provincial_fertility_of_2020_spans_the_census_range(baseline):
    """Heilongjiang about 0.7 children per woman, Guizhou about 1.9 (2020 census), the rest between."""
    tfr = baseline["total_fertility_rate"].sel(year=2020)
    assert float(tfr.min()) == pytest.approx(0.72, abs=0.02) and str(tfr.idxmin().values) == "CN-HL"
    assert float(tfr.max()) == pytest.approx(1.94, abs=0.02) and str(tfr.idxmax().values) == "CN-GZ"
    checks = provincial_checks(baseline)
    np.testing.assert_allclose(checks["tfr"], checks["tfr_census_2020"], rtol=1e-5)


def test_provincial_fertility_converges_to_the_national(baseline):
    """The census differences kept to 2025, halved by 2050 and gone by 2075 (50 years after 2025)."""
    tfr = baseline["total_fertility_rate"]
    national = ssp.load_scenario("baseline").parameters.get("demography.total_fertility_rate").annual(
        [2020, 2025, 2050, 2075])
    relative_2025 = tfr.sel(year=2025) / national[1] - 1
    np.testing.assert_allclose(relative_2025, tfr.sel(year=2020) / national[0] - 1, atol=1e-12)
    np.testing.assert_allclose(tfr.sel(year=2050) / national[2] - 1, 0.5 * relative_2025, atol=1e-12)
    np.testing.assert_allclose(tfr.sel(year=2075), national[3], rtol=1e-12)


def test_life_expectancy_ranking_follows_the_official_one(baseline):
    """2020 e0 by province ranks like NBS's official 2000 table (Spearman >= 0.7), the four
    provinces that were last in 2000 (Tibet, Yunnan, Guizhou, Qinghai) in the last seven now."""
    checks = provincial_checks(baseline)
    for sex in ("male", "female"):
        rho = checks[f"e0_{sex}"].corr(checks[f"e0_2000_{sex}"], method="spearman")
        assert rho >= 0.7, (sex, rho)
        last = checks.sort_values(f"e0_{sex}").index[:7]
        assert {"CN-XZ", "CN-YN", "CN-GZ", "CN-QH"} <= set(last), sex
        assert checks[f"rank_e0_{sex}"]["CN-SH"] <= 2


def test_provinces_deaths_add_up_to_the_national_schedule():
    """Relative mortality averages 1 at every sex and age over the 2020 population."""
    relative = data.relative_mortality()
    base = np.asarray(data.base_population())
    np.testing.assert_allclose((relative * base).sum(axis=0), base.sum(axis=0), rtol=1e-9)
    assert relative.min() > 0.2 and relative.max() < 8.0  # Tibet's children: 6 times the national


def test_inter_provincial_migration_adds_to_zero_and_is_young(baseline):
    """Net migrants summed over provinces are the international ones only, every year, sex and age;
    inter-provincial migrants are young adults (most of Guangdong's gains at 15-39)."""
    inputs = population.prepare_inputs(ssp.load_scenario("baseline").parameters, baseline["year"].values)
    national = baseline["net_migration"].sum("province").transpose("year", "sex", "age").values[1:]
    np.testing.assert_allclose(national, inputs.international, rtol=1e-9, atol=1e-4)
    gd = baseline["net_migration"].sel(province="CN-GD", year=2021).sum("sex")
    assert float(gd.sel(age=slice(15, 39)).sum()) > 0.6 * float(np.abs(gd).sum())
    hl = baseline["net_migration"].sel(province="CN-HL", year=2021).sum("sex")
    assert float(hl.sel(age=slice(18, 35)).sum()) < -150_000
    assert float(hl.sel(age=slice(70, None)).sum()) > -0.1 * float(np.abs(hl).sum())  # few of the old


def test_migration_decays_over_its_period(tmp_path):
    """0 years: no inter-provincial migration after 2020 (only the international share moves)."""
    scenario = tmp_path / "closed.yaml"
    scenario.write_text("name: closed\ndescription: no inter-provincial migration\nhorizon: 2030\n"
                        "changes:\n  demography.internal_migration_decay_years:\n    2020-01-01: 0\n")
    inputs = population.prepare_inputs(ssp.load_scenario(scenario).parameters, np.arange(2020, 2031))
    assert np.all(inputs.out_rate[1:] == 0.0)
    # the first step straddles 2020 (full rates) and 2021 (none)
    base = population.prepare_inputs(ssp.load_scenario("baseline").parameters, np.arange(2020, 2031))
    np.testing.assert_allclose(inputs.out_rate[0], 0.5 * base.out_rate[0] / (1 - 0.5 / 30), rtol=1e-12)
    # the default 30 years: half the rate by 2035 (the step 2035-2036 is the mean of 2035 and 2036)
    assert population.linear_fade([2020, 2035, 2050, 2060], 2020, [30.0] * 4).tolist() == [1.0, 0.5, 0.0, 0.0]


def test_wpp_fertility_scenarios():
    """The shipped WPP 2024 variants: medium 1.02 in 2025 (WPP 2024), low and high 0.25 apart from it."""
    tfr = {name: ssp.load_scenario(name).parameters.get("demography.total_fertility_rate").annual([2025, 2050])
           for name in ("wpp_medium", "wpp_low", "wpp_high")}
    assert tfr["wpp_medium"][0] == pytest.approx(1.020907, abs=1e-5)
    np.testing.assert_allclose(tfr["wpp_high"] - tfr["wpp_medium"], 0.5 * np.ones(2) * [0.5, 1.0], atol=1e-5)
    np.testing.assert_allclose(tfr["wpp_medium"] - tfr["wpp_low"], 0.5 * np.ones(2) * [0.5, 1.0], atol=1e-5)


# --------------------------------------------------------------------------------------------
# Bad input


def _scenario(tmp_path, changes: str):
    path = tmp_path / "bad.yaml"
    path.write_text("name: bad\ndescription: bad demography\nhorizon: 2030\nchanges:\n" + changes)
    return path


@pytest.mark.parametrize("value", ["-0.5", ".nan"])
def test_negative_or_nan_fertility_multiplier_names_parameter_and_province(tmp_path, value):
    path = _scenario(tmp_path, f"  demography.fertility_relative:\n    provinces:\n      CN-GZ:\n        2025-01-01: {value}\n")
    with pytest.raises(InputError, match=r"demography\.fertility_relative.*CN-GZ|CN-GZ.*demography\.fertility_relative"):
        ssp.run(path)


def test_fertility_rate_above_one_names_parameter_and_province(tmp_path):
    path = _scenario(tmp_path, "  demography.fertility_relative:\n    provinces:\n      CN-XZ:\n        2025-01-01: 5\n"
                               "  demography.total_fertility_rate:\n    2025-01-01: 4\n")
    with pytest.raises(InputError, match=r"demography\.fertility_relative \(CN-XZ\).*fertility rate above 1"):
        ssp.run(path)


def test_probability_of_dying_above_one_names_parameter_and_province(tmp_path):
    path = _scenario(tmp_path, "  demography.mortality_scale:\n    provinces:\n      CN-SH:\n        2024-01-01: 5\n")
    with pytest.raises(InputError, match=r"demography\.mortality_scale \(CN-SH\).*probability of dying above 1"):
        ssp.run(path)


@pytest.mark.parametrize("name", ["fertility_convergence_years", "internal_migration_decay_years"])
def test_negative_period_is_refused(tmp_path, name):
    path = _scenario(tmp_path, f"  demography.{name}:\n    2025-01-01: -1\n")
    with pytest.raises(InputError, match=rf"demography\.{name}"):
        ssp.run(path)


def test_prepare_inputs_refuses_a_negative_period_itself():
    """The check holds even for parameters that were never range-checked (e.g. built in code)."""
    class Stub:
        def annual(self, years):
            return np.full(len(years), -3.0)
        source = "stub.yaml"

    class Parameters:
        def get(self, path):
            return Stub()

    with pytest.raises(InputError, match="a period of at least 0 years"):
        population._period(Parameters(), "demography.fertility_convergence_years", [2020, 2021])


def test_checks_table_is_complete():
    frame = data.provincial_census_checks()
    assert len(frame) == 31 and frame["tfr_census_2020"].between(0.7, 2.0).all()
    assert frame["e0_1990_male"].isna().sum() == 1  # Chongqing: not yet a province in 1990
    assert isinstance(frame, pd.DataFrame)

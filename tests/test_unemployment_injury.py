"""Unemployment and work-injury funds: accounts, hand-computed cases, scenarios, the seeds, bad input."""

from __future__ import annotations


import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import socsec_proj as ssp
from socsec_proj.errors import InputError
from socsec_proj.funds import accounts, bulletin, injury, unemployment
from socsec_proj.inputs import paths

SCHEMES = {
    "unemployment": ("contributions", "investment_income"),
    "injury": ("contributions", "investment_income"),
}
SPENDING = {
    "unemployment": ("benefits", "refunds", "subsidies", "other_spending"),
    "injury": ("one_off_benefits", "long_term_benefits", "prevention"),
}
SEED_PROVINCES = ["CN-GD", "CN-HE", "CN-GZ"]


def _first_account_year(ds, scheme):
    """The first year a fund's accounts hold (2023 while the pension funds start in 2024)."""
    finite = np.isfinite(ds[f"{scheme}_balance"].sum("province", skipna=False).values)
    return int(ds["year"].values[finite][0])


def _scenario(tmp_path, name, changes, horizon=2060, provinces=None):
    path = tmp_path / f"{name}.yaml"
    subset = f"provinces: {provinces}\n" if provinces else ""
    path.write_text(f"name: {name}\ndescription: test\nhorizon: {horizon}\n{subset}changes:\n{changes}")
    return path


def _wage(province, year):
    """The provincial average wage [CNY/month]: the table to 2024, economy.wage_growth after."""
    table = pd.read_csv(paths.params_dir() / "social_insurance/average_wage.csv", comment="#")
    row = table.set_index(["province", "year"])["average_wage"]
    if year <= 2024:
        return float(row[(province, year)])
    growth = ssp.load_scenario("baseline").parameters.get("economy.wage_growth").annual(np.arange(2025, year + 1))
    return float(row[(province, 2024)]) * float(np.prod(1.0 + growth))


# --------------------------------------------------------------------------------------------
# Accounts


@pytest.mark.parametrize("scheme", ["unemployment", "injury"])
def test_balance_identity_every_year_and_province(baseline, scheme):
    first = _first_account_year(baseline, scheme)
    assert first == max(accounts.FUND_BASE_YEAR - 1, 2020 if scheme == "unemployment" else 2021)
    ds = baseline.sel(year=slice(first, None))
    balance = ds[f"{scheme}_balance"].values
    revenue = ds[f"{scheme}_revenue"].values
    expenditure = ds[f"{scheme}_expenditure"].values
    returns = ssp.load_scenario("baseline").parameters.get("employee_pension.investment_return").annual(
        np.arange(first, first + 2))
    # the opening (end of the year before the first account year) from the first year's income
    opening = ds[f"{scheme}_investment_income"].values[:, 0] / returns[0]
    previous = np.concatenate([opening[:, None], balance[:, :-1]], axis=1)
    scale = np.maximum.reduce([abs(previous), abs(balance), abs(revenue), abs(expenditure)])
    # relative to the size of the province-year's own numbers: 1e-9
    assert np.all(np.abs(balance - previous - (revenue - expenditure)) <= 1e-9 * scale)
    parts = sum(ds[f"{scheme}_{part}"].values for part in SCHEMES[scheme])
    np.testing.assert_allclose(parts, revenue, rtol=1e-12)
    spending = sum(ds[f"{scheme}_{part}"].values for part in SPENDING[scheme])
    np.testing.assert_allclose(spending, expenditure, rtol=1e-12)
    np.testing.assert_allclose(ds[f"{scheme}_investment_income"].values[:, 1], returns[1] * previous[:, 1], rtol=1e-12)
    np.testing.assert_allclose(ds[f"{scheme}_months_of_reserve"].values, balance / (expenditure / 12.0), rtol=1e-12)
    # the opening is spread over provinces in proportion to the first year's contributions
    contributions = ds[f"{scheme}_contributions"].values[:, 0]
    np.testing.assert_allclose(opening / opening.sum(), contributions / contributions.sum(), rtol=1e-9)
    # NaN before the first account year
    assert baseline[f"{scheme}_balance"].sel(year=slice(None, first - 1)).isnull().all()
    assert baseline[f"{scheme}_contributors"].sel(year=slice(None, first - 1)).isnull().all()
    assert np.isfinite(balance).all() and (expenditure > 0).all()


def test_opening_balances_from_the_national_bulletins(baseline):
    # unemployment: the national balance at the end of 2023 is the bulletin's 321.3 bn CNY
    balance = baseline["unemployment_balance"].sel(year=2023).sum()
    assert float(balance) == pytest.approx(321.3e9, rel=1e-9)
    # injury: the 2021 bulletin's balance lies before the accounts start (2023 here): the opening keeps
    # 2021's months of reserve, 141.1 / (99.0 / 12) = 17.10, of the first account year's expenditure
    first = _first_account_year(baseline, "injury")
    at = baseline.sel(year=first).sum("province")
    if first > 2022:
        opening = float(at["injury_balance"] - at["injury_revenue"] + at["injury_expenditure"])
        assert opening == pytest.approx(141.1e9 / (99.0e9 / 12) * float(at["injury_expenditure"]) / 12, rel=1e-9)
    else:
        assert float(baseline["injury_balance"].sel(year=2021).sum()) == pytest.approx(141.1e9, rel=1e-9)


def test_opening_balance_solved_through_the_flows():
    # two provinces, three account years; the national balance at the end of the second (index 1)
    # must be 100: opening O x (1.1 x 1.2) spread 1:3 by the first year's contributions, plus the flows
    contributions = np.array([[10.0, 10.0, 10.0], [30.0, 30.0, 30.0]])
    expenditure = np.array([[5.0, 20.0, 0.0], [10.0, 10.0, 10.0]])
    returns = np.array([0.1, 0.2, 0.0])
    for engine in ("numba", "numpy"):
        opening = bulletin.opening_balance(contributions, expenditure, returns, 1, 100.0, engine=engine)
        np.testing.assert_allclose(opening[1] / opening[0], 3.0, rtol=1e-12)
        # by hand: free flows at the end of year 1: ((10 - 5) x 1.2 + 10 - 20) + ((30 - 10) x 1.2 + 30 - 10) = 40
        # so O = (100 - 40) / 1.32 = 45.4545...
        np.testing.assert_allclose(opening.sum(), 60.0 / 1.32, rtol=1e-12)
        balance = accounts.accounts(opening, contributions, expenditure, returns, engine=engine).balance
        assert balance[:, 1].sum() == pytest.approx(100.0, rel=1e-12)
    # the target is the opening itself; a target before it keeps its months of reserve
    np.testing.assert_allclose(bulletin.opening_balance(contributions, expenditure, returns, -1, 100.0), [25, 75])
    np.testing.assert_allclose(bulletin.opening_balance(contributions, expenditure, returns, -2, 0.0, months_then=6.0),
                               np.array([0.25, 0.75]) * 6 / 12 * 15, rtol=1e-12)


def test_insured_calibrated_to_the_2021_bulletin(baseline):
    workers = baseline["employee_pension_contributors"].sel(year=2021).sum(("sex", "age"))
    for scheme, national in (("unemployment", 229_580_000), ("injury", 282_870_000)):
        coverage = baseline[f"{scheme}_coverage"]
        assert float((coverage * workers).sum()) == pytest.approx(national, rel=1e-12)
        others = coverage.drop_sel(province=SEED_PROVINCES).values
        np.testing.assert_allclose(others, others[0], rtol=1e-12)   # relative coverage 1 everywhere


def test_derived_levels_reproduce_the_bulletins(baseline):
    # the seven DERIVED national levels (params/SOURCES.md#unemployment-and-work-injury) still make the
    # baseline reproduce their bulletin figures; after a change to the labour stage this fails and
    # `python params/build/derive_fund_levels.py` prints the values to write
    import importlib.util

    from .conftest import REPO

    spec = importlib.util.spec_from_file_location("derive_fund_levels", REPO / "params/build/derive_fund_levels.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.derive(baseline)
    assert len(rows) == 7
    parameters = ssp.load_scenario("baseline").parameters
    for name, figure, model, value in rows:
        assert model == pytest.approx(figure, rel=2e-3), name      # the parameters are rounded to 4 digits
        assert value == pytest.approx(parameters.get(name).at("2023-07-01"), rel=2e-3), name


def test_few_unemployment_funds_below_zero_by_2035(baseline):
    # issue #13 item 2: the real fund took in more than it spent in 2023; under current law at most a few
    # provinces' funds fall below zero by 2035 (Guangdong today: a 0.64 % rate, 90 % benefit)
    below = (baseline["unemployment_balance"].sel(year=slice(None, 2035)) < 0).any("year")
    assert int(below.sum()) <= 3, list(baseline["province"].values[below.values])
    national = baseline["unemployment_balance"].sum("province")
    assert (national.sel(year=slice(2023, 2035)) > 0).all()


def test_declared_units(baseline):
    assert baseline["unemployment_beneficiaries"].attrs["units"] == "persons"
    assert baseline["unemployment_balance"].attrs["units"] == "CNY"
    assert baseline["injury_long_term_benefits"].attrs["units"] == "CNY/year"
    assert baseline["injury_months_of_reserve"].attrs["units"] == "months"
    assert baseline["injury_coverage"].dims == ("province",)


# --------------------------------------------------------------------------------------------
# By hand


def test_unemployment_by_hand_guizhou_2030(baseline):
    p, year = "CN-GZ", 2030
    workers_2020 = float(baseline["employee_pension_contributors"].sel(province=p, year=2020).sum())
    coverage = 2_979_300 / workers_2020  # seed 000: 297.93 万 UI insured in 2020
    assert float(baseline["unemployment_coverage"].sel(province=p)) == pytest.approx(coverage, rel=1e-12)
    by_age = baseline["employee_pension_contributors"].sel(province=p, year=year).sum("sex").values  # (A,)
    wage = _wage(p, year)
    # contributions = insured x 12 x wage x 1 % x collection 0.7712 (derived from the 2023 bulletin)
    insured = coverage * by_age.sum()
    at = baseline.sel(province=p, year=year)
    assert float(at["unemployment_contributors"]) == pytest.approx(insured, rel=1e-12)
    contributions = insured * 12 * wage * 0.01 * 0.7712
    assert float(at["unemployment_contributions"]) == pytest.approx(contributions, rel=1e-9)
    # entitlement by contribution years = age - 16: below 1 year none, [1, 5) 12, [5, 10) 18, 10+ 24 months;
    # entrants = insured with an entitlement x inflow 0.01535; each draws 0.4846 of the entitlement
    ages = np.arange(by_age.size)
    years = ages - 16
    months = np.select([years < 1, years < 5, years < 10], [0, 12, 18], 24)
    entrants = coverage * 0.01535 * by_age[months > 0].sum()
    beneficiaries = coverage * 0.01535 * 1.0 * 0.4846 * (by_age * months / 12).sum()
    assert float(at["unemployment_beneficiaries"]) == pytest.approx(beneficiaries, rel=1e-9)
    assert float(at["unemployment_recipients_during_year"]) == pytest.approx(beneficiaries + entrants, rel=1e-9)
    # benefit = 83.66 % (the national default) of Guizhou's 2025 first-tier minimum wage 2130, moved with wages
    benefit = 0.8356 * 2130 * wage / _wage(p, 2025)
    assert float(at["unemployment_average_benefit"]) == pytest.approx(benefit, rel=1e-9)
    assert float(at["unemployment_benefits"]) == pytest.approx(beneficiaries * 12 * benefit, rel=1e-9)
    # 2024: the 2025 minimum wage deflated by one year of wage growth, 0.8356 x 2130 / 1.0536 = 1689.28
    in_2024 = float(baseline["unemployment_average_benefit"].sel(province=p, year=2024))
    assert in_2024 == pytest.approx(0.8356 * 2130 / 1.0536, rel=1e-12)
    # other spending: 44.66 % of contributions (the 2023 bulletin's spending besides benefits); no refunds
    assert float(at["unemployment_other_spending"]) == pytest.approx(0.4474 * contributions, rel=1e-9)
    assert float(at["unemployment_refunds"]) == 0.0 and float(at["unemployment_subsidies"]) == 0.0


def test_unemployment_province_year_with_refunds_by_hand(tmp_path, baseline):
    # Hebei 2030 with job-retention refunds of 50 % and skills subsidies of 10 % of contributions from 2027:
    # the whole account line of the year, from the model's insured, the wage and the parameters
    changes = ("  unemployment.refund_share:\n    2027-01-01: 0.5\n"
               "  unemployment.skills_subsidy_share:\n    2027-01-01: 0.1\n")
    ds = ssp.run(_scenario(tmp_path, "refunds", changes, 2035))
    p = "CN-HE"
    at, before = ds.sel(province=p, year=2030), ds.sel(province=p, year=2029)
    contributions = float(at["unemployment_contributors"]) * 12 * _wage(p, 2030) * 0.01 * 0.7712
    assert float(at["unemployment_contributions"]) == pytest.approx(contributions, rel=1e-9)
    benefits = float(at["unemployment_beneficiaries"]) * 12 * float(at["unemployment_average_benefit"])
    refunds, subsidies, other = 0.5 * contributions, 0.1 * contributions, 0.4474 * contributions
    assert float(at["unemployment_refunds"]) == pytest.approx(refunds, rel=1e-9)
    assert float(at["unemployment_subsidies"]) == pytest.approx(subsidies, rel=1e-9)
    expenditure = benefits + refunds + subsidies + other
    assert float(at["unemployment_expenditure"]) == pytest.approx(expenditure, rel=1e-9)
    income = 0.0225 * float(before["unemployment_balance"])     # employee_pension.investment_return 2030
    assert float(at["unemployment_investment_income"]) == pytest.approx(income, rel=1e-9)
    assert float(at["unemployment_balance"]) == pytest.approx(
        float(before["unemployment_balance"]) + contributions + income - expenditure, rel=1e-9)
    # spending more than it collects from 2027: Hebei's fund falls every year after
    assert (ds["unemployment_balance"].sel(province=p).diff("year").sel(year=slice(2027, 2035)) < 0).all()
    # before the refunds start, the same as the baseline (the opening does not depend on them)
    np.testing.assert_allclose(ds["unemployment_balance"].sel(year=slice(2023, 2026)),
                               baseline["unemployment_balance"].sel(year=slice(2023, 2026)), rtol=1e-12)


def test_injury_by_hand_guangdong(baseline):
    p = "CN-GD"
    at = baseline.sel(province=p)
    workers_2020 = float(baseline["employee_pension_contributors"].sel(province=p, year=2020).sum())
    coverage = 38_670_000 / workers_2020  # seed 003 G32
    insured_2030 = coverage * float(baseline["employee_pension_contributors"].sel(province=p, year=2030).sum())
    wage_2030 = _wage(p, 2030)
    assert float(at["injury_contributions"].sel(year=2030)) == pytest.approx(
        insured_2030 * 12 * wage_2030 * 0.0017 * 0.8, rel=1e-9)  # G25: 0.17 %, collection 0.8
    # the allowance: 4426 / 7647 of the average wage (G13): 2024 = 0.5787891 x 9183 = 5315.02 CNY/month
    assert float(at["injury_average_benefit"].sel(year=2024)) == pytest.approx(0.5787891 * 9183, rel=1e-12)
    recipients = at["injury_long_term_recipients"].sel(year=2030)
    assert float(at["injury_long_term_benefits"].sel(year=2030)) == pytest.approx(
        12 * float(recipients) * 0.5787891 * wage_2030, rel=1e-9)
    # one-off: the year's cases (0.31 % of the insured) less the long-term 2 %, x m months of wage
    months = float(baseline["injury_one_off_payment_months"].sel(province=p))
    assert float(at["injury_one_off_benefits"].sel(year=2030)) == pytest.approx(
        insured_2030 * 0.0031 * 0.98 * months * wage_2030, rel=1e-9)
    # m makes the first account year spend its contributions x the 2021 bulletin's national ratio of
    # expenditure to contributions, 99.0 / (95.2 - 0.0669 x (141.1 - 95.2 + 99.0)) = 1.1578 (no prevention)
    first = at.sel(year=_first_account_year(baseline, "injury"))
    assert injury.spending_ratio(ssp.load_scenario("baseline").parameters) == pytest.approx(
        99.0 / (95.2 - 0.0669 * 144.9), rel=1e-12)
    assert float(first["injury_contributions"]) * 99.0 / (95.2 - 0.0669 * 144.9) == pytest.approx(
        float(first["injury_one_off_benefits"] + first["injury_long_term_benefits"]), rel=1e-12)
    assert float(first["injury_prevention"]) == 0.0
    assert 0 < months < 12
    # beneficiaries: the year's cases (one-off and long-term) + the long-term recipients
    assert float(at["injury_beneficiaries"].sel(year=2030)) == pytest.approx(
        insured_2030 * 0.0031 + float(recipients), rel=1e-9)


def test_long_term_stock_by_hand():
    # one province, one sex, three ages, two fund years after one earlier year
    insured = np.zeros((1, 1, 3, 3))
    retirees = np.zeros((1, 1, 3, 3))
    insured[0, 0] = [[100, 100, 100], [100, 100, 50], [100, 100, 40]]   # age 2 half retired in year 1
    retirees[0, 0] = [[0, 0, 0], [0, 0, 50], [0, 0, 60]]
    population = np.full((3, 1, 1, 3), 200.0)
    population[2, 0, 0, 2] = 180.0  # the oldest cohort loses 10 % of its residents in the last year
    new_rate = np.array([[0.01, 0.02]])
    residents = np.moveaxis(population, 0, 2)                                   # (P, S, Y, A)
    carried = injury.carried_working_share(insured / residents, retirees / residents)
    for kernel in (injury.long_term_stock, injury.long_term_stock_numpy):
        stock = np.empty((1, 2))
        kernel(insured, retirees, population[None], carried, 1, new_rate, stock)
        # year 1 (stationary): age 0: 1; age 1: 1 x 1 + 1 = 2; age 2: 2 x (0.5 / 1) + 0.5 = 1.5 -> 4.5
        # year 2: age 0: 2; age 1: 1 + 2 = 3; age 2: the open age gathers ages 1 and 2 of year 1,
        #   (2 + 1.5) x min(1, 0.4 / 0.75) x min(1, 180 / 400) + 40 x 0.02 = 3.5 x 0.5333 x 0.45 + 0.8 = 1.64
        np.testing.assert_allclose(stock, [[4.5, 2 + 3 + 3.5 * (0.4 / 0.75) * 0.45 + 0.8]], rtol=1e-12)


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 3), st.integers(1, 5), st.integers(2, 8), st.integers(0, 2**32 - 1))
def test_long_term_kernel_equals_numpy(n_prov, n_years, n_age, seed):
    rng = np.random.default_rng(seed)
    n_all = n_years + 2
    shape = (n_prov, 2, n_all, n_age)
    # the labour stage's shares of residents (some 0), the cubes their products with the residents
    insured_share, retiree_share = _random_shares(rng, shape)
    residents = rng.uniform(0, 1e4, shape) * (rng.uniform(0, 1, shape) > 0.1)   # some cohorts empty
    insured, retirees = insured_share * residents, retiree_share * residents
    population = np.moveaxis(residents, 2, 0).copy()
    carried = injury.carried_working_share(insured_share, retiree_share)
    new_rate = rng.uniform(0, 0.01, (n_prov, n_years))
    fast, slow = np.empty((n_prov, n_years)), np.empty((n_prov, n_years))
    injury.long_term_stock(insured, retirees, population[None], carried, 2, new_rate, fast)
    injury.long_term_stock_numpy(insured, retirees, population[None], carried, 2, new_rate, slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-9)


def _random_shares(rng, shape):
    """Shares of residents insured and drawing a pension by cohort, some of either 0 (some cohorts
    with neither), as the labour stage publishes them."""
    return (rng.uniform(0, 0.6, shape) * (rng.uniform(0, 1, shape) > 0.2),
            rng.uniform(0, 0.4, shape) * (rng.uniform(0, 1, shape) > 0.3))


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(2, 9), st.integers(0, 2**32 - 1))
def test_carried_working_share_is_that_of_the_cubes(n_prov, n_years, n_age, seed):
    # with the cubes share x residents, min(1, W / W_before) on the cubes (the rule by cohort, one
    # year younger last year; W the insured over insured and pensioners) is the draw-free factor
    # wherever both cohorts have residents (where either has none, the stock's factor is 0 either way);
    # the kernel and its numpy reference give it to the bit
    rng = np.random.default_rng(seed)
    shape = (n_prov, 2, n_years, n_age)
    insured_share, retiree_share = _random_shares(rng, shape)
    residents = rng.uniform(1.0, 1e4, shape)
    insured, retirees = insured_share * residents, retiree_share * residents
    with np.errstate(divide="ignore", invalid="ignore"):
        working = np.where(insured + retirees > 0, insured / (insured + retirees), 1.0)
        before, now = working[..., :-1, :-2], working[..., 1:, 1:-1]
        from_cubes = np.where(before > 0, np.minimum(1.0, now / before), 0.0)
    carried = injury.carried_working_share(insured_share, retiree_share)
    fast, slow = np.full(shape, np.nan), np.full(shape, np.nan)  # every cell written by both
    injury.carried_working_share_kernel(insured_share, retiree_share, fast)
    injury.carried_working_share_numpy(insured_share, retiree_share, slow)
    np.testing.assert_array_equal(fast, slow)
    np.testing.assert_array_equal(carried, fast)
    np.testing.assert_allclose(carried[..., 1:, 1:-1], from_cubes, rtol=1e-12, atol=1e-15)
    assert np.all(carried[..., 0, :] == 0.0) and np.all(carried[..., 0] == 0.0) and np.all(carried[..., -1] == 0.0)
    assert np.all((carried >= 0.0) & (carried <= 1.0))


def test_stage_numba_equals_numpy(baseline):
    scenario = ssp.load_scenario("baseline")
    fast = injury.project_injury(baseline, scenario)
    slow = injury.project_injury(baseline, scenario, engine="numpy")
    for name in ("injury_long_term_recipients", "injury_balance"):
        # the two sum in different orders along 77 years of recursion: 4e-12 apart at worst in the baseline
        np.testing.assert_allclose(fast[name].values, slow[name].values, rtol=1e-10, equal_nan=True)


# --------------------------------------------------------------------------------------------
# Scenarios


def test_recession_raises_spending_then_lowers_the_balance(tmp_path, baseline):
    # the inflow doubled (0.01535 -> 0.0307) for the three years 2027-2029 only
    path = _scenario(tmp_path, "recession", "  unemployment.inflow_rate:\n    2027-01-01/2029-12-31: 0.0307\n", 2040)
    recession = ssp.run(path)
    base = baseline.sel(year=recession["year"])
    ratio = (recession["unemployment_benefits"] / base["unemployment_benefits"])
    np.testing.assert_allclose(ratio.sel(year=slice(2027, 2029)), 2.0, rtol=1e-12)
    np.testing.assert_allclose(ratio.sel(year=[2024, 2025, 2026, 2030, 2035, 2040]), 1.0, rtol=1e-12)
    assert (recession["unemployment_expenditure"] > base["unemployment_expenditure"]).sel(
        year=slice(2027, 2029)).all()
    lower = (recession["unemployment_balance"] < base["unemployment_balance"]).sel(year=slice(2027, 2040))
    assert lower.all(), "every province's balance is lower from 2027 on"
    np.testing.assert_allclose(recession["unemployment_balance"].sel(year=2026),
                               base["unemployment_balance"].sel(year=2026), rtol=1e-12)
    # revenue is untouched but for the investment income on the lower balance
    np.testing.assert_allclose(recession["unemployment_contributions"], base["unemployment_contributions"], rtol=1e-12)


def test_lower_incidence_lowers_long_term_payouts_every_later_year(tmp_path, baseline):
    path = _scenario(tmp_path, "safer", "  injury.incidence_rate:\n    2027-01-01: 0.002\n", 2070)
    safer = ssp.run(path)
    base = baseline.sel(year=safer["year"])
    for name in ("injury_long_term_benefits", "injury_long_term_recipients", "injury_one_off_benefits",
                 "injury_expenditure"):
        assert (safer[name] < base[name]).sel(year=slice(2027, 2070)).all(), name
        np.testing.assert_allclose(safer[name].sel(year=slice(2024, 2026)), base[name].sel(year=slice(2024, 2026)),
                                   rtol=1e-12)
    assert (safer["injury_balance"] > base["injury_balance"]).sel(year=slice(2027, 2070)).all()


def test_refunds_prevention_and_an_industry_class(tmp_path, baseline):
    changes = ("  unemployment.refund_share:\n    2027-01-01: 0.5\n"
               "  unemployment.skills_subsidy_share:\n    2027-01-01: 0.1\n"
               "  injury.prevention_share:\n    2027-01-01: 0.03\n"
               "  injury.industry_class:\n    provinces:\n      CN-GD: {2027-01-01: 2}\n")
    ds = ssp.run(_scenario(tmp_path, "levers", changes, 2035))
    at = ds.sel(year=2030)
    np.testing.assert_allclose(at["unemployment_refunds"], 0.5 * at["unemployment_contributions"], rtol=1e-12)
    np.testing.assert_allclose(at["unemployment_subsidies"], 0.1 * at["unemployment_contributions"], rtol=1e-12)
    np.testing.assert_allclose(at["injury_prevention"], 0.03 * at["injury_contributions"], rtol=1e-12)
    assert (ds["unemployment_balance"] < baseline["unemployment_balance"].sel(year=ds["year"])).sel(
        year=slice(2027, None)).all()
    # Guangdong's employers pay the class-2 base rate, 0.4 % (人社部发〔2015〕71号), instead of 0.17 %
    gd = ds.sel(province="CN-GD", year=2030)
    assert float(gd["injury_contributions"]) == pytest.approx(
        float(gd["injury_contributors"]) * 12 * _wage("CN-GD", 2030) * 0.004 * 0.8, rel=1e-9)
    hebei = ds.sel(province="CN-HE", year=2030)
    assert float(hebei["injury_contributions"]) == pytest.approx(
        float(baseline["injury_contributions"].sel(province="CN-HE", year=2030)), rel=1e-12)


def test_a_province_subset_keeps_the_calibration(baseline):
    guangdong = ssp.run("guangdong_14th_plan")  # CN-GD only
    for name in ("unemployment_contributors", "unemployment_balance", "injury_contributors", "injury_balance"):
        np.testing.assert_allclose(guangdong[name].sel(province="CN-GD"),
                                   baseline[name].sel(province="CN-GD"), rtol=1e-12, equal_nan=True)


def test_a_stochastic_run_of_a_subset_keeps_the_national_calibration(baseline):
    # a stochastic run of a scenario with provinces (Guizhou here) projects all 31 and reports Guizhou:
    # its coverage and opening balances are the full projection's, so the years before the draws
    # diverge are the baseline's
    draws = ssp.run("guizhou_14th_plan", draws=2, seed=1)
    for name in ("unemployment_balance", "injury_balance", "unemployment_revenue", "injury_expenditure"):
        np.testing.assert_allclose(draws[name].sel(province="CN-GZ", year=[2023, 2024]),
                                   np.broadcast_to(baseline[name].sel(province="CN-GZ", year=[2023, 2024]), (2, 2)),
                                   rtol=1e-6, err_msg=name)


# --------------------------------------------------------------------------------------------
# The seeds: 2020 actuals and 2025 targets


def test_the_model_against_the_seeds(baseline):
    """The model's 2020 and 2025 figures against the seeds (printed with ``pytest -s``):

    ======================  ========  ===========  ===========  ===========  ===========
    figure                  province   model 2020    seed 2020   model 2025  target 2025
    ======================  ========  ===========  ===========  ===========  ===========
    UI insured              CN-GD      36,030,000   36,030,000   37,199,189   37,000,000
    UI insured              CN-HE       6,920,000    6,920,000    6,684,535    7,920,000
    UI insured              CN-GZ       2,979,300    2,979,300    3,000,038    3,300,000
    injury insured          CN-GD      38,670,000   38,670,000   39,924,858   39,500,000
    injury insured          CN-HE      10,690,000   10,690,000   10,326,253   11,190,000
    injury insured          CN-GZ       4,637,800    4,637,800    4,670,082    5,000,000
    UI revenue [CNY]        CN-GZ       1.915e9      1.5e9        2.402e9      2.4e9
    injury revenue [CNY]    CN-GZ       0.932e9      0.932e9      1.158e9      2.5e9
    UI benefit [CNY/month]  CN-GD       1,778        1,691
    UI benefit [CNY/month]  CN-GZ       1,473        1,611
    disability allowance    CN-GD       4,426        4,426
    ======================  ========  ===========  ===========  ===========  ===========

    The 2020 insured, Guizhou's 2020 injury revenue and Guangdong's allowance are calibrated or
    derived from these figures and must hold; the rest are checked within stated bands.
    """
    ds = baseline
    workers = ds["employee_pension_contributors"].sum(("sex", "age"))
    rows = []
    # (scheme, province, seed 2020 actual, plan target 2025)
    for scheme, seeds in {
        "unemployment": {"CN-GD": (36_030_000, 37_000_000), "CN-HE": (6_920_000, 7_920_000),
                         "CN-GZ": (2_979_300, 3_300_000)},
        "injury": {"CN-GD": (38_670_000, 39_500_000), "CN-HE": (10_690_000, 11_190_000),
                   "CN-GZ": (4_637_800, 5_000_000)},
    }.items():
        for province, (actual, target) in seeds.items():
            coverage = float(ds[f"{scheme}_coverage"].sel(province=province))
            model_2020 = coverage * float(workers.sel(province=province, year=2020))
            model_2025 = float(ds[f"{scheme}_contributors"].sel(province=province, year=2025))
            rows.append((f"{scheme} insured", province, model_2020, actual, model_2025, target))
            assert model_2020 == pytest.approx(actual, rel=1e-9), (scheme, province)  # calibrated
    # Guizhou's fund revenue (seed 000): 2020 actual and the 2025 target
    rate_2020 = {"unemployment": 0.01, "injury": 0.0032816}
    for scheme, actual, target in (("unemployment", 1.5e9, 2.4e9), ("injury", 0.932e9, 2.5e9)):
        insured_2020 = {"unemployment": 2_979_300, "injury": 4_637_800}[scheme]
        collection = {"unemployment": 0.7712, "injury": 0.8}[scheme]
        model_2020 = insured_2020 * 12 * _wage("CN-GZ", 2020) * rate_2020[scheme] * collection
        model_2025 = float(ds[f"{scheme}_revenue"].sel(province="CN-GZ", year=2025))
        rows.append((f"{scheme} revenue", "CN-GZ", model_2020, actual, model_2025, target))
    # average benefits of 2020 (seed 003 G10, G13; seed 000): 2025's rule moved back with the average wage
    # (Guangdong 90 %, seed 003; Guizhou the national default 83.66 %, from the 2023 bulletin)
    for province, share, tier1, actual in (("CN-GD", 0.9, 2500, 1691), ("CN-GZ", 0.8356, 2130, 1611)):
        model = share * tier1 * _wage(province, 2020) / _wage(province, 2025)
        rows.append(("UI benefit [CNY/month]", province, model, actual, np.nan, np.nan))
    allowance = 0.5787891 * _wage("CN-GD", 2020)
    rows.append(("disability allowance [CNY/month]", "CN-GD", allowance, 4426, np.nan, np.nan))
    table = pd.DataFrame(rows, columns=["figure", "province", "model 2020", "seed 2020", "model 2025", "target 2025"])
    print("\n" + table.to_string(float_format=lambda x: f"{x:,.0f}"))

    figures = table.set_index(["figure", "province"])
    # calibrated or derived from the seed: exact up to the rounding of the parameters
    assert figures.loc[("injury revenue", "CN-GZ"), "model 2020"] == pytest.approx(0.932e9, rel=1e-5)
    assert figures.loc[("disability allowance [CNY/month]", "CN-GD"), "model 2020"] == pytest.approx(4426, rel=1e-6)
    # not calibrated, shown with the reason they differ (params/SOURCES.md#unemployment-and-work-injury):
    # Guizhou's 2020 UI revenue was cut by fee relief (model 1.91 bn against 1.5 bn collected)
    assert 1.0 < figures.loc[("unemployment revenue", "CN-GZ"), "model 2020"] / 1.5e9 < 1.3
    # benefits: Guangdong's own 90 % within 6 % of its seed's 2020 average; Guizhou at the national
    # default (the bulletin's 2023 average) 8.6 % below its seed's 1,611
    for province, band in (("CN-GD", 0.06), ("CN-GZ", 0.10)):
        model, seed = figures.loc[("UI benefit [CNY/month]", province), ["model 2020", "seed 2020"]]
        assert abs(model / seed - 1) < band, province
    # 2025: insured within 21 % of the plan targets. The model holds each province's 2020 ratio to
    # urban-employee insured workers, which grow 2020-2024 with the coverage trend fitted to the
    # national bulletin (issue #13 item 1): Guangdong's UI and injury insured then exceed its plan's
    # modest 2025 targets by 20 %
    enrolment = table[table["figure"].str.endswith("insured")]
    assert (abs(enrolment["model 2025"] / enrolment["target 2025"] - 1) < 0.21).all()
    # Guizhou's UI revenue reaches the plan's 2.4 bn within 15 % (2.40 bn with the collection factor of
    # the 2023 bulletin while coverage was frozen; 2.65 bn since issue #13's coverage trend lets its
    # insured grow 2020-2024); its injury target (2.5 bn, x2.7 on 2020) is out of reach at constant rates
    assert figures.loc[("unemployment revenue", "CN-GZ"), "model 2025"] == pytest.approx(2.4e9, rel=0.15)
    assert figures.loc[("injury revenue", "CN-GZ"), "model 2025"] < 0.6 * 2.5e9


def test_seed_parameters_hold_the_seed_figures():
    parameters = ssp.load_scenario("baseline").parameters
    assert parameters.get("unemployment.contribution_rate").at("2020-07-01", "CN-GD") == 0.0064   # G22
    assert parameters.get("injury.average_rate").at("2020-07-01", "CN-GD") == 0.0017              # G25
    incidence = parameters.get("injury.incidence_rate")
    assert (incidence.at("2015-07-01", "CN-GD"), incidence.at("2020-07-01", "CN-GD")) == (0.0047, 0.0031)  # G01-02
    ratio = parameters.get("injury.disability_allowance_ratio")
    assert ratio.at("2015-07-01", "CN-GD") * 5324.33 == pytest.approx(2738, rel=1e-6)               # G14
    assert ratio.at("2020-07-01", "CN-GD") * 7647 == pytest.approx(4426, rel=1e-6)                  # G13
    average = parameters.get("injury.average_rate")
    assert average.at("2030-01-01", "CN-GZ") == pytest.approx(0.932e9 / (4_637_800 * 12 * 6378.92 * 0.8), rel=1e-4)


# --------------------------------------------------------------------------------------------
# Bad input: stopped before anything is computed, naming the parameter and what is accepted


def _never_computed(ds, scenario):
    raise AssertionError("a stage computed before the input was checked")


STAGES_AFTER_A_TRAP = (_never_computed, unemployment.project_unemployment, injury.project_injury)


@pytest.mark.parametrize("change, key, expected", [
    ("  unemployment.contribution_rate:\n    2027-01-01: -0.01\n", "unemployment.contribution_rate",
     r"a value in \[0, 0\.05\]"),
    ("  injury.average_rate:\n    provinces:\n      CN-GD: {2027-01-01: -0.002}\n", "injury.average_rate",
     r"a value in \[0, 0\.05\]"),
    ("  unemployment.inflow_rate:\n    2027-01-01/2029-12-31: -0.04\n", "unemployment.inflow_rate",
     r"a value in \[0, 1\]"),
    ("  unemployment.benefit_share_of_minimum_wage:\n    2027-01-01: 1.2\n",
     "unemployment.benefit_share_of_minimum_wage", r"a value in \[0, 1\]"),
    ("  unemployment.refund_share:\n    2027-01-01: 1.5\n", "unemployment.refund_share", r"a value in \[0, 1\]"),
    ("  unemployment.other_spending_share:\n    provinces:\n      CN-HE: {2030-01-01: -0.1}\n",
     "unemployment.other_spending_share", r"a value in \[0, 1\]"),
    ("  unemployment.duration_share:\n    2027-01-01: 1.2\n", "unemployment.duration_share", r"a value in \[0, 1\]"),
    ("  injury.incidence_rate:\n    2027-01-01: -0.001\n", "injury.incidence_rate", r"a value in \[0, 1\]"),
    ("  injury.industry_class:\n    2027-01-01: 9\n", "injury.industry_class",
     r"industry class 9 does not exist \(expected 0 \(the province's average rate\) or a whole class 1\.\.8"),
    ("  injury.industry_class:\n    provinces:\n      CN-GZ: {2030-01-01: 2.5}\n", "injury.industry_class",
     r"CN-GZ: 2030-01-01: industry class 2\.5 does not exist .*1\.\.8"),
])
def test_bad_scenario_values_are_refused(tmp_path, change, key, expected):
    path = _scenario(tmp_path, "bad", change)
    with pytest.raises(InputError, match=key.replace(".", r"\.")) as error:
        ssp.run(path, stages=STAGES_AFTER_A_TRAP)
    assert "bad.yaml" in str(error.value)
    assert pd.Series([str(error.value)]).str.contains(expected).all(), str(error.value)




def _edit(path, old, new):
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("old, new, message", [
    ("5,10,18\n", "", r"min_contribution_years: gap between 5 and 10 contribution years \(expected contiguous"),
    ("10,,24\n", "12,,24\n", r"min_contribution_years: gap between 10 and 12 contribution years"),
    ("5,10,18\n", "4,10,18\n", r"min_contribution_years: ranges \[1, 5\) and \[4, \.\.\.\) overlap"),
    ("10,,24\n", "10,,36\n", r"months: value 36\.0 \(expected months in \[0, 24\]"),
])
def test_a_duration_table_with_gaps_is_refused(params_copy, old, new, message):
    _edit(params_copy / "social_insurance/unemployment_benefit_duration.csv", old, new)
    with pytest.raises(InputError, match=r"unemployment_benefit_duration\.csv: " + message):
        ssp.run("baseline", stages=STAGES_AFTER_A_TRAP)


def test_an_industry_class_in_the_parameter_file_is_refused(params_copy):
    _edit(params_copy / "parameters/injury/industry_class.yaml", "  2020-01-01: 0\n", "  2020-01-01: 0\n"
          "provinces:\n  CN-HE: {2026-01-01: 0, 2030-01-01: 11}\n")
    with pytest.raises(InputError, match=r"industry_class\.yaml: injury\.industry_class: CN-HE: 2030-01-01: "
                                         r"industry class 11 does not exist"):
        ssp.run("baseline", stages=STAGES_AFTER_A_TRAP)


def test_a_base_rate_table_without_a_class_is_refused(params_copy):
    _edit(params_copy / "social_insurance/injury_industry_base_rates.csv", "3,0.007\n", "")
    with pytest.raises(InputError,
                       match=r"injury_industry_base_rates\.csv: industry_class: .*expected the classes 1, 2"):
        ssp.run("baseline", stages=STAGES_AFTER_A_TRAP)


def test_a_dataset_of_fewer_than_31_provinces_is_refused(baseline):
    # the two funds are calibrated to national bulletin figures: ssp.run projects all 31 provinces
    # and selects after, so a hand-made Dataset of some provinces is refused, not calibrated on them
    from socsec_proj.funds import unemployment

    some = baseline.sel(province=["CN-GD", "CN-GZ"])
    with pytest.raises(InputError, match="holds 2 provinces"):
        unemployment.project_unemployment(some, ssp.load_scenario("baseline"))

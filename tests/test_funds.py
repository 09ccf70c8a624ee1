"""Pension funds: the benefit formula, the accounts, calibration to 2024, and what policy does to them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import socsec_proj as ssp
from socsec_proj.errors import InputError
from socsec_proj.funds import _kernels, accounts
from socsec_proj.funds.employee_pension import annuity_divisor_at, benefit_formula
from socsec_proj.inputs import data

FLOWS = ("revenue", "expenditure", "balance")


def _scenario(tmp_path, name, changes, horizon=2060):
    path = tmp_path / f"{name}.yaml"
    path.write_text(f"name: {name}\ndescription: test\nhorizon: {horizon}\nchanges:\n{changes}")
    return ssp.run(path)


def test_benefit_formula_by_hand():
    # average wage 8000, own index 1.2, 30 years: (8000 + 9600) / 2 x 30 x 1 % = 2640
    basic, account, transitional = benefit_formula(8000.0, 1.2, 30.0, 150_000.0, annuity_divisor_at(60))
    assert float(basic) == pytest.approx(2640.0)
    # an account of 150,000 at 60: 150,000 / 139 = 1079.14
    assert float(account) == pytest.approx(1079.14, abs=0.005)
    assert float(transitional) == 0.0
    _, at_55, _ = benefit_formula(8000.0, 1.0, 30.0, 150_000.0, annuity_divisor_at(55))
    assert float(at_55) == pytest.approx(150_000 / 170)
    assert annuity_divisor_at(50) == 195 and annuity_divisor_at(63) == 117
    assert annuity_divisor_at(60.5) == pytest.approx((139 + 132) / 2)


@pytest.mark.parametrize("scheme", ["employee_pension", "resident_pension"])
def test_balance_identity(baseline, scheme):
    balance = baseline[f"{scheme}_balance"]
    change = balance - balance.shift(year=1)
    flows = baseline[f"{scheme}_revenue"] - baseline[f"{scheme}_expenditure"]
    # every year from the first fund year 2020 (the history 2020-2023 included)
    later = change.sel(year=slice(2021, None))
    np.testing.assert_allclose(later, flows.sel(year=slice(2021, None)), rtol=1e-9,
                               atol=1e-9 * float(abs(balance).max()))
    # 2020 from the balance at the end of 2019, which the return of 2020 (6.04 %) was earned on
    first = baseline.sel(year=2020)
    opening = first[f"{scheme}_investment_income"] / 0.0604
    np.testing.assert_allclose(first[f"{scheme}_balance"], opening + flows.sel(year=2020), rtol=1e-9,
                               atol=1e-9 * float(abs(balance).max()))
    assert not bool(balance.sel(year=slice(2020, None)).isnull().any())
    parts = sum(baseline[f"{scheme}_{part}"] for part in ("contributions", "subsidy", "investment_income"))
    if scheme == "employee_pension":
        parts = parts + baseline["employee_pension_pooling_transfer"]
        both = baseline["employee_pension_central_subsidy"] + baseline["employee_pension_local_subsidy"]
        np.testing.assert_allclose(both, baseline["employee_pension_subsidy"], rtol=1e-12)
    np.testing.assert_allclose(parts.sel(year=slice(2020, None)), baseline[f"{scheme}_revenue"].sel(
        year=slice(2020, None)), rtol=1e-12)
    paying = baseline[f"{scheme}_expenditure"] > 0  # (a province can run out of resident beneficiaries)
    months = baseline[f"{scheme}_balance"] / (baseline[f"{scheme}_expenditure"] / 12)
    np.testing.assert_allclose(baseline[f"{scheme}_months_of_reserve"].where(paying), months.where(paying), rtol=1e-12)


def test_pooling_transfers_sum_to_zero(baseline):
    transfers = baseline["employee_pension_pooling_transfer"].sel(year=slice(2020, None))
    for year in transfers["year"].values:
        assert abs(math.fsum(transfers.sel(year=year).values)) < 1e-6, year
    assert float(abs(transfers).max()) > 1e9  # real money moves
    # a young province with migrant inflows pays in, the north-east draws out
    assert float(baseline["employee_pension_pooling_transfer"].sel(province="CN-GD", year=2024)) < 0
    assert float(baseline["employee_pension_pooling_transfer"].sel(province="CN-HL", year=2024)) > 0


@pytest.mark.parametrize("scheme, table", [("employee_pension", "employee"), ("resident_pension", "resident")])
def test_2024_calibration_all_provinces(baseline, scheme, table):
    yearbook = {"employee": data.yearbook_employee_pension, "resident": data.yearbook_resident_pension}[table]()
    at = baseline.sel(year=2024)
    for quantity, column in zip(FLOWS, ("fund_revenue", "fund_expenditure", "accumulated_balance")):
        model = at[f"{scheme}_{quantity}"].to_series().loc[yearbook.index]
        np.testing.assert_allclose(model, yearbook[column], rtol=0.01, err_msg=f"{scheme}_{quantity}")
    # Guangdong by hand (yearbook 2024, 表24-26): revenue 7881.7, expenditure 4313.2, balance 20258.8 (100 M CNY)
    if scheme == "employee_pension":
        assert float(at["employee_pension_revenue"].sel(province="CN-GD")) == pytest.approx(7881.7e8, rel=1e-6)
        assert float(at["employee_pension_balance"].sel(province="CN-GD")) == pytest.approx(20258.8e8, rel=1e-6)


def test_revenue_split_is_non_negative(baseline):
    at = baseline.sel(year=2024)
    assert float(at["employee_pension_subsidy"].min()) >= -1e-3
    assert float(at["employee_pension_contributions"].min()) > 0
    assert float(baseline["employee_pension_contribution_factor"].max()) <= 1.0


def test_higher_contribution_rate_never_lowers_a_balance(tmp_path, baseline):
    higher = _scenario(tmp_path, "higher_rate", "  employee_pension.employer_rate:\n    2027-01-01: 0.18\n")
    diff = (higher["employee_pension_balance"] - baseline["employee_pension_balance"].sel(year=higher["year"]))
    assert float(diff.sel(year=slice(2024, None)).min()) >= -1e-6 * float(abs(baseline["employee_pension_balance"]).max())
    assert float(diff.sel(year=2030).sum()) > 0


def test_delay_improves_the_national_balance_in_2035(baseline):
    no_delay = ssp.run("no_retirement_delay")
    law = float(baseline["employee_pension_balance"].sel(year=2035).sum())
    old = float(no_delay["employee_pension_balance"].sel(year=2035).sum())
    assert law > old
    # later retirement raises new pensions: a cohort retiring later has more years and a smaller divisor
    assert float(baseline["employee_pension_average_benefit"].sel(year=2040).mean()) > \
        float(no_delay["employee_pension_average_benefit"].sel(year=2040).mean())


def test_zero_indexation_never_pays_more_than_two_percent(tmp_path):
    fixed = "  employee_pension.indexation_rule:\n    2026-01-01: fixed\n"  # the baseline's rule is wage_share
    zero = _scenario(tmp_path, "zero_index", fixed + "  employee_pension.pension_increase:\n    2026-01-01: 0.0\n")
    two = _scenario(tmp_path, "two_index", fixed + "  employee_pension.pension_increase:\n    2026-01-01: 0.02\n")
    diff = (two["employee_pension_expenditure"] - zero["employee_pension_expenditure"]).sel(year=slice(2024, None))
    assert float(diff.min()) >= -1e-6
    assert float(diff.sel(year=2040).sum()) > 0


def test_subsidy_freeze_lowers_the_balance(tmp_path, baseline):
    frozen = _scenario(tmp_path, "frozen", "  employee_pension.subsidy_rule:\n    2027-01-01: frozen\n")
    subsidy = frozen["employee_pension_subsidy"]
    np.testing.assert_allclose(subsidy.sel(year=2040), subsidy.sel(year=2026), rtol=1e-12)
    assert float(frozen["employee_pension_balance"].sel(year=2040).sum()) < \
        float(baseline["employee_pension_balance"].sel(year=2040).sum())


def test_no_subsidy_from_2025_lowers_every_balance(tmp_path, baseline):
    none = _scenario(tmp_path, "no_subsidy", "  employee_pension.subsidy_scale:\n    2025-01-01: 0.0\n")
    assert float(abs(none["employee_pension_subsidy"].sel(year=slice(2025, None))).max()) == 0.0
    assert float(none["employee_pension_subsidy"].sel(year=2024).sum()) > 0  # the calibration year stays
    diff = none["employee_pension_balance"] - baseline["employee_pension_balance"].sel(year=none["year"])
    # never higher (up to rounding), lower wherever a subsidy was paid
    assert float(diff.sel(year=slice(2025, None)).max()) <= 1e-12 * float(abs(baseline["employee_pension_balance"]).max())
    assert float(diff.sel(year=2035).sum()) < 0


def test_depletion_year_and_measures(baseline):
    years = ssp.depletion_year(baseline, "employee_pension")
    assert years.dims == ("province",)
    for province, year in years.to_series().dropna().items():
        balance = baseline["employee_pension_balance"].sel(province=province)
        assert float(balance.sel(year=int(year))) < 0
        assert float(balance.sel(year=slice(2024, int(year) - 1)).min()) >= 0
    national = ssp.national(baseline, "employee_pension")
    assert float(national["employee_pension_balance"].sel(year=2024)) == pytest.approx(70641.1e8, rel=1e-6)
    gap = ssp.general_average_premium(baseline, 2050, national_total=True)
    # above the 2024 cost rate (pensioners grow faster than payroll) and below 100 %
    national_cost = float(national["employee_pension_expenditure"].sel(year=2024)
                          / baseline["employee_pension_covered_payroll"].sel(year=2024).sum())
    assert national_cost < float(gap.squeeze()) < 1.0
    cost = ssp.cost_rate(baseline).sel(year=2024)
    assert 0.05 < float(cost.sel(province="CN-GD")) < float(cost.sel(province="CN-HL")) < 1.0


def test_depletion_year_on_a_hand_made_balance(baseline):
    ds = baseline[["employee_pension_balance"]].isel(province=[0, 1]).copy()
    values = np.full(ds["employee_pension_balance"].shape, 1.0)
    years = ds["year"].values
    values[0, years >= 2041] = -1.0
    ds["employee_pension_balance"] = (("province", "year"), values)
    out = ssp.depletion_year(ds, "employee_pension")
    assert out.values[0] == 2041 and np.isnan(out.values[1])


def test_first_year_below_zero_by_hand():
    from socsec_proj.funds.measures import first_year_below_zero

    years = np.array([2022, 2023, 2024, 2025, 2026])
    balance = np.array([[[-5.0, 1.0, 2.0, -1.0, -2.0],       # below zero before 2024 too: 2025 counts
                         [1.0, 1.0, 1.0, 1.0, 1.0],          # never
                         [np.nan, np.nan, 3.0, 0.0, -0.5]],  # zero is not below: 2026
                        [[np.nan] * 5, [np.nan] * 5, [np.nan] * 5]])  # a draw with no number
    by_province = first_year_below_zero(balance, years)
    np.testing.assert_array_equal(by_province, [[2025, np.nan, 2026], [np.nan] * 3])
    # China: 2022 -4 (before 2024), 2024 6, 2025 0, 2026 -1.5; NaN provinces count as nothing
    np.testing.assert_array_equal(first_year_below_zero(balance, years, national_total=True), [2026, np.nan])


def test_national_depletion_year_needs_provinces(baseline):
    national = baseline[["employee_pension_balance"]].sum("province")  # no province left to sum over
    with pytest.raises(InputError, match="no province dimension"):
        ssp.depletion_year(national, "employee_pension", national_total=True)
    assert ssp.depletion_year(national, "employee_pension").dims == ()  # its own first year, as before


def test_balancing_rate_keeps_the_fund_solvent(baseline):
    scenario = ssp.load_scenario("baseline")
    rate = ssp.balancing_contribution_rate(baseline, scenario, through_year=2060)
    assert 0.05 < rate < 0.5

    def national_min(r):
        changes = {"employee_pension.employer_rate": {"2026-01-01": r}}
        changed = scenario.model_copy(update={"parameters": scenario.parameters.with_changes(changes)})
        from socsec_proj.funds.employee_pension import project_employee_pension
        out = project_employee_pension(baseline, changed)["employee_pension_balance"].sum("province")
        return float(out.sel(year=slice(2026, 2060)).min())

    assert national_min(rate + 1e-4) >= 0.0
    assert national_min(rate - 1e-3) < 0.0


@settings(deadline=None, max_examples=30)
@given(st.integers(1, 3), st.integers(1, 4), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_pension_stock_kernel_equals_numpy(n_draws, n_prov, n_years, seed):
    rng = np.random.default_rng(seed)
    n_all, first, n_age = n_years + 2, 2, 12
    population = rng.uniform(0, 1e4, (n_draws, n_all, n_prov, 2, n_age))
    population[rng.uniform(0, 1, population.shape) < 0.1] = 0.0
    # the labour stage's shares of residents drawing a pension (the same in every draw), some 0
    share = rng.uniform(0, 1, (n_prov, 2, n_all, n_age)) * (rng.uniform(0, 1, (1, 1, 1, n_age)) > 0.2)
    retirees = (share * np.moveaxis(population, 1, 3)).reshape(n_draws * n_prov, 2, n_all, n_age)
    n_rows = n_draws * n_prov
    inputs = _kernels.PensionStockInputs(
        retirees=retirees, population=np.ascontiguousarray(population),
        continuing=_kernels.continuing_share(share), first=first,
        level=rng.uniform(0.5, 2.0, n_rows), wages=rng.uniform(5000, 9000, (n_rows, n_years + 1)),
        paid=np.cumsum(rng.uniform(0, 1e4, (n_rows, n_years + 1)), axis=1),
        start=rng.integers(0, n_years + 1, (n_years, n_age)), per_account=rng.uniform(0, 0.01, (n_years, n_age)),
        account_first=rng.uniform(0, 1.0, (n_years, n_age)), per_wage=rng.uniform(0, 0.5, (n_prov, n_years, n_age)),
        indexation=rng.uniform(0, 0.05, (n_rows, n_years)),
        base_benefit=rng.uniform(1000, 5000, n_rows))
    fast, slow = np.empty((n_rows, n_years)), np.empty((n_rows, n_years))
    _kernels.pension_stock(inputs, fast)
    _kernels.pension_stock_numpy(inputs, slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    # one new pensioner of a single age, in the last year: the kernel pays the reference's new pension
    alone = inputs._replace(retirees=np.zeros_like(retirees), continuing=np.zeros_like(inputs.continuing))
    alone.retirees[:, 0, first + n_years - 1, 3] = 1.0
    _kernels.pension_stock(alone, fast)
    new = _kernels.new_pension_numpy(alone.level, alone.wages, alone.paid, alone.start, alone.per_account,
                                     alone.account_first, np.tile(alone.per_wage, (n_draws, 1, 1)))
    if n_years > 1:
        np.testing.assert_array_equal(fast[:, -1], 12.0 * new[:, -1, 3])



@settings(deadline=None, max_examples=30)
@given(st.integers(1, 3), st.integers(1, 6), st.integers(2, 9), st.integers(0, 2**32 - 1))
def test_continuing_share_kernel_equals_numpy(n_prov, n_years, n_age, seed):
    rng = np.random.default_rng(seed)
    shape = (n_prov, 2, n_years, n_age)
    share = rng.uniform(0, 1, shape) * (rng.uniform(0, 1, shape) > 0.3)   # some cohorts with no pensioner
    fast, slow = np.full(shape, np.nan), np.full(shape, np.nan)
    _kernels.continuing_share_kernel(share, fast)
    _kernels.continuing_share_numpy(share, slow)
    np.testing.assert_array_equal(fast, slow)
    assert np.all((fast >= 0.0) & (fast <= 1.0))


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 3), st.integers(1, 3), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_continuing_pensioners_from_shares_are_those_of_the_cubes(n_draws, n_prov, n_years, seed):
    # pensioners = share x residents: the continuing pensioners from the draw-free shares are, below the
    # open age, min(last year's pensioners / last year's residents x residents, this year's pensioners)
    # (the rule on each draw's cubes, one year younger last year) wherever the cohort had residents
    rng = np.random.default_rng(seed)
    n_age = 10
    population = rng.uniform(1.0, 1e4, (n_draws, n_years, n_prov, 2, n_age))
    share = rng.uniform(0, 1, (n_prov, 2, n_years, n_age)) * (rng.uniform(0, 1, (n_prov, 2, n_years, n_age)) > 0.2)
    residents = np.moveaxis(population, 1, 3)                                           # (D, P, S, Y, A)
    retirees = share * residents
    continuing = _kernels.continuing_pensioners(retirees, population, _kernels.continuing_share(share))
    from_cubes = np.minimum(retirees[..., :-1, :-2] / residents[..., :-1, :-2] * residents[..., 1:, 1:-1],
                            retirees[..., 1:, 1:-1])
    np.testing.assert_allclose(continuing[..., 1:, 1:-1], from_cubes, rtol=1e-12, atol=1e-9)
    assert np.all(continuing <= retirees * (1 + 1e-12)) and np.all(continuing[..., 0, :] == 0.0)
    assert np.all(continuing[..., 0] == 0.0)  # nobody of age 0 was a pensioner a year before


@settings(deadline=None, max_examples=60)
@given(st.integers(1, 40), st.integers(1, 12), st.integers(0, 2**32 - 1), st.floats(0.0, 1.0))
def test_fund_accounts_kernel_equals_numpy(n_rows, n_years, seed, frozen_share):
    """The balance recursion (one kernel for the four funds and every draw) against its numpy
    reference over random inputs, and the recursion's identity row by row."""
    rng = np.random.default_rng(seed)
    inputs = accounts.AccountInputs(
        opening=rng.uniform(-1e9, 1e9, n_rows), contributions=rng.uniform(0, 1e8, (n_rows, n_years)),
        expenditure=rng.uniform(0, 1e8, (n_rows, n_years)), subsidy_share=rng.uniform(0, 0.3, (n_rows, n_years)),
        transfer=rng.uniform(-1e7, 1e7, (n_rows, n_years)), rate_of_return=rng.uniform(-0.02, 0.08, (n_rows, n_years)),
        frozen=rng.uniform(0, 1, n_years) < frozen_share)
    fast = accounts.AccountOutputs(*(np.empty((n_rows, n_years)) for _ in range(3)))
    slow = accounts.AccountOutputs(*(np.empty((n_rows, n_years)) for _ in range(3)))
    accounts.fund_accounts(inputs, fast)
    accounts.fund_accounts_numpy(inputs, slow)
    for a, b in zip(fast, slow):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-3)
    before = np.concatenate([inputs.opening[:, None], fast.balance[:, :-1]], axis=1)
    np.testing.assert_allclose(fast.investment_income, inputs.rate_of_return * before, rtol=1e-12)
    np.testing.assert_allclose(fast.balance, before + inputs.contributions + fast.subsidy + fast.investment_income
                               + inputs.transfer - inputs.expenditure, rtol=1e-9, atol=1e-3)
    for t in range(n_years):
        expected = fast.subsidy[:, t - 1] if (inputs.frozen[t] and t > 0) else \
            inputs.subsidy_share[:, t] * inputs.expenditure[:, t]
        np.testing.assert_array_equal(fast.subsidy[:, t], expected)


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 40), st.integers(1, 3), st.integers(1, 9), st.integers(0, 8), st.integers(0, 2**32 - 1))
def test_sex_age_totals_kernel_equals_numpy(n_rows, n_sex, n_years, first, seed):
    """The sums of the labour cubes over sex and age that every fund reads, against numpy's sum."""
    rng = np.random.default_rng(seed)
    first = min(first, n_years - 1)
    cube = rng.uniform(0, 1e5, (n_rows, n_sex, n_years, 101)) * (rng.uniform(0, 1, (n_rows, n_sex, 1, 101)) > 0.3)
    fast, slow = np.empty((n_rows, n_years - first)), np.empty((n_rows, n_years - first))
    accounts.sex_age_totals(cube, first, fast)
    accounts.sex_age_totals_numpy(cube, first, slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-12)
    np.testing.assert_allclose(fast[:, -1], cube[:, :, -1].sum(axis=(1, 2)), rtol=1e-12)


def test_accounts_with_draws_equal_accounts_draw_by_draw():
    """``accounts.accounts`` on [D, P, Y] is the recursion of each draw alone, to the bit."""
    rng = np.random.default_rng(3)
    shape = (3, 4, 6)
    args = (rng.uniform(0, 1e9, shape[:2]), rng.uniform(0, 1e8, shape), rng.uniform(0, 1e8, shape),
            rng.uniform(0, 0.05, (3, 1, 6)), rng.uniform(0, 0.2, (4, 6)), rng.uniform(-1e6, 1e6, shape))
    together = accounts.accounts(*args, frozen=[False, False, True, True, False, True])
    for d in range(3):
        alone = accounts.accounts(args[0][d], args[1][d], args[2][d], args[3][d], args[4], args[5][d],
                                  frozen=[False, False, True, True, False, True])
        for a, b in zip(together, alone):
            np.testing.assert_array_equal(a[d], b)


@pytest.mark.parametrize("change, key", [
    ("  employee_pension.employer_rate:\n    2027-01-01: 1.6\n", "employee_pension.employer_rate"),
    ("  employee_pension.indexation_rule:\n    2027-01-01: golden\n", "employee_pension.indexation_rule"),
])
def test_bad_fund_parameters(tmp_path, change, key):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\ndescription: bad\nchanges:\n{change}")
    with pytest.raises(InputError, match=key.replace(".", r"\.")) as error:
        ssp.run(path)
    assert "bad.yaml" in str(error.value)




def test_negative_wage_is_refused(params_copy):
    path = params_copy / "social_insurance/average_wage.csv"
    text = path.read_text()
    path.write_text(text.replace("CN-GD,2024,", "CN-GD,2024,-"))
    with pytest.raises(InputError, match=r"average_wage\.csv: average_wage: value .* below 0"):
        ssp.run("baseline")


def test_province_missing_from_the_yearbook_is_refused(params_copy):
    path = params_copy / "social_insurance/yearbook_2024_employee_pension.csv"
    lines = [line for line in path.read_text().splitlines() if not line.startswith("CN-GZ,")]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"yearbook_2024_employee_pension\.csv: province: no row for \{'province': 'CN-GZ'\}"):
        ssp.run("baseline")


def test_padded_variables_pad_in_order_into_each_variables_buffer():
    """The fund stages' variables over their fund years padded to all years (NaN before), the
    rest as given, in order; inside ``reused_buffers`` each name's array is the same chunk after chunk."""
    from socsec_proj._accelerate import reused_buffers

    values = np.arange(12.0).reshape(2, 2, 3)
    as_given = np.ones(2)
    out = accounts.padded_variables({"a": accounts.FundYears(values), "b": as_given,
                                     "c": accounts.FundYears(2.0 * values)}, 5, 2)
    assert list(out) == ["a", "b", "c"] and out["b"] is as_given
    np.testing.assert_array_equal(out["a"], accounts.padded(values, 5, 2))
    assert np.isnan(out["c"][..., :2]).all()
    np.testing.assert_array_equal(out["c"][..., 2:], 2.0 * values)
    with reused_buffers():
        first = accounts.padded_variables({"a": accounts.FundYears(values), "c": accounts.FundYears(values)}, 5, 2)
        again = accounts.padded_variables({"a": accounts.FundYears(3.0 * values)}, 5, 2)
        assert again["a"] is first["a"] and first["c"] is not first["a"]
        np.testing.assert_array_equal(again["a"][..., 2:], 3.0 * values)

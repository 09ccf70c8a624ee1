"""The labour and coverage stage: retirement by cohort, calibration to the 2024 yearbook, the delay."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import socsec_proj as ssp
from socsec_proj.errors import InputError
from socsec_proj.inputs import data
from socsec_proj.labour import _kernels, coverage
from socsec_proj.labour.retirement import LAW_2024, no_delay

SCHEMES = ("employee_pension_contributors", "employee_pension_retirees",
           "resident_pension_contributors", "resident_pension_beneficiaries")


@pytest.fixture(scope="module")
def no_delay_run():
    return ssp.run("no_retirement_delay")


def test_retired_fraction_by_hand():
    years = [2024, 2025]
    law = coverage.retired_fraction(LAW_2024, years)
    old = coverage.retired_fraction(no_delay(), years)
    male = 0
    # aged 59 on 1 July 2024: born July 1964 - June 1965; at 60y0m only the July 1964 birth
    # has retired by July 2024
    assert old[male, 0, 59] == pytest.approx(1 / 12)
    assert old[male, 0, 60] == 1.0
    # aged 60 on 1 July 2025: born July 1964 - June 1965. July-Dec 1964: 60y0m, retired by Dec
    # 2024; Jan-Apr 1965: 60y1m, retire Feb-May 2025; May 1965: 60y2m, retires July 2025 (in);
    # June 1965: 60y2m, retires August 2025 (out) -> 11/12
    assert law[male, 1, 60] == pytest.approx(11 / 12)
    assert old[male, 1, 60] == 1.0
    # women workers aged 50 on 1 July 2025: born July 1974 - June 1975. 1974 births: 50y0m,
    # retired; Jan-Feb 1975: 50y1m (Feb-Mar 2025); Mar-Apr 1975: 50y2m (May-June 2025);
    # May-June 1975: 50y3m (Aug-Sep 2025, out) -> 10/12
    assert law[2, 1, 50] == pytest.approx(10 / 12)
    assert np.all(np.diff(law, axis=2) >= -1e-12)  # more of each older cohort is retired


def test_flexible_retirement_moves_retirement_both_ways():
    years = np.arange(2030, 2036)
    statutory = coverage.retired_fraction(LAW_2024, years)
    early = coverage.retired_fraction(LAW_2024, years, early_share=np.full(6, 0.5))
    late = coverage.retired_fraction(LAW_2024, years, late_share=np.full(6, 0.5))
    assert np.all(early >= statutory - 1e-12) and early.sum() > statutory.sum()
    assert np.all(late <= statutory + 1e-12) and late.sum() < statutory.sum()
    # early retirement is never below the original age: no man retires before 60 (those born in
    # July turn 60 on 1 July, while still counted at 59)
    assert np.all(early[0, :, :59] == 0.0)
    assert np.all(early[0, :, 59] <= 1 / 12 + 1e-12)


def test_leaving_fraction_by_hand():
    # one category, three years, ages 0-3 (3 open): retired shares by age
    retired = np.array([[[0.0, 0.0, 0.50, 1.0],
                         [0.0, 0.25, 0.75, 1.0],
                         [0.0, 0.25, 0.50, 1.0]]])
    leaving = _kernels.leaving_fraction(retired)
    assert np.all(leaving[:, 0] == 0.0)  # nobody moves in the base year
    # year 1, by age now: 0 -> 0.25 (a quarter retire), 0 -> 0.75, 0.5 -> 1 (all of the rest)
    np.testing.assert_allclose(leaving[0, 1, 1:], [0.25, 0.75, 1.0])
    assert leaving[0, 1, 0] == 1.0  # the open group (slot 0) stays at 1: any insured left go
    # year 2: 0 -> 0.25, 0.25 -> 0.5 = (0.5 - 0.25) / (1 - 0.25) = 1/3 of those still insured, 0.75 -> 1
    np.testing.assert_allclose(leaving[0, 2, 1:], [0.25, 1 / 3, 1.0])
    falling = _kernels.leaving_fraction(np.array([[[0.0, 0.6], [0.0, 0.4]]]))
    assert falling[0, 1, 0] == 0.0  # open group 0.6 -> 0.4: nobody leaves, nobody returns


@settings(deadline=None, max_examples=30)
@given(st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_kernel_equals_numpy_reference(n_years, seed):
    rng = np.random.default_rng(seed)
    n_prov, n_age = 3, 101
    population = rng.uniform(0, 1e4, size=(n_years, n_prov, 2, n_age))
    retired = np.sort(rng.uniform(0, 1, size=(3, n_years, n_age)), axis=2)
    args = (population, retired, np.column_stack([np.ones(n_prov), *(lambda c: (c, 1 - c))(rng.uniform(0, 1, n_prov))]),
            rng.uniform(0, 1, size=(n_prov, n_years)), np.tile((np.arange(n_age) >= 16).astype(float), (2, 1)),
            rng.uniform(0, 1, n_prov), rng.uniform(0, 1, size=(n_prov, n_years)),
            (np.arange(n_age) < 60).astype(float), rng.uniform(0, 1, n_prov), (np.arange(n_age) >= 60).astype(float))
    fast = coverage.run_coverage(*args, engine="numba")
    slow = coverage.run_coverage(*args, engine="numpy")
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, atol=1e-9, err_msg=name)


def test_calibration_holds_for_every_province_in_2024(baseline):
    at = baseline.sel(year=2024)
    employee = data.yearbook_employee_pension()
    resident = data.yearbook_resident_pension()
    for name, expected in (("employee_pension_contributors", employee["insured_workers"]),
                           ("employee_pension_retirees", employee["retirees"]),
                           ("resident_pension_beneficiaries", resident["beneficiaries"]),
                           ("resident_pension_contributors", resident["insured"] - resident["beneficiaries"])):
        model = at[name].sum(("sex", "age")).to_series().loc[expected.index]
        np.testing.assert_allclose(model.to_numpy(), expected.to_numpy(), rtol=0.01, err_msg=name)
        np.testing.assert_allclose(model.to_numpy(), expected.to_numpy(), rtol=1e-9, err_msg=name)
    # Guangdong by hand from the 2024 yearbook (table 24-26): 4564.4 and 909.4 (10 000 persons)
    assert float(at["employee_pension_contributors"].sel(province="CN-GD").sum()) == pytest.approx(45_644_000)
    assert float(at["employee_pension_retirees"].sel(province="CN-GD").sum()) == pytest.approx(9_094_000)
    # the 31 provinces of the 2024 yearbook add to 14697.9 retirees and 38657.8 workers (10 000
    # persons; the 全国 row's 14739.1 and 38713.2 include persons not allocated to a province)
    ratio = at["employee_pension_retirees"].sum() / at["employee_pension_contributors"].sum()
    assert float(ratio) == pytest.approx(14697.9 / 38657.8, rel=1e-6)


def test_counts_are_non_negative(baseline):
    for name in SCHEMES:
        assert float(baseline[name].min()) >= 0.0, name


def test_members_never_exceed_the_population(baseline):
    """Each scheme's members never exceed the residents of the ages concerned, nationally, and in
    every province whose 2024 enrolment per resident is at most one."""
    people = baseline["population"].sel(age=slice(16, None)).sum(("sex", "age"))
    employee = (baseline["employee_pension_contributors"] + baseline["employee_pension_retirees"]).sum(("sex", "age"))
    resident = (baseline["resident_pension_contributors"] + baseline["resident_pension_beneficiaries"]).sum(
        ("sex", "age"))
    assert bool((employee.sum("province") + resident.sum("province") <= people.sum("province")).all())
    within = baseline["employee_pension_coverage"] <= 1.0
    assert int(within.sum()) >= 30  # Beijing alone enrols more workers than it has residents of working age
    per_age = baseline["employee_pension_contributors"] + baseline["employee_pension_retirees"]
    assert bool((per_age.where(within, 0.0) <= baseline["population"] * (1 + 1e-12)).all())
    assert bool((employee.where(within, 0.0) <= people).all())


def test_delay_raises_contributors_and_lowers_retirees(baseline, no_delay_run):
    for year in (2030, 2035, 2040):
        law = baseline.sel(year=year)
        old = no_delay_run.sel(year=year)
        for province in [None, "CN-GD", "CN-HE", "CN-GZ"]:
            pick = (lambda d: d) if province is None else (lambda d: d.sel(province=province))
            law_c = float(pick(law["employee_pension_contributors"]).sum())
            old_c = float(pick(old["employee_pension_contributors"]).sum())
            law_r = float(pick(law["employee_pension_retirees"]).sum())
            old_r = float(pick(old["employee_pension_retirees"]).sum())
            assert old_r > law_r and old_c < law_c, (year, province)
    # the two scenarios agree until the delay starts
    np.testing.assert_allclose(baseline["employee_pension_retirees"].sel(year=2024),
                               no_delay_run["employee_pension_retirees"].sel(year=2024), rtol=1e-12)
    # never the reverse, in any province or year
    diff = (no_delay_run["employee_pension_retirees"] - baseline["employee_pension_retirees"]).sum(("sex", "age"))
    assert float(diff.min()) >= -1e-6


def test_dependency_ratio(baseline):
    ratio = baseline["system_dependency_ratio"]
    expected = baseline["employee_pension_retirees"].sum(("sex", "age")) / \
        baseline["employee_pension_contributors"].sum(("sex", "age"))
    np.testing.assert_allclose(ratio, expected, rtol=1e-12)
    # it rises as the population ages
    assert float(ratio.sel(province="CN-HE", year=2050)) > float(ratio.sel(province="CN-HE", year=2024))


@pytest.mark.parametrize("change, key", [
    ("retirement.male.target_age_months:\n    2025-01-01: 700", "retirement.male.target_age_months"),
    ("labour.female_cadre_share:\n    2025-01-01: 1.4", "labour.female_cadre_share"),
    ("labour.flexible_early_share:\n    2025-01-01: 0.7\n  labour.flexible_late_share:\n    2025-01-01: 0.6",
     "labour.flexible_early_share"),
])
def test_bad_labour_parameters_stop_before_computing(tmp_path, monkeypatch, change, key):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(f"name: bad\ndescription: bad labour input\nchanges:\n  {change}\n")

    def never(*args, **kwargs):
        raise AssertionError("a stage ran on bad input")

    from socsec_proj.demography import population
    monkeypatch.setattr(population, "prepare_inputs", never)
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        ssp.run(scenario)

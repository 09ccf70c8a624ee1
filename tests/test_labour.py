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


def _random_inputs(rng, n_years, realistic):
    """Kernel inputs for 3 provinces: random, or with retirement at 55-62 (the late-joiner and waiting
    slots then stop below the open age, which the kernel exploits and the reference does not); the
    coverage level unchanged in some years (slots the kernel skips)."""
    n_prov, n_age = 3, 101
    population = rng.uniform(0, 1e4, size=(n_years, n_prov, 2, n_age))
    if realistic:
        retired = np.broadcast_to(np.clip((np.arange(n_age) - 55) / 8, 0, 1), (3, n_years, n_age)).copy()
    else:
        retired = np.sort(rng.uniform(0, 1, size=(3, n_years, n_age)), axis=2)
    level = rng.uniform(0, 1, size=(n_prov, n_years))
    level[:, rng.uniform(size=n_years) < 0.3] = level[:, :1]
    return (population, retired, np.column_stack([np.ones(n_prov), *(lambda c: (c, 1 - c))(rng.uniform(0, 1, n_prov))]),
            level, np.tile((np.arange(n_age) >= 16).astype(float), (2, 1)),
            rng.uniform(0, 1, n_prov), rng.uniform(0, 1, size=(n_prov, n_years)),
            (np.arange(n_age) < 60).astype(float), rng.uniform(0, 1, n_prov), (np.arange(n_age) >= 60).astype(float))


@settings(deadline=None, max_examples=30)
@given(st.integers(2, 24), st.integers(0, 2**32 - 1), st.booleans())
def test_kernel_equals_numpy_reference(n_years, seed, realistic):
    rng = np.random.default_rng(seed)
    args = _random_inputs(rng, n_years, realistic)
    minimum = rng.uniform(0, 8, n_years)  # short minima: joiners reach them within the drawn years
    young = int(rng.integers(0, args[0].shape[-1] + 1))
    fast = coverage.run_coverage(*args, engine="numba", minimum_years=minimum, young_ages=young)
    slow = coverage.run_coverage(*args, engine="numpy", minimum_years=minimum, young_ages=young)
    for name in fast:
        np.testing.assert_allclose(fast[name], slow[name], rtol=1e-12, atol=1e-9, err_msg=name)
    # the residents below `young` years of age, by province and year
    np.testing.assert_allclose(fast["young_total"], args[0][..., :young].sum(axis=(2, 3)).T, rtol=1e-12, atol=1e-9)
    # the resident cubes left out (a stochastic chunk): the same cubes and totals, to the bit, from
    # both engines, but the kernel's resident totals, summed as they are worked out instead of from
    # written rows (another order of the same values)
    for engine, full in (("numba", fast), ("numpy", slow)):
        totals_only = coverage.run_coverage(*args, engine=engine, minimum_years=minimum, resident_cubes=False,
                                            young_ages=young)
        assert totals_only["resident_contributors"].size == totals_only["resident_beneficiaries"].size == 0
        for name in full:
            if not totals_only[name].size:
                continue
            if engine == "numba" and name in ("outside_contributing", "outside_old"):
                np.testing.assert_allclose(totals_only[name], full[name], rtol=1e-14, atol=0, err_msg=name)
            else:
                np.testing.assert_array_equal(totals_only[name], full[name], err_msg=f"{engine}: {name}")


@settings(deadline=None, max_examples=20)
@given(st.integers(2, 16), st.integers(1, 4), st.integers(0, 2**32 - 1), st.booleans())
def test_draws_are_each_their_own_run(n_years, n_draws, seed, realistic):
    # the kernel carries a province's shares once for all its draws (only the open age merges by each
    # draw's population): every draw must still be what it is alone, to the bit, and the reference's
    rng = np.random.default_rng(seed)
    args = _random_inputs(rng, n_years, realistic)
    population = rng.uniform(0, 1e4, size=(n_draws,) + args[0].shape)
    population[:, :, :, :, -1] *= rng.uniform(0, 1, size=(n_draws, 1, 1, 1)) < 0.5  # empty open groups too
    minimum = rng.uniform(0, 8, n_years)
    together = coverage.run_coverage(population, *args[1:], engine="numba", minimum_years=minimum)
    reference = coverage.run_coverage(population, *args[1:], engine="numpy", minimum_years=minimum)
    for d in range(n_draws):
        alone = coverage.run_coverage(population[d], *args[1:], engine="numba", minimum_years=minimum)
        for name in alone:
            if name in coverage.SHARES:  # no draw axis: every draw's below the open age, draw 0's there
                share = together[name]
                np.testing.assert_array_equal(share[..., :-1], alone[name][..., :-1], err_msg=f"draw {d}: {name}")
                if d == 0:
                    np.testing.assert_array_equal(share, alone[name])
                np.testing.assert_allclose(reference[name], share, rtol=1e-12, atol=1e-12, err_msg=name)
                # the retired cube is the share times the draw's residents below the open age
                residents = np.moveaxis(population[d], 0, 2)                               # (P, S, Y, A)
                cube = together["insured" if name == "insured_share" else "retired"][d]
                np.testing.assert_allclose(cube[..., :-1], (share * residents)[..., :-1], rtol=1e-14, atol=0,
                                           err_msg=name)
                continue
            np.testing.assert_array_equal(together[name][d], alone[name], err_msg=f"draw {d}: {name}")
            np.testing.assert_allclose(reference[name][d], alone[name], rtol=1e-12, atol=1e-9, err_msg=name)


@settings(deadline=None, max_examples=25)
@given(st.integers(0, 2**32 - 1), st.lists(st.floats(0, 12), min_size=16, max_size=16),
       st.lists(st.floats(0, 6), min_size=16, max_size=16))
def test_a_higher_minimum_never_raises_retirees_nor_lowers_insured(seed, low, rise):
    rng = np.random.default_rng(seed)
    args = _random_inputs(rng, 16, realistic=True)
    low = np.array(low)
    fewer = coverage.run_coverage(*args, minimum_years=low)
    more = coverage.run_coverage(*args, minimum_years=low + np.array(rise))
    for name, sign in (("retired", 1), ("retired_total", 1), ("insured", -1), ("insured_total", -1)):
        gap = sign * (more[name] - fewer[name])
        assert gap.max() <= 1e-9 * max(1.0, np.abs(fewer[name]).max()), name


def _one_cohort(levels, minimum, n_years=24):
    """Hand case: residents 1 at every age, everyone retires at exactly 60, coverage by year."""
    n_age = 101
    ages = np.arange(n_age)
    retired = np.broadcast_to((ages >= 60).astype(float), (3, n_years, n_age)).copy()
    result = coverage.run_coverage(
        np.ones((n_years, 1, 2, n_age)), retired, np.array([[1.0, 0.5, 0.5]]), np.array([levels]),
        np.tile((ages >= 16).astype(float), (2, 1)), np.zeros(1), np.zeros((1, n_years)), np.zeros(n_age),
        np.zeros(1), np.zeros(n_age), minimum_years=np.asarray(minimum, dtype=float))
    men = 0

    def cohort(name, t):  # the men aged 50 in year 1, share of residents
        return result[name][0, men, t, 49 + t]
    return cohort


@pytest.mark.parametrize("minimum, first_drawing", [(15, 16), (20, 21), ([15] * 16 + [20] * 8, 21), (0, 11)])
def test_late_joiners_short_of_the_minimum_keep_contributing(minimum, first_drawing):
    # coverage 0.5 in year 0, 0.6 from year 1: the men aged 50 in year 1 are 0.5 insured from before
    # 45 (long careers) and 0.1 late joiners of year 1, who have t - 1 years in year t. At 60 (year 11)
    # the 0.5 draw; the 0.1 have 10 years and keep contributing until the minimum in force: 15 years
    # (year 16), 20 (year 21); a minimum rising to 20 in year 16 catches them at 15 (year 21 too)
    minimum = np.broadcast_to(minimum, (24,))
    cohort = _one_cohort([0.5] + [0.6] * 23, minimum)
    assert cohort("insured", 10) == pytest.approx(0.6) and cohort("retired", 10) == 0.0
    for t in range(11, 24):
        drawing = t >= first_drawing
        assert cohort("retired", t) == pytest.approx(0.6 if drawing else 0.5), t
        assert cohort("insured", t) == pytest.approx(0.0 if drawing else 0.1, abs=1e-15), t


def test_a_fall_of_coverage_takes_late_joiners_in_proportion():
    # as above, then coverage halves in year 5 (the cohort aged 54): 0.6 -> 0.3 of whom 0.05 late joiners
    cohort = _one_cohort([0.5] + [0.6] * 4 + [0.3] * 19, 15)
    assert cohort("insured", 5) == pytest.approx(0.3)
    assert cohort("retired", 11) == pytest.approx(0.25) and cohort("insured", 11) == pytest.approx(0.05)
    assert cohort("retired", 16) == pytest.approx(0.3) and cohort("insured", 16) == pytest.approx(0.0, abs=1e-15)


def test_the_minimum_is_read_in_every_year(tmp_path):
    """Late joiners bringing no earlier years (``late_joiner_credited_years`` 0): without the rise to
    20 (15 for ever), the late joiners of 2021-2024 draw 15 years after they joined (2036-2039); under
    the law the rising minimum keeps them contributing until they have 20 years (2041-2044). Nothing
    changes up to 2024 (the calibration) nor once they have all drawn."""
    credited = "  retirement.late_joiner_credited_years:\n    2020-01-01: 0\n"
    (tmp_path / "law.yaml").write_text("name: law\nchanges:\n" + credited)
    (tmp_path / "flat.yaml").write_text("name: flat\nchanges:\n" + credited
                                        + "  retirement.minimum_contribution_years:\n    2025-01-01: 15\n")
    baseline = ssp.run(tmp_path / "law.yaml", end=2050)
    flat = ssp.run(tmp_path / "flat.yaml", end=2050)

    def national(ds, name, year):
        return float(ds[name].sel(year=year).sum())
    for year in (2024, 2030, 2035, 2045):
        for name in ("employee_pension_contributors", "employee_pension_retirees"):
            assert national(flat, name, year) == pytest.approx(national(baseline, name, year), rel=1e-12), year
    for year in (2037, 2040):
        assert national(flat, "employee_pension_retirees", year) > national(baseline, "employee_pension_retirees",
                                                                            year) * (1 + 1e-3), year
        assert national(flat, "employee_pension_contributors", year) < national(
            baseline, "employee_pension_contributors", year) * (1 - 1e-3), year
        # the people are the same: waiting for the minimum moves them between the two counts only
        both = ("employee_pension_contributors", "employee_pension_retirees")
        assert sum(national(flat, n, year) for n in both) == pytest.approx(
            sum(national(baseline, n, year) for n in both), rel=1e-12)


def test_the_joiners_of_the_drives_bring_the_minimum_of_their_time(tmp_path, baseline):
    """With the default 15 credited years and coverage held at its 2024 level after 2024, nobody
    is short: the baseline's members equal those of a run without any minimum, to the bit."""
    (tmp_path / "none.yaml").write_text("name: none\nchanges:\n  retirement.minimum_contribution_years:\n"
                                        "    2025-01-01: 0\n    2030-01-01: 0\n    2039-01-01: 0\n")
    none = ssp.run(tmp_path / "none.yaml", end=2060)
    scenario = ssp.load_scenario("baseline")
    assert scenario.parameters.get("retirement.late_joiner_credited_years").annual([2030])[0] == 15.0
    for name in ("employee_pension_contributors", "employee_pension_retirees"):
        np.testing.assert_array_equal(none[name].values, baseline[name].sel(year=none.year).values)


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
    ("retirement.minimum_contribution_years:\n    2030-01-01: 51", "retirement.minimum_contribution_years"),
    ("retirement.minimum_contribution_years:\n    2030-01-01: .nan", "retirement.minimum_contribution_years"),
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

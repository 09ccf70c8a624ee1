"""Stochastic projections: reproducible draws, sensible spreads, dask equal to in-process, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import socsec_proj as ssp
from socsec_proj import stochastic, variables
from socsec_proj.errors import InputError


@pytest.fixture(scope="module")
def draws():
    return ssp.run("baseline", draws=40, seed=7)


def test_shape_units_and_calibration_year(draws, baseline):
    assert draws["employee_pension_balance"].dims == ("draw", "province", "year")
    assert draws.sizes["draw"] == 40 and "population" not in draws  # no age cube unless asked
    for name in ("population_total", "employee_pension_balance", "unemployment_expenditure"):
        assert draws[name].attrs["units"]
    # every draw starts from the calibrated 2024: shocks begin in 2025
    np.testing.assert_allclose(draws["employee_pension_balance"].sel(year=2024),
                               baseline["employee_pension_balance"].sel(year=2024).broadcast_like(
                                   draws["employee_pension_balance"].sel(year=2024)), rtol=1e-12)
    np.testing.assert_allclose(draws["population_total"].sel(year=2024),
                               baseline["population_total"].sum("sex").sel(year=2024).broadcast_like(
                                   draws["population_total"].sel(year=2024)), rtol=1e-9)
    assert float(draws["population_total"].sel(year=2060).std("draw").sum()) > 0


def test_provinces_select_what_is_reported_never_what_is_computed(draws):
    # issue #16 item 3 for draws: a one-province stochastic run is that province's draws of the full
    # run (pooling and migration among all 31), not a country of one
    guangdong = ssp.run("baseline", draws=40, seed=7, provinces=["CN-GD"])
    assert list(guangdong["province"].values) == ["CN-GD"]
    for name in ("employee_pension_balance", "employee_pension_pooling_transfers", "population_total",
                 "unemployment_balance"):
        if name in draws:
            np.testing.assert_allclose(guangdong[name].sel(province="CN-GD"), draws[name].sel(province="CN-GD"),
                                       rtol=1e-12, err_msg=name)


def test_same_seed_same_draws_however_split(draws):
    again = ssp.run("baseline", draws=40, seed=7)
    assert again.identical(draws)
    # draw i does not depend on how many draws run or which chunk holds it
    first = stochastic._to_dataset(ssp.load_scenario("baseline"),
                                   [stochastic.simulate_chunk("baseline", 7, 0, 15),
                                    stochastic.simulate_chunk("baseline", 7, 15, 40)], 7)
    for name in draws.data_vars:
        np.testing.assert_array_equal(first[name].values, draws[name].values, err_msg=name)
    other = ssp.run("baseline", draws=40, seed=8)
    assert not np.array_equal(other["driver_fertility"].values, draws["driver_fertility"].values)


def test_seed_sequence_is_the_spawned_one():
    settings = stochastic.driver_settings(ssp.load_scenario("baseline").parameters, np.arange(2020, 2031))
    spawned = np.random.SeedSequence(3).spawn(5)[4]
    direct = np.random.SeedSequence(3, spawn_key=(4,))
    assert spawned.generate_state(4).tolist() == direct.generate_state(4).tolist()
    a = stochastic.draw_drivers(settings, 3, 4, 5, 11)
    assert np.all(a["fertility"][0, :5] == 0.0)  # nothing moves before 2025


def test_fertility_spread_matches_wpp(draws):
    """The TFR multiplier's spread in 2050 equals WPP 2024's 80 % interval (sd of log TFR 0.244)."""
    big = ssp.run("baseline", draws=400, seed=11)
    log_tfr = big["driver_fertility"].sel(year=2050)
    assert float(log_tfr.std()) == pytest.approx(0.2443, rel=0.12)
    # higher fertility, more people in 2060
    corr = np.corrcoef(big["driver_fertility"].sel(year=2040), big["population_total"].sum("province").sel(year=2060))
    assert corr[0, 1] > 0.5


def test_depletion_year_distribution_and_summary(draws):
    years = ssp.depletion_year(draws, "employee_pension", national_total=True)
    assert years.dims == ("draw",)
    summary = ssp.summarize(draws, quantiles=(0.05, 0.5, 0.95))
    band = summary["employee_pension_balance"].sum("province").sel(year=2050)
    assert float(band.sel(quantile=0.05)) <= float(band.sel(quantile=0.5)) <= float(band.sel(quantile=0.95))


def test_keep_population_cube():
    ds = ssp.run("baseline", draws=2, seed=1, keep=["population"])
    # the totals are the kernel's float64 state; the cube with draws is single precision
    # (variables.DRAW_CUBE_DTYPE): each cell within 6e-8, their sums closer
    assert ds["population"].dtype == np.float64  # kept draws are gathered in float64
    np.testing.assert_allclose(ds["population"].sum(("sex", "age")), ds["population_total"], rtol=6e-8)


@pytest.mark.parametrize("change, key", [
    ("stochastic.wage_growth_sd:\n    2025-01-01: -0.1", "stochastic.wage_growth_sd"),
    ("stochastic.correlation_wage_cpi:\n    2025-01-01: 0.9\n  stochastic.correlation_wage_return:\n"
     "    2025-01-01: 0.9\n  stochastic.correlation_cpi_return:\n    2025-01-01: -0.9", "stochastic.correlation"),
])
def test_bad_stochastic_input(tmp_path, change, key):
    path = tmp_path / "bad.yaml"
    path.write_text(f"name: bad\ndescription: bad stochastic input\nchanges:\n  {change}\n")
    with pytest.raises(InputError, match=key.replace(".", r"\.")):
        ssp.run(path, draws=3)


@pytest.mark.parametrize("draws", [0, -5, 2.5, True])
def test_bad_draw_count(draws):
    with pytest.raises(InputError, match="draws"):
        ssp.run("baseline", draws=draws)


def test_progress_is_told_of_every_chunk_in_order_and_the_results_are_the_same(draws):
    """``progress(done, total)`` hears of each chunk as it comes in, the draws in so far, ending
    with every draw, for a run keeping its draws and for a summary; what it returns is the run
    without it, to the bit."""
    heard = []
    told = ssp.run("baseline", draws=40, seed=7, progress=lambda done, total: heard.append((done, total)))
    assert heard == [(32, 40), (40, 40)]  # chunks of stochastic.CHUNK_SIZE, in draw order
    for name in draws.data_vars:
        np.testing.assert_array_equal(told[name].values, draws[name].values)
    heard.clear()
    summary = ssp.run("baseline", draws=70, seed=7, summary=(0.5,), progress=lambda *counts: heard.append(counts))
    assert heard == [(32, 70), (64, 70), (70, 70)] and summary.attrs["draws"] == 70


@pytest.mark.parametrize("options, key", [(dict(draws=3, progress="yes"), "progress"),
                                          (dict(draws=3, progress=7), "progress"),
                                          (dict(progress=print), "progress")])
def test_a_progress_that_is_not_a_callable_or_without_draws_is_refused(options, key):
    with pytest.raises(InputError, match=key):
        ssp.run("baseline", **options)


def test_dask_local_cluster_equals_in_process(draws):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        spread = ssp.run("baseline", draws=40, seed=7, client=client)
    for name in draws.data_vars:
        np.testing.assert_array_equal(spread[name].values, draws[name].values, err_msg=name)


# --------------------------------------------------------------------------------------------
# One model: a draw is the deterministic projection with its own drivers


NO_SHOCKS = """name: no_shocks
description: every stochastic spread at zero
changes:
  stochastic.wage_growth_sd:
    2025-01-01: 0.0
  stochastic.cpi_sd:
    2025-01-01: 0.0
  stochastic.return_sd:
    2025-01-01: 0.0
  stochastic.unemployment_sd:
    2025-01-01: 0.0
  stochastic.fertility_uncertainty_scale:
    2025-01-01: 0.0
  stochastic.mortality_uncertainty_scale:
    2025-01-01: 0.0
"""


@pytest.mark.parametrize("cube_dtype", [np.float32, np.float64])
def test_without_shocks_every_draw_is_the_deterministic_run(tmp_path, monkeypatch, cube_dtype):
    """Every spread at zero: each draw is the deterministic run, to 1e-9 with the cubes of draws in
    float64 (the same path), and within 2e-6 of each province's largest figure with them in single
    precision (variables.DRAW_CUBE_DTYPE, the default)."""
    monkeypatch.setattr(variables, "DRAW_CUBE_DTYPE", cube_dtype)
    path = tmp_path / "no_shocks.yaml"
    path.write_text(NO_SHOCKS)
    deterministic = ssp.run(path)
    draws = stochastic.run(path, draws=3, seed=5, chunk_size=2)
    assert float(np.abs(draws["driver_wage"]).max()) == 0.0
    checked = 0
    for name in draws.data_vars:
        if name.startswith("driver_"):
            continue
        expected = deterministic[name]
        expected = expected.sum([d for d in ("sex", "age") if d in expected.dims], min_count=1)
        expected = expected.transpose("province", "year").values
        for d in range(3):
            values = draws[name].values[d]
            if cube_dtype == np.float64:
                np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-6, equal_nan=True, err_msg=name)
                continue
            # single-precision cubes: every figure within 2e-6 of its province's largest (measured:
            # 1.3e-6 at most, the employee pension's revenue; 0 for the population, whose kernel
            # state is float64)
            scale = np.nanmax(np.abs(expected), axis=1, keepdims=True)
            tolerance = 0.0 if name == "population_total" else 2e-6
            assert np.array_equal(np.isnan(values), np.isnan(expected)), name
            assert np.nanmax(np.abs(values - expected) / np.where(scale > 0, scale, 1.0)) <= tolerance, name
        checked += 1
    assert checked == 29   # population, four member counts, four quantities of six funds


def test_higher_wage_growth_raises_later_pension_expenditure():
    """A draw whose wages grow one point faster from 2030 pays more pensions in 2060 in every
    province (new pensions follow wages) and collects more contributions."""
    scenario = ssp.load_scenario("baseline")
    years = np.arange(2020, 2101)
    wage = np.zeros((2, len(years)))
    wage[1, years >= 2030] = 0.01
    ds = stochastic.project_draws(scenario, {"wage": wage})
    at = ds.sel(year=2060)
    assert np.all(at["employee_pension_expenditure"].sel(draw=1) > at["employee_pension_expenditure"].sel(draw=0))
    assert np.all(at["employee_pension_contributions"].sel(draw=1) > at["employee_pension_contributions"].sel(draw=0))
    # before the shock the two draws are the same path to the bit
    before = ds.sel(year=slice(None, 2029))
    np.testing.assert_array_equal(before["employee_pension_balance"].sel(draw=1),
                                  before["employee_pension_balance"].sel(draw=0))
    # and draw 0 (no shock) is the deterministic projection
    deterministic = ssp.run(scenario)
    # (within 1e-6: the cubes of draws are single precision, variables.DRAW_CUBE_DTYPE; measured 5.8e-7)
    np.testing.assert_allclose(ds["employee_pension_expenditure"].sel(draw=0), deterministic["employee_pension_expenditure"],
                               rtol=1e-6, equal_nan=True)


def test_results_do_not_depend_on_the_chunk_size(draws):
    for size in (1, 7):
        again = stochastic.run("baseline", draws=40, seed=7, chunk_size=size)
        for name in draws.data_vars:
            np.testing.assert_array_equal(again[name].values, draws[name].values, err_msg=f"{name}, chunks of {size}")


def test_results_do_not_depend_on_the_threads_the_chunks_run_on(draws):
    # in this process the chunks run on numba's threads, one chunk per thread (_accelerate.map_on_threads);
    # inside single_threaded they run one after the other here: the same bits
    from socsec_proj._accelerate import single_threaded

    with single_threaded():
        serial = stochastic.run("baseline", draws=40, seed=7)
    for name in draws.data_vars:
        np.testing.assert_array_equal(serial[name].values, draws[name].values, err_msg=name)

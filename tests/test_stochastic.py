"""Stochastic projections: reproducible draws, sensible spreads, dask equal to in-process, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import socsec_proj as ssp
from socsec_proj import stochastic
from socsec_proj.errors import InputError
from socsec_proj.funds import _kernels


@pytest.fixture(scope="module")
def draws():
    return ssp.run("baseline", draws=40, seed=7)


def test_shape_units_and_calibration_year(draws, baseline):
    assert draws["employee_pension_balance"].dims == ("draw", "province", "year")
    assert draws.sizes["draw"] == 40 and "population" not in draws  # no age cube unless asked
    for name in ("population_total", "employee_pension_balance", "unemployment_expenditure"):
        assert draws[name].attrs["units"]
    # every draw starts from the calibrated 2024: shocks begin in 2025
    # fund paths are kept in single precision
    np.testing.assert_allclose(draws["employee_pension_balance"].sel(year=2024),
                               baseline["employee_pension_balance"].sel(year=2024).broadcast_like(
                                   draws["employee_pension_balance"].sel(year=2024)), rtol=1e-6)
    np.testing.assert_allclose(draws["population_total"].sel(year=2024),
                               baseline["population_total"].sum("sex").sel(year=2024).broadcast_like(
                                   draws["population_total"].sel(year=2024)), rtol=1e-9)
    assert float(draws["population_total"].sel(year=2060).std("draw").sum()) > 0


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
    np.testing.assert_allclose(ds["population"].sum(("sex", "age")), ds["population_total"], rtol=1e-9)


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


def test_draw_funds_kernel_equals_numpy(draws):
    rng = np.random.default_rng(0)
    n_draws, n_prov, n_years, first = 3, 4, 9, 2
    args = (first, np.array([1, 1, 1, 0]), rng.uniform(1e6, 1e8, (11, n_prov, n_years)),
            rng.uniform(1e3, 1e5, (4, n_prov, n_years)), rng.uniform(-1e8, 1e9, (4, n_prov)),
            rng.uniform(1e3, 1e5, (n_draws, n_years, n_prov, 4)), rng.uniform(0.8, 1.2, (n_draws, n_years)),
            rng.uniform(-0.02, 0.06, (n_draws, n_years)), rng.uniform(0.5, 2, (n_draws, n_years)),
            rng.uniform(0, 0.05, n_years), rng.uniform(0, 1, n_years) < 0.4)
    fast = np.empty((4, 4, n_draws, n_prov, n_years))
    slow = np.empty_like(fast)
    _kernels.draw_funds(*args, fast)
    _kernels.draw_funds_numpy(*args, slow)
    np.testing.assert_allclose(fast, slow, rtol=1e-10, equal_nan=True)


def test_dask_local_cluster_equals_in_process(draws):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        spread = ssp.run("baseline", draws=40, seed=7, client=client)
    for name in draws.data_vars:
        np.testing.assert_array_equal(spread[name].values, draws[name].values, err_msg=name)

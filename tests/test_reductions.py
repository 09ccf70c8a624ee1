"""Streaming reductions over draws: exact quantiles (numpy's), the on-disk store, summary-only
runs equal to the summary of the same draws kept whole, bad input refused before anything runs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import socsec_proj as ssp
from socsec_proj import reductions, resources, stochastic
from socsec_proj.errors import InputError
from socsec_proj.funds.measures import depletion_year

QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.995)


def _nanquantile(values, q):
    with warnings.catch_warnings():  # all-NaN rows: numpy warns and gives NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanquantile(values, q, axis=-1)


@settings(deadline=None, max_examples=60)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=40),
                  elements=st.floats(-1e15, 1e15) | st.just(np.nan)),
       st.lists(st.floats(0.0, 1.0), min_size=1, max_size=6))
def test_quantiles_are_numpys_to_the_bit(values, q):
    np.testing.assert_array_equal(reductions.quantiles(values, q), _nanquantile(values, q))


@settings(deadline=None, max_examples=80)
@given(hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=60),
                  elements=st.floats(-1e15, 1e15) | st.just(np.nan) | st.sampled_from([0.0, 1.0, -2.5])),
       st.lists(st.floats(0.0, 1.0), min_size=1, max_size=7), st.sampled_from(["numba", "numpy"]))
def test_draw_quantiles_are_numpys_to_the_bit(values, q, engine):
    """The kernel over cells (draws first) and its reference: numpy's nanquantile over axis 0,
    ties, NaN cells and quantiles in any order included."""
    expected = _nanquantile(values.T, q)
    np.testing.assert_array_equal(reductions.draw_quantiles(values, q, engine=engine), expected)


@pytest.mark.parametrize("case", ["normal", "lognormal", "ties", "huge", "infinite", "constant", "subnormal"])
def test_draw_quantiles_of_a_run_sized_cell_block(case):
    """1,000 draws per cell, as ``summarize`` sees them: the bucketing pass and its fallbacks
    (values spread over 30 orders of magnitude, a single huge outlier, infinities, one value)
    give numpy's quantiles exactly, from float32 as from float64."""
    rng = np.random.default_rng(11)
    values = rng.standard_normal((1000, 37)) * 1e11
    if case == "lognormal":
        values = np.exp(rng.standard_normal((1000, 37)) * 16)
    elif case == "ties":
        values = np.round(values / 4e10)
    elif case == "huge":
        values[17] = 1e300
    elif case == "infinite":
        values[3, ::2], values[5, ::3] = np.inf, -np.inf
    elif case == "constant":
        values[:] = 2.5
    elif case == "subnormal":  # a width whose inverse overflows
        values = np.where(values > 0, 5e-324, 0.0)
    values[rng.random(values.shape) < 0.1] = np.nan
    values[:, 0] = np.nan  # a cell without a number (fund years before 2024)
    q = (0.995, 0.0, 0.01, 0.05, 0.5, 0.5, 0.95, 1.0)
    np.testing.assert_array_equal(reductions.draw_quantiles(values, q), _nanquantile(values.T, q))
    with np.errstate(over="ignore"):  # 1e300 is infinite in float32
        single = values.astype(np.float32)
    np.testing.assert_array_equal(reductions.draw_quantiles(single, q), _nanquantile(single.T.astype(float), q))


def test_quantiles_of_long_rows_use_selection_and_stay_exact(monkeypatch):
    values = np.random.default_rng(4).standard_normal((6, 301)) * 1e11
    values[2, :150] = np.nan
    monkeypatch.setattr(reductions, "SORT_UP_TO", 100)  # the partition path, on a small case
    np.testing.assert_array_equal(reductions.quantiles(values, QUANTILES), _nanquantile(values, QUANTILES))


def test_store_gives_the_quantiles_of_every_draw(monkeypatch):
    monkeypatch.setattr(reductions, "BUFFER_DRAWS", 24)   # several flushes, a chunk across two
    monkeypatch.setattr(reductions, "BLOCK_BYTES", 8 * 70 * 3)  # blocks of three cells
    values = np.random.default_rng(5).standard_normal((70, 4, 5))
    with reductions.DrawStore(["a", "b"], 70, (4, 5)) as store:
        for start in range(0, 70, 16):
            store.add(start, {"a": values[start:start + 16], "b": -values[start:start + 16]})
        np.testing.assert_array_equal(store.quantiles("a", QUANTILES), np.quantile(values, QUANTILES, axis=0))
        np.testing.assert_array_equal(store.quantiles("b", QUANTILES), np.quantile(-values, QUANTILES, axis=0))
    with reductions.DrawStore(["a"], 10, (2,)) as store, pytest.raises(ValueError, match="expected 0"):
        store.add(4, {"a": np.zeros((2, 2))})  # chunks come in draw order


def _filled_draws(rng, draws, cells, case):
    values = rng.standard_normal((draws, cells)) * 1e11
    if case == "ties":
        values = np.round(values / 4e10)
    elif case == "lognormal":
        values = np.exp(rng.standard_normal((draws, cells)) * 16)
    elif case == "infinite":
        values[::7, ::2], values[::11, 1::3] = np.inf, -np.inf
    elif case == "constant":
        values[:, ::2] = 2.5
    values[rng.random(values.shape) < 0.08] = np.nan
    values[:, 0] = np.nan  # a cell without a number
    values[:-3, 1] = np.nan  # ... and one with three
    return values


@pytest.mark.parametrize("case", ["normal", "ties", "lognormal", "infinite", "constant"])
def test_quantile_store_keeps_the_values_near_each_quantile_and_gives_numpys(monkeypatch, case):
    """The store narrows to bands around each quantile once NARROW_FROM draws are in, and its
    quantiles are numpy's over every draw, to the bit; far fewer values stay in memory."""
    monkeypatch.setattr(reductions, "NARROW_FROM", 300)
    monkeypatch.setattr(reductions, "BATCH_DRAWS", 50)
    rng = np.random.default_rng(hash(case) % 2**32)
    values = _filled_draws(rng, 6000, 24, case)
    q = (0.0, 0.01, 0.05, 0.5, 0.95, 0.995, 1.0)
    store = reductions.QuantileStore(["a", "b"], 6000, (4, 6), q)
    most = 0
    for start in range(0, 6000, 33):  # chunks across batches
        chunk = values[start:start + 33].reshape(-1, 4, 6)
        store.add(start, {"a": chunk, "b": -chunk})
        most = max(most, store.kept_values)
    for name, sign in (("a", 1), ("b", -1)):
        np.testing.assert_array_equal(store.quantiles(name), _nanquantile((sign * values).T, q).reshape(-1, 4, 6))
        assert not store.missed(name).any()
    if case == "normal":  # 7 bands of ~6 standard deviations: well under half of 288,000 values
        assert most < 0.45 * values.size * 2
    with pytest.raises(ValueError, match="expected 0"):
        reductions.QuantileStore(["a"], 10, (2,), q).add(4, {"a": np.zeros((2, 2))})


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 400), st.integers(1, 5), st.lists(st.floats(0.0, 1.0), min_size=1, max_size=5),
       st.floats(0.0, 3.0), st.integers(0, 2**32 - 1))
def test_quantile_store_names_every_cell_its_bands_missed(draws, cells, q, z, seed):
    """Bands far too narrow (``BAND_Z`` from 0): the store says which cells its bands did not
    hold (summary_run computes those again), and every other cell is numpy's to the bit."""
    rng = np.random.default_rng(seed)
    values = np.round(rng.standard_normal((draws, cells)) * 4)  # ties too
    values[rng.random(values.shape) < 0.1] = np.nan
    q = sorted(q)
    old = reductions.NARROW_FROM, reductions.BATCH_DRAWS, reductions.BAND_Z
    reductions.NARROW_FROM, reductions.BATCH_DRAWS, reductions.BAND_Z = 5, 7, z
    try:
        store = reductions.QuantileStore(["a"], draws, (cells,), q)
        for start in range(0, draws, 3):
            store.add(start, {"a": values[start:start + 3]})
        got, missed = store.quantiles("a"), store.missed("a")
    finally:
        reductions.NARROW_FROM, reductions.BATCH_DRAWS, reductions.BAND_Z = old
    expected = _nanquantile(values.T, q)
    np.testing.assert_array_equal(got[:, ~missed], expected[:, ~missed])
    held = ~np.isnan(got)  # a missed cell: NaN where a band missed (a number the bands held elsewhere)
    np.testing.assert_array_equal(got[held], expected[held])
    assert (np.isnan(got) & ~np.isnan(expected)).any(axis=0).tolist() == missed.tolist()


def _narrowed(values_per_cell, lo, hi, below, above, valid, q, z):
    """``reductions._narrowed`` of cells holding ``values_per_cell`` (all in one gathering)."""
    cells = len(values_per_cell)
    compact = np.concatenate([np.asarray(v, dtype=float) for v in values_per_cell] + [np.empty(1)])
    offsets = np.concatenate([[0], np.cumsum([len(v) for v in values_per_cell])]).astype(np.int64)
    largest = max(1, max(len(v) for v in values_per_cell))
    lo, hi, below, above = lo.copy(), hi.copy(), below.copy(), above.copy()
    out, out_offsets = np.empty(len(compact)), np.empty(cells + 1, dtype=np.int64)
    n = reductions._narrowed(compact, offsets, np.empty(1), np.zeros((0, cells + 1), dtype=np.int64), lo, hi, below,
                             above, valid, q, z, True, out_offsets, out, np.empty(largest), np.empty(largest),
                             reductions._work_arrays(largest))
    return lo, hi, below, above, out_offsets, out[:n]


def _narrowed_by_sorting(values_per_cell, lo, hi, below, above, valid, q, z):
    """The same narrowing on each cell's values sorted (numpy): a band is the sorted values from
    the first at or above its lower bound to the last at or below its upper one, its new bounds
    the values at its new ranks, what leaves it the values outside them; the kept values are
    those some band still holds, in their order."""
    lo, hi, below, above = lo.copy(), hi.copy(), below.copy(), above.copy()
    kept = []
    for c, values in enumerate(values_per_cell):
        values = np.asarray(values, dtype=float)
        ordered = np.sort(values)
        for k in range(len(q)):
            if not (len(values) and lo[k, c] < hi[k, c]):
                continue
            under = int(np.searchsorted(ordered, lo[k, c], "left"))
            up_to = int(np.searchsorted(ordered, hi[k, c], "right"))
            first, last, move_lo, move_hi = reductions._band_moves(valid[c], q[k], z, below[k, c], up_to - under)
            if not (move_lo or move_hi):
                continue
            new_lo = ordered[under + first] if move_lo else lo[k, c]
            new_hi = ordered[under + last] if move_hi else hi[k, c]
            below[k, c] += int(np.searchsorted(ordered, new_lo, "left")) - under
            above[k, c] += up_to - int(np.searchsorted(ordered, new_hi, "right"))
            lo[k, c], hi[k, c] = new_lo, new_hi
        inside = np.zeros(len(values), dtype=bool)
        for k in range(len(q)):
            if lo[k, c] < hi[k, c]:
                inside |= (lo[k, c] <= values) & (values <= hi[k, c])
        kept.append(values[inside])
    out_offsets = np.concatenate([[0], np.cumsum([len(v) for v in kept])]).astype(np.int64)
    return lo, hi, below, above, out_offsets, np.concatenate(kept + [np.empty(0)])


@settings(deadline=None, max_examples=60)
@given(st.lists(st.lists(st.integers(-40, 40), max_size=300), min_size=1, max_size=6),
       st.lists(st.floats(0.0, 1.0), min_size=1, max_size=7), st.integers(0, 2**32 - 1),
       st.sampled_from([0.5, 2.0, 6.0]), st.floats(1e-3, 1e6))
def test_narrowing_by_buckets_moves_each_band_as_sorting_its_values_does(cells, q, seed, z, spread):
    """A cell's values grouped once into buckets (``_narrowed``) give each band the bounds,
    the counts below and above and the kept values (in their order) that the same narrowing on
    the sorted values gives: ties, all values equal, infinite values (one bucket), bands of one
    value and bands already narrowed included."""
    rng = np.random.default_rng(seed)
    q = np.sort(np.asarray(q))
    values = [np.asarray(v, dtype=float) * spread / 40 + rng.standard_normal(len(v)) * (spread / 1e3) * (c % 2)
              for c, v in enumerate(cells)]
    for v in values:
        if len(v) and rng.random() < 0.25:  # infinite values: no finite span
            v[rng.random(len(v)) < 0.1] = np.inf
            v[rng.random(len(v)) < 0.1] = -np.inf
    bands = (len(q), len(values))
    lo, hi = np.full(bands, -np.inf), np.full(bands, np.inf)
    below, above = np.zeros(bands, dtype=np.int64), np.zeros(bands, dtype=np.int64)
    for c, v in enumerate(values):  # some bands already narrowed to values of the cell, with counts outside
        if len(v) and rng.random() < 0.5:
            ordered = np.sort(v)
            for k in range(len(q)):
                i, j = sorted(rng.integers(0, len(v), 2))
                lo[k, c], hi[k, c] = ordered[i], ordered[j]
                below[k, c], above[k, c] = rng.integers(0, 50, 2)
    valid = np.array([len(v) + int(below[:, c].max() + above[:, c].max()) for c, v in enumerate(values)],
                     dtype=np.int64)
    bucketed = _narrowed(values, lo, hi, below, above, valid, q, z)
    sorted_ = _narrowed_by_sorting(values, lo, hi, below, above, valid, q, z)
    for got, expected in zip(bucketed, sorted_):
        np.testing.assert_array_equal(got, expected)


@pytest.fixture(scope="module")
def whole_and_summary():
    whole = ssp.run("baseline", draws=40, seed=3)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reductions, "BUFFER_DRAWS", 16)
        summary = stochastic.run("baseline", draws=40, seed=3, summary=QUANTILES, chunk_size=7)
    return whole, summary


@settings(deadline=None, max_examples=40)
@given(st.integers(1, 40), st.integers(1, 30), st.floats(0, 1), st.integers(0, 2**32 - 1))
def test_draw_sums_are_numpys_nansum_to_the_bit(n_draws, n_cells, nan_share, seed):
    rng = np.random.default_rng(seed)
    values = rng.normal(0, 1e9, (n_draws, 3, n_cells))
    values[rng.uniform(size=values.shape) < nan_share] = np.nan
    for engine in ("numba", "numpy"):
        sums, counts = reductions.draw_sums(values, engine)
        np.testing.assert_array_equal(sums, np.nansum(values, axis=0), err_msg=engine)
        np.testing.assert_array_equal(counts, (~np.isnan(values)).sum(axis=0), err_msg=engine)


def test_summary_equals_the_summary_of_the_draws_kept_whole(whole_and_summary):
    whole, summary = whole_and_summary
    reference = ssp.summarize(whole, QUANTILES)
    assert list(summary["quantile"].values) == list(QUANTILES)
    for name in stochastic.SUMMARY_VARIABLES:
        assert summary[name].dims == ("quantile", "province", "year")
        np.testing.assert_array_equal(summary[name].values, reference[name].values, err_msg=name)
    for name in whole.data_vars:
        np.testing.assert_allclose(summary[f"{name}_mean"].values, whole[name].mean("draw").values, rtol=1e-12,
                                   err_msg=name)


def test_summary_national_quantiles_are_those_of_china_s_total_of_the_draws_kept_whole(whole_and_summary):
    # a quantile of the provinces' sum is not the sum of their quantiles: kept per draw as it is reduced
    whole, summary = whole_and_summary
    for name in stochastic.SUMMARY_VARIABLES:
        national = summary[f"{name}_national"]
        assert national.dims == ("quantile", "year")
        total = whole[name].sum("province", min_count=1).transpose("draw", "year").values
        np.testing.assert_array_equal(national.values, _nanquantile(total.T, QUANTILES), err_msg=name)
        held = ~np.isnan(national.values)
        assert not np.array_equal(national.values[held], summary[name].sum("province").values[held])


def test_a_summary_of_some_provinces_pools_those_provinces_as_the_draws_kept_whole_do():
    # every draw projects all 31; the national figures of a run reporting two are those two pooled
    scenario = ssp.load_scenario("baseline").model_copy(update={"provinces": ["CN-GD", "CN-HE"], "horizon": 2060})
    whole = ssp.run(scenario, draws=12, seed=4)
    summary = stochastic.run(scenario, draws=12, seed=4, summary=QUANTILES, chunk_size=5)
    assert list(summary["province"].values) == ["CN-GD", "CN-HE"]
    for scheme in ("employee_pension", "unemployment"):
        pooled = whole[f"{scheme}_balance"].sum("province", min_count=1).transpose("draw", "year").values
        np.testing.assert_array_equal(summary[f"{scheme}_balance_national"].values, _nanquantile(pooled.T, QUANTILES))
        np.testing.assert_array_equal(summary[f"{scheme}_national_depletion_year"].values,
                                      depletion_year(whole, scheme, national_total=True).values)
    # selected to fewer provinces, the summary has no national figure of them: refused, not China's or the two's
    one = summary.sel(province=["CN-GD"])
    with pytest.raises(InputError, match="pools CN-GD,CN-HE, the Dataset holds CN-GD"):
        depletion_year(one, "employee_pension", national_total=True)
    from socsec_proj.report import plots

    with pytest.raises(InputError, match="employee_pension_balance_national pools CN-GD,CN-HE"):
        plots.fan_chart(one, "employee_pension", quantiles=(0.05, 0.5, 0.95))
    assert depletion_year(one, "employee_pension").sizes == {"draw": 12, "province": 1}  # by province: kept


def test_a_summary_s_depletion_years_and_their_quantiles_are_those_of_the_draws_kept_whole(whole_and_summary):
    from socsec_proj.funds.measures import depletion_year_quantiles

    whole, summary = whole_and_summary
    for scheme in ("employee_pension", "injury"):
        for national in (True, False):
            np.testing.assert_array_equal(
                depletion_year(summary, scheme, national_total=national).transpose("draw", ...).values,
                depletion_year(whole, scheme, national_total=national).transpose("draw", ...).values)
        np.testing.assert_array_equal(depletion_year_quantiles(summary, scheme, (0.05, 0.5, 0.95)).values,
                                      depletion_year_quantiles(whole, scheme, (0.05, 0.5, 0.95)).values)
    with pytest.raises(InputError, match="employee_pension_national_depletion_year"):
        depletion_year(summary.drop_vars("employee_pension_national_depletion_year"), "employee_pension",
                       national_total=True)


def test_summary_depletion_years_and_probability_by_year(whole_and_summary):
    whole, summary = whole_and_summary
    for scheme in ("employee_pension", "unemployment"):
        national = depletion_year(whole, scheme, national_total=True).values
        np.testing.assert_array_equal(summary[f"{scheme}_national_depletion_year"].values, national)
        by_province = depletion_year(whole, scheme).transpose("draw", "province").values
        np.testing.assert_array_equal(summary[f"{scheme}_depletion_year"].values, by_province)
        # by hand: the share of the 40 draws depleted in or before 2060 (never depleted: NaN, not counted)
        share = np.sum(national <= 2060) / 40
        assert float(summary[f"{scheme}_national_depletion_probability"].sel(year=2060)) == share
        probability = summary[f"{scheme}_depletion_probability"].values
        assert np.all(np.diff(probability, axis=-1) >= 0) and probability.max() <= 1


def test_summary_in_worker_processes_equals_one_thread_here_to_the_bit(whole_and_summary, monkeypatch):
    """A summary-only run computes its chunks in forked worker processes: the same bits as the
    chunks one after the other in this process (and as the threads of the fixture's run)."""
    import multiprocessing

    from socsec_proj import _accelerate

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    _, summary = whole_and_summary
    monkeypatch.setattr(reductions, "BUFFER_DRAWS", 16)
    monkeypatch.setattr(_accelerate, "fork_is_safe", lambda: True)  # even after a parallel kernel ran here
    monkeypatch.setattr(stochastic, "SUMMARY_ON_PROCESSES", True)
    started = []
    start_workers = _accelerate._start_workers
    monkeypatch.setattr(_accelerate, "_start_workers", lambda *args: started.append(args[1]) or start_workers(*args))
    on_processes = stochastic.run("baseline", draws=40, seed=3, summary=QUANTILES, chunk_size=7)
    assert started == [2] or (started == [] and _accelerate.thread_count() == 1)
    with _accelerate.single_threaded():
        here = stochastic.run("baseline", draws=40, seed=3, summary=QUANTILES, chunk_size=7)
    for name in here.data_vars:
        np.testing.assert_array_equal(on_processes[name].values, here[name].values, err_msg=name)
        np.testing.assert_array_equal(summary[name].values, here[name].values, err_msg=name)


def test_summary_whose_bands_miss_computes_those_cells_again(whole_and_summary, monkeypatch):
    """Bands narrowed after 8 draws to a single rank either side (BAND_Z 0): most cells miss,
    their draws are computed again from their seeds and kept whole, and the quantiles are
    still those of the draws kept whole, to the bit."""
    whole, summary = whole_and_summary
    monkeypatch.setattr(reductions, "NARROW_FROM", 8)
    monkeypatch.setattr(reductions, "BATCH_DRAWS", 5)
    monkeypatch.setattr(reductions, "BAND_Z", 0.0)
    again = []
    requantile = stochastic._requantile
    monkeypatch.setattr(stochastic, "_requantile", lambda results, missed, *args: again.append(missed) or
                        requantile(results, missed, *args))
    narrow = stochastic.run("baseline", draws=40, seed=3, summary=QUANTILES, chunk_size=7)
    assert again and sum(len(cells) for cells in again[0].values()) > 100
    for name in stochastic.SUMMARY_VARIABLES:
        np.testing.assert_array_equal(narrow[name].values, summary[name].values, err_msg=name)


def test_summary_variables_asked_for(monkeypatch):
    summary = ssp.run("baseline", draws=3, seed=1, summary=[0.5], summary_variables=["population_total"])
    whole = ssp.run("baseline", draws=3, seed=1)
    np.testing.assert_array_equal(summary["population_total"].sel(quantile=0.5).values,
                                  np.median(whole["population_total"].values, axis=0))
    assert "employee_pension_balance" not in summary and "employee_pension_balance_mean" in summary


def _nothing_runs(monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("computed before refusing")
    monkeypatch.setattr(stochastic, "simulate_chunk", fail)


@pytest.mark.parametrize("summary", [[1.5], [-0.1], ["0.5"], [float("nan")], [], [True], "0.5", 0.5, [None]])
def test_bad_quantiles_are_refused_before_anything_runs(monkeypatch, summary):
    _nothing_runs(monkeypatch)
    with pytest.raises(InputError, match="summary"):
        ssp.run("baseline", draws=5, summary=summary)


def test_bad_summary_requests(monkeypatch):
    _nothing_runs(monkeypatch)
    with pytest.raises(InputError, match="summary_variables"):
        ssp.run("baseline", draws=5, summary=[0.5], summary_variables=["employee_pension_wage"])
    with pytest.raises(InputError, match="without draws"):
        ssp.run("baseline", summary=[0.5])
    with pytest.raises(InputError, match="quantiles"):
        ssp.summarize(xr_draws(), quantiles=[2])


def xr_draws():
    import xarray as xr
    return xr.Dataset({"x": (("draw", "year"), np.arange(6.0).reshape(3, 2))})


def test_summarize_is_numpy_quantile():
    ds = xr_draws()
    out = ssp.summarize(ds, [0.1, 0.5])
    np.testing.assert_array_equal(out["x"].values, np.quantile(ds["x"].values, [0.1, 0.5], axis=0))
    assert out["x"].dims == ("quantile", "year")


def test_check_draws_of_a_summary_names_how_many_fit():
    cells = 31 * 81
    # the store: per cell and quantile a band of 2 x (6 x sqrt(n q (1 - q)) + 36) values, three
    # times that in memory, in float64; never more than twice every draw
    assert resources.summary_store_bytes(10_000, 1, [0.5]) == 3 * 2 * (6 * 50 + 36) * cells * 8
    assert resources.summary_store_bytes(10, 3, [0.5, 0.9]) == 2 * 10 * 3 * cells * 8
    n_vars, q = len(stochastic.SUMMARY_VARIABLES), reductions.DEFAULT_QUANTILES
    assert n_vars == 6  # the six funds' balances
    available = 8 * 2**30
    fit = resources.max_summary_draws(n_vars, q, available=available, workers=2)
    need = resources.summary_fixed(2) + fit * resources.SUMMARY_PER_DRAW + resources.summary_store_bytes(fit, n_vars, q)
    assert need <= 0.8 * available < need + resources.SUMMARY_PER_DRAW + resources.summary_store_bytes(
        fit + 1, n_vars, q) - resources.summary_store_bytes(fit, n_vars, q)
    resources.check_draws(fit, summary_variables=stochastic.SUMMARY_VARIABLES, available=available, workers=2)
    with pytest.raises(InputError, match=f"{fit + 1:,} draws summarised would need about .* GiB of memory: "
                                         f"{fit:,} draws fit"):
        resources.check_draws(fit + 1, summary_variables=stochastic.SUMMARY_VARIABLES, available=available,
                              workers=2)
    assert 150_000 < fit < 600_000  # the values near 7 quantiles grow as the square root of the draws
    # the quantiles asked for count: one quantile's band is narrower than seven
    assert resources.max_summary_draws(n_vars, [0.5], available=available, workers=2) > fit
    # more workers, each with its chunk's cubes: fewer draws fit in the same memory
    assert resources.max_summary_draws(n_vars, q, available=available, workers=4) < fit
    assert resources.max_summary_draws(n_vars, q, available=resources.summary_fixed(4), workers=4) == 0
    # a run keeping every draw that does not fit points to the summary
    with pytest.raises(InputError, match="summary"):
        resources.check_draws(10**6, available=2**30)


@pytest.mark.slow
def test_summary_on_a_local_cluster_equals_in_process(whole_and_summary, monkeypatch):
    distributed = pytest.importorskip("distributed")
    _, summary = whole_and_summary
    monkeypatch.setattr(reductions, "BUFFER_DRAWS", 16)  # several waves of chunks
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        spread = stochastic.run("baseline", draws=40, seed=3, summary=QUANTILES, client=client, chunk_size=7)
    for name in summary.data_vars:  # the same chunks: the means summed in the same order too
        np.testing.assert_array_equal(spread[name].values, summary[name].values, err_msg=name)



def test_the_store_takes_its_quantiles_on_this_thread_alone(monkeypatch):
    """A parallel loop here would start OpenMP's threads, after which this process no longer
    forks the workers of its next summary run (_accelerate.fork_is_safe): the store's quantile
    kernel runs with numba on one thread, and gives numpy's quantiles."""
    from socsec_proj import _accelerate

    threads = []
    kernel = reductions.draw_quantiles
    monkeypatch.setattr(reductions, "draw_quantiles",
                        lambda *args: threads.append(_accelerate.thread_count()) or kernel(*args))
    values = np.random.default_rng(4).standard_normal((300, 2, 40))  # 300 draws of 80 cells: a parallel-sized call
    values[:, 0, :3] = np.nan
    with reductions.DrawStore(["a"], 300, (2, 40)) as store:
        store.add(0, {"a": values})
        got = store.quantiles("a", QUANTILES)
    assert threads == [1]
    np.testing.assert_array_equal(got, _nanquantile(np.moveaxis(values, 0, -1), QUANTILES))


def test_a_summary_s_fan_chart_and_histogram_are_those_of_the_draws_kept_whole(whole_and_summary):
    import matplotlib

    matplotlib.use("Agg")
    from socsec_proj.report import plots

    whole, summary = whole_and_summary

    for province in (None, "CN-GD"):  # the median line as drawn, and the bars (each a count of draws)
        medians = [plots.fan_chart(ds, "employee_pension", province, quantiles=(0.05, 0.5, 0.95), end=None)
                   .axes[0].lines[0].get_ydata() for ds in (whole, summary)]
        np.testing.assert_allclose(medians[1], medians[0], rtol=1e-12, err_msg=str(province))
        bars = [[p.get_height() for p in plots.depletion_histogram(ds, "injury", province).axes[0].patches]
                for ds in (whole, summary)]
        assert bars[0] == bars[1] and sum(bars[0]) == 40
    with pytest.raises(InputError, match="quantiles it holds: 0.01, 0.05, 0.5, 0.95, 0.995"):
        plots.fan_chart(summary, "employee_pension", quantiles=(0.25, 0.5, 0.75))

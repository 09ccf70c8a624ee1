"""Depletion-year quantiles over draws count the draws that never deplete as after the horizon."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st

from socsec_proj.funds.measures import depletion_year_quantiles, format_depletion_year
from socsec_proj.report import plots
from socsec_proj.report.summary import draws_depletion, summary_markdown

YEARS = np.arange(2020, 2101)


def _draws(depleted_in) -> xr.Dataset:
    """A stochastic Dataset whose national employee-pension balance is first negative in the
    given year per draw (None: never by 2100), split over two provinces."""
    balance = np.ones((len(depleted_in), 2, YEARS.size))
    for draw, year in enumerate(depleted_in):
        if year is not None:
            balance[draw, :, YEARS >= year] = -1.0
    ds = xr.Dataset({"employee_pension_balance": (("draw", "province", "year"), balance, {"units": "CNY"})},
                    coords={"draw": np.arange(len(depleted_in)), "province": ["CN-GD", "CN-HE"], "year": YEARS})
    ds.attrs.update(scenario="constructed", seed=7)
    return ds


# 10 draws: 4 depleted (2040, 2050, 2060, 2070), 6 never by 2100.
CASE = [2060, None, 2040, None, None, 2070, None, 2050, None, None]


def test_median_is_after_the_horizon_when_most_draws_never_deplete():
    q = depletion_year_quantiles(_draws(CASE), quantiles=(0.05, 0.1, 0.4, 0.41, 0.5, 0.95))
    # inverted_cdf: the earliest year by which at least that share of the 10 draws is depleted
    assert q.values.tolist() == [2040.0, 2040.0, 2070.0, np.inf, np.inf, np.inf]
    assert q.attrs["horizon"] == 2100 and q.attrs["never_depleted"] == pytest.approx(0.6)
    assert [format_depletion_year(v, 2100) for v in q.values] == ["2040", "2040", "2070", "> 2100", "> 2100", "> 2100"]
    # leaving the never-depleted draws out, as before, would have said a median of 2055
    assert np.median([y for y in CASE if y is not None]) == 2055


def test_every_draw_depleted_gives_plain_years():
    q = depletion_year_quantiles(_draws([2030 + i for i in range(10)]), quantiles=(0.0, 0.5, 1.0))
    assert q.values.tolist() == [2030.0, 2034.0, 2039.0] and q.attrs["never_depleted"] == 0.0


def test_summary_and_histogram_say_after_2100():
    draws = _draws(CASE)
    table = draws_depletion(draws)
    assert table.loc["Urban-employee pension"].tolist() == ["2040", "> 2100", "> 2100", "6 of 10"]
    projection = draws.isel(draw=0, drop=True)
    text = summary_markdown(projection, draws=draws)
    assert "## Stochastic draws" in text and "| Urban-employee pension | 2040 | > 2100 | > 2100 | 6 of 10 |" in text
    figure = plots.depletion_histogram(draws, "employee_pension")
    texts = [t.get_text() for t in figure.texts] + [t.get_text() for ax in figure.axes for t in ax.texts]
    assert any("median > 2100, 5-95 %: 2040 to > 2100" in t for t in texts), texts
    bars = [p for p in figure.axes[0].patches if p.get_facecolor()[:3] == pytest.approx((0.172, 0.627, 0.172), abs=0.01)]
    assert [b.get_height() for b in bars] == [6]  # the "> 2100" bar holds the six draws


def test_quantiles_out_of_range_are_refused():
    from socsec_proj import InputError

    with pytest.raises(InputError, match="quantiles"):
        depletion_year_quantiles(_draws(CASE), quantiles=(1.5,))


@settings(deadline=None, max_examples=40)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_depletion_year_is_the_first_year_from_2024_below_zero(seed, with_draws, national_total):
    # held against the rule written out with xarray (where, then min over years), on balances
    # with missing years and provinces, in either order of the dimensions
    from socsec_proj.funds.measures import depletion_year

    rng = np.random.default_rng(seed)
    years = np.arange(2020, 2020 + int(rng.integers(1, 12)))
    dims, shape = ("province", "year"), (3, years.size)
    if with_draws:
        dims, shape = ("draw",) + dims, (2,) + shape
    balance = rng.normal(size=shape)
    balance[rng.uniform(size=shape) < 0.2] = np.nan
    ds = xr.Dataset({"employee_pension_balance": (dims, balance)},
                    coords={"province": ["CN-GD", "CN-HE", "CN-BJ"], "year": years,
                            "name_en": ("province", ["Guangdong", "Hebei", "Beijing"])})
    if rng.uniform() < 0.5:
        ds = ds.transpose("year", ...)
    got = depletion_year(ds, "employee_pension", national_total=national_total)
    values = ds["employee_pension_balance"]
    if national_total:
        values = values.sum("province", min_count=1)
    expected = xr.where((values < 0) & (ds["year"] >= 2024), ds["year"], np.nan).min("year")
    assert got.dims == expected.dims and got.name == "employee_pension_depletion_year"
    np.testing.assert_array_equal(got.values, expected.values)
    assert set(got.coords) == set(expected.coords)


@settings(deadline=None, max_examples=60)
@given(st.lists(st.lists(st.one_of(st.none(), st.integers(2020, 2100)), min_size=1, max_size=4), min_size=1,
                max_size=60).filter(lambda rows: len({len(row) for row in rows}) == 1))
def test_share_depleted_by_each_year_is_the_mean_of_the_draws_depleted_by_then(rows):
    """A summary's probability of depletion by year, counted on sorted first years, is the mean
    over draws of ``first year <= year`` to the bit (a draw never depleted, NaN, counted in no
    year), for one province or several."""
    from socsec_proj.stochastic import share_depleted_by

    first_years = np.array([[np.nan if year is None else year for year in row] for row in rows], dtype=np.float32)
    for values in (first_years, first_years[:, 0]):
        expected = np.stack([(values <= year).mean(axis=0) for year in YEARS], axis=-1)
        got = share_depleted_by(values, YEARS)
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)
    # by hand: 2 of 4 draws depleted by 2030 (one in 2025, one in 2030), one more in 2090
    hand = share_depleted_by(np.array([2025, np.nan, 2030, 2090], dtype=np.float32), YEARS)
    assert hand[YEARS == 2024] == 0.0 and hand[YEARS == 2029] == 0.25 and hand[YEARS == 2030] == 0.5
    assert hand[YEARS == 2100] == 0.75

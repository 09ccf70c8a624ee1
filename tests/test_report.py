"""Reports: charts, tidy tables, depletion years, plan-target checks, the Markdown summary.

Fund variables are tested on a small synthetic Dataset whose figures are simple enough to
check by hand; the charts are also drawn for the real baseline projection.
"""

from __future__ import annotations

import math
import subprocess
import sys
import zlib
from types import MappingProxyType

import numpy as np
import pytest
import xarray as xr

import socsec_proj as ssp
from socsec_proj import report
from socsec_proj.inputs.scenario import Target

PROVINCES = ["CN-BJ", "CN-HE", "CN-GD"]
NAMES = ["Beijing", "Hebei", "Guangdong"]
YEARS = np.arange(2020, 2041)
AGES = np.arange(5)
PNG = b"\x89PNG\r\n\x1a\n"


def _variable(dims, values, units, long_name):
    return dims, np.asarray(values, dtype=float), {"units": units, "long_name": long_name}


@pytest.fixture(scope="module")
def synthetic():
    """Three provinces, ages 0-4, 2020-2040, with figures chosen to be checked by hand.

    * population per (sex, age) cell = 1e5 x (p + 1) x (1 + t / 100), t = year - 2020, so the
      three provinces together hold 6e6 x (1 + t / 100) persons;
    * employee-pension contributors 1,000 x (p + 1) per cell (10,000 x (p + 1) per province),
      retirees half of that (dependency ratio 0.5 everywhere);
    * employee-pension expenditure 120 per province and year, balance
      Beijing 1,000; Hebei 50 - 10 t (zero in 2025, below zero from 2026; NaN in 2020);
      Guangdong 100 - 10 t (zero in 2030, below zero from 2031); months = 12 x balance / 120;
    * unemployment: balance 10, Beijing -10 from 2038; revenue 5; no expenditure, no months.
    """
    n_p, n_y = len(PROVINCES), len(YEARS)
    p = np.arange(1, n_p + 1)[:, None, None, None]
    t = (YEARS - 2020)[None, None, None, :]
    cell = np.ones((n_p, 2, len(AGES), n_y))
    population = 1e5 * p * (1 + t / 100) * cell
    contributors = 1000.0 * p * cell
    retirees = 500.0 * p * cell
    tt = np.broadcast_to(YEARS - 2020, (n_p, n_y))
    balance = np.vstack([np.full(n_y, 1000.0), 50.0 - 10 * tt[1], 100.0 - 10 * tt[2]])
    balance[1, 0] = np.nan  # an undefined base year must not count as depleted
    expenditure = np.full((n_p, n_y), 120.0)
    unemployment = np.full((n_p, n_y), 10.0)
    unemployment[0, YEARS >= 2038] = -10.0
    four, two = ("province", "sex", "age", "year"), ("province", "year")
    ds = xr.Dataset(
        {
            "population": _variable(four, population, "persons", "resident population at 1 July"),
            "employee_pension_contributors": _variable(four, contributors, "persons", "insured workers (参保职工)"),
            "employee_pension_retirees": _variable(four, retirees, "persons", "pensioners (离退休人员)"),
            "system_dependency_ratio": _variable(two, np.full((n_p, n_y), 0.5), "1", "pensioners per insured worker"),
            "employee_pension_coverage": _variable(("province",), np.ones(n_p), "1", "calibrated coverage"),
            "employee_pension_expenditure": _variable(two, expenditure, "CNY/year", "expenditure"),
            "employee_pension_balance": _variable(two, balance, "CNY", "accumulated balance"),
            "employee_pension_months_of_reserve": _variable(two, 12 * balance / expenditure, "months",
                                                            "months of payment the balance covers"),
            "unemployment_revenue": _variable(two, np.full((n_p, n_y), 5.0), "CNY/year", "revenue"),
            "unemployment_balance": _variable(two, unemployment, "CNY", "accumulated balance"),
        },
        coords={"province": PROVINCES, "name_en": ("province", NAMES), "sex": ["male", "female"], "age": AGES,
                "year": YEARS},
        attrs={"scenario": "synthetic", "description": "A hand-checkable test projection."},
    )
    return ds


class _Scenario:
    """The attributes of a Scenario that the summary reads."""

    name = "synthetic"
    description = "A hand-checkable test projection."
    source = None
    extends = "baseline"
    changes = MappingProxyType({"demography.total_fertility_rate": {"2030-01-01": 1.6}})
    targets = (
        Target("employee_pension_contributors", "CN-GD", 2030, 25_000, "plan A"),      # 30,000: met
        Target("employee_pension_contributors", None, 2030, 70_000, "plan B"),         # 60,000: not met
        Target("employee_pension_expenditure", None, 2030, 400, "plan C"),             # 360 <= 400: met
        Target("system_dependency_ratio", None, 2035, 0.4, "plan D"),                  # 0.5 > 0.4: not met
        Target("injury_balance", "CN-BJ", 2030, 1, "plan E"),                          # not projected
        Target("employee_pension_balance", "CN-HE", 2099, 1, "plan F"),                # beyond the horizon
    )


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def test_tidy_tables_one_per_scheme_summed_over_sex_and_age(synthetic):
    tables = report.tidy_tables(synthetic)
    assert set(tables) == {"employee_pension", "unemployment", "population"}  # absent schemes skipped
    employee = tables["employee_pension"]
    assert list(employee.columns) == ["province", "year", "name_en", "employee_pension_contributors",
                                      "employee_pension_retirees", "system_dependency_ratio",
                                      "employee_pension_expenditure", "employee_pension_balance",
                                      "employee_pension_months_of_reserve"]  # no coverage: it has no year
    assert len(employee) == len(PROVINCES) * len(YEARS)
    gd = employee.query("province == 'CN-GD' and year == 2030").iloc[0]
    assert gd["employee_pension_contributors"] == 30_000  # 1,000 x 3 x 2 sexes x 5 ages
    assert gd["system_dependency_ratio"] == 0.5  # a ratio is not summed
    assert gd["employee_pension_balance"] == 0
    assert list(tables["unemployment"].columns) == ["province", "year", "name_en", "unemployment_revenue",
                                                    "unemployment_balance"]
    population = tables["population"]
    assert list(population.columns) == ["province", "sex", "year", "name_en", "population"]
    assert population.attrs["units"] == {"population": "persons"}
    assert employee.attrs["units"]["employee_pension_balance"] == "CNY"
    assert set(employee.query("province == 'CN-HE'")["name_en"]) == {"Hebei"}
    row = population.query("province == 'CN-BJ' and sex == 'male' and year == 2020").iloc[0]
    assert row["population"] == pytest.approx(5e5)


def test_tidy_tables_of_the_baseline(baseline):
    tables = report.tidy_tables(baseline)
    assert {"employee_pension", "resident_pension", "population"} <= set(tables)
    population = tables["population"]
    assert {"province", "sex", "year", "population_total", "births", "deaths"} <= set(population.columns)
    assert list(population.columns[:5]) == ["province", "sex", "year", "name_zh", "name_en"]
    assert set(population.query("province == 'CN-GD'")["name_zh"]) == {"广东"}
    gd = population.query("province == 'CN-GD' and year == 2020")["population_total"].sum()
    assert abs(gd - 126_012_510) < 1  # the 2020 census total
    employee = tables["employee_pension"]
    expected = baseline["employee_pension_contributors"].sel(province="CN-HE", year=2030).sum()
    got = employee.query("province == 'CN-HE' and year == 2030")["employee_pension_contributors"].item()
    assert got == pytest.approx(float(expected))


def test_depletion_years_hand_computed(synthetic):
    years = report.depletion_years(synthetic, national=True)
    assert list(years.columns) == ["employee_pension", "unemployment"]
    assert list(years.index) == [*PROVINCES, "total"]
    assert math.isnan(years.loc["CN-BJ", "employee_pension"])  # always 1,000
    assert years.loc["CN-HE", "employee_pension"] == 2026  # 0 in 2025 is not below zero
    assert years.loc["CN-GD", "employee_pension"] == 2031
    assert math.isnan(years.loc["total", "employee_pension"])  # 1,150 - 20 t > 0 to 2040
    assert years.loc["CN-BJ", "unemployment"] == 2038
    assert math.isnan(years.loc["total", "unemployment"])  # -10 + 10 + 10 > 0
    assert "total" not in report.depletion_years(synthetic).index


def test_depletion_years_without_funds(synthetic):
    years = report.depletion_years(synthetic[["population"]])
    assert years.empty and list(years.index) == PROVINCES


def test_aggregate_recomputes_ratios_from_their_parts(synthetic, baseline):
    months = report.aggregate(synthetic, "employee_pension_months_of_reserve")
    assert float(months.sel(year=2030)) == pytest.approx(12 * 950 / 360)  # not a mean of the provinces
    assert float(report.aggregate(synthetic, "system_dependency_ratio").sel(year=2030)) == pytest.approx(0.5)
    assert float(report.aggregate(synthetic, "employee_pension_balance", "CN-GD").sel(year=2035)) == -50
    benefit = report.aggregate(baseline, "employee_pension_average_benefit")
    assert benefit.attrs["aggregation"] == "mean weighted by beneficiaries"
    retirees = baseline["employee_pension_retirees"].sum(("sex", "age")).sel(year=2030)
    by_province = baseline["employee_pension_average_benefit"].sel(year=2030)
    assert float(benefit.sel(year=2030)) == pytest.approx(float((by_province * retirees).sum() / retirees.sum()))


def test_target_checks_hand_computed(synthetic):
    checks = report.target_checks(synthetic, _Scenario())
    assert list(checks.columns) == ["indicator", "province", "year", "target", "projected", "ratio", "rule", "met",
                                    "source", "note"]
    gd, national, expenditure, ratio, absent, late = checks.to_dict("records")
    assert gd["projected"] == 30_000 and gd["ratio"] == pytest.approx(1.2) and gd["met"] is True
    assert gd["rule"] == ">=" and gd["note"] == ""
    assert national["projected"] == 60_000 and national["ratio"] == pytest.approx(6 / 7)
    assert national["met"] is False and "3 provinces" in national["note"]  # not all 31: said so
    assert expenditure["projected"] == 360 and expenditure["rule"] == "<=" and expenditure["met"] is True
    assert ratio["projected"] == pytest.approx(0.5) and ratio["rule"] == "<=" and ratio["met"] is False
    assert math.isnan(absent["projected"]) and absent["met"] is None and "not in this projection" in absent["note"]
    assert math.isnan(late["projected"]) and late["met"] is None and "year" in late["note"]
    assert report.target_checks(synthetic, ()).empty


def test_summary_markdown_holds_the_headline_figures(synthetic):
    charts = {"Population pyramid": "population_pyramid.png"}
    text = report.summary_markdown(synthetic, _Scenario(), charts)
    assert text.startswith("# Projection summary: scenario `synthetic`")
    assert "A hand-checkable test projection." in text
    assert "`demography.total_fertility_rate`: 1.6 from 2030-01-01" in text
    assert "2020–2040" in text
    # population 6e6 x (1 + t/100): 6.24 M in 2024, 6.9 M in 2035; 2050 is beyond the horizon
    assert "| Population (1 July) | million persons | 6.2 | 6.9 |" in text
    assert "| 0.50 | 0.50 |" in text  # the dependency ratio
    # employee pension: pooled never below zero, Hebei first (2026), months 31.7 (2030) and 28.3 (2035)
    assert "| Urban-employee pension | never | 2 of 3 | Hebei (CN-HE), 2026 | 31.7 | 28.3 |" in text
    assert "| Unemployment insurance | never | 1 of 3 | Beijing (CN-BJ), 2038 | – | – |" in text
    assert "2 of 6 targets met (2 could not be checked)" in text  # the absent indicator, the year beyond 2040
    assert "| `employee_pension_contributors` | Guangdong (CN-GD) | 2030 | >= 25,000 persons | 30,000 | 120 % | yes |" \
        in text
    assert "[Population pyramid](population_pyramid.png)" in text


def test_summary_markdown_of_the_baseline(baseline):
    import socsec_proj as ssp

    text = report.summary_markdown(baseline, ssp.load_scenario("baseline"), {})
    population_2024 = float(baseline["population"].sel(year=2024).sum()) / 1e6
    assert f"{population_2024:,.1f}" in text
    assert "| 2024 | 2035 | 2050 |" in text
    assert "The scenario sets no plan targets." in text


def test_comparison_and_differences(synthetic):
    other = synthetic.copy()
    # Beijing's fund 1,000 lower: the pooled balance 150 - 20 t is below zero from t = 8.
    other["employee_pension_balance"] = synthetic["employee_pension_balance"] - xr.DataArray(
        [1000.0, 0, 0], coords={"province": PROVINCES})
    other["employee_pension_contributors"] = synthetic["employee_pension_contributors"] * 0.9
    other.attrs["scenario"] = "other"
    table = report.differences(synthetic, other)
    assert {"employee_pension_contributors", "employee_pension_balance", "unemployment_balance"} <= set(table.columns)
    assert list(table.columns[:2]) == ["province", "year"] and len(table) == len(PROVINCES) * len(YEARS)
    gd = table.query("province == 'CN-GD' and year == 2030").iloc[0]
    assert gd["employee_pension_contributors"] == pytest.approx(-3_000)
    assert gd["employee_pension_balance"] == 0 and gd["unemployment_balance"] == 0
    bj = table.query("province == 'CN-BJ' and year == 2030").iloc[0]
    assert bj["employee_pension_balance"] == -1000
    text = report.comparison_markdown(synthetic, other, charts={"Balance": "compare_employee_pension_balance.png"})
    assert "# Comparison: `other` against `synthetic`" in text
    assert "| Urban-employee pension | never | 2028 | 2 / 2 |" in text  # Beijing at 0 is not below zero
    assert "| Urban-employee pension: insured workers | persons | 2030 | 60,000 | 54,000 | -6,000 | -10.0 % |" \
        in text
    assert "[Balance](compare_employee_pension_balance.png)" in text


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def _saved(figure, path):
    figure.savefig(path, dpi=150)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 20_000, f"{path.name}: {len(data)} bytes"
    texts = [text.get_text() for text in figure.findobj(lambda artist: hasattr(artist, "get_text"))]
    return " ".join(texts)


def _lines(figure):
    """``{legend label: (x, y)}`` of every line drawn on the figure's axes."""
    return {line.get_label(): (line.get_xdata(), line.get_ydata()) for ax in figure.axes for line in ax.get_lines()}


def test_charts_of_a_synthetic_projection(synthetic, tmp_path):
    texts = _saved(report.population_pyramid(synthetic), tmp_path / "pyramid.png")
    assert "2024 and 2040" not in texts and "2024" in texts  # 2050 is beyond the horizon: one year shown
    assert "persons]" in texts
    texts = _saved(report.population_pyramid(synthetic, "CN-GD", years=(2020, 2040)), tmp_path / "gd.png")
    assert "Guangdong" in texts and "2020 and 2040" in texts
    texts = _saved(report.contributors_vs_retirees(synthetic), tmp_path / "cvr.png")
    assert "3 provinces together" in texts and "pensioners per insured worker [ratio]" in texts
    figure = report.fund_balance(synthetic, "employee_pension")
    texts = _saved(figure, tmp_path / "balance.png")
    # Three provinces: every one drawn, labelled with the year its fund first falls below zero.
    assert "Total" in texts and "balance [CNY, nominal]" in texts
    assert {"Beijing (> 2040)", "Hebei (2026)", "Guangdong (2031)"} <= set(_lines(figure))
    texts = _saved(report.months_of_reserve(synthetic, "employee_pension", provinces=["CN-GD"]), tmp_path / "m.png")
    assert "Guangdong" in texts and "[months]" in texts and "Hebei" not in texts.replace("Hebei,", "")
    other = synthetic.copy()
    other["employee_pension_balance"] = synthetic["employee_pension_balance"] * 2
    texts = _saved(report.scenario_comparison({"synthetic": synthetic, "double": other}, "employee_pension_balance"),
                   tmp_path / "fan.png")
    assert "synthetic vs double" in texts and "range of the scenarios" in texts and "CNY, nominal]" in texts
    with pytest.raises(KeyError):
        report.fund_balance(synthetic, "injury")  # absent: the caller skips it
    with pytest.raises(ValueError):
        report.fund_balance(synthetic, "pension")


def test_balance_chart_in_2024_prices_to_the_chart_end(synthetic):
    # Prices rising 10 % a year from 2024: the 2030 total of 1,000 + (50 - 100) + (100 - 100) = 950
    # nominal yuan is 950 / 1.1^6 in 2024 prices.
    index = xr.DataArray(1.1 ** (YEARS - 2024.0), coords={"year": YEARS}, dims="year", attrs={"base_year": 2024})
    figure = report.fund_balance(synthetic, "employee_pension", prices=index, end=2030)
    lines = _lines(figure)
    years, total = lines["total, 3 provinces together"]
    assert years[-1] == 2030  # cut at the chart's end
    assert total[list(years).index(2030)] == pytest.approx(950 / 1.1 ** 6)
    texts = " ".join(t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text")))
    assert "balance [CNY, 2024 prices]" in texts and "nominal" not in texts
    # Guangdong's fund is zero in 2030 and below zero only from 2031: not depleted by this chart's end.
    assert "Guangdong (> 2030)" in lines and "Hebei (2026)" in lines


def test_balance_chart_shows_the_provinces_that_run_out_first(synthetic, baseline):
    # Two lines of three: one for the first to run out (Hebei, 2026), one for the largest fund (equal
    # expenditure everywhere: the first in national order, Beijing).
    figure = report.fund_balance(synthetic, "employee_pension", top=2)
    assert set(_lines(figure)) >= {"Hebei (2026)", "Beijing (> 2040)"} and "Guangdong (2031)" not in _lines(figure)
    figure = report.fund_balance(baseline, "employee_pension")
    labels = set(_lines(figure))
    years = report.depletion_years(baseline.sel(year=slice(None, 2060)))["employee_pension"].dropna()
    first = years.sort_values(kind="stable").index[:4]
    names = {str(baseline["name_en"].sel(province=code).item()) for code in first}
    assert all(any(label.startswith(name + " (") for label in labels) for name in names)
    # the largest fund is drawn too, labelled with its depletion year (2059 under the intermediate set)
    assert any(label.startswith("Guangdong (") for label in labels)


def test_price_index_follows_the_scenario_cpi():
    import socsec_proj as ssp
    from socsec_proj.report.prices import price_index

    # Baseline CPI: 3 % in 2024 (and before, the first value holds), 2 % from 2025.
    index = price_index(ssp.load_scenario("baseline"), np.arange(2020, 2031))
    assert float(index.sel(year=2024)) == 1.0
    assert float(index.sel(year=2030)) == pytest.approx(1.02 ** 6)
    assert float(index.sel(year=2023)) == pytest.approx(1 / 1.03)
    assert float(index.sel(year=2020)) == pytest.approx(1.03 ** -4)


def _cjk_characters(figure) -> set:
    texts = " ".join(t.get_text() for t in figure.findobj(lambda a: hasattr(a, "get_text")))
    return {ch for ch in texts if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"}


@pytest.mark.parametrize("lang", ["zh", "both"])
def test_chinese_labels_resolve_to_a_font_with_their_glyphs(synthetic, baseline, lang, tmp_path):
    import warnings

    from matplotlib import font_manager

    from socsec_proj.report import fonts

    if fonts.cjk_font() is None:
        pytest.skip("no CJK font installed (apt-get install fonts-noto-cjk)")
    figures = [report.fund_balance(baseline, "employee_pension", lang=lang),
               report.months_of_reserve(baseline, "unemployment", lang=lang),
               report.contributors_vs_retirees(synthetic, lang=lang),
               report.population_pyramid(synthetic, lang=lang)]
    for index, figure in enumerate(figures):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # matplotlib warns "Glyph ... missing" where it would draw a box
            figure.savefig(tmp_path / f"{index}.png", dpi=50)
        characters = _cjk_characters(figure)
        assert characters  # the labels are in Chinese
        path = font_manager.findfont(fonts.cjk_font(), fallback_to_default=False)
        assert fonts.has_glyphs(path, "".join(characters))
    texts = " ".join(t.get_text() for t in figures[0].findobj(lambda a: hasattr(a, "get_text")))
    assert "城镇职工基本养老保险" in texts and "黑龙江" in texts and "年价格" not in texts  # nominal: 名义值
    assert "名义值" in texts
    assert ("balance [" in texts) == (lang == "both")


def test_chinese_labels_fall_back_to_english_without_a_cjk_font(synthetic, monkeypatch, tmp_path):
    from socsec_proj.report import fonts

    monkeypatch.setattr(fonts, "cjk_font", lambda: None)
    assert fonts.resolve_language(None) == "en"
    with pytest.warns(UserWarning, match="fall back to English"):
        figure = report.fund_balance(synthetic, "employee_pension", lang="zh")
    assert not _cjk_characters(figure)
    assert "Hebei (2026)" in _lines(figure)
    with pytest.raises(ValueError, match="unknown label language"):
        fonts.resolve_language("fr")


def test_charts_of_the_baseline(baseline, tmp_path):
    texts = _saved(report.population_pyramid(baseline), tmp_path / "pyramid.png")
    assert "China, 2024 and 2050" in texts
    _saved(report.contributors_vs_retirees(baseline, provinces="CN-GD"), tmp_path / "cvr.png")
    for scheme in report.SCHEMES:
        if f"{scheme}_balance" in baseline:
            figure = report.fund_balance(baseline, scheme)
            texts = _saved(figure, tmp_path / f"{scheme}.png")
            assert "largest funds" in texts  # 31 provinces: at most 8 get a line
            assert len(_lines(figure)) == 1 + 8 + 2  # total, 8 provinces, the zero line on each panel
            assert max(max(x) for x, _ in _lines(figure).values() if len(x) > 2) == 2060
        if f"{scheme}_months_of_reserve" in baseline:
            _saved(report.months_of_reserve(baseline, scheme), tmp_path / f"{scheme}_months.png")
    later = baseline.copy()
    later["employee_pension_retirees"] = baseline["employee_pension_retirees"] * 1.1
    _saved(report.scenario_comparison({"baseline": baseline, "more retirees": later}, "employee_pension_retirees",
                                      province="CN-HE"), tmp_path / "fan.png")


def test_assumption_sets_table_holds_each_sets_national_depletion_year_and_balances():
    from socsec_proj.report.summary import assumption_sets, summary_markdown

    years = np.arange(2020, 2061)

    def fund(crossing):  # two provinces (1:3), national balance 10 trillion CNY x (crossing - year)
        national = 10e12 * (crossing - years)
        balance = np.stack([national * 0.25, national * 0.75])
        return xr.Dataset({"employee_pension_balance": (("province", "year"), balance)},
                          coords={"province": ["CN-GD", "CN-HE"], "year": years})

    sets = {"high_cost": fund(2037), "baseline": fund(2042), "low_cost": fund(2070)}
    table = assumption_sets(sets)
    assert list(table.index) == ["high_cost", "baseline", "low_cost"]
    # a zero balance is not depleted: the first year below zero is the year after the crossing
    assert table["depletion_year"].tolist()[:2] == [2038.0, 2043.0] and np.isnan(table["depletion_year"]["low_cost"])
    np.testing.assert_allclose(table["balance_2035"], [20.0, 70.0, 350.0])  # trillion CNY
    np.testing.assert_allclose(table["balance_2050"], [-130.0, -80.0, 200.0])
    text = summary_markdown(sets["baseline"], sets=sets)
    assert "| `baseline` (intermediate) | 2043 | 70.00 | -80.00 |" in text
    assert "| `low_cost` | not by 2060 | 350.00 | 200.00 |" in text


def test_png_holds_the_pixels_and_chunks_matplotlib_writes(synthetic):
    """``outputs.png`` writes its own PNG file (rows unfiltered, zlib level 1) from a renderer shared
    with the charts of its size drawn before: decoded, the same pixels, size, resolution and
    Software text as matplotlib's own PNG of the same figure."""
    import io
    import struct

    from PIL import Image

    from socsec_proj.report import outputs

    def draw():
        return report.fund_balance(synthetic, "employee_pension")

    # another chart of the same size first: its renderer (and text extents) are reused, its pixels not
    before = report.fund_balance(synthetic, "unemployment")
    assert tuple(before.get_size_inches()) == tuple(draw().get_size_inches())
    outputs.png(before, dpi=120)
    mine = outputs.png(draw(), dpi=120)
    import matplotlib

    if matplotlib.__version__.startswith(outputs.LAYOUT_CACHED_MATPLOTLIB):  # the glyph layouts kept too
        assert {type(r).__name__ for r in outputs._RENDERERS.by_size.values()} == {"LayoutCachingRenderer"}
        assert any(len(r._layouts) > 20 for r in outputs._RENDERERS.by_size.values())
    figure = draw()
    theirs = io.BytesIO()
    with matplotlib.rc_context({"text.hinting": "no_hinting"}):
        figure.savefig(theirs, format="png", dpi=120)  # matplotlib's own canvas and renderer
    a, b = Image.open(io.BytesIO(mine)), Image.open(theirs)
    assert mine.startswith(PNG) and a.mode == b.mode == "RGBA" and a.size == b.size == (1140, 900)  # 9.5 x 7.5 in
    assert np.array_equal(np.asarray(a), np.asarray(b))
    assert a.info["dpi"] == pytest.approx(b.info["dpi"]) and a.info["Software"] == b.info["Software"]
    chunks, at = [], 8
    while at < len(mine):  # every chunk's CRC right (Pillow checks only some)
        length, kind = struct.unpack(">I4s", mine[at:at + 8])
        data, crc = mine[at + 8:at + 8 + length], struct.unpack(">I", mine[at + 8 + length:at + 12 + length])[0]
        assert crc == zlib.crc32(data, zlib.crc32(kind))
        chunks.append(kind)
        at += 12 + length
    assert chunks == [b"IHDR", b"tEXt", b"pHYs", b"IDAT", b"IEND"]
    # a hand-made 2 x 1 image: red, then half-transparent blue
    tiny = Image.open(io.BytesIO(outputs.png_bytes(bytes([255, 0, 0, 255, 0, 0, 255, 128]), 2, 1, 72)))
    assert np.asarray(tiny).tolist() == [[[255, 0, 0, 255], [0, 0, 255, 128]]]
    assert tiny.info["dpi"] == pytest.approx((72, 72), abs=0.01)


def test_png_keeps_a_bounded_number_of_renderers(synthetic, monkeypatch):
    """A session drawing charts of many sizes keeps at most ``KEPT_RENDERERS`` renderers (the
    oldest size dropped), and each renderer at most ``KEPT_LAYOUTS`` glyph layouts."""
    from socsec_proj.report import outputs

    monkeypatch.setattr(outputs, "KEPT_RENDERERS", 2)
    monkeypatch.setattr(outputs, "KEPT_LAYOUTS", 5)
    for width in (5.0, 6.0, 7.0):
        figure = report.fund_balance(synthetic, "employee_pension")
        figure.set_size_inches(width, 4.0)
        assert outputs.png(figure, dpi=50).startswith(PNG)
    renderers = outputs._RENDERERS.by_size
    assert sorted(key[0] for key in renderers) == [300, 350]  # 6 and 7 inches at 50 dpi: 5 inches dropped
    assert all(len(getattr(renderer, "_layouts", ())) <= 5 for renderer in renderers.values())


@pytest.mark.parametrize("lang", ["both", "en"])
@pytest.mark.parametrize("provinces", [None, ["CN-GD", "CN-HL", "CN-XZ"], ["CN-BJ"]])
def test_charts_drawn_on_reused_figures_are_the_charts_drawn_on_fresh_ones(baseline, lang, provinces):
    """:func:`~socsec_proj.report.outputs.render` draws the balance and reserve charts on one figure
    per kind and layout (``plots.reused_figures``): every chart's PNG must be the fresh figure's,
    byte for byte (a colour cycle, limit, title or legend left from the chart before would show)."""
    from socsec_proj.report import outputs
    from socsec_proj.report.prices import price_index

    ds = baseline if provinces is None else baseline.sel(province=provinces)
    scenario = ssp.load_scenario("baseline")
    plan = outputs.chart_plan(ds, price_index(scenario, ds["year"].values), outputs.last_chart_year(ds, 2060), lang)
    reused = outputs.render(plan)
    fresh = [(key, file, title, outputs.png(draw())) for key, file, title, draw in plan]
    assert sum(key.endswith(("_balance", "_months_of_reserve")) for key, *_ in plan) >= 10
    for (key, _, _, image), (_, _, _, expected) in zip(reused, fresh):
        assert image == expected, key


def test_draw_charts_on_reused_figures_are_the_charts_drawn_on_fresh_ones():
    """The fan charts (and the depletion-year histograms, drawn on fresh figures) of a stochastic run."""
    from socsec_proj.report import outputs
    from socsec_proj.report.prices import price_index

    draws = ssp.run("baseline", draws=6, seed=5)
    scenario = ssp.load_scenario("baseline")
    plan = outputs.draw_chart_plan(draws, price_index(scenario, draws["year"].values), 2060, "both")
    reused = outputs.render(plan)
    fresh = [outputs.png(draw()) for *_, draw in plan]
    assert len(plan) == 12
    for (key, _, _, image), expected in zip(reused, fresh):
        assert image == expected, key


def test_charts_drawn_after_a_rehearsal_are_the_charts_drawn_on_fresh_ones(baseline):
    """The chart process rehearses on a made-up projection (``outputs.rehearse``) and then draws a
    run's charts on the same figures and renderers: every PNG must be a fresh figure's, byte for byte."""
    from socsec_proj.report import outputs, plots
    from socsec_proj.report.prices import price_index

    scenario = ssp.load_scenario("baseline")
    plan = outputs.chart_plan(baseline, price_index(scenario, baseline["year"].values), 2060, "both")
    with plots.reused_figures():
        outputs.rehearse(lang="both")
        rehearsed_kinds = len(plots._REUSED)
        after = [outputs.png(draw()) for *_, draw in plan]
    fresh = [outputs.png(draw()) for *_, draw in plan]
    assert rehearsed_kinds >= 2  # the balance and reserve figures were made by the rehearsal
    for (key, *_), image, expected in zip(plan, after, fresh):
        assert image == expected, key


def test_a_rehearsal_stops_when_asked():
    from socsec_proj.report import outputs

    asked = []
    outputs.rehearse(lang="en", stop=lambda: asked.append(1) or len(asked) > 1)
    assert len(asked) == 2  # one chart drawn, then stopped before the second


def test_the_command_leaves_matplotlib_to_the_chart_process():
    """With a chart process running, the command imports everything it writes with but matplotlib
    (0.4-0.5 s): the worker draws the charts, and the command draws only what it does not deliver."""
    code = ("import sys; from socsec_proj import cli; cli._import_writers(charts_here=False); "
            "assert 'matplotlib' not in sys.modules, 'imported'; cli._import_writers(); "
            "assert 'matplotlib.figure' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("lang", ["both", "en"])
def test_every_chart_of_a_run_has_the_pixels_of_matplotlibs_own_png(baseline, lang):
    """The shared renderer keeps glyph layouts and glyph bitmaps (placed by whole pixels): every chart
    of a baseline run, Chinese labels included, decodes to the pixels of matplotlib's own ``savefig``."""
    import io

    import matplotlib
    from PIL import Image

    from socsec_proj.report import outputs
    from socsec_proj.report.prices import price_index

    scenario = ssp.load_scenario("baseline")
    plan = outputs.chart_plan(baseline, price_index(scenario, baseline["year"].values), 2060, lang)
    mine = outputs.render(plan)
    for (key, _, _, image), (*_, draw) in zip(mine, plan):
        theirs = io.BytesIO()
        with matplotlib.rc_context({"text.hinting": "no_hinting"}):
            draw().savefig(theirs, format="png", dpi=150)
        assert np.array_equal(np.asarray(Image.open(io.BytesIO(image))), np.asarray(Image.open(theirs))), key

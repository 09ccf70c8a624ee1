"""Charts of a projection for briefings: titles, units on the axes, English and Chinese labels.

Every function takes finished projection Datasets (it never runs a projection) and returns a
:class:`matplotlib.figure.Figure`; save it with ``fig.savefig(path, dpi=150)``. Figures are
built with ``Figure()`` rather than ``pyplot``: no display backend is needed (the charts are
drawn with Agg on a server), and figures are not kept alive by pyplot's registry when a
command line writes dozens of them. In Jupyter a returned Figure still displays inline.

Conventions shared by the charts:

* Years up to ``end`` (default :data:`CHART_END`, 2060: the years policy plans for; the
  projection's last year when it ends earlier).
* Money in the prices of 2024 when a ``prices`` index is given
  (:func:`socsec_proj.report.prices.price_index` of the scenario), nominal otherwise; every
  money axis says which ("2024 prices" or "nominal").
* ``lang``: ``"en"`` (default), ``"zh"`` or ``"both"``; Chinese needs a CJK font
  (:mod:`socsec_proj.report.fonts`), without one the labels fall back to English.
* Series covering several provinces follow :func:`socsec_proj.report.summary.aggregate`:
  counts and money are summed, ratios recomputed from their parts.
* The balance and reserve charts draw the provinces whose funds run out first (by
  :data:`CHART_END`) and the largest funds, at most ``top`` lines.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Mapping

import matplotlib
import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from ..errors import InputError
from .fonts import font_family, resolve_language
from .prices import to_base_prices
from .summary import CHART_END, SCHEME_TITLES, SCHEME_TITLES_ZH, SCHEMES, aggregate

__all__ = ["CHART_END", "SCHEME_TITLES_ZH", "contributors_vs_retirees", "fund_balance", "months_of_reserve",
           "population_pyramid", "scenario_comparison", "variable_title"]

#: At most this many provinces get a line of their own.
TOP_PROVINCES = 8

_MALE, _FEMALE = "#3a6ea5", "#c0504d"
_NATIONAL_COUNT = 31

# Chinese words of the scales and units the axes use.
_ZH_SCALES = {"thousand": "千", "million": "百万", "billion": "十亿", "trillion": "万亿"}
_ZH_UNITS = {"persons": "人", "persons/year": "人/年", "CNY": "元", "CNY/year": "元/年", "CNY/month": "元/月",
             "yuan": "元", "months": "月", "years": "岁", "ratio": "比值", "children/woman": "孩子/妇女"}
_MONEY = ("CNY", "CNY/year", "yuan", "yuan/year")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _scale(max_abs: float, units: str) -> tuple[float, str]:
    """A divisor and the axis unit that keep tick labels short: 12,345 thousand, not 1.2e7.

    Units that already carry a multiplier (``"100 million yuan"``) or a ratio (``"1"``,
    ``"months"``) are left alone.
    """
    plain = units.strip()
    if not plain or plain == "1" or any(ch.isdigit() for ch in plain) or plain in ("months", "years"):
        return 1.0, plain
    for divisor, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if max_abs >= 10 * divisor:
            return divisor, f"{word} {plain}"
    return 1.0, plain


def _thousands(axis, absolute=False, decimals=None) -> None:
    """Tick labels with thousands separators (absolute values for the pyramid's left half)."""
    def label(value, _position):
        value = abs(value) if absolute else value
        if decimals is not None:
            return f"{value:,.{decimals}f}"
        return f"{value:,.0f}" if abs(value) >= 10 or value == int(value) else f"{value:,.2g}"
    axis.set_major_formatter(FuncFormatter(label))


# Chinese terms in long names, "(离退休人员)": dropped from English-only labels, whose words
# already say it.
_CJK = re.compile(r"\s*[(（][^)）]*[\u3000-\u9fff][^)）]*[)）]|[\u3000-\u9fff]+")


def _latin(text: str) -> str:
    return " ".join(_CJK.sub("", text).split())


def _say(lang: str, en: str, zh: str) -> str:
    """A label in the chart's language: English, Chinese, or English then Chinese."""
    return {"en": en, "zh": zh}.get(lang, f"{en} {zh}")


def _unit_label(units: str, lang: str = "en") -> str:
    """A scaled unit (``"trillion CNY"``, ``"1"``) in English or Chinese (``lang`` "en" or "zh")."""
    en = "ratio" if units in ("1", "") else units
    if lang == "en":
        return en
    scale, _, base = en.partition(" ")
    if scale not in _ZH_SCALES:
        scale, base = "", en
    return _ZH_SCALES.get(scale, "") + _ZH_UNITS.get(base, base)


def _axis_label(lang: str, en: str, zh: str, units: str, base: str = "", prices=None) -> str:
    """``balance [trillion CNY, 2024 prices]``: the quantity and its unit; money says nominal or
    which prices. With ``lang="both"`` the English line, then the Chinese one."""
    money = base.strip() in _MONEY
    year = prices.attrs.get("base_year", 2024) if prices is not None else None
    texts = {}
    for language, word in (("en", en), ("zh", zh)):
        unit = _unit_label(units, language)
        if money:
            unit += ", " + ((f"{year} prices" if language == "en" else f"{year}年价格") if year
                            else ("nominal" if language == "en" else "名义值"))
        texts[language] = f"{word} [{unit}]"
    return texts[lang] if lang != "both" else f"{texts['en']}\n{texts['zh']}"


def _name(ds: xr.Dataset, code: str, lang: str = "en") -> str:
    """The name of a province in ``lang`` (the ISO code when the Dataset has no names)."""
    codes = [str(c) for c in ds["province"].values]  # a list lookup: xarray's sel costs 0.1 ms a name
    if str(code) not in codes:
        raise KeyError(f"province {code} not in this projection")
    at = codes.index(str(code))
    en = str(ds["name_en"].values[at]) if "name_en" in ds.coords else str(code)
    zh = str(ds["name_zh"].values[at]) if "name_zh" in ds.coords else en
    return _say(lang, en, zh)


def _place(ds: xr.Dataset, provinces=None, lang: str = "en") -> str:
    """Where a figure covers, in words: ``China``, ``Guangdong`` or ``Guangdong, Hebei``."""
    if provinces is None:
        n = ds.sizes["province"]
        if n == 1:
            return _name(ds, str(ds["province"].values[0]), lang)
        return _say(lang, "China", "全国") if n == _NATIONAL_COUNT else _say(
            lang, f"{n} provinces together", f"{n}省合计")
    if isinstance(provinces, str):
        return _name(ds, provinces, lang)
    names = [_name(ds, code, lang) for code in provinces]
    return names[0] if len(names) == 1 else ", ".join(names) + _say(lang, " together", "合计")


def _scenario(ds: xr.Dataset, lang: str = "en") -> str:
    name = ds.attrs.get("scenario")
    return _say(lang, "scenario", "情景") + f" {name}" if name else ""


def _title(fig: Figure, title: str, subtitle: str = "", title_zh: str | None = None, lang: str = "en") -> None:
    """Title and subtitle above the axes; with ``lang="both"`` the Chinese title on a line between."""
    height = fig.get_figheight()
    lines = [(title if lang != "zh" or title_zh is None else title_zh, 13, "bold", "black")]
    if lang == "both" and title_zh:
        lines.append((title_zh, 11, "bold", "0.2"))
    if subtitle:
        lines.append((subtitle, 9, "normal", "0.35"))
    offset = 0.12
    for text, size, weight, colour in lines:
        fig.text(0.02, 1 - offset / height, text, fontsize=size, fontweight=weight, color=colour, ha="left", va="top")
        offset += 0.30 if size > 10 else 0.26


def _require(ds: xr.Dataset, *names) -> None:
    missing = [name for name in names if name not in ds.data_vars]
    if missing:
        raise KeyError(f"the projection has no {', '.join(missing)}")


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; expected one of {', '.join(SCHEMES)}")


def _by_province(ds: xr.Dataset, name: str) -> xr.DataArray:
    array = ds[name]
    drop = [d for d in array.dims if d not in ("province", "year")]
    return array.sum(drop, min_count=1) if drop else array


def _until(ds: xr.Dataset, end) -> xr.Dataset:
    """The years of ``ds`` up to ``end`` (all of them when ``end`` is None or beyond the last)."""
    return ds if end is None else ds.sel(year=slice(None, int(end)))


def _fund_size(ds: xr.Dataset, scheme: str) -> xr.DataArray:
    """How big each province's fund is, to pick the lines worth drawing.

    The mean yearly expenditure [CNY/year] (else revenue, else the absolute balance, else the
    months of reserve): a fund's size is what it pays out, whereas a balance far in the future
    measures only how deep it has fallen.
    """
    for quantity in ("expenditure", "revenue", "balance", "months_of_reserve"):
        name = f"{scheme}_{quantity}"
        if name in ds.data_vars:
            return abs(_by_province(ds, name)).mean("year", skipna=True)
    raise KeyError(f"the projection has no {scheme} fund variables")


def _check_provinces(ds: xr.Dataset, provinces) -> list[str]:
    provinces = [provinces] if isinstance(provinces, str) else list(provinces)
    missing = [code for code in provinces if code not in ds["province"].values]
    if missing:
        raise KeyError(f"province(s) {', '.join(missing)} not in this projection")
    return provinces


def _depleted_by(ds: xr.Dataset, scheme: str) -> dict[str, int]:
    """``{province: first year below zero}`` of the provinces whose fund runs out within ``ds``."""
    from ..funds.measures import depletion_year

    if f"{scheme}_balance" not in ds.data_vars:
        return {}
    years = depletion_year(ds, scheme)  # vectorised over provinces (a chart asks for one scheme)
    return {str(code): int(year) for code, year in zip(years["province"].values, years.values) if np.isfinite(year)}


def _shown_provinces(ds: xr.Dataset, scheme: str, provinces, top: int) -> tuple[list[str], str, dict]:
    """The provinces drawn one line each, a phrase saying how they were chosen, their depletion years.

    Those asked for; else every province when there are at most ``top``; else the provinces
    whose fund runs out first (within ``ds``'s years, earliest first, at most half the lines)
    and then the largest funds by :func:`_fund_size`, so a reader sees both who is in trouble
    first and where most of the money is.
    """
    depleted = _depleted_by(ds, scheme)
    codes = [str(code) for code in ds["province"].values]
    if provinces is not None:
        return _check_provinces(ds, provinces), "selected provinces", depleted
    if len(codes) <= top:
        return codes, "provinces", depleted
    first = sorted(depleted, key=lambda code: (depleted[code], codes.index(code)))[: top // 2]
    magnitude = np.nan_to_num(_fund_size(ds, scheme).sel(province=codes).values)
    largest = [codes[i] for i in np.argsort(-magnitude, kind="stable") if codes[i] not in first]
    chosen = first + largest[: top - len(first)]
    how = (f"the {len(first)} that run out first and the {top - len(first)} largest funds" if first
           else f"the {len(chosen)} largest funds")
    return chosen, how, depleted


def _line_label(ds: xr.Dataset, code: str, depleted: dict, end: int, lang: str) -> str:
    """``Hebei 河北 (2026)``: a province's name and the year its fund runs out (``> 2060``: not by then)."""
    year = depleted.get(code)
    return f"{_name(ds, code, lang)} ({year if year else f'> {end}'})"


def _legend_title(lang: str) -> str:
    return _say(lang, "(year the fund runs out)", "（基金耗尽年份）").replace(") ", ")\n")


def _how(how: str, lang: str) -> str:
    """How the provinces drawn were chosen (:func:`_shown_provinces`), in ``lang``."""
    if lang == "en":
        return how
    match = re.fullmatch(r"the (\d+) that run out first and the (\d+) largest funds", how)
    if match:
        zh = f"最早耗尽的{match.group(1)}个省份和规模最大的{match.group(2)}个基金"
    else:
        largest = re.fullmatch(r"the (\d+) largest funds", how)
        zh = f"规模最大的{largest.group(1)}个基金" if largest else {"selected provinces": "所选省份"}.get(how, "各省")
    return _say(lang, how, zh)


#: Figures drawn again inside :func:`reused_figures` (None outside it): {kind and layout: figure}.
_REUSED: dict | None = None


@contextlib.contextmanager
def reused_figures():
    """Inside the block, the charts of one kind and layout are drawn on one figure, cleared in between.

    A figure's first drawing makes its axes' tick objects (three lines and two texts each, ~36 a
    chart), the larger part of a chart's drawing time; a figure drawn again reuses them. The
    charts that opt in (:func:`fund_balance`, :func:`months_of_reserve` and :func:`fan_chart`,
    six of each in a run) are drawn so, the same pixels as on a fresh figure
    (``tests/test_report.py``; the depletion-year histogram is not: its pixels differed). Only
    for a caller that is done with each chart (its PNG made) before it draws the next, as
    :func:`socsec_proj.report.outputs.render` and the chart process are; the figures are given
    up when the block ends. Outside the block every chart is a new figure.
    """
    global _REUSED
    previous, _REUSED = _REUSED, {}
    try:
        yield
    finally:
        _REUSED = previous


def is_reused(fig: Figure) -> bool:
    """Whether ``fig`` is kept by :func:`reused_figures` for the next chart of its kind (then it
    must not be cleared or changed by whoever draws it)."""
    return _REUSED is not None and any(kept is fig for kept in _REUSED.values())


def _cleared(fig: Figure) -> Figure:
    """``fig`` with everything a chart put on it taken off: the axes, their grid and ticks stay,
    their limits follow the next chart's data again, its colours start again at the first."""
    for artist in [*fig.texts, *fig.legends]:
        artist.remove()
    for ax in fig.axes:
        for artist in [*ax.lines, *ax.patches, *ax.collections, *ax.texts, *ax.images]:
            artist.remove()
        if ax.legend_ is not None:
            ax.legend_.remove()
        for loc in ("left", "center", "right"):
            ax.set_title("", loc=loc)
        ax.set_xlabel("")
        ax.set_ylabel("")
        ax.set_prop_cycle(None)
        ax.relim()
        ax.autoscale(True)
    return fig


def _figure(width=9.0, height=5.5, rows=1, sharex=True, height_ratios=None, *, top=0.75, right=0.3,
            bottom=0.6, left=0.95, kind: str | None = None) -> tuple[Figure, list]:
    """A figure with fixed margins in inches (room for the titles above, a legend to the right).

    Fixed margins instead of matplotlib's constrained layout: every chart has the same
    shape of labels, and the layout solver took about a third of the drawing time.
    ``kind``: the chart's name, for one whose every setting is made again on each call (its
    figure is then reused inside :func:`reused_figures`).
    """
    key = None
    if kind is not None and _REUSED is not None:
        # the fonts too: a tick's label takes them from the rcParams when the tick is made
        fonts = tuple((name, str(value)) for name, value in matplotlib.rcParams.items() if name.startswith("font."))
        key = (kind, width, height, rows, sharex, None if height_ratios is None else tuple(height_ratios), top,
               right, bottom, left, fonts)
        if key in _REUSED:
            fig = _REUSED[key]
            return _cleared(fig), list(fig.axes)
    fig = Figure(figsize=(width, height))
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height,
                        hspace=0.35 if rows > 1 else None)
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False,
                        gridspec_kw={"height_ratios": height_ratios} if height_ratios else None)[:, 0]
    for ax in axes:
        ax.grid(True, color="0.9", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if key is not None:
        _REUSED[key] = fig
    return fig, list(axes)


def _labelled(chart):
    """Resolve ``lang`` (English without a CJK font) and draw the chart with a font that has its glyphs."""
    @functools.wraps(chart)
    def draw(*args, lang: str = "en", **kwargs):
        lang = resolve_language(lang)
        with matplotlib.rc_context(font_family(lang)):
            return chart(*args, lang=lang, **kwargs)
    return draw


# --------------------------------------------------------------------------------------------
# Charts of one projection
# --------------------------------------------------------------------------------------------


@_labelled
def population_pyramid(ds: xr.Dataset, province: str | None = None, years=(2024, 2050), *,
                       lang: str = "en") -> Figure:
    """Population by single year of age and sex, two years overlaid.

    Men on the left, women on the right; the first year as bars, the second as a line, so a
    briefing reader sees at once which ages grow and which shrink.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``population`` (province, sex, age, year) [persons].
    province : str, optional
        ISO code; None for all the Dataset's provinces together (national).
    years : sequence of int, default (2024, 2050)
        The years to show; those outside the projection are skipped (if none is inside,
        the first and last projected years are shown).
    lang : {"en", "zh", "both"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.figure.Figure
    """
    _require(ds, "population")
    population = ds["population"]
    if province is not None:
        if province not in ds["province"].values:
            raise KeyError(f"province {province} not in this projection")
        population = population.sel(province=province)
    else:
        population = population.sum("province")
    projected = [int(y) for y in ds["year"].values]
    shown = [int(y) for y in years if int(y) in projected][:2]
    if not shown:
        shown = sorted({projected[0], projected[-1]})
    ages = population["age"].values
    largest = float(population.sel(year=shown).max())
    divisor, units = _scale(largest, str(ds["population"].attrs.get("units", "persons")))

    fig, (ax,) = _figure(9.0, 7.0, top=0.75 if lang != "both" else 1.0, bottom=0.6 if lang != "both" else 0.8)
    men, women = _say(lang, "men", "男"), _say(lang, "women", "女")
    for index, year in enumerate(shown):
        male = population.sel(year=year, sex="male").values / divisor
        female = population.sel(year=year, sex="female").values / divisor
        if index == 0:  # bars of one year of age each, drawn as one outline per sex (a bar each: 202 patches)
            edges = np.append(ages - 0.5, ages[-1] + 0.5)
            ax.stairs(-male, edges, orientation="horizontal", fill=True, color=_MALE, alpha=0.55, linewidth=0,
                      label=f"{men}, {year}")
            ax.stairs(female, edges, orientation="horizontal", fill=True, color=_FEMALE, alpha=0.55, linewidth=0,
                      label=f"{women}, {year}")
        else:
            ax.plot(-male, ages, color="#1f3b5c", linewidth=1.6, label=f"{men}, {year}")
            ax.plot(female, ages, color="#7a1f1c", linewidth=1.6, label=f"{women}, {year}")
    limit = largest / divisor * 1.08
    ax.set_xlim(-limit, limit)
    ax.set_ylim(ages[0] - 0.5, ages[-1] + 0.5)
    ax.axvline(0, color="0.3", linewidth=0.8)
    _thousands(ax.xaxis, absolute=True)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, symmetric=True))
    ax.set_xlabel(_axis_label(lang, "population of each single year of age", "各单岁人口", units))
    ax.set_ylabel(_say(lang, "age [years] (100 = 100 and over)", "年龄 [岁]（100 = 100岁及以上）").replace(") ", ")\n")
                  if lang == "both" else _say(lang, "age [years] (100 = 100 and over)", "年龄 [岁]（100 = 100岁及以上）"))
    ax.text(0.02, 0.97, men, transform=ax.transAxes, fontsize=11, fontweight="bold", color=_MALE, va="top")
    ax.text(0.98, 0.97, women, transform=ax.transAxes, fontsize=11, fontweight="bold", color=_FEMALE,
            va="top", ha="right")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    place, place_zh = _place(ds, province), _place(ds, province, "zh")
    when = " and ".join(map(str, shown))
    _title(fig, f"Population pyramid, {place}, {when}", f"{_say(lang, 'Residents at 1 July', '7月1日常住人口')}; "
           f"{_scenario(ds, lang)}".strip("; "), f"人口金字塔，{place_zh}，{'和'.join(map(str, shown))}年", lang)
    return fig


@_labelled
def contributors_vs_retirees(ds: xr.Dataset, provinces=None, *, end: int | None = CHART_END,
                             lang: str = "en") -> Figure:
    """Urban-employee pension: insured workers and pensioners, with the dependency ratio.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``employee_pension_contributors`` and ``employee_pension_retirees``
        (province, sex, age, year) [persons].
    provinces : str or sequence of str, optional
        The provinces taken together; None for all the Dataset's provinces (national).
    end : int or None, default 2060
        Last year drawn; None for the whole projection.
    lang : {"en", "zh", "both"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        Contributors and retirees [persons, scaled] on the left axis, pensioners per insured
        worker [1] (retirees / contributors of the provinces together) on the right.
    """
    _require(ds, "employee_pension_contributors", "employee_pension_retirees")
    part = _until(ds, end)
    contributors = aggregate(part, "employee_pension_contributors", provinces)
    retirees = aggregate(part, "employee_pension_retirees", provinces)
    ratio = retirees / contributors
    largest = float(np.nanmax(np.abs(np.concatenate([contributors.values, retirees.values]))))
    divisor, units = _scale(largest, str(contributors.attrs.get("units", "persons")))

    both = lang == "both"
    fig, (ax,) = _figure(top=1.0 if both else 0.75, right=1.2 if both else 0.9, bottom=1.5 if both else 1.05,
                         left=1.35 if both else 0.95)
    years = contributors["year"].values
    ax.plot(years, contributors.values / divisor, color=_MALE, linewidth=2.2,
            label=_say(lang, "insured workers (contributors)", "参保职工"))
    ax.plot(years, retirees.values / divisor, color=_FEMALE, linewidth=2.2,
            label=_say(lang, "pensioners (retirees)", "离退休人员"))
    ax.set_ylim(bottom=0)
    ax.set_xlabel(_say(lang, "year (people at 1 July)", "年份（7月1日人数）"))
    ax.set_ylabel(_axis_label(lang, "people", "人数", units))
    _thousands(ax.yaxis)
    twin = ax.twinx()
    twin.plot(years, ratio.values, color="0.25", linestyle="--", linewidth=1.6,
              label=_say(lang, "pensioners per insured worker (right axis)", "制度抚养比（右轴）"))
    twin.set_ylabel(_axis_label(lang, "pensioners per insured worker", "制度抚养比", "1"))
    twin.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    # Below the axes: inside, it would cover the lines wherever it sat over the years.
    fig.legend(handles[0] + more[0], handles[1] + more[1], loc="lower center", ncols=2 if both else 3, fontsize=9,
               frameon=False, bbox_to_anchor=(0.5, 0.0))
    _title(fig, f"Urban-employee pension: insured workers and pensioners, {_place(ds, provinces)}",
           _scenario(ds, lang), f"城镇职工基本养老保险：参保职工与离退休人员，{_place(ds, provinces, 'zh')}", lang)
    return fig


@_labelled
def fund_balance(ds: xr.Dataset, scheme: str, provinces=None, top: int = TOP_PROVINCES, *, prices=None,
                 end: int | None = CHART_END, lang: str = "en") -> Figure:
    """A fund's accumulated balance over time: the national total and the provinces.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``{scheme}_balance`` (province, year) [CNY].
    scheme : str
        One of :data:`~socsec_proj.report.summary.SCHEMES`.
    provinces : str or sequence of str, optional
        The provinces drawn one line each; None for the provinces whose fund runs out first
        by ``end`` (at most half the lines, earliest first) and the largest funds (by mean
        yearly expenditure when the Dataset has it).
    top : int, default 8
        At most this many provincial lines when ``provinces`` is None.
    prices : xarray.DataArray, optional
        Price index over ``year`` [1] (:func:`~socsec_proj.report.prices.price_index`):
        balances are divided by it, in the prices of its base year; None for nominal yuan.
    end : int or None, default 2060
        Last year drawn; None for the whole projection.
    lang : {"en", "zh", "both"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        Top panel: the total of all the Dataset's provinces (national when all 31), zero
        dashed; bottom panel: one line per province, labelled with the year it runs out
        (only the total when the Dataset holds a single province).
    """
    _check_scheme(scheme)
    name = f"{scheme}_balance"
    _require(ds, name)
    part = _until(ds, end)
    last = int(part["year"].values[-1])
    balance = to_base_prices(_by_province(part, name), prices)
    units = str(ds[name].attrs.get("units", ""))
    total = to_base_prices(aggregate(part, name), prices)
    single = ds.sizes["province"] == 1
    chosen, how, depleted = ([], "", {}) if single else _shown_provinces(part, scheme, provinces, top)
    largest = float(np.nanmax(np.abs(balance.sel(province=chosen).values))) if chosen else 1.0
    total_divisor, total_units = _scale(float(np.nanmax(np.abs(total.values))), units)
    divisor, province_units = _scale(largest, units)

    extra = 0.25 if lang == "both" else 0.0
    fig, axes = _figure(9.5, (7.5 if chosen else 5.0) + extra, rows=2 if chosen else 1,
                        height_ratios=(1, 1.4) if chosen else None, top=0.8 + extra, right=2.3 if chosen else 0.3,
                        left=0.95 + 1.6 * extra, kind="fund_balance")
    years = balance["year"].values
    axes[0].plot(years, total.values / total_divisor, color="black", linewidth=2.4,
                 label=_say(lang, "total", "合计") + f", {_place(ds, lang=lang)}")
    axes[0].set_ylabel(_axis_label(lang, "balance", "累计结余", total_units, units, prices))
    # y given: matplotlib then skips placing the title clear of the axes' decorations (a tenth
    # of the chart's drawing time); nothing sits above these axes.
    axes[0].set_title(_say(lang, "Total", "合计") + f", {_place(ds, lang=lang)}", fontsize=10, loc="left", y=1.0,
                      pad=4)
    if chosen:
        for code, values in zip(chosen, balance.sel(province=chosen).values):
            axes[1].plot(years, values / divisor, linewidth=1.5, label=_line_label(ds, code, depleted, last, lang))
        axes[1].set_ylabel(_axis_label(lang, "balance", "累计结余", province_units, units, prices))
        axes[1].set_title(_say(lang, "By province:", "分省：") + " " + _how(how, lang), fontsize=10, loc="left", y=1.0,
                          pad=4)
        axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False,
                       title=_legend_title(lang), title_fontsize=8)
    for ax in axes:
        ax.axhline(0, color="0.3", linestyle="--", linewidth=0.9)
        _thousands(ax.yaxis)
    axes[-1].set_xlabel(_say(lang, "year (balance at the end of the fund year)", "年份（年末累计结余）"))
    _title(fig, f"{SCHEME_TITLES[scheme]}: accumulated fund balance",
           _say(lang, "Below the dashed line the fund is depleted", "虚线以下即基金耗尽")
           + f"; {_scenario(ds, lang)}".rstrip("; "), f"{SCHEME_TITLES_ZH[scheme]}：基金累计结余", lang)
    return fig


@_labelled
def months_of_reserve(ds: xr.Dataset, scheme: str, provinces=None, top: int = TOP_PROVINCES, *,
                      end: int | None = CHART_END, lang: str = "en") -> Figure:
    """Months of expenditure the fund's balance would pay (可支付月数), by province.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``{scheme}_months_of_reserve`` (province, year) [months].
    scheme : str
        One of :data:`~socsec_proj.report.summary.SCHEMES`.
    provinces : str or sequence of str, optional
        The provinces drawn one line each; None for the provinces that run out first and
        the largest funds, as :func:`fund_balance` chooses them.
    top : int, default 8
        At most this many provincial lines when ``provinces`` is None.
    end : int or None, default 2060
        Last year drawn; None for the whole projection.
    lang : {"en", "zh", "both"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        One line per province, plus the provinces pooled (12 x total balance / total
        expenditure) in black when balance and expenditure are in the Dataset.
    """
    _check_scheme(scheme)
    name = f"{scheme}_months_of_reserve"
    _require(ds, name)
    part = _until(ds, end)
    last = int(part["year"].values[-1])
    months = _by_province(part, name)
    chosen, how, depleted = _shown_provinces(part, scheme, provinces, top)
    fig, (ax,) = _figure(top=0.75 if lang != "both" else 1.25, right=2.3, left=0.95 if lang != "both" else 1.35,
                         kind="months_of_reserve")
    years = months["year"].values
    for code, values in zip(chosen, months.sel(province=chosen).values):
        ax.plot(years, values, linewidth=1.5, label=_line_label(ds, code, depleted, last, lang))
    pooled = aggregate(part, name)
    if ds.sizes["province"] > 1 and "12 x balance" in pooled.attrs.get("aggregation", ""):
        ax.plot(years, pooled.values, color="black", linewidth=2.4,
                label=_say(lang, "pooled", "合计") + f", {_place(ds, lang=lang)}")
    ax.axhline(0, color="0.3", linestyle="--", linewidth=0.9)
    ax.set_xlabel(_say(lang, "year", "年份"))
    unit = str(ds[name].attrs.get("units", "months"))
    ax.set_ylabel(_axis_label(lang, "months of expenditure in reserve", "可支付月数", unit))
    _thousands(ax.yaxis)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False, title=_legend_title(lang),
              title_fontsize=8)
    texts = {}
    for language in ("en", "zh"):
        shown = "" if how in ("selected provinces", "provinces") else f"{_how(how, language)}; "
        texts[language] = (_say(language, "Balance / monthly expenditure", "累计结余 / 月支出")
                           + f"; {shown}{_scenario(ds, language)}".rstrip("; "))
    # Both languages: one line each, the English one would not leave room for the Chinese.
    subtitle = texts[lang] if lang != "both" else f"{texts['en']}\n{texts['zh']}"
    _title(fig, f"{SCHEME_TITLES[scheme]}: months of reserve", subtitle, f"{SCHEME_TITLES_ZH[scheme]}：可支付月数", lang)
    return fig


# --------------------------------------------------------------------------------------------
# Scenarios side by side
# --------------------------------------------------------------------------------------------


@_labelled
def scenario_comparison(datasets: Mapping[str, xr.Dataset], variable: str, province: str | None = None, *,
                        prices: Mapping[str, xr.DataArray] | None = None, end: int | None = CHART_END,
                        lang: str = "en") -> Figure:
    """One variable under several scenarios: a line each and the band they span (the fan).

    Parameters
    ----------
    datasets : mapping of str to xarray.Dataset
        ``{scenario name: projection}``, in the order of the legend.
    variable : str
        A variable with a ``year`` dimension, in every Dataset.
    province : str, optional
        ISO code; None for all the provinces of each Dataset together (national).
    prices : mapping of str to xarray.DataArray, optional
        ``{scenario name: price index}``: money in each scenario's own base-year prices;
        None for nominal yuan.
    end : int or None, default 2060
        Last year drawn; None for the whole projection.
    lang : {"en", "zh", "both"}, default "en"
        Language of the labels.

    Returns
    -------
    matplotlib.figure.Figure
        One line per scenario and a shaded band between the lowest and the highest of them
        in each year (over the years all scenarios share).

    Raises
    ------
    KeyError
        If a Dataset lacks the variable or the province.
    ValueError
        If ``datasets`` is empty.
    """
    if not datasets:
        raise ValueError("no scenarios to compare")
    series = {}
    for name, ds in datasets.items():
        if variable not in ds.data_vars:
            raise KeyError(f"scenario {name!r} has no {variable!r}")
        series[name] = to_base_prices(aggregate(_until(ds, end), variable, province),
                                      prices.get(name) if prices else None)
    first = next(iter(datasets.values()))
    attrs = first[variable].attrs
    units = str(attrs.get("units", ""))
    largest = max(float(np.nanmax(np.abs(s.values))) if np.isfinite(s.values).any() else 0.0
                  for s in series.values())
    divisor, shown_units = _scale(largest, units)

    fig, (ax,) = _figure(top=0.75 if lang != "both" else 1.0, left=0.95 if lang != "both" else 1.35)
    common = xr.align(*series.values(), join="inner")
    if len(common) > 1 and common[0].sizes["year"]:
        stacked = np.vstack([s.values for s in common]) / divisor
        # fmin/fmax skip NaN (a base year without flows) without warning about all-NaN years.
        ax.fill_between(common[0]["year"].values, np.fmin.reduce(stacked, axis=0), np.fmax.reduce(stacked, axis=0),
                        color="0.6", alpha=0.25, linewidth=0, label=_say(lang, "range of the scenarios", "情景区间"))
    for name, values in series.items():
        ax.plot(values["year"].values, values.values / divisor, linewidth=2.0, label=name)
    ax.set_xlabel(_say(lang, "year", "年份"))
    anyone = next(iter(prices.values())) if prices else None
    ax.set_ylabel(_axis_label(lang, variable.replace("_", " "), variable_title(variable, "zh"), shown_units, units,
                              anyone))
    if units == "1" or "ratio" in variable:
        _thousands(ax.yaxis, decimals=2)
    else:
        _thousands(ax.yaxis)
    ax.legend(loc="best", fontsize=9, frameon=False)
    where = _name(first, province) if province is not None else _place(first)
    where_zh = _name(first, province, "zh") if province is not None else _place(first, lang="zh")
    long_name = _latin(str(attrs.get("long_name", variable)))
    _title(fig, f"{variable_title(variable)}, {where}: {' vs '.join(datasets)}", long_name[:1].upper() + long_name[1:],
           f"{variable_title(variable, 'zh')}，{where_zh}：{' 对比 '.join(datasets)}", lang)
    return fig


#: Chinese words of the quantities in variable names, for :func:`variable_title`.
_QUANTITIES_ZH = {"balance": "累计结余", "months of reserve": "可支付月数", "revenue": "基金收入",
                  "expenditure": "基金支出", "contributors": "参保缴费人数", "retirees": "离退休人员",
                  "beneficiaries": "领取待遇人数", "average benefit": "人均待遇"}


def variable_title(variable: str, lang: str = "en") -> str:
    """A readable title for a variable name: ``employee_pension_balance`` -> its words."""
    for scheme in SCHEMES:
        if variable.startswith(scheme + "_"):
            rest = variable[len(scheme) + 1:].replace("_", " ")
            if lang == "zh":
                return f"{SCHEME_TITLES_ZH[scheme]}：{_QUANTITIES_ZH.get(rest, rest)}"
            return f"{SCHEME_TITLES[scheme]}: {rest}"
    if lang == "zh" and variable == "system_dependency_ratio":
        return "制度抚养比"
    return variable.replace("_", " ").capitalize()


@_labelled
def fan_chart(draws: xr.Dataset, scheme: str, province: str | None = None,
              quantiles=(0.05, 0.25, 0.5, 0.75, 0.95), *, prices=None, end: int | None = CHART_END,
              lang: str = "en") -> Figure:
    """A fund's balance across stochastic draws: median and nested bands (a fan chart).

    Parameters
    ----------
    draws : xarray.Dataset
        A stochastic projection (``ssp.run(..., draws=N)``) with ``{scheme}_balance``
        (draw, province, year) [CNY]; or its summary (``ssp.run(..., draws=N, summary=...)``),
        whose quantiles are drawn as they are (``{scheme}_balance_national`` for its provinces
        pooled; a summary selected to other provinces has none of them: InputError).
    scheme : str
    province : str, optional
        One province; None for the total of the Dataset's provinces.
    quantiles : sequence of float
        Odd number of quantiles, paired from the outside in (the 1st with the last, ...); the
        middle one is drawn as the line. Of a summary, quantiles it holds.
    prices : xarray.DataArray, optional
        Price index over ``year`` [1]: the scenario's central CPI path (every draw deflated by
        it, so the fan shows the spread of the balances, not of the price level); None for
        nominal yuan.
    end : int or None, default 2060
        Last year drawn; None for the whole projection.
    lang : {"en", "zh", "both"}, default "en"
        Language of the labels.
    """
    _check_scheme(scheme)
    name = f"{scheme}_balance"
    _require(draws, name)
    part = _until(draws, end)
    if "quantile" in part[name].dims:  # a summary: its quantiles are the bands
        from ..funds.measures import check_pooled

        if not province:
            _require(draws, name + "_national")
        held = part[name].sel(province=province) if province else check_pooled(part, name + "_national")
        found = [np.flatnonzero(np.isclose(held["quantile"].values, q)) for q in quantiles]
        absent = [q for q, where in zip(quantiles, found) if not where.size]
        if absent:
            raise InputError(f"quantiles {absent} are not in the summary", key="quantiles",
                             expected=f"quantiles it holds: {', '.join(f'{q:g}' for q in held['quantile'].values)}")
        bands = to_base_prices(held.isel(quantile=[int(where[0]) for where in found]).dropna("year", how="all"),
                               prices)
    else:
        balance = part[name].sel(province=province) if province else part[name].sum("province", min_count=1)
        balance = to_base_prices(balance.dropna("year", how="all"), prices)
        bands = balance.quantile(list(quantiles), dim="draw")
    units = str(draws[name].attrs.get("units", "CNY"))
    divisor, shown = _scale(float(np.nanmax(np.abs(bands.values))), units)
    fig, axes = _figure(9.0, 5.0, top=0.75 if lang != "both" else 1.0, left=0.95 if lang != "both" else 1.35,
                        kind="fan_chart")
    ax = axes[0]
    years = bands["year"].values
    n = len(quantiles)
    for i in range(n // 2):
        low, high = bands.isel(quantile=i).values, bands.isel(quantile=n - 1 - i).values
        ax.fill_between(years, low / divisor, high / divisor, color="tab:blue", alpha=0.18 + 0.12 * i, linewidth=0,
                        label=f"{100 * quantiles[i]:g}%-{100 * quantiles[n - 1 - i]:g}% "
                        + _say(lang, "of draws", "的模拟"))
    ax.plot(years, bands.isel(quantile=n // 2).values / divisor, color="tab:blue", linewidth=2.2,
            label=_say(lang, "median", "中位数"))
    ax.axhline(0, color="0.3", linestyle="--", linewidth=0.9)
    ax.set_ylabel(_axis_label(lang, "balance", "累计结余", shown, units, prices))
    ax.set_xlabel(_say(lang, "year (balance at the end of the fund year)", "年份（年末累计结余）"))
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    _thousands(ax.yaxis)
    where = _name(draws, province) if province else _place(draws)
    where_zh = _name(draws, province, "zh") if province else _place(draws, lang="zh")
    _title(fig, f"{SCHEME_TITLES[scheme]}: fund balance, {where}",
           f"{draws.sizes['draw']:,} " + _say(lang, "stochastic draws", "次随机模拟")
           + f"; {_scenario(draws, lang)}".rstrip("; "), f"{SCHEME_TITLES_ZH[scheme]}：基金累计结余，{where_zh}", lang)
    return fig


def depletion_histogram(draws: xr.Dataset, scheme: str, province: str | None = None) -> Figure:
    """Distribution across draws of the year a fund's balance first falls below zero.

    Draws whose fund lasts beyond the horizon are counted in a bar of their own, "> 2100", and
    the median and 5-95 % range in the subtitle count them as after the horizon
    (:func:`~socsec_proj.funds.measures.depletion_year_quantiles`).
    """
    from ..funds.measures import depletion_year, format_depletion_year, year_quantiles

    _check_scheme(scheme)
    _require(draws, f"{scheme}_balance")
    if province and "quantile" in draws[f"{scheme}_balance"].dims:  # a summary: the province's kept years
        found = depletion_year(draws, scheme).sel(province=province)
    else:
        found = depletion_year(draws.sel(province=[province]) if province else draws, scheme, national_total=True)
    years = found.values.ravel()
    horizon = int(draws["year"].values[-1])
    depleted = years[np.isfinite(years)].astype(int)
    fig, axes = _figure(9.0, 4.8)
    ax = axes[0]
    if depleted.size:
        bins = np.arange(depleted.min(), depleted.max() + 2) - 0.5
        ax.hist(depleted, bins=bins, color="tab:red", alpha=0.8, label="depleted in that year")
    lasting = int(np.sum(~np.isfinite(years)))
    if lasting:
        ax.bar([horizon + 2], [lasting], width=1.6, color="tab:green", label=f"> {horizon}: never by {horizon}")
        ax.annotate(f"> {horizon}", (horizon + 2, lasting), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel("year the balance first falls below zero")
    ax.set_ylabel("draws")
    ax.legend(loc="upper right", fontsize=8, frameon=False)
    low, median, high = (format_depletion_year(q, horizon) for q in
                         year_quantiles(found, (0.05, 0.5, 0.95)).values)
    share = f"median {median}, 5-95 %: {low} to {high}"
    where = _name(draws, province) if province else _place(draws)
    _title(fig, f"{SCHEME_TITLES[scheme]}: depletion year, {where}",
           f"{years.size:,} draws, {share}; {_scenario(draws)}".strip("; "))
    return fig

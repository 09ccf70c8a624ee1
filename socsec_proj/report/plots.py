"""Charts of a projection for briefings: titles, units on the axes, English province names.

Every function takes finished projection Datasets (it never runs a projection) and returns a
:class:`matplotlib.figure.Figure`; save it with ``fig.savefig(path, dpi=150)``. Figures are
built with ``Figure()`` rather than ``pyplot``: no display backend is needed (the charts are
drawn with Agg on a server), and figures are not kept alive by pyplot's registry when a
command line writes dozens of them. In Jupyter a returned Figure still displays inline.

Series covering several provinces follow :func:`socsec_proj.report.summary.aggregate`: counts
and money are summed, ratios recomputed from their parts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .summary import SCHEME_TITLES, SCHEMES, aggregate

__all__ = ["contributors_vs_retirees", "fund_balance", "months_of_reserve", "population_pyramid",
           "scenario_comparison", "variable_title"]

#: At most this many provinces get a line of their own; the largest are kept.
TOP_PROVINCES = 8

_MALE, _FEMALE = "#3a6ea5", "#c0504d"
_NATIONAL_COUNT = 31


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


# Chinese terms in long names, "(离退休人员)": the default fonts have no CJK glyphs, and the
# English words around them already say it.
_CJK = re.compile(r"\s*[(（][^)）]*[\u3000-\u9fff][^)）]*[)）]|[\u3000-\u9fff]+")


def _latin(text: str) -> str:
    return " ".join(_CJK.sub("", text).split())


def _unit_label(units: str) -> str:
    return "ratio" if units in ("1", "") else units


def _name(ds: xr.Dataset, code: str) -> str:
    """English name of a province (the ISO code when the Dataset has no names)."""
    if "name_en" in ds.coords:
        return str(ds["name_en"].sel(province=code).item())
    return str(code)


def _place(ds: xr.Dataset, provinces=None) -> str:
    """Where a figure covers, in words: ``China``, ``Guangdong`` or ``Guangdong, Hebei``."""
    if provinces is None:
        n = ds.sizes["province"]
        if n == 1:
            return _name(ds, str(ds["province"].values[0]))
        return "China" if n == _NATIONAL_COUNT else f"{n} provinces together"
    if isinstance(provinces, str):
        return _name(ds, provinces)
    names = [_name(ds, code) for code in provinces]
    return names[0] if len(names) == 1 else ", ".join(names) + " together"


def _scenario(ds: xr.Dataset) -> str:
    name = ds.attrs.get("scenario")
    return f"scenario {name}" if name else ""


def _title(fig: Figure, title: str, subtitle: str = "") -> None:
    height = fig.get_figheight()
    fig.text(0.02, 1 - 0.12 / height, title, fontsize=13, fontweight="bold", ha="left", va="top")
    if subtitle:
        fig.text(0.02, 1 - 0.42 / height, subtitle, fontsize=9, color="0.35", ha="left", va="top")


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


def _largest(ds: xr.Dataset, provinces, size: xr.DataArray, top: int) -> list[str]:
    """The provinces to draw: those asked for, or the ``top`` largest by ``size`` (by province)."""
    if provinces is not None:
        provinces = [provinces] if isinstance(provinces, str) else list(provinces)
        missing = [code for code in provinces if code not in ds["province"].values]
        if missing:
            raise KeyError(f"province(s) {', '.join(missing)} not in this projection")
        return provinces
    codes = [str(code) for code in ds["province"].values]
    if len(codes) <= top:
        return codes
    magnitude = np.nan_to_num(size.sel(province=codes).values)
    keep = set(np.argsort(-magnitude, kind="stable")[:top])
    return [code for i, code in enumerate(codes) if i in keep]  # national order, for a stable legend


def _figure(width=9.0, height=5.5, rows=1, sharex=True, height_ratios=None) -> tuple[Figure, list]:
    fig = Figure(figsize=(width, height), layout="constrained")
    # Room above the axes for the title and subtitle, the same in inches whatever the height.
    fig.get_layout_engine().set(rect=(0, 0, 1, 1 - 0.75 / height))
    axes = fig.subplots(rows, 1, sharex=sharex, squeeze=False,
                        gridspec_kw={"height_ratios": height_ratios} if height_ratios else None)[:, 0]
    for ax in axes:
        ax.grid(True, color="0.9", linewidth=0.8)
        ax.set_axisbelow(True)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig, list(axes)


# --------------------------------------------------------------------------------------------
# Charts of one projection
# --------------------------------------------------------------------------------------------


def population_pyramid(ds: xr.Dataset, province: str | None = None, years=(2024, 2050)) -> Figure:
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

    fig, (ax,) = _figure(9.0, 7.0)
    for index, year in enumerate(shown):
        male = population.sel(year=year, sex="male").values / divisor
        female = population.sel(year=year, sex="female").values / divisor
        if index == 0:
            ax.barh(ages, -male, height=1.0, color=_MALE, alpha=0.55, label=f"men, {year}")
            ax.barh(ages, female, height=1.0, color=_FEMALE, alpha=0.55, label=f"women, {year}")
        else:
            ax.plot(-male, ages, color="#1f3b5c", linewidth=1.6, label=f"men, {year}")
            ax.plot(female, ages, color="#7a1f1c", linewidth=1.6, label=f"women, {year}")
    limit = largest / divisor * 1.08
    ax.set_xlim(-limit, limit)
    ax.set_ylim(ages[0] - 0.5, ages[-1] + 0.5)
    ax.axvline(0, color="0.3", linewidth=0.8)
    _thousands(ax.xaxis, absolute=True)
    ax.xaxis.set_major_locator(MaxNLocator(nbins=8, symmetric=True))
    ax.set_xlabel(f"population of each single year of age [{units}]")
    ax.set_ylabel("age [years] (100 = 100 and over)")
    ax.text(0.02, 0.97, "men", transform=ax.transAxes, fontsize=11, fontweight="bold", color=_MALE, va="top")
    ax.text(0.98, 0.97, "women", transform=ax.transAxes, fontsize=11, fontweight="bold", color=_FEMALE,
            va="top", ha="right")
    ax.legend(loc="lower right", fontsize=9, frameon=False)
    place = _place(ds, province)
    _title(fig, f"Population pyramid, {place}, {' and '.join(map(str, shown))}",
           f"Residents at 1 July; {_scenario(ds)}".strip("; "))
    return fig


def contributors_vs_retirees(ds: xr.Dataset, provinces=None) -> Figure:
    """Urban-employee pension: insured workers and pensioners, with the dependency ratio.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``employee_pension_contributors`` and ``employee_pension_retirees``
        (province, sex, age, year) [persons].
    provinces : str or sequence of str, optional
        The provinces taken together; None for all the Dataset's provinces (national).

    Returns
    -------
    matplotlib.figure.Figure
        Contributors and retirees [persons, scaled] on the left axis, pensioners per insured
        worker [1] (retirees / contributors of the provinces together) on the right.
    """
    _require(ds, "employee_pension_contributors", "employee_pension_retirees")
    contributors = aggregate(ds, "employee_pension_contributors", provinces)
    retirees = aggregate(ds, "employee_pension_retirees", provinces)
    ratio = retirees / contributors
    largest = float(np.nanmax(np.abs(np.concatenate([contributors.values, retirees.values]))))
    divisor, units = _scale(largest, str(contributors.attrs.get("units", "persons")))

    fig, (ax,) = _figure()
    years = contributors["year"].values
    ax.plot(years, contributors.values / divisor, color=_MALE, linewidth=2.2, label="insured workers (contributors)")
    ax.plot(years, retirees.values / divisor, color=_FEMALE, linewidth=2.2, label="pensioners (retirees)")
    ax.set_ylim(bottom=0)
    ax.set_xlabel("year (people at 1 July)")
    ax.set_ylabel(f"people [{units}]")
    _thousands(ax.yaxis)
    twin = ax.twinx()
    twin.plot(years, ratio.values, color="0.25", linestyle="--", linewidth=1.6,
              label="pensioners per insured worker (right axis)")
    twin.set_ylabel("pensioners per insured worker [ratio]")
    twin.set_ylim(bottom=0)
    handles = ax.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    # Below the axes: inside, it would cover the lines wherever it sat over 80 years.
    fig.legend(handles[0] + more[0], handles[1] + more[1], loc="outside lower center", ncols=3, fontsize=9,
               frameon=False)
    _title(fig, f"Urban-employee pension: insured workers and pensioners, {_place(ds, provinces)}",
           _scenario(ds))
    return fig


def fund_balance(ds: xr.Dataset, scheme: str, provinces=None, top: int = TOP_PROVINCES) -> Figure:
    """A fund's accumulated balance over time: the national total and the provinces.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``{scheme}_balance`` (province, year) [yuan].
    scheme : str
        One of :data:`~socsec_proj.report.summary.SCHEMES`.
    provinces : str or sequence of str, optional
        The provinces drawn one line each; None for the ``top`` largest funds (by mean
        yearly expenditure when the Dataset has it).
    top : int, default 8
        At most this many provincial lines when ``provinces`` is None.

    Returns
    -------
    matplotlib.figure.Figure
        Top panel: the total of all the Dataset's provinces (national when all 31), zero
        dashed; bottom panel: one line per province (only the total when the Dataset holds a
        single province).
    """
    _check_scheme(scheme)
    name = f"{scheme}_balance"
    _require(ds, name)
    balance = _by_province(ds, name)
    units = str(ds[name].attrs.get("units", ""))
    total = aggregate(ds, name)
    single = ds.sizes["province"] == 1
    chosen = [] if single else _largest(ds, provinces, _fund_size(ds, scheme), top)
    largest = float(np.nanmax(np.abs(balance.sel(province=chosen).values))) if chosen else 1.0
    total_divisor, total_units = _scale(float(np.nanmax(np.abs(total.values))), units)
    divisor, province_units = _scale(largest, units)

    fig, axes = _figure(9.0, 7.5 if chosen else 5.0, rows=2 if chosen else 1,
                        height_ratios=(1, 1.4) if chosen else None)
    years = balance["year"].values
    axes[0].plot(years, total.values / total_divisor, color="black", linewidth=2.4,
                 label=f"total, {_place(ds)}")
    axes[0].set_ylabel(f"balance [{_unit_label(total_units)}]")
    axes[0].set_title(f"Total, {_place(ds)}", fontsize=10, loc="left")
    if chosen:
        for code in chosen:
            axes[1].plot(years, balance.sel(province=code).values / divisor, linewidth=1.5, label=_name(ds, code))
        axes[1].set_ylabel(f"balance [{_unit_label(province_units)}]")
        shown = "selected provinces" if provinces is not None else (
            f"the {len(chosen)} largest funds" if len(chosen) < ds.sizes["province"] else "provinces")
        axes[1].set_title(f"By province: {shown}", fontsize=10, loc="left")
        axes[1].legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    for ax in axes:
        ax.axhline(0, color="0.3", linestyle="--", linewidth=0.9)
        _thousands(ax.yaxis)
    axes[-1].set_xlabel("year (balance at the end of the fund year)")
    _title(fig, f"{SCHEME_TITLES[scheme]}: accumulated fund balance",
           f"Below the dashed line the fund is depleted; {_scenario(ds)}".strip("; "))
    return fig


def months_of_reserve(ds: xr.Dataset, scheme: str, provinces=None, top: int = TOP_PROVINCES) -> Figure:
    """Months of expenditure the fund's balance would pay (可支付月数), by province.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection with ``{scheme}_months_of_reserve`` (province, year) [months].
    scheme : str
        One of :data:`~socsec_proj.report.summary.SCHEMES`.
    provinces : str or sequence of str, optional
        The provinces drawn one line each; None for the ``top`` largest funds (by mean
        yearly expenditure when the Dataset has it, else revenue, else balance).
    top : int, default 8
        At most this many provincial lines when ``provinces`` is None.

    Returns
    -------
    matplotlib.figure.Figure
        One line per province, plus the provinces pooled (12 x total balance / total
        expenditure) in black when balance and expenditure are in the Dataset.
    """
    _check_scheme(scheme)
    name = f"{scheme}_months_of_reserve"
    _require(ds, name)
    months = _by_province(ds, name)
    chosen = _largest(ds, provinces, _fund_size(ds, scheme), top)
    fig, (ax,) = _figure()
    years = months["year"].values
    for code in chosen:
        ax.plot(years, months.sel(province=code).values, linewidth=1.5, label=_name(ds, code))
    pooled = aggregate(ds, name)
    if ds.sizes["province"] > 1 and "12 x balance" in pooled.attrs.get("aggregation", ""):
        ax.plot(years, pooled.values, color="black", linewidth=2.4, label=f"pooled, {_place(ds)}")
    ax.axhline(0, color="0.3", linestyle="--", linewidth=0.9)
    ax.set_xlabel("year")
    ax.set_ylabel(f"months of expenditure in reserve [{_unit_label(str(ds[name].attrs.get('units', 'months')))}]")
    _thousands(ax.yaxis)
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    shown = "" if provinces is not None or len(chosen) == ds.sizes["province"] else \
        f"the {len(chosen)} largest funds; "
    _title(fig, f"{SCHEME_TITLES[scheme]}: months of reserve",
           f"Balance / monthly expenditure; {shown}{_scenario(ds)}".strip("; "))
    return fig


# --------------------------------------------------------------------------------------------
# Scenarios side by side
# --------------------------------------------------------------------------------------------


def scenario_comparison(datasets: Mapping[str, xr.Dataset], variable: str, province: str | None = None) -> Figure:
    """One variable under several scenarios: a line each and the band they span (the fan).

    Parameters
    ----------
    datasets : mapping of str to xarray.Dataset
        ``{scenario name: projection}``, in the order of the legend.
    variable : str
        A variable with a ``year`` dimension, in every Dataset.
    province : str, optional
        ISO code; None for all the provinces of each Dataset together (national).

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
        series[name] = aggregate(ds, variable, province)
    first = next(iter(datasets.values()))
    attrs = first[variable].attrs
    units = str(attrs.get("units", ""))
    largest = max(float(np.nanmax(np.abs(s.values))) if np.isfinite(s.values).any() else 0.0
                  for s in series.values())
    divisor, shown_units = _scale(largest, units)

    fig, (ax,) = _figure()
    common = xr.align(*series.values(), join="inner")
    if len(common) > 1 and common[0].sizes["year"]:
        stacked = np.vstack([s.values for s in common]) / divisor
        # fmin/fmax skip NaN (a base year without flows) without warning about all-NaN years.
        ax.fill_between(common[0]["year"].values, np.fmin.reduce(stacked, axis=0), np.fmax.reduce(stacked, axis=0),
                        color="0.6", alpha=0.25, linewidth=0, label="range of the scenarios")
    for name, values in series.items():
        ax.plot(values["year"].values, values.values / divisor, linewidth=2.0, label=name)
    ax.set_xlabel("year")
    ax.set_ylabel(f"{variable.replace('_', ' ')} [{_unit_label(shown_units)}]")
    if units == "1" or "ratio" in variable:
        _thousands(ax.yaxis, decimals=2)
    else:
        _thousands(ax.yaxis)
    ax.legend(loc="best", fontsize=9, frameon=False)
    where = _name(first, province) if province is not None else _place(first)
    long_name = _latin(str(attrs.get("long_name", variable)))
    _title(fig, f"{variable_title(variable)}, {where}: {' vs '.join(datasets)}", long_name[:1].upper() + long_name[1:])
    return fig


def variable_title(variable: str) -> str:
    """A readable title for a variable name: ``employee_pension_balance`` -> its words."""
    for scheme in SCHEMES:
        if variable.startswith(scheme + "_"):
            rest = variable[len(scheme) + 1:].replace("_", " ")
            return f"{SCHEME_TITLES[scheme]}: {rest}"
    return variable.replace("_", " ").capitalize()


def fan_chart(draws: xr.Dataset, scheme: str, province: str | None = None,
              quantiles=(0.05, 0.25, 0.5, 0.75, 0.95)) -> Figure:
    """A fund's balance across stochastic draws: median and nested bands (a fan chart).

    Parameters
    ----------
    draws : xarray.Dataset
        A stochastic projection (``ssp.run(..., draws=N)``) with ``{scheme}_balance``
        (draw, province, year) [CNY].
    scheme : str
    province : str, optional
        One province; None for the total of the Dataset's provinces.
    quantiles : sequence of float
        Odd number of symmetric quantiles; the middle one is drawn as the line.
    """
    _check_scheme(scheme)
    name = f"{scheme}_balance"
    _require(draws, name)
    balance = draws[name].sel(province=province) if province else draws[name].sum("province", min_count=1)
    balance = balance.dropna("year", how="all")
    bands = balance.quantile(list(quantiles), dim="draw")
    divisor, units = _scale(float(np.nanmax(np.abs(bands.values))), str(draws[name].attrs.get("units", "CNY")))
    fig, axes = _figure(9.0, 5.0)
    ax = axes[0]
    years = bands["year"].values
    n = len(quantiles)
    for i in range(n // 2):
        low, high = bands.isel(quantile=i).values, bands.isel(quantile=n - 1 - i).values
        ax.fill_between(years, low / divisor, high / divisor, color="tab:blue", alpha=0.18 + 0.12 * i, linewidth=0,
                        label=f"{quantiles[i]:.0%}-{quantiles[n - 1 - i]:.0%} of draws")
    ax.plot(years, bands.isel(quantile=n // 2).values / divisor, color="tab:blue", linewidth=2.2, label="median")
    ax.axhline(0, color="0.3", linestyle="--", linewidth=0.9)
    ax.set_ylabel(f"balance [{_unit_label(units)}]")
    ax.set_xlabel("year (balance at the end of the fund year)")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    _thousands(ax.yaxis)
    where = _name(draws, province) if province else _place(draws)
    _title(fig, f"{SCHEME_TITLES[scheme]}: fund balance, {where}",
           f"{draws.sizes['draw']:,} stochastic draws; {_scenario(draws)}".strip("; "))
    return fig


def depletion_histogram(draws: xr.Dataset, scheme: str, province: str | None = None) -> Figure:
    """Distribution across draws of the year a fund's balance first falls below zero.

    Draws whose fund lasts beyond the horizon are counted in a bar of their own, "> 2100", and
    the median and 5-95 % range in the subtitle count them as after the horizon
    (:func:`~socsec_proj.funds.measures.depletion_year_quantiles`).
    """
    from ..funds.measures import depletion_year, depletion_year_quantiles, format_depletion_year

    _check_scheme(scheme)
    _require(draws, f"{scheme}_balance")
    selected = draws.sel(province=[province]) if province else draws
    years = depletion_year(selected, scheme, national_total=True).values.ravel()
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
                         depletion_year_quantiles(selected, scheme, (0.05, 0.5, 0.95)).values)
    share = f"median {median}, 5-95 %: {low} to {high}"
    where = _name(draws, province) if province else _place(draws)
    _title(fig, f"{SCHEME_TITLES[scheme]}: depletion year, {where}",
           f"{years.size:,} draws, {share}; {_scenario(draws)}".strip("; "))
    return fig

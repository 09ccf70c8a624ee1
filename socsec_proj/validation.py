"""The projection held against every published figure of past years (and the plans' targets).

:func:`compare_history` sets each row of ``params/history/`` (national MOHRSS bulletins
2020-2024 and the Ministry of Finance's 2023 facts, the 2024 yearbook by province, the seeds'
actuals and targets for Guangdong, Hebei and Guizhou, NBS population, births, deaths and age
shares) against the value the model gives for the same series, place and year, so that the
differences are visible to users; :func:`plot_history` draws them, :func:`write_history`
writes both (``history.csv``, ``history.png``). Reads a finished deterministic Dataset only.

How the model's value of each series is formed is declared once, in :data:`SERIES`: which
Dataset variables, summed over sex and age (and over provinces for China, ``province ==
"CN"``), or a ratio of such sums. Dates are matched as follows:

* Fund flows are those of the calendar year and balances those at its end, as published.
* Insured, retirees and beneficiaries are the model's 1 July stocks, set against the published
  year-end figure of the same year: the 2024 calibration makes the model's 2024 stocks equal
  the year-end yearbook, so the model's year Y is read as the end of Y.
* NBS population: the model's 1 July population of year Y against the mean of the published
  year-ends Y-1 and Y, less the 2.0 M active servicemen (in NBS's total, not in the
  provinces'; 2020 census), as issue #12 states. Births and deaths: the model's flow of the
  twelve months to 1 July Y against the mean of the calendar years Y-1 and Y. Shares of the
  population aged 60+ and 65+: published at year end Y, against the share of the model's
  population at 31 Dec Y (the mean of the 1 July populations of Y and Y+1), because the
  year-end shares of 2022 are not published.

A row whose model value cannot be computed (year outside the projection, province not in it,
a national figure from a subset of provinces, variable absent, or a fund year before the first
fund year) gets ``model`` NaN and says why in ``missing``; it stays in the table, to show what
is missing.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import xarray as xr

from .inputs import data
from .inputs.provinces import CODES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ASSUMED_RULES", "COLUMNS", "DERIVED", "PENDING_VARIABLES", "SCHEME_INPUTS", "SERIES", "Rule",
           "assumption_markdown", "assumption_notes", "evaluate", "published", "compare_history", "plot_history",
           "write_history"]

#: Columns of :func:`compare_history`'s table, in order.
COLUMNS = ["series", "province", "year", "kind", "model", "actual", "difference", "relative_difference",
           "unit", "source", "method", "missing", "note"]

NATIONAL = "CN"
_SUMMED = ("sex", "age")
_TERM = re.compile(r"^(?P<sign>-?)(?P<names>[a-z0-9_|]+)(?:\[(?P<age>\d+):\])?$")


@dataclass(frozen=True)
class Rule:
    """How the model's value of one series is computed from a Dataset.

    Parameters
    ----------
    numerator : tuple of str
        Terms added together, each a Dataset variable summed over sex and age (and over
        provinces for China). ``"-name"`` subtracts it, ``"name[60:]"`` keeps ages 60 and
        over, ``"a|b"`` takes ``a``, or ``b`` where the Dataset has no ``a``.
    denominator : tuple of str
        Terms of the same form; when given, the value is numerator / (factor x denominator),
        both summed before dividing (a ratio of totals, never a mean of ratios).
    factor : float
        Multiplies the denominator (12 turns a yearly flow per person into a monthly one).
    positive_part : bool
        China's value is the sum of the provinces' positive values (money moved between
        provinces: what the receiving provinces get).
    year_end : bool
        The numerator and denominator are the mean of the 1 July values of Y and Y+1 (a stock
        at 31 Dec Y).
    note : str
        What the comparison means, when it is not plain.
    """

    numerator: tuple[str, ...]
    denominator: tuple[str, ...] = ()
    factor: float = 1.0
    positive_part: bool = False
    year_end: bool = False
    note: str = ""

    def describe(self) -> str:
        """The rule in words (the ``method`` column)."""
        def word(term):
            parts = _TERM.match(term)
            text = " (else ".join(parts.group("names").split("|")) + ")" * parts.group("names").count("|")
            text += f" aged {parts.group('age')}+" if parts.group("age") else ""
            return ("- " if parts.group("sign") else "+ ") + text

        def terms(parts):
            return " ".join(word(p) for p in parts).removeprefix("+ ")

        if self.denominator:
            scale = f"{self.factor:g} x " if self.factor != 1 else ""
            text = f"{terms(self.numerator)} / ({scale}{terms(self.denominator)}), each summed over sex, age" \
                   " and (CN) provinces"
        else:
            text = f"{terms(self.numerator)}, summed over sex, age and (CN) provinces"
        if self.positive_part:
            text = f"{terms(self.numerator)}; CN: sum of the provinces' positive values"
        if self.year_end:
            text += "; at 31 Dec: mean of 1 July Y and Y+1"
        return text + (f"; {self.note}" if self.note else "")

    def variables(self) -> list[str]:
        """Every Dataset variable the rule may read, alternatives included."""
        names = []
        for term in (*self.numerator, *self.denominator):
            names += _TERM.match(term).group("names").split("|")
        return names


def _stock(*numerator, note="model 1 July stock of year Y against the published stock at the end of Y"):
    return Rule(tuple(numerator), note=note)


def _flow(*numerator):
    return Rule(tuple(numerator))


_POOLING_NOTE = "the net transfers the receiving provinces get"

#: Series of ``params/history/`` -> how the model's value is computed (see :class:`Rule`).
#: A series not listed here has no counterpart in the model (``model`` NaN, ``missing`` says so).
SERIES: dict[str, Rule] = {
    # urban-employee pension (城镇职工基本养老保险)
    "employee_pension_insured": _stock("employee_pension_insured"),
    "employee_pension_insured_workers": _stock("employee_pension_contributors"),
    "employee_pension_retirees": _stock("employee_pension_retirees"),
    "employee_pension_revenue": _flow("employee_pension_revenue"),
    "employee_pension_expenditure": _flow("employee_pension_expenditure"),
    "employee_pension_balance": _flow("employee_pension_balance"),
    "employee_pension_current_balance": _flow("employee_pension_revenue", "-employee_pension_expenditure"),
    "employee_pension_average_benefit": Rule(("employee_pension_expenditure",), ("employee_pension_retirees",), 12.0,
                                             note="expenditure per retiree; the seeds' figures are enterprise"
                                                  " retirees' average pensions"),
    "employee_pension_pooling_transfers": Rule(("employee_pension_pooling_transfer",), positive_part=True,
                                               note=_POOLING_NOTE),
    "employee_pension_enterprise_balance": _flow("employee_pension_enterprise_balance"),
    "basic_pension_central_subsidy": Rule(("employee_pension_central_subsidy", "resident_pension_central_subsidy"),
                                          note="both pension schemes; the employee scheme's central subsidy is"
                                               " calibrated to this figure (params/SOURCES.md#funds)"),
    # urban-rural resident pension (城乡居民基本养老保险)
    "resident_pension_insured": _stock("resident_pension_insured"),
    "resident_pension_beneficiaries": _stock("resident_pension_beneficiaries"),
    "resident_pension_revenue": _flow("resident_pension_revenue"),
    "resident_pension_expenditure": _flow("resident_pension_expenditure"),
    "resident_pension_balance": _flow("resident_pension_balance"),
    # both pension schemes (基本养老保险), and pension + unemployment + injury (三项社会保险)
    "basic_pension_insured": _stock("employee_pension_insured", "resident_pension_insured"),
    "basic_pension_revenue": _flow("employee_pension_revenue", "resident_pension_revenue"),
    "basic_pension_expenditure": _flow("employee_pension_expenditure", "resident_pension_expenditure"),
    "basic_pension_balance": _flow("employee_pension_balance", "resident_pension_balance"),
    "pension_coverage_rate": Rule(("employee_pension_insured", "resident_pension_insured"), ("population[16:]",),
                                  note="insured of both schemes per resident aged 16+"),
    "three_funds_revenue": _flow("employee_pension_revenue", "resident_pension_revenue", "unemployment_revenue",
                                 "injury_revenue"),
    "three_funds_expenditure": _flow("employee_pension_expenditure", "resident_pension_expenditure",
                                     "unemployment_expenditure", "injury_expenditure"),
    "three_funds_balance": _flow("employee_pension_balance", "resident_pension_balance", "unemployment_balance",
                                 "injury_balance"),
    "fund_balance_pension_unemployment_injury": _flow("employee_pension_balance", "resident_pension_balance",
                                                      "unemployment_balance", "injury_balance"),
    "insured_enrolments_pension_unemployment_injury": _stock("employee_pension_insured", "resident_pension_insured",
                                                             "unemployment_contributors", "injury_contributors"),
    # unemployment insurance (失业保险)
    "unemployment_insured": _stock("unemployment_contributors"),
    "unemployment_beneficiaries_year_end": _stock(
        "unemployment_beneficiaries_year_end|unemployment_beneficiaries",
        note="the year-end stock where the model has it, else its average stock over the year"),
    "unemployment_recipients_during_year": _flow("unemployment_recipients_during_year"),
    "unemployment_average_benefit": Rule(("unemployment_benefits",), ("unemployment_beneficiaries",), 12.0,
                                         note="benefits paid per beneficiary and month"),
    "unemployment_revenue": _flow("unemployment_revenue"),
    "unemployment_expenditure": _flow("unemployment_expenditure"),
    "unemployment_balance": _flow("unemployment_balance"),
    # work-injury insurance (工伤保险)
    "injury_insured": _stock("injury_contributors"),
    "injury_beneficiaries": _flow("injury_beneficiaries"),
    "injury_average_benefit": Rule(("injury_long_term_benefits",), ("injury_long_term_recipients",), 12.0,
                                   note="disability allowance per long-term recipient and month"),
    "injury_revenue": _flow("injury_revenue"),
    "injury_expenditure": _flow("injury_expenditure"),
    "injury_balance": _flow("injury_balance"),
    # basic medical insurance (NHSA bulletins; the seeds' figures of Guizhou and Hebei)
    "employee_medical_insured": _stock("employee_medical_insured"),
    "employee_medical_contributors": _stock("employee_medical_contributors"),
    "employee_medical_retirees": _stock("employee_medical_retirees"),
    "employee_medical_revenue": _flow("employee_medical_revenue"),
    "employee_medical_expenditure": _flow("employee_medical_expenditure"),
    "employee_medical_balance": _flow("employee_medical_balance"),
    "employee_medical_account_revenue": _flow("employee_medical_account_revenue"),
    "employee_medical_account_expenditure": _flow("employee_medical_account_expenditure"),
    "employee_medical_account_savings": _flow("employee_medical_account_savings"),
    "employee_medical_total_revenue": _flow("employee_medical_total_revenue"),
    "employee_medical_total_expenditure": _flow("employee_medical_total_expenditure"),
    "resident_medical_insured": _stock("resident_medical_insured"),
    "resident_medical_revenue": _flow("resident_medical_revenue"),
    "resident_medical_expenditure": _flow("resident_medical_expenditure"),
    "resident_medical_balance": _flow("resident_medical_balance"),
    "medical_insured": _stock("employee_medical_insured", "resident_medical_insured"),
    "medical_revenue": _flow("employee_medical_total_revenue", "resident_medical_revenue"),
    "medical_expenditure": _flow("employee_medical_total_expenditure", "resident_medical_expenditure"),
    "medical_coverage_rate": Rule(("employee_medical_insured", "resident_medical_insured"), ("population",),
                                  note="insured of both medical schemes per resident"),
    # demography (NBS; the seeds' census shares of 2020)
    "population_mid_year": Rule(("population",), note="NBS: mean of the year-ends Y-1 and Y less the servicemen"),
    "births": _flow("births"),
    "deaths": _flow("deaths"),
    "population_share_60plus": Rule(("population[60:]",), ("population",)),
    "population_share_65plus": Rule(("population[65:]",), ("population",)),
    "population_share_60plus_year_end": Rule(("population[60:]",), ("population",), year_end=True),
    "population_share_65plus_year_end": Rule(("population[65:]",), ("population",), year_end=True),
}

#: Variables the rules read that the model does not declare yet: asked for by issue #13 (item 4);
#: their rows show ``variable absent`` until a stage adds them under these names. The model has
#: no year-end stock of UI beneficiaries: its average stock stands in (the rule's alternative).
PENDING_VARIABLES = ("unemployment_beneficiaries_year_end", "employee_pension_enterprise_balance")

#: Published NBS series set against the model on its own dates: series -> (series of the
#: comparison, how its ``actual`` is formed from the published figures of Y-1 and Y).
DERIVED = {
    "population_year_end": ("population_mid_year", "mean of the published year-ends Y-1 and Y less the servicemen"),
    "births_calendar_year": ("births", "mean of the published calendar years Y-1 and Y (model: July Y-1 - June Y)"),
    "deaths_calendar_year": ("deaths", "mean of the published calendar years Y-1 and Y (model: July Y-1 - June Y)"),
}
#: Published figures that enter a comparison but are not one (the servicemen of the 2020 census).
_INPUTS = ("servicemen",)


# --------------------------------------------------------------------------------------------
# The model's values


def _term(ds: xr.Dataset, term: str) -> xr.DataArray | None:
    """One term of a rule by province and year (summed over sex and age), or None if absent."""
    parts = _TERM.match(term)
    if parts is None:
        raise ValueError(f"bad term {term!r} in socsec_proj.validation.SERIES")
    name = next((n for n in parts.group("names").split("|") if n in ds.data_vars), None)
    if name is None:
        return None
    array = ds[name]
    if parts.group("age"):
        array = array.sel(age=array["age"] >= int(parts.group("age")))
    array = array.sum([d for d in _SUMMED if d in array.dims], skipna=False)
    return -array if parts.group("sign") else array


def _sum_terms(ds, terms) -> xr.DataArray | None:
    arrays = [_term(ds, term) for term in terms]
    if any(a is None for a in arrays):
        return None
    total = arrays[0]
    for array in arrays[1:]:
        total = total + array
    return total


def _at_year_end(array: xr.DataArray) -> xr.DataArray:
    return 0.5 * (array + array.shift(year=-1))


def evaluate(ds: xr.Dataset, rule: Rule) -> tuple[xr.DataArray | None, xr.DataArray | None]:
    """The rule's values by (province, year) and for China by year (None: a variable is absent).

    China's value is None too when the Dataset does not hold all 31 provinces.
    """
    numerator = _sum_terms(ds, rule.numerator)
    denominator = _sum_terms(ds, rule.denominator) if rule.denominator else None
    if numerator is None or (rule.denominator and denominator is None):
        return None, None
    if rule.year_end:
        numerator = _at_year_end(numerator)
        denominator = None if denominator is None else _at_year_end(denominator)
    complete = ds.sizes.get("province", 0) == len(CODES)
    if denominator is not None:
        provinces = numerator / (rule.factor * denominator)
        china = numerator.sum("province", skipna=False) / (rule.factor * denominator.sum("province", skipna=False))
    else:
        provinces = numerator
        summed = numerator.clip(min=0) if rule.positive_part else numerator
        china = summed.sum("province", skipna=False)
    return provinces.transpose("province", "year"), china if complete else None


# --------------------------------------------------------------------------------------------
# The published figures, on the model's dates


def published() -> pd.DataFrame:
    """The rows of ``params/history/`` as compared: NBS stocks and flows moved to the model's dates.

    Returns the history table (:func:`socsec_proj.inputs.data.history`) with the NBS year-end
    population and calendar-year births and deaths replaced by one row per pair of consecutive
    years (:data:`DERIVED`), and a ``method`` column saying how ``value`` was formed.
    """
    history = data.history().copy()
    history["method"] = "as published"
    servicemen = history.loc[history["series"] == "servicemen", "value"]
    if len(servicemen) != 1:
        raise ValueError("params/history/nbs_demography.csv: expected one servicemen row")
    rows = []
    for series, (compared, how) in DERIVED.items():
        part = history[history["series"] == series].set_index("year").sort_index()
        for year in part.index:
            if year - 1 not in part.index:
                continue
            value = 0.5 * (part.loc[year - 1, "value"] + part.loc[year, "value"])
            text = how
            if series == "population_year_end":
                value -= float(servicemen.iloc[0])
                text = f"{how} ({float(servicemen.iloc[0]) / 1e6:.1f} M, 2020 census)"
            first, second = part.loc[year - 1], part.loc[year]
            source = first["source"] if first["source"] == second["source"] else (
                f"{year - 1}: {first['source']}; {year}: {second['source']}")
            rows.append({"series": compared, "province": NATIONAL, "year": int(year), "kind": "actual",
                         "value": value, "unit": second["unit"], "source": source, "method": text,
                         "note": "; ".join(n for n in (first["note"], second["note"]) if n),
                         "table": second["table"]})
    kept = history[~history["series"].isin([*DERIVED, *_INPUTS])]
    return pd.concat([kept, pd.DataFrame(rows)], ignore_index=True)


# --------------------------------------------------------------------------------------------


def compare_history(ds: xr.Dataset) -> pd.DataFrame:
    """Every published figure of ``params/history/`` against the projection.

    Parameters
    ----------
    ds : xarray.Dataset
        A deterministic projection (``ssp.run(...)``), any subset of provinces and years.

    Returns
    -------
    pandas.DataFrame
        One row per published figure (NBS year-end population, births and deaths: one per
        pair of consecutive years, see the module notes), columns :data:`COLUMNS`:
        ``series``, ``province`` (ISO code, ``"CN"`` for China), ``year``, ``kind``
        (``"actual"`` or ``"target"``: a plan target), ``model`` and ``actual`` [``unit``],
        ``difference`` = model - actual [``unit``], ``relative_difference`` = difference /
        actual [/1] (NaN when actual is 0), ``unit``, ``source`` (page, table or seed),
        ``method`` (how the model's and the published value are formed), ``missing`` (why
        ``model`` is NaN; empty when it is not) and ``note`` (the source's note).

    Raises
    ------
    ValueError
        If ``ds`` has a ``draw`` or ``scenario`` dimension (pass one draw or scenario).
    """
    for dim in ("draw", "scenario"):
        if dim in ds.dims:
            raise ValueError(f"compare_history takes a deterministic projection; select one {dim} first")
    table = published()
    years = set(int(y) for y in ds["year"].values) if "year" in ds.coords else set()
    provinces = set(str(p) for p in ds["province"].values) if "province" in ds.coords else set()
    values = {series: evaluate(ds, rule) for series, rule in SERIES.items() if series in set(table["series"])}
    frames = {}
    model, missing, method = [], [], []
    for row in table.itertuples():
        rule = SERIES.get(row.series)
        value, why = np.nan, ""
        if rule is None:
            why = "no model counterpart"
        elif row.year not in years:
            why = "year outside the projection"
        elif row.province != NATIONAL and row.province not in provinces:
            why = "province not in the projection"
        elif row.province == NATIONAL and len(provinces) < len(CODES):
            why = "national figure: the projection does not hold all 31 provinces"
        else:
            by_province, china = values[row.series]
            if by_province is None:
                absent = [n for n in rule.variables() if n not in ds.data_vars]
                why = f"variable absent: {', '.join(absent)}"
            else:
                key = (row.series, row.province)
                if key not in frames:
                    frames[key] = (china if row.province == NATIONAL else by_province.sel(province=row.province)
                                   ).to_series()
                value = float(frames[key].get(row.year, np.nan))
                if np.isnan(value):
                    finite = frames[key].dropna().index
                    why = "NaN in the projection" + (f" (values from {int(finite.min())})" if len(finite) else "")
        model.append(value)
        missing.append(why)
        model_text = rule.describe() if rule is not None else ""
        method.append(f"model: {model_text}; actual: {row.method}" if model_text else f"actual: {row.method}")
    out = table.assign(model=model, missing=missing, method=method).rename(columns={"value": "actual"})
    out["difference"] = out["model"] - out["actual"]
    out["relative_difference"] = out["difference"] / out["actual"].where(out["actual"] != 0)
    return out[COLUMNS].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Chart and files


def _display(unit: str, values: np.ndarray) -> tuple[float, str]:
    """Divisor and axis label of a unit: millions of persons, billions of CNY, percent."""
    if unit.startswith("/1"):
        return 0.01, "%"
    largest = np.nanmax(np.abs(values)) if np.isfinite(values).any() else 0.0
    base = unit.split(" ")[0]
    for divisor, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million"), (1e3, "thousand")):
        if largest >= divisor:
            return divisor, f"{word} {base}"
    return 1.0, base


def plot_history(table: pd.DataFrame, columns: int = 5) -> "Figure":
    """Model against published figures, one small chart per series.

    National series (``province == "CN"``) are drawn over the years: published figures as
    black circles (targets as open triangles), the model as blue dots joined by a line.
    Provincial figures (yearbook, seeds) are drawn as model against published, one dot per
    province and year, with the diagonal where they agree. Rows without a model value show
    the published figure only.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`compare_history`'s table (or a part of it).
    columns : int
        Panels per row.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure   # here: importing socsec_proj does not load matplotlib
    from matplotlib.ticker import MaxNLocator

    panels = []
    for (series, national), part in table.groupby(["series", table["province"] == NATIONAL], sort=False):
        # every national series (a panel without a model line shows what is missing); provincial
        # series only where the model gives a value (the table lists the others)
        if national or part["model"].notna().any():
            panels.append((series, bool(national), part))
    panels.sort(key=lambda p: (not p[1], p[0]))
    rows = max(1, -(-len(panels) // columns))
    height = 2.5 * rows + 1.0
    fig = Figure(figsize=(3.2 * columns, height))
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.5 / height, top=1 - 1.0 / height, wspace=0.45, hspace=0.75)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    years = table.loc[table["province"] == NATIONAL, "year"]
    for ax, (series, national, part) in zip(axes, panels):
        divisor, label = _display(str(part["unit"].iloc[0]), part[["model", "actual"]].to_numpy(float))
        if national:
            part = part.sort_values("year")
            for kind, marker, face in (("actual", "o", "black"), ("target", "^", "none")):
                chosen = part[part["kind"] == kind]
                if len(chosen):
                    ax.scatter(chosen["year"], chosen["actual"] / divisor, marker=marker, facecolors=face,
                               edgecolors="black", zorder=3, label=f"published ({kind})")
            modelled = part.dropna(subset=["model"]).drop_duplicates("year")
            if len(modelled):
                ax.plot(modelled["year"], modelled["model"] / divisor, "o-", color="#3a6ea5", ms=4, label="model")
            if len(years):
                ax.set_xlim(years.min() - 0.5, years.max() + 0.5)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_title(series, fontsize=8)
        else:
            modelled = part.dropna(subset=["model"])
            x, y = part["actual"].to_numpy(float) / divisor, modelled["model"].to_numpy(float) / divisor
            if len(modelled):
                ax.scatter(modelled["actual"] / divisor, y, s=12, color="#3a6ea5")
                span = np.nanmax(np.concatenate([x, y]))
                low = min(0.0, np.nanmin(np.concatenate([x, y])))
                ax.plot([low, span], [low, span], color="grey", lw=0.8)
            ax.set_xlabel(f"published [{label}]", fontsize=7)
            ax.set_title(f"{series} (provinces)", fontsize=8)
        ax.set_ylabel(label if national else f"model [{label}]", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    fig.suptitle("Model against published figures (params/history/)\nChina over the years: published (black dots;"
                 " plan targets open triangles) and model (blue line). Provinces: model against published, one dot"
                 " per province and year; grey = agreement", fontsize=10, y=1 - 0.15 / height, va="top")
    return fig


def write_history(ds: xr.Dataset, folder) -> dict[str, Path]:
    """Write ``history.csv`` (:func:`compare_history`) and ``history.png`` (:func:`plot_history`).

    Each file is written under a temporary name in ``folder`` (created if needed) and renamed
    into place when complete; nothing else in ``folder`` is touched.

    Returns
    -------
    dict
        ``{"csv": path, "png": path}``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    table = compare_history(ds)
    paths = {"csv": folder / "history.csv", "png": folder / "history.png"}
    staged = {kind: path.with_name(f".{path.name}.partial") for kind, path in paths.items()}
    try:
        table.to_csv(staged["csv"], index=False, float_format="%.10g")
        plot_history(table).savefig(staged["png"], dpi=110, format="png")
        for kind in paths:
            os.replace(staged[kind], paths[kind])
    finally:
        for path in staged.values():
            path.unlink(missing_ok=True)
    return paths


# --------------------------------------------------------------------------------------------
# Which inputs of each fund are assumptions rather than data (for summary.md)

#: The parameter groups each fund's figures depend on: its own and those of the stages before it.
SCHEME_INPUTS = {
    "employee_pension": ("demography.", "labour.", "retirement.", "economy.", "employee_pension."),
    "resident_pension": ("demography.", "labour.", "economy.", "resident_pension.", "employee_pension.indexation",
                         "employee_pension.investment_return"),
    "unemployment": ("demography.", "labour.", "economy.", "unemployment.", "employee_pension.investment_return"),
    "injury": ("demography.", "labour.", "economy.", "injury.", "employee_pension.investment_return"),
}

#: Rules of the fund stages that are assumptions rather than data, beside the parameters marked so.
ASSUMED_RULES = {
    "employee_pension": (
        "coverage 2020-2024: one national trend, fitted to the bulletin's insured workers of 2021; the age profile"
        " of coverage (entry ramp, cohorts at the level of the year they were 45) is not in the data",
        "the 2024 revenue split between contributions and subsidy by province (not published): every province"
        " contributes at its implied factor, at most the median of the provinces in surplus; the subsidy is the rest",
        "2020-2023 are a backcast: the funds are calibrated to the 2024 yearbook only (their 2021 figures are in"
        " the validation table)",
    ),
    "resident_pension": (
        "contributions per contributor move with CPI inflation from their 2024 level, also backwards (2020-2023)",
        "the subsidy is each province's 2024 share of expenditure",
    ),
    "unemployment": (),
    "injury": (),
}


def assumption_notes(scenario, scheme: str | None = None) -> list[dict]:
    """The inputs of each fund that are assumptions rather than data, for ``summary.md``.

    A parameter is an assumption when its metadata reference or description says
    ``ASSUMPTION`` (``params/SOURCES.md`` gives the reason); a parameter the scenario changed is
    the scenario's choice and is listed as such; :data:`ASSUMED_RULES` adds the stages' rules
    that no parameter holds. The figures to hold them against are in the validation table
    (:func:`write_history`: ``history.csv``).

    Parameters
    ----------
    scenario : Scenario
    scheme : str, optional
        One of :data:`~socsec_proj.variables.SCHEMES`; default all.

    Returns
    -------
    list of dict
        One per assumption, in the order of :data:`SCHEME_INPUTS`: ``scheme``, ``kind``
        (``"parameter"``, ``"scenario"`` or ``"rule"``), ``name`` (the parameter's path, or ""
        for a rule), ``label`` and ``note`` (the reference that says why, or the rule).
    """
    from .inputs.parameters import load_parameters

    schemes = tuple(SCHEME_INPUTS) if scheme is None else (scheme,)
    unknown = [s for s in schemes if s not in SCHEME_INPUTS]
    if unknown:
        raise ValueError(f"unknown scheme {unknown[0]!r}: one of {', '.join(SCHEME_INPUTS)}")
    parameters = scenario.parameters
    shipped = load_parameters()
    notes = []
    for name in schemes:
        for path in parameters.paths():
            if not path.startswith(SCHEME_INPUTS[name]):
                continue
            parameter = parameters[path]
            changed = path not in shipped or shipped[path] is not parameter
            texts = [*parameter.metadata.reference, parameter.description]
            # the sentence that says so (a description holds more than the reason)
            marked = [" ".join(t[t.index("ASSUMPTION"):].split(". ")[0].split()) for t in texts if "ASSUMPTION" in t]
            if changed:
                notes.append({"scheme": name, "kind": "scenario", "name": path, "label": parameter.metadata.label,
                              "note": f"set by the scenario {scenario.name}"})
            elif marked:
                notes.append({"scheme": name, "kind": "parameter", "name": path, "label": parameter.metadata.label,
                              "note": marked[0]})
        notes += [{"scheme": name, "kind": "rule", "name": "", "label": "", "note": rule}
                  for rule in ASSUMED_RULES[name]]
    return notes


def assumption_markdown(scenario, scheme: str, history_link: str = "history.csv") -> str:
    """:func:`assumption_notes` of one fund as a Markdown paragraph, with a link to the validation table."""
    items = []
    for note in assumption_notes(scenario, scheme):
        if note["kind"] == "rule":
            items.append(note["note"])
        else:
            what = "scenario choice" if note["kind"] == "scenario" else "assumption"
            items.append(f"`{note['name']}` ({note['label']}, {what})")
    head = "Inputs that are assumptions rather than data: "
    body = "; ".join(items) if items else "none beyond the calibration to published figures"
    return f"{head}{body}. Model against every published figure: [validation table]({history_link})."

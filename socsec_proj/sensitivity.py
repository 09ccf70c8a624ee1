"""One-at-a-time sensitivity of the urban-employee pension fund to its main assumptions.

Each assumption is moved down and up by a stated amount (:data:`MAIN_ASSUMPTIONS`), alone,
from 2026 on (the first year the baseline assumes rather than records), and the scenario is
projected again. The table says what each move does to three results of China's employee
pension fund (provinces pooled): the year its balance first falls below zero, its balance at
the end of 2050 and its PAYG cost rate (expenditure / covered payroll) in 2060.

>>> import socsec_proj as ssp
>>> table = ssp.sensitivity("baseline")                      # doctest: +SKIP
>>> table[["parameter", "direction", "depletion_year"]]        # doctest: +SKIP

A shift is added to every value the parameter holds from its start date on, national and
provincial, so a dated path keeps its shape. Every shifted value is checked against the
parameter's declared range before anything is projected.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .errors import InputError
from .funds.measures import depletion_year
from .inputs.scenario import Scenario, load_scenario
from .projection import run

__all__ = ["Assumption", "MAIN_ASSUMPTIONS", "sensitivity", "shifted_changes", "tornado_chart"]

#: The results the table reports: the balance at the end of this year [CNY] ...
BALANCE_YEAR = 2050
#: ... and the cost rate of this year [/1].
COST_RATE_YEAR = 2060
#: Shifts apply from this date: the first year the baseline assumes rather than records.
SHIFT_START = dt.date(2026, 1, 1)


@dataclasses.dataclass(frozen=True)
class Assumption:
    """An assumption the sensitivity moves, and by how much.

    Attributes
    ----------
    path : str
        Parameter path, e.g. ``economy.wage_growth``.
    shift : float
        The amount added (up) and subtracted (down), in the parameter's unit.
    why : str
        Why this amount: the spread it stands for.
    """

    path: str
    shift: float
    why: str


#: The main assumptions and their stated shifts (params/SOURCES.md#sensitivity).
MAIN_ASSUMPTIONS = (
    Assumption("economy.wage_growth", 0.005, "half the distance between the intermediate and the low/high-cost "
               "long-run wage growth"),
    Assumption("economy.cpi_inflation", 0.005, "the low/high-cost CPI"),
    Assumption("employee_pension.indexation_wage_share", 0.10, "about the spread of the record's yearly ratios "
               "2016-2018 and 2022-2024 (0.46-0.64)"),
    Assumption("employee_pension.investment_return", 0.005, "the low/high-cost long-run return"),
    Assumption("employee_pension.account_crediting_rate", 0.005, "the low/high-cost long-run crediting rate"),
    Assumption("employee_pension.subsidy_scale", 0.25, "a quarter of the calibrated subsidy share, which is a "
               "lower bound (params/SOURCES.md#funds)"),
    Assumption("labour.flexible_early_share", 0.10, "the low/high-cost early take-up"),
    Assumption("labour.flexible_late_share", 0.05, "no late take-up, or twice the intermediate"),
    Assumption("labour.employee_coverage_scale", 0.05, "5 % of the 2024 coverage"),
    Assumption("demography.total_fertility_rate", 0.20, "0.2 children per woman, about the half-width of WPP "
               "2024's 80 % interval in the 2040s"),
    Assumption("demography.mortality_scale", 0.10, "10 % of the probability of dying at every age"),
)

_COLUMNS = ["parameter", "direction", "shift", "unit", "depletion_year", "balance_2050", "cost_rate_2060",
            "baseline_depletion_year", "baseline_balance_2050", "baseline_cost_rate_2060"]


def _shifted(pairs, shift: float, start: dt.date) -> dict:
    """``{ISO date: value + shift}`` for the value in force on ``start`` and every later date."""
    dates = [day for day, _ in pairs]
    in_force = max((i for i, day in enumerate(dates) if day <= start), default=0)
    out = {start.isoformat(): pairs[in_force][1] + shift}
    out.update({day.isoformat(): value + shift for day, value in pairs if day > start})
    return out


def shifted_changes(parameter, shift: float, start: dt.date = SHIFT_START) -> dict:
    """Scenario changes that add ``shift`` to a parameter from ``start`` on.

    Parameters
    ----------
    parameter : Parameter
        A numeric parameter (:meth:`ParameterSet.get`).
    shift : float
        [the parameter's unit], added to its national values and those of every province with
        values of its own.
    start : datetime.date

    Returns
    -------
    dict
        ``{date: value, "provinces": {code: {date: value}}}`` for
        :meth:`ParameterSet.with_changes`.

    Raises
    ------
    InputError
        If the parameter is not a number, or a shifted value leaves its declared range; the
        message names the parameter, the shift and the range.
    """
    where = {"source": parameter.source, "key": parameter.path}
    if parameter.kind != "number":
        raise InputError(f"is a {parameter.kind} parameter and cannot be shifted", **where,
                         expected="a numeric parameter")
    if not math.isfinite(shift):
        raise InputError(f"shift {shift!r} is not a finite number", **where, expected="a finite shift")
    change = _shifted(parameter.values, shift, start)
    provinces = {code: _shifted(pairs, shift, start) for code, pairs in parameter.provinces.items()}
    if provinces:
        change["provinces"] = provinces
    low, high = parameter.metadata.range or (None, None)
    every = [(None, day, value) for day, value in change.items() if day != "provinces"]
    every += [(code, day, value) for code, values in provinces.items() for day, value in values.items()]
    for code, day, value in every:
        if (low is not None and value < low) or (high is not None and value > high):
            place = f" in {code}" if code else ""
            raise InputError(f"a shift of {shift:+g} takes its value of {day}{place} to {value:g}, outside its "
                             f"declared range [{low}, {high}]", **where,
                             expected=f"a shift keeping every value from {start.isoformat()} in [{low}, {high}]")
    return change


def _plan(parameters, shift, known: Mapping[str, Assumption], base) -> list[tuple[str, float]]:
    """``(path, shift)`` per assumption, in the order asked for; unknown paths raise (``base.get``)."""
    if isinstance(parameters, str):
        raise InputError("parameters must be a list of parameter paths, not one string", key="parameters",
                         expected="e.g. ['economy.wage_growth']")
    paths = [a.path for a in MAIN_ASSUMPTIONS] if parameters is None else list(parameters)
    if not paths:
        raise InputError("no parameters to move", key="parameters", expected="e.g. ['economy.wage_growth']")
    if len(set(paths)) != len(paths):
        raise InputError("a parameter is listed twice", key="parameters", expected="each path once")
    plan = []
    for path in paths:
        base.get(path)  # an unknown path: named with the nearest known one
        if isinstance(shift, Mapping) and path in shift:
            amount = shift[path]
        elif shift is not None and not isinstance(shift, Mapping):
            amount = shift
        elif path in known:
            amount = known[path].shift
        else:
            raise InputError("has no stated shift", key=path,
                             expected="a shift for it: shift={path: amount}, or one of the main assumptions "
                                      + ", ".join(known))
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or not amount > 0:
            raise InputError(f"shift {amount!r} is not a positive number", key=path,
                             expected="a positive amount in the parameter's unit (applied down and up)")
        plan.append((path, float(amount)))
    if isinstance(shift, Mapping):
        unused = sorted(set(shift) - set(paths))
        if unused:
            raise InputError(f"shift given for {', '.join(unused)}, which is not among the parameters moved",
                             key="shift", expected="shifts only for the parameters moved")
    return plan


def _results(ds) -> tuple[float, float, float]:
    """National depletion year, balance at the end of BALANCE_YEAR [CNY], cost rate in COST_RATE_YEAR [/1]."""
    year = float(depletion_year(ds, "employee_pension", national_total=True))
    balance = ds["employee_pension_balance"].sum("province", min_count=1)
    expenditure = ds["employee_pension_expenditure"].sum("province", min_count=1)
    payroll = ds["employee_pension_covered_payroll"].sum("province", min_count=1)
    years = ds["year"].values

    def at(values, when):
        return float(values.sel(year=when)) if when in years else math.nan

    return year, at(balance, BALANCE_YEAR), at(expenditure, COST_RATE_YEAR) / at(payroll, COST_RATE_YEAR)


def sensitivity(scenario="baseline", parameters: Iterable[str] | None = None, shift=None, *,
                progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Move each assumption down and up, one at a time, and tabulate the employee pension's results.

    Parameters
    ----------
    scenario : str, path or Scenario, default "baseline"
        The scenario the shifts are applied to (its own changes included).
    parameters : iterable of str, optional
        Parameter paths to move; the :data:`MAIN_ASSUMPTIONS` by default.
    shift : float or mapping of str to float, optional
        The amount each parameter moves down and up [its unit]: None for the stated shifts of
        :data:`MAIN_ASSUMPTIONS`, one number for every parameter, or ``{path: amount}`` (paths
        not in it keep their stated shift).
    progress : callable, optional
        Called with a short label after each projection (1 + 2 per parameter), e.g. to advance
        a progress bar.

    Returns
    -------
    pandas.DataFrame
        One row per parameter and direction (``down`` then ``up``): ``parameter``,
        ``direction``, ``shift`` (signed) and ``unit``; ``depletion_year`` (first year China's
        employee-pension balance is below zero; NaN = not within the horizon),
        ``balance_2050`` [CNY] and ``cost_rate_2060`` [/1]; and the same three of the
        unshifted scenario (``baseline_*``).

    Raises
    ------
    InputError
        Before anything is projected: an unknown parameter, a parameter that is not a number,
        a missing or non-positive shift, or a shift that takes a value outside the parameter's
        declared range (naming the parameter, the shift and the range).
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    known = {a.path: a for a in MAIN_ASSUMPTIONS}
    base = scenario.parameters
    plan = _plan(parameters, shift, known, base)
    variants = []  # every check before the first projection
    for path, amount in plan:
        parameter = base.get(path)
        for direction, signed in (("down", -amount), ("up", amount)):
            changed = base.with_changes({path: shifted_changes(parameter, signed)}, source=scenario.source)
            variants.append((path, direction, signed, parameter.metadata.unit,
                             scenario.model_copy(update={"parameters": changed})))

    unshifted = run(scenario)
    reference = _results(unshifted)
    if progress is not None:
        progress(f"{scenario.name}: unshifted")
    rows = []
    for path, direction, signed, unit, variant in variants:
        rows.append((path, direction, signed, unit, *_results(run(variant)), *reference))
        if progress is not None:
            progress(f"{path} {direction}")
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table.attrs.update(scenario=scenario.name, horizon=int(unshifted["year"][-1]))
    return table


def tornado_chart(table: pd.DataFrame, metric: str = "depletion_year", title: str | None = None):
    """A tornado chart of a :func:`sensitivity` table: one bar per parameter from its down to its
    up result, widest swing on top, around the unshifted result.

    Parameters
    ----------
    table : pandas.DataFrame
        What :func:`sensitivity` returned.
    metric : {"depletion_year", "balance_2050", "cost_rate_2060"}
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if metric not in ("depletion_year", "balance_2050", "cost_rate_2060"):
        raise InputError(f"unknown metric {metric!r}", key="metric",
                         expected="depletion_year, balance_2050 or cost_rate_2060")
    scale, unit = {"depletion_year": (1.0, "year"), "balance_2050": (1e12, "trillion CNY"),
                   "cost_rate_2060": (0.01, "% of covered payroll")}[metric]
    reference = float(table[f"baseline_{metric}"].iloc[0]) / scale
    never = metric == "depletion_year"
    # a fund that lasts the whole horizon is drawn one year beyond it
    beyond = table.attrs.get("horizon", 2100) + 1

    def value(v):
        v = float(v) / scale
        return beyond if never and math.isnan(v) else v

    reference = beyond if never and math.isnan(reference) else reference
    wide = table.pivot(index="parameter", columns="direction", values=metric)
    shifts = table.pivot(index="parameter", columns="direction", values="shift")
    balance = table.pivot(index="parameter", columns="direction", values="balance_2050")
    # widest swing on top (drawn last); whole depletion years tie often: the 2050 balance breaks ties
    order = sorted(wide.index, key=lambda p: (abs(value(wide.loc[p, "up"]) - value(wide.loc[p, "down"])),
                                              abs(balance.loc[p, "up"] - balance.loc[p, "down"])))
    figure = Figure(figsize=(9.0, 0.45 * len(order) + 1.8))
    axis = figure.subplots()
    for row, parameter in enumerate(order):
        for direction, colour in (("down", "#4c72b0"), ("up", "#dd8452")):
            end = value(wide.loc[parameter, direction])
            axis.barh(row, end - reference, left=reference, color=colour, height=0.6)
    axis.axvline(reference, color="black", linewidth=1)
    axis.set_yticks(range(len(order)),
                    [f"{p}  ±{abs(shifts.loc[p, 'up']):g}" for p in order], fontsize=8)
    label = {"depletion_year": "first year China's employee-pension balance is below zero",
             "balance_2050": f"employee-pension balance at the end of {BALANCE_YEAR} [{unit}]",
             "cost_rate_2060": f"PAYG cost rate in {COST_RATE_YEAR} [{unit}]"}[metric]
    if never and table[["depletion_year", "baseline_depletion_year"]].isna().any().any():
        label += f" ({beyond:.0f} = not within the horizon)"
    axis.set_xlabel(label, fontsize=9)
    axis.legend(handles=[Patch(color="#4c72b0", label="shift down"), Patch(color="#dd8452", label="shift up")],
                fontsize=8, loc="lower right")
    axis.set_title(title or f"Sensitivity, one assumption at a time (unshifted: {reference:.4g})", fontsize=10)
    figure.tight_layout()
    return figure

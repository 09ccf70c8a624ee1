"""Which charts a run, a comparison and a stochastic run get: planned from the Dataset's variables.

The command line saves what these plan; a notebook can draw the same list. A chart is planned
only when the Dataset holds every variable it needs, so a projection without the funds (a
custom stage list) gets the population charts alone.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import xarray as xr

from . import plots
from .summary import SCHEME_TITLES, SCHEMES


class Chart(NamedTuple):
    """A chart to draw: its file name, its title (the summary's link text) and how to draw it."""

    file: str
    title: str
    draw: Callable


#: Variables ``compare`` draws side by side, when both projections hold them.
COMPARED_VARIABLES = (["employee_pension_contributors", "employee_pension_retirees", "system_dependency_ratio"]
                      + [f"{scheme}_{quantity}" for scheme in SCHEMES for quantity in ("balance", "months_of_reserve")])


def projection_charts(ds: xr.Dataset) -> list[Chart]:
    """The charts of one projection: population pyramid, insured workers vs pensioners, and each
    fund's balance and months of reserve."""
    years = [y for y in (2024, 2050) if y in ds["year"].values] or [int(ds["year"][0]), int(ds["year"][-1])]
    planned = [(Chart("population_pyramid.png", f"Population pyramid, {' and '.join(map(str, years))}",
                      lambda: plots.population_pyramid(ds, years=years)), ("population",)),
               (Chart("contributors_vs_retirees.png", "Urban-employee pension: insured workers and pensioners",
                      lambda: plots.contributors_vs_retirees(ds)),
                ("employee_pension_contributors", "employee_pension_retirees"))]
    for scheme in SCHEMES:
        title = SCHEME_TITLES[scheme]
        planned.append((Chart(f"{scheme}_balance.png", f"{title}: fund balance",
                              lambda scheme=scheme: plots.fund_balance(ds, scheme)), (f"{scheme}_balance",)))
        planned.append((Chart(f"{scheme}_months_of_reserve.png", f"{title}: months of reserve",
                              lambda scheme=scheme: plots.months_of_reserve(ds, scheme)),
                        (f"{scheme}_months_of_reserve",)))
    return [chart for chart, needs in planned if all(name in ds.data_vars for name in needs)]


def comparison_charts(datasets: dict[str, xr.Dataset]) -> list[Chart]:
    """One ``compare_<variable>.png`` per :data:`COMPARED_VARIABLES` entry every Dataset holds."""
    return [Chart(f"compare_{variable}.png", plots.variable_title(variable),
                  lambda variable=variable: plots.scenario_comparison(datasets, variable))
            for variable in COMPARED_VARIABLES if all(variable in ds.data_vars for ds in datasets.values())]


def draw_charts(draws: xr.Dataset) -> list[Chart]:
    """The charts of a stochastic run: per scheme with a balance, a fan chart and the histogram
    of the depletion year."""
    charts = []
    for scheme in SCHEMES:
        if f"{scheme}_balance" in draws.data_vars:
            title = SCHEME_TITLES[scheme]
            charts.append(Chart(f"{scheme}_fan.png", f"{title}: balance over the draws",
                                lambda scheme=scheme: plots.fan_chart(draws, scheme)))
            charts.append(Chart(f"{scheme}_depletion_years.png", f"{title}: depletion year over the draws",
                                lambda scheme=scheme: plots.depletion_histogram(draws, scheme)))
    return charts

"""Reports of a finished projection: tidy tables, plan-target checks, charts, a Markdown summary.

Nothing here runs a projection: pass the Dataset of ``ssp.run(...)`` (or an opened
``projection.nc``). The command line (``socsec-proj run`` and ``compare``) writes all of it.

>>> import socsec_proj as ssp
>>> from socsec_proj import report
>>> ds = ssp.run("baseline")                                  # doctest: +SKIP
>>> report.tidy_tables(ds)["employee_pension"].head()        # doctest: +SKIP
>>> report.population_pyramid(ds).savefig("pyramid.png", dpi=150)   # doctest: +SKIP
"""

from .plots import (
                    contributors_vs_retirees,
                    depletion_histogram,
                    fan_chart,
                    fund_balance,
                    months_of_reserve,
                    population_pyramid,
                    scenario_comparison,
                    variable_title,
)
from .summary import (
                    FUND_QUANTITIES,
                    SCHEME_TITLES,
                    SCHEMES,
                    aggregate,
                    comparison_markdown,
                    depletion_years,
                    differences,
                    fund_variables,
                    scheme_variables,
                    schemes_present,
                    summary_markdown,
                    target_checks,
                    tidy_tables,
)

__all__ = [
    "depletion_histogram",
    "fan_chart",
    "FUND_QUANTITIES",
    "SCHEMES",
    "SCHEME_TITLES",
    "aggregate",
    "comparison_markdown",
    "contributors_vs_retirees",
    "depletion_years",
    "differences",
    "fund_balance",
    "fund_variables",
    "months_of_reserve",
    "population_pyramid",
    "scenario_comparison",
    "scheme_variables",
    "schemes_present",
    "summary_markdown",
    "target_checks",
    "tidy_tables",
    "variable_title",
]

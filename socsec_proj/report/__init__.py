"""Reports of a finished projection: tidy tables, plan-target checks, charts, a Markdown summary,
a bilingual self-contained ``report.html`` and a ``results.xlsx`` workbook.

Nothing here runs a projection: pass the Dataset of ``ssp.run(...)`` (or an opened
``projection.nc``). The command line (``socsec-proj run`` and ``compare``) writes all of it;
:func:`write_outputs` (one scenario) and :func:`write_comparison` write the charts, the HTML
page and the workbook in one call.

>>> import socsec_proj as ssp
>>> from socsec_proj import report
>>> ds = ssp.run("baseline")                                  # doctest: +SKIP
>>> report.tidy_tables(ds)["employee_pension"].head()        # doctest: +SKIP
>>> report.population_pyramid(ds).savefig("pyramid.png", dpi=150)   # doctest: +SKIP

The names are imported when first used (PEP 562): the tables, the page and the workbook do
not need matplotlib (about 0.5 s to import), which only the charts load, and the command line
draws its charts in a second process (:mod:`socsec_proj.report.background`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # static readers see the names imported
    from ..provenance import provenance, scenario_hash
    from .html import comparison_html, report_html, write_comparison_report, write_report
    from .outputs import check_chart_end, write_comparison, write_outputs
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
    from .prices import price_index
    from .summary import (
        CHART_END,
        FUND_QUANTITIES,
        SCHEME_TITLES,
        SCHEMES,
        aggregate,
        comparison_markdown,
        depletion_years,
        differences,
        fund_variables,
        headline_figures,
        scheme_variables,
        schemes_present,
        summary_markdown,
        target_checks,
        tidy_tables,
    )
    from .workbook import write_workbook

#: Public name -> the module (relative to this package) that defines it.
_LAZY = {
    **dict.fromkeys(("provenance", "scenario_hash"), "..provenance"),
    **dict.fromkeys(("comparison_html", "report_html", "write_comparison_report", "write_report"), ".html"),
    **dict.fromkeys(("check_chart_end", "write_comparison", "write_outputs"), ".outputs"),
    **dict.fromkeys(("contributors_vs_retirees", "depletion_histogram", "fan_chart", "fund_balance",
                     "months_of_reserve", "population_pyramid", "scenario_comparison", "variable_title"), ".plots"),
    "price_index": ".prices",
    **dict.fromkeys(("CHART_END", "FUND_QUANTITIES", "SCHEME_TITLES", "SCHEMES", "aggregate", "comparison_markdown",
                     "depletion_years", "differences", "fund_variables", "headline_figures", "scheme_variables",
                     "schemes_present", "summary_markdown", "target_checks", "tidy_tables"), ".summary"),
    "write_workbook": ".workbook",
}


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name], __name__), name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


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
    "CHART_END",
    "check_chart_end",
    "comparison_html",
    "headline_figures",
    "price_index",
    "provenance",
    "report_html",
    "scenario_hash",
    "write_comparison",
    "write_comparison_report",
    "write_outputs",
    "write_report",
    "write_workbook",
]

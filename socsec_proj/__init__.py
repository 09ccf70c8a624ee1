"""socsec_proj: actuarial projection of China's provincial social-insurance funds.

>>> import socsec_proj as ssp
>>> ds = ssp.run("baseline")            # doctest: +SKIP
>>> ds["population"].sel(province="CN-GD", year=2050).sum()   # doctest: +SKIP

The names below are imported when first used (PEP 562), not by ``import socsec_proj``: numba,
xarray and scipy take about 1.5 s to import, and the command line must install its Ctrl-C
handling before that (a Ctrl-C during start-up then ends with one line, not a traceback).
``import socsec_proj`` itself costs a few milliseconds.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

from .errors import InputError

if TYPE_CHECKING:  # static readers (type checkers, the API documentation) see the names imported
    from . import validation
    from .funds.measures import (
        balancing_contribution_rate,
        cost_rate,
        depletion_year,
        general_average_premium,
        national,
    )
    from .inputs.scenario import Scenario, list_scenarios, load_scenario
    from .labour import retirement
    from .projection import STAGES, run
    from .sensitivity import sensitivity
    from .stochastic import open_draws, summarize

__version__ = "0.1.0"

#: Public name -> (module, attribute); attribute None means the module itself.
_LAZY = {
    "Scenario": (".inputs.scenario", "Scenario"),
    "list_scenarios": (".inputs.scenario", "list_scenarios"),
    "load_scenario": (".inputs.scenario", "load_scenario"),
    "STAGES": (".projection", "STAGES"),
    "run": (".projection", "run"),
    "balancing_contribution_rate": (".funds.measures", "balancing_contribution_rate"),
    "cost_rate": (".funds.measures", "cost_rate"),
    "depletion_year": (".funds.measures", "depletion_year"),
    "general_average_premium": (".funds.measures", "general_average_premium"),
    "national": (".funds.measures", "national"),
    "summarize": (".stochastic", "summarize"),
    "open_draws": (".stochastic", "open_draws"),
    "sensitivity": (".sensitivity", "sensitivity"),
    "retirement": (".labour.retirement", None),
    "validation": (".validation", None),
}

__all__ = ["InputError", "STAGES", "Scenario", "balancing_contribution_rate", "cost_rate", "depletion_year",
           "general_average_premium", "list_scenarios", "load_scenario", "national", "open_draws", "retirement", "run",
           "sensitivity", "summarize", "validation"]


def _resolve(name: str):
    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name, __name__)
    return module if attribute is None else getattr(module, attribute)


class _Package(types.ModuleType):
    """The package's module type: ``sensitivity`` is the function, whatever imports the module.

    Importing the submodule ``socsec_proj.sensitivity`` makes Python set the package attribute
    ``sensitivity`` to that module; this property ignores the assignment, so that
    ``ssp.sensitivity(...)`` stays the function as it was when the package imported it eagerly.
    """

    @property
    def sensitivity(self):
        return _resolve("sensitivity")

    @sensitivity.setter
    def sensitivity(self, value):  # the import system binding the submodule: keep the function
        pass


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = _resolve(name)
    globals()[name] = value  # the next access is a plain attribute
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


sys.modules[__name__].__class__ = _Package

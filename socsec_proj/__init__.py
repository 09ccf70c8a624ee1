"""socsec_proj: actuarial projection of China's provincial social-insurance funds.

>>> import socsec_proj as ssp
>>> ds = ssp.run("baseline")            # doctest: +SKIP
>>> ds["population"].sel(province="CN-GD", year=2050).sum()   # doctest: +SKIP
"""

from . import validation
from .errors import InputError
from .funds.measures import (balancing_contribution_rate, cost_rate, depletion_year, general_average_premium,
                             national)
from .inputs.scenario import Scenario, list_scenarios, load_scenario
from .labour import retirement
from .projection import STAGES, run
from .sensitivity import sensitivity
from .stochastic import summarize

__version__ = "0.1.0"

__all__ = ["InputError", "Scenario", "STAGES", "balancing_contribution_rate", "cost_rate", "depletion_year",
           "general_average_premium", "list_scenarios", "load_scenario", "national", "retirement", "run", "sensitivity",
           "summarize", "validation"]

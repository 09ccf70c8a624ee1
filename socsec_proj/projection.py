"""Running the stages of one scenario in order: Dataset in, Dataset out.

A stage is a function ``stage(ds, scenario) -> ds`` that reads the variables earlier stages
wrote and adds its own. A stage may carry a ``check(scenario)`` attribute: every stage's check
runs before the first stage computes, so that relations between parameters that loading
cannot see (a retirement age below the original one) stop the run before anything is done. :data:`STAGES` is the default order; ``run(..., stages=[...])`` lets
an actuary replace or add one from Python without touching the package.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .demography.population import project_population
from .funds.employee_medical import project_employee_medical
from .funds.employee_pension import project_employee_pension
from .funds.injury import project_injury
from .funds.resident_medical import project_resident_medical
from .funds.resident_pension import project_resident_pension
from .funds.unemployment import project_unemployment
from .labour.coverage import CALIBRATION_YEAR, project_coverage
from .errors import InputError
from .inputs import data
from .inputs.provinces import CODES, NAME_EN, NAME_ZH
from .inputs.scenario import Scenario, load_scenario

#: The stages of a deterministic projection, in order.
STAGES = (project_population, project_coverage, project_employee_pension, project_resident_pension,
          project_unemployment, project_injury,
          project_employee_medical, project_resident_medical)

BASE_YEAR = 2020


def empty_dataset(scenario: Scenario, horizon=None) -> xr.Dataset:
    """The Dataset a projection starts from: its coordinates and the scenario's name."""
    _, table_years = data.mortality_rates()
    last = int(table_years[-1])
    horizon = horizon or scenario.horizon or last
    if not BASE_YEAR < horizon <= last:
        raise InputError(f"horizon {horizon} is outside the embedded data", source=scenario.source,
                         key="horizon", expected=f"a year in {BASE_YEAR + 1}..{last}")
    provinces = list(scenario.provinces or CODES)
    ds = xr.Dataset(
        coords={
            "province": provinces,
            "name_zh": ("province", [NAME_ZH[p] for p in provinces]),
            "name_en": ("province", [NAME_EN[p] for p in provinces]),
            "year": np.arange(BASE_YEAR, horizon + 1),
        }
    )
    ds["province"].attrs["long_name"] = "ISO 3166-2:CN code"
    ds["year"].attrs["long_name"] = "year (stocks at 1 July; flows in the twelve months to 1 July)"
    ds.attrs.update(scenario=scenario.name, description=scenario.description.strip(),
                    title="socsec_proj projection")
    return ds


def check_stages(scenario: Scenario, stages=STAGES) -> None:
    """Run every stage's ``check(scenario)``: bad input stops here, before any stage computes."""
    for stage in stages:
        check = getattr(stage, "check", None)
        if check is not None:
            check(scenario)


def run(scenario="baseline", *, stages=None, draws=None, seed=0, keep=(), client=None) -> xr.Dataset:
    """Project one scenario through every stage (or, with ``draws``, many stochastic paths of it).

    Parameters
    ----------
    scenario : str, path or Scenario, default "baseline"
        A shipped scenario's name (``scenarios/NAME.yaml``), a path to a scenario YAML file,
        or an already loaded :class:`~socsec_proj.inputs.scenario.Scenario`.
    stages : sequence of callables, optional
        ``stage(ds, scenario) -> ds`` functions to run instead of :data:`STAGES`.
    draws, seed, keep, client : optional
        A stochastic run of ``draws`` paths (see :func:`socsec_proj.stochastic.run`): per
        (draw, province, year) totals, reproducible for a ``seed`` however the draws are
        split, optionally mapped over a ``dask.distributed`` ``client``. A number of draws
        that would not fit in memory is refused first (:func:`socsec_proj.resources.check_draws`).

    Returns
    -------
    xarray.Dataset
        Dimensions ``province``, ``sex``, ``age``, ``year``; every variable carries ``units``
        and ``long_name`` (see :mod:`socsec_proj.variables`). With ``provinces`` in the
        scenario, all 31 are projected (pooling among all) and those selected.
    """
    scenario = Scenario.checked(scenario)  # loaded if a name or path; checked however it was made (even in Python)
    if draws is not None:
        if stages is not None:
            raise InputError("stochastic runs use the standard stages", key="stages", expected="stages=None with draws")
        from . import stochastic
        from .resources import check_draws
        check_draws(draws, keep=keep)
        return stochastic.run(scenario, draws=draws, seed=seed, keep=keep, client=client)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    stages = STAGES if stages is None else tuple(stages)
    check_stages(scenario, stages)
    # ``provinces`` selects what is reported, never what is computed: migration between
    # provinces and national pooling need all 31, so they are projected and then selected
    # (a one-province run gives that province's figures of the full run, not of a country of one).
    reported = list(scenario.provinces) if scenario.provinces else None
    computed = scenario.model_copy(update={"provinces": None}) if reported else scenario
    ds = empty_dataset(computed)
    horizon = int(ds["year"][-1])
    if horizon < CALIBRATION_YEAR:  # the stages calibrate to 2024: project that far, then cut
        ds = empty_dataset(computed, horizon=CALIBRATION_YEAR)
    for stage in stages:
        ds = stage(ds, computed)
    if reported:
        ds = ds.sel(province=reported)
    return ds.sel(year=slice(None, horizon)) if horizon < CALIBRATION_YEAR else ds

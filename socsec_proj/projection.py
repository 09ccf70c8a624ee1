"""Running the stages of one scenario in order: Dataset in, Dataset out.

A stage is a function ``stage(ds, scenario) -> ds`` that reads the variables earlier stages
wrote and adds its own. A stage may carry a ``check(scenario)`` attribute: every stage's check
runs before the first stage computes, so that relations between parameters that loading
cannot see (a retirement age below the original one) stop the run before anything is done.
:data:`STAGES` is the default order; ``run(..., stages=[...])`` lets
an actuary replace or add one from Python without touching the package.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from . import _lazy_dask  # noqa: F401  (xarray looks for dask only once dask is imported)
from .demography.population import project_population
from .errors import InputError
from .funds.employee_medical import project_employee_medical
from .funds.employee_pension import project_employee_pension
from .funds.injury import project_injury
from .funds.resident_medical import project_resident_medical
from .funds.resident_pension import project_resident_pension
from .funds.unemployment import project_unemployment
from .inputs import data
from .inputs.provinces import CODES, NAME_EN, NAME_ZH, resolve_provinces
from .inputs.scenario import Scenario, load_scenario
from .labour.coverage import CALIBRATION_YEAR, project_coverage
from .provenance import record

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


def with_overrides(scenario: Scenario, *, provinces=None, end=None, source=None, keys=("provinces", "end")):
    """``scenario`` with a caller's ``provinces`` and last year ``end``, both checked.

    Parameters
    ----------
    scenario : Scenario
    provinces : str or sequence of str, optional
        Provinces to report, by ISO code, code suffix, English or Chinese name
        (:func:`~socsec_proj.inputs.provinces.resolve_provinces`: ``"CN-GD"``, ``"GD"``,
        ``"Guangdong"``, ``"广东"``); None keeps the scenario's.
    end : int, optional
        Last year projected; None keeps the scenario's horizon.
    source, keys : optional
        Where the overrides came from, for the messages (the command line names its options).

    Raises
    ------
    InputError
        An unknown province (with "did you mean") or an ``end`` outside the embedded data.
    """
    updates = {}
    if provinces is not None:
        updates["provinces"] = resolve_provinces(provinces, source=source, key=keys[0])
    if end is not None:
        last = int(data.mortality_rates()[1][-1])
        if isinstance(end, bool) or not isinstance(end, (int, np.integer)) or not BASE_YEAR < end <= last:
            raise InputError(f"{end} is outside the embedded data", source=source, key=keys[1],
                             expected=f"a year in {BASE_YEAR + 1}..{last}")
        updates["horizon"] = int(end)
    return scenario.model_copy(update=updates) if updates else scenario


def run(scenario="baseline", *, provinces=None, end=None, draws=None, seed=None, stages=None, keep=(),
        client=None, summary=None, summary_variables=None, draw_dtype=None, progress=None) -> xr.Dataset:
    """Project one scenario through every stage (or, with ``draws``, many stochastic paths of it).

    Parameters
    ----------
    scenario : str, path or Scenario, default "baseline"
        A shipped scenario's name (``scenarios/NAME.yaml``), a path to a scenario YAML file,
        or an already loaded :class:`~socsec_proj.inputs.scenario.Scenario`.
    provinces : str or sequence of str, optional
        Provinces to report (ISO codes, or names: ``["Guangdong", "河北", "GZ"]``); all 31 are
        projected and pooled whatever is reported. Default: the scenario's, else all 31.
    end : int, optional
        Last year projected [calendar year]; default the scenario's horizon (2100).
    draws, seed, keep, client : optional
        A stochastic run of ``draws`` paths (see :func:`socsec_proj.stochastic.run`): per
        (draw, province, year) totals, reproducible for a ``seed`` (None: 0) however the draws
        are split, optionally mapped over a ``dask.distributed`` ``client``. A number of draws
        that would not fit in memory is refused first (:func:`socsec_proj.resources.check_draws`).
    summary, summary_variables : optional
        With ``draws``: keep only exact quantiles ``summary`` (e.g. ``(0.01, 0.5, 0.995)``) of
        ``summary_variables`` (default each fund's balance), means, depletion years and the
        probability of depletion by year, reduced chunk by chunk so that memory
        grows only as the square root of the draws (:func:`socsec_proj.stochastic.summary_run`).
    draw_dtype : {None, "float64", "float32"}, optional
        With ``draws`` (and no summary): the precision the draws are kept in; float32 halves
        their memory (the command line keeps them so, as ``draws.nc`` holds them).
    progress : callable, optional
        With ``draws``: ``progress(done, total)`` as the chunks of draws come in [draws]
        (:func:`socsec_proj.stochastic.run`).
    stages : sequence of callables, optional
        ``stage(ds, scenario) -> ds`` functions to run instead of :data:`STAGES`.

    Returns
    -------
    xarray.Dataset
        Dimensions ``province``, ``sex``, ``age``, ``year``; every variable carries ``units``
        and ``long_name`` (see :mod:`socsec_proj.variables`). With ``provinces`` in the
        scenario, all 31 are projected (pooling among all) and those selected. Attributes
        ``socsec_proj_version`` and ``scenario_hash`` (SHA-256 of the scenario's files) record
        where it came from (:mod:`socsec_proj.provenance`); the outputs add the date.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    scenario = with_overrides(scenario, provinces=provinces, end=end)
    scenario = Scenario.checked(scenario)  # checked however it was made (even in Python)
    if draws is None and (summary is not None or summary_variables is not None):
        raise InputError("a summary over draws without draws", key="summary", expected="draws=N with summary=")
    if progress is not None and draws is None:
        raise InputError("progress without draws", key="progress", expected="draws=N with progress=")
    if draw_dtype is not None and draws is None:  # with a summary: stochastic.run refuses it
        raise InputError(f"draw_dtype={draw_dtype!r} without draws", key="draw_dtype",
                         expected="draw_dtype only for a run keeping its draws (draws=N, no summary=)")
    if draws is not None:
        if stages is not None:
            raise InputError("stochastic runs use the standard stages", key="stages", expected="stages=None with draws")
        from . import reductions, stochastic
        from .resources import check_draws
        if summary is not None:  # bad quantiles are refused before anything, memory check included
            summary = reductions.check_quantiles(summary)
        check_draws(draws, keep=keep, summary_variables=None if summary is None else
                    stochastic.check_summary_variables(summary_variables), quantiles=summary)
        result = stochastic.run(scenario, draws=draws, seed=0 if seed is None else seed, keep=keep, client=client,
                                summary=summary, summary_variables=summary_variables, draw_dtype=draw_dtype,
                                progress=progress)
        return record(result, scenario)
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
    ds = ds.sel(year=slice(None, horizon)) if horizon < CALIBRATION_YEAR else ds
    return record(ds, scenario)

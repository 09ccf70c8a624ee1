"""Stochastic projections: many draws of the demographic and economic future, per province and year.

A draw is one path of six drivers, generated from its own seed so that draw i is the same
however the draws are split (``SeedSequence(seed).spawn(n)[i]``, built directly as
``SeedSequence(seed, spawn_key=(i,))``):

- fertility: log TFR = WPP 2024 median + a random walk whose spread each year equals the
  width of WPP 2024's 80 % prediction interval (``params/stochastic/demographic_uncertainty.csv``);
- mortality: a Lee-Carter-style period index, log multiplier of the probability of dying at
  every age, a random walk whose spread reproduces WPP 2024's 80 % interval of life expectancy;
- wage growth, CPI inflation, the funds' rate of return and the unemployment inflow: yearly
  shocks, correlated by ``stochastic.correlation_*`` (the matrix must be positive semi-definite),
  with the volatilities of ``stochastic.*_sd`` (derived from the shipped series where there is
  one, 0 where there is none).

Shocks are low-dimensional (one number per driver, draw and year), never per-cell cubes.
Drivers start in 2025, so every draw keeps the 2024 calibration.

How a draw is projected: by the same stages as the deterministic run
(:data:`socsec_proj.projection.STAGES`), on a Dataset with a ``draw`` dimension. A chunk of
draws (:data:`CHUNK_SIZE` at a time, so memory stays bounded) starts from the deterministic
run's coordinates plus the drivers as variables ``driver_*`` (draw, year); the population
stage projects every draw with its fertility and mortality, the labour stage covers every
draw's population, and each fund runs its rules on the draw's members, wages (contributions,
new pensions, pooling and wage-linked indexation follow them), CPI, returns and unemployment
inflow. The 2024 calibration reads years no draw changes, so it is the deterministic one in
every draw. Of each chunk the (draw, province, year) totals are kept (:func:`kept`) and the
cubes dropped. With every shock at zero each draw is the deterministic projection
(``tests/test_stochastic.py``).

``run(..., client=dask_client)`` maps chunks of draws over a ``dask.distributed`` cluster
(each worker runs numba single-threaded); without a client the chunks run in this process,
one chunk per thread on as many threads as numba uses, each chunk's kernels on its own thread
(``_accelerate.map_on_threads``: one chunk's Python and xarray work overlaps another's
kernels). Either way the results are the same to the bit: every draw is computed alone,
whatever chunk or thread holds it.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from . import reductions
from ._accelerate import freed_memory_kept, kept_buffers, map_on_processes, map_on_threads, single_threaded, small_pages
from .errors import InputError
from .funds.accounts import member_totals, reserve_months
from .inputs import data
from .inputs.scenario import Scenario, load_scenario
from .variables import SCHEMES, VARIABLES, add

#: The correlated economic shocks, in the order of the correlation matrix.
SHOCKS = ("wage", "cpi", "return", "unemployment")
#: Drivers start moving in this year; earlier years are the calibrated history.
FIRST_SHOCK_YEAR = 2025
#: Draws projected together (in this process, and at most per dask task): 32 draws' cubes
#: (float32, ``variables.DRAW_CUBE_DTYPE``) are ~0.5 GB while the stages run, and this
#: process runs a chunk per thread. Each chunk's fixed Python work (~20 ms) is spread over
#: twice the draws of 16: ``socsec-proj run baseline --draws 1000``, seven alternating pairs
#: on 2 shared cores (2026-12-03), 63.3 s in all against 69.0 s (five pairs faster, one
#: slower), peak 1.10 against 0.96 GB.
CHUNK_SIZE = 32
#: Draws per chunk of a summary-only run in this process: it keeps no draw, so its memory is
#: the chunks' cubes alone (peak 1.2 GB on 2 threads against 0.8 GB at 16), and each chunk's
#: fixed Python work is spread over twice the draws (one thread: 10.0 against 11.4 ms per draw).
SUMMARY_CHUNK_SIZE = 32
#: Whether a summary-only run in this process computes its chunks in forked worker processes
#: (``_accelerate.map_on_processes``: each worker's numba on one thread, no GIL shared, the same
#: bits) rather than on threads. On: on a quiet machine (2026-12-02, load < 1) four alternating
#: pairs gave 4.53-4.71 ms per draw on processes against 4.86-5.29 on threads (4,000 and 20,000
#: draws), with 3-14 % less CPU and half the memory (0.55-0.75 GB here + 0.63 GB per worker,
#: against 1.46-1.48 GB); the earlier pairs on shared cores had gone either way (benchmarks/README.md).
#: Threads still where forking is not safe (``_accelerate.fork_is_safe``).
SUMMARY_ON_PROCESSES = True
#: Fund quantities a stochastic Dataset keeps per (draw, province, year), for every scheme.
KEPT_QUANTITIES = ("revenue", "expenditure", "balance", "months_of_reserve")
#: Members a stochastic Dataset keeps per (draw, province, year), summed over sex and age.
KEPT_MEMBERS = ("employee_pension_contributors", "employee_pension_retirees",
                "resident_pension_contributors", "resident_pension_beneficiaries")
DRIVERS = ("fertility", "mortality") + SHOCKS
#: Variables whose quantiles a summary-only run keeps by default: each fund's balance.
SUMMARY_VARIABLES = tuple(f"{scheme}_balance" for scheme in SCHEMES)


# --------------------------------------------------------------------------------------------
# Drivers


def correlation_matrix(parameters, source=None) -> np.ndarray:
    """The 4 x 4 correlation of the economic shocks; InputError if not positive semi-definite."""
    matrix = np.eye(len(SHOCKS))
    for i, a in enumerate(SHOCKS):
        for j, b in enumerate(SHOCKS):
            if i < j:
                value = float(parameters.get(f"stochastic.correlation_{a}_{b}").annual([FIRST_SHOCK_YEAR])[0])
                matrix[i, j] = matrix[j, i] = value
    eigenvalues = np.linalg.eigvalsh(matrix)
    if eigenvalues.min() < -1e-10:
        raise InputError(f"the correlation matrix of {', '.join(SHOCKS)} is not positive semi-definite "
                         f"(smallest eigenvalue {eigenvalues.min():.3f})", source=source,
                         key="stochastic.correlation_*", expected="correlations that can occur together")
    return matrix


def _factor_loading(matrix):
    """A square root of a positive semi-definite matrix (Cholesky fails on singular ones)."""
    values, vectors = np.linalg.eigh(matrix)
    return vectors * np.sqrt(np.clip(values, 0.0, None))[None, :]


def _uncertainty_table(path) -> pd.DataFrame:
    """The spreads of WPP 2024's intervals by year, read once per file version (every chunk asks)."""
    return _read_uncertainty_table(str(path), Path(path).stat().st_mtime_ns).copy()


@functools.lru_cache(maxsize=8)
def _read_uncertainty_table(path: str, modified: int) -> pd.DataFrame:
    return pd.read_csv(path, comment="#").set_index("year")


def driver_settings(parameters, years, source=None) -> dict:
    """Everything the drivers of a scenario need, by year (years = the population years)."""
    table = _uncertainty_table(data.table_path("stochastic/demographic_uncertainty"))
    years = np.asarray(years)
    shocked = years >= FIRST_SHOCK_YEAR
    spread = {}
    for name, column in (("fertility", "tfr_log_sd"), ("mortality", "mortality_log_sd")):
        scale = np.asarray(parameters.get(f"stochastic.{name}_uncertainty_scale").annual(years), dtype=float)
        marginal = np.where(shocked, table[column].reindex(years).fillna(0.0).to_numpy() * scale, 0.0)
        marginal = np.maximum.accumulate(marginal)
        spread[name] = np.sqrt(np.diff(np.concatenate([[0.0], marginal ** 2])))   # random-walk increments
    sds = {}
    for shock in SHOCKS:
        path = "stochastic.wage_growth_sd" if shock == "wage" else f"stochastic.{shock}_sd"
        values = np.asarray(parameters.get(path).annual(years), dtype=float)
        if np.any(values < 0):
            raise InputError(f"negative volatility {values.min()}", source=source, key=path, expected="values >= 0")
        sds[shock] = np.where(shocked, values, 0.0)
    return {"increments": spread, "sd": sds, "loading": _factor_loading(correlation_matrix(parameters, source))}


def draw_drivers(settings: dict, seed: int, start: int, stop: int, n_years: int) -> dict:
    """The driver paths of draws ``start..stop-1``, ``[draw, year]`` each.

    Draw i takes its 6 x ``n_years`` standard normal numbers from its own generator
    (``SeedSequence(seed, spawn_key=(i,))``): two random walks (fertility, mortality) and the
    four economic shocks, correlated through the factor loading. Only the drawing is per draw;
    the arithmetic runs on all draws at once.
    """
    normal = np.empty((stop - start, 2 + len(SHOCKS), n_years))
    for row, index in enumerate(range(start, stop)):
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index,)))
        rng.standard_normal(out=normal[row])
    economic = np.einsum("ij,djy->idy", settings["loading"], normal[:, 2:])
    out = {
        "fertility": np.cumsum(settings["increments"]["fertility"] * normal[:, 0], axis=1),
        "mortality": np.cumsum(settings["increments"]["mortality"] * normal[:, 1], axis=1),
    }
    for k, shock in enumerate(SHOCKS):
        out[shock] = settings["sd"][shock] * economic[k]
    return out


# --------------------------------------------------------------------------------------------
# One chunk of draws


def _projection_years(scenario) -> tuple:
    """The stages' Dataset of ``scenario`` (coordinates only) and the horizon the result is cut at."""
    from .labour.coverage import CALIBRATION_YEAR
    from .projection import empty_dataset

    ds = empty_dataset(scenario)
    horizon = int(ds["year"][-1])
    if horizon < CALIBRATION_YEAR:  # the stages calibrate to 2024: project that far, then cut
        ds = empty_dataset(scenario, horizon=CALIBRATION_YEAR)
    return ds, horizon


def kept(ds: xr.Dataset, keep=(), copy: bool = True) -> dict:
    """What a stochastic run keeps of a chunk's Dataset: per (draw, province, year) the total
    population, the members of :data:`KEPT_MEMBERS` summed over sex and age, and the
    :data:`KEPT_QUANTITIES` of every fund; the drivers; ``population`` too if in ``keep``.

    Copies (``copy``, the default): the cubes may be buffers the next chunk writes again
    (``_accelerate.reused_buffers``). ``copy=False`` gives views of the Dataset's arrays, for a
    caller that is done with them before the next chunk starts (:func:`reduce_chunk` in the
    same task: a summary copies only the few variables it keeps the draws of)."""
    # read through ds.variables, not ds[name]: a DataArray with its coordinates costs ~1 ms each
    variables = ds.variables

    def values(name, *dims):
        array = variables[name].transpose(*dims).values
        return array.copy() if copy else array

    population = values("population_total", "draw", "province", "sex", "year")
    out = {"population_total": population[:, :, 0] + population[:, :, 1]}
    for name in KEPT_MEMBERS:
        out[name] = member_totals(ds, name)
    for scheme in SCHEMES:
        for quantity in KEPT_QUANTITIES:
            name = f"{scheme}_{quantity}"
            if name in variables:
                out[name] = values(name, "draw", "province", "year")
    for name in DRIVERS:
        out[f"driver_{name}"] = values(f"driver_{name}", "draw", "year")
    if "population" in keep:
        out["population"] = values("population", "draw", "province", "sex", "age", "year")
    out["coords"] = {"province": list(variables["province"].values), "year": variables["year"].values}
    return out


def project_draws(scenario, drivers: dict, draws=None, engine="numba", base: xr.Dataset = None) -> xr.Dataset:
    """The stages' Dataset of given driver paths: every stage of the deterministic run, with a
    ``draw`` dimension (the cubes included but the two resident-scheme ones, of which the labour
    stage adds only the totals with draws; :func:`kept` is what a stochastic run keeps of it).

    Parameters
    ----------
    scenario : Scenario
    drivers : dict of str to numpy.ndarray
        Paths ``[D, Y]`` by calendar year of the Dataset's years (2020 on) for the names of
        :data:`DRIVERS`; a missing driver is 0 (no shock).
    draws : array_like of int, optional
        Labels of the draws (default 0..D-1).
    base : xarray.Dataset, optional
        ``_projection_years(scenario)[0]``, the coordinates the stages start from, if the caller
        has it (a run builds it once, not once per chunk).
    """
    from .projection import STAGES

    ds = _projection_years(scenario)[0] if base is None else base
    n_years = ds.sizes["year"]
    n_draws = len(next(iter(drivers.values())))
    paths = {name: np.asarray(drivers.get(name, np.zeros((n_draws, n_years))), dtype=float) for name in DRIVERS}
    unknown = sorted(set(drivers) - set(DRIVERS))
    if unknown:
        raise InputError(f"unknown driver {unknown[0]!r}", key="drivers", expected=f"names among {', '.join(DRIVERS)}")
    for name, values in paths.items():
        if values.shape != (n_draws, n_years):
            raise InputError(f"shape {values.shape}", key=f"driver_{name}", expected=f"({n_draws}, {n_years})")
    ds = ds.assign_coords(draw=np.arange(n_draws) if draws is None else np.asarray(draws))
    ds = add(ds, {f"driver_{name}": paths[name] for name in DRIVERS})
    for stage in STAGES:
        ds = stage(ds, scenario, engine=engine)
    return ds


def simulate_chunk(scenario, seed: int, start: int, stop: int, keep=(), engine="numba", setup=None,
                   copy: bool = True) -> dict:
    """Draws ``start..stop-1`` of a stochastic run (see :func:`run`): :func:`kept` of the stages'
    Dataset of those draws (:func:`project_draws`), a dict of numpy arrays (and ``coords``;
    views of the stages' arrays without ``copy``, see :func:`kept`).

    ``setup`` is :func:`chunk_setup` of the scenario when the caller runs many chunks (built
    once per run: the coordinates and the drivers' settings do not depend on the draws)."""
    if not isinstance(scenario, Scenario):
        scenario = _from_recipe(scenario)
    base, settings = chunk_setup(scenario) if setup is None else setup
    years = base["year"].values
    paths = draw_drivers(settings, seed, start, stop, len(years))                       # (D, Y) each
    return kept(project_draws(scenario, paths, np.arange(start, stop), engine, base=base), keep, copy)


def chunk_setup(scenario) -> tuple:
    """What every chunk of a run of ``scenario`` starts from: the stages' coordinates
    (:func:`_projection_years`) and :func:`driver_settings` of its years."""
    base = _projection_years(scenario)[0]
    return base, driver_settings(scenario.parameters, base["year"].values, scenario.source)


# --------------------------------------------------------------------------------------------
# The public run


def _chunk_in_worker(name_or_path, seed, start, stop, keep):
    """What a dask worker runs: numba on one thread, so its threads never nest in dask's; the
    cubes written where the worker's previous chunk's were (``kept`` copies what it keeps), new
    arrays in small pages (``_accelerate.small_pages``)."""
    with single_threaded(), kept_buffers(), small_pages():
        return simulate_chunk(name_or_path, seed, start, stop, keep)


def _no_progress(done: int, total: int) -> None:
    """What a run without ``progress`` reports: nothing."""


def check_progress(progress):
    """A run's ``progress`` callback (None: :func:`_no_progress`), else InputError."""
    if progress is None:
        return _no_progress
    if not callable(progress):
        raise InputError(f"progress={progress!r}", key="progress",
                         expected="a callable progress(done, total), or None")
    return progress


def check_draw_dtype(draw_dtype) -> np.dtype:
    """The precision a run keeps its draws in: float64 (None, the default) or float32, else InputError."""
    try:
        dtype = np.dtype(np.float64 if draw_dtype is None else draw_dtype)
    except TypeError:
        dtype = None
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise InputError(f"draw_dtype={draw_dtype!r}", key="draw_dtype", expected="float64 (the default) or float32")
    return dtype


def run(scenario="baseline", draws: int = 100, seed: int = 0, keep=(), client=None, chunk_size: int = None,
        engine: str = "numba", summary=None, summary_variables=None, store_folder=None,
        draw_dtype=None, progress=None) -> xr.Dataset:
    """Stochastic projection: ``draws`` paths of the scenario, each through every stage.

    Parameters
    ----------
    scenario : str, path or Scenario
    draws : int
        Number of draws, at least 1.
    seed : int
        Seed of the run; draw i uses ``SeedSequence(seed).spawn(draws)[i]``.
    keep : sequence of str
        ``["population"]`` also keeps each draw's population by sex and age (memory: draws x
        4 MB).
    client : dask.distributed.Client, optional
        Map chunks of draws over its workers (scenario given by name or path).
    chunk_size : int, optional
        Draws per chunk (default :data:`CHUNK_SIZE`, a summary here :data:`SUMMARY_CHUNK_SIZE`;
        with a client at most draws / (2 x workers)). The results do not depend on it.
    engine : {"numba", "numpy"}
        The compiled kernels or their plain-numpy references (for benchmarks).
    summary : sequence of float, optional
        Keep only a summary, reduced chunk by chunk (memory grows as the square root of ``draws``):
        these quantiles [/1] of ``summary_variables``, exact, the mean of every variable, each
        draw's depletion years and the probability of depletion by year (:func:`summary_run`).
    summary_variables : sequence of str, optional
        Variables whose quantiles a summary keeps (default :data:`SUMMARY_VARIABLES`).
    store_folder : path, optional
        Where a summary writes the draws of the cells whose quantiles the values it kept near
        them did not hold, in the rare run that computes its draws a second time for them
        (:class:`reductions.QuantileStore`; default: the system's temporary folder).
    draw_dtype : {None, "float64", "float32"}
        The precision the draws are kept in (not that of the computation, float64 but for the
        cubes): float32 halves their memory and is what ``draws.nc`` holds (the command line
        keeps them so: no float64 copy of them is ever made).
    progress : callable, optional
        ``progress(done, total)``, called in this process as the chunks of draws come in
        [draws]: how many of the ``total`` draws are in, the last call ``(draws, draws)`` (the
        command line's progress bar shows it; a run of 100,000 draws takes minutes).

    Returns
    -------
    xarray.Dataset
        Dims ``draw``, ``province``, ``year``: ``population_total`` and members per scheme
        [persons], ``{scheme}_revenue``, ``_expenditure`` [CNY/year], ``_balance`` [CNY],
        ``_months_of_reserve`` [months]; the driver paths by draw and year. With ``summary``,
        the Dataset of :func:`summary_run`.
    """
    dtype = check_draw_dtype(draw_dtype)
    progress = check_progress(progress)
    if draw_dtype is not None and summary is not None:  # a summary keeps no draws: it would be ignored
        raise InputError(f"draw_dtype={draw_dtype!r} with a summary", key="draw_dtype",
                         expected="draw_dtype only for a run keeping its draws (draws=N, no summary=)")
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise InputError(f"draws={draws!r}", key="draws", expected="a whole number of draws, at least 1")
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    # ``provinces`` selects what is reported, never what is computed (as in projection.run):
    # every draw projects all 31 provinces, pooled and migrating among all of them
    reported = list(scenario.provinces) if scenario.provinces else None
    scenario = scenario.model_copy(update={"provinces": None})
    # what a dask worker is sent to rebuild the scenario: its file and this run's overrides
    name_or_path = (str(scenario.source), {"provinces": None, "horizon": scenario.horizon})
    from .projection import check_stages
    check_stages(scenario)
    driver_settings(scenario.parameters, [FIRST_SHOCK_YEAR], scenario.source)  # the drivers' bad input, first too
    keep = tuple(keep)
    if summary is not None:
        quantiles = reductions.check_quantiles(summary)
        variables = check_summary_variables(summary_variables)
        if keep:
            raise InputError(f"keep={list(keep)!r} with a summary", key="keep", expected="keep=() with summary=")
    # freed memory reused, not faulted in afresh, while the chunks run here or their results arrive
    with freed_memory_kept():
        if summary is not None:
            # the national figures those of the provinces reported, pooled, as of draws kept whole
            return _reported(summary_run(scenario, name_or_path, draws, seed, quantiles, variables, client=client,
                                         chunk_size=chunk_size, engine=engine, store_folder=store_folder,
                                         pooled=reported, progress=progress), reported)
        if client is None:
            collected = None
            setup = chunk_setup(scenario)
            for (start, _), part in _chunks_here(_chunk_bounds(draws, chunk_size), lambda bounds: simulate_chunk(
                    scenario, seed, *bounds, keep, engine, setup)):
                if collected is None:  # all draws' arrays at once: no copy to join them at the end
                    collected = {name: np.empty((draws,) + values.shape[1:], dtype=dtype) for name, values in part.items()
                                 if name != "coords"}
                    collected["coords"] = part["coords"]
                for name, values in part.items():
                    if name != "coords":
                        collected[name][start:start + len(values)] = values
                progress(start + len(part["population_total"]), draws)
            parts = [collected]
        else:
            bounds = _chunk_bounds(draws, chunk_size, client)
            futures = [client.submit(_chunk_in_worker, name_or_path, seed, a, b, keep, pure=False) for a, b in bounds]
            parts = client.gather(futures)
            progress(draws, draws)
        return _reported(_to_dataset(scenario, parts, seed, dtype), reported)


def _chunks_here(bounds, compute, processes=False):
    """``((start, stop), compute((start, stop)))`` for the chunks ``bounds`` of a run in this
    process, in draw order: on numba's threads, a chunk per thread, each thread's kernels on one
    thread and its cubes written where its previous chunk's were (``_accelerate.map_on_threads``;
    ``compute`` must copy what it keeps of the cubes). With ``processes``, in as many forked
    worker processes instead (``_accelerate.map_on_processes``, for a ``compute`` that gives back
    little: a reduced chunk), or on threads where forking is not safe. A chunk is computed
    alone, so the results are the same to the bit on any number of threads or processes."""
    return zip(bounds, (map_on_processes if processes else map_on_threads)(compute, bounds))


def _reported(ds: xr.Dataset, provinces) -> xr.Dataset:
    """The provinces a scenario reports, selected after every draw projected all 31."""
    return ds.sel(province=provinces) if provinces else ds


def _from_recipe(recipe) -> Scenario:
    """The Scenario a dask worker rebuilds: a shipped name or a file, or ``(file, overrides)``."""
    if isinstance(recipe, tuple):
        source, updates = recipe
        return load_scenario(source).model_copy(update=updates)
    return load_scenario(recipe)


def _chunk_bounds(draws: int, chunk_size=None, client=None, first: int = 0, default: int = CHUNK_SIZE) -> list:
    """``(start, stop)`` of each chunk of draws ``first..draws-1``: ``default`` draws
    (:data:`CHUNK_SIZE`), or with a client at most draws / (2 x workers) so that every worker
    gets some."""
    size = chunk_size or default
    if client is not None and not chunk_size:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        size = max(1, min(default, math.ceil(draws / (2 * workers))))
    return [(s, min(s + size, draws)) for s in range(first, draws, size)]


def _to_dataset(scenario, parts, seed, dtype=np.float64) -> xr.Dataset:
    """The stochastic Dataset of the chunks ``parts`` (in draw order), cut at the scenario's
    horizon, its draws in ``dtype``."""
    def join(values):  # one part: no copy
        return (values[0] if len(values) == 1 else np.concatenate(values)).astype(dtype, copy=False)

    coords = parts[0]["coords"]
    variables = {}
    for name in parts[0]:
        if name == "coords":
            continue
        values = join([p[name] for p in parts])
        declared = VARIABLES[name]
        if name.startswith("driver_"):
            dims = ("draw", "year")
        elif name == "population":
            dims = ("draw", "province", "sex", "age", "year")
        else:
            dims = ("draw", "province", "year")
        long_name = declared.long_name
        if len(dims) < len(declared.dims) + 1 and not name.startswith("driver_"):
            long_name += " (summed over sex" + (" and age)" if "age" in declared.dims else ")")
        variables[name] = (dims, values, {"units": declared.units, "long_name": long_name})
    n_draws = len(variables["population_total"][1])
    ds = xr.Dataset(variables, coords={"draw": np.arange(n_draws), "province": coords["province"],
                                       "year": coords["year"], "sex": ["male", "female"], "age": np.arange(101)})
    _, horizon = _projection_years(scenario)
    ds = ds.sel(year=slice(None, horizon))
    ds.attrs.update(scenario=scenario.name, seed=seed, title="socsec_proj stochastic projection")
    return ds


#: Variables of a stochastic run that are worked out from others it keeps: a file of draws
#: leaves them out (:func:`without_derived`) and :func:`open_draws` works them out again.
DERIVED = tuple(f"{scheme}_months_of_reserve" for scheme in SCHEMES)


def without_derived(draws: xr.Dataset) -> xr.Dataset:
    """``draws`` without the variables of :data:`DERIVED` (what ``draws.nc`` holds): each
    scheme's months of reserve is its balance over a twelfth of its expenditure, both kept."""
    return draws.drop_vars([name for name in DERIVED if name in draws.data_vars])


def with_derived(draws: xr.Dataset) -> xr.Dataset:
    """``draws`` with every variable of :data:`DERIVED` it lacks and can be worked out from:
    ``{scheme}_months_of_reserve`` [months] from ``{scheme}_balance`` and ``_expenditure`` by
    :func:`socsec_proj.funds.accounts.reserve_months`, the rule the fund stages use (in float64)."""
    added = {}
    for scheme in SCHEMES:
        name, balance, expenditure = (f"{scheme}_{q}" for q in ("months_of_reserve", "balance", "expenditure"))
        if name in draws.data_vars or balance not in draws.data_vars or expenditure not in draws.data_vars:
            continue
        values = reserve_months(draws[balance].values.astype(float),
                                draws[expenditure].transpose(*draws[balance].dims).values.astype(float))
        added[name] = (draws[balance].dims, values, {"units": VARIABLES[name].units,
                                                     "long_name": VARIABLES[name].long_name})
    return draws.assign(added) if added else draws


def open_draws(path) -> xr.Dataset:
    """A stochastic run's draws as ``socsec-proj run --draws N`` writes them (``draws.nc``),
    read into memory, with the variables the file leaves out worked out again (:func:`with_derived`).

    Parameters
    ----------
    path : str or path
        The ``draws.nc`` of a run's results folder.
    """
    return with_derived(xr.load_dataset(path))


def summarize(ds: xr.Dataset, quantiles=(0.05, 0.5, 0.95), engine: str = "numba") -> xr.Dataset:
    """Quantiles over draws of every variable with a ``draw`` dimension (dim ``quantile``).

    Exact: ``numpy.quantile`` (linear), NaN left out as ``numpy.nanquantile`` does (fund years
    before 2024 are NaN in every draw), by :func:`socsec_proj.reductions.draw_quantiles`: a
    numba kernel over the cells of each variable as the run keeps it (draws first, no
    transposed copy), selecting only the order statistics needed; ``engine="numpy"`` its
    sort-based reference.
    """
    q = reductions.check_quantiles(quantiles, key="quantiles")
    variables = {}
    for name in ds.data_vars:
        var = ds[name]
        if "draw" not in var.dims:
            continue
        other = tuple(d for d in var.dims if d != "draw")
        values = var.transpose("draw", *other).values  # the run's own layout: no copy
        variables[name] = (("quantile",) + other, reductions.draw_quantiles(values, q, engine=engine), dict(var.attrs))
    coords = {k: v for k, v in ds.coords.items() if "draw" not in v.dims}
    return xr.Dataset(variables, coords={**coords, "quantile": list(q)}, attrs=dict(ds.attrs))


# --------------------------------------------------------------------------------------------
# Summary-only runs: reduced chunk by chunk


def check_summary_variables(names=None) -> tuple:
    """The variables a summary keeps quantiles of (default :data:`SUMMARY_VARIABLES`), each a
    (draw, province, year) variable a stochastic run keeps; else InputError."""
    if names is None:
        return SUMMARY_VARIABLES
    names = (names,) if isinstance(names, str) else tuple(names)
    allowed = {"population_total", *KEPT_MEMBERS,
               *(f"{scheme}_{quantity}" for scheme in SCHEMES for quantity in KEPT_QUANTITIES)}
    for name in names:
        if name not in allowed:
            raise InputError(f"{name!r}", key="summary_variables", expected="variables a stochastic run keeps "
                             f"by province and year: {', '.join(sorted(allowed))}")
    if not names:
        raise InputError("no variables", key="summary_variables", expected="at least one variable")
    return names


#: The suffix of a summary's national quantiles: ``{variable}_national`` (quantile, year), the
#: quantiles over draws of the variable's total over the provinces the run reports (China's, all
#: 31, by default; ``funds.measures.national_sum``): a quantile of a sum is not the sum of the
#: provinces' quantiles.
NATIONAL = "_national"


def _quantile_values(values: dict, name: str, pooled) -> np.ndarray:
    """A chunk's values of the summary variable ``name`` ``[draw, province, year]``, a copy (``values``
    may be views of buffers the next chunk writes), or for ``{variable}_national`` (:data:`NATIONAL`)
    the total ``[draw, year]`` of the provinces ``pooled`` (indices; all of them if None)."""
    from .funds.measures import national_sum

    if name.endswith(NATIONAL) and name not in values:
        return national_sum(_pooled(values[name[:-len(NATIONAL)]], pooled))
    return values[name].copy()


def _pooled(by_province: np.ndarray, pooled) -> np.ndarray:
    """The provinces ``pooled`` (indices; None: all) of values ``[draw, province, year]``."""
    return by_province if pooled is None else by_province[:, pooled]


def reduce_chunk(part: dict, variables, horizon: int, pooled=None) -> dict:
    """What a summary keeps of one chunk (:func:`kept`'s dict), cut at ``horizon``: the sum over
    its draws of every variable and how many draws it holds a number for (NaN left out, as in
    the quantiles and in xarray's ``mean``), each draw's depletion years (per province and of the
    provinces ``pooled``; NaN: never) and the values of ``variables`` (for the exact quantiles;
    ``{variable}_national``: of the provinces ``pooled``, :func:`_quantile_values`).

    ``pooled``: the codes of the provinces a run reports, whose pooled balance is its national
    one (as ``depletion_year(..., national_total=True)`` sums a Dataset's provinces); None: all.
    Runs where the chunk was computed (a dask worker reduces its own chunks).
    """
    from .funds.measures import first_year_below_zero

    if pooled is not None:
        codes = list(part["coords"]["province"])
        pooled = [codes.index(code) for code in pooled]

    years = np.asarray(part["coords"]["year"])
    cut = years <= horizon
    kept_years = int(cut.sum())
    if cut[:kept_years].all():  # the years ascend: a slice, views instead of 29 copies
        cut = slice(0, kept_years)
    values = {name: array[..., cut] for name, array in part.items() if name != "coords"}
    n_draws = len(values["population_total"])
    out = {"draws": n_draws, "sums": {}, "counts": {},
           "values": {name: _quantile_values(values, name, pooled) for name in variables}, "depletion": {}}
    for name, array in part.items():
        if name != "coords":  # every year (the arrays are contiguous so), then cut: nansum's bits
            sums, counts = reductions.draw_sums(array)
            out["sums"][name], out["counts"][name] = sums[..., cut], counts[..., cut]
    # depletion_year's rule on the arrays (draw, province, year): through xarray it was ~1 ms a
    # call, twelve calls a chunk (0.3 ms of a draw's ~6)
    projected_years = years[cut]
    for scheme in SCHEMES:
        if f"{scheme}_balance" in values:
            balance = values[f"{scheme}_balance"]
            out["depletion"][scheme] = first_year_below_zero(balance, projected_years)
            out["depletion"][f"{scheme}_national"] = first_year_below_zero(_pooled(balance, pooled), projected_years,
                                                                           national_total=True)
    return out


def _summary_chunk_in_worker(name_or_path, seed, start, stop, variables, horizon, pooled):
    """What a dask worker runs for a summary: its chunk, reduced there (numba on one thread, the
    worker's cubes reused and small pages as in :func:`_chunk_in_worker`)."""
    with single_threaded(), kept_buffers(), small_pages():
        return reduce_chunk(simulate_chunk(name_or_path, seed, start, stop, copy=False), variables, horizon, pooled)


def _reduced_chunks(scenario, name_or_path, draws, seed, variables, horizon, pooled, client, chunk_size, engine):
    """``(start, reduced chunk)`` in draw order, computed here or on ``client``'s workers.

    With a client the chunks go out in waves of :data:`reductions.BUFFER_DRAWS` draws, the
    next wave submitted before the last is collected: the workers stay busy and this process
    holds at most two waves' results.
    """
    bounds = _chunk_bounds(draws, chunk_size, client, default=CHUNK_SIZE if client is not None else SUMMARY_CHUNK_SIZE)
    if client is None:
        setup = chunk_setup(scenario)
        # in worker processes if asked: a reduced chunk is small (~4 MB for 32 draws), and on
        # threads the chunks' Python holds the GIL (1.6 of 2 cores busy)
        for (start, _), reduced in _chunks_here(bounds, lambda bounds: reduce_chunk(
                simulate_chunk(scenario, seed, *bounds, engine=engine, setup=setup, copy=False), variables, horizon,
                pooled),
                processes=SUMMARY_ON_PROCESSES):
            yield start, reduced
        return
    waves, wave = [], []
    for start, stop in bounds:
        wave.append((start, stop))
        if stop - wave[0][0] >= reductions.BUFFER_DRAWS:
            waves.append(wave)
            wave = []
    waves += [wave] if wave else []

    def submit(wave):
        return [(a, client.submit(_summary_chunk_in_worker, name_or_path, seed, a, b, variables, horizon, pooled,
                                  pure=False)) for a, b in wave]

    pending = submit(waves[0])
    for index in range(len(waves)):
        following = submit(waves[index + 1]) if index + 1 < len(waves) else []
        for start, future in pending:
            yield start, future.result()
            future.release()
        pending = following


def _requantile(results, missed, quantiles, scenario, name_or_path, draws, seed, horizon, pooled, client,
                chunk_size, engine, store_folder) -> None:
    """The quantiles of the cells ``missed[name]`` (flat indices) whose bands did not hold them
    (:class:`reductions.QuantileStore`), from every draw again: the chunks are computed anew from
    their seeds (the same bits) and those cells' values written whole to a :class:`reductions.DrawStore`."""
    stores = {name: reductions.DrawStore([name], draws, (len(cells),), folder=store_folder)
              for name, cells in missed.items()}
    try:
        for start, reduced in _reduced_chunks(scenario, name_or_path, draws, seed, tuple(missed), horizon, pooled,
                                              client, chunk_size, engine):
            for name, cells in missed.items():
                values = reduced["values"][name]
                stores[name].add(start, {name: values.reshape(len(values), -1)[:, cells]})
        for name, cells in missed.items():
            shape = results[name].shape
            flat = results[name].reshape(shape[0], -1)
            flat[:, cells] = stores[name].quantiles(name, quantiles)
    finally:
        for store in stores.values():
            store.close()


def share_depleted_by(first_years: np.ndarray, years) -> np.ndarray:
    """The share of draws [/1] depleted in or before each of ``years``, ``[..., year]``, of each
    draw's first year below zero ``first_years`` ``[draw, ...]`` (NaN: never, counted in no year).

    Counted on each column's years sorted (NaN last), the same numbers as the mean over draws of
    ``first_years <= year``, year by year (a count over the draws, exact in float64): at
    100,000 draws those 81 passes over every draw were 2.5 s of a summary's end."""
    flat = first_years.reshape(len(first_years), -1)
    ordered = np.sort(flat, axis=0)
    counts = np.empty((flat.shape[1], len(years)))
    for column in range(flat.shape[1]):
        counts[column] = np.searchsorted(ordered[:, column], years, side="right")
    return (counts / len(first_years)).reshape(first_years.shape[1:] + (len(years),))


def summary_run(scenario, name_or_path, draws: int, seed: int, quantiles, variables=SUMMARY_VARIABLES, *,
                client=None, chunk_size=None, engine="numba", store_folder=None, pooled=None,
                progress=_no_progress) -> xr.Dataset:
    """A stochastic run that keeps only a summary, reduced chunk by chunk (see :func:`run` and
    :mod:`socsec_proj.reductions`); ``scenario`` already checked. ``pooled``: the codes of the
    provinces whose pooled balance is the national one (those the run reports; None: all 31).
    ``progress(done, draws)`` after each chunk is reduced here (see :func:`run`).

    Returns
    -------
    xarray.Dataset
        - ``{variable}`` of ``variables``: dims ``quantile``, ``province``, ``year``, exact
          quantiles over the draws (equal to ``summarize`` of the same draws kept whole);
        - ``{variable}_national``: dims ``quantile``, ``year``, the exact quantiles over the draws
          of the total of the provinces ``pooled`` (China's, by default);
        - ``{name}_mean`` of every variable a stochastic run keeps: the mean over draws
          (``province``, ``year``; the drivers by ``year``);
        - ``{scheme}_depletion_year`` (``draw``, ``province``) and
          ``{scheme}_national_depletion_year`` (``draw``, of the provinces ``pooled``): each draw's
          first year with a balance below zero [year], NaN if never within the horizon;
        - ``{scheme}_depletion_probability`` (``province``, ``year``) and
          ``{scheme}_national_depletion_probability`` (``year``): the share of draws [/1]
          depleted in or before each year.
    """
    _, horizon = _projection_years(scenario)
    national = tuple(name + NATIONAL for name in variables)
    stores = sums = counts = depletion = None
    for start, reduced in _reduced_chunks(scenario, name_or_path, draws, seed, variables + national, horizon,
                                          pooled, client, chunk_size, engine):
        if stores is None:  # by province and year, and the pooled totals by year: two shapes of cells
            stores = [reductions.QuantileStore(names, draws, reduced["values"][names[0]].shape[1:], quantiles)
                      for names in (variables, national)]
            sums = {name: np.zeros_like(total) for name, total in reduced["sums"].items()}
            counts = {name: np.zeros(total.shape, dtype=np.int64) for name, total in reduced["sums"].items()}
            depletion = {key: np.empty((draws,) + years.shape[1:], dtype=np.float32)
                         for key, years in reduced["depletion"].items()}
        for store in stores:
            store.add(start, reduced["values"])
        for name, total in reduced["sums"].items():
            sums[name] += total
            counts[name] += reduced["counts"][name]
        for key, years in reduced["depletion"].items():
            depletion[key][start:start + reduced["draws"]] = years
        progress(start + reduced["draws"], draws)
    results = {name: store.quantiles(name) for store in stores for name in store.names}
    missed = {name: np.flatnonzero(store.missed(name)) for store in stores for name in store.names
              if store.missed(name).any()}
    del stores
    if missed:  # (about one run in a thousand) the draws again, every value of those cells kept
        _requantile(results, missed, quantiles, scenario, name_or_path, draws, seed, horizon, pooled, client,
                    chunk_size, engine, store_folder)
    ds, _ = _projection_years(scenario)
    ds = ds.sel(year=slice(None, horizon))
    years = ds["year"].values
    # which provinces the national figures pool: measures.check_pooled refuses them for any other set
    pooled_codes = {"pooled": ",".join(pooled if pooled is not None else (str(p) for p in ds["province"].values))}
    variables_out = {}
    for name in variables:
        declared = VARIABLES[name]
        variables_out[name] = (("quantile", "province", "year"), results[name],
                               {"units": declared.units, "long_name": f"{declared.long_name}: quantiles over draws"})
        variables_out[name + NATIONAL] = (("quantile", "year"), results[name + NATIONAL], {
            "units": declared.units, "long_name": f"{declared.long_name}, provinces pooled: quantiles over draws",
            **pooled_codes})
    for name, total in sums.items():
        declared = VARIABLES[name]
        dims = ("year",) if name.startswith("driver_") else ("province", "year")
        with np.errstate(invalid="ignore", divide="ignore"):  # no draw with a number: NaN
            mean = np.where(counts[name] > 0, total / counts[name], np.nan)
        variables_out[f"{name}_mean"] = (dims, mean, {"units": declared.units,
                                                               "long_name": f"{declared.long_name}: mean over draws"})
    for scheme in SCHEMES:
        if scheme not in depletion:
            continue
        for key, dims in ((scheme, ("draw", "province")), (f"{scheme}_national", ("draw",))):
            first_years = depletion[key]
            variables_out[f"{key}_depletion_year"] = (dims, first_years, {
                "units": "year", "long_name": "first year the balance is below zero (NaN: not within the horizon)",
                **(pooled_codes if key != scheme else {})})
            by_year = share_depleted_by(first_years, years)
            variables_out[f"{key}_depletion_probability"] = (dims[1:] + ("year",), by_year, {
                "units": "1", "long_name": "share of draws depleted in or before the year"})
    summary = xr.Dataset(variables_out, coords={"quantile": list(quantiles), "draw": np.arange(draws),
                                                "province": ds["province"].values, "year": years,
                                                "name_zh": ds["name_zh"], "name_en": ds["name_en"]})
    summary.attrs.update(scenario=scenario.name, seed=seed, draws=draws,
                         title="socsec_proj stochastic projection: summary over draws")
    return summary

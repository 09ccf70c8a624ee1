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

How a draw is projected. The deterministic projection of the scenario runs once. Each draw's
population is then projected by the cohort-component kernel with its fertility and mortality
multipliers, and the kernel weighs every draw's population by the deterministic coverage
shares (insured workers, pensioners, resident contributors and beneficiaries per resident of
each province, sex, age and year) — so each draw's contributors and pensioners follow its own
population without its age cube ever being kept. The funds of each draw scale the
deterministic flows by the draw's members and wages: contributions by insured workers x the
wage index, pensions by pensioners (pensions in payment are indexed by rule, not by wages;
the wage sensitivity of new pensions is left out), pooling recomputed, subsidies by the
scenario's rule, returns shocked, balances run year by year.

``run(..., client=dask_client)`` maps chunks of draws over a ``dask.distributed`` cluster
(each worker runs numba single-threaded); without a client the draws run in this process on
numba's threads. Either way the results are the same to the bit.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import xarray as xr

from ._accelerate import single_threaded
from .funds import _kernels as _fund_kernels
from .funds._kernels import DRAW_QUANTITIES, DRAW_SCHEMES
from .errors import InputError
from .inputs import data
from .inputs.scenario import Scenario, load_scenario

#: The correlated economic shocks, in the order of the correlation matrix.
SHOCKS = ("wage", "cpi", "return", "unemployment")
#: Drivers start moving in this year; earlier years are the calibrated history.
FIRST_SHOCK_YEAR = 2025
#: Variables a stochastic Dataset keeps per (draw, province, year).
SCHEMES = ("employee_pension", "resident_pension", "unemployment", "injury")
_COVERAGE = ("employee_pension_contributors", "employee_pension_retirees",
             "resident_pension_contributors", "resident_pension_beneficiaries")


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


def driver_settings(parameters, years, source=None) -> dict:
    """Everything the drivers of a scenario need, by year (years = the population years)."""
    table = pd.read_csv(data.table_path("stochastic/demographic_uncertainty"), comment="#").set_index("year")
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


def _deterministic(scenario: Scenario) -> dict:
    """What every chunk of draws shares: the deterministic projection (all provinces: they
    exchange migrants), its coverage weights and the population kernel's inputs."""
    from .demography.population import prepare_inputs, weight_age_bounds
    from .projection import run as run_deterministic

    full = scenario.model_copy(update={"provinces": None})
    ds = run_deterministic(full)
    weights = _coverage_weights(ds)
    return {"ds": ds, "weights": weights, "weight_ages": weight_age_bounds(weights),
            "inputs": prepare_inputs(scenario.parameters, ds["year"].values),
            "fund_bases": _fund_bases(ds, int(np.searchsorted(ds["year"].values, 2024)))}


def _coverage_weights(ds) -> np.ndarray:
    """Members per resident, [K, Y, P, S, A] in the kernel's layout (0 where nobody lives).

    Single precision (7 digits): the shares are ratios of counts, and float32 halves the memory
    the kernel's weighted sums read for every draw and step.
    """
    population = ds["population"].transpose("year", "province", "sex", "age").values
    weights = []
    for name in _COVERAGE:
        members = ds[name].transpose("year", "province", "sex", "age").values
        weights.append(np.divide(members, population, out=np.zeros_like(members), where=population > 0))
    return np.stack(weights).astype(np.float32)


def _fund_bases(ds, first) -> dict:
    """The deterministic flows, members and opening balances the funds of every draw scale."""
    n_prov, n_years = ds.sizes["province"], ds.sizes["year"]

    def flow(name):
        return ds[name].values if name in ds else np.zeros((n_prov, n_years))

    workers = ds["employee_pension_contributors"].sum(("sex", "age")).values
    with np.errstate(divide="ignore", invalid="ignore"):
        wage = np.where(workers > 0, flow("employee_pension_covered_payroll") / (12.0 * workers), 0.0)
    base_flows = np.stack([
        flow("employee_pension_contributions"), flow("employee_pension_expenditure"), flow("employee_pension_subsidy"),
        wage, flow("resident_pension_contributions"), flow("resident_pension_subsidy"),
        flow("resident_pension_expenditure"),
        flow("unemployment_revenue") - flow("unemployment_investment_income"), flow("unemployment_expenditure"),
        flow("injury_revenue") - flow("injury_investment_income"), flow("injury_expenditure")])
    opening = np.stack([
        (flow(f"{s}_balance")[:, first] - flow(f"{s}_revenue")[:, first] + flow(f"{s}_expenditure")[:, first])
        if f"{s}_balance" in ds else np.zeros(n_prov) for s in DRAW_SCHEMES])
    return {
        "present": np.array([int(f"{scheme}_balance" in ds) for scheme in DRAW_SCHEMES]),
        "base_flows": np.nan_to_num(base_flows),
        "base_members": np.nan_to_num(np.stack([ds[name].sum(("sex", "age")).values for name in _COVERAGE])),
        "opening": np.nan_to_num(opening),
    }


def _draw_funds(shared, first, weighted, wage_ratio, returns, unemployment, pooled_share, frozen, engine):
    """The four funds of every draw (see :func:`socsec_proj.funds._kernels.draw_funds`): [4, 4, D, P, Y]."""
    bases = shared["fund_bases"]
    n_prov, n_years = bases["base_flows"].shape[1:]
    # single precision (7 digits) for the draws' fund paths: half the memory of 4 x 4 x draws x
    # provinces x years values, and these are read as distributions, not to the yuan
    out = np.empty((4, 4, weighted.shape[0], n_prov, n_years), dtype=np.float32)
    kernel = {"numba": _fund_kernels.draw_funds, "numpy": _fund_kernels.draw_funds_numpy}[engine]
    kernel(first, bases["present"], bases["base_flows"], bases["base_members"], bases["opening"],
           np.ascontiguousarray(weighted), np.ascontiguousarray(wage_ratio), np.ascontiguousarray(returns),
           np.ascontiguousarray(unemployment), np.ascontiguousarray(pooled_share, dtype=float), frozen, out)
    return out


def _step_multiplier(log_path):
    """Multipliers of the mid-year steps [D, Y-1] from a log path by calendar year [D, Y]: the
    mean of the two years each step straddles, as the deterministic rates are."""
    return np.exp(0.5 * (log_path[:, :-1] + log_path[:, 1:]))


def simulate_chunk(scenario, seed: int, start: int, stop: int, keep=(), engine="numba", deterministic=None):
    """Draws ``start..stop-1`` of a stochastic run (see :func:`run`); a dict of numpy arrays."""
    from .demography.population import project

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    shared = deterministic if deterministic is not None else _deterministic(scenario)
    ds = shared["ds"]
    parameters = scenario.parameters
    years = ds["year"].values
    n_years = len(years)
    settings = driver_settings(parameters, years, scenario.source)
    paths = draw_drivers(settings, seed, start, stop, n_years)                          # (D, Y) each

    # the inputs were checked when the deterministic run used them; the draws' factors are checked here
    result = project(shared["inputs"], mortality_factor=_step_multiplier(paths["mortality"]),
                     fertility_factor=_step_multiplier(paths["fertility"]), keep_cube="population" in keep,
                     keep_flows=False, weights=shared["weights"], weight_ages=shared["weight_ages"], engine=engine, validate=False)
    weighted = result["weighted"]                                                        # (D, Y, P, K)
    members = {name: np.moveaxis(weighted[..., k], 1, 2) for k, name in enumerate(_COVERAGE)}  # (D, P, Y)
    population = result["population"]                                                    # (D, Y, P, S)
    # men + women: numpy's sum over a last axis of 2 is twenty times slower (30 ms for 1000 draws)
    out = {"population_total": np.moveaxis(population[..., 0] + population[..., 1], 1, 2)}
    out.update(members)

    first = int(np.searchsorted(years, 2024))
    growth = np.asarray(parameters.get("economy.wage_growth").annual(years), dtype=float)
    wage_ratio = np.cumprod(np.where(years >= FIRST_SHOCK_YEAR, (1.0 + growth + paths["wage"]) / (1.0 + growth),
                                     1.0), axis=1)
    returns = np.asarray(parameters.get("employee_pension.investment_return").annual(years), dtype=float)
    returns = returns[None, :] + paths["return"]
    share = np.asarray(parameters.get("employee_pension.pooling_remittance_share").annual(years), dtype=float)
    active = np.asarray(parameters.get("employee_pension.national_pooling").annual(years), dtype=bool)
    frozen = np.array([str(rule) == "frozen" for rule in parameters.get("employee_pension.subsidy_rule").annual(years)])
    funds = _draw_funds(shared, first, weighted, wage_ratio, returns, np.exp(paths["unemployment"]), share * active,
                        frozen, engine)
    for k, scheme in enumerate(DRAW_SCHEMES):
        if f"{scheme}_balance" in ds:
            for q, quantity in enumerate(DRAW_QUANTITIES):
                out[f"{scheme}_{quantity}"] = funds[k, q]
    out["drivers"] = paths
    if "population" in keep:
        out["population"] = np.moveaxis(result["population_cube"], 1, -1)               # (D, P, S, A, Y)
    return out


# --------------------------------------------------------------------------------------------
# The public run


def _chunk_in_worker(name_or_path, seed, start, stop, keep):
    """What a dask worker runs: numba on one thread, so its threads never nest in dask's."""
    with single_threaded():
        return simulate_chunk(name_or_path, seed, start, stop, keep)


def run(scenario="baseline", draws: int = 100, seed: int = 0, keep=(), client=None, chunk_size: int = None,
        engine: str = "numba") -> xr.Dataset:
    """Stochastic projection: ``draws`` paths of the scenario.

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
        Draws per chunk with a client (default: draws / (2 x workers)).
    engine : {"numba", "numpy"}
        The compiled kernel or its plain-numpy reference (for benchmarks).

    Returns
    -------
    xarray.Dataset
        Dims ``draw``, ``province``, ``year``: ``population_total`` and members per scheme
        [persons], ``{scheme}_revenue``, ``_expenditure`` [CNY/year], ``_balance`` [CNY],
        ``_months_of_reserve`` [months]; the driver paths by draw and year.
    """
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or draws < 1:
        raise InputError(f"draws={draws!r}", key="draws", expected="a whole number of draws, at least 1")
    name_or_path = scenario
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    elif client is not None:
        name_or_path = str(scenario.source)
    from .projection import check_stages
    check_stages(scenario)
    driver_settings(scenario.parameters, [FIRST_SHOCK_YEAR], scenario.source)  # the drivers' bad input, first too
    keep = tuple(keep)
    if client is None:
        deterministic = _deterministic(scenario)
        parts = [simulate_chunk(scenario, seed, 0, draws, keep, engine, deterministic)]
    else:
        workers = max(len(client.scheduler_info().get("workers", {})), 1)
        size = chunk_size or max(1, math.ceil(draws / (2 * workers)))
        bounds = [(s, min(s + size, draws)) for s in range(0, draws, size)]
        futures = [client.submit(_chunk_in_worker, name_or_path, seed, a, b, keep, pure=False) for a, b in bounds]
        parts = client.gather(futures)
    return _to_dataset(scenario, parts, seed)


def _to_dataset(scenario, parts, seed) -> xr.Dataset:
    from .inputs.provinces import CODES

    def join(values):  # one chunk: no copy
        return values[0] if len(values) == 1 else np.concatenate(values)

    joined = {name: join([p[name] for p in parts]) for name in parts[0] if name != "drivers"}
    drivers = {name: join([p["drivers"][name] for p in parts]) for name in parts[0]["drivers"]}
    years = np.arange(2020, 2020 + joined["population_total"].shape[-1])
    provinces = list(CODES)
    units = {"population_total": "persons", "revenue": "CNY/year", "expenditure": "CNY/year", "balance": "CNY",
             "months_of_reserve": "months"}
    variables = {}
    for name, values in joined.items():
        if name == "population":
            variables[name] = (("draw", "province", "sex", "age", "year"), values,
                               {"units": "persons", "long_name": "resident population at 1 July"})
            continue
        unit = units.get(name) or units.get(name.split("_", 2)[-1]) or next(
            (u for q, u in units.items() if name.endswith(q)), "persons")
        variables[name] = (("draw", "province", "year"), values, {"units": unit, "long_name": name.replace("_", " ")})
    for name, values in drivers.items():
        label = {"fertility": "log multiplier of the TFR", "mortality": "log multiplier of the probability of dying",
                 "wage": "shock to nominal wage growth", "cpi": "shock to CPI inflation",
                 "return": "shock to the rate of return", "unemployment": "log multiplier of unemployment inflow"}[name]
        variables[f"driver_{name}"] = (("draw", "year"), values, {"units": "1", "long_name": label})
    ds = xr.Dataset(variables, coords={"draw": np.arange(len(joined["population_total"])), "province": provinces,
                                       "year": years, "sex": ["male", "female"], "age": np.arange(101)})
    if scenario.provinces:
        ds = ds.sel(province=list(scenario.provinces))
    if scenario.horizon:
        ds = ds.sel(year=slice(None, scenario.horizon))
    ds.attrs.update(scenario=scenario.name, seed=seed, title="socsec_proj stochastic projection")
    return ds


def summarize(ds: xr.Dataset, quantiles=(0.05, 0.5, 0.95)) -> xr.Dataset:
    """Quantiles over draws of every variable with a ``draw`` dimension (dim ``quantile``)."""
    q = list(quantiles)
    if not q or any(not 0.0 <= x <= 1.0 for x in q):
        raise InputError(f"quantiles {quantiles!r}", key="quantiles", expected="numbers between 0 and 1")
    with warnings.catch_warnings():  # fund years before 2024 are NaN in every draw, by design
        warnings.simplefilter("ignore", RuntimeWarning)
        return ds[[n for n in ds.data_vars if "draw" in ds[n].dims]].quantile(q, dim="draw")

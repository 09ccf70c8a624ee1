"""The population stage: a cohort-component projection by province, sex and single age.

The stage reads the embedded tables (base population, mortality, fertility pattern,
migration) and the scenario's demographic parameters, turns them into the kernel's step
inputs (:func:`prepare_inputs`), checks them (:func:`validate_inputs`), projects
(:func:`project`) and writes ``population``, ``births``, ``deaths`` and ``net_migration``
into the Dataset (:func:`project_population`).

Timing. The population is that of 1 July. The step from 1 July of year Y to 1 July of Y+1
straddles two calendar years, so its rates are the mean of the calendar-year rates of Y and
Y+1 (death rates, fertility, sex ratio at birth, international migrants). Its flows are
labelled Y+1 in the Dataset (see :mod:`socsec_proj.variables`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
import xarray as xr

from .._accelerate import buffer, thread_count
from .._accelerate import kernel as engine_switch
from ..errors import InputError
from ..inputs import data
from ..inputs.provinces import CODES
from .. import variables as declared_variables
from ..variables import SEXES, VARIABLES, add
from . import _kernels
from .lifetable import life_expectancy, survival_ratios


@dataclass
class PopulationInputs:
    """Everything one deterministic projection needs, as arrays in the kernel's layout.

    ``T`` = number of one-year steps, ``P`` provinces, ``S`` = 2 sexes, ``A`` = 101 ages.

    Attributes
    ----------
    years : numpy.ndarray, shape (T+1,)
        Years of the population (1 July), base year first.
    provinces : tuple of str
        ISO 3166-2:CN codes, in the order of the province axis.
    pop0 : numpy.ndarray, shape (P, S, A)
        Base population [persons].
    survival : numpy.ndarray, shape (T, P, S, A)
        One-year survival ratios by age at the start of the step [/1].
    birth_survival : numpy.ndarray, shape (T, P, S)
        Share of the step's births alive at its end [/1].
    fertility : numpy.ndarray, shape (T, P, A)
        Age-specific fertility rates [births/woman/year].
    male_birth_share : numpy.ndarray, shape (T, P)
        Boys per birth [/1].
    out_rate : numpy.ndarray, shape (T, P, S, A)
        Inter-provincial out-migration rates [/year].
    in_share : numpy.ndarray, shape (T, P, S, A) or (T, P)
        Shares of the pool of inter-provincial migrants of each sex and age received (adding
        to 1 over provinces); (T, P) = the same share at every sex and age [/1].
    international : numpy.ndarray, shape (T, S, A)
        National net international migrants [persons/year].
    mx : numpy.ndarray, shape (T+1, P, S, A)
        Calendar-year central death rates, for the life-expectancy output [/year].
    tfr : numpy.ndarray, shape (T+1, P)
        Calendar-year total fertility rates [children/woman].
    life_expectancy : numpy.ndarray, shape (T+1, P, S), optional
        Calendar-year life expectancy at birth [years]; computed from ``mx`` when absent.
    """

    years: np.ndarray
    provinces: tuple
    pop0: np.ndarray
    survival: np.ndarray
    birth_survival: np.ndarray
    fertility: np.ndarray
    male_birth_share: np.ndarray
    out_rate: np.ndarray
    in_share: np.ndarray
    international: np.ndarray
    mx: np.ndarray
    tfr: np.ndarray
    life_expectancy: np.ndarray | None = None


def _table_years(table_years, years, name):
    """Row indices of ``years`` in a table's years; InputError naming the table if any is missing."""
    missing = sorted(set(years) - set(table_years.tolist()))
    if missing:
        raise InputError(
            f"no data for year {missing[0]}",
            source=data.table_path(name),
            key="year",
            expected=f"years {table_years[0]}..{table_years[-1]}",
        )
    return np.searchsorted(table_years, years)


def _step_mean(calendar):
    """Rates of each mid-year-to-mid-year step: the mean of the two calendar years it straddles."""
    return 0.5 * (calendar[:-1] + calendar[1:])


#: The last calendar year whose national fertility is set from recorded births (NBS): the
#: provinces' relative fertility starts converging to the national after it.
LAST_RECORDED_YEAR = 2025
#: The census year of the inter-provincial migration rates (2010-2020 cohort residual).
MIGRATION_BASE_YEAR = 2020


def linear_fade(years, start, period) -> np.ndarray:
    """Weights [/1] falling linearly from 1 in ``start`` to 0 in ``start + period`` (then 0).

    ``period`` [years] is one value per year (a parameter's annual values); 0 means the weight
    is 0 in every year after ``start``. Years up to ``start`` have weight 1.
    """
    years = np.asarray(years, dtype=float)
    period = np.asarray(period, dtype=float)
    elapsed = years - start
    with np.errstate(divide="ignore", invalid="ignore"):
        fade = np.where(period > 0, 1.0 - elapsed / np.where(period > 0, period, 1.0), 0.0)
    return np.where(elapsed <= 0, 1.0, np.clip(fade, 0.0, 1.0))


def _period(parameters, path, years) -> np.ndarray:
    """A period parameter's annual values [years]; a negative one is refused naming it."""
    parameter = parameters.get(path)
    values = parameter.annual(years)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        raise InputError(f"period {float(np.min(values))!r}", source=parameter.source, key=path,
                         expected="a period of at least 0 years")
    return values


def _province_multiplier(parameters, path, years, provinces) -> np.ndarray:
    """A multiplier by province ``[province, year]`` [/1]; NaN or negative values name it and the province."""
    parameter = parameters.get(path)
    values = parameter.by_province(years, provinces)
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        p, y = np.argwhere(bad)[0]
        raise InputError(f"value {float(values[p, y])!r} in {int(years[y])}", source=parameter.source,
                         key=f"{path} ({provinces[p]})", expected="a finite multiplier >= 0")
    return values


def _rate_above(values, limit, path, provinces, years, what, parameters):
    """InputError naming the parameter and the province if any value ``[year, province, ...]`` exceeds ``limit``."""
    if np.max(values) <= limit:  # the usual case, without a boolean array
        return
    where = np.argwhere(np.asarray(values) > limit)[0]
    y, p = int(where[0]), int(where[1])
    raise InputError(f"{what} above 1 in {int(years[y])}",
                     source=parameters.get(path).source, key=f"{path} ({provinces[p]})",
                     expected=f"a multiplier that keeps every {what} at or below 1")


#: Death rates, survival ratios and life expectancy of recent mortality inputs (read-only arrays), by
#: (params folder, years, mortality_scale): the life tables of 31 provinces x 2 sexes x 81
#: years are two thirds of the stage's time, and most scenarios leave mortality alone.
_LIFE_TABLES: dict = {}


def _mortality_step_rates(mx):
    """``(survival [T, P, S, A], birth_survival [T, P, S], e0 [Y, P, S])`` from calendar mx [Y, P, S, A]
    (which is made read-only too: it is kept with them)."""
    mx_step = _step_mean(mx)
    survival = np.empty_like(mx_step)
    birth_survival = np.empty(mx_step.shape[:3])
    e0 = np.empty(mx.shape[:3])
    for s, sex in enumerate(SEXES):
        survival[:, :, s], birth_survival[:, :, s] = survival_ratios(mx_step[:, :, s], sex)
        e0[:, :, s] = life_expectancy(mx[:, :, s], sex)
    for array in (mx, survival, birth_survival, e0):
        array.setflags(write=False)
    return survival, birth_survival, e0


def prepare_inputs(parameters, years, tables=None) -> PopulationInputs:
    """Kernel inputs from the embedded tables and a scenario's parameters.

    Mortality: the national schedule x each province's relative mortality by sex and age
    (``demography/mortality_relative``) x ``demography.mortality_scale``. Fertility: the
    national TFR x each province's ``demography.fertility_relative``, which moves linearly to
    1 over ``demography.fertility_convergence_years`` after :data:`LAST_RECORDED_YEAR`, spread
    over age by the national pattern. Inter-provincial migration: the 2010-2020 census rates
    by sex and age x ``demography.internal_migration_scale``, fading linearly to zero over
    ``demography.internal_migration_decay_years`` after :data:`MIGRATION_BASE_YEAR`.

    Parameters
    ----------
    parameters : socsec_proj.inputs.parameters.ParameterSet
        The scenario's parameters (``demography.*``).
    years : array_like of int
        Population years, base year first, consecutive.
    tables : mapping, optional
        Arrays to use instead of the embedded tables, by reader name (``base_population``,
        ``mortality_rates``, ``relative_mortality``, ``fertility_age_pattern``,
        ``international_migration``, ``internal_migration``): how the build script projects
        with the tables it is about to write.

    Returns
    -------
    PopulationInputs

    Raises
    ------
    InputError
        For a multiplier that is NaN or negative or that gives a probability of dying or a
        fertility rate above 1 (naming the parameter and the province), a negative period.
    """
    tables = dict(tables or {})

    def table(name):
        return tables[name] if name in tables else getattr(data, name)()

    years = np.asarray(years, dtype=int)
    provinces = CODES
    mx_table, mx_years = table("mortality_rates")
    pattern, pattern_years = table("fertility_age_pattern")
    international, intl_years = table("international_migration")
    out_rate, in_share = table("internal_migration")
    relative_mx = table("relative_mortality")  # (P, S, A)

    path = "demography.mortality_scale"
    mortality_scale = _province_multiplier(parameters, path, years, provinces)  # (P, Y)

    def mortality():
        national_mx = mx_table[_table_years(mx_years, years, "demography/mortality_rates")]  # (Y, S, A)
        mx = national_mx[:, None] * relative_mx[None] * mortality_scale.T[:, :, None, None]  # (Y, P, S, A)
        # a probability of dying above 1 (mx > 2, half a year lived by those dying) below the open age
        _rate_above(mx[..., :-1], 2.0, path, provinces, years, "probability of dying", parameters)
        return (mx,) + _mortality_step_rates(mx)

    if tables:  # the build's own tables: nothing to remember
        mx, survival, birth_survival, e0 = mortality()
    else:  # the embedded tables: the same mortality parameters give the same life tables
        key = (str(data.params_dir()), years.tobytes(), mortality_scale.tobytes())
        if key not in _LIFE_TABLES:
            if len(_LIFE_TABLES) >= 8:
                _LIFE_TABLES.pop(next(iter(_LIFE_TABLES)))
            _LIFE_TABLES[key] = mortality()
        mx, survival, birth_survival, e0 = _LIFE_TABLES[key]

    path = "demography.fertility_relative"
    relative = _province_multiplier(parameters, path, years, provinces).T  # (Y, P)
    converging = linear_fade(years, LAST_RECORDED_YEAR,
                             _period(parameters, "demography.fertility_convergence_years", years))
    relative = 1.0 + (relative - 1.0) * converging[:, None]
    tfr = parameters.get("demography.total_fertility_rate").annual(years)[:, None] * relative  # (Y, P)
    shape = pattern[_table_years(pattern_years, years, "demography/fertility_age_pattern")]  # (Y, A)
    fertility_calendar = tfr[:, :, None] * shape[:, None, :]
    _rate_above(fertility_calendar, 1.0, path, provinces, years, "fertility rate", parameters)
    fertility = _step_mean(fertility_calendar)

    srb = parameters.get("demography.sex_ratio_at_birth").annual(years)
    male_share = _step_mean(srb / (1.0 + srb))
    male_birth_share = np.repeat(male_share[:, None], len(provinces), axis=1)

    intl_scale = _step_mean(parameters.get("demography.international_migration_scale").annual(years))
    intl = international[_table_years(intl_years, years, "demography/international_migration")]
    intl_step = _step_mean(intl) * intl_scale[:, None, None]

    fading = linear_fade(years, MIGRATION_BASE_YEAR,
                         _period(parameters, "demography.internal_migration_decay_years", years))
    internal_scale = _step_mean(parameters.get("demography.internal_migration_scale").annual(years) * fading)
    out_step = out_rate[None] * internal_scale[:, None, None, None]
    in_step = np.broadcast_to(np.asarray(in_share)[None], (len(years) - 1,) + np.shape(in_share))

    return PopulationInputs(
        years=years,
        provinces=tuple(provinces),
        pop0=np.array(table("base_population"), dtype=float),
        survival=survival,
        birth_survival=birth_survival,
        fertility=fertility,
        male_birth_share=male_birth_share,
        out_rate=out_step,
        in_share=in_step,
        international=intl_step,
        mx=mx,
        tfr=tfr,
        life_expectancy=e0,
    )


#: Accepted range of each input array: (low, high); None = unbounded.
_RANGES = {
    "pop0": (0.0, None),
    "survival": (0.0, 1.0),
    "birth_survival": (0.0, 1.0),
    "fertility": (0.0, 1.0),
    "male_birth_share": (0.0, 1.0),
    "out_rate": (0.0, 1.0),
    "in_share": (0.0, 1.0),
    "international": (None, None),
    "mx": (0.0, None),
    "tfr": (0.0, None),
}
_AXES = {
    "pop0": "province, sex, age",
    "survival": "step, province, sex, age",
    "birth_survival": "step, province, sex",
    "fertility": "step, province, age",
    "male_birth_share": "step, province",
    "out_rate": "step, province, sex, age",
    "in_share": "step, province, sex, age",
    "international": "step, sex, age",
    "mx": "year, province, sex, age",
    "tfr": "year, province",
}


def validate_inputs(inputs: PopulationInputs) -> None:
    """Check shapes, NaN and ranges of every input before the kernel runs.

    Raises
    ------
    InputError
        Naming the input, the first offending index and the accepted range or shape.
    """
    n_years = len(inputs.years)
    if n_years < 2 or np.any(np.diff(inputs.years) != 1):
        raise InputError("years must be consecutive, at least two", key="years",
                         expected="base year, base year + 1, ...")
    n_prov, n_sex, n_age = np.shape(inputs.pop0)
    if n_prov != len(inputs.provinces) or n_sex != 2 or n_age < 2:
        raise InputError(f"shape {np.shape(inputs.pop0)}", key="pop0",
                         expected=f"({len(inputs.provinces)} provinces, 2 sexes, at least 2 ages)")
    steps = n_years - 1
    expected_shapes = {
        "pop0": (n_prov, 2, n_age),
        "survival": (steps, n_prov, 2, n_age),
        "birth_survival": (steps, n_prov, 2),
        "fertility": (steps, n_prov, n_age),
        "male_birth_share": (steps, n_prov),
        "out_rate": (steps, n_prov, 2, n_age),
        "in_share": (steps, n_prov, 2, n_age) if np.ndim(inputs.in_share) == 4 else (steps, n_prov),
        "international": (steps, 2, n_age),
        "mx": (n_years, n_prov, 2, n_age),
        "tfr": (n_years, n_prov),
    }
    for field in fields(PopulationInputs):
        if field.name not in expected_shapes:
            continue
        values = np.asarray(getattr(inputs, field.name), dtype=float)
        if values.shape != expected_shapes[field.name]:
            raise InputError(f"shape {values.shape}", key=field.name,
                             expected=f"shape {expected_shapes[field.name]} ({_AXES[field.name]})")
        low, high = _RANGES[field.name]
        # two reductions decide the usual case (NaN propagates through min and max); the
        # boolean arrays that locate a bad value are made only when there is one
        smallest, largest = (values.min(), values.max()) if values.size else (0.0, 0.0)
        if not (np.isfinite(smallest) and np.isfinite(largest)):
            where = tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])
            raise InputError(f"NaN or infinite value at [{_AXES[field.name]}] = {where}", key=field.name,
                             expected="finite numbers")
        for bad in (values < low if low is not None and smallest < low else None,
                    values > high if high is not None and largest > high else None):
            if bad is not None:
                where = tuple(int(i) for i in np.argwhere(bad)[0])
                raise InputError(f"value {float(values[where])!r} at [{_AXES[field.name]}] = {where}",
                                 key=field.name, expected=f"values in [{low}, {high}]")
    in_share = np.asarray(inputs.in_share)
    sums = in_share.sum(axis=1)  # (T,) + (S, A) or ()
    leaving = np.asarray(inputs.out_rate).sum(axis=1) > 0  # (T, S, A): some province sends migrants
    if in_share.ndim == 2:
        leaving = leaving.any(axis=(1, 2))
    wrong = leaving & ~np.isclose(sums, 1.0, atol=1e-9)
    if wrong.any():
        raise InputError(f"shares add to {sums[wrong].min():.9f}..{sums[wrong].max():.9f}", key="in_share",
                         expected="shares adding to 1 over provinces in every step (at every sex and age with leavers)")


def weight_age_bounds(weights) -> np.ndarray:
    """For each weight ``[K, T+1, P, S, A]`` and sex, the ages ``[lo, hi)`` outside which it is zero: ``[K, S, 2]``."""
    used = np.any(np.asarray(weights) != 0.0, axis=(1, 2))                             # (K, S, A)
    n_age = used.shape[-1]
    bounds = np.zeros(used.shape[:2] + (2,), dtype=np.int64)
    for k, s in np.ndindex(*used.shape[:2]):
        row = used[k, s]
        if row.any():
            bounds[k, s] = (np.argmax(row), n_age - np.argmax(row[::-1]))
    return bounds


def project(inputs: PopulationInputs, *, mortality_factor=None, fertility_factor=None,
            migration_factor=None, keep_cube=True, keep_flows=True, engine="numba", validate=True, weights=None,
            weight_ages=None, keep_migration=None, cube_dtype=float) -> dict:
    """Run the cohort-component projection.

    Parameters
    ----------
    inputs : PopulationInputs
    mortality_factor, fertility_factor, migration_factor : numpy.ndarray, shape (n_sets, T), optional
        Per-set multipliers of the probability of dying, fertility and migration [/1];
        default one set of ones.
    keep_cube : bool, default True
        Also return the population and migration by single age.
    keep_migration : bool, optional
        Return the migration by single age too; default ``keep_cube``.
    keep_flows : bool, default True
        Return births, deaths and net migration (a stochastic run needs only the population
        and its weighted sums).
    engine : {"numba", "numpy"}
        The compiled kernel or its plain-numpy reference.
    validate : bool, default True
        Check the inputs first (see :func:`validate_inputs`).
    weights : numpy.ndarray, shape (K, T+1, P, S, A), optional
        Weights of the population (e.g. coverage shares; float64 or float32); the result then
        has ``weighted`` ``[n, T+1, P, K]``, the weighted population summed over sex and age.
    weight_ages : numpy.ndarray, shape (K, S, 2), optional
        :func:`weight_age_bounds` of ``weights``, when the caller already has it.
    cube_dtype : numpy dtype, default float64
        Storage of ``population_cube`` (the stage's is ``variables.DRAW_CUBE_DTYPE`` with draws);
        the projection itself always runs in float64.

    Returns
    -------
    dict of numpy.ndarray
        ``population [n, T+1, P, S]``; with ``keep_flows``, ``births``, ``deaths`` and
        ``net_migration`` ``[n, T, P, S]``; with ``keep_cube``, ``population_cube
        [n, T+1, P, S, A]`` and (with ``keep_migration``) ``migration_cube [n, T, P, S, A]``
        [persons, persons/year]. Inside :func:`~socsec_proj._accelerate.reused_buffers` the
        population cube is the one handed out for the previous call of the same shape.
    """
    if validate:
        validate_inputs(inputs)
    keep_migration = keep_cube if keep_migration is None else keep_migration
    steps = len(inputs.years) - 1
    factors = []
    for name, factor in (("mortality_factor", mortality_factor), ("fertility_factor", fertility_factor),
                         ("migration_factor", migration_factor)):
        factor = np.ones((1, steps)) if factor is None else np.ascontiguousarray(factor, dtype=float)
        if factor.ndim != 2 or factor.shape[1] != steps:
            raise InputError(f"shape {factor.shape}", key=name, expected=f"(n_sets, {steps})")
        if not np.all(np.isfinite(factor)) or np.any(factor < 0):
            raise InputError("negative or non-finite factor", key=name, expected="finite values >= 0")
        factors.append(factor)
    n_sets = max(f.shape[0] for f in factors)
    factors = [np.ascontiguousarray(np.broadcast_to(f, (n_sets, steps))) for f in factors]
    laid_out = kernel_arrays(inputs)  # no copy for stage_inputs' arrays, already laid out
    pop0 = laid_out["pop0"]  # every set starts from it: no copy per set
    n_prov, n_sex, n_age = pop0.shape
    flow_sets = n_sets if keep_flows else 0
    out = {
        "population": np.zeros((n_sets, steps + 1, n_prov, n_sex)),
        "births": np.zeros((flow_sets, steps, n_prov, n_sex)),
        "deaths": np.zeros((flow_sets, steps, n_prov, n_sex)),
        "net_migration": np.zeros((flow_sets, steps, n_prov, n_sex)),
        # every cell of the cubes is written by the kernel: no zeroing
        "population_cube": buffer("population.population_cube",
                                  (n_sets if keep_cube else 0, steps + 1, n_prov, n_sex, n_age), cube_dtype),
        "migration_cube": np.empty((n_sets if keep_migration else 0, steps, n_prov, n_sex, n_age)),
    }
    # single-precision weights are kept as they are (half the memory traffic of the weighted sums)
    weights = np.zeros((0, steps + 1, n_prov, n_sex, n_age)) if weights is None else \
        np.ascontiguousarray(weights, dtype=np.float32 if np.asarray(weights).dtype == np.float32 else float)
    if weights.shape[1:] != (steps + 1, n_prov, n_sex, n_age):
        raise InputError(f"shape {weights.shape}", key="weights", expected=f"(K, {steps + 1}, {n_prov}, {n_sex}, {n_age})")
    out["weighted"] = np.zeros((n_sets, steps + 1, n_prov, weights.shape[0]))
    # the ages where each weight is not zero: the kernel sums over those only
    weight_ages = weight_age_bounds(weights) if weight_ages is None else np.asarray(weight_ages, dtype=np.int64)
    # the engine switch built here, so that the module's kernel is looked up at the call (tests replace it)
    kernel = engine_switch(_kernels.project_population_kernel, _kernels.project_population_numpy)(
        engine, work=n_sets * steps * n_prov)
    contiguous = [laid_out[name] for name in _KERNEL_RATES]
    kernel(pop0, *contiguous, *factors, out["population"], out["births"], out["deaths"],
           out["net_migration"], out["population_cube"], out["migration_cube"], weights, weight_ages,
           out["weighted"], _kernels.block_count(n_sets, thread_count()))
    if not keep_cube:
        del out["population_cube"]
    if not keep_migration:
        del out["migration_cube"]
    if not keep_flows:
        del out["births"], out["deaths"], out["net_migration"]
    if weights.shape[0] == 0:
        del out["weighted"]
    return out


#: The stage's kernel inputs of recent (parameters, years), checked and contiguous (read-only
#: arrays): every chunk of a stochastic run starts from the same rates, and preparing, checking
#: and laying them out was ~8 ms of a chunk's ~36 ms of work that does not depend on its draws
#: (a ``ParameterSet`` is immutable, and held here, so its identity is the key).
_STAGE_INPUTS: dict = {}
#: The embedded tables :func:`prepare_inputs` reads (by their ``inputs.data`` readers).
_TABLE_READERS = ("mortality_rates", "fertility_age_pattern", "international_migration", "internal_migration",
                  "relative_mortality", "base_population")


def stage_inputs(parameters, years) -> PopulationInputs:
    """:func:`prepare_inputs` of the embedded tables, checked (:func:`validate_inputs`), with every
    rate array float64, C-contiguous and read-only as the kernel takes it; kept for the last few
    (parameters, years, tables as read), so a run's chunks prepare them once.

    Parameters
    ----------
    parameters : socsec_proj.inputs.parameters.ParameterSet
        The scenario's parameters (immutable: a changed scenario has new ones, so a new entry).
    years : array_like of int
        Population years, base year first, consecutive.
    """
    years = np.asarray(years, dtype=int)
    # the tables as the data module holds them now (one object per folder until its cache is
    # cleared): kept with the entry, so their identities stay theirs while it is kept
    tables = tuple(getattr(data, name)() for name in _TABLE_READERS)
    key = (parameters, years.tobytes(), tuple(id(table) for table in tables))
    if key not in _STAGE_INPUTS:
        inputs = prepare_inputs(parameters, years)
        validate_inputs(inputs)
        laid_out = kernel_arrays(inputs)
        for array in laid_out.values():
            array.setflags(write=False)
        if len(_STAGE_INPUTS) >= 4:
            _STAGE_INPUTS.pop(next(iter(_STAGE_INPUTS)))
        _STAGE_INPUTS[key] = (replace(inputs, **laid_out), tables)
    return _STAGE_INPUTS[key][0]


#: The rate arrays of :class:`PopulationInputs` the kernel takes after ``pop0``, in its order.
_KERNEL_RATES = ("survival", "birth_survival", "fertility", "male_birth_share", "out_rate", "in_share",
                 "international")


def kernel_arrays(inputs: PopulationInputs) -> dict:
    """``pop0`` and the :data:`_KERNEL_RATES` of ``inputs`` as the kernel takes them: float64,
    C-contiguous, ``in_share`` by sex and age (a ``[T, P]`` share repeated at every sex and age);
    the arrays themselves where they already are so (no copy)."""
    n_sex, n_age = np.shape(inputs.pop0)[1:]
    in_share = np.asarray(inputs.in_share, dtype=float)
    if in_share.ndim == 2:  # one share per province at every sex and age
        in_share = np.broadcast_to(in_share[:, :, None, None], in_share.shape + (n_sex, n_age))
    arrays = {name: np.ascontiguousarray(getattr(inputs, name), dtype=float)
              for name in ("pop0",) + _KERNEL_RATES if name != "in_share"}
    arrays["in_share"] = np.ascontiguousarray(in_share)
    return arrays


def _with_base_year_nan(flows):
    """Flows [T, ...] -> [T+1, ...] with NaN for the base year (no flow ends at the base date)."""
    nan = np.full((1,) + flows.shape[1:], np.nan)
    return np.concatenate([nan, flows], axis=0)


def _step_multiplier(log_path):
    """Multipliers of the mid-year steps ``[D, T]`` from a log path by calendar year ``[D, T+1]``:
    the mean of the two years each step straddles, as the deterministic rates are."""
    return np.exp(0.5 * (log_path[:, :-1] + log_path[:, 1:]))


def project_population(ds: xr.Dataset, scenario, *, engine: str = "numba", flows: bool | None = None) -> xr.Dataset:
    """Population stage: Dataset in (coordinates ``province``, ``year``), Dataset out.

    Adds ``population``, ``population_total``, ``births``, ``deaths``, ``net_migration``,
    ``net_migration_total``, ``life_expectancy`` and ``total_fertility_rate``. The projection
    always covers all 31 provinces (they exchange migrants); a scenario's province subset is
    applied to the result.

    With a ``draw`` dimension (a stochastic run), each draw is one input set of the kernel,
    its fertility and probability of dying multiplied by ``exp(driver_fertility)`` and
    ``exp(driver_mortality)`` (by calendar year; each step takes the mean of its two years'
    logs); ``life_expectancy`` (of the scenario's rates, not the draw's) is then left out, and
    the ``population`` cube is stored in ``variables.DRAW_CUBE_DTYPE`` (single precision).

    Parameters
    ----------
    engine : {"numba", "numpy"}
        The kernel or its numpy reference.
    flows : bool, optional
        Write births, deaths and net migration; default: without draws only (a stochastic
        run keeps none of them).
    """
    flows = "draw" not in ds.dims if flows is None else flows
    years = ds.variables["year"].values
    inputs = stage_inputs(scenario.parameters, years)  # checked once (validate=False below)
    factors = {}
    for driver, factor in (("fertility", "fertility_factor"), ("mortality", "mortality_factor")):
        if f"driver_{driver}" in ds:
            factors[factor] = _step_multiplier(ds[f"driver_{driver}"].transpose("draw", "year").values)
    # with draws the cube is stored in single precision (variables.DRAW_CUBE_DTYPE: half the bytes
    # every later stage streams), without them in float64
    cube_dtype = declared_variables.DRAW_CUBE_DTYPE if "draw" in ds.dims else float
    result = project(inputs, keep_cube=True, keep_flows=flows, keep_migration=flows, engine=engine,
                     cube_dtype=cube_dtype, validate=False, **factors)
    coords = {"province": list(inputs.provinces), "sex": list(SEXES), "age": np.arange(inputs.pop0.shape[-1]),
              "year": years}
    # kernel layout [set, year, province, sex, (age)] -> declared (draw, province, sex, (age), year)
    values = {
        "population": np.moveaxis(result["population_cube"], 1, -1),
        "population_total": np.moveaxis(result["population"], 1, -1),
        "total_fertility_rate": inputs.tfr.T[None],
    }
    if "driver_fertility" in ds:
        values["total_fertility_rate"] = values["total_fertility_rate"] * np.exp(
            ds["driver_fertility"].transpose("draw", "year").values)[:, None, :]
    if flows:
        values["net_migration"] = np.moveaxis(_with_base_year_nan(np.moveaxis(result["migration_cube"], 0, 1)), 0, -1)
        for name, declared in (("births", "births"), ("deaths", "deaths"), ("net_migration", "net_migration_total")):
            values[declared] = np.moveaxis(_with_base_year_nan(np.moveaxis(result[name], 0, 1)), 0, -1)
    if "draw" not in ds.dims:
        e0 = inputs.life_expectancy
        if e0 is None:
            e0 = np.stack([life_expectancy(inputs.mx[:, :, s], sex) for s, sex in enumerate(SEXES)], axis=-1)
        values["life_expectancy"] = np.moveaxis(e0, 0, -1)
    if list(ds.variables["province"].values) != list(inputs.provinces):  # a scenario's subset of provinces
        rows = [list(inputs.provinces).index(code) for code in ds.variables["province"].values]
        values = {name: array[:, rows] if array.ndim == len(VARIABLES[name].dims) + 1 else array[rows]
                  for name, array in values.items()}
    return add(ds, values, coords)

"""The cohort-component step: a numba kernel and its plain-numpy reference.

Both project ``n_sets`` independent input sets (deterministic run: 1; stochastic runs: one
per draw) from a base population over ``n_steps`` one-year steps, for every province, sex and
single age at once. They share one contract, so ``tests/test_population_kernel.py`` holds
them equal:

Inputs (``T`` steps, ``P`` provinces, ``S = 2`` sexes (0 male, 1 female), ``A`` ages, the
last open):

- ``pop0[P, S, A]`` base population, the same for every set [persons]
- ``survival[T, P, S, A]`` share of those aged a at the start of the step alive one year
  later (aged a+1, or still in the open group) [/1]
- ``birth_survival[T, P, S]`` share of the step's births alive at its end [/1]
- ``fertility[T, P, A]`` births per woman-year by age of mother [/year]
- ``male_birth_share[T, P]`` share of births that are boys [/1]
- ``out_rate[T, P, S, A]`` inter-provincial out-migration rate of the survivors [/year]
- ``in_share[T, P, S, A]`` share of the national pool of inter-provincial migrants of each
  sex and age that each province receives; sums to 1 over provinces [/1]
- ``international[T, S, A]`` national net international migrants [persons/year], shared
  out over provinces in proportion to their survivors of that sex and age
- ``mortality_factor[n, T]``, ``fertility_factor[n, T]``, ``migration_factor[n, T]``
  per-set multipliers of the probability of dying, of fertility and of migration [/1]

One step, for each province: survivors age by one year (the open group keeps its
survivors); births = fertility x the mean of the women at the start and the surviving women
at the end (the UN's exposure), split by sex and survived to the end of the step; then net
migration (inter-provincial out-flows pooled and shared out, international net migrants)
is added at the end-of-step age. Migration never takes a cell below zero.

Outputs: ``population[n, T+1, P, S]`` totals; ``births``, ``deaths``, ``net_migration`` as
``[n, T, P, S]`` when their first dimension is not zero (a stochastic run needs none of them:
120 MB less to write for 1000 sets); and, each when its first dimension is not zero,
``population_cube[n, T+1, P, S, A]`` and ``migration_cube[n, T, P, S, A]`` (migrants by
end-of-step age; a stochastic run needs the first only: 4 MB less to write per draw).
``weights[K, T+1, P, S, A]`` (K may be 0), non-zero only at the ages
``weight_ages[k, s, 0] <= a < weight_ages[k, s, 1]`` of each sex, gives ``weighted[n, T+1, P, K]``,
the population weighted by each of them and summed over sex and age: how stochastic runs get
contributors and pensioners of every draw (coverage shares x population) without keeping
the age cube of each draw. The sets are advanced in ``n_blocks`` blocks of nearly equal
size, each block step by step (:func:`block_count`). By construction population(t+1) =
population(t) - deaths + births + net migration in every province, sex and set.
"""

from __future__ import annotations

import numpy as np

from .._accelerate import jit, over_blocks, read_only, row_dot, row_sum


#: At most this many sets are advanced together, step by step, so that each step's rates and
#: weights (survival, out-rates, coverage weights: ~200 kB) are read once per block instead of
#: once per set. Measured, 1000 sets with coverage weights on 2 threads: blocks of 4 sets
#: 480 ms, 8: 456 ms, 16: 429 ms, 32: 416 ms, 64 and 128: ~408 ms.
SETS_PER_BLOCK = 32


def block_count(n_sets, threads):
    """How many blocks of at most :data:`SETS_PER_BLOCK` sets, as many for every thread.

    Block b holds sets ``b * n_sets // n_blocks`` to ``(b + 1) * n_sets // n_blocks - 1``, so
    sizes differ by one set at most (1000 sets on 2 threads: 32 blocks of 31 or 32 sets, 500
    per thread; blocks of exactly 32 left one thread 24 sets short).
    """
    return min(threads * max(1, -(-n_sets // (threads * SETS_PER_BLOCK))), max(n_sets, 1))


@jit(inline="always")  # its body compiled within _project_block, not linked in and optimised again (0.5 s CPU less)
def _advance_one_year(i, t, current, pool, national, arriving, work, exposure, staying, survival, birth_survival,
                      fertility, male_birth_share, out_rate, in_share, international, mortality_factor,
                      fertility_factor, migration_factor, population, births, deaths, net_migration,
                      population_cube, migration_cube, weights, weight_ages, weighted):
    """One step of set ``i`` from 1 July of step ``t`` to the next; ``current`` is updated in place.

    Sums over age bound the speed of this step (measured: they were half its time as plain
    loops), so the loops over age carry no sums and can be vectorised, the sums go through
    :func:`~socsec_proj._accelerate.row_sum`, and row totals are carried rather than summed again: the population at
    the start of the step is last step's total, and the new total is the survivors plus the
    newborn plus net migrants. The population is aged in place and migrants are recomputed
    from the out-rates rather than stored between the two passes (a set's state is ~50 kB).
    """
    n_prov, n_sex, n_age = current.shape
    keep_cube = population_cube.shape[0] > 0
    keep_migration = migration_cube.shape[0] > 0
    keep_flows = births.shape[0] > 0
    last = n_age - 1
    k_mort = mortality_factor[i, t]
    k_fert = fertility_factor[i, t]
    k_mig = migration_factor[i, t]
    pool[:] = 0.0
    national[:] = 0.0
    # pass 1, per province: survival and ageing, births, the pool of leavers
    for p in range(n_prov):
        born = 0.0
        for s in range(n_sex):
            now = current[p, s]
            ratio = survival[t, p, s]
            for a in range(n_age):
                # survivors; k_mort >= 0 and ratio <= 1, so only the floor needs guarding (max() written
                # as a select, as Python's max(kept, 0.0) picks: a call LLVM does not vectorize)
                kept = 1.0 - k_mort * (1.0 - ratio[a])
                work[a] = now[a] * (0.0 if 0.0 > kept else kept)
                exposure[a] = now[a] - work[a]  # deaths, by age at the start
            dead = row_sum(exposure)
            if keep_flows:
                deaths[i, t, p, s] = dead
            staying[p, s] = population[i, t, p, s] - dead
            if s == 1:
                # births: fertility x the mean of the women at the start and the surviving women at the end
                exposure[0] = fertility[t, p, 0] * now[0]
                for a in range(1, n_age):
                    exposure[a] = fertility[t, p, a] * (now[a] + work[a - 1])
                exposure[last] += fertility[t, p, last] * work[last]
                born = 0.5 * k_fert * row_sum(exposure)
            for a in range(last - 1):  # ageing in place, from the survivors
                now[a + 1] = work[a]
            now[last] = work[last - 1] + work[last]
        for s in range(n_sex):
            share = male_birth_share[t, p] if s == 0 else 1.0 - male_birth_share[t, p]
            born_s = born * share
            surv = max(1.0 - k_mort * (1.0 - birth_survival[t, p, s]), 0.0)
            current[p, s, 0] = born_s * surv
            staying[p, s] += born_s * surv
            if keep_flows:
                births[i, t, p, s] = born_s
                deaths[i, t, p, s] += born_s - born_s * surv
            now = current[p, s]
            rate = out_rate[t, p, s]
            for a in range(n_age):
                pool[s, a] += rate[a] * k_mig * now[a]
                national[s, a] += now[a]
    # international migrants per survivor of each sex and age
    for s in range(n_sex):
        for a in range(n_age):
            if national[s, a] > 0.0:
                arriving[s, a] = international[t, s, a] * k_mig / national[s, a]
            else:
                arriving[s, a] = 0.0
    # pass 2, per province: net migration and the new population
    for p in range(n_prov):
        for s in range(n_sex):
            now = current[p, s]
            rate = out_rate[t, p, s]
            share_in = in_share[t, p, s]
            for a in range(n_age):
                # migration never takes a cell below zero (max() as a select, as above)
                moving = pool[s, a] * share_in[a] - rate[a] * k_mig * now[a] + arriving[s, a] * now[a]
                floor = -now[a]
                work[a] = floor if floor > moving else moving
                now[a] += work[a]
            moved = row_sum(work)
            if keep_flows:
                net_migration[i, t, p, s] = moved
            population[i, t + 1, p, s] = staying[p, s] + moved
            # element by element rather than `cube[...] = row`: an array assignment makes numba
            # compile the formatting of its shape-mismatch message (seconds of a cold start)
            if keep_migration:
                for a in range(n_age):
                    migration_cube[i, t, p, s, a] = work[a]
            if keep_cube:
                for a in range(n_age):
                    population_cube[i, t + 1, p, s, a] = now[a]
            for k in range(weights.shape[0]):
                lo, hi = weight_ages[k, s, 0], weight_ages[k, s, 1]  # only the ages where the weight is not 0
                weighted[i, t + 1, p, k] += row_dot(weights[k, t + 1, p, s, lo:hi], now[lo:hi])


@jit
def _project_block(block, n_blocks, pop0, survival, birth_survival, fertility, male_birth_share, out_rate, in_share,
                   international, mortality_factor, fertility_factor, migration_factor, population, births, deaths,
                   net_migration, population_cube, migration_cube, weights, weight_ages, weighted):
    """Block ``block`` of ``n_blocks``: its sets from the base year through every step (one thread's work)."""
    n_prov, n_sex, n_age = pop0.shape
    n_sets = mortality_factor.shape[0]
    n_steps = survival.shape[0]
    keep_cube = population_cube.shape[0] > 0
    first = block * n_sets // n_blocks
    stop = (block + 1) * n_sets // n_blocks
    state = np.empty((stop - first, n_prov, n_sex, n_age))
    pool = np.empty((n_sex, n_age))
    national = np.empty((n_sex, n_age))
    arriving = np.empty((n_sex, n_age))
    work = np.empty(n_age)
    exposure = np.empty(n_age)
    staying = np.empty((n_prov, n_sex))
    for i in range(first, stop):
        for p in range(n_prov):
            for s in range(n_sex):
                for a in range(n_age):  # element by element: see _advance_one_year
                    state[i - first, p, s, a] = pop0[p, s, a]
                population[i, 0, p, s] = row_sum(pop0[p, s])
                if keep_cube:
                    for a in range(n_age):
                        population_cube[i, 0, p, s, a] = pop0[p, s, a]
                for k in range(weights.shape[0]):
                    weighted[i, 0, p, k] += row_dot(weights[k, 0, p, s], pop0[p, s])
    for t in range(n_steps):
        for i in range(first, stop):
            _advance_one_year(i, t, state[i - first], pool, national, arriving, work, exposure, staying, survival,
                              birth_survival, fertility, male_birth_share, out_rate, in_share, international,
                              mortality_factor, fertility_factor, migration_factor, population, births,
                              deaths, net_migration, population_cube, migration_cube, weights, weight_ages,
                              weighted)


def project_population_kernel(
    pop0,
    survival,
    birth_survival,
    fertility,
    male_birth_share,
    out_rate,
    in_share,
    international,
    mortality_factor,
    fertility_factor,
    migration_factor,
    population,
    births,
    deaths,
    net_migration,
    population_cube,
    migration_cube,
    weights,
    weight_ages,
    weighted,
    n_blocks,
):
    """The numba kernel: :func:`_project_block` for each of the ``n_blocks`` blocks of sets, on
    numba's threads (:func:`~socsec_proj._accelerate.over_blocks`: a serial kernel on Python
    threads compiles in a third of the time a ``prange`` loop over the blocks took). The inputs
    go in read-only (:func:`~socsec_proj._accelerate.read_only`), so that one compiled
    signature serves the deterministic and the stochastic runs (their rates and factors are
    read-only tables in one, computed arrays in the other)."""
    inputs = [read_only(values) for values in (pop0, survival, birth_survival, fertility, male_birth_share, out_rate,
                                               in_share, international, mortality_factor, fertility_factor,
                                               migration_factor)]
    over_blocks(_project_block, n_blocks, *inputs, population, births, deaths, net_migration, population_cube,
                migration_cube, read_only(weights), read_only(weight_ages), weighted)


def project_population_numpy(
    pop0,
    survival,
    birth_survival,
    fertility,
    male_birth_share,
    out_rate,
    in_share,
    international,
    mortality_factor,
    fertility_factor,
    migration_factor,
    population,
    births,
    deaths,
    net_migration,
    population_cube,
    migration_cube,
    weights,
    weight_ages,
    weighted,
    n_blocks=1,
):
    """Plain-numpy reference of :func:`project_population_kernel` (same arguments, same outputs).

    Vectorised over province, sex and age; loops over sets and steps (``n_blocks`` only
    matters to the kernel).
    """
    n_sets = mortality_factor.shape[0]
    n_steps = survival.shape[0]
    keep_cube = population_cube.shape[0] > 0
    keep_migration = migration_cube.shape[0] > 0
    keep_flows = births.shape[0] > 0
    sex_share = np.stack([male_birth_share, 1.0 - male_birth_share], axis=-1)  # (T, P, S)
    for i in range(n_sets):
        current = pop0.astype(float)  # a copy
        population[i, 0] = current.sum(axis=-1)
        if keep_cube:
            population_cube[i, 0] = current
        if weights.shape[0]:
            weighted[i, 0] = np.einsum("kpsa,psa->pk", weights[:, 0], current)
        for t in range(n_steps):
            k_mort, k_fert, k_mig = mortality_factor[i, t], fertility_factor[i, t], migration_factor[i, t]
            surv = np.clip(1.0 - k_mort * (1.0 - survival[t]), 0.0, 1.0)
            alive = current * surv
            ahead = np.zeros_like(current)
            ahead[..., 1:] = alive[..., :-1]
            ahead[..., -1] += alive[..., -1]
            dead = (current - alive).sum(axis=-1)

            born = (fertility[t] * k_fert * 0.5 * (current[:, 1] + ahead[:, 1])).sum(axis=-1)  # (P,)
            born_s = born[:, None] * sex_share[t]
            birth_surv = np.clip(1.0 - k_mort * (1.0 - birth_survival[t]), 0.0, 1.0)
            ahead[..., 0] = born_s * birth_surv
            if keep_flows:
                births[i, t] = born_s
                deaths[i, t] = dead + born_s - born_s * birth_surv

            leaving = out_rate[t] * k_mig * ahead
            pool = leaving.sum(axis=0)  # (S, A)
            national = ahead.sum(axis=0)
            arriving = np.divide(international[t] * k_mig, national, out=np.zeros_like(national),
                                 where=national > 0)  # international migrants per survivor
            net = pool * in_share[t] - leaving + arriving * ahead
            net = np.maximum(net, -ahead)
            current = ahead + net
            if keep_flows:
                net_migration[i, t] = net.sum(axis=-1)
            population[i, t + 1] = current.sum(axis=-1)
            if keep_migration:
                migration_cube[i, t] = net
            if keep_cube:
                population_cube[i, t + 1] = current
            if weights.shape[0]:
                weighted[i, t + 1] = np.einsum("kpsa,psa->pk", weights[:, t + 1], current)

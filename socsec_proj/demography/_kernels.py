"""The cohort-component step: a numba kernel and its plain-numpy reference.

Both project ``n_sets`` independent input sets (deterministic run: 1; stochastic runs: one
per draw) from a base population over ``n_steps`` one-year steps, for every province, sex and
single age at once. They share one contract, so ``tests/test_population_kernel.py`` holds
them equal:

Inputs (``T`` steps, ``P`` provinces, ``S = 2`` sexes (0 male, 1 female), ``A`` ages, the
last open):

- ``pop0[n, P, S, A]`` base population [persons]
- ``survival[T, P, S, A]`` share of those aged a at the start of the step alive one year
  later (aged a+1, or still in the open group) [/1]
- ``birth_survival[T, P, S]`` share of the step's births alive at its end [/1]
- ``fertility[T, P, A]`` births per woman-year by age of mother [/year]
- ``male_birth_share[T, P]`` share of births that are boys [/1]
- ``out_rate[T, P, S, A]`` inter-provincial out-migration rate of the survivors [/year]
- ``in_share[T, P]`` share of the national pool of inter-provincial migrants (of each sex
  and age) that each province receives; sums to 1 over provinces [/1]
- ``international[T, S, A]`` national net international migrants [persons/year], shared
  out over provinces in proportion to their survivors of that sex and age
- ``mortality_factor[n, T]``, ``fertility_factor[n, T]``, ``migration_factor[n, T]``
  per-set multipliers of the probability of dying, of fertility and of migration [/1]

One step, for each province: survivors age by one year (the open group keeps its
survivors); births = fertility x the mean of the women at the start and the surviving women
at the end (the UN's exposure), split by sex and survived to the end of the step; then net
migration (inter-provincial out-flows pooled and shared out, international net migrants)
is added at the end-of-step age. Migration never takes a cell below zero.

Outputs: ``population[n, T+1, P, S]`` totals, ``births``, ``deaths``, ``net_migration`` as
``[n, T, P, S]``, and, when the cube arrays have a non-zero first dimension,
``population_cube[n, T+1, P, S, A]`` and ``migration_cube[n, T, P, S, A]`` (migrants by
end-of-step age). By construction population(t+1) = population(t) - deaths + births +
net migration in every province, sex and set.
"""

from __future__ import annotations

import numpy as np

from .._accelerate import jit, prange


@jit(parallel=True)
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
):
    n_sets, n_prov, n_sex, n_age = pop0.shape
    n_steps = survival.shape[0]
    keep_cube = population_cube.shape[0] > 0
    for i in prange(n_sets):
        current = pop0[i].copy()
        ahead = np.empty_like(current)
        pool = np.empty((n_sex, n_age))
        national = np.empty((n_sex, n_age))
        for p in range(n_prov):
            for s in range(n_sex):
                total = 0.0
                for a in range(n_age):
                    total += current[p, s, a]
                    if keep_cube:
                        population_cube[i, 0, p, s, a] = current[p, s, a]
                population[i, 0, p, s] = total
        for t in range(n_steps):
            k_mort = mortality_factor[i, t]
            k_fert = fertility_factor[i, t]
            k_mig = migration_factor[i, t]
            # survival and ageing
            for p in range(n_prov):
                for s in range(n_sex):
                    dead = 0.0
                    ahead[p, s, 0] = 0.0
                    for a in range(n_age):
                        surv = 1.0 - k_mort * (1.0 - survival[t, p, s, a])
                        surv = min(max(surv, 0.0), 1.0)
                        alive = current[p, s, a] * surv
                        dead += current[p, s, a] - alive
                        if a + 1 < n_age:
                            ahead[p, s, a + 1] = alive
                        else:
                            ahead[p, s, a] += alive
                    deaths[i, t, p, s] = dead
            # births, from the mean of the women at the start and the surviving women at the end
            for p in range(n_prov):
                born = 0.0
                for a in range(n_age):
                    born += fertility[t, p, a] * k_fert * 0.5 * (current[p, 1, a] + ahead[p, 1, a])
                for s in range(n_sex):
                    share = male_birth_share[t, p] if s == 0 else 1.0 - male_birth_share[t, p]
                    born_s = born * share
                    surv = 1.0 - k_mort * (1.0 - birth_survival[t, p, s])
                    surv = min(max(surv, 0.0), 1.0)
                    ahead[p, s, 0] = born_s * surv
                    births[i, t, p, s] = born_s
                    deaths[i, t, p, s] += born_s - born_s * surv
            # migration: the pool of inter-provincial movers and the national survivors
            for s in range(n_sex):
                for a in range(n_age):
                    pool[s, a] = 0.0
                    national[s, a] = 0.0
            for p in range(n_prov):
                for s in range(n_sex):
                    for a in range(n_age):
                        pool[s, a] += out_rate[t, p, s, a] * k_mig * ahead[p, s, a]
                        national[s, a] += ahead[p, s, a]
            for p in range(n_prov):
                for s in range(n_sex):
                    moved = 0.0
                    for a in range(n_age):
                        net = pool[s, a] * in_share[t, p] - out_rate[t, p, s, a] * k_mig * ahead[p, s, a]
                        if national[s, a] > 0.0:
                            net += international[t, s, a] * k_mig * ahead[p, s, a] / national[s, a]
                        if ahead[p, s, a] + net < 0.0:
                            net = -ahead[p, s, a]
                        moved += net
                        current[p, s, a] = ahead[p, s, a] + net
                        if keep_cube:
                            migration_cube[i, t, p, s, a] = net
                            population_cube[i, t + 1, p, s, a] = current[p, s, a]
                    net_migration[i, t, p, s] = moved
            for p in range(n_prov):
                for s in range(n_sex):
                    total = 0.0
                    for a in range(n_age):
                        total += current[p, s, a]
                    population[i, t + 1, p, s] = total


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
):
    """Plain-numpy reference of :func:`project_population_kernel` (same arguments, same outputs).

    Vectorised over province, sex and age; loops over sets and steps.
    """
    n_sets = pop0.shape[0]
    n_steps = survival.shape[0]
    keep_cube = population_cube.shape[0] > 0
    sex_share = np.stack([male_birth_share, 1.0 - male_birth_share], axis=-1)  # (T, P, S)
    for i in range(n_sets):
        current = pop0[i].astype(float).copy()
        population[i, 0] = current.sum(axis=-1)
        if keep_cube:
            population_cube[i, 0] = current
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
            births[i, t] = born_s
            deaths[i, t] = dead + born_s - born_s * birth_surv

            leaving = out_rate[t] * k_mig * ahead
            pool = leaving.sum(axis=0)  # (S, A)
            national = ahead.sum(axis=0)
            share = np.divide(ahead, national, out=np.zeros_like(ahead), where=national > 0)
            net = pool * in_share[t][:, None, None] - leaving + international[t] * k_mig * share
            net = np.maximum(net, -ahead)
            current = ahead + net
            net_migration[i, t] = net.sum(axis=-1)
            population[i, t + 1] = current.sum(axis=-1)
            if keep_cube:
                migration_cube[i, t] = net
                population_cube[i, t + 1] = current

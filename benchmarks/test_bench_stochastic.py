"""Speed and memory of stochastic runs (pytest-benchmark).

All schemes, 31 provinces, 2020-2100 (funds 2024-2100), 100 and 1000 draws, with the numba
kernels and with their plain-numpy references; peak memory of 1000 draws and the first call
in a fresh process are measured in subprocesses, so that nothing else in this process counts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import socsec_proj as ssp
from socsec_proj import stochastic


@pytest.mark.parametrize("draws", [100, 1000])
@pytest.mark.parametrize("engine", ["numba", "numpy"])
def test_stochastic_draws(benchmark, engine, draws):
    """The draws themselves (population with coverage, four funds), kernels against references."""
    benchmark.group = f"stochastic draws, {draws}, all schemes"
    scenario = ssp.load_scenario("baseline")
    deterministic = stochastic._deterministic(scenario)
    stochastic.simulate_chunk(scenario, 1, 0, 2, engine=engine, deterministic=deterministic)  # compile / warm
    result = benchmark.pedantic(stochastic.simulate_chunk, args=(scenario, 1, 0, draws),
                                kwargs=dict(engine=engine, deterministic=deterministic),
                                rounds=3 if engine == "numpy" else 9, iterations=1)
    assert result["population_total"].shape[0] == draws


def test_stochastic_speedup_interleaved(benchmark):
    """The speed-up at 1000 draws measured in pairs: the numpy reference, then the kernels
    (best of two), three times over. Timed one after the other, each pair sees the same
    machine; the two groups above are minutes apart, and this machine's speed drifts by
    several per cent over minutes (the numpy reference took 6.8-7.8 s in different runs)."""
    import time

    benchmark.group = "stochastic draws, 1000, speed-up in interleaved pairs"
    scenario = ssp.load_scenario("baseline")
    deterministic = stochastic._deterministic(scenario)
    for engine in ("numba", "numpy"):
        stochastic.simulate_chunk(scenario, 1, 0, 2, engine=engine, deterministic=deterministic)

    def seconds(engine):
        began = time.perf_counter()
        stochastic.simulate_chunk(scenario, 1, 0, 1000, engine=engine, deterministic=deterministic)
        return time.perf_counter() - began

    def pairs():
        return [(seconds("numpy"), min(seconds("numba"), seconds("numba"))) for _ in range(3)]

    timed = benchmark.pedantic(pairs, rounds=1, iterations=1)
    ratios = sorted(reference / kernels for reference, kernels in timed)
    benchmark.extra_info.update({"pairs_s": timed, "speedups": ratios})
    print(f"\nspeed-up in pairs (numpy s / numba s): "
          + ", ".join(f"{r:.2f} / {k:.3f} = {r / k:.1f}x" for r, k in timed) + f"; median {ratios[1]:.1f}x")


def test_run_1000_draws(benchmark):
    """``ssp.run("baseline", draws=1000)`` warm: the deterministic run, the draws and the Dataset."""
    benchmark.group = "ssp.run('baseline', draws=1000), warm"
    ssp.run("baseline", draws=2, seed=1)
    ds = benchmark.pedantic(ssp.run, args=("baseline",), kwargs=dict(draws=1000, seed=1), rounds=5, iterations=1)
    assert ds.sizes["draw"] == 1000


_PROBE = """
import json, resource, time
began = time.perf_counter()
import socsec_proj as ssp
imported = time.perf_counter()
ssp.run("baseline", draws={draws}, seed=1)
done = time.perf_counter()
print(json.dumps({{"import_s": imported - began, "first_run_s": done - imported,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def test_fresh_process_first_call_and_peak_memory(benchmark):
    """First ``ssp.run(draws=1000)`` in a new process (numba cache on disk) and its peak memory."""
    benchmark.group = "fresh process, 1000 draws"

    def probe():
        done = subprocess.run([sys.executable, "-c", _PROBE.format(draws=1000)], capture_output=True, text=True,
                              check=True, timeout=600)
        return json.loads(done.stdout.strip().splitlines()[-1])

    probe()  # fills the numba cache if it was cold
    figures = benchmark.pedantic(probe, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print(f"\nfresh process, 1000 draws: {figures}")
    assert figures["peak_rss_mb"] > 0

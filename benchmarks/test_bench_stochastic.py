"""Speed and memory of stochastic runs (pytest-benchmark).

A stochastic run is the deterministic stages on a Dataset with a ``draw`` dimension: all four
funds, 31 provinces, 2020-2100 (funds 2024-2100). Measured here against the issue's goals:

- 1000 full-model draws within 20x a lean population-only numba kernel of the same size
  (1000 sets, 31 provinces, 2024-2100, no cubes, no flows), timed in the same process one
  after the other;
- the numba path at least 10x the numpy reference path (every stage on its numpy reference);
- peak memory of 1000 draws under 2 GB, and the memory each draw adds (subprocesses, so that
  nothing else in this process counts).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

import socsec_proj as ssp
from socsec_proj import stochastic
from socsec_proj.demography.population import project

from .conftest import set_factors


def _seconds(function, *args, **kwargs):
    began = time.perf_counter()
    function(*args, **kwargs)
    return time.perf_counter() - began


@pytest.mark.parametrize("draws", [100, 1000])
def test_stochastic_draws(benchmark, draws):
    """``stochastic.run`` of the baseline: every stage of every draw, the Dataset of what is kept."""
    benchmark.group = f"stochastic draws, {draws}, all schemes"
    scenario = ssp.load_scenario("baseline")
    stochastic.run(scenario, draws=2, seed=1)  # compile / warm
    ds = benchmark.pedantic(stochastic.run, args=(scenario,), kwargs=dict(draws=draws, seed=1),
                            rounds=3 if draws == 1000 else 5, iterations=1)
    assert ds.sizes["draw"] == draws


def test_full_model_against_the_lean_population_kernel(benchmark, baseline_inputs):
    """1000 full-model draws / 1000 sets of the lean population kernel, in pairs one after the
    other (each pair sees the same machine), three pairs; goal: at most 20x."""
    benchmark.group = "1000 draws: full model / lean population kernel"
    scenario = ssp.load_scenario("baseline")
    factors = set_factors(1000, len(baseline_inputs.years) - 1)
    lean = dict(mortality_factor=factors["mortality_factor"], fertility_factor=factors["fertility_factor"],
                keep_cube=False, keep_flows=False)
    project(baseline_inputs, **lean)
    stochastic.run(scenario, draws=2, seed=1)

    def pairs():
        return [(_seconds(stochastic.run, scenario, draws=1000, seed=1),
                 min(_seconds(project, baseline_inputs, **lean) for _ in range(3))) for _ in range(3)]

    timed = benchmark.pedantic(pairs, rounds=1, iterations=1)
    ratios = sorted(full / population for full, population in timed)
    per_draw_ms = min(full for full, _ in timed)  # 1000 draws: seconds = ms per draw
    benchmark.extra_info.update({"pairs_s": timed, "ratios": ratios, "ms_per_draw": per_draw_ms})
    print("\nfull model / lean population kernel, 1000 draws: "
          + ", ".join(f"{f:.2f} s / {p:.3f} s = {f / p:.1f}x" for f, p in timed) + f"; median {ratios[1]:.1f}x"
          + f"; {per_draw_ms:.2f} ms per draw, so 100,000 draws {per_draw_ms * 100 / 60:.1f} min (issue #18: < 3)")


def test_numba_against_numpy_reference(benchmark):
    """100 draws through every stage: the kernels, then their numpy references (in pairs);
    goal: the numba path at least 10x faster."""
    benchmark.group = "100 draws: numpy reference / numba"
    scenario = ssp.load_scenario("baseline")
    for engine in ("numba", "numpy"):
        stochastic.run(scenario, draws=2, seed=1, engine=engine)

    def pairs():
        return [(_seconds(stochastic.run, scenario, draws=100, seed=1, engine="numpy"),
                 min(_seconds(stochastic.run, scenario, draws=100, seed=1) for _ in range(2))) for _ in range(2)]

    timed = benchmark.pedantic(pairs, rounds=1, iterations=1)
    ratios = sorted(reference / kernels for reference, kernels in timed)
    benchmark.extra_info.update({"pairs_s": timed, "speedups": ratios})
    print("\nnumpy reference / numba, 100 draws: "
          + ", ".join(f"{r:.2f} s / {k:.3f} s = {r / k:.1f}x" for r, k in timed))


_PROBE = """
import json, resource, time
began = time.perf_counter()
import socsec_proj as ssp
imported = time.perf_counter()
if {draws}:
    ssp.run("baseline", draws={draws}, seed=1)
else:
    ssp.run("baseline")
done = time.perf_counter()
print(json.dumps({{"import_s": imported - began, "first_run_s": done - imported,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def _probe(draws):
    done = subprocess.run([sys.executable, "-c", _PROBE.format(draws=draws)], capture_output=True, text=True,
                          check=True, timeout=900)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("draws", [100, 1000])
def test_stage_shares_of_a_chunk(benchmark, draws):
    """Where a stochastic run's time goes: each stage's share of ``draws`` draws (chunks of
    :data:`~socsec_proj.stochastic.CHUNK_SIZE`), and of ``kept``, timed around each call."""
    benchmark.group = f"stochastic draws, {draws}, time by stage"
    from socsec_proj import projection

    scenario = ssp.load_scenario("baseline")
    stochastic.run(scenario, draws=2, seed=1)
    spent = {}

    def timed(function, name):
        def call(*args, **kwargs):
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name] = spent.get(name, 0.0) + time.perf_counter() - began
        return call

    stages = projection.STAGES
    original_kept = stochastic.kept
    try:
        projection.STAGES = tuple(timed(stage, stage.__name__) for stage in stages)
        stochastic.kept = timed(original_kept, "kept")
        benchmark.pedantic(stochastic.run, args=(scenario,), kwargs=dict(draws=draws, seed=1), rounds=1, iterations=1)
    finally:
        projection.STAGES, stochastic.kept = stages, original_kept
    benchmark.extra_info.update({name: seconds / draws * 1e3 for name, seconds in spent.items()})
    print(f"\n{draws} draws, ms per draw: " + ", ".join(f"{name} {seconds / draws * 1e3:.2f}"
                                                       for name, seconds in spent.items()))


def test_fresh_process_peak_memory_and_bytes_per_draw(benchmark):
    """Peak resident memory of a new process running the deterministic baseline, 100 and 1000
    draws; the growth from 100 to 1000 draws per draw is what each draw costs (the kept
    totals), the rest is one chunk's cubes and the deterministic run."""
    benchmark.group = "fresh process, peak memory"
    _probe(2)  # fills the numba cache if it was cold

    def probes():
        return {draws: _probe(draws) for draws in (0, 100, 1000)}

    figures = benchmark.pedantic(probes, rounds=1, iterations=1)
    per_draw = (figures[1000]["peak_rss_mb"] - figures[100]["peak_rss_mb"]) * 2**20 / 900
    benchmark.extra_info.update({"figures": figures, "bytes_per_draw": per_draw})
    print(f"\nfresh process: {figures}; {per_draw / 1e6:.2f} MB per draw beyond 100")
    assert figures[1000]["peak_rss_mb"] > 0

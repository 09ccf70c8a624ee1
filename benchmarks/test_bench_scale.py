"""Scale (issue #18): summary-only runs, a LocalCluster, ``summarize``, the command line, a cold start.

Each figure comes from a subprocess, so that nothing else in this process counts (peak memory
above all). The draw counts can be set from the environment, since 100,000 full-model draws
take about an hour of CPU on the 2 cores these figures were measured on:

- ``SOCSEC_BENCH_SUMMARY_DRAWS`` (default 10,000): a real summary-only run;
- ``SOCSEC_BENCH_REDUCTION_DRAWS`` (default 100,000): the summary path at full size, with each
  chunk's compute replaced by a copy of one real chunk scaled per draw — the reduction's own
  time and the peak memory of a summary-only run, without the compute;
- ``SOCSEC_BENCH_CLUSTER_DRAWS`` (default 1,000): the same summary on a ``LocalCluster`` of
  2 worker processes x 1 thread, checked equal to the in-process run, time per draw per core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest

QUANTILES = (0.01, 0.05, 0.5, 0.95, 0.995)

_SUMMARY = """
import json, resource, sys, time
import numpy as np
import socsec_proj as ssp
from socsec_proj import stochastic
draws, synthetic = int(sys.argv[1]), sys.argv[2] == "synthetic"
ssp.run("baseline", draws=2, seed=1, summary=(0.5,))  # warm
if synthetic:
    real = stochastic.simulate_chunk(ssp.load_scenario("baseline"), 1, 0, stochastic.SUMMARY_CHUNK_SIZE)

    def copies(scenario, seed, start, stop, keep=(), engine="numba", **_):  # (setup=, copy=)
        factor = 1 + 0.01 * np.random.default_rng(start).standard_normal((stop - start, 1, 1))
        out = {k: v[: stop - start] * (factor if v.ndim == 3 else factor[:, 0])
               for k, v in real.items() if k != "coords"}
        out["coords"] = real["coords"]
        return out

    stochastic.simulate_chunk = copies
began, cpu = time.perf_counter(), time.process_time()
summary = ssp.run("baseline", draws=draws, seed=1, summary=QUANTILES_)
print(json.dumps({"draws": draws, "seconds": time.perf_counter() - began, "cpu_seconds": time.process_time() - cpu,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
""".replace("QUANTILES_", repr(QUANTILES))


def _json(args, timeout=7200, env=None):
    done = subprocess.run([sys.executable, *args], capture_output=True, text=True, check=True, timeout=timeout,
                          env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("kind, variable, default", [("real", "SOCSEC_BENCH_SUMMARY_DRAWS", 10_000),
                                                    ("synthetic", "SOCSEC_BENCH_REDUCTION_DRAWS", 100_000)])
def test_summary_only_run(benchmark, kind, variable, default):
    """A summary-only run: real (default 10,000 draws), or at 100,000 draws with the compute replaced
    by scaled copies of one real chunk (the store, sums, depletion years and exact quantiles at
    full size: the reduction's own time and the peak memory). Time, CPU, peak resident memory."""
    benchmark.group = "summary-only stochastic run"
    draws = int(os.environ.get(variable, default))
    figures = benchmark.pedantic(_json, args=(["-c", _SUMMARY, str(draws), kind],), rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print(f"\nsummary-only ({kind}), {draws:,} draws: {figures}; {1e3 * figures['seconds'] / draws:.2f} ms per draw")
    assert figures["peak_rss_mb"] < 4096


_CLUSTER = """
import json, sys, time
import numpy as np
import distributed
import socsec_proj as ssp
from socsec_proj import stochastic
draws = int(sys.argv[1])
here = stochastic.run("baseline", draws=draws, seed=1, summary=QUANTILES_, chunk_size=16)
with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \\
        distributed.Client(cluster) as client:
    # every worker imports the package and loads the kernels first (4 chunks: both workers get some)
    stochastic.run("baseline", draws=64, seed=1, summary=(0.5,), client=client, chunk_size=16)
    began = time.perf_counter()
    there = stochastic.run("baseline", draws=draws, seed=1, summary=QUANTILES_, client=client, chunk_size=16)
    seconds = time.perf_counter() - began
equal = all(np.array_equal(here[n].values, there[n].values, equal_nan=True) for n in here.data_vars)
print(json.dumps({"draws": draws, "seconds": seconds, "ms_per_draw_per_core": 1e3 * seconds * 2 / draws,
                  "equal_to_in_process": equal}))
""".replace("QUANTILES_", repr(QUANTILES))


def test_local_cluster_summary(benchmark):
    """A summary-only run on a LocalCluster (2 processes x 1 thread): equal to in-process, time per draw per core."""
    pytest.importorskip("distributed")
    benchmark.group = "LocalCluster"
    draws = int(os.environ.get("SOCSEC_BENCH_CLUSTER_DRAWS", 1_000))
    figures = benchmark.pedantic(_json, args=(["-c", _CLUSTER, str(draws)],), rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print(f"\nLocalCluster, {draws:,} draws: {figures}")
    assert figures["equal_to_in_process"]


@pytest.mark.parametrize("draws", [1_000, 10_000])
def test_summarize(benchmark, draws):
    """``summarize`` of a stochastic run's shape (29 variables x 31 provinces x 81 years, NaN
    before 2024 in the funds as in real runs, float64 as a run keeps them): the numba kernel
    over cells, exact (equal to its sort-based numpy reference, checked here)."""
    import xarray as xr

    import socsec_proj as ssp
    from socsec_proj.variables import SCHEMES

    benchmark.group = "summarize"
    rng = np.random.default_rng(0)
    names = ["population_total", "a", "b", "c", "d"] + [f"{s}_{q}" for s in SCHEMES
                                                          for q in ("revenue", "expenditure", "balance", "months")]
    variables = {}
    for name in names:
        values = rng.standard_normal((draws, 31, 81))
        if name != "population_total":
            values[:, :, :4] = np.nan
        variables[name] = (("draw", "province", "year"), values)
    ds = xr.Dataset(variables, coords={"year": np.arange(2020, 2101)})
    quantiles = (0.05, 0.25, 0.5, 0.75, 0.95)
    out = benchmark.pedantic(ssp.summarize, args=(ds, quantiles), rounds=3, iterations=1)
    assert out.sizes["quantile"] == 5
    reference = ssp.summarize(ds, quantiles, engine="numpy")
    assert all(np.array_equal(out[name].values, reference[name].values, equal_nan=True) for name in out.data_vars)


def _seconds(args, env=None):
    began = time.perf_counter()
    subprocess.run(args, capture_output=True, check=True, timeout=900, env=env)
    return time.perf_counter() - began


def _timed(args) -> dict:
    """Wall seconds and the CPU seconds (user, system) of one command and every process it
    started (the chart process of ``run`` too), with the load average before it."""
    import resource

    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    seconds = _seconds(args)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"seconds": seconds, "user_seconds": after.ru_utime - before.ru_utime,
            "system_seconds": after.ru_stime - before.ru_stime, "load_average": load}


@pytest.mark.parametrize("charts", ["drawn", "kept"])
@pytest.mark.parametrize("draws", [None, 1000])
def test_cli_run_baseline(benchmark, tmp_path, monkeypatch, draws, charts):
    """``socsec-proj run baseline`` in a new process, warm numba cache (and with ``--draws 1000``):
    wall and CPU seconds (user and system, the chart process included) of 3 runs, each with the
    load average before it. On a shared machine the CPU figures are the steadier ones.
    ``charts="drawn"``: every chart drawn (``SOCSEC_PROJ_CHART_CACHE=0``, as after a change to
    every fund); ``"kept"``: the same run again, its charts copied from the chart cache."""
    benchmark.group = "command line"
    monkeypatch.setenv("SOCSEC_PROJ_CHART_CACHE", "0" if charts == "drawn" else str(tmp_path / "chart-cache"))
    args = [sys.executable, "-m", "socsec_proj", "run", "baseline", "--out", str(tmp_path)]
    args += ["--draws", str(draws)] if draws else []
    _seconds(args)  # warm
    runs = benchmark.pedantic(lambda: [_timed(args) for _ in range(3)], rounds=1, iterations=1)
    benchmark.extra_info.update({"runs": runs})
    print(f"\nsocsec-proj run baseline{f' --draws {draws}' if draws else ''}, charts {charts}: "
          + ", ".join(f"{run['seconds']:.2f} s wall ({run['user_seconds']:.2f} s user, "
                      f"{run['system_seconds']:.2f} s system; load {run['load_average']:.1f})" for run in runs))


_WRITING = """
import json, resource, sys, time
from socsec_proj import cli
spent = {}
write = cli._write_scenario


def timed(*args, **kwargs):
    began, cpu = time.perf_counter(), time.process_time()
    try:
        return write(*args, **kwargs)
    finally:
        spent.update(seconds=time.perf_counter() - began, cpu_seconds=time.process_time() - cpu)


cli._write_scenario = timed
began = time.perf_counter()
assert cli.main(sys.argv[1:]) == 0
print(json.dumps({"writing_seconds": spent["seconds"], "writing_cpu_seconds": spent["cpu_seconds"],
                  "run_seconds": time.perf_counter() - began,
                  "chart_process_cpu_seconds": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime}))
"""


@pytest.mark.parametrize("draws", [None, 1000])
def test_cli_run_baseline_writing(benchmark, tmp_path, draws):
    """What ``run baseline`` spends writing once the projections (and draws) are done
    (``cli._write_scenario``: NetCDF, CSV, quantiles, workbook, page, summary, and waiting for
    the charts the second process draws meanwhile): wall and this process's CPU seconds (the
    NetCDF thread included), 3 runs."""
    benchmark.group = "command line: writing"
    args = ["-c", _WRITING, "run", "baseline", "--out", str(tmp_path)] + (["--draws", str(draws)] if draws else [])
    _json(args)  # warm
    runs = benchmark.pedantic(lambda: [dict(load_average=os.getloadavg()[0], **_json(args)) for _ in range(3)],
                              rounds=1, iterations=1)
    benchmark.extra_info.update({"runs": runs})
    print(f"\nwriting of run baseline{f' --draws {draws}' if draws else ''}: "
          + ", ".join(f"{run['writing_seconds']:.2f} s wall ({run['writing_cpu_seconds']:.2f} s CPU; "
                      f"load {run['load_average']:.1f})" for run in runs))


_COLD = """
import json, time
from numba.core import event
began = time.perf_counter()
import socsec_proj as ssp
from socsec_proj import _accelerate  # noqa: F401  (numba imported)
imported, cpu = time.perf_counter(), time.process_time()


class Compiles(event.Listener):
    # each dispatcher's compile: wall and CPU seconds, inclusive of what it pulls in and exclusive
    def __init__(self):
        self.stack, self.costs = [], {}

    def on_start(self, happened):
        self.stack.append([time.perf_counter(), time.thread_time(), 0.0, 0.0])

    def on_end(self, happened):
        function = happened.data["dispatcher"].py_func
        key = f"{function.__module__}.{function.__qualname__}"
        wall0, cpu0, inner_wall, inner_cpu = self.stack.pop()
        wall, cpu = time.perf_counter() - wall0, time.thread_time() - cpu0
        if self.stack:
            self.stack[-1][2] += wall
            self.stack[-1][3] += cpu
        cost = self.costs.setdefault(key, [0, 0.0, 0.0, 0.0])
        cost[0] += 1
        cost[1] += wall
        cost[2] += cpu
        cost[3] += cpu - inner_cpu


compiles = Compiles()
with event.install_listener("numba:compile", compiles):
    ssp.run("baseline")
first, first_cpu = time.perf_counter(), time.process_time()
costs = sorted(compiles.costs.items(), key=lambda kv: -kv[1][3])
print(json.dumps({"import_s": imported - began, "first_run_s": first - imported, "first_run_cpu_s": first_cpu - cpu,
                  "compile_cpu_s": sum(c[3] for _, c in costs),
                  "compile": {k: {"signatures": n, "wall_s": round(w, 2), "cpu_s": round(c, 2),
                                  "own_cpu_s": round(o, 2)} for k, (n, w, c, o) in costs}}))
"""


def test_cold_first_run(benchmark):
    """The first run with an empty numba cache: import, the run that compiles (wall and CPU), each
    function numba compiled: how many signatures, wall and CPU seconds with what it pulls in, and its
    own CPU seconds (without the functions it compiled on the way). CPU is the steadier figure on a
    shared machine: the compile runs on one thread."""
    benchmark.group = "cold start"
    env = dict(os.environ, NUMBA_CACHE_DIR=tempfile.mkdtemp(prefix="socsec-cold-"))
    figures = benchmark.pedantic(_json, args=(["-c", _COLD],), kwargs={"env": env}, rounds=1, iterations=1)
    benchmark.extra_info.update(figures)
    print(f"\ncold first run: {json.dumps(figures, indent=1)}")

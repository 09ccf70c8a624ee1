"""What the two medical-insurance stages add to a run (issue #19: under 20 %), pytest-benchmark.

The deterministic baseline and 1000 stochastic draws, each with every stage and without the
last two (``project_employee_medical``, ``project_resident_medical``), timed in pairs one after
the other so both see the same machine.
"""

from __future__ import annotations

import time

import pytest

import socsec_proj as ssp
from socsec_proj import projection, stochastic

ALL_STAGES = projection.STAGES
WITHOUT_MEDICAL = ALL_STAGES[:-2]


def _best(function, rounds):
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return min(times)


@pytest.mark.parametrize("stages", ["all", "without_medical"])
def test_deterministic_run(benchmark, stages):
    benchmark.group = "deterministic baseline: with and without the medical stages"
    scenario = ssp.load_scenario("baseline")
    chosen = ALL_STAGES if stages == "all" else WITHOUT_MEDICAL
    ssp.run(scenario, stages=chosen)
    ds = benchmark.pedantic(ssp.run, args=(scenario,), kwargs=dict(stages=chosen), rounds=10, iterations=1)
    assert ("employee_medical_balance" in ds) == (stages == "all")


def test_medical_share_of_the_deterministic_run(benchmark):
    """Interleaved pairs, best of 8 each: the medical stages' share of a deterministic run."""
    benchmark.group = "medical stages, share"
    scenario = ssp.load_scenario("baseline")
    ssp.run(scenario)

    def pair():
        return (_best(lambda: ssp.run(scenario), 1), _best(lambda: ssp.run(scenario, stages=WITHOUT_MEDICAL), 1))

    pairs = benchmark.pedantic(lambda: [pair() for _ in range(8)], rounds=1, iterations=1)
    share = min(a for a, _ in pairs) / min(b for _, b in pairs) - 1.0
    benchmark.extra_info["added"] = share
    assert share < 0.5   # the goal is 0.2; a loaded machine scatters single runs more


def test_medical_share_of_1000_draws(benchmark, monkeypatch):
    """1000 draws with and without the medical stages (``stochastic.project_draws`` reads
    ``projection.STAGES`` when it runs), best of two each."""
    benchmark.group = "medical stages, share"
    scenario = ssp.load_scenario("baseline")
    stochastic.run(scenario, draws=2, seed=1)

    def share():
        full = _best(lambda: stochastic.run(scenario, draws=1000, seed=1), 2)
        monkeypatch.setattr(projection, "STAGES", WITHOUT_MEDICAL)
        try:
            lean = _best(lambda: stochastic.run(scenario, draws=1000, seed=1), 2)
        finally:
            monkeypatch.setattr(projection, "STAGES", ALL_STAGES)
        return full / lean - 1.0

    added = benchmark.pedantic(share, rounds=1, iterations=1)
    benchmark.extra_info["added"] = added
    assert added < 0.5

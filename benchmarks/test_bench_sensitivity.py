"""Speed of the one-at-a-time sensitivity (issue #14: about ten assumptions in under a minute
warm on 2 cores): the library call, and the whole command in a fresh process."""

from __future__ import annotations

import subprocess
import sys
import time

import socsec_proj as ssp
from socsec_proj.sensitivity import MAIN_ASSUMPTIONS


def test_sensitivity_baseline_warm(benchmark):
    """``ssp.sensitivity("baseline")``: 11 assumptions, 23 projections, in this (warm) process."""
    benchmark.group = "sensitivity of the baseline"
    ssp.run("baseline")  # compile / warm
    table = benchmark.pedantic(ssp.sensitivity, args=("baseline",), rounds=3, iterations=1)
    assert len(table) == 2 * len(MAIN_ASSUMPTIONS)


def test_sensitivity_command(benchmark, tmp_path):
    """``socsec-proj sensitivity baseline --out DIR``: import, 23 projections, CSV and tornado chart,
    a new process with the numba cache on disk."""
    benchmark.group = "sensitivity of the baseline"

    def command():
        began = time.perf_counter()
        subprocess.run([sys.executable, "-m", "socsec_proj.cli", "sensitivity", "baseline", "--out",
                        str(tmp_path)], check=True, capture_output=True, timeout=600)
        return time.perf_counter() - began

    command()  # fills the numba cache if it was cold
    seconds = benchmark.pedantic(command, rounds=3, iterations=1)
    assert seconds < 60, "issue #14: under a minute warm on 2 cores"
    assert (tmp_path / "sensitivity_baseline" / "tornado.png").is_file()

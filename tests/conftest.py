"""Shared fixtures: one baseline projection per test session (it takes ~0.1 s warm, 1 s cold)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# Charts drawn by every test, not taken from the per-user chart cache (its own tests give it a folder)
os.environ.setdefault("SOCSEC_PROJ_CHART_CACHE", "0")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture
def params_copy(tmp_path, monkeypatch):
    """A private copy of params/ that a test may spoil; the library reads it instead of the real one."""
    import shutil

    from socsec_proj.inputs import paths

    copy = tmp_path / "params"
    shutil.copytree(paths.params_dir(), copy)
    monkeypatch.setenv("SOCSEC_PROJ_PARAMS", str(copy))
    yield copy


@pytest.fixture(scope="session")
def baseline():
    import socsec_proj as ssp

    return ssp.run("baseline")


@pytest.fixture(scope="session", autouse=True)
def compiled_kernels(baseline):
    """Every test runs with numba's cache filled for this checkout (the session's baseline
    compiles what it lacks first), so a command's output never carries the first run's
    "compiling" notice unless a test asks for it with a cache of its own. CI installs the
    package twice (the README's two commands): the editable checkout's kernels are compiled here."""
    return baseline

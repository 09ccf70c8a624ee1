"""The committed tables in params/ are exactly what the build script makes from ../shared/data."""

from __future__ import annotations

import importlib.util

import pandas as pd
import pytest

from .conftest import REPO, SHARED

pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not beside this checkout")


def _load_build():
    spec = importlib.util.spec_from_file_location("build_demography", REPO / "params/build/build_demography.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rebuild_matches_committed_tables(tmp_path):
    _load_build().build(SHARED, tmp_path)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == 7
    for relative in written:
        committed = REPO / "params" / relative
        assert committed.is_file(), f"{relative} is built but not committed"
        if relative.suffix == ".csv":
            new, old = pd.read_csv(tmp_path / relative, comment="#"), pd.read_csv(committed, comment="#")
            pd.testing.assert_frame_equal(new, old, rtol=1e-9, check_exact=False, obj=str(relative))
            header = [line for line in committed.read_text().splitlines() if line.startswith("#")]
            assert header == [line for line in (tmp_path / relative).read_text().splitlines() if line.startswith("#")]
        else:
            assert (tmp_path / relative).read_text() == committed.read_text(), relative

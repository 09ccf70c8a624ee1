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
    checks = _load_build().build(SHARED, tmp_path / "params", scenarios=tmp_path / "scenarios")
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert len(written) == 13
    for relative in written:
        committed = REPO / relative
        assert committed.is_file(), f"{relative} is built but not committed"
        if relative.suffix == ".csv":
            new, old = pd.read_csv(tmp_path / relative, comment="#"), pd.read_csv(committed, comment="#")
            pd.testing.assert_frame_equal(new, old, rtol=1e-9, check_exact=False, obj=str(relative))
            header = [line for line in committed.read_text().splitlines() if line.startswith("#")]
            assert header == [line for line in (tmp_path / relative).read_text().splitlines() if line.startswith("#")]
        else:
            assert (tmp_path / relative).read_text() == committed.read_text(), relative
    # the census TFR of 2020 recomputed from tables 6-1, 6-2 and 1-5 (the shared DERIVED file: 1.288)
    assert checks["census_tfr"] == pytest.approx(1.288, abs=0.005)
    # inter-provincial net flows add to zero; Guangdong gains most, Heilongjiang loses most (2010-2020)
    net = checks["internal_net"]
    assert abs(sum(net.values())) < 1e-3
    assert max(net, key=net.get) == "CN-GD" and min(net, key=net.get) == "CN-HL"


def test_rebuild_stochastic_tables(tmp_path):
    spec = importlib.util.spec_from_file_location("build_stochastic", REPO / "params/build/build_stochastic.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    figures = module.build(SHARED, tmp_path)
    assert figures["wage_growth_sd"] == pytest.approx(0.0256, abs=5e-4)
    written = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    assert [str(p) for p in written] == ["parameters/stochastic/return_sd.yaml",
                                         "parameters/stochastic/wage_growth_sd.yaml",
                                         "stochastic/demographic_uncertainty.csv"]
    for relative in written:
        committed = REPO / "params" / relative
        if relative.suffix == ".csv":
            pd.testing.assert_frame_equal(pd.read_csv(tmp_path / relative, comment="#"),
                                          pd.read_csv(committed, comment="#"), rtol=1e-9, check_exact=False)
        else:
            assert (tmp_path / relative).read_text() == committed.read_text()

"""``socsec-proj run --draws N [--summary-only]``: the compact draws file, the summary-only files,
and the refusals of the draw options, before anything runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import socsec_proj as ssp
from socsec_proj import cli


def test_summary_only_writes_the_summary_and_no_draws(tmp_path):
    out = tmp_path / "results"
    assert cli.main(["run", "baseline", "--end", "2040", "--draws", "12", "--seed", "2", "--summary-only",
                     "--out", str(out)]) == 0
    folder = out / "baseline"
    assert not (folder / "draws.nc").exists()
    with xr.open_dataset(folder / "draws_summary.nc") as summary:
        expected = ssp.run(ssp.load_scenario("baseline").model_copy(update={"horizon": 2040}), draws=12, seed=2,
                           summary=cli.SUMMARY_QUANTILES)
        np.testing.assert_array_equal(summary["employee_pension_balance"].values,
                                      expected["employee_pension_balance"].values)
    table = pd.read_csv(folder / "employee_pension_draws_quantiles.csv")
    assert set(table["quantile"]) == set(cli.SUMMARY_QUANTILES) and table["year"].max() == 2040
    probability = pd.read_csv(folder / "employee_pension_depletion_probability.csv")
    assert list(probability.columns) == ["year", "employee_pension_national_depletion_probability"]
    assert probability.iloc[:, 1].between(0, 1).all()


def test_draws_are_written_as_float32_without_what_is_worked_out_from_them(tmp_path):
    from socsec_proj.stochastic import DERIVED

    out = tmp_path / "results"
    assert cli.main(["run", "baseline", "--end", "2030", "--draws", "3", "--out", str(out)]) == 0
    whole = ssp.run(ssp.load_scenario("baseline").model_copy(update={"horizon": 2030}), draws=3)
    with xr.open_dataset(out / "baseline" / "draws.nc") as draws:
        assert {draws[name].dtype for name in draws.data_vars} == {np.dtype("float32")}
        np.testing.assert_allclose(draws["employee_pension_balance"].values,
                                   whole["employee_pension_balance"].values, rtol=1e-7)
        # months of reserve are each balance over a twelfth of its expenditure: not stored twice
        assert set(draws.data_vars) == set(whole.data_vars) - set(DERIVED) and len(DERIVED) == 6
    reread = ssp.open_draws(out / "baseline" / "draws.nc")
    assert set(reread.data_vars) == set(whole.data_vars)
    for name in DERIVED:
        assert reread[name].dims == whole[name].dims and reread[name].attrs["units"] == "months"
        np.testing.assert_allclose(reread[name].values, whole[name].values, rtol=1e-6, err_msg=name)


@pytest.mark.parametrize("args, message", [
    (["--summary-only"], "--summary-only without --draws"),
    (["--draws", "100000000", "--summary-only"], "draws summarised would need about"),
    (["--draws", "100000000"], "--summary-only, grows only as their square root"),
])
def test_draw_options_are_refused_before_anything_runs(tmp_path, capsys, monkeypatch, args, message):
    from socsec_proj import projection

    monkeypatch.setattr(projection, "run", lambda *a, **k: pytest.fail("computed before refusing"))
    assert cli.main(["run", "baseline", "--out", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]

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


def test_a_summary_only_run_reports_its_draws_as_a_run_keeping_them(tmp_path):
    """summary.md and report.html of ``--summary-only`` hold the depletion years over the draws
    (the same table as of the draws kept whole: each draw's years are kept as it is reduced), and
    the fan charts (China's total, 1 % to 99.5 %) and depletion-year histograms are drawn."""
    from socsec_proj.report.summary import draws_depletion

    out = tmp_path / "results"
    assert cli.main(["run", "baseline", "--end", "2040", "--draws", "12", "--seed", "2", "--summary-only",
                     "--lang", "en", "--out", str(out)]) == 0
    folder = out / "baseline"
    for scheme in ("employee_pension", "injury"):
        for chart in (f"{scheme}_fan.png", f"{scheme}_depletion_years.png"):
            assert (folder / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", chart
    text = (folder / "summary.md").read_text(encoding="utf-8")
    assert "## Stochastic draws" in text and "12 stochastic draws (seed 2)" in text
    whole = ssp.run(ssp.load_scenario("baseline").model_copy(update={"horizon": 2040}), draws=12, seed=2)
    table = draws_depletion(whole)
    for scheme, row in table.iterrows():
        assert f"| {scheme} | " + " | ".join(row.tolist()) + " |" in text, scheme
    assert "![Work-injury insurance: fund balance across draws](injury_fan.png)" in text
    section = (folder / "report.html").read_text(encoding="utf-8").split("Stochastic draws</span>", 1)[1]
    assert "12 draws of fertility" in section and section.count("<img src=\"data:image/png;base64,") >= 12


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


def test_the_command_line_keeps_its_draws_in_float32_and_its_quantiles_are_those_of_draws_nc(tmp_path):
    """``run --draws`` keeps the draws in float32 (``draw_dtype``): what draws.nc holds, so no
    float64 copy of every draw is made, and the quantile tables are those of the file."""
    out = tmp_path / "results"
    assert cli.main(["run", "baseline", "--end", "2030", "--draws", "5", "--seed", "3", "--out", str(out)]) == 0
    scenario = ssp.load_scenario("baseline").model_copy(update={"horizon": 2030})
    kept = ssp.run(scenario, draws=5, seed=3, draw_dtype="float32")
    assert {kept[name].dtype for name in kept.data_vars} == {np.dtype("float32")}
    whole = ssp.run(scenario, draws=5, seed=3)
    np.testing.assert_array_equal(kept["injury_balance"].values, whole["injury_balance"].values.astype(np.float32))
    with xr.open_dataset(out / "baseline" / "draws.nc") as draws:
        for name in draws.data_vars:
            np.testing.assert_array_equal(draws[name].values, kept[name].values, err_msg=name)
    table = pd.read_csv(out / "baseline" / "employee_pension_draws_quantiles.csv")
    expected = ssp.summarize(ssp.open_draws(out / "baseline" / "draws.nc"), quantiles=cli.DRAW_QUANTILES)
    expected = expected[["employee_pension_balance"]].to_dataframe().reset_index()
    # to the CSV's 10 significant digits (quantiles of the float64 draws differ by up to 1.6e-7)
    np.testing.assert_allclose(table["employee_pension_balance"].values, expected["employee_pension_balance"].values,
                               rtol=5e-10)


@pytest.mark.parametrize("kwargs, message", [({"draws": 2, "draw_dtype": "float16"}, "float64 .the default. or float32"),
                                             ({"draw_dtype": "float32"}, "without draws"),
                                             ({"draws": 2, "draw_dtype": "float32", "summary": [0.5]}, "with a summary")])
def test_a_draw_precision_other_than_float64_or_float32_is_refused_before_anything_runs(monkeypatch, kwargs, message):
    from socsec_proj import stochastic

    monkeypatch.setattr(stochastic, "simulate_chunk", lambda *a, **k: pytest.fail("computed before refusing"))
    with pytest.raises(ssp.InputError, match=message):
        ssp.run("baseline", **kwargs)
    if "draws" in kwargs:  # the stochastic run itself, not only through ssp.run (it had ignored it with a summary)
        with pytest.raises(ssp.InputError, match=message):
            stochastic.run("baseline", **kwargs)


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

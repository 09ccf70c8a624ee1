"""The command line, run as a user runs it: a subprocess, exit codes, files left behind.

The end-to-end runs are subprocesses (started once per module); the bad-input cases call
``cli.main`` in-process, which parses the same arguments and catches the same errors, because
they stop before anything is computed and a subprocess would cost ~1 s of imports each.
"""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import socsec_proj as ssp
from socsec_proj import cli, outputs
from socsec_proj.provenance import scenario_hash
from socsec_proj.report import SCHEMES


def socsec_proj(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "socsec_proj.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_run_baseline_writes_netcdf_and_csv(tmp_path, baseline):
    out = tmp_path / "results"
    done = socsec_proj("run", "baseline", "--out", out, "--provinces", "CN-GD,CN-HE", "--end", "2040")
    assert done.returncode == 0, done.stderr
    assert "baseline: 2 provinces, 2020-2040" in done.stdout
    ds = xr.open_dataset(out / "baseline" / "projection.nc")
    assert list(ds["province"].values) == ["CN-HE", "CN-GD"]  # national order, whatever the order asked
    np.testing.assert_allclose(ds["population"].sel(year=2040),
                               baseline["population"].sel(province=["CN-HE", "CN-GD"], year=2040), rtol=1e-12)
    assert ds["population"].attrs["units"] == "persons"
    table = pd.read_csv(out / "baseline" / "population.csv")
    assert {"province", "sex", "year", "population_total", "births", "deaths"} <= set(table.columns)
    gd_2020 = table.query("province == 'CN-GD' and year == 2020")["population_total"].sum()
    assert abs(gd_2020 - 126_012_510) < 1e3  # the census total, to the CSV's 6 significant digits
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging folder left


def test_bad_scenario_exits_2_and_writes_nothing(tmp_path):
    scenario = tmp_path / "typo.yaml"
    scenario.write_text("name: typo\ndescription: a misspelt parameter\nchanges:\n"
                        "  demography.total_fertility_rat:\n    2030-01-01: 1.6\n")
    out = tmp_path / "results"
    done = socsec_proj("run", scenario, "--out", out)
    assert done.returncode == 2
    assert "typo.yaml:4" in done.stderr and "demography.total_fertility_rate" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [scenario]


def test_unknown_province_exits_2(tmp_path):
    done = socsec_proj("run", "baseline", "--out", tmp_path / "r", "--provinces", "CN-GX,CN-GG")
    assert done.returncode == 2
    assert "CN-GG" in done.stderr and "Traceback" not in done.stderr


def test_list_validate_params(tmp_path):
    listed = socsec_proj("list")
    assert listed.returncode == 0 and "baseline" in listed.stdout
    shown = socsec_proj("params", "demography.total_fertility_rate")
    assert shown.returncode == 0
    assert "children/woman" in shown.stdout and "wpp2024_china_tfr_annual" in shown.stdout
    assert "2023-01-01: 1.08543" in shown.stdout  # set from NBS births (issue #12)
    valid = tmp_path / "ok.yaml"
    valid.write_text("name: ok\ndescription: fine\nchanges:\n  demography.total_fertility_rate:\n    2030-01-01: 1.6\n")
    assert socsec_proj("validate", valid).returncode == 0
    assert socsec_proj("params", "demography.nonexistent").returncode == 2


# --------------------------------------------------------------------------------------------
# run and compare, end to end (one subprocess each, shared by the tests that read their files)
# --------------------------------------------------------------------------------------------

SCENARIOS = ("baseline", "no_retirement_delay")


@pytest.fixture(scope="module")
def end_to_end(tmp_path_factory):
    """``run baseline no_retirement_delay --out results --progress`` and ``compare baseline
    no_retirement_delay --out results``, once for the module and at the same time into the
    same folder (two processes: the suite waits ~3 s instead of ~6 s, and neither may lose
    the other's results)."""
    commands = {"run": ("run", *SCENARIOS, "--out", "results", "--progress"),
                "compare": ("compare", *SCENARIOS, "--out", "results")}
    started = {}
    folder = tmp_path_factory.mktemp("end_to_end")
    for name, args in commands.items():
        started[name] = folder, subprocess.Popen([sys.executable, "-m", "socsec_proj.cli", *args], cwd=folder,
                                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = {}
    for name, (folder, process) in started.items():
        stdout, stderr = process.communicate(timeout=300)
        done[name] = folder, subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
    return done


@pytest.fixture(scope="module")
def two_runs(end_to_end):
    return end_to_end["run"]


@pytest.fixture(scope="module")
def comparison(end_to_end):
    return end_to_end["compare"]


def _expected_files(ds) -> set[str]:
    """What ``run`` must write for a projection: fixed files, then one CSV / chart per scheme present."""
    files = {"projection.nc", "population.csv", "summary.md", "population_pyramid.png", "contributors_vs_retirees.png",
             "report.html", "results.xlsx", outputs.MARKER}
    for scheme in SCHEMES:
        if any(str(name).startswith(f"{scheme}_") and {"province", "year"} <= set(ds[name].dims)
               for name in ds.data_vars):
            files.add(f"{scheme}.csv")
        for quantity in ("balance", "months_of_reserve"):
            if f"{scheme}_{quantity}" in ds:
                files.add(f"{scheme}_{quantity}.png")
    return files


def test_run_two_scenarios_writes_every_file(two_runs):
    folder, done = two_runs
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    results = folder / "results"
    # both concurrent commands' results, and no staging folder left
    assert sorted(p.name for p in results.iterdir()) == sorted([*SCENARIOS, outputs.LOCK_NAME,
                                                                "baseline_vs_no_retirement_delay"])
    assert [p.name for p in folder.iterdir()] == ["results"]
    for name in SCENARIOS:
        assert f"{name}: 31 provinces, 2020-2100" in done.stdout
        ds = xr.open_dataset(results / name / "projection.nc")
        assert ds.attrs["scenario"] == name
        written = {p.name for p in (results / name).iterdir()}
        assert written == _expected_files(ds), name
        for file in written - {outputs.MARKER}:
            assert (results / name / file).stat().st_size > 1000, file
        employee = pd.read_csv(results / name / "employee_pension.csv")
        assert list(employee.columns[:2]) == ["province", "year"]
        assert len(employee) == 31 * ds.sizes["year"]
        expected = float(ds["employee_pension_contributors"].sel(province="CN-GD", year=2035).sum())
        got = employee.query("province == 'CN-GD' and year == 2035")["employee_pension_contributors"].item()
        assert got == pytest.approx(expected, rel=1e-9)
        summary = (results / name / "summary.md").read_text(encoding="utf-8")
        assert f"scenario `{name}`" in summary and "## Headline figures" in summary
        # provenance in the NetCDF's attributes and the summary: version, scenario content hash, date
        assert ds.attrs["socsec_proj_version"] == ssp.__version__
        assert ds.attrs["scenario_hash"] == scenario_hash(ssp.load_scenario(name))
        assert ds.attrs["created"][:10] in summary and ds.attrs["scenario_hash"] in summary
        page = (results / name / "report.html").read_text(encoding="utf-8")
        assert ds.attrs["scenario_hash"] in page and "data:image/png;base64," in page
        # only a baseline run sets its depletion year beside the low-cost and high-cost sets' (issue #14)
        assert ("## Three assumption sets" in summary) == (name == "baseline")
        for link in (line.split("](")[1].rstrip(")") for line in summary.splitlines() if "](" in line):
            assert (results / name / link).is_file(), link  # every chart the summary links to exists
    # the delay removed: fewer insured workers and more pensioners in 2035
    base, other = (pd.read_csv(results / name / "employee_pension.csv").query("year == 2035") for name in SCENARIOS)
    assert other["employee_pension_contributors"].sum() < base["employee_pension_contributors"].sum()
    assert other["employee_pension_retirees"].sum() > base["employee_pension_retirees"].sum()
    assert "100%" in done.stderr  # --progress: the bar, on a run that takes more than a second


def test_compare_writes_differences_charts_and_markdown(comparison):
    folder, done = comparison
    assert done.returncode == 0, done.stderr
    out = folder / "results" / "baseline_vs_no_retirement_delay"  # compare, like run, writes one folder in --out
    assert [p.name for p in folder.iterdir()] == ["results"]
    files = {p.name for p in out.iterdir()}
    assert {"differences.csv", "comparison.md", "report.html", "compare_employee_pension_contributors.png",
            "compare_employee_pension_retirees.png", "compare_system_dependency_ratio.png"} <= files
    table = pd.read_csv(out / "differences.csv")
    assert list(table.columns[:2]) == ["province", "year"]
    assert {"employee_pension_contributors", "employee_pension_retirees"} <= set(table.columns)
    fund = [c for c in table.columns if c.rsplit("_", 1)[-1] in ("revenue", "expenditure", "balance")]
    for column in fund:  # every fund variable gets its chart when it is a balance or months
        if column.endswith("_balance"):
            assert f"compare_{column}.png" in files
    assert (table.query("year <= 2024")[["employee_pension_contributors", "employee_pension_retirees"]] == 0).all().all()
    in_2035 = table.query("year == 2035")
    assert in_2035["employee_pension_contributors"].sum() < 0 < in_2035["employee_pension_retirees"].sum()
    text = (out / "comparison.md").read_text(encoding="utf-8")
    assert "# Comparison: `no_retirement_delay` against `baseline`" in text
    assert text.count("Made by socsec_proj") == 2 and f"A (`baseline`): Made by socsec_proj {ssp.__version__}" in text
    assert scenario_hash(ssp.load_scenario("baseline")) in text  # the provenance of both
    for line in text.splitlines():
        if "](" in line:
            assert (out / line.split("](")[1].rstrip(")")).is_file()


# --------------------------------------------------------------------------------------------
# Bad input through the command line: exit 2, file + line + key, no traceback, nothing written
# --------------------------------------------------------------------------------------------

TFR = "demography.total_fertility_rate"
BAD_INPUTS = {
    # name: ({file: text}, extra arguments, [what the message must say])
    "yaml_syntax": ({"broken.yaml": f"name: broken\ndescription: a bracket left open\nchanges:\n  {TFR}:\n"
                                    "    2030-01-01: [1.6\nhorizon: 2050\n"},
                    [], ["broken.yaml:6", "YAML syntax error", f"changes > {TFR} > 2030-01-01", "5 |"]),
    "unknown_parameter": ({"typo.yaml": "name: typo\nchanges:\n  demography.total_fertility_rat:\n"
                                        "    2030-01-01: 1.6\n"},
                          [], ["typo.yaml:3", "demography.total_fertility_rat:", f"did you mean '{TFR}'"]),
    "out_of_range": ({"range.yaml": f"name: range\nchanges:\n  {TFR}:\n    2030-01-01: 25\n"},
                     [], ["range.yaml:4", TFR, "outside the range", "[0, 10]"]),
    "bad_date": ({"date.yaml": f"name: date\nchanges:\n  {TFR}:\n    2030-13-45: 1.6\n"},
                 [], ["date.yaml:4", TFR, "'2030-13-45' is not a date"]),
    "unknown_province_in_file": ({"prov.yaml": "name: prov\ndescription: a subset\nprovinces: [CN-GD, CN-XX]\n"},
                                 [], ["prov.yaml:3", "provinces:", "'CN-XX'", "did you mean CN-XZ"]),
    "unknown_province_option": ({}, ["--provinces", "CN-GD,CN-GG"],
                                ["command line", "--provinces", "'CN-GG'", "did you mean"]),
    "extends_cycle": ({"a.yaml": "name: a\nextends: b.yaml\n", "b.yaml": "name: b\nextends: a.yaml\n"},
                      [], ["b.yaml:2", "extends:", "extends cycle: a.yaml -> b.yaml -> a.yaml"]),
    "not_a_scenario": ({"tfr.yaml": "description: a parameter file\nmetadata:\n  unit: children/woman\n"
                                    "  label: TFR\n  reference: WPP\nvalues:\n  2020-01-01: 1.3\n"},
                       [], ["tfr.yaml:2", "metadata:", "not a scenario"]),
    "end_out_of_range": ({}, ["--end", "2300"], ["command line", "--end", "2300"]),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_exits_2_and_writes_nothing(case, tmp_path, capsys):
    files, extra, expected = BAD_INPUTS[case]
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    scenario = str(tmp_path / next(iter(files))) if files else "baseline"
    out = tmp_path / "nested" / "results"
    code = cli.main(["run", "baseline", scenario, "--out", str(out), *extra])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert err.startswith("socsec-proj: error: ")
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(files)  # nothing in --out, nor beside it


def test_compare_bad_input_exits_2_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "range.yaml").write_text(f"name: range\nchanges:\n  {TFR}:\n    2030-01-01: -1\n")
    code = cli.main(["compare", "baseline", str(tmp_path / "range.yaml"), "--out", str(tmp_path / "cmp")])
    err = capsys.readouterr().err
    assert code == 2 and "range.yaml:4" in err and TFR in err and "Traceback" not in err
    assert [p.name for p in tmp_path.iterdir()] == ["range.yaml"]
    assert cli.main(["compare", "baseline", "baseline", "--out", str(tmp_path / "cmp")]) == 2
    assert "both scenarios are named 'baseline'" in capsys.readouterr().err
    assert cli.main(["run", "baseline", "baseline", "--out", str(tmp_path / "r")]) == 2
    assert "two scenarios are named 'baseline'" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["range.yaml"]


def test_internal_error_leaves_nothing_behind(tmp_path):
    out = tmp_path / "new" / "deeper" / "results"
    with pytest.raises(RuntimeError), outputs.destination(out), outputs.staged(out, "baseline") as staging:
        (staging / "half-written.csv").write_text("x")
        raise RuntimeError("a stage failed")
    assert list(tmp_path.iterdir()) == []  # neither the staging folder nor the parents it made
    (out / "baseline").mkdir(parents=True)
    (out / "baseline" / outputs.MARKER).write_text("")
    (out / "baseline" / "old.csv").write_text("old")
    with outputs.destination(out), outputs.staged(out, "baseline") as staging:
        (staging / "new.csv").write_text("new")
    assert sorted(p.name for p in (out / "baseline").iterdir()) == [outputs.MARKER, "new.csv"]  # replaced whole
    assert sorted(p.name for p in out.iterdir()) == [outputs.LOCK_NAME, "baseline"]


# --------------------------------------------------------------------------------------------
# The progress bar
# --------------------------------------------------------------------------------------------


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_only_after_the_delay_and_only_when_enabled():
    stream = io.StringIO()
    with cli.progress_bar(4, enabled=True, stream=stream, delay=60.0) as bar:
        cli._step(bar, "quick step")
    assert stream.getvalue() == ""  # within the delay: nothing
    with cli.progress_bar(2, enabled=False, stream=stream, delay=0.0) as bar:
        cli._step(bar, "x")
    assert stream.getvalue() == ""  # disabled: nothing
    terminal = _Terminal()
    with cli.progress_bar(2, enabled=True, stream=terminal, delay=0.0) as bar:
        cli._step(bar, "first")
        cli._step(bar, "second")
    text = terminal.getvalue()
    assert text.startswith("\r[") and text.endswith("] 100%  second  (00:00)\n")  # redrawn in place


def _draw_labels(name, began, updates, stream=None):
    """The bar's label after each ``(time [s], done, total)`` of ``updates`` given to
    ``cli.draw_progress`` (its clock starting at ``began``), the bar drawn at every update."""
    clock = [began]
    labels = []
    with cli.progress_bar(4, enabled=True, stream=stream or _Terminal(), delay=0.0) as bar:
        bar.mininterval = 0.0
        update = cli.draw_progress(bar, name, clock=lambda: clock[0])
        for now, done, total in updates:
            clock[0] = now
            update(done, total)
            labels.append(bar.desc)
    return labels


def test_the_progress_bar_counts_the_draws_and_says_about_how_long_the_rest_takes():
    """A stochastic run's chunks move the bar's label: the draws in, and the time left at the
    rate since the first chunk came in (which carries the workers' start): 10,000 of 100,000
    draws in 10 s, 90 s left; a first chunk of 32 of 1,000 after 5 s, then 32 more in 0.5 s:
    15 s left, not the 80 s of the overall rate (and hours once it stalls). Nothing within the
    bar's delay, as for its steps."""
    terminal = _Terminal()
    assert _draw_labels("baseline", 100.0, [(110.0, 10_000, 100_000), (200.0, 100_000, 100_000)], terminal) == [
        "baseline: draws 10,000 of 100,000, about 90 s left", "baseline: draws 100,000 of 100,000"]
    assert "baseline: draws 10,000 of 100,000, about 90 s left" in terminal.getvalue()
    assert _draw_labels("s", 0.0, [(5.0, 32, 1_000), (5.5, 64, 1_000), (6_000.0, 96, 1_000)]) == [
        "s: draws 32 of 1,000, about 3 min left",  # the overall rate: 5 s x 968 / 32 = 151 s
        "s: draws 64 of 1,000, about 15 s left",  # 0.5 s x 936 / 32
        "s: draws 96 of 1,000, about 23 h 31 min left"]  # stalled: 5,995 s for 64 draws since the first
    quiet = _Terminal()
    with cli.progress_bar(4, enabled=True, stream=quiet, delay=60.0) as bar:
        cli.draw_progress(bar, "baseline")(32, 64)
    assert quiet.getvalue() == ""


def test_a_progress_bar_starts_no_thread_so_draws_may_still_run_in_worker_processes():
    # tqdm's monitor thread made _accelerate.fork_is_safe() false (another Python thread running)
    # for the rest of the command: a summary-only run from the shell computed its chunks on
    # threads instead of worker processes
    import threading

    before = threading.active_count()
    for enabled in (False, True):
        with cli.progress_bar(3, enabled=enabled, stream=io.StringIO(), delay=0.0) as bar:
            cli._step(bar, "a step")
            assert threading.active_count() == before
    assert [t.name for t in threading.enumerate() if "tqdm" in t.name] == []


def test_run_with_draws_writes_fans_and_depletion_histograms(tmp_path):
    from socsec_proj import cli

    out = tmp_path / "results"
    assert cli.main(["run", "guizhou_14th_plan", "--draws", "30", "--seed", "4", "--out", str(out)]) == 0
    folder = out / "guizhou_14th_plan"
    for name in ("draws.nc", "employee_pension_fan.png", "employee_pension_depletion_years.png",
                 "employee_pension_draws_quantiles.csv"):
        assert (folder / name).stat().st_size > 0, name
    import pandas as pd
    table = pd.read_csv(folder / "employee_pension_draws_quantiles.csv")
    assert set(table["quantile"]) == {0.05, 0.25, 0.5, 0.75, 0.95}
    assert set(table["province"]) == {"CN-GZ"}
    summary = (folder / "summary.md").read_text(encoding="utf-8")
    assert "## Stochastic draws" in summary and "| Urban-employee pension |" in summary
    assert "(employee_pension_depletion_years.png)" in summary  # the histogram is linked
    assert "![Urban-employee pension: fund balance across draws](employee_pension_fan.png)" in summary  # shown
    page = (folder / "report.html").read_text(encoding="utf-8")
    assert "Stochastic draws" in page and "30 draws" in page  # the depletion-year distribution in the report
    assert cli.main(["run", "baseline", "--draws", "0", "--out", str(tmp_path / "none")]) == 2
    assert not (tmp_path / "none").exists()


# --------------------------------------------------------------------------------------------
# Command-line arguments and the destination: refused before anything runs (in-process)
# --------------------------------------------------------------------------------------------

ARGUMENT_CASES = {
    # name: (arguments after "run", what the one line must say)
    "seed_negative": (["baseline", "--seed", "-3"], ["--seed", "-3", "0 to 2**64 - 1"]),
    "seed_too_large": (["baseline", "--seed", str(2**64)], ["--seed", "18446744073709551616"]),
    "seed_not_a_number": (["baseline", "--seed", "1e3"], ["argument --seed", "invalid int value"]),
    "draws_zero": (["baseline", "--draws", "0"], ["--draws", "at least 1"]),
    "draws_beyond_memory": (["baseline", "--draws", str(10**8)], ["--draws", "100,000,000 draws would need about",
                                                                 "GiB of memory", "draws fit"]),
    "control_character": (["base\x1b[2Jline"], ["SCENARIO", "control character U+001B at position 4"]),
    "nul_byte": (["baseline", "--provinces", "CN-GD\x00"], ["--provinces", "control character U+0000"]),
    "not_utf8": (["baseline", "--provinces", "CN-GD\udcff"], ["--provinces", "not valid UTF-8", "byte 0xff"]),
    "lone_surrogate": (["baseline\ud800"], ["SCENARIO", "lone surrogate U+D800"]),
    "long_name": (["x" * 300 + ".yaml"], ["SCENARIO", "is 305 bytes long", "at most 255 bytes"]),
    "long_shipped_name": (["x" * 252], ["SCENARIO", "is 257 bytes long"]),
    "chart_end_beyond_the_projection": (["baseline", "--end", "2050", "--chart-end", "2060"],
                                        ["command line", "--chart-end", "2060 is outside the years projected",
                                         "a year in 2021..2050"]),
    "chart_end_before_the_start": (["baseline", "--start", "2030", "--chart-end", "2025"],
                                   ["--chart-end", "2025 is outside", "a year in 2031..2100"]),
    "province_name_misspelt": (["baseline", "--provinces", "Guangdong,Hubie"],
                               ["--provinces", "'Hubie'", "did you mean Hubei (CN-HB)?"]),
}


@pytest.mark.parametrize("case", sorted(ARGUMENT_CASES))
def test_bad_argument_exits_2_with_one_line_before_anything_runs(case, tmp_path, capsys, monkeypatch):
    arguments, expected = ARGUMENT_CASES[case]
    monkeypatch.setattr("socsec_proj.projection.run", lambda *a, **k: pytest.fail("computed before refusing"))
    code = cli.main(["run", *arguments, "--out", str(tmp_path / "results")])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("socsec-proj: error: ") and err.count("\n") == 1, err  # one line, no traceback
    for text in expected:
        assert text in err, f"{text!r} not in {err!r}"
    assert "\x1b" not in err and "\x00" not in err  # never echoed raw to the terminal
    assert list(tmp_path.iterdir()) == []


def test_bad_destination_exits_2_and_touches_nothing(tmp_path, capsys):
    (tmp_path / "summary.md").write_text("a user's file")
    (tmp_path / "results" / "baseline").mkdir(parents=True)  # a folder socsec-proj did not write
    (tmp_path / "results" / "baseline" / "mine.txt").write_text("mine")
    cases = {str(tmp_path / "summary.md"): "summary.md is a file", str(tmp_path / "summary.md" / "x"): "which is a file",
             str(tmp_path / "results"): "was not written by socsec-proj", "x" * 256: "is 256 bytes long"}
    for out, expected in cases.items():
        for command in (["run", "baseline"], ["compare", "baseline", "no_retirement_delay"]):
            code = cli.main([*command, "--out", out])
            err = capsys.readouterr().err
            if command[0] == "compare" and "not written" in expected:
                assert code == 0  # compare writes results/baseline_vs_no_retirement_delay/: no clash
                continue
            assert code == 2 and expected in err and err.count("\n") == 1, err
    assert (tmp_path / "summary.md").read_text() == "a user's file"
    assert (tmp_path / "results" / "baseline" / "mine.txt").read_text() == "mine"
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == [outputs.LOCK_NAME, "baseline",
                                                                        "baseline_vs_no_retirement_delay"]


def test_validate_refuses_unreadable_input_in_one_line(tmp_path, capsys):
    deep = tmp_path / "deep.yaml"
    deep.write_text("name: deep\nchanges:\n  x: " + "[" * 20000 + "]" * 20000 + "\n")
    assert cli.main(["validate", str(deep)]) == 2
    err = capsys.readouterr().err
    # one error line naming the file, then at most the offending line quoted, cut short
    assert err.startswith("socsec-proj: error:") and "deep.yaml" in err.splitlines()[0]
    assert "Traceback" not in err and len(err) < 1000
    assert cli.main(["validate", str(tmp_path / "missing.yaml")]) == 2
    assert "missing.yaml" in capsys.readouterr().err


def test_tilde_and_dot_in_out_are_the_home_and_current_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    small = ["--end", "2030", "--provinces", "CN-GD"]
    assert cli.main(["run", "baseline", "--out", "~/results", *small]) == 0, capsys.readouterr().err
    assert (tmp_path / "home" / "results" / "baseline" / "summary.md").is_file() and not (tmp_path / "~").exists()
    (tmp_path / "keep.txt").write_text("kept")
    assert cli.main(["run", "baseline", "--out", ".", *small]) == 0, capsys.readouterr().err
    assert (tmp_path / "baseline" / "projection.nc").is_file() and (tmp_path / "keep.txt").read_text() == "kept"


@pytest.mark.parametrize("code, reason", [(28, "No space left on device"), (30, "Read-only file system")])
def test_disk_errors_exit_1_naming_the_path(tmp_path, capsys, monkeypatch, code, reason):
    out = tmp_path / "results"
    full = out / ".baseline.tmp" / "projection.nc"

    def fail(ds, scenario, folder, progress, draws=None, **options):
        (folder / "summary.md").write_text("half")
        raise OSError(code, reason, str(full))

    monkeypatch.setattr(cli, "_write_scenario", fail)
    assert cli.main(["run", "baseline", "--out", str(out), "--end", "2030", "--provinces", "CN-GD"]) == 1
    err = capsys.readouterr().err
    assert err == f"socsec-proj: error: {full}: {reason} (a disk error; no result was left half-written)\n"
    assert not out.exists()  # the folders it made are gone again


def test_read_only_destination_is_a_disk_error_before_anything_runs(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(outputs.os, "access", lambda path, mode: False)
    monkeypatch.setattr("socsec_proj.projection.run", lambda *a, **k: pytest.fail("computed before refusing"))
    assert cli.main(["run", "baseline", "--out", str(tmp_path / "results")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"socsec-proj: error: {tmp_path}: ") and "Traceback" not in err and err.count("\n") == 1


def test_a_path_longer_than_the_system_allows_exits_2(tmp_path, capsys):
    deep = tmp_path / "/".join(["d" * 200] * 20)  # 20 names of 200 bytes: each allowed, the whole too long
    assert cli.main(["run", "baseline", "--out", str(deep), "--end", "2030"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--out" in err and "bytes" in err
    assert not (tmp_path / ("d" * 200)).exists()


def test_a_yaml_syntax_error_quotes_the_line_where_the_bracket_was_opened(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\ndescription: x\nchanges:\n  demography.total_fertility_rate: [1.6\n"
                      "  economy.wage_growth:\n    2030-01-01: 0.04\n")
    assert cli.main(["validate", str(broken)]) == 2
    err = capsys.readouterr().err
    # libyaml gives up on line 5 (the next key); the unclosed "[" of line 4 is quoted before it
    assert "near key: changes > demography.total_fertility_rate" in err
    assert "   4 |   demography.total_fertility_rate: [1.6" in err and "Traceback" not in err


# --------------------------------------------------------------------------------------------
# The shell tells you what you can change (issue #17 item 4)
# --------------------------------------------------------------------------------------------


def test_params_lists_every_parameter_a_group_all_its_own_and_searches(capsys):
    from socsec_proj.inputs.parameters import load_parameters

    paths = load_parameters().paths()
    assert cli.main(["params"]) == 0
    listed = capsys.readouterr().out
    assert all(f"  {path} " in listed for path in paths)
    line = next(text for text in listed.splitlines() if "employee_pension.employer_rate " in text)
    assert line.split()[1:5] == ["[/1]", "0", "..", "0.3"]
    assert line.endswith("Employer pension contribution rate [by province]")
    assert cli.main(["params", "employee_pension"]) == 0
    group = capsys.readouterr().out
    assert "..." not in group.replace("0 .. ", "")
    assert sum(f"  {p} " in group for p in paths) == sum(p.startswith("employee_pension.") for p in paths) > 10
    assert cli.main(["params", "--search", "INDEXATION"]) == 0
    found = capsys.readouterr().out
    assert "employee_pension.indexation_rule " in found and "demography." not in found
    assert cli.main(["params", "employee_pension.employee_rate"]) == 0
    assert "national only" in capsys.readouterr().out
    assert cli.main(["params", "employee_pension.employer_rat"]) == 2


def test_provinces_and_version(capsys):
    assert cli.main(["provinces"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("CN-")]
    assert len(lines) == 31 and lines[18].split() == ["CN-GD", "广东", "Guangdong"]
    assert cli.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"socsec-proj {ssp.__version__}"

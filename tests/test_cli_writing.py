"""How ``run`` writes its files (issue #18 item 4): charts drawn in a second process, the NetCDF
on a thread, CSV formatted without pandas' per-value machinery; every file the same bytes as
when everything is written in one process, one file after the other.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import socsec_proj as ssp
from socsec_proj import cli
from socsec_proj.report import background, outputs
from socsec_proj.report.prices import price_index

#: The date every output carries (``provenance.stamp``): the one thing two runs may differ by.
CREATED = re.compile(rb"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\+00:00)?")


def _bytes(values: np.ndarray) -> bytes:
    return repr(values.tolist()).encode() if values.dtype.kind == "O" else np.ascontiguousarray(values).tobytes()


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of a results folder, its bytes with the date masked; the workbook (a zip with
    the date in its document properties) by member, the NetCDF by its variables."""
    import zipfile

    import xarray as xr

    files = {}
    for path in sorted(folder.iterdir()):
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                files[path.name] = b"".join(CREATED.sub(b"", book.read(name)) for name in book.namelist())
        elif path.suffix == ".nc":
            with xr.open_dataset(path) as ds:
                attrs = {k: v for k, v in ds.attrs.items() if k != "created"}
                files[path.name] = repr(attrs).encode() + b"".join(
                    _bytes(ds[name].values) + repr(ds[name].attrs).encode() for name in sorted(ds.variables))
        else:
            files[path.name] = CREATED.sub(b"", path.read_bytes())
    return files


@pytest.mark.slow
def test_charts_drawn_in_a_second_process_are_the_files_drawn_in_one(tmp_path, monkeypatch):
    """The same run with the chart process and without it (every chart drawn here, one after
    the other): the same files, byte for byte but the date."""
    args = ["run", "baseline", "--end", "2045", "--draws", "4", "--seed", "7"]
    monkeypatch.setenv("SOCSEC_PROJ_CHART_PROCESS", "1")  # whatever the load
    started = []
    monkeypatch.setattr(background.ChartProcess, "__enter__", lambda self: started.append(self._process) or self)
    assert cli.main([*args, "--out", str(tmp_path / "two")]) == 0
    assert started and started[0] is not None  # the run had its chart process
    monkeypatch.setattr(background.ChartProcess, "_start", lambda self: None)
    assert cli.main([*args, "--out", str(tmp_path / "one")]) == 0
    two, one = _files(tmp_path / "two" / "baseline"), _files(tmp_path / "one" / "baseline")
    assert sorted(two) == sorted(one)
    assert len([name for name in one if name.endswith(".png")]) == 14 + 12  # the draws' fans and histograms too
    assert [name for name in one if two[name] != one[name]] == []


@pytest.fixture(scope="module")
def short_run():
    scenario = ssp.load_scenario("baseline").model_copy(update={"horizon": 2040})
    ds = ssp.run(scenario)
    return ds, price_index(scenario, ds["year"].values)


def _expected(ds, prices):
    return outputs.render(outputs.chart_plan(ds, prices, 2040, "en"))


def test_the_two_processes_draw_each_chart_once_and_meet(short_run):
    """The worker draws from the first chart, this process from the last once it asks: every
    chart comes back once, in the plan's order, the same PNG bytes as drawn here alone."""
    ds, prices = short_run
    expected = _expected(ds, prices)
    with background.ChartProcess() as worker:
        assert worker._process is not None and worker._process.is_alive()
        charts = worker.submit("charts", ds, prices, 2040, "en").result()
        slot = 0
        drawn_there, drawn_here = worker._claims[2 * slot], worker._claims[2 * slot + 1]
    assert drawn_there + drawn_here == len(expected) == 14
    assert [chart[:3] for chart in charts] == [chart[:3] for chart in expected]
    assert all(a[3] == b[3] for a, b in zip(charts, expected))
    assert worker._process is None  # closed
    assert not list(Path(background._MEMORY or "/tmp").glob(f"{background._PREFIX}{os.getpid()}-*"))


def test_a_helper_forked_from_the_worker_draws_from_the_last(short_run, monkeypatch):
    """Asked for help (this process has written everything else), the worker forks a copy of
    itself that draws from the last: every chart comes back once, the same bytes, and none is
    drawn here (matplotlib need not be imported by the command)."""
    ds, prices = short_run
    expected = _expected(ds, prices)

    def not_here(*args, **kwargs):
        raise AssertionError("a chart drawn in this process")

    monkeypatch.setenv("SOCSEC_PROJ_CHART_CACHE", "0")  # drawn, not copied: the worker cannot take all at once
    with background.ChartProcess() as worker:
        monkeypatch.setattr(outputs, "chart_png", not_here)  # here only: the worker was forked before
        pending = worker.submit("charts", ds, prices, 2040, "en")
        assert pending.help()
        charts = pending.result()
        from_first, from_last = worker._claims[0], worker._claims[1]
    assert from_first + from_last == 14 and from_first >= 1 and from_last >= 1
    assert [chart[:3] for chart in charts] == [chart[:3] for chart in expected]
    assert [chart[3] for chart in charts] == [chart[3] for chart in expected]


def test_a_page_built_before_its_charts_is_the_page_built_with_them(short_run):
    from socsec_proj.provenance import stamp
    from socsec_proj.report import html

    ds, prices = short_run
    ds = stamp(ds.copy())  # one date on both pages (each would take the time it is made)
    drawn = outputs.render(outputs.chart_plan(ds, prices, 2040, "en"))
    files = {key: image for key, _file, _title, image in drawn}
    scenario = ssp.load_scenario("baseline")
    page = html.report_html(ds, scenario, charts={key: html.ChartSlot(key) for key in files}, prices=prices,
                            chart_end=2040)
    assert len(page) < 200_000 and "base64" not in page
    assert html.fill_charts(page, files) == html.report_html(ds, scenario, charts=files, prices=prices, chart_end=2040)


def test_a_worker_that_dies_leaves_its_charts_to_this_process(short_run):
    """Killed before it draws anything (or after it claimed a chart it never sends), the charts
    are all drawn here: the same list."""
    ds, prices = short_run
    expected = _expected(ds, prices)
    with background.ChartProcess() as worker:
        worker._process.kill()
        worker._process.join()
        charts = worker.submit("charts", ds, prices, 2040, "en").result()
    assert [chart[:3] for chart in charts] == [chart[:3] for chart in expected]
    assert all(a[3] == b[3] for a, b in zip(charts, expected))
    with background.ChartProcess() as worker:  # a chart claimed by the worker but never delivered
        with worker._claims.get_lock():
            worker._claims[0] = 3  # as if the worker had taken the first three
        worker._process.kill()
        worker._process.join()
        charts = background._Pending(worker, 0, "charts", (ds, prices, 2040, "en"), 150).result()
    assert all(a[3] == b[3] for a, b in zip(charts, expected)) and len(charts) == 14


def test_without_a_worker_every_chart_is_drawn_here(short_run):
    ds, prices = short_run
    with background.ChartProcess(enabled=False) as worker:
        charts = worker.submit("draw_charts", ssp.run("baseline", end=2030, draws=2, seed=1), prices.sel(
            year=slice(None, 2030)), 2030, "en").result()
    assert [chart[0] for chart in charts][:2] == ["fan:employee_pension", "depletion:employee_pension"]
    assert all(chart[3].startswith(b"\x89PNG\r\n\x1a\n") for chart in charts)


def test_stale_folders_of_killed_runs_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(background, "_MEMORY", str(tmp_path))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f"{background._PREFIX}{dead.pid}-abc").mkdir()
    (tmp_path / f"{background._PREFIX}{os.getpid()}-mine").mkdir()
    (tmp_path / "unrelated-1-x").mkdir()
    background._remove_stale()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{background._PREFIX}{os.getpid()}-mine",
                                                                "unrelated-1-x"])


def test_a_run_writes_with_what_it_loaded_frozen_and_gives_the_collector_back(tmp_path, monkeypatch):
    """``run`` freezes what it imported and projected (``cli._settled``) before it writes, with the
    collector on; once the command is over nothing is left frozen and the collector is on. A
    caller's own frozen objects and collector setting are left as they were."""
    import gc

    seen = {}
    write = cli._write_scenario

    def spy(*args, **kwargs):
        seen.update(frozen=gc.get_freeze_count(), enabled=gc.isenabled())
        return write(*args, **kwargs)

    monkeypatch.setattr(cli, "_write_scenario", spy)
    monkeypatch.setenv("SOCSEC_PROJ_CHART_PROCESS", "0")
    gc.unfreeze()
    assert cli.main(["run", "baseline", "--end", "2030", "--out", str(tmp_path)]) == 0
    assert seen["enabled"] and seen["frozen"] > 50_000  # the modules, numba's kernels, the projections
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    assert cli.main(["run", "nonexistent", "--out", str(tmp_path)]) == 2  # refused: given back all the same
    assert gc.get_freeze_count() == 0 and gc.isenabled()
    # a caller who froze objects and turned the collector off itself: both as it left them
    gc.freeze()
    frozen = gc.get_freeze_count()
    gc.disable()
    try:
        assert cli.main(["run", "baseline", "--end", "2030", "--out", str(tmp_path)]) == 0
        # nothing frozen by the command (frozen objects freed by their last reference leave the count)
        assert not seen["enabled"] and frozen - 1000 < seen["frozen"] <= frozen
        assert frozen - 1000 < gc.get_freeze_count() <= frozen and not gc.isenabled()
    finally:
        gc.enable()
        gc.unfreeze()


@pytest.mark.slow
def test_sigterm_while_writing_ends_the_chart_process_too(tmp_path):
    """SIGTERM to a run that is drawing its charts: exit 143 with one line, nothing left in the
    results folder, and the chart process gone with it (it would hold the command's output pipe
    open: ``communicate`` would wait for it)."""
    out = tmp_path / "results"
    command = subprocess.Popen([sys.executable, "-m", "socsec_proj", "run", "baseline", "--out", str(out)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "SOCSEC_PROJ_CHART_PROCESS": "1"})
    deadline = time.monotonic() + 300  # a cold numba cache compiles first
    while not list(out.glob(".baseline.*.tmp")) and command.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.3)  # the results folder is staged: the tables are being written, the charts drawn
    command.send_signal(signal.SIGTERM)
    stdout, stderr = command.communicate(timeout=60)
    if "results written to" in stdout:  # finished before the signal (then SIGTERM may end its exit: -15)
        pytest.skip("the run finished before the signal (a fast machine): nothing to interrupt")
    assert command.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.strip().splitlines() == ["socsec-proj: terminated (SIGTERM); no result was left half-written"]
    assert not out.exists() or not any(out.iterdir())
    assert not list(Path(background._MEMORY or "/tmp").glob(f"{background._PREFIX}{command.pid}-*"))


_NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=64),
                     st.floats(min_value=-1e15, max_value=1e15).map(round))
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)


@settings(deadline=None, max_examples=200)
@given(floats=st.lists(_NUMBERS, min_size=0, max_size=12), text=st.lists(_TEXT, min_size=12, max_size=12),
       integers=st.lists(st.integers(-2**62, 2**62), min_size=12, max_size=12), single=st.booleans())
def test_csv_lines_are_what_pandas_writes(tmp_path_factory, floats, text, integers, single):
    n = len(floats)
    with np.errstate(over="ignore"):  # beyond float32: inf, as a run's float32 draws would hold
        small = np.array(floats, dtype=np.float32 if single else float)
    table = pd.DataFrame({"province": text[:n], "year": integers[:n], "value": np.array(floats, dtype=float),
                          "small": small})
    table["province"] = table["province"].astype("string")
    path = tmp_path_factory.mktemp("csv") / "table.csv"
    cli._csv(table, path)
    assert path.read_bytes() == table.to_csv(index=False, float_format="%.10g").encode()
    lines = cli._csv_lines(table)
    quoting = any(re.search(r'[,"\r\n]', value) for value in text[:n])
    assert (lines is None) == quoting  # pandas writes what needs quoting
    if lines is not None:
        assert "".join(lines) == table.to_csv(index=False, float_format="%.10g")


def test_csv_of_a_run_is_byte_for_byte_pandas(baseline):
    from socsec_proj.report.summary import tidy_tables

    for name, table in tidy_tables(baseline).items():
        lines = cli._csv_lines(table)
        assert lines is not None, name
        assert "".join(lines) == table.to_csv(index=False, float_format="%.10g"), name


def test_a_job_that_cannot_be_handed_over_is_drawn_here(short_run, monkeypatch):
    """No room for its arguments in /dev/shm (or they do not pickle): that job is drawn here,
    and the worker stays for the next."""
    ds, prices = short_run
    expected = _expected(ds, prices)

    def no_room(*args, **kwargs):
        raise OSError(28, "No space left on device")

    with background.ChartProcess() as worker:
        with monkeypatch.context() as patched:
            patched.setattr(background.pickle, "dumps", no_room)
            pending = worker.submit("charts", ds, prices, 2040, "en")
        assert pending._number is None and worker._process is not None
        charts = pending.result()
        again = worker.submit("charts", ds, prices, 2040, "en")
        assert again._number == 0
        assert [a[3] for a in again.result()] == [b[3] for b in expected]
    assert [a[3] for a in charts] == [b[3] for b in expected]


@pytest.mark.parametrize("setting, pressure, load, cores, expected", [
    ("1", 90.0, 9.0, 2, True), ("0", 0.0, 0.0, 8, False), ("", None, 0.5, 2, True), ("", None, 1.2, 2, False),
    ("", None, 3.0, 8, True), ("", 0.0, 0.0, 1, False), ("", 3.3, 2.9, 2, True), ("", 75.0, 0.5, 2, False)])
def test_a_chart_process_only_with_a_core_free(monkeypatch, setting, pressure, load, cores, expected):
    monkeypatch.setenv("SOCSEC_PROJ_CHART_PROCESS", setting)
    monkeypatch.setattr(background, "_cpu_pressure", lambda: pressure)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    assert background.core_free() is expected


def test_cpu_pressure_is_read_where_linux_reports_it():
    pressure = background._cpu_pressure()
    if not Path("/proc/pressure/cpu").exists():
        assert pressure is None
    else:
        assert pressure is not None and 0.0 <= pressure <= 100.0

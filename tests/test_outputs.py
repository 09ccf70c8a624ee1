"""Results never delete anything they did not write: one folder per result, swapped in whole.

In-process tests of :mod:`socsec_proj.outputs` (no projection is run: a "result" here is a
folder with a file or two), then the command line's Ctrl-C and SIGKILL as subprocesses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from socsec_proj import InputError, outputs


def _result(out, name, text, **kwargs):
    """Write the result ``out/name`` holding ``data.txt`` = text, as run does."""
    with outputs.destination(out), outputs.staged(out, name, **kwargs) as folder:
        (folder / "data.txt").write_text(text)


def _visible(out):
    return sorted(p.name for p in out.iterdir() if p.name != outputs.LOCK_NAME)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_only_the_result_folder_is_replaced(tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "my_folder").mkdir()
    _result(out, "baseline", "first")
    _result(out, "other", "other")
    _result(out, "baseline", "second")
    assert _visible(out) == ["baseline", "my_folder", "notes.txt", "other"]  # nothing else touched, nothing left
    assert (out / "baseline" / "data.txt").read_text() == "second" and (out / "notes.txt").read_text() == "mine"
    assert (out / "other" / "data.txt").read_text() == "other"


@pytest.mark.parametrize("swap", ["exchange", "two renames"])
def test_a_failed_or_interrupted_result_leaves_the_earlier_one(tmp_path, monkeypatch, swap):
    if swap == "two renames":
        monkeypatch.setattr(outputs, "exchange", lambda a, b: False)
    out = tmp_path / "results"
    _result(out, "baseline", "earlier")
    for error in (RuntimeError("a stage failed"), KeyboardInterrupt()):
        with pytest.raises(type(error)):
            with outputs.destination(out), outputs.staged(out, "baseline") as folder:
                (folder / "data.txt").write_text("half")
                raise error
        assert _visible(out) == ["baseline"] and (out / "baseline" / "data.txt").read_text() == "earlier"
    _result(out, "baseline", "later")
    assert _visible(out) == ["baseline"] and (out / "baseline" / "data.txt").read_text() == "later"


def test_the_result_is_never_missing_while_it_is_replaced(tmp_path):
    out = tmp_path / "results"
    _result(out, "baseline", "0")
    missing, stop = [], threading.Event()

    def watch():
        while not stop.is_set():
            if not (out / "baseline" / "data.txt").is_file():
                missing.append(time.perf_counter())

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for i in range(1, 40):
            _result(out, "baseline", str(i))
    finally:
        stop.set()
        watcher.join()
    assert outputs._renameat2() is None or missing == []  # with RENAME_EXCHANGE: not for an instant
    assert (out / "baseline" / "data.txt").read_text() == "39" and _visible(out) == ["baseline"]


def test_concurrent_results_are_all_kept_and_the_same_one_is_whole(tmp_path):
    out = tmp_path / "results"
    out.mkdir()

    def write(name, text):
        with outputs.destination(out), outputs.staged(out, name) as folder:
            for part in range(20):
                (folder / f"part{part}.txt").write_text(text)
                time.sleep(0.001)

    jobs = [threading.Thread(target=write, args=(name, f"{name}{i}")) for i in range(3) for name in ("a", "b", "c")]
    for job in jobs:
        job.start()
    for job in jobs:
        job.join()
    assert _visible(out) == ["a", "b", "c"]
    for name in "abc":  # one complete result of one of the runs: never a mix of two
        texts = {p.read_text() for p in (out / name).glob("part*.txt")}
        assert len(texts) == 1 and len(list((out / name).glob("part*.txt"))) == 20


def test_stale_staging_of_dead_runs_is_removed_and_a_torn_swap_restored(tmp_path):
    out = tmp_path / "results"
    _result(out, "baseline", "kept")
    host, dead = outputs._host(), _dead_pid()
    stale = out / f".baseline.{host}.{dead}.0123abcd.tmp"
    live = out / f".baseline.{host}.{os.getpid()}.0123abcd.tmp"   # a run still going: kept
    other_host = out / f".baseline.00000000.{dead}.0123abcd.tmp"  # another machine's: kept
    torn = out / f".other.{host}.{dead}.0123abcd.old"             # killed between the two renames
    for folder in (stale, live, other_host, torn):
        folder.mkdir()
        (folder / outputs.MARKER).write_text("")
    (torn / "data.txt").write_text("earlier other")
    user_file = out / ".baseline.notes"
    user_file.write_text("a user's hidden file")
    with outputs.destination(out):
        pass
    assert not stale.exists() and live.exists() and other_host.exists() and user_file.exists()
    assert (out / "other" / "data.txt").read_text() == "earlier other" and not torn.exists()
    assert (out / "baseline" / "data.txt").read_text() == "kept"


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_folders_and_files_honour_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        _result(tmp_path / "new" / "results", "baseline", "x")
    finally:
        os.umask(previous)
    for folder in (tmp_path / "new", tmp_path / "new" / "results", tmp_path / "new" / "results" / "baseline"):
        assert folder.stat().st_mode & 0o777 == 0o777 & ~umask, folder
    assert (tmp_path / "new" / "results" / "baseline" / "data.txt").stat().st_mode & 0o777 == 0o666 & ~umask


def test_what_socsec_proj_did_not_write_is_refused_before_anything_runs(tmp_path):
    out = tmp_path / "results"
    (out / "baseline").mkdir(parents=True)  # a user's own folder of the same name
    (tmp_path / "file").write_text("a user's file")
    with pytest.raises(InputError, match="was not written by socsec-proj"):
        outputs.check_destination(out, ["baseline"])
    with pytest.raises(InputError, match="is a file"):
        outputs.check_destination(tmp_path / "file", ["baseline"])
    with pytest.raises(InputError, match="which is a file"):
        outputs.check_destination(tmp_path / "file" / "sub", ["baseline"])
    with pytest.raises(InputError, match="bytes long"):
        outputs.check_destination(out, ["x" * 240])
    outputs.check_destination(out, ["other"])  # fine: other/ does not exist yet
    assert (tmp_path / "file").read_text() == "a user's file" and list((out / "baseline").iterdir()) == []


# --------------------------------------------------------------------------------------------
# Signals, through the command line
# --------------------------------------------------------------------------------------------


def _start_and_wait_for_staging(out):
    process = subprocess.Popen([sys.executable, "-m", "socsec_proj.cli", "run", "baseline", "--out", str(out),
                                "--end", "2030", "--provinces", "CN-GD"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300  # a cold numba cache compiles first
    while not list(out.glob(".baseline.*.tmp")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.005)
    return process


@pytest.mark.slow
def test_ctrl_c_exits_130_with_one_line_and_leaves_nothing(tmp_path):
    out = tmp_path / "results"
    _result(out, "baseline", "earlier")
    process = _start_and_wait_for_staging(out)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == ["socsec-proj: interrupted (Ctrl-C); no result was left half-written"]
    assert _visible(out) == ["baseline"] and (out / "baseline" / "data.txt").read_text() == "earlier"


@pytest.mark.slow
def test_staging_left_by_a_killed_run_is_removed_by_the_next(tmp_path):
    out = tmp_path / "results"
    process = _start_and_wait_for_staging(out)
    process.kill()
    process.communicate(timeout=60)
    assert list(out.glob(".baseline.*.tmp"))  # SIGKILL cannot be cleaned up after
    with outputs.destination(out):  # what the next run does first
        pass
    assert _visible(out) == []


@pytest.mark.skipif(not hasattr(os, "posix_fadvise"), reason="no posix_fadvise here")
def test_a_written_through_file_holds_the_same_bytes_and_drops_each_part_as_it_goes(tmp_path, monkeypatch):
    """Every WRITE_THROUGH_BYTES written: synced, then dropped from the page cache, from where
    the last drop ended; writes after a seek back (as scipy's NetCDF writer patches its header)
    land where they should."""
    monkeypatch.setattr(outputs, "WRITE_THROUGH_BYTES", 1000)
    dropped = []
    advise = os.posix_fadvise
    monkeypatch.setattr(os, "posix_fadvise", lambda fd, start, length, how: dropped.append((start, length, how))
                        or advise(fd, start, length, how))
    data = os.urandom(3500)
    with outputs.WrittenThrough(tmp_path / "f.bin") as file:
        for i in range(0, 3500, 300):
            file.write(data[i:i + 300])
        file.seek(10)
        file.write(b"header")
        file.seek(0, os.SEEK_END)
    assert (tmp_path / "f.bin").read_bytes() == data[:10] + b"header" + data[16:]
    assert dropped == [(0, 1200, os.POSIX_FADV_DONTNEED), (1200, 1200, os.POSIX_FADV_DONTNEED),
                       (2400, 1100, os.POSIX_FADV_DONTNEED)]

"""Start-up of the package and of the command line: what ``import socsec_proj`` costs and pulls
in, the lazy public names (PEP 562), and Ctrl-C at any moment of a command's start-up."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

INTERRUPTED = "socsec-proj: interrupted (Ctrl-C); no result was left half-written"


def _python(code: str) -> str:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          timeout=120).stdout.strip()


def test_import_pulls_in_no_heavy_library():
    loaded = _python("import sys, socsec_proj; print(' '.join(m for m in ('numba', 'xarray', 'scipy', 'pandas', "
                     "'dask', 'matplotlib') if m in sys.modules))")
    assert loaded == ""


def test_public_names_resolve_on_first_use():
    import socsec_proj as ssp
    from socsec_proj.inputs.scenario import load_scenario
    from socsec_proj.projection import run

    assert ssp.run is run and ssp.load_scenario is load_scenario
    assert ssp.validation.__name__ == "socsec_proj.validation"
    assert ssp.retirement.__name__ == "socsec_proj.labour.retirement"
    assert set(ssp.__all__) == {"InputError", *ssp._LAZY} and set(ssp.__all__) <= set(dir(ssp))
    with pytest.raises(AttributeError, match="no_such_name"):
        ssp.no_such_name  # noqa: B018


def test_sensitivity_stays_the_function_after_its_module_is_imported():
    # the import system sets the package attribute to the submodule; it must stay the function
    out = _python("import sys, socsec_proj as ssp, socsec_proj.sensitivity; "
                  "m = sys.modules['socsec_proj.sensitivity']; "
                  "print(callable(ssp.sensitivity) and ssp.sensitivity is m.sensitivity)")
    assert out == "True"


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.25, 0.5, 0.8, 1.2, 1.6])
def test_ctrl_c_during_start_up_exits_130_with_one_line(tmp_path, delay):
    """SIGINT while the command line imports numba, xarray and scipy (the first ~1.5 s), through
    ``python -m socsec_proj`` (what the installed ``socsec-proj`` script runs: ``socsec_proj.__main__``).
    Only Python's own start-up, before any of the package runs (tens of ms), is not covered."""
    process = subprocess.Popen([sys.executable, "-m", "socsec_proj", "run", "baseline", "--end", "2030",
                                "--out", str(tmp_path / "out")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        process.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    if process.returncode == 0:  # a fast machine had finished (a warm run takes 1.4-2.2 s here):
        # a Ctrl-C after the command's end is ignored, not a silent death by SIGINT after
        # "results written" (2 in 40 runs interrupted 1.2-2.4 s in, before it was ignored)
        assert stdout.strip().splitlines()[-1] == f"results written to {tmp_path / 'out'}/"
        assert (tmp_path / "out" / "baseline" / "summary.md").is_file()
        return
    # 130; or, rarely (once in ~30 runs here, after the line was printed), Python ending itself by
    # SIGINT as it does after a KeyboardInterrupt, which a shell reports as 130 all the same
    assert process.returncode in (130, -signal.SIGINT), (stdout, stderr)
    assert stderr.strip().splitlines() == [INTERRUPTED]


def test_the_installed_script_starts_from_the_ctrl_c_guard():
    from importlib.metadata import entry_points

    (script,) = [e for e in entry_points(group="console_scripts") if e.name == "socsec-proj"]
    assert script.value == "socsec_proj.__main__:main"


@pytest.mark.parametrize("own", [None, "ACTIVE"])
def test_idle_numba_threads_sleep_unless_the_user_chose(own):
    import os

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"} | ({"OMP_WAIT_POLICY": own} if own else {})
    code = "import os, socsec_proj._accelerate; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env,
                         timeout=120).stdout.strip()
    assert out == (own or "PASSIVE")


def test_an_empty_cache_is_seen_and_announced_in_one_line(tmp_path, monkeypatch, capsys):
    import socsec_proj as ssp
    from socsec_proj import _accelerate, cli, resources

    if _accelerate.DISABLE_JIT or not _accelerate.CACHE:
        pytest.skip("kernels are not cached in this configuration")
    assert set(resources.uncompiled_kernels(tmp_path)) == {"demography/_kernels.py", "labour/_kernels.py",
                                                          "funds/_kernels.py", "funds/accounts.py", "funds/injury.py",
                                                          "funds/medical_costs.py"}
    ssp.run("baseline", draws=1)  # every kernel called (and so cached) at least once
    assert resources.uncompiled_kernels() == []
    cli._compile_notice()
    assert capsys.readouterr().err == ""
    monkeypatch.setattr(resources, "uncompiled_kernels", lambda: ["funds/_kernels.py"])
    cli._compile_notice()
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("socsec-proj: compiling the numba kernels (about 20 seconds, once;")


def test_a_cache_index_is_current_for_the_same_source_content_whatever_its_file_time(tmp_path):
    # numba stamps its cache index with the SHA-256 of the source: a fresh clone of the same code
    # (new file times) keeps its cache, so no "compiling" notice; changed code does not
    import hashlib
    import os
    import pickle

    from socsec_proj import resources

    source = tmp_path / "_kernels.py"
    source.write_bytes(b"def f():\n    return 1\n")
    index = tmp_path / "_kernels.f-1.py311.nbi"
    with open(index, "wb") as file:
        pickle.dump("0.68.1", file)
        file.write(pickle.dumps((hashlib.sha256(source.read_bytes()).digest(), {})))
    os.utime(source, (2e9, 2e9))  # the source "newer" than its index
    digest = hashlib.sha256(source.read_bytes()).digest()
    assert resources._index_is_current(index, digest, source.stat())
    assert not resources._index_is_current(index, hashlib.sha256(b"changed").digest(), source.stat())
    index.write_bytes(b"not numba's")  # unreadable: judged by the file times
    assert not resources._index_is_current(index, digest, source.stat())


@pytest.mark.slow
def test_a_deterministic_run_and_its_netcdf_import_no_dask(tmp_path):
    """xarray imports dask (and dask.distributed to write netCDF) whenever it is installed;
    socsec_proj._lazy_dask makes it wait until something imports dask."""
    pytest.importorskip("dask")
    code = ("import sys, socsec_proj as ssp; ds = ssp.run('baseline', end=2030); "
            f"ds.to_netcdf({str(tmp_path / 'run.nc')!r}); "
            "print(' '.join(m for m in ('dask', 'dask.array', 'distributed', 'scipy.optimize', 'scipy.stats') "
            "if m in sys.modules) or 'none')")
    # nor scipy.optimize or scipy.stats (0.12-0.16 s and ~0.8 s to import: socsec_proj.solvers, scipy.special)
    assert _python(code) == "none"


def test_dask_arrays_are_still_seen_once_dask_is_imported():
    # the stand-ins answer "no dask" only while dask is not in sys.modules: after, xarray's own answers
    da = pytest.importorskip("dask.array")
    import numpy as np
    import xarray as xr

    from socsec_proj import _lazy_dask  # noqa: F401
    from xarray.namedarray import pycompat, utils

    lazy = xr.Dataset({"a": ("x", da.zeros(4, chunks=2))})
    assert lazy["a"].chunks == ((2, 2),) and utils.is_duck_dask_array(lazy["a"].data)
    assert pycompat.array_type("dask") == (da.Array,) and pycompat.mod_version("dask").major >= 2
    assert not utils.is_duck_dask_array(np.zeros(3))
    assert float(lazy["a"].sum().compute()) == 0.0


def test_the_stand_ins_answer_no_dask_while_dask_is_not_imported():
    code = ("import sys, numpy as np, xarray as xr; import socsec_proj._lazy_dask; "
            "from xarray.namedarray import pycompat, utils; from xarray.backends import locks; "
            "xr.Dataset({'a': ('x', np.zeros(3))}); "
            "print(pycompat.array_type('dask'), utils.is_duck_dask_array(np.zeros(3)), locks.get_dask_scheduler(), "
            "'dask' in sys.modules)")
    assert _python(code) == "() False None False"


def test_the_command_line_process_ends_without_a_last_collection(monkeypatch):
    """``socsec_proj.__main__.main`` (the installed script) leaves the heap frozen and the collector
    off for the interpreter's exit, whose last full collection took ~0.75 s after a baseline run."""
    import gc

    from socsec_proj import __main__, cli

    monkeypatch.setattr(cli, "main", lambda: 7)
    handler, enabled, frozen = signal.getsignal(signal.SIGINT), gc.isenabled(), gc.get_freeze_count()
    try:
        assert __main__.main() == 7
        assert not gc.isenabled()
        assert gc.get_freeze_count() > frozen  # this test's objects at least
    finally:
        signal.signal(signal.SIGINT, handler)
        if frozen == 0:
            gc.unfreeze()
        if enabled:
            gc.enable()


UNRAISABLE_INTERRUPT = """
import sys
from socsec_proj import cli, projection

class Interrupts:
    def __del__(self):  # an exception here is 'unraisable', as in an at-fork or ctypes callback
        raise KeyboardInterrupt

original = projection.run
def run(*args, **kwargs):
    Interrupts()  # freed at once: its KeyboardInterrupt goes to sys.unraisablehook, not to the caller
    return original(*args, **kwargs)
projection.run = run
sys.exit(cli.main(["run", "baseline", "--end", "2030", "--out", sys.argv[1]]))
"""


@pytest.mark.slow
def test_ctrl_c_inside_a_callback_python_cannot_raise_from_still_stops_the_run(tmp_path):
    """A Ctrl-C that lands while Python runs a callback whose exceptions it can only report (seen:
    logging's at-fork handler as the chart process forks, llvmlite's object-cache callback while
    numba loads a kernel) stops the command all the same: exit 130, one line, no result."""
    done = subprocess.run([sys.executable, "-c", UNRAISABLE_INTERRUPT, str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode in (130, -signal.SIGINT), (done.stdout, done.stderr)
    assert done.stderr.strip().splitlines() == [INTERRUPTED]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("becomes", ["nothing", "ImportError"])
def test_a_ctrl_c_that_code_swallowed_or_turned_into_another_error_still_stops_the_run(tmp_path, monkeypatch, capsys,
                                                                                       becomes):
    """A Ctrl-C whose ``KeyboardInterrupt`` the code it landed in swallows (C code clearing a
    Python call's error) or turns into another error (an extension module's import, seen as
    ``ImportError: numba._devicearray failed to import``) still ends the command: exit 130, one
    line, no result (``cli._interrupt`` remembers it, ``_not_interrupted`` and ``main`` act on it)."""
    import signal as signals

    from socsec_proj import cli, projection

    original = projection.run

    def run(*args, **kwargs):
        try:
            cli._interrupt(signals.SIGINT, None)  # the handler, as the signal would call it
        except KeyboardInterrupt:
            if becomes == "ImportError":
                raise ImportError("numba._devicearray failed to import") from None
        return original(*args, **kwargs)  # swallowed: the run goes on

    monkeypatch.setattr(projection, "run", run)
    assert cli.main(["run", "baseline", "--end", "2030", "--out", str(tmp_path / "out")]) == 130
    assert capsys.readouterr().err.strip().splitlines() == [INTERRUPTED]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    assert cli.main(["list"]) == 0  # the next command in this process starts with no Ctrl-C remembered


def test_what_the_stopped_work_fails_to_clean_up_prints_nothing_after_the_one_line(tmp_path, monkeypatch, capsys):
    """Ctrl-C inside ``ZipFile.writestr`` (results.xlsx being written) left a ZipFile that refused
    to close in its ``__del__``: 8 lines of ``Exception ignored in`` after the command's one line
    (once, in CI). A finaliser failing on what the interrupted work left open is not printed,
    also when that work sits in a reference cycle that only the collector frees."""
    import gc
    import signal as signals

    from socsec_proj import cli, projection

    class LeftOpen:
        def __del__(self):
            raise ValueError("Can't close the ZIP file while there is an open writing handle on it.")

    def run(*args, **kwargs):
        try:
            cli._interrupt(signals.SIGINT, None)  # the handler, as the signal would call it
        except KeyboardInterrupt:
            left = LeftOpen()
            left.cycle = left  # freed only by the collector
            del left
            raise

    reported = []
    monkeypatch.setattr(projection, "run", run)
    monkeypatch.setattr(sys, "unraisablehook", reported.append)  # what would have been printed
    assert cli.main(["run", "baseline", "--end", "2030", "--out", str(tmp_path / "out")]) == 130
    gc.collect()
    assert reported == []
    assert capsys.readouterr().err.strip().splitlines() == [INTERRUPTED]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())

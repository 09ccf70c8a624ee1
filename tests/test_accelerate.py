"""The engine helpers of ``_accelerate``: work mapped over Python threads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import numba
import pytest

from socsec_proj import _accelerate


def test_map_on_threads_keeps_the_order_and_runs_each_item_with_numba_on_one_thread():
    seen = []

    def work(item):
        seen.append((threading.current_thread().name, _accelerate.thread_count()))
        time.sleep(0.005 + 0.002 * (item % 3))  # both threads take items; later items finish first now and then
        return item * item

    before = _accelerate.thread_count()
    assert list(_accelerate.map_on_threads(work, range(20), threads=2)) == [i * i for i in range(20)]
    assert {count for _, count in seen} == {1}
    assert all(name.startswith("socsec-chunk") for name, _ in seen)
    assert len({name for name, _ in seen}) == 2
    assert _accelerate.thread_count() == before


def test_each_thread_reuses_its_own_buffers():
    def work(item):
        array = _accelerate.buffer("cube", (4,))
        array[:] = item
        time.sleep(0.005)  # so that both threads take items
        return id(array), threading.current_thread().name, array.copy()

    results = list(_accelerate.map_on_threads(work, range(12), threads=2))
    by_thread = {}
    for address, name, values in results:
        by_thread.setdefault(name, set()).add(address)
    assert all(len(addresses) == 1 for addresses in by_thread.values())  # one buffer per thread
    assert len(set.union(*by_thread.values())) == 2                      # never shared
    assert [int(values[0]) for _, _, values in results] == list(range(12))


def test_one_thread_runs_the_items_here():
    names = list(_accelerate.map_on_threads(lambda item: threading.current_thread().name, range(3), threads=1))
    assert names == [threading.current_thread().name] * 3


def test_at_most_two_results_per_thread_wait_to_be_taken():
    started = []

    def work(item):
        started.append(item)
        return item

    taken = _accelerate.map_on_threads(work, range(100), threads=2)
    assert next(taken) == 0
    time.sleep(0.05)
    assert len(started) <= 5  # 2 x 2 submitted ahead, then one more after the first was taken
    assert list(taken) == list(range(1, 100))


def test_an_error_in_one_item_is_raised_and_nothing_is_left_running():
    def work(item):
        if item == 3:
            raise ValueError("item 3")
        time.sleep(0.01)
        return item

    with pytest.raises(ValueError, match="item 3"):
        list(_accelerate.map_on_threads(work, range(50), threads=2))
    time.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name.startswith("socsec-chunk")]


def test_a_kernel_gives_the_same_bits_on_threads():
    values = np.random.default_rng(1).random((8, 1000))
    here = [_accelerate.row_sum(row) for row in values]
    assert list(_accelerate.map_on_threads(_accelerate.row_sum, values, threads=2)) == here


def test_kept_buffers_outlive_the_block_on_their_thread_only():
    with _accelerate.kept_buffers():
        first = _accelerate.buffer("cube", (3,))
    with _accelerate.kept_buffers():
        assert _accelerate.buffer("cube", (3,)) is first          # the next task writes the same array
    assert _accelerate.buffer("cube", (3,)) is not first          # outside the block: a new array each time
    other = list(_accelerate.map_on_threads(lambda _: _accelerate.buffer("cube", (3,)), [0], threads=2))
    assert other[0] is not first


_NO_BLAS = """
import sys
import numpy as np
import socsec_proj as ssp
from socsec_proj import _accelerate
import numba
import numba.np.arraymath as arraymath, numba.np.linalg as linalg
assert arraymath._HAVE_BLAS and arraymath.ensure_blas is linalg.ensure_blas
assert linalg.ensure_blas.__module__ == "numba.np.linalg"  # numba's own, with its checks
ds = ssp.run("baseline")
draws = ssp.run("baseline", end=2035, draws=3, seed=5)
ssp.summarize(draws, quantiles=(0.1, 0.9))
assert "scipy.linalg" not in sys.modules, "a kernel called BLAS"  # numba imports it for any BLAS call


@numba.njit  # not cached: defined in a string
def dot(a, b):
    return np.dot(a, b)


a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
assert np.array_equal(dot(a, b), a @ b)  # BLAS still there for a kernel that wants it
assert "scipy.linalg" in sys.modules
import scipy.linalg
assert np.allclose(scipy.linalg.solve(np.eye(3) * 2, np.ones(3)), 0.5)
print("ok")
"""


def test_numba_loads_without_scipy_linalg_and_no_kernel_calls_blas():
    """numba's first kernel load no longer imports ``scipy.linalg`` (``_accelerate``): every
    stage's kernels (a deterministic and a stochastic run, the quantiles of its draws) run in a
    fresh process without it being imported, which numba would do for any BLAS call; np.dot in
    a kernel still compiles with BLAS, and ``scipy.linalg`` works for whoever imports it then."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _NO_BLAS], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-3000:]


_LIGHT_LOAD = """
import pickle, sys
from socsec_proj import _accelerate
from numba.core import caching
from numba.core.registry import cpu_target
if sys.argv[1] == "full":
    caching.Cache.load_overload = _accelerate.FULL_CACHE_LOAD  # numba's own, before any kernel
import socsec_proj as ssp
ds = ssp.run("baseline")
draws = ssp.run("baseline", end=2035, draws=3, seed=5)
print(len(cpu_target.typing_context._registries))
with open(sys.argv[2], "wb") as file:
    pickle.dump({(i, name): run[name].values for i, run in enumerate((ds, draws)) for name in run.data_vars}, file)
"""


def test_kernels_loaded_from_the_cache_without_numbas_registries_compute_the_same_bits(tmp_path):
    """``_accelerate`` loads a cached kernel without numba's refresh of its typing and lowering
    registries (0.2 s of a command's first projection): a fresh process doing so installs none of
    them and computes every variable of a deterministic and a stochastic run to the same bits as
    one that loads with numba's own ``load_overload``."""
    import pickle
    import subprocess
    import sys

    if _accelerate.DISABLE_JIT or not _accelerate.CACHE:
        pytest.skip("kernels are not loaded from a cache in this configuration")
    if not numba.__version__.startswith(_accelerate.LIGHT_CACHE_LOAD_NUMBA):
        pytest.skip(f"numba {numba.__version__} loads kernels its own way")
    registries, results = {}, {}
    for way in ("full", "light"):  # the full one first: it writes the cache if a kernel is missing
        path = tmp_path / f"{way}.pickle"
        done = subprocess.run([sys.executable, "-c", _LIGHT_LOAD, way, str(path)], capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        registries[way] = int(done.stdout.split()[-1])
        results[way] = pickle.loads(path.read_bytes())
    assert registries["light"] == 0 < registries["full"]
    assert results["light"].keys() == results["full"].keys() and len(results["full"]) > 100
    for key, values in results["full"].items():
        assert np.array_equal(results["light"][key], values, equal_nan=values.dtype.kind == "f"), key


# --------------------------------------------------------------------------------------------
# Worker processes


def _pid_and_threads(item):
    import os

    return item * item, os.getpid(), _accelerate.thread_count()


@pytest.fixture
def can_fork(monkeypatch):
    """Fork even if an earlier test ran a parallel kernel (its OpenMP threads exist): the workers
    never run one, which is why that case is refused by default (fork_is_safe)."""
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    monkeypatch.setattr(_accelerate, "fork_is_safe", lambda: True)


def test_map_on_processes_keeps_the_order_and_runs_in_workers_with_numba_on_one_thread(can_fork):
    import multiprocessing
    import os

    results = list(_accelerate.map_on_processes(_pid_and_threads, range(30), processes=2))
    assert [value for value, _, _ in results] == [i * i for i in range(30)]
    pids = {pid for _, pid, _ in results}
    assert os.getpid() not in pids and len(pids) == 2          # both workers took items
    assert {threads for _, _, threads in results} == {1}
    assert not multiprocessing.active_children()                 # and they ended


def test_a_kernel_gives_the_same_bits_in_worker_processes(can_fork):
    values = np.random.default_rng(2).random((8, 1000))
    here = [_accelerate.row_sum(row) for row in values]
    assert list(_accelerate.map_on_processes(_accelerate.row_sum, values, processes=2)) == here


def _fails_at_three(item):
    from socsec_proj.errors import InputError

    if item == 3:
        raise InputError("item 3", key="draws", expected="no 3")
    time.sleep(0.01)
    return item


def test_an_error_in_a_worker_is_raised_here_and_no_worker_is_left(can_fork):
    import multiprocessing

    from socsec_proj.errors import InputError

    with pytest.raises(InputError, match="item 3") as raised:
        list(_accelerate.map_on_processes(_fails_at_three, range(50), processes=2))
    assert raised.value.key == "draws"
    assert isinstance(raised.value.__cause__, _accelerate.WorkerTraceback)
    assert "_fails_at_three" in str(raised.value.__cause__)       # the worker's traceback
    assert not multiprocessing.active_children()


def _dies_at_two(item):
    import os

    if item == 2:
        os._exit(7)
    return item


def test_a_worker_that_dies_is_an_error_not_a_hang(can_fork):
    import multiprocessing

    with pytest.raises(RuntimeError, match="exit code 7"):
        list(_accelerate.map_on_processes(_dies_at_two, range(10), processes=2))
    assert not multiprocessing.active_children()


def _slow(item):
    time.sleep(0.02)
    return item


def test_a_caller_that_stops_early_leaves_no_worker_running(can_fork):
    import multiprocessing

    taken = _accelerate.map_on_processes(_slow, range(1000), processes=2)
    assert next(taken) == 0
    assert len(multiprocessing.active_children()) == 2
    taken.close()
    assert not multiprocessing.active_children()


def test_unpicklable_results_are_an_error_here(can_fork):
    with pytest.raises(RuntimeError, match="could not be sent back"):
        list(_accelerate.map_on_processes(lambda item: (lambda: item), range(4), processes=2))


def _under_a_shared_lock(item):
    import multiprocessing.synchronize

    from numba.np.ufunc import parallel

    return isinstance(parallel._backend_init_process_lock, multiprocessing.synchronize.RLock)


def test_a_worker_starts_numba_under_a_lock_of_its_own(can_fork):
    """numba's lock around the start of its threads is a multiprocessing lock a forked worker
    would share with its parent: a worker killed while holding it left the parent's next
    parallel call waiting for ever (seen once in this suite). Workers make it their own."""
    import multiprocessing.synchronize

    import numba
    from numba.np.ufunc import parallel

    numba.get_num_threads()  # this process's threads started: its lock made
    shared = parallel._backend_init_process_lock
    assert isinstance(shared, multiprocessing.synchronize.RLock)
    assert list(_accelerate.map_on_processes(_under_a_shared_lock, range(4), processes=2)) == [False] * 4
    assert shared.acquire(timeout=10)  # and no worker left it held
    shared.release()


def test_without_a_safe_fork_the_items_run_on_threads(monkeypatch):
    monkeypatch.setattr(_accelerate, "fork_is_safe", lambda: False)
    names = list(_accelerate.map_on_processes(lambda item: threading.current_thread().name, range(6), processes=2))
    assert all(name.startswith("socsec-chunk") for name in names)


def test_fork_is_refused_while_another_thread_runs():
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not _accelerate.fork_is_safe()
    finally:
        stop.set()
        other.join()


_CTRL_C = """
import os, sys, time
from socsec_proj import _accelerate
_accelerate.fork_is_safe = lambda: True

def work(item):
    time.sleep(0.05)
    return os.getpid()

for pid in _accelerate.map_on_processes(work, range(10_000), processes=2):
    print(pid, flush=True)
"""


def test_ctrl_c_stops_the_workers_and_leaves_nothing_running():
    """Ctrl-C reaches every process of the terminal's group: the workers ignore it, the caller
    raises KeyboardInterrupt and kills them on its way out."""
    import os
    import signal
    import subprocess
    import sys

    if sys.platform == "win32":
        pytest.skip("no process groups")
    caller = subprocess.Popen([sys.executable, "-c", _CTRL_C], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, start_new_session=True)
    workers = set()
    while len(workers) < 2:  # both workers answered: they run
        workers.add(int(caller.stdout.readline()))
    os.killpg(caller.pid, signal.SIGINT)
    _, stderr = caller.communicate(timeout=60)
    assert caller.returncode != 0 and "KeyboardInterrupt" in stderr
    for pid in workers:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


_FREED_MEMORY = r"""
import numpy as np
from socsec_proj import _accelerate

def resident():  # [bytes]
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096

def churn():  # 200 blocks of 1 MB written and freed: glibc's heap, not mmap (below the threshold)
    blocks = [np.ones(2**17) for _ in range(200)]
    del blocks

before = resident()
with _accelerate.freed_memory_kept():
    assert _accelerate._keeping_freed
    churn()
    kept = resident() - before
assert not _accelerate._keeping_freed
handed_back = resident() - before
_accelerate._keep_freed_memory()  # a process that keeps it all along (a worker, the command line)
with _accelerate.freed_memory_kept():
    pass
assert _accelerate._keeping_freed
print(kept, handed_back)
"""


def test_a_run_keeps_the_memory_it_frees_only_while_it_runs():
    # a chunk's temporaries reused instead of faulted in afresh while the run goes on; after it,
    # what was freed is handed back and the process is as before (a notebook goes on)
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or _accelerate._malloc_library() is None:
        pytest.skip("glibc's malloc on Linux")
    done = subprocess.run([sys.executable, "-c", _FREED_MEMORY], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    kept, handed_back = (int(value) for value in done.stdout.split())
    assert kept > 150 * 2**20, kept            # the 200 MB freed inside stayed mapped
    assert handed_back < 50 * 2**20, handed_back  # and were handed back after


_SMALL_PAGES = r"""
import numpy as np
from socsec_proj import _accelerate

def huge():  # [bytes] of this process's memory in transparent huge pages
    with open("/proc/self/smaps_rollup") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("AnonHugePages:"))

def touched():  # 64 MB, the size of a chunk's cube, written
    array = np.empty(2**23)
    array[:] = 1.0
    return array

asked = _accelerate._ask_for_huge_pages(True)  # numpy's default
before = huge()
with _accelerate.freed_memory_kept():
    inside = touched()
    in_run = huge() - before
    assert _accelerate._ask_for_huge_pages(False) is False  # not asked for while the run goes on
assert _accelerate._ask_for_huge_pages(True) is True        # and as before after it
with _accelerate.small_pages():
    with _accelerate.small_pages():
        pass
    assert _accelerate._ask_for_huge_pages(False) is False  # a nested block leaves the outer one's
assert _accelerate._ask_for_huge_pages(True) is True
print(in_run)
"""


def test_a_run_faults_new_arrays_in_small_pages_and_leaves_numpy_as_it_was():
    # numpy asks for a huge page for every array of 4 MB and more; where Linux then compacts a
    # 2 MB block on the first touch (transparent_hugepage in madvise mode) that was most of a
    # run's system time here. Inside a run no array is in huge pages; after it numpy asks again.
    import subprocess
    import sys

    if not sys.platform.startswith("linux") or _accelerate._ask_for_huge_pages(True) is None:
        pytest.skip("numpy's huge-page switch, on Linux")
    mode = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if not mode.exists() or "[always]" in mode.read_text():
        pytest.skip("transparent huge pages only where asked for (madvise) or never")
    done = subprocess.run([sys.executable, "-c", _SMALL_PAGES], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 0  # the 64 MB written inside the run: none of it in huge pages

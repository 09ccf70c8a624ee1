"""The one place numba is imported.

Kernels elsewhere use :func:`jit` and :data:`prange` from here, so that the compiler settings
(``cache=True``) and the switch to plain Python live in one module. Setting the environment
variable ``SOCSEC_PROJ_DISABLE_JIT=1`` runs every kernel as plain Python (for debugging), and
:func:`single_threaded` is what a dask worker uses so that numba's threads never nest inside
dask's.

numba's on-disk cache goes to a per-user folder keyed on the package version
(:func:`cache_dir`, e.g. ``~/.cache/socsec_proj/0.1.0/numba``), never beside the sources: the
default would write ``__pycache__/*.nbi``/``*.nbc`` inside an installed package, and a later
editable install then imports that left-over folder instead of the checkout. A user's own
``NUMBA_CACHE_DIR`` is respected. If the folder cannot be written, kernels compile without a
cache rather than fall back to the package's folder.
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import gc
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import tempfile
import threading
import traceback
from pathlib import Path


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socsec_proj")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def user_cache_dir(kind: str) -> Path:
    """The per-user cache folder of socsec_proj for this version (``platformdirs.user_cache_dir``)
    for ``kind`` (``numba``: compiled kernels; ``charts``: :mod:`socsec_proj.report.chart_cache`)."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("socsec_proj")) / _version() / kind


def cache_dir() -> Path:
    """Where numba keeps compiled kernels: ``$NUMBA_CACHE_DIR`` if the user set it, else
    :func:`user_cache_dir` ``("numba")``."""
    own = os.environ.get("NUMBA_CACHE_DIR")
    if own:
        return Path(own)
    return user_cache_dir("numba")


def writable(folder: Path) -> bool:
    """Whether ``folder`` exists (made if need be) and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError:
        return False
    return True


def idle_threads_sleep() -> None:
    """Let numba's idle OpenMP threads sleep at once (``OMP_WAIT_POLICY=PASSIVE``) unless the user
    chose a policy: by default they spin for a while after every parallel loop, and the small
    deterministic kernels then pay for threads that hold a core another process needs (warm
    baseline run on the 2 shared cores: 80-100 ms CPU spinning, 30-50 ms passive). Read by
    libgomp when numba first starts its threads, so set before any kernel runs."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


idle_threads_sleep()
CACHE_DIR = cache_dir()
#: Whether kernels are cached on disk: only where the cache folder can be written, since
#: numba would otherwise fall back to ``__pycache__`` inside the package.
CACHE = writable(CACHE_DIR)
# Before numba is imported (it reads the variable once); if it already was, set its config too.
os.environ["NUMBA_CACHE_DIR"] = str(CACHE_DIR)
if "numba" in sys.modules:
    sys.modules["numba"].config.CACHE_DIR = str(CACHE_DIR)

import numba  # noqa: E402  (after NUMBA_CACHE_DIR is set)
import numpy as np  # noqa: E402


def _load_numpy_support_without_scipy_linalg() -> None:
    """Import ``numba.np.arraymath`` (numba's numpy functions) without importing ``scipy.linalg``.

    numba imports that module when it loads its first kernel, and the module asks at import
    whether BLAS is there for ``np.dot`` (``_check_blas`` -> ``ensure_blas``), which imports
    ``scipy.linalg.cython_blas``, i.e. all of ``scipy.linalg`` (0.22 s, and ``numpy.f2py``
    through scipy's array-API layer, 0.09 s): a third of a warm run's first projection, before
    a single number is computed. No kernel of this package calls BLAS (``np.dot``, ``@``,
    ``np.linalg`` inside a kernel; a test runs every stage's kernels and checks that
    ``scipy.linalg`` was never imported). So the answer is taken from whether scipy is
    installed, as ``ensure_blas`` would find it, and numba's own ``ensure_blas`` is back in
    place right after: compiling a kernel that does use BLAS calls it, with its checks, and
    imports ``scipy.linalg`` then; ``scipy.linalg`` imported by anyone afterwards is untouched.
    """
    if "numba.np.arraymath" in sys.modules:
        return
    import importlib.util

    from numba.np import linalg

    def scipy_installed():
        if importlib.util.find_spec("scipy") is None:  # numba's own message
            raise ImportError("scipy 0.16+ is required for linear algebra")

    probe = linalg.ensure_blas
    linalg.ensure_blas = scipy_installed
    try:
        from numba.np import arraymath
    finally:
        linalg.ensure_blas = probe
    arraymath.ensure_blas = probe  # the name it imported


_load_numpy_support_without_scipy_linalg()

#: numba versions whose cache loader :func:`_load_cached_kernels_lightly` replaces (it calls
#: private methods of ``numba.core.caching.Cache``; other versions load kernels as they come).
LIGHT_CACHE_LOAD_NUMBA = ("0.6",)

#: numba's own ``Cache.load_overload`` (what :func:`_load_cached_kernels_lightly` replaced).
from numba.core import caching as _numba_caching  # noqa: E402

FULL_CACHE_LOAD = _numba_caching.Cache.load_overload


def _load_cached_kernels_lightly() -> None:
    """Load a cached kernel without first installing numba's typing and lowering registries.

    numba's ``Cache.load_overload`` refreshes the target context before it reads a kernel from
    the cache: the first time in a process, that imports numba's implementations of Python and
    numpy and declares every one of them to the typing context (``install_registry``, 1,280
    ``insert_function`` calls): measured on 2 cores, 0.20-0.25 s of a warm command line's first
    projection (0.51-0.66 -> 0.32-0.48 s), and nothing of it is used by a kernel read from the
    cache: it is machine code, linked against numba's runtime (``rtsys.initialize``, done
    here, as the refresh would) and the helper library; the typing context is only for
    compiling, and numba's compiler refreshes both contexts itself before it compiles
    (``CompilerBase.__init__``), so a kernel missing from the cache compiles as ever. A test
    runs the baseline and a stochastic chunk in a fresh process both ways and finds the same bits.
    """
    caching = _numba_caching
    if not (numba.__version__.startswith(LIGHT_CACHE_LOAD_NUMBA)
            and all(hasattr(caching.Cache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors"))):
        return
    from numba.core.runtime import rtsys

    def load_overload(self, sig, target_context):
        rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None  # the guard swallowed an error reading the cache: numba compiles it

    caching.Cache.load_overload = load_overload


_load_cached_kernels_lightly()

DISABLE_JIT = os.environ.get("SOCSEC_PROJ_DISABLE_JIT", "") not in ("", "0")

prange = numba.prange

#: The number of threads numba runs ``prange`` loops on (callable inside kernels too).
thread_count = numba.get_num_threads


def jit(function=None, *, parallel=False, fastmath=False, inline="never", error_model="python"):
    """Compile ``function`` with numba in nopython mode, cached on disk in :data:`CACHE_DIR`.

    Parameters
    ----------
    function : callable
        The kernel.
    parallel : bool, default False
        Let ``prange`` loops run on numba's threads. This doubles or triples a kernel's compile
        time (measured on 2 cores: the pension stock 3.8 s serial against 10.7 s parallel, the
        coverage step 5.6 against 13.7 s): the loop's body is compiled into a gufunc and then
        optimised and compiled again in the kernel that calls it. :func:`over_blocks` runs a
        serial kernel on threads instead, and a stochastic run's chunks run one per thread
        (:func:`map_on_threads`), so the stages' kernels are all serial (the cold first run
        compiled 17.8 s of CPU with three of them parallel, 8.6 s without).
    fastmath : bool, default False
        Let LLVM reassociate floating-point operations (only where the last bits may differ).
    inline : {"never", "always"}, default "never"
        ``"always"``: a helper whose body numba puts into each caller before compiling it, so
        that it is compiled once, as part of its caller. A helper compiled on its own is
        compiled again inside every caller (numba links the callee's code into the caller's
        module and optimises it anew).
    error_model : {"python", "numpy"}, default "python"
        ``"numpy"``: a float division by zero gives inf or NaN, as in numpy, instead of raising
        ``ZeroDivisionError``. The check that raises is a branch in every division, which keeps
        LLVM from vectorizing a loop that divides; a kernel that selects a division's result
        only where its divisor is not zero (``q = x / y; v = q if y > 0.0 else w``, the same bits
        as the branch that divided only there) then divides 8 lanes at a time.
    """

    def wrap(fn):
        if DISABLE_JIT:
            return fn
        return numba.njit(cache=CACHE, parallel=parallel, nogil=True, fastmath=fastmath, inline=inline,
                          error_model=error_model)(fn)

    return wrap if function is None else wrap(function)


@jit(fastmath=True)
def row_sum(x):
    """Sum of a 1-d array for use inside kernels, with vector adds (reassociation is allowed
    here only): a plain loop's chain of dependent adds is what bounds several kernels' speed.
    Differs from numpy's pairwise sum only in the last bits."""
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i]
    return total


@jit(fastmath=True)
def row_dot(x, y):
    """Dot product of two 1-d arrays for use inside kernels (vector adds, as :func:`row_sum`)."""
    total = 0.0
    for i in range(x.shape[0]):
        total += x[i] * y[i]
    return total


def _prefetch_intrinsic():
    """LLVM's ``llvm.prefetch`` of the cache line holding ``row[index]`` (a 1-d array), for
    kernels: a read, kept in every cache level. A hint only: it changes no value."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def prefetch(typingctx, row, index):
        if not isinstance(row, types.Array) or row.ndim != 1 or not isinstance(index, types.Integer):
            return None

        def codegen(context, builder, signature, args):
            array_type = signature.args[0]
            array = context.make_array(array_type)(context, builder, args[0])
            pointer = cgutils.get_item_pointer(context, builder, array_type, array, [args[1]], wraparound=False,
                                               boundscheck=False)
            byte_pointer = ir.IntType(8).as_pointer()
            i32 = ir.IntType(32)
            function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(ir.VoidType(), [byte_pointer, i32, i32, i32]), "llvm.prefetch.p0")
            # read (0), the highest locality (3), data, not instructions (1)
            builder.call(function, [builder.bitcast(pointer, byte_pointer), ir.Constant(i32, 0), ir.Constant(i32, 3),
                                    ir.Constant(i32, 1)])
            return context.get_dummy_value()

        return types.void(row, index), codegen

    return prefetch


if DISABLE_JIT:
    def prefetch_row(row):
        """Nothing to fetch ahead of plain Python (numba disabled)."""

    def prefetch_open_age(row):
        """Nothing to fetch ahead of plain Python (numba disabled)."""
else:
    _prefetch = _prefetch_intrinsic()

    @jit(inline="always")
    def prefetch_row(row):
        """Ask the CPU to bring ``row`` (a 1-d array) into its caches while the kernel works on
        something else: a row a kernel reads a few steps later, at a stride the hardware does not
        follow (the population cube ``[D, Y, P, S, A]`` read year after year for one province:
        25 kB apart, each row 404 B). A hint only: it changes no value. The injury stock on a
        captured chunk of 32 draws: 0.75-0.77 -> 0.51-0.53 ms per draw with the rows of two
        years ahead (one year ahead was too late to cover the latency)."""
        step = max(1, 64 // row.itemsize)  # one per cache line of 64 bytes
        for index in range(0, row.shape[0], step):
            _prefetch(row, index)

    @jit(inline="always")
    def prefetch_open_age(row):
        """Ask the CPU to bring the last two items of ``row`` (a 1-d array: a row of residents by
        age, the open age and the age below) into its caches: a kernel that reads only those of
        each year's row, one year after the other, waits on a cache miss each year (the rows are
        25 kB apart) while its work per year is a few divisions. Both items, as they may fall on
        either side of a cache line. A hint only: it changes no value. On a captured chunk of 32
        draws (one thread, AVX2 host, three alternating pairs): the pension stock 1.38-1.61 ->
        0.95-1.09 ms per draw; the coverage kernel's open-age pass 13.3-14.2 -> 7.0-7.3 ms a chunk."""
        _prefetch(row, row.shape[0] - 2)
        _prefetch(row, row.shape[0] - 1)


ENGINES = ("numba", "numpy")

#: A parallel kernel given less work than this (rows x years, e.g. provinces x draws x years)
#: runs on the calling thread alone. Starting numba's threads costs little on a quiet machine,
#: but when another process holds the second core the call waits for it to be scheduled:
#: measured on the 2 shared cores, the coverage kernel's calibration run (31 provinces x 5
#: years) took 0.10 ms at best and 28 ms by median on 2 threads, 0.13 ms on one; a stochastic
#: chunk made seven such calls. One draw of 31 provinces x 81 years is ~2,500, a chunk of 16 ~40,000.
PARALLEL_MIN_WORK = 10_000


def read_only(values):
    """``values`` as numba should type a kernel's input: an array as a read-only view (no
    copy), a named tuple with each array field so, anything else as it is.

    numba compiles a kernel anew for every combination of writable and read-only arrays it is
    given (a read-only array is another type), and whether an input is read-only depends on
    where it came from: the cached parameter tables are, a computed array is not, a
    ``broadcast_to`` that broadcast nothing is. A baseline run compiled the coverage step twice
    and the balance recursion four times (6 s and 2 s of a cold start on 2 cores); inputs
    always passed read-only make one signature of each.
    """
    if isinstance(values, np.ndarray):
        if not values.flags.writeable:
            return values
        view = values.view()
        view.flags.writeable = False
        return view
    if isinstance(values, tuple) and hasattr(values, "_fields"):
        return type(values)(*(read_only(field) for field in values))
    return values


def _is_inputs(value) -> bool:
    """A kernel's named tuple of inputs (``CoverageInputs``, ``AccountInputs``, ...)."""
    return isinstance(value, tuple) and hasattr(value, "_fields") and type(value).__name__.endswith("Inputs")


def _with_read_only_inputs(function):
    def call(*args):
        return function(*(read_only(value) if _is_inputs(value) else value for value in args))

    return call


def _on_one_thread(function):
    def call(*args):
        with single_threaded():
            return function(*args)

    return call


def kernel(numba_fn, numpy_fn):
    """The engine switch of a kernel pair: ``kernel(fast, reference)(engine)`` is one of them.

    Every numba kernel has a plain-numpy reference of the same contract (held equal by a
    test); stages take ``engine="numba"`` or ``"numpy"`` and pick with this one function.
    ``pick(engine, work)`` with ``work`` below :data:`PARALLEL_MIN_WORK` gives the kernel on
    one thread (the same compiled code, so the same results to the bit). A named tuple of
    inputs (a class named ``...Inputs``) reaches the numba kernel with its arrays read-only
    (:func:`read_only`), so that the kernel compiles once whatever its inputs' origins.

    Returns
    -------
    callable
        ``pick(engine, work=None)`` returning ``numba_fn`` for ``"numba"`` and ``numpy_fn``
        for ``"numpy"``.

    Raises
    ------
    ValueError
        From ``pick`` for any other engine.
    """
    fast = _with_read_only_inputs(numba_fn)

    def pick(engine="numba", work=None):
        if engine == "numba":
            if work is not None and work < PARALLEL_MIN_WORK:
                return _on_one_thread(fast)
            return fast
        if engine == "numpy":
            return numpy_fn
        raise ValueError(f"engine {engine!r}; expected one of {', '.join(ENGINES)}")

    pick.numba = numba_fn
    pick.numpy = numpy_fn
    return pick


def over_blocks(block_kernel, n_blocks, *args):
    """``block_kernel(block, n_blocks, *args)`` for every block in ``range(n_blocks)``, on as many
    threads as numba would use (:data:`thread_count`, one inside :func:`single_threaded`).

    The parallel loop of a kernel run from Python instead of ``prange``: the blocks are
    independent, and a kernel compiled with ``nogil=True`` (as :func:`jit` compiles them) runs on
    several Python threads at once, so the kernel is compiled once, serial (a ``prange`` kernel
    takes two to three times as long to compile, see :func:`jit`). The calling thread works
    too; each thread takes the next block not yet taken, so a thread that another process
    holds up leaves its share to the other. The blocks' results do not depend on which thread
    ran them. An exception in any block is raised here once all threads stopped.
    """
    threads = min(thread_count(), n_blocks)
    if threads <= 1:
        for block in range(n_blocks):
            block_kernel(block, n_blocks, *args)
        return
    blocks = iter(range(n_blocks))
    taking = threading.Lock()

    def work():
        while True:
            with taking:
                block = next(blocks, None)
            if block is None:
                return
            block_kernel(block, n_blocks, *args)

    # a pool per call, not one kept: its threads would not survive a fork (a forked child
    # handed a kept pool would wait on threads it does not have)
    with concurrent.futures.ThreadPoolExecutor(threads - 1, thread_name_prefix="socsec-block") as pool:
        helpers = [pool.submit(work) for _ in range(threads - 1)]
        try:
            work()
        finally:
            concurrent.futures.wait(helpers)
        for helper in helpers:
            helper.result()


def map_on_threads(function, items, threads=None):
    """``function(item)`` for every item, yielded in the order of ``items``, computed on Python
    threads (as many as numba would use, :data:`thread_count`), each running numba's kernels on
    one thread and handing out its own :func:`buffer` arrays (:func:`reused_buffers`).

    For independent pieces of work that are each a mix of Python and kernels, such as the
    chunks of a stochastic run: while one thread holds the GIL for its Python and xarray work,
    the other runs a kernel (compiled ``nogil``), so both cores stay busy, where one chunk's
    parallel kernels leave the second core idle during all of that chunk's Python. At most two
    results per thread wait to be taken, so memory stays bounded however many items there are.
    With one thread the items run here, one after the other. The results do not depend on the
    number of threads: each item is computed alone, and on one thread a parallel kernel gives
    the same bits (every kernel's rows are independent).
    """
    items = list(items)
    threads = min(thread_count() if threads is None else threads, len(items))
    if threads <= 1:
        with reused_buffers():
            for item in items:
                yield function(item)
        return
    previous = numba.get_num_threads()

    def start_thread():  # the pool's threads only; numba's thread count is per thread
        numba.set_num_threads(1)
        _POOL.arrays = {}

    pool = concurrent.futures.ThreadPoolExecutor(threads, thread_name_prefix="socsec-chunk", initializer=start_thread)
    pending = collections.deque()
    try:
        for item in items:
            pending.append(pool.submit(function, item))
            if len(pending) >= 2 * threads:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:  # also on an error, Ctrl-C or a caller that stops early: nothing left running
        pool.shutdown(wait=True, cancel_futures=True)
        numba.set_num_threads(previous)


# --------------------------------------------------------------------------------------------
# Work mapped over worker processes


def _native_threads() -> int | None:
    """Threads of this process as the operating system counts them (Linux); None elsewhere."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return None


#: Threads the process had when this module was imported (numpy's BLAS starts its own at import:
#: they are fork-safe, and no kernel of this package has run yet).
_THREADS_AT_IMPORT = _native_threads()


def fork_is_safe() -> bool:
    """Whether :func:`map_on_processes` may fork this process now.

    A fork copies only the calling thread. Forking is refused (the work then runs on threads)
    where the platform cannot fork, where any other Python thread runs (it may hold a lock the
    child would wait for forever), and where a thread started since this module was imported
    still runs: above all the OpenMP threads a ``prange`` kernel starts (``reductions``'
    quantile kernel), since the OpenMP runtime does not promise that a process forked while its
    threads exist survives. numba's threading layer merely initialised (``numba.get_num_threads``,
    ``set_num_threads``: the ``omp`` layer starts no thread before a parallel loop runs) does not
    count; the workers never run a parallel loop (they run numba on one thread).
    """
    if "fork" not in multiprocessing.get_all_start_methods() or threading.active_count() > 1:
        return False
    now = _native_threads()
    if now is None or _THREADS_AT_IMPORT is None:  # no thread count here: only a numba that never started threads
        threads = sys.modules.get("numba.np.ufunc.parallel")
        return not getattr(threads, "_is_initialized", False)
    return now <= _THREADS_AT_IMPORT


def received(connection):
    """The jobs a worker process is sent on ``connection``, until it is told to stop (``None``) or
    the other end is gone (for :func:`map_on_processes`'s workers and the chart process)."""
    while True:
        try:
            job = connection.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        yield job


def _own_thread_start_lock() -> None:
    """In a forked worker: numba's lock around starting its threading layer, made this
    process's own before numba is called.

    numba guards that start with a ``multiprocessing`` lock, which a forked process shares
    with its parent once the parent has made it (its first parallel call). A worker killed
    while it held the lock (a caller that stops early, Ctrl-C: workers are killed on any way
    out) left it held for ever, and the parent's next parallel call waited on it for ever:
    seen once in the test suite, where ``can_fork`` forks a parent whose threads had started
    (``fork_is_safe`` refuses that by default). The lock only orders the start of threads
    within one process here: a worker starts its own.
    """
    from numba.np.ufunc import parallel

    if getattr(parallel, "_backend_init_process_lock", None) is not None:
        parallel._backend_init_process_lock = threading.RLock()


def die_with_parent() -> None:
    """Linux: this process gets SIGKILL when the one that started it ends, even by SIGKILL."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass


#: What a worker process's ``malloc`` keeps of the memory it frees [bytes]: up to this much at the
#: top of the heap stays mapped (``M_TRIM_THRESHOLD``), and blocks up to the most glibc allows
#: (32 MB, ``M_MMAP_THRESHOLD``) come from the heap, not from a fresh ``mmap`` each.
KEEP_FREED = 2**30
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD_MAX = 32 * 2**20


def _malloc_library():
    """The C library's ``mallopt`` and ``malloc_trim`` (glibc), or None where there are none."""
    try:
        import ctypes

        library = ctypes.CDLL(None)
        return library.mallopt, library.malloc_trim
    except (OSError, AttributeError):
        return None


def _keep_freed_memory() -> None:
    """Let this process's ``malloc`` (glibc) reuse the memory it frees instead of handing it back,
    and numpy fault new arrays in as small pages (:func:`small_pages`).

    A chunk of draws makes hundreds of numpy temporaries of 0.5-30 MB (a fund variable padded to
    all years is 640 kB for 32 draws); by default glibc maps each afresh and unmaps it when it is
    freed, so that the next chunk's are fresh pages, faulted in one by one: measured on one
    thread, chunks of 32, 0.8-0.9 ms of system time per draw, ~0 with this (user time within the
    noise). For a worker process, which ends with its run: the memory it keeps is what its
    busiest moment needed anyway; a run in this process keeps it only while it runs
    (:func:`freed_memory_kept`). Elsewhere (no glibc) only the page size changes.
    """
    global _keeping_freed
    _ask_for_huge_pages(False)
    functions = _malloc_library()
    if functions is None:
        return
    mallopt, _ = functions
    mallopt(_M_TRIM_THRESHOLD, KEEP_FREED)
    mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
    _keeping_freed = True


def _ask_for_huge_pages(enabled: bool):
    """Whether numpy asks Linux for transparent huge pages for its arrays of 4 MB and more
    (``madvise(MADV_HUGEPAGE)``, numpy's default); the previous setting, None where numpy has
    no such switch."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage
    except ImportError:  # numpy 1.x
        try:
            from numpy.core.multiarray import _set_madvise_hugepage
        except ImportError:
            return None
    return bool(_set_madvise_hugepage(enabled))


@contextlib.contextmanager
def small_pages():
    """Inside the block numpy does not ask for transparent huge pages (:func:`_ask_for_huge_pages`);
    after it, as before.

    Where Linux gives huge pages only to memory that asks for them (``transparent_hugepage`` in
    ``madvise`` mode, the default of many distributions and of this VM), numpy asks for every array
    of 4 MB and more; the first touch of each 2 MB page then waits for the kernel to find and
    clear a free 2 MB block (``defrag`` is ``madvise`` too: compacted on the spot), which on this VM
    took up to ~10 ms per MB where 4 kB pages took 0.8. Measured here (2 cores, 2026-12-03, four
    alternating pairs each): 1,000 draws kept, in-process, 7.85-9.16 s with 5.3-6.3 s of system
    time against 4.71-5.27 s with 0.8 s; the kernels' user time the same (8.4-9.6 s against
    8.7-9.2 s: the cubes are few, reused buffers, so the TLB's reach does not show). A stochastic
    run and the command line fault their memory in this way (:func:`freed_memory_kept`,
    :func:`_keep_freed_memory`); a notebook's numpy is as it was after the run. Process-wide while
    it lasts (numpy's switch is), which changes only how pages are faulted in, never a value.
    """
    before = _ask_for_huge_pages(False)
    try:
        yield
    finally:
        if before is not None:
            _ask_for_huge_pages(before)


#: Whether this process keeps the memory it frees (:func:`_keep_freed_memory` was called).
_keeping_freed = False


#: ``M_TRIM_THRESHOLD`` after a run (:func:`freed_memory_kept`) [bytes]: twice the mmap
#: threshold, as glibc's own dynamic rule sets it whenever a freed block moves that threshold;
#: the mmap threshold stays at the 32 MB the run set.
_TRIM_THRESHOLD_AFTER = 2 * _MMAP_THRESHOLD_MAX


@contextlib.contextmanager
def freed_memory_kept():
    """:func:`_keep_freed_memory` in this process while the block runs (a stochastic run's
    chunks on its threads, the reduced chunks of its workers arriving), then the memory freed
    meanwhile handed back (``malloc_trim``) and the trim threshold where glibc's own rule would
    have it after such a run (:data:`_TRIM_THRESHOLD_AFTER`; the mmap threshold stays at 32 MB,
    where that rule moves it too once blocks that size are freed), and numpy's huge-page
    requests as they were (:func:`small_pages`).

    A run keeping 1,000 draws ran its chunks on two threads here with 191,000-237,000 page faults
    and 2.0-5.8 s of system time, 106,000-113,000 and 1.6-1.9 s with this (three alternating
    pairs: 7.39 / 5.23 / 4.77 s against 5.19 / 4.47 / 4.65 s), before the small pages. One run at
    a time: a second run ending on another thread would hand the memory back under the first.
    Nothing changes in a process that keeps its freed memory all along (a worker; the command
    line, which ends with its command), nor, but for the page size, without glibc.
    """
    global _keeping_freed
    if _keeping_freed:
        yield
        return
    functions = _malloc_library()
    with small_pages():
        if functions is not None:
            _keep_freed_memory()
        try:
            yield
        finally:
            if functions is not None:
                mallopt, malloc_trim = functions
                mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_AFTER)
                malloc_trim(0)
                _keeping_freed = False


class WorkerTraceback(Exception):
    """The traceback of an exception raised in a worker process (the ``__cause__`` of the
    exception :func:`map_on_processes` raises again here)."""

    def __str__(self):
        return "in a worker process:\n" + self.args[0]


def _serve_items(function, connection) -> None:
    """A worker process of :func:`map_on_processes`: ``function(item)`` for every ``(index, item)``
    it is sent, answering ``(index, True, result)`` or ``(index, False, (error, traceback))``,
    until told to stop (``None``) or the other end is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)   # Ctrl-C is the caller's: it stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _own_thread_start_lock()  # before single_threaded() below calls numba
    die_with_parent()
    _keep_freed_memory()
    with single_threaded(), kept_buffers():
        for index, item in received(connection):
            try:
                answer = (index, True, function(item))
            except BaseException as error:  # noqa: BLE001 (raised again in the caller)
                answer = (index, False, (error, traceback.format_exc()))
            try:
                connection.send(answer)
            except (OSError, ValueError):  # the caller is gone
                return
            except Exception:  # noqa: BLE001 (a result or an exception that cannot be pickled)
                message = traceback.format_exc()
                try:
                    connection.send((index, False, (RuntimeError(f"the result of item {index} could not be sent "
                                                                 "back from its worker process"), message)))
                except (OSError, ValueError):
                    return


def _start_workers(function, processes: int) -> list:
    """``processes`` forked workers of :func:`_serve_items`, ``[(process, connection), ...]``."""
    context = multiprocessing.get_context("fork")
    workers = []
    gc.freeze()  # the objects the children inherit: a collection there would write (copy) their pages
    try:
        for number in range(processes):
            mine, theirs = context.Pipe()
            process = context.Process(target=_serve_items, args=(function, theirs), daemon=True,
                                      name=f"socsec-worker-{number}")
            workers.append((process, mine))
            process.start()
            theirs.close()
    except BaseException:
        _stop_workers(workers, kill=True)
        raise
    finally:
        gc.unfreeze()
    return workers


def _stop_workers(workers, kill: bool) -> None:
    """End the workers and wait for them: at once with ``kill``, else asked to stop (and killed
    after 5 s if they do not)."""
    for process, connection in workers:
        if process.pid is None:
            continue
        if kill:
            process.kill()
        else:
            try:
                connection.send(None)
            except (OSError, ValueError):
                pass
    for process, connection in workers:
        connection.close()
        if process.pid is not None:
            process.join(None if kill else 5.0)
            if process.is_alive():
                process.kill()
                process.join()


def map_on_processes(function, items, processes=None):
    """``function(item)`` for every item, yielded in the order of ``items``, computed in forked
    worker processes (as many as numba would use threads, :data:`thread_count`), each running
    numba on one thread and writing its cubes where its previous item's were (:func:`kept_buffers`).

    For independent pieces of work that are each a mix of Python and kernels and give back
    little, such as the reduced chunks of a summary-only stochastic run: on threads the Python
    part of every item holds the GIL, so two threads keep 1.6 of 2 cores busy; processes keep
    both. ``function`` and the items' work are inherited by the fork (nothing is pickled but
    the items and the results, which should be small). Each worker holds at most two items at
    a time and the results come back in order, so memory stays bounded however many items
    there are; the results do not depend on the number of processes (each item is computed alone).

    Where forking is not safe (:func:`fork_is_safe`) or cannot start a process, or with one
    process, this is :func:`map_on_threads` (the same results). An exception in a worker is
    raised here (its traceback as ``__cause__``, :class:`WorkerTraceback`); a worker that dies
    raises ``RuntimeError``. On any way out (an error, Ctrl-C, a caller that stops early) the
    workers are killed and waited for: nothing is left running. Workers ignore Ctrl-C (this
    process gets it and stops them) and die with this process (Linux).
    """
    items = list(items)
    processes = min(thread_count() if processes is None else processes, len(items))
    if processes <= 1 or not fork_is_safe():
        yield from map_on_threads(function, items, processes)
        return
    try:
        workers = _start_workers(function, processes)
    except OSError:  # out of processes or memory: threads then
        yield from map_on_threads(function, items, processes)
        return
    finished = False
    try:
        holding = {id(connection): 0 for _, connection in workers}
        results, sent, taken = {}, 0, 0
        window = 4 * processes  # items sent ahead of the next to yield: bounds what waits here
        while taken < len(items):
            if taken in results:
                yield results.pop(taken)
                taken += 1
                continue
            for _, connection in workers:  # each worker holds two items: it never waits for this process
                while holding[id(connection)] < 2 and sent < len(items) and sent < taken + window:
                    connection.send((sent, items[sent]))
                    holding[id(connection)] += 1
                    sent += 1
            busy = [connection for _, connection in workers if holding[id(connection)]]
            for connection in multiprocessing.connection.wait(busy):
                try:
                    index, ok, value = connection.recv()
                except (EOFError, OSError):
                    process = next(p for p, c in workers if c is connection)
                    process.join(1.0)
                    raise RuntimeError(f"worker process {process.name} ended (exit code {process.exitcode}) "
                                       "before it answered") from None
                holding[id(connection)] -= 1
                if not ok:
                    error, trace = value
                    raise error from WorkerTraceback(trace)
                results[index] = value
        finished = True
    finally:  # also on an error, Ctrl-C or a caller that stops early: nothing left running
        _stop_workers(workers, kill=not finished)


@contextlib.contextmanager
def single_threaded():
    """Run numba kernels on one thread inside the block (used inside dask workers)."""
    previous = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(previous)


# --------------------------------------------------------------------------------------------
# Output buffers reused from one chunk of draws to the next

_POOL = threading.local()


@contextlib.contextmanager
def reused_buffers():
    """Inside the block, :func:`buffer` hands out the same arrays again for the same name and shape.

    A stochastic run projects its draws chunk by chunk; every chunk's stages write the same
    large cubes (population, coverage: ~20 MB per draw). Fresh arrays of that size are fresh
    memory, which Linux faults in page by page on first touch: measured on 2 shared cores,
    that was 40 % of the coverage kernel's time (5.7 of 12.6 ms per draw). Reusing them keeps
    the memory mapped. Only for callers that are done with one chunk's arrays before asking
    for the next (``stochastic.run`` copies what it keeps first); outside the block every
    :func:`buffer` is a new array. Per thread, so threads never share a buffer.
    """
    previous = getattr(_POOL, "arrays", None)
    _POOL.arrays = {}
    try:
        yield
    finally:
        _POOL.arrays = previous


@contextlib.contextmanager
def kept_buffers():
    """:func:`reused_buffers` whose arrays this thread keeps after the block, for the next block.

    For a dask worker's thread, which runs one chunk of draws per task: fresh cubes in every
    task would be faulted in page by page again (a LocalCluster worker spent 31 ms of CPU per
    draw against 17 in this process). The thread holds one chunk's cubes (~670 MB for 16
    draws) until it ends.
    """
    previous = getattr(_POOL, "arrays", None)
    kept = getattr(_POOL, "kept", None)
    if kept is None:
        kept = _POOL.kept = {}
    _POOL.arrays = kept
    try:
        yield
    finally:
        _POOL.arrays = previous


def buffer(name: str, shape, dtype=float):
    """An uninitialised array (``numpy.empty``) for a kernel to fill completely; inside
    :func:`reused_buffers` the one of the same ``name``, shape and dtype handed out before."""
    arrays = getattr(_POOL, "arrays", None)
    shape = tuple(int(n) for n in shape)
    if arrays is None:
        return np.empty(shape, dtype=dtype)
    key = (name, shape, np.dtype(dtype).str)
    array = arrays.get(key)
    if array is None:
        for old in [k for k in arrays if k[0] == name]:  # another shape (the last, shorter chunk): drop the old
            del arrays[old]
        array = arrays[key] = np.empty(shape, dtype=dtype)
    return array

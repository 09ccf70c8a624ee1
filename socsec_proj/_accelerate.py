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

import contextlib
import os
import sys
import tempfile
import threading
from pathlib import Path


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("socsec_proj")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


def cache_dir() -> Path:
    """Where numba keeps compiled kernels: ``$NUMBA_CACHE_DIR`` if the user set it, else the
    per-user cache folder of socsec_proj for this version (``platformdirs.user_cache_dir``)."""
    own = os.environ.get("NUMBA_CACHE_DIR")
    if own:
        return Path(own)
    import platformdirs

    return Path(platformdirs.user_cache_dir("socsec_proj")) / _version() / "numba"


def _writable(folder: Path) -> bool:
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
CACHE = _writable(CACHE_DIR)
# Before numba is imported (it reads the variable once); if it already was, set its config too.
os.environ["NUMBA_CACHE_DIR"] = str(CACHE_DIR)
if "numba" in sys.modules:
    sys.modules["numba"].config.CACHE_DIR = str(CACHE_DIR)

import numba  # noqa: E402  (after NUMBA_CACHE_DIR is set)
import numpy as np  # noqa: E402

DISABLE_JIT = os.environ.get("SOCSEC_PROJ_DISABLE_JIT", "") not in ("", "0")

prange = numba.prange

#: The number of threads numba runs ``prange`` loops on (callable inside kernels too).
thread_count = numba.get_num_threads


def jit(function=None, *, parallel=False, fastmath=False):
    """Compile ``function`` with numba in nopython mode, cached on disk in :data:`CACHE_DIR`.

    Parameters
    ----------
    function : callable
        The kernel.
    parallel : bool, default False
        Let ``prange`` loops run on numba's threads.
    """

    def wrap(fn):
        if DISABLE_JIT:
            return fn
        return numba.njit(cache=CACHE, parallel=parallel, nogil=True, fastmath=fastmath)(fn)

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


ENGINES = ("numba", "numpy")

#: A parallel kernel given less work than this (rows x years, e.g. provinces x draws x years)
#: runs on the calling thread alone. Starting numba's threads costs little on a quiet machine,
#: but when another process holds the second core the call waits for it to be scheduled:
#: measured on the 2 shared cores, the coverage kernel's calibration run (31 provinces x 5
#: years) took 0.10 ms at best and 28 ms by median on 2 threads, 0.13 ms on one; a stochastic
#: chunk made seven such calls. One draw of 31 provinces x 81 years is ~2,500, a chunk of 16 ~40,000.
PARALLEL_MIN_WORK = 10_000


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
    one thread (the same compiled code, so the same results to the bit).

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

    def pick(engine="numba", work=None):
        if engine == "numba":
            if work is not None and work < PARALLEL_MIN_WORK:
                return _on_one_thread(numba_fn)
            return numba_fn
        if engine == "numpy":
            return numpy_fn
        raise ValueError(f"engine {engine!r}; expected one of {', '.join(ENGINES)}")

    pick.numba = numba_fn
    pick.numpy = numpy_fn
    return pick


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

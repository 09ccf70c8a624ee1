"""How much a stochastic run needs, checked before it starts: memory per draw and draws that fit.

A stochastic run keeps every draw's (province, year) totals in memory, and the command line
then takes quantiles over them and writes them as NetCDF. 10^8 draws would need terabytes:
the run is refused before anything is computed, saying how many draws would fit, instead of
failing with a ``MemoryError`` after the deterministic run.

A summary-only run (``summary=``, :mod:`socsec_proj.reductions`) keeps a fixed working set
in memory (the calling process's and each worker's chunk, :func:`summary_fixed`), 512 bytes
per draw (its depletion years) and, for the few variables it takes exact quantiles of, the
values near each quantile (:func:`summary_store_bytes`, growing as the square root of the
draws): it is checked against the memory.

The per-draw figure is measured, not derived: update :data:`ARRAYS_PER_DRAW` and
:data:`PEAK_FACTOR` when :mod:`socsec_proj.stochastic` changes what it keeps.
"""

from __future__ import annotations

import hashlib
import numbers
import os
import pickle
import re
import sys
from pathlib import Path

from .errors import InputError

#: Float64 (province, year) arrays one draw of a stochastic run keeps (population total,
#: revenue, expenditure, balance, months of reserve of the six funds, coverage totals).
#: Measured since draws run through the stages: 29 such variables (21 before the two medical
#: funds), 582.6 kB per draw for 31 provinces x 81 years (``nbytes`` of the draw variables / draws).
ARRAYS_PER_DRAW = 29

#: Peak memory over the kept arrays: the kernels' working arrays, ``summarize``'s sorted copy
#: and the NetCDF writer's buffer. Measured peak RSS growth 0.41 MB per draw from 100 to 1,000
#: draws (about 1 x the kept arrays, over a fixed ~670 MB for one chunk's cubes) without
#: writing; 3 leaves room for the writing.
PEAK_FACTOR = 3

#: Share of the available memory a run may plan to use.
USABLE_SHARE = 0.8

#: Fixed memory of a summary-only run in the calling process [bytes]: the process itself with
#: the scenario and the stages' coordinates (~0.3 GB), a chunk's reduced values as they arrive
#: and the quantile store's block of 256 draws (6 variables x 2,511 cells x 8 bytes, 31 MB).
#: Measured peak resident: 0.73 GB at 3,000 draws, 0.96-1.03 GB at 10,000, 1.74 GB at 100,000,
#: of which the store's values take about 2 x its bands' width (0.13, 0.41 and 1.1 GB): ~0.6 GB
#: besides; 1.1 GB keeps the margin it had.
SUMMARY_FIXED = 1_100 * 2**20

#: Memory of each chunk being computed at once [bytes] (one per worker process or thread,
#: :data:`socsec_proj._accelerate.thread_count` of them): its cubes and temporaries, chunks of
#: ``stochastic.SUMMARY_CHUNK_SIZE`` = 32 draws. Measured peak resident of a worker process
#: 576-585 MB at 2,000 draws (it shares the caller's pages until it writes them), of two
#: threads 1.23 GB at 640 draws over ~0.3 GB of process; since the cubes of a run with draws
#: are float32 (2026-12-02) a worker peaks at 440 MB: 600 MB keeps that margin.
SUMMARY_PER_WORKER = 600 * 2**20


def summary_fixed(workers: int | None = None) -> int:
    """Memory a summary-only run needs whatever its number of draws [bytes]:
    :data:`SUMMARY_FIXED` plus :data:`SUMMARY_PER_WORKER` for each chunk computed at once
    (``workers``, default as many as numba uses threads)."""
    if workers is None:
        from ._accelerate import thread_count

        workers = thread_count()
    return SUMMARY_FIXED + max(int(workers), 1) * SUMMARY_PER_WORKER


#: Memory a summary-only run keeps per draw [bytes]: the depletion years (float32) of four
#: funds by province and nationally, 4 x 32 x 4.
SUMMARY_PER_DRAW = 4 * 32 * 4

_FLOAT = 8  # bytes


def bytes_per_draw(n_provinces: int = 31, n_years: int = 81, keep=()) -> int:
    """Peak memory one draw of a stochastic run needs [bytes].

    Parameters
    ----------
    n_provinces : int, default 31
        Provinces computed (always all 31: pooling is national).
    n_years : int, default 81
        Years projected, base year included (2020-2100: 81).
    keep : sequence of str
        Extra per-draw variables asked for; ``"population"`` keeps the (sex, age) cube.
    """
    arrays = ARRAYS_PER_DRAW + (2 * 101 if "population" in tuple(keep) else 0)
    return int(PEAK_FACTOR * arrays * n_provinces * n_years * _FLOAT)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_available() -> int | None:
    """What a container's memory limit still allows (cgroup v2), if there is one."""
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return max(int(limit) - int((folder / "memory.current").read_text().strip()), 0)
    except (OSError, ValueError):
        return None


def available_memory() -> int | None:
    """Memory this process can still use [bytes]: the smallest of ``MemAvailable``, the
    cgroup limit, and (where neither is known) the free pages; None when nothing tells."""
    figures = [f for f in (_meminfo_available(), _cgroup_available()) if f is not None]
    if not figures:
        try:
            figures.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            return None
    return min(figures)


def max_draws(n_provinces: int = 31, n_years: int = 81, keep=(), available: int | None = None) -> int | None:
    """The largest number of draws whose peak memory fits in :data:`USABLE_SHARE` of the
    available memory (``available`` [bytes], measured when not given); None if unknown."""
    available = available_memory() if available is None else available
    if available is None:
        return None
    return int(USABLE_SHARE * available) // bytes_per_draw(n_provinces, n_years, keep)


#: Values per cell a summary's store holds in memory, as a multiple of its bands' width
#: (:func:`summary_store_bytes`): the values of the last narrowing, those kept since, and the
#: buffer the next narrowing writes. Their high-water marks sum to 3.0-3.1 x the width in a
#: simulation (5,000 and 100,000 draws, 7 quantiles); measured, this process's peak grew 0.71 GB
#: from 10,000 to 100,000 draws (6 variables, 5 quantiles) while the width grew 0.35 GB: 2.0 x.
STORE_BAND_FACTOR = 3.0


def summary_store_bytes(draws: int, n_variables: int, quantiles, n_provinces: int = 31, n_years: int = 81) -> int:
    """Memory a summary's quantile store needs at ``draws`` draws [bytes].

    :class:`socsec_proj.reductions.QuantileStore` keeps, per variable, cell and quantile ``q``,
    the values within ``BAND_Z`` standard deviations of rank (``sqrt(draws q (1 - q))``, plus
    ``BAND_Z**2`` ranks) either side of it: a band of ``2 (BAND_Z sqrt(draws q (1 - q)) +
    BAND_Z**2)`` values, at most every draw's; :data:`STORE_BAND_FACTOR` of that, in float64.
    """
    from .reductions import band_width

    per_cell = min(2 * draws, STORE_BAND_FACTOR * band_width(draws, quantiles))
    return int(per_cell * n_variables * n_provinces * n_years * _FLOAT)


def _summary_bytes(draws: int, n_variables: int, quantiles, n_years: int, workers) -> int:
    return summary_fixed(workers) + draws * SUMMARY_PER_DRAW + summary_store_bytes(draws, n_variables, quantiles,
                                                                                    n_years=n_years)


def max_summary_draws(n_variables: int, quantiles, n_years: int = 81, *, available=None,
                      workers=None) -> int | None:
    """The largest number of draws whose summary fits in :data:`USABLE_SHARE` of the available
    memory (``available`` [bytes], measured when not given); None if unknown. ``workers``:
    chunks computed at once (:func:`summary_fixed`)."""
    available = available_memory() if available is None else available
    if available is None:
        return None
    usable = int(USABLE_SHARE * available)
    if _summary_bytes(0, n_variables, quantiles, n_years, workers) > usable:
        return 0
    low, high = 0, 1
    while _summary_bytes(high, n_variables, quantiles, n_years, workers) <= usable:  # the need grows with draws
        low, high = high, 2 * high
    while high - low > 1:
        middle = (low + high) // 2
        if _summary_bytes(middle, n_variables, quantiles, n_years, workers) <= usable:
            low = middle
        else:
            high = middle
    return low


def check_draws(draws, n_years: int = 81, keep=(), *, source=None, key="draws", available=None,
                summary_variables=None, quantiles=None, workers=None) -> None:
    """Refuse a number of draws that is not a whole number >= 1 or would not fit.

    Parameters
    ----------
    summary_variables : sequence of str, optional
        A summary-only run keeping the ``quantiles`` (default
        :data:`socsec_proj.reductions.DEFAULT_QUANTILES`) of these variables: checked against
        the memory it keeps (:func:`summary_fixed` of ``workers``, :data:`SUMMARY_PER_DRAW`,
        :func:`summary_store_bytes`). Without, a run keeping every draw. Both against the memory
        (``available`` [bytes], measured when not given).

    Raises
    ------
    InputError
        Naming how many draws would fit, before anything is computed.
    """
    if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 1:
        raise InputError(f"{draws!r} draws", source=source, key=key, expected="a whole number of draws, at least 1")
    draws = int(draws)
    if summary_variables is not None:
        if quantiles is None:
            from .reductions import DEFAULT_QUANTILES as quantiles
        fit = max_summary_draws(len(summary_variables), quantiles, n_years, available=available, workers=workers)
        if fit is not None and draws > fit:
            need = _summary_bytes(draws, len(summary_variables), quantiles, n_years, workers)
            raise InputError(f"{draws:,} draws summarised would need about {need / 2**30:,.1f} GiB of memory: "
                             f"{fit:,} draws fit in this machine's memory (the quantiles of "
                             f"{len(summary_variables)} variable(s) keep the values near each of "
                             f"{len(quantiles)} quantiles)", source=source, key=key,
                             expected=f"at most {fit:,} draws on this machine")
        return
    fit = max_draws(n_years=n_years, keep=keep, available=available)
    if fit is not None and draws > fit:
        need = draws * bytes_per_draw(n_years=n_years, keep=keep)
        raise InputError(f"{draws:,} draws would need about {need / 2**30:,.1f} GiB of memory; "
                         f"{fit:,} draws fit in this machine's available memory (a summary over the draws, "
                         f"summary= or --summary-only, grows only as their square root)", source=source, key=key,
                         expected=f"at most {fit:,} draws on this machine")


# --------------------------------------------------------------------------------------------
# The first run compiles


#: Modules whose kernels a projection never calls, so a run does not wait for them: ``_accelerate``'s
#: helpers are compiled into their callers; ``reductions``' quantile kernel only by ``summarize``
#: (a few seconds, once). Without this, every run after a deterministic one would announce a compile.
_NOT_IN_A_RUN = ("_accelerate.py", "reductions.py")

#: A kernel as the package writes it: decorated with ``_accelerate.jit`` (``@jit`` or ``@jit(...)``).
_KERNEL = re.compile(r"^\s*@jit\b", re.MULTILINE)


def _cache_subfolder(source: Path) -> str:
    """numba's cache folder for a source file: its folder's name and the SHA-1 of its path
    (numba's ``_CacheLocator.get_suitable_cache_subpath``)."""
    folder = os.path.dirname(os.path.abspath(source))
    return "_".join([os.path.split(folder)[-1], hashlib.sha1(folder.encode()).hexdigest()])


def _index_is_current(index: Path, digest: bytes, status) -> bool:
    """Whether numba would take the cache index ``index`` for a source of SHA-256 ``digest``.

    numba (0.68) stamps an index with the SHA-256 of the source's bytes and ignores an index
    whose stamp differs, so the same source checked out again (a new clone, CI) keeps its cache
    while a changed one does not; older numbas stamp (mtime, size). An index this cannot read is
    judged by its time against the source's.
    """
    try:
        with open(index, "rb") as file:
            pickle.load(file)                       # numba's version
            stamp = pickle.loads(file.read())[0]    # (stamp, overloads)
    except Exception:  # another layout: fall back on the file times
        try:
            return index.stat().st_mtime >= status.st_mtime
        except OSError:
            return False
    return stamp == digest or stamp == (status.st_mtime, status.st_size)


def uncompiled_kernels(cache_dir=None) -> list[str]:
    """Modules whose numba kernels are not (or no longer) in the on-disk cache: each module with
    kernels must hold an index file (``.nbi``, this Python's) that numba takes for the source as
    it is now (:func:`_index_is_current`: numba stamps its index with the source's SHA-256).

    An empty list means the next run loads the kernels from the cache (seconds); otherwise the
    first call of each compiles it (a baseline run: 20 s of CPU on one thread, so about 20 s on a
    quiet machine, longer on a busy one). A heuristic on numba's cache layout (only the kernels
    called from Python write an index: ``_accelerate``'s helpers are compiled into their
    callers, so that module is not looked at, nor the quantile kernel of ``reductions``, which
    only ``summarize`` calls: :data:`_NOT_IN_A_RUN`).
    """
    from . import _accelerate

    package = Path(__file__).resolve().parent
    cache = Path(cache_dir) if cache_dir is not None else _accelerate.CACHE_DIR
    if _accelerate.DISABLE_JIT:
        return []
    if not _accelerate.CACHE:
        return ["(no writable cache: every process compiles)"]
    tag = f"py{sys.version_info.major}{sys.version_info.minor}"
    missing = []
    for source in sorted(package.rglob("*.py")):
        try:
            content = source.read_bytes()
            kernels = len(_KERNEL.findall(content.decode("utf-8")))
            status = source.stat()
        except (OSError, UnicodeDecodeError):
            continue
        if not kernels or source.name in _NOT_IN_A_RUN:
            continue
        folder = cache / _cache_subfolder(source)
        digest = hashlib.sha256(content).digest()
        fresh = folder.is_dir() and any(_index_is_current(p, digest, status)
                                        for p in folder.glob(f"{source.stem}.*.{tag}.nbi"))
        if not fresh:
            missing.append(str(source.relative_to(package)))
    return missing


#: What the command line prints before a run that compiles.
COMPILING = "socsec-proj: compiling the numba kernels (about 20 seconds, once; later runs load them from {cache})"

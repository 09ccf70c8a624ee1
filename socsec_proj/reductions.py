"""Reductions over the draws of a stochastic run: exact quantiles, means, depletion years, chunk by chunk.

``ssp.run(..., draws=N, summary=(0.01, 0.05, 0.5, 0.95, 0.995))`` keeps only what users read,
so that its memory grows only as the square root of N (a run that keeps every draw is planned at 1.75 MB per
draw, :func:`socsec_proj.resources.bytes_per_draw`, and stops fitting near 10,000 draws on a
24 GiB machine):

- the **quantiles** over draws of a few variables (by default each fund's balance), per
  province and year, *exact*: equal to ``numpy.quantile`` of the same draws kept whole;
- the **mean** over draws of every variable a stochastic run keeps (a running float64 sum);
- each draw's **depletion year** per province and of China's total balance (float32, NaN:
  never within the horizon; a few bytes per draw), and from them the **probability of
  depletion by each year**.

How the quantiles stay exact. An exact median needs every value (no one-pass sketch is
exact), but not every value *in memory*: only those near each quantile, and how many lie
below and above them. :class:`QuantileStore` keeps every value of the first
:data:`NARROW_FROM` draws; then, per variable, cell (province x year) and quantile, a band
``[lo, hi]`` of values: ``lo`` and ``hi`` are the order statistics :data:`BAND_Z` standard
deviations of rank (binomial, ``sqrt(n q (1 - q))``, plus ``BAND_Z**2`` ranks) either side of
the quantile among the ``n`` draws seen. Each later draw's value is counted below or above
each band, or kept when inside one (:func:`_into_bands`, blocks of :data:`BATCH_DRAWS`
draws); whenever the values kept since the last narrowing have caught up with those it kept,
the bands are narrowed again around the quantiles of all the draws seen (:func:`_narrowed`:
the counts below and above stay exact, ties inside). At the end each quantile's lower and
upper order statistic is found among its band's values by its rank less the count below
(:func:`_band_quantiles`, numpy's linear rule). Whether a band held them is known exactly
from the counts: a cell whose band missed (the quantile of the first draws more than six
standard deviations from that of all: a union bound over a 100,000-draw run's checks puts
it below one run in 400, and none of the runs measured had one) is
named (:meth:`QuantileStore.missed`), and ``summary_run`` computes every draw again from its
seed (the same bits), keeping that cell's values whole (:class:`DrawStore`, on disk): the
result is exact either way. Memory: the values within the bands, a few thousand per cell at
100,000 draws (it grows as the square root of the draws), against 100,000 per cell kept
whole; nothing is written to disk. A sketch (t-digest, P²) would be smaller still, but not
exact; zarr or a temporary file of every draw (what this module did until 2026-12-03: 16 GB
at 100,000 draws, whose writing cost this process a seventh of the run's CPU) is exact but
grows with the draws.

:func:`quantiles` is the one quantile rule of the package (``summarize`` uses it too): the
"linear" method of ``numpy.quantile``, its index arithmetic and interpolation written the
same way, NaN left out as ``numpy.nanquantile`` does (fund years before 2024 are NaN in every
draw, by design).
"""

from __future__ import annotations

import numbers
import os
import tempfile

import numpy as np

from ._accelerate import jit, kernel, prange, single_threaded
from .errors import InputError

#: The quantiles a summary keeps when asked for ``summary=True``.
DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995)
#: Draws collected in memory before the quantile variables are written to the store: 2,048
#: draws of the 6 balances x 2,511 cells are 247 MB, each variable then one write of 41 MB.
BUFFER_DRAWS = 2048
#: Bytes of draws read back at once per block of cells in the reduction.
BLOCK_BYTES = 256 * 2**20


def check_quantiles(quantiles, *, key="summary", source=None) -> tuple[float, ...]:
    """The quantiles asked for as a sorted tuple of floats in [0, 1], else InputError.

    Raises
    ------
    InputError
        Not a sequence of real numbers, empty, NaN, or outside [0, 1] — before anything runs.
    """
    if isinstance(quantiles, (str, bytes)) or not hasattr(quantiles, "__iter__"):
        raise InputError(f"{quantiles!r}", source=source, key=key, expected="a sequence of quantiles in [0, 1]")
    values = list(quantiles)
    if not values:
        raise InputError("no quantiles", source=source, key=key, expected="at least one quantile in [0, 1]")
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InputError(f"{value!r} is not a number", source=source, key=key, expected="quantiles in [0, 1]")
        if not 0.0 <= float(value) <= 1.0:  # NaN fails this too
            raise InputError(f"quantile {value!r}", source=source, key=key, expected="quantiles in [0, 1]")
    return tuple(sorted(set(float(v) for v in values)))


#: Up to this many values per row the order statistics are taken from a full sort (numpy's
#: vectorised sort beats selecting ten order statistics of short rows); beyond, by ``partition``.
SORT_UP_TO = 10_000


def _positions(n, q):
    """numpy's "linear" quantile positions (``_get_indexes``): the lower and upper order
    statistics and the weight of the upper."""
    virtual = (n - 1) * q
    lower = np.floor(virtual)
    gamma = virtual - lower
    upper = lower + 1
    last = virtual >= n - 1
    lower, upper = np.where(last, n - 1, lower), np.where(last, n - 1, upper)
    return lower.astype(np.intp), upper.astype(np.intp), gamma


def _lerp(a, b, t):
    """numpy's interpolation between neighbouring order statistics (``numpy.lib._function_base_impl._lerp``)."""
    diff = b - a
    return np.where(t >= 0.5, b - diff * (1 - t), a + diff * t)


def quantiles(values: np.ndarray, q, overwrite: bool = False) -> np.ndarray:
    """Quantiles along the last axis, NaN left out: ``numpy.nanquantile(values, q, axis=-1)``.

    Parameters
    ----------
    values : numpy.ndarray
        ``[..., n]``; the reduced axis last (contiguous for speed).
    q : sequence of float
        Shares in [0, 1].
    overwrite : bool, default False
        ``values`` may be sorted in place (a copy the caller made anyway): one copy less.

    Returns
    -------
    numpy.ndarray
        ``[len(q), ...]``; NaN where a row holds no number.
    """
    q = np.asarray(q, dtype=float)
    values = np.asarray(values, dtype=float)
    head, n = values.shape[:-1], values.shape[-1]
    rows = values.reshape(-1, n)
    out = np.full((len(q), rows.shape[0]), np.nan)
    if n == 0 or rows.shape[0] == 0:
        return out.reshape((len(q),) + head)
    valid = n - np.isnan(rows).sum(axis=1)
    full = valid == n
    if full.any():  # the common case: every draw a number; select only the order statistics needed
        lower, upper, gamma = _positions(n, q)
        part = rows if full.all() and overwrite and rows.flags.c_contiguous else rows[full]  # rows[full]: a copy
        if n <= SORT_UP_TO:
            part.sort(axis=1)
        else:
            part.partition(np.unique(np.concatenate([lower, upper])), axis=1)
        out[:, full] = _lerp(part[:, lower].T, part[:, upper].T, gamma[:, None])
    for count in np.unique(valid[~full & (valid > 0)]):  # rows with some NaN (NaN sort last)
        chosen = valid == count
        lower, upper, gamma = _positions(int(count), q)
        ordered = np.sort(rows[chosen], axis=1)
        out[:, chosen] = _lerp(ordered[:, lower].T, ordered[:, upper].T, gamma[:, None])
    return out.reshape((len(q),) + head)


# --------------------------------------------------------------------------------------------
# The same rule as a numba kernel over cells: each cell's draws gathered, then only the order
# statistics needed found by one bucketing pass (no sort of the whole cell)

#: Cells gathered together: adjacent cells of one draw share a cache line, so a block of 8
#: reads each draw's values once instead of once per cell.
_CELL_BLOCK = 8
#: Values per bucket, on average, in the bucketing pass.
_PER_BUCKET = 4
#: Buckets of up to this many values are put in order by insertion sort, larger ones by ``sort``.
_SMALL = 24


@jit
def _in_order(segment):
    """Sort ``segment`` in place (insertion sort when short: buckets hold a few values)."""
    n = segment.shape[0]
    if n > _SMALL:
        segment.sort()
        return
    for i in range(1, n):
        value = segment[i]
        j = i - 1
        while j >= 0 and segment[j] > value:
            segment[j + 1] = segment[j]
            j -= 1
        segment[j + 1] = value


@jit(inline="always")
def _bucketed(values, low, high, bucket, counts):
    """Each of ``values`` (least ``low``, greatest ``high``) into one of ``buckets`` buckets of
    equal width, ``floor((v - low) * scale)`` (the last also holds ``high``): ``bucket[i]`` is
    value i's, ``counts[b]`` how many lie in the buckets before ``b`` (``counts[buckets]``: all).
    Returns ``(buckets, scale)``; 0 buckets where the values span no finite width (all equal,
    infinite values, a span so small that its inverse overflows) or are too few to bucket."""
    m = values.shape[0]
    buckets = min(counts.shape[0] - 1, max(1, m // _PER_BUCKET))
    span = high - low
    scale = buckets / span if span > 0.0 else np.inf
    if not (span < np.inf and scale < np.inf) or buckets < 2:  # (a subnormal span: scale infinite)
        return 0, scale
    counts[:buckets + 1] = 0
    for i in range(m):
        b = min(int((values[i] - low) * scale), buckets - 1)
        bucket[i] = b
        counts[b + 1] += 1
    for b in range(buckets):  # counts[b]: values in the buckets before b
        counts[b + 1] += counts[b]
    return buckets, scale


@jit
def _order_statistics(a, low, high, ranks, work):
    """Put the value of each rank of ``ranks`` (ascending) among the numbers ``a`` (least
    ``low``, greatest ``high``) at that index of ``work``'s last array, as a sort of ``a`` would.

    The values are put into buckets of equal width between their minimum and maximum;
    ``floor((x - min) * scale)`` never decreases as ``x`` grows (each floating-point step
    rounds monotonically), so a value's bucket orders it against every value of another
    bucket, and only the few buckets holding a wanted rank need sorting. Falls back to one
    sort when the values span no finite width (all equal, infinite values, a span so small
    that its inverse overflows).
    """
    bucket, counts, slots, picked = work
    m = a.shape[0]
    buckets = _bucketed(a, low, high, bucket, counts)[0]
    if buckets == 0:
        picked[:m] = a
        picked[:m].sort()
        return
    slots[:buckets] = -1
    b = 0
    for r in range(ranks.shape[0]):  # the buckets holding a wanted rank
        while counts[b + 1] <= ranks[r]:
            b += 1
        slots[b] = counts[b]  # where its values go in picked: at their ranks
    for i in range(m):
        b = bucket[i]
        if slots[b] >= 0:
            picked[slots[b]] = a[i]
            slots[b] += 1
    b, done = 0, -1
    for r in range(ranks.shape[0]):
        while counts[b + 1] <= ranks[r]:
            b += 1
        if b != done:  # sort each wanted bucket once
            _in_order(picked[counts[b]:counts[b + 1]])
            done = b


@jit
def _cell_quantiles(a, least, greatest, q, out, cell, ranks, work):
    """Quantiles ``q`` of the numbers ``a`` into ``out[:, cell]``, by numpy's linear rule as
    :func:`_positions` and :func:`_lerp` write it (``least``, ``greatest``: their extremes;
    ``ranks``: room for ``2 len(q)``)."""
    m = a.shape[0]
    nq = q.shape[0]
    if m == 0:
        for j in range(nq):
            out[j, cell] = np.nan
        return
    for j in range(nq):  # the lower and upper order statistic of each quantile
        low, high, _ = _linear_position(m, q[j])
        ranks[2 * j] = low
        ranks[2 * j + 1] = high
    ranks.sort()
    _order_statistics(a, least, greatest, ranks, work)
    picked = work[3]
    for j in range(nq):
        low, high, gamma = _linear_position(m, q[j])
        out[j, cell] = _mix(picked[low], picked[high], gamma)


@jit(inline="always")
def _linear_position(m, q):
    """numpy's "linear" quantile position among ``m`` ordered values, as :func:`_positions`
    writes it: the lower and upper order statistic and the weight of the upper."""
    virtual = (m - 1) * q
    lower = np.floor(virtual)
    gamma = virtual - lower
    if virtual >= m - 1:
        return m - 1, m - 1, gamma
    return int(lower), int(lower) + 1, gamma


@jit(inline="always")
def _mix(below, above, gamma):
    """numpy's interpolation between neighbouring order statistics, as :func:`_lerp` writes it."""
    diff = above - below
    return above - diff * (1 - gamma) if gamma >= 0.5 else below + diff * gamma


@jit(inline="always")
def _work_arrays(size):
    """The buffers :func:`_order_statistics` works in, for up to ``size`` values (bucket of
    each value, counts and slots per bucket, the values put in order); from Python too."""
    buckets = size // _PER_BUCKET + 2
    return (np.empty(size, dtype=np.int64), np.empty(buckets, dtype=np.int64), np.empty(buckets, dtype=np.int64),
            np.empty(size))


@jit(parallel=True)
def _draw_quantiles_numba(values, q, out):
    """``out[j, c]``: quantile ``q[j]`` of ``values[:, c]`` (draws x cells, any layout), NaN
    left out; blocks of :data:`_CELL_BLOCK` cells in parallel."""
    draws, cells = values.shape
    blocks = (cells + _CELL_BLOCK - 1) // _CELL_BLOCK
    for block in prange(blocks):
        first = block * _CELL_BLOCK
        width = min(_CELL_BLOCK, cells - first)
        gathered = np.empty((width, draws))
        for d in range(draws):  # a block's values of one draw are adjacent: read together
            for b in range(width):
                gathered[b, d] = values[d, first + b]
        work = _work_arrays(draws)
        ranks = np.empty(2 * q.shape[0], dtype=np.int64)
        for b in range(width):
            row = gathered[b]
            m = 0
            low, high = np.inf, -np.inf
            for d in range(draws):  # NaN left out, without a branch; min and max in the same pass
                value = row[d]
                row[m] = value
                m += not np.isnan(value)
                if value < low:  # a NaN compares false: the numbers' least and greatest
                    low = value
                if value > high:
                    high = value
            _cell_quantiles(row[:m], low, high, q, out, first + b, ranks, work)


def _draw_quantiles_numpy(values, q, out):
    """The numpy reference of :func:`_draw_quantiles_numba`: :func:`quantiles` of the transpose."""
    out[...] = quantiles(np.ascontiguousarray(values.T), q, overwrite=True)


_draw_quantiles = kernel(_draw_quantiles_numba, _draw_quantiles_numpy)


@jit
def _draw_sums_numba(values, sums, counts):
    """``values[D, M]`` -> ``sums[M]`` of the numbers over the draws, ``counts[M]`` of how many
    there are (NaN left out): the draws added in order, as numpy adds along a first axis."""
    n_draws, n_cells = values.shape
    for m in range(n_cells):
        sums[m] = 0.0
        counts[m] = 0
    for d in range(n_draws):
        row = values[d]
        for m in range(n_cells):
            value = row[m]
            number = value == value  # not NaN; a select, not a branch, so that the loop is vectorized
            sums[m] += value if number else 0.0
            counts[m] += 1 if number else 0


def _draw_sums_numpy(values, sums, counts):
    """Plain-numpy reference of :func:`_draw_sums_numba` (same arguments, same outputs, the same bits)."""
    missing = np.isnan(values)
    sums[:] = np.where(missing, 0.0, values).sum(axis=0)  # numpy's nansum, without looking for NaN again
    counts[:] = len(values) - np.count_nonzero(missing, axis=0)


_draw_sums = kernel(_draw_sums_numba, _draw_sums_numpy)


def draw_sums(values: np.ndarray, engine: str = "numba") -> tuple[np.ndarray, np.ndarray]:
    """The sum over the first axis (draws) of ``values`` with NaN left out, and how many numbers
    each cell holds: ``(numpy.nansum(values, axis=0), (~numpy.isnan(values)).sum(axis=0))``, the
    sums to the bit [the values' unit; counts: draws]. What a summary keeps of each chunk for the
    means (one pass: numpy's four passes over 29 variables took ~2.6 ms a chunk of 32 draws, this ~0.7).
    """
    values = np.ascontiguousarray(values)
    flat = values.reshape(len(values), -1)
    sums = np.empty(flat.shape[1])
    counts = np.empty(flat.shape[1], dtype=np.int64)
    _draw_sums(engine)(flat, sums, counts)
    return sums.reshape(values.shape[1:]), counts.reshape(values.shape[1:])


def draw_quantiles(values: np.ndarray, q, engine: str = "numba") -> np.ndarray:
    """Quantiles over the first axis, NaN left out: ``numpy.nanquantile(values, q, axis=0)``.

    The same rule as :func:`quantiles` (to the bit), for values laid out as a stochastic run
    keeps them (draws first): a numba kernel gathers each cell's draws and selects only the
    order statistics the quantiles need, in parallel over cells, without a transposed copy.

    Parameters
    ----------
    values : numpy.ndarray
        ``[draw, ...]`` (float32 or float64; computed in float64).
    q : sequence of float
        Shares in [0, 1].
    engine : {"numba", "numpy"}, default "numba"

    Returns
    -------
    numpy.ndarray
        ``[len(q), ...]`` float64; NaN where a cell holds no number.
    """
    q = np.asarray(q, dtype=float)
    order = np.argsort(q, kind="stable")
    values = np.asarray(values)
    if values.dtype not in (np.float32, np.float64):
        values = values.astype(float)
    head = values.shape[1:]
    flat = values.reshape(values.shape[0], -1) if values.ndim != 2 else values
    out = np.empty((len(q), flat.shape[1]))
    if flat.shape[0] == 0:
        out[...] = np.nan
    elif flat.size:
        _draw_quantiles(engine, work=flat.size)(flat, np.ascontiguousarray(q[order]), out)
    result = np.empty_like(out)
    result[order] = out
    return result.reshape((len(q),) + head)


def _write_all(fd: int, array: np.ndarray, offset: int) -> None:
    """Write a C-contiguous ``array`` at byte ``offset`` of the file ``fd``, however many calls it takes."""
    view = memoryview(array).cast("B")
    while view.nbytes:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def _read_all(fd: int, array: np.ndarray, offset: int) -> None:
    """Fill a C-contiguous ``array`` from byte ``offset`` of the file ``fd`` (read straight into it)."""
    view = memoryview(array).cast("B")
    while view.nbytes:
        done = os.preadv(fd, [view], offset)
        if done <= 0:
            raise OSError(f"the draws' store ended early at byte {offset}")
        view, offset = view[done:], offset + done


class _DrawBlocks:
    """Chunks of draws of a few variables (``names``, ``draws``, ``cell_shape``: as
    :class:`QuantileStore`'s) collected, in draw order, into blocks of up to ``block_draws``
    draws, each handed to :meth:`_block` when full (or the last)."""

    def __init__(self, names, draws: int, cell_shape, block_draws: int):
        self.names, self.draws, self.cell_shape = list(names), int(draws), tuple(cell_shape)
        self.cells = int(np.prod(self.cell_shape))
        self._block_draws = min(block_draws, self.draws)
        self._start = 0   # first draw of the block being filled
        self._filled = 0  # draws in it

    def add(self, start: int, part: dict) -> None:
        """The next chunk of draws ``start..`` (chunks in draw order), ``part[name]`` ``[D, *cell_shape]``."""
        if start != self._start + self._filled:
            raise ValueError(f"chunk at draw {start}, expected {self._start + self._filled}")
        n = len(part[self.names[0]])
        done = 0
        while done < n:
            take = min(n - done, self._block_draws - self._filled)
            for v, name in enumerate(self.names):
                self._put(v, self._filled, part[name][done:done + take].reshape(take, -1))
            self._filled += take
            done += take
            if self._filled == self._block_draws or self._start + self._filled == self.draws:
                self._block(self._filled)
                self._start += self._filled
                self._filled = 0

    def _put(self, variable: int, first: int, values: np.ndarray) -> None:
        """Values ``[draws, cells]`` of ``variable`` at draw ``first`` of the block being filled."""
        raise NotImplementedError

    def _block(self, count: int) -> None:
        """The block of ``count`` draws from draw ``self._start`` is complete."""
        raise NotImplementedError


class DrawStore(_DrawBlocks):
    """The values of a few variables for every draw, on disk, cell by cell (see the module notes).

    Parameters
    ----------
    names, draws, cell_shape
        As :class:`QuantileStore`'s.
    folder : path, optional
        Where the temporary file goes (default: the system's temporary folder).
    """

    def __init__(self, names, draws: int, cell_shape, folder=None):
        super().__init__(names, draws, cell_shape, BUFFER_DRAWS)
        self._file = tempfile.TemporaryFile(dir=folder, prefix="socsec_proj-draws-")  # gone when closed
        self._fd = self._file.fileno()
        self._buffer = np.empty((len(self.names), self._block_draws, self.cells))
        # the buffer transposed for writing, allocated once: a fresh 41 MB array per variable and
        # write costs its page faults each time (0.13 s against 0.01 s for the transpose alone)
        self._transposed = np.empty((self.cells, self._block_draws))
        self._blocks = []  # (first draw, draws) of each block written

    def _offset(self, variable: int, first_draw: int, cell: int, block_draws: int) -> int:
        """Byte offset of ``cell`` in the block of ``block_draws`` draws from ``first_draw``: a
        variable's draws take ``cells x draws`` values, its blocks one after another, each laid
        out ``[cell, draw in block]``."""
        return (variable * self.cells * self.draws + first_draw * self.cells + cell * block_draws) * 8

    def _put(self, variable: int, first: int, values: np.ndarray) -> None:
        self._buffer[variable, first:first + len(values)] = values

    def _block(self, count: int) -> None:
        # the block [cell, draw]: contiguous as a whole (a shorter last block gets its own array)
        transposed = self._transposed if count == self._block_draws else np.empty((self.cells, count))
        for v in range(len(self.names)):
            transposed[...] = self._buffer[v, :count].T
            _write_all(self._fd, transposed, self._offset(v, self._start, 0, count))
        self._blocks.append((self._start, count))

    def quantiles(self, name: str, q) -> np.ndarray:
        """Exact quantiles over every draw of ``name``: ``[len(q), *cell_shape]``."""
        if self._start != self.draws:
            raise ValueError(f"{self._start} of {self.draws} draws stored")
        v = self.names.index(name)
        block = max(1, min(self.cells, BLOCK_BYTES // (8 * self.draws)))
        out = np.empty((len(q), self.cells))
        for first in range(0, self.cells, block):
            cells = min(block, self.cells - first)
            values = np.empty((cells, self.draws))
            for first_draw, count in self._blocks:  # this range of cells of every block of draws
                part = np.empty((cells, count))
                _read_all(self._fd, part, self._offset(v, first_draw, first, count))
                values[:, first_draw:first_draw + count] = part
            # the selection kernel (numpy's quantiles to the bit; 5-8 ns per value against numpy's
            # sort or partition, 38-43 ns: at 100,000 draws, 1e9 values, ~40 s of the run's tail),
            # on this thread: a parallel loop would start OpenMP's threads, and this process could
            # then no longer fork the workers of its next run (_accelerate.fork_is_safe)
            with single_threaded():
                out[:, first:first + cells] = draw_quantiles(values.T, q)
        return out.reshape((len(q),) + self.cell_shape)

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# --------------------------------------------------------------------------------------------
# The values near each quantile: what a summary keeps in memory instead of every draw

#: Draws a :class:`QuantileStore` keeps whole before it narrows to the values near each quantile.
NARROW_FROM = 2048
#: Half-width of the band of ranks kept around each quantile, in standard deviations of that
#: quantile's rank among the draws seen so far (binomial, ``sqrt(n q (1 - q))``), plus
#: ``BAND_Z ** 2`` ranks for the tails, where a few values make the rank's error skewed.
BAND_Z = 6.0
#: Draws collected before they are sorted into a store's bands (one kernel call per variable).
BATCH_DRAWS = 256


@jit
def _into_bands(block, lo, hi, below, above, valid, offsets, kept, keep):
    """Sort one block of draws into the bands: count each value below or above each band
    ``[lo, hi]`` (``below``, ``above`` [K, C], ``valid`` [C] updated), keep it if inside a band
    that is not a single value; ``kept[offsets[c]:offsets[c + 1]]``: cell ``c``'s kept values.
    Returns how many values were kept. ``block``: [cells, draws], NaN left out; ``keep``: room
    for one cell's draws."""
    cells, draws = block.shape
    bands = lo.shape[0]
    n = 0
    # band by band over a cell's draws, without branches: the loops over draws vectorize (a
    # value's place against a band is a coin toss near it, so branches would be mispredicted),
    # and NaN compares false everywhere, so it is counted nowhere and kept nowhere
    for c in range(cells):
        row = block[c]
        count = 0
        for d in range(draws):
            count += not np.isnan(row[d])
            keep[d] = False
        valid[c] += count
        for k in range(bands):
            low, high = lo[k, c], hi[k, c]
            under = 0
            over = 0
            for d in range(draws):
                under += row[d] < low
                over += row[d] > high
            below[k, c] += under
            above[k, c] += over
            if low < high:
                for d in range(draws):
                    keep[d] |= (low <= row[d]) & (row[d] <= high)
        offsets[c] = n
        for d in range(draws):
            kept[n] = row[d]
            n += keep[d]
    offsets[cells] = n
    return n


@jit
def _group(values, work, in_order):
    """Group a cell's ``values`` into buckets of equal width between their least and greatest
    (``floor((v - least) * scale)``, as :func:`_order_statistics` does), for
    :func:`_count_below` and :func:`_ranked`: ``work[3]`` holds them bucket after bucket,
    ``work[1][b]`` how many lie in the buckets before ``b``; ``in_order[b]`` cleared (no bucket
    put in order yet). Returns ``(buckets, least, greatest, scale)``. Values that span no finite
    width (infinite values, all equal, a span whose inverse overflows) or are too few to bucket
    go into one bucket, counted and put in order whole."""
    bucket_of, counts, cursor, grouped = work
    m = values.shape[0]
    least, greatest = np.inf, -np.inf
    for i in range(m):
        least = min(least, values[i])
        greatest = max(greatest, values[i])
    buckets, scale = _bucketed(values, least, greatest, bucket_of, counts)
    if buckets == 0:
        counts[0], counts[1] = 0, m
        for i in range(m):
            grouped[i] = values[i]
        if m > 0:
            in_order[0] = 0.0
        return 1, least, greatest, 0.0
    for b in range(buckets):
        cursor[b] = counts[b]
        in_order[b] = 0.0
    for i in range(m):
        b = bucket_of[i]
        grouped[cursor[b]] = values[i]
        cursor[b] += 1
    return buckets, least, greatest, scale


@jit
def _count_below(grouped, counts, buckets, least, greatest, scale, x, or_equal):
    """How many of a cell's values are below ``x`` (``or_equal``: at most ``x``), the values
    grouped by bucket (``grouped``; bucket ``b`` holds ``grouped[counts[b]:counts[b + 1]]``,
    ``floor((v - least) * scale)``, the last bucket also ``greatest``): the buckets before ``x``'s
    and a count within it. ``floor`` never decreases as ``v`` grows, so a value of an earlier
    bucket is below ``x`` and one of a later bucket above it."""
    if x < least or (x == least and not or_equal):
        return 0
    if x > greatest or (x == greatest and or_equal):
        return counts[buckets]
    b = 0 if buckets == 1 else min(int((x - least) * scale), buckets - 1)  # (one bucket: no finite span)
    n = counts[b]
    for i in range(counts[b], counts[b + 1]):
        n += (grouped[i] <= x) if or_equal else (grouped[i] < x)
    return n


@jit
def _ranked(grouped, counts, buckets, rank, in_order):
    """The value of ``rank`` (from 0) among a cell's values grouped by bucket (as in
    :func:`_count_below`): its bucket found by bisection on ``counts``, put in order in place
    once (``in_order[b]`` set: a bucket's values stay the same numbers in any order)."""
    first, last = 0, buckets - 1
    while first < last:  # the last bucket whose values start at or before the rank
        middle = (first + last + 1) >> 1
        if counts[middle] <= rank:
            first = middle
        else:
            last = middle - 1
    if in_order[first] == 0.0:
        _in_order(grouped[counts[first]:counts[first + 1]])
        in_order[first] = 1.0
    return grouped[rank]


@jit(inline="always")
def _band_moves(valid, q, z, below, size):
    """Where a band of ``size`` values with ``below`` values under it moves: the ranks within it
    ``z`` standard deviations (plus ``z**2``) either side of quantile ``q`` among ``valid``
    values, and whether its lower and upper bound move in to them."""
    virtual = (valid - 1) * q
    width = z * np.sqrt(valid * q * (1.0 - q)) + z * z
    first = int(np.floor(virtual - width)) - below  # ranks within the band
    last = int(np.ceil(virtual + width)) - below
    return first, last, 0 < first < size, 0 <= last < size - 1


@jit
def _narrowed(compact, compact_offsets, pending, pending_offsets, lo, hi, below, above, valid, q, z, narrow,
              out_offsets, out, gathered, in_order, work):
    """Gather each cell's kept values, those of the last gathering (``compact`` by
    ``compact_offsets`` [C + 1]) and those of the blocks since (``pending`` by
    ``pending_offsets`` [blocks, C + 1]), into one (``out``, ``out_offsets``); with ``narrow``,
    first move each band's bounds in to the order statistics ``z`` standard deviations (plus
    ``z**2``) of rank either side of its quantile among the ``valid`` values seen, counting
    what falls outside exactly, and drop the values no band holds any longer. Returns how many
    values are kept.

    A cell's values are grouped once into buckets of equal width (as :func:`_order_statistics`
    does), so that each band's size, its order statistics and what leaves it are counts of
    whole buckets and of a few values, not a pass over every value per band (seven passes
    for the command line's seven quantiles): a 100,000-draw summary's narrowings took 31 s of
    the caller's CPU so. The kept values stay in the order they were gathered in.
    ``gathered``, ``in_order`` and ``work`` (:func:`_work_arrays`): room for a cell's values.
    """
    blocks = pending_offsets.shape[0]
    cells = compact_offsets.shape[0] - 1
    bands = lo.shape[0]
    flags, counts, _, grouped = work  # (the first array flags the kept values once they are grouped)
    n = 0
    for c in range(cells):
        m = 0
        for i in range(compact_offsets[c], compact_offsets[c + 1]):
            gathered[m] = compact[i]
            m += 1
        for b in range(blocks):
            for i in range(pending_offsets[b, c], pending_offsets[b, c + 1]):
                gathered[m] = pending[i]
                m += 1
        if narrow and m > 0:
            buckets, least, greatest, scale = _group(gathered[:m], work, in_order)
            for k in range(bands):
                low, high = lo[k, c], hi[k, c]
                if not low < high:
                    continue
                under = _count_below(grouped, counts, buckets, least, greatest, scale, low, False)
                up_to = _count_below(grouped, counts, buckets, least, greatest, scale, high, True)
                first, last, move_lo, move_hi = _band_moves(valid[c], q[k], z, below[k, c], up_to - under)
                if not (move_lo or move_hi):
                    continue
                # the band's values are ranks under .. up_to - 1 of the cell's
                new_lo = _ranked(grouped, counts, buckets, under + first, in_order) if move_lo else low
                new_hi = _ranked(grouped, counts, buckets, under + last, in_order) if move_hi else high
                # what leaves the band, counted exactly (ties stay inside)
                below[k, c] += _count_below(grouped, counts, buckets, least, greatest, scale, new_lo, False) - under
                above[k, c] += up_to - _count_below(grouped, counts, buckets, least, greatest, scale, new_hi, True)
                lo[k, c], hi[k, c] = new_lo, new_hi
        # the values some band still holds, in the order gathered (the flags' loops vectorize)
        for i in range(m):
            flags[i] = 0
        for k in range(bands):
            low, high = lo[k, c], hi[k, c]
            if low < high:
                for i in range(m):
                    flags[i] |= (low <= gathered[i]) & (gathered[i] <= high)
        out_offsets[c] = n
        for i in range(m):
            out[n] = gathered[i]
            n += flags[i]
    out_offsets[cells] = n
    return n


@jit
def _band_quantiles(values, offsets, lo, hi, below, above, valid, q, out, missed, in_order, work):
    """``out[k, c]``: quantile ``q[k]`` of cell ``c``'s values by numpy's linear rule, from the
    band ``k`` kept around it (``values[offsets[c]:offsets[c + 1]]``: the cell's kept values);
    ``missed[c]`` where an order statistic needed lies outside its band (``out`` NaN there)."""
    cells = offsets.shape[0] - 1
    bands = lo.shape[0]
    counts, grouped = work[1], work[3]
    for c in range(cells):
        m = valid[c]
        cell_values = values[offsets[c]:offsets[c + 1]]
        # the cell's kept values bucketed once for all its bands (as in _narrowed)
        buckets, least, greatest, scale = _group(cell_values, work, in_order)
        for k in range(bands):
            out[k, c] = np.nan
            if m == 0:
                continue
            low, high, gamma = _linear_position(m, q[k])
            if low < below[k, c] or high > m - 1 - above[k, c]:
                missed[c] = True
                continue
            if not lo[k, c] < hi[k, c]:  # a band of one value: every value inside it is that value
                out[k, c] = _mix(lo[k, c], lo[k, c], gamma)
                continue
            under = _count_below(grouped, counts, buckets, least, greatest, scale, lo[k, c], False)
            size = _count_below(grouped, counts, buckets, least, greatest, scale, hi[k, c], True) - under
            if size != m - below[k, c] - above[k, c]:  # cannot happen: the band's values are all kept
                missed[c] = True
                continue
            # the band's values are ranks under .. under + size - 1 of the cell's kept values
            out[k, c] = _mix(_ranked(grouped, counts, buckets, under + low - below[k, c], in_order),
                             _ranked(grouped, counts, buckets, under + high - below[k, c], in_order), gamma)


#: How many values per cell a buffer of the store is allocated for, as a multiple of the
#: bands' width at the run's draws (:func:`band_width`): measured 1.23 x at 100,000 draws
#: (the last gathering, the bands and the values since), 1.44 x at 5,000.
BAND_SLACK = 1.5


def band_width(draws: int, q) -> float:
    """Values per cell the bands of quantiles ``q`` hold at ``draws`` draws: ``2 (BAND_Z
    sqrt(draws q (1 - q)) + BAND_Z**2)`` for each, at most every draw (:class:`QuantileStore`)."""
    width = sum(2.0 * (BAND_Z * float(np.sqrt(draws * x * (1.0 - x))) + BAND_Z ** 2) for x in q)
    return min(float(draws), width)


def _room(array: np.ndarray, size: int) -> np.ndarray:
    """``array``, or a larger one holding its values if it has fewer than ``size`` elements."""
    if len(array) >= size:
        return array
    grown = np.empty(max(size, 2 * len(array)))
    grown[:len(array)] = array
    return grown


class QuantileStore(_DrawBlocks):
    """Exact quantiles over many draws from the values near each quantile only (see the module notes).

    Parameters
    ----------
    names : sequence of str
        The variables, each ``[draw, cells...]`` per chunk.
    draws : int
        Total number of draws.
    cell_shape : tuple of int
        Shape of one draw's values of a variable, e.g. (province, year).
    q : sequence of float
        The quantiles, in [0, 1].
    """

    def __init__(self, names, draws: int, cell_shape, q):
        super().__init__(names, draws, cell_shape, BATCH_DRAWS)
        self.q = np.ascontiguousarray(q, dtype=float)
        bands = (len(self.q), self.cells)
        # per variable: the bands and their counts; the values kept at the last gathering
        # ("compact") and those kept from each block since ("pending", one array, a row of
        # offsets per block); "spare" receives the next gathering, then the two swap. Each
        # buffer is allocated once at the size the bands should need (a page is memory only
        # once written, and on this VM a page written the first time costs ~5-10 ms per MB: a
        # buffer grown by copying pays twice); _room grows one that runs short.
        per_cell = max(min(self.draws, NARROW_FROM), min(self.draws, BAND_SLACK * band_width(self.draws, self.q)))
        expected = self.cells * int(per_cell + BATCH_DRAWS)  # (every draw is kept until NARROW_FROM)
        self._state = [{"lo": np.full(bands, -np.inf), "hi": np.full(bands, np.inf),
                        "below": np.zeros(bands, dtype=np.int64), "above": np.zeros(bands, dtype=np.int64),
                        "valid": np.zeros(self.cells, dtype=np.int64),
                        "compact": np.empty(expected), "compact_offsets": np.zeros(self.cells + 1, dtype=np.int64),
                        "pending": np.empty(expected), "pending_offsets": [], "pending_size": 0,
                        "spare": np.empty(expected)}
                       for _ in self.names]
        # a block of draws laid out [variable, cell, draw]: the kernel reads each cell's draws in a row
        self._batch = np.empty((len(self.names), self.cells, self._block_draws))
        self._keep = np.empty(self._block_draws, dtype=np.bool_)
        self._missed = {}

    @property
    def kept_values(self) -> int:
        """Values held now, over every variable."""
        return sum(int(state["compact_offsets"][-1]) + state["pending_size"] for state in self._state)

    def _put(self, variable: int, first: int, values: np.ndarray) -> None:
        self._batch[variable, :, first:first + len(values)] = values.T

    def _block(self, count: int) -> None:
        for v, state in enumerate(self._state):
            used = state["pending_size"]
            state["pending"] = _room(state["pending"], used + count * self.cells)
            offsets = np.empty(self.cells + 1, dtype=np.int64)
            n = _into_bands(self._batch[v, :, :count], state["lo"], state["hi"], state["below"], state["above"],
                            state["valid"], offsets, state["pending"][used:], self._keep)
            state["pending_offsets"].append(offsets + used)
            state["pending_size"] = used + n
            # narrow once enough draws are in, then whenever the values kept since have caught
            # up with those kept at the last narrowing: the memory stays within about three times
            # the bands (resources.STORE_BAND_FACTOR)
            if self._start + count >= NARROW_FROM and state["pending_size"] >= state["compact_offsets"][-1]:
                self._gather(state, narrow=True)

    def _gather(self, state, narrow: bool) -> None:
        if not narrow and not state["pending_offsets"]:
            return
        pending_offsets = np.array(state["pending_offsets"], dtype=np.int64).reshape(-1, self.cells + 1)
        per_cell = np.diff(state["compact_offsets"]) + (pending_offsets[:, 1:] - pending_offsets[:, :-1]).sum(axis=0)
        largest = int(per_cell.max()) if self.cells else 0
        out = state["spare"] = _room(state["spare"], int(per_cell.sum()))
        out_offsets = np.empty(self.cells + 1, dtype=np.int64)
        _narrowed(state["compact"], state["compact_offsets"], state["pending"], pending_offsets, state["lo"],
                  state["hi"], state["below"], state["above"], state["valid"], self.q, BAND_Z, narrow, out_offsets,
                  out, np.empty(largest), np.empty(largest), _work_arrays(largest))
        state["spare"], state["compact"], state["compact_offsets"] = state["compact"], out, out_offsets
        state["pending_offsets"], state["pending_size"] = [], 0

    def quantiles(self, name: str) -> np.ndarray:
        """Exact quantiles of ``name`` over every draw: ``[len(q), *cell_shape]``, NaN in the
        cells :meth:`missed` names (an order statistic fell outside its band)."""
        if self._start != self.draws:
            raise ValueError(f"{self._start} of {self.draws} draws stored")
        state = self._state[self.names.index(name)]
        self._gather(state, narrow=False)
        offsets = state["compact_offsets"]
        largest = int(np.diff(offsets).max()) if self.cells else 0
        out = np.empty((len(self.q), self.cells))
        missed = np.zeros(self.cells, dtype=bool)
        _band_quantiles(state["compact"], offsets, state["lo"], state["hi"], state["below"], state["above"],
                        state["valid"], self.q, out, missed, np.empty(largest), _work_arrays(largest))
        self._missed[name] = missed.reshape(self.cell_shape)
        return out.reshape((len(self.q),) + self.cell_shape)

    def missed(self, name: str) -> np.ndarray:
        """The cells of ``name`` whose quantiles the bands did not hold (after :meth:`quantiles`)."""
        return self._missed[name]

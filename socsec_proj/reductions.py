"""Reductions over the draws of a stochastic run: exact quantiles, means, depletion years, chunk by chunk.

``ssp.run(..., draws=N, summary=(0.01, 0.05, 0.5, 0.95, 0.995))`` keeps only what users read,
so that its memory does not grow with N (a run that keeps every draw needs 0.42 MB per draw
and stops fitting near 15,000 draws on a 24 GiB machine):

- the **quantiles** over draws of a few variables (by default each fund's balance), per
  province and year, *exact*: equal to ``numpy.quantile`` of the same draws kept whole;
- the **mean** over draws of every variable a stochastic run keeps (a running float64 sum);
- each draw's **depletion year** per province and of China's total balance (float32, NaN:
  never within the horizon; a few bytes per draw), and from them the **probability of
  depletion by each year**.

How the quantiles stay exact. An exact median needs every value (no one-pass sketch is
exact), so the quantile variables' values are written to a temporary file on disk
(:class:`DrawStore`), laid out cell by cell (province x year) with every draw's value of a cell
side by side. Chunks of draws collect in a buffer of :data:`BUFFER_DRAWS` draws that is then
written out transposed (one contiguous write per cell); the reduction reads a block of cells
at a time, all draws, and selects the order statistics it needs (``numpy.partition``, no full
sort). Memory is the buffer plus one block; the disk holds 8 bytes x draws x cells x
variables (4 balances, 100,000 draws: 8 GB), removed when the run ends. A store such as zarr
would do the same with a dependency; numpy's file reads are enough for one layout.

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

from .errors import InputError

#: The quantiles a summary keeps when asked for ``summary=True``.
DEFAULT_QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.995)
#: Draws collected in memory before the quantile variables are written to the store: 2,048
#: draws of 4 variables x 2,511 cells are 165 MB, and each cell is then one write of 16 kB.
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


class DrawStore:
    """The values of a few variables for every draw, on disk, cell by cell (see the module notes).

    Parameters
    ----------
    names : sequence of str
        The variables, each ``[draw, cells...]`` per chunk.
    draws : int
        Total number of draws.
    cell_shape : tuple of int
        Shape of one draw's values of a variable, e.g. (province, year).
    folder : path, optional
        Where the temporary file goes (default: the system's temporary folder).
    """

    def __init__(self, names, draws: int, cell_shape, folder=None):
        self.names, self.draws, self.cell_shape = list(names), int(draws), tuple(cell_shape)
        self.cells = int(np.prod(self.cell_shape))
        self._file = tempfile.TemporaryFile(dir=folder, prefix="socsec_proj-draws-")  # gone when closed
        self._fd = self._file.fileno()
        self._buffer_draws = min(BUFFER_DRAWS, self.draws)
        self._buffer = np.empty((len(self.names), self._buffer_draws, self.cells))
        self._start = 0   # first draw of the buffer
        self._filled = 0  # draws in the buffer

    def _offset(self, variable: int, cell: int, draw: int) -> int:
        return ((variable * self.cells + cell) * self.draws + draw) * 8

    def add(self, start: int, part: dict) -> None:
        """The next chunk of draws ``start..`` (chunks in draw order), ``part[name]`` ``[D, *cell_shape]``."""
        if start != self._start + self._filled:
            raise ValueError(f"chunk at draw {start}, expected {self._start + self._filled}")
        n = len(part[self.names[0]])
        done = 0
        while done < n:
            take = min(n - done, self._buffer_draws - self._filled)
            for v, name in enumerate(self.names):
                self._buffer[v, self._filled:self._filled + take] = part[name][done:done + take].reshape(take, -1)
            self._filled += take
            done += take
            if self._filled == self._buffer_draws or self._start + self._filled == self.draws:
                self._flush()

    def _flush(self) -> None:
        count = self._filled
        for v in range(len(self.names)):
            cells = np.ascontiguousarray(self._buffer[v, :count].T)  # [cell, draw]
            for cell in range(self.cells):
                os.pwrite(self._fd, cells[cell].data, self._offset(v, cell, self._start))
        self._start += count
        self._filled = 0

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
            view, offset = memoryview(values).cast("B"), self._offset(v, first, 0)
            while view.nbytes:  # read straight into the array (a regular file reads whole, but be sure)
                done = os.preadv(self._fd, [view], offset)
                if done <= 0:
                    raise OSError(f"the draws' store ended early at byte {offset}")
                view, offset = view[done:], offset + done
            out[:, first:first + cells] = quantiles(values, q, overwrite=True)
        return out.reshape((len(q),) + self.cell_shape)

    def close(self) -> None:
        self._file.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

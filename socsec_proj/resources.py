"""How much a stochastic run needs, checked before it starts: memory per draw and draws that fit.

A stochastic run keeps every draw's (province, year) totals in memory, and the command line
then takes quantiles over them and writes them as NetCDF. 10^8 draws would need terabytes:
the run is refused before anything is computed, saying how many draws would fit, instead of
failing with a ``MemoryError`` after the deterministic run.

The per-draw figure is measured, not derived: update :data:`ARRAYS_PER_DRAW` and
:data:`PEAK_FACTOR` when :mod:`socsec_proj.stochastic` changes what it keeps.
"""

from __future__ import annotations

import numbers
import os
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


def check_draws(draws, n_years: int = 81, keep=(), *, source=None, key="draws", available=None) -> None:
    """Refuse a number of draws that is not a whole number >= 1 or would not fit in memory.

    Raises
    ------
    InputError
        Naming how many draws would fit, before anything is computed.
    """
    if isinstance(draws, bool) or not isinstance(draws, numbers.Integral) or draws < 1:
        raise InputError(f"{draws!r} draws", source=source, key=key, expected="a whole number of draws, at least 1")
    draws = int(draws)
    fit = max_draws(n_years=n_years, keep=keep, available=available)
    if fit is not None and draws > fit:
        need = draws * bytes_per_draw(n_years=n_years, keep=keep)
        raise InputError(f"{draws:,} draws would need about {need / 2**30:,.1f} GiB of memory; "
                         f"{fit:,} draws fit in this machine's available memory", source=source, key=key,
                         expected=f"at most {fit:,} draws on this machine")

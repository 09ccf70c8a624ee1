"""Charts kept on disk by what they were drawn from, so that a chart whose numbers did not change is not drawn again.

A chart is a pure function of what it is given: the plan of a run (:func:`~.outputs.chart_plan`)
hands each chart only the variables it reads (:func:`~.outputs.chart_inputs`), and its PNG bytes
are decided by those, the chart's other arguments, the code that draws it, matplotlib and its
settings, and the fonts. :func:`key` hashes all of these (SHA-256; the package's code as a whole);
:func:`load` gives back the PNG stored under a key, :func:`store` stores one. A scenario run again, or changed in a way
that leaves some charts' numbers as they were (a new unemployment rate leaves the pension and
population charts alone), reuses those charts instead of drawing them (0.07-0.2 s each on 2 cores).

Where: ``$SOCSEC_PROJ_CHART_CACHE`` if set to a folder, else ``charts/`` in the per-user cache
folder of this version (beside numba's kernels, never inside the package); ``0`` (or ``off``)
turns it off. The folder is kept under :data:`KEPT_BYTES` (the least recently used charts go
first). A stored file that is not a whole PNG is ignored and drawn again.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

__all__ = ["cache_folder", "key", "load", "store"]

#: The most the folder keeps [bytes] (a baseline run's 14 charts are ~2 MB).
KEPT_BYTES = 256 * 2**20

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_END = b"\x00\x00\x00\x00IEND\xaeB`\x82"
_STATE = {}


def cache_folder() -> Path | None:
    """The folder charts are kept in, or None when the cache is off or cannot be written."""
    own = os.environ.get("SOCSEC_PROJ_CHART_CACHE", "")
    if own.lower() in ("0", "off", "no", "false"):
        return None
    from .._accelerate import user_cache_dir, writable

    folder = Path(own) if own else user_cache_dir("charts")
    return folder if writable(folder) else None


def _environment() -> bytes:
    """What decides the pixels besides the chart's own inputs: this package's drawing code,
    matplotlib's version and settings (``rcParams``), the fonts it can find and the CJK font."""
    import matplotlib
    import pandas as pd
    import xarray as xr
    from matplotlib import font_manager

    from .._accelerate import _version
    from .fonts import cjk_font

    if "code" not in _STATE:  # all of this package's code, read once a process (~1 MB)
        package = Path(__file__).resolve().parents[1]
        digest = hashlib.sha256()
        for path in sorted(package.rglob("*.py")):
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
        _STATE["code"] = digest.digest()
    cjk = cjk_font()
    fonts = []  # every font matplotlib knows; of the two families the charts name, size and date too
    for entry in sorted(font_manager.fontManager.ttflist, key=lambda entry: entry.fname):
        fonts.append(entry.fname)
        if entry.name in ("DejaVu Sans", cjk):
            try:
                stat = os.stat(entry.fname)
            except OSError:
                continue
            fonts.append(f"{entry.name}:{stat.st_size}:{stat.st_mtime_ns}")
    parts = (_version(), _STATE["code"].hex(), matplotlib.__version__, np.__version__, xr.__version__, pd.__version__,
             repr(sorted((name, repr(value)) for name, value in matplotlib.rcParams.items())), repr(cjk),
             "\n".join(fonts))
    return "\0".join(parts).encode("utf-8", "surrogatepass")


def _feed(digest, value) -> None:
    """Hash ``value`` (a chart's argument) into ``digest``, its type and layout included."""
    import xarray as xr

    if isinstance(value, xr.Dataset):
        digest.update(b"Dataset")
        for name in sorted(map(str, value.variables)):  # data variables and coordinates
            digest.update(name.encode())
            _feed(digest, value.variables[name])
        _feed(digest, dict(value.attrs))
    elif isinstance(value, xr.DataArray):
        digest.update(b"DataArray")
        _feed(digest, value.to_dataset(name="_") if value.name is None else value.to_dataset())
    elif isinstance(value, xr.Variable):
        digest.update(repr((value.dims, sorted(value.attrs.items()))).encode("utf-8", "surrogatepass"))
        _feed(digest, value.values)
    elif isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        digest.update(repr((array.dtype.str, array.shape)).encode())
        if array.dtype.hasobject:
            digest.update(repr(array.tolist()).encode("utf-8", "surrogatepass"))
        else:
            digest.update(array.view(np.uint8).reshape(-1) if array.size else b"")
    elif isinstance(value, dict):
        digest.update(b"dict")
        for name in sorted(value, key=repr):
            _feed(digest, name)
            _feed(digest, value[name])
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__}{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, (bool, int, float, str, np.generic)):
        digest.update(repr((type(value).__name__, value)).encode("utf-8", "surrogatepass"))
    else:  # nothing else is hashed by its value: such a chart is not kept
        raise TypeError(f"a chart argument of type {type(value).__name__} has no key")


def key(function, args: tuple, kwargs: dict, dpi: int) -> str | None:
    """The key of the chart ``function(*args, **kwargs)`` drawn at ``dpi``, or None if one of
    its arguments cannot be hashed by its value (then it is drawn every time)."""
    digest = hashlib.sha256(_environment())
    digest.update(f"{function.__module__}.{function.__qualname__}\0{int(dpi)}".encode())
    try:
        _feed(digest, tuple(args))
        _feed(digest, dict(kwargs))
    except TypeError:
        return None
    return digest.hexdigest()


def load(chart_key: str | None) -> bytes | None:
    """The PNG kept under ``chart_key``, or None (none kept, the cache off, a broken file)."""
    folder = cache_folder() if chart_key else None
    if folder is None:
        return None
    path = folder / f"{chart_key}.png"
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if not (data.startswith(_PNG_SIGNATURE) and data.endswith(_PNG_END)):
        return None
    try:
        os.utime(path)  # recently used: pruned last
    except OSError:
        pass
    return data


def store(chart_key: str | None, data: bytes) -> None:
    """Keep the PNG ``data`` under ``chart_key`` (written under a temporary name and renamed,
    so that a reader never sees half a file); nothing happens when the cache is off or full of
    errors: a chart not kept is only drawn again."""
    from ..outputs import file_in_place

    folder = cache_folder() if chart_key else None
    if folder is None:
        return
    try:
        with file_in_place(folder / f"{chart_key}.png") as temporary:
            temporary.write_bytes(data)
    except OSError:
        return
    if not _STATE.get("pruned"):  # once per process: the folder kept under KEPT_BYTES
        _STATE["pruned"] = True
        _prune(folder)


def _prune(folder: Path) -> None:
    try:
        files = [(stat.st_mtime_ns, stat.st_size, entry.path) for entry in os.scandir(folder)
                 if entry.name.endswith(".png") and (stat := entry.stat())]
    except OSError:
        return
    total = sum(size for _, size, _ in files)
    for _, size, path in sorted(files):
        if total <= KEPT_BYTES:
            break
        try:
            os.unlink(path)
        except OSError:
            continue
        total -= size


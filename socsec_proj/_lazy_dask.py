"""xarray without dask until dask is used: importing this module is enough.

xarray asks, for every Variable it builds from a NumPy array, whether the data is a dask array
(``array_type("dask")`` in ``as_compatible_data``) or a dask collection (``is_dask_collection``
in ``is_duck_dask_array``), and answers both by importing dask (and ``dask.array``: 0.25-0.36 s,
~0.65 s under load); ``to_netcdf`` asks which dask scheduler is active
(``get_dask_scheduler``), which imports dask and ``dask.distributed`` (0.7 s). A deterministic
run never holds a dask object, and nothing can be one before dask is imported: its array class
and its collections are defined in dask, and no scheduler of it runs. So these questions are
answered "no" (no scheduler: ``None``, which xarray treats as its ``"threaded"``) while
``dask`` is not in ``sys.modules``, and exactly as xarray answers them once anything (a
``Client``, the user) has imported it. They are applied to xarray's own module state (its cache
of duck-array modules, the module-level functions its callers look up); where an xarray release
lacks one, that one is left alone (dask is then imported as before, which
``tests/test_startup.py`` notices).
"""

from __future__ import annotations

import functools
import importlib
import sys


def _dask_imported() -> bool:
    return "dask" in sys.modules


def defer_dask() -> None:
    """Make xarray look for dask only once dask is imported (idempotent)."""
    try:
        from xarray.namedarray import pycompat, utils
    except ImportError:  # another xarray layout: nothing deferred
        return
    _defer(utils, "is_dask_collection", False)
    for name in ("xarray.backends.locks", "xarray.backends.writers"):  # the latter imports it by name
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        _defer(module, "get_dask_scheduler", None)
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    module_type = getattr(pycompat, "DuckArrayModule", None)
    if isinstance(cache, dict) and module_type is not None and "dask" not in cache and not _dask_imported():
        cache["dask"] = _DaskOnceImported(module_type)


def _defer(module, name, before) -> None:
    """``module.name`` answers ``before`` while dask is not imported, as it did after."""
    original = getattr(module, name, None)
    if not callable(original) or getattr(original, "defers_dask", False):
        return

    @functools.wraps(original)
    def deferred(*args, **kwargs):
        return original(*args, **kwargs) if _dask_imported() else before

    deferred.defers_dask = True
    setattr(module, name, deferred)


class _DaskOnceImported:
    """Stands in xarray's cache for its ``DuckArrayModule("dask")``: no module, no array type
    while dask is not imported; the real one, built on first use, after."""

    def __init__(self, module_type):
        self._module_type = module_type
        self._real = None

    def _resolved(self):
        if self._real is None and _dask_imported():
            self._real = self._module_type("dask")
        return self._real

    def __getattr__(self, name):  # module, version, type, available
        real = self._resolved()
        if real is not None:
            return getattr(real, name)
        unavailable = {"type": (), "available": False, "module": None}  # as xarray's for a missing module
        if name in unavailable:
            return unavailable[name]
        if name == "version":
            from packaging.version import Version

            return Version("0.0.0")
        raise AttributeError(name)


defer_dask()

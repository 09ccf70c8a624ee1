"""Where a set of results came from: package version, the scenario's content hash, the date.

Every output (``projection.nc``'s attributes, ``summary.md``, ``report.html``, ``results.xlsx``)
carries these three, so a figure quoted in a briefing can be traced to the code and the
scenario that made it. ``ssp.run`` records the version and hash as the Dataset's attributes
(:func:`record`) and the command line the date when it writes the outputs (:func:`stamp`,
``created``); the attributes win over today's, so a report written later from a saved
``projection.nc`` names the run, not the moment of the report.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import xarray as xr

__all__ = ["provenance", "record", "scenario_hash", "stamp"]


def scenario_hash(scenario) -> str:
    """SHA-256 of the scenario's files (its own and every parent it extends), in order [hex].

    The file names (not their folders) and bytes are hashed, so the same scenario gives the
    same hash on any machine; a change to any file of the chain changes it. An empty string
    when the scenario is None or has no files.
    """
    files = tuple(getattr(scenario, "files", ()) or ())
    if not files:
        source = getattr(scenario, "source", None)
        files = (source,) if source else ()
    if not files:
        return ""
    digest = hashlib.sha256()
    for file in files:
        path = Path(file)
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def provenance(ds: xr.Dataset, scenario=None) -> dict:
    """``{"version", "scenario_hash", "created"}`` of a projection, for the outputs to print.

    Parameters
    ----------
    ds : xarray.Dataset
        A projection; its ``socsec_proj_version``, ``scenario_hash`` and ``created``
        attributes are used when present.
    scenario : Scenario, optional
        The scenario it ran, hashed by :func:`scenario_hash` when the Dataset has no hash.

    Returns
    -------
    dict
        ``version`` (package version), ``scenario_hash`` (hex, may be empty), ``created``
        (ISO 8601 UTC, to the second).
    """
    from . import __version__

    created = ds.attrs.get("created") or dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
    return {"version": str(ds.attrs.get("socsec_proj_version") or __version__),
            "scenario_hash": str(ds.attrs.get("scenario_hash") or scenario_hash(scenario)),
            "created": str(created)}


def record(ds: xr.Dataset, scenario) -> xr.Dataset:
    """``ds`` with the package version and the scenario's hash as attributes (``socsec_proj_version``,
    ``scenario_hash``).

    ``ssp.run`` calls it on every projection and stochastic run. The date is not recorded
    here: two runs of the same scenario stay identical Datasets (a test of reproducibility
    compares them whole); :func:`stamp` adds it when outputs are written.
    """
    info = provenance(ds, scenario)
    ds.attrs.update(socsec_proj_version=info["version"], scenario_hash=info["scenario_hash"])
    return ds


def stamp(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` with ``created`` (now, ISO 8601 UTC, to the second) unless it has one: the date every
    output written from it (``projection.nc``, ``summary.md``, ``report.html``, ``results.xlsx``) shows."""
    ds.attrs.setdefault("created", dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat())
    return ds

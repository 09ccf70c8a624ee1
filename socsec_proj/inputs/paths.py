"""Where the embedded data (``params/``) and shipped scenarios (``scenarios/``) are.

In a checkout (and an editable install) they are the repository's top-level folders; a
non-editable install carries them inside the package as ``socsec_proj/_params`` and
``socsec_proj/_scenarios``. ``SOCSEC_PROJ_PARAMS`` overrides the data folder.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def _first_existing(*candidates: Path) -> Path:
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[-1]


def params_dir() -> Path:
    """The folder of embedded data and parameters."""
    override = os.environ.get("SOCSEC_PROJ_PARAMS")
    if override:
        return Path(override)
    return _embedded_params()


@functools.lru_cache(maxsize=1)
def _embedded_params() -> Path:
    # looked up once per process: the tables' caches ask for the folder on every read (~25 times
    # in each chunk of a stochastic run, two directory checks each)
    return _first_existing(_PACKAGE / "_params", _PACKAGE.parent / "params")


def scenarios_dir() -> Path:
    """The folder of shipped scenario files."""
    return _first_existing(_PACKAGE / "_scenarios", _PACKAGE.parent / "scenarios")

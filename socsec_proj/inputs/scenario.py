"""Scenarios: named sets of dated parameter changes, read and checked before anything runs.

A scenario file::

    name: contribution_rate_cut
    description: >
      One paragraph saying what the scenario asks.
    extends: baseline            # optional, see below
    horizon: 2100                # optional last projection year
    provinces: [CN-GD, CN-HE]    # optional subset (kept in national order)
    changes:
      pension.employer_rate:
        2027-01-01: 0.14                  # from this date on
      demography.tfr:
        2030-01-01/2034-12-31: 1.5        # inside the range, then the earlier values resume
      pension.provincial_top_up:
        provinces:
          CN-GD: {2026-01-01: 200}
    targets:                     # optional plan-target checks
      - {indicator: employee_pension_contributors, province: CN-GD, year: 2025,
         value: 48000000, source: "seed 003 table 1"}

Decisions taken on the format:

* ``extends`` names a shipped scenario (``scenarios/NAME.yaml``) or a file beside this one
  (``other.yaml`` or ``./other.yaml``); no other file is ever read (absolute paths, ``..``
  and sub-folders are rejected). Without ``extends`` a scenario extends ``baseline``, except
  the baseline itself (a scenario named ``baseline``) and except when no baseline is
  shipped; ``extends: null`` means no parent.
* Changes are merged parent first, per parameter and per date key: the child's entry for
  the same date (or the same range) replaces the parent's, other parent entries stay. The
  merged mapping is exactly what is applied, and is :attr:`Scenario.changes`.
* ``horizon`` and ``provinces`` are inherited unless the child sets them (``null`` clears
  them). Targets are inherited; a child target for the same indicator, province and year
  replaces the parent's. A target needs ``indicator``, ``year``, ``value`` and ``source``;
  ``province`` is optional (None = national).
* A shipped scenario's ``name`` must be its file name (``scenarios/NAME.yaml``).
"""

from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from ..errors import InputError
from . import paths
from .parameters import ParameterSet, YamlMap, load_parameters, normalize_change_key, read_yaml
from .provinces import validate_codes

__all__ = ["BASELINE", "Scenario", "Target", "list_scenarios", "load_scenario", "validate_scenario"]

#: The scenario every other one extends unless it says otherwise.
BASELINE = "baseline"

SCENARIO_KEYS = ("name", "description", "extends", "horizon", "provinces", "changes", "targets")
TARGET_KEYS = ("indicator", "province", "year", "value", "source")
REQUIRED_TARGET_KEYS = ("indicator", "year", "value", "source")

# Names end up in result folder names, so they are kept to safe characters.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_YEARS = (1950, 2300)


class Target(NamedTuple):
    """A plan target a projection is checked against.

    Attributes
    ----------
    indicator : str
        The result variable, e.g. ``employee_pension_contributors``.
    province : str or None
        ISO code, or None for a national target.
    year : int
    value : float
    source : str
        Where the target comes from.
    """

    indicator: str
    province: str | None
    year: int
    value: float
    source: str


class Scenario(BaseModel):
    """A scenario as loaded: every check done, every change applied to :attr:`parameters`.

    Attributes
    ----------
    name : str
    description : str
    source : Path
        The scenario file.
    extends : str or None
        The parent as written (``"baseline"`` when implied), None for no parent.
    horizon : int or None
        Last projection year.
    provinces : tuple of str or None
        Province subset in national order; None for all 31.
    changes : Mapping
        The merged changes (read-only) ``{path: {"YYYY-MM-DD" or "START/END": value,
        "provinces": {code: {...}}}}``, parents first.
    targets : tuple of Target
    parameters : ParameterSet
        The parameters with every change applied.
    files : tuple of Path
        The files read, the root parent first and this scenario's file last.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    description: str = ""
    source: Path
    extends: str | None = None
    horizon: int | None = None
    provinces: tuple[str, ...] | None = None
    changes: MappingProxyType
    targets: tuple[Target, ...] = ()
    parameters: ParameterSet
    files: tuple[Path, ...] = ()


class _File(NamedTuple):
    """One scenario file as read, before its parents are merged in."""

    path: Path
    data: YamlMap
    name: str
    description: str
    extends: str | None
    parent: Path | None


def _error(message, path, key=None, line=None, expected=None) -> InputError:
    return InputError(message, source=path, key=key, expected=expected, line=line)


def _line(mapping, key):
    return getattr(mapping, "key_lines", {}).get(key)


def _suggest(word, options) -> str:
    near = difflib.get_close_matches(str(word), list(options), n=1)
    return f"; did you mean {near[0]!r}?" if near else ""


def _shipped_names() -> list[str]:
    folder = paths.scenarios_dir()
    return sorted(file.stem for file in folder.glob("*.yaml")) if folder.is_dir() else []


def _shipped(name: str, *, source=None, key=None, line=None) -> Path:
    """The file of a shipped scenario."""
    if not _NAME.match(name):
        raise _error(f"{name!r} is not a scenario name", source, key, line, "letters, digits, _ . -")
    file = paths.scenarios_dir() / f"{name}.yaml"
    if not file.is_file():
        names = _shipped_names()
        raise _error(f"unknown scenario {name!r}{_suggest(name, names)}", source, key, line,
                     "one of " + ", ".join(names) if names else "a file in scenarios/")
    return file.resolve()


def _is_shipped(path: Path) -> bool:
    return path.parent == paths.scenarios_dir().resolve()


def _resolve_extends(value, path: Path, line) -> Path:
    """The file ``extends`` names: a shipped scenario or a file beside ``path``."""
    expected = "a shipped scenario name, or other.yaml / ./other.yaml beside this file"
    if not isinstance(value, str) or not value.strip():
        raise _error(f"{value!r} is not a scenario name or file name", path, "extends", line, expected)
    text = value.strip()
    posix = text.replace("\\", "/")
    if posix.startswith("/") or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise _error(f"absolute path {text!r} not allowed", path, "extends", line, expected)
    parts = [part for part in PurePosixPath(posix).parts if part != "."]
    if ".." in parts:
        raise _error(f"'..' not allowed in {text!r}", path, "extends", line, expected)
    if len(parts) != 1:
        raise _error(f"{text!r} is not beside this file", path, "extends", line, expected)
    if "/" not in posix and not posix.endswith((".yaml", ".yml")):
        return _shipped(text, source=path, key="extends", line=line)
    if not parts[0].endswith(".yaml"):
        raise _error(f"{text!r} is not a .yaml file", path, "extends", line, expected)
    file = path.parent / parts[0]
    if not file.is_file():
        raise _error(f"file {parts[0]!r} not found beside this file", path, "extends", line, expected)
    return file.resolve()


def _read_file(path: Path) -> _File:
    """Read one scenario file and check its top level (changes are checked when applied)."""
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise _error("not a scenario: expected a mapping with name, description, changes, ...", path,
                     line=getattr(data, "line", None) or 1, expected=", ".join(SCENARIO_KEYS))
    for key in data:
        if key not in SCENARIO_KEYS:
            raise _error(f"not a scenario: unknown key {str(key)!r}{_suggest(key, SCENARIO_KEYS)}", path,
                         str(key), _line(data, key), ", ".join(SCENARIO_KEYS))
    if "name" not in data:
        raise _error("not a scenario: no 'name'", path, "name", data.line, "name: a_short_name")
    name = data["name"]
    if not isinstance(name, str) or not _NAME.match(name):
        raise _error(f"{name!r} is not a scenario name", path, "name", _line(data, "name"),
                     "letters, digits, _ . - (it names the results folder)")
    if _is_shipped(path) and name != path.stem:
        raise _error(f"a shipped scenario's name must be its file name {path.stem!r}", path, "name",
                     _line(data, "name"))
    description = data.get("description") or ""
    if not isinstance(description, str):
        raise _error("description must be text", path, "description", _line(data, "description"))

    if "extends" in data:
        extends = data["extends"]
        parent = None if extends is None else _resolve_extends(extends, path, _line(data, "extends"))
        extends = None if extends is None else extends.strip()
    elif name == BASELINE:
        extends, parent = None, None
    else:
        # The implied parent: the shipped baseline, if there is one.
        implied = paths.scenarios_dir() / f"{BASELINE}.yaml"
        parent = implied.resolve() if implied.is_file() else None
        extends = BASELINE if parent else None
    return _File(path=path, data=data, name=name, description=description.strip(), extends=extends, parent=parent)


def _read_chain(entry: Path) -> list[_File]:
    """The scenario files from the root parent to ``entry``, refusing ``extends`` cycles."""
    chain = [_read_file(entry)]
    while chain[-1].parent is not None:
        parent = chain[-1].parent
        seen = [file.path for file in chain]
        if parent in seen:
            cycle = " -> ".join(file.name for file in seen[seen.index(parent):] + [parent])
            raise _error(f"extends cycle: {cycle}", chain[-1].path, "extends", _line(chain[-1].data, "extends"))
        chain.append(_read_file(parent))
    return chain[::-1]


def _horizon(file: _File):
    value, line = file.data["horizon"], _line(file.data, "horizon")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not _YEARS[0] <= value <= _YEARS[1]:
        raise _error(f"{value!r} is not a year", file.path, "horizon", line, f"a year in {_YEARS[0]}..{_YEARS[1]}")
    return value


def _provinces(file: _File):
    value, line = file.data["provinces"], _line(file.data, "provinces")
    if value is None:
        return None
    if not isinstance(value, list) or not value:
        raise _error("provinces must be a non-empty list of codes", file.path, "provinces", line,
                     "e.g. [CN-GD, CN-HE]")
    try:
        return validate_codes(value, source=file.path, key="provinces")
    except InputError as exc:  # add the line
        raise _error(exc.reason, file.path, "provinces", line, exc.expected) from None


def _target(item, index: int, file: _File, line) -> Target:
    key = f"targets[{index}]"
    if not isinstance(item, Mapping):
        raise _error("a target must be a mapping", file.path, key, line, ", ".join(TARGET_KEYS))
    line = getattr(item, "line", line)
    for field in item:
        if field not in TARGET_KEYS:
            raise _error(f"unknown field {str(field)!r}{_suggest(field, TARGET_KEYS)}", file.path, key,
                         _line(item, field) or line, ", ".join(TARGET_KEYS))
    for field in REQUIRED_TARGET_KEYS:
        if item.get(field) is None:
            raise _error(f"missing {field!r}", file.path, key, line, ", ".join(REQUIRED_TARGET_KEYS))
    for field in ("indicator", "source"):
        if not isinstance(item[field], str) or not item[field].strip():
            raise _error(f"{field} must be text", file.path, key, _line(item, field))
    year, value, province = item["year"], item["value"], item.get("province")
    if isinstance(year, bool) or not isinstance(year, int) or not _YEARS[0] <= year <= _YEARS[1]:
        raise _error(f"year {year!r} is not a year", file.path, key, _line(item, "year"),
                     f"a year in {_YEARS[0]}..{_YEARS[1]}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _error(f"value {value!r} is not a finite number", file.path, key, _line(item, "value"))
    if province is not None:
        try:
            province = validate_codes([province], source=file.path, key=key)[0]
        except InputError as exc:
            raise _error(exc.reason, file.path, key, _line(item, "province"), exc.expected) from None
    return Target(item["indicator"].strip(), province, year, value, item["source"].strip())


def _targets(file: _File) -> list[Target]:
    value, line = file.data["targets"], _line(file.data, "targets")
    if value is None:
        return []
    if not isinstance(value, list):
        raise _error("targets must be a list", file.path, "targets", line)
    return [_target(item, index, file, line) for index, item in enumerate(value)]


def _merge_dated(into: YamlMap, entries, file: Path, parameter: str, line) -> None:
    """Merge ``{date or range: value}`` entries of one file into ``into``, by normalized key."""
    if not isinstance(entries, Mapping) or not entries:
        raise _error("a change must be a non-empty mapping of dates to values", file, parameter, line,
                     "{YYYY-MM-DD: value}, {YYYY-MM-DD/YYYY-MM-DD: value} or provinces: {CODE: {...}}")
    for key, value in entries.items():
        if key == "provinces":
            continue
        key_line = _line(entries, key)
        text = normalize_change_key(key, source=file, path=parameter, line=key_line)
        if text in into and into.key_sources.get(text) == file:  # 2027-01-01 and "2027-01-01"
            raise _error(f"{text} is given twice (first at line {into.key_lines[text]})", file, parameter, key_line)
        into[text] = value
        into.key_lines[text] = key_line
        into.key_sources[text] = file


def _child(parent: YamlMap, key, file: Path, line) -> YamlMap:
    """``parent[key]`` as a merge target, recording that ``file`` at ``line`` wrote it last."""
    if key not in parent:
        parent[key] = YamlMap(line=line)
    parent.key_lines[key] = line
    parent.key_sources[key] = file
    return parent[key]


def _merge_changes(chain: list[_File]) -> YamlMap:
    """The changes of the chain merged parent first, each key remembering its file and line."""
    merged = YamlMap()
    for file in chain:
        changes = file.data.get("changes")
        line = _line(file.data, "changes")
        if changes is None:
            continue
        if not isinstance(changes, Mapping):
            raise _error("changes must map parameter paths to dated values", file.path, "changes", line,
                         "pension.employer_rate: {2027-01-01: 0.14}")
        for parameter, change in changes.items():
            change_line = _line(changes, parameter)
            if not isinstance(parameter, str):
                raise _error(f"{parameter!r} is not a parameter path", file.path, "changes", change_line)
            into = _child(merged, parameter, file.path, change_line)
            _merge_dated(into, change, file.path, parameter, change_line)
            if "provinces" not in change:
                continue
            block, block_line = change["provinces"], _line(change, "provinces")
            if not isinstance(block, Mapping) or not block:
                raise _error("provinces must map province codes to {date: value}", file.path, parameter, block_line)
            provinces = _child(into, "provinces", file.path, block_line)
            for code, entries in block.items():
                code_line = _line(block, code)
                try:
                    validate_codes([code], source=file.path, key=parameter)
                except InputError as exc:  # add the line
                    raise _error(f"provinces: {exc.reason}", file.path, parameter, code_line, exc.expected) from None
                _merge_dated(_child(provinces, code, file.path, code_line), entries, file.path, parameter, code_line)
    return merged


def _frozen(value):
    """A read-only copy: mappings become MappingProxyType, lists tuples."""
    if isinstance(value, Mapping):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


def _entry(name_or_path) -> Path:
    """The scenario file ``load_scenario`` was asked for: a path, or a shipped name."""
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, os.PathLike) or "/" in text or "\\" in text or text.endswith((".yaml", ".yml")):
        path = Path(text)
        if not path.is_file():
            raise _error("scenario file not found", path)
        return path.resolve()
    return _shipped(text)


def load_scenario(name_or_path, parameters: ParameterSet | None = None) -> Scenario:
    """Read a scenario and everything it extends, check it all and apply its changes.

    Parameters
    ----------
    name_or_path : str or Path
        A shipped scenario name (``"baseline"``) or a path to a scenario YAML file (anything
        with a ``/`` or ending in ``.yaml`` is taken as a path).
    parameters : ParameterSet, optional
        The parameters the changes apply to; :func:`load_parameters` by default.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        Naming file, line and key: YAML syntax error, duplicate key, a file that is not a
        scenario, an ``extends`` that cannot be read or forms a cycle, an unknown parameter
        path, a date that does not parse, a value out of range or of the wrong kind, an
        unknown province, a bad target.
    """
    entry = _entry(name_or_path)
    chain = _read_chain(entry)
    own = chain[-1]

    horizon, provinces, targets = None, None, {}
    for file in chain:
        if "horizon" in file.data:
            horizon = _horizon(file)
        if "provinces" in file.data:
            provinces = _provinces(file)
        if "targets" in file.data:
            for target in _targets(file):
                targets[target.indicator, target.province, target.year] = target

    changes = _merge_changes(chain)
    base = parameters if parameters is not None else load_parameters()
    applied = base.with_changes(changes, source=entry)
    return Scenario(
        name=own.name,
        description=own.description,
        source=entry,
        extends=own.extends,
        horizon=horizon,
        provinces=provinces,
        changes=_frozen(changes),
        targets=tuple(targets.values()),
        parameters=applied,
        files=tuple(file.path for file in chain),
    )


def validate_scenario(path, parameters: ParameterSet | None = None) -> Scenario:
    """Check a scenario file (the CLI's ``validate``): :func:`load_scenario` under another name."""
    return load_scenario(path, parameters)


def list_scenarios() -> list[tuple[str, str]]:
    """``(name, description)`` of each shipped scenario, sorted by name.

    Raises
    ------
    InputError
        If a shipped file is not a scenario.
    """
    folder = paths.scenarios_dir()
    if not folder.is_dir():
        return []
    files = [_read_file(path.resolve()) for path in sorted(folder.glob("*.yaml"))]
    return [(file.name, file.description) for file in files]

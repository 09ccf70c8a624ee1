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

import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath, PureWindowsPath
from types import MappingProxyType
from typing import Annotated, NamedTuple

import pydantic
from pydantic import AfterValidator, BaseModel, ConfigDict

from ..errors import InputError, shown
from . import paths
from .dated import normalize_change_key
from .parameters import ParameterSet, load_parameters
from .provinces import validate_codes
from .schema import SCENARIO_NAME, Province, ScenarioFile, TargetFields, Text, Year, suggest, validate
from .schema import Number as _Number
from .yaml_source import YamlMap, read_yaml

__all__ = ["BASELINE", "Scenario", "Target", "list_scenarios", "load_scenario", "validate_scenario"]

#: The scenario every other one extends unless it says otherwise.
BASELINE = "baseline"

SCENARIO_KEYS = tuple(ScenarioFile.model_fields)
TARGET_KEYS = tuple(TargetFields.model_fields)
_NAME = SCENARIO_NAME


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

    indicator: Text
    province: Province | None
    year: Year
    value: _Number
    source: Text


def _codes(codes):
    return None if codes is None else validate_codes(codes, key="provinces")


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
    locations : Mapping
        Where ``horizon``, ``provinces`` and each target were written: ``{"horizon": (file,
        line), "targets[0]": (file, line), ...}``, for the messages of :meth:`check`.

    A Scenario changed in Python (``scenario.model_copy(update=...)``, a ParameterSet built
    by hand) is not checked when made; :meth:`check`, which ``ssp.run`` calls, checks it as a
    file is checked.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, strict=False)

    name: Annotated[str, pydantic.StringConstraints(pattern=SCENARIO_NAME.pattern)]
    description: str = ""
    source: Path
    extends: str | None = None
    horizon: Year | None = None
    provinces: Annotated[tuple[str, ...] | None, AfterValidator(_codes)] = None
    changes: MappingProxyType
    targets: tuple[Target, ...] = ()
    parameters: ParameterSet
    files: tuple[Path, ...] = ()
    locations: MappingProxyType = MappingProxyType({})

    def check(self) -> None:
        """Every check a projection makes before computing, on this scenario as it now is.

        The fields are validated again (a horizon set to 1990 through ``model_copy``), each
        parameter that is not the one read from its file is checked against its metadata
        (a NaN employer rate, a value dated after ``read_at``), the horizon against the
        embedded data and each target against the variables a projection has. The stages'
        own checks are :func:`socsec_proj.projection.check_stages` (``validate_scenario``
        runs both).

        Raises
        ------
        InputError
            Naming the file, line and key where they are known.
        """
        try:
            type(self).model_validate(dict(self))
        except pydantic.ValidationError as exc:
            error = exc.errors(include_url=False)[0]
            key = str(error["loc"][0]) if error["loc"] else None
            if key == "targets" and len(error["loc"]) > 1:
                key = f"targets[{error['loc'][1]}]"
            cause = (error.get("ctx") or {}).get("error")
            message = getattr(cause, "message", None) or getattr(cause, "reason", None) or error["msg"]
            source, line = self.locations.get(key, (self.source, None))
            raise InputError(f"{shown(error.get('input'))}: {message}" if cause is None else message, source=source,
                             key=key, line=line, expected=getattr(cause, "expected", None)) from None
        _check_parameters(self.parameters)
        _check_horizon(self)
        _check_targets(self)

    @classmethod
    def checked(cls, scenario) -> Scenario:
        """``scenario`` loaded if it is a name or a path, then :meth:`check`-ed: what ``ssp.run`` starts from."""
        if not isinstance(scenario, cls):
            scenario = load_scenario(scenario)
        scenario.check()
        return scenario


class _File(NamedTuple):
    """One scenario file as read, before its parents are merged in."""

    path: Path
    data: YamlMap
    parsed: ScenarioFile
    name: str
    description: str
    extends: str | None
    parent: Path | None


def _error(message, path, key=None, line=None, expected=None) -> InputError:
    return InputError(message, source=path, key=key, expected=expected, line=line)


def _line(mapping, key):
    return getattr(mapping, "key_lines", {}).get(key)


_suggest = suggest


def _check_parameters(parameters: ParameterSet) -> None:
    """Check every parameter that is not the one read from its file (changed in Python)."""
    try:
        read = load_parameters(parameters.root) if parameters.root is not None else None
    except InputError:
        read = None
    for path in parameters:
        parameter = parameters.get(path)
        if read is None or path not in read or read.get(path) is not parameter:
            parameter.check()


def _check_horizon(scenario) -> None:
    from .data import mortality_rates  # the table years are those of the embedded data

    if scenario.horizon is None:
        return
    _, years = mortality_rates()
    first, last = int(years[0]) + 1, int(years[-1])
    if not first <= scenario.horizon <= last:
        source, line = scenario.locations.get("horizon", (scenario.source, None))
        raise _error(f"horizon {scenario.horizon} is outside the embedded data", source, "horizon", line,
                     f"a year in {first}..{last}")


def _check_targets(scenario) -> None:
    """Each target names a variable a projection has, by province if it has one, in a projected year."""
    from ..variables import VARIABLES
    from .data import mortality_rates

    _, years = mortality_rates()
    first, last = int(years[0]), int(scenario.horizon or years[-1])
    yearly = [name for name, variable in VARIABLES.items() if "year" in variable.dims]
    for index, target in enumerate(scenario.targets):
        key = f"targets[{index}]"
        source, line = scenario.locations.get(key, (scenario.source, None))
        variable = VARIABLES.get(target.indicator)
        if variable is None:
            raise _error(f"unknown indicator {target.indicator!r}{_suggest(target.indicator, yearly)}", source, key,
                         line, "a variable of socsec_proj.variables with a year dimension")
        if "year" not in variable.dims:
            raise _error(f"{target.indicator} has no year dimension (a calibrated level)", source, key, line,
                         "a variable of socsec_proj.variables with a year dimension")
        if target.province is not None and "province" not in variable.dims:
            raise _error(f"{target.indicator} has no province dimension", source, key, line, "province: null")
        if not first <= target.year <= last:
            raise _error(f"year {target.year} is not projected", source, key, line, f"a year in {first}..{last}")


def _shipped_names() -> list[str]:
    folder = paths.scenarios_dir()
    return sorted(file.stem for file in folder.glob("*.yaml")) if folder.is_dir() else []


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a name too long for the file system, a permission denied on the way
        return False


def _shipped(name: str, *, source=None, key=None, line=None) -> Path:
    """The file of a shipped scenario."""
    if not _NAME.match(name):
        raise _error(f"{shown(name)} is not a scenario name", source, key, line, "letters, digits, _ . -")
    folder = paths.scenarios_dir()
    file = folder / f"{name}.yaml"
    if not _is_file(file) or file.resolve().parent != folder.resolve():
        names = _shipped_names()
        raise _error(f"unknown scenario {name!r}{_suggest(name, names)}", source, key, line,
                     "one of " + ", ".join(names) if names else "a file in scenarios/")
    return file.resolve()


def _is_shipped(path: Path) -> bool:
    return path.parent == paths.scenarios_dir().resolve()


def _resolve_extends(value, path: Path, line) -> Path:
    """The file ``extends`` names: a shipped scenario or a file really beside ``path``.

    "Beside" is decided on the resolved paths: a symbolic link beside the scenario that
    points elsewhere is refused without its target being read, or named.
    """
    expected = "a shipped scenario name, or other.yaml / ./other.yaml beside this file"
    if not isinstance(value, str) or not value.strip():
        raise _error(f"{shown(value)} is not a scenario name or file name", path, "extends", line, expected)
    text = value.strip()
    posix = text.replace("\\", "/")
    if posix.startswith("/") or PureWindowsPath(text).is_absolute() or PureWindowsPath(text).drive:
        raise _error(f"absolute path {shown(text)} not allowed", path, "extends", line, expected)
    parts = [part for part in PurePosixPath(posix).parts if part != "."]
    if ".." in parts:
        raise _error(f"'..' not allowed in {shown(text)}", path, "extends", line, expected)
    if len(parts) != 1:
        raise _error(f"{shown(text)} is not beside this file", path, "extends", line, expected)
    if "/" not in posix and not posix.endswith((".yaml", ".yml")):
        return _shipped(text, source=path, key="extends", line=line)
    if not parts[0].endswith(".yaml"):
        raise _error(f"{shown(text)} is not a .yaml file", path, "extends", line, expected)
    file = path.parent / parts[0]
    if not _is_file(file):
        raise _error(f"file {shown(parts[0])} not found beside this file", path, "extends", line, expected)
    resolved = file.resolve()
    if resolved.parent != path.parent.resolve():
        raise _error(f"{shown(parts[0])} is a link to a file outside this folder", path, "extends", line,
                     "a file really beside this one (not a symbolic link leading elsewhere)")
    return resolved


def _read_file(path: Path) -> _File:
    """Read one scenario file and check its top level (changes are checked when applied)."""
    data = read_yaml(path)
    if not isinstance(data, Mapping):
        raise _error("not a scenario: expected a mapping with name, description, changes, ...", path,
                     line=getattr(data, "line", None) or 1, expected=", ".join(SCENARIO_KEYS))
    parsed = validate(ScenarioFile, data, source=path, top="key")
    name = parsed.name
    if _is_shipped(path) and name != path.stem:
        raise _error(f"a shipped scenario's name must be its file name {path.stem!r}", path, "name",
                     _line(data, "name"))
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
    return _File(path=path, data=data, parsed=parsed, name=name, description=(parsed.description or "").strip(),
                 extends=extends, parent=parent)


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
        try:
            if path.is_file():
                return path.resolve()
        except OSError as exc:  # a name too long for the file system, a permission denied on the way
            raise _error(f"cannot read the file: {exc.strerror}", shown(text, limit=200)) from None
        raise _error("scenario file not found", shown(text, limit=200))
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

    horizon, provinces, targets, locations = None, None, {}, {}
    for file in chain:
        for key in ("horizon", "provinces"):
            if key in file.data:
                locations[key] = (file.path, _line(file.data, key))
        if "horizon" in file.data:
            horizon = file.parsed.horizon
        if "provinces" in file.data:
            provinces = None if file.parsed.provinces is None else tuple(file.parsed.provinces)
        for index, item in enumerate(file.parsed.targets or ()):
            target = Target(item.indicator, item.province, item.year, item.value, item.source)
            line = getattr(file.data["targets"][index], "line", None) or _line(file.data, "targets")
            targets[target.indicator, target.province, target.year] = target, (file.path, line)
    locations.update({f"targets[{i}]": where for i, (_, where) in enumerate(targets.values())})

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
        targets=tuple(target for target, _ in targets.values()),
        parameters=applied,
        files=tuple(file.path for file in chain),
        locations=MappingProxyType(locations),
    )


def validate_scenario(scenario, parameters: ParameterSet | None = None) -> Scenario:
    """Every check ``run`` makes before computing (the CLI's ``validate``).

    Parameters
    ----------
    scenario : str, path or Scenario
        What :func:`load_scenario` reads, or a Scenario already loaded (and perhaps changed
        in Python).
    parameters : ParameterSet, optional
        For a name or a path: the parameters its changes apply to.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        What :func:`load_scenario` and :meth:`Scenario.check` raise: file, line, key; then
        what the stages' ``check`` functions raise (a target retirement age below the
        original one, an injury industry class that does not exist).
    """
    from ..projection import check_stages  # projection imports this module: imported late

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, parameters)
    scenario.check()
    check_stages(scenario)
    return scenario


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

"""Policy and demographic parameters: the tree of ``params/parameters/`` and scenario changes.

The files follow the OpenFisca / PolicyEngine layout. Every ``.yaml`` file under the
parameter folder is either ONE parameter (a mapping with a ``values`` key) or a NODE (a
mapping from child names to parameters or nodes, plus an optional ``description``). A
parameter's path is the folder path, the file stem and the nested keys joined by dots::

    params/parameters/pension/employer_rate.yaml          -> pension.employer_rate
    params/parameters/demography.yaml, child ``tfr``      -> demography.tfr

What a parameter file may hold is declared in :mod:`socsec_proj.inputs.schema`; the files
are read by :mod:`socsec_proj.inputs.yaml_source`; values over time are
:class:`~socsec_proj.inputs.dated.StepFunction`. Decisions taken on the format (each enforced
while loading, never later):

* A value holds from its date until the next date; **before the first date the first value
  holds** (so a series starting in 2016 answers 2016's value for 2010 too).
* Values are numbers, booleans, or strings; strings only when ``metadata.allowed`` lists
  them. The kind is fixed per parameter: a boolean among numbers is an error.
* A province's own values replace the national ones **from the province's first date on**;
  before it the national values hold. So a province listed from 2020 follows the national
  schedule up to 2019.
* Dates are YAML dates or ``"YYYY-MM-DD"`` strings; their order in the file is free (they are
  sorted), but the same date twice is an error.
* A parameter the projection reads on one day only says so (``metadata.read_at``); a value
  or a change it would never read is refused.

Scenario changes (see :meth:`ParameterSet.with_changes`) use the same dates, plus ranges
``"START/END"`` (both days inclusive).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import InputError
from . import paths
from .dated import StepFunction, as_date, as_years, change_key_text, normalize_change_key, parse_change_key
from .provinces import CODES, validate_codes
from .schema import Metadata, ParameterFile, References, check_read_at, check_value, suggest, validate
from .yaml_source import YamlMap, read_yaml

__all__ = [
    "Metadata",
    "Parameter",
    "ParameterSet",
    "References",
    "StepFunction",
    "YamlMap",
    "clear_cache",
    "load_parameters",
    "normalize_change_key",
    "read_yaml",
]

PARAMETER_FIELDS = tuple(ParameterFile.model_fields)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclasses.dataclass(frozen=True)
class _Where:
    """The file and parameter path an error is about; builds the :class:`InputError`."""

    source: object
    key: str | None

    def error(self, message, line=None, expected=None) -> InputError:
        return InputError(message, source=self.source, key=self.key, expected=expected, line=line)


def _line(mapping, key):
    """1-based line of ``key`` in a :class:`YamlMap`; None for a plain dict."""
    return getattr(mapping, "key_lines", {}).get(key)


def _locate(where: _Where, mapping, key):
    """The :class:`_Where` and line of ``key`` in ``mapping``, in the file the key came from."""
    source = getattr(mapping, "key_sources", {}).get(key, where.source)
    return _Where(source, where.key), _line(mapping, key)


def _check_province(code, where: _Where, line) -> str:
    try:
        return validate_codes([code], source=where.source, key=where.key)[0]
    except InputError as exc:  # the same message, with the line validate_codes cannot know
        raise where.error(f"provinces: {exc.reason}", line=line, expected=exc.expected) from None


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Parameter:
    """One parameter: national values over time and optional per-province values.

    Build one with :func:`load_parameters` (or :meth:`from_dict`); instances are immutable,
    changes go through :meth:`ParameterSet.with_changes`.

    Attributes
    ----------
    path : str
        Dotted path, e.g. ``pension.employer_rate``.
    description : str
    metadata : Metadata
    kind : {"number", "bool", "string"}
    national : StepFunction
    provincial : tuple of (str, StepFunction)
        Complete step functions of the provinces that have their own values, in national order.
    source : Path or None
        The file the parameter was read from.
    line : int or None
        The line where the parameter starts in ``source``.
    """

    path: str
    description: str
    metadata: Metadata
    kind: str
    national: StepFunction
    provincial: tuple = ()
    source: Path | None = None
    line: int | None = None

    @classmethod
    def from_dict(cls, path: str, data: Mapping, source=None) -> Parameter:
        """A parameter from its YAML mapping (``description``, ``metadata``, ``values``, ``provinces``).

        Raises
        ------
        InputError
            On any of the checks :func:`load_parameters` makes.
        """
        return _parse_parameter(path, data, source)

    def check(self) -> None:
        """Check the values against the metadata again (for a parameter changed in Python).

        Raises
        ------
        InputError
            On the first value that does not fit (kind, range, allowed, finite, read_at).
        """
        for label, steps in (("values: ", self.national), *((f"provinces: {c}: ", s) for c, s in self.provincial)):
            for day, value in steps.items():
                problem = check_value(value, self.kind, self.metadata) or check_read_at(self.metadata, day)
                if problem:
                    raise InputError(f"{label}{day}: {problem[0]}", source=self.source, key=self.path,
                                     line=self.line, expected=problem[1])

    def __repr__(self):
        return f"Parameter({self.path!r}, unit={self.metadata.unit!r}, {len(self.national.dates)} dated value(s))"

    @property
    def values(self) -> tuple:
        """The national ``(date, value)`` pairs in date order."""
        return self.national.items()

    @property
    def provinces(self) -> Mapping:
        """Read-only ``{code: ((date, value), ...)}`` of the provinces with their own values."""
        return MappingProxyType({code: steps.items() for code, steps in self.provincial})

    def steps(self, province: str | None = None) -> StepFunction:
        """The step function of a province (the national one if it has none of its own)."""
        if province is None:
            return self.national
        code = _check_province(province, _Where(self.source, self.path), None)
        return dict(self.provincial).get(code, self.national)

    def at(self, date, province: str | None = None):
        """The value in force on ``date`` (before the first date: the first value).

        Parameters
        ----------
        date : datetime.date, datetime, numpy.datetime64 or str ``"YYYY-MM-DD"``
        province : str, optional
            ISO code such as ``"CN-GD"``; national values if omitted or if the province has
            no values of its own.
        """
        return self.steps(province).at(as_date(date))

    def annual(self, years, province: str | None = None) -> np.ndarray:
        """One value per calendar year.

        Numbers: the day-weighted mean over the year of the step function, so a rate of 0.20
        changing to 0.16 on 1 May 2019 gives 2019 = (120 x 0.20 + 245 x 0.16) / 365. Booleans
        and strings: the value in force on 1 July. Before the first date the first value holds.

        Parameters
        ----------
        years : array_like of int
        province : str, optional

        Returns
        -------
        numpy.ndarray
            Shaped like ``years``; float for numbers, bool or str otherwise.
        """
        steps = self.steps(province)
        if self.kind == "number":
            return steps.annual_mean(years)
        return steps.on_day_of_years(years)

    def by_province(self, years, provinces=CODES) -> np.ndarray:
        """:meth:`annual` for each province: an array ``[province, year]``.

        Provinces without values of their own get the national values. Rows follow the order
        of ``provinces`` as given (all 31 in national order by default).
        """
        provinces = list(provinces)
        validate_codes(provinces, source=self.source, key=self.path)  # unknown or repeated codes
        years = as_years(years)
        if not provinces:
            return np.empty((0,) + years.shape)
        national = self.annual(years)  # computed once: most provinces have no values of their own
        own = self.provinces
        return np.stack([self.annual(years, province) if province in own else national
                         for province in provinces])


def _looks_like_parameter(data: Mapping) -> bool:
    # A misspelt ``values`` must still be read as a parameter, to be reported as such.
    keys = [str(key) for key in data]
    return "values" in data or "metadata" in data or any(
        difflib.get_close_matches(key, ("values", "metadata"), n=1, cutoff=0.8) for key in keys)

def _parse_parameter(path: str, data: Mapping, source) -> Parameter:
    parsed = validate(ParameterFile, data, source=source, key=path)
    national = StepFunction.from_pairs((day, value) for day, value, _ in parsed.values)
    provincial = []
    for code in (code for code in CODES if code in (parsed.provinces or {})):
        # A province's values replace the national ones from the province's first date on.
        entries = parsed.provinces[code]
        pairs = national._before(entries[0][0], entries[0][1]) + [(day, value) for day, value, _ in entries]
        provincial.append((code, StepFunction.from_pairs(pairs)))
    return Parameter(path=path, description=(parsed.description or "").strip(), metadata=parsed.metadata,
                     kind=parsed.kind, national=national, provincial=tuple(provincial),
                     source=None if source is None else Path(source), line=getattr(data, "line", None))


def _parse_entry(path: str, data: Mapping, source) -> Iterator[Parameter]:
    """The parameters in a parameter mapping or a node mapping at ``path``."""
    if _looks_like_parameter(data):
        yield _parse_parameter(path, data, source)
        return
    where = _Where(source, path)
    children = [key for key in data if key != "description"]
    if not children:
        raise where.error("defines no parameter", line=getattr(data, "line", None),
                          expected="a parameter (metadata and values) or a node of named parameters")
    if not isinstance(data.get("description", ""), str):
        raise where.error("description must be text", line=_line(data, "description"))
    for name in children:
        name_line = _line(data, name)
        if not isinstance(name, str) or not _NAME.match(name):
            raise where.error(f"{str(name)!r} is not a parameter name", line=name_line,
                              expected="letters, digits and _, not starting with a digit")
        child = data[name]
        if not isinstance(child, Mapping):
            raise InputError("expected a parameter (a mapping with metadata and values) or a node",
                             source=source, key=f"{path}.{name}", line=name_line)
        yield from _parse_entry(f"{path}.{name}", child, source)


def _read_tree(root: Path) -> dict:
    """``{path: Parameter}`` of every ``.yaml`` file under ``root``."""
    found, origin = {}, {}
    for file in sorted(root.rglob("*")):
        relative = file.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not file.is_file():
            continue
        if file.suffix == ".yml":
            raise InputError("parameter files end in .yaml; rename this file", source=file)
        if file.suffix != ".yaml":
            continue  # README.md and the like
        names = relative.with_suffix("").parts
        for name in names:
            if not _NAME.match(name):
                raise InputError(f"{name!r} cannot be part of a parameter path", source=file,
                                 expected="file and folder names of letters, digits and _")
        prefix = ".".join(names)
        data = read_yaml(file, key_prefix=names)
        if not isinstance(data, Mapping):
            raise InputError("a parameter file must be a mapping: a parameter or a node of parameters",
                             source=file, key=prefix, line=getattr(data, "line", None) or 1)
        for parameter in _parse_entry(prefix, data, file):
            if parameter.path in found:
                raise InputError(f"defined twice: also in {origin[parameter.path]}", source=file,
                                 key=parameter.path, line=parameter.line)
            found[parameter.path] = parameter
            origin[parameter.path] = file

    # ``a.b`` cannot be both a parameter and a node holding ``a.b.c``.
    nodes = {".".join(path.split(".")[:i]): path for path in found for i in range(1, path.count(".") + 1)}
    for path, parameter in found.items():
        if path in nodes:
            raise InputError(f"is a parameter and also a node holding {nodes[path]} ({origin[nodes[path]]})",
                             source=parameter.source, key=path, line=parameter.line)
    return found


# --------------------------------------------------------------------------------------------
# Parameter sets
# --------------------------------------------------------------------------------------------


def _apply_entries(steps: StepFunction, operations) -> StepFunction:
    """Apply ``(start, end or None, value)`` operations in date order.

    A date replaces everything from that date on; a range overlays its days and leaves the
    rest as it was. Going in date order means a later date wins over an earlier range.
    """
    for start, end, value in operations:
        steps = steps.replaced_from(start, value) if end is None else steps.overlaid(start, end, value)
    return steps


def _parse_change_entries(entries: Mapping, parameter: Parameter, where: _Where, label: str) -> list:
    """Validated ``(start, end or None, value)`` operations from a ``{date or range: value}`` mapping."""
    operations, first_line = [], {}
    for key, value in entries.items():
        if key == "provinces":
            continue
        here, line = _locate(where, entries, key)
        start, end = parse_change_key(key, source=here.source, path=here.key, line=line)
        text = change_key_text(start, end)
        if (start, end) in first_line:
            raise here.error(f"{label}{text} is given twice (first at line {first_line[start, end]})", line=line)
        first_line[start, end] = line
        problem = check_value(value, parameter.kind, parameter.metadata) or _read_once(parameter, start, end)
        if problem:
            raise here.error(f"{label}{text}: {problem[0]}", line=line, expected=problem[1])
        operations.append((start, end, value))
    # Dates before ranges on the same day, and a longer range before a shorter one inside it,
    # so that the more specific entry is applied last.
    return sorted(operations, key=lambda op: (op[0], op[1] is not None, -(op[1] or op[0]).toordinal()))


def _read_once(parameter: Parameter, start, end):
    """``(message, expected)`` if a change of a parameter read on one day only would be ignored."""
    read_at = parameter.metadata.read_at
    if read_at is None:
        return None
    if read_at == "never":
        return ("no stage reads this parameter yet (metadata.read_at: never), so a change would be silently ignored",
                None)
    if end is not None or start != read_at:
        return (f"the projection reads this parameter on {read_at} only (metadata.read_at) and uses that value "
                "for every year, so this change would be silently ignored",
                f"a change dated {read_at} (it then holds for the whole projection)")
    return None


def _apply_change(parameter: Parameter, change, where: _Where, line) -> Parameter:
    if not isinstance(change, Mapping) or not change:
        raise where.error("a change must be a non-empty mapping of dates to values", line=line,
                          expected="{YYYY-MM-DD: value}, {YYYY-MM-DD/YYYY-MM-DD: value} or provinces: {CODE: {...}}")
    national_ops = _parse_change_entries(change, parameter, where, "")

    province_ops = {}
    if "provinces" in change:
        here, provinces_line = _locate(where, change, "provinces")
        if parameter.metadata.breakdown != "province":
            raise here.error("has no province breakdown (metadata.breakdown), so provinces cannot be changed",
                             line=provinces_line)
        block = change["provinces"]
        if not isinstance(block, Mapping) or not block:
            raise here.error("provinces must map province codes to {date: value}", line=provinces_line)
        for code, entries in block.items():
            here, code_line = _locate(where, block, code)
            code = _check_province(code, here, code_line)
            if not isinstance(entries, Mapping) or not entries:
                raise here.error(f"provinces: {code}: expected a mapping of dates to values", line=code_line)
            province_ops[code] = _parse_change_entries(entries, parameter, here, f"provinces: {code}: ")

    # A national change is national policy: it applies to the provinces with values of their
    # own as well. Province changes come after, and win for their province.
    national = _apply_entries(parameter.national, national_ops)
    provincial = {code: _apply_entries(steps, national_ops) for code, steps in parameter.provincial}
    for code, operations in province_ops.items():
        provincial[code] = _apply_entries(provincial.get(code, national), operations)
    ordered = tuple((code, provincial[code]) for code in CODES if code in provincial)
    return dataclasses.replace(parameter, national=national, provincial=ordered)


class ParameterSet:
    """An immutable collection of :class:`Parameter` by dotted path.

    Parameters
    ----------
    parameters : mapping of str to Parameter
    root : Path, optional
        The folder the parameters were read from.
    """

    __slots__ = ("_parameters", "root")

    def __init__(self, parameters: Mapping, root=None):
        object.__setattr__(self, "_parameters", MappingProxyType(dict(sorted(parameters.items()))))
        object.__setattr__(self, "root", root)

    def __setattr__(self, name, value):
        raise AttributeError("a ParameterSet is read-only; with_changes returns a changed copy")

    def __repr__(self):
        return f"ParameterSet({len(self)} parameters from {self.root})"

    def __contains__(self, path) -> bool:
        return path in self._parameters

    def __iter__(self) -> Iterator[str]:
        return iter(self._parameters)

    def __len__(self) -> int:
        return len(self._parameters)

    def __getitem__(self, path) -> Parameter:
        return self.get(path)

    def paths(self) -> tuple:
        """Every parameter path, sorted."""
        return tuple(self._parameters)

    def _lookup(self, path, where: _Where, line=None) -> Parameter:
        if path in self._parameters:
            return self._parameters[path]
        text = str(path)
        below = [p for p in self._parameters if p.startswith(text + ".")]
        if below:
            shown = ", ".join(below[:5]) + (", ..." if len(below) > 5 else "")
            raise where.error("is a group of parameters, not a parameter", line=line, expected=shown)
        hint = suggest(text, self._parameters)
        if not hint:  # the right name in the wrong group: match on the last part
            by_name = {p.rsplit(".", 1)[-1]: p for p in self._parameters}
            near = difflib.get_close_matches(text.rsplit(".", 1)[-1], by_name, n=1)
            hint = f"; did you mean {by_name[near[0]]!r}?" if near else ""
        raise where.error(f"unknown parameter{hint}", line=line)

    def get(self, path: str) -> Parameter:
        """The parameter at ``path``.

        Raises
        ------
        InputError
            For an unknown path (naming the nearest valid one) or the path of a group.
        """
        return self._lookup(path, _Where(self.root, str(path)))

    def with_changes(self, changes: Mapping, source=None) -> ParameterSet:
        """A copy with scenario changes applied; this set is left as it was.

        Parameters
        ----------
        changes : mapping
            ``{path: {date: value, "START/END": value, "provinces": {code: {...}}}}``.
            A date ``d: v`` makes the value ``v`` from ``d`` on (earlier values kept); a range
            ``"s/e": v`` makes it ``v`` from ``s`` to ``e`` inclusive and restores the previous
            values after ``e``. Entries apply in date order. Changes without ``provinces``
            apply to the whole country, including provinces with values of their own; changes
            under ``provinces`` apply to that province only, after the national ones.
            Mappings read with :func:`read_yaml` carry the lines used in error messages.
        source : str or Path, optional
            The scenario file, named in error messages.

        Returns
        -------
        ParameterSet

        Raises
        ------
        InputError
            On the first invalid change (unknown path, bad date, value out of range or of the
            wrong kind, unknown province); nothing is applied then.
        """
        if changes is None:
            return self
        if not isinstance(changes, Mapping):
            raise InputError("changes must map parameter paths to dated values", source=source, key="changes",
                             line=getattr(changes, "line", None))
        updated = {}
        for path, change in changes.items():
            where, line = _locate(_Where(source, str(path)), changes, path)
            parameter = self._lookup(path, where, line)
            updated[path] = _apply_change(parameter, change, where, line)
        # Every change was checked before this point; the new set is built only now.
        return ParameterSet({**self._parameters, **updated}, root=self.root)


@functools.cache
def _load_tree(root: Path) -> ParameterSet:
    if not root.is_dir():
        raise InputError("parameter folder not found", source=root)
    return ParameterSet(_read_tree(root), root=root)


def load_parameters(root=None) -> ParameterSet:
    """Every parameter under ``root``, checked.

    Parameters
    ----------
    root : str or Path, optional
        The parameter folder; ``params_dir() / "parameters"`` by default.

    Returns
    -------
    ParameterSet
        Cached per folder (the set is immutable, so sharing it is safe); :func:`clear_cache`
        forgets the cache after the files changed.

    Raises
    ------
    InputError
        Naming the file, the line and the parameter path of the first problem found.
    """
    root = Path(root) if root is not None else paths.params_dir() / "parameters"
    return _load_tree(root.resolve())


def clear_cache() -> None:
    """Forget the parameter sets :func:`load_parameters` has read."""
    _load_tree.cache_clear()

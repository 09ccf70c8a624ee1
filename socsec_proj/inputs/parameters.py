"""Policy and demographic parameters: dated step functions read from ``params/parameters/``.

The files follow the OpenFisca / PolicyEngine layout. Every ``.yaml`` file under the
parameter folder is either ONE parameter (a mapping with a ``values`` key) or a NODE (a
mapping from child names to parameters or nodes, plus an optional ``description``). A
parameter's path is the folder path, the file stem and the nested keys joined by dots::

    params/parameters/pension/employer_rate.yaml          -> pension.employer_rate
    params/parameters/demography.yaml, child ``tfr``      -> demography.tfr

A parameter::

    description: Employer contribution rate to the pooled fund of the urban-employee pension
    metadata:
      unit: /1                   # required
      label: Employer pension contribution rate   # required
      reference: "国办发〔2019〕13号"  # required: a string or a list of strings
      range: [0, 1]              # optional [min, max], either may be null
      allowed: [fixed, cpi_plus] # optional; makes the parameter string-valued
      breakdown: province        # optional; allows the ``provinces`` mapping below
    values:
      2016-01-01: 0.20           # a value holds from its date until the next date
      2019-05-01: 0.16
    provinces:
      CN-GD: {2020-01-01: 0.14}

Decisions taken on the format (each enforced while loading, never later):

* A value holds from its date until the next date; **before the first date the first value
  holds** (so a series starting in 2016 answers 2016's value for 2010 too).
* Values are numbers, booleans, or strings; strings only when ``metadata.allowed`` lists
  them. The kind is fixed per parameter: a boolean among numbers is an error.
* A province's own values replace the national ones **from the province's first date on**;
  before it the national values hold. So a province listed from 2020 follows the national
  schedule up to 2019.
* Dates are YAML dates or ``"YYYY-MM-DD"`` strings; their order in the file is free (they are
  sorted), but the same date twice is an error.
* YAML is read with a safe loader that rejects duplicate keys at any level and reads YAML 1.2
  floats such as ``1e-3`` as numbers (YAML 1.1 would read them as text).

Scenario changes (see :meth:`ParameterSet.with_changes`) use the same dates, plus ranges
``"START/END"`` (both days inclusive).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import difflib
import functools
import math
import re
from collections.abc import Hashable, Iterator, Mapping
from pathlib import Path
from types import MappingProxyType

import numpy as np
import yaml

from ..errors import InputError
from . import paths
from .provinces import CODES, validate_codes

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

PARAMETER_FIELDS = ("description", "metadata", "values", "provinces")
METADATA_FIELDS = ("unit", "label", "reference", "range", "allowed", "breakdown")
REQUIRED_METADATA = ("unit", "label", "reference")
BREAKDOWNS = ("province",)

_DATE_FORMAT = "a date YYYY-MM-DD, e.g. 2019-05-01"
_CHANGE_FORMAT = "YYYY-MM-DD (from that date on) or YYYY-MM-DD/YYYY-MM-DD (inside that range)"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

# The earliest representable day: a change that starts before a series' first date keeps the
# days before it at their old value by adding an entry on this day (see StepFunction._before).
_FAR_PAST = dt.date.min


# --------------------------------------------------------------------------------------------
# YAML with line numbers
# --------------------------------------------------------------------------------------------


class YamlMap(dict):
    """A mapping read from YAML that remembers where it and each of its keys were.

    A plain ``dict`` in every other respect, so code that does not care about lines can
    ignore the extra attributes.

    Attributes
    ----------
    line : int or None
        1-based line where the mapping starts.
    key_lines : dict
        1-based line of each key.
    key_sources : dict
        The file each key came from, when a mapping merges several files (a scenario and
        the scenarios it extends); empty for a mapping read from one file.
    """

    def __init__(self, *args, line=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.line = line
        self.key_lines = {}
        self.key_sources = {}


class _Loader(yaml.SafeLoader):
    """Safe loader that rejects duplicate keys and builds :class:`YamlMap` mappings."""

    def __init__(self, stream, source, key_prefix=()):
        super().__init__(stream)
        self.source = source
        # The keys of the mappings being built, outermost first, to name where a duplicate is.
        self.key_stack = [str(part) for part in key_prefix]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> YamlMap:
    # Duplicates are looked for among the keys written in this mapping, before merge keys
    # (``<<: *anchor``) are expanded, because a written key may override a merged one.
    first_line = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, Hashable):
            raise InputError("a mapping key must be a plain value, not a list or mapping",
                             source=loader.source, key=".".join(loader.key_stack) or None, line=line)
        if key in first_line:
            raise InputError(f"duplicate key (first at line {first_line[key]})", source=loader.source,
                             key=".".join([*loader.key_stack, str(key)]), line=line)
        first_line[key] = line

    loader.flatten_mapping(node)
    mapping = YamlMap(line=node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        loader.key_stack.append(str(key))
        try:
            mapping[key] = loader.construct_object(value_node, deep=True)
        finally:
            loader.key_stack.pop()
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode):
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        # An impossible day such as 2019-02-30: keep the text, so that the parameter parser
        # reports it with the parameter path instead of a bare traceback from PyYAML.
        return loader.construct_scalar(node)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
# YAML 1.1 (PyYAML) reads 1e-3 and 1.5e6 as text; YAML 1.2 and every author expect numbers.
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?[0-9][0-9_]*(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def read_yaml(path, *, key_prefix=()) -> object:
    """Read one YAML file safely, with line numbers and no duplicate keys.

    Parameters
    ----------
    path : str or Path
        The file.
    key_prefix : sequence of str, optional
        Names put before the keys of a duplicate-key error (a parameter file's dotted path).

    Returns
    -------
    object
        The document: mappings are :class:`YamlMap`; None for an empty file.

    Raises
    ------
    InputError
        If the file cannot be read, is not UTF-8, is not valid YAML (with the line PyYAML
        reports) or has a duplicate key.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("file not found", source=path) from None
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text ({exc.reason} at byte {exc.start})", source=path) from None
    except OSError as exc:
        raise InputError(f"cannot read the file: {exc.strerror}", source=path) from None

    loader = _Loader(text, source=path, key_prefix=key_prefix)
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        context = f" ({exc.context})" if exc.context and exc.problem else ""
        raise InputError(f"YAML syntax error: {problem}{context}", source=path,
                         line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise InputError(f"YAML error: {exc}", source=path) from None
    finally:
        loader.dispose()


# --------------------------------------------------------------------------------------------
# Small helpers for errors
# --------------------------------------------------------------------------------------------


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


def _suggest(word, options, cutoff=0.6) -> str:
    near = difflib.get_close_matches(str(word), [str(option) for option in options], n=1, cutoff=cutoff)
    return f"; did you mean {near[0]!r}?" if near else ""


def _check_province(code, where: _Where, line) -> str:
    try:
        return validate_codes([code], source=where.source, key=where.key)[0]
    except InputError as exc:  # the same message, with the line validate_codes cannot know
        raise where.error(f"provinces: {exc.reason}", line=line, expected=exc.expected) from None


# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------


def _to_date(value) -> dt.date | None:
    """The day a YAML date or ``"YYYY-MM-DD"`` string stands for; None if it is not one."""
    if isinstance(value, dt.datetime):  # before date: datetime is a subclass of date
        midnight = (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)
        return value.date() if midnight else None
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:  # 2019-02-30
            return None
    return None


def _as_date(day) -> dt.date:
    """A day given as a date, datetime, numpy datetime64 or ISO string."""
    if isinstance(day, np.datetime64):
        day = day.astype("datetime64[D]").item()
    if isinstance(day, dt.datetime):
        return day.date()
    parsed = _to_date(day)
    if parsed is None:
        raise TypeError(f"expected a date (datetime.date or 'YYYY-MM-DD'), got {day!r}")
    return parsed


def _as_years(years) -> np.ndarray:
    years = np.asarray(years)
    if years.size == 0:
        return years.astype(np.int64)
    if years.dtype == bool or not np.issubdtype(years.dtype, np.integer):
        raise TypeError(f"years must be whole calendar years (integers), got dtype {years.dtype}")
    if years.min() < 1 or years.max() > 9998:
        raise ValueError(f"years must lie in 1..9998, got {years.min()}..{years.max()}")
    return years.astype(np.int64)


def _ordinals(years, month=1, day=1) -> np.ndarray:
    return np.array([dt.date(int(year), month, day).toordinal() for year in years], dtype=np.int64)


def parse_change_key(key, *, where: _Where, line=None) -> tuple[dt.date, dt.date | None]:
    """``(start, None)`` for a date key, ``(start, end)`` for a ``"START/END"`` range key."""
    day = _to_date(key)
    if day is not None:
        return day, None
    if isinstance(key, str) and key.count("/") == 1:
        first, last = (_to_date(part.strip()) for part in key.split("/"))
        if first is not None and last is not None:
            if last < first:
                raise where.error(f"date range {key!r} ends before it starts", line=line, expected=_CHANGE_FORMAT)
            return first, last
    raise where.error(f"{str(key)!r} is not a date or a date range", line=line, expected=_CHANGE_FORMAT)


def normalize_change_key(key, *, source=None, path=None, line=None) -> str:
    """The canonical text of a change key: ``"2027-01-01"`` or ``"2030-01-01/2034-12-31"``.

    Parameters
    ----------
    key : datetime.date or str
        A YAML date, ``"YYYY-MM-DD"`` or ``"YYYY-MM-DD/YYYY-MM-DD"`` (both days inclusive).
    source, path, line : optional
        Where the key was written, for the error message.

    Raises
    ------
    InputError
        If the key is neither a date nor a range, or the range ends before it starts.
    """
    start, end = parse_change_key(key, where=_Where(source, path), line=line)
    return start.isoformat() if end is None else f"{start.isoformat()}/{end.isoformat()}"


# --------------------------------------------------------------------------------------------
# Step functions
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class StepFunction:
    """A value that changes on given days: ``values[i]`` holds from ``dates[i]`` until ``dates[i + 1]``.

    Before ``dates[0]`` the first value holds; after the last date the last value holds.

    Parameters
    ----------
    dates : tuple of datetime.date
        Strictly increasing.
    values : tuple
        One value per date.
    """

    dates: tuple
    values: tuple
    #: annual means already worked out, by the years asked for (the function never changes;
    #: every stage asks for the same years on every run)
    _annual: dict = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self):
        if not self.dates or len(self.dates) != len(self.values):
            raise ValueError("a step function needs as many values as dates, at least one")
        if any(later <= earlier for earlier, later in zip(self.dates, self.dates[1:])):
            raise ValueError("step function dates must be strictly increasing")

    @classmethod
    def from_pairs(cls, pairs) -> StepFunction:
        """From ``(date, value)`` pairs in any order (dates distinct)."""
        pairs = sorted(pairs, key=lambda pair: pair[0])
        return cls(tuple(day for day, _ in pairs), tuple(value for _, value in pairs))

    def items(self) -> tuple:
        """The ``(date, value)`` pairs in date order."""
        return tuple(zip(self.dates, self.values))

    def at(self, day: dt.date):
        """The value in force on ``day``."""
        index = bisect.bisect_right(self.dates, day) - 1
        return self.values[max(index, 0)]

    def _day_numbers(self) -> np.ndarray:
        return np.array([day.toordinal() for day in self.dates], dtype=np.int64)

    def _index(self, day_numbers) -> np.ndarray:
        """Index of the value in force on each day (0 before the first date)."""
        return np.maximum(np.searchsorted(self._day_numbers(), day_numbers, side="right") - 1, 0)

    def annual_mean(self, years) -> np.ndarray:
        """The day-weighted mean over each calendar year (numbers only).

        Parameters
        ----------
        years : array_like of int

        Returns
        -------
        numpy.ndarray of float, shaped like ``years``
        """
        years = _as_years(years)
        key = (years.shape, years.tobytes())
        known = self._annual.get(key)
        if known is None:
            if len(self._annual) > 16:
                self._annual.clear()
            known = self._annual[key] = self._annual_mean(years)
        return known.copy()

    def _annual_mean(self, years) -> np.ndarray:
        flat = years.ravel()
        days = self._day_numbers()
        values = np.asarray(self.values, dtype=float)
        start, end = _ordinals(flat)[:, None], _ordinals(flat + 1)[:, None]

        # Value i holds on the days [days[i], days[i + 1]); the first value also before days[0]
        # and the last one for ever. Days of overlap between each year and each piece are
        # exact integers, so the weighted sum loses nothing to cancellation.
        far = np.iinfo(np.int64).max // 4
        piece_start = np.concatenate(([-far], days[1:]))
        piece_end = np.concatenate((days[1:], [far]))
        overlap = np.clip(np.minimum(piece_end, end) - np.maximum(piece_start, start), 0, None)
        mean = (overlap @ values) / (end - start)[:, 0]
        # A year without a change gets its value exactly.
        first, last = self._index(start[:, 0]), self._index(end[:, 0] - 1)
        return np.where(first == last, values[first], mean).reshape(years.shape)

    def on_day_of_years(self, years, month=7, day=1) -> np.ndarray:
        """The value in force on one day of each year (1 July by default)."""
        years = _as_years(years)
        index = self._index(_ordinals(years.ravel(), month, day))
        return np.asarray(self.values)[index].reshape(years.shape)

    def _before(self, day: dt.date, new_value) -> list:
        """The entries before ``day`` that a change from ``day`` on keeps.

        If the series starts on or after ``day``, the days before ``day`` had the first value
        (the first-value rule); an entry on the earliest day keeps them so once ``day`` becomes
        the first date, unless the new value is the same anyway.
        """
        kept = [(when, value) for when, value in self.items() if when < day]
        if not kept and day > _FAR_PAST and self.values[0] != new_value:
            kept = [(_FAR_PAST, self.values[0])]
        return kept

    def replaced_from(self, day: dt.date, value) -> StepFunction:
        """A copy whose value is ``value`` from ``day`` on; earlier days are unchanged."""
        return StepFunction.from_pairs(self._before(day, value) + [(day, value)])

    def overlaid(self, start: dt.date, end: dt.date, value) -> StepFunction:
        """A copy whose value is ``value`` from ``start`` to ``end`` inclusive, unchanged elsewhere."""
        pairs = self._before(start, value) + [(start, value)]
        if end < dt.date.max:
            resume = end + dt.timedelta(days=1)
            pairs.append((resume, self.at(resume)))
            pairs += [(when, old) for when, old in self.items() if when > resume]
        return StepFunction.from_pairs(pairs)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------


class References(tuple):
    """The references of a parameter: a tuple of strings that prints as ``"a; b"``."""

    def __str__(self):
        return "; ".join(self)


@dataclasses.dataclass(frozen=True)
class Metadata:
    """What a parameter measures and where its values come from.

    Attributes
    ----------
    unit : str
        E.g. ``/1``, ``CNY/month``, ``persons``, ``years``, ``children/woman``.
    label : str
        A short human name.
    reference : References
        Sources of the values (a tuple of strings).
    range : tuple of (float or None, float or None), optional
        Accepted ``[min, max]``, inclusive; None for an open end.
    allowed : tuple of str, optional
        The accepted values of a string-valued parameter.
    breakdown : str, optional
        ``"province"`` when values may be given per province.
    """

    unit: str
    label: str
    reference: References
    range: tuple | None = None
    allowed: tuple | None = None
    breakdown: str | None = None


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
        return self.steps(province).at(_as_date(date))

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
        years = _as_years(years)
        if not provinces:
            return np.empty((0,) + years.shape)
        national = self.annual(years)  # computed once: most provinces have no values of their own
        own = self.provinces
        return np.stack([self.annual(years, province) if province in own else national
                         for province in provinces])


def _check_value(value, kind, metadata: Metadata):
    """``(message, expected)`` if ``value`` does not fit the parameter, else None."""
    if value is None:
        return "a value is missing", None
    if kind == "bool":
        if not isinstance(value, bool):
            return f"{value!r} is not a boolean", "true or false"
        return None
    if kind == "string":
        allowed = metadata.allowed
        if not isinstance(value, str) or value not in allowed:
            return f"{value!r} is not allowed{_suggest(value, allowed)}", "one of " + ", ".join(allowed)
        return None
    if isinstance(value, bool):
        return f"{value!r} is a boolean where a number is expected", "a number"
    if isinstance(value, str):
        return (f"{value!r} is text where a number is expected (text values need metadata.allowed)",
                "a number")
    if not isinstance(value, (int, float)):
        return f"{value!r} is not a number", "a number"
    if not math.isfinite(value):
        return f"{value!r} is not a finite number (NaN or infinity)", "a finite number"
    if metadata.range is not None:
        low, high = metadata.range
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{value!r} is outside the range", f"a value in [{low}, {high}]"
    return None


def _infer_kind(metadata: Metadata, values) -> str:
    """The kind of a parameter from its metadata, else from its values."""
    if metadata.allowed is not None:
        return "string"
    if metadata.range is not None:
        return "number"
    if values and all(isinstance(value, bool) for value in values):
        return "bool"
    # Numbers, or a mix: then a boolean or a text value is reported as out of place.
    return "number"


def _parse_metadata(meta, where: _Where, line) -> Metadata:
    if not isinstance(meta, Mapping):
        raise where.error("metadata must be a mapping", line=line, expected="unit, label, reference, ...")
    for field in meta:
        if field not in METADATA_FIELDS:
            raise where.error(f"metadata: unknown field {field!r}{_suggest(field, METADATA_FIELDS)}",
                              line=_line(meta, field), expected=", ".join(METADATA_FIELDS))
    for field in REQUIRED_METADATA:
        if meta.get(field) in (None, "", []):
            raise where.error(f"metadata: missing {field!r}", line=_line(meta, field) or line,
                              expected="unit, label and reference")

    def text(field):
        value = meta[field]
        if not isinstance(value, str) or not value.strip():
            raise where.error(f"metadata: {field} must be text", line=_line(meta, field))
        return value.strip()

    reference = meta["reference"]
    references = [reference] if isinstance(reference, str) else reference
    if not isinstance(references, list) or not all(isinstance(r, str) and r.strip() for r in references):
        raise where.error("metadata: reference must be a string or a list of strings",
                          line=_line(meta, "reference"))

    value_range = meta.get("range")
    if value_range is not None:
        ok = isinstance(value_range, list) and len(value_range) == 2 and all(
            bound is None or (isinstance(bound, (int, float)) and not isinstance(bound, bool) and math.isfinite(bound))
            for bound in value_range)
        if not ok:
            raise where.error(f"metadata: range {value_range!r} is not [min, max]", line=_line(meta, "range"),
                              expected="[min, max] with numbers or null")
        low, high = value_range
        if low is not None and high is not None and low > high:
            raise where.error(f"metadata: range {value_range!r} has min > max", line=_line(meta, "range"))
        value_range = (low, high)

    allowed = meta.get("allowed")
    if allowed is not None:
        if not isinstance(allowed, list) or not allowed or not all(isinstance(a, str) for a in allowed):
            raise where.error("metadata: allowed must be a non-empty list of strings (quote yes/no/on/off)",
                              line=_line(meta, "allowed"))
        if value_range is not None:
            raise where.error("metadata: range and allowed exclude each other", line=_line(meta, "allowed"))
        allowed = tuple(allowed)

    breakdown = meta.get("breakdown")
    if breakdown is not None and breakdown not in BREAKDOWNS:
        raise where.error(f"metadata: unknown breakdown {breakdown!r}{_suggest(breakdown, BREAKDOWNS)}",
                          line=_line(meta, "breakdown"), expected=", ".join(BREAKDOWNS))

    return Metadata(unit=text("unit"), label=text("label"), reference=References(r.strip() for r in references),
                    range=value_range, allowed=allowed, breakdown=breakdown)


def _parse_dated(mapping, where: _Where, label: str, line) -> list:
    """``[(date, value, line, label), ...]`` sorted by date, from a ``{date: value}`` mapping."""
    if mapping is not None and not isinstance(mapping, Mapping):
        raise where.error(f"{label} must be a mapping of dates to values", line=line, expected="{YYYY-MM-DD: value}")
    if not mapping:
        raise where.error(f"{label} is empty", line=line, expected="at least one {YYYY-MM-DD: value}")
    entries, first_line = [], {}
    for key, value in mapping.items():
        key_line = _line(mapping, key)
        day = _to_date(key)
        if day is None:
            raise where.error(f"{label}: {str(key)!r} is not a date", line=key_line, expected=_DATE_FORMAT)
        if day in first_line:
            raise where.error(f"{label}: date {day} is given twice (first at line {first_line[day]})", line=key_line)
        first_line[day] = key_line
        entries.append((day, value, key_line, f"{label}: {day}"))
    return sorted(entries, key=lambda entry: entry[0])


def _looks_like_parameter(data: Mapping) -> bool:
    # A misspelt ``values`` must still be read as a parameter, to be reported as such.
    keys = [str(key) for key in data]
    return "values" in data or "metadata" in data or any(
        difflib.get_close_matches(key, ("values", "metadata"), n=1, cutoff=0.8) for key in keys)


def _parse_parameter(path: str, data: Mapping, source) -> Parameter:
    where = _Where(source, path)
    line = getattr(data, "line", None)
    for field in data:
        if field not in PARAMETER_FIELDS:
            raise where.error(f"unknown field {field!r}{_suggest(field, PARAMETER_FIELDS)}",
                              line=_line(data, field), expected=", ".join(PARAMETER_FIELDS))

    description = data.get("description") or ""
    if not isinstance(description, str):
        raise where.error("description must be text", line=_line(data, "description"))
    if "metadata" not in data:
        raise where.error("missing 'metadata'", line=line, expected="metadata with unit, label and reference")
    metadata = _parse_metadata(data["metadata"], where, _line(data, "metadata"))
    if "values" not in data:
        raise where.error("missing 'values'", line=line, expected=f"values: {{{_DATE_FORMAT}: value}}")
    national = _parse_dated(data["values"], where, "values", _line(data, "values") or line)

    own = {}
    if "provinces" in data:
        provinces_line = _line(data, "provinces")
        if metadata.breakdown != "province":
            raise where.error("provinces given but metadata.breakdown is not 'province'", line=provinces_line)
        block = data["provinces"]
        if not isinstance(block, Mapping) or not block:
            raise where.error("provinces must map province codes to {date: value}", line=provinces_line)
        for code, mapping in block.items():
            code_line = _line(block, code)
            code = _check_province(code, where, code_line)
            own[code] = _parse_dated(mapping, where, f"provinces: {code}", code_line)

    every = national + [entry for entries in own.values() for entry in entries]
    kind = _infer_kind(metadata, [value for _, value, _, _ in every])
    for _, value, value_line, label in every:
        problem = _check_value(value, kind, metadata)
        if problem:
            raise where.error(f"{label}: {problem[0]}", line=value_line, expected=problem[1])

    national_steps = StepFunction.from_pairs((day, value) for day, value, _, _ in national)
    provincial = []
    for code in (code for code in CODES if code in own):
        # A province's values replace the national ones from the province's first date on.
        first_day, first_value = own[code][0][:2]
        pairs = national_steps._before(first_day, first_value) + [(day, value) for day, value, _, _ in own[code]]
        provincial.append((code, StepFunction.from_pairs(pairs)))
    return Parameter(path=path, description=description.strip(), metadata=metadata, kind=kind,
                     national=national_steps, provincial=tuple(provincial),
                     source=None if source is None else Path(source), line=line)


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
        start, end = parse_change_key(key, where=here, line=line)
        text = start.isoformat() if end is None else f"{start.isoformat()}/{end.isoformat()}"
        if (start, end) in first_line:
            raise here.error(f"{label}{text} is given twice (first at line {first_line[start, end]})", line=line)
        first_line[start, end] = line
        problem = _check_value(value, parameter.kind, parameter.metadata)
        if problem:
            raise here.error(f"{label}{text}: {problem[0]}", line=line, expected=problem[1])
        operations.append((start, end, value))
    # Dates before ranges on the same day, and a longer range before a shorter one inside it,
    # so that the more specific entry is applied last.
    return sorted(operations, key=lambda op: (op[0], op[1] is not None, -(op[1] or op[0]).toordinal()))


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
        hint = _suggest(text, self._parameters)
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

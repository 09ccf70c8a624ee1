"""The declared form of parameter files and scenario files (pydantic models).

Every field, its type, range, allowed values and whether it is required is declared here,
once; unknown fields are refused (``extra="forbid"``). :func:`validate` runs a model over a
mapping read by :func:`~socsec_proj.inputs.yaml_source.read_yaml` and turns the first
pydantic error into an :class:`~socsec_proj.errors.InputError` naming the file, the line
(pydantic's error location looked up in the mapping's line table) and the key.

A parameter file (see :mod:`socsec_proj.inputs.parameters` for the tree they form)::

    description: text                       # optional
    metadata:
      unit: /1                              # required text
      label: Employer pension contribution rate   # required text
      reference: "国办发〔2019〕13号"          # required: text or a non-empty list of texts
      range: [0, 1]                         # optional [min, max], either may be null
      allowed: [fixed, cpi_plus]            # optional; makes the parameter text-valued
      breakdown: province                   # optional; allows ``provinces``
      read_at: 2025-01-01                   # optional: the one day the model reads (see below)
    values: {2016-01-01: 0.20, 2019-05-01: 0.16}
    provinces: {CN-GD: {2020-01-01: 0.14}}

``read_at`` declares that the projection reads the parameter on that day only and uses the
value for every year (``read_at: never``: no stage reads it yet). Values dated after that day,
and scenario changes dated on any other day, would be silently ignored, so they are refused.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import re
import typing
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import pydantic
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from ..errors import InputError, shown
from .dated import DATE_FORMAT, to_date
from .provinces import validate_codes

__all__ = ["Located", "Metadata", "ParameterFile", "References", "ScenarioFile", "TargetFields", "check_value",
           "infer_kind", "suggest", "validate"]

#: Years a scenario may name (horizon, target years); the embedded data narrow them further.
YEARS = (1950, 2300)
#: Scenario names become result folder names: safe characters only.
SCENARIO_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


class Located(ValueError):
    """Raised inside a validator that knows the line it is about (a date key, one value)."""

    def __init__(self, message, *, line=None, expected=None):
        super().__init__(message)
        self.message, self.line, self.expected = message, line, expected


def suggest(word, options, cutoff=0.6) -> str:
    """``"; did you mean 'x'?"`` for the option nearest ``word``, or ``""``."""
    near = difflib.get_close_matches(str(word)[:100], [str(option) for option in options], n=1, cutoff=cutoff)
    return f"; did you mean {near[0]!r}?" if near else ""


# --------------------------------------------------------------------------------------------
# Field types


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{shown(value)} is not a number")
    if not math.isfinite(value):
        raise ValueError(f"{shown(value)} is not a finite number (NaN or infinity)")
    return value


def _year(value):
    if isinstance(value, bool) or not isinstance(value, int) or not YEARS[0] <= value <= YEARS[1]:
        raise Located(f"{shown(value)} is not a year", expected=f"a year in {YEARS[0]}..{YEARS[1]}")
    return value


def _province(code):
    return validate_codes([code], key=None)[0]


def _listed(value):
    return [value] if isinstance(value, str) else value


class References(tuple):
    """The references of a parameter: a tuple of strings that prints as ``"a; b"``."""

    def __str__(self):
        return "; ".join(self)


Text = Annotated[StrictStr, pydantic.StringConstraints(strip_whitespace=True, min_length=1)]
Number = Annotated[Any, AfterValidator(_number)]
Year = Annotated[Any, AfterValidator(_year)]
Province = Annotated[StrictStr, AfterValidator(_province)]


def _dated(mapping, info: ValidationInfo) -> tuple:
    """``((date, value, line), ...)`` sorted by date, from a ``{date: value}`` mapping."""
    if mapping is not None and not isinstance(mapping, Mapping):
        raise Located("must be a mapping of dates to values", expected="{YYYY-MM-DD: value}")
    if not mapping:
        raise Located("is empty", expected="at least one {YYYY-MM-DD: value}")
    lines = getattr(mapping, "key_lines", {})
    entries, first_line = [], {}
    for key, value in mapping.items():
        day = to_date(key)
        if day is None:
            raise Located(f"{shown(str(key))} is not a date", line=lines.get(key), expected=DATE_FORMAT)
        if day in first_line:
            raise Located(f"date {day} is given twice (first at line {first_line[day]})", line=lines.get(key))
        first_line[day] = lines.get(key)
        entries.append((day, value, lines.get(key)))
    return tuple(sorted(entries, key=lambda entry: entry[0]))


Dated = Annotated[Any, BeforeValidator(_dated)]


# --------------------------------------------------------------------------------------------
# Parameters


class Metadata(BaseModel):
    """What a parameter measures, where its values come from and what they may be.

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
        The accepted values of a text-valued parameter.
    breakdown : {"province"}, optional
        ``"province"`` when values may be given per province.
    national : str, optional
        Why a rate, base, benefit or coverage parameter has no province breakdown: the law or
        notice that sets it for the whole country (excludes ``breakdown``).
    read_at : datetime.date or "never", optional
        The one day the projection reads the value (it then holds for every year), or
        ``"never"`` for a parameter no stage reads yet.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    unit: Text
    label: Text
    reference: Annotated[list[Text], BeforeValidator(_listed), Field(min_length=1), AfterValidator(References)]
    range: Annotated[list[Number | None], Field(min_length=2, max_length=2), AfterValidator(tuple)] | None = None
    allowed: Annotated[list[StrictStr], Field(min_length=1), AfterValidator(tuple)] | None = None
    breakdown: Literal["province"] | None = None
    national: Text | None = None
    read_at: Literal["never"] | dt.date | None = None

    @field_validator("allowed")
    @classmethod
    def _range_or_allowed(cls, allowed, info: ValidationInfo):
        if allowed is not None and info.data.get("range") is not None:
            raise ValueError("range and allowed exclude each other")
        return allowed

    @model_validator(mode="after")
    def _national_or_breakdown(self):
        if self.national is not None and self.breakdown is not None:
            raise ValueError("national (why there is no province breakdown) and breakdown exclude each other")
        return self

    @model_validator(mode="after")
    def _ordered_range(self):
        if self.range is not None and None not in self.range and self.range[0] > self.range[1]:
            raise ValueError(f"range {list(self.range)!r} has min > max")
        return self


def infer_kind(metadata: Metadata, values) -> str:
    """``"string"``, ``"number"`` or ``"bool"``: from the metadata, else from the values."""
    if metadata.allowed is not None:
        return "string"
    if metadata.range is not None:
        return "number"
    if values and all(isinstance(value, bool) for value in values):
        return "bool"
    # Numbers, or a mix: then a boolean or a text value is reported as out of place.
    return "number"


def check_value(value, kind, metadata: Metadata):
    """``(message, expected)`` if ``value`` does not fit the parameter, else None."""
    if value is None:
        return "a value is missing", None
    if kind == "bool":
        return None if isinstance(value, bool) else (f"{shown(value)} is not a boolean", "true or false")
    if kind == "string":
        allowed = metadata.allowed
        if not isinstance(value, str) or value not in allowed:
            return f"{shown(value)} is not allowed{suggest(value, allowed)}", "one of " + ", ".join(allowed)
        return None
    if isinstance(value, bool):
        return f"{value!r} is a boolean where a number is expected", "a number"
    if isinstance(value, str):
        return f"{shown(value)} is text where a number is expected (text values need metadata.allowed)", "a number"
    if not isinstance(value, (int, float)):
        return f"{shown(value)} is not a number", "a number"
    if not math.isfinite(value):
        return f"{value!r} is not a finite number (NaN or infinity)", "a finite number"
    if metadata.range is not None:
        low, high = metadata.range
        if (low is not None and value < low) or (high is not None and value > high):
            return f"{value!r} is outside the range", f"a value in [{low}, {high}]"
    return None


def check_read_at(metadata: Metadata, day: dt.date):
    """``(message, expected)`` if a value dated ``day`` would never be read, else None."""
    read_at = metadata.read_at
    if read_at not in (None, "never") and day > read_at:
        return (f"the projection reads this parameter on {read_at} only (metadata.read_at), so a value dated "
                f"{day} would be silently ignored", f"values dated on or before {read_at}")
    return None


def _check_entries(label, entries, kind, metadata: Metadata):
    for day, value, line in entries:
        problem = check_value(value, kind, metadata) or check_read_at(metadata, day)
        if problem:
            raise Located(f"{label}{day}: {problem[0]}", line=line, expected=problem[1])


class ParameterFile(BaseModel):
    """One parameter as written in a file: ``description``, ``metadata``, ``values``, ``provinces``.

    ``values`` and each province's mapping come out as ``((date, value, line), ...)`` sorted
    by date; every value is checked against the metadata (kind, range, allowed, read_at).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    description: StrictStr | None = None
    metadata: Metadata
    values: Dated
    provinces: dict[Province, Dated] | None = None

    @property
    def kind(self) -> str:
        return infer_kind(self.metadata, [value for _, value, _ in self.values])

    @field_validator("values")
    @classmethod
    def _values_fit(cls, values, info: ValidationInfo):
        metadata = info.data.get("metadata")
        if metadata is not None:
            _check_entries("", values, infer_kind(metadata, [value for _, value, _ in values]), metadata)
        return values

    @field_validator("provinces")
    @classmethod
    def _provinces_fit(cls, provinces, info: ValidationInfo):
        metadata, values = info.data.get("metadata"), info.data.get("values")
        if provinces is None or metadata is None or values is None:
            return provinces
        if metadata.breakdown != "province":
            raise ValueError("provinces given but metadata.breakdown is not 'province'")
        if not provinces:
            raise ValueError("provinces must map province codes to {date: value}")
        kind = infer_kind(metadata, [value for _, value, _ in values])
        for code, entries in provinces.items():
            _check_entries(f"{code}: ", entries, kind, metadata)
        return provinces


# --------------------------------------------------------------------------------------------
# Scenarios


def _scenario_name(name):
    if not SCENARIO_NAME.match(name):
        raise Located(f"{shown(name)} is not a scenario name",
                      expected="letters, digits, _ . - (it names the results folder)")
    return name


def _province_list(codes):
    if not isinstance(codes, list) or not codes:
        raise Located("provinces must be a non-empty list of codes", expected="e.g. [CN-GD, CN-HE]")
    return list(validate_codes(codes, key=None))


class TargetFields(BaseModel):
    """A plan target as written in a scenario's ``targets`` list."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    indicator: Text
    province: Province | None = None
    year: Year
    value: Number
    source: Text


class ScenarioFile(BaseModel):
    """The top level of one scenario file; ``changes`` are checked when merged and applied."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[StrictStr, AfterValidator(_scenario_name)]
    description: StrictStr | None = None
    extends: Any = None
    horizon: Year | None = None
    provinces: Annotated[Any, AfterValidator(_province_list)] | None = None
    changes: Any = None
    targets: list[TargetFields] | None = None


# --------------------------------------------------------------------------------------------
# From pydantic's errors to InputError


def _model_at(model, loc) -> type[BaseModel] | None:
    """The model class at ``loc`` inside ``model`` (through lists, dicts and optionals)."""
    current = model
    for part in loc:
        if isinstance(part, int) or current is None:
            continue
        field = current.model_fields.get(part)
        if field is None:
            return None
        current = _find_model(field.annotation)
    return current


def _find_model(annotation):
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _find_model(argument)
        if found is not None:
            return found
    return None


def _where(data, loc):
    """The 1-based line of the deepest part of ``loc`` present in ``data``, and how deep that is."""
    node, line, depth = data, getattr(data, "line", None), 0
    for part in loc:
        if isinstance(node, Mapping) and not isinstance(part, int) and part in node:
            line = getattr(node, "key_lines", {}).get(part, line)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            line = getattr(node, "line", line)
        else:
            break
        depth += 1
    return line, depth


def _loc_text(loc) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def validate(model: type[BaseModel], data, *, source, key=None, top="field"):
    """``model.model_validate(data)``, with the first error as an :class:`InputError`.

    Parameters
    ----------
    model : pydantic model class
    data : mapping
        Read by :func:`~socsec_proj.inputs.yaml_source.read_yaml` (its line table names the
        line of each error); a plain dict works too, without lines.
    source : path or str
        The file, named in the error.
    key : str, optional
        The key named in the error (a parameter's dotted path); the place inside ``data``
        then goes into the message. Without it, the place inside ``data`` is the key.
    top : str
        How an unknown top-level name is called in the message ("field", "key").
    """
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        # A misspelt name explains the missing one it stands for: unknown names first.
        first = min(errors, key=lambda error: error["type"] != "extra_forbidden")
        raise _input_error(model, first, data, source, key, top) from None


def _input_error(model, error, data, source, key, top) -> InputError:
    loc = tuple(part for part in error["loc"] if part != "[key]")
    kind = error["type"]
    line, _ = _where(data, loc)
    cause = (error.get("ctx") or {}).get("error")
    expected = None
    field = next((part for part in reversed(loc) if isinstance(part, str)), None)
    if kind in ("missing", "extra_forbidden"):
        place, name = loc[:-1], loc[-1]
        if kind == "missing":
            message = f"missing {name!r}"
            expected = ", ".join(n for n, f in (_model_at(model, place) or model).model_fields.items()
                                 if f.is_required())
        else:
            options = list((_model_at(model, place) or model).model_fields)
            word = "key" if not place and top == "key" else "field"
            message = f"unknown {word} {shown(name)}{suggest(name, options)}"
            expected = ", ".join(options)
    else:
        place = loc[:-1] if "[key]" in error["loc"] else loc
        if isinstance(cause, Located):
            message, expected = cause.message, cause.expected
            line = cause.line or line
        elif isinstance(cause, Exception):
            message = getattr(cause, "reason", None) or str(cause)
            expected = getattr(cause, "expected", None)
        elif kind in ("string_too_short", "too_short") and field is not None:
            message, place = f"missing {field!r} (it is empty)", tuple(p for p in loc if isinstance(p, str))[:-1]
        elif kind in ("string_type", "string_sub_type"):
            message = "must be text"
        elif kind == "literal_error":
            message = f"{shown(error.get('input', '?'))} is not allowed"
            expected = (error.get("ctx") or {}).get("expected")
        else:
            message = error["msg"]
    if key is not None:
        where = _loc_text(place).replace(".", ": ")
        # "values is empty", "values: 2019-05-01: 1.6 is outside the range"
        separator = " " if message.startswith(("is ", "must ")) else ": "
        return InputError(f"{where}{separator}{message}" if where else message, source=source, key=key, line=line,
                          expected=expected)
    top_level = not place and kind in ("missing", "extra_forbidden")
    prefix = "not a scenario: " if model is ScenarioFile and top_level else ""
    if kind == "missing" and prefix:
        message = f"no {loc[-1]!r}"
    named = _loc_text(loc if kind in ("missing", "extra_forbidden") and not place else place) or None
    return InputError(prefix + message, source=source, key=named, line=line, expected=expected)

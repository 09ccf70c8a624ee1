"""Dates and dated values: ISO days, change keys and step functions.

A parameter's value over time is a :class:`StepFunction`: ``values[i]`` holds from
``dates[i]`` until ``dates[i + 1]``, the first value also before the first date. Scenario
changes are keyed by a day (``"2027-01-01"``: from that day on) or a range
(``"2030-01-01/2034-12-31"``: those days inclusive, then the earlier values resume).
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import re

import numpy as np

from ..errors import InputError, shown

__all__ = ["StepFunction", "as_date", "change_key_text", "normalize_change_key", "parse_change_key", "to_date"]

DATE_FORMAT = "a date YYYY-MM-DD, e.g. 2019-05-01"
CHANGE_FORMAT = "YYYY-MM-DD (from that date on) or YYYY-MM-DD/YYYY-MM-DD (inside that range)"
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

# The earliest representable day: a change that starts before a series' first date keeps the
# days before it at their old value by adding an entry on this day (see StepFunction._before).
_FAR_PAST = dt.date.min


def to_date(value) -> dt.date | None:
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


def as_date(day) -> dt.date:
    """A day given as a date, datetime, numpy datetime64 or ISO string."""
    if isinstance(day, np.datetime64):
        day = day.astype("datetime64[D]").item()
    if isinstance(day, dt.datetime):
        return day.date()
    parsed = to_date(day)
    if parsed is None:
        raise TypeError(f"expected a date (datetime.date or 'YYYY-MM-DD'), got {day!r}")
    return parsed


def as_years(years) -> np.ndarray:
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


def parse_change_key(key, *, source=None, path=None, line=None) -> tuple[dt.date, dt.date | None]:
    """``(start, None)`` for a date key, ``(start, end)`` for a ``"START/END"`` range key.

    Raises
    ------
    InputError
        Naming ``source``, ``line`` and ``path`` if the key is neither, or the range ends
        before it starts.
    """
    day = to_date(key)
    if day is not None:
        return day, None
    if isinstance(key, str) and key.count("/") == 1:
        first, last = (to_date(part.strip()) for part in key.split("/"))
        if first is not None and last is not None:
            if last < first:
                raise InputError(f"date range {key!r} ends before it starts", source=source, key=path, line=line,
                                 expected=CHANGE_FORMAT)
            return first, last
    raise InputError(f"{shown(key)} is not a date or a date range", source=source, key=path, line=line,
                     expected=CHANGE_FORMAT)


def change_key_text(start: dt.date, end: dt.date | None) -> str:
    """``"2027-01-01"`` or ``"2030-01-01/2034-12-31"``."""
    return start.isoformat() if end is None else f"{start.isoformat()}/{end.isoformat()}"


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
    return change_key_text(*parse_change_key(key, source=source, path=path, line=line))


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
        years = as_years(years)
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
        years = as_years(years)
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

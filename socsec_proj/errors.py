"""Exceptions raised on bad input, before any computing starts, and how a bad value is shown."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: names where it is (file, line), which key, and what was expected.

    Subclasses ``ValueError`` so that ``except ValueError`` catches it too.

    Parameters
    ----------
    message : str
        What is wrong.
    source : str or path-like, optional
        The file or table the bad value came from.
    key : str, optional
        The parameter path, column or field that holds it.
    expected : str, optional
        What would have been accepted (a range, a list of names, a format).
    line : int, optional
        1-based line in ``source``.
    opened_line : int, optional
        For a YAML syntax error, the 1-based line where the broken construct (an unclosed
        ``[`` or quote) was opened, when it is before ``line``: the typo is usually there.
    """

    def __init__(self, message, *, source=None, key=None, expected=None, line=None, opened_line=None):
        self.source = None if source is None else str(source)
        self.key = key
        self.expected = expected
        self.line = line
        self.opened_line = opened_line
        self.reason = message
        super().__init__(self._format())

    def _format(self):
        where = ""
        if self.source:
            where = self.source + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        expected = f" (expected {self.expected})" if self.expected else ""
        return f"{where}{key}{self.reason}{expected}"


def shown(value, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages about any input.

    A value read from a file is bounded by the file's size, but a message should stay one
    short line whatever the value is; strings are cut before ``repr`` so that a long one is
    never copied whole.

    Examples
    --------
    >>> shown("x" * 100, limit=10)
    "'xxxxxxx...'"
    """
    if isinstance(value, str) and len(value) > limit:
        return repr(value[: max(limit - 3, 1)])[:-1] + "...'"
    if isinstance(value, (bool, int, float, type(None))):
        text = repr(value)
    elif isinstance(value, (list, tuple, dict)) and len(value) > 8:
        text = f"<{type(value).__name__} of {len(value)} items>"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."

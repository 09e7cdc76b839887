"""One error type for every kind of bad input.

Every face of the product (CLI, Excel functions, workbook builder) reports bad input the
same way: *where* (file or argument, and the key path inside it), *what* was given and
*what was expected*.  The CLI turns it into exit code 2, the UDFs into an Excel error.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def as_typed(value: Any) -> str:
    """A value as a person typed it: no ``Decimal('...')`` wrappers."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {as_typed(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(as_typed(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, str):
        # Quoted as typed: no doubled backslashes; control characters made visible so the
        # message stays on one line.
        text = value.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        # Other control characters (NUL, vertical tab...) would vanish on a terminal.
        text = "".join(f"\\x{ord(c):02x}" if unicodedata.category(c) == "Cc" else c
                       for c in text)
        return f"'{text}'" if "'" not in text else f'"{text}"'
    return repr(value)


def _show(value: Any) -> str:
    text = as_typed(value)
    # Strings (often file paths) are shown whole up to a generous length; tables and lists
    # are cut sooner so one message stays readable.
    limit = 300 if isinstance(value, str) else 120
    return text if len(text) <= limit else text[:limit - 3] + "..."


class InputError(ValueError):
    """Bad input, described well enough for a person to fix it.

    Args:
        field: key path of the offending value (``researchers[0].hours``) or argument name.
        value: the value that was given (``MISSING`` when absent).
        expected: what would have been accepted, in words.
        source: the file (or ``argument``) the value came from; may be filled in later.

    Example:
        >>> str(InputError("hours", -3, "a number >= 0", source="p.toml"))
        'p.toml: hours = -3: expected a number >= 0'
    """

    MISSING: Any = object()

    def __init__(self, field: str, value: Any, expected: str, source: str | None = None):
        self.field = field
        self.value = value
        self.expected = expected
        self.source = source
        super().__init__(self.message)

    @property
    def message(self) -> str:
        where = f"{self.source}: " if self.source else ""
        if self.value is InputError.MISSING:
            return f"{where}{self.field} is missing: expected {self.expected}"
        return f"{where}{self.field} = {_show(self.value)}: expected {self.expected}"

    def __str__(self) -> str:
        return self.message

    def at(self, prefix: str) -> "InputError":
        """The same error with its field placed under ``prefix`` (``researchers[0]``)."""
        return InputError(f"{prefix}.{self.field}", self.value, self.expected, self.source)

    def in_source(self, source: str) -> "InputError":
        """Return the same error attributed to ``source`` (keeps an existing source)."""
        if self.source:
            return self
        return InputError(self.field, self.value, self.expected, source)


class InputErrors(InputError):
    """Several problems found in one file, reported together as one message."""

    def __init__(self, errors: list[InputError]):
        self.errors = errors
        first = errors[0]
        super().__init__(first.field, first.value, first.expected, first.source)

    @property
    def message(self) -> str:
        lines = [e.message for e in self.errors[:8]]
        if len(self.errors) > 8:
            lines.append(f"... and {len(self.errors) - 8} more problems")
        return "\n".join(lines)

    def in_source(self, source: str) -> "InputErrors":
        return InputErrors([e.in_source(source) for e in self.errors])

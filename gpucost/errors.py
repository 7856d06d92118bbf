"""Errors a user can act on.

Anything raised as a :class:`GpucostError` is printed by the CLI as one line on stderr
and ends the command with exit status 2, without a traceback. Programming errors stay
ordinary exceptions so that they do show a traceback.

Messages quote what the user wrote through :func:`quote`, which bounds the quote to
:data:`QUOTE_LIMIT` characters and escapes control characters, so that a hostile value
(a megabyte string, a newline, an escape sequence) never floods or forges a terminal line.
"""

from __future__ import annotations

import re
import reprlib
from typing import Any

# The most characters of a user's value that any message quotes.
QUOTE_LIMIT = 80

_REPR = reprlib.Repr()
_REPR.maxlevel = 3
_REPR.maxstring = QUOTE_LIMIT
_REPR.maxother = QUOTE_LIMIT
for _name in ("maxlist", "maxtuple", "maxdict", "maxset", "maxfrozenset", "maxdeque",
              "maxarray"):
    setattr(_REPR, _name, 6)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def quote(value: Any, limit: int = QUOTE_LIMIT) -> str:
    """``value`` as Python would show it, at most ``limit`` characters, one line.

    Strings are quoted as written (``'yes'``); other values by their bounded ``repr``
    (deep or self-referencing structures are elided with ``...``).
    """
    text = repr(value) if isinstance(value, str) and len(value) <= limit else _REPR.repr(value)
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def one_line(text: str, limit: int = 400) -> str:
    """``text`` with control characters (newlines included) made visible and at most
    ``limit`` characters: every message printed as "one line" goes through this."""
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], str(text))
    return text if len(text) <= limit else text[: limit - 3] + "..."


class GpucostError(Exception):
    """An error caused by the user's input or environment, with a one-line message."""

    exit_code = 2


class InputError(GpucostError):
    """A file or argument is malformed: names the place, the field and what was expected."""

    def __init__(self, where: str, field: str, expected: str) -> None:
        self.where = where
        self.field = field
        self.expected = expected
        super().__init__(f"{where}: {field}: {expected}")

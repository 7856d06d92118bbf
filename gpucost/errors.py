"""Errors a user can act on.

Anything raised as a :class:`GpucostError` is printed by the CLI as one line on stderr
and ends the command with exit status 2, without a traceback. Programming errors stay
ordinary exceptions so that they do show a traceback.
"""

from __future__ import annotations


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

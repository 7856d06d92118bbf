"""Reading user files, with errors that name the file and say what was expected."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gpucost.errors import InputError


def read_text(path: str | Path, what: str) -> str:
    """The text of ``path``; an unreadable file is an :class:`InputError` naming ``what``."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(str(path), "file", f"a readable {what} ({exc.strerror})") from None


def load_yaml(path: str | Path, what: str) -> Any:
    """The parsed YAML of ``path``; a syntax error names its line."""
    text = read_text(path, what)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "file"
        raise InputError(str(path), where, "valid YAML") from None

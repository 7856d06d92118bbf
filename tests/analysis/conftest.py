"""Fixtures for estimate / calibrate / diff / status-progress: run the CLI in-process."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpucost.cli import main

# Let the tests import their shared paths (no package __init__ files; "conftest" is
# ambiguous when several test folders run together).
sys.path.insert(0, str(Path(__file__).parent))


@dataclass
class Result:
    code: int | str | None
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines()
                if not line.startswith("gpucost: warning: snapshot")]


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path) -> Callable[..., Result]:
    """``run_cli(*args)``: run ``gpucost`` in-process; returns exit code, stdout, stderr."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path / "no-user-snapshots"))
    capsys.readouterr()

    def run(*args: str) -> Result:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Result(info.value.code, out, err)

    return run

"""Paths shared by the analysis tests (estimate, calibrate, diff)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"

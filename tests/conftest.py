"""Every test: no calibration profile from the developer's own config folder."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_user_calibration(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("xdg-config")))
    monkeypatch.delenv("GPUCOST_CALIBRATION", raising=False)

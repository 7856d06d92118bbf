"""Refresh against an adversary, round 3 (issue 19): non-finite deadlines, one unreadable
previous snapshot among several providers, and UTC dates whatever the local time zone."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from test_refresh import rows

from gpucost import providers
from gpucost.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e9"])
def test_refresh_timeout_must_be_finite_and_plausible(static, tmp_path, capsys, value):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    code, out, err = run(capsys, "refresh", "--provider", "static", "--timeout", value,
                         "--out", str(tmp_path))
    assert code == 2 and out == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("gpucost: error: Invalid value for '--timeout'")
    assert not (tmp_path / "static").exists()


@pytest.mark.parametrize("value", ["nan", "inf", "1e9"])
def test_refresh_timeout_from_environment_likewise(static, tmp_path, capsys, monkeypatch,
                                                   value):
    monkeypatch.setenv("GPUCOST_REFRESH_TIMEOUT", value)
    code, _, err = run(capsys, "refresh", "--provider", "static", "--out", str(tmp_path))
    assert code == 2
    assert f"GPUCOST_REFRESH_TIMEOUT: value: a positive number of seconds, got '{value}'" \
        in err


def test_an_unreadable_previous_snapshot_fails_only_its_provider(static, tmp_path, capsys,
                                                                 monkeypatch):
    monkeypatch.setitem(providers.REGISTRY, "other", "static_provider:OtherProvider")
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    broken = tmp_path / "other" / "2026-11-01.csv"
    broken.parent.mkdir()
    broken.write_bytes(b"\x89PNG\r\n\x1a\n\x00binary")
    code, out, err = run(capsys, "refresh", "--provider", "other,static", "--out",
                         str(tmp_path))
    assert code == 1, err
    assert "Traceback" not in err
    today = dt.datetime.now(dt.UTC).date().isoformat()
    assert f"static: wrote {tmp_path / 'static' / today}.csv (1 offers)" in out
    assert "other: FAILED: other: the previous snapshot cannot be read" in out
    assert str(broken) in out
    assert broken.read_bytes().startswith(b"\x89PNG")  # left as it was
    assert sorted(p.name for p in broken.parent.iterdir()) == ["2026-11-01.csv"]


def test_refresh_names_files_by_the_utc_date(static, tmp_path, capsys, monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("time zones are set through TZ on POSIX only")
    utc = dt.datetime.now(dt.UTC).date()
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, utc.isoformat())
    local_dates = set()
    try:
        # UTC+14 and UTC-12 are 26 hours apart: at any moment one of them is not on the
        # UTC date, so a local-date file name shows in one of the two runs.
        for zone in ("Etc/GMT-14", "Etc/GMT+12"):
            monkeypatch.setenv("TZ", zone)
            time.tzset()
            local_dates.add(dt.date.today())
            code, out, err = run(capsys, "refresh", "--provider", "static", "--out",
                                 str(tmp_path / zone.replace("/", "_")))
            assert code == 0, err
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert local_dates - {utc}
    after = dt.datetime.now(dt.UTC).date()
    for zone in ("Etc_GMT-14", "Etc_GMT+12"):
        names = {p.name for p in (tmp_path / zone / "static").iterdir()}
        assert len(names) == 1 and names <= {f"{utc}.csv", f"{after}.csv"}, (zone, names)
    assert os.environ.get("TZ") is None

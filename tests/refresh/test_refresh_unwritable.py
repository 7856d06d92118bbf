"""Unwritable places (issue 19, item 15): `refresh --out` a file, a read-only mount or a
full disk, a read-only XDG_DATA_HOME, a file-shaped or read-only GPUCOST_CACHE_DIR. Each
is one line and a non-zero exit, checked before anything is fetched where it can be, and
the earlier snapshot survives. Real file systems: as root (where permissions do not stop
writes) a small tmpfs mounted read-only or nearly full; otherwise chmod."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_refresh import rows

from gpucost.catalog.schema import coerce_offers
from gpucost.catalog.snapshot import offers_to_csv_text
from gpucost.cli import main

EARLIER = offers_to_csv_text(coerce_offers(rows({("r1", "a.x"): 10.0}, "2026-11-01"),
                                           "earlier"))


def run(capsys, *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as info:
        main(list(args))
    out, err = capsys.readouterr()
    return info.value.code, out, err


def refused(code: int, out: str, err: str) -> str:
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpucost: error: "), err
    return lines[0]


def _mount(target: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True, check=False)
    return proc.returncode == 0


@contextmanager
def read_only(folder: Path) -> Iterator[Path]:
    """``folder`` (holding an earlier snapshot) made unwritable: a read-only tmpfs as
    root, mode 0555 otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        if not _mount(folder, "size=1m"):
            pytest.skip("root without mount: cannot make a read-only folder")
        (folder / "static").mkdir()
        (folder / "static" / "2026-11-01.csv").write_text(EARLIER)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        try:
            yield folder
        finally:
            subprocess.run(["umount", str(folder)], check=False)
        return
    (folder / "static").mkdir()
    (folder / "static" / "2026-11-01.csv").write_text(EARLIER)
    folder.chmod(0o555)
    (folder / "static").chmod(0o555)
    try:
        yield folder
    finally:
        (folder / "static").chmod(0o755)
        folder.chmod(0o755)


def test_out_an_existing_file_is_one_line_before_fetching(static, tmp_path, capsys):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    target = tmp_path / "prices.csv"
    target.write_text(EARLIER)
    line = refused(*run(capsys, "refresh", "--provider", "static", "--out", str(target)))
    assert f"{target}: --out: a writable folder, not a file" in line
    assert target.read_text() == EARLIER


def test_out_under_a_file_is_one_line(static, tmp_path, capsys):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    (tmp_path / "prices.csv").write_text(EARLIER)
    line = refused(*run(capsys, "refresh", "--provider", "static", "--out",
                        str(tmp_path / "prices.csv" / "snapshots")))
    assert "--out: a writable folder (Not a directory)" in line


def test_out_a_read_only_folder_is_one_line_before_fetching(static, tmp_path, capsys):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    with read_only(tmp_path / "ro") as folder:
        code, out, err = run(capsys, "refresh", "--provider", "static", "--out", str(folder))
        line = refused(code, out, err)
        assert "fetching" not in err
        assert f"{folder}: --out: a writable folder (" in line
        assert (folder / "static" / "2026-11-01.csv").read_text() == EARLIER


def test_a_read_only_xdg_data_home_is_one_line(static, tmp_path, capsys, monkeypatch):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    monkeypatch.delenv("GPUCOST_SNAPSHOT_DIR", raising=False)
    with read_only(tmp_path / "xdg") as folder:
        monkeypatch.setenv("XDG_DATA_HOME", str(folder))
        line = refused(*run(capsys, "refresh", "--provider", "static"))
        assert f"{folder / 'gpucost' / 'snapshots'}: --out: a writable folder (" in line


def test_a_full_disk_keeps_the_earlier_snapshot(static, tmp_path, capsys):
    folder = tmp_path / "small"
    folder.mkdir()
    if not _mount(folder, "size=64k"):
        pytest.skip("needs root and mount for a real full file system")
    try:
        (folder / "static").mkdir()
        (folder / "static" / "2026-11-01.csv").write_text(EARLIER)
        # Fill the file system: empty files (the lock, the probe) still fit, data not.
        with (folder / "ballast").open("wb", buffering=0) as fh:
            try:
                while True:
                    fh.write(b"\0" * 4096)
            except OSError:
                pass
        prices = {(f"r{i}", f"type-{uuid.uuid4().hex}.x"): 11.0 for i in range(200)}
        static.TABLE["offers"] = rows(prices, "2026-11-25")
        code, out, err = run(capsys, "refresh", "--provider", "static", "--out", str(folder))
        assert code == 1, (out, err)
        assert "Traceback" not in err
        assert "static: FAILED: static: cannot write" in out and "No space left" in out
        assert (folder / "static" / "2026-11-01.csv").read_text() == EARLIER
        assert sorted(p.name for p in (folder / "static").iterdir()) == ["2026-11-01.csv"]
    finally:
        subprocess.run(["umount", str(folder)], check=False)


@pytest.mark.parametrize("shape", ["file", "read-only"])
def test_an_unusable_cache_dir_is_one_line(tmp_path, capsys, monkeypatch, shape):
    from tests.catalog.test_remote import _Files

    files = _Files({"/aws/2026-11-25.csv": (200, "text/csv", EARLIER.encode())})
    url = f"{files.base}/aws/2026-11-25.csv"
    try:
        cache = tmp_path / "cache"
        if shape == "file":
            cache.write_text("not a folder")
            monkeypatch.setenv("GPUCOST_CACHE_DIR", str(cache))
            line = refused(*run(capsys, "prices", "--snapshot", url))
        else:
            with read_only(cache) as folder:
                monkeypatch.setenv("GPUCOST_CACHE_DIR", str(folder))
                line = refused(*run(capsys, "prices", "--snapshot", url))
        assert "cache folder ($GPUCOST_CACHE_DIR): a writable folder" in line
    finally:
        files.stop()

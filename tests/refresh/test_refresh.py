"""gpucost refresh: failures keep old rows, writes are atomic, diffs are reported."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd
import pytest

from gpucost.catalog.snapshot import read_snapshot_file, write_snapshot
from gpucost.cli import main
from gpucost.refresh.diff import diff_snapshots
from gpucost.refresh.run import refresh, summarize

OLD_DAY, NEW_DAY = dt.date(2026, 11, 1), dt.date(2026, 11, 25)


def rows(prices: dict[tuple[str, str], float], as_of: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "provider": "static", "region": region, "zone": "", "instance_type": itype,
        "gpu": "H100", "gpu_count": 8, "gpu_memory_gib": 80, "vcpus": 192,
        "memory_gib": 2048, "pricing": "on_demand", "usd_per_hour": price, "as_of": as_of,
        "source": "static test", "stale": False} for (region, itype), price in prices.items()])


@pytest.fixture
def previous(tmp_path):
    old = rows({("r1", "a.x"): 10.0, ("r2", "a.x"): 20.0, ("r2", "b.x"): 5.0}, "2026-11-01")
    from gpucost.catalog.schema import coerce_offers

    path = write_snapshot(coerce_offers(old, "old"), tmp_path, "static", OLD_DAY)
    return path


def run(tmp_path, regions=None):
    lines: list[str] = []
    outcomes = refresh(["static"], regions, tmp_path, echo=lines.append, today=NEW_DAY)
    return outcomes, lines


def test_failed_region_keeps_its_old_rows_marked_stale(static, tmp_path, previous):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0, ("r2", "a.x"): 99.0}, "2026-11-25")
    static.FAIL_REGIONS["r2"] = "UnauthorizedOperation: not allowed"
    (outcome,), lines = run(tmp_path)
    assert not outcome.ok and outcome.failed_regions == {"r2": static.FAIL_REGIONS["r2"]}
    new = read_snapshot_file(tmp_path / "static" / "2026-11-25.csv").set_index(
        ["region", "instance_type"])
    assert new.loc[("r1", "a.x"), "usd_per_hour"] == 11.0
    assert not new.loc[("r1", "a.x"), "stale"]
    # r2 failed: its previous rows, prices and dates are carried over and marked stale
    assert new.loc[("r2", "a.x"), "usd_per_hour"] == 20.0
    assert new.loc[("r2", "b.x"), "stale"]
    assert new.loc[("r2", "a.x"), "as_of"] == pd.Timestamp("2026-11-01")
    assert previous.read_text().count("\n") == 4  # the old file is untouched
    assert "static r2: FAILED (UnauthorizedOperation: not allowed)" in lines
    assert "r2: FAILED (UnauthorizedOperation: not allowed); previous rows carried over" \
        in summarize([outcome])


def test_cli_exit_status_is_nonzero_when_a_region_fails(static, tmp_path, previous, capsys):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    static.FAIL_REGIONS["r2"] = "Throttling: rate exceeded"
    with pytest.raises(SystemExit) as exit_:
        main(["refresh", "--provider", "static", "--out", str(tmp_path)])
    assert exit_.value.code == 1
    out = capsys.readouterr()
    assert "r2: FAILED (Throttling: rate exceeded)" in out.out
    assert "Traceback" not in out.err


def test_crash_mid_write_leaves_the_old_snapshot(static, tmp_path, previous, monkeypatch):
    before = previous.read_bytes()
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0, ("r2", "a.x"): 21.0}, "2026-11-25")

    def crash(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", crash)
    # Written over the *same* date, so a non-atomic write would clobber it. The failure
    # is that provider's outcome (issue 19: one line, not a traceback; others go on).
    (outcome,) = refresh(["static"], None, tmp_path, echo=lambda _: None, today=OLD_DAY)
    assert outcome.error == f"static: cannot write {tmp_path / 'static'} (disk full)"
    assert outcome.path is None
    assert previous.read_bytes() == before
    assert sorted(p.name for p in previous.parent.iterdir()) == [previous.name]


def test_diff_reports_added_removed_and_price_moves(static, tmp_path, previous):
    static.TABLE["offers"] = rows({("r1", "a.x"): 12.0, ("r2", "a.x"): 20.5,
                                   ("r2", "c.x"): 3.0}, "2026-11-25")
    (outcome,), _ = run(tmp_path)
    diff = outcome.diff
    assert diff.added == ["static/r2/c.x/on_demand"]
    assert diff.removed == ["static/r2/b.x/on_demand"]
    # +20% listed, +2.5% below the 5% threshold is not
    assert [(k, round(c, 3)) for k, _, _, c in diff.price_changes] == [
        ("static/r1/a.x/on_demand", 0.2)]
    text = summarize([outcome])
    assert "1 offers added, 1 removed, 1 prices changed by more than 5%" in text
    assert "static/r1/a.x/on_demand: $10 -> $12 (+20.0%)" in text


def test_region_scoped_refresh_keeps_other_regions(static, tmp_path, previous):
    static.TABLE["offers"] = rows({("r1", "a.x"): 9.0}, "2026-11-25")
    (outcome,), _ = run(tmp_path, regions=["r1"])
    assert outcome.ok
    new = read_snapshot_file(outcome.path)
    assert set(new["region"]) == {"r1", "r2"}
    assert not new["stale"].any()


def test_unavailable_provider_writes_nothing_and_says_how(static, tmp_path, previous):
    static.UNAVAILABLE.append("static: no credentials; set STATIC_TOKEN")
    (outcome,), _ = run(tmp_path)
    assert outcome.error == "static: no credentials; set STATIC_TOKEN"
    assert not (tmp_path / "static" / "2026-11-25.csv").exists()
    assert "previous snapshot left as it was" in summarize([outcome])


def test_real_adapters_without_credentials_give_one_line_each(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["refresh", "--provider", "aws,gcp", "--regions", "us-east-1",
              "--out", str(tmp_path)])
    assert exit_.value.code == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2
    assert out[0].startswith("aws: FAILED: aws: no credentials found")
    assert out[1].startswith("gcp: FAILED: gcp: no application-default credentials")
    assert not any(tmp_path.rglob("*.csv"))


def test_diff_of_identical_tables_is_empty():
    table = rows({("r1", "a.x"): 10.0}, "2026-11-25")
    diff = diff_snapshots(table, table)
    assert (diff.added, diff.removed, diff.price_changes) == ([], [], [])


def test_unknown_gpu_is_warned_once_per_refresh(static, tmp_path):
    from gpucost.catalog.schema import UnknownGpuWarning

    fresh = rows({("r1", "a.x"): 11.0}, "2026-11-25").assign(gpu="K80")
    static.TABLE["offers"] = fresh
    with pytest.warns(UnknownGpuWarning) as record:
        (outcome,), _ = run(tmp_path)
    assert outcome.ok
    unknown = [w for w in record if issubclass(w.category, UnknownGpuWarning)]
    assert len(unknown) == 1 and "K80" in str(unknown[0].message)
def test_region_scoped_refresh_into_a_new_folder_holds_only_those_regions(static, tmp_path,
                                                                         monkeypatch):
    """The shipped/user snapshot of the provider lives elsewhere: its other regions are
    not copied into a new --out folder (a requested region that fails still keeps it)."""
    from gpucost.catalog.schema import coerce_offers

    elsewhere = tmp_path / "user-snapshots"
    old = rows({("r1", "a.x"): 10.0, ("r2", "a.x"): 20.0, ("r3", "a.x"): 30.0}, "2026-11-01")
    write_snapshot(coerce_offers(old, "old"), elsewhere, "static", OLD_DAY)
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(elsewhere))
    static.TABLE["offers"] = rows({("r1", "a.x"): 9.0}, "2026-11-25")
    static.FAIL_REGIONS["r2"] = "throttled"
    out = tmp_path / "new"
    (outcome,) = refresh(["static"], ["r1", "r2"], out, echo=lambda line: None, today=NEW_DAY)
    new = read_snapshot_file(outcome.path)
    assert sorted(zip(new["region"], new["usd_per_hour"], new["stale"], strict=True)) == [
        ("r1", 9.0, False), ("r2", 20.0, True)]

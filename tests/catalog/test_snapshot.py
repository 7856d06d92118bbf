"""Snapshot files on disk: layout, newest-wins, staleness, error messages, atomic writes."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pandas as pd
import pytest

from gpucost.catalog import snapshot
from gpucost.catalog.schema import OFFER_COLUMNS, coerce_offers, sort_offers
from gpucost.catalog.snapshot import (
    find_snapshot_files,
    load_catalog,
    offers_to_csv_text,
    read_snapshot_file,
    shipped_snapshot_dir,
    write_snapshot,
)
from gpucost.errors import InputError

# What files hold: the optional reliability column is written only when a row has one.
WRITTEN_COLUMNS = [c for c in OFFER_COLUMNS if c != "reliability"]
HEADER = ",".join(WRITTEN_COLUMNS)
AUG1 = dt.date(2025, 8, 1)


def _csv_line(row: dict[str, str]) -> str:
    return ",".join(row[c] for c in WRITTEN_COLUMNS)


def _write_csv(path: Path, rows: list[dict[str, str]], header: str = HEADER) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *map(_csv_line, rows)]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def unsorted_offers(make_raw, make_row) -> pd.DataFrame:
    rows = [
        make_row(region="us-west-2", instance_type="p4d.24xlarge", gpu="A100-40GB",
                 gpu_memory_gib="40", usd_per_hour="32.7726"),
        make_row(pricing="spot", zone="us-east-1b", usd_per_hour="40.123456789",
                 source="spot price history"),
        make_row(instance_type="g6.xlarge", gpu="L4", gpu_count="1", gpu_memory_gib="22.5",
                 vcpus="4", memory_gib="16", usd_per_hour="0.8048", stale="True",
                 as_of="2025-07-01"),
        make_row(),
    ]
    return coerce_offers(make_raw(rows), "fixture")


def _quiet_load(path, today=AUG1):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning here is a test failure
        return load_catalog(path, today=today)


# --- round trip ------------------------------------------------------------------------


def test_round_trip(tmp_path, unsorted_offers):
    path = write_snapshot(unsorted_offers, tmp_path, "aws", AUG1)
    assert path == tmp_path / "aws" / "2025-08-01.csv"
    back = read_snapshot_file(path)
    pd.testing.assert_frame_equal(back, sort_offers(unsorted_offers))
    # Full float precision survives the text format.
    assert 40.123456789 in back["usd_per_hour"].tolist()


def test_written_rows_are_sorted_and_in_schema_order(tmp_path, unsorted_offers):
    path = write_snapshot(unsorted_offers.iloc[::-1], tmp_path, "aws", AUG1)
    lines = path.read_text().splitlines()
    assert lines[0] == HEADER
    keys = [tuple(line.split(",")[i] for i in (0, 1, 3, 9)) for line in lines[1:]]
    assert keys == sorted(keys)
    assert len(keys) == 4
    assert not path.read_text().endswith("\n\n")


def test_write_is_idempotent(tmp_path, unsorted_offers):
    path = write_snapshot(unsorted_offers, tmp_path, "aws", AUG1)
    first = path.read_bytes()
    write_snapshot(read_snapshot_file(path), tmp_path, "aws", AUG1)
    assert path.read_bytes() == first


def test_load_catalog_of_written_folder(tmp_path, unsorted_offers):
    write_snapshot(unsorted_offers, tmp_path, "aws", AUG1)
    catalog = _quiet_load(tmp_path)
    pd.testing.assert_frame_equal(catalog.offers, sort_offers(unsorted_offers))
    assert [(f.provider, f.date) for f in catalog.files] == [("aws", AUG1)]


# --- which files are read ----------------------------------------------------------------


@pytest.fixture
def two_dates(tmp_path, make_row) -> Path:
    folder = tmp_path / "snaps"
    _write_csv(folder / "aws" / "2025-07-01.csv",
               [make_row(usd_per_hour="90", as_of="2025-07-01")])
    _write_csv(folder / "aws" / "2025-08-01.csv",
               [make_row(usd_per_hour="80", as_of="2025-08-01")])
    _write_csv(folder / "gcp" / "2025-07-15.csv",
               [make_row(provider="gcp", region="us-central1", instance_type="a3-highgpu-8g",
                         usd_per_hour="88", as_of="2025-07-15")])
    # Not snapshots: a quota file, a leftover temp file, notes, a stray top-level CSV.
    (folder / "aws" / "2025-09-01.quotas.csv").write_text("not,offers\n")
    (folder / "aws" / ".2025-09-02.csv.abc123.tmp").write_text("half a file")
    (folder / "aws" / "notes.txt").write_text("hello")
    (folder / "2025-09-03.csv").write_text("garbage")
    return folder


def test_newest_file_per_provider_wins(two_dates):
    files = find_snapshot_files(two_dates)
    assert [(f.provider, f.path.name) for f in files] == [("aws", "2025-08-01.csv"),
                                                           ("gcp", "2025-07-15.csv")]
    offers = _quiet_load(two_dates).offers
    assert sorted(zip(offers["provider"], offers["usd_per_hour"], strict=True)) == [
        ("aws", 80.0), ("gcp", 88.0)]


def test_snapshot_file_reads_only_that_file(two_dates):
    old = two_dates / "aws" / "2025-07-01.csv"
    catalog = _quiet_load(old, today=dt.date(2025, 7, 2))
    assert [f.path for f in catalog.files] == [old]
    assert catalog.offers["usd_per_hour"].tolist() == [90.0]
    assert catalog.offers["provider"].tolist() == ["aws"]


def test_snapshot_file_with_any_name(tmp_path, make_row):
    path = _write_csv(tmp_path / "my prices.csv", [make_row()])
    catalog = _quiet_load(path)
    assert len(catalog.offers) == 1


def test_nonexistent_path_is_input_error(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(InputError) as info:
        load_catalog(missing)
    assert str(missing) in str(info.value)


def test_folder_without_snapshots_is_input_error(tmp_path):
    (tmp_path / "aws").mkdir()
    (tmp_path / "aws" / "readme.txt").write_text("x")
    with pytest.raises(InputError, match="YYYY-MM-DD"):
        load_catalog(tmp_path)


def test_default_merges_user_and_shipped_snapshots(tmp_path, monkeypatch, make_row):
    shipped = {f.provider: f for f in find_snapshot_files(shipped_snapshot_dir())}
    assert "aws" in shipped and "gcp" in shipped
    user = tmp_path / "user"
    _write_csv(user / "aws" / "2099-01-01.csv", [make_row(as_of="2099-01-01")])
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(user))
    files = {f.provider: f for f in find_snapshot_files()}
    assert files["aws"].path == user / "aws" / "2099-01-01.csv"
    assert files["gcp"].path == shipped["gcp"].path


def test_user_snapshot_dir_override(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path))
    assert snapshot.user_snapshot_dir() == tmp_path


# --- malformed files ------------------------------------------------------------------------


def _one_line_error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        read_snapshot_file(path)
    message = str(info.value)
    assert str(path) in message
    assert "\n" not in message
    return message


def test_garbage_bytes(tmp_path):
    path = tmp_path / "aws" / "2025-08-01.csv"
    path.parent.mkdir()
    path.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe\x00\x00garbage\xc3\x28")
    _one_line_error(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert "provider" in _one_line_error(path)


def test_wrong_header(tmp_path, make_row):
    path = _write_csv(tmp_path / "aws" / "2025-08-01.csv", [make_row()],
                      header=HEADER.replace("usd_per_hour", "price"))
    message = _one_line_error(path)
    assert "usd_per_hour" in message
    assert "header" in message


def test_bad_row_names_file_line_and_column(tmp_path, make_row):
    rows = [make_row(), make_row(instance_type="p4d.24xlarge"),
            make_row(instance_type="p3.2xlarge", gpu_count="zero")]
    path = _write_csv(tmp_path / "aws" / "2025-08-01.csv", rows)
    message = _one_line_error(path)
    assert f"{path}, row 4: gpu_count:" in message
    # Row 4 really is the 4th line of the file.
    assert "zero" in path.read_text().splitlines()[3]


def test_bad_row_in_folder_load(tmp_path, make_row):
    path = _write_csv(tmp_path / "gcp" / "2025-08-01.csv",
                      [make_row(provider="gcp", pricing="preemptible")])
    with pytest.raises(InputError, match=r"row 2: pricing"):
        load_catalog(tmp_path, today=AUG1)
    assert path.exists()


def test_ragged_row_is_one_line_error(tmp_path, make_row):
    path = tmp_path / "aws" / "2025-08-01.csv"
    path.parent.mkdir()
    path.write_text(f"{HEADER}\n{_csv_line(make_row())}\n{_csv_line(make_row())},extra\n")
    message = _one_line_error(path)
    assert "line 3" in message


# --- staleness --------------------------------------------------------------------------------


@pytest.fixture
def aug_snapshot(tmp_path, make_row) -> Path:
    return _write_csv(tmp_path / "aws" / "2025-08-01.csv",
                      [make_row(as_of="2025-08-01"),
                       make_row(instance_type="p4d.24xlarge", gpu="A100-40GB",
                                gpu_memory_gib="40", as_of="2025-05-01", stale="True")])


def test_loading_never_warns_about_a_file_name_date(aug_snapshot):
    # Age is told by the answer that uses the prices (gpucost.catalog.age), from the rows'
    # own as_of: loading alone says nothing, however old the file is.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        catalog = load_catalog(aug_snapshot.parent.parent, today=dt.date(2026, 9, 1))
    assert len(catalog.offers) == 2


# --- atomic writes ---------------------------------------------------------------------------


@pytest.mark.parametrize("victim", ["replace", "fsync"])
def test_crash_mid_write_keeps_previous_file(tmp_path, unsorted_offers, monkeypatch, victim):
    path = write_snapshot(unsorted_offers, tmp_path, "aws", AUG1)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk on fire")

    monkeypatch.setattr(snapshot.os, victim, crash)
    with pytest.raises(OSError, match="disk on fire"):
        write_snapshot(unsorted_offers.iloc[:1], tmp_path, "aws", AUG1)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert [p.name for p in (tmp_path / "aws").iterdir()] == ["2025-08-01.csv"]


def test_crash_on_first_write_leaves_nothing(tmp_path, unsorted_offers, monkeypatch):
    def crash(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(snapshot.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        write_snapshot(unsorted_offers, tmp_path, "aws", AUG1)
    monkeypatch.undo()
    assert list((tmp_path / "aws").iterdir()) == []


def test_successful_overwrite_leaves_no_temp_file(tmp_path, unsorted_offers):
    write_snapshot(unsorted_offers, tmp_path, "aws", AUG1)
    path = write_snapshot(unsorted_offers.iloc[:2], tmp_path, "aws", AUG1)
    assert [p.name for p in path.parent.iterdir()] == ["2025-08-01.csv"]
    assert len(read_snapshot_file(path)) == 2


def test_offers_to_csv_text_is_canonical(unsorted_offers):
    text = offers_to_csv_text(unsorted_offers)
    assert text == offers_to_csv_text(unsorted_offers.iloc[::-1])
    assert text.splitlines()[0] == HEADER
    assert ",2025-07-01," in text  # dates as YYYY-MM-DD, no time part
    assert "00:00" not in text


@pytest.mark.parametrize(("name", "as_of", "field"), [
    ("2099-01-01.csv", "2025-08-01", "file name"),
    ("2025-08-01.csv", "2099-01-01", "as_of"),
])
def test_snapshot_dated_in_the_future_is_refused(tmp_path, name, as_of, field):
    # Issue 11: a snapshot dated 2099 used to pass every freshness check as "fresh".
    folder = tmp_path / "aws"
    folder.mkdir()
    (folder / name).write_text(
        "provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
        "pricing,usd_per_hour,stale,as_of,source\n"
        f"aws,us-east-1,,g5.xlarge,A10G,1,24,4,16,on_demand,1.006,False,{as_of},test\n")
    with pytest.raises(InputError) as info:
        load_catalog(tmp_path, today=AUG1)
    assert str(info.value).startswith(f"{folder / name}: {field}: ")
    assert "2099-01-01 (in the future)" in str(info.value)

"""Snapshots that poison answers (issue 19, items 5, 6 and 16): implausible numbers, huge
strings, another provider's rows, doubled folders, duplicate offers across files and dates
pandas cannot hold. Each goes through the CLI on a real folder, and must end with exit
status 2 and one short line naming the file, row and column, never a plan."""

from __future__ import annotations

import datetime as dt
import json
import time
import warnings
from pathlib import Path

import pandas as pd
import pytest

from gpucost.catalog import schema
from gpucost.catalog.schema import coerce_offers
from gpucost.cli import main

SHIPPED = Path(__file__).resolve().parents[2] / "pricing_snapshots"
HEADER = ("provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
          "network_gbps,rdma,gpu_link,pricing,usd_per_hour,as_of,source,stale")
TODAY = dt.datetime.now(dt.UTC).date().isoformat()
P4D = (f"aws,us-east-1,,p4d.24xlarge,A100-40GB,8,40,96,1152,400,True,nvswitch,on_demand,"
       f"32.77,{TODAY},test: hand-made,False")
G5 = (f"aws,us-east-1,,g5.xlarge,A10G,1,24,4,16,10,False,,on_demand,1.006,{TODAY},"
      "test: hand-made,False")
JOB = "name: poisoned\nflops: 1e21\nutilization: 0.3\ndeadline: 30d\n"


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path / "no-user-snapshots"))
    monkeypatch.setenv("GPUCOST_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("GPUCOST_SNAPSHOTS", raising=False)

    def call(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return info.value.code, out, err

    return call


def folder(tmp_path: Path, files: dict[str, list[str]]) -> Path:
    root = tmp_path / "snap"
    for relative, lines in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n".join([HEADER, *lines]) + "\n")
    return root


def refused(code: int, out: str, err: str) -> str:
    assert code == 2, (out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gpucost: error: "), err
    assert len(lines[0]) < 500
    return lines[0]


def job(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(JOB + extra)
    return path


# -- item 5: plausibility ----------------------------------------------------------------

@pytest.mark.parametrize(("field", "value", "expected"), [
    ("usd_per_hour", "1e-09", "from 0.01 to 5000 USD per instance-hour"),
    ("usd_per_hour", "3.277e+307", "from 0.01 to 5000 USD per instance-hour"),
    ("usd_per_hour", "0.05", "from 0.01 to 500 USD per GPU-hour"),
    ("gpu_count", "4096", "from 1 to 16 GPUs"),
    ("gpu_count", "4", "expected 8 GPUs for 'p4d.24xlarge'"),
    ("gpu_memory_gib", "1e9", "from 1 to 1024 GiB"),
    ("network_gbps", "1e300", "from 0.1 to 100000 Gbps or empty"),
])
def test_implausible_numbers_refuse_the_file(run, tmp_path, field, value, expected):
    columns = HEADER.split(",")
    row = P4D.split(",")
    row[columns.index(field)] = value
    snap = folder(tmp_path, {f"aws/{TODAY}.csv": [G5, ",".join(row)]})
    for args in (("plan", job(tmp_path, "constraints: {budget_usd: 1}\n")),
                 ("prices", "-o", "json")):
        line = refused(*run(*args, "--snapshot", snap))
        assert f"aws/{TODAY}.csv, row 3: {field}: " in line and expected in line, line
        assert "Infinity" not in line


def test_a_huge_instance_type_is_refused_quickly_and_not_printed(run, tmp_path):
    huge = P4D.replace("p4d.24xlarge", "p" * 20_000_000)
    snap = folder(tmp_path, {f"aws/{TODAY}.csv": [huge]})
    started = time.monotonic()
    line = refused(*run("prices", "--snapshot", snap))
    assert time.monotonic() - started < 20
    assert "row 2: instance_type: expected at most 128 characters" in line


def test_adapters_may_drop_an_implausible_row_with_a_warning_naming_it(make_raw, make_row):
    rows = [make_row(), make_row(instance_type="p4d.24xlarge", gpu="A100-40GB",
                                 gpu_memory_gib="40", gpu_count="4096")]
    with pytest.warns(schema.ImplausibleOfferWarning, match=r"aws, row 3: gpu_count: expected .*"
                                                     r"'p4d.24xlarge' on_demand dropped"):
        kept = coerce_offers(make_raw(rows), "aws", implausible="drop")
    assert list(kept["instance_type"]) == ["p5.48xlarge"]


def test_real_snapshots_are_plausible():
    from gpucost.catalog.snapshot import SNAPSHOT_NAME

    # Price files only: interruption bands and capacity blocks have schemas of their own.
    for path in sorted(p for p in SHIPPED.glob("*/*.csv") if SNAPSHOT_NAME.match(p.name)):
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
        with warnings.catch_warnings():
            warnings.simplefilter("error", schema.ImplausibleOfferWarning)
            warnings.simplefilter("ignore", UserWarning)
            assert len(coerce_offers(raw, str(path))) == len(raw)


# -- item 6: rows belong to their folder's provider ---------------------------------------

def test_a_foreign_provider_row_is_refused(run, tmp_path):
    gcp_row = P4D.replace("aws,us-east-1", "gcp,us-central1").replace("p4d.24xlarge",
                                                                      "a2-highgpu-8g")
    snap = folder(tmp_path, {f"aws/{TODAY}.csv": [G5, gcp_row]})
    line = refused(*run("plan", job(tmp_path), "--snapshot", snap))
    assert f"aws/{TODAY}.csv, row 3: provider: expected 'aws' (the folder's provider), " \
           "got 'gcp'" in line


def test_aws_and_AWS_folders_are_refused(run, tmp_path):  # noqa: N802
    snap = folder(tmp_path, {f"aws/{TODAY}.csv": [G5], f"AWS/{TODAY}.csv": [G5]})
    line = refused(*run("prices", "--snapshot", snap))
    assert "one folder per provider, got both 'AWS' and 'aws'" in line


def test_an_upper_case_folder_alone_reads_as_its_provider(run, tmp_path):
    snap = folder(tmp_path, {f"AWS/{TODAY}.csv": [G5]})
    code, out, err = run("prices", "--snapshot", snap, "-o", "json")
    assert code == 0, err
    assert [o["provider"] for o in json.loads(out)] == ["aws"]


def test_duplicate_offers_across_files_are_refused(run, tmp_path):
    # One provider's folder (pricing_snapshots/aws style) and a loose CSV of the same offers.
    snap = folder(tmp_path, {f"aws/{TODAY}.csv": [G5]})
    loose = tmp_path / "loose.csv"
    loose.write_text(f"{HEADER}\n{G5}\n")
    from gpucost.catalog.snapshot import SnapshotFile, _refuse_duplicates, read_snapshot_file

    frames = [read_snapshot_file(snap / "aws" / f"{TODAY}.csv"), read_snapshot_file(loose)]
    files = [SnapshotFile(snap / "aws" / f"{TODAY}.csv", "aws", dt.date.today()),
             SnapshotFile(loose, "file", dt.date.min, dated=False)]
    from gpucost.errors import InputError

    with pytest.raises(InputError, match="in one file only; 'aws' 'us-east-1' 'g5.xlarge'"):
        _refuse_duplicates(pd.concat(frames, ignore_index=True),
                           [f.path for f in files for _ in range(1)])


# -- item 16: dates ------------------------------------------------------------------------

@pytest.mark.parametrize("date", ["2926-01-01", "0001-01-01", "1677-09-21", "9999-12-31"])
def test_as_of_outside_the_range_pandas_holds_is_one_line(run, tmp_path, date):
    snap = folder(tmp_path, {f"aws/{TODAY}.csv": [P4D.replace(TODAY, date)]})
    line = refused(*run("prices", "--snapshot", snap))
    assert f"row 2: as_of: expected a date from 2006-01-01 to 2200-12-31, got '{date}'" in line

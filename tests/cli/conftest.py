"""Fixtures for the CLI tests: run ``gpucost.cli.main`` in-process, a small snapshot folder."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from gpucost.cli import main

HEADER = ("provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
          "pricing,usd_per_hour,as_of,source,stale")

# (provider, region, zone, instance_type, gpu, gpu_count, gpu_memory_gib, pricing, price)
SMALL_ROWS = [
    ("aws", "us-east-1", "", "p5.48xlarge", "H100", 8, 80, "on_demand", 98.32),
    ("aws", "us-east-1", "us-east-1b", "p5.48xlarge", "H100", 8, 80, "spot", 40.1),
    ("aws", "us-west-2", "", "p4d.24xlarge", "A100-40GB", 8, 40, "on_demand", 32.77),
    ("aws", "us-west-2", "", "p4de.24xlarge", "A100-80GB", 8, 80, "on_demand", 40.97),
    ("aws", "us-east-1", "", "g6.xlarge", "L4", 1, 22.5, "on_demand", 0.8048),
    ("gcp", "us-central1", "", "a3-highgpu-8g", "H100", 8, 80, "on_demand", 88.25),
    ("gcp", "us-central1", "us-central1-a", "a3-highgpu-8g", "H100", 8, 80, "spot", 30.0),
    ("gcp", "europe-west4", "", "a3-highgpu-1g", "H100", 1, 80, "on_demand", 11.5),
    ("gcp", "us-central1", "", "n1-standard-8+1xV100", "V100-16GB", 1, 16, "on_demand", 2.86),
    ("gcp", "us-central1", "", "g2-standard-4", "L4", 1, 24, "on_demand", 0.7),
]


@dataclass
class Result:
    code: int | str | None
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


@pytest.fixture
def run_cli(capsys, monkeypatch, tmp_path) -> Callable[..., Result]:
    """``run_cli(*args)``: run ``gpucost`` in-process; returns exit code, stdout, stderr."""
    # main() installs its own warnings.showwarning; put the original back afterwards.
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    # Never read the developer's own refreshed snapshots.
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path / "no-user-snapshots"))
    capsys.readouterr()

    def run(*args: str) -> Result:
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return Result(info.value.code, out, err)

    return run


def write_rows(path: Path, rows: list[tuple], as_of: dt.date) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [HEADER]
    for provider, region, zone, itype, gpu, count, mem, pricing, price in rows:
        lines.append(f"{provider},{region},{zone},{itype},{gpu},{count},{mem},8,64,{pricing},"
                     f"{price},{as_of.isoformat()},test: hand-made,False")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def small_snapshot(tmp_path) -> Path:
    """A snapshot folder with SMALL_ROWS, dated today (so no staleness warning)."""
    folder = tmp_path / "snapshots"
    today = dt.date.today()
    for provider in ("aws", "gcp"):
        rows = [r for r in SMALL_ROWS if r[0] == provider]
        write_rows(folder / provider / f"{today.isoformat()}.csv", rows, today)
    return folder


@pytest.fixture
def small_rows() -> list[tuple]:
    """The rows of ``small_snapshot``."""
    return list(SMALL_ROWS)


@pytest.fixture
def snapshot_writer() -> Callable[[Path, list[tuple], dt.date], Path]:
    """``snapshot_writer(path, rows, as_of)`` writes rows shaped like SMALL_ROWS."""
    return write_rows

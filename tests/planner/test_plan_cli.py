"""`gpucost plan` and `gpucost frontier` end to end, against a snapshot folder of our own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from tests_support import NOW, offer

from gpucost.catalog.schema import coerce_offers
from gpucost.catalog.snapshot import write_snapshot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def snapshot(tmp_path) -> Path:
    rows = [offer("p5.48xlarge", "H100", 8, 55.04), offer("g6e.xlarge", "L40S", 1, 1.861),
            offer("g6e.xlarge", "L40S", 1, 1.9, region="us-west-2")]
    frame = coerce_offers(pd.DataFrame(rows), "test")
    frame["as_of"] = pd.Timestamp(NOW.date())
    write_snapshot(frame, tmp_path / "snap", "aws", NOW.date())
    return tmp_path / "snap"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpucost", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)


def write_job(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "job.yaml"
    path.write_text(text)
    return path


def test_json_plan_on_stdout_is_pure_json_even_with_cbc(tmp_path, snapshot):
    job = write_job(tmp_path, "name: shards\nmode: divisible\nflops: 2e20\nutilization: 0.3\n"
                              "model: {parameters: 1e9}\ndeadline: 10h\n"
                              "constraints: {max_gpus: 40, max_instances: 40}\n")
    proc = run("plan", str(job), "--snapshot", str(snapshot), "--output", "json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["solver"]["name"] == "pulp/CBC" and plan["status"] == "optimal"
    assert sum(a["instances"] * a["gpu_count"] for a in plan["allocations"]) <= 40
    assert plan["snapshot"]["files"][0]["provider"] == "aws"


def test_markdown_plan(tmp_path, snapshot):
    job = write_job(tmp_path, "name: ft\nflops: 1e20\ndeadline: 1d\n")
    proc = run("plan", str(job), "--snapshot", str(snapshot), "--output", "markdown")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("### gpucost plan: ft")
    assert "| provider | region | instance_type |" in proc.stdout


def test_infeasible_plan_exits_1_with_the_reason(tmp_path, snapshot):
    job = write_job(tmp_path, "name: big\nflops: 1e25\ndeadline: 1h\n"
                              "constraints: {max_instances: 2}\n")
    proc = run("plan", str(job), "--snapshot", str(snapshot))
    assert proc.returncode == 1
    assert "No plan meets every constraint:" in proc.stdout
    assert "earliest finish with the allowed offers:" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_frontier_json_and_plot(tmp_path, snapshot):
    job = write_job(tmp_path, "name: ft\nflops: 1e21\ndeadline: 2d\n")
    png = tmp_path / "frontier.png"
    proc = run("frontier", str(job), "--snapshot", str(snapshot), "--points", "6",
               "--output", "json", "--plot", str(png))
    assert proc.returncode == 0, proc.stderr
    points = json.loads(proc.stdout)["points"]
    assert any(p["is_job_deadline"] for p in points)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_missing_snapshot_path_is_exit_2(tmp_path):
    job = write_job(tmp_path, "name: ft\nflops: 1e20\ndeadline: 1d\n")
    proc = run("plan", str(job), "--snapshot", str(tmp_path / "nope"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"gpucost: error: {tmp_path / 'nope'}: --snapshot: an existing snapshot file or folder"]

"""A corpus of hostile inputs through every command that reads user files.

Each must end with exit status 2, nothing on stdout and exactly one short line on stderr
("gpucost: error: ..."), never a traceback: malformed YAML, wrong types, unknown names,
non-text files, oversize files, alias bombs, hostile plan JSON and snapshots.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest

from gpucost.cli import main
from gpucost.files import MAX_INPUT_BYTES

HERE = Path(__file__).parent
JOBS = sorted((HERE / "jobs").iterdir())
PLANS = sorted((HERE / "plans").iterdir())
ROOT = HERE.parents[1]

HEADER = ("provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
          "pricing,usd_per_hour,as_of,source,stale")


@pytest.fixture
def snapshot(tmp_path) -> Path:
    """A one-offer AWS snapshot dated today (no staleness warning)."""
    import datetime as dt

    today = dt.date.today().isoformat()
    folder = tmp_path / "snap"
    (folder / "aws").mkdir(parents=True)
    (folder / "aws" / f"{today}.csv").write_text(
        f"{HEADER}\naws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,on_demand,55.04,{today},"
        "test: hand-made,False\n")
    return folder


@pytest.fixture
def run(capsys, monkeypatch, tmp_path):
    """Run gpucost in-process; returns (exit status, stdout, stderr)."""
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path / "no-user-snapshots"))
    monkeypatch.setenv("GPUCOST_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))

    def call(*args: object) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main([str(a) for a in args])
        out, err = capsys.readouterr()
        return info.value.code, out, err

    return call


def assert_one_line_refusal(code: int, out: str, err: str) -> str:
    assert code == 2, (out, err)
    assert out == ""
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("gpucost: error: ")
    assert len(lines[0]) < 400, lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["plan", "frontier"])
@pytest.mark.parametrize("job", JOBS, ids=[p.name for p in JOBS])
def test_hostile_job_files_are_one_line_exit_2(run, snapshot, command, job):
    start = time.perf_counter()
    line = assert_one_line_refusal(*run(command, job, "--snapshot", snapshot))
    assert time.perf_counter() - start < 20  # seconds, not the minutes of a hang; slack for CI
    assert str(job) in line


@pytest.mark.parametrize("command", [("launch",), ("export", "--format", "skypilot")])
@pytest.mark.parametrize("plan", PLANS, ids=[p.name for p in PLANS])
def test_hostile_plan_files_are_one_line_exit_2(run, command, plan):
    line = assert_one_line_refusal(*run(*command, plan))
    assert str(plan) in line


@pytest.mark.parametrize("command", ["plan", "frontier", "launch", "export"])
def test_oversize_files_and_devices_are_refused_after_reading_at_most_1_mib(
        run, tmp_path, command):
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * MAX_INPUT_BYTES + "\nname: x\n")
    line = assert_one_line_refusal(*run(command, big))
    assert "at most 1,048,576 bytes" in line
    if Path("/dev/zero").exists():
        start = time.perf_counter()
        line = assert_one_line_refusal(*run(command, "/dev/zero"))
        assert time.perf_counter() - start < 5
        assert "/dev/zero" in line


@pytest.mark.parametrize("command", ["plan", "frontier", "launch", "export"])
def test_directories_and_missing_files_are_one_line(run, tmp_path, command):
    assert_one_line_refusal(*run(command, tmp_path))
    assert_one_line_refusal(*run(command, tmp_path / "missing.yaml"))


@pytest.mark.parametrize("args", [
    ("--provider", "azure"), ("--provider", "gpc"), ("--region", "mars-1"),
    ("--gpu", "RTX4090x"), ("--min-gpu-memory", "-5"), ("--min-gpu-memory", "nan"),
    ("--max-price", "inf"), ("--max-price", "0"), ("--min-gpus", "0"), ("--limit", "0"),
    ("--sort", "cheapest"), ("--precision", "int4"),
], ids=lambda a: " ".join(a))
def test_hostile_prices_arguments_are_one_line_exit_2(run, snapshot, args):
    assert_one_line_refusal(*run("prices", "--snapshot", snapshot, *args))


def test_hostile_snapshots_are_one_line_exit_2(run, snapshot, tmp_path):
    binary = tmp_path / "prices.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    assert_one_line_refusal(*run("prices", "--snapshot", binary))
    (day,) = (snapshot / "aws").iterdir()
    quotas = day.with_name(day.name.replace(".csv", ".quotas.csv"))
    quotas.write_text("provider,region,pricing,quota_name,families,vcpu_limit,as_of,source\n"
                      "aws,us-east-1,on_demand,P,p,lots,2026-01-01,test\n")
    job = HERE / "jobs" / "typo_region.yaml"
    ok_job = tmp_path / "ok.yaml"
    ok_job.write_text("name: ok\nflops: 1e20\nutilization: 0.3\ndeadline: 1d\n")
    line = assert_one_line_refusal(*run("plan", ok_job, "--snapshot", snapshot))
    assert "row 2, vcpu_limit" in line and "'lots'" in line
    quotas.write_bytes(b"\xff\xfe\x00binary")
    assert_one_line_refusal(*run("plan", ok_job, "--snapshot", snapshot))
    assert job.exists()


def _timed(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gpucost", *args], capture_output=True,
                          text=True, cwd=ROOT, timeout=60)
    return proc, time.perf_counter() - start


def test_alias_bomb_exits_2_within_seconds_with_a_short_message():
    bomb = HERE / "jobs" / "alias_bomb.yaml"
    assert bomb.stat().st_size < 420
    proc, elapsed = _timed("plan", str(bomb))
    startup, baseline = _timed("--version")  # interpreter and import time, not ours
    assert startup.returncode == 0
    assert proc.returncode == 2, proc.stderr
    assert elapsed - baseline < 5  # a bomb expands for minutes; slack for a loaded machine
    assert len(proc.stderr.strip()) < 200 and "\n" not in proc.stderr.strip()
    assert "aliases" in proc.stderr


def test_loading_the_alias_bomb_takes_milliseconds():
    from gpucost.errors import InputError
    from gpucost.job.parse import load_job

    start = time.perf_counter()
    with pytest.raises(InputError, match="once aliases are expanded"):
        load_job(HERE / "jobs" / "alias_bomb.yaml")
    assert time.perf_counter() - start < 1.0


def test_export_to_a_missing_folder_is_one_line(run, tmp_path):
    plan = ROOT / "tests" / "launcher" / "fixtures" / "plan_aws.json"
    line = assert_one_line_refusal(*run("export", plan, "-o", tmp_path / "no" / "task.yaml"))
    assert "writable path" in line


FUZZ_VALUES = [None, True, "yes", 0, -1, 1e-320, 1e300, float("nan"), float("inf"), "x" * 200,
               [], {}, [1], "1e9", "", "\n", 0.5, 3, 1e30]
FUZZ_FIELDS = [("name",), ("flops",), ("precision",), ("utilization",), ("deadline",),
               ("model", "parameters"), ("model", "tokens"), ("model", "sequence_length"),
               ("memory", "bytes_per_parameter"), ("memory", "min_gpu_memory_gib"),
               ("memory", "activation_headroom"), ("constraints", "providers"),
               ("constraints", "regions"), ("constraints", "gpus"), ("constraints", "spot"),
               ("constraints", "max_instances"), ("constraints", "max_gpus"),
               ("constraints", "budget_usd"), ("assumptions", "failures_per_gpu_hour"),
               ("assumptions", "spot_interruptions_per_instance_hour"),
               ("assumptions", "startup_hours"), ("model", "layers"), ("model", "hidden_size"),
               ("model", "activated_parameters"), ("batch_tokens",), ("stack",)]


@pytest.mark.parametrize("mode", ["single", "divisible"])
def test_any_value_in_any_field_is_a_plan_or_an_input_error(mode):
    """Every field x a set of hostile values: parsing, planning and rendering either
    work or raise GpucostError (found: tiny parameters -> math domain error, tiny flops in
    divisible mode -> IndexError)."""
    import pandas as pd

    from gpucost.catalog.schema import coerce_offers
    from gpucost.catalog.snapshot import Catalog
    from gpucost.errors import GpucostError
    from gpucost.job.parse import parse_job
    from gpucost.planner.planner import plan_job
    from gpucost.report.plan_report import render_plan

    rows = [("p5.48xlarge", "H100", 8, 80, 55.04), ("g6e.xlarge", "L40S", 1, 48, 1.861),
            ("g4dn.xlarge", "T4", 1, 16, 0.526)]
    offers = coerce_offers(pd.DataFrame([
        {"provider": "aws", "region": "us-east-1", "zone": "", "instance_type": t, "gpu": g,
         "gpu_count": n, "gpu_memory_gib": m, "vcpus": 8, "memory_gib": 64,
         "pricing": "on_demand", "usd_per_hour": p, "as_of": "2026-11-20", "source": "test",
         "stale": False} for t, g, n, m, p in rows]), "test")
    catalog = Catalog(offers=offers)
    for field in FUZZ_FIELDS:
        for value in FUZZ_VALUES:
            data = {"name": "f", "mode": mode, "model": {"parameters": 7e9, "tokens": 1e11},
                    "deadline": "30d"}
            if len(field) == 1:
                data[field[0]] = value
            else:
                data[field[0]] = {**data.get(field[0], {}), field[1]: value}
            try:
                plan = plan_job(parse_job(data, "j.yaml"), catalog)
                render_plan(plan)
                plan.to_json()
            except GpucostError as exc:
                assert len(str(exc)) < 400 and "\n" not in str(exc)

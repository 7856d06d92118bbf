"""Divisible plans give every instance its own range of the work, in proportion to the
FLOPs the plan has it do (issue 20, item 1), and count each instance's start-up (item 2)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import yaml

from gpucost import shard_indices
from gpucost.job.parse import load_job
from gpucost.launcher.bootstrap import JobSettings, environment
from gpucost.launcher.plan_file import load_plan

EXAMPLE = Path(__file__).parents[2] / "examples" / "eval-shards.yaml"


def _plan(run_cli, tmp_path: Path) -> tuple[Path, dict]:
    result = run_cli("plan", EXAMPLE, "-o", "json")
    assert result.code == 0, result.err
    path = tmp_path / "plan.json"
    path.write_text(result.out)
    return path, json.loads(result.out)


def _planned_flops(plan: dict) -> list[float]:
    """Per instance, in plan order: the FLOPs the plan has it do, from its working hours
    (its hours less the start-up) and its throughput."""
    startup = load_job(EXAMPLE).assumptions.startup_hours
    return [(a["hours"] - startup) * a["flops_per_hour"]
            for a in plan["allocations"] for _ in range(a["instances"])]


def test_eval_shards_ranges_match_planned_flops(run_cli, tmp_path):
    path, plan = _plan(run_cli, tmp_path)
    speeds = {a["flops_per_hour"] for a in plan["allocations"]}
    assert max(speeds) / min(speeds) > 5  # the example mixes very unequal instances
    launch = load_plan(path)
    ranges = [(float(env["GPUCOST_WORK_START"]), float(env["GPUCOST_WORK_END"]))
              for alloc in launch.allocations for rank in range(alloc.instances)
              for env in [environment(launch, alloc, rank, "10.0.0.1", JobSettings())]]
    flops = plan["requirements"]["flops"]
    planned = _planned_flops(plan)
    assert len(ranges) == len(planned) == sum(a.instances for a in launch.allocations)
    for (start, end), want in zip(ranges, planned, strict=True):
        assert abs((end - start) * flops - want) <= 0.01 * want
    # the ranges tile [0, 1): no gap, no overlap
    assert ranges[0][0] == 0 and ranges[-1][1] == 1
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:], strict=False))


def test_skypilot_export_gives_each_node_the_launchers_range(run_cli, tmp_path):
    path, plan = _plan(run_cli, tmp_path)
    launch = load_plan(path)
    result = run_cli("export", path, "--format", "skypilot", "--run", "true")
    assert result.code == 0, result.err
    tasks = list(yaml.safe_load_all(result.out))
    for alloc, task in zip(launch.allocations, tasks, strict=True):
        for rank in range(alloc.instances):
            # run the task's own prelude as SkyPilot would on node ``rank``
            script = task["run"] + 'echo "$GPUCOST_WORK_START $GPUCOST_WORK_END"\n'
            env = {**{k: str(v) for k, v in task["envs"].items()}, "PATH": "/usr/bin:/bin",
                   "SKYPILOT_NODE_RANK": str(rank), "SKYPILOT_NUM_GPUS_PER_NODE": "8",
                   "SKYPILOT_NUM_NODES": str(alloc.instances)}
            out = subprocess.run(["bash", "-c", script], env=env, capture_output=True,
                                 text=True, check=True).stdout.split()
            want = environment(launch, alloc, rank, "", JobSettings())
            assert out == [want["GPUCOST_WORK_START"], want["GPUCOST_WORK_END"]]


def test_shard_indices_split_shards_without_gaps(run_cli, tmp_path):
    path, plan = _plan(run_cli, tmp_path)
    launch = load_plan(path)
    envs = [environment(launch, alloc, rank, "", JobSettings())
            for alloc in launch.allocations for rank in range(alloc.instances)]
    shards = [shard_indices(10_000, float(e["GPUCOST_WORK_START"]),
                            float(e["GPUCOST_WORK_END"])) for e in envs]
    assert [i for r in shards for i in r] == list(range(10_000))
    planned = _planned_flops(plan)
    total = sum(planned)
    for r, want in zip(shards, planned, strict=True):
        assert abs(len(r) - 10_000 * want / total) <= 1  # within one shard of its share


def test_shard_indices_reads_the_environment(monkeypatch):
    monkeypatch.setenv("GPUCOST_WORK_START", "0.25")
    monkeypatch.setenv("GPUCOST_WORK_END", "0.5")
    assert shard_indices(8) == range(2, 4)
    monkeypatch.delenv("GPUCOST_WORK_START")
    monkeypatch.delenv("GPUCOST_WORK_END")
    assert shard_indices(8) == range(0, 8)  # outside a plan: everything


def test_plans_without_work_share_split_equally(run_cli, tmp_path):
    path, plan = _plan(run_cli, tmp_path)
    for a in plan["allocations"]:
        del a["work_share"]
    path.write_text(json.dumps(plan))
    launch = load_plan(path)
    n = sum(a.instances for a in launch.allocations)
    alloc = launch.allocations[-1]
    env = environment(launch, alloc, alloc.instances - 1, "", JobSettings())
    assert float(env["GPUCOST_WORK_START"]) == round(1 - 1 / n, 12)
    assert env["GPUCOST_WORK_END"] == "1"


def test_divisible_instances_pay_start_up_within_the_deadline(run_cli, tmp_path):
    _, plan = _plan(run_cli, tmp_path)
    job = load_job(EXAMPLE)
    startup, deadline = job.assumptions.startup_hours, job.runs[0].deadline_hours
    assert startup > 0
    done = 0.0
    for a in plan["allocations"]:
        assert startup < a["hours"] <= deadline * (1 + 1e-9)
        done += a["instances"] * (a["hours"] - startup) * a["flops_per_hour"]
    assert abs(done - plan["requirements"]["flops"]) <= 1e-6 * done

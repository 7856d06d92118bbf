"""Every printed layout is one a framework can run: whole micro-batches, memory with a
margin, an MFU the hardware allows. Checked on the shipped examples as `gpucost plan -o
json` prints them (plan, alternatives, experiments), and on jobs made to stress it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gpucost.catalog.gpus import gpu_specs
from gpucost.job.parse import parse_job
from gpucost.performance import estimate
from gpucost.planner.planner import plan_job
from tests.planner.tests_support import NOW, catalog, offer

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted(p for p in (ROOT / "examples").glob("*.yaml")
                  if "experiments" in p.read_text() or "model:" in p.read_text())


def _layouts(plan: dict) -> list[tuple[dict, dict]]:
    """(allocation, layout) of the plan and of every alternative and baseline."""
    allocations = list(plan["allocations"])
    for key in ("baseline", "naive_baseline", "over_budget"):
        if plan.get(key):
            allocations += plan[key]["allocations"]
    for alt in plan["alternatives"]:
        allocations += alt["allocations"]
    return [(a, a["layout"]) for a in allocations if a.get("layout")]


def check_runnable(plan: dict) -> int:
    """Assert the invariants on every layout in ``plan``; returns how many it checked."""
    shape = plan["assumptions"]["model_shape"]
    checked = 0
    for alloc, layout in _layouts(plan):
        sequences = layout["batch_sequences"]
        ranks = layout["data_parallel"] * layout["micro_batch"]
        assert sequences % ranks == 0, (alloc["instance_type"], layout)
        assert sequences == ranks * layout["gradient_accumulation"]
        own_batch = shape["batch_tokens"] / shape["sequence_length"]
        if plan["job"]["mode"] != "experiments" or sequences == own_batch:
            # The job's batch (the first run's, for experiments) over (DP x micro-batch)
            # is whole.
            assert (own_batch / ranks).is_integer(), (alloc["instance_type"], layout)
        gpus = (layout["data_parallel"] * layout["tensor_parallel"]
                * layout["pipeline_parallel"] * layout["context_parallel"])
        # Divisible work: every instance runs alone, laid out on its own GPUs.
        per = 1 if plan["job"]["mode"] == "divisible" else alloc["instances"]
        assert gpus == per * alloc["gpu_count"]
        memory = gpu_specs()[alloc["gpu"]].memory_gib
        assert layout["memory_gib_per_gpu"] <= 0.92 * memory + 0.05, (alloc["gpu"], layout)
        if alloc["precision_used"] == "bf16":
            assert layout["mfu"] <= 0.60, (alloc["gpu"], layout)
        checked += 1
    return checked


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_examples_print_runnable_layouts(path):
    out = subprocess.run([sys.executable, "-m", "gpucost", "plan", str(path), "-o", "json"],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert check_runnable(plan) >= 1


def test_experiments_runs_each_split_their_own_batch():
    job = parse_job({"name": "sweep", "mode": "experiments", "deadline": "7d",
                     "experiments": [
                         {"name": "small", "model": {"parameters": 1e9, "tokens": 2e10},
                          "batch_tokens": 3 * 2**19},
                         {"name": "big", "model": {"parameters": 7e9, "tokens": 1e11,
                                                   "sequence_length": 4096}}]},
                    "job.yaml", NOW)
    rows = [offer("p5.48xlarge", "H100", 8, 55.04, network_gbps=3200),
            offer("p4d.24xlarge", "A100-40GB", 8, 21.96, network_gbps=400),
            offer("g6e.12xlarge", "L40S", 4, 10.5, network_gbps=100, gpu_link="pcie")]
    plan = plan_job(job, catalog(rows), now=NOW).to_dict()
    assert plan["status"] == "optimal"
    assert check_runnable(plan) >= 2
    by_run = {a["run"]: a["layout"]["batch_sequences"] for a in plan["allocations"]}
    assert by_run == {"small": 768, "big": 512}


@pytest.mark.parametrize("params,seq,stack", [
    (1.2e8, 1024, "pytorch"), (1e9, 2048, "pytorch"), (8e9, 8192, "pytorch"),
    (70e9, 4096, "pytorch"), (405e9, 8192, "pytorch"), (7e9, 2048, "legacy"),
    # megatron takes the default stack's constants (issue 15 part B): the vendor
    # benchmark recipes that overshot bf16 MFU are the explicit "tuned" stack now.
    (8e9, 8192, "megatron"), (70e9, 4096, "megatron")])
@pytest.mark.parametrize("gpu", ["H100", "B200", "A100-80GB"])
def test_bf16_mfu_stays_physical_and_memory_keeps_its_margin(params, seq, stack, gpu):
    run = parse_job({"name": "m", "model": {"parameters": params, "tokens": 1e11,
                                            "sequence_length": seq},
                     "stack": stack, "deadline": "30d"}, "j", NOW).runs[0]
    node = offer("x", gpu, 8, 50.0, network_gbps=3200, rdma=True)
    for n in (1, 2, 4, 16, 64):
        est = estimate(run, node, n)
        if est.fits:
            assert est.layout.mfu <= 0.60
            assert est.layout.memory_gib_per_gpu <= 0.92 * gpu_specs()[gpu].memory_gib


def test_memory_margin_is_configurable_and_binds():
    spec = {"name": "m", "model": {"parameters": 3e9, "tokens": 1e10}, "deadline": "30d"}
    node = offer("g6.xlarge", "L4", 1, 0.8, network_gbps=25, rdma=False, gpu_link="")
    strict = parse_job({**spec, "memory": {"margin": 0.5}}, "j", NOW).runs[0]
    loose = parse_job({**spec, "memory": {"margin": 0.0}}, "j", NOW).runs[0]
    default = parse_job(spec, "j", NOW).runs[0]
    assert default.memory_margin == 0.08
    # 3B x 16 bytes = 45 GiB of state: two L4s (24 GB) do not hold it with ZeRO-3 and
    # half of each GPU kept free; with no margin they do.
    limit = gpu_specs()["L4"].memory_gib
    for run, cap in ((loose, 1.0), (default, 0.92)):
        est = estimate(run, node, 4)
        assert est.fits and est.layout.memory_gib_per_gpu <= cap * limit
    assert not estimate(strict, node, 4).fits


def test_small_models_use_large_micro_batches():
    run = parse_job({"name": "s", "model": {"parameters": 1.24e8, "tokens": 1e10,
                                            "sequence_length": 1024},
                     "batch_tokens": 2**19, "deadline": "30d"}, "j", NOW).runs[0]
    est = estimate(run, offer("x", "H100", 8, 50.0), 1)
    assert est.fits and est.layout.micro_batch >= 16


def test_batch_that_no_layout_splits_is_not_runnable_on_that_count():
    # 1,024 sequences cannot be split over 48 data-parallel ranks, and no model-parallel
    # degree of the grid (powers of two) makes 6 x 8 GPUs a divisor of it.
    run = parse_job({"name": "b", "model": {"parameters": 7e9, "tokens": 1e11,
                                            "sequence_length": 4096},
                     "batch_tokens": 4 * 2**20, "deadline": "30d"}, "j", NOW).runs[0]
    node = offer("p5.48xlarge", "H100", 8, 55.0, network_gbps=3200)
    assert not estimate(run, node, 6).fits
    assert estimate(run, node, 4).fits and estimate(run, node, 8).fits


def test_batch_tokens_are_rounded_to_whole_sequences_and_the_plan_says_so():
    job = parse_job({"name": "r", "model": {"parameters": 1e9, "tokens": 1e10,
                                            "sequence_length": 4096},
                     "batch_tokens": 1_000_000, "deadline": "30d"}, "j", NOW)
    assert job.runs[0].shape.batch_tokens == 244 * 4096
    plan = plan_job(job, catalog([offer("p5.48xlarge", "H100", 8, 55.04)]), now=NOW)
    assert any("rounded to 244 whole sequences" in n for n in plan.notes)

"""Tests that pin the physics of the performance model, not its fitted numbers."""

from __future__ import annotations

import pytest

from gpucost.catalog.gpus import gpu_specs
from gpucost.job.parse import parse_job
from gpucost.performance import estimate
from gpucost.performance.fit import judge_throughput
from gpucost.planner.planner import plan_job
from tests.planner.tests_support import NOW, catalog, offer


def run(**model):
    spec = {"name": "p", "model": {"parameters": 7e9, "tokens": 1e11, **model},
            "deadline": "30d"}
    return parse_job(spec, "job.yaml", NOW).runs[0]


def h100(link: str, gbps: float, rdma: bool, count: int = 8) -> dict:
    return offer("x", "H100", count, 10.0 * count, gpu_link=link if count > 1 else "",
                 network_gbps=gbps, rdma=rdma)


@pytest.mark.parametrize("instances", [1, 2, 4, 16])
@pytest.mark.parametrize("parameters", [1e9, 13e9, 70e9])
def test_fast_fabric_is_never_slower(instances, parameters):
    fast = estimate(run(parameters=parameters), h100("nvswitch", 3200, True), instances)
    slow = estimate(run(parameters=parameters), h100("pcie", 25, False), instances)
    assert fast.tokens_per_s >= slow.tokens_per_s
    if instances > 1 and slow.fits:
        # Across instances the slow network shows: a visible share of exposed comm.
        assert slow.layout.comm_fraction > fast.layout.comm_fraction


def test_many_single_gpu_instances_on_slow_network_lose_to_nvswitch_nodes():
    job = run(parameters=13e9)  # 13B x 16 B = 194 GiB of state: no single 80 GB GPU
    # 16 GPUs either way: 24 could not split the batch of 1,024 sequences evenly.
    singles = estimate(job, h100("", 25, False, count=1), 16)
    nodes = estimate(job, h100("nvswitch", 3200, True), 2)
    assert nodes.fits and nodes.tokens_per_s > 1.5 * singles.tokens_per_s


def test_planner_picks_nvswitch_nodes_over_single_gpu_vms_at_similar_price():
    rows = [offer("p5.48xlarge", "H100", 8, 8 * 4.0, network_gbps=3200, rdma=True),
            offer("one.xlarge", "H100", 1, 3.8, network_gbps=25, rdma=False)]
    job = parse_job({"name": "p", "model": {"parameters": 13e9, "tokens": 2.6e11},
                     "deadline": "30d"}, "job.yaml", NOW)
    plan = plan_job(job, catalog(rows), explain=False, now=NOW)
    (alloc,) = plan.allocations
    assert alloc.instance_type == "p5.48xlarge"
    assert alloc.layout["memory_gib_per_gpu"] <= 80


def test_memory_per_gpu_grows_with_sequence_length():
    short = estimate(run(sequence_length=2048), h100("nvswitch", 3200, True), 1)
    long = estimate(run(sequence_length=32768), h100("nvswitch", 3200, True), 1)
    assert short.fits and long.fits
    same_layout = (short.layout.activation_checkpointing == long.layout.activation_checkpointing
                   and short.layout.micro_batch == long.layout.micro_batch)
    if same_layout:
        assert long.layout.memory_gib_per_gpu > short.layout.memory_gib_per_gpu
    assert long.tokens_per_s < short.tokens_per_s  # attention FLOPs grow with context


def test_fp8_is_faster_than_bf16_on_h100_by_less_than_the_peak_ratio():
    spec = {"name": "p", "model": {"parameters": 8e9, "tokens": 1e11, "layers": 32,
                                   "hidden_size": 4096, "sequence_length": 8192},
            "deadline": "30d"}
    bf16 = parse_job({**spec, "precision": "bf16"}, "j", NOW).runs[0]
    fp8 = parse_job({**spec, "precision": "fp8"}, "j", NOW).runs[0]
    node = h100("nvswitch", 3200, True)
    speedup = estimate(fp8, node, 1).tokens_per_s / estimate(bf16, node, 1).tokens_per_s
    peak_ratio = gpu_specs()["H100"].tflops["fp8"] / gpu_specs()["H100"].tflops["bf16"]
    assert 1.05 < speedup < peak_ratio


def test_too_big_for_any_layout_says_so():
    job = run(parameters=2e12)
    est = estimate(job, h100("nvswitch", 3200, True), 1)
    assert not est.fits and "no runnable layout fits" in est.reasons[-1]


def test_leave_one_source_out_error_stays_within_the_documented_bound():
    judged = judge_throughput()
    errors = sorted(abs(p / o - 1) for p, o in zip(judged.source_out, judged.observed,
                                                   strict=True))
    # README "How the estimate works" reports the measured figure (17%, target 15%);
    # this pins it from getting worse.
    assert errors[len(errors) // 2] < 0.20


def test_end_to_end_gpu_hours_not_fitted_on_stay_close():
    from gpucost.performance.fit import predicted_gpu_hours
    from gpucost.performance.published import published_runs

    runs = published_runs()
    # The one error definition of scripts/validate_estimates.py: |predicted / published - 1|.
    errors = sorted(abs(p / r.gpu_hours - 1)
                    for p, r in zip(predicted_gpu_hours(runs), runs, strict=True))
    assert errors[len(errors) // 2] < 0.15


def test_calibration_file_is_the_fit_on_every_run():
    import json
    from importlib import resources

    stored = json.loads(resources.files("gpucost.performance").joinpath(
        "data", "calibration.json").read_text())["stacks"]
    for stack, (gemm, elem) in judge_throughput().fitted.items():
        assert stored[stack] == {"gemm_efficiency": gemm, "elementwise_bytes": elem}


def test_plan_too_big_for_any_layout_says_why_and_fp8_assumption_is_printed():
    from gpucost.report.plan_report import render_plan

    rows = [offer("p5.48xlarge", "H100", 8, 55.04, network_gbps=3200, rdma=True)]
    huge = parse_job({"name": "huge", "model": {"parameters": 5e12, "tokens": 1e9},
                      "deadline": "300d", "constraints": {"max_instances": 4}}, "j", NOW)
    plan = plan_job(huge, catalog(rows), explain=False, now=NOW)
    assert plan.status == "infeasible"
    assert "hold" in plan.reasons[0] and "GiB" in plan.reasons[0]
    fp8 = parse_job({"name": "f", "model": {"parameters": 8e9, "tokens": 1e10},
                     "precision": "fp8", "deadline": "30d"}, "j", NOW)
    text = render_plan(plan_job(fp8, catalog(rows), now=NOW))
    assert "Precision: fp8 runs linear layers at 1.5x their bf16 speed" in text
    layout = plan_job(fp8, catalog(rows), now=NOW).to_dict()["allocations"][0]["layout"]
    assert set(layout) >= {"data_parallel", "tensor_parallel", "pipeline_parallel",
                           "zero_stage", "micro_batch", "activation_checkpointing",
                           "memory_gib_per_gpu", "mfu", "comm_fraction"}

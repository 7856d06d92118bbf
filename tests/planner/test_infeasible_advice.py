"""Infeasibility advice names the limit that binds, and only that one (issue 20,
item 5)."""

from __future__ import annotations

from tests_support import NOW, catalog, offer

from gpucost.job.parse import parse_job
from gpucost.planner.planner import plan_job
from gpucost.report.plan_report import render_plan

ROWS = [offer("p5.48xlarge", "H100", 8, 55.04, network_gbps=3200)]


def plan(explain=False, rows=ROWS, **data):
    base = {"name": "j", "deadline": "7d", "utilization": 0.4}
    base.update(data)
    return plan_job(parse_job(base, "job.yaml", NOW), catalog(rows), explain=explain, now=NOW)


def test_max_instances_binds_and_max_gpus_does_not():
    p = plan(flops=1e26, constraints={"max_instances": 4, "max_gpus": 100_000})
    (reason,) = p.reasons
    assert "raise max_instances (4)" in reason
    assert "max_gpus" not in reason


def test_max_gpus_binds_and_max_instances_does_not():
    p = plan(flops=1e26, constraints={"max_instances": 64, "max_gpus": 16})
    (reason,) = p.reasons
    assert "raise max_gpus (16)" in reason
    assert "max_instances" not in reason


def test_the_global_batch_caps_data_parallelism():
    # 70B on a 64-sequence batch: past a few instances there is no sequence left to give
    # another replica, whatever max_instances allows.
    p = plan(model={"parameters": 7e10, "tokens": 2e12, "sequence_length": 2048},
             batch_tokens=131072, utilization=None,
             constraints={"max_instances": 1024})
    (reason,) = p.reasons
    assert "global batch (64 sequences of 2,048 tokens) caps data parallelism" in reason
    assert "raise batch_tokens" in reason
    assert "max_instances" not in reason


def test_the_cheapest_offer_is_shown_at_its_fastest_size():
    # its size need not be max_instances: the model may stop scaling before
    rows = [*ROWS, offer("g4dn.xlarge", "T4", 1, 0.526, network_gbps=25, rdma=False)]
    p = plan(explain=True, rows=rows,
             model={"parameters": 7e9, "tokens": 2e12}, utilization=None,
             constraints={"max_instances": 1024})
    assert p.naive is not None and not p.naive.meets_deadline
    text = render_plan(p)
    assert f"even at its fastest size (x{p.naive.instances} instances)" in text
    assert "max_instances (x" not in text

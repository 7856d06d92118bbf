"""Plans carry the P10-P90 range, size clusters for deadline_confidence, mark toss-ups
and label what their throughput stands on."""

from __future__ import annotations

import pytest
from tests_support import NOW, catalog, offer

from gpucost.errors import InputError
from gpucost.job.parse import parse_job
from gpucost.performance.uncertainty import throughput_ratio
from gpucost.planner.planner import plan_job
from gpucost.report.plan_report import render_plan

ROWS = [offer("p5.48xlarge", "H100", 8, 55.04, network_gbps=3200),
        offer("p4de.24xlarge", "A100-80GB", 8, 40.97, network_gbps=400),
        offer("g6e.48xlarge", "L40S", 8, 30.13, network_gbps=400, rdma=False)]


def job(**extra) -> dict:
    return {"name": "r", "model": {"parameters": 7e9, "tokens": 2e11},
            "deadline": "20d", "constraints": {"max_instances": 64}, **extra}


def plan(**extra):
    return plan_job(parse_job(job(**extra), "job.yaml", NOW), catalog(ROWS), now=NOW)


def test_plan_json_carries_both_ends_and_the_text_prints_them():
    p = plan()
    data = p.to_dict()
    totals = data["totals"]
    assert totals["hours_p10"] < totals["hours"] < totals["hours_p90"]
    assert totals["cost_usd_p10"] < totals["cost_usd"] < totals["cost_usd_p90"]
    alloc = data["allocations"][0]
    assert alloc["basis"] == "calibrated" and alloc["gpu"] in ("H100", "A100-80GB")
    text = render_plan(p)
    assert "Range P10-P90: $" in text
    assert "Range: P10-P90 of published / predicted throughput" in text
    assert f"{alloc['gpu']} (calibrated)" in text


def test_deadline_confidence_plans_so_the_quantile_finishes_in_time():
    central, sure = plan(), plan(deadline_confidence=0.9)
    deadline = central.job["deadline_hours"]
    assert central.hours <= deadline and sure.hours <= deadline
    # Planned hours are the P90's: the range's upper end, within the deadline.
    assert sure.hours_p90 == pytest.approx(sure.hours)
    assert sure.hours_p90 <= deadline * (1 + 1e-9)
    # Being sure costs at least as much.
    assert sure.cost_usd >= central.cost_usd - 1e-6
    # The central estimate of the sure plan finishes earlier than its P90 by the
    # calibrated ratio (start-up aside).
    startup = 0.25
    own = sure.allocations[0].basis == "calibrated"
    central_hours = startup + (sure.hours - startup) * throughput_ratio(0.1, own)
    assert central_hours < sure.hours
    assert "deadline_confidence 0.9" in render_plan(sure)


def test_deadline_confidence_out_of_range_is_one_line():
    with pytest.raises(InputError, match="deadline_confidence"):
        parse_job(job(deadline_confidence=0.999), "job.yaml", NOW)
    with pytest.raises(InputError, match="deadline_confidence"):
        parse_job(job(deadline_confidence="sure"), "job.yaml", NOW)


def test_alternatives_inside_the_plan_range_are_toss_ups():
    p = plan()
    low, high = p.cost_usd_p10, p.cost_usd_p90
    assert p.alternatives
    for alt in p.alternatives:
        inside = alt.meets_deadline and low <= alt.cost_usd <= high
        assert alt.toss_up == inside
        assert alt.to_dict()["toss_up"] == inside
    text = render_plan(p)
    assert ("toss-up" in text) == any(a.toss_up for a in p.alternatives)


def test_extrapolated_gpus_are_labelled_so_and_get_the_wider_range():
    p = plan(constraints={"gpus": ["L40S"], "max_instances": 64})
    alloc = p.allocations[0]
    assert alloc.basis.startswith("extrapolated from ")
    assert p.assumptions["utilization"]["L40S"]["method"] == alloc.basis
    calibrated = plan(constraints={"gpus": ["H100"], "max_instances": 64})
    assert (p.hours_p90 - 0.25) / (p.hours_p10 - 0.25) >= \
        (calibrated.hours_p90 - 0.25) / (calibrated.hours_p10 - 0.25) - 1e-9


def test_fixed_utilization_has_no_model_range():
    p = plan(utilization=0.4)
    assert p.hours_p10 == p.hours == p.hours_p90
    assert p.allocations[0].basis == "utilization fixed by the job"
    assert "Range P10-P90" not in render_plan(p)


def test_utilization_sources_are_the_stacks_own_with_balanced_brackets():
    for stack in ("pytorch", "tuned", "legacy", "megatron"):
        sources = plan(stack=stack).assumptions["utilization_sources"]
        assert sources
        for s in sources:
            assert s.count("(") == s.count(")") and s.count("[") == s.count("]")
    tuned = plan(stack="tuned").assumptions["utilization_sources"]
    pytorch = plan().assumptions["utilization_sources"]
    assert not set(tuned) & set(pytorch)
    assert any("dgxc" in s for s in tuned) and not any("dgxc" in s for s in pytorch)


def test_the_plan_shows_what_the_stack_label_changes():
    effect = plan().assumptions["stack_effect"]
    assert set(effect) == {"megatron", "tuned", "legacy"}
    # megatron takes the default constants; a vendor recipe is faster, legacy slower.
    assert effect["megatron"] == 1.0 and effect["tuned"] < 1.0 < effect["legacy"]
    assert "the same hours under megatron" in render_plan(plan())
    tuned = plan(stack="tuned").assumptions["stack_effect"]
    assert tuned["pytorch"] > 1.0

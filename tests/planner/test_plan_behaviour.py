"""What the planner answers: plans, explanations and infeasibility messages."""

from __future__ import annotations

import json
import math

import pytest
from tests_support import NOW, catalog, offer

from gpucost.errors import InputError
from gpucost.job.parse import parse_job
from gpucost.planner.frontier import frontier, pareto
from gpucost.planner.planner import plan_job

ROWS = [
    offer("p4d.24xlarge", "A100-40GB", 8, 21.96),
    offer("p5.48xlarge", "H100", 8, 55.04),
    offer("p5.48xlarge", "H100", 8, 30.0, pricing="spot"),
    offer("g4dn.xlarge", "T4", 1, 0.526),
    offer("p3.16xlarge", "V100-16GB", 8, 24.48, region="us-west-2"),
]


def job(**over):
    data = {"name": "j", "model": {"parameters": 1e9, "tokens": 2e10}, "deadline": "2d",
            "utilization": 0.4}
    data.update(over)
    return parse_job(data, "job.yaml", NOW)


def test_single_picks_cheapest_job_not_cheapest_hour():
    plan = plan_job(job(), catalog(ROWS), now=NOW)
    assert plan.status == "optimal"
    (alloc,) = plan.allocations
    # 1.2e20 FLOPs at 40% MFU: the $55/h 8xH100 costs $0.0557 per peak-TFLOP-hour, the
    # $22/h 8xA100 $0.0704; the T4 is cheapest per hour but dearest per job.
    assert alloc.instance_type == "p5.48xlarge" and alloc.instances == 1
    # Goodput: +3% checkpoints/evaluation, 2e-5 failures per GPU-hour x 8 GPUs x 0.225 h
    # lost each, plus 0.25 h start-up (job.spec.Assumptions defaults).
    # The job's FLOPs are model FLOPs, attention included (the count MFU divides):
    # 2e10 tokens x (6 x 1e9 + 12 x layers x hidden x 2048).
    shape = job().runs[0].shape
    flops = 2e10 * (6e9 + 12 * shape.layers * shape.hidden_size * 2048)
    assert job().runs[0].flops == pytest.approx(flops) and flops > 1.2e20
    train = flops / (8 * 989e12 * 0.4 * 3600)
    assert alloc.hours == pytest.approx(train * (1 + 0.03 + 2e-5 * 8 * 0.225) + 0.25)
    assert plan.cost_usd == pytest.approx(alloc.hours * 55.04)
    assert plan.baseline.instance_type == "g4dn.xlarge"
    assert plan.baseline.cost_usd > plan.cost_usd


def test_spot_is_used_only_when_allowed_and_pays_its_overhead():
    never = plan_job(job(), catalog(ROWS), now=NOW)
    assert all(a.pricing == "on_demand" for a in never.allocations)
    only = plan_job(job(constraints={"spot": "only"}), catalog(ROWS), now=NOW)
    (alloc,) = only.allocations
    assert alloc.pricing == "spot"
    # Spot: the renewal model (Daly 2006) on one instance of the ">20%"-per-month pool
    # (the AWS default without advisor data: 30% a month), hardware failures included,
    # checkpointing 16 GB of state at 2 GB/s at Daly's optimum interval.
    train = job().runs[0].flops / (8 * 989e12 * 0.4 * 3600)
    reclaim = -math.log(0.7) / 730.5
    rate = reclaim + 8 * 2e-5
    m = 1 / rate
    c = 16e9 / 2e9 / 3600
    r = (reclaim * 0.25 + 8 * 2e-5 * 0.1) / rate + c
    tau = math.sqrt(2 * c * m) * (1 + math.sqrt(c / (2 * m)) / 3 + c / (18 * m)) - c
    f = m * math.exp(r / m) * (math.exp((tau + c) / m) - 1) / tau
    assert alloc.hours == pytest.approx(train * f * 1.03 + 0.25)
    assert alloc.spot_figures["band"] == "assumed >20%/month"
    assert alloc.spot_figures["expected_reclaims"] == pytest.approx(reclaim * alloc.hours)


def test_precision_fallback_is_costed_and_said():
    plan = plan_job(job(constraints={"gpus": ["V100"]}, model={"parameters": 1e9,
                                                                "tokens": 2e10}),
                    catalog(ROWS), now=NOW)
    assert plan.status == "optimal"
    assert plan.allocations[0].precision_used == "fp16"
    assert any("lack bf16" in n and "fp16" in n for n in plan.notes)


def test_deadline_infeasibility_names_the_earliest_finish():
    plan = plan_job(job(model={"parameters": 1e9, "tokens": 1e13}, deadline="1h",
                        constraints={"max_instances": 2}), catalog(ROWS), now=NOW)
    assert plan.status == "infeasible" and not plan.allocations
    (reason,) = plan.reasons
    assert "earliest finish with the allowed offers:" in reason
    assert "p5.48xlarge x2" in reason


def test_budget_infeasibility_gives_the_cheapest_cost():
    plan = plan_job(job(constraints={"budget_usd": 1}), catalog(ROWS), now=NOW)
    assert plan.status == "infeasible"
    assert plan.reasons[0].startswith("cheapest feasible plan costs $")
    assert "over the $1.00 budget" in plan.reasons[0]


def test_memory_infeasibility_names_the_size():
    plan = plan_job(job(memory={"min_gpu_memory_gib": 96}), catalog(ROWS), now=NOW)
    assert plan.reasons == ["no GPU among the 4 allowed offers has 96 GiB (per GPU)"]


def test_region_filter_that_empties_is_named():
    plan = plan_job(job(constraints={"regions": ["us-west-2"], "gpus": ["T4"]}),
                    catalog(ROWS), now=NOW)
    assert plan.reasons == ["no offers left after restricting to GPUs T4 (1 before)"]


@pytest.mark.parametrize(("constraints", "field", "closest"), [
    ({"regions": ["mars-1"]}, "constraints.regions", "us-east-1"),
    ({"regions": ["us-east-1", "us-west-2x"]}, "constraints.regions", "us-west-2"),
    ({"providers": ["aws", "oracle-of-delphi"]}, "constraints.providers", None),
    ({"providers": ["aws", "gpc"]}, "constraints.providers", "gcp"),
])
def test_unknown_constraint_names_are_input_errors_listing_the_closest_first(
        constraints, field, closest):
    with pytest.raises(InputError) as err:
        plan_job(job(constraints=constraints), catalog(ROWS), now=NOW)
    message = str(err.value)
    assert message.startswith(f"job.yaml: {field}: expected ")
    known = message.split("known: ")[1]
    if closest:
        assert known.startswith(closest)
    assert "(closest first)" in message


def test_constraint_names_match_case_insensitively():
    plan = plan_job(job(constraints={"providers": ["AWS"], "regions": ["US-West-2"],
                                     "gpus": ["v100-16gb"]}), catalog(ROWS), now=NOW)
    assert plan.status == "optimal"
    assert {(a.provider, a.region) for a in plan.allocations} == {("aws", "us-west-2")}


def test_model_too_big_for_instance_limit():
    plan = plan_job(job(model={"parameters": 2e12, "tokens": 1e9},
                        constraints={"max_instances": 2}), catalog(ROWS), now=NOW)
    assert "GiB of model state" in plan.reasons[0]


def test_memory_forces_more_instances_than_the_deadline_needs():
    # 70B x 16 B = 1,043 GiB x 1.25 headroom -> 5 p4d (320 GiB each) even though one
    # instance would meet a generous deadline.
    plan = plan_job(job(model={"parameters": 70e9, "tokens": 1e8}, deadline="30d",
                        constraints={"gpus": ["A100-40GB"]}), catalog(ROWS), now=NOW)
    # At least 5 hold it; 8 is the fewest whose GPUs split the batch of 2,048 sequences
    # into whole micro-batches (40 or 48 GPUs cannot).
    assert plan.allocations[0].instances == 8


def test_divisible_mixes_offers_when_one_cannot_meet_the_deadline():
    rows = [offer("a.x", "H100", 8, 40.0), offer("b.x", "H100", 8, 50.0, region="r2")]
    plan = plan_job(job(mode="divisible", flops=5e21, model={"parameters": 1e9},
                        deadline="24h", constraints={"max_instances": 10}), catalog(rows),
                    now=NOW)
    assert plan.status == "optimal"
    used = {a.instance_type: a for a in plan.allocations}
    assert set(used) == {"a.x", "b.x"}
    assert used["a.x"].instances == 10 and used["a.x"].hours == pytest.approx(24)


def test_quota_limits_instances():
    rows = [offer("p5.48xlarge", "H100", 8, 40.0, vcpus=192),
            offer("p4d.24xlarge", "A100-40GB", 8, 30.0, vcpus=96)]
    quotas = [{"provider": "aws", "region": "us-east-1", "pricing": "on_demand",
               "quota_name": "Running On-Demand P instances", "families": "p",
               "vcpu_limit": 384, "as_of": "2026-11-20", "source": "test"}]
    plan = plan_job(job(mode="divisible", flops=5e21, model={"parameters": 1e9},
                        deadline="24h"), catalog(rows, quotas), now=NOW)
    vcpus = sum(a.instances * {"p5.48xlarge": 192, "p4d.24xlarge": 96}[a.instance_type]
                for a in plan.allocations)
    if plan.status == "optimal":
        assert vcpus <= 384
    else:
        assert "capacity does only" in plan.reasons[0]
    assert plan.solver["name"] == "pulp/CBC"


def test_ties_prefer_fewer_instances_then_lower_price_then_name():
    rows = [offer("b.x", "H100", 8, 40.0), offer("a.x", "H100", 8, 40.0)]
    plan = plan_job(job(), catalog(rows), now=NOW)
    assert plan.allocations[0].instance_type == "a.x"


def test_alternatives_cover_each_other_gpu():
    plan = plan_job(job(), catalog(ROWS), now=NOW)
    gpus = {a.gpu for a in plan.alternatives}
    assert gpus == {"A100-40GB", "T4", "V100-16GB"}
    feasible = [a for a in plan.alternatives if a.meets_deadline]
    assert all(a.cost_usd >= plan.cost_usd - 1e-9 for a in feasible)


def test_plan_to_json_is_text_and_to_dict_the_same_data():
    plan = plan_job(job(), catalog(ROWS), now=NOW)
    text = plan.to_json()
    assert isinstance(text, str)
    assert json.loads(text) == json.loads(json.dumps(plan.to_dict()))


def test_json_plan_is_versioned_and_complete():
    data = json.loads(json.dumps(plan_job(job(), catalog(ROWS), now=NOW).to_dict()))
    assert data["plan_version"] == 1
    for key in ("job", "requirements", "assumptions", "allocations", "totals", "baseline",
                "alternatives", "snapshot", "solver"):
        assert key in data
    alloc = data["allocations"][0]
    assert set(alloc) >= {"provider", "region", "instance_type", "gpu", "gpu_count",
                          "pricing", "instances", "hours", "usd_per_hour", "cost_usd"}
    assert data["totals"]["cost_usd"] == pytest.approx(alloc["cost_usd"])
    assert data["requirements"]["flops"] == pytest.approx(
        2e10 * job().runs[0].shape.flops_per_token)
    assert data["requirements"]["flops_definition"].startswith("model FLOPs")
    assert data["plan_id"].startswith("j-")


def test_frontier_is_monotone_and_contains_the_job_deadline():
    points = frontier(job(), catalog(ROWS), points=8)
    # the job's own deadline stays "optimal" even when a shorter one costs the same
    curve = [p for p in points if p.status == "optimal"
             and not (p.is_job_deadline and "costs the same" in p.note)]
    assert any(p.is_job_deadline for p in points)
    assert [p.deadline_hours for p in points] == sorted(p.deadline_hours for p in points)
    assert all(a.cost_usd > b.cost_usd for a, b in zip(curve, curve[1:], strict=False))
    assert all(p.finish_hours <= p.deadline_hours * (1 + 1e-9) for p in points if p.feasible)
    assert all(p.instance_types for p in points if p.feasible)


def test_pareto_drops_dominated_points():
    from gpucost.planner.frontier import FrontierPoint

    pts = [FrontierPoint(1, True, 10.0, 1, "H100", 1, False),
           FrontierPoint(2, True, 12.0, 2, "A100", 1, False),
           FrontierPoint(3, True, 8.0, 3, "T4", 1, False),
           FrontierPoint(4, False, None, None, "", 0, False)]
    assert [p.deadline_hours for p in pareto(pts)] == [1, 3]
    assert not math.isnan(pareto(pts)[0].cost_usd)

"""Spot placement scores through botocore's Stubber, and the warning a plan gives when it
needs many spot instances in a pool that scores low."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planner"))
from tests_support import NOW, catalog, offer  # noqa: E402

from gpucost.job.parse import parse_job  # noqa: E402
from gpucost.planner.planner import plan_job  # noqa: E402
from gpucost.providers.aws.placement_scores import (  # noqa: E402
    fetch_scores,
    read_scores,
    write_scores,
)


def test_scores_per_type_and_region_paginated(aws_env, tmp_path):
    import boto3
    from botocore.stub import Stubber

    ec2 = boto3.client("ec2", region_name="us-east-1")
    base = {"InstanceTypes": ["p5.48xlarge"], "TargetCapacity": 32,
            "TargetCapacityUnitType": "units", "SingleAvailabilityZone": False,
            "RegionNames": ["us-east-1", "us-west-2"]}
    with Stubber(ec2) as stub:
        stub.add_response("get_spot_placement_scores", {"NextToken": "n", "SpotPlacementScores": [
            {"Region": "us-east-1", "Score": 2}]}, base)
        stub.add_response("get_spot_placement_scores", {"SpotPlacementScores": [
            {"Region": "us-west-2", "Score": 8}]}, {**base, "NextToken": "n"})
        rows = fetch_scores(ec2, ["p5.48xlarge"], 32, ["us-east-1", "us-west-2"],
                            "2026-11-25")
        stub.assert_no_pending_responses()
    assert [(r["region"], r["score"]) for r in rows] == [("us-east-1", 2), ("us-west-2", 8)]
    path = write_scores(pd.DataFrame(rows), tmp_path, "aws", NOW.date())
    assert read_scores(path)["score"].tolist() == [2, 8]


def test_a_plan_needing_many_spot_instances_in_a_low_scoring_pool_warns():
    rows = [offer("p5.48xlarge", "H100", 8, 20.0, pricing="spot", network_gbps=3200)]
    cat = catalog(rows)
    cat.placement_scores = pd.DataFrame([
        {"provider": "aws", "region": "us-east-1", "instance_type": "p5.48xlarge",
         "target_capacity": 4, "score": 2, "as_of": "2026-11-25", "source": "test"}])
    job = {"name": "j", "flops": 1.2e22, "utilization": 0.4, "deadline": "2d",
           "constraints": {"spot": "only", "max_instances": 64}}
    plan = plan_job(parse_job(job, "j.yaml", NOW), cat, explain=False, now=NOW)
    assert plan.allocations[0].instances >= 4
    assert any("placement score for 4 x p5.48xlarge in us-east-1 is 2/10" in n
               for n in plan.notes)
    cat.placement_scores["score"] = 9
    plan = plan_job(parse_job(job, "j.yaml", NOW), cat, explain=False, now=NOW)
    assert not any("placement score" in n for n in plan.notes)

"""Capacity Blocks: offerings through botocore's Stubber (moto lacks the API), on to the
file beside the prices and a plan that buys the cheapest block meeting the deadline."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planner"))
from tests_support import NOW, catalog, offer  # noqa: E402

from gpucost.errors import InputError  # noqa: E402
from gpucost.job.parse import parse_job  # noqa: E402
from gpucost.planner.planner import plan_job  # noqa: E402
from gpucost.providers.aws.capacity_blocks import (  # noqa: E402
    BlockRequest,
    fetch_capacity_blocks,
    parse_requests,
    read_blocks,
    write_blocks,
)
from gpucost.report.plan_report import render_plan  # noqa: E402

DAY = dt.timedelta(days=1)


def test_requests_parse_and_bad_ones_name_the_flag():
    assert parse_requests("p5.48xlarge:64:14, p5en.48xlarge:8:7") == [
        BlockRequest("p5.48xlarge", 64, 14), BlockRequest("p5en.48xlarge", 8, 7)]
    for bad in ("p5.48xlarge:64", "p5.48xlarge:0:14", "p5.48xlarge:8:400", "x:1:1;rm"):
        with pytest.raises(InputError, match="--capacity-blocks"):
            parse_requests(bad)


def _offering(oid: str, count: int, start_days: float, fee: str, days: int = 14) -> dict:
    start = NOW + start_days * DAY
    return {"CapacityBlockOfferingId": oid, "InstanceType": "p5.48xlarge",
            "AvailabilityZone": "us-east-1a", "InstanceCount": count, "StartDate": start,
            "EndDate": start + days * DAY, "CapacityBlockDurationHours": days * 24,
            "UpfrontFee": fee, "CurrencyCode": "USD", "Tenancy": "default"}


@pytest.fixture
def offerings(aws_env, tmp_path):
    """Offerings as EC2 answers them (two pages), written beside a snapshot and read back."""
    import boto3
    from botocore.stub import Stubber

    ec2 = boto3.client("ec2", region_name="us-east-1")
    params = {"InstanceType": "p5.48xlarge", "InstanceCount": 64, "CapacityDurationHours": 336}
    with Stubber(ec2) as stub:
        stub.add_response("describe_capacity_block_offerings", {"NextToken": "more",
            "CapacityBlockOfferings": [
                _offering("cb-late", 64, 6, "1500000.00"),     # cheap, but starts too late
                _offering("cb-small", 32, 1, "900000.00")]}, params)  # cheap, too few
        stub.add_response("describe_capacity_block_offerings", {
            "CapacityBlockOfferings": [
                _offering("cb-dear", 64, 1, "2600000.00"),
                _offering("cb-good", 64, 1.5, "2000000.00"),
                {**_offering("cb-eur", 64, 1, "1.00"), "CurrencyCode": "EUR"}]},
            {**params, "NextToken": "more"})
        rows = fetch_capacity_blocks(ec2, "us-east-1", parse_requests("p5.48xlarge:64:14"),
                                     "2026-11-25")
        stub.assert_no_pending_responses()
    assert [r["offering_id"] for r in rows] == ["cb-late", "cb-small", "cb-dear", "cb-good"]
    path = write_blocks(pd.DataFrame(rows), tmp_path, "aws", NOW.date())
    assert path.name == "2026-11-25.capacity_blocks.csv"
    return read_blocks(path)


def _job(**constraints):
    # 64 x 8 H100 at 40% MFU need about ten days for this: 14 days leave room for a block
    # that starts in a day or two, not for one that starts in six.
    flops = 10 * 24 * 64 * 8 * 989e12 * 0.4 * 3600
    return parse_job({"name": "h100x64", "flops": flops, "utilization": 0.4,
                      "deadline": "14d", "constraints": {"max_instances": 64, **constraints}},
                     "job.yaml", NOW)


QUOTA = [{"provider": "aws", "region": "us-east-1", "pricing": "on_demand",
          "quota_name": "Running On-Demand P instances", "families": "p",
          "vcpu_limit": 8 * 192, "as_of": "2026-11-25", "source": "test"}]


def test_plan_buys_the_cheapest_block_that_meets_the_deadline(offerings):
    cat = catalog([offer("p5.48xlarge", "H100", 8, 55.04, vcpus=192, network_gbps=3200)],
                  quotas=QUOTA)
    without = plan_job(_job(), cat, explain=False, now=NOW)
    assert without.status == "infeasible"  # 8 on-demand instances by quota: months
    cat.capacity_blocks = offerings
    plan = plan_job(_job(), cat, explain=False, now=NOW)
    assert plan.status == "optimal"
    (alloc,) = plan.allocations
    assert alloc.pricing == "capacity_block"
    block = alloc.capacity_block
    assert block["offering_id"] == "cb-good"
    assert plan.cost_usd == pytest.approx(2_000_000)  # the fee, whatever the run uses
    assert block["starts_in_hours"] + block["run_hours"] <= 14 * 24
    assert alloc.instances <= 64
    text = render_plan(plan)
    assert "Buy capacity block cb-good (64 x p5.48xlarge, us-east-1a, from 2026-11-26" in text
    assert "$2,000,000 upfront" in text
    # a budget below every fee that works leaves no block, and says why
    poor = plan_job(_job(budget_usd=1_000_000), cat, explain=False, now=NOW)
    assert poor.status == "infeasible"


def test_a_block_is_not_bought_when_on_demand_is_cheaper(offerings):
    cat = catalog([offer("p5.48xlarge", "H100", 8, 30.0, vcpus=192, network_gbps=3200)])
    cat.capacity_blocks = offerings  # no quota: 64 on-demand instances at $30/h
    plan = plan_job(_job(), cat, explain=False, now=NOW)
    assert plan.allocations[0].pricing == "on_demand"
    assert plan.cost_usd < 2_000_000


def test_a_bad_block_file_is_one_line_naming_row_and_column(tmp_path):
    path = tmp_path / "2026-11-25.capacity_blocks.csv"
    path.write_text("provider,region,zone,offering_id,instance_type,instance_count,start,end,"
                    "duration_hours,upfront_fee_usd,as_of,source\n"
                    "aws,us-east-1,us-east-1a,cb-1,p5.48xlarge,64,2026-12-01T00:00+00:00,"
                    "2026-12-15T00:00+00:00,336,lots,2026-11-25,test\n")
    with pytest.raises(InputError, match="row 2: upfront_fee_usd"):
        read_blocks(path)

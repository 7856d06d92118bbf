"""The whole pipeline on AWS: adapter (real boto3 clients, Stubber) -> refresh -> snapshot
and quota files -> catalog -> a plan that respects the fetched vCPU quota."""

from __future__ import annotations

import datetime as dt

import pytest
from test_aws_provider import _ec2_region, _factory, _quota_stub, _stubbed

from gpucost.catalog.snapshot import load_catalog
from gpucost.job.parse import parse_job
from gpucost.planner.planner import plan_job
from gpucost.providers.aws.pricing import price_filters
from gpucost.refresh.run import refresh


def test_refreshed_quota_caps_the_plan(aws_env, price_item, tmp_path):
    ec2, ec2_stub = _ec2_region("us-east-1", [("us-east-1a", "0.4521")])
    pricing, pricing_stub = _stubbed("pricing", "us-east-1")
    pricing_stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": [
        price_item("g5.xlarge", "us-east-1", "1.0060000000")]},
        {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
         "Filters": price_filters("g5.xlarge", "us-east-1")})
    # 16 vCPUs of "G and VT" quota: at most four 4-vCPU g5.xlarge instances
    quotas, quota_stub = _quota_stub("us-east-1", 16.0)
    factory = _factory({("ec2", "us-east-1"): ec2, ("pricing", "us-east-1"): pricing,
                        ("service-quotas", "us-east-1"): quotas})
    today = dt.date.today()

    (outcome,) = refresh(["aws"], ["us-east-1"], tmp_path, echo=lambda _: None, today=today,
                         provider_options={"aws": {"client_factory": factory,
                                                   "max_workers": 1}})

    for stub in (ec2_stub, pricing_stub, quota_stub):
        stub.assert_no_pending_responses()
    assert outcome.ok and outcome.path == tmp_path / "aws" / f"{today.isoformat()}.csv"
    assert (tmp_path / "aws" / f"{today.isoformat()}.quotas.csv").is_file()
    catalog = load_catalog(tmp_path)
    fresh = catalog.offers[catalog.offers["as_of"] == str(today)]
    assert set(fresh["instance_type"]) == {"g5.xlarge"} and set(fresh["region"]) == {"us-east-1"}
    # A region-scoped refresh keeps the other regions of the previous (here: shipped)
    # snapshot rather than dropping them from the newest file.
    assert set(catalog.offers["region"]) > {"us-east-1"}
    assert not (catalog.offers["region"] == "us-east-1").sum() > len(fresh)
    assert set(catalog.quotas["vcpu_limit"]) == {16}

    job = parse_job({"name": "q", "mode": "divisible", "flops": 1e19, "utilization": 0.4,
                     "deadline": "2h",
                     "constraints": {"max_instances": 50, "regions": ["us-east-1"]}},
                    "job.yaml")
    plan = plan_job(job, catalog, explain=False)
    # 99 instance-hours of work: 50 instances would finish in 2 h, but the quota allows 4.
    assert plan.status == "infeasible"
    assert "capacity does only" in plan.reasons[0]
    relaxed = parse_job({"name": "q", "mode": "divisible", "flops": 1e19, "utilization": 0.4,
                         "deadline": "30h", "constraints": {"regions": ["us-east-1"]}},
                        "job.yaml")
    ok = plan_job(relaxed, catalog, explain=False)
    assert ok.status == "optimal"
    assert sum(a.instances for a in ok.allocations) <= 4
    assert ok.cost_usd == pytest.approx(1e19 / (70e12 * 0.4 * 3600) * 1.006)

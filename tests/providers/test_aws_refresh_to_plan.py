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


def test_refreshed_quota_caps_the_plan(aws_env, price_item, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path))  # refresh into the user folder
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
    # A region-scoped refresh into the user folder keeps the other regions of the previous
    # (here: shipped) snapshot rather than dropping them from the newest file.
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
    # Goodput: +3% checkpoints/evaluation + 2e-5 failures/GPU-hour x 1 GPU x 0.225 h,
    # and every instance's 0.25 h start-up.
    instances = sum(a.instances for a in ok.allocations)
    assert ok.cost_usd == pytest.approx(1e19 / (70e12 * 0.4 * 3600) * 1.006
                                        * (1 + 0.03 + 2e-5 * 0.225) + instances * 0.25 * 1.006)


def test_refresh_with_a_denied_region_carries_its_rows_over(aws_env, price_item, tmp_path):
    """The real adapter, one region denied: its previous rows stay, marked stale."""
    import pandas as pd

    from gpucost.catalog.schema import coerce_offers
    from gpucost.catalog.snapshot import read_snapshot_file, write_snapshot

    old = pd.DataFrame([{
        "provider": "aws", "region": region, "zone": "", "instance_type": "g5.xlarge",
        "gpu": "A10G", "gpu_count": 1, "gpu_memory_gib": 22.35, "vcpus": 4, "memory_gib": 16,
        "pricing": "on_demand", "usd_per_hour": price, "as_of": "2026-11-01",
        "source": "aws pricing api", "stale": False}
        for region, price in (("us-east-1", 0.9), ("eu-west-1", 1.1))])
    write_snapshot(coerce_offers(old, "old"), tmp_path, "aws", dt.date(2026, 11, 1))
    good, good_stub = _ec2_region("us-east-1", [("us-east-1a", "0.45")])
    denied, denied_stub = _stubbed("ec2", "eu-west-1")
    denied_stub.add_client_error("describe_instance_types", "UnauthorizedOperation",
                                 "You are not authorized to perform this operation.")
    pricing, pricing_stub = _stubbed("pricing", "us-east-1")
    pricing_stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": [
        price_item("g5.xlarge", "us-east-1", "1.0060000000")]},
        {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
         "Filters": price_filters("g5.xlarge")})
    quotas, _ = _quota_stub("us-east-1")
    factory = _factory({("ec2", "us-east-1"): good, ("ec2", "eu-west-1"): denied,
                        ("pricing", "us-east-1"): pricing,
                        ("service-quotas", "us-east-1"): quotas})
    lines: list[str] = []

    (outcome,) = refresh(["aws"], ["us-east-1", "eu-west-1"], tmp_path, echo=lines.append,
                         today=dt.date(2026, 11, 25),
                         provider_options={"aws": {"client_factory": factory}})

    for stub in (good_stub, denied_stub, pricing_stub):
        stub.assert_no_pending_responses()
    assert outcome.failed_regions == {
        "eu-west-1": "UnauthorizedOperation: You are not authorized to perform this operation."}
    new = read_snapshot_file(tmp_path / "aws" / "2026-11-25.csv")
    on_demand = new[new["pricing"] == "on_demand"].set_index("region")
    assert on_demand.loc["us-east-1", "usd_per_hour"] == pytest.approx(1.006)
    assert not on_demand.loc["us-east-1", "stale"]
    assert on_demand.loc["eu-west-1", "usd_per_hour"] == pytest.approx(1.1)
    assert on_demand.loc["eu-west-1", "stale"]
    assert on_demand.loc["eu-west-1", "as_of"] == pd.Timestamp("2026-11-01")
    assert "aws eu-west-1: FAILED (UnauthorizedOperation: You are not authorized to perform " \
           "this operation.)" in lines
    previous = read_snapshot_file(tmp_path / "aws" / "2026-11-01.csv")
    assert sorted(previous["usd_per_hour"]) == [0.9, 1.1]  # the old file is untouched

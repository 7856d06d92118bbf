"""AwsProvider end to end: moto EC2 + Stubber pricing/quotas, failures, credentials."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import warnings
from pathlib import Path

import pandas as pd
import pytest

from gpucost.catalog.schema import OFFER_COLUMNS, UnknownGpuWarning
from gpucost.catalog.snapshot import QUOTA_COLUMNS
from gpucost.providers import get_provider
from gpucost.providers.aws import AwsProvider
from gpucost.providers.aws.clients import NO_CREDENTIALS, error_reason, session_client_factory
from gpucost.providers.aws.pricing import price_filters
from gpucost.providers.aws.provider import build_offer_rows
from gpucost.providers.aws.quotas import GPU_QUOTAS
from gpucost.providers.aws.specs import InstanceSpec, fetch_region_gpu_specs
from gpucost.providers.aws.spot import SpotPrice
from gpucost.providers.sanity import ImplausiblePriceWarning

REPO = Path(__file__).resolve().parents[2]
TODAY = pd.Timestamp(dt.datetime.now(dt.UTC).date())
NOW = dt.datetime.now(dt.UTC)


def _client(service: str, region: str):
    import boto3

    return boto3.client(service, region_name=region)


def _stubbed(service: str, region: str):
    """A real botocore client with an activated Stubber (no response queued yet)."""
    from botocore.stub import Stubber

    client = _client(service, region)
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


def _quota_stub(region: str, value: float = 192.0):
    client, stub = _stubbed("service-quotas", region)
    for q in GPU_QUOTAS:
        stub.add_response("get_service_quota", {"Quota": {
            "ServiceCode": "ec2", "QuotaCode": q.code, "QuotaName": q.name, "Value": value}},
            {"ServiceCode": "ec2", "QuotaCode": q.code})
    return client, stub


def _factory(clients: dict[tuple[str, str], object], calls: list | None = None):
    """Hands out the given clients; anything else is a plain (moto-backed) boto3 client."""
    def make(service: str, region: str):
        if calls is not None:
            calls.append((service, region))
        found = clients.get((service, region))
        return found if found is not None else _client(service, region)
    return make


def _progress_log():
    seen: list[tuple[str, str | None]] = []
    return seen, lambda region, reason: seen.append((region, reason))


# --- moto: real EC2 instance data, one region --------------------------------------------

PRICED = {"p4d.24xlarge": "32.7726000000", "p4de.24xlarge": "40.9657500000",
          "p5.48xlarge": "55.0400000000", "g5.xlarge": "1.0060000000",
          "g5g.xlarge": "0.4200000000"}


def test_fetch_one_region_against_moto_ec2(aws_moto, price_item):
    gpu_types = sorted(fetch_region_gpu_specs(_client("ec2", "us-east-1"), "us-east-1"))
    assert set(PRICED) <= set(gpu_types)  # moto ships these; the assertions below rely on it
    pricing, pricing_stub = _stubbed("pricing", "us-east-1")
    for name in gpu_types:  # max_workers=1: one get_products per type, in sorted order
        items = [price_item(name, "us-east-1", PRICED[name])] if name in PRICED else []
        pricing_stub.add_response(
            "get_products", {"FormatVersion": "aws_v1", "PriceList": items},
            {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
             "Filters": price_filters(name, "us-east-1")})
    quotas, quota_stub = _quota_stub("us-east-1")
    seen, progress = _progress_log()
    provider = AwsProvider(max_workers=1, client_factory=_factory(
        {("pricing", "us-east-1"): pricing, ("service-quotas", "us-east-1"): quotas}))

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = provider.fetch(regions=["us-east-1"], progress=progress)
    assert any(w.category is UnknownGpuWarning and "T4g" in str(w.message) for w in caught)

    pricing_stub.assert_no_pending_responses()
    quota_stub.assert_no_pending_responses()
    assert result.failed_regions == {} and seen == [("us-east-1", None)]
    offers = result.offers
    assert list(offers.columns) == list(OFFER_COLUMNS)
    on_demand = offers[offers["pricing"] == "on_demand"].set_index("instance_type")
    assert sorted(on_demand.index) == sorted(PRICED)  # unpriced types are skipped
    assert on_demand.loc["p4d.24xlarge", "usd_per_hour"] == pytest.approx(32.7726)
    assert tuple(on_demand.loc["p4d.24xlarge", ["gpu", "gpu_count", "vcpus"]]) == (
        "A100-40GB", 8, 96)
    assert on_demand.loc["p4de.24xlarge", "gpu"] == "A100-80GB"
    assert on_demand.loc["p5.48xlarge", "gpu"] == "H100"
    assert on_demand.loc["g5.xlarge", "gpu"] == "A10G"
    assert on_demand.loc["g5g.xlarge", "gpu"] == "T4g"  # unknown: kept as given, warned
    assert set(on_demand["zone"]) == {""} and set(on_demand["source"]) == {"aws pricing api"}
    assert (offers["as_of"] == TODAY).all() and not offers["stale"].any()
    # moto's spot history is a constant placeholder price, far below 1% of these on-demand
    # prices: no such price is kept, and a warning names each offer dropped.
    assert offers[offers["pricing"] == "spot"].empty
    dropped = [str(w.message) for w in caught if w.category is ImplausiblePriceWarning]
    assert sorted(m.split(":")[0] for m in dropped) == sorted(
        f"aws us-east-1 {name}" for name in PRICED)
    assert list(result.quotas.columns) == QUOTA_COLUMNS and len(result.quotas) == 4


# --- Stubber EC2: concurrency and failures ----------------------------------------------

def _gpu_type(name: str, gpu: str, mib: int) -> dict:
    return {"InstanceType": name, "VCpuInfo": {"DefaultVCpus": 4},
            "MemoryInfo": {"SizeInMiB": 16384},
            "GpuInfo": {"Gpus": [{"Name": gpu, "Manufacturer": "NVIDIA", "Count": 1,
                                  "MemoryInfo": {"SizeInMiB": mib}}]}}


def _ec2_region(region: str, spot: list[tuple[str, str]]):
    """A stubbed EC2 region offering g5.xlarge (and describing a non-GPU m5.large)."""
    from botocore.stub import ANY

    ec2, stub = _stubbed("ec2", region)
    stub.add_response("describe_instance_types", {"InstanceTypes": [
        _gpu_type("g5.xlarge", "A10G", 22888),
        {"InstanceType": "m5.large", "VCpuInfo": {"DefaultVCpus": 2},
         "MemoryInfo": {"SizeInMiB": 8192}}]}, {})
    stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": [
        {"InstanceType": t, "LocationType": "region", "Location": region}
        for t in ("g5.xlarge", "m5.large")]},
        {"LocationType": "region", "Filters": [{"Name": "location", "Values": [region]}]})
    stub.add_response("describe_spot_price_history", {"SpotPriceHistory": [
        {"AvailabilityZone": zone, "InstanceType": "g5.xlarge", "SpotPrice": price,
         "ProductDescription": "Linux/UNIX", "Timestamp": NOW} for zone, price in spot]},
        {"InstanceTypes": ["g5.xlarge"], "ProductDescriptions": ["Linux/UNIX"],
         "StartTime": ANY})
    return ec2, stub


def _unreachable(region: str):
    from botocore.exceptions import EndpointConnectionError

    ec2 = _client("ec2", region)

    def refuse(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url=f"https://ec2.{region}.amazonaws.com/")

    ec2.meta.events.register("before-call.ec2.DescribeInstanceTypes", refuse)
    return ec2


def test_one_failing_region_does_not_fail_the_others(aws_env, price_item):
    good, good_stub = _ec2_region("us-east-1", [("us-east-1a", "0.4521"),
                                                ("us-east-1d", "0.3876")])
    denied, denied_stub = _stubbed("ec2", "eu-west-1")
    denied_stub.add_client_error("describe_instance_types", "UnauthorizedOperation",
                                 "You are not authorized to perform this operation.")
    pricing, pricing_stub = _stubbed("pricing", "us-east-1")
    pricing_stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": [
        price_item("g5.xlarge", "us-east-1", "1.0060000000"),
        price_item("g5.xlarge", "eu-west-1", "1.1230000000")]},
        {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
         "Filters": price_filters("g5.xlarge")})
    quotas, quota_stub = _quota_stub("us-east-1", 64.0)
    clients = {("ec2", "us-east-1"): good, ("ec2", "eu-west-1"): denied,
               ("ec2", "ap-south-1"): _unreachable("ap-south-1"),
               ("pricing", "us-east-1"): pricing, ("service-quotas", "us-east-1"): quotas}
    seen, progress = _progress_log()

    result = AwsProvider(max_workers=4, client_factory=_factory(clients)).fetch(
        regions=["us-east-1", "eu-west-1", "ap-south-1"], progress=progress)

    for stub in (good_stub, denied_stub, pricing_stub, quota_stub):
        stub.assert_no_pending_responses()
    assert result.failed_regions["eu-west-1"] == (
        "UnauthorizedOperation: You are not authorized to perform this operation.")
    assert result.failed_regions["ap-south-1"].startswith("EndpointConnectionError: ")
    assert "\n" not in result.failed_regions["ap-south-1"]
    assert sorted(seen) == [("ap-south-1", result.failed_regions["ap-south-1"]),
                            ("eu-west-1", result.failed_regions["eu-west-1"]),
                            ("us-east-1", None)]
    rows = result.offers.set_index("pricing")
    assert set(result.offers["region"]) == {"us-east-1"} and len(result.offers) == 2
    assert rows.loc["on_demand", "usd_per_hour"] == pytest.approx(1.006)
    assert (rows.loc["spot", "zone"], rows.loc["spot", "usd_per_hour"]) == ("us-east-1d", 0.3876)
    assert set(result.quotas["region"]) == {"us-east-1"}
    assert set(result.quotas["vcpu_limit"]) == {64.0}


def test_pricing_api_failure_fails_every_region(aws_env):
    ec2, ec2_stub = _ec2_region("us-west-2", [("us-west-2a", "0.40")])
    pricing, pricing_stub = _stubbed("pricing", "us-east-1")
    pricing_stub.add_client_error("get_products", "AccessDeniedException",
                                  "not authorized to perform: pricing:GetProducts")
    quotas, _ = _quota_stub("us-west-2")
    result = AwsProvider(client_factory=_factory({
        ("ec2", "us-west-2"): ec2, ("pricing", "us-east-1"): pricing,
        ("service-quotas", "us-west-2"): quotas})).fetch(regions=["us-west-2"])
    assert result.failed_regions == {
        "us-west-2": "pricing: AccessDeniedException: not authorized to perform: "
                     "pricing:GetProducts"}
    assert result.offers.empty and list(result.offers.columns) == list(OFFER_COLUMNS)
    assert result.quotas.empty and list(result.quotas.columns) == QUOTA_COLUMNS


def test_regions_default_to_describe_regions(aws_env):
    home, home_stub = _stubbed("ec2", "us-east-1")
    home_stub.add_response("describe_regions", {"Regions": [
        {"RegionName": "ca-central-1", "Endpoint": "ec2.ca-central-1.amazonaws.com"}]}, {})
    ec2, ec2_stub = _stubbed("ec2", "ca-central-1")
    ec2_stub.add_response("describe_instance_types", {"InstanceTypes": []}, {})
    ec2_stub.add_response("describe_instance_type_offerings", {"InstanceTypeOfferings": []})
    quotas, _ = _quota_stub("ca-central-1")
    calls: list = []
    result = AwsProvider(client_factory=_factory({
        ("ec2", "us-east-1"): home, ("ec2", "ca-central-1"): ec2,
        ("service-quotas", "ca-central-1"): quotas}, calls)).fetch()
    home_stub.assert_no_pending_responses()
    ec2_stub.assert_no_pending_responses()
    assert ("ec2", "ca-central-1") in calls and result.failed_regions == {}
    assert result.offers.empty and set(result.quotas["region"]) == {"ca-central-1"}


def test_describe_regions_failure_is_provider_unavailable(aws_env):
    from gpucost.providers.base import ProviderUnavailable

    home, stub = _stubbed("ec2", "us-east-1")
    stub.add_client_error("describe_regions", "AuthFailure",
                          "AWS was not able to validate the provided access credentials")
    with pytest.raises(ProviderUnavailable, match=r"^aws: cannot list regions: AuthFailure: "):
        AwsProvider(client_factory=_factory({("ec2", "us-east-1"): home})).fetch()


# --- credentials, clients, laziness -------------------------------------------------------

def test_missing_credentials_raise_one_line(aws_no_credentials):
    import boto3

    from gpucost.providers.base import ProviderUnavailable

    for provider in (AwsProvider(), AwsProvider(session=boto3.session.Session())):
        with pytest.raises(ProviderUnavailable) as info:
            provider.fetch(regions=["us-east-1"])
        assert str(info.value) == NO_CREDENTIALS and "\n" not in str(info.value)


def test_partial_credentials_never_echo_the_key(aws_no_credentials, monkeypatch):
    from gpucost.providers.base import ProviderUnavailable

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLELEAKCHECK")
    with pytest.raises(ProviderUnavailable) as info:
        AwsProvider().fetch(regions=["us-east-1"])
    assert str(info.value).startswith("aws: ") and "AKIAEXAMPLELEAKCHECK" not in str(info.value)


def test_default_clients_use_adaptive_retries(aws_env):
    import boto3

    client = session_client_factory(boto3.session.Session())("ec2", "eu-central-1")
    assert client.meta.config.retries["mode"] == "adaptive"
    assert client.meta.config.retries["total_max_attempts"] == 11  # 10 retries + 1
    assert client.meta.region_name == "eu-central-1"


def test_error_reason_is_one_line():
    from botocore.exceptions import ClientError, EndpointConnectionError

    denied = ClientError({"Error": {"Code": "UnauthorizedOperation", "Message": "no\nway"}},
                         "DescribeInstanceTypes")
    assert error_reason(denied) == "UnauthorizedOperation: no way"
    down = error_reason(EndpointConnectionError(endpoint_url="https://ec2.x.amazonaws.com/"))
    assert down.startswith("EndpointConnectionError: Could not connect") and "\n" not in down


def test_build_offer_rows_skips_types_without_on_demand_price():
    specs = {"g5.xlarge": InstanceSpec("g5.xlarge", "A10G", 1, 22.35, 4, 16.0),
             "g6.xlarge": InstanceSpec("g6.xlarge", "L4", 1, 22.35, 4, 16.0)}
    rows = build_offer_rows("us-east-1", specs, {("us-east-1", "g5.xlarge"): 1.006,
                                                 ("eu-west-1", "g6.xlarge"): 0.9},
                            {"g6.xlarge": SpotPrice("g6.xlarge", "us-east-1b", 0.3),
                             "g5.xlarge": SpotPrice("g5.xlarge", "us-east-1c", 0.4)},
                            "2025-06-01")
    assert [(r["instance_type"], r["pricing"], r["zone"]) for r in rows] == [
        ("g5.xlarge", "on_demand", ""), ("g5.xlarge", "spot", "us-east-1c")]


def test_registry_builds_the_adapter_and_boto3_stays_unimported():
    assert isinstance(get_provider("aws", max_workers=2), AwsProvider)
    code = ("import sys, gpucost.providers, gpucost.providers.aws; "
            "sys.exit(1 if 'boto3' in sys.modules or 'botocore' in sys.modules else 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr

"""vCPU quotas from Service Quotas (Stubber): rows, and failures that only skip a quota."""

from __future__ import annotations

import logging

import pytest

from gpucost.catalog.snapshot import QUOTA_COLUMNS
from gpucost.providers.aws.quotas import GPU_QUOTAS, fetch_quotas, parse_service_quota


def _answer(code: str, name: str, value: float) -> dict:
    return {"Quota": {"ServiceCode": "ec2",
                      "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
                      "QuotaArn": f"arn:aws:servicequotas:us-east-1:123456789012:ec2/{code}",
                      "QuotaCode": code, "QuotaName": name, "Value": value, "Unit": "None",
                      "Adjustable": True, "GlobalQuota": False}}


def test_parse_service_quota_row_has_quota_columns():
    quota = GPU_QUOTAS[0]
    row = parse_service_quota(_answer(quota.code, quota.name, 384.0), quota, "us-east-1",
                              "2025-06-01")
    assert row is not None and list(row) == QUOTA_COLUMNS
    assert row["vcpu_limit"] == 384.0 and row["families"] == "p"
    assert row["pricing"] == "on_demand" and row["quota_name"] == "Running On-Demand P instances"
    assert parse_service_quota({"Quota": {}}, quota, "us-east-1", "2025-06-01") is None


def test_gpu_quota_codes_cover_p_and_g_for_both_pricing_models():
    assert {(q.pricing, q.families.split()[0]) for q in GPU_QUOTAS} == {
        ("on_demand", "p"), ("on_demand", "g"), ("spot", "p"), ("spot", "g")}
    assert {q.code for q in GPU_QUOTAS} == {"L-417A185B", "L-DB2E81BA", "L-7212CCBC",
                                            "L-3819A6DF"}


@pytest.fixture
def quotas_client(aws_env):
    import boto3

    return boto3.client("service-quotas", region_name="us-east-1")


def test_failing_quotas_are_skipped_and_logged(quotas_client, caplog):
    from botocore.stub import Stubber

    p_od, g_od, p_spot, g_spot = GPU_QUOTAS
    with Stubber(quotas_client) as stub:
        stub.add_response("get_service_quota", _answer(p_od.code, p_od.name, 96.0),
                          {"ServiceCode": "ec2", "QuotaCode": p_od.code})
        stub.add_client_error("get_service_quota", "AccessDeniedException",
                              "User is not authorized to perform servicequotas:GetServiceQuota",
                              expected_params={"ServiceCode": "ec2", "QuotaCode": g_od.code})
        stub.add_client_error("get_service_quota", "NoSuchResourceException",
                              "The request failed because the specified quota does not exist",
                              expected_params={"ServiceCode": "ec2", "QuotaCode": p_spot.code})
        stub.add_response("get_service_quota", _answer(g_spot.code, g_spot.name, 8.0),
                          {"ServiceCode": "ec2", "QuotaCode": g_spot.code})
        with caplog.at_level(logging.WARNING, logger="gpucost.providers.aws.quotas"):
            rows, skipped = fetch_quotas(quotas_client, "us-east-1", "2025-06-01")
        stub.assert_no_pending_responses()
    assert [(r["pricing"], r["families"], r["vcpu_limit"]) for r in rows] == [
        ("on_demand", "p", 96.0), ("spot", "g gr vt", 8.0)]
    assert len(skipped) == 2
    assert "AccessDeniedException" in skipped[0] and "NoSuchResourceException" in skipped[1]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and g_od.code in warnings[0]
    assert not any("testing" in w for w in warnings)  # the dummy key never shows up

"""Issue 19, second helper pass: items 4, 1 (GCP half) and 18 (GCP labels).

AWS against moto, with TerminateInstances failing at botocore's own event hook;
GCP through the real client over ``responses``."""

from __future__ import annotations

from dataclasses import replace

import boto3
import pytest
import responses
from botocore.exceptions import ClientError
from moto import mock_aws

from gpucost.launcher.aws import AwsBackend
from gpucost.launcher.backends import TAG_PLAN_ID, LaunchError
from tests.launcher.test_gcp import gcp  # noqa: F401 - a fixture

REGION = "us-east-1"
IMAGE = "ami-0123456789abcdef0"


@pytest.fixture
def session(aws_env, monkeypatch):
    with mock_aws():
        s = boto3.Session(region_name=REGION)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", s)
        yield s


def fail_terminate(session: boto3.Session, codes: list[str]) -> list[str]:
    """Make the next ``len(codes)`` TerminateInstances calls fail with these error codes
    before they reach moto; returns the codes raised so far."""
    raised: list[str] = []

    def before(**_):
        if len(raised) < len(codes):
            code = codes[len(raised)]
            raised.append(code)
            raise ClientError({"Error": {"Code": code, "Message": f"{code} (test)"}},
                              "TerminateInstances")

    session.events.register("before-call.ec2.TerminateInstances", before)
    return raised


def launch_two(plan_id: str = "p1") -> None:
    boto3.client("ec2", region_name=REGION).run_instances(
        ImageId=IMAGE, MinCount=2, MaxCount=2, InstanceType="p4d.24xlarge",
        TagSpecifications=[{"ResourceType": "instance",
                            "Tags": [{"Key": TAG_PLAN_ID, "Value": plan_id}]}])


def backend() -> tuple[AwsBackend, list[float]]:
    sleeps: list[float] = []
    b = AwsBackend({}, poll_seconds=0.0)
    b.retry_sleep = sleeps.append
    return b, sleeps


# -- item 4: TerminateInstances retried on eventual consistency and throttling ----------------

@pytest.mark.parametrize("codes", [["InvalidInstanceID.NotFound"],
                                   ["RequestLimitExceeded", "Throttling"],
                                   ["InvalidInstanceID.NotFound", "RequestLimitExceeded",
                                    "Throttling"]])
def test_terminate_retries_not_found_and_throttling(session, codes):
    launch_two()
    raised = fail_terminate(session, codes)
    b, sleeps = backend()
    found = b.find("p1", [REGION])
    assert len(found) == 2
    b.terminate(found, timeout=30)
    assert raised == codes
    assert b.find("p1", [REGION]) == []
    # bounded exponential backoff: one sleep per failure, each twice the last
    assert len(sleeps) == len(codes)
    assert all(later == 2 * earlier for earlier, later in zip(sleeps, sleeps[1:], strict=False))


def test_terminate_gives_up_after_a_few_tries(session):
    launch_two()
    fail_terminate(session, ["RequestLimitExceeded"] * 50)
    b, sleeps = backend()
    found = b.find("p1", [REGION])
    with pytest.raises(LaunchError, match="RequestLimitExceeded"):
        b.terminate(found, timeout=30)
    assert 2 <= len(sleeps) <= 6 and sum(sleeps) < 30
    assert len(b.find("p1", [REGION])) == 2  # nothing claimed done


def test_terminate_does_not_retry_other_errors(session):
    launch_two()
    raised = fail_terminate(session, ["UnauthorizedOperation"] * 5)
    b, sleeps = backend()
    with pytest.raises(LaunchError, match="UnauthorizedOperation|not authorized|Unauthorized"):
        b.terminate(b.find("p1", [REGION]), timeout=30)
    assert len(raised) == 1 and sleeps == []


# -- item 1, GCP half: 409 alreadyExists looks at the existing VM's status --------------------

def _gcp_conflict_then_get(mock, status: str) -> str:
    from tests.launcher.test_gcp import BASE, expect_insert

    name = "sweep-lr-bd769820-0-0"
    expect_insert(mock, "us-central1-b", name, status=409, body={"error": {
        "code": 409, "message": "already exists", "errors": [{"reason": "alreadyExists"}]}})
    mock.add(responses.GET, f"{BASE}/zones/us-central1-b/instances/{name}",
             json={"name": name, "status": status})
    return name


def _gcp_launch_one(plan_file) -> list:
    from google.auth.credentials import AnonymousCredentials

    from gpucost.launcher import load_plan
    from gpucost.launcher.gcp import GcpBackend
    from tests.launcher.test_gcp import PROJECT

    plan = load_plan(plan_file("plan_gcp.json"))
    created: list = []
    backend = GcpBackend({"project": PROJECT}, credentials=AnonymousCredentials())
    backend.launch(plan, replace(plan.allocations[0], instances=1), created)
    return created


@pytest.mark.parametrize("status", ["TERMINATED", "STOPPED", "STOPPING", "SUSPENDED"])
def test_gcp_conflict_with_a_stopped_vm_is_refused(gcp, plan_file, status):  # noqa: F811
    name = _gcp_conflict_then_get(gcp, status)
    with pytest.raises(LaunchError) as info:
        _gcp_launch_one(plan_file)
    line = str(info.value)
    assert "\n" not in line and name in line and status in line


@pytest.mark.parametrize("status", ["RUNNING", "STAGING", "PROVISIONING"])
def test_gcp_conflict_with_a_live_vm_keeps_it(gcp, plan_file, status):  # noqa: F811
    _gcp_conflict_then_get(gcp, status)
    assert _gcp_launch_one(plan_file) == []  # kept, and not ours to roll back


# -- item 18: `down` matches plan ids exactly on AWS and on GCP -------------------------------

def test_aws_down_matches_the_plan_id_exactly(session):
    launch_two("Sweep_LR-bd769820")
    b, _ = backend()
    assert len(b.find("Sweep_LR-bd769820", [REGION])) == 2
    assert b.find("sweep_lr-bd769820", [REGION]) == []


def _gcp_vm(name: str, plan_id: str | None) -> dict:
    from tests.launcher.test_gcp import LABEL, vm

    item = vm(name, "us-central1-b", "n1-standard-8")
    if plan_id is not None:
        item["metadata"] = {"items": [{"key": "gpucost-plan-id", "value": plan_id}]}
    assert item["labels"]["gpucost-plan-id"] == LABEL  # all share one lowercased label
    return item


def test_gcp_down_matches_the_plan_id_exactly(gcp):  # noqa: F811
    from google.auth.credentials import AnonymousCredentials

    from gpucost.launcher.gcp import GcpBackend
    from tests.launcher.test_gcp import BASE, PROJECT

    listing = {"items": {"zones/us-central1-b": {"instances": [
        _gcp_vm("exact", "Sweep_LR-bd769820"), _gcp_vm("lower", "sweep_lr-bd769820"),
        _gcp_vm("dotted", "Sweep.LR-bd769820"), _gcp_vm("legacy", None)]}}}
    b = GcpBackend({"project": PROJECT}, credentials=AnonymousCredentials())
    for _ in range(2):
        gcp.add(responses.GET, f"{BASE}/aggregated/instances", json=listing)
    # a VM launched before the exact id was recorded is matched by its label, as before
    assert sorted(i.id for i in b.find("Sweep_LR-bd769820", [])) == ["exact", "legacy"]
    assert sorted(i.id for i in b.find("sweep_lr-bd769820", [])) == ["legacy", "lower"]


def test_gcp_launch_records_the_exact_plan_id(gcp, plan_file):  # noqa: F811
    import json

    from tests.launcher.test_gcp import expect_wait

    gcp.add(responses.POST, "https://compute.googleapis.com/compute/v1/projects/test-proj/"
            "zones/us-central1-b/instances", json={"name": "op-1", "status": "RUNNING"})
    expect_wait(gcp, "us-central1-b", "op-1")
    created = _gcp_launch_one(plan_file)
    assert len(created) == 1
    body = json.loads(gcp.calls[0].request.body)
    meta = {i["key"]: i["value"] for i in body["metadata"]["items"]}
    assert meta["gpucost-plan-id"] == "Sweep_LR-bd769820"

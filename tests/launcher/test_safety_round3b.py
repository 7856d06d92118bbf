"""Issue 19, second helper pass: items 4, 1 (GCP half) and 18 (GCP labels).

AWS against moto, with TerminateInstances failing at botocore's own event hook;
GCP through the real client over ``responses``."""

from __future__ import annotations

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from gpucost.launcher.aws import AwsBackend
from gpucost.launcher.backends import TAG_PLAN_ID, LaunchError

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

"""The AWS backend against moto (real boto3 clients), plus botocore Stubber / event hooks
where moto does not go: ClientToken idempotency (moto ignores the token), placement
groups (moto does not implement them: :class:`PlacementGroups` answers those three calls
at the botocore event boundary) and injected capacity errors."""

from __future__ import annotations

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.stub import ANY, Stubber
from moto import mock_aws

from gpucost.launcher import LaunchConfig, launch_plan, load_plan, make_backends
from gpucost.launcher.aws import DLAMI_SSM_PARAMETER, AwsBackend
from gpucost.launcher.backends import CapacityError
from gpucost.launcher.naming import client_token

IMAGE = "ami-0123456789abcdef0"
REGION = "us-east-1"


def _answer(status: int, parsed: dict) -> tuple[AWSResponse, dict]:
    return AWSResponse(f"https://ec2.{REGION}.amazonaws.com/", status, {}, None), parsed


class PlacementGroups:
    """Create / describe / delete placement groups for a session's EC2 clients (moto does
    not implement them); records every call."""

    def __init__(self, session: boto3.Session) -> None:
        self.groups: dict[str, dict] = {}
        self.created: list[dict] = []
        self.deleted: list[dict] = []
        for op, handler in (("CreatePlacementGroup", self._create),
                            ("DescribePlacementGroups", self._describe),
                            ("DeletePlacementGroup", self._delete)):
            session.events.register(f"before-call.ec2.{op}", handler)

    def _create(self, params, **_):
        body = params["body"]
        self.created.append(body)
        tags = {body[k]: body[k.replace(".Key", ".Value")] for k in body
                if k.startswith("TagSpecification.1.Tag.") and k.endswith(".Key")}
        self.groups[body["GroupName"]] = {"GroupName": body["GroupName"],
                                          "Strategy": body["Strategy"], "Tags": tags}
        return _answer(200, {})

    def _describe(self, params, **_):
        body = params["body"]
        wanted = {body[k.replace(".Name", ".Value.1")] for k in body
                  if k.startswith("Filter.") and k.endswith(".Name")
                  and body[k] == "tag:gpucost:plan-id"}
        return _answer(200, {"PlacementGroups": [
            {"GroupName": g["GroupName"], "Strategy": g["Strategy"]}
            for g in self.groups.values() if g["Tags"].get("gpucost:plan-id") in wanted]})

    def _delete(self, params, **_):
        self.deleted.append(params["body"])
        self.groups.pop(params["body"]["GroupName"], None)
        return _answer(200, {})


def launch_capturing(session, plan) -> tuple[list[dict], object]:
    """Launch ``plan`` with the test image and return (the RunInstances parameters sent,
    in order, the launch result): what the instances were asked to be."""
    sent: list[dict] = []
    session.events.register("provide-client-params.ec2.RunInstances",
                            lambda params, **_: sent.append(dict(params)))
    result = launch_plan(plan, make_backends(plan, LaunchConfig({"aws": {"image": IMAGE}})),
                         echo=lambda _: None)
    return sent, result



@pytest.fixture
def aws(aws_env, monkeypatch):
    """moto for all of AWS, and a fresh default boto3 session whose events tests can hook
    (placement groups answered by :class:`PlacementGroups`, as ``session.pgs``)."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.pgs = PlacementGroups(session)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        yield session


def instances(state_names=("pending", "running")) -> list[dict]:
    ec2 = boto3.client("ec2", region_name=REGION)
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": list(state_names)}])
    return [i for p in pages for r in p["Reservations"] for i in r["Instances"]]


def tags(instance: dict) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in instance.get("Tags", [])}


def test_dry_run_prints_allocations_and_creates_nothing(aws, plan_file, run_cli):
    code, out, _ = run_cli("launch", str(plan_file("plan_aws.json")))
    assert code == 0
    assert "DRY RUN" in out
    assert "[0] aws us-east-1 / us-east-1a: 2 x g5.xlarge (1 x A10G each), on-demand" in out
    assert "[1] aws us-east-1: 1 x p3.2xlarge (1 x V100-16GB each), spot" in out
    assert f"SSM parameter {DLAMI_SSM_PARAMETER}" in out
    assert "$2.01/hour in all, for 10.0 h = $20.12" in out
    assert "Total: 3 instance(s)" in out and "$27.46 expected (budget $500.00)" in out
    assert instances(("pending", "running", "terminated")) == []


def test_launch_creates_tagged_instances(aws, plan_file, run_cli):
    code, out, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes",
                             "--image", f"aws={IMAGE}")
    assert code == 0, err
    running = instances()
    assert len(running) == 3
    by_type = {}
    for inst in running:
        by_type.setdefault(inst["InstanceType"], []).append(inst)
        assert inst["ImageId"] == IMAGE
        assert tags(inst)["gpucost:plan-id"] == "bert-ft-95f7b301"
        assert tags(inst)["gpucost:job"] == "bert-ft"
        assert tags(inst)["Name"].startswith("bert-ft-95f7b301-")
    assert len(by_type["g5.xlarge"]) == 2 and len(by_type["p3.2xlarge"]) == 1
    assert {i["Placement"]["AvailabilityZone"] for i in by_type["g5.xlarge"]} == {"us-east-1a"}
    assert by_type["p3.2xlarge"][0].get("InstanceLifecycle") == "spot"
    assert "InstanceLifecycle" not in by_type["g5.xlarge"][0]
    assert "Launched 3 instance(s) for plan bert-ft-95f7b301" in out


def test_spot_market_options_sent(aws, plan_file):
    sent, result = launch_capturing(aws, load_plan(plan_file("plan_aws.json")))
    assert len(sent) == 3  # one call per instance: 2 x g5.xlarge, then the spot p3
    assert "InstanceMarketOptions" not in sent[0] and "InstanceMarketOptions" not in sent[1]
    assert sent[2]["InstanceMarketOptions"] == {"MarketType": "spot", "SpotOptions": {
        "SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}}
    assert all(p["MinCount"] == p["MaxCount"] == 1 for p in sent)


def test_default_image_from_ssm(aws, plan_file, run_cli):
    # moto ships no Deep Learning AMI parameters and refuses to create "/aws/..." names
    # through the API, so the public parameter is put straight into moto's SSM backend.
    from datetime import datetime

    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ssm.models import Parameter, ssm_backends

    ssm_backends[DEFAULT_ACCOUNT_ID][REGION]._parameters[DLAMI_SSM_PARAMETER].append(Parameter(
        account_id=DEFAULT_ACCOUNT_ID, name=DLAMI_SSM_PARAMETER, value="ami-0dl0dl0dl0dl0dl00",
        parameter_type="String", description=None, allowed_pattern=None, keyid=None,
        last_modified_date=datetime.now(), version=1, data_type="aws:ec2:image"))
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes")
    assert code == 0, err
    assert {i["ImageId"] for i in instances()} == {"ami-0dl0dl0dl0dl0dl00"}


def test_missing_ssm_parameter_is_one_clear_error(aws, plan_file, run_cli):
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes")
    assert code == 1
    assert "cannot look up the Deep Learning AMI" in err and "--image aws=" in err
    assert instances() == []


def test_rollback_on_capacity_error(aws, plan_file, run_cli):
    calls = []

    def third_fails(params, **_):
        calls.append(params)
        if len(calls) == 3:
            return _answer(500, {"Error": {"Code": "InsufficientInstanceCapacity",
                                           "Message": "no p3.2xlarge capacity"}})
        return None

    aws.events.register("before-call.ec2.RunInstances", third_fails)
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes",
                           "--image", IMAGE)
    assert code == 1
    assert "InsufficientInstanceCapacity" in err and "no p3.2xlarge capacity" in err
    assert "rolled back: terminated the 2 instance(s)" in err
    assert len(calls) == 3
    assert instances(("pending", "running", "stopping", "stopped")) == []
    assert len(instances(("terminated",))) == 2


def test_allow_partial_keeps_other_allocations(aws, plan_file, run_cli):
    def first_fails(params, **_):
        if params["InstanceType"] == "g5.xlarge":
            return _answer(500, {"Error": {"Code": "VcpuLimitExceeded", "Message": "quota"}})
        return None

    aws.events.register("before-call.ec2.RunInstances",
                        lambda params, **kw: first_fails(params["body"], **kw))
    code, out, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes",
                             "--image", IMAGE, "--allow-partial")
    assert code == 1
    assert "[0] FAILED" in out and "VcpuLimitExceeded" in out
    assert [i["InstanceType"] for i in instances()] == ["p3.2xlarge"]


def test_placement_group_for_multinode_single_mode(aws, plan_file):
    sent = []
    aws.events.register("provide-client-params.ec2.RunInstances",
                        lambda params, **_: sent.append(dict(params)))
    plan = load_plan(plan_file("plan_single_multinode.json"))
    backends = make_backends(plan, LaunchConfig({"aws": {"image": IMAGE}}))
    result = launch_plan(plan, backends, echo=lambda _: None)
    assert len(result.instances) == 2
    [created] = aws.pgs.created
    assert created["GroupName"] == "gpucost-llm-pretrain-7b2aa981-0"
    assert created["Strategy"] == "cluster"
    assert [p["Placement"] for p in sent] == [{"GroupName": "gpucost-llm-pretrain-7b2aa981-0"}] * 2
    backends["aws"].terminate(result.instances, timeout=5)
    assert [d["GroupName"] for d in aws.pgs.deleted] == ["gpucost-llm-pretrain-7b2aa981-0"]


def test_no_placement_group_for_divisible(aws, plan_file):
    sent, result = launch_capturing(aws, load_plan(plan_file("plan_aws.json")))
    assert all("GroupName" not in p.get("Placement", {}) for p in sent)
    assert all("NetworkInterfaces" not in p for p in sent) and aws.pgs.created == []


def test_rollback_deletes_created_placement_group(aws, plan_file):
    aws.events.register("before-call.ec2.RunInstances", lambda **_: _answer(
        500, {"Error": {"Code": "InsufficientInstanceCapacity", "Message": "none"}}))
    plan = load_plan(plan_file("plan_single_multinode.json"))
    with pytest.raises(CapacityError, match="rolled back"):
        launch_plan(plan, make_backends(plan, LaunchConfig({"aws": {"image": IMAGE}})),
                    echo=lambda _: None)
    assert [d["GroupName"] for d in aws.pgs.deleted] == ["gpucost-llm-pretrain-7b2aa981-0"]
    ec2 = boto3.client("ec2", region_name=REGION)
    assert ec2.describe_security_groups(Filters=[{  # the cluster group goes too
        "Name": "group-name", "Values": ["gpucost-llm-pretrain-7b2aa981"]}])["SecurityGroups"] == []


def test_status_and_down_find_instances_by_tag(aws, plan_file, run_cli, sandbox):
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes", "--image", IMAGE)
    assert code == 0, err
    # someone else's instance in the same account must be left alone
    boto3.client("ec2", region_name=REGION).run_instances(
        ImageId=IMAGE, InstanceType="t3.micro", MinCount=1, MaxCount=1)
    code, out, _ = run_cli("status", "bert-ft-95f7b301")  # regions from the launch record
    assert code == 0 and "3 instance(s) of plan bert-ft-95f7b301" in out
    assert out.count("g5.xlarge") == 2 and "spot" in out

    for record in (sandbox / "state").iterdir():  # without the record: --region is needed
        record.unlink()
    code, _, err = run_cli("status", "bert-ft-95f7b301", "--provider", "aws")
    assert code == 1 and "aws not searched" in err and "--region" in err
    code, out, _ = run_cli("status", "bert-ft-95f7b301", "--provider", "aws",
                           "--region", REGION)
    assert code == 0 and "3 instance(s)" in out

    code, out, _ = run_cli("down", "bert-ft-95f7b301", "--provider", "aws", "--region", REGION)
    assert code == 0 and "Terminated 3 instance(s)" in out
    assert [i["InstanceType"] for i in instances()] == ["t3.micro"]
    code, out, _ = run_cli("down", "bert-ft-95f7b301", "--provider", "aws", "--region", REGION)
    assert code == 0 and "No instances of plan bert-ft-95f7b301 found" in out


# -- idempotency: moto ignores ClientToken, so check what is sent with a Stubber -----------

def _reservation(ids: list[str], state: str) -> dict:
    return {"ReservationId": "r-1", "Instances": [
        {"InstanceId": i, "InstanceType": "g5.xlarge", "State": {"Name": state, "Code": 0},
         "Placement": {"AvailabilityZone": "us-east-1a"}} for i in ids]}


def _expected(token: str) -> dict:
    return {"ImageId": IMAGE, "InstanceType": "g5.xlarge", "MinCount": 1, "MaxCount": 1,
            "InstanceInitiatedShutdownBehavior": "terminate", "UserData": ANY,
            "TagSpecifications": ANY, "Placement": {"AvailabilityZone": "us-east-1a"},
            "ClientToken": token}


def test_relaunch_sends_same_client_tokens(aws_env, plan_file):
    plan = load_plan(plan_file("plan_aws.json"))
    alloc = plan.allocations[0]
    client = boto3.client("ec2", region_name=REGION)
    tokens = [client_token(plan.plan_id, 0, rank=rank) for rank in (0, 1)]
    assert len(set(tokens)) == 2 and tokens[0] != client_token(plan.plan_id, 1)
    assert all(len(t) <= 64 for t in tokens)
    with Stubber(client) as stub:
        for _ in range(2):  # EC2 answers a repeated token with the same instance
            stub.add_response("describe_instances", {"Reservations": []})
            for rank, token in enumerate(tokens):
                stub.add_response("run_instances", _reservation([f"i-{rank}"], "pending"),
                                  _expected(token))
        first, second = [], []
        for created in (first, second):
            backend = AwsBackend({"image": IMAGE}, client_factory=lambda *_: client)
            backend.launch(plan, alloc, created)
        stub.assert_no_pending_responses()
    assert [i.id for i in first] == [i.id for i in second] == ["i-0", "i-1"]


def test_token_of_a_terminated_launch_moves_to_next_generation(aws_env, plan_file):
    plan = load_plan(plan_file("plan_aws.json"))
    client = boto3.client("ec2", region_name=REGION)
    with Stubber(client) as stub:
        stub.add_response("describe_instances", {"Reservations": []})
        stub.add_response("run_instances", _reservation(["i-old"], "terminated"),
                          _expected(client_token(plan.plan_id, 0)))
        stub.add_response("run_instances", _reservation(["i-new0"], "pending"),
                          _expected(client_token(plan.plan_id, 0, 1)))
        stub.add_response("run_instances", _reservation(["i-new1"], "pending"),
                          _expected(client_token(plan.plan_id, 0, rank=1)))
        created = []
        AwsBackend({"image": IMAGE}, client_factory=lambda *_: client).launch(
            plan, plan.allocations[0], created)
        stub.assert_no_pending_responses()
    assert [i.id for i in created] == ["i-new0", "i-new1"]


def test_down_and_status_exit_1_when_a_provider_could_not_be_searched(monkeypatch, run_cli,
                                                                     no_aws_credentials):
    # No AWS credentials anywhere and no GCP project: neither provider can be searched,
    # so "no instances found" would be a claim about machines nobody looked at.
    monkeypatch.setenv("NO_GCE_CHECK", "True")  # google-auth: do not probe a metadata server
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    for command in ("down", "status"):
        code, out, err = run_cli(command, "bert-ft-95f7b301", "--region", "us-west-2")
        assert code == 1, (out, err)
        assert "aws not searched" in err
        assert "No instances of plan bert-ft-95f7b301 found." not in out
        assert "not every provider could be searched" in out

"""The job on AWS: user data with the run command, rank variables and self-termination;
EFA clusters in one placement group; status with spend; down cleaning up. Against moto
in-process and a moto server (placement groups, which moto lacks, answered at the
botocore event boundary by ``PlacementGroups``)."""

from __future__ import annotations

import base64
import re
from datetime import timedelta

import boto3
import pytest
from moto import mock_aws
from moto.server import ThreadedMotoServer

from gpucost.launcher import LaunchConfig, launch_plan, load_plan, make_backends
from gpucost.launcher.status import status_report
from tests.launcher.test_aws import (
    IMAGE,
    REGION,
    PlacementGroups,
    instances,
    launch_capturing,
    tags,
)

RUN = "torchrun --nnodes $NNODES --node-rank $NODE_RANK train.py --lr 3e-4"
SETUP = "pip install -r requirements.txt"


@pytest.fixture
def aws(aws_env, monkeypatch):
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.pgs = PlacementGroups(session)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        yield session


def user_data(instance_id: str) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    answer = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    return base64.b64decode(answer["UserData"]["Value"]).decode()


def shutdown_behaviour(instance_id: str) -> str:
    ec2 = boto3.client("ec2", region_name=REGION)
    return ec2.describe_instance_attribute(
        InstanceId=instance_id,
        Attribute="instanceInitiatedShutdownBehavior")["InstanceInitiatedShutdownBehavior"][
        "Value"]


def by_rank(items: list[dict]) -> dict[int, dict]:
    return {int(tags(i)["gpucost:rank"]): i for i in items}


def check_cluster_user_data(items: list[dict]) -> None:
    """Every node runs the job with its rank, rank 0's address and self-termination."""
    nodes = by_rank(items)
    assert sorted(nodes) == [0, 1]
    master = nodes[0]["PrivateIpAddress"]
    for rank, item in nodes.items():
        script = user_data(item["InstanceId"])
        assert RUN in script and SETUP in script
        assert f"export NODE_RANK={rank}\n" in script
        assert "export NNODES=2\n" in script and "export GPUS_PER_NODE=8\n" in script
        assert "export MASTER_PORT=29500\n" in script
        assert "export GPUCOST_PLAN_ID=llm-pretrain-7b2aa981\n" in script
        # hard limit: 30 planned hours + 20% = 36 h; and power-off when the run exits
        assert "--on-active=129600s /bin/systemctl poweroff" in script
        assert "shutdown -h now" in script
        assert shutdown_behaviour(item["InstanceId"]) == "terminate"
    assert f"export MASTER_ADDR={master}\n" in user_data(nodes[1]["InstanceId"])
    assert "export MASTER_ADDR=\"$(hostname -I" in user_data(nodes[0]["InstanceId"])


def test_cluster_user_data_ranks_and_self_termination(aws, plan_file, run_cli):
    code, out, err = run_cli("launch", str(plan_file("plan_single_multinode.json")), "--yes",
                             "--image", IMAGE, "--run", RUN, "--setup", SETUP)
    assert code == 0, err
    check_cluster_user_data(instances())
    assert "Launched 2 instance(s)" in out


def test_rank_0_is_launched_first_and_known_to_the_others(aws, plan_file):
    sent, result = launch_capturing(aws, load_plan(plan_file("plan_single_multinode.json")))
    first, second = (base64.b64decode(p["UserData"]).decode()
                     if isinstance(p["UserData"], bytes) else p["UserData"] for p in sent)
    assert "export NODE_RANK=0" in first and "export NODE_RANK=1" in second
    rank0 = by_rank(instances())[0]["PrivateIpAddress"]
    assert f"export MASTER_ADDR={rank0}" in second and rank0 not in first


def test_efa_interfaces_in_one_placement_group(aws, plan_file):
    sent, result = launch_capturing(aws, load_plan(plan_file("plan_single_multinode.json")))
    ec2 = boto3.client("ec2", region_name=REGION)
    [group] = ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": ["gpucost-llm-pretrain-7b2aa981"]}])["SecurityGroups"]
    # the EFA rule: all traffic from and to the group itself
    assert [(p["IpProtocol"], [g["GroupId"] for g in p["UserIdGroupPairs"]])
            for p in group["IpPermissions"]] == [("-1", [group["GroupId"]])]
    assert group["GroupId"] in [g["GroupId"] for p in group["IpPermissionsEgress"]
                                for g in p["UserIdGroupPairs"]]
    assert len(sent) == 2
    for params in sent:
        assert params["Placement"] == {"GroupName": "gpucost-llm-pretrain-7b2aa981-0"}
        nics = params["NetworkInterfaces"]  # p4d.24xlarge: 4 EFA devices, one per card
        assert [(n["NetworkCardIndex"], n["DeviceIndex"], n["InterfaceType"]) for n in nics] \
            == [(0, 0, "efa"), (1, 1, "efa"), (2, 1, "efa"), (3, 1, "efa")]
        assert all(group["GroupId"] in n["Groups"] for n in nics)
        assert len({n["SubnetId"] for n in nics}) == 1
        assert "SubnetId" not in params and "SecurityGroupIds" not in params
    assert [g["GroupName"] for g in aws.pgs.created] == ["gpucost-llm-pretrain-7b2aa981-0"]


def test_non_efa_cluster_gets_group_and_placement_without_efa(aws, plan_file):
    sent = []
    aws.events.register("provide-client-params.ec2.RunInstances",
                        lambda params, **_: sent.append(dict(params)))
    plan = load_plan(plan_file("plan_single_multinode.json", {
        "allocations.0.instance_type": "g5.2xlarge", "allocations.0.gpu": "A10G",
        "allocations.0.gpu_count": 1}))  # no EFA on g5.2xlarge
    launch_plan(plan, make_backends(plan, LaunchConfig({"aws": {"image": IMAGE}})),
                echo=lambda _: None)
    assert all("NetworkInterfaces" not in p for p in sent)
    assert all(p["Placement"]["GroupName"] == f"gpucost-{plan.plan_id}-0" for p in sent)
    assert all(len(p["SecurityGroupIds"]) == 2 for p in sent)  # default + cluster group


def test_divisible_shares_and_on_exit_stop(aws, plan_file, run_cli):
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes", "--image",
                           IMAGE, "--run", "python shard.py", "--on-exit", "stop",
                           "--env", "WANDB_PROJECT=bert")
    assert code == 0, err
    shares = {}
    for item in instances():
        script = user_data(item["InstanceId"])
        assert "export NNODES=1\n" in script and "export NODE_RANK=0\n" in script
        assert "export GPUCOST_SHARES=3\n" in script and "WANDB_PROJECT=bert" in script
        share = script.split("export GPUCOST_SHARE=")[1].split("\n")[0]
        shares[share] = item
        spot = item.get("InstanceLifecycle") == "spot"  # one-time spot cannot stop
        assert shutdown_behaviour(item["InstanceId"]) == ("terminate" if spot else "stop")
    assert sorted(shares) == ["0", "1", "2"]
    assert shares["2"]["InstanceType"] == "p3.2xlarge"


def test_idempotent_relaunch_says_nothing_new(aws, plan_file, run_cli):
    plan = str(plan_file("plan_aws.json"))
    code, out, err = run_cli("launch", plan, "--yes", "--image", IMAGE, "--run", "true")
    assert code == 0, err
    assert "Launched 3 instance(s)" in out
    code, out, err = run_cli("launch", plan, "--yes", "--image", IMAGE, "--run", "true")
    assert code == 0, err
    assert "Nothing new was created" in out and "Launched" not in out
    assert len(instances()) == 3


def test_status_reports_state_exit_status_and_spend(aws, plan_file, run_cli):
    code, _, err = run_cli("launch", str(plan_file("plan_single_multinode.json")), "--yes",
                           "--image", IMAGE, "--run", RUN)
    assert code == 0, err
    nodes = by_rank(instances())
    ec2 = boto3.client("ec2", region_name=REGION)
    ec2.create_tags(Resources=[nodes[1]["InstanceId"]],  # what the wrapper writes
                    Tags=[{"Key": "gpucost:exit-status", "Value": "3"}])
    code, out, err = run_cli("status", "llm-pretrain-7b2aa981")
    assert code == 0, err
    assert "2 instance(s) of plan llm-pretrain-7b2aa981" in out
    assert "exit 3" in out and "running" in out
    assert re.search(r"Spend so far: \$0\.\d\d of the plan's \$1,966", out)  # seconds in

    # 35 hours on: past the plan's cost, not past the 36 h hard limit
    backend = make_backends(load_plan(plan_file("plan_single_multinode.json")),
                            LaunchConfig())["aws"]
    found = backend.inspect("llm-pretrain-7b2aa981", [REGION])
    launched = min(nodes[r]["LaunchTime"] for r in nodes)
    report = status_report(found, launched + timedelta(hours=35))
    assert report.spend_usd == pytest.approx(2 * 35 * 32.7726, rel=1e-3)
    assert report.plan_cost_usd == pytest.approx(1966.36)
    assert report.warnings == ["spend so far $2,294 is past the plan's cost of $1,966"]
    late = status_report(found, launched + timedelta(hours=37))
    assert any("past its hard limit of 36 h" in w for w in late.warnings)


def test_status_with_plan_file_warns_past_budget(aws, plan_file, run_cli):
    plan = str(plan_file("plan_aws.json", {"job.budget_usd": 30.0}))
    code, _, err = run_cli("launch", plan, "--yes", "--image", IMAGE, "--run", "true")
    assert code == 0, err
    code, out, err = run_cli("status", plan, "-o", "json")
    assert code == 0, err
    import json

    data = json.loads(out)
    assert data["budget_usd"] == 30.0 and len(data["instances"]) == 3
    assert all(i["uptime_hours"] is not None and i["spend_usd"] is not None
               for i in data["instances"])
    backend = make_backends(load_plan(plan), LaunchConfig())["aws"]
    found = backend.inspect("bert-ft-95f7b301", [REGION])
    launched = min(i["LaunchTime"] for i in instances())
    report = status_report(found, launched + timedelta(hours=12), budget_usd=30.0)
    assert any("past the budget of $30.00" in w for w in report.warnings)


def test_down_deletes_placement_group_and_security_group(aws, plan_file, run_cli):
    code, _, err = run_cli("launch", str(plan_file("plan_single_multinode.json")), "--yes",
                           "--image", IMAGE, "--run", RUN)
    assert code == 0, err
    code, out, err = run_cli("down", "llm-pretrain-7b2aa981")
    assert code == 0, err
    assert "Terminated 2 instance(s)" in out
    assert "deleted placement group gpucost-llm-pretrain-7b2aa981-0" in out
    assert "deleted security group" in out
    ec2 = boto3.client("ec2", region_name=REGION)
    assert ec2.describe_security_groups(Filters=[
        {"Name": "group-name", "Values": ["gpucost-llm-pretrain-7b2aa981"]}])[
        "SecurityGroups"] == []
    assert aws.pgs.groups == {}


def test_refusal_comes_before_flag_errors(plan_file, run_cli):
    code, _, err = run_cli("launch", str(plan_file("plan_infeasible.json")), "--image",
                           "ami-123")
    assert code == 1
    assert "refused" in err and "--image" not in err


@pytest.fixture
def moto_server(aws_env, monkeypatch):
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    session = boto3.Session(region_name=REGION)
    session.pgs = PlacementGroups(session)
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
    yield session
    server.stop()


def test_launch_status_down_against_moto_server(moto_server, plan_file, run_cli):
    plan = str(plan_file("plan_single_multinode.json"))
    code, _, err = run_cli("launch", plan, "--yes", "--image", IMAGE, "--run", RUN,
                           "--setup", SETUP)
    assert code == 0, err
    check_cluster_user_data(instances())
    code, out, err = run_cli("status", "llm-pretrain-7b2aa981")
    assert code == 0, err
    assert "2 instance(s) of plan llm-pretrain-7b2aa981" in out and "Spend so far" in out
    code, out, err = run_cli("down", "llm-pretrain-7b2aa981")
    assert code == 0, err
    assert "Terminated 2 instance(s)" in out and "deleted security group" in out

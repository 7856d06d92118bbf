"""The launcher against an adversary (issue 11): edited plans, wildcards, duplicate
launches, interruptions and unexpected errors; AWS through boto3 against moto."""

from __future__ import annotations

import json
import os
import signal
from datetime import UTC, datetime

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from gpucost.launcher import LaunchConfig, launch_plan, load_plan, make_backends
from gpucost.launcher.aws import AwsBackend
from gpucost.launcher.backends import LaunchError
from gpucost.launcher.state import read_state
from tests.launcher.test_aws import PlacementGroups

IMAGE = "ami-0123456789abcdef0"
REGION = "us-east-1"
PLAN_ID = "bert-ft-95f7b301"
LIVE = ("pending", "running", "stopping", "stopped")


@pytest.fixture
def aws(aws_env, monkeypatch):
    """moto, with placement groups answered at the botocore boundary (``session.pgs``):
    moto does not implement them, and ``down`` cleans them up."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.pgs = PlacementGroups(session)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        yield session


def instances(state_names=LIVE) -> list[dict]:
    ec2 = boto3.client("ec2", region_name=REGION)
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": list(state_names)}])
    return [i for p in pages for r in p["Reservations"] for i in r["Instances"]]


def run_tagged(plan_id: str, job: str, count: int = 1) -> list[str]:
    """Instances as another launch of ``plan_id`` would have left them."""
    answer = boto3.client("ec2", region_name=REGION).run_instances(
        ImageId=IMAGE, InstanceType="t3.micro", MinCount=count, MaxCount=count,
        TagSpecifications=[{"ResourceType": "instance", "Tags": [
            {"Key": "gpucost:plan-id", "Value": plan_id}, {"Key": "gpucost:job", "Value": job},
            {"Key": "gpucost:allocation", "Value": "0"}]}])
    return [i["InstanceId"] for i in answer["Instances"]]


# -- machines: plan ids are never wildcards ------------------------------------------------

@pytest.mark.parametrize("plan_id", ["*", "small-job-????????", "bert-ft-*", "bert-ft-1a2b3c4?",
                                     "a b-1a2b3c4d", "$(reboot)-1a2b3c4d"])
def test_down_and_status_refuse_anything_but_a_plan_id(aws, run_cli, plan_id):
    mine = run_tagged(PLAN_ID, "bert-ft")
    other = run_tagged("small-job-49628f6e", "small-job")
    for command in ("down", "status"):
        code, out, err = run_cli(command, plan_id, "--provider", "aws", "--region", REGION)
        assert code == 2
        assert err.startswith("gpucost: error: PLAN_ID: plan id: the form <job name>-<8 hex")
        assert len(err.strip().splitlines()) == 1
    assert sorted(i["InstanceId"] for i in instances()) == sorted(mine + other)


def test_tag_match_is_exact_not_an_ec2_wildcard(aws):
    run_tagged(PLAN_ID, "bert-ft")
    run_tagged("small-job-49628f6e", "small-job")
    backend = AwsBackend({})
    # EC2 filter values treat '*' and '?' as wildcards: only an exact tag may match.
    assert backend.find("*", [REGION]) == []
    assert backend.find("bert-ft-1a2b3c4?", [REGION]) == []
    assert [i.instance_type for i in backend.find(PLAN_ID, [REGION])] == ["t3.micro"]
    # status's listing (terminated instances too) matches exactly as well
    assert backend.inspect("*", [REGION]) == []
    assert backend.inspect("bert-ft-1a2b3c4?", [REGION]) == []
    assert [i.instance_type for i in backend.inspect(PLAN_ID, [REGION])] == ["t3.micro"]


def test_down_acts_on_one_plan_only(aws, run_cli):
    run_tagged(PLAN_ID, "bert-ft", 2)
    other = run_tagged("bert-ft-99999999", "bert-ft")
    ec2 = boto3.client("ec2", region_name=REGION)
    for plan_id in (PLAN_ID, "bert-ft-99999999"):
        ec2.create_placement_group(GroupName=f"gpucost-{plan_id}", Strategy="cluster",
                                   TagSpecifications=[{"ResourceType": "placement-group",
                                                       "Tags": [{"Key": "gpucost:plan-id",
                                                                 "Value": plan_id}]}])
    code, out, _ = run_cli("down", PLAN_ID, "--provider", "aws", "--region", REGION)
    assert code == 0 and "Terminated 2 instance(s)" in out
    assert [i["InstanceId"] for i in instances()] == other
    # the clean-up after the instances spares the other plan's placement group too
    assert f"deleted placement group gpucost-{PLAN_ID} ({REGION})" in out
    assert list(aws.pgs.groups) == ["gpucost-bert-ft-99999999"]


def test_plan_file_with_wildcard_plan_id_is_refused(aws, plan_file, run_cli):
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json", {"plan_id": "*"})), "--yes",
                           "--image", IMAGE)
    assert code == 2 and ": plan_id: the form <job name>-<8 hex digits>" in err
    assert instances() == []


# -- money: the launcher recomputes what it would create -----------------------------------

def test_plan_with_100x_instances_is_refused_even_with_force(aws, plan_file, run_cli):
    path = plan_file("plan_aws.json", {"allocations.0.instances": 200})  # was 2
    code, out, err = run_cli("launch", str(path), "--yes", "--force", "--image", IMAGE)
    assert code == 1
    assert "allocations[0]: 200 x $1.01/hour x 10 h = $2,012, but the plan says $20.12" in err
    assert "plan would create 201 instances, more than the 64" in err
    assert "--force does not override" in err
    assert instances(LIVE + ("terminated",)) == []


def test_dry_run_total_is_recomputed_not_copied(plan_file, run_cli):
    path = plan_file("plan_aws.json", {"allocations.0.instances": 20})
    code, out, err = run_cli("launch", str(path))
    assert code == 1
    assert "Total: 21 instance(s)" in out and "$208.54 expected" in out  # not the file's $27.46
    assert "totals.cost_usd says $27.46" in err


def test_consistently_edited_plan_is_capped_and_over_budget(aws, plan_file, run_cli):
    # Every figure edited to agree: the instance cap and the budget still hold.
    path = plan_file("plan_aws.json", {"allocations.0.instances": 100,
                                       "allocations.0.cost_usd": 1006.0,
                                       "totals.cost_usd": 1013.344})
    code, _, err = run_cli("launch", str(path), "--yes", "--image", IMAGE)
    assert code == 1 and "plan would create 101 instances" in err
    assert "but the plan says" not in err
    # both kinds are said, what nothing overrides first; --force does not help
    refused = [x for x in err.splitlines() if x.startswith("gpucost: refused: ")]
    assert len(refused) == 2 and "plan would create 101 instances" in refused[0]
    assert refused[1].endswith("over the job budget of $500.00 (--force would override "
                               "this one)")
    assert "gpucost: not launched (--force does not override the others)" in err
    code, _, err = run_cli("launch", str(path), "--yes", "--force", "--image", IMAGE)
    assert code == 1 and "plan would create 101 instances" in err
    assert "over the job budget" not in err
    config = path.parent / "launch.yaml"
    config.write_text("max_instances: 128\n")
    code, _, err = run_cli("launch", str(path), "--yes", "--image", IMAGE, "--config",
                           str(config))
    assert code == 1 and "plan costs $1,013, over the job budget of $500.00" in err
    assert instances(LIVE + ("terminated",)) == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"allocations.0.instances": 10**30}, "allocations[0].instances"),
    ({"allocations.0.hours": 1e30}, "allocations[0].hours"),
    ({"allocations.0.usd_per_hour": float("nan")}, "allocations[0].usd_per_hour"),
    ({"totals.cost_usd": float("nan")}, "totals.cost_usd"),
    ({"totals.cost_usd": float("inf")}, "totals.cost_usd"),
    ({"job.budget_usd": float("nan")}, "job.budget_usd"),
])
def test_non_finite_and_absurd_numbers_exit_2(plan_file, run_cli, changes, field):
    path = plan_file("plan_aws.json", changes)
    code, _, err = run_cli("launch", str(path), "--yes")
    assert code == 2 and len(err) < 250 and err.count("\n") == 1
    # NaN and Infinity are not JSON numbers: the file is refused as JSON before any field.
    non_finite = any(v != v or v in (float("inf"), float("-inf"))
                     for v in changes.values() if isinstance(v, float))
    expected = "file: valid JSON" if non_finite else f"{field}: a "
    assert err.startswith(f"gpucost: error: {path}: {expected}")


def test_bad_max_instances_in_config(plan_file, run_cli, tmp_path):
    config = tmp_path / "launch.yaml"
    config.write_text("max_instances: many\n")
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--config", str(config))
    assert code == 2 and "max_instances: a whole number >= 1" in err


# -- money: no second cluster for the same job ---------------------------------------------

def test_launch_refuses_while_another_plan_of_the_job_runs(aws, plan_file, run_cli):
    running = run_tagged("bert-ft-49628f6e", "bert-ft", 2)
    run_tagged("bert-ft-extra-0000abcd", "bert-ft-extra")  # another job: not a duplicate
    path = plan_file("plan_aws.json")
    code, _, err = run_cli("launch", str(path), "--yes", "--image", IMAGE)
    assert code == 1
    [line] = [x for x in err.splitlines() if x.startswith("gpucost: refused: ")]
    assert "job 'bert-ft' is already running: plan bert-ft-49628f6e is up with 2 " in line
    assert all(i in line for i in running) and "gpucost down bert-ft-49628f6e" in line
    assert len(instances()) == 3

    code, _, err = run_cli("launch", str(path), "--yes", "--image", IMAGE, "--force")
    assert code == 0, err
    assert len(instances()) == 6


def test_relaunching_the_same_plan_is_idempotent_not_a_duplicate(aws, plan_file, run_cli):
    # The same plan (same content, same id) again creates nothing; only *another* plan
    # of the same job is a duplicate (test_launch_refuses_while_another_plan_of_the_job_runs).
    path = plan_file("plan_aws.json")
    assert run_cli("launch", str(path), "--yes", "--image", IMAGE)[0] == 0
    code, out, _ = run_cli("launch", str(path), "--yes", "--image", IMAGE)
    assert code == 0 and "Nothing new was created" in out
    assert len(instances()) == 3


# -- money: interruptions and unexpected errors roll back ----------------------------------

def _signal_after_first_allocation(session, signum: int) -> None:
    def after(**_):
        if len(instances()) >= 2:  # allocation 0 is up, allocation 1 not yet
            os.kill(os.getpid(), signum)

    session.events.register("after-call.ec2.RunInstances", after)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_during_launch_leaves_zero_instances(aws, plan_file, run_cli, signum):
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    _signal_after_first_allocation(aws, signum)
    code, out, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes",
                             "--image", IMAGE)
    assert code == 1
    name = signal.Signals(signum).name
    assert f"allocation 0: interrupted ({name}); rolled back: terminated the 2" in err
    assert "Traceback" not in err
    assert instances() == []
    assert len(instances(("terminated",))) == 2
    record = read_state(PLAN_ID)
    assert record["status"] == "rolled back" and record["instances"] == []
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers


def test_signal_with_allow_partial_keeps_and_records(aws, plan_file, run_cli):
    _signal_after_first_allocation(aws, signal.SIGINT)
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes", "--image", IMAGE,
                           "--allow-partial")
    assert code == 1 and "kept what was created (--allow-partial)" in err
    assert f"gpucost down {PLAN_ID}" in err
    kept = sorted(i["InstanceId"] for i in instances())
    assert len(kept) == 2
    record = read_state(PLAN_ID)
    assert record["status"] == "interrupted"
    assert sorted(i["id"] for i in record["instances"]) == kept


def test_record_is_written_before_anything_is_created(aws, plan_file):
    # One RunInstances per instance (rank 0 first): the record as each call saw it.
    seen = []
    aws.events.register("before-call.ec2.RunInstances", lambda params, **_: seen.append(
        (params["body"]["InstanceType"], read_state(PLAN_ID))))
    plan = load_plan(plan_file("plan_aws.json"))
    launch_plan(plan, make_backends(plan, LaunchConfig({"aws": {"image": IMAGE}})),
                echo=lambda _: None)
    assert [kind for kind, _ in seen] == ["g5.xlarge", "g5.xlarge", "p3.2xlarge"]
    first = seen[0][1]
    assert first["status"] == "launching" and first["instances"] == []
    assert first["providers"] == {"aws": {"regions": [REGION]}}
    # allocation 0 (both its instances) is recorded before allocation 1 is asked for
    before_alloc_1 = seen[2][1]
    assert before_alloc_1["status"] == "launching"
    assert sorted(i["instance_type"] for i in before_alloc_1["instances"]) == ["g5.xlarge"] * 2
    assert read_state(PLAN_ID)["status"] == "launched"


def test_unexpected_exception_rolls_back(aws, plan_file, run_cli):
    # A non-XML answer (as from a proxy or a 5xx page) makes botocore raise
    # ResponseParserError, which is not a LaunchError.
    def garbage_for_spot(request, **_):
        body = request.body or b""
        if "InstanceType=p3.2xlarge" in (body.decode() if isinstance(body, bytes) else body):
            return AWSResponse(request.url, 200, {}, _Raw(b"<html>oops</html"))
        return None

    aws.events.register("before-send.ec2.RunInstances", garbage_for_spot)
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes", "--image", IMAGE)
    assert code == 1
    assert "allocation 1: ResponseParserError" in err and "Traceback" not in err
    # moto's own before-send handler still ran and made the p3.2xlarge whose answer came
    # back unreadable: the rollback finds it by its tags and terminates it too.
    assert "rolled back: terminated the 3 instance(s)" in err
    assert instances() == []
    assert len(instances(("terminated",))) == 3


class _Raw:
    """The raw body botocore reads from an AWSResponse."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **_):
        yield self.data


def test_api_launch_raises_launch_error_not_the_interrupt(aws, plan_file):
    _signal_after_first_allocation(aws, signal.SIGINT)
    plan = load_plan(plan_file("plan_aws.json"))
    with pytest.raises(LaunchError, match="interrupted"):
        launch_plan(plan, make_backends(plan, LaunchConfig({"aws": {"image": IMAGE}})),
                    echo=lambda _: None)
    assert instances() == []


# -- staleness: future dates, and the snapshot the plan names ------------------------------

@pytest.mark.parametrize("changes", [{"snapshot.oldest_as_of": "2099-01-01"},
                                     {"allocations.0.as_of": "2099-01-01",
                                      "allocations.1.as_of": "2099-01-01"}])
def test_future_dates_refused_even_with_force(plan_file, run_cli, changes):
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json", changes)), "--force")
    assert code == 1 and "is 2099-01-01, in the future" in err


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def _snapshot(tmp_path, today: str, price: float) -> str:
    folder = tmp_path / "snap" / "aws"
    folder.mkdir(parents=True)
    path = folder / f"{today}.csv"
    path.write_text(
        "provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
        "pricing,usd_per_hour,stale,as_of,source\n"
        f"aws,us-east-1,,g5.xlarge,A10G,1,24,4,16,on_demand,{price},False,{today},test\n"
        f"aws,us-east-1,,p3.2xlarge,V100-16GB,1,16,8,61,spot,0.918,False,{today},test\n")
    return str(path)


@pytest.mark.parametrize(("snapshot_price", "as_of_edit", "why"), [
    (1.006, None, None),
    (0.5, None, "priced at 1.006 $/hour, but the snapshot"),
    (1.006, "2026-01-01", "as_of 2026-01-01, but the snapshot"),
])
def test_plan_prices_checked_against_their_snapshot(tmp_path, plan_file, run_cli,
                                                    snapshot_price, as_of_edit, why):
    path = _snapshot(tmp_path, today(), snapshot_price)
    changes = {"snapshot.files": [{"provider": "aws", "path": path, "date": today()}],
               "allocations.0.as_of": as_of_edit or today(), "allocations.1.as_of": today()}
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json", changes)), "--force")
    if why is None:
        assert code == 0, err
    else:
        assert code == 1 and why in err


def test_plan_id_form_matches_planner(plan_file):
    data = json.loads(plan_file("plan_aws.json").read_text())
    assert load_plan(plan_file("plan_aws.json")).plan_id == data["plan_id"]


def test_suggested_commands_are_shell_quoted(aws, plan_file, run_cli):
    # A tag value is not ours to trust: someone may have tagged an instance by hand.
    run_tagged("x; rm -rf ~", "bert-ft")
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes", "--image", IMAGE)
    assert code == 1
    assert "`gpucost down 'x; rm -rf ~'` to stop it" in err


def test_signal_between_two_allocations_rolls_back(aws, plan_file):
    def echo(line: str) -> None:  # the signal lands outside any cloud call
        if line.startswith("[0] launched"):
            os.kill(os.getpid(), signal.SIGTERM)

    plan = load_plan(plan_file("plan_aws.json"))
    with pytest.raises(LaunchError, match=r"allocation 0: interrupted \(SIGTERM\); rolled back"):
        launch_plan(plan, make_backends(plan, LaunchConfig({"aws": {"image": IMAGE}})),
                    echo=echo)
    assert instances() == []
    assert read_state(PLAN_ID)["status"] == "rolled back"


# -- the scenario: Ctrl-C from outside, at an arbitrary moment of `launch --yes` ---

CHILD = """
import sys
import boto3
from moto import mock_aws
from gpucost.cli import main

with mock_aws():
    try:
        main(["launch", sys.argv[1], "--yes", "--image", "ami-0123456789abcdef0"])
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        code = "KeyboardInterrupt escaped"
    ec2 = boto3.client("ec2", region_name="us-east-1")
    live = [i for r in ec2.describe_instances(Filters=[{"Name": "instance-state-name",
            "Values": ["pending", "running", "stopping", "stopped"]}])["Reservations"]
            for i in r["Instances"]]
    print("RESULT", code, len(live), flush=True)
"""


def test_sigint_from_another_process_mid_launch_leaves_zero_instances(tmp_path, aws_env):
    import subprocess
    import sys

    allocs = [{"run": "", "provider": "aws", "region": REGION, "zone": "",
               "instance_type": "g5.xlarge", "gpu": "A10G", "gpu_count": 1,
               "pricing": "on_demand", "instances": 1, "hours": 1.0, "usd_per_hour": 1.0,
               "cost_usd": 1.0, "precision_used": "bf16"} for _ in range(30)]
    plan = {"plan_version": 1, "plan_id": "many-1b742459", "status": "optimal",
            "job": {"name": "many", "mode": "divisible", "budget_usd": None},
            "allocations": allocs, "totals": {"cost_usd": 30.0},
            "snapshot": {"files": [], "oldest_as_of": today()}}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    child = subprocess.Popen([sys.executable, "-u", "-c", CHILD, str(path)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "GPUCOST_STATE_DIR": str(tmp_path / "state")})
    try:
        for line in child.stdout:
            if line.startswith("[0] launched"):
                child.send_signal(signal.SIGINT)
                break
        out, err = child.communicate(timeout=60)
    finally:
        child.kill()
    assert "RESULT 1 0" in out, (out, err)
    assert "interrupted (SIGINT); rolled back: terminated the" in err
    assert "Traceback" not in err

"""Issue 19, part A: the launcher's third adversarial round (machines left billing, plan
files that poison a launch). Each test goes through the CLI; AWS against moto with
ClientToken honoured (:func:`honour_client_tokens`), GCP through the real client over
``responses``."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from moto import mock_aws

from tests.launcher.test_aws import PlacementGroups

IMAGE = "ami-0123456789abcdef0"
REGION = "us-east-1"
LIVE = ("pending", "running", "stopping", "stopped", "shutting-down")


def honour_client_tokens(session: boto3.Session) -> dict[str, list[str]]:
    """Make moto answer a repeated ``RunInstances`` ClientToken as EC2 does: with the
    instances of the first request (whatever their state now), creating nothing.
    Returns token -> instance ids."""
    seen: dict[str, list[str]] = {}
    asked: list[str] = []  # the token of the call under way (one at a time)

    def before(params, **_):
        token = params["body"].get("ClientToken")
        if token not in seen:
            asked[:] = [token] if token else []
            return None
        ec2 = boto3.client("ec2", region_name=REGION)
        items = [i for r in ec2.describe_instances(InstanceIds=seen[token])["Reservations"]
                 for i in r["Instances"]]
        return (AWSResponse(f"https://ec2.{REGION}.amazonaws.com/", 200, {}, None),
                {"ReservationId": "r-same", "Instances": items})

    def after(parsed, **_):
        if asked and parsed.get("Instances"):
            seen[asked.pop()] = [i["InstanceId"] for i in parsed["Instances"]]

    session.events.register("before-call.ec2.RunInstances", before)
    session.events.register("after-call.ec2.RunInstances", after)
    return seen


@pytest.fixture
def aws(aws_env, monkeypatch):
    """moto for AWS, ClientToken honoured, placement groups answered at the boundary."""
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.pgs = PlacementGroups(session)
        session.tokens = honour_client_tokens(session)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        yield session


def instances(state_names=LIVE) -> list[dict]:
    ec2 = boto3.client("ec2", region_name=REGION)
    pages = ec2.get_paginator("describe_instances").paginate(
        Filters=[{"Name": "instance-state-name", "Values": list(state_names)}])
    return [i for p in pages for r in p["Reservations"] for i in r["Instances"]]


def one_error_line(code: int, out: str, err: str, status: int = 2) -> str:
    assert code == status, (out, err)
    assert out == "" and err.count("\n") == 1 and "Traceback" not in err, err
    return err


# -- item 17: non-finite and implausible hard limits ----------------------------------------

@pytest.mark.parametrize("value", ["nan", "inf", "1e-9", "-inf", "1e9"])
@pytest.mark.parametrize("yes", [False, True])
def test_hard_limit_flag_must_be_finite_and_plausible(aws, plan_file, run_cli, value, yes):
    args = ["launch", str(plan_file("plan_aws.json")), "--image", IMAGE,
            "--hard-limit-hours", value] + (["--yes"] if yes else [])
    code, out, err = run_cli(*args)
    assert code == 2, (out, err)
    assert "Traceback" not in err and err.count("\n") <= 2
    assert "hard limit nan" not in out and "ValueError" not in err
    assert instances() == []


@pytest.mark.parametrize("value", [".nan", ".inf", "1.0e-9", "0"])
def test_hard_limit_in_config_must_be_finite_and_plausible(plan_file, run_cli, tmp_path,
                                                           value):
    config = tmp_path / "launch.yaml"
    config.write_text(f"job:\n  hard_limit_hours: {value}\n")
    err = one_error_line(*run_cli("launch", str(plan_file("plan_aws.json")), "--config",
                                  str(config)))
    assert f"{config}: job.hard_limit_hours: a number of hours from 0.25 to 2880" in err


# -- item 18: environment names bash keeps ---------------------------------------------------

@pytest.mark.parametrize("spec", ["café=1", "1ABC=x", "A-B=1", "=1", "ÄRGER=1"])
def test_env_names_are_what_bash_accepts(plan_file, run_cli, spec):
    err = one_error_line(*run_cli("launch", str(plan_file("plan_aws.json")), "--image", IMAGE,
                                  "--env", spec))
    assert "--env" in err and "letters, digits and '_'" in err


def test_env_names_in_config_are_what_bash_accepts(plan_file, run_cli, tmp_path):
    config = tmp_path / "launch.yaml"
    config.write_text("job:\n  envs: {café: 1}\n")
    err = one_error_line(*run_cli("launch", str(plan_file("plan_aws.json")), "--config",
                                  str(config)))
    assert "job.envs" in err


def test_ordinary_env_names_still_pass(plan_file, run_cli):
    code, out, err = run_cli("launch", str(plan_file("plan_aws.json")), "--image", IMAGE,
                             "--env", "_A1=x=y", "--env", "WANDB_PROJECT=llm")
    assert code == 0, err
    assert "DRY RUN" in out


# -- item 10: an empty plan is refused even with --force -------------------------------------

def test_force_of_an_empty_infeasible_plan_is_refused(aws, plan_file, run_cli, sandbox):
    code, out, err = run_cli("launch", str(plan_file("plan_infeasible.json")), "--yes",
                             "--force")
    assert code == 1, (out, err)
    assert "plan has no allocations: nothing to launch" in err
    assert "--force does not override" in err
    assert "already runs all 0 instance(s)" not in out
    assert not (sandbox / "state").exists() or list((sandbox / "state").iterdir()) == []


# -- item 9: no control characters in any printed plan field ---------------------------------

FORGED = "lr\x1b[2J\x1b[H\nTotal: 0 instance(s), $0.00 expected"


@pytest.mark.parametrize(("field", "value"), [
    ("allocations.0.run", FORGED),
    ("allocations.0.run", "\x1b]0;owned\x07"),
    ("allocations.0.precision_used", "bf16\x1b[31m"),
    ("allocations.0.instance_type", "g5.xlarge" + "x" * 10_000),
])
@pytest.mark.parametrize("command", ["launch", "export"])
def test_printed_plan_fields_are_printable(plan_file, run_cli, field, value, command):
    path = plan_file("plan_aws.json", {field: value})
    err = one_error_line(*run_cli(command, str(path)))
    name = field.replace("allocations.0", "allocations[0]")
    assert f"{path}: {name}: a " in err and "printable" in err
    assert "\x1b" not in err and len(err) < 400


def test_plan_json_text_is_not_echoed(plan_file, run_cli):
    path = plan_file("plan_aws.json", {"allocations.0.run": "ok-run"})
    code, out, err = run_cli("launch", str(path))
    assert code == 0, err
    assert "for run ok-run" in out and json.dumps(FORGED) not in out


# -- item 8: the plan id is recomputed from the contents ------------------------------------

def test_edited_gpu_count_under_the_old_id_is_refused(aws, plan_file, run_cli):
    path = plan_file("plan_single_multinode.json", {"allocations.0.gpu_count": 1},
                     rehash=False)
    code, out, err = run_cli("launch", str(path), "--yes", "--force", "--image", IMAGE)
    assert code == 1, (out, err)
    assert "plan_id is llm-pretrain-7b2aa981, but the plan's contents" in err
    assert "--force does not override" in err
    assert instances(LIVE + ("terminated",)) == []
    code, out, err = run_cli("launch", str(path))  # the dry run says so too
    assert code == 1 and "plan_id is llm-pretrain-7b2aa981" in err
    err = one_error_line(*run_cli("export", str(path)))
    assert f"{path}: plan_id: the id of the plan's contents" in err


def test_an_unedited_plan_passes_the_id_check(aws, plan_file, run_cli):
    code, out, err = run_cli("launch", str(plan_file("plan_single_multinode.json")))
    assert code == 0, err
    assert "plan_id is" not in err


def _copy_snapshot(folder, price_edit: tuple[str, str] | None = None):
    """The shipped AWS snapshot copied to ``folder/aws`` (optionally one price edited)."""
    from pathlib import Path

    shipped = Path(__file__).parents[2] / "pricing_snapshots" / "aws"
    source = sorted(shipped.glob("????-??-??.csv"))[-1]  # prices, not interruption bands
    text = source.read_text()
    if price_edit:
        text = text.replace(*price_edit)
    (folder / "aws").mkdir(parents=True, exist_ok=True)
    (folder / "aws" / source.name).write_text(text)
    return folder / "aws" / source.name


def _plan_from(tmp_path, monkeypatch, run_cli):
    """`gpucost plan` run in tmp_path on the relative snapshot folder ``snap``."""
    from pathlib import Path

    job = Path(__file__).parents[2] / "examples" / "finetune-13b.yaml"
    _copy_snapshot(tmp_path / "snap")
    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli("plan", str(job), "--snapshot", "snap", "-o", "json")
    assert code == 0, err
    (tmp_path / "plan.json").write_text(out)
    return json.loads(out)


def test_plan_records_absolute_snapshot_paths(tmp_path, monkeypatch, run_cli):
    from pathlib import Path

    data = _plan_from(tmp_path, monkeypatch, run_cli)
    [aws_file] = [f for f in data["snapshot"]["files"] if f["provider"] == "aws"]
    assert Path(aws_file["path"]).is_absolute()
    assert Path(aws_file["path"]) == (tmp_path / "snap" / "aws").resolve() / Path(
        aws_file["path"]).name


def test_price_check_runs_from_any_folder(tmp_path, monkeypatch, run_cli):
    data = _plan_from(tmp_path, monkeypatch, run_cli)
    alloc = data["allocations"][0]
    snapshot = tmp_path / "snap" / "aws"
    [csv] = list(snapshot.glob("*.csv"))
    # The snapshot it was planned from now says another price for the planned offer: the
    # launch must notice from any folder.
    lines = csv.read_text().splitlines()
    half = f",{alloc['usd_per_hour'] / 2:.4f},"
    edited = [line.replace(f",{alloc['usd_per_hour']:g},", half, 1)
              if f",{alloc['instance_type']}," in line and f",{alloc['pricing']}," in line
              and line.startswith(f"aws,{alloc['region']},") else line for line in lines]
    assert edited != lines
    csv.write_text("\n".join(edited) + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = run_cli("launch", str(tmp_path / "plan.json"), "--force")
    assert code == 1, (out, err)
    assert f"priced at {alloc['usd_per_hour']:g} $/hour, but the snapshot" in err


def test_a_check_that_cannot_run_is_said(aws, plan_file, run_cli, tmp_path):
    relative = plan_file("plan_aws.json", {"snapshot.files": [
        {"provider": "aws", "path": "snap/aws/2026-11-24.csv", "date": "2026-11-24"}]})
    code, out, err = run_cli("launch", str(relative), "--image", IMAGE)
    assert code == 0, err
    assert ("allocations[0] (aws us-east-1 g5.xlarge on_demand): price not checked against "
            "its snapshot: the plan records the relative path snap/aws/2026-11-24.csv") in err
    missing = plan_file("plan_aws.json", {"snapshot.files": [
        {"provider": "aws", "path": str(tmp_path / "gone.csv"), "date": "2026-11-24"}]})
    code, out, err = run_cli("launch", str(missing), "--image", IMAGE)
    assert code == 0, err
    assert f"price not checked against its snapshot: {tmp_path / 'gone.csv'} is not on this " \
           "machine" in err


def test_gpu_and_gpu_count_are_compared_with_the_snapshot(plan_file, run_cli, tmp_path):
    from tests.launcher.conftest import today

    csv = tmp_path / "aws.csv"
    csv.write_text(
        "provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
        "pricing,usd_per_hour,stale,as_of,source\n"
        f"aws,us-east-1,,g5.xlarge,A10G,1,24,4,16,on_demand,1.006,False,{today()},test\n"
        f"aws,us-east-1,,p3.2xlarge,V100-16GB,1,16,8,61,spot,0.918,False,{today()},test\n")
    path = plan_file("plan_aws.json", {
        "snapshot.files": [{"provider": "aws", "path": str(csv), "date": today()}],
        "allocations.0.gpu_count": 8, "allocations.0.as_of": today(),
        "allocations.1.as_of": today()})
    code, out, err = run_cli("launch", str(path), "--force")
    assert code == 1, (out, err)
    assert "8 x A10G per instance, but the snapshot" in err and "says 1 x A10G" in err


# -- item 1: a stopped instance is not a running one -------------------------------------------

def test_relaunch_over_stopped_instances_is_refused_naming_them(aws, plan_file, run_cli):
    path = plan_file("plan_aws.json")
    code, out, err = run_cli("launch", str(path), "--yes", "--image", IMAGE,
                             "--on-exit", "stop")
    assert code == 0, err
    ec2 = boto3.client("ec2", region_name=REGION)
    first = [i["InstanceId"] for i in instances(("pending", "running"))]
    assert len(first) == 3
    g5 = [i["InstanceId"] for i in instances(("pending", "running"))
          if i["InstanceType"] == "g5.xlarge"]
    ec2.stop_instances(InstanceIds=g5)  # the run exited; on_exit stop powered them off
    code, out, err = run_cli("launch", str(path), "--yes", "--image", IMAGE,
                             "--on-exit", "stop")
    assert code == 1, (out, err)
    assert "already runs all" not in out
    assert "exist but are stopped" in err and all(i in err for i in g5)
    # nothing of the earlier launch was destroyed by this refusal, nothing new was made
    assert sorted(i["InstanceId"] for i in instances()) == sorted(first)

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

    def before(params, **_):
        token = params["body"].get("ClientToken")
        if token not in seen:
            return None
        ec2 = boto3.client("ec2", region_name=REGION)
        items = [i for r in ec2.describe_instances(InstanceIds=seen[token])["Reservations"]
                 for i in r["Instances"]]
        return (AWSResponse(f"https://ec2.{REGION}.amazonaws.com/", 200, {}, None),
                {"ReservationId": "r-same", "Instances": items})

    def after(params, parsed, **_):
        token = params["body"].get("ClientToken")
        if token and token not in seen and parsed.get("Instances"):
            seen[token] = [i["InstanceId"] for i in parsed["Instances"]]

    session.events.register("before-call.ec2.RunInstances", before)
    session.events.register("after-call.ec2.RunInstances",
                            lambda http_response, parsed, model, **kw: after(
                                kw.get("params", {}), parsed))
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

"""The launch config file, flags overriding it, and errors in either."""

from __future__ import annotations

from pathlib import Path

import boto3
import yaml
from moto import mock_aws

from gpucost.launcher.config import default_config_path

CONFIG = {"aws": {"key_name": "team-key", "subnet_id": "subnet-file",
                  "regions": {"us-east-1": {"image": "ami-0eastonly00000000"}}},
          "gcp": {"project": "proj-from-file"}}


def write_config(path, data=CONFIG):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data))
    return path


def test_config_file_and_flags_in_dry_run(tmp_path, plan_file, run_cli):
    config = write_config(tmp_path / "launch.yaml")
    code, out, _ = run_cli("launch", str(plan_file("plan_aws.json")), "--config", str(config),
                           "--key-name", "flag-key")
    assert code == 0
    assert "image: ami-0eastonly00000000" in out  # per-region override
    assert "key_name: flag-key" in out and "team-key" not in out  # flag wins
    assert "subnet_id: subnet-file" in out


def test_default_config_location_is_used(sandbox, plan_file, run_cli):
    assert str(default_config_path()).startswith(str(sandbox))
    write_config(default_config_path())
    code, out, _ = run_cli("launch", str(plan_file("plan_aws.json")))
    assert code == 0 and "key_name: team-key" in out


def test_config_errors_exit_2(tmp_path, plan_file, run_cli):
    plan = str(plan_file("plan_aws.json"))
    bad = write_config(tmp_path / "bad.yaml", {"aws": {"keyname": "x"}})
    code, _, err = run_cli("launch", plan, "--config", str(bad))
    assert code == 2 and f"{bad}: aws.keyname: one of image, key_name" in err
    code, _, err = run_cli("launch", plan, "--config", str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml: file: an existing launch config" in err
    code, _, err = run_cli("launch", plan, "--image", "azure=img")
    assert code == 2 and "--image: azure=img: [PROVIDER=]IMAGE" in err


def test_config_reaches_run_instances(aws_env, tmp_path, plan_file, run_cli):
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24",
                                   AvailabilityZone="us-east-1c")["Subnet"]["SubnetId"]
        group = ec2.create_security_group(GroupName="g", Description="d", VpcId=vpc)["GroupId"]
        config = write_config(tmp_path / "c.yaml", {"aws": {
            "image": "ami-0123456789abcdef0", "key_name": "team-key", "subnet_id": subnet,
            "security_group_ids": group}})
        code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes",
                               "--config", str(config))
        assert code == 0, err
        items = [i for r in ec2.describe_instances()["Reservations"] for i in r["Instances"]]
        assert len(items) == 3
        for item in items:
            assert item["SubnetId"] == subnet and item["KeyName"] == "team-key"
            assert [g["GroupId"] for g in item["SecurityGroups"]] == [group]
            assert item["Placement"]["AvailabilityZone"] == "us-east-1c"  # the subnet's


def test_no_aws_credentials_is_one_line(monkeypatch, plan_file, run_cli, no_aws_credentials):
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)
    code, _, err = run_cli("launch", str(plan_file("plan_aws.json")), "--yes",
                           "--image", "ami-0123456789abcdef0", "--run", "true")
    assert code == 1
    # The first cloud call is the check for running instances of the same job.
    assert err.strip().splitlines()[0].startswith("gpucost: error: cannot check whether job "
                                                  "'bert-ft' is already running (aws us-east-1")
    assert len(err.strip().splitlines()) == 1
    assert "Unable to locate credentials" in err and "Traceback" not in err


def test_job_section_errors_exit_2(tmp_path, plan_file, run_cli):
    plan = str(plan_file("plan_aws.json"))
    bad = write_config(tmp_path / "job.yaml", {"job": {"on_exit": "sometimes"}})
    code, _, err = run_cli("launch", plan, "--config", str(bad))
    assert code == 2 and f"{bad}: job.on_exit: one of terminate, stop, keep" in err
    bad = write_config(tmp_path / "job2.yaml", {"job": {"run": ["python", "x.py"]}})
    code, _, err = run_cli("launch", plan, "--config", str(bad))
    assert code == 2 and "job.run: a shell command string" in err
    bad = write_config(tmp_path / "gcp.yaml", {"gcp": {"gpu_networks": "net-1"}})
    code, _, err = run_cli("launch", plan, "--config", str(bad))
    assert code == 2 and "gcp.gpu_networks: a list of subnetworks" in err
    code, _, err = run_cli("launch", plan, "--env", "1BAD=x")
    assert code == 2 and "--env: 1BAD=x: NAME=VALUE" in err
    code, _, err = run_cli("launch", plan, "--container", "pytorch:24.05")
    assert code == 2 and "job.container: a run command to run in the container" in err


def test_job_section_and_flags_in_dry_run(tmp_path, plan_file, run_cli):
    config = write_config(tmp_path / "launch.yaml", {"job": {
        "setup": "pip install -e .", "run": "python train.py", "hard_limit_hours": 3}})
    code, out, err = run_cli("launch", str(plan_file("plan_aws.json")), "--config",
                             str(config), "--run", "python train.py --fast")
    assert code == 0, err
    assert "Every instance run: python train.py --fast" in out  # the flag wins
    assert "Every instance setup: pip install -e ." in out
    assert "hard limit 3 h" in out and "no run command" not in err
    code, out, err = run_cli("launch", str(plan_file("plan_aws.json")))
    assert "no run command" in err and "hard limit 12 h" in out  # 10 h planned + 20%


def test_shipped_example_launch_config_is_valid(plan_file, run_cli):
    example = Path(__file__).parents[2] / "examples" / "launch.yaml"
    code, out, err = run_cli("launch", str(plan_file("plan_aws.json")), "--config",
                             str(example))
    assert code == 0, err
    assert "Every instance run: torchrun --nnodes $NNODES" in out and "no run command" not in err

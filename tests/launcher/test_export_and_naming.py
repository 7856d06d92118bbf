"""SkyPilot export, GCE names / labels, and the GCP accelerator mapping."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from gpucost.catalog.instance_types import split_instance_type
from gpucost.launcher import load_plan
from gpucost.launcher.gcp_names import accelerator_type
from gpucost.launcher.naming import client_token, gce_name, label_value

GCE_NAME = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")


def test_export_skypilot_to_file(plan_file, run_cli, tmp_path):
    out_file = tmp_path / "task.yaml"
    code, _, err = run_cli("export", str(plan_file("plan_aws.json")), "--format", "skypilot",
                           "-o", str(out_file), "--setup", "pip install -e .",
                           "--run", "python shard.py --index $GPUCOST_SHARE")
    assert code == 0 and "Wrote 2 SkyPilot task(s)" in err
    first, second = yaml.safe_load_all(out_file.read_text())
    assert first["name"] == "bert-ft-95f7b301-0" and first["num_nodes"] == 2
    assert first["resources"] == {
        "cloud": "aws", "region": "us-east-1", "zone": "us-east-1a",
        "instance_type": "g5.xlarge", "accelerators": "A10G:1", "use_spot": False,
        "autostop": {"idle_minutes": 5, "down": True}}
    assert first["setup"] == "pip install -e ."
    assert first["run"].endswith(
        f"bash -c {shlex.quote('python shard.py --index $GPUCOST_SHARE')}\n")
    # divisible: every node works alone on its share, numbered across the plan
    assert "export NODE_RANK=0 NNODES=1 " in first["run"]
    assert "GPUCOST_SHARE=$((GPUCOST_SHARE_BASE + SKYPILOT_NODE_RANK))" in first["run"]
    assert first["envs"]["GPUCOST_PLAN_ID"] == "bert-ft-95f7b301"
    assert (first["envs"]["GPUCOST_SHARE_BASE"], second["envs"]["GPUCOST_SHARE_BASE"]) == (
        "0", "2")
    assert first["envs"]["GPUCOST_SHARES"] == "3"
    assert second["resources"]["accelerators"] == "V100:1"  # SkyPilot spells V100-16GB "V100"
    assert second["resources"]["use_spot"] is True and "zone" not in second["resources"]
    assert second["num_nodes"] == 1


def test_export_multinode_run_from_config_and_infra(plan_file, run_cli, tmp_path):
    config = tmp_path / "launch.yaml"
    config.write_text(yaml.safe_dump({"job": {
        "setup": "pip install -r requirements.txt", "run": "torchrun train.py",
        "container": "nvcr.io/nvidia/pytorch:24.05-py3", "envs": {"WANDB_PROJECT": "llm"}}}))
    code, out, err = run_cli("export", str(plan_file("plan_single_multinode.json")),
                             "--config", str(config), "--infra")
    assert code == 0, err
    [task] = yaml.safe_load_all(out)
    assert task["num_nodes"] == 2 and task["setup"] == "pip install -r requirements.txt"
    assert task["resources"]["infra"] == "aws/us-east-1/us-east-1b"
    assert "cloud" not in task["resources"]  # SkyPilot refuses both forms
    assert task["resources"]["image_id"] == "docker:nvcr.io/nvidia/pytorch:24.05-py3"
    assert 'export NODE_RANK="$SKYPILOT_NODE_RANK"' in task["run"]
    assert 'MASTER_ADDR="$(echo "$SKYPILOT_NODE_IPS" | head -n1)"' in task["run"]
    assert task["run"].endswith("bash -c 'torchrun train.py'\n")
    assert task["envs"]["WANDB_PROJECT"] == "llm" and task["envs"]["MASTER_PORT"] == "29500"


EVIL = "x\nnum_nodes: 99\n---\nname: injected"


# Printable but YAML-hostile: what plan files still accept in names and regions (they
# refuse EVIL's newlines there at load: test_plan_text_fields_with_newlines_are_refused).
PRINTABLE_EVIL = "x: 1 # num_nodes: 99 --- &a *a !!python/object 'q\" {y}"


def test_plan_text_fields_with_newlines_are_refused(plan_file, run_cli):
    for field in ("job.name", "allocations.0.region"):
        path = plan_file("plan_single_multinode.json", {field: EVIL})
        code, out, err = run_cli("export", str(path))
        assert code == 2 and out == "" and "printable" in err
        assert len(err.strip().splitlines()) == 1


def test_export_values_cannot_inject_yaml(plan_file, run_cli):
    # Every field the plan file still accepts carries YAML-hostile text (printable: a
    # plan's text fields may not hold newlines), and the flags (which may be multi-line
    # shell) carry the newline-laden one.
    path = plan_file("plan_single_multinode.json", {
        "job.name": PRINTABLE_EVIL, "allocations.0.region": PRINTABLE_EVIL,
        "allocations.0.run": PRINTABLE_EVIL})
    code, out, err = run_cli("export", str(path), "--run", EVIL, "--setup", EVIL,
                             "--env", f"NOTE={EVIL}")
    assert code == 0, err
    [task] = yaml.safe_load_all(out)  # still one document
    assert task["num_nodes"] == 2 and task["name"] == f"{task['envs']['GPUCOST_PLAN_ID']}-0"
    assert task["resources"]["region"] == PRINTABLE_EVIL
    assert task["setup"] == EVIL and task["run"].endswith(f"bash -c {shlex.quote(EVIL)}\n")
    assert task["envs"]["NOTE"] == EVIL and task["envs"]["GPUCOST_RUN"] == PRINTABLE_EVIL
    code, out, err = run_cli("export", str(path), "--infra")
    assert code == 0, err
    [task] = yaml.safe_load_all(out)
    assert task["resources"]["infra"] == f"aws/{PRINTABLE_EVIL}/us-east-1b"


def test_export_refuses_a_hostile_plan_id(plan_file, run_cli):
    # The plan id names every task: it must have the form `gpucost plan` gives ids.
    path = plan_file("plan_single_multinode.json", {"plan_id": EVIL + "-9f8e7d6c"})
    code, out, err = run_cli("export", str(path))
    assert code == 2 and out == ""
    assert f"{path}: plan_id: " in err  # refused: not printable text, and not an id
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_export_gcp_to_stdout_splits_attached_gpus(plan_file, run_cli):
    code, out, _ = run_cli("export", str(plan_file("plan_gcp.json")))
    assert code == 0
    t4, a100 = yaml.safe_load_all(out)
    assert t4["resources"] == {"cloud": "gcp", "region": "us-central1", "zone": "us-central1-b",
                               "instance_type": "n1-standard-8", "accelerators": "T4:1",
                               "use_spot": True, "autostop": {"idle_minutes": 5, "down": True}}
    assert t4["envs"]["GPUCOST_RUN"] == "lr-1e-4"
    assert t4["num_nodes"] == 2 and "SKYPILOT_NODE_RANK" in t4["run"]  # one run, 2 nodes
    assert a100["resources"]["accelerators"] == "A100:1"
    assert a100["resources"]["instance_type"] == "a2-highgpu-1g"


def test_export_multinode_and_infeasible(plan_file, run_cli):
    code, out, _ = run_cli("export", str(plan_file("plan_single_multinode.json")))
    [task] = yaml.safe_load_all(out)
    assert task["num_nodes"] == 2 and task["resources"]["accelerators"] == "A100:8"
    code, _, err = run_cli("export", str(plan_file("plan_infeasible.json")))
    assert code == 2 and "allocations: at least one allocation" in err


@pytest.mark.parametrize(("text", "expected"), [
    ("n1-standard-8+1xT4", ("n1-standard-8", 1, "T4")),
    ("n1-highmem-16+4xV100-16GB", ("n1-highmem-16", 4, "V100-16GB")),
    ("a2-highgpu-1g", ("a2-highgpu-1g", 0, None)),
])
def test_split_instance_type(text, expected):
    assert split_instance_type(text) == expected


@pytest.mark.parametrize(("gpu", "gce"), [
    ("T4", "nvidia-tesla-t4"), ("V100-16GB", "nvidia-tesla-v100"), ("L4", "nvidia-l4"),
    ("A100-40GB", "nvidia-tesla-a100"), ("A100-80GB", "nvidia-a100-80gb"),
    ("H100", "nvidia-h100-80gb"),
])
def test_accelerator_type_is_first_nvidia_alias(gpu, gce):
    assert accelerator_type(gpu) == gce


@pytest.mark.parametrize("plan_id", [
    "bert-ft-95f7b301", "Sweep_LR-bd769820", "9lives-00aa11bb",
    "a" * 80 + "-deadbeef", "Ünïcode job.v2-12345678",
])
def test_gce_names_are_valid_and_keep_the_hash(plan_id):
    name = gce_name(plan_id, 3, 12)
    assert GCE_NAME.match(name), name
    assert name.endswith(f"{plan_id[-8:].lower()}-3-12")
    assert gce_name(plan_id, 3, 11) != name


def test_label_values_and_tokens(plan_file):
    assert label_value("Sweep_LR-bd769820") == "sweep_lr-bd769820"
    plan = load_plan(plan_file("plan_aws.json"))
    assert client_token(plan.plan_id, 0) == client_token(plan.plan_id, 0)
    assert client_token(plan.plan_id, 0, 1) != client_token(plan.plan_id, 0)


# -- issue 20 item 8: no run command warns; the hard limit and auto-stop carry over ------

def test_export_without_run_command_warns_once(plan_file, run_cli):
    code, out, err = run_cli("export", str(plan_file("plan_aws.json")))
    assert code == 0
    assert [line for line in err.splitlines() if "no run command" in line] == [
        "gpucost: warning: no run command (job.run in the launch config, or --run): "
        "the exported tasks only echo that none was given"]
    code, _, err = run_cli("export", str(plan_file("plan_aws.json")), "--run", "true")
    assert code == 0 and "no run command" not in err


def test_export_carries_hard_limit_and_autostop(plan_file, run_cli, tmp_path):
    # plan_aws: allocation 0 is planned for 10 h, so its default limit is 12 h = 43200 s
    code, out, _ = run_cli("export", str(plan_file("plan_aws.json")), "--run", "echo hi")
    first, _second = yaml.safe_load_all(out)
    assert first["run"].endswith("timeout --kill-after=60 43200 bash -c 'echo hi'\n")
    assert first["resources"]["autostop"] == {"idle_minutes": 5, "down": True}
    config = tmp_path / "launch.yaml"
    config.write_text("job:\n  on_exit: stop\n  hard_limit_hours: 0.5\n")
    code, out, _ = run_cli("export", str(plan_file("plan_aws.json")), "--run", "echo hi",
                           "--config", str(config))
    first, _second = yaml.safe_load_all(out)
    assert " 1800 bash -c 'echo hi'\n" in first["run"]
    assert first["resources"]["autostop"] == {"idle_minutes": 5, "down": False}
    code, out, _ = run_cli("export", str(plan_file("plan_aws.json")), "--managed")
    assert all("autostop" not in t["resources"] for t in yaml.safe_load_all(out))


def test_exported_run_runs_under_bash(plan_file, run_cli, tmp_path):
    """The run script, executed as SkyPilot would (its variables set), runs the command."""
    import os
    import subprocess

    code, out, _ = run_cli("export", str(plan_file("plan_aws.json")), "--run",
                           'echo "share=$GPUCOST_SHARE rank=$NODE_RANK"')
    first, _ = yaml.safe_load_all(out)
    env = {**os.environ, **first["envs"], "SKYPILOT_NODE_RANK": "1",
           "SKYPILOT_NUM_GPUS_PER_NODE": "1"}
    done = subprocess.run(["bash", "-c", first["run"]], env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "share=1 rank=0"

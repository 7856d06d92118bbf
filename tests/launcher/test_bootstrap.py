"""The boot script as bash sees it: valid syntax, files written verbatim whatever the
command contains, variables that survive `source` exactly. Only the file-writing lines and
the env file are executed (into tmp_path): never the hard-limit timer or the job."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from gpucost.launcher import load_plan
from gpucost.launcher.bootstrap import JobSettings, boot_script, environment, job_script

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")

NASTY = "python train.py --msg \"it's $HOME\" `date`\necho 'two lines'; exit 3 # }"


def bash(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10,
                          check=False)


def test_scripts_are_valid_bash(plan_file):
    plan = load_plan(plan_file("plan_single_multinode.json"))
    job = JobSettings(setup=NASTY, run=NASTY, container="nvcr.io/nvidia/pytorch:24.05-py3",
                      envs={"NOTE": NASTY}, on_exit="stop")
    for provider in ("aws", "gcp"):
        for rank, master in ((0, ""), (1, "10.0.0.5")):
            script = boot_script(plan, plan.allocations[0], rank, master, job)
            assert bash("set -n\n" + script).returncode == 0, script
        assert bash("set -n\n" + job_script(job, provider, "us-east-1")).returncode == 0


def test_files_and_variables_survive_quoting(plan_file, tmp_path):
    plan = load_plan(plan_file("plan_single_multinode.json", {"job.name": "a'b $(c) \"d\""}))
    alloc = plan.allocations[0]
    job = JobSettings(setup="true", run=NASTY, envs={"NOTE": NASTY})
    script = boot_script(plan, alloc, 1, "10.0.0.5", job)
    # the file writes: from the first printf to the start of the job
    writes = script[script.index("printf '%s'"):script.index("systemd-run --unit gpucost-job")]
    assert writes.count(" && chmod ") == 4  # env, setup.sh, run.sh, job.sh
    assert bash(writes.replace("/opt/gpucost", str(tmp_path))).returncode == 0
    assert (tmp_path / "run.sh").read_text() == NASTY + "\n"
    shown = bash(f"set -a; . {tmp_path}/env; set +a; env -0")
    assert shown.returncode == 0
    values = dict(item.split("=", 1) for item in shown.stdout.split("\0") if "=" in item)
    expected = environment(plan, alloc, 1, "10.0.0.5", job)
    assert {k: values[k] for k in expected} == expected
    assert values["NOTE"] == NASTY and values["NODE_RANK"] == "1"
    assert values["MASTER_ADDR"] == "10.0.0.5"
    # the comment naming the plan stays one line, whatever the job is called
    assert all(not line.startswith("c") for line in script.splitlines()[:3])


def test_layout_is_exported_when_the_plan_has_one(plan_file):
    plan = load_plan(plan_file("plan_single_multinode.json", {
        "allocations.0.layout": {"data_parallel": 2, "tensor_parallel": 8,
                                 "pipeline_parallel": 1}}))
    env = environment(plan, plan.allocations[0], 0, "", JobSettings())
    assert env["GPUCOST_LAYOUT_DATA_PARALLEL"] == "2"
    assert env["GPUCOST_LAYOUT_TENSOR_PARALLEL"] == "8"
    plain = load_plan(plan_file("plan_single_multinode.json"))
    assert not any(k.startswith("GPUCOST_LAYOUT") for k in
                   environment(plain, plain.allocations[0], 0, "", JobSettings()))

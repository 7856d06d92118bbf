"""The job on GCP through the real ``InstancesClient`` / ``ResourcePoliciesClient`` over
REST, answered by ``responses``: startup script, maxRunDuration, compact placement policy
and A3 GPU NICs in the insert bodies; status with guest attributes; down deleting the
policy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
import responses

from gpucost.launcher import LaunchConfig, launch_plan, load_plan, make_backends
from gpucost.launcher.status import status_report
from tests.launcher.conftest import FIXTURES
from tests.launcher.test_gcp import (
    BASE,
    PROJECT,
    bodies,
    expect_get,
    expect_insert,
    expect_job_not_running,
    expect_wait,
    gcp,  # noqa: F401 - the fixture
)

RUN = "torchrun --nnodes $NNODES --node-rank $NODE_RANK --master-addr $MASTER_ADDR train.py"
ZONE = "us-central1-a"
NAMES = ["llm-pretrain-909ac69d-0-0", "llm-pretrain-909ac69d-0-1"]
POLICY = "llm-pretrain-909ac69d-0-p"
A3 = {"allocations.0.provider": "gcp", "allocations.0.region": "us-central1",
      "allocations.0.zone": ZONE, "allocations.0.instance_type": "a3-highgpu-8g",
      "allocations.0.gpu": "H100"}


def expect_cluster_launch(mock) -> None:
    mock.add(responses.POST, f"{BASE}/regions/us-central1/resourcePolicies",
             json={"name": "op-policy", "status": "RUNNING"})
    mock.add(responses.POST, f"{BASE}/regions/us-central1/operations/op-policy/wait",
             json={"name": "op-policy", "status": "DONE"})
    for n, name in enumerate(NAMES):
        expect_insert(mock, ZONE, name)
        expect_wait(mock, ZONE, f"op-insert-{name}")
        if n == 0:
            expect_get(mock, ZONE, name, "10.128.0.7")


def metadata(body: dict) -> dict[str, str]:
    return {item["key"]: item["value"] for item in body["metadata"]["items"]}


def test_cluster_insert_bodies(gcp, plan_file, run_cli):  # noqa: F811
    expect_job_not_running(gcp)  # `launch --yes` first looks for the job's running VMs
    expect_cluster_launch(gcp)
    code, out, err = run_cli("launch", str(plan_file("plan_single_multinode.json", A3)),
                             "--yes", "--project", PROJECT, "--run", RUN)
    assert code == 0, err
    [policy] = bodies(gcp, suffix="/resourcePolicies")
    assert policy == {"name": POLICY, "description": "gpucost plan llm-pretrain-909ac69d",
                      "groupPlacementPolicy": {"collocation": "COLLOCATED"}}
    rank0, rank1 = bodies(gcp)
    for n, body in enumerate((rank0, rank1)):
        assert body["name"] == NAMES[n]
        # hard limit: 30 h + 20% = 36 h, then the VM is deleted
        assert body["scheduling"]["maxRunDuration"] == {"seconds": "129600"}
        assert body["scheduling"]["instanceTerminationAction"] == "DELETE"
        assert body["resourcePolicies"] == [
            f"projects/{PROJECT}/regions/us-central1/resourcePolicies/{POLICY}"]
        meta = metadata(body)
        script = meta["startup-script"]
        assert RUN in script and f"export NODE_RANK={n}\n" in script
        assert "export NNODES=2\n" in script and "export GPUS_PER_NODE=8\n" in script
        assert "guest-attributes/gpucost/exit-status" in script
        assert "gcloud compute instances delete" in script  # on_exit terminate
        assert meta["enable-guest-attributes"] == "TRUE"
        assert meta["gpucost-usd-per-hour"] == "32.7726"
    assert "export MASTER_ADDR=10.128.0.7\n" in metadata(rank1)["startup-script"]
    # A3 without its GPUDirect NICs: said plainly, and only the primary NIC
    assert "without its 4 GPUDirect NICs" in err and "below what the plan assumed" in err
    assert len(rank0["networkInterfaces"]) == 1
    assert "Launched 2 instance(s)" in out


def test_a3_gets_gpu_nics_from_config(gcp, plan_file):  # noqa: F811
    expect_cluster_launch(gcp)
    plan = load_plan(plan_file("plan_single_multinode.json", A3))
    subnets = [f"regions/us-central1/subnetworks/gpu-{i}" for i in range(4)]
    backends = make_backends(plan, LaunchConfig({"gcp": {"project": PROJECT,
                                                         "gpu_networks": subnets}}))
    assert backends["gcp"].warnings(plan, plan.allocations[0]) == []
    launch_plan(plan, backends, echo=lambda _: None)
    for body in bodies(gcp):
        nics = body["networkInterfaces"]
        assert [n.get("subnetwork") for n in nics[1:]] == subnets
        assert {n["nicType"] for n in nics} == {"GVNIC"}


def test_on_exit_stop_and_hard_limit_flag(gcp, plan_file, run_cli):  # noqa: F811
    expect_job_not_running(gcp)
    expect_cluster_launch(gcp)
    code, _, err = run_cli("launch", str(plan_file("plan_single_multinode.json", A3)),
                           "--yes", "--project", PROJECT, "--run", RUN, "--on-exit", "stop",
                           "--hard-limit-hours", "2.5")
    assert code == 0, err
    for body in bodies(gcp):
        assert body["scheduling"]["instanceTerminationAction"] == "STOP"
        assert body["scheduling"]["maxRunDuration"] == {"seconds": "9000"}
        assert "gcloud compute instances delete" not in metadata(body)["startup-script"]


def test_status_exit_status_and_spend(gcp):  # noqa: F811
    started = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    vm = {"name": NAMES[0], "status": "RUNNING",
          "machineType": f"{BASE}/zones/{ZONE}/machineTypes/a3-highgpu-8g",
          "labels": {"gpucost-plan-id": "llm-pretrain-7b2aa981", "gpucost-allocation": "0"},
          "creationTimestamp": "2026-12-01T07:55:00.000-00:00",
          "lastStartTimestamp": started.isoformat(),
          "scheduling": {"provisioningModel": "STANDARD"},
          "metadata": {"items": [{"key": "gpucost-usd-per-hour", "value": "88.25"},
                                 {"key": "gpucost-plan-cost-usd", "value": "1966.36"},
                                 {"key": "gpucost-rank", "value": "0"}]}}
    gcp.add(responses.GET, f"{BASE}/aggregated/instances",
            json={"items": {f"zones/{ZONE}": {"instances": [vm]}}})
    gcp.add(responses.GET, f"{BASE}/zones/{ZONE}/instances/{NAMES[0]}/getGuestAttributes",
            json={"queryPath": "gpucost/", "queryValue": {"items": [
                {"namespace": "gpucost", "key": "exit-status", "value": "0"}]}})
    backend = make_backends(load_plan(FIXTURES / "plan_gcp.json"),
                            LaunchConfig({"gcp": {"project": PROJECT}}))["gcp"]
    [inst] = backend.inspect("llm-pretrain-7b2aa981", [])
    query = parse_qs(urlparse(gcp.calls[1].request.url).query)
    assert query["queryPath"] == ["gpucost/"]
    report = status_report([inst], started + timedelta(hours=10))
    [row] = report.rows
    assert row.exit_status == "0" and row.uptime_hours == pytest.approx(10)
    assert report.spend_usd == pytest.approx(882.5)
    assert report.plan_cost_usd == pytest.approx(1966.36) and report.warnings == []


def test_down_deletes_the_placement_policy(gcp, run_cli):  # noqa: F811
    gcp.add(responses.GET, f"{BASE}/aggregated/instances", json={"items": {}})
    gcp.add(responses.GET, f"{BASE}/aggregated/resourcePolicies", json={"items": {
        "regions/us-central1": {"resourcePolicies": [
            {"name": POLICY, "description": "gpucost plan llm-pretrain-7b2aa981"},
            {"name": "someone-elses", "description": "other"}]}}})
    gcp.add(responses.DELETE, f"{BASE}/regions/us-central1/resourcePolicies/{POLICY}",
            json={"name": "op-del", "status": "RUNNING"})
    gcp.add(responses.POST, f"{BASE}/regions/us-central1/operations/op-del/wait",
            json={"name": "op-del", "status": "DONE"})
    code, out, err = run_cli("down", "llm-pretrain-7b2aa981", "--provider", "gcp",
                             "--project", PROJECT)
    assert code == 0, err
    assert f"deleted placement policy {POLICY} (us-central1)" in out
    query = parse_qs(urlparse(gcp.calls[1].request.url).query)
    assert query["filter"] == ['description = "gpucost plan llm-pretrain-7b2aa981"']

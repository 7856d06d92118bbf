"""The GCP backend through the real ``InstancesClient(transport="rest")`` with anonymous
credentials; every HTTP request is answered by ``responses``."""

from __future__ import annotations

import json
from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pytest
import responses
from google.auth.credentials import AnonymousCredentials

from gpucost.launcher import LaunchConfig, launch_plan, load_plan, make_backends
from gpucost.launcher.backends import CapacityError
from gpucost.launcher.gcp import DLVM_IMAGE, GcpBackend

PROJECT = "test-proj"
BASE = f"https://compute.googleapis.com/compute/v1/projects/{PROJECT}"
PLAN_ID = "Sweep_LR-bd769820"
LABEL = "sweep_lr-bd769820"


@pytest.fixture
def gcp(monkeypatch):
    """Anonymous credentials for every GcpBackend; HTTP mocked (unmatched calls fail)."""
    monkeypatch.setattr("gpucost.launcher.gcp.default_credentials",
                        lambda: (AnonymousCredentials(), PROJECT))
    with responses.RequestsMock(assert_all_requests_are_fired=True) as mock:
        yield mock


def op(name: str, status: str = "DONE", **extra) -> dict:
    return {"kind": "compute#operation", "name": name, "status": status, **extra}


def expect_insert(mock, zone: str, name: str, *, status: int = 200, body=None) -> None:
    mock.add(responses.POST, f"{BASE}/zones/{zone}/instances", status=status,
             json=body if body is not None else op(f"op-insert-{name}", "RUNNING"))


def expect_wait(mock, zone: str, opname: str, answer: dict | None = None) -> None:
    mock.add(responses.POST, f"{BASE}/zones/{zone}/operations/{opname}/wait",
             json=answer or op(opname))


def expect_delete(mock, zone: str, name: str, status: int = 200) -> None:
    body = op(f"op-delete-{name}", "RUNNING") if status == 200 else {
        "error": {"code": 404, "message": "not found", "errors": [{"reason": "notFound"}]}}
    mock.add(responses.DELETE, f"{BASE}/zones/{zone}/instances/{name}", status=status,
             json=body)
    if status == 200:
        expect_wait(mock, zone, f"op-delete-{name}")


def expect_get(mock, zone: str, name: str, ip: str = "10.128.0.2") -> None:
    """The VM as GET returns it: rank 0's internal IP for the other nodes."""
    mock.add(responses.GET, f"{BASE}/zones/{zone}/instances/{name}",
             json={"name": name, "networkInterfaces": [{"networkIP": ip}]})


def bodies(mock, method: str = "POST", suffix: str = "/instances") -> list[dict]:
    return [json.loads(c.request.body) for c in mock.calls
            if c.request.method == method and urlparse(c.request.url).path.endswith(suffix)]


def expect_job_not_running(mock) -> None:
    """The launch's check for running VMs of the same job (label gpucost-job) finds none."""
    mock.add(responses.GET, f"{BASE}/aggregated/instances", json={"items": {}})


def vm(name: str, zone: str, machine: str, spot: bool = False, status: str = "RUNNING") -> dict:
    return {"name": name, "status": status,
            "machineType": f"{BASE}/zones/{zone}/machineTypes/{machine}",
            "labels": {"gpucost-plan-id": LABEL, "gpucost-allocation": "0"},
            "scheduling": {"provisioningModel": "SPOT" if spot else "STANDARD"}}


def test_launch_inserts_with_accelerators_scheduling_labels(gcp, plan_file, run_cli):
    for n in range(2):
        expect_insert(gcp, "us-central1-b", f"sweep-lr-bd769820-0-{n}")
        expect_wait(gcp, "us-central1-b", f"op-insert-sweep-lr-bd769820-0-{n}",
                    op("x", "RUNNING"))  # not done yet: wait again
        expect_wait(gcp, "us-central1-b", f"op-insert-sweep-lr-bd769820-0-{n}")
        if n == 0:  # a 2-node run: rank 0's address for rank 1
            expect_get(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")
    expect_insert(gcp, "us-central1-a", "sweep-lr-bd769820-1-0")
    expect_wait(gcp, "us-central1-a", "op-insert-sweep-lr-bd769820-1-0")

    expect_job_not_running(gcp)
    code, out, err = run_cli("launch", str(plan_file("plan_gcp.json")), "--yes",
                             "--project", PROJECT)
    assert code == 0, err
    t4_0, t4_1, a2 = bodies(gcp)
    assert [t4_0["name"], t4_1["name"], a2["name"]] == [
        "sweep-lr-bd769820-0-0", "sweep-lr-bd769820-0-1", "sweep-lr-bd769820-1-0"]
    assert t4_0["machineType"] == "zones/us-central1-b/machineTypes/n1-standard-8"
    assert t4_0["guestAccelerators"] == [{
        "acceleratorCount": 1,
        "acceleratorType": "zones/us-central1-b/acceleratorTypes/nvidia-tesla-t4"}]
    assert t4_0["scheduling"] == {"provisioningModel": "SPOT",
                                  "instanceTerminationAction": "DELETE",
                                  "maxRunDuration": {"seconds": "21600"},  # 5 h + 20%
                                  "onHostMaintenance": "TERMINATE", "automaticRestart": False}
    assert t4_0["labels"] == {"gpucost-plan-id": LABEL, "gpucost-job": "sweep_lr",
                              "gpucost-allocation": "0"}
    assert t4_0["disks"][0]["initializeParams"]["sourceImage"] == DLVM_IMAGE
    # bundled GPU type, default zone <region>-a, on-demand
    assert a2["machineType"] == "zones/us-central1-a/machineTypes/a2-highgpu-1g"
    assert "guestAccelerators" not in a2
    assert a2["scheduling"] == {"onHostMaintenance": "TERMINATE", "automaticRestart": False,
                                "instanceTerminationAction": "DELETE",
                                "maxRunDuration": {"seconds": "8640"}}  # 2 h + 20%
    waits = [c for c in gcp.calls if c.request.url.endswith("/wait")]
    assert len(waits) == 5
    assert "Launched 3 instance(s)" in out


def test_quota_error_on_second_insert_rolls_back_first(gcp, plan_file, run_cli):
    expect_insert(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")
    expect_wait(gcp, "us-central1-b", "op-insert-sweep-lr-bd769820-0-0")
    expect_get(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")
    expect_insert(gcp, "us-central1-b", "sweep-lr-bd769820-0-1", status=403, body={"error": {
        "code": 403, "message": "Quota 'NVIDIA_T4_GPUS' exceeded.  Limit: 1.0 in region "
        "us-central1.", "errors": [{"message": "Quota exceeded", "domain": "usageLimits",
                                    "reason": "quotaExceeded"}]}})
    expect_delete(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")

    expect_job_not_running(gcp)
    code, _, err = run_cli("launch", str(plan_file("plan_gcp.json")), "--yes",
                           "--project", PROJECT)
    assert code == 1
    assert "no capacity or quota" in err and "NVIDIA_T4_GPUS" in err
    assert "rolled back: terminated the 1 instance(s)" in err
    deletes = [c.request.url for c in gcp.calls if c.request.method == "DELETE"]
    assert deletes == [f"{BASE}/zones/us-central1-b/instances/sweep-lr-bd769820-0-0"]


def test_failed_operation_rolls_back_everything(gcp, plan_file):
    expect_insert(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")
    expect_wait(gcp, "us-central1-b", "op-insert-sweep-lr-bd769820-0-0")
    expect_get(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")
    expect_insert(gcp, "us-central1-b", "sweep-lr-bd769820-0-1")
    expect_wait(gcp, "us-central1-b", "op-insert-sweep-lr-bd769820-0-1", op(
        "op-insert-sweep-lr-bd769820-0-1", httpErrorStatusCode=503,
        httpErrorMessage="SERVICE UNAVAILABLE", error={"errors": [{
            "code": "ZONE_RESOURCE_POOL_EXHAUSTED", "message": "no T4 in us-central1-b"}]}))
    expect_delete(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")
    expect_delete(gcp, "us-central1-b", "sweep-lr-bd769820-0-1", status=404)
    plan = load_plan(plan_file("plan_gcp.json"))
    backends = make_backends(plan, LaunchConfig({"gcp": {"project": PROJECT}}))
    with pytest.raises(CapacityError, match="ZONE_RESOURCE_POOL_EXHAUSTED.*rolled back"):
        launch_plan(plan, backends, echo=lambda _: None)


def test_existing_vm_is_kept_on_relaunch(gcp, plan_file):
    expect_insert(gcp, "us-central1-b", "x", status=409, body={"error": {
        "code": 409, "message": "already exists", "errors": [{"reason": "alreadyExists"}]}})
    gcp.add(responses.GET, f"{BASE}/zones/us-central1-b/instances/sweep-lr-bd769820-0-0",
            json={"name": "sweep-lr-bd769820-0-0", "status": "RUNNING"})  # kept: it runs
    plan = load_plan(plan_file("plan_gcp.json"))
    created = []
    backend = GcpBackend({"project": PROJECT}, credentials=AnonymousCredentials())
    backend.launch(plan, replace(plan.allocations[0], instances=1), created)
    assert created == []  # not ours to roll back


def test_status_and_down_by_label(gcp, run_cli):
    listing = {"items": {
        "zones/us-central1-b": {"instances": [
            vm("sweep-lr-bd769820-0-0", "us-central1-b", "n1-standard-8", spot=True),
            {**vm("other-vm", "us-central1-b", "n1-standard-4"), "labels": {}}]},
        "zones/europe-west4-a": {"warning": {"code": "NO_RESULTS_ON_PAGE"}}}}
    gcp.add(responses.GET, f"{BASE}/aggregated/instances", json=listing)
    gcp.add(responses.GET, f"{BASE}/zones/us-central1-b/instances/sweep-lr-bd769820-0-0/"
            "getGuestAttributes", status=404, json={"error": {"code": 404, "message": "none"}})
    code, out, err = run_cli("status", PLAN_ID, "--provider", "gcp", "--project", PROJECT)
    assert code == 0, err
    assert "sweep-lr-bd769820-0-0" in out and "other-vm" not in out
    assert "n1-standard-8" in out and "spot" in out and "RUNNING" in out
    query = parse_qs(urlparse(gcp.calls[0].request.url).query)
    assert query["filter"] == [f'labels.gpucost-plan-id = "{LABEL}"']

    gcp.add(responses.GET, f"{BASE}/aggregated/instances", json=listing)
    expect_delete(gcp, "us-central1-b", "sweep-lr-bd769820-0-0")
    gcp.add(responses.GET, f"{BASE}/aggregated/resourcePolicies", json={"items": {}})
    code, out, err = run_cli("down", PLAN_ID, "--provider", "gcp", "--project", PROJECT)
    assert code == 0, err
    assert "Terminated 1 instance(s)" in out
    assert gcp.calls[-2].request.url.endswith("/operations/op-delete-sweep-lr-bd769820-0-0/wait")


def test_dry_run_needs_no_credentials(plan_file, run_cli, monkeypatch):
    def no_credentials():
        raise AssertionError("dry run must not touch GCP")

    monkeypatch.setattr("gpucost.launcher.gcp.default_credentials", no_credentials)
    code, out, _ = run_cli("launch", str(plan_file("plan_gcp.json")))
    assert code == 0
    assert "zone: us-central1-a (default: <region>-a)" in out
    assert "machine type n1-standard-8 + 1 x nvidia-tesla-t4" in out
    assert f"{DLVM_IMAGE} (newest image of the family at launch)" in out

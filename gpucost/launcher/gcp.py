"""Launch, find and delete a plan's Compute Engine VMs (google-cloud-compute, REST).

- One ``InstancesClient.insert`` per VM, named ``<plan-id>-<alloc>-<n>`` (valid GCE
  name, :func:`~gpucost.launcher.naming.gce_name`); a re-run hits ``409 alreadyExists``
  for VMs that exist and leaves them alone, so a retry never doubles them.
- Zone: the allocation's ``zone``, else ``<region>-a``.
- N1 types with attached GPUs (``n1-standard-8+1xT4``) get ``guest_accelerators``;
  every GPU VM gets ``on_host_maintenance=TERMINATE``; spot VMs get
  ``provisioning_model=SPOT`` with ``instance_termination_action=DELETE``.
- Labels ``gpucost-plan-id``, ``gpucost-job``, ``gpucost-allocation`` (lowercased); status
  and down use ``aggregated_list`` filtered on ``gpucost-plan-id`` (all zones: no regions).
- Image: newest of the Deep Learning VM family :data:`DLVM_IMAGE` (or ``gcp.image``).
"""

from __future__ import annotations

import time
from typing import Any

from gpucost.catalog.instance_types import split_instance_type
from gpucost.clouds.gcp import application_default_credentials
from gpucost.launcher.backends import (
    LABEL_ALLOCATION,
    LABEL_JOB,
    LABEL_PLAN_ID,
    CapacityError,
    Instance,
    LaunchError,
)
from gpucost.launcher.gcp_inventory import GcpInventory, gcp_errors, op_errors
from gpucost.launcher.gcp_names import accelerator_type
from gpucost.launcher.naming import gce_name, label_value
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation

DLVM_IMAGE = ("projects/deeplearning-platform-release/global/images/family/"
              "common-cu128-ubuntu-2204-nvidia-570")
CAPACITY_MARKERS = ("QUOTA_EXCEEDED", "quotaExceeded", "ZONE_RESOURCE_POOL_EXHAUSTED",
                    "resourcePoolExhausted", "STOCKOUT")


def default_credentials() -> tuple[Any, str | None]:
    """Application-default credentials and their project (one clear error if none)."""
    found = application_default_credentials()
    if found is None:
        raise LaunchError("gcp: no application-default credentials; run `gcloud auth "
                          "application-default login` (or set GOOGLE_APPLICATION_CREDENTIALS)")
    return found


def zone_of(alloc: PlanAllocation) -> str:
    return alloc.zone or f"{alloc.region}-a"


class GcpBackend(GcpInventory):
    """The ``gcp`` launch backend."""

    name = "gcp"
    needs_regions = False

    def __init__(self, settings: dict[str, Any], *, credentials: Any = None,
                 poll_seconds: float = 0.0) -> None:
        self.settings = settings
        self._credentials = credentials
        self._project: str | None = settings.get("project")
        self.poll_seconds = poll_seconds
        self._clients: dict[str, Any] = {}

    # -- clients ----------------------------------------------------------------------
    def _creds(self) -> Any:
        if self._credentials is None:
            self._credentials, project = default_credentials()
            self._project = self._project or project
        return self._credentials

    @property
    def project(self) -> str:
        self._creds()
        if not self._project:
            raise LaunchError("gcp: no project: set gcp.project in the launch config or "
                              "pass --project")
        return self._project

    def _client(self, kind: str) -> Any:
        if kind not in self._clients:
            from google.cloud import compute_v1

            cls = {"instances": compute_v1.InstancesClient,
                   "operations": compute_v1.ZoneOperationsClient}[kind]
            self._clients[kind] = cls(transport="rest", credentials=self._creds())
        return self._clients[kind]

    def scope(self) -> dict[str, Any]:
        return {"project": self.project}

    # -- dry run ----------------------------------------------------------------------
    def describe_image(self, alloc: PlanAllocation) -> str:
        return self.settings.get("image") or f"{DLVM_IMAGE} (newest image of the family at launch)"

    def describe_extras(self, plan: LaunchPlan, alloc: PlanAllocation) -> list[str]:
        machine, count, gpu = split_instance_type(alloc.instance_type)
        extras = [f"zone: {zone_of(alloc)}" + ("" if alloc.zone else " (default: <region>-a)"),
                  "names: " + " .. ".join(dict.fromkeys(gce_name(plan.plan_id, alloc.index, n)
                                                         for n in (0, alloc.instances - 1)))]
        if gpu:
            extras.append(f"machine type {machine} + {count} x {accelerator_type(gpu)}")
        return extras + [f"project: {p}" for p in [self.settings.get("project")] if p]

    # -- launch -----------------------------------------------------------------------
    def build_instance(self, plan: LaunchPlan, alloc: PlanAllocation, n: int) -> Any:
        from google.cloud import compute_v1

        zone = zone_of(alloc)
        machine, count, gpu = split_instance_type(alloc.instance_type)
        scheduling = compute_v1.Scheduling(on_host_maintenance="TERMINATE",
                                           automatic_restart=not alloc.spot)
        if alloc.spot:
            scheduling.provisioning_model = "SPOT"
            scheduling.instance_termination_action = "DELETE"
        nic = compute_v1.NetworkInterface(
            network=self.settings.get("network") or "global/networks/default",
            access_configs=[compute_v1.AccessConfig(name="External NAT",
                                                    type_="ONE_TO_ONE_NAT")])
        if self.settings.get("subnetwork"):
            nic.subnetwork = self.settings["subnetwork"]
        instance = compute_v1.Instance(
            name=gce_name(plan.plan_id, alloc.index, n),
            machine_type=f"zones/{zone}/machineTypes/{machine}",
            labels={LABEL_PLAN_ID: label_value(plan.plan_id),
                    LABEL_JOB: label_value(plan.job_name),
                    LABEL_ALLOCATION: str(alloc.index)},
            scheduling=scheduling, network_interfaces=[nic],
            disks=[compute_v1.AttachedDisk(
                boot=True, auto_delete=True,
                initialize_params=compute_v1.AttachedDiskInitializeParams(
                    source_image=self.settings.get("image") or DLVM_IMAGE,
                    disk_size_gb=int(self.settings.get("disk_gb") or 200)))],
        )
        if gpu:
            instance.guest_accelerators = [compute_v1.AcceleratorConfig(
                accelerator_count=count,
                accelerator_type=f"zones/{zone}/acceleratorTypes/{accelerator_type(gpu)}")]
        if self.settings.get("service_account"):
            instance.service_accounts = [compute_v1.ServiceAccount(
                email=self.settings["service_account"],
                scopes=["https://www.googleapis.com/auth/cloud-platform"])]
        return instance

    def launch(self, plan: LaunchPlan, alloc: PlanAllocation, created: list[Instance]) -> None:
        from google.api_core import exceptions
        from google.auth.exceptions import GoogleAuthError

        zone = zone_of(alloc)
        for n in range(alloc.instances):
            resource = self.build_instance(plan, alloc, n)
            where = f"gcp {zone} {resource.name} ({alloc.instance_type}, {alloc.pricing})"
            try:
                op = self._client("instances").insert(project=self.project, zone=zone,
                                                      instance_resource=resource)
            except exceptions.Conflict:
                continue  # exists already (an earlier launch of this plan): keep it
            except exceptions.GoogleAPICallError as exc:
                raise _failure(where, _describe(exc)) from None
            except GoogleAuthError as exc:
                raise LaunchError(f"{where}: {exc}") from None
            created.append(Instance(self.name, alloc.region, zone, resource.name,
                                    alloc.instance_type, "PROVISIONING", str(alloc.index),
                                    alloc.pricing))
            with gcp_errors(where):
                errors = op_errors(self.wait(zone, op.name, timeout=600.0))
            if errors:
                raise _failure(where, errors)

    def wait(self, zone: str, operation: str, timeout: float) -> Any:
        """Wait up to ``timeout`` s for a zone operation (``wait`` blocks server-side)."""
        from google.cloud import compute_v1

        deadline = time.monotonic() + timeout
        while True:
            op = self._client("operations").wait(project=self.project, zone=zone,
                                                 operation=operation)
            if op.status == compute_v1.Operation.Status.DONE:
                return op
            if time.monotonic() >= deadline:
                raise LaunchError(f"gcp {zone}: operation {operation} not done after "
                                  f"{timeout:g}s")
            time.sleep(self.poll_seconds)


def _failure(where: str, detail: str) -> LaunchError:
    if any(marker in detail for marker in CAPACITY_MARKERS):
        return CapacityError(f"{where}: no capacity or quota: {detail}")
    return LaunchError(f"{where}: {detail}")


def _describe(exc: Any) -> str:
    """An API error as one line, with its reasons (``quotaExceeded`` ...)."""
    reasons = [str(e.get("reason", "")) for e in (exc.errors or []) if isinstance(e, dict)]
    text = f"{exc.code.value if exc.code else ''} {exc.message}".strip()
    return f"{text} [{', '.join(r for r in reasons if r)}]" if any(reasons) else text

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
- Startup script (metadata ``startup-script``):
  :func:`~gpucost.launcher.bootstrap.boot_script`, with ``enable-guest-attributes`` so the
  wrapper can publish the run's exit status; the plan's prices in metadata
  (``gpucost-usd-per-hour``, ``gpucost-plan-cost-usd``, ``gpucost-budget-usd``) for
  ``status``. Hard limit: ``scheduling.maxRunDuration`` with
  ``instanceTerminationAction=DELETE`` (``STOP`` for ``on_exit: stop``).
- Clusters (not ``divisible``): rank 0 is created first and its internal IP given to the
  others as ``MASTER_ADDR``; machine series that support it get a compact placement
  policy (``groupPlacementPolicy.collocation=COLLOCATED``) named ``<plan>-<alloc>-p``,
  deleted again by ``down``. A3 types get their extra GPUDirect NICs (gVNIC) on the
  subnetworks of ``gcp.gpu_networks``; without them launch warns that inter-node
  throughput will be below plan.
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
from gpucost.launcher.bootstrap import JobSettings, boot_script, hard_limit_hours, is_cluster
from gpucost.launcher.gcp_inventory import GcpInventory, gcp_errors, op_errors
from gpucost.launcher.gcp_names import accelerator_type
from gpucost.launcher.naming import gce_name, label_value
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation

DLVM_IMAGE = ("projects/deeplearning-platform-release/global/images/family/"
              "common-cu128-ubuntu-2204-nvidia-570")
# Machine series whose VMs accept a compact placement policy (N1 does not).
COMPACT_SERIES = frozenset({"a2", "a3", "a4", "c2", "c2d", "c3", "c3d", "c4", "g2", "h3",
                            "n2", "n2d"})
# A3 machine types and how many extra GPU NICs (one per VPC) GPUDirect-TCPX(O) needs.
A3_GPU_NICS = {"a3-highgpu-8g": 4, "a3-edgegpu-8g": 4, "a3-megagpu-8g": 8}
META_USD_PER_HOUR = "gpucost-usd-per-hour"
META_PLAN_COST = "gpucost-plan-cost-usd"
META_BUDGET = "gpucost-budget-usd"
META_RANK = "gpucost-rank"
# the exact plan id: labels are lowercased (and punctuation folded), so ``down`` compares
# this instead, matching plan ids exactly as the AWS tag does
META_PLAN_ID = "gpucost-plan-id"
STOPPED = frozenset({"TERMINATED", "STOPPED", "SUSPENDED"})
# states in which an already-existing VM of the plan is doing (or about to do) the work
LIVE_ON_CONFLICT = frozenset({"PROVISIONING", "STAGING", "RUNNING"})
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


def policy_name(plan_id: str, allocation: int) -> str:
    """The compact placement policy of one allocation (a valid GCE name)."""
    return gce_name(plan_id, allocation, 0)[:-1] + "p"


def policy_description(plan_id: str) -> str:
    """How ``down`` finds a plan's policies (they carry no labels)."""
    return f"gpucost plan {label_value(plan_id)}"


def compact_placement(plan: LaunchPlan, alloc: PlanAllocation) -> bool:
    machine, _, _ = split_instance_type(alloc.instance_type)
    return is_cluster(plan, alloc) and machine.split("-")[0] in COMPACT_SERIES


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
        self.job = JobSettings.from_settings(settings.get("job"))
        self.created_policies: list[tuple[str, str]] = []  # (region, name)

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
                   "operations": compute_v1.ZoneOperationsClient,
                   "policies": compute_v1.ResourcePoliciesClient,
                   "region_operations": compute_v1.RegionOperationsClient}[kind]
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
        if compact_placement(plan, alloc):
            extras.append(f"compact placement policy: {policy_name(plan.plan_id, alloc.index)}")
        elif is_cluster(plan, alloc):
            extras.append(f"no compact placement policy ({machine.split('-')[0]} does not "
                          "support one)")
        warning = self.gpu_nic_warning(plan, alloc)
        if warning:
            extras.append(f"WARNING: {warning}")
        elif self._gpu_nics(plan, alloc):
            extras.append(f"{len(self._gpu_nics(plan, alloc))} extra GPUDirect NICs on "
                          "gcp.gpu_networks")
        extras.append(f"self-termination: on exit {self.job.on_exit}, hard limit "
                      f"{hard_limit_hours(self.job, alloc):g} h (maxRunDuration, then "
                      f"{self._termination_action()})")
        return extras + [f"project: {p}" for p in [self.settings.get("project")] if p]

    def warnings(self, plan: LaunchPlan, alloc: PlanAllocation) -> list[str]:
        """What will make the launch fall short of the plan (printed by ``launch``)."""
        warning = self.gpu_nic_warning(plan, alloc)
        return [warning] if warning else []

    def gpu_nic_warning(self, plan: LaunchPlan, alloc: PlanAllocation) -> str:
        needed = A3_GPU_NICS.get(split_instance_type(alloc.instance_type)[0], 0)
        if not needed or not is_cluster(plan, alloc) or self._gpu_nics(plan, alloc):
            return ""
        return (f"allocation {alloc.index}: {alloc.instance_type} without its {needed} "
                "GPUDirect NICs (set gcp.gpu_networks to that many subnetworks, one per "
                "VPC): inter-node throughput will be below what the plan assumed")

    def _gpu_nics(self, plan: LaunchPlan, alloc: PlanAllocation) -> list[str]:
        needed = A3_GPU_NICS.get(split_instance_type(alloc.instance_type)[0], 0)
        subnets = [str(n) for n in (self.settings.get("gpu_networks") or [])]
        if not needed or not is_cluster(plan, alloc) or len(subnets) < needed:
            return []
        return subnets[:needed]

    def _termination_action(self) -> str:
        return "STOP" if self.job.on_exit == "stop" else "DELETE"

    # -- launch -----------------------------------------------------------------------
    def build_instance(self, plan: LaunchPlan, alloc: PlanAllocation, n: int,
                       master_addr: str = "") -> Any:
        from google.cloud import compute_v1

        zone = zone_of(alloc)
        machine, count, gpu = split_instance_type(alloc.instance_type)
        limit_s = int(round(hard_limit_hours(self.job, alloc) * 3600))
        scheduling = compute_v1.Scheduling(
            on_host_maintenance="TERMINATE", automatic_restart=False,
            instance_termination_action=self._termination_action(),
            max_run_duration=compute_v1.Duration(seconds=limit_s))
        if alloc.spot:
            scheduling.provisioning_model = "SPOT"
        nic = compute_v1.NetworkInterface(
            network=self.settings.get("network") or "global/networks/default",
            access_configs=[compute_v1.AccessConfig(name="External NAT",
                                                    type_="ONE_TO_ONE_NAT")])
        if self.settings.get("subnetwork"):
            nic.subnetwork = self.settings["subnetwork"]
        nics = [nic]
        extra_nics = self._gpu_nics(plan, alloc)
        if extra_nics:
            nic.nic_type = "GVNIC"
            nics += [compute_v1.NetworkInterface(subnetwork=sub, nic_type="GVNIC")
                     for sub in extra_nics]
        metadata = {"startup-script": boot_script(plan, alloc, n, master_addr, self.job),
                    "enable-guest-attributes": "TRUE", META_RANK: str(n),
                    META_PLAN_ID: plan.plan_id,
                    META_USD_PER_HOUR: f"{alloc.usd_per_hour:.6g}",
                    META_PLAN_COST: f"{plan.total_cost_usd:.2f}"}
        if plan.budget_usd is not None:
            metadata[META_BUDGET] = f"{plan.budget_usd:.2f}"
        instance = compute_v1.Instance(
            name=gce_name(plan.plan_id, alloc.index, n),
            machine_type=f"zones/{zone}/machineTypes/{machine}",
            labels={LABEL_PLAN_ID: label_value(plan.plan_id),
                    LABEL_JOB: label_value(plan.job_name),
                    LABEL_ALLOCATION: str(alloc.index)},
            scheduling=scheduling, network_interfaces=nics,
            metadata=compute_v1.Metadata(items=[compute_v1.Items(key=k, value=v)
                                                for k, v in metadata.items()]),
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
        if compact_placement(plan, alloc):
            instance.resource_policies = [
                f"projects/{self.project}/regions/{alloc.region}/resourcePolicies/"
                f"{policy_name(plan.plan_id, alloc.index)}"]
        if self.settings.get("service_account"):
            instance.service_accounts = [compute_v1.ServiceAccount(
                email=self.settings["service_account"],
                scopes=["https://www.googleapis.com/auth/cloud-platform"])]
        return instance

    def launch(self, plan: LaunchPlan, alloc: PlanAllocation, created: list[Instance]) -> None:
        from google.api_core import exceptions
        from google.auth.exceptions import GoogleAuthError

        zone = zone_of(alloc)
        if compact_placement(plan, alloc):
            self._ensure_policy(plan, alloc)
        master = ""
        for n in range(alloc.instances):
            resource = self.build_instance(plan, alloc, n, master)
            where = f"gcp {zone} {resource.name} ({alloc.instance_type}, {alloc.pricing})"
            try:
                op = self._client("instances").insert(project=self.project, zone=zone,
                                                      instance_resource=resource)
            except exceptions.Conflict:
                # exists already (an earlier launch of this plan): keep it only if it runs
                self._refuse_if_not_live(zone, resource.name, where)
                op = None
            except exceptions.GoogleAPICallError as exc:
                raise _failure(where, _describe(exc)) from None
            except GoogleAuthError as exc:
                raise LaunchError(f"{where}: {exc}") from None
            if op is not None:
                created.append(Instance(self.name, alloc.region, zone, resource.name,
                                        alloc.instance_type, "PROVISIONING", str(alloc.index),
                                        alloc.pricing))
                with gcp_errors(where):
                    errors = op_errors(self.wait(zone, op.name, timeout=600.0))
                if errors:
                    raise _failure(where, errors)
            if n == 0 and is_cluster(plan, alloc):
                master = self._internal_ip(zone, resource.name, where)

    def _refuse_if_not_live(self, zone: str, name: str, where: str) -> None:
        """A VM of this name that is stopped (or stopping, suspended) does no work and must
        not be counted as launched: refuse, naming it, rather than report it running."""
        with gcp_errors(where):
            vm = self._client("instances").get(project=self.project, zone=zone, instance=name)
        if vm.status not in LIVE_ON_CONFLICT:
            raise LaunchError(
                f"{where}: VM {name} already exists and is {vm.status or 'in an unknown state'}"
                f", not running; start it (gcloud compute instances start {name} --zone {zone})"
                f" or delete it (gpucost down), then launch again")

    def _internal_ip(self, zone: str, name: str, where: str) -> str:
        """Rank 0's internal IP, which the other nodes get as ``MASTER_ADDR``."""
        with gcp_errors(where):
            vm = self._client("instances").get(project=self.project, zone=zone, instance=name)
        ip = vm.network_interfaces[0].network_i_p if vm.network_interfaces else ""
        if not ip:
            raise LaunchError(f"{where}: rank 0 has no internal IP to give the other nodes")
        return str(ip)

    def _ensure_policy(self, plan: LaunchPlan, alloc: PlanAllocation) -> None:
        """Create the allocation's compact placement policy (kept if it exists)."""
        from google.api_core import exceptions
        from google.cloud import compute_v1

        name = policy_name(plan.plan_id, alloc.index)
        policy = compute_v1.ResourcePolicy(
            name=name, description=policy_description(plan.plan_id),
            group_placement_policy=compute_v1.ResourcePolicyGroupPlacementPolicy(
                collocation="COLLOCATED"))
        where = f"gcp {alloc.region} placement policy {name}"
        try:
            op = self._client("policies").insert(project=self.project, region=alloc.region,
                                                 resource_policy_resource=policy)
        except exceptions.Conflict:
            return
        except exceptions.GoogleAPICallError as exc:
            raise LaunchError(f"{where}: {_describe(exc)}") from None
        self.created_policies.append((alloc.region, name))
        with gcp_errors(where):
            errors = op_errors(self._wait_region(alloc.region, op.name))
        if errors:
            raise LaunchError(f"{where}: {errors}")

    def _wait_region(self, region: str, operation: str) -> Any:
        from google.cloud import compute_v1

        op = self._client("region_operations").wait(project=self.project, region=region,
                                                    operation=operation)
        if op.status != compute_v1.Operation.Status.DONE:
            raise LaunchError(f"gcp {region}: operation {operation} not done")
        return op

    def terminate(self, instances: list[Instance], timeout: float) -> None:
        """Delete the VMs (see :class:`GcpInventory`), then the placement policies this
        backend created (a rolled-back launch)."""
        super().terminate(instances, timeout)
        for region, name in self.created_policies:
            self._delete_policy(region, name)
        self.created_policies.clear()

    def cleanup(self, plan_id: str, regions: list[str], timeout: float) -> list[str]:
        """Delete the plan's placement policies (all regions; ``regions`` is ignored)."""
        from google.cloud import compute_v1

        description = policy_description(plan_id)
        request = compute_v1.AggregatedListResourcePoliciesRequest(
            project=self.project, filter=f'description = "{description}"')
        with gcp_errors(f"gcp project {self.project}"):
            listing = list(self._client("policies").aggregated_list(request=request))
        deleted = []
        for scope, scoped in listing:
            for policy in scoped.resource_policies:
                if policy.description == description:
                    region = scope.rsplit("/", 1)[-1]
                    self._delete_policy(region, policy.name)
                    deleted.append(f"placement policy {policy.name} ({region})")
        return deleted

    def _plan_vms(self, plan_id: str) -> list[tuple[str, Any]]:
        """(zone, VM) of ``plan_id``: its label, then the exact id in metadata (a VM from
        before that was recorded is matched by its label alone)."""
        return [(zone, vm) for zone, vm in self._labelled_vms(LABEL_PLAN_ID,
                                                              label_value(plan_id))
                if {i.key: i.value for i in vm.metadata.items}.get(META_PLAN_ID, plan_id)
                == plan_id]

    def find(self, plan_id: str, regions: list[str]) -> list[Instance]:
        """All the plan's VMs in every zone (``regions`` is not needed and ignored)."""
        return [self._instance(zone, vm) for zone, vm in self._plan_vms(plan_id)]

    def inspect(self, plan_id: str, regions: list[str]) -> list[Instance]:
        """The plan's VMs with what ``status`` shows: times, prices (metadata) and the run's
        exit status (guest attribute ``gpucost/exit-status``)."""
        found = []
        for zone, vm in self._plan_vms(plan_id):
            meta = {item.key: item.value for item in vm.metadata.items}
            extra = {"rank": meta.get(META_RANK, ""),
                     "usd_per_hour": meta.get(META_USD_PER_HOUR, ""),
                     "plan_cost_usd": meta.get(META_PLAN_COST, ""),
                     "budget_usd": meta.get(META_BUDGET, ""),
                     "launched_at": vm.last_start_timestamp or vm.creation_timestamp,
                     "ended_at": vm.last_stop_timestamp if vm.status in STOPPED else "",
                     "exit_status": self._exit_status(zone, vm.name)}
            found.append(self._instance(zone, vm, {k: v for k, v in extra.items() if v}))
        return found

    def _exit_status(self, zone: str, name: str) -> str:
        """The guest attribute the job wrapper wrote ('' while it runs)."""
        from google.api_core import exceptions
        from google.cloud import compute_v1

        try:
            answer = self._client("instances").get_guest_attributes(
                request=compute_v1.GetGuestAttributesInstanceRequest(
                    project=self.project, zone=zone, instance=name, query_path="gpucost/"))
        except exceptions.GoogleAPICallError:
            return ""  # none written yet (404), or not readable: shown as unknown
        for item in answer.query_value.items:
            if item.key == "exit-status":
                return str(item.value)
        return ""

    def _delete_policy(self, region: str, name: str) -> None:
        from google.api_core import exceptions

        where = f"gcp {region} placement policy {name}"
        try:
            op = self._client("policies").delete(project=self.project, region=region,
                                                 resource_policy=name)
        except exceptions.NotFound:
            return
        except exceptions.GoogleAPICallError as exc:
            raise LaunchError(f"{where}: cannot delete: {_describe(exc)}") from None
        with gcp_errors(where):
            errors = op_errors(self._wait_region(region, op.name))
        if errors and "RESOURCE_NOT_FOUND" not in errors:
            raise LaunchError(f"{where}: delete failed: {errors}")

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

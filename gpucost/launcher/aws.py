"""Launch, find and terminate a plan's EC2 instances (boto3, imported lazily).

- One ``run_instances`` per allocation, MinCount = MaxCount = ``instances``, with a
  ``ClientToken`` derived from the plan id and allocation index (:func:`~gpucost.launcher.
  naming.client_token`): a retried launch gets the same reservation back.
- Tags ``gpucost:plan-id``, ``gpucost:job``, ``gpucost:allocation`` and ``Name`` on the
  instances and their volumes; ``status``/``down`` find instances by ``gpucost:plan-id``.
- Spot allocations use ``InstanceMarketOptions`` (one-time, terminate on interruption).
- Multi-node ``single``-mode allocations share a cluster placement group named
  ``gpucost-<plan-id>``; ``down`` deletes it once its instances are gone.
- Default image: the region's current AWS Deep Learning Base OSS Nvidia Driver GPU AMI
  (Ubuntu 22.04), read from the public SSM parameter :data:`DLAMI_SSM_PARAMETER`.
"""

from __future__ import annotations

from typing import Any

from gpucost.clouds.aws import ClientFactory, default_client_factory, error_code, error_reason
from gpucost.launcher.aws_inventory import GONE, AwsInventory, aws_errors
from gpucost.launcher.backends import (
    TAG_ALLOCATION,
    TAG_JOB,
    TAG_PLAN_ID,
    CapacityError,
    Instance,
    LaunchError,
)
from gpucost.launcher.config import region_settings
from gpucost.launcher.naming import client_token, placement_group_name
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation

DLAMI_SSM_PARAMETER = (
    "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-22.04/latest/ami-id"
)
# Error codes meaning "no capacity or no quota right now", as opposed to a bad request.
CAPACITY_CODES = frozenset({
    "InsufficientInstanceCapacity", "InsufficientCapacity", "InsufficientHostCapacity",
    "InstanceLimitExceeded", "VcpuLimitExceeded", "MaxSpotInstanceCountExceeded",
    "SpotMaxPriceTooLow", "capacity-not-available", "InsufficientFreeAddressesInSubnet",
})
MAX_TOKEN_GENERATIONS = 20


class AwsBackend(AwsInventory):
    """The ``aws`` launch backend."""

    name = "aws"
    needs_regions = True

    def __init__(self, settings: dict[str, Any], *, client_factory: ClientFactory | None = None,
                 poll_seconds: float = 5.0) -> None:
        self.settings = settings
        self._factory = client_factory
        self._clients: dict[tuple[str, str], Any] = {}
        self.poll_seconds = poll_seconds
        self.created_placement_groups: list[tuple[str, str]] = []

    def client(self, service: str, region: str) -> Any:
        key = (service, region)
        if key not in self._clients:
            if self._factory is None:  # built on first use: the dry run needs no boto3
                self._factory = default_client_factory()
            self._clients[key] = self._factory(service, region)
        return self._clients[key]

    # -- dry run ----------------------------------------------------------------------
    def describe_image(self, alloc: PlanAllocation) -> str:
        image = region_settings(self.settings, alloc.region).get("image")
        return image or (f"Deep Learning AMI from SSM parameter {DLAMI_SSM_PARAMETER} "
                         f"(looked up in {alloc.region} at launch)")

    def describe_extras(self, plan: LaunchPlan, alloc: PlanAllocation) -> list[str]:
        s = region_settings(self.settings, alloc.region)
        extras = [f"{key}: {s[key]}" for key in ("key_name", "subnet_id", "security_group_ids")
                  if s.get(key)]
        if self._needs_placement_group(plan, alloc):
            extras.append(f"cluster placement group: {placement_group_name(plan.plan_id)}")
        return extras

    def scope(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def _needs_placement_group(plan: LaunchPlan, alloc: PlanAllocation) -> bool:
        return plan.mode == "single" and alloc.instances > 1

    # -- launch -----------------------------------------------------------------------
    def resolve_image(self, region: str) -> str:
        """The current Deep Learning AMI id of ``region`` (public SSM parameter)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            answer = self.client("ssm", region).get_parameter(Name=DLAMI_SSM_PARAMETER)
        except (ClientError, BotoCoreError) as exc:
            raise LaunchError(f"aws {region}: cannot look up the Deep Learning AMI "
                              f"({DLAMI_SSM_PARAMETER}): {exc}; set aws.image in the "
                              "launch config or pass --image aws=ami-...") from None
        return str(answer["Parameter"]["Value"])

    def _ensure_placement_group(self, region: str, name: str, plan: LaunchPlan) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client("ec2", region).create_placement_group(
                GroupName=name, Strategy="cluster",
                TagSpecifications=[{"ResourceType": "placement-group",
                                    "Tags": [{"Key": TAG_PLAN_ID, "Value": plan.plan_id}]}])
        except ClientError as exc:
            if error_code(exc) != "InvalidPlacementGroup.Duplicate":
                raise LaunchError(f"aws {region}: cannot create placement group {name}: "
                                  f"{exc}") from None
            return
        self.created_placement_groups.append((region, name))

    def _run_params(self, plan: LaunchPlan, alloc: PlanAllocation) -> dict[str, Any]:
        s = region_settings(self.settings, alloc.region)
        tags = [{"Key": TAG_PLAN_ID, "Value": plan.plan_id},
                {"Key": TAG_JOB, "Value": plan.job_name},
                {"Key": TAG_ALLOCATION, "Value": str(alloc.index)},
                {"Key": "Name", "Value": f"{plan.plan_id}-{alloc.index}"}]
        params: dict[str, Any] = {
            "ImageId": s.get("image") or self.resolve_image(alloc.region),
            "InstanceType": alloc.instance_type,
            "MinCount": alloc.instances, "MaxCount": alloc.instances,
            "TagSpecifications": [{"ResourceType": kind, "Tags": tags}
                                  for kind in ("instance", "volume")],
        }
        placement: dict[str, str] = {}
        if s.get("subnet_id"):
            params["SubnetId"] = s["subnet_id"]  # the subnet fixes the zone
        elif alloc.zone:
            placement["AvailabilityZone"] = alloc.zone
        if s.get("key_name"):
            params["KeyName"] = s["key_name"]
        if s.get("security_group_ids"):
            params["SecurityGroupIds"] = list(s["security_group_ids"])
        if self._needs_placement_group(plan, alloc):
            name = placement_group_name(plan.plan_id)
            self._ensure_placement_group(alloc.region, name, plan)
            placement["GroupName"] = name
        if placement:
            params["Placement"] = placement
        if alloc.spot:
            params["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": {
                "SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}}
        return params

    def launch(self, plan: LaunchPlan, alloc: PlanAllocation, created: list[Instance]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        where = f"aws {alloc.region} allocation {alloc.index} ({alloc.instances} x " \
                f"{alloc.instance_type}, {alloc.pricing})"
        with aws_errors(where):
            ec2 = self.client("ec2", alloc.region)
            params = self._run_params(plan, alloc)
        for generation in range(MAX_TOKEN_GENERATIONS):
            params["ClientToken"] = client_token(plan.plan_id, alloc.index, generation)
            try:
                answer = ec2.run_instances(**params)
            except ClientError as exc:
                code = error_code(exc)
                if code in CAPACITY_CODES:
                    raise CapacityError(f"{where}: no capacity or quota "
                                        f"({error_reason(exc)})") from None
                hint = (" (an earlier launch of this plan used other parameters, e.g. an "
                        "older default AMI: pin it with --image)"
                        if code == "IdempotentParameterMismatch" else "")
                raise LaunchError(f"{where}: {error_reason(exc)}{hint}") from None
            except BotoCoreError as exc:
                raise LaunchError(f"{where}: {exc}") from None
            instances = answer.get("Instances", [])
            if not instances or any(i["State"]["Name"] not in GONE | {"shutting-down"}
                                    for i in instances):
                break  # a new reservation, or the live one of an earlier identical request
        else:
            raise LaunchError(f"{where}: every client token is used by terminated instances")
        for item in instances:
            created.append(self._instance(item, alloc.region))

"""Launch, find and terminate a plan's EC2 instances (boto3, imported lazily).

- One ``run_instances`` per instance, in rank order: rank 0 first, so that the others'
  user data carries its private IP as ``MASTER_ADDR`` (:mod:`~gpucost.launcher.bootstrap`).
  Each call has a ``ClientToken`` derived from the plan id, allocation, rank and
  generation (:func:`~gpucost.launcher.naming.client_token`): a retried launch gets the
  same instance back, and instances of the plan that already run (found by tag) are
  reused, not launched again.
- User data: :func:`~gpucost.launcher.bootstrap.boot_script` (the job, its rank variables,
  the hard-limit timer, ``on_exit``); ``InstanceInitiatedShutdownBehavior=terminate``
  (``stop`` only for ``on_exit: stop`` on on-demand instances), so power-off ends billing.
- Tags ``gpucost:plan-id``, ``gpucost:job``, ``gpucost:allocation``, ``gpucost:rank``,
  ``Name`` and the plan's prices (``gpucost:usd-per-hour``, ``gpucost:plan-cost-usd``,
  ``gpucost:budget-usd``) on instances and volumes: ``status`` computes spend from them.
- Spot allocations use ``InstanceMarketOptions`` (one-time, terminate on interruption).
- Clusters (several instances training together: not ``divisible``) get a cluster
  placement group ``gpucost-<plan-id>-<alloc>`` and the security group ``gpucost-<plan-id>``
  allowing all traffic within itself (what EFA and NCCL need), besides the configured
  groups (or the VPC's default group). EFA instance types (``describe_instance_types``:
  ``EfaSupported``) get one ``InterfaceType=efa`` interface per supported EFA device,
  network card 0 as the primary (device 0), the others on device index 1.
  ``down`` (and a rollback) deletes the placement groups and security group again.
- Default image: the region's current AWS Deep Learning Base OSS Nvidia Driver GPU AMI
  (Ubuntu 22.04, with the EFA and NCCL stack), read from the public SSM parameter
  :data:`DLAMI_SSM_PARAMETER`; ``--image`` / ``aws.image`` override it.
"""

from __future__ import annotations

import shlex
import time
from typing import Any

from gpucost.clouds.aws import ClientFactory, default_client_factory, error_code, error_reason
from gpucost.launcher.aws_inventory import GONE, LIVE_FILTER, AwsInventory, aws_errors
from gpucost.launcher.backends import (
    TAG_ALLOCATION,
    TAG_JOB,
    TAG_PLAN_ID,
    CapacityError,
    Instance,
    LaunchError,
)
from gpucost.launcher.bootstrap import JobSettings, boot_script, hard_limit_hours, is_cluster
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
TAG_RANK = "gpucost:rank"
TAG_EXIT_STATUS = "gpucost:exit-status"
TAG_USD_PER_HOUR = "gpucost:usd-per-hour"
TAG_PLAN_COST = "gpucost:plan-cost-usd"
TAG_BUDGET = "gpucost:budget-usd"
TAG_HARD_LIMIT = "gpucost:hard-limit-hours"


def cluster_group_name(plan_id: str) -> str:
    """The security group of a plan's clusters (<= 255 chars; may not start with sg-)."""
    return f"gpucost-{plan_id}"[:255]


def cluster_placement_group(plan_id: str, allocation: int) -> str:
    """One cluster placement group per allocation (a group lives in one zone)."""
    return f"{placement_group_name(plan_id)}-{allocation}"[:255]


class AwsBackend(AwsInventory):
    """The ``aws`` launch backend."""

    name = "aws"
    needs_regions = True

    def __init__(self, settings: dict[str, Any], *, client_factory: ClientFactory | None = None,
                 poll_seconds: float = 5.0) -> None:
        self.settings = settings
        self.job = JobSettings.from_settings(settings.get("job"))
        self._factory = client_factory
        self._clients: dict[tuple[str, str], Any] = {}
        self.poll_seconds = poll_seconds
        self.created_placement_groups: list[tuple[str, str]] = []
        self.created_security_groups: list[tuple[str, str]] = []
        self._efa: dict[tuple[str, str], int] = {}

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
        extras = [f"{key}: {s[key]}" for key in ("key_name", "subnet_id", "security_group_ids",
                                                 "iam_instance_profile") if s.get(key)]
        if is_cluster(plan, alloc):
            extras.append(f"cluster placement group: "
                          f"{cluster_placement_group(plan.plan_id, alloc.index)}; security "
                          f"group {cluster_group_name(plan.plan_id)} (all traffic within "
                          "itself); EFA interfaces if the type has EFA (checked at launch)")
        extras.append(f"self-termination: on exit {self.job.on_exit}, hard limit "
                      f"{hard_limit_hours(self.job, alloc):g} h (shutdown behaviour "
                      f"{self._shutdown_behaviour(alloc)})")
        return extras

    def scope(self) -> dict[str, Any]:
        return {}

    def _shutdown_behaviour(self, alloc: PlanAllocation) -> str:
        # one-time spot instances cannot be stopped, only terminated
        return "stop" if self.job.on_exit == "stop" and not alloc.spot else "terminate"

    # -- look-ups ---------------------------------------------------------------------
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

    def efa_interfaces(self, region: str, instance_type: str) -> int:
        """How many EFA devices ``instance_type`` takes (0: no EFA, or type unknown)."""
        from botocore.exceptions import ClientError

        key = (region, instance_type)
        if key not in self._efa:
            try:
                types = self.client("ec2", region).describe_instance_types(
                    InstanceTypes=[instance_type])["InstanceTypes"]
            except ClientError as exc:
                if error_code(exc) != "InvalidInstanceType":
                    raise
                types = []  # let run_instances report an unknown type
            info = types[0].get("NetworkInfo", {}) if types else {}
            self._efa[key] = (int(info.get("EfaInfo", {}).get("MaximumEfaInterfaces") or 1)
                              if info.get("EfaSupported") else 0)
        return self._efa[key]

    def _network(self, ec2: Any, alloc: PlanAllocation, s: dict[str, Any]) -> tuple[str, str]:
        """(subnet id, VPC id): the configured subnet, else the default VPC's default
        subnet of the allocation's zone."""
        if s.get("subnet_id"):
            subnet = ec2.describe_subnets(SubnetIds=[s["subnet_id"]])["Subnets"][0]
            return subnet["SubnetId"], subnet["VpcId"]
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"]
        if not vpcs:
            raise LaunchError(f"aws {alloc.region}: no default VPC: set aws.subnet_id in the "
                              "launch config (or --subnet-id)")
        filters = [{"Name": "vpc-id", "Values": [vpcs[0]["VpcId"]]},
                   {"Name": "default-for-az", "Values": ["true"]}]
        if alloc.zone:
            filters.append({"Name": "availability-zone", "Values": [alloc.zone]})
        subnets = sorted(ec2.describe_subnets(Filters=filters)["Subnets"],
                         key=lambda x: x["AvailabilityZone"])
        if not subnets:
            raise LaunchError(f"aws {alloc.region}: no default subnet in "
                              f"{alloc.zone or 'the default VPC'}: set aws.subnet_id")
        return subnets[0]["SubnetId"], vpcs[0]["VpcId"]

    def _ensure_cluster_group(self, ec2: Any, region: str, vpc: str, plan: LaunchPlan) -> str:
        """The plan's security group in ``vpc``, allowing all traffic within itself
        (EFA requires it; NCCL and torchrun use arbitrary ports)."""
        name = cluster_group_name(plan.plan_id)
        found = ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": [name]}, {"Name": "vpc-id", "Values": [vpc]}])
        if found["SecurityGroups"]:
            return str(found["SecurityGroups"][0]["GroupId"])
        group = ec2.create_security_group(
            GroupName=name, VpcId=vpc,
            Description="gpucost: all traffic between the instances of one plan (EFA, NCCL)",
            TagSpecifications=[{"ResourceType": "security-group",
                                "Tags": [{"Key": TAG_PLAN_ID, "Value": plan.plan_id}]}])
        gid = str(group["GroupId"])
        self.created_security_groups.append((region, gid))
        itself = [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": gid}]}]
        ec2.authorize_security_group_ingress(GroupId=gid, IpPermissions=itself)
        ec2.authorize_security_group_egress(GroupId=gid, IpPermissions=itself)
        return gid

    def _base_groups(self, ec2: Any, vpc: str, s: dict[str, Any]) -> list[str]:
        """The configured security groups, else the VPC's default one (naming any group
        replaces the default, so it is named explicitly)."""
        if s.get("security_group_ids"):
            return list(s["security_group_ids"])
        found = ec2.describe_security_groups(Filters=[
            {"Name": "group-name", "Values": ["default"]}, {"Name": "vpc-id", "Values": [vpc]}])
        return [str(g["GroupId"]) for g in found["SecurityGroups"]]

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

    # -- launch -----------------------------------------------------------------------
    def _tags(self, plan: LaunchPlan, alloc: PlanAllocation) -> list[dict[str, str]]:
        tags = {TAG_PLAN_ID: plan.plan_id, TAG_JOB: plan.job_name,
                TAG_ALLOCATION: str(alloc.index), "Name": f"{plan.plan_id}-{alloc.index}",
                TAG_USD_PER_HOUR: f"{alloc.usd_per_hour:.6g}",
                TAG_PLAN_COST: f"{plan.total_cost_usd:.2f}",
                TAG_HARD_LIMIT: f"{hard_limit_hours(self.job, alloc):g}"}
        if plan.budget_usd is not None:
            tags[TAG_BUDGET] = f"{plan.budget_usd:.2f}"
        return [{"Key": k, "Value": v} for k, v in tags.items()]

    def _run_params(self, plan: LaunchPlan, alloc: PlanAllocation) -> dict[str, Any]:
        """Everything but the user data, token and rank tag (the same for every rank)."""
        s = region_settings(self.settings, alloc.region)
        ec2 = self.client("ec2", alloc.region)
        params: dict[str, Any] = {
            "ImageId": s.get("image") or self.resolve_image(alloc.region),
            "InstanceType": alloc.instance_type, "MinCount": 1, "MaxCount": 1,
            "InstanceInitiatedShutdownBehavior": self._shutdown_behaviour(alloc),
        }
        placement: dict[str, str] = {}
        if s.get("key_name"):
            params["KeyName"] = s["key_name"]
        if s.get("iam_instance_profile"):
            profile = str(s["iam_instance_profile"])
            params["IamInstanceProfile"] = ({"Arn": profile} if profile.startswith("arn:")
                                            else {"Name": profile})
        if is_cluster(plan, alloc):
            name = cluster_placement_group(plan.plan_id, alloc.index)
            self._ensure_placement_group(alloc.region, name, plan)
            placement["GroupName"] = name
            subnet, vpc = self._network(ec2, alloc, s)
            groups = self._base_groups(ec2, vpc, s) + [
                self._ensure_cluster_group(ec2, alloc.region, vpc, plan)]
            efa = self.efa_interfaces(alloc.region, alloc.instance_type)
            if efa:  # the subnet and groups go on the interfaces, not the instance
                params["NetworkInterfaces"] = [
                    {"NetworkCardIndex": card, "DeviceIndex": 0 if card == 0 else 1,
                     "InterfaceType": "efa", "SubnetId": subnet, "Groups": groups,
                     "DeleteOnTermination": True} for card in range(efa)]
            else:
                params["SubnetId"] = subnet
                params["SecurityGroupIds"] = groups
        else:
            if s.get("subnet_id"):
                params["SubnetId"] = s["subnet_id"]  # the subnet fixes the zone
            elif alloc.zone:
                placement["AvailabilityZone"] = alloc.zone
            if s.get("security_group_ids"):
                params["SecurityGroupIds"] = list(s["security_group_ids"])
        if placement:
            params["Placement"] = placement
        if alloc.spot:
            params["InstanceMarketOptions"] = {"MarketType": "spot", "SpotOptions": {
                "SpotInstanceType": "one-time", "InstanceInterruptionBehavior": "terminate"}}
        return params

    def _running(self, ec2: Any, plan: LaunchPlan, alloc: PlanAllocation) -> dict[int, dict]:
        """The allocation's instances that exist already, by rank (a relaunch reuses them)."""
        pages = ec2.get_paginator("describe_instances").paginate(Filters=[
            {"Name": f"tag:{TAG_PLAN_ID}", "Values": [plan.plan_id]},
            {"Name": f"tag:{TAG_ALLOCATION}", "Values": [str(alloc.index)]},
            {"Name": "instance-state-name", "Values": LIVE_FILTER}])
        found: dict[int, dict] = {}
        for page in pages:
            for reservation in page["Reservations"]:
                for item in reservation["Instances"]:
                    rank = {t["Key"]: t["Value"] for t in item.get("Tags", [])}.get(TAG_RANK)
                    if rank is not None and rank.isdigit():
                        found.setdefault(int(rank), item)
        return found

    def launch(self, plan: LaunchPlan, alloc: PlanAllocation, created: list[Instance]) -> None:
        where = f"aws {alloc.region} allocation {alloc.index} ({alloc.instances} x " \
                f"{alloc.instance_type}, {alloc.pricing})"
        with aws_errors(where):
            ec2 = self.client("ec2", alloc.region)
            running = self._running(ec2, plan, alloc)
            _refuse_stopped(where, plan, list(running.values()))
            if len(running) >= alloc.instances:
                return  # all there already: nothing new
            params = self._run_params(plan, alloc)
        tags = self._tags(plan, alloc)
        master = ""
        for rank in range(alloc.instances):
            item = running.get(rank)
            if item is None:
                rank_tags = [*tags, {"Key": TAG_RANK, "Value": str(rank)}]
                params.update(
                    UserData=boot_script(plan, alloc, rank, master, self.job),
                    TagSpecifications=[{"ResourceType": kind, "Tags": rank_tags}
                                       for kind in ("instance", "volume")])
                item = self._run_one(ec2, params, plan, alloc, rank, where)
                created.append(self._instance(item, alloc.region))
            if rank == 0 and is_cluster(plan, alloc):
                master = str(item.get("PrivateIpAddress") or "")
                if not master:
                    raise LaunchError(f"{where}: rank 0 ({item['InstanceId']}) has no private "
                                      "IP address to give the other nodes")

    def _run_one(self, ec2: Any, params: dict[str, Any], plan: LaunchPlan,
                 alloc: PlanAllocation, rank: int, where: str) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        for generation in range(MAX_TOKEN_GENERATIONS):
            params["ClientToken"] = client_token(plan.plan_id, alloc.index, generation, rank)
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
            _refuse_stopped(where, plan, instances)
            if instances and instances[0]["State"]["Name"] not in GONE | {"shutting-down"}:
                return dict(instances[0])  # new, or the live one of an identical request
        raise LaunchError(f"{where}: every client token is used by terminated instances")

    # -- status and clean-up ----------------------------------------------------------
    def _instance(self, item: dict[str, Any], region: str) -> Instance:
        inst = super()._instance(item, region)
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        extra = {"rank": tags.get(TAG_RANK, ""), "exit_status": tags.get(TAG_EXIT_STATUS, ""),
                 "usd_per_hour": tags.get(TAG_USD_PER_HOUR, ""),
                 "plan_cost_usd": tags.get(TAG_PLAN_COST, ""),
                 "budget_usd": tags.get(TAG_BUDGET, ""),
                 "hard_limit_hours": tags.get(TAG_HARD_LIMIT, ""),
                 "private_ip": str(item.get("PrivateIpAddress") or "")}
        if item.get("LaunchTime"):
            launched = item["LaunchTime"]
            extra["launched_at"] = (launched.isoformat() if hasattr(launched, "isoformat")
                                    else str(launched))
        extra["ended_at"] = _transition_time(item.get("StateTransitionReason") or "")
        inst.extra.update({k: v for k, v in extra.items() if v})
        return inst

    def inspect(self, plan_id: str, regions: list[str]) -> list[Instance]:
        """Like ``find``, and also the plan's terminated instances (EC2 lists them for
        about an hour): ``status`` shows how a finished run ended."""
        found: list[Instance] = []
        for region in regions:
            with aws_errors(f"aws {region}"):
                pages = self.client("ec2", region).get_paginator("describe_instances").paginate(
                    Filters=[{"Name": f"tag:{TAG_PLAN_ID}", "Values": [plan_id]}])
                for page in pages:
                    for reservation in page["Reservations"]:
                        # the filter value may act as a wildcard: only an exact tag counts
                        found += [self._instance(i, region) for i in reservation["Instances"]
                                  if {t["Key"]: t["Value"] for t in i.get("Tags", [])}.get(
                                      TAG_PLAN_ID) == plan_id]
        return found

    def terminate(self, instances: list[Instance], timeout: float) -> None:
        """Terminate (see :class:`AwsInventory`), then delete the security groups this
        backend created (a rolled-back launch)."""
        deadline = time.monotonic() + timeout
        super().terminate(instances, timeout)
        for region, gid in self.created_security_groups:
            with aws_errors(f"aws {region}"):
                self._delete_security_group(self.client("ec2", region), gid, deadline)
        self.created_security_groups.clear()

    def cleanup(self, plan_id: str, regions: list[str], timeout: float) -> list[str]:
        """Delete what a launch of ``plan_id`` created besides instances (placement groups,
        its security group), once the instances are gone; returns what was deleted."""
        deadline = time.monotonic() + timeout
        deleted: list[str] = []
        tag_filter = [{"Name": f"tag:{TAG_PLAN_ID}", "Values": [plan_id]}]
        for region in regions:
            with aws_errors(f"aws {region}"):
                ec2 = self.client("ec2", region)
                for group in ec2.describe_placement_groups(Filters=tag_filter).get(
                        "PlacementGroups", []):
                    self._delete_placement_group(ec2, group["GroupName"])
                    deleted.append(f"placement group {group['GroupName']} ({region})")
                for group in ec2.describe_security_groups(Filters=tag_filter)["SecurityGroups"]:
                    self._delete_security_group(ec2, group["GroupId"], deadline)
                    deleted.append(f"security group {group['GroupId']} "
                                   f"{group.get('GroupName', '')} ({region})")
        return deleted

    def _delete_security_group(self, ec2: Any, gid: str, deadline: float) -> None:
        """Delete ``gid``, waiting while terminated instances' interfaces still use it."""
        from botocore.exceptions import ClientError

        while True:
            try:
                ec2.delete_security_group(GroupId=gid)
                return
            except ClientError as exc:
                code = error_code(exc)
                if code == "InvalidGroup.NotFound":
                    return
                if code != "DependencyViolation" or time.monotonic() >= deadline:
                    raise
            time.sleep(self.poll_seconds)


STOPPED_STATES = frozenset({"stopping", "stopped"})


def _refuse_stopped(where: str, plan: LaunchPlan, items: list[dict[str, Any]]) -> None:
    """A stopped instance of the plan runs no job: counting it as running would report a
    launch that did nothing (e.g. after ``on_exit: stop``). Name it and stop."""
    stopped = [str(i["InstanceId"]) for i in items if i["State"]["Name"] in STOPPED_STATES]
    if stopped:
        raise LaunchError(f"{where}: instance(s) {', '.join(stopped)} of plan {plan.plan_id} "
                          "exist but are stopped, so the job does not run there; `gpucost "
                          f"down {shlex.quote(plan.plan_id)}` and launch again (or start "
                          "them yourself)")


def _transition_time(reason: str) -> str:
    """The time in EC2's ``StateTransitionReason`` ("User initiated (2026-12-01 10:00:00
    GMT)"), as ISO text, or ''."""
    start, end = reason.rfind("("), reason.rfind(" GMT)")
    if start < 0 or end < start:
        return ""
    return reason[start + 1:end].replace(" ", "T") + "+00:00"

"""Find and terminate a plan's EC2 instances by tag (the ``status``/``down`` half of
:class:`gpucost.launcher.aws.AwsBackend`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from gpucost.clouds.aws import error_code, error_reason, one_line
from gpucost.launcher.backends import (
    TAG_ALLOCATION,
    TAG_JOB,
    TAG_PLAN_ID,
    Instance,
    LaunchError,
)

GONE = frozenset({"terminated"})
LIVE_FILTER = ["pending", "running", "stopping", "stopped", "shutting-down"]
# TerminateInstances errors worth another try: ids of just-launched instances are not yet
# visible everywhere (EC2 is eventually consistent), and request throttling.
TERMINATE_RETRY_CODES = frozenset({"InvalidInstanceID.NotFound", "RequestLimitExceeded",
                                   "Throttling"})
TERMINATE_TRIES = 5  # first delay 0.5 s, doubling: at most 7.5 s of sleeping in all
TERMINATE_FIRST_DELAY = 0.5


@contextmanager
def aws_errors(where: str) -> Iterator[None]:
    """Turn boto errors (no credentials, access denied, ...) into one-line LaunchErrors."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except ClientError as exc:
        raise LaunchError(f"{where}: {error_reason(exc)}") from None
    except BotoCoreError as exc:
        raise LaunchError(f"{where}: {one_line(str(exc))}") from None


class AwsInventory:
    """Mixin: needs ``name``, ``client(service, region)``, ``poll_seconds`` and
    ``created_placement_groups`` from the backend."""

    name: str
    poll_seconds: float
    created_placement_groups: list[tuple[str, str]]
    # replaced by tests so the backoff costs no time
    retry_sleep: Callable[[float], None] = staticmethod(time.sleep)

    def client(self, service: str, region: str) -> Any:
        raise NotImplementedError

    def _instance(self, item: dict[str, Any], region: str) -> Instance:
        tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
        group = item.get("Placement", {}).get("GroupName") or ""
        return Instance(
            provider=self.name, region=region,
            zone=item.get("Placement", {}).get("AvailabilityZone", ""),
            id=item["InstanceId"], instance_type=item.get("InstanceType", ""),
            state=item["State"]["Name"], allocation=tags.get(TAG_ALLOCATION, ""),
            pricing="spot" if item.get("InstanceLifecycle") == "spot" else "on_demand",
            extra={"placement_group": group} if group else {})

    def _tagged(self, key: str, value: str, regions: list[str]
                ) -> list[tuple[dict[str, str], Instance]]:
        """Live instances whose tag ``key`` is exactly ``value``, with all their tags.

        EC2 filter values treat ``*`` and ``?`` as wildcards, so the filter only narrows
        the listing and equality is checked again here.
        """
        found: list[tuple[dict[str, str], Instance]] = []
        for region in regions:
            with aws_errors(f"aws {region}"):
                pages = self.client("ec2", region).get_paginator("describe_instances").paginate(
                    Filters=[{"Name": f"tag:{key}", "Values": [value]},
                             {"Name": "instance-state-name", "Values": LIVE_FILTER}])
                for page in pages:
                    for reservation in page["Reservations"]:
                        for item in reservation["Instances"]:
                            tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
                            if tags.get(key) == value:
                                found.append((tags, self._instance(item, region)))
        return found

    def find(self, plan_id: str, regions: list[str]) -> list[Instance]:
        return [inst for _, inst in self._tagged(TAG_PLAN_ID, plan_id, regions)]

    def find_job(self, job_name: str, regions: list[str]) -> dict[str, list[Instance]]:
        """Live instances of any plan of job ``job_name``, by plan id."""
        plans: dict[str, list[Instance]] = {}
        for tags, inst in self._tagged(TAG_JOB, job_name, regions):
            plans.setdefault(tags.get(TAG_PLAN_ID, "?"), []).append(inst)
        return plans

    def terminate(self, instances: list[Instance], timeout: float) -> None:
        """Terminate, wait until all are ``terminated``, then delete their placement groups
        (and any this backend created, e.g. during a rolled-back launch)."""
        deadline = time.monotonic() + timeout
        by_region: dict[str, list[Instance]] = {r: [] for r, _ in self.created_placement_groups}
        for inst in instances:
            by_region.setdefault(inst.region, []).append(inst)
        for region, group in by_region.items():
            with aws_errors(f"aws {region}"):
                ec2 = self.client("ec2", region)
                if group:
                    self._terminate_and_wait(ec2, region, [i.id for i in group], deadline,
                                             timeout)
                groups = {i.extra.get("placement_group", "") for i in group} | {
                    n for r, n in self.created_placement_groups if r == region}
                for name in sorted(g for g in groups if g.startswith("gpucost-")):
                    self._delete_placement_group(ec2, name)

    def _terminate_and_wait(self, ec2: Any, region: str, ids: list[str], deadline: float,
                            timeout: float) -> None:
        self._terminate_with_backoff(ec2, ids)
        while True:
            items = [i for page in ec2.get_paginator("describe_instances").paginate(
                InstanceIds=ids) for r in page["Reservations"] for i in r["Instances"]]
            left = [i["InstanceId"] for i in items if i["State"]["Name"] not in GONE]
            if not left:
                return
            if time.monotonic() >= deadline:
                raise LaunchError(f"aws {region}: still not terminated after {timeout:g}s: "
                                  f"{', '.join(left)}")
            time.sleep(self.poll_seconds)

    def _terminate_with_backoff(self, ec2: Any, ids: list[str]) -> None:
        """TerminateInstances, retried a few times with exponential backoff on
        :data:`TERMINATE_RETRY_CODES` so a rollback or ``down`` does not leave instances."""
        from botocore.exceptions import ClientError

        delay = TERMINATE_FIRST_DELAY
        for attempt in range(1, TERMINATE_TRIES + 1):
            try:
                ec2.terminate_instances(InstanceIds=ids)
                return
            except ClientError as exc:
                if error_code(exc) not in TERMINATE_RETRY_CODES or attempt == TERMINATE_TRIES:
                    raise
            self.retry_sleep(delay)
            delay *= 2

    def _delete_placement_group(self, ec2: Any, name: str) -> None:
        from botocore.exceptions import ClientError

        try:
            ec2.delete_placement_group(GroupName=name)
        except ClientError as exc:
            if error_code(exc) != "InvalidPlacementGroup.Unknown":
                raise LaunchError(f"aws: cannot delete placement group {name}: {exc}") from None

"""Find and delete a plan's Compute Engine VMs by label (the ``status``/``down`` half of
:class:`gpucost.launcher.gcp.GcpBackend`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gpucost.launcher.backends import (
    LABEL_ALLOCATION,
    LABEL_JOB,
    LABEL_PLAN_ID,
    Instance,
    LaunchError,
)
from gpucost.launcher.naming import label_value


def op_errors(op: Any) -> str:
    """The errors of a finished operation as one line ('' when it succeeded)."""
    errors = [f"{e.code}: {e.message}" for e in op.error.errors] if op.error else []
    if not errors and op.http_error_status_code and op.http_error_status_code >= 400:
        errors.append(f"HTTP {op.http_error_status_code}: {op.http_error_message}")
    return "; ".join(errors)


@contextmanager
def gcp_errors(where: str) -> Iterator[None]:
    """Turn API and auth errors into one-line LaunchErrors."""
    from google.api_core.exceptions import GoogleAPICallError
    from google.auth.exceptions import GoogleAuthError

    try:
        yield
    except (GoogleAPICallError, GoogleAuthError) as exc:
        raise LaunchError(f"{where}: {str(exc).splitlines()[0]}") from None


class GcpInventory:
    """Mixin: needs ``name``, ``project``, ``_client(kind)`` and ``wait`` from the backend."""

    name: str
    project: str

    def _client(self, kind: str) -> Any:
        raise NotImplementedError

    def wait(self, zone: str, operation: str, timeout: float) -> Any:
        raise NotImplementedError

    def _labelled_vms(self, key: str, value: str) -> list[tuple[str, Any]]:
        """(zone, VM) of every VM (in every zone) whose label ``key`` is exactly ``value``."""
        from google.cloud import compute_v1

        request = compute_v1.AggregatedListInstancesRequest(
            project=self.project, filter=f'labels.{key} = "{value}"')
        with gcp_errors(f"gcp project {self.project}"):
            listing = list(self._client("instances").aggregated_list(request=request))
        return [(scope.rsplit("/", 1)[-1], vm) for scope, scoped in listing
                for vm in scoped.instances
                if vm.labels.get(key) == value]  # the filter narrows; equality is checked

    def _instance(self, zone: str, vm: Any, extra: dict[str, str] | None = None) -> Instance:
        spot = vm.scheduling.provisioning_model == "SPOT"
        return Instance(self.name, zone.rsplit("-", 1)[0], zone, vm.name,
                        vm.machine_type.rsplit("/", 1)[-1], vm.status,
                        vm.labels.get(LABEL_ALLOCATION, ""), "spot" if spot else "on_demand",
                        extra or {})

    def _labelled(self, key: str, value: str) -> list[tuple[dict[str, str], Instance]]:
        """VMs (in every zone) whose label ``key`` is exactly ``value``, with their labels."""
        return [(dict(vm.labels), self._instance(zone, vm))
                for zone, vm in self._labelled_vms(key, value)]

    def find(self, plan_id: str, regions: list[str]) -> list[Instance]:
        """All the plan's VMs in every zone (``regions`` is not needed and ignored)."""
        return [inst for _, inst in self._labelled(LABEL_PLAN_ID, label_value(plan_id))]

    def find_job(self, job_name: str, regions: list[str]) -> dict[str, list[Instance]]:
        """VMs of any plan of job ``job_name`` that still exist, by plan id (label)."""
        plans: dict[str, list[Instance]] = {}
        for labels, inst in self._labelled(LABEL_JOB, label_value(job_name)):
            if inst.state == "TERMINATED":  # stopped: not running, not billed for compute
                continue
            plans.setdefault(labels.get(LABEL_PLAN_ID, "?"), []).append(inst)
        return plans

    def terminate(self, instances: list[Instance], timeout: float) -> None:
        from google.api_core import exceptions

        deadline = time.monotonic() + timeout
        pending: list[tuple[str, str]] = []
        for inst in instances:
            try:
                op = self._client("instances").delete(project=self.project, zone=inst.zone,
                                                      instance=inst.id)
            except exceptions.NotFound:
                continue
            except exceptions.GoogleAPICallError as exc:
                raise LaunchError(f"gcp {inst.zone}: cannot delete {inst.id}: {exc}") from None
            pending.append((inst.zone, op.name))
        for zone, name in pending:
            with gcp_errors(f"gcp {zone}"):
                op = self.wait(zone, name, max(deadline - time.monotonic(), 0.0))
            errors = op_errors(op)
            if errors and "RESOURCE_NOT_FOUND" not in errors:
                raise LaunchError(f"gcp {zone}: delete failed: {errors}")

"""The registry of launch backends and what they share.

:data:`REGISTRY` maps a plan's ``provider`` to the class that launches on it, as an
import path: looking a backend up never imports a cloud SDK, and adding a cloud is one
module plus one line here.

A backend implements :class:`Backend`. ``launch`` appends every instance it creates to
the ``created`` list it is given *as soon as it exists*, so that a failure half-way
through an allocation can still be rolled back by the caller.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from gpucost.errors import GpucostError, InputError
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation
from gpucost.plugins import import_class

REGISTRY: dict[str, str] = {
    "aws": "gpucost.launcher.aws:AwsBackend",
    "gcp": "gpucost.launcher.gcp:GcpBackend",
}

# Tag (AWS) and label (GCP) keys; GCP label keys cannot contain ':'.
TAG_PLAN_ID = "gpucost:plan-id"
TAG_JOB = "gpucost:job"
TAG_ALLOCATION = "gpucost:allocation"
LABEL_PLAN_ID = "gpucost-plan-id"
LABEL_JOB = "gpucost-job"
LABEL_ALLOCATION = "gpucost-allocation"


class LaunchError(GpucostError):
    """A launch, status or teardown failed at the cloud: exit status 1."""

    exit_code = 1


class CapacityError(LaunchError):
    """The cloud had no capacity or quota for an allocation."""


@dataclass
class Instance:
    """One cloud instance (or VM) belonging to a plan."""

    provider: str
    region: str
    zone: str
    id: str
    instance_type: str
    state: str
    allocation: str = ""
    pricing: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Backend(Protocol):
    """Launches, finds and terminates one cloud's instances for a plan."""

    name: str
    needs_regions: bool  # True: status/down must be told which regions to search

    def describe_image(self, alloc: PlanAllocation) -> str:
        """How the image will be chosen, for the dry run (no cloud calls)."""
        ...

    def describe_extras(self, plan: LaunchPlan, alloc: PlanAllocation) -> list[str]:
        """Other things the launch would create or set (placement group, accelerators)."""
        ...

    def launch(self, plan: LaunchPlan, alloc: PlanAllocation, created: list[Instance]) -> None:
        """Create the allocation's instances; raise :class:`LaunchError` on failure."""
        ...

    def find(self, plan_id: str, regions: list[str]) -> list[Instance]:
        """The plan's instances that still exist, found by tag / label."""
        ...

    def terminate(self, instances: list[Instance], timeout: float) -> None:
        """Terminate ``instances`` and wait until they are gone (or raise on timeout)."""
        ...

    def scope(self) -> dict[str, Any]:
        """What ``status``/``down`` need to search again later (e.g. the GCP project)."""
        ...


def backend_names() -> list[str]:
    return list(REGISTRY)


def get_backend(name: str, settings: dict[str, Any] | None = None, **options: Any) -> Backend:
    """Instantiate the backend registered for provider ``name``."""
    if name not in REGISTRY:
        raise InputError("provider", name, f"one of {', '.join(REGISTRY)} (no launcher for it)")
    return import_class(REGISTRY[name])(settings or {}, **options)

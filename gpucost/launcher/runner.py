"""Launch a whole plan: all-or-nothing across allocations and providers.

Allocations are launched in plan order. If one fails (no capacity, no quota, a bad
request), everything this launch created so far is terminated again and a
:class:`~gpucost.launcher.backends.LaunchError` (exit status 1) says what failed and what
was rolled back. With ``allow_partial`` only the failing allocation's own half-made
instances are cleaned up; the other allocations keep running and the result lists the
failures.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpucost.errors import InputError
from gpucost.launcher.backends import REGISTRY, Backend, Instance, LaunchError, get_backend
from gpucost.launcher.config import LaunchConfig
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation
from gpucost.launcher.state import write_state

Echo = Callable[[str], None]


@dataclass
class LaunchResult:
    """What a launch left running, and the allocations that failed (``allow_partial``)."""

    instances: list[Instance] = field(default_factory=list)
    failed: list[tuple[PlanAllocation, str]] = field(default_factory=list)
    state_file: Path | None = None


def make_backends(plan: LaunchPlan, config: LaunchConfig,
                  options: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Backend]:
    """One backend per provider used by the plan (unknown provider: InputError)."""
    options = options or {}
    for alloc in plan.allocations:
        if alloc.provider not in REGISTRY:
            raise InputError(plan.path, f"allocations[{alloc.index}].provider",
                             f"one of {', '.join(REGISTRY)} (no launcher for "
                             f"{alloc.provider!r})")
    names = dict.fromkeys(a.provider for a in plan.allocations)
    return {n: get_backend(n, config.provider(n), **options.get(n, {})) for n in names}


def _rollback(backends: Mapping[str, Backend], created: Mapping[str, list[Instance]],
              timeout: float) -> str:
    """Terminate what was created; returns a clause for the error message."""
    total = sum(len(v) for v in created.values())
    problems = []
    for name, backend in backends.items():
        try:
            backend.terminate(created.get(name, []), timeout)
        except Exception as exc:  # noqa: BLE001 - report every rollback failure, keep going
            ids = ", ".join(i.id for i in created.get(name, [])) or "none"
            problems.append(f"ROLLBACK FAILED on {name} ({exc}); check instances: {ids}")
    if problems:
        return "; ".join(problems)
    return f"rolled back: terminated the {total} instance(s) this launch had created"


def launch_plan(plan: LaunchPlan, backends: Mapping[str, Backend], *,
                allow_partial: bool = False, timeout: float = 900.0,
                echo: Echo = print) -> LaunchResult:
    """Launch every allocation of ``plan`` (see the module docstring for failures)."""
    created: dict[str, list[Instance]] = {name: [] for name in backends}
    result = LaunchResult()
    for alloc in plan.allocations:
        backend = backends[alloc.provider]
        mine = created[alloc.provider]
        before = len(mine)
        try:
            backend.launch(plan, alloc, mine)
        except LaunchError as exc:
            if not allow_partial:
                raise type(exc)(f"{exc}; {_rollback(backends, created, timeout)}") from None
            partial = mine[before:]
            del mine[before:]
            if partial:
                backend.terminate(partial, timeout)
            echo(f"[{alloc.index}] FAILED: {exc}")
            result.failed.append((alloc, str(exc)))
            continue
        ids = ", ".join(i.id for i in mine[before:]) or "already running"
        echo(f"[{alloc.index}] launched {alloc.instances} x {alloc.instance_type} in "
             f"{alloc.provider} {alloc.zone or alloc.region}: {ids}")
    result.instances = [i for name in backends for i in created[name]]
    providers: dict[str, dict[str, Any]] = {}
    for name, backend in backends.items():
        regions = sorted({a.region for a in plan.allocations if a.provider == name})
        try:
            scope = backend.scope()
        except LaunchError:
            scope = {}
        providers[name] = {"regions": regions, **scope}
    result.state_file = write_state(plan.plan_id, providers,
                                    [i.to_json() for i in result.instances])
    return result

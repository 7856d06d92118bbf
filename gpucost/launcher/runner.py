"""Launch a whole plan: all-or-nothing across allocations and providers.

Allocations are launched in plan order. If one fails (no capacity, no quota, a bad
request, any unexpected error, SIGINT or SIGTERM), everything this launch created so far
is terminated again and a
:class:`~gpucost.launcher.backends.LaunchError` (exit status 1) says what failed and what
was rolled back. With ``allow_partial`` only the failing allocation's own half-made
instances are cleaned up; the other allocations keep running and the result lists the
failures.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpucost.errors import InputError
from gpucost.formatting import redact_urls
from gpucost.launcher.backends import REGISTRY, Backend, Instance, LaunchError, get_backend
from gpucost.launcher.config import LaunchConfig
from gpucost.launcher.interrupts import LaunchInterrupted, SignalGuard, signal_guard
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


def _sweep(plan: LaunchPlan, alloc: PlanAllocation, backend: Backend,
           mine: list[Instance]) -> None:
    """Add the allocation's tagged instances that ``mine`` lacks: an interruption inside
    the create call can leave instances the cloud made but whose answer never arrived."""
    try:
        found = backend.find(plan.plan_id, [alloc.region])
    except Exception:  # noqa: BLE001 - best effort; the record and message name the plan
        return
    known = {i.id for i in mine}
    mine += [i for i in found if i.allocation == str(alloc.index) and i.id not in known]


def _failure(exc: BaseException) -> str:
    """One line for what stopped the launch."""
    if isinstance(exc, LaunchInterrupted | KeyboardInterrupt):
        name = exc.args[0] if isinstance(exc, LaunchInterrupted) else "SIGINT"
        return f"interrupted ({name})"
    if isinstance(exc, LaunchError):
        return str(exc)
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {redact_urls(text)}"


def _providers(plan: LaunchPlan, backends: Mapping[str, Backend]) -> dict[str, dict[str, Any]]:
    providers: dict[str, dict[str, Any]] = {}
    for name, backend in backends.items():
        regions = sorted({a.region for a in plan.allocations if a.provider == name})
        try:
            scope = backend.scope()
        except LaunchError:
            scope = {}
        providers[name] = {"regions": regions, **scope}
    return providers


def launch_plan(plan: LaunchPlan, backends: Mapping[str, Backend], *,
                allow_partial: bool = False, timeout: float = 900.0,
                echo: Echo = print) -> LaunchResult:
    """Launch every allocation of ``plan`` (see the module docstring for failures).

    The local record is written before anything is created and again after every
    allocation, so an interrupted or crashed launch still says where to look. SIGINT,
    SIGTERM and any exception (not only :class:`LaunchError`) stop the launch and roll
    back what it created (``allow_partial``: keep it), then raise :class:`LaunchError`.
    """
    created: dict[str, list[Instance]] = {name: [] for name in backends}
    result = LaunchResult()
    providers = _providers(plan, backends)

    def record(status: str) -> Path | None:
        return write_state(plan.plan_id, providers,
                           [i.to_json() for name in backends for i in created[name]], status,
                           plan_path=str(Path(plan.path).resolve()) if plan.path else None)

    result.state_file = record("launching")
    with signal_guard(echo) as guard:
        current: PlanAllocation | None = None
        try:
            for alloc in plan.allocations:
                current = alloc
                _launch_one(plan, alloc, backends, created, result, allow_partial, timeout,
                            echo, guard, record)
            result.instances = [i for name in backends for i in created[name]]
            result.state_file = record("partial" if result.failed else "launched")
        except LaunchError:
            raise  # already handled: rolled back (or kept, --allow-partial) and said so
        except (Exception, KeyboardInterrupt, LaunchInterrupted) as exc:
            # Anything else, wherever it struck (a signal may land between two calls):
            # stop creating, find what the interrupted call may have made, roll back.
            with guard.hold():
                if current is not None:
                    _sweep(plan, current, backends[current.provider],
                           created[current.provider])
                _stop(plan, current, backends, created, exc, allow_partial, timeout, record)
    return result


def _launch_one(plan: LaunchPlan, alloc: PlanAllocation, backends: Mapping[str, Backend],
                created: Mapping[str, list[Instance]], result: LaunchResult,
                allow_partial: bool, timeout: float, echo: Echo, guard: SignalGuard,
                record: Callable[[str], Path | None]) -> None:
    """Launch one allocation; a LaunchError rolls back everything (or, ``allow_partial``,
    only this allocation's half-made instances) and is re-raised or recorded."""
    backend = backends[alloc.provider]
    mine = created[alloc.provider]
    before = len(mine)
    try:
        backend.launch(plan, alloc, mine)
    except LaunchError as exc:
        with guard.hold():
            if not allow_partial:
                clause = _rollback(backends, created, timeout)
                if "FAILED" not in clause:
                    for items in created.values():
                        items.clear()
                record("rolled back" if "FAILED" not in clause else "rollback failed")
                raise type(exc)(f"{exc}; {clause}") from None
            partial = mine[before:]
            del mine[before:]
            if partial:
                backend.terminate(partial, timeout)
        echo(f"[{alloc.index}] FAILED: {exc}")
        result.failed.append((alloc, str(exc)))
        return
    ids = ", ".join(i.id for i in mine[before:]) or "already running"
    echo(f"[{alloc.index}] launched {alloc.instances} x {alloc.instance_type} in "
         f"{alloc.provider} {alloc.zone or alloc.region}: {ids}")
    record("launching")


def _stop(plan: LaunchPlan, alloc: PlanAllocation | None, backends: Mapping[str, Backend],
          created: Mapping[str, list[Instance]], exc: BaseException, allow_partial: bool,
          timeout: float, record: Callable[[str], Path | None]) -> None:
    """An interruption or unexpected error: roll back (or keep) and raise LaunchError."""
    what = f"allocation {alloc.index}: {_failure(exc)}" if alloc else _failure(exc)
    if allow_partial:
        record("interrupted")
        ids = ", ".join(i.id for name in backends for i in created[name]) or "none"
        raise LaunchError(f"{what}; kept what was created (--allow-partial): {ids}; "
                          f"`gpucost down {shlex.quote(plan.plan_id)}` terminates it") from None
    record("interrupted")
    clause = _rollback(backends, created, timeout)
    if "FAILED" in clause:
        record("rollback failed")
    else:
        for items in created.values():
            items.clear()
        record("rolled back")
    raise LaunchError(f"{what}; {clause}") from None

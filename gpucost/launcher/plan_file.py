"""Load and validate a plan JSON file (``plan_version`` 1, see :mod:`gpucost.planner.plan`).

Every problem is an :class:`~gpucost.errors.InputError` naming the file and the field
(``plan.json: allocations[1].pricing: 'on_demand' or 'spot', got 'reserved'``), so the CLI
prints one line and exits 2. Only the fields the launcher uses are checked; others are
kept untouched in :attr:`LaunchPlan.raw`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gpucost.errors import InputError, quote
from gpucost.files import read_text
from gpucost.planner.plan import Allocation

SUPPORTED_PLAN_VERSION = 1
MODES = ("single", "divisible", "experiments")
PRICING = ("on_demand", "spot")


@dataclass(frozen=True)
class PlanAllocation(Allocation):
    """One allocation of the plan (the planner's :class:`Allocation`) and its position."""

    index: int = 0

    @property
    def spot(self) -> bool:
        return self.pricing == "spot"

    @property
    def usd_per_hour_total(self) -> float:
        """$/hour for all ``instances`` together (``usd_per_hour`` is per instance)."""
        return self.usd_per_hour * self.instances


@dataclass(frozen=True)
class LaunchPlan:
    """The parts of a plan the launcher needs."""

    path: str
    plan_id: str
    created_at: str
    status: str
    job_name: str
    mode: str
    budget_usd: float | None
    allocations: list[PlanAllocation]
    total_cost_usd: float
    snapshot_oldest_as_of: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


class _Reader:
    def __init__(self, where: str) -> None:
        self.where = where

    def fail(self, name: str, expected: str) -> InputError:
        return InputError(self.where, name, expected)

    def obj(self, data: Any, name: str) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise self.fail(name, f"an object, got {type(data).__name__}")
        return data

    def get(self, data: dict[str, Any], key: str, name: str) -> Any:
        if key not in data:
            raise self.fail(name, "missing")
        return data[key]

    def text(self, data: dict[str, Any], key: str, name: str, *, empty: bool = False) -> str:
        value = self.get(data, key, name)
        if (not isinstance(value, str) or (not empty and not value.strip())
                or not value.isprintable()):  # no control characters: names get printed
            raise self.fail(name, f"a {'' if empty else 'non-empty '}printable string, got "
                            f"{quote(value)}")
        return value

    def number(self, data: dict[str, Any], key: str, name: str, *, null: bool = False,
               minimum: float = 0.0) -> float | None:
        value = data.get(key) if null else self.get(data, key, name)
        if value is None and null:
            return None
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not math.isfinite(value) or value < minimum):
            raise self.fail(name, f"a number >= {minimum:g}, got {value!r}")
        return float(value)

    def count(self, data: dict[str, Any], key: str, name: str) -> int:
        value = self.get(data, key, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise self.fail(name, f"a whole number >= 1, got {value!r}")
        return value

    def choice(self, data: dict[str, Any], key: str, name: str, options: tuple[str, ...]) -> str:
        value = self.get(data, key, name)
        if value not in options:
            raise self.fail(name, f"one of {', '.join(options)}, got {value!r}")
        return value


def _allocation(r: _Reader, data: Any, index: int) -> PlanAllocation:
    name = f"allocations[{index}]"
    a = r.obj(data, name)
    return PlanAllocation(
        index=index,
        provider=r.text(a, "provider", f"{name}.provider"),
        region=r.text(a, "region", f"{name}.region"),
        zone=r.text(a, "zone", f"{name}.zone", empty=True) if a.get("zone") else "",
        instance_type=r.text(a, "instance_type", f"{name}.instance_type"),
        gpu=r.text(a, "gpu", f"{name}.gpu"),
        gpu_count=r.count(a, "gpu_count", f"{name}.gpu_count"),
        pricing=r.choice(a, "pricing", f"{name}.pricing", PRICING),
        instances=r.count(a, "instances", f"{name}.instances"),
        hours=r.number(a, "hours", f"{name}.hours") or 0.0,
        usd_per_hour=r.number(a, "usd_per_hour", f"{name}.usd_per_hour") or 0.0,
        precision_used=str(a.get("precision_used") or ""),
        run=str(a.get("run") or ""),
        as_of=str(a.get("as_of") or ""),
    )


def parse_plan(data: Any, where: str) -> LaunchPlan:
    """Validate decoded plan JSON; ``where`` names the source in error messages."""
    r = _Reader(where)
    top = r.obj(data, "plan")
    version = r.get(top, "plan_version", "plan_version")
    if version != SUPPORTED_PLAN_VERSION:
        raise r.fail("plan_version", f"{SUPPORTED_PLAN_VERSION} (this gpucost reads only "
                     f"plan_version {SUPPORTED_PLAN_VERSION}), got {version!r}")
    job = r.obj(r.get(top, "job", "job"), "job")
    allocations = r.get(top, "allocations", "allocations")
    if not isinstance(allocations, list):
        raise r.fail("allocations", "a list")
    totals = r.obj(r.get(top, "totals", "totals"), "totals")
    snapshot = r.obj(r.get(top, "snapshot", "snapshot"), "snapshot")
    oldest = r.text(snapshot, "oldest_as_of", "snapshot.oldest_as_of")
    try:
        date.fromisoformat(oldest)
    except ValueError:
        raise r.fail("snapshot.oldest_as_of", f"a date YYYY-MM-DD, got {oldest!r}") from None
    # Plans name the date of each price they use; judge freshness by those when present,
    # not by other providers' files in the same catalog.
    used = [str(a.get("as_of")) for a in allocations if isinstance(a, dict) and a.get("as_of")]
    if used and len(used) == len(allocations):
        try:
            oldest = min(date.fromisoformat(d) for d in used).isoformat()
        except ValueError:
            raise r.fail("allocations[].as_of", f"dates YYYY-MM-DD, got {used!r}") from None
    return LaunchPlan(
        path=where,
        plan_id=r.text(top, "plan_id", "plan_id"),
        created_at=str(top.get("created_at") or ""),
        status=r.choice(top, "status", "status", ("optimal", "infeasible")),
        job_name=r.text(job, "name", "job.name"),
        mode=r.choice(job, "mode", "job.mode", MODES),
        budget_usd=r.number(job, "budget_usd", "job.budget_usd", null=True),
        allocations=[_allocation(r, a, i) for i, a in enumerate(allocations)],
        total_cost_usd=r.number(totals, "cost_usd", "totals.cost_usd") or 0.0,
        snapshot_oldest_as_of=oldest,
        raw=top,
    )


def load_plan(path: str | Path) -> LaunchPlan:
    """Read and validate the plan JSON file at ``path``."""
    where = str(path)
    text = read_text(path, "plan JSON file")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise InputError(where, f"line {exc.lineno}", f"valid JSON ({exc.msg})") from None
    except ValueError as exc:  # NaN / Infinity: not JSON, and no amount of money
        raise InputError(where, "file", f"valid JSON ({exc})") from None
    except RecursionError:
        raise InputError(where, "file", "valid JSON nested less deeply") from None
    return parse_plan(data, where)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")

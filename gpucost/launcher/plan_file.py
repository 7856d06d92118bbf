"""Load and validate a plan JSON file (``plan_version`` 1, see :mod:`gpucost.planner.plan`).

Every problem is an :class:`~gpucost.errors.InputError` naming the file and the field
(``plan.json: allocations[1].pricing: 'on_demand' or 'spot', got 'reserved'``), so the CLI
prints one line and exits 2. Only the fields the launcher uses are checked; others are
kept untouched in :attr:`LaunchPlan.raw`.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from gpucost.errors import InputError, quote
from gpucost.files import read_text
from gpucost.job.parse import MAX_NAME_LENGTH
from gpucost.launcher.naming import check_plan_id
from gpucost.planner.plan import Allocation

SUPPORTED_PLAN_VERSION = 1
MODES = ("single", "divisible", "experiments")
PRICING = ("on_demand", "spot", "capacity_block")
# Bounds no real plan comes near; beyond them a number is corrupt or hostile (the launch
# guard in :mod:`gpucost.launcher.safety` applies the real limits).
MAX_INSTANCES_FIELD = 100_000
MAX_HOURS = 1e6  # over a century
MAX_USD_PER_HOUR = 1e5
MAX_COST_USD = 1e12
# Every text field the launcher prints, tags or names things with: printable (no ESC
# sequences or newlines to forge a line) and no longer than a job file allows a name.
MAX_TEXT = MAX_NAME_LENGTH


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
                or not value.isprintable() or len(value) > MAX_TEXT):
            # no control characters or floods: these get printed, tagged and labelled
            raise self.fail(name, f"a {'' if empty else 'non-empty '}printable string of "
                            f"at most {MAX_TEXT} characters, got {quote(value)}")
        return value

    def number(self, data: dict[str, Any], key: str, name: str, *, null: bool = False,
               minimum: float = 0.0, maximum: float = MAX_COST_USD) -> float | None:
        value = data.get(key) if null else self.get(data, key, name)
        if value is None and null:
            return None
        # JSON allows NaN and Infinity, and NaN compares false with every bound.
        if isinstance(value, bool) or not isinstance(value, int | float) or \
                not math.isfinite(value) or not minimum <= value <= maximum:
            raise self.fail(name, f"a finite number from {minimum:g} to {maximum:g}, "
                            f"got {value!r}")
        return float(value)

    def count(self, data: dict[str, Any], key: str, name: str,
              maximum: int = MAX_INSTANCES_FIELD) -> int:
        value = self.get(data, key, name)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
            shown = value if not isinstance(value, int) or abs(value) < 10**12 else \
                f"{float(value):.3g}"
            raise self.fail(name, f"a whole number from 1 to {maximum:,}, got {shown!r}")
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
        hours=r.number(a, "hours", f"{name}.hours", maximum=MAX_HOURS) or 0.0,
        usd_per_hour=r.number(a, "usd_per_hour", f"{name}.usd_per_hour",
                              maximum=MAX_USD_PER_HOUR) or 0.0,
        precision_used=(r.text(a, "precision_used", f"{name}.precision_used", empty=True)
                        if a.get("precision_used") else ""),
        run=r.text(a, "run", f"{name}.run", empty=True) if a.get("run") else "",
        as_of=_date(r, a, "as_of", f"{name}.as_of") if a.get("as_of") else "",
        work_share=r.number(a, "work_share", f"{name}.work_share", null=True, maximum=1.0),
        capacity_block=_block(r, a, name),
    )


def _block(r: _Reader, a: dict[str, Any], name: str) -> dict[str, Any] | None:
    """A capacity_block allocation's block: its offering id, fee and window."""
    if a.get("pricing") != "capacity_block":
        return None
    b = r.obj(r.get(a, "capacity_block", f"{name}.capacity_block"), f"{name}.capacity_block")
    where = f"{name}.capacity_block"
    offering = r.text(b, "offering_id", f"{where}.offering_id")
    if not re.fullmatch(r"cb-[0-9a-z]{1,40}", offering):
        raise r.fail(f"{where}.offering_id", f"an offering id like cb-0123abcd, got "
                     f"{quote(offering)}")
    return {"offering_id": offering,
            "upfront_fee_usd": r.number(b, "upfront_fee_usd", f"{where}.upfront_fee_usd"),
            "instance_count": r.count(b, "instance_count", f"{where}.instance_count"),
            "zone": r.text(b, "zone", f"{where}.zone", empty=True),
            "start": r.text(b, "start", f"{where}.start"),
            "end": r.text(b, "end", f"{where}.end")}


def _date(r: _Reader, data: dict[str, Any], key: str, name: str) -> str:
    value = data.get(key)
    try:
        return date.fromisoformat(value).isoformat()  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise r.fail(name, f"a date YYYY-MM-DD, got {value!r}") from None


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
    r.text(snapshot, "oldest_as_of", "snapshot.oldest_as_of")
    oldest = _date(r, snapshot, "oldest_as_of", "snapshot.oldest_as_of")
    parsed = [_allocation(r, a, i) for i, a in enumerate(allocations)]
    # Plans name the date of each price they use; judge freshness by those when present,
    # not by other providers' files in the same catalog.
    used = [a.as_of for a in parsed if a.as_of]
    if used and len(used) == len(parsed):
        oldest = min(used)
    plan_id = r.text(top, "plan_id", "plan_id")
    check_plan_id(plan_id, where, "plan_id")
    return LaunchPlan(
        path=where,
        plan_id=plan_id,
        created_at=str(top.get("created_at") or ""),
        status=r.choice(top, "status", "status", ("optimal", "infeasible")),
        job_name=r.text(job, "name", "job.name"),
        mode=r.choice(job, "mode", "job.mode", MODES),
        budget_usd=r.number(job, "budget_usd", "job.budget_usd", null=True),
        allocations=parsed,
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

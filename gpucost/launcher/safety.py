"""Pure checks run before a launch: each failed check is one line saying why.

Two kinds:

- :func:`refusal_reasons` (``--force`` overrides): the plan is not ``optimal``, costs more
  than the job's budget, or was priced from a snapshot more than
  :data:`MAX_SNAPSHOT_AGE_DAYS` days old (prices and capacity move; re-run ``gpucost
  refresh`` and ``gpucost plan``).
- :func:`blocking_reasons` (nothing overrides): the plan has no allocations (``--force``
  cannot launch nothing), or the file does not add up. The cost is
  recomputed from what would really be created (instances x $/hour x hours per
  allocation) and must agree with the plan's own figures; a launch may not create more
  than the launch config's ``max_instances`` (default :data:`DEFAULT_MAX_INSTANCES`);
  no date may lie in the future; and where the snapshot the plan names is at hand, each
  allocation's price and as-of date must be the snapshot's. A hand-edited plan (500
  instances instead of 5, a fresher ``as_of``) is refused; plan again instead.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from gpucost.formatting import money
from gpucost.launcher.config import DEFAULT_MAX_INSTANCES
from gpucost.launcher.plan_file import LaunchPlan

MAX_SNAPSHOT_AGE_DAYS = 7
# Relative and absolute slack when comparing the plan's figures with recomputed ones
# (JSON round-trips floats exactly; this only absorbs summation order).
COST_RTOL = 1e-6
COST_ATOL = 0.01
# Clocks and time zones differ: a date one day ahead of UTC today is not "the future".
FUTURE_SLACK = timedelta(days=1)


def recomputed_cost(plan: LaunchPlan) -> float:
    """What launching ``plan`` costs: sum of instances x $/hour x hours per allocation."""
    return sum(a.instances * a.usd_per_hour * a.hours for a in plan.allocations)


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=COST_RTOL, abs_tol=COST_ATOL)


def refusal_reasons(plan: LaunchPlan, today: date | None = None) -> list[str]:
    """Why ``plan`` should not be launched (``--force`` overrides); empty when it may be."""
    today = today or datetime.now(UTC).date()
    reasons: list[str] = []
    if plan.status != "optimal":
        reasons.append(f"plan status is {plan.status!r}, not 'optimal': the planner found no "
                       "plan meeting the job's constraints")
    cost = max(recomputed_cost(plan), plan.total_cost_usd)
    if plan.budget_usd is not None and cost > plan.budget_usd + 1e-9:
        reasons.append(f"plan costs {money(cost)}, over the job budget of "
                       f"{money(plan.budget_usd)}")
    age = (today - date.fromisoformat(plan.snapshot_oldest_as_of)).days
    if age > MAX_SNAPSHOT_AGE_DAYS:
        reasons.append(f"the plan's oldest price is as of {plan.snapshot_oldest_as_of} "
                       f"({age} days old, limit {MAX_SNAPSHOT_AGE_DAYS} days): "
                       "run `gpucost refresh` and plan again")
    return reasons


def blocking_reasons(plan: LaunchPlan, max_instances: int = DEFAULT_MAX_INSTANCES,
                     today: date | None = None) -> list[str]:
    """Why ``plan`` must not be launched even with ``--force``; empty when it may be."""
    today = today or datetime.now(UTC).date()
    mismatch = plan_id_mismatch(plan)
    reasons = ([mismatch] if mismatch else []) + _cost_disagreements(plan)
    if not plan.allocations:  # --force cannot make something out of nothing
        reasons.append("plan has no allocations: nothing to launch")
    total = sum(a.instances for a in plan.allocations)
    if total > max_instances:
        reasons.append(f"plan would create {total:,} instances, more than the {max_instances} "
                       "a launch may create (raise max_instances in the launch config if "
                       "this is really meant)")
    reasons += _future_dates(plan, today)
    reasons += _snapshot_disagreements(plan)
    return reasons


def _cost_disagreements(plan: LaunchPlan) -> list[str]:
    reasons = []
    for alloc in plan.allocations:
        raw = plan.raw.get("allocations", [])[alloc.index]
        stated = raw.get("cost_usd") if isinstance(raw, dict) else None
        if isinstance(stated, int | float) and not isinstance(stated, bool) and \
                not _close(float(stated), alloc.cost_usd):
            reasons.append(
                f"allocations[{alloc.index}]: {alloc.instances:,} x {money(alloc.usd_per_hour)}"
                f"/hour x {alloc.hours:g} h = {money(alloc.cost_usd)}, but the plan says "
                f"{money(float(stated))}: the file was edited or is corrupt; plan again")
    cost = recomputed_cost(plan)
    if not _close(cost, plan.total_cost_usd):
        reasons.append(f"the allocations cost {money(cost)} (instances x $/hour x hours), but "
                       f"totals.cost_usd says {money(plan.total_cost_usd)}: the file was "
                       "edited or is corrupt; plan again")
    return reasons


def _future_dates(plan: LaunchPlan, today: date) -> list[str]:
    dated = [("snapshot.oldest_as_of", plan.snapshot_oldest_as_of)]
    dated += [(f"allocations[{a.index}].as_of", a.as_of) for a in plan.allocations if a.as_of]
    return [f"{field} is {value}, in the future (today is {today.isoformat()}): dates "
            "cannot be trusted; refresh and plan again"
            for field, value in dated if date.fromisoformat(value) > today + FUTURE_SLACK]


def plan_id_mismatch(plan: LaunchPlan) -> str:
    """Why ``plan.plan_id`` is not the id of the plan's contents ('' when it is).

    The id is a hash of what would be launched (:func:`~gpucost.planner.plan.make_plan_id`)
    and keys idempotency (client tokens, VM names); an edited ``gpu_count`` or price under
    the old id would launch something else as if it were the planned thing."""
    from gpucost.planner.plan import make_plan_id

    expected = make_plan_id(plan.job_name, plan.mode, plan.allocations)
    if expected == plan.plan_id:
        return ""
    return (f"plan_id is {plan.plan_id}, but the plan's contents (job name, mode, "
            f"allocations) give {expected}: the file was edited or is corrupt; plan again")


def unchecked_prices(plan: LaunchPlan) -> list[str]:
    """One line per allocation whose price could not be checked against its snapshot
    (the file is not on this machine, or the plan recorded no usable path)."""
    return _snapshot_check(plan)[1]


def _snapshot_disagreements(plan: LaunchPlan) -> list[str]:
    return _snapshot_check(plan)[0]


def _snapshot_check(plan: LaunchPlan) -> tuple[list[str], list[str]]:
    """Compare each allocation's price, as-of date and GPU with the snapshot file it names:
    (disagreements, allocations that could not be checked and why)."""
    from gpucost.catalog.snapshot import read_snapshot_file
    from gpucost.errors import InputError

    files = (plan.raw.get("snapshot") or {}).get("files") or []
    paths = {str(f.get("provider")): Path(str(f.get("path"))) for f in files
             if isinstance(f, dict) and f.get("path")}
    reasons: list[str] = []
    unchecked: list[str] = []
    tables = {}
    for alloc in plan.allocations:
        if alloc.pricing == "capacity_block":  # a block's fee is not a snapshot price
            continue
        path = paths.get(alloc.provider)
        where = f"allocations[{alloc.index}] ({alloc.provider} {alloc.region} " \
                f"{alloc.instance_type} {alloc.pricing})"
        # A relative path names a file relative to wherever `gpucost plan` ran: from any
        # other folder it would compare with the wrong file, or none.
        why = ("the plan names no snapshot file for it" if path is None else
               f"the plan records the relative path {path} (planned by an older gpucost)"
               if not path.is_absolute() else
               f"{path} is not on this machine" if not path.is_file() else "")
        if why:
            unchecked.append(f"{where}: price not checked against its snapshot: {why}")
            continue
        if path not in tables:
            try:
                tables[path] = read_snapshot_file(path)
            except InputError as exc:
                reasons.append(f"cannot check prices against {path}: {exc}")
                tables[path] = None
        offers = tables[path]
        if offers is None:
            continue
        rows = offers[(offers["provider"] == alloc.provider) & (offers["region"] == alloc.region)
                      & (offers["instance_type"] == alloc.instance_type)
                      & (offers["pricing"] == alloc.pricing)]
        if rows.empty:
            reasons.append(f"{where}: no such offer in the snapshot it was planned from "
                           f"({path}); plan again")
            continue
        row = rows.iloc[0]
        price, as_of = float(row["usd_per_hour"]), row["as_of"].date().isoformat()
        if not math.isclose(price, alloc.usd_per_hour, rel_tol=1e-9, abs_tol=1e-9):
            reasons.append(f"{where}: priced at {alloc.usd_per_hour:g} $/hour, but the "
                           f"snapshot {path} says {price:g} (the plan was edited, or the snapshot "
                           "refreshed since): plan again")
        if alloc.as_of and alloc.as_of != as_of:
            reasons.append(f"{where}: as_of {alloc.as_of}, but the snapshot {path} says "
                           f"{as_of} (the plan was edited, or the snapshot refreshed since): "
                           "plan again")
        gpu, count = str(row["gpu"]), int(row["gpu_count"])
        if (gpu, count) != (alloc.gpu, alloc.gpu_count):
            reasons.append(f"{where}: {alloc.gpu_count} x {alloc.gpu} per instance, but the "
                           f"snapshot {path} says {count} x {gpu}: the file was edited; "
                           "plan again")
    return reasons, unchecked

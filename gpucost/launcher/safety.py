"""Pure checks run before a launch: each failed check is one line saying why.

A plan is refused (unless ``--force``) when it is not ``optimal``, when its total cost is
above the job's budget, or when the oldest price snapshot it was planned from is more than
:data:`MAX_SNAPSHOT_AGE_DAYS` days old (prices and capacity move; re-run ``gpucost
refresh`` and ``gpucost plan``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from gpucost.formatting import money
from gpucost.launcher.plan_file import LaunchPlan

MAX_SNAPSHOT_AGE_DAYS = 7


def refusal_reasons(plan: LaunchPlan, today: date | None = None) -> list[str]:
    """Why ``plan`` should not be launched; empty when it may be."""
    today = today or datetime.now(UTC).date()
    reasons: list[str] = []
    if plan.status != "optimal":
        reasons.append(f"plan status is {plan.status!r}, not 'optimal': the planner found no "
                       "plan meeting the job's constraints")
    if not plan.allocations:
        reasons.append("plan has no allocations: nothing to launch")
    if plan.budget_usd is not None and plan.total_cost_usd > plan.budget_usd + 1e-9:
        reasons.append(f"plan costs {money(plan.total_cost_usd)}, over the job budget of "
                       f"{money(plan.budget_usd)}")
    age = (today - date.fromisoformat(plan.snapshot_oldest_as_of)).days
    if age > MAX_SNAPSHOT_AGE_DAYS:
        reasons.append(f"prices are {age} days old (oldest snapshot "
                       f"{plan.snapshot_oldest_as_of}, limit {MAX_SNAPSHOT_AGE_DAYS} days): "
                       "run `gpucost refresh` and plan again")
    return reasons

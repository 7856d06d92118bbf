"""Before a launch: is this job already running (perhaps from another plan of it)?

Planning the same job twice used to give two plan ids, and launching both ran two
identical clusters. Every instance carries the job name as a tag (AWS ``gpucost:job``) or
label (GCP ``gpucost-job``); ``launch`` looks for live ones in the plan's regions (GCP: all
zones) before creating anything and refuses without ``--force``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from gpucost.launcher.backends import Backend, Instance
from gpucost.launcher.plan_file import LaunchPlan

# States of instances that exist but do not run (and are not billed for compute).
NOT_RUNNING = frozenset({"stopping", "stopped", "shutting-down", "terminated", "suspended",
                         "suspending"})


def running_plans_of_job(plan: LaunchPlan, backends: Mapping[str, Backend]
                         ) -> dict[str, list[Instance]]:
    """Running instances tagged with ``plan``'s job name, by plan id (any plan)."""
    plans: dict[str, list[Instance]] = {}
    for name, backend in backends.items():
        find_job = getattr(backend, "find_job", None)
        if find_job is None:
            continue
        regions = sorted({a.region for a in plan.allocations if a.provider == name})
        for plan_id, instances in find_job(plan.job_name, regions).items():
            live = [i for i in instances if i.state.lower() not in NOT_RUNNING]
            if live:
                plans.setdefault(plan_id, []).extend(live)
    return plans


def duplicate_reasons(plan: LaunchPlan, running: Mapping[str, list[Instance]]) -> list[str]:
    """One line per *other* plan of the same job that is running, naming its instances.

    The plan's own instances are no duplicate: relaunching the same plan (same content,
    same id) is idempotent and creates only what is missing."""
    reasons = []
    for plan_id, instances in sorted(running.items()):
        if plan_id == plan.plan_id:
            continue
        ids = ", ".join(i.id for i in instances[:10]) + (", ..." if len(instances) > 10 else "")
        reasons.append(f"job {plan.job_name!r} is already running: plan {plan_id} is up with "
                       f"{len(instances)} instance(s) ({ids}); `gpucost down "
                       f"{shlex.quote(plan_id)}` to stop it, or --force to launch another")
    return reasons

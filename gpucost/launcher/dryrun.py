"""The dry-run description: exactly what ``gpucost launch --yes`` would create.

Pure text from the plan, the config and the backends' ``describe_*`` methods: no cloud
call is made (no credentials are needed for a dry run). Without backends (a refused plan,
whose flags are never read) the images and provider extras are left out.
"""

from __future__ import annotations

from collections.abc import Mapping

from gpucost.formatting import money
from gpucost.launcher.backends import Backend
from gpucost.launcher.plan_file import LaunchPlan


def describe(plan: LaunchPlan, backends: Mapping[str, Backend] | None = None) -> list[str]:
    """Lines describing every allocation and the total (images and extras only with
    ``backends``)."""
    lines = [f"Plan {plan.plan_id} (job {plan.job_name}, mode {plan.mode}, status "
             f"{plan.status}, oldest price as of {plan.snapshot_oldest_as_of}): "
             f"{len(plan.allocations)} allocation(s)"]
    instances = 0
    for alloc in plan.allocations:
        where = alloc.region + (f" / {alloc.zone}" if alloc.zone else "")
        run = f" for run {alloc.run}" if alloc.run else ""
        lines.append(f"[{alloc.index}] {alloc.provider} {where}: {alloc.instances} x "
                     f"{alloc.instance_type} ({alloc.gpu_count} x {alloc.gpu} each), "
                     f"{alloc.pricing.replace('_', '-')}{run}")
        if backends is not None:
            backend = backends[alloc.provider]
            lines.append(f"    image: {backend.describe_image(alloc)}")
            lines.extend(f"    {extra}" for extra in backend.describe_extras(plan, alloc))
        if alloc.pricing == "capacity_block":
            from gpucost.launcher.capacity_purchase import describe_purchase

            lines.append(describe_purchase(alloc))
        lines.append(f"    expected: {money(alloc.usd_per_hour)}/hour per instance, "
                     f"{money(alloc.usd_per_hour_total)}/hour in all, for {alloc.hours:,.1f} h"
                     f" = {money(alloc.cost_usd)}")
        instances += alloc.instances
    per_hour = sum(a.usd_per_hour_total for a in plan.allocations)
    budget = f" (budget {money(plan.budget_usd)})" if plan.budget_usd is not None else ""
    # The total is recomputed from the allocations (what would really be created), never
    # copied from the file's totals, which may disagree (the launch guard refuses then).
    cost = sum(a.cost_usd for a in plan.allocations)
    lines.append(f"Total: {instances} instance(s), {money(per_hour)}/hour while all run, "
                 f"{money(cost)} expected{budget}")
    return lines

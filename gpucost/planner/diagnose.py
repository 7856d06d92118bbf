"""Say *why* a job is infeasible, and what the nearest feasible relaxation is."""

from __future__ import annotations

from gpucost.formatting import hours_text, money
from gpucost.job.spec import RunSpec
from gpucost.planner.candidates import Candidates


def empty_reason(cands: Candidates, run: RunSpec) -> str:
    """Which constraint left no usable offer, e.g. "no GPU in the allowed regions has 80 GiB"."""
    before = None
    for label, left in cands.funnel:
        if left == 0:
            if before is None:
                return "the snapshot has no offers"
            if label.startswith("at least"):
                return (f"no GPU among the {before} allowed offers has "
                        f"{run.min_gpu_memory_gib:g} GiB (per GPU)")
            if label.startswith("GPUs the ") and " stack runs on" in label:
                stack = label.split()[2]
                gpus = ", ".join(sorted(cands.excluded))
                return (f"the {stack} stack runs on none of the GPUs among the {before} "
                        f"allowed offers ({gpus}): "
                        + "; ".join(dict.fromkeys(cands.excluded.values())))
            if "model state" in label:
                return (f"no allowed offer can hold {run.memory_gib:,.0f} GiB of model state "
                        "within max_instances / max_gpus / quota (raise them, or lower "
                        "memory.bytes_per_parameter)")
            return f"no offers left after restricting to {label} ({before} before)"
        before = left
    return "no usable offers"


def deadline_reason(run: RunSpec, earliest_hours: float, where: str) -> str:
    """The deadline binds: how early the allowed offers could finish."""
    return (f"{run.name}: deadline of {hours_text(run.deadline_hours)} cannot be met; "
            f"earliest finish with the allowed offers: {hours_text(earliest_hours)} ({where}); "
            "relax the deadline or raise max_instances / max_gpus")


def budget_reason(cost: float, budget: float) -> str:
    """The budget binds: what the cheapest feasible plan costs."""
    return (f"cheapest feasible plan costs {money(cost)}, over the {money(budget)} budget")

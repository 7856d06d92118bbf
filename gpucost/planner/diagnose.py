"""Say *why* a job is infeasible, and what the nearest feasible relaxation is."""

from __future__ import annotations

from gpucost.formatting import hours_text, money
from gpucost.job.spec import Constraints, RunSpec
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


def deadline_reason(run: RunSpec, earliest_hours: float, where: str,
                    advice: str = "relax the deadline") -> str:
    """The deadline binds: how early the allowed offers could finish, and what limits the
    fastest cluster (``advice``, from :func:`speed_limit`)."""
    return (f"{run.name}: deadline of {hours_text(run.deadline_hours)} cannot be met; "
            f"earliest finish with the allowed offers: {hours_text(earliest_hours)} ({where}); "
            f"{advice}")


def speed_limit(cands: Candidates, row, constraints: Constraints) -> str:
    """What stops the fastest cluster of one evaluated offer (``row``: its candidate row
    with ``instances`` at its fastest) from going faster, as advice naming that limit
    and only that one: the global batch, communication, max_instances, max_gpus or a
    vCPU quota."""
    curves = cands.curves
    n, cap = int(row["instances"]), min(int(row["n_max"]), curves.n_max)
    hw = int(row["hw_class"])
    if n < cap:  # more instances are allowed but do not help: the model is what caps it
        layout = curves.layout(hw, n)
        sequences = curves.shape.batch_tokens / curves.shape.sequence_length
        beyond = curves.tokens_per_s[hw, n + 1:cap + 1]
        if layout.data_parallel * layout.micro_batch * 2 > sequences or not (beyond > 0).any():
            return (f"the global batch ({sequences:,.0f} sequences of "
                    f"{curves.shape.sequence_length:,} tokens) caps data parallelism at "
                    f"{layout.data_parallel}, so more instances cannot speed it up: raise "
                    "batch_tokens or relax the deadline")
        return (f"more than {n} instances run no faster (communication outgrows the "
                "compute saved): relax the deadline, or allow offers with faster networks")
    limits = []
    if cap == constraints.max_instances:
        limits.append(f"max_instances ({constraints.max_instances:,})")
    if constraints.max_gpus and cap == constraints.max_gpus // int(row["gpu_count"]):
        limits.append(f"max_gpus ({constraints.max_gpus:,})")
    if row.get("quota_group") and int(row["vcpus"]) > 0 \
            and cap == int(row["quota_vcpus"]) // int(row["vcpus"]):
        limits.append(f"the vCPU quota {row['quota_group']} ({int(row['quota_vcpus']):,})")
    if not limits:
        return "relax the deadline"
    return f"relax the deadline or raise {' / '.join(limits)}"


def budget_reason(cost: float, budget: float) -> str:
    """The budget binds: what the cheapest feasible plan costs."""
    return (f"cheapest feasible plan costs {money(cost)}, over the {money(budget)} budget")

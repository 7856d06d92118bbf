"""From offers to candidates: which offers a run may use, how fast, how many at most.

A candidate table is the offer table (restricted by the job's constraints) plus:

===================  =========================================================
rate                 effective FLOP/hour of one instance: GPUs x dense peak at
                     the job's precision (or fallback) x modelled MFU, divided
                     by (1 + spot_overhead) on spot
mfu, mfu_method      the utilization used and how it was obtained
precision_used       the format the peak figure is for (fallback if different)
n_min                instances needed to hold the run's memory (>= 1)
n_max                instances allowed: max_instances, max_gpus, vCPU quota
quota_group          id of the vCPU quota the offer counts against ("" if none)
quota_vcpus          that quota's limit (0 if none)
name_rank            position in (provider, region, instance_type, pricing) order
===================  =========================================================

It also records, step by step, how many offers each constraint left, so that an empty
result can say which constraint emptied it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gpucost.catalog.gpus import gpu_specs, is_known_gpu
from gpucost.job.spec import Assumptions, Constraints, RunSpec
from gpucost.job.utilization import estimate_mfu

_FAMILY = re.compile(r"^([a-z]+)")


@dataclass
class Candidates:
    """Usable offers for one run, and why the others were dropped."""

    table: pd.DataFrame
    funnel: list[tuple[str, int]] = field(default_factory=list)  # (step, offers left)
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return self.table.empty


def _restrict(offers: pd.DataFrame, constraints: Constraints,
              funnel: list[tuple[str, int]]) -> pd.DataFrame:
    steps: list[tuple[str, pd.Series | None]] = [
        ("providers " + ", ".join(constraints.providers),
         offers["provider"].isin(constraints.providers) if constraints.providers else None),
        ("regions " + ", ".join(constraints.regions),
         offers["region"].isin(constraints.regions) if constraints.regions else None),
        ("GPUs " + ", ".join(constraints.gpus),
         offers["gpu"].isin(constraints.gpus) if constraints.gpus else None),
        ("spot: never", offers["pricing"] == "on_demand" if constraints.spot == "never" else None),
        ("spot: only", offers["pricing"] == "spot" if constraints.spot == "only" else None),
        ("GPUs in the spec table", offers["gpu"].map(is_known_gpu)),
    ]
    funnel.append(("snapshot", len(offers)))
    mask = pd.Series(True, index=offers.index)
    for label, step in steps:
        if step is not None:
            mask &= step
            funnel.append((label, int(mask.sum())))
    return offers[mask]


def _quota_columns(offers: pd.DataFrame, quotas: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    group = pd.Series("", index=offers.index, dtype=object)
    limit = pd.Series(0, index=offers.index, dtype="int64")
    if quotas is None or quotas.empty or offers.empty:
        return group, limit
    family = offers["instance_type"].str.extract(_FAMILY, expand=False).fillna("")
    for q in quotas.itertuples(index=False):
        families = set(str(q.families).split())
        hit = ((offers["provider"] == q.provider) & (offers["region"] == q.region)
               & (offers["pricing"] == q.pricing) & family.isin(families))
        group[hit] = f"{q.provider}/{q.region}/{q.pricing}/{q.quota_name}"
        limit[hit] = int(q.vcpu_limit)
    return group, limit


def build_candidates(offers: pd.DataFrame, run: RunSpec, constraints: Constraints,
                     assumptions: Assumptions, quotas: pd.DataFrame | None = None) -> Candidates:
    """The offers ``run`` may use, with their throughput and instance bounds."""
    funnel: list[tuple[str, int]] = []
    table = _restrict(offers, constraints, funnel).copy()
    notes: list[str] = []
    if run.min_gpu_memory_gib:
        table = table[table["gpu_memory_gib"] >= run.min_gpu_memory_gib]
        funnel.append((f"at least {run.min_gpu_memory_gib:g} GiB per GPU", len(table)))
    if table.empty:
        return Candidates(table, funnel, notes)

    # Peak and MFU depend only on the GPU model: compute them once per GPU, then map.
    per_gpu: dict[str, tuple[float, str, float, str]] = {}
    for gpu in table["gpu"].unique():
        tflops, precision = gpu_specs()[gpu].peak_tflops(run.precision)
        if run.utilization is not None:
            mfu, method = run.utilization, "user"
        else:
            est = estimate_mfu(gpu, run.parameters, run.sequence_length)
            mfu, method = est.mfu, est.method
        per_gpu[gpu] = (tflops, precision, mfu, method)
    gpus = table["gpu"]
    peaks = gpus.map(lambda g: per_gpu[g][0]).to_numpy(dtype=float)
    table["precision_used"] = gpus.map(lambda g: per_gpu[g][1])
    table["mfu"] = gpus.map(lambda g: per_gpu[g][2]).astype(float)
    table["mfu_method"] = gpus.map(lambda g: per_gpu[g][3])
    spot_factor = np.where(table["pricing"] == "spot", 1.0 + assumptions.spot_overhead, 1.0)
    table["rate"] = (table["gpu_count"].to_numpy() * peaks * 1e12 * 3600
                     * table["mfu"].to_numpy() / spot_factor)

    per_instance_gib = table["gpu_count"] * table["gpu_memory_gib"]
    table["n_min"] = np.maximum(1, np.ceil(run.memory_gib / per_instance_gib - 1e-9)).astype(int)
    n_max = np.full(len(table), constraints.max_instances, dtype=np.int64)
    if constraints.max_gpus:
        n_max = np.minimum(n_max, constraints.max_gpus // table["gpu_count"].to_numpy())
    group, limit = _quota_columns(table, quotas)
    table["quota_group"] = group
    table["quota_vcpus"] = limit
    by_quota = np.where((group != "").to_numpy() & (table["vcpus"].to_numpy() > 0),
                        limit.to_numpy() // np.maximum(table["vcpus"].to_numpy(), 1), n_max)
    table["n_max"] = np.minimum(n_max, by_quota)
    fits = table["n_min"] <= table["n_max"]
    if not fits.all():
        funnel.append((f"{run.memory_gib:,.0f} GiB of model state within the instance limits",
                       int(fits.sum())))
    table = table[fits].reset_index(drop=True)
    # Position in name order (provider, region, type, pricing), the last tie-breaker:
    # ranking once here keeps string sorting out of every solve.
    order = np.lexsort(tuple(table[c].to_numpy() for c in reversed(
        ["provider", "region", "instance_type", "pricing"])))
    rank = np.empty(len(table), dtype=np.int64)
    rank[order] = np.arange(len(table))
    table["name_rank"] = rank
    fallback = sorted({u for u in table["precision_used"] if u != run.precision})
    if fallback:
        gpus = sorted(set(table.loc[table["precision_used"] != run.precision, "gpu"]))
        notes.append(f"{', '.join(gpus)} lack {run.precision}: costed at "
                     f"{'/'.join(fallback)} peak instead")
    return Candidates(table, funnel, notes)


def candidates_for_job(offers: pd.DataFrame, runs: tuple[RunSpec, ...],
                       constraints: Constraints, assumptions: Assumptions,
                       quotas: pd.DataFrame | None = None) -> list[Candidates]:
    """Candidates for each run; runs that differ only in work or deadline (a sweep) share
    one build, since neither changes which offers fit or how fast they run."""
    built: dict[tuple, Candidates] = {}
    out = []
    for run in runs:
        key = (run.precision, run.utilization, run.parameters, run.sequence_length,
               run.memory_gib, run.min_gpu_memory_gib)
        if key not in built:
            built[key] = build_candidates(offers, run, constraints, assumptions, quotas)
        out.append(built[key])
    return out


def scaling_efficiency(instances: np.ndarray | int, assumptions: Assumptions) -> np.ndarray:
    """Throughput fraction kept by a synchronous run spread over ``instances`` instances."""
    n = np.maximum(np.asarray(instances, dtype=float), 1.0)
    return np.maximum(assumptions.scaling_floor,
                      1.0 - assumptions.scaling_loss_per_doubling * np.log2(n))


def instances_for_deadline(work: np.ndarray, n_lo: np.ndarray, n_hi: np.ndarray,
                           assumptions: Assumptions) -> np.ndarray:
    """Smallest n in [n_lo, n_hi] with n x efficiency(n) >= work, else n_hi + 1.

    ``work`` is the job's FLOPs over (one instance's rate x deadline). Exact because
    n x efficiency(n) increases with n: each step jumps to ceil(work / efficiency(n)), which
    never passes the answer since efficiency only falls as n grows.
    """
    n = np.maximum(n_lo, np.ceil(np.minimum(work, n_hi + 1) - 1e-9)).astype(np.int64)
    for _ in range(64):
        short = (n * scaling_efficiency(n, assumptions) < work * (1 - 1e-12)) & (n <= n_hi)
        if not short.any():
            break
        jump = np.ceil(np.minimum(work / scaling_efficiency(n, assumptions), n_hi + 1) - 1e-9)
        n = np.where(short, np.maximum(n + 1, jump.astype(np.int64)), n)
    return np.minimum(n, n_hi + 1)


def wall_hours(flops: float, rate: np.ndarray, n: np.ndarray,
               assumptions: Assumptions) -> np.ndarray:
    """Hours ``n`` instances of each candidate take for ``flops`` as one synchronous run."""
    with np.errstate(divide="ignore"):
        return flops / (rate * n * scaling_efficiency(n, assumptions))


def tie_break_order(table: pd.DataFrame, cost: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Row order: cost (equal to nine significant figures), then fewer instances, then
    lower $/hour, then name (deterministic)."""
    scale = float(np.min(cost)) if len(cost) and np.min(cost) > 0 else 1.0
    keys = (table["name_rank"].to_numpy(), table["usd_per_hour"].to_numpy(), n,
            np.round(cost / scale, 9))
    return np.lexsort(keys)

"""From offers to candidates: which offers a run may use, how fast, how many at most.

A candidate table is the offer table (restricted by the job's constraints) plus:

===================  =========================================================
curve                row of ``Candidates.curves.rate``: the offer's hardware class
                     (and pricing, since spot adds restart overhead)
hw_class             the hardware class (GPU, GPUs per instance, link, network)
rate                 job FLOPs/hour of one instance at ``n_min`` instances
                     (``rate(n_min) / n_min``): what divisible work gets
mfu, mfu_method      MFU at ``n_min`` instances, and what it stands on: "calibrated"
                     (published throughput of this GPU, stack and precision),
                     "extrapolated from <gpu stack precision>" or "user"
own_data             the GPU has published data for the stack and precision (its
                     range is the calibrated one, otherwise the wider extrapolated one)
precision_used       the format the peak figure is for (fallback if different)
n_min                fewest instances with a layout that fits memory (>= 1)
n_max                instances allowed: max_instances, max_gpus, vCPU quota
quota_group          id of the vCPU quota the offer counts against ("" if none)
quota_vcpus          that quota's limit (0 if none)
name_rank            position in (provider, region, instance_type, pricing) order
===================  =========================================================

Throughput at any instance count comes from the performance model's curves
(:mod:`gpucost.performance`). The table also records, step by step, how many offers
each constraint left, so that an empty result can say which constraint emptied it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gpucost.catalog.ecosystem import vendor_of, why_not
from gpucost.catalog.gpus import is_known_gpu
from gpucost.job.spec import Assumptions, Constraints, RunSpec
from gpucost.performance import PerformanceCurves, calibration
from gpucost.performance.curves import performance_curves
from gpucost.performance.spot import quantile_hours
from gpucost.performance.uncertainty import basis_of, throughput_ratio
from gpucost.providers import LAUNCHABLE_PROVIDERS

_FAMILY = re.compile(r"^([a-z]+)")


@dataclass
class Candidates:
    """Usable offers for one run, and why the others were dropped."""

    table: pd.DataFrame
    funnel: list[tuple[str, int]] = field(default_factory=list)  # (step, offers left)
    notes: list[str] = field(default_factory=list)
    curves: PerformanceCurves | None = None
    # GPUs the job's stack cannot run (or not in any precision it allows), and why:
    # "Best plan with each other GPU" lists them with the reason.
    excluded: dict[str, str] = field(default_factory=dict)
    # A spot cluster meets the deadline when it finishes by then with this probability
    # (the run's deadline_confidence; None: its expected finish meets it).
    deadline_confidence: float | None = None

    @property
    def empty(self) -> bool:
        return self.table.empty


# Providers whose offers are other people's hosts, each with its own uptime record.
MARKETPLACES = ("vast",)


def _reliable(offers: pd.DataFrame, minimum: float) -> pd.Series:
    """Rows a ``min_reliability`` keeps: marketplace hosts at or above it (a host without
    a figure is left out); clouds' own data centres publish no per-host figure."""
    market = offers["provider"].isin(MARKETPLACES)
    reliability = offers["reliability"] if "reliability" in offers else pd.Series(
        np.nan, index=offers.index)
    return ~market | (reliability >= minimum)


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
        (f"marketplace hosts with reliability >= {constraints.min_reliability}",
         _reliable(offers, constraints.min_reliability)
         if constraints.min_reliability is not None else None),
        ("vendors " + ", ".join(constraints.vendors),
         offers["gpu"].map(vendor_of).isin(constraints.vendors) if constraints.vendors
         else None),
        ("launchable: true (providers `gpucost launch` runs: "
         + ", ".join(LAUNCHABLE_PROVIDERS) + ")",
         offers["provider"].isin(LAUNCHABLE_PROVIDERS) if constraints.launchable else None),
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
    # The job's software stack must run on the GPU, in a precision it trains in there
    # (gpucost/catalog/data/ecosystem.csv): a plan never picks a GPU its stack cannot use.
    excluded = {str(g): why for g in sorted(set(table["gpu"]))
                if (why := why_not(run.stack, str(g), run.precision))}
    if excluded:
        table = table[~table["gpu"].isin(list(excluded))]
        funnel.append((f"GPUs the {run.stack} stack runs on at {run.precision}", len(table)))
    if run.min_gpu_memory_gib:
        table = table[table["gpu_memory_gib"] >= run.min_gpu_memory_gib]
        funnel.append((f"at least {run.min_gpu_memory_gib:g} GiB per GPU", len(table)))
    if table.empty:
        return Candidates(table, funnel, notes, excluded=excluded,
                          deadline_confidence=run.deadline_confidence)

    table = table.reset_index(drop=True)
    n_max = np.full(len(table), constraints.max_instances, dtype=np.int64)
    if constraints.max_gpus:
        n_max = np.minimum(n_max, constraints.max_gpus // table["gpu_count"].to_numpy())
    group, limit = _quota_columns(table, quotas)
    table["quota_group"] = group
    table["quota_vcpus"] = limit
    by_quota = np.where((group != "").to_numpy() & (table["vcpus"].to_numpy() > 0),
                        limit.to_numpy() // np.maximum(table["vcpus"].to_numpy(), 1), n_max)
    table["n_max"] = np.minimum(n_max, by_quota)

    curves, curve = performance_curves(run, table, int(max(table["n_max"].max(), 1)),
                                       assumptions, calibration(run.stack))
    table["curve"] = curve
    table["hw_class"] = curves.row_class[curve]
    fits = curves.tokens_per_s > 0
    # Per class: the position in curves.counts of the fewest instances that fit.
    first = np.where(fits.any(axis=1), fits.argmax(axis=1), -1)
    hw = table["hw_class"].to_numpy()
    none = np.iinfo(np.int64).max
    table["n_min"] = np.where(first[hw] >= 0, curves.counts[np.maximum(first[hw], 0)], none)
    j_min = np.maximum(first[hw], 0)
    table["rate"] = curves.rate[curve, j_min] / curves.counts[j_min]
    table["precision_used"] = [curves.classes.precision_used[c] for c in hw]
    mfu = np.array([curves.layout(c, int(curves.counts[j])).mfu if j >= 0 else 0.0
                    for c, j in enumerate(first)])
    table["mfu"] = mfu[hw]
    labels = {(g, p): basis_of(run, g, p)
              for g, p in set(zip(table["gpu"], table["precision_used"], strict=True))}
    table["mfu_method"] = [labels[g, p][0] for g, p in
                           zip(table["gpu"], table["precision_used"], strict=True)]
    table["own_data"] = [labels[g, p][1] for g, p in
                         zip(table["gpu"], table["precision_used"], strict=True)]
    if run.deadline_confidence is not None and run.utilization is None:
        curves = at_confidence(curves, table, run.deadline_confidence)
        table["rate"] = curves.rate[curve, j_min] / curves.counts[j_min]
        notes.append(f"deadline_confidence {run.deadline_confidence:g}: clusters sized so "
                     f"that the run finishes by the deadline with that probability; hours "
                     f"and cost shown are that quantile's")
    fits = table["n_min"] <= table["n_max"]
    if not fits.all():
        funnel.append((f"a layout that fits {run.model_state_gib:,.0f} GiB of model state "
                       "and activations in GPU memory within the instance limits",
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
    extrapolated = table.loc[table["mfu_method"].str.startswith("extrapolated"),
                             ["gpu", "mfu_method"]].drop_duplicates()
    if len(extrapolated):
        by_source = extrapolated.groupby("mfu_method")["gpu"].apply(sorted)
        notes.append(f"No published throughput of the {run.stack} stack at this precision "
                     "on " + "; ".join(f"{', '.join(gpus)} ({label})"
                                       for label, gpus in by_source.items())
                     + ": constants fitted on other GPUs, with the wider range of such "
                     "extrapolations")
    defaults = sorted({d for c in set(table["hw_class"]) for d in curves.classes.defaults[c]})
    for text in defaults:
        notes.append(f"Some offers: {text} (conservative)")
    derived = curves.shape.derived
    if {"hidden_size", "layers"} & set(derived):
        notes.append("Model shape derived from the parameter count: "
                     f"{curves.shape.layers} layers, hidden size {curves.shape.hidden_size} "
                     "(give model.layers and model.hidden_size to set them)")
    rounded = [d for d in derived if d.startswith("batch_tokens (")]
    if rounded:
        notes.append(f"Global batch {rounded[0][len('batch_tokens ('):-1]}: a framework "
                     "splits it into whole sequences")
    moe = [d.split(" (")[0] for d in derived if d.startswith(("experts", "expert_"))]
    if moe:
        notes.append(f"Mixture of experts: {', '.join(moe)} not given; assumed "
                     f"{curves.shape.experts} experts, {curves.shape.experts_per_token} per "
                     f"token, expert width {curves.shape.expert_hidden_size:,.0f} (set them "
                     "in model:)")
    return Candidates(table, funnel, notes, curves, excluded, run.deadline_confidence)


def at_confidence(curves: PerformanceCurves, table: pd.DataFrame,
                  confidence: float) -> PerformanceCurves:
    """``curves`` with every rate at the throughput reached with probability
    ``confidence`` (its class's calibrated or extrapolated range), so that every mode
    sizes clusters to finish by the deadline at that confidence."""
    from dataclasses import replace

    classes = len(curves.classes.keys)
    ratio = np.ones(classes)
    own = table.groupby("hw_class")["own_data"].all()
    for c, mine in own.items():
        ratio[int(c)] = throughput_ratio(1.0 - confidence, bool(mine))
    # Rows are the on-demand classes, then (class, reclaim rate) spot rows: every row of a
    # class shares its ratio.
    ratio = ratio[curves.row_class]
    return replace(curves, rate=curves.rate * ratio[:, None])


def candidates_for_job(offers: pd.DataFrame, runs: tuple[RunSpec, ...],
                       constraints: Constraints, assumptions: Assumptions,
                       quotas: pd.DataFrame | None = None) -> list[Candidates]:
    """Candidates for each run; runs that differ only in work or deadline (a sweep) share
    one build, since neither changes which offers fit or how fast they run."""
    built: dict[tuple, Candidates] = {}
    out = []
    for run in runs:
        key = (run.precision, run.utilization, run.parameters, run.sequence_length,
               run.memory_gib, run.min_gpu_memory_gib, run.stack, run.deadline_confidence)
        if key not in built:
            built[key] = build_candidates(offers, run, constraints, assumptions, quotas)
        out.append(built[key])
    return out


def best_instances(cands: Candidates, run: RunSpec) -> tuple[np.ndarray, np.ndarray,
                                                               np.ndarray]:
    """Per offer: (instances, meets deadline, position of that count in
    ``curves.counts``). The runnable instance count up to the offer's n_max that finishes
    ``run`` by its deadline at the lowest cost (n x hours; ties: fewer), or, when none
    does, the fastest count (its earliest finish)."""
    curves = cands.curves
    assert curves is not None
    hours = run_hours(run, curves.rate, curves.startup_hours)
    meets = finish_hours(cands, hours) <= run.deadline_hours * (1 + 1e-12)
    with np.errstate(invalid="ignore"):  # inf hours where nothing fits
        gpu_time = np.where(meets, curves.counts[None, :] * hours, np.inf)
    best_cost = _prefix_arg(gpu_time, np.less)
    fastest = _prefix_arg(hours, np.less)
    t = cands.table
    rows = t["curve"].to_numpy()
    # The last evaluated count within each offer's limit (n_min <= n_max, so one exists).
    cap = np.searchsorted(curves.counts, t["n_max"].to_numpy(), side="right") - 1
    cap = np.maximum(cap, 0)
    j = best_cost[rows, cap]
    ok = meets[rows, j]
    j = np.where(ok, j, fastest[rows, cap])
    return curves.counts[j], ok, j


def finish_hours(cands: Candidates, hours: np.ndarray) -> np.ndarray:
    """The wall time that must meet the deadline: the expected one, or with
    ``deadline_confidence`` the one spot reclaims leave the run within with that
    probability (every curve row and count)."""
    curves = cands.curves
    if cands.deadline_confidence is None or curves is None or curves.variance is None:
        return hours
    with np.errstate(invalid="ignore"):
        return quantile_hours(hours, curves.variance * hours, cands.deadline_confidence)


def _prefix_arg(values: np.ndarray, better) -> np.ndarray:
    """out[r, k] = the index j <= k with the best values[r, j] (first on ties)."""
    out = np.zeros(values.shape, dtype=np.int64)
    best = values[:, 0].copy()
    for k in range(1, values.shape[1]):
        take = better(values[:, k], best)
        best = np.where(take, values[:, k], best)
        out[:, k] = np.where(take, k, out[:, k - 1])
    return out


def run_hours(run: RunSpec, rate: np.ndarray | float, startup_hours: float) -> np.ndarray:
    """Wall hours of ``run`` at job-FLOPs/hour ``rate`` (of the whole cluster), start-up
    included; inf where the rate is 0 (nothing fits)."""
    rate = np.asarray(rate, dtype=float)
    safe = np.where(rate > 0, rate, 1.0)
    return np.where(rate > 0, run.flops / safe + startup_hours, np.inf)


def tie_break_order(table: pd.DataFrame, cost: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Row order: cost (equal to nine significant figures), then fewer instances, then
    lower $/hour, then name (deterministic)."""
    scale = float(np.min(cost)) if len(cost) and np.min(cost) > 0 else 1.0
    keys = (table["name_rank"].to_numpy(), table["usd_per_hour"].to_numpy(), n,
            np.round(cost / scale, 9))
    return np.lexsort(keys)

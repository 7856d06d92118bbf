"""``divisible`` mode: work that splits freely across offers (shards, evaluation, ETL).

Per offer i: ``n_i`` instances (integer, <= its cap). Every instance pays the start-up
``s`` (``assumptions.startup_hours``) once, then works for up to ``W = D - s`` hours, so
that it finishes by the deadline D. ``y_i`` is the work bought in instance-windows
(working hours / W, with y_i <= n_i). Instances are independent, so there is no
multi-node scaling loss. Cost = sum(price_i x (W x y_i + s x n_i)), billed per second.

Each allocation records ``work_share``, the share of the job's FLOPs its instances do
together (split equally between them, since they run equal hours), and
``flops_per_hour`` of one instance; the launcher turns the shares into a ``[start, end)``
range of the work per instance (:mod:`gpucost.shards`).

Without constraints shared between offers, filling the cheapest $/FLOP offers first is
the fractional-knapsack optimum of the working hours; start-up is a fixed cost per
instance, which only the last, partly used instances can waste, so the greedy plan is
within one start-up per instance of the last offer used from the optimum (D/W scales
every offer's $/FLOP alike, so the order is the same). With ``max_gpus`` or vCPU quotas
(shared by offers) it is a MILP with the start-up as a fixed cost, solved with pulp/CBC.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pulp

from gpucost.formatting import hours_text
from gpucost.job.spec import Assumptions, Constraints, RunSpec
from gpucost.planner.candidates import Candidates
from gpucost.planner.diagnose import budget_reason, empty_reason
from gpucost.planner.milp import affine, solve
from gpucost.planner.plan import Allocation
from gpucost.planner.result import ModeResult, infeasible

_EPS = 1e-9


def _allocations(t: pd.DataFrame, y: np.ndarray, n: np.ndarray, run: RunSpec,
                 work: np.ndarray, startup_hours: float,
                 cands: Candidates) -> list[Allocation]:
    out = []
    window = run.deadline_hours - startup_hours
    curves = cands.curves
    # Relative threshold: a tiny job's shares are tiny too; solver noise is relatively so.
    for i in np.flatnonzero(y > _EPS * max(float(y.max(initial=0.0)), 1e-300)):
        row = t.iloc[int(i)]
        count = max(int(n[i]), 1)
        # Each instance works alone: its layout is the one-instance layout.
        layout = (curves.layout(int(row["hw_class"]), 1).to_dict()
                  if curves is not None else None)
        out.append(Allocation(layout=layout,
            provider=row["provider"], region=row["region"], zone=row["zone"],
            instance_type=row["instance_type"], gpu=row["gpu"],
            gpu_count=int(row["gpu_count"]), pricing=row["pricing"], instances=count,
            hours=float(y[i] / count * window + startup_hours),
            usd_per_hour=float(row["usd_per_hour"]), precision_used=row["precision_used"],
            run=run.name, as_of=row["as_of"].date().isoformat(),
            work_share=float(y[i] * work[i]), flops_per_hour=float(row["rate"])))
    # The shares sum to 1 up to solver tolerance; make them exact (ranges must tile [0, 1)).
    total = sum(a.work_share or 0.0 for a in out)
    return [replace(a, work_share=(a.work_share or 0.0) / total) for a in out] if total else out


def _order(t: pd.DataFrame) -> np.ndarray:
    """Cheapest work first. Ties (equal $/FLOP, to nine significant figures) go to the
    offer with the most throughput per instance (fewer instances), then name order, which
    keeps one provider's region together (fewer offers, fewer regions); deterministic."""
    per_work = t["usd_per_hour"].to_numpy() / t["rate"].to_numpy()
    per_work_key = np.round(per_work / per_work.min(), 9) if len(t) else per_work
    return np.lexsort((t["name_rank"].to_numpy(), -t["rate"].to_numpy(), per_work_key))


def greedy(work: np.ndarray, cap: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, float]:
    """Fill the job (1.0) with ``work[i]`` per instance-deadline up to ``cap[i]`` instances,
    in ``order``; returns (y, fraction of the job covered)."""
    y = np.zeros(len(work))
    remaining = 1.0
    for i in order:
        if remaining <= _EPS:
            break
        take = min(cap[i] * work[i], remaining)
        y[i] = take / work[i]
        remaining -= take
    return y, 1.0 - max(remaining, 0.0)


def _milp(t: pd.DataFrame, work: np.ndarray, price: np.ndarray, fixed: np.ndarray,
          constraints: Constraints,
          maximize_work: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    cap = t["n_max"].to_numpy()
    prob = pulp.LpProblem("divisible", pulp.LpMaximize if maximize_work else pulp.LpMinimize)
    ys = [pulp.LpVariable(f"y{i}", 0, float(cap[i])) for i in range(len(t))]
    ns = [pulp.LpVariable(f"n{i}", 0, int(cap[i]), cat="Integer") for i in range(len(t))]
    if maximize_work:
        prob += affine([(y, float(w)) for y, w in zip(ys, work, strict=True)])
        prob += affine([(y, float(w)) for y, w in zip(ys, work, strict=True)]) <= 1.0
    else:
        # Start-up is a fixed cost per instance; the tiny extra term makes the solver use
        # no more instances than needed even when start-up is 0.
        eps = 1e-7 * float(price.min())
        prob += affine([(y, float(p)) for y, p in zip(ys, price, strict=True)]
                       + [(n, float(f) + eps) for n, f in zip(ns, fixed, strict=True)])
        prob += affine([(y, float(w)) for y, w in zip(ys, work, strict=True)]) >= 1.0
    for y, n in zip(ys, ns, strict=True):
        prob += y - n <= 0
    if constraints.max_gpus:
        prob += affine([(n, float(g)) for n, g in zip(ns, t["gpu_count"], strict=True)]) \
            <= constraints.max_gpus
    for group, rows in t.groupby("quota_group").indices.items():
        if group:
            limit = float(t["quota_vcpus"].iloc[rows[0]])
            prob += affine([(ns[i], float(t["vcpus"].iloc[i])) for i in rows]) <= limit
    info = solve(prob)
    y = np.array([v.value() or 0.0 for v in ys])
    n = np.array([round(v.value() or 0.0) for v in ns])
    return y, n, info


def prune_interchangeable(t: pd.DataFrame, max_gpus: int) -> pd.DataFrame:
    """Drop offers that cheaper *interchangeable* offers can always replace (exact).

    Offers with the same GPU model, GPU count and pricing and no vCPU quota do the same
    work per instance with the same GPUs; only the price differs. With ``max_gpus`` = G,
    a plan holds at most G // g instances of g-GPU offers, so once the cheaper offers of
    a class can host that many instances, any instance of a dearer one could move to a
    cheaper one at no extra cost and within every limit. Those dearer offers are dropped.
    """
    free = t["quota_group"] == ""
    if not max_gpus or not free.any():
        return t
    key = ["gpu", "gpu_count", "pricing"]
    ranked = t[free].sort_values([*key, "usd_per_hour", "instance_type"], kind="stable")
    room_before = ranked.groupby(key)["n_max"].cumsum() - ranked["n_max"]
    needed = max_gpus // ranked["gpu_count"]
    keep = ranked[room_before < needed]
    return pd.concat([keep, t[~free]]).sort_index().reset_index(drop=True)


def solve_divisible(cands: Candidates, run: RunSpec, constraints: Constraints,
                    assumptions: Assumptions) -> ModeResult:
    """The cheapest mix of offers that delivers the run's FLOPs by its deadline."""
    start = time.perf_counter()
    if cands.empty:
        return infeasible([empty_reason(cands, run)],
                          {"name": "none", "status": "infeasible", "seconds": 0.0})
    t = cands.table
    notes = list(cands.notes)
    whole = t["n_min"] <= 1
    if not whole.all():
        notes.append(f"{int((~whole).sum())} offers skipped: one instance cannot hold "
                     f"{run.memory_gib:,.0f} GiB (divisible work runs per instance)")
        t = t[whole].reset_index(drop=True)
        if t.empty:
            return infeasible([f"no single instance holds {run.memory_gib:,.0f} GiB of model "
                               "state; use mode: single for a sharded run"],
                              {"name": "none", "status": "infeasible", "seconds": 0.0})
    startup = assumptions.startup_hours
    window = run.deadline_hours - startup
    if window <= 0:
        return infeasible([f"{run.name}: the deadline ({hours_text(run.deadline_hours)}) is "
                           f"no longer than the start-up of an instance ({startup:g} h, "
                           "assumptions.startup_hours)"],
                          {"name": "none", "status": "infeasible", "seconds": 0.0})
    shared = bool(constraints.max_gpus) or bool((t["quota_group"] != "").any())
    if shared:
        t = prune_interchangeable(t, constraints.max_gpus or 0)
    work = t["rate"].to_numpy() * window / run.flops
    price = t["usd_per_hour"].to_numpy() * window
    fixed = t["usd_per_hour"].to_numpy() * startup
    if shared:
        y, n, solver = _milp(t, work, price, fixed, constraints)
        feasible = solver["status"] == "optimal"
    else:
        y, covered = greedy(work, t["n_max"].to_numpy(), _order(t))
        n = np.ceil(y - 1e-9).astype(int)
        feasible = covered >= 1.0 - 1e-9
        solver = {"name": "greedy by $/FLOP (no shared constraints)",
                  "status": "optimal" if feasible else "infeasible",
                  "seconds": time.perf_counter() - start}
    if not feasible:
        if shared:
            y_max, _, _ = _milp(t, work, price, fixed, constraints, maximize_work=True)
            covered = float(work @ y_max)
        earliest = startup + window / covered if covered > 0 else math.inf
        # Only the limits that are set can bind: max_instances always, the rest if given.
        limits = [f"max_instances ({constraints.max_instances:,})"]
        if constraints.max_gpus:
            limits.append(f"max_gpus ({constraints.max_gpus:,})")
        if (t["quota_group"] != "").any():
            limits.append("vCPU quotas")
        return infeasible([f"{run.name}: the allowed capacity does only {covered:.0%} of the "
                           f"work by the deadline; earliest finish: {hours_text(earliest)} "
                           f"(raise {' / '.join(limits)} or relax the deadline)"],
                          solver, earliest)
    allocations = _allocations(t, y, n, run, work, startup, cands)
    cost = sum(a.cost_usd for a in allocations)
    if constraints.budget_usd is not None and cost > constraints.budget_usd:
        return infeasible([budget_reason(cost, constraints.budget_usd)], solver)
    return ModeResult(allocations, "optimal", solver, notes=notes)

"""``experiments`` mode: independent runs (a sweep, next month's experiments), each whole
on one offer, all started now.

Each run's options are the single-mode clusters of every offer (the smallest cluster of
an offer that meets the run's deadline is its cheapest; see ``single``). Runs share
``max_gpus`` and vCPU quotas, since they run at the same time; ``max_instances`` caps
each run's cluster. Without shared limits each run takes its own cheapest option (exact);
with them, an assignment MILP chooses one option per run. Options dominated by a cheaper
one that uses no more GPUs and no more of any quota are removed first, which keeps the
MILP small and is exact (swapping in the dominating option never breaks a limit).
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import pandas as pd
import pulp

from gpucost.job.spec import Assumptions, Constraints, RunSpec
from gpucost.planner.candidates import Candidates
from gpucost.planner.diagnose import budget_reason, empty_reason
from gpucost.planner.milp import affine, solve
from gpucost.planner.result import ModeResult, infeasible
from gpucost.planner.single import (
    allocation_from_row,
    best_rows,
    deadline_miss,
    evaluate_offers,
)


def run_options(cands: Candidates, run: RunSpec, assumptions: Assumptions,
                evaluated: pd.DataFrame | None = None) -> pd.DataFrame:
    """Deadline-meeting clusters for ``run``, cheapest first, with ``gpus_used`` and
    ``vcpus_used`` columns (``evaluated``: :func:`evaluate_offers`' answer, if at hand)."""
    if evaluated is None:
        evaluated = evaluate_offers(cands, run, assumptions)
    ranked = best_rows(evaluated).reset_index(drop=True)
    ranked["gpus_used"] = ranked["instances"] * ranked["gpu_count"]
    ranked["vcpus_used"] = ranked["instances"] * ranked["vcpus"]
    return ranked


def prune_dominated(options: pd.DataFrame) -> pd.DataFrame:
    """Drop options dominated by an earlier (cheaper or equal) one using no more GPUs and
    no more of any quota. ``options`` must be sorted cheapest first."""
    if options.empty:
        return options
    gpus = options["gpus_used"].to_numpy()
    free = (options["quota_group"] == "").to_numpy()
    free_gpus = np.where(free, gpus, np.iinfo(np.int64).max)
    best_free_before = np.concatenate(([np.iinfo(np.int64).max],
                                       np.minimum.accumulate(free_gpus)[:-1]))
    keep = gpus < best_free_before
    kept_in_group: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for i in np.flatnonzero(keep & ~free):
        group, g, v = options["quota_group"].iat[i], gpus[i], options["vcpus_used"].iat[i]
        if any(g2 <= g and v2 <= v for g2, v2 in kept_in_group[group]):
            keep[i] = False
        else:
            kept_in_group[group].append((g, v))
    return options[keep].reset_index(drop=True)


def _fits_shared(chosen: list[pd.Series], constraints: Constraints) -> bool:
    if constraints.max_gpus and sum(r["gpus_used"] for r in chosen) > constraints.max_gpus:
        return False
    use: dict[str, int] = defaultdict(int)
    for r in chosen:
        if r["quota_group"]:
            use[r["quota_group"]] += int(r["vcpus_used"])
            if use[r["quota_group"]] > r["quota_vcpus"]:
                return False
    return True


def _assign(options: list[pd.DataFrame], constraints: Constraints) -> tuple[list[int] | None, dict]:
    prob = pulp.LpProblem("experiments", pulp.LpMinimize)
    xs = [[pulp.LpVariable(f"x{r}_{k}", cat="Binary") for k in range(len(o))]
          for r, o in enumerate(options)]
    # Ties go to fewer instances, then to the earlier option (options are in tie-break
    # order): tiny terms far below a cent, so cost still decides first.
    eps = 1e-7 * min(float(o["cost_usd"].min()) for o in options)
    prob += affine([(x, float(c) + eps * (float(n) + k / (len(o) + 1)))
                    for o, row in zip(options, xs, strict=True)
                    for k, (x, c, n) in enumerate(zip(row, o["cost_usd"], o["instances"],
                                                      strict=True))])
    for row in xs:
        prob += affine([(x, 1.0) for x in row]) == 1
    if constraints.max_gpus:
        prob += affine([(x, float(g)) for o, row in zip(options, xs, strict=True)
                        for x, g in zip(row, o["gpus_used"], strict=True)]) \
            <= constraints.max_gpus
    groups: dict[str, list[tuple[pulp.LpVariable, float]]] = defaultdict(list)
    limits: dict[str, float] = {}
    for o, row in zip(options, xs, strict=True):
        for x, group, v, limit in zip(row, o["quota_group"], o["vcpus_used"], o["quota_vcpus"],
                                      strict=True):
            if group:
                groups[group].append((x, float(v)))
                limits[group] = float(limit)
    for group, terms in groups.items():
        prob += affine(terms) <= limits[group]
    info = solve(prob)
    if info["status"] != "optimal":
        return None, info
    picks = [max(range(len(row)), key=lambda k, row=row: row[k].value() or 0.0) for row in xs]
    return picks, info


# Reasons listed when runs cannot meet their deadlines (a 1,000-run sweep would say the
# same thing 1,000 times); the rest are counted.
_REASONS_LISTED = 10


def solve_experiments(cands: list[Candidates], runs: tuple[RunSpec, ...],
                      constraints: Constraints, assumptions: Assumptions) -> ModeResult:
    """The cheapest assignment of every run to one offer's cluster."""
    start = time.perf_counter()
    options, reasons, earliest = [], [], []
    # A sweep repeats the same run (count: N): its options are computed once and shared.
    same_run: dict[tuple, tuple[pd.DataFrame, pd.DataFrame]] = {}
    for c, run in zip(cands, runs, strict=True):
        if c.empty:
            reasons.append(f"{run.name}: {empty_reason(c, run)}")
            continue
        key = (id(c), run.flops, run.deadline_hours)
        if key not in same_run:
            evaluated = evaluate_offers(c, run, assumptions)
            same_run[key] = (evaluated, run_options(c, run, assumptions, evaluated))
        evaluated, ranked = same_run[key]
        if ranked.empty:
            reason, hours = deadline_miss(evaluated, run, c, constraints, assumptions)
            reasons.append(reason)
            earliest.append(hours)
        options.append(ranked)
    if len(reasons) > _REASONS_LISTED:  # a sweep would say the same thing N times
        more = len(reasons) - _REASONS_LISTED
        reasons = [*reasons[:_REASONS_LISTED], f"... and {more} more runs likewise"]
    if reasons:
        return infeasible(reasons, {"name": "exhaustive scan", "status": "infeasible",
                                    "seconds": time.perf_counter() - start},
                          max(earliest) if earliest and len(earliest) == len(reasons) else None)
    cheapest = [o.iloc[0] for o in options]
    if _fits_shared(cheapest, constraints):
        picks = [0] * len(options)
        solver = {"name": "exhaustive scan (exact: shared limits not binding)",
                  "status": "optimal", "seconds": time.perf_counter() - start}
    else:
        pruned: dict[int, pd.DataFrame] = {}
        for o in options:
            if id(o) not in pruned:
                pruned[id(o)] = prune_dominated(o)
        options = [pruned[id(o)] for o in options]
        picks, solver = _assign(options, constraints)
        if picks is None:
            need = sum(int(o["gpus_used"].min()) for o in options)
            return infeasible([f"the runs cannot all run at once within max_gpus / quotas "
                               f"(their smallest deadline-meeting clusters need {need} GPUs "
                               "together); raise the limits or give runs later deadlines"],
                              solver)
    allocations = [allocation_from_row(o.iloc[k], run.name, c)
                   for o, k, run, c in zip(options, picks, runs, cands, strict=True)]
    cost = sum(a.cost_usd for a in allocations)
    if constraints.budget_usd is not None and cost > constraints.budget_usd:
        return infeasible([budget_reason(cost, constraints.budget_usd)], solver)
    notes = sorted({n for c in cands for n in c.notes})
    return ModeResult(allocations, "optimal", solver, notes=notes)

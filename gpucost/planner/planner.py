"""The planner's entry point: a job and a catalog in, an explained :class:`Plan` out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import pandas as pd

from gpucost.catalog.snapshot import Catalog
from gpucost.formatting import hours_text
from gpucost.job.spec import Assumptions, Constraints, JobSpec, RunSpec
from gpucost.job.utilization import MFU_BOUNDS, published_runs
from gpucost.planner.candidates import Candidates, candidates_for_job
from gpucost.planner.divisible import solve_divisible
from gpucost.planner.experiments import solve_experiments
from gpucost.planner.plan import Alternative, Plan
from gpucost.planner.result import ModeResult
from gpucost.planner.single import evaluate_offers, solve_single

ModeSolver = Callable[[list[Candidates], tuple[RunSpec, ...], Constraints, Assumptions],
                      ModeResult]

# One entry per mode; single and divisible plan exactly one run.
MODE_SOLVERS: dict[str, ModeSolver] = {
    "single": lambda c, r, k, a: solve_single(c[0], r[0], k, a),
    "divisible": lambda c, r, k, a: solve_divisible(c[0], r[0], k, a),
    "experiments": solve_experiments,
}


def solve_mode(job: JobSpec, cands: list[Candidates],
               constraints: Constraints | None = None) -> ModeResult:
    """Solve ``job``'s mode over prepared candidates."""
    return MODE_SOLVERS[job.mode](cands, job.runs, constraints or job.constraints,
                                  job.assumptions)


def subset(c: Candidates, rows: pd.Series | list[int], label: str) -> Candidates:
    """``c`` keeping only ``rows`` (a mask or positions), the step noted in its funnel."""
    table = (c.table[rows] if isinstance(rows, pd.Series) else c.table.iloc[rows])
    return Candidates(table.reset_index(drop=True), c.funnel + [(label, len(table))], c.notes)


def _alternatives(job: JobSpec, cands: list[Candidates], chosen: set[str]) -> list[Alternative]:
    gpus = sorted({g for c in cands for g in c.table["gpu"]} - chosen)
    out = []
    for gpu in gpus:
        result = solve_mode(job, [subset(c, c.table["gpu"] == gpu, f"GPU {gpu}")
                                  for c in cands])
        if result.feasible:
            first = result.allocations[0]
            out.append(Alternative(gpu, first.provider, first.region, first.instance_type,
                                   first.pricing, result.instances, result.cost_usd,
                                   result.hours, True))
        else:
            out.append(Alternative(gpu, "", "", "", "", 0, None, None, False,
                                   note=_short_reason(result)))
    return sorted(out, key=lambda a: (not a.meets_deadline, a.cost_usd or 0.0, a.gpu))


def _short_reason(result: ModeResult) -> str:
    """The gist of why ``result`` is infeasible, for one table cell."""
    if result.earliest_hours is not None:
        return f"earliest finish {hours_text(result.earliest_hours)}"
    return result.reasons[0] if result.reasons else "infeasible"


def _baseline(job: JobSpec, cands: list[Candidates]) -> Alternative | None:
    """What the cheapest-$/GPU-hour offer (that fits the memory) would cost and take."""
    if any(c.empty for c in cands):
        return None
    # Each run's offer with the lowest $/GPU-hour (ties: by name), alone.
    picks = [int(np.lexsort((c.table["name_rank"].to_numpy(),
                             (c.table["usd_per_hour"] / c.table["gpu_count"]).to_numpy()))[0])
             for c in cands]
    narrowed = [subset(c, [k], "cheapest $/GPU-hour") for c, k in zip(cands, picks, strict=True)]
    result = solve_mode(job, narrowed, replace(job.constraints, budget_usd=None))
    top = narrowed[0].table.iloc[0]
    label = "cheapest $/GPU-hour offer that fits the memory (what a $/hour ranking picks)"
    if result.feasible:
        return Alternative(top["gpu"], top["provider"], top["region"], top["instance_type"],
                           top["pricing"], result.instances, result.cost_usd, result.hours,
                           True, label)
    # It cannot meet the deadline: cost it at its fastest (max instances) instead.
    cost = hours = 0.0
    instances = 0
    for c, run in zip(narrowed, job.runs, strict=True):
        row = evaluate_offers(c, run, job.assumptions).iloc[0]
        cost += float(row["cost_usd"])
        hours = max(hours, float(row["hours"]))
        instances += int(row["instances"])
    return Alternative(top["gpu"], top["provider"], top["region"], top["instance_type"],
                       top["pricing"], instances, cost, hours, False,
                       label + "; misses the deadline even at max_instances")


def _assumptions(job: JobSpec, cands: list[Candidates], gpus: set[str]) -> dict:
    mfu: dict[str, dict] = {}
    for c in cands:
        for gpu, group in c.table.groupby("gpu"):
            if gpu in gpus or not gpus:
                mfu.setdefault(str(gpu), {"mfu": round(float(group["mfu"].iloc[0]), 3),
                                          "method": str(group["mfu_method"].iloc[0]),
                                          "precision_used": str(group["precision_used"].iloc[0])})
    run = job.runs[0]
    return {
        "utilization": mfu,
        "utilization_model": ("MFU fitted per GPU architecture and model size to published "
                              "training runs, with attention FLOPs from sequence length; "
                              f"clipped to {MFU_BOUNDS}"),
        "utilization_sources": sorted({r.source.split(",")[0] + ", " + r.name
                                       for r in published_runs()}),
        "scaling": {"loss_per_doubling": job.assumptions.scaling_loss_per_doubling,
                    "floor": job.assumptions.scaling_floor,
                    "applies_to": "instances of one synchronous run (single, experiments)"},
        "spot_overhead": job.assumptions.spot_overhead,
        "bytes_per_parameter": run.bytes_per_parameter,
        "activation_headroom": run.activation_headroom,
        "flops_formula": "6 x parameters x tokens unless flops is given",
        "billing": "per second",
    }


def _snapshot_info(catalog: Catalog) -> dict:
    offers = catalog.offers
    return {
        "files": [{"provider": f.provider, "path": str(f.path), "date": f.date.isoformat(),
                   **({"origin": f.origin} if f.origin else {})}
                  for f in catalog.files],
        "oldest_as_of": (offers["as_of"].min().date().isoformat() if len(offers) else None),
        "newest_as_of": (offers["as_of"].max().date().isoformat() if len(offers) else None),
        "stale_rows": int(offers["stale"].sum()),
    }


def plan_job(job: JobSpec, catalog: Catalog, *, explain: bool = True,
             now: dt.datetime | None = None) -> Plan:
    """The cheapest plan for ``job`` over ``catalog``'s offers.

    Always returns a :class:`Plan`: an infeasible one has ``status == "infeasible"``
    and ``reasons`` naming the binding constraint and the nearest feasible relaxation.
    With ``explain`` the plan also carries the $/hour baseline and the best plan per
    other GPU type.
    """
    now = now or dt.datetime.now(dt.UTC)
    cands = candidates_for_job(catalog.offers, job.runs, job.constraints, job.assumptions,
                               catalog.quotas)
    result = solve_mode(job, cands)
    chosen = {a.gpu for a in result.allocations}
    plan = Plan(
        job={"name": job.name, "mode": job.mode, "precision": job.runs[0].precision,
             "deadline": (now + dt.timedelta(hours=min(r.deadline_hours for r in job.runs)))
             .isoformat(timespec="minutes"),
             "deadline_hours": min(r.deadline_hours for r in job.runs),
             "budget_usd": job.constraints.budget_usd, "runs": len(job.runs),
             "source": job.source},
        requirements={"flops": sum(r.flops for r in job.runs),
                      "memory_gib": max(r.memory_gib for r in job.runs)},
        assumptions=_assumptions(job, cands, chosen),
        allocations=result.allocations, status=result.status, solver=result.solver,
        snapshot=_snapshot_info(catalog), notes=list(result.notes),
        reasons=list(result.reasons), created_at=now.isoformat(timespec="seconds"))
    if explain:
        plan.baseline = _baseline(job, cands)
        plan.alternatives = _alternatives(job, cands, chosen)
    return plan

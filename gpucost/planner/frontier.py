"""The cost-vs-deadline frontier: what the same job costs if it may take longer or less.

The job is re-planned for a geometric grid of deadlines around its own (plus its own);
each point is the cheapest plan for that deadline, so the points trace the Pareto curve
of cost against time to finish. Points whose plan costs no less than a faster one's are
dropped (they are dominated).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from gpucost.catalog.snapshot import Catalog
from gpucost.job.spec import JobSpec
from gpucost.planner.candidates import candidates_for_job
from gpucost.planner.names import check_constraint_names
from gpucost.planner.planner import solve_mode


@dataclass(frozen=True)
class FrontierPoint:
    """The cheapest plan for one deadline."""

    deadline_hours: float
    feasible: bool
    cost_usd: float | None
    finish_hours: float | None
    gpus: str
    instances: int
    is_job_deadline: bool

    def to_json(self) -> dict:
        return asdict(self)


def deadline_grid(deadline_hours: float, points: int, low: float = 1 / 8,
                  high: float = 4.0) -> list[float]:
    """``points`` deadlines spaced geometrically from ``low`` to ``high`` x the job's,
    plus the job's own."""
    grid = np.geomspace(deadline_hours * low, deadline_hours * high, points)
    # Drop grid points within 1% of the job's own deadline: it is listed exactly.
    near = [float(h) for h in grid if abs(h / deadline_hours - 1) > 0.01]
    return sorted({*near, deadline_hours})


def frontier(job: JobSpec, catalog: Catalog, points: int = 15) -> list[FrontierPoint]:
    """The Pareto frontier of cost against deadline for ``job`` (fastest first)."""
    job = check_constraint_names(job, catalog.offers)
    base = min(r.deadline_hours for r in job.runs)
    cands = candidates_for_job(catalog.offers, job.runs, job.constraints, job.assumptions,
                               catalog.quotas)
    out: list[FrontierPoint] = []
    for hours in deadline_grid(base, points):
        scale = hours / base
        runs = tuple(replace(r, deadline_hours=r.deadline_hours * scale) for r in job.runs)
        scaled = replace(job, runs=runs,
                         constraints=replace(job.constraints, budget_usd=None))
        result = solve_mode(scaled, cands)
        out.append(FrontierPoint(
            deadline_hours=hours, feasible=result.feasible,
            cost_usd=result.cost_usd if result.feasible else None,
            finish_hours=result.hours if result.feasible else None,
            gpus=", ".join(sorted({a.gpu for a in result.allocations})),
            instances=sum(a.instances for a in result.allocations),
            is_job_deadline=abs(hours - base) < 1e-9))
    return pareto(out)


def pareto(points: list[FrontierPoint]) -> list[FrontierPoint]:
    """Keep feasible points strictly cheaper than every faster one (and the job's own)."""
    kept, best = [], float("inf")
    for p in sorted(points, key=lambda p: p.deadline_hours):
        if not p.feasible:
            if p.is_job_deadline:
                kept.append(p)
            continue
        if p.cost_usd < best - 1e-6 or p.is_job_deadline:
            kept.append(p)
            best = min(best, p.cost_usd)
    return kept


def plot_frontier(points: list[FrontierPoint], job_deadline_hours: float, path: str,
                  title: str) -> None:
    """Write the frontier as a PNG, marking the job's deadline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    feasible = [p for p in points if p.feasible]
    days = [p.deadline_hours / 24 for p in feasible]
    costs = [p.cost_usd / 1000 for p in feasible]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    ax.step(days, costs, where="post", color="#1f77b4")
    ax.scatter(days, costs, color="#1f77b4", zorder=3)
    previous = None
    for p, x, y in zip(feasible, days, costs, strict=True):
        if p.gpus != previous:  # label where the cheapest GPU changes
            ax.annotate(p.gpus, (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
        previous = p.gpus
    ax.axvline(job_deadline_hours / 24, color="#d62728", linestyle="--", label="job deadline")
    ax.set_xscale("log")
    ax.set_xlabel("deadline (days, log scale)")
    ax.set_ylabel("cheapest plan (thousand USD)")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

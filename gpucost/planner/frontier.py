"""The cost-vs-deadline frontier: what the same job costs if it may take longer or less.

The job is re-planned for a geometric grid of deadlines from 1/8x to 4x its own (plus its
own, and the earliest deadline any plan can meet); each point is the cheapest plan for that
deadline, so the feasible points trace the Pareto curve of cost against time to finish.
Every deadline is kept with its status: infeasible ones say why; with a budget, plans
that cost more are "over budget" (shown with their cost, never as a plan); and those whose
plan costs no less than a faster one's are marked dominated. The job's own deadline is
never "dominated": its plan is the answer to the job (its note says a shorter deadline
costs the same).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

import numpy as np

from gpucost.catalog.interruptions import attach as with_interruptions
from gpucost.catalog.snapshot import Catalog
from gpucost.formatting import hours_text, money
from gpucost.job.spec import JobSpec
from gpucost.planner.candidates import candidates_for_job
from gpucost.planner.diagnose import explain_empty
from gpucost.planner.names import check_constraint_names
from gpucost.planner.planner import solve_mode, with_deadline_scale
from gpucost.planner.result import ModeResult


@dataclass(frozen=True)
class FrontierPoint:
    """The cheapest plan for one deadline.

    ``status``: "optimal" (on the curve, or the job's own deadline), "dominated"
    (feasible, but no cheaper than a shorter deadline), "over budget" (meets the deadline
    but costs more than ``budget_usd``: ``feasible`` is False, ``cost_usd`` says what it
    would cost), "infeasible" (``note`` says why, e.g. its earliest finish).
    """

    deadline_hours: float
    feasible: bool
    cost_usd: float | None
    finish_hours: float | None
    gpus: str
    instances: int
    is_job_deadline: bool
    instance_types: str = ""
    status: str = ""
    note: str = ""
    is_earliest: bool = False  # the earliest deadline any plan can meet

    def to_json(self) -> dict:
        return asdict(self)


_GRID_LOW, _GRID_HIGH = 1 / 8, 4.0  # the range of deadlines, x the job's


def deadline_grid(deadline_hours: float, points: int, low: float = _GRID_LOW,
                  high: float = _GRID_HIGH) -> list[float]:
    """``points`` deadlines spaced geometrically from ``low`` to ``high`` x the job's
    (both ends included), plus the job's own."""
    grid = np.geomspace(deadline_hours * low, deadline_hours * high, points)
    # Drop grid points within 1% of the job's own deadline: it is listed exactly.
    near = [float(h) for h in grid if abs(h / deadline_hours - 1) > 0.01]
    return sorted({*near, deadline_hours})


# Margin above the earliest finish so that its point is feasible despite rounding.
_EARLIEST_MARGIN = 1.000001


def frontier(job: JobSpec, catalog: Catalog, points: int = 15) -> list[FrontierPoint]:
    """Cost against deadline for ``job``: one point per deadline of the grid (1/8x to 4x
    the job's, every one shown with its status) and one at the earliest deadline any
    plan can meet; sorted by deadline."""
    job = check_constraint_names(job, catalog.offers)
    base = min(r.deadline_hours for r in job.runs)
    cands = candidates_for_job(with_interruptions(catalog.offers, catalog.interruptions),
                               job.runs, job.constraints, job.assumptions, catalog.quotas)
    unbudgeted = replace(job, constraints=replace(job.constraints, budget_usd=None))

    def point(hours: float, earliest: bool = False) -> tuple[FrontierPoint, float | None]:
        result = solve_mode(with_deadline_scale(unbudgeted, hours / base), cands)
        allocations = result.allocations
        return FrontierPoint(
            deadline_hours=hours, feasible=result.feasible,
            cost_usd=result.cost_usd if result.feasible else None,
            finish_hours=result.hours if result.feasible else None,
            gpus=", ".join(sorted({a.gpu for a in allocations})),
            instances=sum(a.instances for a in allocations),
            is_job_deadline=abs(hours - base) < 1e-9,
            instance_types=", ".join(dict.fromkeys(a.instance_type for a in allocations)),
            status="optimal" if result.feasible else "infeasible",
            note="" if result.feasible else explain_empty(
                [_reason(result)], job.constraints, catalog.offers.empty,
                catalog.available_providers)[0],
            is_earliest=earliest), result.earliest_hours

    out, earliest = [], []
    for hours in deadline_grid(base, points):
        p, soonest = point(hours)
        out.append(p)
        if soonest is not None:
            earliest.append(soonest)
    feasible = [p.deadline_hours for p in out if p.feasible]
    if earliest:  # the deadline binds somewhere: add the soonest one a plan can meet,
        # when it lies in the range asked for (beyond it, the rows say when it is)
        soonest = max(earliest) * _EARLIEST_MARGIN
        if soonest <= base * _GRID_HIGH and (not feasible or soonest < min(feasible)):
            p, _ = point(soonest, earliest=True)
            if p.feasible:
                out.append(p)
    return mark_dominated(mark_over_budget(sorted(out, key=lambda p: p.deadline_hours),
                                           job.constraints.budget_usd))


def mark_over_budget(points: list[FrontierPoint], budget: float | None) -> list[FrontierPoint]:
    """Plans dearer than ``budget`` are no plan: "over budget", with their cost."""
    if budget is None:
        return points
    return [replace(p, feasible=False, status="over budget",
                    note=f"costs {money(p.cost_usd)}, over the {money(budget)} budget")
            if p.feasible and p.cost_usd is not None and p.cost_usd > budget * (1 + 1e-12)
            else p for p in points]


def _reason(result: ModeResult) -> str:
    if result.earliest_hours is not None:
        return f"earliest finish {hours_text(result.earliest_hours)}"
    return result.reasons[0] if result.reasons else "infeasible"


def mark_dominated(points: list[FrontierPoint]) -> list[FrontierPoint]:
    """``points`` (by deadline) with feasible ones no cheaper than a shorter deadline's
    marked "dominated"."""
    out, best = [], float("inf")
    for p in sorted(points, key=lambda p: p.deadline_hours):
        if p.feasible:
            if p.cost_usd < best - 1e-6:
                best = p.cost_usd
            elif p.is_job_deadline:  # the job's answer; say a faster deadline costs as much
                p = replace(p, note="a shorter deadline costs the same")
            else:
                p = replace(p, status="dominated", note="no cheaper than a shorter deadline")
        out.append(p)
    return out


def pareto(points: list[FrontierPoint]) -> list[FrontierPoint]:
    """Feasible points strictly cheaper than every faster one: the curve itself."""
    kept, best = [], float("inf")
    for p in sorted(points, key=lambda p: p.deadline_hours):
        if p.feasible and p.cost_usd < best - 1e-6:
            kept.append(p)
            best = p.cost_usd
    return kept

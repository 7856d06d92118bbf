"""``gpucost diff``: what a change to a job file does to its cheapest plan.

Pure functions over the versioned plan JSON (a fresh plan's ``to_dict()`` or a saved
plan file), so a job file, a saved plan and a file at a git revision compare alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpucost.formatting import hours_text, money


@dataclass(frozen=True)
class PlanSummary:
    """What a reviewer compares: cost, time, cluster, layout, and whether it holds."""

    label: str                  # where it came from (file, git:REF:path)
    job_name: str
    status: str                 # optimal | infeasible
    cost_usd: float | None      # of the plan; an infeasible one: the plan the budget rules out
    hours: float | None
    gpu_hours: float | None
    clusters: tuple[str, ...]   # "6 x p6-b200.48xlarge (B200, on_demand, aws us-east-1)"
    layouts: tuple[str, ...]
    deadline_hours: float | None
    budget_usd: float | None
    reasons: tuple[str, ...] = ()

    @property
    def breaks(self) -> list[str]:
        """Why this plan breaks its job's budget or deadline (empty: it does not)."""
        out = []
        if self.budget_usd is not None and self.cost_usd is not None \
                and self.cost_usd > self.budget_usd:
            out.append(f"cost {money(self.cost_usd)} is over the budget of "
                       f"{money(self.budget_usd)}")
        if self.deadline_hours is not None and self.hours is not None \
                and self.hours > self.deadline_hours * (1 + 1e-9):
            out.append(f"done in {hours_text(self.hours)}, after the deadline of "
                       f"{hours_text(self.deadline_hours)}")
        if self.status != "optimal" and not out:
            out.append("no plan meets the job's constraints: " + (
                self.reasons[0] if self.reasons else "infeasible"))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "job": self.job_name, "status": self.status,
                "cost_usd": self.cost_usd, "hours": self.hours, "gpu_hours": self.gpu_hours,
                "clusters": list(self.clusters), "layouts": list(self.layouts),
                "deadline_hours": self.deadline_hours, "budget_usd": self.budget_usd,
                "reasons": list(self.reasons), "breaks": self.breaks}


def _clusters(allocations: list[dict]) -> tuple[str, ...]:
    counts: dict[str, int] = {}
    for a in allocations:
        key = (f"{a['instances']} x {a['instance_type']} ({a['gpu']}, {a['pricing']}, "
               f"{a['provider']} {a['region']})")
        counts[key] = counts.get(key, 0) + 1
    return tuple(k if n == 1 else f"{k}, {n} runs" for k, n in counts.items())


def summarize(plan: dict[str, Any], label: str) -> PlanSummary:
    """The summary of a plan in its JSON form."""
    from gpucost.report.plan_report import layout_text

    job = plan.get("job") or {}
    allocations = list(plan.get("allocations") or [])
    totals = plan.get("totals") or {}
    cost, hours, gpu_hours = totals.get("cost_usd"), totals.get("hours"), totals.get(
        "gpu_hours")
    over = plan.get("over_budget")
    if plan.get("status") != "optimal":
        cost = hours = gpu_hours = None
        if over and over.get("cost_usd") is not None:  # the plan the budget rules out
            allocations = list(over.get("allocations") or [])
            cost, hours = over["cost_usd"], over.get("hours")
            gpu_hours = sum(a["instances"] * a["gpu_count"] * a["hours"] for a in allocations)
    layouts = tuple(dict.fromkeys(layout_text(a["layout"]) for a in allocations
                                  if a.get("layout")))
    return PlanSummary(label=label, job_name=str(job.get("name", "")),
                       status=str(plan.get("status", "")), cost_usd=cost, hours=hours,
                       gpu_hours=gpu_hours, clusters=_clusters(allocations), layouts=layouts,
                       deadline_hours=job.get("deadline_hours"),
                       budget_usd=job.get("budget_usd"),
                       reasons=tuple(plan.get("reasons") or ()))


@dataclass(frozen=True)
class PlanDiff:
    base: PlanSummary
    new: PlanSummary
    notes: list[str] = field(default_factory=list)

    @property
    def cost_change(self) -> float | None:
        if self.base.cost_usd is None or self.new.cost_usd is None:
            return None
        return self.new.cost_usd - self.base.cost_usd

    @property
    def hours_change(self) -> float | None:
        if self.base.hours is None or self.new.hours is None:
            return None
        return self.new.hours - self.base.hours

    @property
    def ok(self) -> bool:
        """The new plan keeps its job's budget and deadline."""
        return not self.new.breaks

    def to_json(self) -> dict[str, Any]:
        return {"base": self.base.to_json(), "new": self.new.to_json(),
                "change": {"cost_usd": self.cost_change, "hours": self.hours_change,
                           "cost_ratio": (self.new.cost_usd / self.base.cost_usd
                                          if self.cost_change is not None
                                          and self.base.cost_usd else None)},
                "ok": self.ok, "notes": self.notes}


def compare(base: PlanSummary, new: PlanSummary) -> PlanDiff:
    notes = []
    if base.job_name and new.job_name and base.job_name != new.job_name:
        notes.append(f"the job's name changed: {base.job_name} -> {new.job_name}")
    return PlanDiff(base, new, notes)

"""What a mode solver returns, before the planner adds baseline and alternatives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpucost.planner.plan import Allocation, AllocationTotals


@dataclass
class ModeResult(AllocationTotals):
    """Allocations of one solved mode, or the reasons it is infeasible."""

    allocations: list[Allocation]
    status: str  # "optimal" | "infeasible"
    solver: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    earliest_hours: float | None = None  # set when the deadline is what binds

    @property
    def feasible(self) -> bool:
        return self.status == "optimal"



def infeasible(reasons: list[str], solver: dict[str, Any],
               earliest_hours: float | None = None) -> ModeResult:
    """A result with no allocations (``earliest_hours``: the soonest it could finish)."""
    return ModeResult([], "infeasible", solver, reasons=reasons,
                      earliest_hours=earliest_hours)

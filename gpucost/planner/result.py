"""What a mode solver returns, before the planner adds baseline and alternatives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpucost.planner.plan import Allocation


@dataclass
class ModeResult:
    """Allocations of one solved mode, or the reasons it is infeasible."""

    allocations: list[Allocation]
    status: str  # "optimal" | "infeasible"
    solver: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        return self.status == "optimal"

    @property
    def cost_usd(self) -> float:
        return sum(a.cost_usd for a in self.allocations)

    @property
    def hours(self) -> float:
        return max((a.hours for a in self.allocations), default=0.0)


def infeasible(reasons: list[str], solver: dict[str, Any]) -> ModeResult:
    """A result with no allocations."""
    return ModeResult([], "infeasible", solver, reasons=reasons)

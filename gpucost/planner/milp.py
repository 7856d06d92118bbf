"""Solving pulp programs: one place that picks the solver and keeps its banner off stdout."""

from __future__ import annotations

import time
from typing import Any

import pulp


def solve(problem: pulp.LpProblem) -> dict[str, Any]:
    """Solve ``problem`` in place; returns ``{"name", "status", "seconds"}``.

    CBC (bundled with pulp) is used: measured here on a 5,000-offer selection MILP it
    took ~3 s where HiGHS spent ~50 s in presolve, so no other solver is offered.
    ``msg=False`` keeps the solver's log off stdout, which scripts read as JSON.
    """
    start = time.perf_counter()
    problem.solve(pulp.PULP_CBC_CMD(msg=False))
    if problem.status == pulp.LpStatusOptimal and not problem.valid(1e-6):
        # CBC's preprocessing can return a point that breaks a constraint and still call
        # it optimal (seen on a 3-offer max_gpus MILP: y <= n violated). Its answer is
        # checked here, and solved again without preprocessing when it does not hold.
        problem.solve(pulp.PULP_CBC_CMD(msg=False, options=["preprocess off"]))
    return {"name": "pulp/CBC", "status": pulp.LpStatus[problem.status].lower(),
            "seconds": time.perf_counter() - start}


def affine(pairs: list[tuple[pulp.LpVariable, float]]) -> pulp.LpAffineExpression:
    """A linear expression built in one go (much faster than summing terms)."""
    return pulp.LpAffineExpression(pairs)

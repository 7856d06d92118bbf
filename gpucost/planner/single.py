"""``single`` mode: one synchronous run on one homogeneous cluster.

Exactly one offer and an integer number of its instances. The performance model gives
each offer's throughput at every runnable instance count (its fastest layout that fits
memory; other counts cannot split the batch and run nothing); scanning those counts up
to the offer's limit and keeping the cheapest that meets the deadline is exact and
faster than a MILP (see ``candidates.best_instances``).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from gpucost.formatting import hours_text, sig
from gpucost.job.spec import Assumptions, Constraints, RunSpec
from gpucost.planner.candidates import Candidates, best_instances, run_hours, tie_break_order
from gpucost.planner.diagnose import budget_reason, deadline_reason, empty_reason, speed_limit
from gpucost.planner.plan import Allocation
from gpucost.planner.result import ModeResult, infeasible


def evaluate_offers(cands: Candidates, run: RunSpec, assumptions: Assumptions) -> pd.DataFrame:
    """Each candidate's cheapest cluster: columns ``instances``, ``hours``, ``cost_usd``,
    ``meets_deadline`` (False rows are costed at their fastest cluster)."""
    t = cands.table
    curves = cands.curves
    n, meets, j = best_instances(cands, run)
    hours = run_hours(run, curves.rate[t["curve"].to_numpy(), j], curves.startup_hours)
    out = t.copy(deep=False)  # new columns only: the candidate table stays untouched
    out["instances"] = n
    out["hours"] = hours
    out["cost_usd"] = n * hours * t["usd_per_hour"].to_numpy()
    out["meets_deadline"] = meets
    return out


def allocation_from_row(row: pd.Series, run_name: str = "",
                        cands: Candidates | None = None) -> Allocation:
    """The allocation for one evaluated candidate row (with its layout when the
    candidates' curves are given)."""
    layout = None
    if cands is not None and cands.curves is not None:
        layout = cands.curves.layout(int(row["hw_class"]), int(row["instances"])).to_dict()
    return Allocation(layout=layout,
        provider=row["provider"], region=row["region"], zone=row["zone"],
        instance_type=row["instance_type"], gpu=row["gpu"], gpu_count=int(row["gpu_count"]),
        pricing=row["pricing"], instances=int(row["instances"]), hours=float(row["hours"]),
        usd_per_hour=float(row["usd_per_hour"]), precision_used=row["precision_used"],
        run=run_name, as_of=row["as_of"].date().isoformat())


def best_rows(evaluated: pd.DataFrame) -> pd.DataFrame:
    """Deadline-meeting rows in tie-break order (cheapest first)."""
    ok = evaluated[evaluated["meets_deadline"]]
    order = tie_break_order(ok, ok["cost_usd"].to_numpy(), ok["instances"].to_numpy())
    return ok.iloc[order]


def deadline_miss(evaluated: pd.DataFrame, run: RunSpec, cands: Candidates,
                  constraints: Constraints, assumptions: Assumptions | None = None
                  ) -> tuple[str, float]:
    """Why no cluster in ``evaluated`` meets ``run``'s deadline, and its earliest finish
    (the fastest cluster), with the limit that stops it going faster. When the fastest is
    spot, what reclaims do to it is the reason."""
    fastest = evaluated.iloc[int(np.argmin(evaluated["hours"].to_numpy()))]
    where = f"{fastest['instance_type']} x{int(fastest['instances'])} in {fastest['region']}"
    hours = float(fastest["hours"])
    if assumptions is not None and fastest["pricing"] == "spot":
        return spot_reason(run, fastest, assumptions, cands.deadline_confidence), hours
    return deadline_reason(run, hours, where, speed_limit(cands, fastest, constraints)), hours


def _duration(hours: float | None) -> str:
    if not hours:
        return "never"
    return f"{sig(hours * 60, 2)} min" if hours < 1 else hours_text(hours)


def spot_reason(run: RunSpec, row: pd.Series, assumptions: Assumptions,
                confidence: float | None) -> str:
    """Why the fastest cluster, a spot one, misses the deadline: what reclaims cost it."""
    from gpucost.performance.spot import offer_reclaim_rates, run_figures

    rate = float(offer_reclaim_rates(row.to_frame().T, assumptions)[0])
    n = int(row["instances"])
    f = run_figures(assumptions, rate, n, int(row["gpu_count"]), float(row["hours"]),
                    run.deadline_hours, (run.parameters or 0.0) * run.bytes_per_parameter)
    every = f["hours_between_interruptions"]
    where = f"{n} x {row['instance_type']} spot in {row['region']}"
    if f["meets_deadline_mean"] and confidence is not None:
        return (f"{run.name}: no spot cluster finishes by the deadline of "
                f"{hours_text(run.deadline_hours)} with probability {confidence:g} "
                f"(deadline_confidence); the fastest, {where}, expects "
                f"{hours_text(float(row['hours']))} but reclaims leave it a "
                f"{f['p_meets_deadline']:.0%} chance (normal approximation)")
    return (f"{run.name}: deadline of {hours_text(run.deadline_hours)} cannot be met on "
            f"spot: the fastest cluster, {where}, expects {hours_text(float(row['hours']))}; "
            f"interrupted every {_duration(every)}, it loses "
            f"{f['lost_share']:.0%} of its paid time, and more spot instances are "
            "interrupted more often (relax the deadline, allow on-demand with spot: "
            "allowed, or choose a pool reclaimed less often)")




def solve_single(cands: Candidates, run: RunSpec, constraints: Constraints,
                 assumptions: Assumptions) -> ModeResult:
    """The cheapest single-offer cluster meeting the deadline (and budget)."""
    start = time.perf_counter()

    def solver(status: str) -> dict:
        return {"name": "exhaustive scan", "status": status,
                "seconds": time.perf_counter() - start}

    if cands.empty:
        return infeasible([empty_reason(cands, run)], solver("infeasible"))
    evaluated = evaluate_offers(cands, run, assumptions)
    ranked = best_rows(evaluated)
    if ranked.empty:
        reason, earliest = deadline_miss(evaluated, run, cands, constraints, assumptions)
        return infeasible([reason], solver("infeasible"), earliest)
    best = ranked.iloc[0]
    if constraints.budget_usd is not None and best["cost_usd"] > constraints.budget_usd:
        return infeasible([budget_reason(float(best["cost_usd"]), constraints.budget_usd)],
                          solver("infeasible"))
    return ModeResult([allocation_from_row(best, run.name, cands)], "optimal", solver("optimal"),
                      notes=list(cands.notes))

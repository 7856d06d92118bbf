"""``gpucost status --tokens-done N`` / ``--measured-tps X``: the run against its plan.

Pure functions of the plan JSON, what the run reports and the clock. The pace is
either the tokens done over the elapsed wall time (checkpoints, restarts and start-up
included, as they happened), or the measured training throughput (``--measured-tps``,
tokens per second of the whole cluster while it trains), stretched by the plan's own
goodput overhead (its wall hours over its pure training hours), since a throughput
counter does not see checkpoints and restarts. At that pace:

    remaining hours = (total tokens - tokens done) / pace
    finish          = now + remaining hours
    spend at finish = spend so far + remaining hours x the plan's $/hour (all instances)

The job's total tokens come from ``--total-tokens``, else the plan's job file (its
``model.tokens``) when it is at hand, else the plan's FLOPs over 6 x parameters (the
planner's own count when a job gives no ``flops``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from gpucost.errors import GpucostError
from gpucost.formatting import hours_text, money, sig


@dataclass
class Progress:
    tokens_total: float
    tokens_source: str
    tokens_done: float
    elapsed_hours: float
    pace_tokens_per_hour: float
    pace_source: str
    planned_tokens_per_hour: float | None
    remaining_hours: float
    finish_at: datetime
    deadline_at: datetime | None
    spend_usd: float
    spend_at_finish_usd: float
    plan_cost_usd: float | None
    budget_usd: float | None
    usd_per_hour: float
    warnings: list[str] = field(default_factory=list)

    @property
    def meets_deadline(self) -> bool | None:
        return None if self.deadline_at is None else self.finish_at <= self.deadline_at

    @property
    def meets_budget(self) -> bool | None:
        return None if self.budget_usd is None else self.spend_at_finish_usd <= self.budget_usd

    def to_json(self) -> dict[str, Any]:
        return {"tokens_total": self.tokens_total, "tokens_total_source": self.tokens_source,
                "tokens_done": self.tokens_done,
                "fraction_done": self.tokens_done / self.tokens_total,
                "elapsed_hours": self.elapsed_hours,
                "pace_tokens_per_hour": self.pace_tokens_per_hour,
                "pace_source": self.pace_source,
                "planned_tokens_per_hour": self.planned_tokens_per_hour,
                "remaining_hours": self.remaining_hours,
                "predicted_finish": self.finish_at.isoformat(timespec="minutes"),
                "deadline": (self.deadline_at.isoformat(timespec="minutes")
                             if self.deadline_at else None),
                "meets_deadline": self.meets_deadline,
                "spend_usd": self.spend_usd,
                "predicted_spend_usd": self.spend_at_finish_usd,
                "plan_cost_usd": self.plan_cost_usd, "budget_usd": self.budget_usd,
                "meets_budget": self.meets_budget, "usd_per_hour": self.usd_per_hour,
                "warnings": self.warnings}


def _time(text: Any) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _job_file(plan: dict[str, Any]):  # noqa: ANN202
    """The plan's job file, if it is at hand and still reads (else None)."""
    source = (plan.get("job") or {}).get("source")
    if not source:
        return None
    try:
        from gpucost.job.parse import load_job

        return load_job(source)
    except (GpucostError, OSError):
        return None


def total_tokens(plan: dict[str, Any], given: float | None) -> tuple[float, str]:
    """The job's tokens, and where the figure came from."""
    if given:
        return given, "--total-tokens"
    job = _job_file(plan)
    if job is not None and len(job.runs) == 1 and job.runs[0].tokens:
        return float(job.runs[0].tokens), f"model.tokens of {job.source}"
    flops = (plan.get("requirements") or {}).get("flops")
    params = ((plan.get("assumptions") or {}).get("model_shape") or {}).get("parameters")
    if flops and params:
        return float(flops) / (6.0 * float(params)), "the plan's FLOPs / (6 x parameters)"
    raise GpucostError("status: the plan does not say how many tokens the job trains; "
                       "give --total-tokens")


def progress(plan: dict[str, Any], *, now: datetime, elapsed_hours: float | None,
             spend_usd: float | None, tokens_done: float | None,
             measured_tps: float | None, tokens_total: float | None = None) -> Progress:
    """The run's predicted finish and spend at its current pace."""
    job = plan.get("job") or {}
    if job.get("mode") == "experiments" or int(job.get("runs") or 1) > 1:
        raise GpucostError("status: --tokens-done / --measured-tps follow one run; this plan "
                           "has several (experiments)")
    allocations = plan.get("allocations") or []
    if plan.get("status") != "optimal" or not allocations:
        raise GpucostError("status: the plan has no allocations to follow (infeasible plan)")
    total, source = total_tokens(plan, tokens_total)
    usd_per_hour = sum(float(a["usd_per_hour"]) * int(a["instances"]) for a in allocations)
    planned_hours = max(float(a["hours"]) for a in allocations)
    planned_pace = total / planned_hours if planned_hours > 0 else None
    if elapsed_hours is None or elapsed_hours <= 0:
        raise GpucostError("status: no elapsed time known (no running instance with a start "
                           "time); give --elapsed-hours")
    if tokens_done is not None and tokens_done > total * 1.5:
        raise GpucostError(f"--tokens-done: {tokens_done:g} is far beyond the job's "
                           f"{total:g} tokens ({source}); expected tokens trained so far")
    if measured_tps is not None:
        # Throughput counters see training only: stretch by the plan's goodput overhead.
        layout = allocations[0].get("layout") or {}
        startup = 0.0
        tps_plan = layout.get("tokens_per_s")
        stretch = 1.0
        if tps_plan:
            pure = total / (float(tps_plan) * 3600.0)
            from gpucost.job.spec import Assumptions

            job_file = _job_file(plan)
            startup = (job_file.assumptions if job_file else Assumptions()).startup_hours
            stretch = max(1.0, (planned_hours - startup) / pure) if pure > 0 else 1.0
        pace = measured_tps * 3600.0 / stretch
        pace_source = (f"--measured-tps {sig(measured_tps, 3)} tokens/s, less the plan's "
                       f"{stretch - 1:.0%} goodput overhead")
        if tokens_done is None:  # not given: as if the whole elapsed time ran at this pace
            pace_source += "; tokens done assumed at that pace since the start"
        done = tokens_done if tokens_done is not None else min(pace * elapsed_hours, total)
    else:
        assert tokens_done is not None
        pace = tokens_done / elapsed_hours
        pace_source = f"{sig(tokens_done, 3)} tokens in {hours_text(elapsed_hours)}"
        done = tokens_done
    if pace <= 0:
        raise GpucostError("status: no progress yet (0 tokens): nothing to extrapolate")
    remaining = max(total - done, 0.0) / pace
    finish = now + timedelta(hours=remaining)
    spend = spend_usd if spend_usd is not None else elapsed_hours * usd_per_hour
    at_finish = spend + remaining * usd_per_hour
    deadline = _time(job.get("deadline"))
    budget = job.get("budget_usd")
    cost = (plan.get("totals") or {}).get("cost_usd")
    p = Progress(total, source, done, elapsed_hours, pace, pace_source, planned_pace,
                 remaining, finish, deadline, spend, at_finish, cost, budget, usd_per_hour)
    if deadline is not None and finish > deadline:
        p.warnings.append(f"at the current pace the run finishes {finish:%Y-%m-%d %H:%M} UTC, "
                          f"{hours_text((finish - deadline).total_seconds() / 3600)} after the "
                          f"deadline ({deadline:%Y-%m-%d %H:%M} UTC)")
    if budget is not None and at_finish > budget:
        p.warnings.append(f"at the current pace the run will cost {money(at_finish)}, over the "
                          f"budget of {money(budget)}")
    return p


def format_progress(p: Progress) -> list[str]:
    lines = [f"Progress: {p.tokens_done / p.tokens_total:.0%} of {sig(p.tokens_total, 3)} "
             f"tokens ({p.tokens_source}) after {hours_text(p.elapsed_hours)}; pace "
             f"{sig(p.pace_tokens_per_hour, 3)} tokens/hour from {p.pace_source}"
             + (f" (plan: {sig(p.planned_tokens_per_hour, 3)})"
                if p.planned_tokens_per_hour else "")]
    finish = (f"At this pace: done {p.finish_at:%Y-%m-%d %H:%M} UTC (in "
              f"{hours_text(p.remaining_hours)})")
    if p.deadline_at is not None:
        finish += (f", deadline {p.deadline_at:%Y-%m-%d %H:%M} UTC "
                   f"({'met' if p.meets_deadline else 'MISSED'})")
    lines.append(finish)
    spend = f"Spend at finish: {money(p.spend_at_finish_usd)}"
    if p.plan_cost_usd:
        spend += f" (plan: {money(p.plan_cost_usd)})"
    if p.budget_usd is not None:
        spend += f", budget {money(p.budget_usd)} ({'met' if p.meets_budget else 'OVER'})"
    lines.append(spend + f"; {money(p.usd_per_hour)}/hour from now on")
    return lines


def elapsed_from_rows(uptimes: list[float | None]) -> float | None:
    """The run's elapsed wall time: the longest uptime among its instances."""
    known = [u for u in uptimes if u is not None and math.isfinite(u)]
    return max(known) if known else None

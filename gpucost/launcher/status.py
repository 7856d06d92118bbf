"""What ``gpucost status`` reports: per instance its state, uptime, the run's exit status
and spend so far; in all, spend against the plan's cost and budget, with warnings.

Pure functions of the instances the backends found (``inspect``) and the time. Spend so
far is uptime x the plan's $/hour of that instance (the ``gpucost:usd-per-hour`` tag /
``gpucost-usd-per-hour`` metadata written at launch): an estimate at list price, not the
bill. Uptime runs from the last start to now, or to when a stopped / terminated instance
stopped; instances the cloud no longer lists (EC2 forgets terminated ones after about an
hour, GCE deleted ones at once) are not counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from gpucost.formatting import money
from gpucost.launcher.backends import Instance
from gpucost.launcher.state import read_state

ENDED_STATES = frozenset({"stopped", "terminated", "shutting-down", "stopping",
                          "TERMINATED", "STOPPED", "SUSPENDED", "STOPPING"})


@dataclass
class InstanceStatus:
    instance: Instance
    uptime_hours: float | None  # None: start time unknown
    spend_usd: float | None  # None: price or uptime unknown
    exit_status: str  # '' while the run goes on (or when nothing was reported)

    def to_json(self) -> dict[str, Any]:
        return {**self.instance.to_json(), "uptime_hours": self.uptime_hours,
                "spend_usd": self.spend_usd, "exit_status": self.exit_status}


@dataclass
class StatusReport:
    rows: list[InstanceStatus]
    spend_usd: float
    plan_cost_usd: float | None
    budget_usd: float | None
    warnings: list[str] = field(default_factory=list)
    searched: list[str] = field(default_factory=list)  # providers searched
    not_searched: list[tuple[str, str]] = field(default_factory=list)  # (provider, why)

    @property
    def complete(self) -> bool:
        """Every provider was searched: an empty list means no instances, not 'unknown'."""
        return not self.not_searched

    def to_json(self) -> dict[str, Any]:
        return {"complete": self.complete, "searched": self.searched,
                "not_searched": [{"provider": p, "reason": why}
                                 for p, why in self.not_searched],
                "instances": [r.to_json() for r in self.rows],
                "spend_usd": self.spend_usd if self.searched else None,
                "plan_cost_usd": self.plan_cost_usd, "budget_usd": self.budget_usd,
                "warnings": self.warnings}


def _time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _number(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def instance_status(inst: Instance, now: datetime) -> InstanceStatus:
    start = _time(inst.extra.get("launched_at", ""))
    end = _time(inst.extra.get("ended_at", "")) if inst.state in ENDED_STATES else None
    if inst.state in ENDED_STATES and end is None:
        end = start  # ended at an unknown time: do not count time since
    uptime = max(((end or now) - start).total_seconds() / 3600, 0.0) if start else None
    price = _number(inst.extra.get("usd_per_hour", ""))
    spend = uptime * price if uptime is not None and price is not None else None
    return InstanceStatus(inst, uptime, spend, inst.extra.get("exit_status", ""))


def _first(instances: list[Instance], key: str) -> float | None:
    for inst in instances:
        value = _number(inst.extra.get(key, ""))
        if value is not None:
            return value
    return None


def status_report(instances: list[Instance], now: datetime | None = None, *,
                  plan_cost_usd: float | None = None,
                  budget_usd: float | None = None, searched: list[str] | None = None,
                  not_searched: list[tuple[str, str]] | None = None) -> StatusReport:
    """Spend per instance and in all; the plan's cost and budget come from the plan file
    when given, else from what launch wrote on the instances. ``searched`` /
    ``not_searched``: the providers looked at, and those that could not be (with why);
    ``searched`` defaults to the providers of ``instances``."""
    now = now or datetime.now(UTC)
    rows = [instance_status(i, now) for i in instances]
    spend = sum(r.spend_usd or 0.0 for r in rows)
    cost = plan_cost_usd if plan_cost_usd is not None else _first(instances, "plan_cost_usd")
    budget = budget_usd if budget_usd is not None else _first(instances, "budget_usd")
    not_searched = list(not_searched or [])
    warnings = [f"{name} not searched: {why}" for name, why in not_searched]
    if cost is not None and spend > cost:
        warnings.append(f"spend so far {money(spend)} is past the plan's cost of {money(cost)}")
    if budget is not None and spend > budget:
        warnings.append(f"spend so far {money(spend)} is past the budget of {money(budget)}")
    for row in rows:
        limit = _number(row.instance.extra.get("hard_limit_hours", ""))
        if (limit is not None and row.uptime_hours is not None
                and row.instance.state not in ENDED_STATES and row.uptime_hours > limit):
            warnings.append(f"{row.instance.id} has run {row.uptime_hours:.1f} h, past its "
                            f"hard limit of {limit:g} h: check it, or `gpucost down`")
    unpriced = [r.instance.id for r in rows if r.spend_usd is None]
    if unpriced:
        warnings.append(f"no spend known for {', '.join(unpriced)} (launched without price "
                        "tags, or no start time)")
    if searched is None:
        searched = list(dict.fromkeys(i.provider for i in instances))
    return StatusReport(rows, spend, cost, budget, warnings, list(searched), not_searched)


def format_report(report: StatusReport, plan_id: str) -> list[str]:
    """The table ``gpucost status`` prints."""
    if not report.searched:  # nothing was looked at: no count or spend to report
        why = "; ".join(f"{p}: {w}" for p, w in report.not_searched) or "none given"
        return [f"No provider could be searched ({why}): plan {plan_id}'s instances and "
                "spend are unknown."]
    lines = []
    for row in report.rows:
        i = row.instance
        rank = i.extra.get("rank", "")
        where = f"alloc {i.allocation or '?':>2}" + (f" rank {rank:>2}" if rank else "")
        uptime = f"{row.uptime_hours:7.2f} h" if row.uptime_hours is not None else "      ? h"
        spend = money(row.spend_usd) if row.spend_usd is not None else "?"
        exit_text = f"exit {row.exit_status}" if row.exit_status else (
            "running" if i.state not in ENDED_STATES else "exit ?")
        lines.append(f"{i.provider:4} {i.zone or i.region:16} {i.id:32} {i.instance_type:22}"
                     f" {i.pricing:9} {where}  {i.state:13} {uptime} {spend:>10}  {exit_text}")
    lines.append(f"{len(report.rows)} instance(s) of plan {plan_id}")
    total = f"Spend so far: {money(report.spend_usd)}"
    if report.plan_cost_usd:
        total += (f" of the plan's {money(report.plan_cost_usd)} "
                  f"({report.spend_usd / report.plan_cost_usd:.0%})")
    if report.budget_usd is not None:
        total += f"; budget {money(report.budget_usd)}"
    lines.append(total + " (uptime x the plan's $/hour)")
    if report.not_searched:
        lines.append(f"Not searched: {', '.join(p for p, _ in report.not_searched)} (see "
                     f"the warnings): the list and the spend may be incomplete.")
    return lines


def recorded_regions(plan_id: str, provider: str) -> list[str]:
    """The regions ``gpucost launch`` recorded for ``provider`` on this machine."""
    providers = (read_state(plan_id) or {}).get("providers") or {}
    return list((providers.get(provider) or {}).get("regions") or [])

"""The plan: what the planner decides, as typed dataclasses and a versioned JSON form.

The JSON form (``plan_version`` 1) is the contract with the launcher and with scripts:
fields may be added, never renamed or removed without bumping the version.

    {
      "plan_version": 1,
      "plan_id": "<job name>-<8 hex>",      content hash of what would be launched
      "created_at": "2026-11-25T14:50:00+00:00",
      "job": {"name", "mode", "precision", "deadline", "deadline_hours", "budget_usd"},
      "requirements": {"flops", "memory_gib"},
      "assumptions": {...},                 utilization model, scaling, spot overhead
      "allocations": [{"run", "provider", "region", "zone", "instance_type", "gpu",
                       "gpu_count", "pricing", "instances", "hours", "usd_per_hour",
                       "cost_usd", "precision_used", "as_of", "hours_p10", "hours_p90",
                       "cost_usd_p10", "cost_usd_p90", "basis",
                       "layout": {"data_parallel", "tensor_parallel", "pipeline_parallel",
                                  "zero_stage", "micro_batch", "activation_checkpointing",
                                  "memory_gib_per_gpu", "mfu", "comm_fraction",
                                  "tokens_per_s"} | null,
                       "work_share", "flops_per_hour"}],   (both null unless divisible)
      "totals": {"cost_usd", "hours", "gpu_hours", "hours_p10", "hours_p90",
                 "cost_usd_p10", "cost_usd_p90"},   P10-P90: see "assumptions.range"
      "baseline": {...} | null,             the cheapest plan on the GPU a $/GPU-hour
                                            ranking picks that still meets the deadline
      "naive_baseline": {...} | null,       the cheapest-$/GPU-hour offer alone, if that
                                            is another GPU (it cannot meet the deadline)
      "over_budget": {...} | null,          the plan the budget rules out, when it binds
      "alternatives": [{"gpu", "cost_usd", "hours", "instance_type", "offers",
                        "cost_usd_p10", "cost_usd_p90", "toss_up",
                        "allocations": [...], ...}],
      "snapshot": {"files": [{"provider", "path", "date"}], "oldest_as_of"},
      "solver": {"name", "status", "seconds"},
      "notes": ["..."]
    }
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

PLAN_VERSION = 1

# The form of every plan id ``gpucost plan`` makes: a job-name part of letters, digits,
# '.', '_' and '-' (at most 54 characters, so that the id fits a 63-character GCE label
# value whole) and 8 lowercase hex digits. ``launch``/``status``/``down`` accept nothing
# else: plan ids end up in cloud filters, where '*' and '?' are wildcards.
PLAN_ID_NAME_MAX = 54
PLAN_ID_PATTERN = re.compile(
    rf"[A-Za-z0-9][A-Za-z0-9._-]{{0,{PLAN_ID_NAME_MAX - 1}}}-[0-9a-f]{{8}}")
# What the id's hash covers: what would be launched, and at what price (never the clock,
# the deadline or estimates, so planning the same job twice gives the same id).
PLAN_ID_FIELDS = ("run", "provider", "region", "zone", "instance_type", "gpu", "gpu_count",
                  "pricing", "instances", "usd_per_hour")


def plan_id_name(job_name: str) -> str:
    """The job-name part of a plan id: unsafe characters folded to '-', shortened."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", job_name).strip("-._") or "job"
    return name[:PLAN_ID_NAME_MAX].rstrip("-._") or "job"


def make_plan_id(job_name: str, mode: str, allocations: list[Allocation]) -> str:
    """``<job name>-<8 hex>``: a content hash of the job name, mode and allocations."""
    key = json.dumps([job_name, mode, [{f: getattr(a, f) for f in PLAN_ID_FIELDS}
                                       for a in allocations]], sort_keys=True, default=str)
    return f"{plan_id_name(job_name)}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


@dataclass(frozen=True)
class Allocation:
    """Instances of one offer used by the plan."""

    provider: str
    region: str
    zone: str
    instance_type: str
    gpu: str
    gpu_count: int
    pricing: str
    instances: int
    hours: float
    usd_per_hour: float
    precision_used: str
    run: str = ""  # experiments mode: which run this allocation serves
    as_of: str = ""  # the date of the price used (YYYY-MM-DD)
    # How the run is laid out (divisible work: how each instance lays out its share):
    # data/tensor/pipeline parallel, ZeRO stage, micro-batch, checkpointing, memory per
    # GPU, MFU, share of step time in exposed communication, tokens/s.
    layout: dict[str, Any] | None = None
    # Spot allocations: the interruption band and what reclaims do to the run
    # (gpucost.performance.spot.run_figures, plus "band" and "band_source").
    spot_figures: dict[str, Any] | None = None
    # A Capacity Block to buy (pricing "capacity_block"): offering_id, zone, start, end,
    # instance_count, upfront_fee_usd, starts_in_hours, run_hours. The allocation's
    # hours run from now to the finish, and instances x hours x usd_per_hour = the fee.
    capacity_block: dict[str, Any] | None = None
    # Divisible plans only: the share of the job's FLOPs these instances do together
    # (equal parts each), and the job FLOPs one instance does per working hour.
    work_share: float | None = None
    flops_per_hour: float | None = None
    # The P10-P90 range of the hours (gpucost.performance.uncertainty; None where not
    # estimated), and what the throughput stands on: "calibrated", "extrapolated from
    # <gpu stack precision>" or "utilization fixed by the job".
    hours_p10: float | None = None
    hours_p90: float | None = None
    basis: str = ""

    @property
    def cost_usd(self) -> float:
        return self.instances * self.hours * self.usd_per_hour

    @property
    def cost_usd_p10(self) -> float | None:
        return None if self.hours_p10 is None else \
            self.instances * self.hours_p10 * self.usd_per_hour

    @property
    def cost_usd_p90(self) -> float | None:
        return None if self.hours_p90 is None else \
            self.instances * self.hours_p90 * self.usd_per_hour

    @property
    def gpu_hours(self) -> float:
        return self.instances * self.gpu_count * self.hours

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cost_usd"] = self.cost_usd
        data["cost_usd_p10"] = self.cost_usd_p10
        data["cost_usd_p90"] = self.cost_usd_p90
        return data


def _range_sum(allocations, name: str) -> float | None:
    values = [getattr(a, name) for a in allocations]
    return None if not values or any(v is None for v in values) else sum(values)


class CostRange:
    """P10-P90 cost over ``self.allocations`` (None where an allocation has no range)."""

    allocations: tuple[Allocation, ...] | list[Allocation]

    @property
    def cost_usd_p10(self) -> float | None:
        return _range_sum(self.allocations, "cost_usd_p10")

    @property
    def cost_usd_p90(self) -> float | None:
        return _range_sum(self.allocations, "cost_usd_p90")


@dataclass(frozen=True)
class Alternative(CostRange):
    """Another plan: the best one on another GPU type, a baseline, or the plan that the
    budget rules out. ``allocations`` lists every offer of it (a divisible plan may mix
    several); ``provider``/``region``/``instance_type``/``pricing`` describe the first."""

    gpu: str
    provider: str
    region: str
    instance_type: str
    pricing: str
    instances: int  # over all allocations
    cost_usd: float | None  # None: no plan with this GPU (``note`` says why)
    hours: float | None
    meets_deadline: bool
    note: str = ""
    allocations: tuple[Allocation, ...] = ()
    # Its cost lies inside the chosen plan's P10-P90 cost range: the model cannot tell
    # which of the two is cheaper.
    toss_up: bool = False

    @property
    def offers(self) -> int:
        """How many distinct offers the plan uses (0 when there is no plan)."""
        return len(self.by_offer())

    def by_offer(self) -> list[Allocation]:
        """The allocations summed per offer (experiments put many runs on one offer):
        instances and cost added up, hours the longest."""
        merged: dict[tuple, Allocation] = {}
        for a in self.allocations:
            key = (a.provider, a.region, a.instance_type, a.pricing)
            if key not in merged:
                merged[key] = replace(a, run="")
                continue
            m = merged[key]
            total = m.cost_usd + a.cost_usd
            instances = m.instances + a.instances
            hours = max(m.hours, a.hours)
            # keep cost exact: hours such that instances x hours x price = total
            merged[key] = replace(m, instances=instances,
                                  hours=total / (instances * m.usd_per_hour) if total else hours)
        return list(merged.values())

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "allocations"}
        data["offers"] = self.offers
        data["cost_usd_p10"] = self.cost_usd_p10
        data["cost_usd_p90"] = self.cost_usd_p90
        data["allocations"] = [a.to_json() for a in self.allocations]
        return data


class AllocationTotals(CostRange):
    """Totals over ``self.allocations``, shared by plans and mode results."""

    allocations: list[Allocation]

    @property
    def cost_usd(self) -> float:
        return sum(a.cost_usd for a in self.allocations)

    @property
    def hours(self) -> float:
        """Wall-clock hours until the last allocation finishes."""
        return max((a.hours for a in self.allocations), default=0.0)

    @property
    def gpu_hours(self) -> float:
        return sum(a.gpu_hours for a in self.allocations)

    @property
    def hours_p10(self) -> float | None:
        values = [a.hours_p10 for a in self.allocations]
        return None if not values or None in values else max(values)

    @property
    def hours_p90(self) -> float | None:
        values = [a.hours_p90 for a in self.allocations]
        return None if not values or None in values else max(values)

    @property
    def instances(self) -> int:
        return sum(a.instances for a in self.allocations)


@dataclass
class Plan(AllocationTotals):
    """A solved plan. ``status`` is "optimal" or "infeasible" (then ``reasons`` say why)."""

    job: dict[str, Any]
    requirements: dict[str, float]
    assumptions: dict[str, Any]
    allocations: list[Allocation]
    status: str
    solver: dict[str, Any]
    snapshot: dict[str, Any]
    baseline: Alternative | None = None  # cheapest plan on the $/GPU-hour pick that fits
    naive: Alternative | None = None  # the cheapest $/GPU-hour offer alone, if different
    over_budget: Alternative | None = None  # the plan the budget rules out (if it binds)
    alternatives: list[Alternative] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    created_at: str = ""

    @property
    def plan_id(self) -> str:
        """Stable id: the job name and a hash of what would be launched (see
        :func:`make_plan_id`)."""
        return make_plan_id(str(self.job.get("name", "job")), str(self.job.get("mode", "")),
                            self.allocations)

    def to_json(self, indent: int | None = 2) -> str:
        """The versioned JSON form described in the module docstring, as text (what
        ``gpucost plan -o json`` prints)."""
        return json.dumps(self.to_dict(), indent=indent, default=_plain)

    def to_dict(self) -> dict[str, Any]:
        """The versioned JSON form described in the module docstring, as a dict."""
        return {
            "plan_version": PLAN_VERSION,
            "plan_id": self.plan_id,
            "created_at": self.created_at,
            "status": self.status,
            "job": self.job,
            "requirements": self.requirements,
            "assumptions": self.assumptions,
            "allocations": [a.to_json() for a in self.allocations],
            "totals": {"cost_usd": self.cost_usd, "hours": self.hours,
                       "gpu_hours": self.gpu_hours,
                       "hours_p10": self.hours_p10, "hours_p90": self.hours_p90,
                       "cost_usd_p10": self.cost_usd_p10,
                       "cost_usd_p90": self.cost_usd_p90},
            "baseline": self.baseline.to_dict() if self.baseline else None,
            "naive_baseline": self.naive.to_dict() if self.naive else None,
            "over_budget": self.over_budget.to_dict() if self.over_budget else None,
            "alternatives": [a.to_dict() for a in self.alternatives],
            "snapshot": self.snapshot,
            "solver": self.solver,
            "notes": self.notes,
            "reasons": self.reasons,
        }


def _plain(value: Any) -> Any:
    """JSON for numpy scalars and dates that reach a plan (without importing either)."""
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)

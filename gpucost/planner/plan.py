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
                       "cost_usd", "precision_used", "as_of",
                       "layout": {"data_parallel", "tensor_parallel", "pipeline_parallel",
                                  "zero_stage", "micro_batch", "activation_checkpointing",
                                  "memory_gib_per_gpu", "mfu", "comm_fraction",
                                  "tokens_per_s"} | null}],
      "totals": {"cost_usd", "hours", "gpu_hours"},
      "baseline": {...} | null,             the cheapest-$/GPU-hour choice, costed
      "alternatives": [{"gpu", "cost_usd", "hours", "instance_type", ...}],
      "snapshot": {"files": [{"provider", "path", "date"}], "oldest_as_of"},
      "solver": {"name", "status", "seconds"},
      "notes": ["..."]
    }
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
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
    # How the run is laid out (single and experiments; None for divisible shares):
    # data/tensor/pipeline parallel, ZeRO stage, micro-batch, checkpointing, memory per
    # GPU, MFU, share of step time in exposed communication, tokens/s.
    layout: dict[str, Any] | None = None

    @property
    def cost_usd(self) -> float:
        return self.instances * self.hours * self.usd_per_hour

    @property
    def gpu_hours(self) -> float:
        return self.instances * self.gpu_count * self.hours

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["cost_usd"] = self.cost_usd
        return data


@dataclass(frozen=True)
class Alternative:
    """The best plan using another GPU type (or the naive baseline)."""

    gpu: str
    provider: str
    region: str
    instance_type: str
    pricing: str
    instances: int
    cost_usd: float | None  # None: no plan with this GPU (``note`` says why)
    hours: float | None
    meets_deadline: bool
    note: str = ""


class AllocationTotals:
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
    baseline: Alternative | None = None
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

    def to_json(self) -> dict[str, Any]:
        """The versioned JSON form described in the module docstring."""
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
                       "gpu_hours": self.gpu_hours},
            "baseline": asdict(self.baseline) if self.baseline else None,
            "alternatives": [asdict(a) for a in self.alternatives],
            "snapshot": self.snapshot,
            "solver": self.solver,
            "notes": self.notes,
            "reasons": self.reasons,
        }

"""``estimate``: what a cluster you name does for a job (time with its range, cost, layout).

The planner picks the cluster; here the user does ("16 x p5.48xlarge, our reservation").
Everything is priced by the planner's own code on a one-offer candidate table, so that
for the cluster ``plan`` chose the two agree to the cent and the second:

- ``single``: one run on ``instances`` of the offer (hours from the performance model's
  rate at that count, ``candidates.run_hours``; cost = instances x hours x $/hour);
- ``experiments``: every run on its own ``instances`` of the offer, all started now
  (what a plan does); the totals add the costs and take the longest run;
- ``divisible``: ``instances`` independent instances sharing the work, as
  ``planner.divisible`` prices them (per-instance rate at the fewest instances that fit).

The range (P10-P90 wall time) comes from the performance model's estimate when it
gives one (``Estimate.hours_p10`` / ``hours_p90``), from the team's own residuals when a
calibration profile covers the GPU (``gpucost calibrate``), else from the published
model's spread (:data:`PUBLISHED_LOG_SPREAD`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from gpucost.catalog.snapshot import Catalog
from gpucost.errors import GpucostError, quote
from gpucost.formatting import hours_text, money
from gpucost.job.spec import Constraints, JobSpec, RunSpec
from gpucost.performance.user_calibration import (
    active_profile,
    calibrated_range,
    spread_to_ratios,
)
from gpucost.planner.candidates import build_candidates

# Spread of log(measured / modelled) throughput of the published model when the model
# gives no range of its own: the leave-one-out throughput errors in README ("How the
# estimate works": median 11%) correspond, for a log-normal, to a log-sd of
# 0.11 / 0.674 ~= 0.16; rounded up to 0.2 because leave-one-out on the same sources is
# optimistic. Used only until the model's own range is available.
PUBLISHED_LOG_SPREAD = 0.2

PRICINGS = ("on_demand", "spot")


@dataclass(frozen=True)
class RunEstimate:
    """One run of the job on the named cluster."""

    run: str
    fits: bool
    hours: float | None          # wall hours, goodput and start-up included
    hours_p10: float | None
    hours_p90: float | None
    cost_usd: float | None
    tokens_per_s: float | None
    layout: dict[str, Any] | None
    meets_deadline: bool
    deadline_hours: float
    reasons: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"run": self.run, "fits": self.fits, "hours": self.hours,
                "hours_p10": self.hours_p10, "hours_p90": self.hours_p90,
                "cost_usd": self.cost_usd, "tokens_per_s": self.tokens_per_s,
                "layout": self.layout, "meets_deadline": self.meets_deadline,
                "deadline_hours": self.deadline_hours, "reasons": list(self.reasons)}


@dataclass(frozen=True)
class ClusterEstimate:
    """What ``instances`` of one offer do for a job."""

    job: dict[str, Any]
    offer: dict[str, Any]
    instances: int
    runs: tuple[RunEstimate, ...]
    basis: str
    calibration: str | None      # "calibrated on 3 of your measurements (H100, pytorch)"
    notes: tuple[str, ...] = field(default=())

    @property
    def fits(self) -> bool:
        return all(r.fits for r in self.runs)

    @property
    def cost_usd(self) -> float | None:
        return sum(r.cost_usd for r in self.runs) if self.fits else None  # type: ignore[misc]

    @property
    def hours(self) -> float | None:
        return max(r.hours for r in self.runs) if self.fits else None  # type: ignore[type-var]

    def _extreme(self, key: str) -> float | None:
        values = [getattr(r, key) for r in self.runs]
        return max(values) if self.fits and None not in values else None

    @property
    def meets_deadline(self) -> bool:
        return self.fits and all(r.meets_deadline for r in self.runs)

    @property
    def meets_budget(self) -> bool | None:
        budget = self.job.get("budget_usd")
        if budget is None:
            return None
        return self.fits and self.cost_usd <= budget  # type: ignore[operator]

    @property
    def ok(self) -> bool:
        """Fits, meets the deadline and (if any) the budget."""
        return self.meets_deadline and self.meets_budget is not False

    def to_dict(self) -> dict[str, Any]:
        gpu_hours = (sum(r.hours for r in self.runs) * self.instances  # type: ignore[misc]
                     * self.offer["gpu_count"]) if self.fits else None
        if self.fits and self.job["mode"] == "divisible":
            gpu_hours = self.hours * self.instances * self.offer["gpu_count"]  # type: ignore[operator]
        return {"job": self.job, "offer": self.offer, "instances": self.instances,
                "fits": self.fits, "runs": [r.to_json() for r in self.runs],
                "totals": {"cost_usd": self.cost_usd, "hours": self.hours,
                           "hours_p10": self._extreme("hours_p10"),
                           "hours_p90": self._extreme("hours_p90"),
                           "gpu_hours": gpu_hours},
                "meets_deadline": self.meets_deadline, "meets_budget": self.meets_budget,
                "basis": self.basis, "calibration": self.calibration,
                "notes": list(self.notes)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)


def pick_offer(offers: pd.DataFrame, instance_type: str, provider: str | None = None,
               region: str | None = None, pricing: str | None = None) -> pd.Series:
    """The catalog row for the named cluster: the cheapest $/hour among the rows that
    match (ties: provider, region by name), as ``plan`` would choose among them."""
    rows = offers[offers["instance_type"].str.lower() == instance_type.lower()]
    if rows.empty:
        known = sorted(set(offers["instance_type"]))
        from gpucost.suggest import closest_first
        hint = ", ".join(closest_first(instance_type, known, 5)) if known else "none"
        raise GpucostError(f"--instance-type: {quote(instance_type)} is in no snapshot row; "
                           f"expected one of the catalog's instance types (closest: {hint})")
    for label, column, value in (("--provider", "provider", provider),
                                 ("--region", "region", region),
                                 ("--pricing", "pricing", pricing or "on_demand")):
        if value is None:
            continue
        narrowed = rows[rows[column].str.lower() == value.lower()]
        if narrowed.empty:
            have = ", ".join(sorted(set(rows[column])))
            raise GpucostError(f"{label}: {instance_type} has no {quote(value)} offer in the "
                               f"catalog; expected one of: {have}")
        rows = narrowed
    return rows.sort_values(["usd_per_hour", "provider", "region", "zone"],
                            kind="stable").iloc[0]


def _range(run: RunSpec, offer: pd.Series, hours: float, startup: float, est: Any
           ) -> tuple[float, float, str]:
    """(hours at P10, at P90, what the range rests on). ``est`` is the performance
    model's Estimate for the cluster (its ``hours_p10`` / ``hours_p90`` / ``basis`` when
    the model gives them)."""
    spread = calibrated_range(str(offer["gpu"]), run.stack, run.precision, run.utilization)
    if spread is not None:
        fast, slow = spread_to_ratios(spread)
        basis = "your measurements"
    else:
        p10, p90 = getattr(est, "hours_p10", None), getattr(est, "hours_p90", None)
        basis = str(getattr(est, "basis", "") or "published runs")
        if p10 is not None and p90 is not None and est.hours and est.hours > startup:
            train = est.hours - startup
            fast, slow = (p10 - startup) / train, (p90 - startup) / train
        else:
            fast, slow = spread_to_ratios(PUBLISHED_LOG_SPREAD)
    train = hours - startup
    return startup + train * fast, startup + train * slow, basis


def _run_estimate(run: RunSpec, offer: pd.Series, instances: int, job: JobSpec
                  ) -> tuple[RunEstimate, list[str], str]:
    """One run on the cluster. The candidate table (the planner's own) says whether the
    offer is usable at all, with its notes; the figures come from the performance
    model's ``estimate`` (single, experiments) or the candidates' per-instance rate
    (divisible), which is what the planner prices."""
    from gpucost.performance import estimate as model_estimate

    one = pd.DataFrame([offer]).reset_index(drop=True)
    cands = build_candidates(one, run, Constraints(spot="allowed", max_instances=instances),
                             job.assumptions)
    deadline = run.deadline_hours
    method = "calibrated"

    def misfit(reason: str) -> RunEstimate:
        return RunEstimate(run.name, False, None, None, None, None, None, None, False,
                           deadline, (reason,))

    no_fit = (f"no layout fits {run.model_state_gib:,.0f} GiB of model state and "
              f"activations in {instances} x {int(offer['gpu_count'])} {offer['gpu']} "
              f"({float(offer['gpu_memory_gib']):g} GiB each)")
    if cands.empty:
        if run.min_gpu_memory_gib and float(offer["gpu_memory_gib"]) < run.min_gpu_memory_gib:
            return misfit(f"the job asks for at least {run.min_gpu_memory_gib:g} GiB per GPU "
                          f"(memory.min_gpu_memory_gib); {offer['gpu']} has "
                          f"{float(offer['gpu_memory_gib']):g} GiB"), [], method
        return misfit(no_fit), [], method
    t = cands.table.iloc[0]
    method = str(t["mfu_method"])
    notes = list(cands.notes)
    if job.mode == "divisible":
        if int(t["n_min"]) > 1:
            return misfit(f"one instance cannot hold {run.memory_gib:,.0f} GiB (divisible "
                          "work runs per instance)"), notes, method
        hours = run.flops / (float(t["rate"]) * instances)
        cost = instances * hours * float(offer["usd_per_hour"])
        est = model_estimate(run, offer.to_dict(), 1, job.assumptions)
        low, high, basis = _range(run, offer, hours, 0.0, est)
        return (RunEstimate(run.name, True, hours, low, high, cost, None, None,
                            hours <= deadline * (1 + 1e-12), deadline), notes, basis)
    est = model_estimate(run, offer.to_dict(), instances, job.assumptions)
    if not est.fits or est.layout is None:
        return misfit(no_fit), notes, method
    hours = float(est.hours)
    cost = instances * hours * float(offer["usd_per_hour"])
    low, high, basis = _range(run, offer, hours, job.assumptions.startup_hours, est)
    return (RunEstimate(run.name, True, hours, low, high, cost, float(est.tokens_per_s),
                        est.layout.to_dict(), hours <= deadline * (1 + 1e-12), deadline),
            notes, basis)


def estimate(job: JobSpec, catalog: Catalog, instance_type: str, instances: int, *,
                     provider: str | None = None, region: str | None = None,
                     pricing: str | None = None) -> ClusterEstimate:
    """Wall time (with its range), cost, layout and deadline/budget check of ``job`` on
    ``instances`` x ``instance_type``. The job's constraints other than the deadline and
    budget (providers, regions, GPUs, spot, max_instances) do not apply: the cluster is
    the user's choice."""
    if instances < 1:
        raise GpucostError(f"--instances: {instances} is not a positive count; expected "
                           "1 or more")
    if pricing is not None and pricing not in PRICINGS:
        raise GpucostError(f"--pricing: {quote(pricing)}; expected one of: "
                           + ", ".join(PRICINGS))
    from gpucost.catalog.interruptions import attach

    # spot offers carry their pool's reclaim rate, as in plans
    offer = pick_offer(attach(catalog.offers, catalog.interruptions), instance_type, provider,
                       region, pricing)
    from gpucost.catalog.gpus import is_known_gpu

    if not is_known_gpu(offer["gpu"]):
        raise GpucostError(f"--instance-type: {instance_type}'s GPU {quote(offer['gpu'])} is "
                           "not in the GPU spec table (`gpucost gpus` lists them)")
    runs, notes, bases = [], [], []
    built: dict[tuple, tuple[RunEstimate, list[str], str]] = {}
    for run in job.runs:
        key = (run.precision, run.utilization, run.parameters, run.sequence_length,
               run.flops, run.deadline_hours, run.stack, run.batch_tokens)
        if key not in built:
            built[key] = _run_estimate(run, offer, instances, job)
        est, run_notes, basis = built[key]
        runs.append(replace(est, run=run.name))
        bases.append(basis)
        notes.extend(n for n in run_notes if n not in notes)
    profile = active_profile()
    first = job.runs[0]
    said = (profile.describe([offer["gpu"]], first.stack, first.precision)
            if profile is not None and first.utilization is None else None)
    return ClusterEstimate(
        job={"name": job.name, "mode": job.mode, "precision": first.precision,
             "stack": first.stack, "deadline_hours": min(r.deadline_hours for r in job.runs),
             "budget_usd": job.constraints.budget_usd, "runs": len(job.runs),
             "source": job.source},
        offer={"provider": str(offer["provider"]), "region": str(offer["region"]),
               "zone": str(offer["zone"] or ""), "instance_type": str(offer["instance_type"]),
               "gpu": str(offer["gpu"]), "gpu_count": int(offer["gpu_count"]),
               "gpu_memory_gib": float(offer["gpu_memory_gib"]),
               "pricing": str(offer["pricing"]), "usd_per_hour": float(offer["usd_per_hour"]),
               "as_of": pd.Timestamp(offer["as_of"]).date().isoformat()},
        instances=instances, runs=tuple(runs), basis=bases[0] if bases else "",
        calibration=said, notes=tuple(notes))


def verdict(e: ClusterEstimate) -> list[str]:
    """The lines saying whether the deadline and budget are met, and why not."""
    lines = []
    if not e.fits:
        for r in e.runs:
            if not r.fits:
                lines.append(f"Does not fit: {r.reasons[0]}" + (
                    f" (run {r.run})" if len(e.runs) > 1 else ""))
                break
        return lines
    deadline = e.job["deadline_hours"]
    late = [r for r in e.runs if not r.meets_deadline]
    if late:
        worst = max(late, key=lambda r: r.hours or 0.0)
        lines.append(f"Deadline MISSED: done in {hours_text(worst.hours)}, deadline "
                     f"{hours_text(worst.deadline_hours)}")
    else:
        text = f"Deadline met: done in {hours_text(e.hours)} of {hours_text(deadline)}"
        slow = e._extreme("hours_p90")
        if slow is not None and slow > deadline:
            text += f" (but not at P90: {hours_text(slow)})"
        lines.append(text)
    budget = e.job.get("budget_usd")
    if budget is not None:
        word = "met" if e.meets_budget else "OVER"
        lines.append(f"Budget {word}: {money(e.cost_usd)} of {money(budget)}")
    return lines


estimate_cluster = estimate

"""The planner's entry point: a job and a catalog in, an explained :class:`Plan` out."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from gpucost.catalog.age import price_age
from gpucost.catalog.interruptions import attach as with_interruptions
from gpucost.catalog.snapshot import Catalog
from gpucost.formatting import hours_text, money
from gpucost.job.spec import Assumptions, Constraints, JobSpec, RunSpec
from gpucost.planner.candidates import Candidates, candidates_for_job
from gpucost.planner.diagnose import explain_empty
from gpucost.planner.divisible import solve_divisible
from gpucost.planner.experiments import solve_experiments
from gpucost.planner.names import check_constraint_names
from gpucost.planner.plan import Allocation, Alternative, Plan
from gpucost.planner.result import ModeResult
from gpucost.planner.single import evaluate_offers, solve_single
from gpucost.providers import LAUNCHABLE_PROVIDERS

ModeSolver = Callable[[list[Candidates], tuple[RunSpec, ...], Constraints, Assumptions],
                      ModeResult]

# The one FLOP count of a job, its "Needs ... FLOPs" line and every MFU printed.
FLOPS_DEFINITION = ("model FLOPs: 6 x activated parameters + 12 x layers x hidden x "
                    "sequence (attention) per token")

# One entry per mode; single and divisible plan exactly one run.
MODE_SOLVERS: dict[str, ModeSolver] = {
    "single": lambda c, r, k, a: solve_single(c[0], r[0], k, a),
    "divisible": lambda c, r, k, a: solve_divisible(c[0], r[0], k, a),
    "experiments": solve_experiments,
}


def solve_mode(job: JobSpec, cands: list[Candidates],
               constraints: Constraints | None = None) -> ModeResult:
    """Solve ``job``'s mode over prepared candidates (allocations with their range)."""
    result = MODE_SOLVERS[job.mode](cands, job.runs, constraints or job.constraints,
                                    job.assumptions)
    result.allocations = [with_range(a, job) for a in result.allocations]
    return result


def with_range(alloc: Allocation, job: JobSpec) -> Allocation:
    """``alloc`` with its P10-P90 hours and basis label. Under ``deadline_confidence`` q
    the planned hours are the q-quantile's; the range is around the central estimate."""
    from gpucost.performance.uncertainty import basis_of, throughput_ratio

    run = next((r for r in job.runs if r.name == alloc.run), job.runs[0])
    label, own = basis_of(run, alloc.gpu, alloc.precision_used)
    if run.utilization is not None:
        return replace(alloc, hours_p10=alloc.hours, hours_p90=alloc.hours, basis=label)
    training = max(alloc.hours - job.assumptions.startup_hours, 0.0)
    fixed = alloc.hours - training       # start-up: outside the model's range
    if run.deadline_confidence is not None:  # back to the central estimate
        training *= throughput_ratio(1.0 - run.deadline_confidence, own)
    return replace(alloc, basis=label,
                   hours_p10=fixed + training / throughput_ratio(0.9, own),
                   hours_p90=fixed + training / throughput_ratio(0.1, own))


def mark_toss_ups(plan: Plan) -> None:
    """Alternatives meeting the deadline whose cost lies inside the plan's P10-P90 cost
    range: the model cannot tell which is cheaper."""
    low, high = plan.cost_usd_p10, plan.cost_usd_p90
    if low is None or high is None or not plan.allocations:
        return
    plan.alternatives = [replace(a, toss_up=bool(
        a.meets_deadline and a.cost_usd is not None and low <= a.cost_usd <= high))
        for a in plan.alternatives]


def subset(c: Candidates, rows: pd.Series | list[int], label: str) -> Candidates:
    """``c`` keeping only ``rows`` (a mask or positions), the step noted in its funnel."""
    table = (c.table[rows] if isinstance(rows, pd.Series) else c.table.iloc[rows])
    return Candidates(table.reset_index(drop=True), c.funnel + [(label, len(table))], c.notes,
                      c.curves, c.excluded, c.deadline_confidence)


def _alternative(gpu: str, result: ModeResult, note: str = "") -> Alternative:
    """``result`` (solved on ``gpu`` alone) as an :class:`Alternative`."""
    if not result.feasible:
        return Alternative(gpu, "", "", "", "", 0, None, None, False,
                           note=note or _short_reason(result))
    first = result.allocations[0]
    return Alternative(gpu, first.provider, first.region, first.instance_type, first.pricing,
                       result.instances, result.cost_usd, result.hours, True, note,
                       tuple(result.allocations))


def _per_gpu(job: JobSpec, cands: list[Candidates]) -> dict[str, ModeResult]:
    """The cheapest plan on each GPU alone, under the job's constraints except the budget
    (so that a plan over it still shows what it would cost)."""
    unbudgeted = replace(job.constraints, budget_usd=None)
    distinct = list({id(c): c for c in cands}.values())
    gpus = sorted({g for c in distinct for g in c.table["gpu"]})
    out = {}
    for gpu in gpus:
        # Runs sharing candidates (a sweep) share the subset too, so solvers can tell.
        narrowed = {id(c): subset(c, c.table["gpu"] == gpu, f"GPU {gpu}") for c in distinct}
        out[gpu] = solve_mode(job, [narrowed[id(c)] for c in cands], unbudgeted)
    return out


def _alternatives(job: JobSpec, per_gpu: dict[str, ModeResult],
                  chosen: set[str], excluded: dict[str, str]) -> list[Alternative]:
    budget = job.constraints.budget_usd
    out = []
    for gpu, result in per_gpu.items():
        if gpu in chosen:
            continue
        over = result.feasible and budget is not None and result.cost_usd > budget
        out.append(_alternative(gpu, result, f"over the {money(budget)} budget" if over
                                else ""))
    for gpu, why in excluded.items():
        if gpu not in per_gpu and gpu not in chosen:
            out.append(Alternative(gpu, "", "", "", "", 0, None, None, False, note=why))
    return sorted(out, key=lambda a: (not a.meets_deadline, a.cost_usd or 0.0,
                                      a.instances, a.offers, a.gpu))


def _short_reason(result: ModeResult) -> str:
    """The gist of why ``result`` is infeasible, for one table cell."""
    if result.earliest_hours is not None:
        return f"earliest finish {hours_text(result.earliest_hours)}"
    return result.reasons[0] if result.reasons else "infeasible"


def _gpus_by_price(cands: list[Candidates]) -> list[str]:
    """GPUs in the order a $/GPU-hour ranking shows them (cheapest offer first)."""
    best: dict[str, float] = {}
    for c in {id(c): c for c in cands}.values():  # a sweep shares one candidate set
        per_gpu_hour = c.table["usd_per_hour"] / c.table["gpu_count"]
        for gpu, price in per_gpu_hour.groupby(c.table["gpu"]).min().items():
            best[str(gpu)] = min(best.get(str(gpu), float("inf")), float(price))
    return sorted(best, key=lambda g: (best[g], g))


def _baseline(job: JobSpec, per_gpu: dict[str, ModeResult],
              cands: list[Candidates]) -> Alternative | None:
    """The cheapest plan on the GPU a $/GPU-hour ranking picks, skipping the GPUs that
    cannot meet the deadline under the job's constraints."""
    for gpu in _gpus_by_price(cands):
        result = per_gpu.get(gpu)
        if result is not None and result.feasible:
            return _alternative(gpu, result, "cheapest plan on the lowest-$/GPU-hour GPU "
                                "that meets the deadline (what a $/hour ranking leads to)")
    return None


def _naive(job: JobSpec, cands: list[Candidates], baseline: Alternative | None
           ) -> Alternative | None:
    """The cheapest-$/GPU-hour offer alone (what a $/hour ranking picks first), when it is
    not the baseline's GPU: why it does not do, and at its fastest what it would cost."""
    if any(c.empty for c in cands):
        return None
    distinct = {id(c): c for c in cands}
    # Each distinct candidate set's offer with the lowest $/GPU-hour (ties: by name), alone.
    alone = {key: subset(c, [int(np.lexsort((
                 c.table["name_rank"].to_numpy(),
                 (c.table["usd_per_hour"] / c.table["gpu_count"]).to_numpy()))[0])],
                 "cheapest $/GPU-hour")
             for key, c in distinct.items()}
    narrowed = [alone[id(c)] for c in cands]
    top = narrowed[0].table.iloc[0]
    if baseline is not None and baseline.gpu == top["gpu"]:
        return None
    result = solve_mode(job, narrowed, replace(job.constraints, budget_usd=None))
    label = "cheapest $/GPU-hour offer (what a $/hour ranking picks first)"
    if result.feasible:  # only when the baseline is missing: same constraints, same GPU
        return _alternative(str(top["gpu"]), result, label)
    if result.earliest_hours is None:  # another constraint rules it out: say which
        return Alternative(top["gpu"], top["provider"], top["region"], top["instance_type"],
                           top["pricing"], 0, None, None, False, _short_reason(result))
    # The deadline rules it out: cost it at its fastest (max instances) instead.
    cost = hours = 0.0
    instances = 0
    for c, run in zip(narrowed, job.runs, strict=True):
        row = evaluate_offers(c, run, job.assumptions).iloc[0]
        if job.mode == "divisible":  # independent instances: no multi-node loss
            row_cost = run.flops / float(row["rate"]) * float(row["usd_per_hour"])
        else:
            row_cost = float(row["cost_usd"])
        cost += row_cost
        hours = max(hours, float(row["hours"]))
        instances += int(row["instances"])
    return Alternative(top["gpu"], top["provider"], top["region"], top["instance_type"],
                       top["pricing"], instances, cost, result.earliest_hours, False,
                       "misses the deadline even at its fastest size")


# Deadlines tried, as multiples of the job's, to say what would fit a budget.
_BUDGET_DEADLINE_STEPS = (1.25, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0)


def with_deadline_scale(job: JobSpec, scale: float) -> JobSpec:
    """``job`` with every run's deadline multiplied by ``scale``."""
    return replace(job, runs=tuple(replace(r, deadline_hours=r.deadline_hours * scale)
                                   for r in job.runs))


def _over_budget(job: JobSpec, cands: list[Candidates],
                 result: ModeResult) -> tuple[Alternative, str] | None:
    """When the budget is what rules the job out: the plan it rules out, and what would
    make a plan fit (a budget, or a later deadline)."""
    budget = job.constraints.budget_usd
    if budget is None or result.feasible:
        return None
    relaxed = solve_mode(job, cands, replace(job.constraints, budget_usd=None))
    if not relaxed.feasible or relaxed.cost_usd <= budget:
        return None
    fits = f"To fit: raise budget_usd to {money(relaxed.cost_usd)}"
    base = min(r.deadline_hours for r in job.runs)
    for scale in _BUDGET_DEADLINE_STEPS:
        later = solve_mode(with_deadline_scale(job, scale), cands)
        if later.feasible:
            fits += (f", or allow a deadline of {hours_text(base * scale)} (then "
                     f"{money(later.cost_usd)})")
            break
    else:
        fits += (f"; no deadline up to {_BUDGET_DEADLINE_STEPS[-1]:g}x the job's fits "
                 f"{money(budget)}")
    gpus = ", ".join(sorted({a.gpu for a in relaxed.allocations}))
    return _alternative(gpus, relaxed, "the cheapest plan meeting the deadline, over "
                        "budget"), fits + "."


def stack_effect(job: JobSpec, cands: list[Candidates],
                 allocations: list[Allocation]) -> dict[str, float]:
    """What the ``stack`` label changes: hours of the plan's first cluster under each
    other stack, as a multiple of its hours under the job's."""
    from gpucost.job.spec import STACKS
    from gpucost.performance import estimate

    run = job.runs[0]
    if not allocations or not cands or cands[0].empty or run.utilization is not None:
        return {}
    a = allocations[0]
    t = cands[0].table
    rows = t[(t["provider"] == a.provider) & (t["region"] == a.region)
             & (t["instance_type"] == a.instance_type) & (t["pricing"] == a.pricing)]
    if rows.empty:
        return {}
    offer = rows.iloc[0].to_dict()
    base = estimate(run, offer, a.instances, job.assumptions)
    out = {}
    for stack in STACKS:
        if stack != run.stack:
            other = estimate(replace(run, stack=stack), offer, a.instances, job.assumptions)
            if base.fits and other.fits:
                out[stack] = round(other.hours / base.hours, 2)
    return out


def _assumptions(job: JobSpec, cands: list[Candidates], gpus: set[str],
                 spot_in_play: bool, allocations: list[Allocation] | None = None) -> dict:
    from gpucost.performance import calibration
    from gpucost.performance.goodput import describe
    from gpucost.performance.spot import describe as describe_spot

    mfu: dict[str, dict] = {}
    for c in {id(c): c for c in cands}.values():  # a sweep shares one candidate set
        for gpu, group in c.table.groupby("gpu"):
            if gpu in gpus or not gpus:
                mfu.setdefault(str(gpu), {"mfu": round(float(group["mfu"].iloc[0]), 3),
                                          "method": str(group["mfu_method"].iloc[0]),
                                          "precision_used": str(group["precision_used"].iloc[0])})
    run = job.runs[0]
    shape = run.shape
    calib = calibration(run.stack)
    return {
        "utilization": mfu,
        "performance_model": (
            "analytic step time per layout (compute at a fitted share of dense peak, "
            "non-matmul memory traffic over memory bandwidth, tensor parallel inside the "
            "instance over its GPU link, pipeline bubble, data-parallel reduction over the "
            "GPU link and the network); the fastest layout that fits GPU memory is used"),
        "calibration": {"stack": run.stack, "gemm_efficiency": calib.gemm_efficiency,
                        "elementwise_bytes_per_hidden_per_token_layer": calib.elementwise_bytes,
                        "overlap_of_data_parallel_communication": calib.overlap,
                        "fp8_gemm_speedup_over_bf16": calib.fp8_gemm_speedup},
        "model_shape": {"parameters": shape.parameters, "layers": shape.layers,
                        "hidden_size": shape.hidden_size,
                        "sequence_length": shape.sequence_length,
                        "batch_tokens": shape.batch_tokens,
                        "derived": list(shape.derived)},
        "mfu_definition": MFU_DEFINITION,
        "stack_effect": stack_effect(job, cands, allocations or []),
        "range": range_text(run),
        "utilization_sources": utilization_sources(run.stack),
        "goodput": describe(job.assumptions),
        "precision": (f"Precision: fp8 runs linear layers at {calib.fp8_gemm_speedup:g}x "
                      "their bf16 speed "
                      "(end-to-end fp8 GEMMs, not the 2x datasheet ratio), attention and "
                      f"communication in bf16, casts adding {calib.fp8_cast_traffic:.0%} to "
                      "memory traffic." if run.precision == "fp8" else None),
        "spot": describe_spot(job.assumptions, job.mode) if spot_in_play else None,
        "bytes_per_parameter": run.bytes_per_parameter,
        "flops_formula": f"{FLOPS_DEFINITION}, x tokens, unless flops is given; MFU = these "
                         "FLOPs / (time x dense peak)",
        "billing": "per second",
    }


# One MFU definition everywhere (layouts, assumptions, validation): model FLOPs per token
# (6 x activated parameters + causal-free attention 12 L h s, PaLM's convention, no
# recomputation) x tokens/s over the dense peak of the precision used.
MFU_DEFINITION = ("MFU = model FLOPs per token (6 x activated parameters + 12 x layers x "
                  "hidden x sequence for attention; recomputation not counted) x tokens/s "
                  "/ dense datasheet peak at the precision used")


def range_text(run: RunSpec) -> str:
    """What the P10-P90 range printed with hours and cost means."""
    from gpucost.performance.uncertainty import throughput_ratio

    if run.utilization is not None:
        return "none: the job fixes the utilization, so the hours follow from it alone"
    own = (throughput_ratio(0.1, True), throughput_ratio(0.9, True))
    other = (throughput_ratio(0.1, False), throughput_ratio(0.9, False))
    return (f"P10-P90 of published / predicted throughput, each source predicted by a "
            f"fit without it: {own[0]:.2f}x to {own[1]:.2f}x where the GPU has data for the "
            f"stack and precision, {other[0]:.2f}x to {other[1]:.2f}x where extrapolated. "
            "Failures and restarts (goodput) are outside it.")


def utilization_sources(stack: str) -> list[str]:
    """The published runs the stack's constants were fitted on (the source up to its
    first comma, which keeps brackets balanced), and the end-to-end runs that judge it."""
    from gpucost.performance.fit import USES_CONSTANTS_OF
    from gpucost.performance.published import published_runs, throughput_runs

    fitted_on = USES_CONSTANTS_OF.get(stack, stack)
    out = set()
    for r in (*throughput_runs(), *published_runs()):
        if r.stack not in (stack, fitted_on):
            continue
        head = r.source.split(",")[0]
        if head.count("(") != head.count(")") or head.count("[") != head.count("]"):
            head = r.source.split("(")[0].strip()
        out.add(f"{head}, {r.name}")
    return sorted(out)


def _requirements(job: JobSpec, allocations: list) -> dict:
    """Cluster-wide figures and, per allocation, what one GPU holds in its layout."""
    per_gpu = [a.layout["memory_gib_per_gpu"] for a in allocations if a.layout]
    modelled = all(r.tokens and r.parameters and math.isclose(
        r.flops, r.tokens * r.shape.flops_per_token, rel_tol=1e-9) for r in job.runs)
    return {"flops": sum(r.flops for r in job.runs),
            "flops_definition": FLOPS_DEFINITION if modelled else "as given in the job file",
            "memory_gib": max(r.memory_gib for r in job.runs),
            "model_state_gib": max(r.model_state_gib for r in job.runs),
            "memory_gib_per_gpu": max(per_gpu) if per_gpu else None}


def _snapshot_info(catalog: Catalog, allocations: list, cands: list,
                   today: dt.date) -> dict:
    offers = catalog.offers
    searched = [c.table for c in cands if len(c.table)]
    age = price_age([(a.provider, a.region, a.instance_type, a.pricing, a.as_of)
                     for a in allocations],
                    pd.concat(searched) if searched else offers.iloc[:0], today)
    return {
        # absolute: `launch` checks prices against this file from any folder
        "files": [{"provider": f.provider, "path": str(Path(f.path).resolve()),
                   "date": f.date.isoformat() if f.dated else None, "dated": f.dated,
                   "newest_as_of": f.newest_as_of.isoformat() if f.newest_as_of else None,
                   **({"origin": f.origin} if f.origin else {})}
                  for f in catalog.files],
        "oldest_as_of": (offers["as_of"].min().date().isoformat() if len(offers) else None),
        "newest_as_of": (offers["as_of"].max().date().isoformat() if len(offers) else None),
        "stale_rows": int(offers["stale"].sum()),
        # The age of the prices the plan uses and of the offers it searched (row as_of
        # dates, never file names): see gpucost.catalog.age.
        "price_age": age.to_json(),
    }


def _with_capacity_block(job: JobSpec, cands: list[Candidates], catalog: Catalog,
                         result: ModeResult, now: dt.datetime) -> ModeResult:
    """``result``, or a Capacity Block when one is cheaper (or the only way) to meet the
    deadline within the budget (``single`` runs; see :mod:`gpucost.planner.capacity`)."""
    from gpucost.planner.capacity import block_allocations

    if job.mode != "single" or catalog.capacity_blocks is None:
        return result
    budget = job.constraints.budget_usd
    options = [(fee, a) for fee, a in block_allocations(
        cands[0], job.runs[0], catalog.capacity_blocks, job.assumptions, now)
        if budget is None or fee <= budget]
    if not options:
        return result
    fee, alloc = options[0]
    if result.feasible and result.cost_usd <= fee:
        return result
    why = ("cheaper than any on-demand or spot cluster meeting the deadline"
           if result.feasible else "no on-demand or spot cluster meets every constraint")
    return ModeResult([alloc], "optimal", {**result.solver, "name": result.solver.get(
        "name", "exhaustive scan") + " + capacity blocks", "status": "optimal"},
        notes=[*result.notes, f"Capacity block chosen: {why}."])


def with_spot_figures(job: JobSpec, cands: list[Candidates], allocations: list
                      ) -> list:
    """``allocations`` with, on each spot one, its pool's interruption band and what
    reclaims do to the run (expected reclaims, lost share, finish probability)."""
    from gpucost.performance.spot import run_figures

    runs = {r.name: (r, c) for r, c in zip(job.runs, cands, strict=True)}
    out = []
    for a in allocations:
        run, c = runs.get(a.run) or (job.runs[0], cands[0])
        if a.pricing != "spot" or c.curves is None or c.empty:
            out.append(a)
            continue
        t = c.table
        hit = t[(t["provider"] == a.provider) & (t["region"] == a.region)
                & (t["instance_type"] == a.instance_type) & (t["pricing"] == a.pricing)]
        if hit.empty:
            out.append(a)
            continue
        row = hit.iloc[0]
        state = (run.parameters or 0.0) * run.bytes_per_parameter
        figures = run_figures(job.assumptions, float(c.curves.row_reclaims[int(row["curve"])]),
                              a.instances, a.gpu_count, a.hours, run.deadline_hours, state,
                              synchronous=job.mode != "divisible")
        overridden = job.assumptions.spot_interruptions_per_instance_hour is not None
        figures["band"] = "job override" if overridden else str(row.get("interruption_band", ""))
        figures["band_source"] = ("assumptions.spot_interruptions_per_instance_hour"
                                  if overridden else str(row.get("interruption_source", "")))
        out.append(replace(a, spot_figures=figures))
    return out


def _user_calibration(job: JobSpec, cands: list[Candidates]) -> str | None:
    """"calibrated on 3 of your measurements (H100, pytorch)" when a team's profile
    (gpucost calibrate) changed the speed of offers this job could use."""
    from gpucost.performance.user_calibration import active_profile

    profile, run = active_profile(), job.runs[0]
    if profile is None or run.utilization is not None:
        return None
    return profile.describe({g for c in cands for g in c.table["gpu"]}, run.stack,
                            run.precision)


def launch_note(allocations: list[Allocation]) -> str:
    """What `gpucost launch` cannot start in these allocations, and how to run them."""
    others = list(dict.fromkeys(f"{a.provider} {a.instance_type}" for a in allocations
                                if a.provider not in LAUNCHABLE_PROVIDERS))
    if not others:
        return ""
    return (f"`gpucost launch` starts only {' and '.join(LAUNCHABLE_PROVIDERS)} "
            f"instances; launch {', '.join(others)} with: gpucost export PLAN.json --format "
            "skypilot (or set constraints.launchable: true to plan without them)")


def plan_job(job: JobSpec, catalog: Catalog, *, explain: bool = True,
             now: dt.datetime | None = None) -> Plan:
    """The cheapest plan for ``job`` over ``catalog``'s offers.

    Always returns a :class:`Plan`: an infeasible one has ``status == "infeasible"``
    and ``reasons`` naming the binding constraint and the nearest feasible relaxation.
    With ``explain`` the plan also carries the $/hour baseline and the best plan per
    other GPU type.
    """
    now = now or dt.datetime.now(dt.UTC)
    job = check_constraint_names(job, catalog.offers)
    cands = candidates_for_job(with_interruptions(catalog.offers, catalog.interruptions),
                               job.runs, job.constraints, job.assumptions, catalog.quotas)
    result = solve_mode(job, cands)
    result = _with_capacity_block(job, cands, catalog, result, now)
    result = replace(result, allocations=with_spot_figures(job, cands, result.allocations))
    if catalog.placement_scores is not None:
        from gpucost.providers.aws.placement_scores import low_score_notes

        result.notes = [*result.notes, *low_score_notes(result.allocations,
                                                        catalog.placement_scores)]
    chosen = {a.gpu for a in result.allocations}
    plan = Plan(
        job={"name": job.name, "mode": job.mode, "precision": job.runs[0].precision,
             "deadline": (now + dt.timedelta(hours=min(r.deadline_hours for r in job.runs)))
             .isoformat(timespec="minutes"),
             "deadline_hours": min(r.deadline_hours for r in job.runs),
             "budget_usd": job.constraints.budget_usd, "runs": len(job.runs),
             "deadline_confidence": job.runs[0].deadline_confidence,
             "source": job.source},
        requirements=_requirements(job, result.allocations),
        assumptions=_assumptions(job, cands, chosen,
                                 any(a.pricing == "spot" for a in result.allocations),
                                 result.allocations),
        allocations=result.allocations, status=result.status, solver=result.solver,
        snapshot=_snapshot_info(catalog, result.allocations, cands, now.date()),
        notes=list(result.notes),
        reasons=explain_empty(list(result.reasons), job.constraints, catalog.offers.empty,
                              catalog.available_providers),
        created_at=now.isoformat(timespec="seconds"))
    said = _user_calibration(job, cands)
    if said:
        plan.notes.insert(0, f"Throughput {said}")
    unlaunchable = launch_note(result.allocations)
    if unlaunchable:
        plan.notes.insert(0, unlaunchable)
    over = _over_budget(job, cands, result)
    if over is not None:
        plan.over_budget, fits = over
        plan.reasons.append(fits)
    if explain:
        per_gpu = _per_gpu(job, cands)
        plan.baseline = _baseline(job, per_gpu, cands)
        plan.naive = _naive(job, cands, plan.baseline)
        excluded = {g: why for c in cands for g, why in c.excluded.items()}
        plan.alternatives = _alternatives(job, per_gpu, chosen, excluded)
        mark_toss_ups(plan)
    return plan

"""Each planner mode against brute-force enumeration on small random catalogs."""

from __future__ import annotations

import itertools
import math

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from tests_support import NOW, catalog, cluster_hours, instance_rate, offer

from gpucost.job.parse import parse_job
from gpucost.planner.planner import plan_job

GPUS = ["A100-40GB", "H100", "L4", "T4", "A10G"]


@st.composite
def offers(draw, min_size: int = 1, max_size: int = 4) -> list[dict]:
    n = draw(st.integers(min_size, max_size))
    rows = []
    for i in range(n):
        rows.append(offer(
            f"type{i}.x", draw(st.sampled_from(GPUS)), draw(st.sampled_from([1, 2, 4, 8])),
            round(draw(st.floats(0.2, 60.0)), 4),
            region=draw(st.sampled_from(["r1", "r2"])),
            pricing=draw(st.sampled_from(["on_demand", "spot"]))))
    return rows


def job_dict(mode: str, **extra) -> dict:
    base = {"name": "t", "mode": mode, "utilization": 0.4, "precision": "bf16",
            "constraints": {"spot": "allowed"}}
    base.update(extra)
    return base


def limits(max_instances: int, max_gpus: int | None) -> dict:
    return {"spot": "allowed", "max_instances": max_instances, "max_gpus": max_gpus}


def same_answer(plan, expected, rel_tol: float) -> bool:
    """The plan agrees with brute force on feasibility and optimal cost; True if feasible."""
    if expected is None:
        assert plan.status == "infeasible" and plan.reasons
        return False
    assert plan.status == "optimal", plan.reasons
    assert math.isclose(plan.cost_usd, expected, rel_tol=rel_tol)
    return True


SETTINGS = settings(max_examples=60, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def brute_single(rows, job):
    run, c, a = job.runs[0], job.constraints, job.assumptions
    best = None
    for row in rows:
        for n in range(1, c.max_instances + 1):
            if c.max_gpus and n * row["gpu_count"] > c.max_gpus:
                continue
            hours = cluster_hours(row, run, n, a)
            if hours is None or hours > run.deadline_hours * (1 + 1e-9):
                continue
            cost = n * hours * row["usd_per_hour"]
            if best is None or cost < best - 1e-9:
                best = cost
    if best is not None and c.budget_usd is not None and best > c.budget_usd:
        return None
    return best


@SETTINGS
@given(rows=offers(), flops=st.floats(1e18, 3e21), hours=st.floats(1, 300),
       max_instances=st.integers(1, 6), params=st.sampled_from([None, 1e9, 2e10]),
       max_gpus=st.sampled_from([None, 8, 20]))
def test_single_matches_brute_force(rows, flops, hours, max_instances, params, max_gpus):
    extra = {"flops": flops, "deadline": f"{hours}h",
             "constraints": limits(max_instances, max_gpus)}
    if params:
        extra["model"] = {"parameters": params}
    job = parse_job(job_dict("single", **extra), now=NOW)
    plan = plan_job(job, catalog(rows), explain=False, now=NOW)
    if same_answer(plan, brute_single(rows, job), rel_tol=1e-9):
        assert plan.hours <= job.runs[0].deadline_hours * (1 + 1e-9)


def brute_divisible(rows, job):
    """Every integer instance vector; for each, fill the cheapest work first. Every
    instance pays the start-up once and then works up to the deadline.

    Returns (cheapest cost or None, most work any allowed vector can do / the job's work).
    """
    run, c, a = job.runs[0], job.constraints, job.assumptions
    window = run.deadline_hours - a.startup_hours
    usable = [r for r in rows if instance_rate(r, run, a) is not None]
    caps = []
    for r in usable:
        cap = c.max_instances
        if c.max_gpus:
            cap = min(cap, c.max_gpus // r["gpu_count"])
        caps.append(cap)
    rates = [instance_rate(r, run, a) for r in usable]
    best, most = None, 0.0
    for ns in itertools.product(*[range(cap + 1) for cap in caps]):
        gpus = sum(n * r["gpu_count"] for n, r in zip(ns, usable, strict=True))
        if c.max_gpus and gpus > c.max_gpus:
            continue
        most = max(most, sum(n * window * rate for n, rate in zip(ns, rates, strict=True)))
        remaining = run.flops
        cost = sum(n * a.startup_hours * r["usd_per_hour"]
                   for n, r in zip(ns, usable, strict=True))
        order = sorted(range(len(usable)), key=lambda i: usable[i]["usd_per_hour"] / rates[i])
        for i in order:
            hours = min(ns[i] * window, remaining / rates[i])
            cost += hours * usable[i]["usd_per_hour"]
            remaining -= hours * rates[i]
        if remaining <= run.flops * 1e-9 and (best is None or cost < best):
            best = cost
    return best, most / run.flops


@SETTINGS
@given(rows=offers(max_size=3), flops=st.floats(1e18, 1e21), hours=st.floats(1, 100),
       max_instances=st.integers(1, 3), max_gpus=st.sampled_from([None, 4, 10]))
def test_divisible_matches_brute_force(rows, flops, hours, max_instances, max_gpus):
    job = parse_job(job_dict("divisible", flops=flops, deadline=f"{hours}h",
                             model={"parameters": 1e9},
                             constraints=limits(max_instances, max_gpus)), now=NOW)
    expected, capacity = brute_divisible(rows, job)
    # Within a solver tolerance of exactly enough capacity, either answer is right.
    assume(abs(capacity - 1) > 1e-6)
    plan = plan_job(job, catalog(rows), explain=False, now=NOW)
    run, startup = job.runs[0], job.assumptions.startup_hours
    if expected is None:
        assert plan.status == "infeasible" and plan.reasons
        return
    assert plan.status == "optimal", plan.reasons
    if max_gpus:  # the MILP is exact
        assert math.isclose(plan.cost_usd, expected, rel_tol=1e-5)
    else:  # greedy: at worst the start-up of one offer's instances above the optimum
        slack = startup * max(a.instances * a.usd_per_hour for a in plan.allocations)
        assert expected * (1 - 1e-6) <= plan.cost_usd <= expected * (1 + 1e-6) + slack
    done = 0.0
    for al in plan.allocations:
        row = next(r for r in rows if r["instance_type"] == al.instance_type
                   and r["region"] == al.region and r["pricing"] == al.pricing)
        done += instance_rate(row, run, job.assumptions) * al.instances * (al.hours - startup)
        assert startup < al.hours <= run.deadline_hours * (1 + 1e-6)
    assert done >= run.flops * (1 - 1e-6)


def brute_experiments(rows, job):
    c, a = job.constraints, job.assumptions
    per_run = []
    for run in job.runs:
        options = []
        for row in rows:
            for n in range(1, c.max_instances + 1):
                hours = cluster_hours(row, run, n, a)
                if hours is not None and hours <= run.deadline_hours * (1 + 1e-9):
                    options.append((n * hours * row["usd_per_hour"], n * row["gpu_count"]))
        per_run.append(options)
    best = None
    for combo in itertools.product(*per_run):
        if c.max_gpus and sum(g for _, g in combo) > c.max_gpus:
            continue
        cost = sum(cost for cost, _ in combo)
        if best is None or cost < best:
            best = cost
    return best


@SETTINGS
@given(rows=offers(max_size=3), sizes=st.lists(st.floats(1e18, 5e20), min_size=1, max_size=3),
       hours=st.floats(2, 100), max_instances=st.integers(1, 3),
       max_gpus=st.sampled_from([None, 4, 9, 16]))
def test_experiments_match_brute_force(rows, sizes, hours, max_instances, max_gpus):
    runs = [{"name": f"run{i}", "flops": f, "deadline": f"{hours * (1 + i / 2)}h"}
            for i, f in enumerate(sizes)]
    job = parse_job(job_dict("experiments", experiments=runs,
                             constraints=limits(max_instances, max_gpus)), now=NOW)
    plan = plan_job(job, catalog(rows), explain=False, now=NOW)
    if same_answer(plan, brute_experiments(rows, job), rel_tol=1e-6):
        assert sorted(a.run for a in plan.allocations) == sorted(r.name for r in job.runs)
        if max_gpus:
            assert sum(a.instances * a.gpu_count for a in plan.allocations) <= max_gpus

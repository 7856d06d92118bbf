"""``gpucost estimate``: the cluster plan chose costs the same, to the cent and the second."""

from __future__ import annotations

import json
import warnings

import pytest
from analysis_support import EXAMPLES

import gpucost
from gpucost.catalog.snapshot import load_catalog

EXAMPLE_JOBS = sorted(p.name for p in EXAMPLES.glob("*.yaml") if p.name != "launch.yaml")


@pytest.fixture(scope="module")
def shipped():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_catalog()


@pytest.mark.parametrize("name", EXAMPLE_JOBS)
def test_estimate_agrees_with_plan_on_the_cluster_plan_chose(name, shipped):
    job = gpucost.load_job(EXAMPLES / name)
    plan = gpucost.plan_job(job, shipped, explain=False)
    assert plan.status == "optimal" and plan.allocations
    share_cost = 0.0
    for a in plan.allocations:
        e = gpucost.estimate(job, shipped, a.instance_type, a.instances, provider=a.provider,
                             region=a.region, pricing=a.pricing)
        assert e.offer["usd_per_hour"] == a.usd_per_hour
        (run,) = [r for r in e.runs if r.run == a.run]
        assert run.fits
        if job.mode == "divisible":
            # Independent instances: the plan's allocation does a share of the work; the
            # estimate prices the whole job on this cluster at the same rate.
            share = a.instances * a.hours / (run.hours * e.instances)
            share_cost += share * run.cost_usd
            continue
        assert run.meets_deadline
        assert round(run.cost_usd, 2) == round(a.cost_usd, 2)
        assert round(run.hours * 3600) == round(a.hours * 3600)
        assert run.layout == a.layout
    if job.mode == "divisible":
        assert round(share_cost, 2) == round(sum(a.cost_usd for a in plan.allocations), 2)


def test_cli_json_agrees_with_plan_json(run_cli):
    plan = json.loads(run_cli("plan", EXAMPLES / "llama-7b.yaml", "-o", "json").out)
    (a,) = plan["allocations"]
    res = run_cli("estimate", EXAMPLES / "llama-7b.yaml", "--instance-type", a["instance_type"],
                  "--instances", a["instances"], "--region", a["region"], "-o", "json")
    assert res.code == 0, res.err
    e = json.loads(res.out)
    assert round(e["totals"]["cost_usd"], 2) == round(plan["totals"]["cost_usd"], 2)
    assert round(e["totals"]["hours"] * 3600) == round(plan["totals"]["hours"] * 3600)
    assert e["runs"][0]["layout"] == a["layout"]
    assert e["totals"]["hours_p10"] < e["totals"]["hours"] < e["totals"]["hours_p90"]
    assert e["meets_deadline"] is True and e["meets_budget"] is None


def test_table_says_time_range_layout_and_deadline(run_cli):
    res = run_cli("estimate", EXAMPLES / "llama-7b.yaml", "--instance-type", "p5.48xlarge",
                  "--instances", "16")
    assert res.code == 0, res.err
    assert "16 x p5.48xlarge (8x H100, on_demand, aws us-east-1" in res.out
    assert "Deadline met: done in" in res.out
    assert "Layout 16 x p5.48xlarge: DP" in res.out and "MFU" in res.out
    assert "exposed communication" in res.out and "P10-P90" in res.out


def test_too_few_instances_miss_the_deadline_exit_1(run_cli):
    res = run_cli("estimate", EXAMPLES / "llama-7b.yaml", "--instance-type", "p5.48xlarge",
                  "--instances", "2")
    assert res.code == 1
    assert "Deadline MISSED" in res.out


def test_job_that_does_not_fit_says_why(run_cli):
    res = run_cli("estimate", EXAMPLES / "llama-7b.yaml", "--instance-type", "g6.xlarge",
                  "--instances", "1", "-o", "json")
    assert res.code == 1
    e = json.loads(res.out)
    assert e["fits"] is False
    assert "no layout fits" in e["runs"][0]["reasons"][0]


def test_budget_over_is_said(run_cli, tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text((EXAMPLES / "llama-7b.yaml").read_text() + "  budget_usd: 100000\n")
    res = run_cli("estimate", job, "--instance-type", "p5.48xlarge", "--instances", "16")
    assert res.code == 1
    assert "Budget OVER: $471,000 of $100,000" in res.out or "Budget OVER" in res.out


@pytest.mark.parametrize("args, words", [
    (["--instance-type", "p5.48xlarg", "--instances", "2"], "closest: p5.48xlarge"),
    (["--instance-type", "p5.48xlarge", "--instances", "0"], "--instances"),
    (["--instance-type", "p5.48xlarge", "--instances", "2", "--region", "mars"], "--region"),
    (["--instance-type", "p5.48xlarge", "--instances", "2", "--pricing", "free"], "--pricing"),
    (["--instance-type", "p5.48xlarge", "--instances", "2", "--calibration", "/nonexistent"],
     "/nonexistent"),
])
def test_bad_input_is_one_line_exit_2(run_cli, args, words):
    res = run_cli("estimate", EXAMPLES / "llama-7b.yaml", *args)
    assert res.code == 2
    assert len(res.err_lines) == 1 and words in res.err_lines[0]
    assert "Traceback" not in res.err


def test_user_catalog(run_cli, tmp_path):
    snap = tmp_path / "mine.csv"
    snap.write_text("provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,"
                    "memory_gib,pricing,usd_per_hour,as_of,source,stale\n"
                    "aws,us-east-1,,our-h100-box,H100,8,80,192,2048,on_demand,20.0,"
                    "2026-12-01,user: reservation,False\n")
    res = run_cli("estimate", EXAMPLES / "llama-7b.yaml", "--instance-type", "our-h100-box",
                  "--instances", "16", "--snapshot", snap, "-o", "json")
    assert res.code in (0, 1), res.err
    e = json.loads(res.out)
    assert e["offer"]["usd_per_hour"] == 20.0
    assert e["totals"]["cost_usd"] == pytest.approx(16 * 20.0 * e["totals"]["hours"])


def test_markdown_output(run_cli):
    res = run_cli("estimate", EXAMPLES / "sweep.yaml", "--instance-type", "p5.48xlarge",
                  "--instances", "1", "-o", "markdown")
    assert res.code == 0, res.err
    assert res.out.startswith("### gpucost estimate: october-sweep on 1 x p5.48xlarge")
    assert "| run | time | P10-P90 | cost | tokens/s | deadline |" in res.out
    assert "| ablation-3b |" in res.out and "Budget met:" in res.out


def test_the_models_own_range_is_used_when_it_gives_one(shipped, monkeypatch):
    """The throughput model (issue #15) adds hours_p10 / hours_p90 / basis to Estimate:
    estimate carries them over (training part scaled; start-up fixed)."""
    from dataclasses import asdict
    from types import SimpleNamespace

    import gpucost.performance as performance

    real = performance.estimate

    def with_range(run, offer, instances, assumptions=None):
        est = real(run, offer, instances, assumptions)
        startup = (assumptions.startup_hours if assumptions else 0.25)
        train = est.hours - startup
        # Estimate now has these fields itself (issue 15 part B): override them.
        return SimpleNamespace(**asdict(est) | {"layout": est.layout,
                                                "hours_p10": startup + train * 0.9,
                                                "hours_p90": startup + train * 1.3,
                                                "basis": "calibrated (test)"})

    monkeypatch.setattr(performance, "estimate", with_range)
    job = gpucost.load_job(EXAMPLES / "llama-7b.yaml")
    e = gpucost.estimate(job, shipped, "p5.48xlarge", 16)
    (r,) = e.runs
    train = r.hours - job.assumptions.startup_hours
    assert r.hours_p10 == pytest.approx(job.assumptions.startup_hours + 0.9 * train)
    assert r.hours_p90 == pytest.approx(job.assumptions.startup_hours + 1.3 * train)
    assert e.basis == "calibrated (test)"

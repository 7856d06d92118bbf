"""``gpucost status PLAN.json --tokens-done N`` / ``--measured-tps X``: the run's pace
against its plan (predicted finish and spend, deadline and budget warnings)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from test_aws import IMAGE, REGION, PlacementGroups

from gpucost.errors import GpucostError
from gpucost.launcher.progress import progress

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def _plan(**job) -> dict:
    """A single-run plan: 2 instances at $30/hour each for 100 hours, 1e12 tokens."""
    return {"status": "optimal",
            "job": {"name": "j", "mode": "single", "runs": 1,
                    "deadline": (NOW + timedelta(hours=120)).isoformat(),
                    "budget_usd": 7000.0, **job},
            "requirements": {"flops": 6 * 7e9 * 1e12},
            "assumptions": {"model_shape": {"parameters": 7e9}},
            "allocations": [{"instances": 2, "hours": 100.0, "usd_per_hour": 30.0,
                             "layout": {"tokens_per_s": 1e12 / (100 * 3600) * 1.1}}],
            "totals": {"cost_usd": 6000.0, "hours": 100.0}}


def test_on_pace_run_meets_deadline_and_budget():
    p = progress(_plan(), now=NOW, elapsed_hours=50, spend_usd=3000.0, tokens_done=5e11,
                 measured_tps=None)
    assert p.tokens_total == pytest.approx(1e12)  # FLOPs / (6 x parameters)
    assert p.remaining_hours == pytest.approx(50)
    assert p.finish_at == NOW + timedelta(hours=50)
    assert p.spend_at_finish_usd == pytest.approx(3000 + 50 * 60)
    assert p.meets_deadline and p.meets_budget and not p.warnings


def test_slow_run_warns_on_deadline_and_budget():
    p = progress(_plan(), now=NOW, elapsed_hours=50, spend_usd=3000.0, tokens_done=2.5e11,
                 measured_tps=None)
    assert p.remaining_hours == pytest.approx(150)
    assert p.meets_deadline is False and p.meets_budget is False
    assert any("after the deadline" in w for w in p.warnings)
    assert any("over the budget of $7,000" in w for w in p.warnings)


def test_measured_tps_is_stretched_by_the_plans_goodput_overhead():
    # Planned throughput 1.1x what 100 wall hours need: 10% goodput overhead (start-up
    # 0.25 h aside). Measuring exactly the planned throughput keeps the plan's pace.
    tps = 1e12 / (100 * 3600) * 1.1
    p = progress(_plan(), now=NOW, elapsed_hours=40, spend_usd=None, tokens_done=4e11,
                 measured_tps=tps)
    assert p.pace_tokens_per_hour == pytest.approx(1e12 / 100, rel=0.01)
    assert p.spend_usd == pytest.approx(40 * 60)  # no instances seen: elapsed x $/hour


@pytest.mark.parametrize("plan, kwargs, words", [
    (_plan(mode="experiments", runs=3), {}, "several"),
    ({**_plan(), "status": "infeasible", "allocations": []}, {}, "no allocations"),
    (_plan(), {"elapsed_hours": None}, "--elapsed-hours"),
    (_plan(), {"tokens_done": 1e15}, "far beyond"),
])
def test_refusals(plan, kwargs, words):
    args = {"now": NOW, "elapsed_hours": 10, "spend_usd": None, "tokens_done": 1e11,
            "measured_tps": None, **kwargs}
    with pytest.raises(GpucostError, match=words):
        progress(plan, **args)


# -- through the CLI, on instances launched into moto ------------------------------------

@pytest.fixture
def aws(aws_env, monkeypatch):
    with mock_aws():
        session = boto3.Session(region_name=REGION)
        session.pgs = PlacementGroups(session)
        monkeypatch.setattr(boto3, "DEFAULT_SESSION", session)
        yield session


def test_status_tokens_done_json_for_schedulers(aws, plan_file, run_cli):
    plan = plan_file("plan_aws.json", {"job.deadline": (datetime.now(UTC)
                                                        + timedelta(hours=5)).isoformat()})
    code, _, err = run_cli("launch", str(plan), "--yes", "--image", IMAGE)
    assert code == 0, err
    code, out, err = run_cli("status", str(plan), "--tokens-done", "1e9", "--total-tokens",
                             "1e10", "--elapsed-hours", "2", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    pace = data["progress"]
    assert pace["fraction_done"] == pytest.approx(0.1)
    assert pace["remaining_hours"] == pytest.approx(18)
    assert pace["meets_deadline"] is False  # 18 h left, the deadline is in 5 h
    assert "after the deadline" in err and len(data["instances"]) == 3
    code, out, err = run_cli("status", str(plan), "--tokens-done", "9e9", "--total-tokens",
                             "1e10", "--elapsed-hours", "2")
    assert code == 0
    assert "Progress: 90% of 1.00e+10 tokens" in out or "Progress: 90% of" in out
    assert "At this pace: done" in out and "(met)" in out


def test_status_progress_needs_the_plan_file(run_cli):
    code, _, err = run_cli("status", "bert-ft-95f7b301", "--tokens-done", "5")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "plan JSON file" in err


def test_status_by_plan_id_follows_the_plan_its_launch_recorded(aws, plan_file, run_cli):
    plan = plan_file("plan_aws.json", {"job.deadline": (datetime.now(UTC)
                                                        + timedelta(hours=50)).isoformat()})
    plan_id = json.loads(plan.read_text())["plan_id"]
    code, out, err = run_cli("status", plan_id, "--tokens-done", "1e9")
    assert code == 2 and "recorded one" in err  # not launched yet: nothing to follow
    code, _, err = run_cli("launch", str(plan), "--yes", "--image", IMAGE)
    assert code == 0, err
    code, out, err = run_cli("status", plan_id, "--tokens-done", "1e9", "--total-tokens",
                             "1e10", "--elapsed-hours", "2", "-o", "json")
    assert code == 0, err
    data = json.loads(out)
    assert data["progress"]["fraction_done"] == pytest.approx(0.1)
    assert data["progress"]["remaining_hours"] == pytest.approx(18)
    plan.unlink()  # the recorded file is gone: say so, do not guess
    code, out, err = run_cli("status", plan_id, "--tokens-done", "1e9")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "plan JSON file" in err

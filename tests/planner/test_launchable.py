"""Plans say which allocations `gpucost launch` cannot start, and
``constraints.launchable: true`` keeps plans to those it can (issue 20, item 4)."""

from __future__ import annotations

import pytest
from tests_support import NOW, catalog, offer

from gpucost.errors import InputError
from gpucost.job.parse import parse_job
from gpucost.launcher.backends import REGISTRY
from gpucost.planner.planner import plan_job
from gpucost.providers import LAUNCHABLE_PROVIDERS
from gpucost.report.plan_report import render_plan

# Lambda's H100 is the cheapest per FLOP; AWS's is dearer but launchable.
ROWS = [offer("gpu_1x_h100_sxm5", "H100", 1, 2.49, provider="lambda"),
        offer("p5.4xlarge", "H100", 1, 6.88)]


def job(**constraints):
    return parse_job({"name": "j", "flops": 1e20, "utilization": 0.4, "deadline": "7d",
                      "constraints": constraints}, "job.yaml", NOW)


def test_the_launchable_providers_are_the_launchers():
    assert set(LAUNCHABLE_PROVIDERS) == set(REGISTRY)


def test_a_plan_names_the_allocations_launch_cannot_start():
    plan = plan_job(job(), catalog(ROWS), now=NOW)
    assert [a.provider for a in plan.allocations] == ["lambda"]
    (note,) = [n for n in plan.notes if "gpucost launch" in n]
    assert "lambda gpu_1x_h100_sxm5" in note
    assert "gpucost export PLAN.json --format skypilot" in note
    assert "constraints.launchable: true" in note
    assert note in plan.to_dict()["notes"]
    assert f"Note: {note}" in render_plan(plan)


def test_launchable_true_plans_only_what_launch_runs():
    plan = plan_job(job(launchable=True), catalog(ROWS), now=NOW)
    assert plan.status == "optimal"
    assert {a.provider for a in plan.allocations} == {"aws"}
    assert not any("gpucost launch" in n for n in plan.notes)


def test_launchable_true_with_no_launchable_offer_says_so():
    plan = plan_job(job(launchable=True), catalog(ROWS[:1]), now=NOW)
    assert plan.status == "infeasible"
    assert "launchable: true" in plan.reasons[0]


def test_launchable_must_be_a_boolean():
    with pytest.raises(InputError, match=r"constraints.launchable: expected true or false"):
        job(launchable="yes")

"""Plan ids are a content hash of what would be launched (issue 11): planning the same job
again gives the same id, and every id has the form the launcher accepts."""

from __future__ import annotations

import datetime as dt
import warnings
from dataclasses import replace
from pathlib import Path

from gpucost import load_catalog, load_job, plan_job
from gpucost.launcher.naming import check_plan_id
from gpucost.planner.plan import PLAN_ID_PATTERN, make_plan_id

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "llama-7b.yaml"
NOW = dt.datetime(2026, 11, 25, 14, 50, tzinfo=dt.UTC)


def _plan(now: dt.datetime):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the shipped snapshot's age is not the point here
        catalog = load_catalog()
    return plan_job(load_job(EXAMPLE, now=now), catalog, explain=False, now=now)


def test_replanning_the_same_job_gives_the_same_id():
    first, again = _plan(NOW), _plan(NOW + dt.timedelta(minutes=3))
    assert first.job["deadline"] != again.job["deadline"]  # the clock moved the deadline
    assert first.allocations == again.allocations
    assert first.plan_id == again.plan_id
    assert check_plan_id(first.plan_id) == first.plan_id


def test_id_changes_with_what_is_launched_or_its_price():
    plan = _plan(NOW)
    alloc = plan.allocations[0]
    ids = {make_plan_id("j", "single", [alloc]),
           make_plan_id("j", "single", [replace(alloc, instances=alloc.instances + 1)]),
           make_plan_id("j", "single", [replace(alloc, usd_per_hour=alloc.usd_per_hour * 2)]),
           make_plan_id("j", "single", [replace(alloc, region="eu-west-1")]),
           make_plan_id("k", "single", [alloc])}
    assert len(ids) == 5
    # estimates and dates are not what is launched
    assert make_plan_id("j", "single", [replace(alloc, hours=alloc.hours + 1, as_of="x")]) \
        == make_plan_id("j", "single", [alloc])


def test_any_job_name_gives_an_id_of_the_accepted_form():
    for name in ("llama 7b / pretrain", "*", "ä" * 3, "x" * 200, "-a-", "a;rm -rf ~"):
        plan_id = make_plan_id(name, "single", [])
        assert PLAN_ID_PATTERN.fullmatch(plan_id), plan_id
        assert len(plan_id) <= 63  # fits a GCE label value whole

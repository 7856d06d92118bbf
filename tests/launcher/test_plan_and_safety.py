"""Plan file validation, safety refusals and CLI error handling (exit 2, one line)."""

from __future__ import annotations

from datetime import date

import pytest

from gpucost.errors import InputError
from gpucost.launcher import load_plan, refusal_reasons


def test_load_plan_reads_allocations(plan_file):
    plan = load_plan(plan_file("plan_aws.json"))
    assert plan.plan_id == "bert-ft-95f7b301"
    assert plan.mode == "divisible" and plan.budget_usd == 500.0
    assert [(a.index, a.instance_type, a.instances, a.pricing) for a in plan.allocations] == [
        (0, "g5.xlarge", 2, "on_demand"), (1, "p3.2xlarge", 1, "spot")]
    assert plan.allocations[0].usd_per_hour_total == pytest.approx(2.012)


@pytest.mark.parametrize(("changes", "field"), [
    ({"plan_version": 2}, "plan_version"),
    ({"plan_id": "<delete>"}, "plan_id"),
    ({"job.mode": "parallel"}, "job.mode"),
    ({"allocations.1.pricing": "reserved"}, "allocations[1].pricing"),
    ({"allocations.0.instances": 0}, "allocations[0].instances"),
    ({"allocations.0.region": "<delete>"}, "allocations[0].region"),
    ({"snapshot.oldest_as_of": "last week"}, "snapshot.oldest_as_of"),
    ({"totals": "<delete>"}, "totals"),
])
def test_bad_plan_names_file_and_field(plan_file, changes, field):
    path = plan_file("plan_aws.json", changes)
    with pytest.raises(InputError) as info:
        load_plan(path)
    assert str(info.value).startswith(f"{path}: {field}: ")


@pytest.mark.parametrize(("changes", "field"), [
    ({"plan_version": 2}, "plan_version"),
    ({"allocations.0.gpu_count": "<delete>"}, "allocations[0].gpu_count"),
])
@pytest.mark.parametrize("command", ["launch", "export"])
def test_cli_bad_plan_exit_2_one_line(plan_file, run_cli, changes, field, command):
    path = plan_file("plan_aws.json", changes)
    code, out, err = run_cli(command, str(path))
    assert code == 2
    assert err.strip().splitlines() == [err.strip()]
    assert err.startswith(f"gpucost: error: {path}: {field}: ")
    assert "Traceback" not in err + out


def test_cli_not_json_and_missing_file(tmp_path, run_cli):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    code, _, err = run_cli("launch", str(bad))
    assert code == 2 and err.startswith(f"gpucost: error: {bad}: line 1: valid JSON")
    code, _, err = run_cli("launch", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json: file:" in err


def test_fresh_plan_within_budget_passes(plan_file):
    assert refusal_reasons(load_plan(plan_file("plan_aws.json"))) == []


def test_over_budget_refused(plan_file):
    plan = load_plan(plan_file("plan_aws.json", {"job.budget_usd": 20.0}))
    [reason] = refusal_reasons(plan)
    assert "$27.46, over the job budget of $20.00" in reason


def test_no_budget_never_over(plan_file):
    assert refusal_reasons(load_plan(plan_file("plan_single_multinode.json"))) == []


def test_stale_snapshot_refused_after_7_days(plan_file):
    plan = load_plan(plan_file("plan_aws.json", {"snapshot.oldest_as_of": "2026-11-10"}))
    assert refusal_reasons(plan, today=date(2026, 11, 17)) == []
    [reason] = refusal_reasons(plan, today=date(2026, 11, 18))
    assert "8 days old" in reason and "gpucost refresh" in reason


def test_infeasible_refused(plan_file):
    reasons = refusal_reasons(load_plan(plan_file("plan_infeasible.json")))
    assert any("'infeasible'" in r for r in reasons)


@pytest.mark.parametrize(("fixture", "changes", "why"), [
    ("plan_aws.json", {"job.budget_usd": 20.0}, "over the job budget"),
    ("plan_aws.json", {"snapshot.oldest_as_of": "2000-01-01"}, "days old"),
    ("plan_infeasible.json", {}, "not 'optimal'"),
])
def test_cli_refuses_without_force(plan_file, run_cli, fixture, changes, why):
    path = plan_file(fixture, changes)
    code, _, err = run_cli("launch", str(path), "--yes")
    assert code == 1
    assert any(line.startswith("gpucost: refused: ") and why in line
               for line in err.splitlines())
    assert "--force" in err


def test_cli_force_turns_refusal_into_warning(plan_file, run_cli):
    path = plan_file("plan_aws.json", {"job.budget_usd": 20.0})
    code, out, err = run_cli("launch", str(path), "--force")  # dry run: no cloud call
    assert code == 0
    assert "DRY RUN" in out and "warning: plan costs $27.46" in err


def test_cli_unknown_provider_exit_2(plan_file, run_cli):
    path = plan_file("plan_aws.json", {"allocations.1.provider": "azure"})
    code, _, err = run_cli("launch", str(path))
    assert code == 2
    assert err.strip() == (f"gpucost: error: {path}: allocations[1].provider: one of aws, gcp "
                           "(no launcher for 'azure')")

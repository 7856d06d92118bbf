"""Issue 20, item 7: a dry run of a plan that only ``--force`` would launch shows the
same useful lines as the forced one (image, self-termination, no run command), then
the refusal; it names the oldest price, not a snapshot."""

from __future__ import annotations

import datetime as dt

IMAGE = "ami-0123456789abcdef0"


def stale(plan_file):
    old = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=30)).isoformat()
    return str(plan_file("plan_aws.json", {"snapshot.oldest_as_of": old}))


def test_refused_dry_run_shows_what_force_would_create(plan_file, run_cli):
    plan = stale(plan_file)
    code, out, err = run_cli("launch", plan, "--image", IMAGE)
    assert code == 1
    assert f"    image: {IMAGE}" in out
    assert "self-termination: on exit terminate, hard limit 12 h" in out
    assert "no run command" in err
    assert "gpucost: refused: the plan's oldest price is as of" in err
    assert "pass --force to launch anyway" in err
    assert "(--force)" not in err  # refused, not a warning as with --force
    forced_code, forced_out, _ = run_cli("launch", plan, "--image", IMAGE, "--force")
    assert forced_code == 0
    # the same description, line for line, apart from the first (what --yes needs)
    assert out.splitlines()[1:] == forced_out.splitlines()[1:]


def test_refused_dry_run_with_bad_flag_still_refuses_first(plan_file, run_cli):
    code, out, err = run_cli("launch", stale(plan_file), "--image", "ami-123")
    assert code == 1
    assert "refused" in err and "--image" not in err
    assert "DRY RUN" in out


def test_dry_run_says_oldest_price(plan_file, run_cli):
    code, out, _ = run_cli("launch", str(plan_file("plan_aws.json")), "--image", IMAGE)
    assert code == 0
    assert "oldest price as of " in out.splitlines()[1]
    assert "snapshot" not in out

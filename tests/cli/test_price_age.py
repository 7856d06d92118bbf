"""Ages are told from the prices an answer uses (rows' as_of), never from file names."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd

from gpucost.catalog.age import OLD_AFTER_DAYS, price_age

TODAY = dt.datetime.now(dt.UTC).date()
OLD = TODAY - dt.timedelta(days=400)  # a carried-over row, re-written under today's name


def _mixed_snapshot(folder, snapshot_writer):
    """One aws file named today: the cheap A100 row is 400 days old (carried over by a
    refresh that failed for us-west-2), the H100 row is fresh."""
    path = folder / "aws" / f"{TODAY.isoformat()}.csv"
    snapshot_writer(path, [("aws", "us-west-2", "", "p4d.24xlarge", "A100-40GB", 8, 40,
                            "on_demand", 10.0)], OLD)
    fresh = path.read_text().splitlines()[1].replace(OLD.isoformat(), TODAY.isoformat())
    fresh = fresh.replace("us-west-2", "us-east-1").replace("p4d.24xlarge", "p5.48xlarge") \
        .replace("A100-40GB", "H100").replace(",40,", ",80,").replace(",10.0,", ",98.32,")
    path.write_text(path.read_text() + fresh + "\n")
    return folder


def test_plan_warning_names_the_old_price_it_uses_not_the_file_date(
        tmp_path, run_cli, snapshot_writer):
    folder = _mixed_snapshot(tmp_path / "snap", snapshot_writer)
    job = tmp_path / "job.yaml"
    job.write_text("name: j\nflops: 1e20\nutilization: 0.3\ndeadline: 30d\n")
    result = run_cli("plan", job, "--snapshot", folder)
    assert result.code == 0, result.err
    [warning] = [line for line in result.err_lines if "warning" in line]
    assert (f"the plan's oldest price is as of {OLD.isoformat()} (aws us-west-2 p4d.24xlarge "
            "on_demand, 400 days old)") in warning
    assert f"1 of the 2 offers searched (50%) are priced more than {OLD_AFTER_DAYS} days" \
        in warning
    assert TODAY.isoformat() not in warning  # the file's name is no price's age
    assert f"Oldest price used: as of {OLD.isoformat()}" in result.out
    assert f"Snapshot files: aws/{TODAY.isoformat()}.csv" in result.out

    plan = json.loads(run_cli("plan", job, "--snapshot", folder, "-o", "json").out)
    age = plan["snapshot"]["price_age"]
    assert (age["oldest_used_as_of"], age["oldest_used_days"]) == (OLD.isoformat(), 400)
    assert (age["searched_offers"], age[f"searched_older_than_{OLD_AFTER_DAYS}_days"]) == (2, 1)


def test_fresh_used_price_gives_no_warning_even_beside_old_rows(
        tmp_path, run_cli, snapshot_writer):
    folder = _mixed_snapshot(tmp_path / "snap", snapshot_writer)
    job = tmp_path / "job.yaml"
    job.write_text("name: j\nflops: 1e20\nutilization: 0.3\ndeadline: 30d\n"
                   "constraints:\n  gpus: [H100]\n")
    result = run_cli("plan", job, "--snapshot", folder)
    assert result.code == 0, result.err
    assert not [line for line in result.err_lines if "warning" in line]
    assert "Oldest price used: as of " + TODAY.isoformat() + " (aws us-east-1 p5.48xlarge " \
        "on_demand, today)" in result.out


def test_prices_warns_on_the_oldest_listed_row(tmp_path, run_cli, snapshot_writer):
    folder = _mixed_snapshot(tmp_path / "snap", snapshot_writer)
    result = run_cli("prices", "--snapshot", folder)
    assert result.code in (0, None)
    [warning] = [line for line in result.err_lines if "warning" in line]
    assert f"the oldest price listed is as of {OLD.isoformat()} (aws us-west-2" in warning
    assert "1 of the 2 offers listed (50%)" in warning
    assert not [line for line in run_cli("prices", "--snapshot", folder, "--gpu", "H100")
                .err_lines if "warning" in line]


def test_share_of_old_offers_counts_each_offer_once():
    rows = pd.DataFrame({"provider": ["a", "a", "a"], "region": ["r", "r", "s"],
                         "instance_type": ["x", "x", "x"], "pricing": ["spot"] * 3,
                         "as_of": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-12-01"])})
    age = price_age([], rows, dt.date(2025, 12, 2))
    assert (age.searched, age.searched_old, age.oldest_used) == (2, 1, None)
    assert age.stale and "the oldest price searched is as of 2025-01-01" in age.warning()

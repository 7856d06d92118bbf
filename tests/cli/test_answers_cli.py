"""What the commands print holds: snapshots named as they are, warnings only for what is
read and once, notes when a filter cannot match, and data that cannot forge output."""

from __future__ import annotations

import csv
import datetime as dt
import io

TODAY = dt.date.today()
OLD = dt.date(2020, 1, 1)
L4 = ("aws", "us-east-1", "", "g6.xlarge", "L4", 1, 22.5, "on_demand", 0.8)
GCP_L4 = ("gcp", "us-central1", "", "g2-standard-4", "L4", 1, 24, "on_demand", 0.7)


def job_file(tmp_path, constraints: str = "{}"):
    path = tmp_path / "job.yaml"
    path.write_text("name: j\nflops: 1e18\nutilization: 0.3\ndeadline: 2d\n"
                    f"constraints: {constraints}\n")
    return path


def test_snapshot_may_be_one_providers_folder(run_cli, tmp_path, snapshot_writer):
    snapshot_writer(tmp_path / "snap" / "gcp" / f"{TODAY}.csv", [GCP_L4], TODAY)
    snapshot_writer(tmp_path / "snap" / "aws" / f"{TODAY}.csv", [L4], TODAY)
    result = run_cli("prices", "--snapshot", tmp_path / "snap" / "gcp", "-o", "csv")
    assert result.code == 0, result.err
    rows = list(csv.DictReader(io.StringIO(result.out)))
    assert [r["instance_type"] for r in rows] == ["g2-standard-4"]
    plan = run_cli("plan", job_file(tmp_path), "--snapshot", tmp_path / "snap" / "gcp")
    assert plan.code == 0, plan.err
    assert "Snapshot files: gcp/" in plan.out


def test_prices_line_names_a_csv_not_named_by_date(run_cli, tmp_path, snapshot_writer):
    path = snapshot_writer(tmp_path / "my-prices.csv", [L4], TODAY)
    result = run_cli("plan", job_file(tmp_path), "--snapshot", path)
    assert result.code == 0, result.err
    line = next(x for x in result.out.splitlines() if x.startswith("Oldest price used:"))
    assert str(path) in line and TODAY.isoformat() in line
    assert "0001-01-01" not in result.out


def test_staleness_warned_once_for_the_prices_used(run_cli, tmp_path, snapshot_writer):
    snapshot_writer(tmp_path / "snap" / "aws" / f"{OLD}.csv", [L4], OLD)
    snapshot_writer(tmp_path / "snap" / "gcp" / f"{OLD}.csv", [GCP_L4], OLD)
    result = run_cli("plan", job_file(tmp_path, "{providers: [aws]}"), "--snapshot",
                     tmp_path / "snap")
    assert result.code == 0, result.err
    warnings = [x for x in result.err_lines if "warning" in x]
    assert len(warnings) == 1 and f"as of {OLD} (aws " in warnings[0]
    result = run_cli("prices", "--snapshot", tmp_path / "snap", "--provider", "GCP")
    assert result.code == 0, result.err
    assert len(result.err_lines) == 1 and f"as of {OLD} (gcp " in result.err_lines[0]
    assert "g2-standard-4" in result.out


def test_spot_overhead_line_only_with_spot(run_cli, tmp_path, snapshot_writer):
    snapshot_writer(tmp_path / "aws" / f"{TODAY}.csv", [L4], TODAY)
    result = run_cli("plan", job_file(tmp_path), "--snapshot", tmp_path)
    assert result.code == 0, result.err
    assert "Spot:" not in result.out and "Goodput:" in result.out


def test_prices_spot_without_spot_rows_says_so(run_cli, tmp_path, snapshot_writer):
    snapshot_writer(tmp_path / "aws" / f"{TODAY}.csv", [L4], TODAY)
    result = run_cli("prices", "--snapshot", tmp_path, "--spot")
    assert result.code == 0
    assert "0 offers" in result.out
    assert "no spot prices" in result.err and "gpucost refresh" in result.err


def test_csv_cells_that_would_run_as_formulas_are_neutralised(run_cli, tmp_path,
                                                                snapshot_writer):
    evil = ("aws", "us-east-1", "", "=HYPERLINK(\"http://x\")", "L4", 1, 22.5, "on_demand",
            0.8)
    cmd = ("aws", "us-west-2", "", "@SUM(1+1)cmd|' /C calc'!A0", "L4", 1, 22.5,
           "on_demand", 0.8)
    snapshot_writer(tmp_path / "aws" / f"{TODAY}.csv", [evil, cmd, L4], TODAY)
    result = run_cli("prices", "--snapshot", tmp_path, "-o", "csv")
    assert result.code == 0, result.err
    types = [r["instance_type"] for r in csv.DictReader(io.StringIO(result.out))]
    assert "'=HYPERLINK(\"http://x\")" in types
    assert any(t.startswith("'@SUM") for t in types)
    assert "g6.xlarge" in types
    assert not any(t.startswith(("=", "+", "-", "@")) for t in types)


def test_text_output_strips_control_characters(run_cli, tmp_path, snapshot_writer):
    evil = ("aws", "us-east-1", "", "g6.x\x1b[2Jlarge\x07", "L4", 1, 22.5, "on_demand", 0.8)
    snapshot_writer(tmp_path / "aws" / f"{TODAY}.csv", [evil], TODAY)
    for output in ("table", "markdown"):
        result = run_cli("prices", "--snapshot", tmp_path, "-o", output)
        assert result.code == 0, result.err
        assert "\x1b" not in result.out and "\x07" not in result.out
        assert "g6.x[2Jlarge" in result.out
    plan = run_cli("plan", job_file(tmp_path), "--snapshot", tmp_path)
    assert plan.code == 0, plan.err
    assert "\x1b" not in plan.out and "g6.x[2Jlarge" in plan.out


def test_frontier_with_no_feasible_deadline_exits_1_without_a_plot(run_cli, tmp_path,
                                                                   snapshot_writer):
    snapshot_writer(tmp_path / "aws" / f"{TODAY}.csv", [L4], TODAY)
    job = tmp_path / "big.yaml"
    job.write_text("name: big\nflops: 1e26\nutilization: 0.3\ndeadline: 1d\n")
    png = tmp_path / "out.png"
    result = run_cli("frontier", job, "--snapshot", tmp_path, "--points", "3", "--plot", png)
    assert result.code == 1
    assert not png.exists()
    assert result.out.count("infeasible") >= 4  # 3 grid deadlines + the job's, each shown
    assert "not written" in result.err


def test_frontier_plot_to_a_missing_folder_is_exit_2(run_cli, tmp_path, snapshot_writer):
    snapshot_writer(tmp_path / "aws" / f"{TODAY}.csv", [L4], TODAY)
    result = run_cli("frontier", job_file(tmp_path), "--snapshot", tmp_path, "--points", "2",
                     "--plot", tmp_path / "missing" / "x.png")
    assert result.code == 2
    assert result.err_lines[-1].startswith("gpucost: error: ") and "--plot" in result.err

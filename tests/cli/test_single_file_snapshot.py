"""A single-file --snapshot whose offers the job's providers exclude: the message says so,
and no line prints "None" (issue 20, item 10)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

LAMBDA = Path(__file__).parents[2] / "pricing_snapshots" / "lambda" / "2024-11-09.csv"


@pytest.mark.parametrize("name", ["2024-11-09.csv", "lambda-prices.csv"])
@pytest.mark.parametrize("command", ["plan", "frontier"])
def test_excluded_provider_is_named_and_nothing_prints_none(run_cli, tmp_path, name, command):
    # a dated file in its provider's folder (read by provider), or one of any other name
    snapshot = tmp_path / "lambda" / name
    snapshot.parent.mkdir()
    shutil.copy(LAMBDA, snapshot)
    job = tmp_path / "job.yaml"
    job.write_text("name: x\nflops: 1e20\ndeadline: 7d\nconstraints: {providers: [aws]}\n")
    result = run_cli(command, job, "--snapshot", snapshot, "--points", "2") \
        if command == "frontier" else run_cli(command, job, "--snapshot", snapshot)
    assert result.code == 1, result.err
    assert "the snapshot has no offers\n" not in result.out + "\n"
    assert "None" not in result.out and "None" not in result.err
    if name.startswith("2024"):
        assert "the snapshot has no offers from aws (it has lambda" in result.out
    else:  # read whole: the provider filter is a step of the funnel
        assert "no offers left after restricting to providers aws" in result.out

"""``gpucost diff`` and the pull-request workflow that posts it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from analysis_support import EXAMPLES, ROOT

SEVEN_B = EXAMPLES / "llama-7b.yaml"


def _twice_the_context(tmp_path: Path, **constraints) -> Path:
    data = yaml.safe_load(SEVEN_B.read_text())
    data["model"]["sequence_length"] *= 2
    data["constraints"].update(constraints)
    path = tmp_path / "llama-7b-8k.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_twice_the_context_shows_the_cost_change(run_cli, tmp_path):
    new = _twice_the_context(tmp_path)
    res = run_cli("diff", SEVEN_B, new, "-o", "json")
    assert res.code == 0, res.err
    d = json.loads(res.out)
    assert d["base"]["status"] == d["new"]["status"] == "optimal"
    assert d["change"]["cost_usd"] == pytest.approx(d["new"]["cost_usd"] - d["base"]["cost_usd"])
    assert d["change"]["cost_usd"] > 0  # attention FLOPs grow with the context
    assert d["ok"] is True
    text = run_cli("diff", SEVEN_B, new).out
    assert "cost" in text and "(+" in text and "Layout" in text and "Cluster" in text


def test_markdown_for_a_pull_request_comment(run_cli, tmp_path):
    res = run_cli("diff", SEVEN_B, _twice_the_context(tmp_path), "-o", "markdown")
    assert res.code == 0
    assert res.out.startswith("### gpucost diff:")
    assert "| cost |" in res.out and "| --- |" in res.out


def test_a_new_plan_over_budget_exits_1(run_cli, tmp_path):
    base = json.loads(run_cli("plan", SEVEN_B, "-o", "json").out)
    budget = base["totals"]["cost_usd"] * 1.001
    res = run_cli("diff", SEVEN_B, _twice_the_context(tmp_path, budget_usd=budget))
    assert res.code == 1
    assert "The new plan breaks the job: cost" in res.out and "over the budget" in res.out


def test_saved_plan_json_as_base(run_cli, tmp_path):
    saved = tmp_path / "plan.json"
    saved.write_text(run_cli("plan", SEVEN_B, "-o", "json").out)
    res = run_cli("diff", saved, SEVEN_B, "-o", "json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["change"]["cost_usd"] == pytest.approx(0.0, abs=0.01)


def test_git_ref_as_base(run_cli, tmp_path, monkeypatch):
    repo = _repo(tmp_path)
    monkeypatch.chdir(repo)
    res = run_cli("diff", "git:HEAD~1:jobs/llama.yaml", "jobs/llama.yaml", "-o", "json")
    assert res.code == 0, res.err
    assert json.loads(res.out)["change"]["cost_usd"] > 0


@pytest.mark.parametrize("args, words", [
    (["git:HEAD", "x.yaml"], "git:REF:path"),
    (["git:--output=/tmp/x:jobs/llama.yaml", "jobs/llama.yaml"], "REF"),
    (["git:nosuchref:jobs/llama.yaml", "jobs/llama.yaml"], "a file at that revision"),
    (["missing.yaml", "jobs/llama.yaml"], "missing.yaml"),
])
def test_bad_input_is_one_line_exit_2(run_cli, tmp_path, monkeypatch, args, words):
    monkeypatch.chdir(_repo(tmp_path))
    res = run_cli("diff", *args)
    assert res.code == 2, res.out
    assert len(res.err_lines) == 1 and words in res.err_lines[0], res.err


def test_bad_saved_plan_names_what_the_user_wrote(run_cli, tmp_path):
    bad = tmp_path / "plan.json"
    bad.write_text('{"plan_version": 1}')
    res = run_cli("diff", bad, SEVEN_B)
    assert res.code == 2
    assert len(res.err_lines) == 1 and str(bad) in res.err_lines[0]


# --- the pull-request workflow ---------------------------------------------------------------

def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()


def _repo(tmp_path: Path, **new_constraints) -> Path:
    """A repository whose head doubles the context of jobs/llama.yaml."""
    repo = tmp_path / "repo"
    (repo / "jobs").mkdir(parents=True)
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "config", "user.email", "ci@example.com")
    _git(repo, "config", "user.name", "ci")
    shutil.copy(SEVEN_B, repo / "jobs" / "llama.yaml")
    (repo / "README.md").write_text("jobs\n")
    _git(repo, "add", ".")
    _git(repo, "commit", "-qm", "base")
    new = _twice_the_context(tmp_path, **new_constraints)
    shutil.copy(new, repo / "jobs" / "llama.yaml")
    (repo / "README.md").write_text("jobs, changed\n")
    _git(repo, "commit", "-qam", "twice the context")
    return repo


def _run_workflow_script(repo: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, str]:
    event = {"action": "synchronize", "number": 7,
             "pull_request": {"number": 7, "base": {"sha": _git(repo, "rev-parse", "HEAD~1"),
                                                    "ref": "main"},
                              "head": {"sha": _git(repo, "rev-parse", "HEAD"),
                                       "ref": "longer-context"}}}
    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(event))
    summary = tmp_path / "summary.md"
    env = {**os.environ, "GITHUB_EVENT_PATH": str(event_path),
           "GITHUB_STEP_SUMMARY": str(summary), "PYTHONPATH": str(ROOT),
           "GPUCOST_SNAPSHOT_DIR": str(tmp_path / "no-user-snapshots")}
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "ci" / "cost_diff.py"),
                           "--jobs", "jobs/**/*.yaml", "--out", "comment.md"], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=600)
    comment = (repo / "comment.md").read_text() if (repo / "comment.md").exists() else ""
    assert summary.read_text() == comment
    return proc, comment


def test_workflow_script_on_a_fake_pull_request(tmp_path):
    proc, comment = _run_workflow_script(_repo(tmp_path), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "#### `jobs/llama.yaml`" in comment
    assert "| cost |" in comment and "(+" in comment
    assert "README" not in comment  # only job files


def test_workflow_script_fails_when_the_new_plan_breaks_the_budget(tmp_path, run_cli):
    base = json.loads(run_cli("plan", SEVEN_B, "-o", "json").out)
    repo = _repo(tmp_path, budget_usd=base["totals"]["cost_usd"] * 1.001)
    proc, comment = _run_workflow_script(repo, tmp_path)
    assert proc.returncode == 1
    assert "breaks its budget or deadline" in comment


def test_workflow_file_is_valid_and_runs_the_script():
    path = ROOT / "scripts" / "ci" / "cost-diff.github-workflow.yml"
    flow = yaml.safe_load(path.read_text())
    assert "pull_request" in flow[True]  # YAML 1.1 reads the `on` key as True
    steps = flow["jobs"]["cost-diff"]["steps"]
    assert any("scripts/ci/cost_diff.py" in s.get("run", "") for s in steps)
    assert steps[0]["with"]["fetch-depth"] == 0
    actionlint = shutil.which("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed")
    proc = subprocess.run([actionlint, str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

#!/usr/bin/env python3
"""Pull-request cost diff: `gpucost diff` for every job file the pull request changes.

Run by scripts/ci/cost-diff.github-workflow.yml (copy both into your repository). Reads
the pull request from the GitHub event payload ($GITHUB_EVENT_PATH), lists the job
files changed between its base and head (`--jobs`, git glob pathspecs), and writes one
Markdown comment (`--out`, and the job summary when $GITHUB_STEP_SUMMARY is set):
`gpucost diff git:BASE:file file -o markdown` for a changed file, `gpucost plan file
-o markdown` for a new one.

Exit status: 0 when every new plan keeps its job's budget and deadline; 1 when one
breaks either (or has no feasible plan); 2 when a job file is bad input or the event
is not a pull request.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

MARKER = "<!-- gpucost-cost-diff -->"


def git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], capture_output=True, text=True, check=False)


def changed_job_files(base: str, head: str, patterns: list[str]) -> list[str]:
    specs = [f":(glob){p}" for p in patterns]
    proc = git("diff", "--name-only", "--diff-filter=AMR", f"{base}...{head}", "--", *specs)
    if proc.returncode != 0:
        raise SystemExit(f"cost_diff: git diff failed: {proc.stderr.strip()}")
    return sorted(line for line in proc.stdout.splitlines() if line.strip())


def gpucost(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpucost", *args], capture_output=True,
                          text=True, check=False)


def section(base: str, path: str) -> tuple[str, int]:
    """The Markdown for one job file, and gpucost's exit status."""
    existed = git("cat-file", "-e", f"{base}:{path}").returncode == 0
    if existed:
        proc = gpucost("diff", f"git:{base}:{path}", path, "-o", "markdown")
    else:
        proc = gpucost("plan", path, "-o", "markdown")
    head = f"#### `{path}`" + ("" if existed else " (new job file)")
    if proc.returncode == 2:
        error = (proc.stderr.strip().splitlines() or ["bad input"])[-1]
        return f"{head}\n\n:x: {error}\n", 2
    body = proc.stdout.strip()
    if not existed and proc.returncode != 0:
        body += "\n\n**No plan meets this job's budget and deadline.**"
    return f"{head}\n\n{body}\n", proc.returncode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", nargs="+", default=["jobs/**/*.yaml"],
                        help="git glob pathspecs of the job files (default: jobs/**/*.yaml)")
    parser.add_argument("--out", default="cost-diff.md", help="Markdown comment to write")
    args = parser.parse_args(argv)
    event_path = os.environ.get("GITHUB_EVENT_PATH")
    if not event_path:
        print("cost_diff: GITHUB_EVENT_PATH is not set (run from a pull_request workflow)",
              file=sys.stderr)
        return 2
    event = json.loads(Path(event_path).read_text(encoding="utf-8"))
    pull = event.get("pull_request")
    if not pull:
        print("cost_diff: the event is not a pull request", file=sys.stderr)
        return 2
    base, head = pull["base"]["sha"], pull["head"]["sha"]
    files = changed_job_files(base, head, args.jobs)
    parts = [MARKER, "### gpucost: what this pull request does to the bill", ""]
    worst = 0
    if not files:
        parts.append("No job file changed.")
    for path in files:
        text, status = section(base, path)
        parts.append(text)
        worst = max(worst, status)
    if worst == 1:
        parts.append("**A changed job's cheapest plan breaks its budget or deadline.**")
    body = "\n".join(parts) + "\n"
    Path(args.out).write_text(body, encoding="utf-8")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as fh:
            fh.write(body)
    print(body)
    return worst


if __name__ == "__main__":
    sys.exit(main())

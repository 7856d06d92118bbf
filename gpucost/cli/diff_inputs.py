"""What ``gpucost diff`` compares: a job file (planned now), a saved plan JSON, or either
at a git revision (``git:REF:path``)."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from gpucost.errors import InputError, quote

GIT_TIMEOUT_S = 30


def git_file(spec: str) -> tuple[str, str]:
    """(file name, text) of ``git:REF:path`` from the repository of the working folder."""
    parts = spec.split(":", 2)
    if len(parts) != 3 or not parts[1] or not parts[2]:
        raise InputError(spec, "git", "git:REF:path (e.g. git:origin/main:jobs/llama.yaml)")
    _, ref, path = parts
    if ref.startswith("-") or any(c in ref for c in " \t\n\0"):
        raise InputError(spec, "REF", f"a git revision, not {quote(ref)}")
    try:
        proc = subprocess.run(["git", "show", f"{ref}:{path}"], capture_output=True,
                              timeout=GIT_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise InputError(spec, "git", "git installed and on PATH") from None
    except subprocess.TimeoutExpired:
        raise InputError(spec, "git", f"an answer from git within {GIT_TIMEOUT_S} s") from None
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise InputError(spec, "git", "a file at that revision of this repository ("
                         + (detail[-1] if detail else f"git exit {proc.returncode}") + ")")
    if len(proc.stdout) > 1024 * 1024:
        raise InputError(spec, "file", "a job or plan file of at most 1 MiB")
    try:
        return Path(path).name, proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(spec, "file", "a job or plan file in UTF-8 text") from None


def _is_plan(path: Path) -> bool:
    return path.suffix.lower() == ".json"


def load_side(spec: str, snapshot: str | None) -> dict[str, Any]:
    """The plan JSON (as a dict) that ``spec`` stands for."""
    if spec.startswith("git:"):
        name, text = git_file(spec)
        with tempfile.TemporaryDirectory(prefix="gpucost-diff-") as folder:
            path = Path(folder) / name
            path.write_text(text, encoding="utf-8")
            return _load(path, spec, snapshot)
    return _load(Path(spec), spec, snapshot)


def _load(path: Path, label: str, snapshot: str | None) -> dict[str, Any]:
    if _is_plan(path):
        from gpucost.launcher.plan_file import load_plan

        try:
            plan = load_plan(path)
        except InputError as exc:  # name what the user wrote, not a temporary file
            raise InputError(label, exc.field, exc.expected) from None
        return plan.raw
    from gpucost.catalog.snapshot import load_catalog
    from gpucost.job.parse import load_job
    from gpucost.planner.planner import plan_job

    try:
        job = load_job(path)
    except InputError as exc:
        raise InputError(label, exc.field, exc.expected) from None
    catalog = load_catalog(snapshot, providers=job.constraints.providers)
    return json.loads(plan_job(job, catalog, explain=False).to_json())

"""Fixtures for the launcher tests: example plans, a sandboxed state/config folder, and
dummy cloud credentials. No test reaches the network: AWS goes to moto (or a Stubber),
GCP to ``responses``."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
AWS_ENV_CLEARED = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
                   "AWS_SECURITY_TOKEN", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE",
                   "AWS_ROLE_ARN")


@pytest.fixture(autouse=True)
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """State and config folders under tmp_path, so no test reads or writes the user's."""
    monkeypatch.setenv("GPUCOST_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in AWS_ENV_CLEARED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No AWS credentials anywhere: environment, files or instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                 "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


DELETE = "<delete>"


def content_plan_id(data: dict[str, Any]) -> str:
    """The id ``gpucost plan`` gives plan JSON ``data`` (a hash of what it launches)."""
    from gpucost.launcher.plan_file import parse_plan
    from gpucost.planner.plan import make_plan_id

    try:
        plan = parse_plan(data, "plan")
    except Exception:  # noqa: BLE001 - a hostile plan keeps its id; the parser refuses it
        return str(data.get("plan_id"))
    return make_plan_id(plan.job_name, plan.mode, plan.allocations)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


@pytest.fixture
def plan_file(tmp_path: Path) -> Callable[..., Path]:
    """Write fixture ``name`` (fresh prices: dated today) with ``changes`` applied.

    ``changes`` maps dotted paths to values: ``{"job.budget_usd": 1.0}``; a value of
    ``"<delete>"`` removes the key. The plan id is then recomputed from the contents (as
    ``gpucost plan`` would give it) unless ``changes`` sets it or ``rehash`` is False:
    a test of one guard is not refused by the id check instead.
    """

    def write(name: str, changes: dict[str, Any] | None = None, rehash: bool = True) -> Path:
        data = json.loads((FIXTURES / name).read_text())
        data["snapshot"]["oldest_as_of"] = today()
        for dotted, value in (changes or {}).items():
            *parents, last = dotted.split(".")
            node: Any = data
            for key in parents:
                node = node[int(key)] if isinstance(node, list) else node[key]
            if value == DELETE:
                del node[last]
            elif isinstance(node, list):
                node[int(last)] = value
            else:
                node[last] = value
        if rehash and "plan_id" not in (changes or {}):
            data["plan_id"] = content_plan_id(data)
        path = tmp_path / f"plan-{len(list(tmp_path.glob('plan-*')))}-{name}"
        path.write_text(json.dumps(data))
        return path

    return write


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[..., tuple[int, str, str]]]:
    """Run ``gpucost.cli.main(args)``; returns (exit status, stdout, stderr)."""
    from gpucost.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        with pytest.raises(SystemExit) as info:
            main(list(args))
        out, err = capsys.readouterr()
        return int(info.value.code or 0), out, err

    yield run

"""A small local record of what ``gpucost launch`` created, one JSON file per plan.

Kept in ``$GPUCOST_STATE_DIR`` or the platform's user state folder for gpucost
(:func:`platformdirs.user_state_dir`). It only saves ``status`` and ``down`` from being
told where to look (AWS regions, the GCP project): the clouds' tags and labels stay the
truth, and every command works without this file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STATE_DIR_ENV = "GPUCOST_STATE_DIR"


def state_dir() -> Path:
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV])
    from platformdirs import user_state_dir

    return Path(user_state_dir("gpucost")) / "launches"


def state_path(plan_id: str) -> Path:
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in plan_id)
    return state_dir() / f"{safe}.json"


def read_state(plan_id: str) -> dict[str, Any] | None:
    """The recorded launch of ``plan_id``, or None (missing or unreadable: not an error)."""
    try:
        data = json.loads(state_path(plan_id).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_state(plan_id: str, providers: dict[str, dict[str, Any]],
                instances: list[dict[str, Any]], status: str = "launched",
                plan_path: str | None = None) -> Path | None:
    """Record a launch; returns the path, or None if it could not be written (a warning,
    never a failure). The runner writes it before creating anything and after every
    allocation (``status``: launching, launched, partial, interrupted, rolled back,
    rollback failed), so an interrupted launch still says where to look. Written through
    a temporary file renamed into place: a reader never sees half a record."""
    path = state_path(plan_id)
    data = {"plan_id": plan_id, "status": status,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "providers": providers, "instances": instances}
    if plan_path:  # lets `status PLAN_ID --tokens-done` find the plan it follows
        data["plan_path"] = plan_path
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        return None
    return path


def recorded_plan_path(plan_id: str) -> Path | None:
    """The plan JSON file the launch of ``plan_id`` was made from, if it recorded one and
    the file is still there."""
    data = read_state(plan_id) or {}
    path = data.get("plan_path")
    return Path(path) if isinstance(path, str) and Path(path).is_file() else None

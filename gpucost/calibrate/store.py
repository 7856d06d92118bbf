"""Calibration profiles on disk: JSON, in the user's config folder or a file to share.

The default profile is ``<user config dir>/gpucost/calibration.json`` (platformdirs;
``~/.config/gpucost`` on Linux). ``plan``, ``frontier`` and ``estimate`` use it when it
exists; ``--calibration FILE`` uses another, ``--calibration none`` none.
``$GPUCOST_CALIBRATION`` sets the same (a path, or ``none``).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from gpucost.errors import InputError
from gpucost.files import read_text
from gpucost.performance.user_calibration import ProfileEntry, UserCalibration

PROFILE_VERSION = 1
_NUMBERS = {"factor": (0.01, 100.0), "log_spread": (0.0, 5.0),
            "error_before": (0.0, 1e6), "error_after": (0.0, 1e6)}


def default_profile_path() -> Path:
    from platformdirs import user_config_dir

    return Path(user_config_dir("gpucost")) / "calibration.json"


def profile_json(profile: UserCalibration) -> str:
    return json.dumps({"profile_version": PROFILE_VERSION, "created_at": profile.created_at,
                       "entries": [e.to_json() for e in profile.entries],
                       "notes": list(profile.notes)}, indent=2) + "\n"


def write_profile(profile: UserCalibration, path: str | Path) -> None:
    """Write atomically (a temporary file in the same folder, then a rename)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".calibration-", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(profile_json(profile))
        os.replace(tmp, path)
    except OSError as exc:
        raise InputError(str(path), "output", "a writable path for the calibration profile "
                         f"({exc.strerror or type(exc).__name__})") from None


def read_profile(path: str | Path) -> UserCalibration:
    """A profile file, checked field by field."""
    from gpucost.catalog.gpus import PRECISIONS, is_known_gpu
    from gpucost.job.spec import STACKS

    where = str(path)
    try:
        data = json.loads(read_text(path, "calibration profile"))
    except json.JSONDecodeError as exc:
        raise InputError(where, "file", f"a calibration profile in JSON (line {exc.lineno}: "
                         f"{exc.msg})") from None
    if not isinstance(data, dict) or data.get("profile_version") != PROFILE_VERSION:
        raise InputError(where, "profile_version", f"{PROFILE_VERSION} (a file written by "
                         "`gpucost calibrate --out`)")
    raw = data.get("entries")
    if not isinstance(raw, list):
        raise InputError(where, "entries", "a list of calibration entries")
    entries = []
    for i, item in enumerate(raw):
        at = f"entries[{i}]"
        if not isinstance(item, dict):
            raise InputError(where, at, "a mapping")
        gpu, stack, precision = item.get("gpu"), item.get("stack"), item.get("precision")
        if not isinstance(gpu, str) or not is_known_gpu(gpu):
            raise InputError(where, f"{at}.gpu", "a GPU of the spec table (`gpucost gpus`)")
        if stack not in STACKS:
            raise InputError(where, f"{at}.stack", "one of " + ", ".join(STACKS))
        if precision not in PRECISIONS:
            raise InputError(where, f"{at}.precision", "one of " + ", ".join(PRECISIONS))
        values = {}
        for key, (low, high) in _NUMBERS.items():
            v = item.get(key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v) \
                    or not low <= v <= high:
                raise InputError(where, f"{at}.{key}", f"a number from {low:g} to {high:g}")
            values[key] = float(v)
        count = item.get("measurements")
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise InputError(where, f"{at}.measurements", "a whole number of at least 1")
        entries.append(ProfileEntry(gpu, stack, precision, measurements=count, **values))
    return UserCalibration(tuple(entries), source=where,
                           created_at=str(data.get("created_at") or ""))


def load_profile_for_cli(option: str | None) -> UserCalibration | None:
    """The profile a command uses: ``--calibration`` (a path or 'none'), else
    ``$GPUCOST_CALIBRATION``, else the default file if it exists."""
    choice = option if option is not None else os.environ.get("GPUCOST_CALIBRATION") or None
    if choice is not None:
        return None if choice.lower() == "none" else read_profile(choice)
    default = default_profile_path()
    return read_profile(default) if default.is_file() else None

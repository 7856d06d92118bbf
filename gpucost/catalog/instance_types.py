"""How an instance type with GPUs *attached* to a plain machine is spelled in offers.

GCP's n1 machines take GPUs as an attachment; an offer names the combination
``n1-standard-8+1xT4`` (machine type, ``+``, count, ``x``, canonical GPU name). The
provider adapter writes it and the launcher and exporters read it, here in one place.
Bundled-GPU types (a2-*, a3-*, g2-*, EC2 types) are plain machine type names.
"""

from __future__ import annotations

import re

_ATTACHED = re.compile(r"^(?P<machine>[a-z0-9-]+)\+(?P<count>\d+)x(?P<gpu>.+)$")


def attached_instance_type(machine: str, count: int, gpu: str) -> str:
    """``("n1-standard-8", 1, "T4")`` -> ``n1-standard-8+1xT4``."""
    return f"{machine}+{count}x{gpu}"


def split_instance_type(instance_type: str) -> tuple[str, int, str | None]:
    """``n1-standard-8+1xT4`` -> ``("n1-standard-8", 1, "T4")``; plain types -> ``(t, 0,
    None)``."""
    match = _ATTACHED.match(instance_type)
    if not match:
        return instance_type, 0, None
    return match["machine"], int(match["count"]), match["gpu"]

"""GCP spellings: instance types with attached GPUs and accelerator type names.

The plan spells an N1 machine with attached GPUs as ``n1-standard-8+1xT4`` (machine type,
``+``, count, ``x``, canonical GPU name); bundled-GPU types (a2-*, a3-*, g2-*) are plain
machine types whose GPUs come with the machine.

The GCE accelerator type of a canonical GPU is the **first** ``nvidia-*`` alias of that
GPU in ``gpucost/catalog/data/gpu_aliases.csv`` (file order): ``T4 -> nvidia-tesla-t4``,
``V100-16GB -> nvidia-tesla-v100``, ``A100-40GB -> nvidia-tesla-a100``, ``L4 ->
nvidia-l4``, ``H100 -> nvidia-h100-80gb``. Keep GCE's own name first in that file.
"""

from __future__ import annotations

import csv
import re
from functools import cache
from importlib import resources

from gpucost.errors import InputError

_ATTACHED = re.compile(r"^(?P<machine>[a-z0-9-]+)\+(?P<count>\d+)x(?P<gpu>.+)$")


def split_instance_type(instance_type: str) -> tuple[str, int, str | None]:
    """``n1-standard-8+1xT4`` -> ``("n1-standard-8", 1, "T4")``; plain types -> ``(t, 0,
    None)``."""
    match = _ATTACHED.match(instance_type)
    if not match:
        return instance_type, 0, None
    return match["machine"], int(match["count"]), match["gpu"]


@cache
def _nvidia_aliases() -> dict[str, str]:
    first: dict[str, str] = {}
    path = resources.files("gpucost.catalog").joinpath("data", "gpu_aliases.csv")
    with path.open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["alias"].startswith("nvidia-"):
                first.setdefault(row["gpu"], row["alias"])
    return first


def accelerator_type(gpu: str) -> str:
    """The GCE accelerator type name of canonical GPU ``gpu`` (e.g. ``nvidia-tesla-t4``)."""
    try:
        return _nvidia_aliases()[gpu]
    except KeyError:
        raise InputError("gpu_aliases.csv", gpu, "an nvidia-* alias naming its GCE "
                         "accelerator type") from None

"""GCP accelerator type names (instance types with attached GPUs are spelled by
:mod:`gpucost.catalog.instance_types`).

The GCE accelerator type of a canonical GPU is the **first** ``nvidia-*`` alias of that
GPU in ``gpucost/catalog/data/gpu_aliases.csv`` (file order): ``T4 -> nvidia-tesla-t4``,
``V100-16GB -> nvidia-tesla-v100``, ``A100-40GB -> nvidia-tesla-a100``, ``L4 ->
nvidia-l4``, ``H100 -> nvidia-h100-80gb``. Keep GCE's own name first in that file.
"""

from __future__ import annotations

from gpucost.catalog.gpus import aliases_of
from gpucost.errors import InputError


def accelerator_type(gpu: str) -> str:
    """The GCE accelerator type name of canonical GPU ``gpu`` (e.g. ``nvidia-tesla-t4``)."""
    names = [alias for alias in aliases_of(gpu) if alias.startswith("nvidia-")]
    if not names:
        raise InputError("gpu_aliases.csv", gpu, "an nvidia-* alias naming its GCE "
                         "accelerator type")
    return names[0]

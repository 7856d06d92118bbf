"""GPUs attached to n1 machine types (T4, V100, P100, P4) -> per-region candidates.

The accelerator types list says where each GPU is offered and how many cards one
instance takes (``maximum_cards_per_instance``). An n1 GPU instance is any n1 machine
type plus 1, 2, 4 or 8 cards, so we pick a few shapes with one rule:

* GPU counts: the powers of two up to ``maximum_cards_per_instance``;
* machine type: ``n1-standard-N`` with N the largest predefined size (1, 2, 4, ..., 96)
  that is <= min(8 x GPU count, GCP's vCPU limit for that GPU and count). That gives
  8 vCPUs per GPU up to 64 (e.g. ``n1-standard-8+1xT4``, ``n1-standard-64+8xV100-16GB``)
  and keeps 1 x V100 (limit 12 vCPUs) on n1-standard-8;
* memory: n1-standard has 3.75 GiB per vCPU, within every documented memory limit.

Limits (vCPUs per instance by GPU count) are the Compute Engine GPU docs' table for N1;
a GPU or count missing from it is not offered. The instance type string is
``<machine type>+<count>x<canonical GPU name>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gpucost.catalog.gpus import canonical_gpu
from gpucost.catalog.instance_types import attached_instance_type
from gpucost.providers.gcp.machines import (
    Candidate,
    aggregated_pages,
    region_of,
    usable_in_zones,
)
from gpucost.providers.gcp.pricing import Shape

N1_VCPU_LIMITS: dict[str, dict[int, int]] = {
    "nvidia-tesla-t4": {1: 48, 2: 48, 4: 96},
    "nvidia-tesla-v100": {1: 12, 2: 24, 4: 48, 8: 96},
    "nvidia-tesla-p100": {1: 16, 2: 32, 4: 64},
    "nvidia-tesla-p4": {1: 24, 2: 48, 4: 96},
}
ACCELERATOR_FILTER = f'name eq "({"|".join(N1_VCPU_LIMITS)})"'
N1_STANDARD_SIZES: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 96)
N1_STANDARD_GIB_PER_VCPU = 3.75
_VCPUS_PER_GPU = 8


def n1_shapes(accelerator: str, max_cards: int) -> list[tuple[str, Shape]]:
    """(instance type, shape) for each GPU count of the rule above."""
    limits = N1_VCPU_LIMITS.get(accelerator, {})
    gpu = canonical_gpu(accelerator)
    shapes = []
    for count in sorted(c for c in limits if c <= max_cards):
        ceiling = min(_VCPUS_PER_GPU * count, limits[count])
        vcpus = max(size for size in N1_STANDARD_SIZES if size <= ceiling)
        machine = f"n1-standard-{vcpus}"
        shape = Shape(family="n1", accelerator=accelerator, gpu_count=count, vcpus=vcpus,
                      memory_gib=vcpus * N1_STANDARD_GIB_PER_VCPU)
        shapes.append((attached_instance_type(machine, count, gpu), shape))
    return shapes


def attachable_candidates(pages: Iterable[Any]) -> list[Candidate]:
    """n1 candidates from aggregated accelerator type pages (``AcceleratorTypeAggregatedList``).

    A region's max cards is the largest any of its zones allows; a shape's zones are the
    zones allowing at least its GPU count.
    """
    cards: dict[tuple[str, str], dict[str, int]] = {}
    for zone, accelerator in usable_in_zones(pages, "accelerator_types"):
        if accelerator.name in N1_VCPU_LIMITS:
            per_zone = cards.setdefault((region_of(zone), accelerator.name), {})
            per_zone[zone] = int(accelerator.maximum_cards_per_instance)
    candidates = []
    for (region, accelerator), per_zone in sorted(cards.items()):
        for instance_type, shape in n1_shapes(accelerator, max(per_zone.values())):
            zones = tuple(sorted(z for z, n in per_zone.items() if n >= shape.gpu_count))
            candidates.append(Candidate(region, instance_type, shape, zones))
    return candidates


def list_accelerator_type_pages(credentials: Any, project: str, retry: Any = None,
                                timeout: float | None = None) -> list[Any]:
    """Every page of the project's aggregated accelerator type list (n1 GPUs only)."""
    return aggregated_pages("AcceleratorTypes", ACCELERATOR_FILTER, credentials, project,
                            retry, timeout)

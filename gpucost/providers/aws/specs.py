"""Instance types with GPUs (describe_instance_types) and where they are offered."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from gpucost.catalog.gpus import canonical_gpu

MIB_PER_GIB = 1024.0


@dataclass(frozen=True)
class InstanceSpec:
    """The hardware of one GPU instance type."""

    instance_type: str
    gpu: str
    gpu_count: int
    gpu_memory_gib: float
    vcpus: int
    memory_gib: float
    network_gbps: float | None = None
    efa: bool = False


def parse_gpu_info(instance: Mapping[str, Any]) -> InstanceSpec | None:
    """One ``InstanceTypes`` entry as an :class:`InstanceSpec`, or None without whole GPUs.

    Types without ``GpuInfo`` and fractional-GPU types (g6f/gr6f report ``Count: 0``
    with a ``GpuPartitionSize`` below 1) are not offers of whole GPUs and give None.
    """
    gpu_info = instance.get("GpuInfo") or {}
    gpus = gpu_info.get("Gpus") or []
    if not gpus:
        return None
    first = gpus[0]
    count = sum(int(g.get("Count") or 0) for g in gpus)
    memory_mib = (first.get("MemoryInfo") or {}).get("SizeInMiB")
    if count < 1 or not memory_mib or float(first.get("GpuPartitionSize", 1.0)) < 1.0:
        return None
    gpu_memory_gib = float(memory_mib) / MIB_PER_GIB
    return InstanceSpec(
        instance_type=str(instance["InstanceType"]),
        gpu=canonical_gpu(str(first.get("Name", "")), gpu_memory_gib),
        gpu_count=count,
        gpu_memory_gib=gpu_memory_gib,
        vcpus=int(instance["VCpuInfo"]["DefaultVCpus"]),
        memory_gib=float(instance["MemoryInfo"]["SizeInMiB"]) / MIB_PER_GIB,
        network_gbps=network_gbps(instance.get("NetworkInfo") or {}),
        efa=bool((instance.get("NetworkInfo") or {}).get("EfaSupported", False)),
    )


def network_gbps(info: Mapping[str, Any]) -> float | None:
    """Baseline bandwidth to other instances, Gbps: the sum over network cards of
    ``BaselineBandwidthInGbps``; where the headline ``NetworkPerformance`` is a fixed
    figure above that sum ("3200 Gigabit" on p6-b200 whose cards list less), the
    headline. "Up to N" burst figures are never used: they are not sustained.
    """
    cards = info.get("NetworkCards") or []
    total = sum(float(c.get("BaselineBandwidthInGbps") or 0) for c in cards)
    headline = str(info.get("NetworkPerformance") or "")
    match = re.fullmatch(r"(?:(\d+)x )?(\d+(?:\.\d+)?) Gigabit", headline.strip())
    if match:
        fixed = float(match[2]) * (int(match[1]) if match[1] else 1)
        total = max(total, fixed)
    return total or None


def parse_instance_type_pages(pages: Iterable[Mapping[str, Any]]) -> dict[str, InstanceSpec]:
    """GPU instance specs by type from ``describe_instance_types`` pages."""
    specs: dict[str, InstanceSpec] = {}
    for page in pages:
        for instance in page.get("InstanceTypes", []):
            spec = parse_gpu_info(instance)
            if spec is not None:
                specs[spec.instance_type] = spec
    return specs


def parse_offering_pages(pages: Iterable[Mapping[str, Any]]) -> set[str]:
    """Instance types named in ``describe_instance_type_offerings`` pages."""
    return {o["InstanceType"] for page in pages for o in page.get("InstanceTypeOfferings", [])}


def fetch_gpu_specs(ec2: Any) -> dict[str, InstanceSpec]:
    """All GPU instance types the region's EC2 endpoint describes."""
    paginator = ec2.get_paginator("describe_instance_types")
    return parse_instance_type_pages(paginator.paginate())


def fetch_offered_types(ec2: Any, region: str) -> set[str]:
    """Instance types offered in ``region`` (LocationType ``region``)."""
    paginator = ec2.get_paginator("describe_instance_type_offerings")
    pages = paginator.paginate(LocationType="region",
                               Filters=[{"Name": "location", "Values": [region]}])
    return parse_offering_pages(pages)


def fetch_region_gpu_specs(ec2: Any, region: str) -> dict[str, InstanceSpec]:
    """GPU instance specs of the types actually offered in ``region``."""
    specs = fetch_gpu_specs(ec2)
    offered = fetch_offered_types(ec2, region)
    return {name: spec for name, spec in specs.items() if name in offered}

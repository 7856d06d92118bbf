"""Azure GPU VM sizes: what each size carries (GPUs, vCPUs, memory, InfiniBand).

Two sources. Without credentials, ``vm_sizes.csv`` (next to this module): the GPU sizes
of the Azure size-series pages, one row per size with its source. With the optional extra
``gpucost[azure]``, ``AZURE_SUBSCRIPTION_ID`` and credentials ``DefaultAzureCredential``
can find, the Compute resource SKUs list (``azure-mgmt-compute``) overrides vCPUs, memory,
GPU count and RDMA for the sizes it lists; the GPU *model* still comes from the table
(resource SKUs give only a count), so a GPU size missing from the table is skipped and
logged. Azure SDK modules are imported inside :func:`list_resource_skus` only.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from gpucost.catalog.gpus import canonical_gpu
from gpucost.providers.base import GpuInstanceShape

log = logging.getLogger(__name__)

SUBSCRIPTION_ENV = "AZURE_SUBSCRIPTION_ID"
TABLE_SOURCE = "sizes table"
SKU_SOURCE = "resource SKUs"


@dataclass(frozen=True)
class VmSize(GpuInstanceShape):
    """One GPU VM size. ``rdma`` None: the sizes table's interconnect row decides."""

    rdma: bool | None = None
    source: str = TABLE_SOURCE


@cache
def table_sizes() -> dict[str, VmSize]:
    """The shipped sizes table by ARM SKU name (GPU names through the alias table)."""
    path = resources.files("gpucost.providers.azure").joinpath("vm_sizes.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    sizes = {}
    for row in rows:
        memory = float(row["gpu_memory_gib"])
        sizes[row["arm_sku_name"]] = VmSize(
            name=row["arm_sku_name"], gpu=canonical_gpu(row["gpu"], memory),
            gpu_count=int(row["gpu_count"]), gpu_memory_gib=memory,
            vcpus=int(row["vcpus"]), memory_gib=float(row["memory_gib"]))
    return sizes


def _capabilities(sku: Any) -> dict[str, str]:
    return {str(c.name): str(c.value) for c in (sku.capabilities or [])
            if c.name is not None and c.value is not None}


def sizes_from_resource_skus(skus: Iterable[Any],
                             table: dict[str, VmSize] | None = None) -> dict[str, VmSize]:
    """GPU sizes from resource SKU objects (``azure.mgmt.compute.models.ResourceSku``).

    Keeps ``virtualMachines`` SKUs with ``GPUs`` >= 1 whose GPU model the table knows;
    vCPUs (``vCPUs``), memory (``MemoryGB``, GiB in fact), GPU count and RDMA
    (``RdmaEnabled``) come from the SKU. Sizes without a table row are logged.
    """
    table = table_sizes() if table is None else table
    found: dict[str, VmSize] = {}
    unknown: set[str] = set()
    for sku in skus:
        if sku.resource_type != "virtualMachines" or not sku.name:
            continue
        caps = _capabilities(sku)
        try:
            gpus = int(float(caps.get("GPUs", "0")))
        except ValueError:
            continue
        if gpus < 1:
            continue
        known = table.get(sku.name)
        if known is None:
            unknown.add(sku.name)
            continue
        try:
            vcpus = int(float(caps.get("vCPUs", known.vcpus)))
            memory = float(caps.get("MemoryGB", known.memory_gib))
        except ValueError:
            vcpus, memory = known.vcpus, known.memory_gib
        rdma = caps.get("RdmaEnabled", "").lower() == "true" or None
        found[sku.name] = replace(known, gpu_count=gpus, vcpus=vcpus, memory_gib=memory,
                                  rdma=rdma, source=SKU_SOURCE)
    if unknown:
        log.info("azure: %d GPU size(s) without a GPU model in vm_sizes.csv skipped: %s",
                 len(unknown), ", ".join(sorted(unknown)))
    return found


def list_resource_skus(subscription_id: str, credential: Any = None) -> list[Any]:
    """Every Compute resource SKU of the subscription (needs ``gpucost[azure]``)."""
    from azure.mgmt.compute import ComputeManagementClient

    if credential is None:
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential()
    client = ComputeManagementClient(credential, subscription_id)
    return list(client.resource_skus.list())


def resolve_sizes(subscription_id: str | None = None, credential: Any = None) -> \
        tuple[dict[str, VmSize], str]:
    """(sizes, where they came from): resource SKUs when possible, else the table.

    Falls back to the table, with one log line saying why, when the Azure extra is not
    installed, no subscription is set, or the SKU listing fails.
    """
    subscription_id = subscription_id or os.environ.get(SUBSCRIPTION_ENV)
    if not subscription_id:
        return dict(table_sizes()), TABLE_SOURCE
    try:
        skus = list_resource_skus(subscription_id, credential)
    except ImportError:
        log.info("azure: gpucost[azure] not installed; VM sizes from the sizes table")
        return dict(table_sizes()), TABLE_SOURCE
    except Exception as exc:  # no credentials, denied, network: the table still works
        reason = " ".join(str(exc).split())[:200]
        log.warning("azure: resource SKUs unavailable (%s: %s); VM sizes from the sizes "
                    "table", type(exc).__name__, reason)
        return dict(table_sizes()), TABLE_SOURCE
    sizes = sizes_from_resource_skus(skus)
    if not sizes:
        return dict(table_sizes()), TABLE_SOURCE
    return sizes, SKU_SOURCE

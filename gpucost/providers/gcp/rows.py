"""Priced candidates -> offer rows of the schema (pure).

``gpu`` is the canonical name (:func:`gpucost.catalog.gpus.canonical_gpu`); its memory
comes from the spec table, or for GPUs the table lacks, from :data:`EXTRA_GPU_MEMORY_GIB`
or a ``-<N>gb`` suffix of the accelerator name. A candidate whose GPU memory is unknown
or whose price has a missing SKU is skipped and named in the returned list.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Any

from gpucost.catalog.gpus import canonical_gpu, gpu_specs
from gpucost.providers.gcp.machines import Candidate
from gpucost.providers.gcp.pricing import MissingSku, PriceBook, instance_price, usd_per_hour

SOURCE = "gcp cloud billing catalog"
PRICING_MODELS: tuple[str, ...] = ("on_demand", "spot")
# GCP accelerators absent from gpu_specs.csv (GCP GPU docs: P100 16 GB HBM2, P4 8 GB).
EXTRA_GPU_MEMORY_GIB: dict[str, float] = {"nvidia-tesla-p100": 16.0, "nvidia-tesla-p4": 8.0}
_MEMORY_SUFFIX = re.compile(r"-(\d+)gb$")


def gpu_of(accelerator: str) -> tuple[str, float | None]:
    """(canonical GPU name, memory per GPU in GiB or None if unknown) of an accelerator."""
    gpu = canonical_gpu(accelerator)
    spec = gpu_specs().get(gpu)
    if spec is not None:
        return gpu, spec.memory_gib
    if accelerator in EXTRA_GPU_MEMORY_GIB:
        return gpu, EXTRA_GPU_MEMORY_GIB[accelerator]
    match = _MEMORY_SUFFIX.search(accelerator)
    return gpu, float(match[1]) if match else None


def offer_rows(candidates: Iterable[Candidate], book: PriceBook,
               as_of: dt.date) -> tuple[list[dict[str, Any]], list[str]]:
    """(rows, skipped): one row per candidate and pricing model that has every SKU."""
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for candidate in candidates:
        shape = candidate.shape
        gpu, memory = gpu_of(shape.accelerator)
        if memory is None:
            skipped.append(f"{candidate.instance_type}: unknown memory of GPU {gpu!r}")
            continue
        for pricing in PRICING_MODELS:
            try:
                price = instance_price(book, candidate.region, pricing, shape)
            except MissingSku as exc:
                skipped.append(f"{candidate.instance_type} {pricing}: {exc}")
                continue
            rows.append({
                "provider": "gcp",
                "region": candidate.region,
                "zone": ",".join(candidate.zones),
                "instance_type": candidate.instance_type,
                "gpu": gpu,
                "gpu_count": shape.gpu_count,
                "gpu_memory_gib": memory,
                "vcpus": shape.vcpus,
                "memory_gib": shape.memory_gib,
                "network_gbps": None, "rdma": False, "gpu_link": "",  # from the table
                "pricing": pricing,
                "usd_per_hour": usd_per_hour(price),
                "as_of": as_of.isoformat(),
                "source": SOURCE,
                "stale": False,
            })
    return rows, skipped

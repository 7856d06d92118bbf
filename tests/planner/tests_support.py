"""Small catalogs built in memory, and an independent re-derivation of throughput."""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd

from gpucost.catalog.gpus import gpu_specs
from gpucost.catalog.schema import coerce_offers
from gpucost.catalog.snapshot import QUOTA_COLUMNS, Catalog
from gpucost.job.spec import Assumptions

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


def offer(instance_type: str, gpu: str, gpu_count: int, price: float, *,
          provider: str = "aws", region: str = "us-east-1", pricing: str = "on_demand",
          memory: float | None = None, vcpus: int = 8) -> dict:
    return {"provider": provider, "region": region, "zone": "", "instance_type": instance_type,
            "gpu": gpu, "gpu_count": gpu_count,
            "gpu_memory_gib": memory or gpu_specs()[gpu].memory_gib, "vcpus": vcpus,
            "memory_gib": 64, "pricing": pricing, "usd_per_hour": price,
            "as_of": "2026-11-20", "source": "test", "stale": False}


def catalog(rows: list[dict], quotas: list[dict] | None = None) -> Catalog:
    offers = coerce_offers(pd.DataFrame(rows), "test")
    return Catalog(offers=offers, files=[],
                   quotas=pd.DataFrame(quotas or [], columns=QUOTA_COLUMNS))


def instance_rate(row: dict, mfu: float, precision: str, assumptions: Assumptions) -> float:
    """FLOP/hour of one instance, derived here independently of the planner."""
    spec = gpu_specs()[row["gpu"]]
    tflops = spec.tflops.get(precision) or spec.tflops.get("fp16") or spec.tflops["fp32"]
    spot = 1 + assumptions.spot_overhead if row["pricing"] == "spot" else 1.0
    return row["gpu_count"] * tflops * 1e12 * 3600 * mfu / spot


def efficiency(n: int, assumptions: Assumptions) -> float:
    return max(assumptions.scaling_floor,
               1 - assumptions.scaling_loss_per_doubling * math.log2(max(n, 1)))



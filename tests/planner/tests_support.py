"""Small catalogs built in memory, and an independent re-derivation of throughput."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gpucost.catalog.gpus import gpu_specs
from gpucost.catalog.schema import coerce_offers
from gpucost.catalog.snapshot import QUOTA_COLUMNS, Catalog
from gpucost.job.spec import Assumptions
from gpucost.performance import estimate

NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC)


def offer(instance_type: str, gpu: str, gpu_count: int, price: float, *,
          provider: str = "aws", region: str = "us-east-1", pricing: str = "on_demand",
          memory: float | None = None, vcpus: int = 8, network_gbps: float = 400.0,
          rdma: bool = True, gpu_link: str | None = None) -> dict:
    return {"provider": provider, "region": region, "zone": "", "instance_type": instance_type,
            "gpu": gpu, "gpu_count": gpu_count,
            "gpu_memory_gib": memory or gpu_specs()[gpu].memory_gib, "vcpus": vcpus,
            "memory_gib": 64, "network_gbps": network_gbps, "rdma": rdma,
            "gpu_link": gpu_link if gpu_link is not None else ("nvswitch" if gpu_count > 1
                                                               else ""),
            "pricing": pricing, "usd_per_hour": price,
            "as_of": "2026-11-20", "source": "test", "stale": False}


def catalog(rows: list[dict], quotas: list[dict] | None = None) -> Catalog:
    offers = coerce_offers(pd.DataFrame(rows), "test")
    return Catalog(offers=offers, files=[],
                   quotas=pd.DataFrame(quotas or [], columns=QUOTA_COLUMNS))


def cluster_hours(row: dict, run, n: int, assumptions: Assumptions) -> float | None:
    """Wall hours of ``run`` on ``n`` instances of ``row`` (None if no layout fits), from
    the performance model's one-offer interface: the brute force checks the solvers'
    search against enumeration, the model has tests of its own."""
    est = estimate(run, row, n, assumptions)
    return est.hours if est.fits else None


def instance_rate(row: dict, run, assumptions: Assumptions) -> float | None:
    """FLOP/hour of one instance working alone (divisible work), None if it cannot hold
    the model."""
    hours = cluster_hours(row, run, 1, assumptions)
    return None if hours is None else run.flops / (hours - assumptions.startup_hours)




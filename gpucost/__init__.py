"""gpucost: the cheapest way to run a training job by its deadline.

The Python API is what the CLI calls (the CLI is a thin layer over it)::

    import gpucost

    offers = gpucost.load_offers()                       # DataFrame, schema in catalog.schema
    job = gpucost.load_job("examples/llama-7b.yaml")
    plan = gpucost.plan_job(job, gpucost.load_catalog())  # Plan; plan.to_dict() / to_json()
    curve = gpucost.frontier(job, gpucost.load_catalog())

Names are imported on first use, so ``import gpucost`` stays cheap. README.md, section
"Python API", lists every public name in one place.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_API = {
    "load_offers": "gpucost.catalog.snapshot",
    "load_catalog": "gpucost.catalog.snapshot",
    "filter_offers": "gpucost.catalog.query",
    "OfferFilter": "gpucost.catalog.query",
    "with_cost_columns": "gpucost.catalog.query",
    "sort_by": "gpucost.catalog.query",
    "gpu_specs": "gpucost.catalog.gpus",
    "resolve_gpu": "gpucost.catalog.gpus",
    "load_job": "gpucost.job.parse",
    "parse_job": "gpucost.job.parse",
    "plan_job": "gpucost.planner.planner",
    "frontier": "gpucost.planner.frontier",
    "estimate": "gpucost.planner.cluster",
    "use_profile": "gpucost.performance.user_calibration",
    "refresh": "gpucost.refresh.run",
    "shard_indices": "gpucost.shards",
    "work_range": "gpucost.shards",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'gpucost' has no attribute {name!r}")

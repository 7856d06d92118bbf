"""Catalog: the offer schema, the GPU spec/alias tables and pricing snapshots on disk."""

from gpucost.catalog.gpus import GpuSpec, canonical_gpu, gpu_specs, resolve_gpu
from gpucost.catalog.schema import OFFER_COLUMNS, coerce_offers, empty_offers
from gpucost.catalog.snapshot import Catalog, load_catalog, load_offers

__all__ = [
    "OFFER_COLUMNS", "Catalog", "GpuSpec", "canonical_gpu", "coerce_offers", "empty_offers",
    "gpu_specs", "load_catalog", "load_offers", "resolve_gpu",
]

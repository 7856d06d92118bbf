"""The one interface every provider adapter implements.

An adapter turns a cloud's APIs into rows of the offer schema
(:mod:`gpucost.catalog.schema`) with canonical GPU names (:func:`gpucost.catalog.gpus.
canonical_gpu`). It never writes files and never prints: the refresh command does both.
Cloud SDKs are imported inside the adapter's functions, never at module import, so that
``gpucost plan`` does not pay for them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import pandas as pd

from gpucost.errors import GpucostError

# Called once per region as it finishes: (region, None) on success, (region, reason) on failure.
ProgressCallback = Callable[[str, str | None], None]


class ProviderUnavailable(GpucostError):
    """The provider cannot be reached at all (no credentials, no project): one clear line."""


@dataclass(frozen=True)
class GpuInstanceShape:
    """The hardware of one GPU instance type as an adapter reads it (GPU canonical)."""

    name: str
    gpu: str
    gpu_count: int
    gpu_memory_gib: float
    vcpus: int
    memory_gib: float


@dataclass
class FetchResult:
    """What one provider fetch produced.

    ``offers`` holds the regions that succeeded; ``failed_regions`` maps each region that
    failed to a one-line reason (never containing credentials). ``quotas`` follows
    :data:`gpucost.catalog.snapshot.QUOTA_COLUMNS` (empty when the provider has none).
    """

    offers: pd.DataFrame
    failed_regions: dict[str, str] = field(default_factory=dict)
    quotas: pd.DataFrame | None = None
    # Spot interruption bands per pool (gpucost.catalog.interruptions), None if not read.
    interruptions: pd.DataFrame | None = None
    # AWS Capacity Block offerings (providers.aws.capacity_blocks), None if not asked for.
    capacity_blocks: pd.DataFrame | None = None
    # AWS spot placement scores (providers.aws.placement_scores), None if not asked for.
    placement_scores: pd.DataFrame | None = None


class Provider(Protocol):
    """A cloud's price and spec fetcher."""

    name: str

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        """Fetch GPU offers for ``regions`` (None: all regions the account can use).

        Raises :class:`ProviderUnavailable` when nothing can be fetched at all (missing
        credentials); failures of single regions go into ``FetchResult.failed_regions``.
        """
        ...

"""A provider implementing gpucost's own Provider interface from a fixed table.

It stands in for a cloud at the registry boundary (our interface, not a cloud SDK), so
the refresh orchestration can be tested for failures the real adapters report the same
way. The adapters themselves are tested against moto/Stubber and `responses`.
"""

from __future__ import annotations

import pandas as pd

from gpucost.catalog.schema import coerce_offers
from gpucost.providers.base import FetchResult, ProgressCallback, ProviderUnavailable

TABLE: dict[str, pd.DataFrame] = {}
FAIL_REGIONS: dict[str, str] = {}
UNAVAILABLE: list[str] = []


class StaticProvider:
    name = "static"

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        if UNAVAILABLE:
            raise ProviderUnavailable(UNAVAILABLE[0])
        offers = TABLE["offers"]
        wanted = regions or sorted(set(offers["region"]) | set(FAIL_REGIONS))
        ok = offers[offers["region"].isin([r for r in wanted if r not in FAIL_REGIONS])]
        for region in wanted:
            if progress:
                progress(region, FAIL_REGIONS.get(region))
        return FetchResult(coerce_offers(ok, "static"),
                           {r: FAIL_REGIONS[r] for r in wanted if r in FAIL_REGIONS})


class OtherProvider(StaticProvider):
    """The same table under another provider name (for refreshes of two providers)."""

    name = "other"

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        result = super().fetch(regions, progress)
        offers = result.offers.assign(provider=self.name)
        return FetchResult(offers, result.failed_regions)

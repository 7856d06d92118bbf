"""The Azure adapter: Retail Prices API (prices) + VM sizes (hardware) -> offers.

With ``regions`` given, one paged query per region (``serviceName eq 'Virtual Machines'
and armRegionName eq '<region>'``), so a region that fails keeps its previous rows. With
none, one query per known GPU size (``... and armSkuName eq '<size>'``) across all
regions. Either way the rest (Consumption only, Linux, hourly, spot vs on-demand, GPU
sizes) is filtered client-side. Billing is per minute for Azure VMs; the hourly retail
price is what is stored.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import pandas as pd

from gpucost.catalog.interconnect import fill_interconnect
from gpucost.catalog.schema import OFFER_COLUMNS, coerce_offers, empty_offers
from gpucost.providers.azure.items import RetailPrice, linux_prices
from gpucost.providers.azure.retail import RetailPricesError, iter_items, odata_filter
from gpucost.providers.azure.sizes import VmSize, resolve_sizes
from gpucost.providers.base import FetchResult, ProgressCallback, ProviderUnavailable
from gpucost.providers.sanity import drop_implausible_spot

log = logging.getLogger(__name__)

SOURCE = "azure retail prices api"


def offer_rows(prices: list[RetailPrice], sizes: dict[str, VmSize],
               as_of: dt.date) -> list[dict[str, Any]]:
    """Schema rows for priced sizes (pure)."""
    rows = []
    for price in prices:
        size = sizes[price.arm_sku_name]
        rows.append({
            "provider": "azure", "region": price.region, "zone": "",
            "instance_type": size.name, "gpu": size.gpu, "gpu_count": size.gpu_count,
            "gpu_memory_gib": size.gpu_memory_gib, "vcpus": size.vcpus,
            "memory_gib": size.memory_gib,
            # network and GPU link from interconnect.csv; RDMA from resource SKUs if known
            "network_gbps": None, "rdma": bool(size.rdma), "gpu_link": "",
            "pricing": price.pricing, "usd_per_hour": price.usd_per_hour,
            "as_of": as_of.isoformat(), "source": f"{SOURCE} ({size.source})",
            "stale": False,
        })
    return rows


class AzureProvider:
    """Azure GPU VM offers priced from the public Retail Prices API."""

    name = "azure"

    def __init__(self, prices_url: str | None = None, subscription_id: str | None = None,
                 credential: Any = None, session: Any = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.prices_url = prices_url
        self.subscription_id = subscription_id
        self.credential = credential
        self.session = session
        self.sleep = sleep

    def _items(self, filter_: str) -> list[dict[str, Any]]:
        return list(iter_items(filter_, base_url=self.prices_url, session=self.session,
                               sleep=self.sleep))

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        sizes, _ = resolve_sizes(self.subscription_id, self.credential)
        report = progress or (lambda region, reason: None)
        today = dt.datetime.now(dt.UTC).date()
        prices: list[RetailPrice] = []
        failed: dict[str, str] = {}
        if regions:
            for region in dict.fromkeys(regions):
                try:
                    items = self._items(odata_filter(serviceName="Virtual Machines",
                                                     armRegionName=region))
                except RetailPricesError as exc:
                    failed[region] = str(exc)
                    report(region, str(exc))
                    continue
                found = linux_prices(items, sizes, [region])
                reason = None if found else "no Linux prices for GPU VM sizes in this region"
                if reason:
                    failed[region] = reason
                prices.extend(found)
                report(region, reason)
        else:
            items = []
            for size in sorted(sizes):
                try:
                    items.extend(self._items(odata_filter(serviceName="Virtual Machines",
                                                          armSkuName=size)))
                except RetailPricesError as exc:
                    raise ProviderUnavailable(str(exc)) from None
            prices = linux_prices(items, sizes)
            for region in sorted({p.region for p in prices}):
                report(region, None)
        rows = offer_rows(prices, sizes, today)
        if not rows:
            return FetchResult(empty_offers(), failed, None)
        frame = drop_implausible_spot(pd.DataFrame(rows, columns=list(OFFER_COLUMNS)))
        offers = fill_interconnect(coerce_offers(frame, "azure")) if len(frame) else \
            empty_offers()
        return FetchResult(offers, failed, None)

"""Retail Prices API items -> Linux hourly prices of GPU VM sizes (pure).

One item is one meter: ``{"armSkuName": "Standard_ND96isr_H100_v5", "armRegionName":
"eastus", "retailPrice": 98.32, "unitOfMeasure": "1 Hour", "type": "Consumption",
"skuName": "ND96isr H100 v5 Spot", "productName": "Virtual Machines NDSH100v5 Series",
...}``. Kept: Virtual Machines ``Consumption`` meters in USD billed per ``1 Hour``, not
Windows, not Low Priority. ``Spot`` in the SKU or meter name (or a meter of type ``Spot``,
which some API versions use) makes a spot price; the rest is on-demand. Dropped:
``Reservation`` and ``DevTestConsumption`` meters, savings plans,
Windows products, Low Priority (the retired batch tier), other units, sizes we do not know
as GPU sizes, and regions not asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

SERVICE_NAME = "Virtual Machines"
# unitOfMeasure of a price per hour ("1 Hour"; spelling variants seen in mirrors).
_HOURLY = ("1hour", "1hours", "1/hour", "hour")


@dataclass(frozen=True)
class RetailPrice:
    """The price of one VM size in one region under one pricing model."""

    region: str
    arm_sku_name: str
    pricing: str  # "on_demand" | "spot"
    usd_per_hour: float


def _text(item: Mapping[str, Any], key: str) -> str:
    value = item.get(key)
    return value.strip() if isinstance(value, str) else ""


def pricing_of(item: Mapping[str, Any]) -> str | None:
    """``on_demand``, ``spot``, or None for an item that is not a Linux hourly VM price."""
    names = f"{_text(item, 'skuName')} {_text(item, 'meterName')}".lower()
    kind = _text(item, "type")
    if (_text(item, "serviceName") != SERVICE_NAME
            or kind not in ("Consumption", "Spot")
            or _text(item, "unitOfMeasure").replace(" ", "").lower() not in _HOURLY
            or _text(item, "currencyCode").upper() not in ("", "USD")
            or "windows" in f"{_text(item, 'productName')} {names}".lower()
            or "low priority" in names):
        return None
    return "spot" if kind == "Spot" or "spot" in names.split() else "on_demand"


def linux_prices(items: Iterable[Mapping[str, Any]], sizes: Iterable[str],
                 regions: Iterable[str] | None = None) -> list[RetailPrice]:
    """The Linux hourly prices of ``sizes`` (ARM SKU names) in ``regions`` (None: all).

    When the API lists one (region, size, pricing) more than once (two meters), the lower
    price is kept. An unparseable price is skipped; a zero or negative spot price is kept
    so that :func:`gpucost.providers.sanity.drop_implausible_spot` names it, while such an
    on-demand price is skipped with a log line.
    """
    wanted = set(sizes)
    region_set = set(regions) if regions is not None else None
    best: dict[tuple[str, str, str], float] = {}
    for item in items:
        size = _text(item, "armSkuName")
        region = _text(item, "armRegionName")
        if size not in wanted or (region_set is not None and region not in region_set):
            continue
        pricing = pricing_of(item)
        if pricing is None:
            continue
        try:
            price = float(item.get("retailPrice", item.get("unitPrice")))
        except (TypeError, ValueError):
            log.warning("azure %s %s: unreadable price %r skipped", region, size,
                        item.get("retailPrice"))
            continue
        if pricing == "on_demand" and price <= 0:
            log.warning("azure %s %s: on-demand price %g skipped", region, size, price)
            continue
        key = (region, size, pricing)
        if key not in best or price < best[key]:
            best[key] = price
    return [RetailPrice(region, size, pricing, price)
            for (region, size, pricing), price in sorted(best.items())]

"""On-demand prices from the AWS Price List Query API (``pricing`` get_products).

One query per instance type covers every region: the product attributes carry the
``regionCode``, so N types cost N paginated calls instead of N x regions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

SERVICE_CODE = "AmazonEC2"
# Shared-tenancy Linux without pre-installed software, billed as used (not reservations).
FIXED_TERMS: dict[str, str] = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
    "locationType": "AWS Region",
}


@dataclass(frozen=True)
class OnDemandPrice:
    """The hourly on-demand price of one instance type in one region."""

    region: str
    instance_type: str
    usd_per_hour: float


def price_filters(instance_type: str, region: str | None = None) -> list[dict[str, str]]:
    """get_products ``Filters``: TERM_MATCH on the instance type and the fixed terms."""
    terms = {"instanceType": instance_type, **FIXED_TERMS}
    if region is not None:
        terms["regionCode"] = region
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in terms.items()]


def _hourly_usd(terms: Mapping[str, Any]) -> list[float]:
    prices = []
    for term in (terms.get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if usd is None or dimension.get("unit", "Hrs") not in ("Hrs", "Hours"):
                continue
            try:
                value = float(usd)
            except ValueError:
                continue
            if value > 0:
                prices.append(value)
    return prices


def parse_price_list_item(json_text: str) -> OnDemandPrice | None:
    """One ``PriceList`` entry (a JSON string) as its on-demand price.

    None when the item has no positive hourly USD price (no OnDemand term, a missing
    ``USD`` key, a 0.00 placeholder). Several OnDemand terms or dimensions: the lowest
    positive hourly price wins.
    """
    item = json.loads(json_text)
    attributes = (item.get("product") or {}).get("attributes") or {}
    instance_type = attributes.get("instanceType")
    region = attributes.get("regionCode")
    prices = _hourly_usd(item.get("terms") or {})
    if not instance_type or not region or not prices:
        return None
    return OnDemandPrice(region=region, instance_type=instance_type, usd_per_hour=min(prices))


def parse_price_list(items: Iterable[str]) -> dict[tuple[str, str], float]:
    """Prices keyed by (region, instance_type); duplicates keep the lowest."""
    prices: dict[tuple[str, str], float] = {}
    for text in items:
        parsed = parse_price_list_item(text)
        if parsed is None:
            continue
        key = (parsed.region, parsed.instance_type)
        prices[key] = min(parsed.usd_per_hour, prices.get(key, parsed.usd_per_hour))
    return prices


def fetch_on_demand_prices(pricing: Any, instance_type: str,
                           region: str | None = None) -> dict[tuple[str, str], float]:
    """On-demand prices of ``instance_type`` in every region (or just ``region``)."""
    paginator = pricing.get_paginator("get_products")
    pages = paginator.paginate(ServiceCode=SERVICE_CODE, FormatVersion="aws_v1",
                               Filters=price_filters(instance_type, region))
    return parse_price_list(text for page in pages for text in page.get("PriceList", []))

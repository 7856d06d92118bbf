"""Spot prices from ``describe_spot_price_history``: the latest price per zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

PRODUCT_DESCRIPTION = "Linux/UNIX"
# Instance types per request: keeps the query string well under AWS's limits.
TYPES_PER_CALL = 50


@dataclass(frozen=True)
class SpotPrice:
    """The spot price of one instance type in its cheapest zone of a region."""

    instance_type: str
    zone: str
    usd_per_hour: float


def latest_spot_per_zone(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], float]:
    """The most recent price per (instance_type, zone) from SpotPriceHistory records."""
    latest: dict[tuple[str, str], tuple[dt.datetime, float]] = {}
    for record in records:
        key = (str(record["InstanceType"]), str(record["AvailabilityZone"]))
        stamp = record["Timestamp"]
        price = float(record["SpotPrice"])
        if key not in latest or stamp > latest[key][0]:
            latest[key] = (stamp, price)
    return {key: price for key, (_, price) in latest.items()}


def cheapest_zone(per_zone: Mapping[tuple[str, str], float]) -> dict[str, SpotPrice]:
    """Per instance type, the zone with the lowest positive price (ties: first zone name)."""
    best: dict[str, SpotPrice] = {}
    for (instance_type, zone), price in sorted(per_zone.items()):
        if price <= 0:
            continue
        current = best.get(instance_type)
        if current is None or price < current.usd_per_hour:
            best[instance_type] = SpotPrice(instance_type, zone, price)
    return best


def fetch_spot_prices(ec2: Any, instance_types: Iterable[str],
                      now: dt.datetime | None = None) -> dict[str, SpotPrice]:
    """Current Linux spot price of each type in its cheapest zone of the client's region.

    With ``StartTime=now`` AWS returns the price in effect now for every zone.
    """
    now = now or dt.datetime.now(dt.UTC)
    names = sorted(set(instance_types))
    paginator = ec2.get_paginator("describe_spot_price_history")
    records: list[Mapping[str, Any]] = []
    for start in range(0, len(names), TYPES_PER_CALL):
        pages = paginator.paginate(InstanceTypes=names[start:start + TYPES_PER_CALL],
                                   ProductDescriptions=[PRODUCT_DESCRIPTION], StartTime=now)
        for page in pages:
            records.extend(page.get("SpotPriceHistory", []))
    return cheapest_zone(latest_spot_per_zone(records))

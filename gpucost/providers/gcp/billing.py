"""Cloud Billing Catalog: Compute Engine SKUs -> a price book of unit prices.

``list_skus`` is the only function that talks to the API (``billing_v1`` imported
lazily); everything else is pure and takes SKU objects shaped like ``billing_v1.Sku``
(attribute access: ``description``, ``category.resource_family``, ...).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from gpucost.providers.gcp.pricing import USAGE_TYPES, PriceBook

log = logging.getLogger(__name__)

# Compute Engine's service id in the Cloud Billing Catalog.
COMPUTE_SERVICE = "services/6F81-5844-456A"

# "[Spot Preemptible ]<stem> <Core|Ram|GPU>[ attached to Spot Preemptible VMs] running in
# <location>". Anything else (commitments, "Custom", "Virtual Workstation", DWS or
# reservation SKUs, locations with parentheses or digits) does not match.
_DESCRIPTION = re.compile(
    r"^(?P<spot_prefix>(?:spot )?preemptible )?(?P<stem>\S.*?) (?P<kind>core|ram|gpu)"
    r"(?P<spot_suffix> attached to spot preemptible vms)? running in (?P<location>[^()\d:]+)$",
    re.IGNORECASE,
)

# The usage unit each kind of SKU must be billed in for the price sum to make sense.
_UNITS: dict[str, str] = {"gpu": "h", "core": "h", "ram": "GiBy.h"}


@dataclass(frozen=True)
class ParsedDescription:
    """What a SKU description says: which part it prices and whether it is spot."""

    stem: str  # lower case: "a2 instance", "nvidia tesla a100", "n1 predefined instance"
    kind: str  # "gpu", "core" or "ram"
    spot: bool
    location: str


def parse_description(description: str) -> ParsedDescription | None:
    """Parse a Compute Engine SKU description; ``None`` if it is not a plain unit price.

    >>> parse_description("Spot Preemptible A2 Instance Core running in Americas").stem
    'a2 instance'
    """
    match = _DESCRIPTION.match(" ".join(description.split()))
    if match is None:
        return None
    return ParsedDescription(
        stem=match["stem"].lower(),
        kind=match["kind"].lower(),
        spot=bool(match["spot_prefix"] or match["spot_suffix"]),
        location=match["location"].strip(),
    )


def money_to_decimal(units: int | str, nanos: int) -> Decimal:
    """A ``google.type.Money`` amount (units + nanos) as an exact Decimal."""
    return Decimal(int(units)) + Decimal(int(nanos)).scaleb(-9)


def sku_unit_price(sku: Any) -> tuple[Decimal, str] | None:
    """(USD per usage unit, usage unit) of the SKU's last tier; None if not USD."""
    if not sku.pricing_info:
        return None
    expression = sku.pricing_info[0].pricing_expression
    if not expression.tiered_rates:
        return None
    money = expression.tiered_rates[-1].unit_price
    if money.currency_code and money.currency_code != "USD":
        return None
    return money_to_decimal(money.units, money.nanos), expression.usage_unit


def build_price_book(skus: Iterable[Any]) -> PriceBook:
    """Index Compute SKUs by (region, pricing, kind, stem).

    Keeps SKUs of resource family "Compute" and usage type OnDemand/Preemptible whose
    description parses, whose spot marker agrees with the usage type, whose GPU SKUs
    sit in resource group "GPU" and whose unit fits the kind. When two SKUs price the
    same key, the one covering fewer regions (the more specific) wins.
    """
    book: PriceBook = {}
    breadth: dict[tuple[str, str, str, str], int] = {}
    for sku in skus:
        category = sku.category
        pricing = USAGE_TYPES.get(category.usage_type)
        if category.resource_family != "Compute" or pricing is None:
            continue
        parsed = parse_description(sku.description)
        if parsed is None or parsed.spot != (pricing == "spot"):
            continue
        if parsed.kind == "gpu" and category.resource_group != "GPU":
            continue
        unit_price = sku_unit_price(sku)
        if unit_price is None or unit_price[1] != _UNITS[parsed.kind] or unit_price[0] <= 0:
            log.info("gcp: ignoring SKU %s (%s): unexpected price or unit", sku.sku_id,
                     sku.description)
            continue
        regions = list(sku.service_regions)
        for region in regions:
            key = (region, pricing, parsed.kind, parsed.stem)
            if key not in book or len(regions) < breadth[key]:
                book[key] = unit_price[0]
                breadth[key] = len(regions)
    return book


def list_skus(credentials: Any, retry: Any = None, timeout: float | None = None) -> list[Any]:
    """All Compute Engine SKUs, priced in USD (follows every page)."""
    from google.cloud import billing_v1

    client = billing_v1.CloudCatalogClient(transport="rest", credentials=credentials)
    request = billing_v1.ListSkusRequest(parent=COMPUTE_SERVICE, currency_code="USD",
                                         page_size=5000)
    return list(client.list_skus(request=request, retry=retry, timeout=timeout))

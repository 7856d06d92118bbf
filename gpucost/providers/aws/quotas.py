"""vCPU quotas of the GPU instance classes from Service Quotas (QUOTA_COLUMNS rows)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gpucost.providers.aws.clients import aws_errors, error_reason

logger = logging.getLogger(__name__)

SOURCE = "aws service quotas"


@dataclass(frozen=True)
class QuotaDef:
    """One EC2 quota that limits GPU instances, in vCPUs per region."""

    code: str
    pricing: str
    name: str
    families: str  # instance-type letter prefixes sharing the limit, space-separated


# Codes as listed by ``aws service-quotas list-service-quotas --service-code ec2``.
GPU_QUOTAS: tuple[QuotaDef, ...] = (
    QuotaDef("L-417A185B", "on_demand", "Running On-Demand P instances", "p"),
    QuotaDef("L-DB2E81BA", "on_demand", "Running On-Demand G and VT instances", "g gr vt"),
    QuotaDef("L-7212CCBC", "spot", "All P Spot Instance Requests", "p"),
    QuotaDef("L-3819A6DF", "spot", "All G and VT Spot Instance Requests", "g gr vt"),
)


def parse_service_quota(response: Mapping[str, Any], quota: QuotaDef, region: str,
                        as_of: str) -> dict[str, Any] | None:
    """A ``get_service_quota`` response as one quota row, or None without a value."""
    body = response.get("Quota") or {}
    value = body.get("Value")
    if value is None:
        return None
    return {
        "provider": "aws",
        "region": region,
        "pricing": quota.pricing,
        "quota_name": body.get("QuotaName") or quota.name,
        "families": quota.families,
        "vcpu_limit": float(value),
        "as_of": as_of,
        "source": SOURCE,
    }


def fetch_quotas(client: Any, region: str, as_of: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Quota rows for ``region`` and one-line notes for the quotas that could not be read.

    A failing quota (AccessDenied, NoSuchResource, ...) is skipped and logged at warning
    level; it never fails the region.
    """
    rows: list[dict[str, Any]] = []
    skipped: list[str] = []
    for quota in GPU_QUOTAS:
        try:
            response = client.get_service_quota(ServiceCode="ec2", QuotaCode=quota.code)
        except aws_errors() as exc:
            note = f"{region} {quota.code} ({quota.name}): {error_reason(exc)}"
            logger.warning("aws: skipped quota %s", note)
            skipped.append(note)
            continue
        row = parse_service_quota(response, quota, region, as_of)
        if row is not None:
            rows.append(row)
    return rows, skipped

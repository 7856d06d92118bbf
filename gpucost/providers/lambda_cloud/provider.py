"""Lambda Cloud: ``GET /api/v1/instance-types`` -> on-demand offers.

The answer maps each instance type name to its price (``price_cents_per_hour``), specs
(``vcpus``, ``memory_gib``, ``gpus``), a GPU description such as ``"H100 (80 GB SXM5)"``
and the regions with capacity right now. Lambda prices an instance type the same in every
region, so each type is offered in every region the answer lists for any type (or in the
requested ones among them); a requested region Lambda does not list fails. Lambda sells
on-demand only (no spot). The API key comes from ``LAMBDA_API_KEY``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from gpucost.catalog.gpus import canonical_gpu, resolve_gpu
from gpucost.catalog.interconnect import fill_interconnect
from gpucost.catalog.schema import OFFER_COLUMNS, coerce_offers, empty_offers
from gpucost.providers.base import (
    FetchResult,
    GpuInstanceShape,
    ProgressCallback,
    ProviderUnavailable,
)

log = logging.getLogger(__name__)

API_URL = "https://cloud.lambdalabs.com/api/v1/instance-types"
URL_ENV = "GPUCOST_LAMBDA_API_URL"
KEY_ENV = "LAMBDA_API_KEY"
SOURCE = "lambda instance-types api"
REQUEST_TIMEOUT_S = 60.0
# "H100 (80 GB SXM5)", "A10 (24 GB PCIe)", "Tesla V100 (16 GB)"
_GPU_DESCRIPTION = re.compile(r"^(?P<name>[^(]+?)\s*\((?P<memory>[\d.]+)\s*GB\s*(?P<form>[^)]*)\)")


@dataclass(frozen=True)
class LambdaType(GpuInstanceShape):
    """One instance type of the API answer."""

    usd_per_hour: float
    regions: tuple[str, ...]


def gpu_of(description: str) -> tuple[str, float] | None:
    """(canonical GPU, memory GiB) of a GPU description; the name is tried with its form
    factor first ("H100 PCIe" is not an H100 SXM), then alone, through the alias table."""
    match = _GPU_DESCRIPTION.match(description.strip())
    if match is None:
        return None
    name, memory, form = match["name"], float(match["memory"]), match["form"].strip()
    gpu = (resolve_gpu(f"{name} {form}", memory) if form else None) or canonical_gpu(
        name, memory)
    return gpu, memory


def parse_instance_types(body: Any) -> list[LambdaType]:
    """The instance types of an API answer (pure); malformed entries are logged, skipped."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, Mapping):
        raise ValueError("no 'data' object")
    types = []
    for key, entry in sorted(data.items()):
        try:
            spec = entry["instance_type"]
            specs = spec["specs"]
            gpus = int(specs["gpus"])
            gpu = gpu_of(spec.get("gpu_description") or spec.get("description", ""))
            cents = float(spec["price_cents_per_hour"])
            regions = tuple(sorted(r["name"] for r in entry.get(
                "regions_with_capacity_available", [])))
            if gpus < 1 or gpu is None or cents <= 0:
                log.info("lambda: %s skipped (no GPU or price)", key)
                continue
            types.append(LambdaType(
                name=str(spec.get("name", key)), gpu=gpu[0], gpu_count=gpus,
                gpu_memory_gib=gpu[1], vcpus=int(specs["vcpus"]),
                memory_gib=float(specs["memory_gib"]), usd_per_hour=round(cents / 100, 6),
                regions=regions))
        except (KeyError, TypeError, ValueError) as exc:
            log.warning("lambda: instance type %s skipped: malformed (%s)", key, exc)
    return types


def offer_rows(types: list[LambdaType], regions: list[str],
               as_of: dt.date) -> list[dict[str, Any]]:
    """One on-demand row per (type, region) (pure)."""
    return [{
        "provider": "lambda", "region": region, "zone": "", "instance_type": t.name,
        "gpu": t.gpu, "gpu_count": t.gpu_count, "gpu_memory_gib": t.gpu_memory_gib,
        "vcpus": t.vcpus, "memory_gib": t.memory_gib,
        "network_gbps": None, "rdma": False, "gpu_link": "",  # from interconnect.csv
        "pricing": "on_demand", "usd_per_hour": t.usd_per_hour,
        "as_of": as_of.isoformat(), "source": SOURCE, "stale": False,
    } for t in types for region in regions]


class LambdaProvider:
    """Lambda Cloud on-demand GPU instances."""

    name = "lambda"

    def __init__(self, api_key: str | None = None, api_url: str | None = None,
                 session: Any = None) -> None:
        self.api_key = api_key
        self.api_url = api_url
        self.session = session

    def _get(self) -> Any:
        import requests

        key = self.api_key or os.environ.get(KEY_ENV, "").strip()
        if not key:
            raise ProviderUnavailable(f"lambda: no API key; set {KEY_ENV}")
        url = self.api_url or os.environ.get(URL_ENV, "").strip() or API_URL
        http = self.session or requests.Session()
        try:
            response = http.get(url, headers={"Authorization": f"Bearer {key}"},
                                timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:
            raise ProviderUnavailable(f"lambda: {type(exc).__name__}: {exc}"[:300]) from None
        if response.status_code in (401, 403):
            raise ProviderUnavailable(f"lambda: HTTP {response.status_code}: the API key "
                                      "was refused")
        if response.status_code >= 400:
            raise ProviderUnavailable(f"lambda: HTTP {response.status_code} from {url}")
        try:
            return parse_instance_types(response.json())
        except ValueError as exc:
            raise ProviderUnavailable(f"lambda: {url} did not answer with instance types "
                                      f"({exc})") from None

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        types = self._get()
        listed = sorted({r for t in types for r in t.regions})
        report = progress or (lambda region, reason: None)
        failed: dict[str, str] = {}
        targets = listed
        if regions:
            targets = [r for r in dict.fromkeys(regions) if r in listed]
            for region in dict.fromkeys(regions):
                if region not in listed:
                    failed[region] = "Lambda lists no capacity in this region now"
        for region in targets:
            report(region, None)
        for region, reason in failed.items():
            report(region, reason)
        rows = offer_rows(types, targets, dt.datetime.now(dt.UTC).date())
        offers = (fill_interconnect(coerce_offers(
            pd.DataFrame(rows, columns=list(OFFER_COLUMNS)), "lambda")) if rows
            else empty_offers())
        return FetchResult(offers, failed, None)

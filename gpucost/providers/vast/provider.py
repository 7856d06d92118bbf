"""Vast.ai: the marketplace's offer search (``POST /api/v0/bundles/``) -> offers.

Vast is a marketplace: every offer is one host machine's GPUs at the price its host set,
with the host's measured uptime (``reliability2``, 0-1). The search answers a JSON query
(``{"field": {"op": value}, "limit": n, "order": [[field, dir]]}``) with
``{"offers": [...]}``; it has no page token, so the adapter pages by offer id
(``"id": {"gt": last}``, ordered by id) until a page comes back short. Each rentable
offer gives an on-demand row at ``dph_total`` (GPU plus the host's share of the machine)
and, when the host accepts bids, a spot row at ``min_bid`` (interruptible instances: the
host runs the highest bidder). The region is the host's country code from
``geolocation`` ("Texas, US" -> "US"). The search needs no API key; ``VAST_API_KEY`` is
sent when set. HTTP 429 (throttling) is retried after ``Retry-After`` (capped); offers
with an unknown GPU, no price or not rentable are skipped and counted, never guessed.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from gpucost.catalog.gpus import resolve_gpu
from gpucost.catalog.interconnect import fill_interconnect
from gpucost.catalog.schema import OFFER_COLUMNS, coerce_offers, empty_offers
from gpucost.providers.base import FetchResult, ProgressCallback, ProviderUnavailable

log = logging.getLogger(__name__)

API_URL = "https://console.vast.ai/api/v0/bundles/"
URL_ENV = "GPUCOST_VAST_API_URL"
KEY_ENV = "VAST_API_KEY"
SOURCE = "vast.ai bundles search api"
PAGE_SIZE = 500
MAX_PAGES = 200  # 100,000 offers: far above the marketplace's size; stops a looping server
MAX_RETRIES = 4
MAX_RETRY_WAIT_S = 10.0
REQUEST_TIMEOUT_S = 30.0


def region_of(geolocation: object) -> str:
    """The host's country code ("Texas, US" -> "US", "CZ" -> "CZ"; "" if none)."""
    text = str(geolocation or "").strip()
    code = text.rsplit(",", 1)[-1].strip().upper()
    return code if len(code) == 2 and code.isalpha() else ""


def offer_rows(offers: list[Mapping[str, Any]], as_of: dt.date) -> tuple[list[dict], int]:
    """Offer-schema rows of the search answer's offers (pure), and how many were skipped."""
    rows: list[dict] = []
    skipped = 0
    for offer in offers:
        try:
            count = int(offer["num_gpus"])
            memory = float(offer["gpu_ram"]) / 1024  # MB as Vast reports it -> GiB
            gpu = resolve_gpu(str(offer["gpu_name"]), memory)
            price = float(offer["dph_total"])
            region = region_of(offer.get("geolocation"))
            reliability = offer.get("reliability2", offer.get("reliability"))
            reliability = float(reliability) if reliability is not None else float("nan")
        except (KeyError, TypeError, ValueError):
            skipped += 1
            continue
        if (count < 1 or not gpu or price <= 0 or not region or offer.get("rentable") is False
                or not 0 <= reliability <= 1):
            skipped += 1
            continue
        base = {"provider": "vast", "region": region, "zone": "",
                "instance_type": f"{count}x{gpu}-host{offer.get('machine_id', '')}-"
                                 f"offer{offer['id']}",
                "gpu": gpu, "gpu_count": count, "gpu_memory_gib": round(memory, 1),
                "vcpus": int(float(offer.get("cpu_cores_effective") or 0)),
                "memory_gib": round(float(offer.get("cpu_ram") or 0) / 1024, 1),
                "network_gbps": None, "rdma": False, "gpu_link": "",
                "as_of": as_of.isoformat(), "source": SOURCE, "stale": False,
                "reliability": reliability}
        rows.append({**base, "pricing": "on_demand", "usd_per_hour": price})
        bid = offer.get("min_bid")
        if isinstance(bid, int | float) and 0 < bid < price:
            rows.append({**base, "pricing": "spot", "usd_per_hour": float(bid)})
    return rows, skipped


class VastProvider:
    """Vast.ai marketplace GPU offers, on-demand and interruptible."""

    name = "vast"

    def __init__(self, api_url: str | None = None, api_key: str | None = None,
                 session: Any = None, timeout: float = 180.0,
                 page_size: int = PAGE_SIZE, sleep: Any = time.sleep) -> None:
        self.api_url = api_url
        self.api_key = api_key
        self.session = session
        self.timeout = timeout
        self.page_size = page_size
        self.sleep = sleep

    def _post(self, http: Any, url: str, query: dict) -> list[Mapping[str, Any]]:
        import requests

        key = self.api_key or os.environ.get(KEY_ENV, "").strip()
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        for attempt in range(MAX_RETRIES + 1):
            try:
                response = http.post(url, json=query, headers=headers,
                                     timeout=min(REQUEST_TIMEOUT_S, self.timeout))
            except requests.RequestException as exc:
                raise ProviderUnavailable(f"vast: {type(exc).__name__}: {exc}"[:300]) from None
            if response.status_code == 429 and attempt < MAX_RETRIES:
                try:
                    wait = float(response.headers.get("Retry-After", 1))
                except ValueError:
                    wait = 1.0
                self.sleep(min(max(wait, 0.0), MAX_RETRY_WAIT_S))
                continue
            if response.status_code == 429:
                raise ProviderUnavailable(f"vast: still throttled (HTTP 429) after "
                                          f"{MAX_RETRIES} retries")
            if response.status_code in (401, 403):
                raise ProviderUnavailable(f"vast: HTTP {response.status_code}: the API key "
                                          "was refused")
            if response.status_code >= 400:
                raise ProviderUnavailable(f"vast: HTTP {response.status_code} from {url}")
            try:
                body = response.json()
            except ValueError:
                body = None
            offers = body.get("offers") if isinstance(body, Mapping) else None
            if not isinstance(offers, list):
                raise ProviderUnavailable(f"vast: {url} did not answer with offers")
            return offers
        raise AssertionError("unreachable")

    def search(self) -> list[Mapping[str, Any]]:
        """Every rentable GPU offer, page by page (by ascending offer id)."""
        import requests

        url = self.api_url or os.environ.get(URL_ENV, "").strip() or API_URL
        http = self.session or requests.Session()
        found: dict[Any, Mapping[str, Any]] = {}
        last = -1
        for _ in range(MAX_PAGES):
            query = {"rentable": {"eq": True}, "num_gpus": {"gte": 1},
                     "id": {"gt": last}, "order": [["id", "asc"]], "type": "on-demand",
                     "limit": self.page_size}
            page = self._post(http, url, query)
            ids = [o.get("id") for o in page if isinstance(o, Mapping)]
            numeric = [i for i in ids if isinstance(i, int)]
            for offer in page:
                if isinstance(offer, Mapping) and offer.get("id") not in found:
                    found[offer.get("id")] = offer
            if len(page) < self.page_size or not numeric or max(numeric) <= last:
                break
            last = max(numeric)
        return list(found.values())

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        today = dt.datetime.now(dt.UTC).date()
        rows, skipped = offer_rows(self.search(), today)
        if skipped:
            log.info("vast: %d offers skipped (unknown GPU, no price, not rentable)", skipped)
        report = progress or (lambda region, reason: None)
        listed = sorted({r["region"] for r in rows})
        failed: dict[str, str] = {}
        wanted = [r.upper() for r in dict.fromkeys(regions)] if regions else listed
        for region in wanted:
            if region in listed:
                report(region, None)
            else:
                failed[region] = "no rentable offers in this region"
                report(region, failed[region])
        rows = [r for r in rows if r["region"] in set(wanted)]
        if not rows:
            return FetchResult(empty_offers(), failed)
        frame = pd.DataFrame(rows, columns=list(OFFER_COLUMNS))
        return FetchResult(fill_interconnect(coerce_offers(frame, "vast")), failed)

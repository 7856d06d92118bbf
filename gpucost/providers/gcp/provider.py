"""The GCP adapter: machine types + accelerator types + billing SKUs -> offers.

Three listings run concurrently (each one paged call, none per region): aggregated
machine types (a2/a3/g2 with bundled GPUs), aggregated accelerator types (n1 GPUs) and
the Compute Engine SKUs of the Cloud Billing Catalog. Regions are then priced from
memory. A region fails (``failed_regions``) when one of its zones was unreachable, when
nothing GPU-capable is listed there, or when none of its offers has all its SKUs;
offers lacking a SKU in a region that otherwise prices are skipped and logged.

Zone column: the comma-joined, sorted zones of the region offering the type (both
pricing models: GCP prices are regional). Bundled local SSD (a2-ultragpu, a3) is not
included in the price.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pandas as pd

from gpucost.catalog.interconnect import fill_interconnect
from gpucost.catalog.schema import OFFER_COLUMNS, coerce_offers, empty_offers
from gpucost.clouds.gcp import application_default_credentials
from gpucost.providers.base import FetchResult, ProgressCallback, ProviderUnavailable
from gpucost.providers.gcp.accelerators import attachable_candidates, list_accelerator_type_pages
from gpucost.providers.gcp.billing import build_price_book, list_skus
from gpucost.providers.gcp.machines import (
    Candidate,
    bundled_candidates,
    list_machine_type_pages,
    unreachable_regions,
)
from gpucost.providers.gcp.pricing import PriceBook
from gpucost.providers.gcp.rows import offer_rows
from gpucost.providers.sanity import drop_implausible_spot

log = logging.getLogger(__name__)

NO_CREDENTIALS = (
    "gcp: no application-default credentials; run `gcloud auth application-default login` "
    "and set GOOGLE_CLOUD_PROJECT (or pass --project)"
)
# Transient errors (429, 5xx, connection) are retried for this long per listing.
RETRY_DEADLINE_S = 60.0
REQUEST_TIMEOUT_S = 120.0


def resolve_credentials(project: str | None, credentials: Any) -> tuple[Any, str]:
    """(credentials, project): the given ones, else application-default ones."""
    default_project = None
    if credentials is None:
        found = application_default_credentials()
        if found is None:
            raise ProviderUnavailable(NO_CREDENTIALS)
        credentials, default_project = found
    project = project or os.environ.get("GOOGLE_CLOUD_PROJECT") or default_project
    if not project:
        raise ProviderUnavailable(NO_CREDENTIALS)
    return credentials, project


def describe_error(what: str, exc: BaseException) -> tuple[bool, str]:
    """(fatal, one-line reason) for a failed listing; fatal = access denied."""
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    if isinstance(exc, api.RetryError) and exc.cause is not None:
        exc = exc.cause  # the last attempt's error says more than "deadline exceeded"
    fatal = isinstance(exc, api.Unauthorized | api.Forbidden | auth.RefreshError)
    code = getattr(exc, "code", None)
    detail = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    detail = re.sub(r"^[A-Z]+ https?://\S+: ", "", detail)  # drop "GET <url>: "
    status = f"HTTP {int(code)} " if isinstance(code, int) else ""
    text = " ".join(f"{what}: {status}{detail}".split())
    return fatal, text[:300]


class GcpProvider:
    """Google Cloud GPU offers priced from the Cloud Billing Catalog."""

    name = "gcp"

    def __init__(self, project: str | None = None, credentials: Any = None,
                 max_workers: int = 4, timeout: float | None = None) -> None:
        self.project = project
        self.credentials = credentials
        self.max_workers = max(1, max_workers)
        # A total deadline (seconds) also bounds each listing's retries and requests.
        self.retry_deadline = min(RETRY_DEADLINE_S, timeout or RETRY_DEADLINE_S)
        self.request_timeout = min(REQUEST_TIMEOUT_S, timeout or REQUEST_TIMEOUT_S)

    def _listings(self, credentials: Any, project: str) -> tuple[list[Any], list[Any], list[Any]]:
        from google.api_core import retry as retries

        retry = retries.Retry(predicate=retries.if_transient_error, initial=1.0, maximum=10.0,
                              timeout=self.retry_deadline)
        calls = {
            "machine types": (list_machine_type_pages, (credentials, project)),
            "accelerator types": (list_accelerator_type_pages, (credentials, project)),
            "billing SKUs": (list_skus, (credentials,)),
        }
        with ThreadPoolExecutor(max_workers=min(self.max_workers, len(calls))) as pool:
            futures = {what: pool.submit(fn, *args, retry=retry, timeout=self.request_timeout)
                       for what, (fn, args) in calls.items()}
            results = {}
            for what, future in futures.items():
                try:
                    results[what] = future.result()
                except Exception as exc:
                    if not _is_api_error(exc):
                        raise  # a bug, not the cloud: keep the traceback
                    fatal, reason = describe_error(what, exc)
                    if fatal:
                        raise ProviderUnavailable(f"gcp: {reason}") from None
                    raise _ListingFailed(reason) from exc
        return results["machine types"], results["accelerator types"], results["billing SKUs"]

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        credentials, project = resolve_credentials(self.project, self.credentials)
        report = progress or (lambda region, reason: None)
        try:
            machine_pages, accelerator_pages, skus = self._listings(credentials, project)
        except _ListingFailed as exc:
            if not regions:
                raise ProviderUnavailable(f"gcp: {exc}") from None
            failed = {region: str(exc) for region in dict.fromkeys(regions)}
            for region in failed:
                report(region, str(exc))
            return FetchResult(empty_offers(), failed, None)

        candidates = bundled_candidates(machine_pages) + attachable_candidates(accelerator_pages)
        unreachable = unreachable_regions(machine_pages + accelerator_pages)
        book = build_price_book(skus)
        targets = list(dict.fromkeys(regions)) if regions is not None else sorted(
            {c.region for c in candidates} | set(unreachable))
        today = dt.datetime.now(dt.UTC).date()

        rows: list[dict[str, Any]] = []
        failed: dict[str, str] = {}
        for region in targets:
            reason = unreachable.get(region)
            if reason is None:
                reason = self._price_region(region, candidates, book, today, rows)
            if reason is not None:
                failed[region] = reason
            report(region, reason)
        offers = (fill_interconnect(
            coerce_offers(drop_implausible_spot(
            pd.DataFrame(rows, columns=list(OFFER_COLUMNS))), "gcp"))
                  if rows else empty_offers())
        return FetchResult(offers, failed, None)

    @staticmethod
    def _price_region(region: str, candidates: list[Candidate], book: PriceBook,
                      today: dt.date, rows: list[dict[str, Any]]) -> str | None:
        """Append the region's rows; return the failure reason, or None on success."""
        mine = [c for c in candidates if c.region == region]
        if not mine:
            return "no GPU machine types or accelerators listed in this region"
        priced, skipped = offer_rows(mine, book, today)
        if skipped:
            log.warning("gcp %s: skipped %d offer(s) without a billing SKU: %s", region,
                        len(skipped), "; ".join(skipped))
        if not priced:
            return f"no matching billing SKUs for {len(mine)} instance type(s)"
        rows.extend(priced)
        return None


class _ListingFailed(Exception):
    """A listing failed for a reason other than access (one-line message)."""


def _is_api_error(exc: BaseException) -> bool:
    import requests
    from google.api_core import exceptions as api
    from google.auth import exceptions as auth

    return isinstance(exc, api.GoogleAPIError | auth.GoogleAuthError | requests.RequestException)

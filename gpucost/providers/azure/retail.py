"""Azure Retail Prices API: paged GETs with NextPageLink, 429 Retry-After, one-line errors.

The API is public (no credentials). It pages by an absolute ``NextPageLink`` (null on the
last page). The live service refuses some OData operators and very long filters, so the
filters sent here are only ``eq`` clauses joined by ``and``; everything else is filtered
client-side (:mod:`gpucost.providers.azure.items`). ``requests`` is imported lazily.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

from gpucost.errors import GpucostError

DEFAULT_URL = "https://prices.azure.com/api/retail/prices"
URL_ENV = "GPUCOST_AZURE_PRICES_URL"
API_VERSION = "2023-01-01-preview"
# Bounds that keep a misbehaving endpoint from looping forever.
MAX_PAGES = 2000
MAX_RETRIES = 5
MAX_RETRY_AFTER_S = 60.0
REQUEST_TIMEOUT_S = 60.0


class RetailPricesError(GpucostError):
    """The Retail Prices API answered with something we cannot use (one line)."""


def prices_url() -> str:
    """The API's base URL: ``$GPUCOST_AZURE_PRICES_URL`` (a mirror, proxy or test
    server) or the public endpoint."""
    return os.environ.get(URL_ENV, "").strip() or DEFAULT_URL


def odata_filter(**equals: str) -> str:
    """``field eq 'value'`` clauses joined by ``and`` (quotes doubled, as OData wants)."""
    return " and ".join(f"{name} eq '{value.replace(chr(39), chr(39) * 2)}'"
                        for name, value in equals.items())


def _retry_after(value: str | None, attempt: int) -> float:
    """Seconds to wait before retrying: the server's Retry-After (seconds), else backoff."""
    try:
        seconds = float(value) if value is not None else 2.0 ** attempt
    except ValueError:  # an HTTP date: not worth parsing, back off instead
        seconds = 2.0 ** attempt
    return max(0.0, min(seconds, MAX_RETRY_AFTER_S))


def _short(text: str) -> str:
    return " ".join(text.split())[:60]


def iter_items(filter_: str, *, base_url: str | None = None, session: Any = None,
               sleep: Callable[[float], None] = time.sleep) -> Iterator[dict[str, Any]]:
    """Every item of every page for ``filter_``, following ``NextPageLink``.

    Retries HTTP 429 and 5xx (waiting ``Retry-After`` seconds when given) and connection
    errors up to :data:`MAX_RETRIES` times. Raises :class:`RetailPricesError` with one line
    for a page that is not JSON, lacks ``Items``, an HTTP error, or a ``NextPageLink``
    that was already visited (a loop) or exceeds :data:`MAX_PAGES`.
    """
    import requests

    http = session or requests.Session()
    url: str | None = base_url or prices_url()
    params: dict[str, str] | None = {"api-version": API_VERSION, "$filter": filter_}
    seen: set[str] = set()
    page = 0
    while url:
        page += 1
        if page > MAX_PAGES:
            raise RetailPricesError(f"azure retail prices: more than {MAX_PAGES} pages for "
                                    f"{filter_!r}; giving up")
        response = _get(http, url, params, sleep, page)
        seen.add(response.url if params else url)
        try:
            body = response.json()
        except ValueError:
            raise RetailPricesError(
                f"azure retail prices: page {page} ({url}) is not JSON "
                f"(starts {_short(response.text)!r})") from None
        if not isinstance(body, dict) or not isinstance(body.get("Items"), list):
            raise RetailPricesError(f"azure retail prices: page {page} ({url}) has no "
                                    "Items list")
        yield from (item for item in body["Items"] if isinstance(item, dict))
        next_link = body.get("NextPageLink")
        if next_link is not None and not isinstance(next_link, str):
            raise RetailPricesError(f"azure retail prices: page {page} has a NextPageLink "
                                    f"that is not a URL ({next_link!r})")
        if next_link and next_link in seen:
            raise RetailPricesError(f"azure retail prices: NextPageLink loops back to "
                                    f"{next_link} after page {page}")
        url, params = next_link or None, None


def _get(http: Any, url: str, params: dict[str, str] | None,
         sleep: Callable[[float], None], page: int) -> Any:
    import requests

    for attempt in range(MAX_RETRIES + 1):
        try:
            response = http.get(url, params=params, timeout=REQUEST_TIMEOUT_S)
        except requests.RequestException as exc:
            if attempt == MAX_RETRIES:
                raise RetailPricesError(f"azure retail prices: page {page}: "
                                        f"{type(exc).__name__}: {_short(str(exc))}") from None
            sleep(_retry_after(None, attempt))
            continue
        if response.status_code == 429 or response.status_code >= 500:
            if attempt == MAX_RETRIES:
                break
            sleep(_retry_after(response.headers.get("Retry-After"), attempt))
            continue
        if response.status_code >= 400:
            raise RetailPricesError(f"azure retail prices: page {page}: HTTP "
                                    f"{response.status_code} {_short(response.text)}")
        return response
    raise RetailPricesError(f"azure retail prices: page {page}: HTTP {response.status_code} "
                            f"after {MAX_RETRIES} retries")

"""A loopback HTTP server shaped like the Azure Retail Prices API (for tests).

It serves a list of items in pages of ``page_size`` with absolute ``NextPageLink``s
(``$skip``), honours ``armRegionName eq '...'`` / ``armSkuName eq '...'`` clauses of
``$filter`` like the live API does (other clauses ignored: the client must filter), and
can answer the first request of each page with HTTP 429 + ``Retry-After`` or serve a
page that is not JSON. It listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

_EQ = re.compile(r"(\w+) eq '((?:[^']|'')*)'")


def item(region: str, size: str, price: float, *, sku_suffix: str = "",
         type_: str = "Consumption", product_suffix: str = "", unit: str = "1 Hour",
         currency: str = "USD") -> dict:
    """One Retail Prices item as the API spells it."""
    sku_name = size.removeprefix("Standard_").replace("_", " ") + sku_suffix
    return {
        "currencyCode": currency, "tierMinimumUnits": 0.0, "retailPrice": price,
        "unitPrice": price, "armRegionName": region, "location": region,
        "effectiveStartDate": "2025-06-01T00:00:00Z", "meterId": f"m-{region}-{sku_name}",
        "meterName": sku_name, "productId": "DZH318Z0BQ4L", "skuId": "DZH318Z0BQ4L/00",
        "productName": f"Virtual Machines {size.split('_')[1]} Series{product_suffix}",
        "skuName": sku_name, "serviceName": "Virtual Machines", "serviceId": "DZH313Z7MMC8",
        "serviceFamily": "Compute", "unitOfMeasure": unit, "type": type_,
        "isPrimaryMeterRegion": True, "armSkuName": size,
    }


class RetailServer:
    """Start with ``with RetailServer(items) as server: server.url``."""

    def __init__(self, items: list[dict], page_size: int = 3, throttle_first: bool = False,
                 retry_after: str = "0", bad_page: int | None = None,
                 loop: bool = False) -> None:
        self.items = items
        self.page_size = page_size
        self.throttle_first = throttle_first
        self.retry_after = retry_after
        self.bad_page = bad_page
        self.loop = loop
        self.requests: list[str] = []
        self.throttled = 0
        self._seen: set[str] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                server.requests.append(self.path)
                if server.throttle_first and self.path not in server._seen:
                    server._seen.add(self.path)
                    server.throttled += 1
                    self._send(429, b'{"error": "too many requests"}',
                               {"Retry-After": server.retry_after})
                    return
                status, body = server.answer(self.path)
                self._send(status, body, {})

            def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/api/retail/prices"

    def answer(self, path: str) -> tuple[int, bytes]:
        query = parse_qs(urlsplit(path).query)
        clauses = dict(_EQ.findall(query.get("$filter", [""])[0]))
        chosen = [i for i in self.items
                  if all(i.get(k) == v.replace("''", "'") for k, v in clauses.items()
                         if k in ("armRegionName", "armSkuName"))]
        skip = int(query.get("$skip", ["0"])[0])
        page = skip // self.page_size + 1
        if self.bad_page == page:
            return 200, b"<html><body>Service Unavailable</body></html>"
        rest = skip + self.page_size
        next_link = None
        if rest < len(chosen) or self.loop:
            base = f"{self.url}?api-version={query.get('api-version', [''])[0]}"
            if "$filter" in query:
                base += "&$filter=" + query["$filter"][0].replace(" ", "%20").replace("'", "%27")
            next_link = f"{base}&$skip={0 if self.loop and rest >= len(chosen) else rest}"
        body = {"BillingCurrency": "USD", "CustomerEntityId": "Default",
                "CustomerEntityType": "Retail",
                "Items": chosen[skip:rest], "NextPageLink": next_link,
                "Count": len(chosen[skip:rest])}
        return 200, json.dumps(body).encode()

    def __enter__(self) -> RetailServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

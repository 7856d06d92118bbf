"""AwsProvider: EC2 GPU specs, on-demand and spot prices and vCPU quotas per region."""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from gpucost.catalog.interconnect import fill_interconnect
from gpucost.catalog.schema import OFFER_COLUMNS, coerce_offers, empty_offers
from gpucost.catalog.snapshot import QUOTA_COLUMNS
from gpucost.providers.aws import clients as aws_clients
from gpucost.providers.aws.pricing import fetch_on_demand_prices
from gpucost.providers.aws.quotas import fetch_quotas
from gpucost.providers.aws.specs import InstanceSpec, fetch_region_gpu_specs
from gpucost.providers.aws.spot import SpotPrice, fetch_spot_prices
from gpucost.providers.base import FetchResult, ProgressCallback, ProviderUnavailable
from gpucost.providers.sanity import drop_implausible_spot

logger = logging.getLogger(__name__)

ON_DEMAND_SOURCE = "aws pricing api"
SPOT_SOURCE = "aws spot price history"


@dataclass
class RegionInventory:
    """What one region's EC2 and Service Quotas endpoints returned."""

    region: str
    specs: dict[str, InstanceSpec]
    spot: dict[str, SpotPrice]
    quotas: list[dict[str, Any]] = field(default_factory=list)


def build_offer_rows(region: str, specs: Mapping[str, InstanceSpec],
                     on_demand: Mapping[tuple[str, str], float],
                     spot: Mapping[str, SpotPrice], as_of: str) -> list[dict[str, Any]]:
    """Offer rows of one region; types without an on-demand price are left out entirely."""
    rows: list[dict[str, Any]] = []
    for name in sorted(specs):
        price = on_demand.get((region, name))
        if price is None:
            continue
        spec = specs[name]
        base = {"provider": "aws", "region": region, "instance_type": name, "gpu": spec.gpu,
                "gpu_count": spec.gpu_count, "gpu_memory_gib": spec.gpu_memory_gib,
                "vcpus": spec.vcpus, "memory_gib": spec.memory_gib, "as_of": as_of,
                "network_gbps": spec.network_gbps, "rdma": spec.efa, "gpu_link": "",
                "stale": False}
        rows.append({**base, "zone": "", "pricing": "on_demand", "usd_per_hour": price,
                     "source": ON_DEMAND_SOURCE})
        quote = spot.get(name)
        if quote is not None:
            rows.append({**base, "zone": quote.zone, "pricing": "spot",
                         "usd_per_hour": quote.usd_per_hour, "source": SPOT_SOURCE})
    return rows


def fetch_region(region: str, ec2: Any, quotas_client: Any, as_of: str) -> RegionInventory:
    """Specs, spot prices and quotas of one region (raises on an EC2 failure)."""
    specs = fetch_region_gpu_specs(ec2, region)
    spot = fetch_spot_prices(ec2, specs) if specs else {}
    quota_rows, _skipped = fetch_quotas(quotas_client, region, as_of)  # skips are logged
    return RegionInventory(region, specs, spot, quota_rows)


class AwsProvider:
    """The AWS adapter (see :class:`gpucost.providers.base.Provider`).

    ``client_factory(service, region)`` builds the botocore clients (default: from
    ``session``, or a session from the environment); it is only called from the thread
    that calls :meth:`fetch`, since boto3 sessions are not thread-safe (clients are).

    ``spot_advisor()`` returns the Spot Instance Advisor document (its interruption band
    per pool); by default it is read from its public URL, except when ``client_factory``
    is given (offline tests), where it is skipped unless passed in.
    """

    name = "aws"

    def __init__(self, session: Any = None, max_workers: int = 4,
                 client_factory: aws_clients.ClientFactory | None = None,
                 timeout: float | None = None,
                 spot_advisor: Callable[[], Any] | None = None,
                 capacity_blocks: list | None = None,
                 placement_scores: int | None = None) -> None:
        self._session = session
        self._placement_target = placement_scores
        self._capacity_requests = list(capacity_blocks or [])
        self._spot_advisor = spot_advisor
        self._max_workers = max(1, int(max_workers))
        self._client_factory = client_factory
        self._timeout = timeout  # total seconds: bounds HTTP timeouts and retries

    def _factory(self) -> tuple[aws_clients.ClientFactory, str]:
        if self._client_factory is not None and self._session is None:
            return self._client_factory, aws_clients.DEFAULT_REGION
        session = self._session or aws_clients.default_session()
        aws_clients.ensure_credentials(session)
        factory = self._client_factory or aws_clients.session_client_factory(
            session, self._timeout)
        return factory, getattr(session, "region_name", None) or aws_clients.DEFAULT_REGION

    def fetch(self, regions: list[str] | None = None,
              progress: ProgressCallback | None = None) -> FetchResult:
        factory, home = self._factory()  # home: where account-wide calls go
        names = list(dict.fromkeys(regions)) if regions else self._list_regions(factory, home)
        as_of = dt.datetime.now(dt.UTC).date().isoformat()
        region_clients = {r: (factory("ec2", r), factory("service-quotas", r)) for r in names}
        pricing = factory("pricing", aws_clients.PRICING_ENDPOINT_REGION)

        failed: dict[str, str] = {}

        def fail(region: str, reason: str) -> None:
            failed[region] = reason
            if progress is not None:
                progress(region, reason)

        inventories = self._inventories(region_clients, as_of, fail)
        types = sorted({t for inv in inventories.values() for t in inv.specs})
        only = names[0] if len(names) == 1 else None
        on_demand, pricing_error = self._on_demand(pricing, types, only)
        if pricing_error is not None:
            for region in sorted(inventories):
                fail(region, f"pricing: {pricing_error}")
            inventories = {}

        rows: list[dict[str, Any]] = []
        quota_rows: list[dict[str, Any]] = []
        for region in names:
            inventory = inventories.get(region)
            if inventory is None:
                continue
            rows.extend(build_offer_rows(region, inventory.specs, on_demand, inventory.spot,
                                         as_of))
            quota_rows.extend(inventory.quotas)
            if progress is not None:
                progress(region, None)
        offers = (fill_interconnect(
            coerce_offers(drop_implausible_spot(
            pd.DataFrame(rows, columns=list(OFFER_COLUMNS))), "aws"))
                  if rows else empty_offers())
        return FetchResult(offers=offers, failed_regions=failed,
                           quotas=pd.DataFrame(quota_rows, columns=QUOTA_COLUMNS),
                           interruptions=self._interruptions(types, sorted(inventories),
                                                             as_of),
                           capacity_blocks=self._capacity_blocks(region_clients,
                                                                 sorted(inventories), as_of),
                           placement_scores=self._placement_scores(
                               factory, home, offers, sorted(inventories), as_of))

    def _placement_scores(self, factory: aws_clients.ClientFactory, home: str,
                          offers: pd.DataFrame, regions: list[str], as_of: str
                          ) -> pd.DataFrame | None:
        """Spot placement scores of the fetched spot GPU types at ``--placement-scores``
        instances (None when not asked for or not readable: logged)."""
        from gpucost.providers.aws.placement_scores import SCORE_COLUMNS, fetch_scores

        if not self._placement_target or not regions or offers.empty:
            return None
        types = sorted(set(offers.loc[offers["pricing"] == "spot", "instance_type"]))
        try:
            rows = fetch_scores(factory("ec2", home), types, self._placement_target, regions,
                                as_of)
        except aws_clients.aws_errors() as exc:
            logger.warning("aws: spot placement scores not read: %s",
                           aws_clients.error_reason(exc))
            return None
        return pd.DataFrame(rows, columns=SCORE_COLUMNS)

    def _capacity_blocks(self, region_clients: Mapping[str, tuple[Any, Any]],
                         regions: list[str], as_of: str) -> pd.DataFrame | None:
        """Capacity Block offerings of the requests (``--capacity-blocks``) per region; a
        region whose answer fails is logged and left out."""
        from gpucost.providers.aws.capacity_blocks import (
            CAPACITY_BLOCK_COLUMNS,
            fetch_capacity_blocks,
        )

        if not self._capacity_requests:
            return None
        rows: list[dict[str, Any]] = []
        for region in regions:
            try:
                rows += fetch_capacity_blocks(region_clients[region][0], region,
                                              self._capacity_requests, as_of)
            except aws_clients.aws_errors() as exc:
                logger.warning("aws: capacity blocks in %s not read: %s", region,
                               aws_clients.error_reason(exc))
        return pd.DataFrame(rows, columns=CAPACITY_BLOCK_COLUMNS)

    def _interruptions(self, types: list[str], regions: list[str], as_of: str
                       ) -> pd.DataFrame | None:
        """Interruption bands of the fetched pools; None when the advisor data could not
        be read (the refresh then keeps the previous file's rows)."""
        from gpucost.providers.aws.spot_advisor import (
            URL_ENV,
            AdvisorError,
            fetch_advisor,
            parse_advisor,
        )

        read = self._spot_advisor
        if read is None:
            # Injected clients or a stand-in AWS endpoint (moto, a test server): the
            # public advisor file is not that account's; read it only when pointed at one.
            stand_in = self._client_factory is not None or os.environ.get("AWS_ENDPOINT_URL")
            if not regions or (stand_in and not os.environ.get(URL_ENV)):
                return None
            read = lambda: fetch_advisor(min(self._timeout or 60.0, 60.0))  # noqa: E731
        try:
            return parse_advisor(read(), dt.date.fromisoformat(as_of), instance_types=types,
                                 regions=regions)
        except AdvisorError as exc:
            logger.warning("aws: spot advisor data not read: %s", exc)
            return None

    def _list_regions(self, factory: aws_clients.ClientFactory, home: str) -> list[str]:
        try:
            response = factory("ec2", home).describe_regions()
        except aws_clients.aws_errors() as exc:
            raise ProviderUnavailable(
                f"aws: cannot list regions: {aws_clients.error_reason(exc)}") from None
        return sorted(r["RegionName"] for r in response.get("Regions", []))

    def _inventories(self, region_clients: Mapping[str, tuple[Any, Any]], as_of: str,
                     fail: Callable[[str, str], None]) -> dict[str, RegionInventory]:
        inventories: dict[str, RegionInventory] = {}
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            futures: dict[Future[RegionInventory], str] = {
                pool.submit(fetch_region, region, ec2, sq, as_of): region
                for region, (ec2, sq) in region_clients.items()}
            for future in as_completed(futures):
                region = futures[future]
                try:
                    inventories[region] = future.result()
                except aws_clients.aws_errors() as exc:
                    reason = aws_clients.error_reason(exc)
                    logger.warning("aws: region %s failed: %s", region, reason)
                    fail(region, reason)
        return inventories

    def _on_demand(self, pricing: Any, types: list[str], region: str | None
                   ) -> tuple[dict[tuple[str, str], float], str | None]:
        """Prices of ``types`` in every region, or the first error's one-line reason."""
        prices: dict[tuple[str, str], float] = {}
        with ThreadPoolExecutor(max_workers=self._max_workers) as pool:
            futures = [pool.submit(fetch_on_demand_prices, pricing, t, region) for t in types]
            for future in futures:
                try:
                    prices.update(future.result())
                except aws_clients.aws_errors() as exc:
                    pool.shutdown(cancel_futures=True)
                    reason = aws_clients.error_reason(exc)
                    logger.warning("aws: pricing api failed: %s", reason)
                    return {}, reason
        return prices, None

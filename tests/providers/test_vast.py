"""VastProvider against a ``responses`` server shaped like Vast's bundles search: it
filters by the query's ``id > last``, orders by id, cuts pages at ``limit``, throttles
(HTTP 429 with Retry-After) and serves decoys (unknown GPU, no price, not rentable,
reliability out of range)."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import responses

from gpucost.catalog.schema import coerce_offers
from gpucost.catalog.snapshot import Catalog, read_snapshot_file, write_snapshot
from gpucost.errors import InputError
from gpucost.job.parse import parse_job
from gpucost.planner.planner import plan_job
from gpucost.providers.base import ProviderUnavailable
from gpucost.providers.vast import VastProvider
from gpucost.providers.vast.provider import API_URL, region_of
from gpucost.refresh.run import refresh


def _offer(i: int, gpu: str = "RTX 4090", n: int = 1, ram: int = 24564, price: float = 0.4,
           bid: float | None = 0.2, geo: str = "Texas, US", rel: float = 0.99, **extra):
    return {"id": i, "machine_id": 1000 + i, "gpu_name": gpu, "num_gpus": n, "gpu_ram": ram,
            "dph_total": price, "min_bid": bid, "geolocation": geo, "reliability2": rel,
            "cpu_cores_effective": 16.0, "cpu_ram": 65536, "rentable": True, **extra}


GOOD = [_offer(1), _offer(2, "H100 SXM", 8, 81559, 17.6, 9.0, "Quebec, CA", 0.995),
        _offer(3, "RTX A6000", 2, 49140, 0.9, None, "Czechia, CZ", 0.90),
        _offer(5, "A100 SXM4", 4, 81920, 4.4, 2.1, "US", 0.97)]
DECOYS = [_offer(4, "GTX 1080"), _offer(6, price=0), _offer(7, rentable=False),
          _offer(8, rel=1.7), _offer(9, geo="")]


class Market:
    """The bundles endpoint: pages by id, throttles the first call of each page."""

    def __init__(self, offers, throttle_every_page: bool = True):
        self.offers = sorted(offers, key=lambda o: o["id"])
        self.throttle = throttle_every_page
        self.queries: list[dict] = []
        self.throttled: set[int] = set()

    def __call__(self, request):
        query = json.loads(request.body)
        self.queries.append(query)
        last = query["id"]["gt"]
        if self.throttle and last not in self.throttled:
            self.throttled.add(last)
            return 429, {"Retry-After": "2"}, json.dumps({"error": "too many requests"})
        page = [o for o in self.offers if o["id"] > last][:query["limit"]]
        return 200, {}, json.dumps({"offers": page})


@pytest.fixture
def market():
    with responses.RequestsMock() as mock:
        server = Market(GOOD + DECOYS)
        mock.add_callback(responses.POST, API_URL, callback=server)
        yield server


def test_pages_throttles_and_skips_decoys(market):
    waits: list[float] = []
    result = VastProvider(page_size=3, sleep=waits.append).fetch(None)
    offers = result.offers.set_index(["instance_type", "pricing"])
    # Exactly the served prices of the genuine offers: on-demand dph_total, spot min_bid.
    served = {(r.instance_type, r.pricing): r.usd_per_hour for r in result.offers.itertuples()}
    assert served == {("1xRTX-4090-host1001-offer1", "on_demand"): 0.4,
                      ("1xRTX-4090-host1001-offer1", "spot"): 0.2,
                      ("8xH100-host1002-offer2", "on_demand"): 17.6,
                      ("8xH100-host1002-offer2", "spot"): 9.0,
                      ("2xRTX-A6000-host1003-offer3", "on_demand"): 0.9,
                      ("4xA100-80GB-host1005-offer5", "on_demand"): 4.4,
                      ("4xA100-80GB-host1005-offer5", "spot"): 2.1}
    assert offers.loc[("8xH100-host1002-offer2", "on_demand"), "reliability"] == 0.995
    assert offers.loc[("8xH100-host1002-offer2", "on_demand"), "region"] == "CA"
    # 9 offers in pages of 3 by id: 4 pages (the last short), each throttled once first.
    lasts = [q["id"]["gt"] for q in market.queries]
    assert lasts == [-1, -1, 3, 3, 6, 6, 9, 9]
    assert waits == [2.0] * 4
    assert result.failed_regions == {}


def test_requested_region_without_offers_fails_alone(market):
    result = VastProvider(sleep=lambda s: None).fetch(["ca", "JP"])
    assert set(result.offers["region"]) == {"CA"}
    assert set(result.failed_regions) == {"JP"}


def test_throttled_for_good_is_one_line():
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, API_URL, status=429, headers={"Retry-After": "1"})
        with pytest.raises(ProviderUnavailable, match="still throttled"):
            VastProvider(sleep=lambda s: None).fetch(None)
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, API_URL, body="<html>maintenance</html>")
        with pytest.raises(ProviderUnavailable, match="did not answer with offers"):
            VastProvider(sleep=lambda s: None).fetch(None)


@pytest.mark.parametrize(("text", "code"), [("Texas, US", "US"), ("CZ", "CZ"),
                                            ("", ""), ("Somewhere", "")])
def test_region_is_the_country_code(text, code):
    assert region_of(text) == code


def test_refresh_writes_served_prices_and_keeps_old_rows_on_failure(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path / "user"))
    lines: list[str] = []
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, API_URL, callback=Market(GOOD, False))
        [outcome] = refresh(["vast"], None, tmp_path, echo=lines.append,
                            today=dt.date(2026, 12, 1))
    assert outcome.ok, outcome
    written = read_snapshot_file(outcome.path)
    assert sorted(written["usd_per_hour"]) == [0.2, 0.4, 0.9, 2.1, 4.4, 9.0, 17.6]
    assert written["reliability"].notna().all() and not written["stale"].any()
    # The API then fails: nothing fetched, no new file, the old one stays as it was.
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, API_URL, status=503)
        [failed] = refresh(["vast"], None, tmp_path, echo=lines.append,
                           today=dt.date(2026, 12, 2))
    assert failed.error and "HTTP 503" in failed.error
    assert [p.name for p in (tmp_path / "vast").glob("*.csv")] == ["2026-12-01.csv"]
    assert read_snapshot_file(outcome.path).equals(written)


def test_min_reliability_filters_marketplace_hosts_only(tmp_path):
    with responses.RequestsMock() as mock:
        mock.add_callback(responses.POST, API_URL, callback=Market(GOOD, False))
        vast = VastProvider().fetch(None).offers
    path = write_snapshot(vast, tmp_path, "vast", dt.date(2026, 12, 1))
    offers = read_snapshot_file(path)
    aws = coerce_offers(offers.head(1).assign(provider="aws", region="us-east-1",
                                              reliability=float("nan"),
                                              instance_type="g6e.xlarge", gpu="L40S", gpu_count=1,
                                              gpu_memory_gib=48.0, usd_per_hour=5.0), "t")
    catalog = Catalog(offers=coerce_offers(pd.concat([offers, aws], ignore_index=True), "t"))
    now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    job = parse_job({"name": "j", "flops": 1e18, "utilization": 0.3, "deadline": "30d",
                     "constraints": {"min_reliability": 0.98, "spot": "allowed"}},
                    "job.yaml", now)
    plan = plan_job(job, catalog, now=now)
    kept = {a.instance_type for a in plan.allocations} | {
        a.instance_type for alt in plan.alternatives for a in alt.allocations}
    assert "2xRTX-A6000-host1003-offer3" not in kept  # reliability 0.90
    assert "4xA100-80GB-host1005-offer5" not in kept  # 0.97
    assert kept & {"1xRTX-4090-host1001-offer1", "8xH100-host1002-offer2", "g6e.xlarge"}
    with pytest.raises(InputError, match="min_reliability"):
        parse_job({"name": "j", "flops": 1e18, "deadline": "30d",
                   "constraints": {"min_reliability": 98}}, "job.yaml", now)

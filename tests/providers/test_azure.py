"""AzureProvider: the Retail Prices API answered by a loopback server shaped like it, and
by ``responses`` at the HTTP wire; `gpucost refresh --provider azure` end to end."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import pytest
import responses
from azure_retail_server import RetailServer, item

from gpucost.catalog.snapshot import read_snapshot_file
from gpucost.providers import get_provider
from gpucost.providers.azure import AzureProvider
from gpucost.providers.azure.items import linux_prices, pricing_of
from gpucost.providers.azure.retail import RetailPricesError, iter_items, odata_filter
from gpucost.providers.azure.sizes import sizes_from_resource_skus, table_sizes
from gpucost.providers.base import ProviderUnavailable
from gpucost.providers.sanity import ImplausiblePriceWarning

REPO = Path(__file__).resolve().parents[2]
H100 = "Standard_ND96isr_H100_v5"
A100 = "Standard_ND96amsr_A100_v4"
T4 = "Standard_NC4as_T4_v3"
CPU = "Standard_D4s_v5"


def market() -> list[dict]:
    """Two wanted regions and one other, with every kind of item the client must drop."""
    return [
        item("eastus", H100, 98.32),
        item("eastus", H100, 39.33, sku_suffix=" Spot"),
        item("eastus", H100, 10.0, sku_suffix=" Low Priority"),
        item("eastus", H100, 120.0, product_suffix=" Windows"),
        item("eastus", H100, 70.0, type_="DevTestConsumption"),
        item("eastus", H100, 500000.0, type_="Reservation"),
        item("eastus", H100, 2400.0, unit="1/Day"),
        item("eastus", CPU, 0.192),
        item("eastus", T4, 0.526),
        item("eastus", T4, 0.0526, sku_suffix=" Spot"),
        item("westus3", A100, 32.77),
        item("westus3", A100, 13.1, sku_suffix=" Spot"),
        item("westus3", A100, 33.0, currency="EUR"),
        item("southcentralus", H100, 98.32),
        item("southcentralus", T4, 0.55),
    ]


WANTED = {("eastus", H100, "on_demand"): 98.32, ("eastus", H100, "spot"): 39.33,
          ("eastus", T4, "on_demand"): 0.526, ("eastus", T4, "spot"): 0.0526,
          ("westus3", A100, "on_demand"): 32.77, ("westus3", A100, "spot"): 13.1}


def prices_of(offers: pd.DataFrame) -> dict:
    return {(r.region, r.instance_type, r.pricing): r.usd_per_hour
            for r in offers.itertuples()}


@pytest.fixture(autouse=True)
def no_azure_account(monkeypatch):
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)
    monkeypatch.delenv("GPUCOST_AZURE_PRICES_URL", raising=False)


def test_pricing_of_classifies_retail_items():
    assert pricing_of(item("eastus", H100, 1.0)) == "on_demand"
    assert pricing_of(item("eastus", H100, 1.0, sku_suffix=" Spot")) == "spot"
    assert pricing_of(item("eastus", H100, 1.0, type_="Spot")) == "spot"
    for dropped in (item("eastus", H100, 1.0, sku_suffix=" Low Priority"),
                    item("eastus", H100, 1.0, product_suffix=" Windows"),
                    item("eastus", H100, 1.0, type_="DevTestConsumption"),
                    item("eastus", H100, 1.0, type_="Reservation"),
                    item("eastus", H100, 1.0, unit="1/Month"),
                    item("eastus", H100, 1.0, currency="EUR")):
        assert pricing_of(dropped) is None, dropped


def test_filter_is_simple_eq_clauses():
    text = odata_filter(serviceName="Virtual Machines", armRegionName="eastus")
    assert text == "serviceName eq 'Virtual Machines' and armRegionName eq 'eastus'"
    assert odata_filter(armSkuName="it's") == "armSkuName eq 'it''s'"


def test_loopback_refresh_writes_exactly_the_linux_prices_of_requested_regions(tmp_path):
    """`gpucost refresh --provider azure --regions R1,R2 --out DIR` against a server paging
    by absolute NextPageLinks and answering every page first with 429 + Retry-After."""
    with RetailServer(market(), page_size=2, throttle_first=True, retry_after="0") as server:
        proc = subprocess.run(
            [sys.executable, "-m", "gpucost", "refresh", "--provider", "azure",
             "--regions", "eastus,westus3", "--out", str(tmp_path)],
            cwd=REPO, capture_output=True, text=True, timeout=120,
            env={**_env(), "GPUCOST_AZURE_PRICES_URL": server.url})
    assert proc.returncode == 0, proc.stderr
    assert server.throttled >= 4  # paging went through several throttled pages
    assert any("%24skip" in p or "$skip" in p for p in server.requests)
    files = list((tmp_path / "azure").glob("*.csv"))
    assert len(files) == 1
    offers = read_snapshot_file(files[0])
    assert prices_of(offers) == WANTED
    assert set(offers["source"]) == {"azure retail prices api (sizes table)"}
    h100 = offers[offers["instance_type"] == H100].iloc[0]
    assert (h100["gpu"], h100["gpu_count"], h100["rdma"], h100["gpu_link"]) == \
        ("H100", 8, True, "nvswitch")
    assert h100["network_gbps"] == 3200
    t4 = offers[offers["instance_type"] == T4].iloc[0]
    assert (t4["gpu"], bool(t4["rdma"]), t4["gpu_link"]) == ("T4", False, "")


def _env() -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if k != "AZURE_SUBSCRIPTION_ID"}
    env["PYTHONPATH"] = str(REPO)
    return env


def _responses_callback(items: list[dict], page_size: int = 2):
    """Serve ``items`` the way the API does, for ``responses``."""
    base = "https://prices.azure.com/api/retail/prices"

    def callback(request):
        import json

        query = parse_qs(urlsplit(request.url).query)
        region = query.get("$filter", [""])[0].split("armRegionName eq '")[-1].rstrip("'")
        chosen = [i for i in items if i["armRegionName"] == region]
        skip = int(query.get("$skip", ["0"])[0])
        rest = skip + page_size
        link = (f"{base}?api-version=2023-01-01-preview&$filter=armRegionName%20eq%20"
                f"%27{region}%27&$skip={rest}") if rest < len(chosen) else None
        return 200, {}, json.dumps({"Items": chosen[skip:rest], "NextPageLink": link})

    return base, callback


@responses.activate
def test_responses_fetch_pages_filters_and_retries_429():
    base, callback = _responses_callback(market())
    responses.add(responses.GET, base, status=429, headers={"Retry-After": "0.01"})
    responses.add_callback(responses.GET, base, callback=callback)
    waited: list[float] = []
    result = AzureProvider(sleep=waited.append).fetch(["eastus", "westus3"])
    assert waited == [0.01]
    assert prices_of(result.offers) == WANTED
    assert result.failed_regions == {}
    filters = [parse_qs(urlsplit(c.request.url).query).get("$filter") for c in responses.calls]
    assert ["serviceName eq 'Virtual Machines' and armRegionName eq 'eastus'"] in filters


@responses.activate
def test_region_with_a_non_json_page_fails_alone():
    base, callback = _responses_callback(market())

    def html_for_westus3(request):
        if "westus3" in request.url:
            return 200, {"Content-Type": "text/html"}, "<html>maintenance</html>"
        return callback(request)

    responses.add_callback(responses.GET, base, callback=html_for_westus3)
    result = AzureProvider(sleep=lambda s: None).fetch(["eastus", "westus3"])
    assert set(result.offers["region"]) == {"eastus"}
    assert "not JSON" in result.failed_regions["westus3"]
    assert "<html>maintenance" in result.failed_regions["westus3"]


def test_next_page_link_loop_is_one_line_error():
    with RetailServer(market(), page_size=4, loop=True) as server, \
            pytest.raises(RetailPricesError, match="NextPageLink loops back"):
        list(iter_items("serviceName eq 'Virtual Machines'", base_url=server.url))
    assert len(server.requests) < 10


@pytest.mark.parametrize(("server_options", "reason"), [
    ({"bad_page": 2}, "not JSON"),
    ({"loop": True}, "NextPageLink loops back"),
])
def test_cli_bad_pages_are_one_line_and_exit_1(tmp_path, server_options, reason):
    with RetailServer(market(), page_size=2, **server_options) as server:
        proc = subprocess.run(
            [sys.executable, "-m", "gpucost", "refresh", "--provider", "azure",
             "--regions", "eastus", "--out", str(tmp_path)],
            cwd=REPO, capture_output=True, text=True, timeout=120,
            env={**_env(), "GPUCOST_AZURE_PRICES_URL": server.url})
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr + proc.stdout
    assert reason in proc.stderr and "FAILED" in proc.stdout
    assert not (tmp_path / "azure").exists()


@responses.activate
def test_zero_and_implausible_spot_prices_are_dropped_with_a_warning():
    items = [item("eastus", H100, 98.32), item("eastus", H100, 0.0, sku_suffix=" Spot"),
             item("eastus", T4, 0.526), item("eastus", T4, 0.004, sku_suffix=" Spot"),
             item("eastus", A100, 32.77), item("eastus", A100, 13.1, sku_suffix=" Spot")]
    base, callback = _responses_callback(items, page_size=10)
    responses.add_callback(responses.GET, base, callback=callback)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = AzureProvider().fetch(["eastus"])
    assert prices_of(result.offers) == {("eastus", H100, "on_demand"): 98.32,
                                        ("eastus", T4, "on_demand"): 0.526,
                                        ("eastus", A100, "on_demand"): 32.77,
                                        ("eastus", A100, "spot"): 13.1}
    messages = [str(w.message) for w in caught if w.category is ImplausiblePriceWarning]
    assert len(messages) == 2
    assert any(f"azure eastus {H100}: spot price $0/h" in m for m in messages)
    assert any(f"azure eastus {T4}: spot price $0.004/h against $0.526" in m for m in messages)


@responses.activate
def test_without_regions_one_query_per_gpu_size():
    def by_size(request):
        import json

        text = parse_qs(urlsplit(request.url).query)["$filter"][0]
        size = text.split("armSkuName eq '")[-1].rstrip("'")
        return 200, {}, json.dumps({"Items": [i for i in market() if i["armSkuName"] == size],
                                    "NextPageLink": None})

    responses.add_callback(responses.GET, "https://prices.azure.com/api/retail/prices",
                           callback=by_size)
    result = AzureProvider().fetch(None)
    assert len(responses.calls) == len(table_sizes())
    assert set(result.offers["region"]) == {"eastus", "westus3", "southcentralus"}
    assert CPU not in set(result.offers["instance_type"])


@responses.activate
def test_every_page_failing_without_regions_is_provider_unavailable():
    responses.add(responses.GET, "https://prices.azure.com/api/retail/prices", status=404,
                  body="not here")
    with pytest.raises(ProviderUnavailable, match="HTTP 404"):
        AzureProvider().fetch(None)


def test_registry_and_env_override(monkeypatch):
    monkeypatch.setenv("GPUCOST_AZURE_PRICES_URL", "http://127.0.0.1:9/prices")
    from gpucost.providers.azure.retail import prices_url

    assert prices_url() == "http://127.0.0.1:9/prices"
    assert isinstance(get_provider("azure"), AzureProvider)


def test_sizes_table_covers_the_gpu_series():
    names = set(table_sizes())
    for size in (H100, "Standard_ND96isr_H200_v5", "Standard_ND96isr_MI300X_v5",
                 "Standard_ND96asr_v4", A100, "Standard_NC24ads_A100_v4",
                 "Standard_NC40ads_H100_v5", "Standard_NV36ads_A10_v5", T4):
        assert size in names
    from gpucost.catalog.gpus import is_known_gpu

    assert all(is_known_gpu(s.gpu) for s in table_sizes().values())


def test_resource_skus_override_hardware_and_map_rdma():
    from azure.mgmt.compute.models import ResourceSku, ResourceSkuCapabilities

    def sku(name, **caps):
        sku = ResourceSku()
        sku.name, sku.resource_type = name, "virtualMachines"  # read-only on the wire
        sku.capabilities = [ResourceSkuCapabilities() for _ in caps]
        for cap, (key, value) in zip(sku.capabilities, caps.items(), strict=True):
            cap.name, cap.value = key, value
        return sku

    skus = [sku(H100, vCPUs="96", MemoryGB="1900", GPUs="8", RdmaEnabled="True"),
            sku(T4, vCPUs="4", MemoryGB="28", GPUs="1"),
            sku(CPU, vCPUs="4", MemoryGB="16"),
            sku("Standard_NX99_Unknown_v9", vCPUs="8", MemoryGB="64", GPUs="1")]
    sizes = sizes_from_resource_skus(skus)
    assert set(sizes) == {H100, T4}
    assert sizes[H100].rdma is True and sizes[H100].source == "resource SKUs"
    assert sizes[T4].rdma is None and sizes[T4].vcpus == 4 and sizes[T4].gpu == "T4"


def test_linux_prices_keeps_the_lower_of_two_meters():
    items = [item("eastus", T4, 0.60), item("eastus", T4, 0.526)]
    (price,) = linux_prices(items, [T4], ["eastus"])
    assert math.isclose(price.usd_per_hour, 0.526)


def _azure_login_and_skus(skus_status: int = 200) -> None:
    """Microsoft Entra token endpoint and ARM resource SKUs answered at the wire."""
    import re

    login = r"https://login\.microsoftonline\.com/tenant"
    responses.add(responses.GET, re.compile(login + r"/v2\.0/\.well-known/openid-configuration"),
                  json={"token_endpoint": "https://login.microsoftonline.com/tenant/oauth2/v2.0/token",
                        "authorization_endpoint":
                            "https://login.microsoftonline.com/tenant/oauth2/v2.0/authorize",
                        "issuer": "https://login.microsoftonline.com/tenant/v2.0"})
    responses.add(responses.POST, re.compile(login + r"/oauth2/v2\.0/token"),
                  json={"token_type": "Bearer", "expires_in": 3600, "access_token": "tok"})
    skus = {"value": [
        {"resourceType": "virtualMachines", "name": H100, "locations": ["eastus"],
         "capabilities": [{"name": "vCPUs", "value": "96"},
                          {"name": "MemoryGB", "value": "1900"}, {"name": "GPUs", "value": "8"},
                          {"name": "RdmaEnabled", "value": "True"}]},
        {"resourceType": "virtualMachines", "name": T4, "locations": ["eastus"],
         "capabilities": [{"name": "vCPUs", "value": "4"}, {"name": "MemoryGB", "value": "28"},
                          {"name": "GPUs", "value": "1"}]},
        {"resourceType": "virtualMachines", "name": CPU, "locations": ["eastus"],
         "capabilities": [{"name": "vCPUs", "value": "4"}, {"name": "MemoryGB", "value": "16"}]}]}
    responses.add(responses.GET, re.compile(
        r"https://management\.azure\.com/subscriptions/sub-1/providers/Microsoft\.Compute/skus.*"),
        status=skus_status, json=skus if skus_status == 200 else {"error": {"code": "Denied"}})


def _credential():
    from azure.identity import ClientSecretCredential

    return ClientSecretCredential("tenant", "client", "secret", disable_instance_discovery=True)


@responses.activate
def test_hardware_from_resource_skus_with_credentials():
    _azure_login_and_skus()
    base, callback = _responses_callback(market())
    responses.add_callback(responses.GET, base, callback=callback)
    result = AzureProvider(subscription_id="sub-1", credential=_credential()).fetch(["eastus"])
    offers = result.offers
    # Only the GPU sizes the subscription's SKU list has are offered, with its figures.
    assert set(offers["instance_type"]) == {H100, T4}
    assert set(offers["source"]) == {"azure retail prices api (resource SKUs)"}
    h100 = offers[offers["instance_type"] == H100].iloc[0]
    assert bool(h100["rdma"]) and h100["vcpus"] == 96


@responses.activate
def test_denied_resource_skus_fall_back_to_the_sizes_table(caplog):
    _azure_login_and_skus(skus_status=403)
    base, callback = _responses_callback(market())
    responses.add_callback(responses.GET, base, callback=callback)
    result = AzureProvider(subscription_id="sub-1", credential=_credential()).fetch(["eastus"])
    assert set(result.offers["source"]) == {"azure retail prices api (sizes table)"}
    assert "resource SKUs unavailable" in caplog.text

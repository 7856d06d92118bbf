"""LambdaProvider: the instance-types API answered by ``responses`` at the HTTP wire."""

from __future__ import annotations

import pytest
import responses

from gpucost.providers import get_provider
from gpucost.providers.base import ProviderUnavailable
from gpucost.providers.lambda_cloud import LambdaProvider
from gpucost.providers.lambda_cloud.provider import API_URL, gpu_of


def entry(name, cents, gpu_description, gpus, vcpus, memory, regions):
    return {"instance_type": {
        "name": name, "price_cents_per_hour": cents,
        "description": f"{gpus}x {gpu_description}", "gpu_description": gpu_description,
        "specs": {"vcpus": vcpus, "memory_gib": memory, "storage_gib": 1000, "gpus": gpus}},
        "regions_with_capacity_available": [{"name": r, "description": r} for r in regions]}


ANSWER = {"data": {
    "gpu_8x_h100_sxm5": entry("gpu_8x_h100_sxm5", 2392, "H100 (80 GB SXM5)", 8, 208, 1800,
                              ["us-east-1"]),
    "gpu_1x_h100_pcie": entry("gpu_1x_h100_pcie", 249, "H100 (80 GB PCIe)", 1, 26, 200,
                              ["us-west-1"]),
    "gpu_1x_a100_sxm4": entry("gpu_1x_a100_sxm4", 129, "A100 (40 GB SXM4)", 1, 30, 200, []),
    "gpu_8x_v100": entry("gpu_8x_v100", 440, "Tesla V100 (16 GB)", 8, 88, 448, []),
    "cpu_4x_general": entry("cpu_4x_general", 10, "", 0, 4, 16, ["us-east-1"]),
}}


@pytest.fixture(autouse=True)
def key(monkeypatch):
    monkeypatch.setenv("LAMBDA_API_KEY", "secret-key")
    monkeypatch.delenv("GPUCOST_LAMBDA_API_URL", raising=False)


def test_gpu_descriptions_resolve_through_the_alias_table():
    assert gpu_of("H100 (80 GB SXM5)") == ("H100", 80.0)
    assert gpu_of("H100 (80 GB PCIe)") == ("H100-PCIe", 80.0)
    assert gpu_of("A100 (40 GB SXM4)") == ("A100-40GB", 40.0)
    assert gpu_of("A100 (80 GB SXM4)") == ("A100-80GB", 80.0)
    assert gpu_of("Tesla V100 (16 GB)") == ("V100-16GB", 16.0)
    assert gpu_of("no gpu") is None


@responses.activate
def test_fetch_prices_every_type_in_every_listed_region():
    responses.add(responses.GET, API_URL, json=ANSWER)
    result = get_provider("lambda").fetch(None)
    assert responses.calls[0].request.headers["Authorization"] == "Bearer secret-key"
    offers = result.offers
    assert sorted(set(offers["region"])) == ["us-east-1", "us-west-1"]
    assert len(offers) == 8  # 4 GPU types x 2 regions; the CPU type is not an offer
    assert set(offers["pricing"]) == {"on_demand"}
    h100 = offers[(offers["instance_type"] == "gpu_8x_h100_sxm5")].iloc[0]
    assert (h100["gpu"], h100["gpu_count"], h100["usd_per_hour"], h100["vcpus"]) == \
        ("H100", 8, 23.92, 208)
    assert (h100["gpu_link"], bool(h100["rdma"])) == ("nvswitch", False)
    pcie = offers[(offers["instance_type"] == "gpu_1x_h100_pcie")].iloc[0]
    assert (pcie["gpu"], pcie["usd_per_hour"], pcie["gpu_link"]) == ("H100-PCIe", 2.49, "")


@responses.activate
def test_requested_region_lambda_does_not_list_fails_alone():
    responses.add(responses.GET, API_URL, json=ANSWER)
    result = LambdaProvider().fetch(["us-east-1", "mars-1"])
    assert set(result.offers["region"]) == {"us-east-1"}
    assert set(result.failed_regions) == {"mars-1"}


def test_no_key_is_one_line(monkeypatch):
    monkeypatch.delenv("LAMBDA_API_KEY")
    with pytest.raises(ProviderUnavailable, match="set LAMBDA_API_KEY"):
        LambdaProvider().fetch(None)


@responses.activate
def test_refused_key_and_html_answers_are_one_line():
    responses.add(responses.GET, API_URL, status=401, json={"error": "unauthorized"})
    with pytest.raises(ProviderUnavailable, match="HTTP 401"):
        LambdaProvider().fetch(None)
    responses.replace(responses.GET, API_URL, body="<html>login</html>", status=200)
    with pytest.raises(ProviderUnavailable, match="did not answer with instance types"):
        LambdaProvider().fetch(None)

"""The GCP adapter's pure parts: description parser, price book, machine/accelerator
parsers, n1 shape rule, price arithmetic. Pages are the JSON fixtures parsed strictly
into the SDK's own message types (unknown fields would fail), so they match the API."""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import pytest
from google.cloud import billing_v1, compute_v1

from gpucost.providers.gcp.accelerators import attachable_candidates, n1_shapes
from gpucost.providers.gcp.billing import (
    ParsedDescription,
    build_price_book,
    money_to_decimal,
    parse_description,
)
from gpucost.providers.gcp.machines import (
    MACHINE_TYPE_FILTER,
    bundled_candidates,
    region_of,
    unreachable_regions,
    zone_of_scope,
)
from gpucost.providers.gcp.pricing import MissingSku, Shape, family_of, instance_price
from gpucost.providers.gcp.rows import gpu_of

DATA = Path(__file__).parent / "gcp_data"


def load(stem: str, message: type) -> list:
    return [message.from_json(p.read_text(), ignore_unknown_fields=False)
            for p in sorted(DATA.glob(f"{stem}_page*.json"))]


def sku(description: str, usage: str = "OnDemand", group: str = "GPU", *, regions=("r1",),
        price: str = "1.5", unit: str = "h", family: str = "Compute",
        currency: str = "USD") -> billing_v1.Sku:
    units, _, frac = price.partition(".")
    nanos = int((frac + "000000000")[:9])
    return billing_v1.Sku(
        sku_id="0000-0000-0000", description=description, service_regions=list(regions),
        category={"resource_family": family, "resource_group": group, "usage_type": usage},
        pricing_info=[{"pricing_expression": {"usage_unit": unit, "tiered_rates": [
            {"start_usage_amount": 0,
             "unit_price": {"currency_code": currency, "units": int(units), "nanos": nanos}}]}}])


@pytest.mark.parametrize(("description", "expected"), [
    ("A2 Instance Core running in Americas", ("a2 instance", "core", False, "Americas")),
    ("A2 Instance Ram running in Americas", ("a2 instance", "ram", False, "Americas")),
    ("Spot Preemptible A2 Instance Core running in Americas", ("a2 instance", "core", True,
                                                               "Americas")),
    ("Nvidia Tesla A100 GPU running in Americas", ("nvidia tesla a100", "gpu", False,
                                                   "Americas")),
    ("Nvidia Tesla A100 80GB GPU running in Belgium", ("nvidia tesla a100 80gb", "gpu", False,
                                                       "Belgium")),
    ("Nvidia L4 GPU attached to Spot Preemptible VMs running in Salt Lake City",
     ("nvidia l4", "gpu", True, "Salt Lake City")),
    ("Spot Preemptible Nvidia L4 GPU running in Virginia", ("nvidia l4", "gpu", True,
                                                            "Virginia")),
    ("NVIDIA H100 80GB GPU running in Americas", ("nvidia h100 80gb", "gpu", False, "Americas")),
    ("N1 Predefined Instance Core running in Americas", ("n1 predefined instance", "core",
                                                         False, "Americas")),
    ("G2 Instance  Ram running in  Netherlands", ("g2 instance", "ram", False, "Netherlands")),
])
def test_parse_description(description: str, expected: tuple) -> None:
    assert parse_description(description) == ParsedDescription(*expected)


@pytest.mark.parametrize("description", [
    "Commitment v1: A2 Cpu in Americas for 1 Year",
    "Commitment v1: Nvidia Tesla A100 GPU running in Americas for 1 Year",
    "Nvidia H100 80GB GPU running in Americas (DWS Defined Duration)",
    "Nvidia L4 GPU Virtual Workstation running in Americas",
    "Balanced PD Capacity in Americas",
    "SSD backed Local Storage in Iowa",
    "A2 Instance Core",
])
def test_parse_description_rejects_other_skus(description: str) -> None:
    assert parse_description(description) is None


def test_money_is_exact() -> None:
    assert money_to_decimal("2", 933908000) == D("2.933908")
    assert money_to_decimal(9, 796550569) == D("9.796550569")
    assert money_to_decimal("0", 4237000) * 85 == D("0.360145")


def test_price_book_keys_and_filters() -> None:
    book = build_price_book([
        sku("Nvidia Tesla T4 GPU running in Americas", regions=("us-central1", "us-east1"),
            price="0.35"),
        sku("Nvidia Tesla T4 GPU attached to Spot Preemptible VMs running in Americas",
            "Preemptible", regions=("us-central1",), price="0.14"),
        sku("N1 Predefined Instance Ram running in Americas", group="N1Standard",
            regions=("us-central1",), price="0.004237", unit="GiBy.h"),
        # rejected: commitment usage, spot text with OnDemand usage, storage family,
        # RAM billed per month, GPU outside the GPU group, zero price, other currency
        sku("Nvidia Tesla V100 GPU running in Americas", "Commit1Yr", price="1.0"),
        sku("Spot Preemptible N1 Predefined Instance Core running in Americas", group="CPU"),
        sku("Nvidia Tesla P4 GPU running in Americas", family="Storage"),
        sku("A2 Instance Ram running in Americas", group="RAM", unit="GiBy.mo"),
        sku("Nvidia Tesla P100 GPU running in Americas", group="CPU"),
        sku("Nvidia Tesla K80 GPU running in Americas", price="0.0"),
        sku("G2 Instance Core running in Americas", group="CPU", currency="EUR"),
    ])
    assert book == {
        ("us-central1", "on_demand", "gpu", "nvidia tesla t4"): D("0.35"),
        ("us-east1", "on_demand", "gpu", "nvidia tesla t4"): D("0.35"),
        ("us-central1", "spot", "gpu", "nvidia tesla t4"): D("0.14"),
        ("us-central1", "on_demand", "ram", "n1 predefined instance"): D("0.004237"),
    }


@pytest.mark.parametrize("order", [1, -1])
def test_price_book_prefers_the_most_specific_sku(order: int) -> None:
    skus = [sku("Nvidia L4 GPU running in Americas", regions=("us-central1", "us-east4"),
                price="0.56"),
            sku("Nvidia L4 GPU running in Iowa", regions=("us-central1",), price="0.58")]
    book = build_price_book(skus[::order])
    assert book[("us-central1", "on_demand", "gpu", "nvidia l4")] == D("0.58")
    assert book[("us-east4", "on_demand", "gpu", "nvidia l4")] == D("0.56")


def test_fixture_skus_build_the_book() -> None:
    responses = load("skus", billing_v1.ListSkusResponse)
    book = build_price_book(s for page in responses for s in page.skus)
    assert book[("us-central1", "on_demand", "gpu", "nvidia tesla a100")] == D("2.933908")
    assert book[("us-west1", "spot", "core", "a2 instance")] == D("0.012644")
    assert book[("europe-west4", "on_demand", "gpu", "nvidia tesla p100")] == D("1.46")
    assert not any(stem.startswith("commitment") for *_, stem in book)
    assert ("us-central1", "on_demand", "gpu", "nvidia tesla t4 virtual workstation") in book
    assert not any(region == "me-west1" for region, *_ in book)


def test_zone_and_region_names() -> None:
    assert region_of("us-central1-a") == "us-central1"
    assert region_of("northamerica-northeast2-b") == "northamerica-northeast2"
    with pytest.raises(ValueError, match="not a GCP zone"):
        region_of("us-central1")
    assert zone_of_scope("zones/europe-west4-a") == "europe-west4-a"
    assert zone_of_scope("regions/us-central1") is None
    assert zone_of_scope("global") is None
    assert family_of("a3-highgpu-8g") == "a3" and family_of("n1-standard-8") == "n1"
    assert MACHINE_TYPE_FILTER == 'name eq "(a2|a3|g2)-.*"'


def test_bundled_candidates_group_zones_by_region() -> None:
    pages = load("machine_types", compute_v1.MachineTypeAggregatedList)
    found = {(c.region, c.instance_type): c for c in bundled_candidates(pages)}
    assert sorted(found) == [
        ("europe-west4", "a3-highgpu-8g"), ("europe-west4", "g2-standard-4"),
        ("me-west1", "a2-highgpu-1g"),
        ("us-central1", "a2-highgpu-1g"), ("us-central1", "a3-highgpu-8g"),
        ("us-central1", "g2-standard-4")]  # a2-megagpu-16g is OBSOLETE
    a2 = found[("us-central1", "a2-highgpu-1g")]
    assert a2.zones == ("us-central1-a", "us-central1-b", "us-central1-c")
    assert a2.shape == Shape("a2", "nvidia-tesla-a100", 1, 12, 85.0)
    assert found[("us-central1", "a3-highgpu-8g")].shape == Shape("a3", "nvidia-h100-80gb", 8,
                                                                  208, 1872.0)


def test_unreachable_zones_fail_their_region() -> None:
    machine_pages = load("machine_types", compute_v1.MachineTypeAggregatedList)
    assert unreachable_regions(machine_pages) == {
        "asia-east1": "zone(s) unreachable: asia-east1-c"}
    page = compute_v1.MachineTypeAggregatedList(unreachables=["zones/us-west4-b",
                                                              "zones/us-west4-a"])
    assert unreachable_regions([page]) == {"us-west4": "zone(s) unreachable: us-west4-a, "
                                                       "us-west4-b"}


@pytest.mark.parametrize(("accelerator", "max_cards", "expected"), [
    ("nvidia-tesla-v100", 8, [("n1-standard-8+1xV100-16GB", 1, 8, 30.0),
                              ("n1-standard-16+2xV100-16GB", 2, 16, 60.0),
                              ("n1-standard-32+4xV100-16GB", 4, 32, 120.0),
                              ("n1-standard-64+8xV100-16GB", 8, 64, 240.0)]),
    ("nvidia-tesla-t4", 4, [("n1-standard-8+1xT4", 1, 8, 30.0),
                            ("n1-standard-16+2xT4", 2, 16, 60.0),
                            ("n1-standard-32+4xT4", 4, 32, 120.0)]),
    ("nvidia-tesla-t4", 2, [("n1-standard-8+1xT4", 1, 8, 30.0),
                            ("n1-standard-16+2xT4", 2, 16, 60.0)]),
    ("nvidia-tesla-p4", 1, [("n1-standard-8+1xnvidia-tesla-p4", 1, 8, 30.0)]),
    ("nvidia-tesla-a100", 16, []),  # comes with a2 machine types, never attached to n1
])
def test_n1_shape_rule(accelerator: str, max_cards: int, expected: list) -> None:
    got = [(name, s.gpu_count, s.vcpus, s.memory_gib) for name, s in
           n1_shapes(accelerator, max_cards)]
    assert got == expected


def test_n1_shapes_respect_vcpu_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    from gpucost.providers.gcp import accelerators

    monkeypatch.setitem(accelerators.N1_VCPU_LIMITS, "nvidia-tesla-v100", {1: 6, 2: 12})
    got = [(name, s.vcpus) for name, s in n1_shapes("nvidia-tesla-v100", 8)]
    assert got == [("n1-standard-4+1xV100-16GB", 4), ("n1-standard-8+2xV100-16GB", 8)]


def test_attachable_candidates_from_accelerator_pages() -> None:
    pages = load("accelerator_types", compute_v1.AcceleratorTypeAggregatedList)
    found = {(c.region, c.instance_type): c.zones for c in attachable_candidates(pages)}
    assert found[("us-central1", "n1-standard-8+1xT4")] == ("us-central1-a", "us-central1-b")
    assert found[("us-central1", "n1-standard-64+8xV100-16GB")] == ("us-central1-a",)
    assert found[("europe-west4", "n1-standard-32+4xnvidia-tesla-p100")] == ("europe-west4-a",)
    assert len(found) == 3 + 4 + 3 + 3  # T4 us, V100 us, T4 eu, P100 eu
    assert not any("A100" in name for _, name in found)


def test_instance_price_is_gpus_plus_cores_plus_ram() -> None:
    book = {("r1", "on_demand", "gpu", "nvidia l4"): D("0.560040"),
            ("r1", "on_demand", "core", "g2 instance"): D("0.024988"),
            ("r1", "on_demand", "ram", "g2 instance"): D("0.002928")}
    shape = Shape("g2", "nvidia-l4", 2, 24, 96.0)
    assert instance_price(book, "r1", "on_demand", shape) == (
        2 * D("0.560040") + 24 * D("0.024988") + 96 * D("0.002928"))
    with pytest.raises(MissingSku, match="no spot gpu SKU 'nvidia l4' in r1"):
        instance_price(book, "r1", "spot", shape)
    with pytest.raises(MissingSku, match="no on_demand core SKU 'g2 instance' in r2"):
        instance_price({("r2", "on_demand", "gpu", "nvidia l4"): D(1)}, "r2", "on_demand", shape)
    with pytest.raises(MissingSku, match="machine family 'a4'"):
        instance_price(book, "r1", "on_demand", Shape("a4", "nvidia-b200", 8, 224, 3968.0))
    with pytest.raises(MissingSku, match="accelerator 'nvidia-rtx-pro-6000'"):
        instance_price(book, "r1", "on_demand", Shape("g2", "nvidia-rtx-pro-6000", 1, 4, 16.0))


def test_gpu_names_and_memory() -> None:
    assert gpu_of("nvidia-tesla-a100") == ("A100-40GB", 40.0)
    assert gpu_of("nvidia-a100-80gb") == ("A100-80GB", 80.0)
    assert gpu_of("nvidia-h100-mega-80gb") == ("H100", 80.0)
    assert gpu_of("nvidia-l4") == ("L4", 24.0)
    assert gpu_of("nvidia-tesla-p100") == ("nvidia-tesla-p100", 16.0)
    assert gpu_of("nvidia-future-96gb") == ("nvidia-future-96gb", 96.0)
    assert gpu_of("nvidia-mystery") == ("nvidia-mystery", None)


def test_fixture_pages_are_real_api_shapes() -> None:
    # from_json(ignore_unknown_fields=False) above rejects misspelt fields; check content too
    skus = [s for page in load("skus", billing_v1.ListSkusResponse) for s in page.skus]
    a100 = next(s for s in skus if s.sku_id == "039F-D0DA-4055")
    assert a100.category.resource_group == "GPU"
    rate = a100.pricing_info[0].pricing_expression.tiered_rates[-1].unit_price
    assert (rate.units, rate.nanos) == (2, 933908000)
    machine_pages = load("machine_types", compute_v1.MachineTypeAggregatedList)
    assert [p.next_page_token for p in machine_pages] == ["mt-page-2", ""]
    g2 = machine_pages[0].items["zones/us-central1-a"].machine_types[1]
    assert (g2.name, g2.accelerators[0].guest_accelerator_type) == ("g2-standard-4", "nvidia-l4")

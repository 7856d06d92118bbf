"""On-demand prices: the PriceList parser, and get_products through botocore's Stubber."""

from __future__ import annotations

import json

import pytest

from gpucost.providers.aws.pricing import (
    OnDemandPrice,
    fetch_on_demand_prices,
    parse_price_list,
    parse_price_list_item,
    price_filters,
)


def test_parse_real_shaped_item(price_item):
    parsed = parse_price_list_item(price_item("p4d.24xlarge", "us-east-1", "32.7726000000"))
    assert parsed == OnDemandPrice("us-east-1", "p4d.24xlarge", 32.7726)


def test_parse_item_with_several_terms_takes_lowest_positive_hourly(price_item):
    extra = {"OTHER.TERM": {"priceDimensions": {
        "a": {"unit": "Hrs", "pricePerUnit": {"USD": "0.9000000000"}},
        "b": {"unit": "Hrs", "pricePerUnit": {"USD": "0.0000000000"}},  # placeholder
        "c": {"unit": "Quantity", "pricePerUnit": {"USD": "0.1000000000"}},  # not hourly
    }}}
    parsed = parse_price_list_item(price_item("g5.xlarge", "us-east-1", "1.0060000000",
                                              extra_terms=extra))
    assert parsed is not None and parsed.usd_per_hour == pytest.approx(0.9)


@pytest.mark.parametrize("usd", [None, "0.0000000000", "n/a"])
def test_parse_item_without_usable_usd_price_is_none(price_item, usd):
    assert parse_price_list_item(price_item("g5.xlarge", "cn-north-1", usd)) is None


def test_parse_item_without_on_demand_terms_is_none(price_item):
    item = json.loads(price_item("g5.xlarge", "us-east-1", "1.006"))
    item["terms"] = {"Reserved": item["terms"]["OnDemand"]}
    assert parse_price_list_item(json.dumps(item)) is None


def test_parse_price_list_keys_by_region_and_keeps_lowest_duplicate(price_item):
    prices = parse_price_list([
        price_item("g5.xlarge", "us-east-1", "1.0060000000"),
        price_item("g5.xlarge", "eu-west-1", "1.1230000000"),
        price_item("g5.xlarge", "us-east-1", "1.2000000000"),
        price_item("g5.xlarge", "us-west-2", None),
    ])
    assert prices == {("us-east-1", "g5.xlarge"): 1.006, ("eu-west-1", "g5.xlarge"): 1.123}


def test_filters_match_the_service_model():
    filters = price_filters("p5.48xlarge", "us-west-2")
    fields = {f["Field"]: f["Value"] for f in filters}
    assert fields == {"instanceType": "p5.48xlarge", "regionCode": "us-west-2",
                      "operatingSystem": "Linux", "tenancy": "Shared", "preInstalledSw": "NA",
                      "capacitystatus": "Used", "locationType": "AWS Region"}
    assert {f["Type"] for f in filters} == {"TERM_MATCH"}
    assert "regionCode" not in {f["Field"] for f in price_filters("p5.48xlarge")}


@pytest.fixture
def pricing_client(aws_env):
    import boto3

    return boto3.client("pricing", region_name="us-east-1")


def test_fetch_follows_next_token_across_pages(pricing_client, price_item):
    from botocore.stub import Stubber

    base = {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
            "Filters": price_filters("p4d.24xlarge")}
    with Stubber(pricing_client) as stub:
        stub.add_response("get_products", {
            "FormatVersion": "aws_v1", "NextToken": "page-2",
            "PriceList": [price_item("p4d.24xlarge", "us-east-1", "32.7726000000")]}, base)
        stub.add_response("get_products", {
            "FormatVersion": "aws_v1",
            "PriceList": [price_item("p4d.24xlarge", "us-west-2", "32.7726000000"),
                          price_item("p4d.24xlarge", "eu-west-1", "35.3979000000")]},
            {**base, "NextToken": "page-2"})
        prices = fetch_on_demand_prices(pricing_client, "p4d.24xlarge")
        stub.assert_no_pending_responses()
    assert prices == {("us-east-1", "p4d.24xlarge"): 32.7726,
                      ("us-west-2", "p4d.24xlarge"): 32.7726,
                      ("eu-west-1", "p4d.24xlarge"): 35.3979}


def test_fetch_with_region_filter_and_empty_answer(pricing_client):
    from botocore.stub import Stubber

    with Stubber(pricing_client) as stub:
        stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": []},
                          {"ServiceCode": "AmazonEC2", "FormatVersion": "aws_v1",
                           "Filters": price_filters("g6.xlarge", "ap-south-1")})
        assert fetch_on_demand_prices(pricing_client, "g6.xlarge", "ap-south-1") == {}
        stub.assert_no_pending_responses()

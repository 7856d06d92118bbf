"""Spot prices: latest price per zone, cheapest zone, and the paginated EC2 call (Stubber)."""

from __future__ import annotations

import datetime as dt

import pytest

from gpucost.providers.aws.spot import (
    TYPES_PER_CALL,
    SpotPrice,
    cheapest_zone,
    fetch_spot_prices,
    latest_spot_per_zone,
)

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


def _record(instance_type: str, zone: str, price: str, minutes_ago: int) -> dict:
    return {"AvailabilityZone": zone, "InstanceType": instance_type,
            "ProductDescription": "Linux/UNIX", "SpotPrice": price,
            "Timestamp": T0 - dt.timedelta(minutes=minutes_ago)}


def test_latest_price_per_zone_wins_regardless_of_order():
    records = [_record("g5.xlarge", "us-east-1a", "0.40", 5),
               _record("g5.xlarge", "us-east-1a", "0.90", 60),  # older, more expensive
               _record("g5.xlarge", "us-east-1b", "0.30", 120),
               _record("g5.xlarge", "us-east-1b", "0.55", 1)]   # newer, more expensive
    assert latest_spot_per_zone(records) == {("g5.xlarge", "us-east-1a"): 0.40,
                                             ("g5.xlarge", "us-east-1b"): 0.55}


def test_cheapest_zone_per_type_ignores_zero_and_breaks_ties_by_zone():
    best = cheapest_zone({("g5.xlarge", "us-east-1c"): 0.41, ("g5.xlarge", "us-east-1a"): 0.52,
                          ("g5.xlarge", "us-east-1d"): 0.0,
                          ("p5.48xlarge", "us-east-1f"): 30.0,
                          ("p5.48xlarge", "us-east-1b"): 30.0})
    assert best == {"g5.xlarge": SpotPrice("g5.xlarge", "us-east-1c", 0.41),
                    "p5.48xlarge": SpotPrice("p5.48xlarge", "us-east-1b", 30.0)}


@pytest.fixture
def ec2_client(aws_env):
    import boto3

    return boto3.client("ec2", region_name="us-east-1")


def test_fetch_spot_paginates_and_picks_cheapest_zone(ec2_client):
    from botocore.stub import Stubber

    params = {"InstanceTypes": ["g5.xlarge", "p4d.24xlarge"],
              "ProductDescriptions": ["Linux/UNIX"], "StartTime": T0}
    with Stubber(ec2_client) as stub:
        stub.add_response("describe_spot_price_history", {
            "NextToken": "next", "SpotPriceHistory": [
                _record("g5.xlarge", "us-east-1a", "0.4500", 3),
                _record("p4d.24xlarge", "us-east-1b", "9.8000", 10)]}, params)
        stub.add_response("describe_spot_price_history", {
            "NextToken": "", "SpotPriceHistory": [
                _record("g5.xlarge", "us-east-1c", "0.3900", 7),
                _record("g5.xlarge", "us-east-1c", "0.2000", 900)]},  # stale, ignored
            {**params, "NextToken": "next"})
        quotes = fetch_spot_prices(ec2_client, ["p4d.24xlarge", "g5.xlarge"], now=T0)
        stub.assert_no_pending_responses()
    assert quotes == {"g5.xlarge": SpotPrice("g5.xlarge", "us-east-1c", 0.39),
                      "p4d.24xlarge": SpotPrice("p4d.24xlarge", "us-east-1b", 9.8)}


def test_fetch_spot_splits_long_type_lists(ec2_client):
    from botocore.stub import Stubber

    names = sorted(f"g5.type{i:03d}" for i in range(TYPES_PER_CALL + 3))
    with Stubber(ec2_client) as stub:
        for chunk in (names[:TYPES_PER_CALL], names[TYPES_PER_CALL:]):
            stub.add_response("describe_spot_price_history", {"SpotPriceHistory": []},
                              {"InstanceTypes": chunk, "ProductDescriptions": ["Linux/UNIX"],
                               "StartTime": T0})
        assert fetch_spot_prices(ec2_client, names, now=T0) == {}
        stub.assert_no_pending_responses()

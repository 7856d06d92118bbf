"""Spot prices that cannot be right are dropped, each with a warning naming the offer."""

from __future__ import annotations

import pandas as pd
import pytest

from gpucost.providers.sanity import ImplausiblePriceWarning, drop_implausible_spot


def rows(*entries):
    return pd.DataFrame([{"provider": p, "region": r, "instance_type": t, "pricing": m,
                          "usd_per_hour": price} for p, r, t, m, price in entries])


def test_zero_and_below_one_percent_spot_dropped_others_kept():
    table = rows(("aws", "us-east-1", "p5.48xlarge", "on_demand", 55.04),
                 ("aws", "us-east-1", "p5.48xlarge", "spot", 0.5),       # 0.9%: dropped
                 ("aws", "us-east-1", "g5.xlarge", "on_demand", 1.006),
                 ("aws", "us-east-1", "g5.xlarge", "spot", 0.0101),      # 1.004%: kept
                 ("gcp", "us-central1", "a2-highgpu-1g", "spot", 0.0),   # zero: dropped
                 ("gcp", "us-central1", "g2-standard-4", "spot", 0.22))  # no on-demand: kept
    with pytest.warns(ImplausiblePriceWarning) as caught:
        kept = drop_implausible_spot(table)
    assert list(zip(kept["instance_type"], kept["pricing"], strict=True)) == [
        ("p5.48xlarge", "on_demand"), ("g5.xlarge", "on_demand"), ("g5.xlarge", "spot"),
        ("g2-standard-4", "spot")]
    messages = sorted(str(w.message) for w in caught)
    assert messages == [
        "aws us-east-1 p5.48xlarge: spot price $0.5/h against $55.04 on demand cannot be "
        "right; offer dropped",
        "gcp us-central1 a2-highgpu-1g: spot price $0/h cannot be right; offer dropped"]


def test_nothing_to_drop_returns_rows_unchanged():
    table = rows(("aws", "us-east-1", "p5.48xlarge", "on_demand", 55.04))
    assert drop_implausible_spot(table) is table

"""Filtering, cost-efficiency columns and sorting of the offer table (catalog/query.py).

The ``query_offers`` fixture (conftest.py) holds QUERY_ROWS: H100 on-demand/spot on AWS,
an H100 spot on GCP, A100 40/80 GB, a V100, an L4 and a K80 (not in the spec table).
"""

from __future__ import annotations

import itertools
import math

import pandas as pd
import pytest

from gpucost.catalog.query import (
    COST_COLUMNS,
    SORT_KEYS,
    OfferFilter,
    filter_offers,
    resolve_gpu_names,
    sort_by,
    with_cost_columns,
)
from gpucost.catalog.schema import OFFER_COLUMNS
from gpucost.errors import InputError


def _types(df: pd.DataFrame) -> list[tuple[str, str, str]]:
    return sorted(zip(df["provider"], df["instance_type"], df["pricing"], strict=True))


def test_no_filter_keeps_everything(query_offers):
    out = filter_offers(query_offers, OfferFilter())
    pd.testing.assert_frame_equal(out, query_offers)


@pytest.mark.parametrize("name", ["H100", "h100", "nvidia-h100-80gb", "NVIDIA H100 80GB HBM3",
                                  "h100_sxm"])
def test_filter_gpu_canonical_and_alias(query_offers, name):
    out = filter_offers(query_offers, OfferFilter(gpus=(name,)))
    assert _types(out) == [("aws", "p5.48xlarge", "on_demand"), ("aws", "p5.48xlarge", "spot"),
                           ("gcp", "a3-highgpu-8g", "spot")]


def test_filter_several_gpus(query_offers):
    out = filter_offers(query_offers, OfferFilter(gpus=("NVIDIA A100-SXM4-80GB", "nvidia-l4")))
    assert set(out["gpu"]) == {"A100-80GB", "L4"}
    assert len(out) == 2


def test_filter_unknown_gpu_present_in_offers(query_offers):
    out = filter_offers(query_offers, OfferFilter(gpus=("K80",)))
    assert out["instance_type"].tolist() == ["n1-standard-8+1xK80"]


def test_filter_family_name_matches_every_variant(query_offers):
    out = filter_offers(query_offers, OfferFilter(gpus=("A100",)))
    assert set(out["gpu"]) == {"A100-40GB", "A100-80GB"} and len(out) == 2
    v100 = filter_offers(query_offers, OfferFilter(gpus=("v100",)))
    assert v100["instance_type"].tolist() == ["p3.2xlarge"]


@pytest.mark.parametrize("name", ["NOPE", "K8O", "H1000", ""])
def test_filter_unresolvable_gpu_is_input_error(query_offers, name):
    with pytest.raises(InputError) as info:
        filter_offers(query_offers, OfferFilter(gpus=(name,)))
    assert info.value.where == "--gpu"
    assert repr(name) in str(info.value)
    assert "(closest first)" in str(info.value)


def test_filters_match_names_case_insensitively(query_offers):
    upper = filter_offers(query_offers, OfferFilter(providers=("GCP",), regions=("EUROPE-WEST4",),
                                                    gpus=("k80",)))
    assert upper["instance_type"].tolist() == ["n1-standard-8+1xK80"]


@pytest.mark.parametrize(("spec", "field", "closest"), [
    (OfferFilter(providers=("azure",)), "provider", None),
    (OfferFilter(providers=("gpc",)), "provider", "gcp"),
    (OfferFilter(regions=("us-east-1x",)), "region", "us-east-1"),
])
def test_unknown_provider_or_region_filter_lists_known_values(query_offers, spec, field,
                                                                closest):
    with pytest.raises(InputError) as info:
        filter_offers(query_offers, spec)
    assert info.value.field == field
    known = str(info.value).split("known: ")[1]
    if closest:
        assert known.startswith(closest + ",")


def test_resolve_gpu_names():
    assert resolve_gpu_names(["nvidia-tesla-t4", "H100"], "--gpu") == ["T4", "H100"]
    assert resolve_gpu_names(["A100", "a100-80gb"], "--gpu") == ["A100-40GB", "A100-80GB"]
    assert resolve_gpu_names(["Custom"], "--gpu", known=["Custom"]) == ["Custom"]
    with pytest.raises(InputError):
        resolve_gpu_names(["Custom"], "--gpu")


def test_filter_providers_and_regions(query_offers):
    gcp = filter_offers(query_offers, OfferFilter(providers=("gcp",)))
    assert set(gcp["provider"]) == {"gcp"} and len(gcp) == 3
    both = filter_offers(query_offers, OfferFilter(providers=("aws", "gcp")))
    assert len(both) == len(query_offers)
    west = filter_offers(query_offers, OfferFilter(regions=("us-west-2", "europe-west4")))
    assert set(west["region"]) == {"us-west-2", "europe-west4"} and len(west) == 3
    none = filter_offers(query_offers, OfferFilter(providers=("gcp",), min_gpus=64))
    assert none.empty and list(none.columns) == list(OFFER_COLUMNS)


@pytest.mark.parametrize(("pricing", "count"), [("spot", 2), ("on_demand", 6)])
def test_filter_pricing(query_offers, pricing, count):
    out = filter_offers(query_offers, OfferFilter(pricing=pricing))
    assert set(out["pricing"]) == {pricing}
    assert len(out) == count


def test_filter_min_memory_min_gpus_max_price(query_offers):
    big = filter_offers(query_offers, OfferFilter(min_gpu_memory_gib=80))
    assert set(big["gpu"]) == {"H100", "A100-80GB"} and len(big) == 4
    mid = filter_offers(query_offers, OfferFilter(min_gpu_memory_gib=24))  # inclusive
    assert "L4" in set(mid["gpu"]) and "V100-16GB" not in set(mid["gpu"])
    eight = filter_offers(query_offers, OfferFilter(min_gpus=8))
    assert (eight["gpu_count"] >= 8).all() and len(eight) == 5
    cheap = filter_offers(query_offers, OfferFilter(max_usd_per_hour=3.06))  # inclusive
    assert _types(cheap) == [("aws", "p3.2xlarge", "on_demand"),
                             ("gcp", "g2-standard-4", "on_demand"),
                             ("gcp", "n1-standard-8+1xK80", "on_demand")]


def test_filters_combine(query_offers):
    spec = OfferFilter(gpus=("H100",), providers=("aws",), pricing="spot",
                       max_usd_per_hour=50)
    out = filter_offers(query_offers, spec)
    assert _types(out) == [("aws", "p5.48xlarge", "spot")]
    assert out.index.tolist() == [0]


# --- cost columns -----------------------------------------------------------------------------


def _row(df: pd.DataFrame, instance_type: str, pricing: str = "on_demand") -> pd.Series:
    match = df[(df["instance_type"] == instance_type) & (df["pricing"] == pricing)]
    assert len(match) == 1
    return match.iloc[0]


def test_cost_columns_appended_in_order(query_offers):
    out = with_cost_columns(query_offers)
    assert list(out.columns) == [*OFFER_COLUMNS, *COST_COLUMNS]
    assert len(out) == len(query_offers)
    assert "usd_per_gpu_hour" not in query_offers.columns  # input not modified


def test_h100_usd_per_pflop_hour_by_hand(query_offers):
    row = _row(with_cost_columns(query_offers, "bf16"), "p5.48xlarge")
    assert row["usd_per_gpu_hour"] == pytest.approx(98.32 / 8)
    assert row["peak_pflops"] == pytest.approx(8 * 989 / 1000)  # 7.912
    assert row["usd_per_pflop_hour"] == pytest.approx(98.32 / 7.912)  # 12.4267...
    assert row["usd_per_pflop_hour"] == pytest.approx(12.4267, abs=1e-4)
    assert row["precision_used"] == "bf16"


def test_h100_at_fp8_doubles_the_peak(query_offers):
    row = _row(with_cost_columns(query_offers, "fp8"), "p5.48xlarge")
    assert row["peak_pflops"] == pytest.approx(8 * 1979 / 1000)
    assert row["usd_per_pflop_hour"] == pytest.approx(98.32 / 15.832)
    assert row["precision_used"] == "fp8"


def test_v100_bf16_falls_back_to_fp16(query_offers):
    row = _row(with_cost_columns(query_offers, "bf16"), "p3.2xlarge")
    assert row["peak_pflops"] == pytest.approx(0.125)
    assert row["usd_per_pflop_hour"] == pytest.approx(3.06 / 0.125)  # 24.48
    assert row["precision_used"] == "fp16"


def test_a100_fp8_falls_back_to_bf16(query_offers):
    row = _row(with_cost_columns(query_offers, "fp8"), "p4d.24xlarge")
    assert row["peak_pflops"] == pytest.approx(8 * 312 / 1000)
    assert row["precision_used"] == "bf16"


def test_unknown_gpu_has_empty_efficiency(query_offers):
    row = _row(with_cost_columns(query_offers), "n1-standard-8+1xK80")
    assert math.isnan(row["peak_pflops"])
    assert math.isnan(row["usd_per_pflop_hour"])
    assert row["precision_used"] == ""
    assert row["usd_per_gpu_hour"] == pytest.approx(0.5)


def test_bad_precision_is_input_error(query_offers):
    with pytest.raises(InputError, match="int8"):
        with_cost_columns(query_offers, "int8")


def test_cost_columns_on_empty_frame(query_offers):
    out = with_cost_columns(query_offers.iloc[:0])
    assert out.empty and list(out.columns) == [*OFFER_COLUMNS, *COST_COLUMNS]


# --- sorting ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", SORT_KEYS)
def test_sort_ascending(query_offers, key):
    out = sort_by(with_cost_columns(query_offers), key)
    values = out[key].dropna().tolist()
    assert values == sorted(values)
    assert out.index.tolist() == list(range(len(out)))
    assert len(out) == len(query_offers)


def test_sort_default_is_usd_per_hour(query_offers):
    out = sort_by(with_cost_columns(query_offers))
    assert out["instance_type"].iloc[0] == "n1-standard-8+1xK80"  # $0.50
    assert out["usd_per_hour"].iloc[-1] == pytest.approx(98.32)


def test_unknown_gpu_sorts_last_by_pflop_price(query_offers):
    out = sort_by(with_cost_columns(query_offers), "usd_per_pflop_hour")
    assert out["gpu"].iloc[-1] == "K80"
    assert math.isnan(out["usd_per_pflop_hour"].iloc[-1])
    assert out["usd_per_pflop_hour"].iloc[:-1].notna().all()
    # The cheapest compute is the GCP H100 spot at $30 / 7.912 PFLOPS.
    assert out["instance_type"].iloc[0] == "a3-highgpu-8g"


def test_ties_are_broken_deterministically(make_row):
    from gpucost.catalog.schema import coerce_offers

    rows = [
        make_row(provider="gcp", region="us-central1", instance_type="a", usd_per_hour="10"),
        make_row(provider="aws", region="us-west-2", instance_type="a", usd_per_hour="10"),
        make_row(provider="aws", region="us-east-1", instance_type="b", usd_per_hour="10"),
        make_row(provider="aws", region="us-east-1", instance_type="a", usd_per_hour="10",
                 pricing="spot"),
        make_row(provider="aws", region="us-east-1", instance_type="a", usd_per_hour="10"),
    ]
    offers = with_cost_columns(coerce_offers(pd.DataFrame(rows, dtype=object), "ties"))
    expected = [("aws", "us-east-1", "a", "on_demand"), ("aws", "us-east-1", "a", "spot"),
                ("aws", "us-east-1", "b", "on_demand"), ("aws", "us-west-2", "a", "on_demand"),
                ("gcp", "us-central1", "a", "on_demand")]
    for key in SORT_KEYS:
        for order in itertools.permutations(range(len(offers))):
            out = sort_by(offers.iloc[list(order)], key)
            got = list(zip(out["provider"], out["region"], out["instance_type"], out["pricing"],
                           strict=True))
            assert got == expected, (key, order)


def test_bad_sort_key_is_input_error(query_offers):
    with pytest.raises(InputError, match="--sort"):
        sort_by(with_cost_columns(query_offers), "price")

"""The interconnect table and the network columns of offers."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from gpucost.catalog.interconnect import fill_interconnect, interconnect_of
from gpucost.catalog.snapshot import read_snapshot_file
from gpucost.providers.aws.specs import network_gbps


def test_eight_gpu_hgx_types_are_nvswitch_and_one_gpu_has_no_link():
    assert interconnect_of("aws", "p5.48xlarge", 8).gpu_link == "nvswitch"
    assert interconnect_of("aws", "p5.4xlarge", 1).gpu_link == ""
    assert interconnect_of("aws", "g6e.12xlarge", 4).gpu_link == "pcie"
    assert interconnect_of("gcp", "a3-megagpu-8g", 8).rdma is True
    assert interconnect_of("azure", "whatever", 8) is None


def test_gcp_n1_bandwidth_follows_vcpus_up_to_32_gbps():
    assert interconnect_of("gcp", "n1-standard-8+1xT4", 1, vcpus=8).network_gbps == 16
    assert interconnect_of("gcp", "n1-standard-32+4xT4", 4, vcpus=32).network_gbps == 32
    assert interconnect_of("gcp", "n1-standard-32+4xV100-16GB", 4, 32).gpu_link == "nvlink"


@pytest.mark.parametrize(("info", "expected"), [
    ({"NetworkCards": [{"BaselineBandwidthInGbps": 2.5}], "NetworkPerformance":
      "Up to 20 Gigabit"}, 2.5),
    ({"NetworkCards": [{"BaselineBandwidthInGbps": 100.0}] * 4,
      "NetworkPerformance": "4x 100 Gigabit"}, 400.0),
    ({"NetworkCards": [{"BaselineBandwidthInGbps": 200.0}] * 8,
      "NetworkPerformance": "3200 Gigabit"}, 3200.0),
    ({}, None),
])
def test_aws_network_is_baseline_never_burst(info, expected):
    assert network_gbps(info) == expected


def test_fill_keeps_api_values_and_fills_gaps():
    offers = pd.DataFrame([
        {"provider": "aws", "instance_type": "p4d.24xlarge", "gpu_count": 8, "vcpus": 96,
         "network_gbps": 400.0, "rdma": True, "gpu_link": ""},
        {"provider": "gcp", "instance_type": "g2-standard-96", "gpu_count": 8, "vcpus": 96,
         "network_gbps": math.nan, "rdma": False, "gpu_link": ""},
    ])
    filled = fill_interconnect(offers)
    assert list(filled["gpu_link"]) == ["nvswitch", "pcie"]
    assert list(filled["network_gbps"]) == [400.0, 100.0]


def test_old_snapshot_without_network_columns_gets_table_figures(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text(
        "provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
        "pricing,usd_per_hour,as_of,source,stale\n"
        "gcp,us-central1,,a2-highgpu-8g,A100-40GB,8,40,96,680,on_demand,29.4,2025-01-01,"
        "test: hand-made row,False\n")
    row = read_snapshot_file(path).iloc[0]
    assert (row["gpu_link"], row["network_gbps"], bool(row["rdma"])) == ("nvswitch", 100, False)


def test_bad_gpu_link_is_named(tmp_path):
    from gpucost.errors import InputError
    path = tmp_path / "bad.csv"
    path.write_text(
        "provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
        "network_gbps,rdma,gpu_link,pricing,usd_per_hour,as_of,source,stale\n"
        "aws,us-east-1,,p5.48xlarge,H100,8,80,192,2048,-3,True,warp,on_demand,55,2025-08-01,"
        "x,False\n")
    with pytest.raises(InputError, match="gpu_link"):
        read_snapshot_file(path)

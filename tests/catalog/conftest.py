"""Fixtures for the catalog tests: hand-made offer rows and frames.

Rows are built as strings, the way ``read_snapshot_file`` hands them to
``coerce_offers``, so the same helpers serve schema, snapshot and query tests.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import pandas as pd
import pytest

from gpucost.catalog.schema import OFFER_COLUMNS, UnknownGpuWarning, coerce_offers

BASE_ROW: dict[str, str] = {
    "provider": "aws",
    "region": "us-east-1",
    "zone": "",
    "instance_type": "p5.48xlarge",
    "gpu": "H100",
    "gpu_count": "8",
    "gpu_memory_gib": "80",
    "vcpus": "192",
    "memory_gib": "2048",
    "network_gbps": "3200",
    "rdma": "True",
    "gpu_link": "nvswitch",
    "pricing": "on_demand",
    "usd_per_hour": "98.32",
    "as_of": "2025-08-01",
    "source": "test: hand-made row",
    "stale": "False",
}

# A small catalog for the query tests: (provider, region, instance_type, gpu, gpu_count,
# gpu_memory_gib, pricing, usd_per_hour). K80 is deliberately not in the spec table.
QUERY_ROWS = [
    ("aws", "us-east-1", "p5.48xlarge", "H100", 8, 80, "on_demand", 98.32),
    ("aws", "us-east-1", "p5.48xlarge", "H100", 8, 80, "spot", 40.0),
    ("aws", "us-west-2", "p4d.24xlarge", "A100-40GB", 8, 40, "on_demand", 32.77),
    ("aws", "us-west-2", "p4de.24xlarge", "A100-80GB", 8, 80, "on_demand", 40.97),
    ("aws", "us-east-1", "p3.2xlarge", "V100-16GB", 1, 16, "on_demand", 3.06),
    ("gcp", "us-central1", "g2-standard-4", "L4", 1, 24, "on_demand", 0.7),
    ("gcp", "us-central1", "a3-highgpu-8g", "H100", 8, 80, "spot", 30.0),
    ("gcp", "europe-west4", "n1-standard-8+1xK80", "K80", 1, 12, "on_demand", 0.5),
]


def _row(**overrides: object) -> dict[str, str]:
    unknown = set(overrides) - set(OFFER_COLUMNS)
    assert not unknown, f"not schema columns: {unknown}"
    return {**BASE_ROW, **{k: str(v) for k, v in overrides.items()}}


@pytest.fixture
def make_row() -> Callable[..., dict[str, str]]:
    """``make_row(**overrides)``: one offer as a dict of strings."""
    return _row


@pytest.fixture
def make_raw() -> Callable[..., pd.DataFrame]:
    """``make_raw(rows)``: a raw (all-string) frame, as read from a CSV file."""

    def build(rows: list[dict[str, str]]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=list(OFFER_COLUMNS), dtype=object)

    return build


@pytest.fixture
def three_rows() -> list[dict[str, str]]:
    """Three valid rows with distinct offer keys (CSV lines 2, 3 and 4)."""
    return [
        _row(instance_type="p5.48xlarge"),
        _row(instance_type="p4d.24xlarge", gpu="A100-40GB", gpu_memory_gib="40",
             usd_per_hour="32.77"),
        _row(instance_type="p5.48xlarge", pricing="spot", usd_per_hour="40"),
    ]


@pytest.fixture
def query_offers() -> pd.DataFrame:
    """The QUERY_ROWS catalog, coerced (the K80 warning is expected and silenced)."""
    rows = [
        _row(provider=p, region=r, instance_type=t, gpu=g, gpu_count=n, gpu_memory_gib=m,
             pricing=pr, usd_per_hour=price, vcpus=8, memory_gib=64)
        for p, r, t, g, n, m, pr, price in QUERY_ROWS
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnknownGpuWarning)
        return coerce_offers(pd.DataFrame(rows, dtype=object), "query-fixture")

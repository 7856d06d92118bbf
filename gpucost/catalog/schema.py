"""The offer table: one schema for every catalog, snapshot and provider adapter.

An *offer* is one (provider, region, instance type, pricing model) with its price.
A catalog is a pandas DataFrame with exactly these columns, in this order:

=================  ==============  ==========================================================
column             dtype           meaning
=================  ==============  ==========================================================
provider           str             registry name of the cloud: ``aws``, ``gcp``
region             str            the provider's region code (``us-east-1``, ``us-central1``)
zone               str             zone the price applies to ("" when region-wide); spot rows
                                   keep the cheapest zone
instance_type      str             provider instance type; GCP n1 with attached GPUs is
                                   written ``n1-standard-8+1xT4``
gpu                str             canonical GPU name (see ``gpus.py``); an unknown GPU keeps
                                   the provider's spelling and is flagged on load
gpu_count          int64           GPUs per instance (>= 1)
gpu_memory_gib     float64         memory per GPU, GiB, as the provider reports it
vcpus              int64           vCPUs per instance
memory_gib         float64         host RAM per instance, GiB
network_gbps       float64         the instance's bandwidth to other instances, Gbps (NaN:
                                   unknown; the performance model then assumes a
                                   conservative default and says so)
rdma               bool            inter-instance GPU traffic bypasses TCP (AWS EFA, GCP
                                   GPUDirect-TCPX/TCPXO/RDMA, Azure InfiniBand)
gpu_link           str             how the instance's GPUs talk to each other: ``nvswitch``,
                                   ``nvlink`` or ``pcie``; "" for one GPU or unknown (cloud
                                   APIs do not say: see ``interconnect.py``)
pricing            str             ``on_demand`` or ``spot``
usd_per_hour       float64         price of one instance for one hour, USD (> 0)
as_of              datetime64      the date the price was observed
source             str             where the price came from (API name, or ``curated list
                                   price: ...`` for rows written down by hand)
stale              bool            True when a refresh failed for this provider/region and
                                   carried the previous row over unchanged
reliability        float64         marketplace hosts only (Vast.ai): the share of time the
                                   host was up, 0-1, as the marketplace reports it; NaN for
                                   clouds running their own data centres (files without
                                   the column read as NaN; it is written only when set)
=================  ==============  ==========================================================

Billing is per second (AWS and GCP Linux instances), so cost = price x hours exactly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from gpucost.catalog.gpus import is_known_gpu
from gpucost.errors import InputError, quote

OFFER_COLUMNS: dict[str, str] = {
    "provider": "str",
    "region": "str",
    "zone": "str",
    "instance_type": "str",
    "gpu": "str",
    "gpu_count": "int64",
    "gpu_memory_gib": "float64",
    "vcpus": "int64",
    "memory_gib": "float64",
    "network_gbps": "float64",
    "rdma": "bool",
    "gpu_link": "str",
    "pricing": "str",
    "usd_per_hour": "float64",
    "as_of": "datetime64[ns]",
    "source": "str",
    "stale": "bool",
    "reliability": "float64",
}
PRICING_MODELS = ("on_demand", "spot")
# The natural key of an offer: no two rows of a catalog share it.
OFFER_KEY = ["provider", "region", "instance_type", "pricing"]
# Columns that may be missing from a file and take a default.
# (network_gbps, rdma and gpu_link came after the first snapshots: old files lack them.)
_OPTIONAL = {"zone": "", "stale": False, "network_gbps": float("nan"), "rdma": False,
             "gpu_link": "", "reliability": float("nan")}
# Optional columns a snapshot file leaves out when no row has a value.
OMITTED_WHEN_EMPTY = ("reliability",)
GPU_LINKS = ("", "nvswitch", "nvlink", "pcie")


class UnknownGpuWarning(UserWarning):
    """An offer names a GPU that is not in the spec table; it is kept, not dropped."""


def empty_offers() -> pd.DataFrame:
    """An offer table with no rows and the right dtypes."""
    return coerce_offers(pd.DataFrame({c: [] for c in OFFER_COLUMNS}), "<empty>")


def _bad(origin: str, original: pd.DataFrame, mask: pd.Series, column: str,
         expected: str) -> None:
    """Raise for the first row in ``mask``, quoting the value as the file wrote it."""
    if mask.any():
        position = int(mask.to_numpy().nonzero()[0][0])
        line = f"row {position + 2}"  # +2: the header line, and 1-based lines
        value = original[column].iloc[position]
        if hasattr(value, "item"):
            value = value.item()
        raise InputError(f"{origin}, {line}", column, f"expected {expected}, got "
                         f"{quote(value)}")


def coerce_offers(raw: pd.DataFrame, origin: str) -> pd.DataFrame:
    """Validate ``raw`` against the offer schema and return it with the schema's dtypes.

    ``origin`` names the file (or adapter) in errors. Raises :class:`InputError` naming
    the row and column for missing columns, unparseable values, non-positive prices,
    ``gpu_count < 1``, an unknown pricing model or a duplicate offer. An unknown GPU only
    warns (:class:`UnknownGpuWarning`) and the row is kept.
    """
    df = raw.copy()
    for column, default in _OPTIONAL.items():
        if column not in df.columns:
            df[column] = default
    missing = [c for c in OFFER_COLUMNS if c not in df.columns]
    if missing:
        raise InputError(origin, "header", f"missing column(s) {', '.join(missing)}")
    df = df[list(OFFER_COLUMNS)].reset_index(drop=True)
    original = df.copy()

    for column in ("provider", "region", "instance_type", "gpu", "pricing", "source"):
        values = df[column]
        _bad(origin, original, values.isna() | (values.astype(str).str.strip() == ""), column,
             "a non-empty string")
        df[column] = values.astype(str).str.strip()
    df["zone"] = df["zone"].fillna("").astype(str).str.strip()
    df["gpu_link"] = df["gpu_link"].fillna("").astype(str).str.strip().str.lower()
    _bad(origin, original, ~df["gpu_link"].isin(GPU_LINKS), "gpu_link",
         "nvswitch, nvlink, pcie or empty")

    network = pd.to_numeric(df["network_gbps"].replace("", np.nan), errors="coerce")
    _bad(origin, original, network.isna() & df["network_gbps"].notna()
         & (df["network_gbps"].astype(str).str.strip() != ""), "network_gbps",
         "a number of Gbps or empty")
    _bad(origin, original, ~(network.isna() | (np.isfinite(network) & (network > 0))),
         "network_gbps", "a finite bandwidth > 0 Gbps or empty")
    df["network_gbps"] = network.astype("float64")

    reliability = pd.to_numeric(df["reliability"].replace("", np.nan), errors="coerce")
    _bad(origin, original, reliability.isna() & df["reliability"].notna()
         & (df["reliability"].astype(str).str.strip() != ""), "reliability",
         "a number from 0 to 1 or empty")
    _bad(origin, original, ~(reliability.isna() | ((reliability >= 0) & (reliability <= 1))),
         "reliability", "a share from 0 to 1 or empty")
    df["reliability"] = reliability.astype("float64")

    for column, kind in (("gpu_count", "int64"), ("vcpus", "int64"),
                         ("gpu_memory_gib", "float64"), ("memory_gib", "float64"),
                         ("usd_per_hour", "float64")):
        numbers = pd.to_numeric(df[column], errors="coerce")
        _bad(origin, original, numbers.isna() | ~np.isfinite(numbers), column, "a finite number")
        if kind == "int64":
            _bad(origin, original, numbers != numbers.round(), column, "a whole number")
        df[column] = numbers.astype(kind)
    _bad(origin, original, df["usd_per_hour"] <= 0, "usd_per_hour", "a price > 0")
    _bad(origin, original, df["gpu_count"] < 1, "gpu_count", "at least 1 GPU")
    _bad(origin, original, df["gpu_memory_gib"] <= 0, "gpu_memory_gib", "memory > 0")
    _bad(origin, original, df["vcpus"] < 0, "vcpus", "a count >= 0")
    _bad(origin, original, df["memory_gib"] < 0, "memory_gib", "memory >= 0")
    _bad(origin, original, ~df["pricing"].isin(PRICING_MODELS), "pricing", "on_demand or spot")

    dates = pd.to_datetime(df["as_of"], format="%Y-%m-%d", errors="coerce")
    _bad(origin, original, dates.isna(), "as_of", "a date YYYY-MM-DD")
    df["as_of"] = dates.astype("datetime64[ns]")

    for column in ("stale", "rdma"):
        flags = df[column].map(_parse_bool)
        _bad(origin, original, flags.isna(), column, "True or False")
        df[column] = flags.astype(bool)

    dup = df.duplicated(OFFER_KEY, keep="first")
    _bad(origin, original, dup, "instance_type",
         "one row per provider/region/instance_type/pricing")

    unknown = sorted({g for g in df["gpu"] if not is_known_gpu(g)})
    if unknown:
        warnings.warn(f"{origin}: unknown GPU name(s) kept as given: {', '.join(unknown)}",
                      UnknownGpuWarning, stacklevel=2)
    return df


def _parse_bool(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return False
    text = str(value).strip().lower()
    return {"true": True, "1": True, "false": False, "0": False, "": False}.get(text)


def sort_offers(df: pd.DataFrame) -> pd.DataFrame:
    """The canonical row order of snapshot files (stable diffs)."""
    return df.sort_values(OFFER_KEY, kind="stable").reset_index(drop=True)

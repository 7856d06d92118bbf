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

Every value must also be *plausible* (:data:`OFFER_LIMITS`, :data:`TEXT_LIMITS`), as job
files are held to ``gpucost.job.model.LIMITS``: a price of 1e-9 $/h plans a free cluster,
``gpu_count: 4096`` on an 8-GPU type plans one instance for the work of 512, and a 100 MB
``instance_type`` floods the terminal. A file holding such a row is refused (one line
naming the file, row and column); adapters may drop the row with a warning instead.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import re
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

# Plausible ranges (low, high), both inclusive. Real offers (2023-2026, the shipped
# snapshots): $0.19-$127 per instance-hour, $0.19-$16 per GPU-hour, 1-16 GPUs of 16-180
# GiB, 4-224 vCPUs, 16-2952 GiB of RAM, 2.5-3600 Gbps. The ranges leave an order of
# magnitude or more each way; beyond them a figure is a typo, a unit error or an attack.
OFFER_LIMITS: dict[str, tuple[float, float]] = {
    "usd_per_hour": (0.01, 5000.0),
    "usd_per_gpu_hour": (0.01, 500.0),  # usd_per_hour / gpu_count
    "gpu_count": (1, 16),  # GCP a2-megagpu-16g is the largest single instance
    "gpu_memory_gib": (1.0, 1024.0),
    "vcpus": (0, 4096),
    "memory_gib": (0.0, 65536.0),
    "network_gbps": (0.1, 100_000.0),
}
# The longest text each string column may hold (real ones: at most a third of this).
TEXT_LIMITS: dict[str, int] = {"provider": 32, "region": 64, "zone": 64,
                               "instance_type": 128, "gpu": 64, "pricing": 16,
                               "gpu_link": 16, "source": 512}
# Prices are observed dates: nothing before the public clouds sold GPUs, and nothing a
# pandas timestamp cannot hold (beyond 2262 it raises OutOfBoundsDatetime).
AS_OF_RANGE = (dt.date(2006, 1, 1), dt.date(2200, 12, 31))


class UnknownGpuWarning(UserWarning):
    """An offer names a GPU that is not in the spec table; it is kept, not dropped."""


class ImplausibleOfferWarning(UserWarning):
    """An offer outside :data:`OFFER_LIMITS` was dropped (``implausible="drop"``)."""


class _Implausible(Exception):
    """One implausible row: (position, column, what was expected)."""

    def __init__(self, position: int, column: str, expected: str) -> None:
        super().__init__(position, column, expected)
        self.position, self.column, self.expected = position, column, expected


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


def coerce_offers(raw: pd.DataFrame, origin: str, *, implausible: str = "refuse",
                  known_counts: bool = True) -> pd.DataFrame:
    """Validate ``raw`` against the offer schema and return it with the schema's dtypes.

    ``origin`` names the file (or adapter) in errors. Raises :class:`InputError` naming
    the row and column for missing columns, unparseable values, non-positive prices,
    ``gpu_count < 1``, an unknown pricing model or a duplicate offer. A value outside its
    plausible range (:data:`OFFER_LIMITS`, :data:`TEXT_LIMITS`, :data:`AS_OF_RANGE`, a GPU
    count that contradicts the instance type) raises too, or with ``implausible="drop"``
    drops the row with an :class:`ImplausibleOfferWarning` naming it. An unknown GPU only
    warns (:class:`UnknownGpuWarning`) and the row is kept. ``known_counts=False`` skips
    the comparison with the shipped snapshots' GPU counts (used when reading those).
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

    # Lengths first: nothing below may quote (or even strip) a 100 MB value whole.
    # (Control characters are kept: every printer escapes them, see formatting.py.)
    for column, limit in TEXT_LIMITS.items():
        text = df[column].astype(str)
        too_long = text.str.len() > limit
        _bad(origin, original, too_long, column, f"at most {limit} characters")
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
            _bad(origin, original, numbers.abs() > 2**62, column, "a whole number of sensible "
                 "size")
            _bad(origin, original, numbers != numbers.round(), column, "a whole number")
        df[column] = numbers.astype(kind)
    _bad(origin, original, df["usd_per_hour"] <= 0, "usd_per_hour", "a price > 0")
    _bad(origin, original, df["gpu_count"] < 1, "gpu_count", "at least 1 GPU")
    _bad(origin, original, df["gpu_memory_gib"] <= 0, "gpu_memory_gib", "memory > 0")
    _bad(origin, original, df["vcpus"] < 0, "vcpus", "a count >= 0")
    _bad(origin, original, df["memory_gib"] < 0, "memory_gib", "memory >= 0")
    _bad(origin, original, ~df["pricing"].isin(PRICING_MODELS), "pricing", "on_demand or spot")

    # Parsed at whatever resolution pandas picks (microseconds reach year 9999); the range
    # check comes before the conversion to nanoseconds, which would overflow.
    dates = pd.to_datetime(df["as_of"], format="%Y-%m-%d", errors="coerce")
    _bad(origin, original, dates.isna(), "as_of", "a date YYYY-MM-DD")
    low, high = AS_OF_RANGE
    _bad(origin, original, (dates < pd.Timestamp(low)) | (dates > pd.Timestamp(high)), "as_of",
         f"a date from {low} to {high}")

    for column in ("stale", "rdma"):
        flags = df[column].map(_parse_bool)
        _bad(origin, original, flags.isna(), column, "True or False")
        df[column] = flags.astype(bool)

    dup = df.duplicated(OFFER_KEY, keep="first")
    _bad(origin, original, dup, "instance_type",
         "one row per provider/region/instance_type/pricing")
    keep = _plausible(df, original, origin, implausible, known_counts)
    if not keep.all():
        df, dates = df[keep], dates[keep]
        df, dates = df.reset_index(drop=True), dates.reset_index(drop=True)
    df["as_of"] = dates.astype("datetime64[ns]")

    unknown = sorted({g for g in df["gpu"] if not is_known_gpu(g)})
    if unknown:
        warnings.warn(f"{origin}: unknown GPU name(s) kept as given: {', '.join(unknown)}",
                      UnknownGpuWarning, stacklevel=2)
    return df


def _range(low: float, high: float) -> str:
    return f"from {low:g} to {high:g}"


def _plausible(df: pd.DataFrame, original: pd.DataFrame, origin: str, implausible: str,
               known_counts: bool) -> pd.Series:
    """Rows within OFFER_LIMITS (True) and the others (False): refused (the first one
    raises) or, with ``implausible="drop"``, dropped with a warning each."""
    checks: list[tuple[pd.Series, str, str]] = []
    for column in ("usd_per_hour", "gpu_count", "gpu_memory_gib", "vcpus", "memory_gib"):
        low, high = OFFER_LIMITS[column]
        unit = {"usd_per_hour": " USD per instance-hour", "gpu_count": " GPUs",
                "vcpus": " vCPUs"}.get(column, " GiB")
        checks.append(((df[column] < low) | (df[column] > high), column,
                       f"{_range(low, high)}{unit}"))
    low, high = OFFER_LIMITS["network_gbps"]
    network = df["network_gbps"]
    checks.append((network.notna() & ((network < low) | (network > high)), "network_gbps",
                   f"{_range(low, high)} Gbps or empty"))
    low, high = OFFER_LIMITS["usd_per_gpu_hour"]
    per_gpu = df["usd_per_hour"] / df["gpu_count"].clip(lower=1)
    checks.append(((per_gpu < low) | (per_gpu > high), "usd_per_hour",
                   f"{_range(low, high)} USD per GPU-hour (usd_per_hour / gpu_count)"))
    expected = expected_gpu_counts(df, use_shipped=known_counts)
    wrong = expected.notna() & (expected != df["gpu_count"])
    checks.append((wrong, "gpu_count", "the GPU count of the instance type"))

    keep = pd.Series(True, index=df.index)
    for mask, column, wanted in checks:
        mask = mask & keep
        if not mask.any():
            continue
        if implausible != "drop":
            if column == "gpu_count" and wanted.startswith("the GPU count"):
                position = int(mask.to_numpy().nonzero()[0][0])
                wanted = (f"{int(expected.iloc[position])} GPUs for "
                          f"{quote(df['instance_type'].iloc[position])}")
            _bad(origin, original, mask, column, wanted)
        for position in mask.to_numpy().nonzero()[0][:5]:
            row = df.iloc[position]
            warnings.warn(
                f"{origin}, row {position + 2}: {column}: expected {wanted}, got "
                f"{quote(original[column].iloc[position])}; offer {row['provider']} "
                f"{row['region']} {quote(row['instance_type'])} {row['pricing']} dropped",
                ImplausibleOfferWarning, stacklevel=3)
        if mask.sum() > 5:
            warnings.warn(f"{origin}: {int(mask.sum()) - 5} more implausible {column} "
                          "row(s) dropped", ImplausibleOfferWarning, stacklevel=3)
        keep &= ~mask
    return keep


# GCP bundles name their GPU count: a2-highgpu-8g, a3-megagpu-8g (g2-standard-* do not).
_GCP_COUNT = re.compile(r"^[a-z][0-9]+-[a-z]+gpu-(\d+)g$")


def expected_gpu_counts(df: pd.DataFrame, *, use_shipped: bool = True) -> pd.Series:
    """The GPU count each row's instance type implies (NaN: unknown): the ``+Nx`` of an
    attached type (``n1-standard-8+1xT4``), the ``-Ng`` of a GCP bundle, else the count
    the shipped snapshots record for the same provider and type (a type's GPUs never
    change)."""
    from gpucost.catalog.instance_types import split_instance_type

    known = shipped_gpu_counts() if use_shipped else {}
    out = []
    for provider, instance_type in zip(df["provider"], df["instance_type"], strict=True):
        _, attached, _ = split_instance_type(instance_type)
        match = _GCP_COUNT.match(instance_type) if provider == "gcp" else None
        if attached:
            out.append(float(attached))
        elif match:
            out.append(float(match.group(1)))
        else:
            out.append(float(known.get((str(provider).lower(), instance_type), np.nan)))
    return pd.Series(out, index=df.index, dtype="float64")


@functools.cache
def shipped_gpu_counts() -> dict[tuple[str, str], int]:
    """(provider, instance_type) -> GPU count, from the snapshots shipped with gpucost
    (read as plain CSV: they are checked by the tests in tests/catalog/test_shipped.py)."""
    from gpucost.catalog.snapshot import shipped_snapshot_dir

    counts: dict[tuple[str, str], int] = {}
    root = shipped_snapshot_dir()
    for path in sorted(root.glob("*/*.csv")) if root.is_dir() else []:
        if path.name.endswith(".quotas.csv"):
            continue
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                try:
                    counts[(row["provider"].strip().lower(),
                            row["instance_type"].strip())] = int(row["gpu_count"])
                except (KeyError, ValueError, AttributeError):
                    continue
    return counts


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

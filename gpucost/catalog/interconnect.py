"""How an instance's GPUs are wired: GPU link inside it, network between instances.

Cloud APIs report network bandwidth (AWS ``NetworkInfo``) and EFA support, but not how
the GPUs inside an instance talk to each other, and GCP reports neither. One sourced
table, ``data/interconnect.csv``, fills what the APIs leave out: per provider, a
space-separated list of instance-type globs (first matching row wins), the GPU link
(``nvswitch``, ``nvlink``, ``pcie``) and, where the API has nothing, the documented
network bandwidth and whether inter-instance GPU traffic bypasses TCP (``rdma``).
Every row names its source. Adapters call :func:`fill_interconnect` on the rows they
build; the snapshot reader calls it too, so files written before these columns existed
get the same figures.
"""

from __future__ import annotations

import csv
import fnmatch
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import pandas as pd

# GCP N1 VMs: 2 Gbps egress per vCPU, at most 32 Gbps (GCP "Network bandwidth" page,
# per-VM maximum egress for N1 without Tier_1 networking).
_N1_GBPS_PER_VCPU = 2.0
_N1_MAX_GBPS = 32.0


@dataclass(frozen=True)
class Interconnect:
    """What the table says of one instance type (None: the table does not say)."""

    gpu_link: str
    network_gbps: float | None
    rdma: bool | None
    source: str


@cache
def _rows() -> tuple[tuple[str, tuple[str, ...], Interconnect], ...]:
    path = resources.files("gpucost.catalog").joinpath("data", "interconnect.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    out = []
    for row in rows:
        network = float(row["network_gbps"]) if row["network_gbps"].strip() else None
        rdma = {"true": True, "false": False}.get(row["rdma"].strip().lower())
        out.append((row["provider"], tuple(row["instance_types"].split()),
                    Interconnect(row["gpu_link"], network, rdma, row["source"])))
    return tuple(out)


def interconnect_of(provider: str, instance_type: str, gpu_count: int,
                    vcpus: int = 0) -> Interconnect | None:
    """The table's entry for an instance type, or None if no row matches.

    One GPU has no GPU link (``""``) whatever the family.
    """
    for row_provider, patterns, entry in _rows():
        if row_provider != provider:
            continue
        if any(fnmatch.fnmatchcase(instance_type, p) for p in patterns):
            link = entry.gpu_link if gpu_count > 1 else ""
            network = entry.network_gbps
            if network is None and provider == "gcp" and instance_type.startswith("n1-"):
                network = min(_N1_GBPS_PER_VCPU * vcpus, _N1_MAX_GBPS) if vcpus else None
            return Interconnect(link, network, entry.rdma, entry.source)
    return None


def fill_interconnect(offers: pd.DataFrame) -> pd.DataFrame:
    """``offers`` with empty ``gpu_link``, NaN ``network_gbps`` and unset ``rdma`` filled
    from the table where it has a figure; values already present are kept."""
    if offers.empty:
        return offers
    out = offers.copy()
    links, networks, rdmas = [], [], []
    for row in out.itertuples(index=False):
        entry = interconnect_of(row.provider, row.instance_type, int(row.gpu_count),
                                int(row.vcpus))
        link = row.gpu_link
        if not link and entry is not None:
            link = entry.gpu_link
        network = row.network_gbps
        if (network is None or math.isnan(network)) and entry and entry.network_gbps:
            network = entry.network_gbps
        rdma = bool(row.rdma) or bool(entry is not None and entry.rdma)
        links.append(link)
        networks.append(network)
        rdmas.append(rdma)
    out["gpu_link"] = links
    out["network_gbps"] = pd.Series(networks, index=out.index, dtype="float64")
    out["rdma"] = pd.Series(rdmas, index=out.index, dtype=bool)
    return out

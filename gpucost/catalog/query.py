"""Pure functions over the offer table: filter, derive cost-efficiency columns, sort.

Used by ``gpucost prices`` and from notebooks::

    offers = gpucost.load_offers()
    h100 = filter_offers(offers, OfferFilter(gpus=("H100",)))
    cheap = sort_by(with_cost_columns(h100), "usd_per_pflop_hour")
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from gpucost.catalog.gpus import PRECISIONS, gpu_specs, resolve_gpu_filter
from gpucost.errors import InputError
from gpucost.suggest import unknown_name_message

SORT_KEYS = ("usd_per_hour", "usd_per_gpu_hour", "usd_per_pflop_hour")
# Derived columns added by with_cost_columns, after the schema's own.
COST_COLUMNS = ("usd_per_gpu_hour", "peak_pflops", "precision_used", "usd_per_pflop_hour")


@dataclass(frozen=True)
class OfferFilter:
    """What ``gpucost prices`` can filter on; empty/None fields do not filter."""

    gpus: tuple[str, ...] = ()
    providers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    pricing: str | None = None  # "on_demand" | "spot" | None for both
    min_gpu_memory_gib: float | None = None
    min_gpus: int | None = None
    max_usd_per_hour: float | None = None


def resolve_gpu_names(names: Iterable[str], where: str, known: Iterable[str] = ()) -> list[str]:
    """Canonical names for user-given GPU names (canonical, alias or family like "A100").

    Names that are not in the alias table but appear verbatim in ``known`` (offers with
    an unknown GPU) are accepted as they are. Anything else is an :class:`InputError`.
    """
    known = set(known)
    folded = {str(k).lower(): str(k) for k in known}
    out: list[str] = []
    for name in names:
        verbatim = folded.get(name.strip().lower())
        matches = resolve_gpu_filter(name) or ((verbatim,) if verbatim else ())
        if not matches:
            raise InputError(where, "gpu", "expected " + unknown_name_message(
                "a GPU name or alias listed by `gpucost gpus`", name,
                [*gpu_specs(), *sorted(known - set(gpu_specs()))]))
        out.extend(m for m in matches if m not in out)
    return out


def resolve_names(names: Iterable[str], known: Iterable[str], where: str, field: str,
                  kind: str) -> list[str]:
    """``names`` spelled as in ``known``, matched case-insensitively; a name matching
    nothing is an :class:`InputError` listing the known values, closest first."""
    by_folded: dict[str, str] = {}
    for k in known:
        by_folded.setdefault(str(k).strip().lower(), str(k))
    out = []
    for name in names:
        match = by_folded.get(name.strip().lower())
        if match is None:
            raise InputError(where, field, "expected " + unknown_name_message(
                kind, name, sorted(set(by_folded.values()))))
        if match not in out:
            out.append(match)
    return out


def filter_offers(offers: pd.DataFrame, spec: OfferFilter) -> pd.DataFrame:
    """Rows of ``offers`` matching every set field of ``spec``.

    Names match case-insensitively; a provider, region or GPU that no offer (or, for
    GPUs, the alias table) knows is an :class:`InputError` listing the known ones.
    """
    mask = pd.Series(True, index=offers.index)
    if spec.gpus:
        gpus = resolve_gpu_names(spec.gpus, "--gpu", offers["gpu"])
        mask &= offers["gpu"].isin(gpus)
    if spec.providers:
        providers = resolve_names(spec.providers, offers["provider"].unique(), "--provider",
                                  "provider", "a provider with offers in the snapshot")
        mask &= offers["provider"].isin(providers)
    if spec.regions:
        regions = resolve_names(spec.regions, offers["region"].unique(), "--region", "region",
                                "a region with offers in the snapshot")
        mask &= offers["region"].isin(regions)
    if spec.pricing:
        mask &= offers["pricing"] == spec.pricing
    if spec.min_gpu_memory_gib is not None:
        mask &= offers["gpu_memory_gib"] >= spec.min_gpu_memory_gib
    if spec.min_gpus is not None:
        mask &= offers["gpu_count"] >= spec.min_gpus
    if spec.max_usd_per_hour is not None:
        mask &= offers["usd_per_hour"] <= spec.max_usd_per_hour
    return offers[mask].reset_index(drop=True)


def peak_pflops(gpu: str, gpu_count: int, precision: str) -> tuple[float | None, str | None]:
    """Dense peak PFLOPS of ``gpu_count`` GPUs at ``precision`` (or its fallback format).

    Returns ``(None, None)`` for a GPU that is not in the spec table, or that has no
    figure for ``precision`` or its fallbacks (Gaudi 3 publishes no fp32 matrix figure).
    """
    spec = gpu_specs().get(gpu)
    if spec is None:
        return None, None
    try:
        tflops, used = spec.peak_tflops(precision)
    except KeyError:
        return None, None
    return gpu_count * tflops / 1000.0, used


def with_cost_columns(offers: pd.DataFrame, precision: str = "bf16") -> pd.DataFrame:
    """``offers`` plus COST_COLUMNS.

    ``usd_per_pflop_hour`` = instance $/hour / instance dense peak PFLOPS at ``precision``
    (falling back to the format the GPU has; ``precision_used`` says which). It is empty
    for GPUs missing from the spec table.
    """
    if precision not in PRECISIONS:
        raise InputError("--precision", precision, f"one of {', '.join(PRECISIONS)}")
    out = offers.copy()
    out["usd_per_gpu_hour"] = out["usd_per_hour"] / out["gpu_count"]
    peaks = [peak_pflops(g, int(n), precision) for g, n in zip(out["gpu"], out["gpu_count"],
                                                               strict=True)]
    out["peak_pflops"] = pd.Series([p for p, _ in peaks], index=out.index, dtype="float64")
    out["precision_used"] = pd.Series([u or "" for _, u in peaks], index=out.index, dtype=str)
    out["usd_per_pflop_hour"] = out["usd_per_hour"] / out["peak_pflops"]
    return out


def sort_by(offers: pd.DataFrame, key: str = "usd_per_hour") -> pd.DataFrame:
    """Sort ascending by ``key`` (unknown-GPU rows last), ties by provider/region/type."""
    if key not in SORT_KEYS:
        raise InputError("--sort", key, f"one of {', '.join(SORT_KEYS)}")
    return offers.sort_values([key, "provider", "region", "instance_type", "pricing"],
                              na_position="last", kind="stable").reset_index(drop=True)

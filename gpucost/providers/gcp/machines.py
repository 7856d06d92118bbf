"""Compute Engine machine types with bundled GPUs (a2, a3, g2) -> per-region candidates.

``list_machine_type_pages`` is the only function that talks to the API (``compute_v1``
imported lazily). The parsers are pure: they take the aggregated-list *pages* (objects
shaped like ``compute_v1.MachineTypeAggregatedList``: ``items`` maps a scope such as
``zones/us-central1-a`` to a scoped list with ``machine_types`` and ``warning``, and
``unreachables`` lists scopes the API could not reach).

One candidate per (region, machine type); its ``zones`` are the region's zones that list
the type, sorted. The offer's ``zone`` column is those zones comma-joined.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from gpucost.providers.gcp.pricing import FAMILY_SKU_STEMS, Shape, family_of

# Families with GPUs bundled in the machine type (n1 attaches GPUs, see accelerators.py).
BUNDLED_FAMILIES: tuple[str, ...] = tuple(f for f in FAMILY_SKU_STEMS if f != "n1")
# Server-side filter (RE2, must match the whole name): only the families we can price.
MACHINE_TYPE_FILTER = f'name eq "({"|".join(BUNDLED_FAMILIES)})-.*"'
# Deprecation states after which a type can no longer be created.
_GONE = {"OBSOLETE", "DELETED"}
_ZONE = re.compile(r"^(?P<region>[a-z]+-[a-z]+\d+)-[a-z]$")


@dataclass(frozen=True)
class Candidate:
    """An instance type offered in a region, before pricing."""

    region: str
    instance_type: str
    shape: Shape
    zones: tuple[str, ...]


def zone_of_scope(scope: str) -> str | None:
    """``zones/us-central1-a`` -> ``us-central1-a``; regions, global, junk -> None."""
    kind, _, name = scope.partition("/")
    return name if kind == "zones" and _ZONE.match(name) else None


def region_of(zone: str) -> str:
    """``us-central1-a`` -> ``us-central1``. Raises ValueError for a malformed zone."""
    match = _ZONE.match(zone)
    if match is None:
        raise ValueError(f"not a GCP zone name: {zone!r}")
    return match["region"]


def unreachable_regions(pages: Iterable[Any]) -> dict[str, str]:
    """Regions with a zone the aggregated list could not reach -> one-line reason."""
    failed: dict[str, list[str]] = {}
    for page in pages:
        scopes = list(page.unreachables)
        scopes += [scope for scope, scoped in page.items.items()
                   if scoped.warning and scoped.warning.code == "UNREACHABLE"]
        for scope in scopes:
            zone = zone_of_scope(scope)
            if zone is not None:
                failed.setdefault(region_of(zone), []).append(zone)
    return {region: f"zone(s) unreachable: {', '.join(sorted(set(zones)))}"
            for region, zones in failed.items()}


def is_usable(resource: Any) -> bool:
    """False for a machine or accelerator type deprecated past OBSOLETE."""
    deprecated = resource.deprecated
    return not (deprecated and deprecated.state in _GONE)


def usable_in_zones(pages: Iterable[Any], field: str) -> Iterator[tuple[str, Any]]:
    """``(zone, item)`` for every usable item in the ``field`` list of each zone scope of
    aggregated-list pages (region and global scopes are skipped)."""
    for page in pages:
        for scope, scoped in page.items.items():
            zone = zone_of_scope(scope)
            if zone is None:
                continue
            for item in getattr(scoped, field):
                if is_usable(item):
                    yield zone, item


def bundled_candidates(pages: Iterable[Any]) -> list[Candidate]:
    """Machine types of :data:`BUNDLED_FAMILIES` carrying exactly one accelerator kind."""
    zones: dict[tuple[str, str], set[str]] = {}
    shapes: dict[str, Shape] = {}
    for zone, machine in usable_in_zones(pages, "machine_types"):
        family = family_of(machine.name)
        if family not in BUNDLED_FAMILIES or len(machine.accelerators) != 1:
            continue
        accelerator = machine.accelerators[0]
        shapes[machine.name] = Shape(
            family=family,
            accelerator=accelerator.guest_accelerator_type,
            gpu_count=int(accelerator.guest_accelerator_count),
            vcpus=int(machine.guest_cpus),
            memory_gib=int(machine.memory_mb) / 1024,  # the API's "MB" are MiB
        )
        zones.setdefault((region_of(zone), machine.name), set()).add(zone)
    return [Candidate(region, name, shapes[name], tuple(sorted(found)))
            for (region, name), found in sorted(zones.items())]


def aggregated_pages(kind: str, filter_: str, credentials: Any, project: str,
                     retry: Any = None, timeout: float | None = None) -> list[Any]:
    """Every page of a Compute Engine aggregated list; ``kind`` is ``MachineTypes`` or
    ``AcceleratorTypes`` (the names of its compute_v1 client and request)."""
    from google.cloud import compute_v1

    client = getattr(compute_v1, f"{kind}Client")(transport="rest", credentials=credentials)
    request = getattr(compute_v1, f"AggregatedList{kind}Request")(
        project=project, filter=filter_, max_results=500)
    return list(client.aggregated_list(request=request, retry=retry, timeout=timeout).pages)


def list_machine_type_pages(credentials: Any, project: str, retry: Any = None,
                            timeout: float | None = None) -> list[Any]:
    """Every page of the project's aggregated machine type list (GPU families only)."""
    return aggregated_pages("MachineTypes", MACHINE_TYPE_FILTER, credentials, project,
                            retry, timeout)

"""Pure pricing rules: which billing SKUs price a GCP instance, and the sum itself.

A GCP GPU instance is billed as three parts, each its own Cloud Billing SKU::

    price/hour = gpu_count x GPU SKU + vCPUs x core SKU + memory GiB x RAM SKU

The GPU SKU is named after the accelerator ("Nvidia Tesla A100 GPU running in ..."), the
core and RAM SKUs after the machine family ("A2 Instance Core running in ...", "N1
Predefined Instance Ram running in ..."). The two tables below map GCP's accelerator
types and machine families to the *stem* of those descriptions (lower case, location and
the Core/Ram/GPU word stripped, see :func:`gpucost.providers.gcp.billing.parse_description`).
A family or accelerator missing from a table is not priced: adding one is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

# Machine families whose core and RAM SKUs we know. Keys are the machine type prefix.
FAMILY_SKU_STEMS: dict[str, str] = {
    "a2": "a2 instance",
    "a3": "a3 instance",
    "g2": "g2 instance",
    "n1": "n1 predefined instance",
}

# Accelerator types (as the Compute API names them) -> stem of their GPU SKU description.
GPU_SKU_STEMS: dict[str, str] = {
    "nvidia-tesla-a100": "nvidia tesla a100",
    "nvidia-a100-80gb": "nvidia tesla a100 80gb",
    "nvidia-h100-80gb": "nvidia h100 80gb",
    "nvidia-h100-mega-80gb": "nvidia h100 80gb mega",
    "nvidia-h200-141gb": "nvidia h200 141gb",
    "nvidia-l4": "nvidia l4",
    "nvidia-tesla-t4": "nvidia tesla t4",
    "nvidia-tesla-v100": "nvidia tesla v100",
    "nvidia-tesla-p100": "nvidia tesla p100",
    "nvidia-tesla-p4": "nvidia tesla p4",
}

# Billing usage types -> the offer schema's pricing models.
USAGE_TYPES: dict[str, str] = {"OnDemand": "on_demand", "Preemptible": "spot"}

# (region, pricing, kind, stem) -> USD per unit (hour, or GiB-hour for "ram").
PriceKey = tuple[str, str, str, str]
PriceBook = dict[PriceKey, Decimal]


class MissingSku(LookupError):
    """No billing SKU prices one part of an instance; the message names the part."""


@dataclass(frozen=True)
class Shape:
    """What is billed for one instance: the parts of the sum."""

    family: str
    accelerator: str
    gpu_count: int
    vcpus: int
    memory_gib: float


def family_of(machine_type: str) -> str:
    """The machine family of a machine type name: ``a2-highgpu-1g`` -> ``a2``."""
    return machine_type.split("-", 1)[0].lower()


def _lookup(book: PriceBook, key: PriceKey) -> Decimal:
    try:
        return book[key]
    except KeyError:
        region, pricing, kind, stem = key
        raise MissingSku(f"no {pricing} {kind} SKU {stem!r} in {region}") from None


def instance_price(book: PriceBook, region: str, pricing: str, shape: Shape) -> Decimal:
    """USD per hour of ``shape`` in ``region``, exact (Decimal).

    Raises :class:`MissingSku` naming the first part without a SKU (or a family or
    accelerator the tables above do not know); never guesses a price.
    """
    family_stem = FAMILY_SKU_STEMS.get(shape.family)
    if family_stem is None:
        raise MissingSku(f"machine family {shape.family!r} has no known core/RAM SKU")
    gpu_stem = GPU_SKU_STEMS.get(shape.accelerator)
    if gpu_stem is None:
        raise MissingSku(f"accelerator {shape.accelerator!r} has no known GPU SKU")
    gpu = _lookup(book, (region, pricing, "gpu", gpu_stem))
    core = _lookup(book, (region, pricing, "core", family_stem))
    ram = _lookup(book, (region, pricing, "ram", family_stem))
    memory = Decimal(str(shape.memory_gib))
    return shape.gpu_count * gpu + shape.vcpus * core + memory * ram


def usd_per_hour(price: Decimal) -> float:
    """The schema's float price: the exact sum rounded to 6 decimals."""
    return float(price.quantize(Decimal("0.000001")))

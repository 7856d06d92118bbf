"""The GPU spec table and the one alias table that maps provider spellings to it.

Data lives in ``data/gpu_specs.csv`` (one row per GPU *variant*: memory or form factor
that changes the figures gets its own row, with the datasheet it comes from) and
``data/gpu_aliases.csv`` (``alias, memory_gib, gpu``). Every provider adapter, the
price query and the job parser resolve names through :func:`resolve_gpu`, so a new
spelling is one line in the alias file, never a mapping in a provider module.

Peak figures are the vendors' *dense* TFLOPS (no structured sparsity).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

PRECISIONS: tuple[str, ...] = ("fp32", "tf32", "bf16", "fp16", "fp8")

# When a GPU lacks a format, training falls back to the nearest one it has. bf16 -> fp16
# is what people do on V100/T4 (fp16 with loss scaling); fp8 -> bf16 keeps the range.
_FALLBACK: dict[str, tuple[str, ...]] = {
    "fp8": ("bf16", "fp16", "tf32", "fp32"),
    "bf16": ("fp16", "tf32", "fp32"),
    "fp16": ("bf16", "tf32", "fp32"),
    "tf32": ("fp32",),
    "fp32": (),
}

# GPU architectures without FlashAttention kernels (see GpuSpec.flash_attention).
PRE_FLASH_ATTENTION = frozenset({"Kepler", "Maxwell", "Pascal", "Volta", "Turing"})

# How far a reported memory size may sit from the alias table's figure and still match:
# providers report usable memory (an L4 shows 22.5 GiB, an H200 140 GiB).
_MEMORY_TOLERANCE = 0.15


@dataclass(frozen=True)
class GpuSpec:
    """One row of the spec table."""

    name: str
    vendor: str
    architecture: str
    memory_gib: float
    memory_bandwidth_tbps: float
    tflops: dict[str, float | None]
    datasheet: str
    # Bidirectional GB/s per GPU, as datasheets quote them: the NVLink (or Infinity
    # Fabric) total, None for GPUs without one, and the PCIe x16 host link.
    nvlink_gb_s: float | None = None
    pcie_gb_s: float = 32.0
    # SXM/OAM modules, Grace-Blackwell superchips, or PCIe cards (workstation, GeForce).
    form_factor: str = ""

    @property
    def flash_attention(self) -> bool:
        """Whether FlashAttention kernels run on this GPU: FlashAttention-2 needs Ampere
        (sm80) or later (Dao 2023, github.com/Dao-AILab/flash-attention README); ROCm
        builds cover CDNA2/3. Older GPUs (V100, T4) store the s x s score matrix."""
        return self.architecture not in PRE_FLASH_ATTENTION

    def peak_tflops(self, precision: str) -> tuple[float, str]:
        """Dense peak TFLOPS at ``precision``, or at its fallback format.

        Returns ``(tflops, precision_used)``; raises ``KeyError`` if the GPU has no
        usable format at all (cannot happen for rows with an fp32 figure).
        """
        if precision not in PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}; expected one of {PRECISIONS}")
        for candidate in (precision, *_FALLBACK[precision]):
            value = self.tflops.get(candidate)
            if value:
                return value, candidate
        raise KeyError(f"{self.name} has no figure for {precision} or its fallbacks")


def _float_or_none(text: str) -> float | None:
    text = text.strip()
    return float(text) if text else None


def _read_data_csv(name: str) -> list[dict[str, str]]:
    with resources.files("gpucost.catalog").joinpath("data", name).open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@cache
def gpu_specs() -> dict[str, GpuSpec]:
    """All GPU specs by canonical name, in file order."""
    specs: dict[str, GpuSpec] = {}
    for row in _read_data_csv("gpu_specs.csv"):
        specs[row["gpu"]] = GpuSpec(
            name=row["gpu"],
            vendor=row["vendor"],
            architecture=row["architecture"],
            memory_gib=float(row["memory_gib"]),
            memory_bandwidth_tbps=float(row["memory_bandwidth_tbps"]),
            tflops={p: _float_or_none(row[f"{p}_tflops"]) for p in PRECISIONS},
            datasheet=row["datasheet"],
            nvlink_gb_s=_float_or_none(row["nvlink_gb_s"]),
            pcie_gb_s=float(row["pcie_gb_s"]),
            form_factor=row.get("form_factor", ""),
        )
    return specs


def normalize_gpu_name(name: str) -> str:
    """Lower-case, with runs of spaces and underscores folded into one hyphen."""
    return re.sub(r"[\s_]+", "-", name.strip().lower())


@cache
def _alias_rows() -> dict[str, list[tuple[float | None, str]]]:
    table: dict[str, list[tuple[float | None, str]]] = {}
    for spec in gpu_specs().values():
        table.setdefault(normalize_gpu_name(spec.name), []).append((None, spec.name))
    for row in _read_data_csv("gpu_aliases.csv"):
        if row["gpu"] not in gpu_specs():
            raise ValueError(f"gpu_aliases.csv maps {row['alias']!r} to unknown GPU {row['gpu']!r}")
        entry = (_float_or_none(row["memory_gib"]), row["gpu"])
        table.setdefault(normalize_gpu_name(row["alias"]), []).append(entry)
    return table


def resolve_gpu(name: str, memory_gib: float | None = None) -> str | None:
    """The canonical GPU name for a provider's spelling, or ``None`` if unknown.

    ``memory_gib`` (per GPU) disambiguates names shared by memory variants ("A100" with
    80 GiB is A100-80GB). A name that needs the memory to decide, given without it or
    with a size matching no variant, is unknown: we never guess.
    """
    rows = _alias_rows().get(normalize_gpu_name(name), [])
    exact = [gpu for mem, gpu in rows if mem is None]
    if exact:
        return exact[0]
    if memory_gib is None or memory_gib <= 0 or not rows:
        return None
    best = min(rows, key=lambda row: abs(math.log(memory_gib / row[0])))  # type: ignore[operator]
    mem, gpu = best
    return gpu if abs(memory_gib - mem) <= _MEMORY_TOLERANCE * mem else None  # type: ignore[operator]


def resolve_gpu_filter(name: str) -> tuple[str, ...]:
    """The canonical GPUs a user means by ``name`` in a filter.

    A canonical name or unambiguous alias gives one GPU; a family name whose variants
    differ by memory ("A100", "V100") gives all of them. Unknown names give ``()``.
    """
    exact = resolve_gpu(name)
    if exact:
        return (exact,)
    rows = _alias_rows().get(normalize_gpu_name(name), [])
    return tuple(dict.fromkeys(gpu for _, gpu in rows))


def aliases_of(gpu: str) -> list[str]:
    """The alias-table spellings of canonical ``gpu``, in file order (providers' own
    spellings, e.g. ``nvidia-tesla-t4`` for T4)."""
    return [row["alias"] for row in _read_data_csv("gpu_aliases.csv") if row["gpu"] == gpu]


def canonical_gpu(name: str, memory_gib: float | None = None) -> str:
    """Like :func:`resolve_gpu` but keeps an unknown name as given (to be flagged)."""
    return resolve_gpu(name, memory_gib) or name.strip()


def is_known_gpu(name: str) -> bool:
    """True if ``name`` is a canonical name in the spec table."""
    return name in gpu_specs()

"""Which training stacks run on which GPUs, and in which precisions.

Data lives in ``data/ecosystem.csv``, one row per (stack, vendor, GPUs) with the
precisions the stack trains in there, how (``via``: CUDA, ROCm and AMD's Megatron fork,
Gaudi's PyTorch bridge), a note (consumer cards without NVLink or ECC) and the source.
``gpus`` lists canonical GPU names or ``arch:<architecture>`` (``arch:Hopper``); the
first row that names a GPU wins, so specific GPUs come before their architecture. A row
with no precisions says the stack does NOT run there, and its note says why. A GPU no
row names is not run by that stack: the planner never picks a GPU whose stack support
is unknown.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gpucost.catalog.gpus import _FALLBACK, PRECISIONS, gpu_specs

VENDORS = ("nvidia", "amd", "intel")


@dataclass(frozen=True)
class StackSupport:
    """How ``stack`` runs on one GPU (``precisions`` empty: it does not)."""

    stack: str
    gpu: str
    precisions: tuple[str, ...]
    via: str
    note: str
    source: str

    @property
    def runs(self) -> bool:
        return bool(self.precisions)


@cache
def _rows() -> tuple[dict[str, str], ...]:
    path = resources.files("gpucost.catalog").joinpath("data", "ecosystem.csv")
    with path.open(encoding="utf-8") as fh:
        rows = tuple(csv.DictReader(fh))
    for row in rows:
        bad = [p for p in row["precisions"].split() if p not in PRECISIONS]
        if bad or not row["source"].strip():
            raise ValueError(f"ecosystem.csv: row {row!r} has unknown precisions {bad} or no "
                             "source")
    return rows


def _names(row: dict[str, str]) -> list[str]:
    """The entries of a row's ``gpus`` cell ("arch:Blackwell Ultra" keeps its space)."""
    out: list[str] = []
    for token in row["gpus"].split():
        if token.startswith("arch:") or not out or not out[-1].startswith("arch:") \
                or token in gpu_specs():
            out.append(token)
        else:  # a word continuing an architecture name
            out[-1] += " " + token
    return out


@cache
def stack_support(stack: str, gpu: str) -> StackSupport:
    """The support row for ``stack`` on canonical ``gpu`` (an unknown pair: not run)."""
    spec = gpu_specs().get(gpu)
    arch = f"arch:{spec.architecture}" if spec else ""
    for row in _rows():
        if row["stack"] != stack:
            continue
        names = _names(row)
        if gpu in names or arch in names:
            return StackSupport(stack, gpu, tuple(row["precisions"].split()), row["via"],
                                row["note"], row["source"])
    vendor = spec.vendor if spec else "unknown vendor"
    return StackSupport(stack, gpu, (), "", f"no known {stack} support for {vendor} {gpu} "
                        "(gpucost/catalog/data/ecosystem.csv)", "")


def training_precision(stack: str, gpu: str, precision: str) -> str | None:
    """The precision ``stack`` trains ``gpu`` in for a job at ``precision``: the job's own
    or the first fallback that both the stack supports there and the GPU has a datasheet
    figure for; None when there is none (or the stack does not run on it)."""
    support = stack_support(stack, gpu)
    spec = gpu_specs().get(gpu)
    if spec is None or not support.runs:
        return None
    for candidate in (precision, *_FALLBACK[precision]):
        if spec.tflops.get(candidate) and candidate in support.precisions:
            return candidate
    return None


def why_not(stack: str, gpu: str, precision: str) -> str | None:
    """Why a ``stack`` job at ``precision`` cannot run on ``gpu``; None when it can."""
    support = stack_support(stack, gpu)
    if not support.runs:
        return f"the {stack} stack does not run on {gpu}: {support.note}"
    if training_precision(stack, gpu, precision) is None:
        return (f"the {stack} stack trains {gpu} in {'/'.join(support.precisions)} only, "
                f"not {precision}")
    return None


def vendor_of(gpu: str) -> str:
    """Lower-case vendor of a canonical GPU ("nvidia", "amd", "intel"; "" if unknown)."""
    spec = gpu_specs().get(gpu)
    return spec.vendor.lower() if spec else ""

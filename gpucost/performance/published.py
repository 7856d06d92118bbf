"""Published measurements the performance model is calibrated and judged on.

``data/throughput_runs.csv``: tokens/s (or model TFLOP/s, or MFU) per GPU of well-tuned
stacks, with GPU count, model shape, sequence length, batch and network where reported.
Each throughput row names its ``source_group`` (one report or repository: its rows share
a stack, a cluster and a way of counting, so they are held out together when the model
is judged) and ``published`` (YYYY-MM of the cited version of the source, to the month;
the time split fits on rows published before 2024).
``data/training_runs.csv``: end-to-end GPU-hours of published training runs, which
include restarts, evaluation and checkpointing (the goodput part of the model).
Every row cites its source.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

from gpucost.catalog.gpus import gpu_specs


def _rows(name: str) -> list[dict[str, str]]:
    path = resources.files("gpucost.performance").joinpath("data", name)
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _num(text: str | None) -> float | None:
    text = (text or "").strip()
    return float(text) if text else None


@dataclass(frozen=True)
class ThroughputRun:
    """One measured training throughput."""

    name: str
    gpu: str
    gpus: int
    gpus_per_node: int
    network: str
    parameters: float
    activated_parameters: float | None
    layers: int | None
    hidden_size: int | None
    sequence_length: int
    batch_tokens: float | None
    precision: str
    tokens_per_s_per_gpu: float
    stack: str
    source: str
    source_group: str = ""   # one report or repository: held out together when judging
    published: str = ""      # YYYY-MM the cited version of the source was published

    @property
    def precision_class(self) -> str:
        """fp8, or 16-bit (bf16 and fp16 run the same tensor cores)."""
        return "fp8" if self.precision == "fp8" else "16-bit"


@cache
def throughput_runs(fitted: bool = True) -> tuple[ThroughputRun, ...]:
    """Rows of throughput_runs.csv, tokens/s per GPU derived from TFLOP/s or MFU where
    that is what the source gives (with the 6 N + attention FLOPs of the shape).
    ``fitted=False``: the rows marked ``fitted: no`` instead - judged, never fitted or
    counted as calibration (mixture-of-experts runs, until their physics is modelled)."""
    from gpucost.job.shape import model_shape

    out = []
    for r in _rows("throughput_runs.csv"):
        if (r.get("fitted", "yes") or "yes") != ("yes" if fitted else "no"):
            continue
        params = float(r["parameters"])
        layers, hidden = _num(r["layers"]), _num(r["hidden_size"])
        seq = int(float(r["sequence_length"]))
        shape = model_shape(params, seq, layers=int(layers) if layers else None,
                            hidden_size=int(hidden) if hidden else None,
                            activated_parameters=_num(r["activated_parameters"]),
                            batch_tokens=_num(r["global_batch_tokens"]))
        tps = _num(r["tokens_per_s_per_gpu"])
        if tps is None:
            tflops = _num(r["model_tflops_per_gpu"])
            if tflops is None:
                mfu = _num(r["mfu"])
                if mfu is None:
                    continue
                precision = r["precision"] or "bf16"
                tflops = mfu * gpu_specs()[r["gpu"]].peak_tflops(precision)[0]
            if r.get("flops_count") == "hardware":
                # The source counts the forward pass recomputed for activation
                # checkpointing (Narayanan et al. 2021 eq. 3: 4 passes, not 3).
                tflops *= 3.0 / 4.0
            tps = tflops * 1e12 / shape.flops_per_token
        out.append(ThroughputRun(
            name=r["run"], gpu=r["gpu"], gpus=int(float(r["gpus"])),
            gpus_per_node=int(float(r["gpus_per_node"] or 8)), network=r["network"],
            parameters=params, activated_parameters=_num(r["activated_parameters"]),
            layers=int(layers) if layers else None, hidden_size=int(hidden) if hidden else None,
            sequence_length=seq, batch_tokens=_num(r["global_batch_tokens"]),
            precision=r["precision"] or "bf16", tokens_per_s_per_gpu=tps, stack=r["stack"],
            source=r["source"], source_group=r["source_group"] or r["run"],
            published=r["published"]))
    return tuple(out)


@dataclass(frozen=True)
class PublishedRun:
    """One end-to-end run: GPU-hours to train ``tokens`` on ``gpu``."""

    name: str
    gpu: str
    parameters: float
    tokens: float
    sequence_length: int
    gpu_hours: float
    gpus: int | None
    batch_tokens: float | None
    stack: str
    source: str


@cache
def published_runs() -> tuple[PublishedRun, ...]:
    out = []
    for r in _rows("training_runs.csv"):
        tokens, hours = _num(r["tokens"]), _num(r["gpu_hours"])
        if tokens is None or hours is None:
            continue
        gpus = _num(r.get("gpus"))
        out.append(PublishedRun(r["run"], r["gpu"], float(r["parameters"]), tokens,
                                int(r["sequence_length"]), hours,
                                int(gpus) if gpus and not math.isnan(gpus) else None,
                                _num(r.get("batch_tokens")), r["stack"], r["source"]))
    return tuple(out)


def calibrated_gpus() -> frozenset[str]:
    """GPUs with at least one published throughput point."""
    return frozenset(r.gpu for r in throughput_runs())


def precision_class(precision: str) -> str:
    """fp8, or 16-bit (bf16/fp16/fp32 requests run the 16-bit tensor cores)."""
    return "fp8" if precision == "fp8" else "16-bit"


def calibrated_combinations() -> frozenset[tuple[str, str, str]]:
    """(gpu, stack, precision class) with published throughput of their own."""
    return frozenset((r.gpu, r.stack, r.precision_class) for r in throughput_runs())

"""Model FLOPs utilization (MFU), fitted to published training runs.

``data/training_runs.csv`` lists real runs (model cards and papers) with their GPU,
model size, tokens, sequence length and the GPU-hours they took. From each we compute
the *hardware* utilization it achieved, counting attention FLOPs as well as the 6·N·D
of the dense layers, and fit by least squares::

    u(architecture, N) = a[architecture] + b · log10(N / 1e9)

one intercept per GPU architecture (Volta, Ampere, Hopper...) and one shared slope for
model size. The job's MFU (relative to 6·N·D, the FLOPs the planner counts) is then

    mfu = clip(u, 0.05, 0.65) / (1 + attention_ratio(N, sequence_length))

so longer sequences cost time through the attention FLOPs they add. Architectures with no
published run borrow a measured one (``BORROWED``), and plans say so.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from gpucost.catalog.gpus import gpu_specs

REFERENCE_PARAMETERS = 7e9  # used when a job gives flops but no parameter count
MFU_BOUNDS = (0.05, 0.65)
# No published training runs on these: use the nearest architecture that has them.
BORROWED = {"Turing": "Volta", "Ada": "Ampere", "Blackwell": "Hopper", "CDNA3": "Hopper"}
# Width/depth ratio of the transformers we model (GPT-3, Llama: d_model ~ 128 x layers).
_ASPECT = 128.0


@dataclass(frozen=True)
class PublishedRun:
    """One row of training_runs.csv."""

    name: str
    gpu: str
    parameters: float
    tokens: float | None
    sequence_length: int
    gpu_hours: float | None
    model_tflops_per_gpu: float | None
    source: str

    @property
    def hardware_utilization(self) -> float:
        """Achieved (6ND + attention) FLOPs / (dense bf16 peak x time)."""
        peak = gpu_specs()[self.gpu].peak_tflops("bf16")[0]
        if self.model_tflops_per_gpu is not None:
            return self.model_tflops_per_gpu / peak
        assert self.tokens is not None and self.gpu_hours is not None
        mfu = 6 * self.parameters * self.tokens / (self.gpu_hours * 3600 * peak * 1e12)
        return mfu * (1 + attention_ratio(self.parameters, self.sequence_length))


def attention_ratio(parameters: float, sequence_length: int) -> float:
    """Attention-score FLOPs per token relative to 6·N.

    Per layer and token, QK^T and AV cost 12·s·d FLOPs (forward and backward) against
    72·d^2 for the dense layers (N ~ 12·L·d^2), so the ratio is s / (6·d), with d from N
    at the aspect ratio d = 128·L (Kaplan et al. 2020; Narayanan et al. 2021, eq. 3).
    """
    d_model = (_ASPECT * parameters / 12.0) ** (1.0 / 3.0)
    return sequence_length / (6.0 * d_model)


@cache
def published_runs() -> tuple[PublishedRun, ...]:
    """The runs the model is fitted to."""
    path = resources.files("gpucost.job").joinpath("data", "training_runs.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))

    def num(text: str) -> float | None:
        return float(text) if text.strip() else None

    return tuple(PublishedRun(
        name=r["run"], gpu=r["gpu"], parameters=float(r["parameters"]), tokens=num(r["tokens"]),
        sequence_length=int(r["sequence_length"]), gpu_hours=num(r["gpu_hours"]),
        model_tflops_per_gpu=num(r["model_tflops_per_gpu"]), source=r["source"],
    ) for r in rows)


@dataclass(frozen=True)
class UtilizationModel:
    """Fitted intercepts per architecture and the shared size slope."""

    intercepts: dict[str, float]
    slope: float

    def hardware_utilization(self, architecture: str, parameters: float) -> float:
        low, high = MFU_BOUNDS
        u = self.intercepts[architecture] + self.slope * math.log10(parameters / 1e9)
        return min(max(u, low), high)


def fit(runs: tuple[PublishedRun, ...]) -> UtilizationModel:
    """Least-squares fit of the model to ``runs``."""
    archs = sorted({gpu_specs()[r.gpu].architecture for r in runs})
    design = np.zeros((len(runs), len(archs) + 1))
    target = np.zeros(len(runs))
    for i, run in enumerate(runs):
        design[i, archs.index(gpu_specs()[run.gpu].architecture)] = 1.0
        design[i, -1] = math.log10(run.parameters / 1e9)
        target[i] = run.hardware_utilization
    coef, *_ = np.linalg.lstsq(design, target, rcond=None)
    return UtilizationModel(dict(zip(archs, map(float, coef[:-1]), strict=True)),
                            float(coef[-1]))


@cache
def fitted_model() -> UtilizationModel:
    """The model fitted to every published run."""
    return fit(published_runs())


@dataclass(frozen=True)
class UtilizationEstimate:
    """An MFU (relative to 6·N·D) and how it was obtained."""

    mfu: float
    method: str  # "fitted", "borrowed" or "user"
    note: str = ""


def estimate_mfu(gpu: str, parameters: float | None, sequence_length: int,
                 model: UtilizationModel | None = None) -> UtilizationEstimate:
    """Modelled MFU of training a model of ``parameters`` on ``gpu``."""
    model = model or fitted_model()
    arch = gpu_specs()[gpu].architecture
    used = arch if arch in model.intercepts else BORROWED.get(arch, "Ampere")
    n = parameters or REFERENCE_PARAMETERS
    u = model.hardware_utilization(used, n)
    mfu = u / (1 + attention_ratio(n, sequence_length))
    if used != arch:
        return UtilizationEstimate(mfu, "borrowed",
                                   f"no published training run on {arch}; used {used}'s fit")
    return UtilizationEstimate(mfu, "fitted")


def predicted_gpu_hours(run: PublishedRun, model: UtilizationModel) -> float | None:
    """GPU-hours the model predicts for a published run (None for throughput-only rows)."""
    if run.tokens is None or run.gpu_hours is None:
        return None
    est = estimate_mfu(run.gpu, run.parameters, run.sequence_length, model)
    peak = gpu_specs()[run.gpu].peak_tflops("bf16")[0] * 1e12
    return 6 * run.parameters * run.tokens / (peak * est.mfu * 3600)


def leave_one_out() -> list[tuple[PublishedRun, float]]:
    """For each run with GPU-hours: (run, predicted GPU-hours) from a fit without it.

    This is how the estimates are judged against reality: a run never predicts itself.
    """
    runs = published_runs()
    out = []
    for i, run in enumerate(runs):
        others = runs[:i] + runs[i + 1:]
        if run.gpu_hours is None:
            continue
        if gpu_specs()[run.gpu].architecture not in {gpu_specs()[r.gpu].architecture
                                                      for r in others}:
            continue
        predicted = predicted_gpu_hours(run, fit(others))
        if predicted is not None:
            out.append((run, predicted))
    return out

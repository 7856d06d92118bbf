"""Throughput of every hardware class at the instance counts that can run, with its
best layout.

For one run, :func:`performance_curves` evaluates the layout grid on each hardware class
of the candidate offers and keeps, per (class, count), the fastest layout that fits
memory. Only *runnable* instance counts are evaluated: those whose GPUs split into
model-parallel groups and a data-parallel degree that divides the batch's sequences
(:func:`~gpucost.performance.step_time.runnable_gpu_counts`); at any other count no layout
runs, so leaving it out is exact, and the work no longer grows with ``max_instances``.
The planner reads job-FLOPs per hour of ``counts[j]`` instances of an offer as
``curves.rate[offer's curve, j]``: one vectorised pass, no Python loop per offer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from gpucost.job.shape import ModelShape
from gpucost.job.spec import Assumptions, RunSpec
from gpucost.performance.calibration import Calibration
from gpucost.performance.goodput import offer_reclaim_rates, overhead, spot_model
from gpucost.performance.hardware import HardwareClasses, hardware_classes, subset
from gpucost.performance.step_time import (
    GIB,
    RECOMPUTE,
    LayoutGrid,
    dominated,
    evaluate_layouts,
    grid_for,
    layouts_for,
    runnable_gpu_counts,
)
from gpucost.performance.user_calibration import rate_factors

# Elements of one (classes x counts x layouts) array evaluated at a time: bounds the
# model's memory whatever the catalog or the instance limit.
CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class Layout:
    """How one run is laid out on a cluster, and what that gives."""

    data_parallel: int
    tensor_parallel: int
    pipeline_parallel: int
    zero_stage: int
    micro_batch: int
    activation_checkpointing: bool
    memory_gib_per_gpu: float
    mfu: float
    comm_fraction: float
    tokens_per_s: float
    gradient_accumulation: int = 1   # micro-batches per replica per optimizer step
    recompute: str = "none"          # activation recomputation: none, selective, full
    context_parallel: int = 1
    expert_parallel: int = 1
    batch_sequences: int = 0         # global batch: DP x micro-batch x accumulation

    def to_dict(self) -> dict:
        return {"data_parallel": self.data_parallel, "tensor_parallel": self.tensor_parallel,
                "pipeline_parallel": self.pipeline_parallel,
                "context_parallel": self.context_parallel,
                "expert_parallel": self.expert_parallel, "zero_stage": self.zero_stage,
                "micro_batch": self.micro_batch,
                "gradient_accumulation": self.gradient_accumulation,
                "batch_sequences": self.batch_sequences,
                "activation_checkpointing": self.activation_checkpointing,
                "recompute": self.recompute,
                "memory_gib_per_gpu": round(self.memory_gib_per_gpu, 1),
                "mfu": round(self.mfu, 3), "comm_fraction": round(self.comm_fraction, 3),
                "tokens_per_s": float(f"{self.tokens_per_s:.3g}")}


@dataclass(frozen=True)
class PerformanceCurves:
    """Per hardware class c and runnable instance count ``counts[j]`` (index j)."""

    classes: HardwareClasses
    shape: ModelShape
    grid: LayoutGrid
    counts: np.ndarray         # (K,) instance counts evaluated, ascending
    tokens_per_s: np.ndarray   # (classes, K), 0 where nothing fits
    layout_index: np.ndarray   # (classes, K) column of grid
    memory: np.ndarray
    comm: np.ndarray
    data_parallel: np.ndarray
    micro_batches: np.ndarray
    # (rows, K): expected job FLOPs/hour; rows are the classes on demand, then one per
    # (class, spot reclaim rate) pair of the spot offers
    rate: np.ndarray
    startup_hours: float
    row_class: np.ndarray | None = None    # (rows,) the hardware class of each rate row
    row_reclaims: np.ndarray | None = None  # (rows,) reclaims per instance-hour (0: on demand)
    # (rows, K): variance of the wall time per wall hour (spot reclaims; 0 on demand)
    variance: np.ndarray | None = None

    @property
    def n_max(self) -> int:
        return int(self.counts[-1]) if len(self.counts) else 0

    def index(self, n: int) -> int:
        """Position of instance count ``n`` in ``counts`` (it must be one of them)."""
        j = int(np.searchsorted(self.counts, n))
        if j >= len(self.counts) or self.counts[j] != n:
            raise KeyError(f"{n} instances is not a runnable count of these curves")
        return j

    def layout(self, hw_class: int, n: int) -> Layout:
        j = self.index(n)
        k = int(self.layout_index[hw_class, j])
        d = int(round(self.data_parallel[hw_class, j]))
        tps = float(self.tokens_per_s[hw_class, j])
        gpus = n * self.classes.gpus_per_instance[hw_class]
        mfu = tps / gpus * self.shape.flops_per_token / self.classes.peak_flops[hw_class]
        g = self.grid
        rc = RECOMPUTE[int(g.recompute[k])]
        return Layout(
            data_parallel=d, tensor_parallel=int(g.tensor[k]),
            pipeline_parallel=int(g.pipeline[k]),
            zero_stage=int(g.zero[k]) if d > 1 else 0,
            micro_batch=int(g.micro_batch[k]),
            activation_checkpointing=rc != "none",
            memory_gib_per_gpu=float(self.memory[hw_class, j]) / GIB, mfu=float(mfu),
            comm_fraction=float(self.comm[hw_class, j]), tokens_per_s=tps,
            gradient_accumulation=int(round(self.micro_batches[hw_class, j])),
            recompute=rc, context_parallel=int(g.context[k]),
            expert_parallel=int(g.expert[k]), batch_sequences=self.shape.batch_sequences)


def job_flops_per_token(run: RunSpec, shape: ModelShape) -> float:
    """The job's FLOPs per trained token as the planner counts them (its ``flops`` over
    its tokens; the model FLOPs per token, attention included, when the job gives FLOPs
    only): the same definition as MFU's numerator."""
    if run.tokens:
        return run.flops / run.tokens
    return shape.flops_per_token


def instance_counts(shape: ModelShape, gpus_per_instance: np.ndarray, n_max: int
                    ) -> np.ndarray:
    """The instance counts up to ``n_max`` at which some class of ``gpus_per_instance``
    GPUs has a runnable layout (always including 1)."""
    out = [np.array([1])]
    for g in np.unique(gpus_per_instance).astype(int):
        gpus = runnable_gpu_counts(shape, n_max * g)
        out.append(gpus[gpus % g == 0] // g)
    return np.unique(np.concatenate(out)).astype(np.int64)


def _best_layouts(shape, state_bytes: float, hw: HardwareClasses, counts: np.ndarray,
                  calib: Calibration, run: RunSpec, columns: np.ndarray, grid: LayoutGrid,
                  rows: np.ndarray, cols: np.ndarray, outs: tuple, best: np.ndarray) -> None:
    """The fastest layout of ``columns`` per (class ``rows``, count ``cols``), written into
    ``outs`` (tokens, memory, comm, data parallel, micro-batches) and ``best``. Which
    layouts run and fit is found first (memory only); the step time is then evaluated
    only for those not dominated by a faster one that also fits (see ``dominated``)."""
    fit = evaluate_layouts(shape, state_bytes, hw, counts, calib, run.utilization, columns,
                           run.memory_margin, grid, memory_only=True).tokens_per_s > 0
    fit = np.broadcast_to(fit, (len(rows), len(counts), len(columns)))
    keep = fit & ~dominated(fit, grid, columns)
    ci, ni, ki = np.nonzero(keep)
    if not len(ci):
        return
    c3 = (slice(None), None, None)
    picked = columns[ki]
    pairs = LayoutGrid(*(getattr(grid, f)[picked][c3] for f in (
        "tensor", "pipeline", "zero", "micro_batch", "recompute", "context", "expert")))
    per = replace(hw, **{f: getattr(hw, f)[ci] for f in _HW_ARRAYS})
    ev = evaluate_layouts(shape, state_bytes, per, counts[ni][c3], calib, run.utilization,
                          None, run.memory_margin, pairs)
    speed = ev.tokens_per_s[:, 0, 0]
    group = ci * len(counts) + ni
    # Per (class, count): the fastest; ties go to the earlier column of the grid.
    order = np.lexsort((picked, -speed, group))
    first = order[np.r_[True, group[order][1:] != group[order][:-1]]]
    r, c = rows[ci[first]], cols[ni[first]]
    best[r, c] = picked[first]
    for out, values in zip(outs, (ev.tokens_per_s, ev.memory_per_gpu, ev.comm_fraction,
                                  ev.data_parallel, ev.micro_batches), strict=True):
        out[r, c] = np.broadcast_to(values, ev.tokens_per_s.shape)[first, 0, 0]


_HW_ARRAYS = ("gpus_per_instance", "peak_flops", "peak_bf16_flops", "fp8", "memory_bandwidth",
              "gpu_memory", "link_bandwidth", "network_bandwidth", "flash_attention")


def performance_curves(run: RunSpec, offers: pd.DataFrame, n_max: int,
                       assumptions: Assumptions, calib: Calibration,
                       counts: np.ndarray | None = None
                       ) -> tuple[PerformanceCurves, np.ndarray]:
    """Curves for ``run`` over the hardware classes of ``offers`` at its runnable instance
    counts up to ``n_max`` (or at ``counts``), and each offer's curve row in ``rate``
    (class, or class + number of classes for spot offers)."""
    shape = run.shape
    grid = grid_for(shape)
    classes, codes = hardware_classes(offers, run.precision, run.stack)
    if counts is None:
        counts = instance_counts(shape, classes.gpus_per_instance, max(n_max, 1))
    counts = np.asarray(counts, dtype=np.int64)
    # A job given as FLOPs alone states no model: its throughput is sized like the
    # reference model, but no model state is asked to fit.
    state_bytes = run.bytes_per_parameter if run.parameters else 0.0
    size = len(classes.keys)
    shape2 = (size, len(counts))
    tokens, memory, comm, dp, micro = (np.zeros(shape2) for _ in range(5))
    best = np.zeros(shape2, dtype=int)
    for g in np.unique(classes.gpus_per_instance):
        rows = np.flatnonzero(classes.gpus_per_instance == g)
        columns = layouts_for(grid, int(g))
        # Only the counts whose GPUs can run some layout (others stay 0).
        runnable = np.isin(counts * int(g), runnable_gpu_counts(shape, int(counts[-1] * g)))
        cols = np.flatnonzero(runnable)
        per_class = max(len(columns) * max(len(cols), 1), 1)
        step = max(CHUNK_ELEMENTS // per_class, 1)
        for lo in range(0, len(rows), step):
            chunk = rows[lo:lo + step]
            if not len(cols):
                continue
            _best_layouts(shape, state_bytes, subset(classes, chunk), counts[cols], calib,
                          run, columns, grid, chunk, cols,
                          (tokens, memory, comm, dp, micro), best)

    # A team's own calibration (gpucost calibrate), if one is active: one factor per GPU.
    tokens *= rate_factors(classes.keys["gpu"], run.stack, run.precision,
                           run.utilization)[:, None]

    gpus = counts[None, :] * classes.gpus_per_instance[:, None]
    per_token = job_flops_per_token(run, shape)
    extra = overhead(assumptions, gpus, 0)
    rates = [tokens * 3600.0 * per_token / (1.0 + extra)]
    variances = [np.zeros_like(rates[0])]
    spot_offer = (offers["pricing"] == "spot").to_numpy()
    reclaims = offer_reclaim_rates(offers, assumptions)
    rows = np.asarray(codes).copy()
    pairs = sorted({(int(c), float(r)) for c, r, s in zip(codes, reclaims, spot_offer,
                                                          strict=True) if s})
    row_of = {pair: size + k for k, pair in enumerate(pairs)}
    for i in np.flatnonzero(spot_offer):
        rows[i] = row_of[(int(codes[i]), float(reclaims[i]))]
    state = run.parameters * run.bytes_per_parameter if run.parameters else 0.0
    gpu_rows = np.broadcast_to(gpus, tokens.shape)
    for c, reclaim in pairs:
        model = spot_model(assumptions, reclaim, counts, gpu_rows[c], state)
        rates.append(tokens[c:c + 1] * 3600.0 * per_token / model.factor[None, :])
        variances.append(model.variance_per_hour[None, :])
    curves = PerformanceCurves(
        classes=classes, shape=shape, grid=grid, counts=counts, tokens_per_s=tokens,
        layout_index=best, memory=memory, comm=comm, data_parallel=dp,
        micro_batches=micro, rate=np.concatenate(rates, axis=0),
        startup_hours=assumptions.startup_hours,
        row_class=np.array([*range(size), *(c for c, _ in pairs)], dtype=np.int64),
        row_reclaims=np.array([0.0] * size + [r for _, r in pairs]),
        variance=np.concatenate(variances, axis=0))
    return curves, rows

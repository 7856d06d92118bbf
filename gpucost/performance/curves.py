"""Throughput of every hardware class at every instance count, with its best layout.

For one run, :func:`performance_curves` evaluates the layout grid on each hardware class
of the candidate offers for 1..n_max instances and keeps, per (class, count), the
fastest layout that fits memory. The planner then reads job-FLOPs per hour of ``n``
instances of an offer as ``curves.rate[offer's curve, n]``: one vectorised pass, no
Python loop per offer or per layout.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from gpucost.job.shape import ModelShape
from gpucost.job.spec import Assumptions, RunSpec
from gpucost.performance.calibration import Calibration
from gpucost.performance.goodput import offer_reclaim_rates, overhead, spot_model
from gpucost.performance.hardware import HardwareClasses, hardware_classes, subset
from gpucost.performance.step_time import GIB, GRID, evaluate_layouts, layouts_for
from gpucost.performance.user_calibration import rate_factors


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

    def to_dict(self) -> dict:
        return {"data_parallel": self.data_parallel, "tensor_parallel": self.tensor_parallel,
                "pipeline_parallel": self.pipeline_parallel, "zero_stage": self.zero_stage,
                "micro_batch": self.micro_batch,
                "activation_checkpointing": self.activation_checkpointing,
                "memory_gib_per_gpu": round(self.memory_gib_per_gpu, 1),
                "mfu": round(self.mfu, 3), "comm_fraction": round(self.comm_fraction, 3),
                "tokens_per_s": float(f"{self.tokens_per_s:.3g}")}


@dataclass(frozen=True)
class PerformanceCurves:
    """Per hardware class c and instance count n (index n, 0 unused)."""

    classes: HardwareClasses
    shape: ModelShape
    tokens_per_s: np.ndarray   # (classes, n_max + 1), 0 where nothing fits
    layout_index: np.ndarray   # (classes, n_max + 1) column of GRID
    memory: np.ndarray
    comm: np.ndarray
    data_parallel: np.ndarray
    # (rows, n_max + 1): expected job FLOPs/hour; rows are the classes on demand, then one
    # per (class, spot reclaim rate) pair of the spot offers
    rate: np.ndarray
    startup_hours: float
    row_class: np.ndarray | None = None    # (rows,) the hardware class of each rate row
    row_reclaims: np.ndarray | None = None  # (rows,) reclaims per instance-hour (0: on demand)
    # (rows, n_max + 1): variance of the wall time per wall hour (spot reclaims; 0 on demand)
    variance: np.ndarray | None = None

    @property
    def n_max(self) -> int:
        return self.tokens_per_s.shape[1] - 1

    def layout(self, hw_class: int, n: int) -> Layout:
        k = int(self.layout_index[hw_class, n])
        d = int(round(self.data_parallel[hw_class, n]))
        tps = float(self.tokens_per_s[hw_class, n])
        gpus = n * self.classes.gpus_per_instance[hw_class]
        mfu = tps / gpus * self.shape.flops_per_token / self.classes.peak_flops[hw_class]
        return Layout(
            data_parallel=d, tensor_parallel=int(GRID.tensor[k]),
            pipeline_parallel=int(GRID.pipeline[k]),
            zero_stage=int(GRID.zero[k]) if d > 1 else 0,
            micro_batch=int(GRID.micro_batch[k]),
            activation_checkpointing=bool(GRID.checkpointing[k]),
            memory_gib_per_gpu=float(self.memory[hw_class, n]) / GIB, mfu=float(mfu),
            comm_fraction=float(self.comm[hw_class, n]), tokens_per_s=tps)


def job_flops_per_token(run: RunSpec, shape: ModelShape) -> float:
    """The job's FLOPs per trained token as the planner counts them (its ``flops`` over
    its tokens; 6 N when the job gives FLOPs only)."""
    if run.tokens:
        return run.flops / run.tokens
    return 6.0 * shape.parameters


def performance_curves(run: RunSpec, offers: pd.DataFrame, n_max: int,
                       assumptions: Assumptions, calib: Calibration
                       ) -> tuple[PerformanceCurves, np.ndarray]:
    """Curves for ``run`` over the hardware classes of ``offers``, and each offer's curve
    row in ``rate`` (its class on demand; its (class, reclaim rate) row for spot offers,
    the rate from the ``reclaims_per_hour`` column or the provider's default)."""
    shape = run.shape
    classes, codes = hardware_classes(offers, run.precision, run.stack)
    counts = np.arange(1, max(n_max, 1) + 1)
    # A job given as FLOPs alone states no model: its throughput is sized like the
    # reference model, but no model state is asked to fit.
    state_bytes = run.bytes_per_parameter if run.parameters else 0.0
    # Per GPU count: only the tensor-parallel degrees that fit inside the instance.
    size = len(classes.keys)
    shape3 = (size, len(counts))
    tokens_best, memory, comm, dp = (np.zeros(shape3) for _ in range(4))
    best = np.zeros(shape3, dtype=int)
    for g in np.unique(classes.gpus_per_instance):
        rows = np.flatnonzero(classes.gpus_per_instance == g)
        columns = layouts_for(int(g))
        ev = evaluate_layouts(shape, state_bytes, subset(classes, rows), counts, calib,
                              run.utilization, columns)
        k = np.argmax(ev.tokens_per_s, axis=2)
        best[rows] = columns[k]
        for out, values in ((tokens_best, ev.tokens_per_s), (memory, ev.memory_per_gpu),
                            (comm, ev.comm_fraction), (dp, ev.data_parallel)):
            full = np.broadcast_to(values, ev.tokens_per_s.shape)
            out[rows] = np.take_along_axis(full, k[:, :, None], axis=2)[:, :, 0]

    # A team's own calibration (gpucost calibrate), if one is active: one factor per GPU.
    tokens_best *= rate_factors(classes.keys["gpu"], run.stack, run.precision,
                                run.utilization)[:, None]

    def keep(values: np.ndarray) -> np.ndarray:
        return np.concatenate([np.zeros((len(values), 1)), values], axis=1)

    tokens = keep(tokens_best)
    gpus = counts[None, :] * classes.gpus_per_instance[:, None]
    per_token = job_flops_per_token(run, shape)
    extra = overhead(assumptions, gpus, 0)
    rates = [tokens[:, 1:] * 3600.0 * per_token / (1.0 + extra)]
    variances = [np.zeros_like(rates[0])]
    spot_offer = (offers["pricing"] == "spot").to_numpy()
    reclaims = offer_reclaim_rates(offers, assumptions)
    rows = codes.copy()
    pairs = sorted({(int(c), float(r)) for c, r, s in zip(codes, reclaims, spot_offer,
                                                          strict=True) if s})
    row_of = {pair: size + k for k, pair in enumerate(pairs)}
    for i in np.flatnonzero(spot_offer):
        rows[i] = row_of[(int(codes[i]), float(reclaims[i]))]
    state = run.parameters * run.bytes_per_parameter if run.parameters else 0.0
    for c, reclaim in pairs:
        model = spot_model(assumptions, reclaim, counts, gpus[c], state)
        rates.append(tokens[c:c + 1, 1:] * 3600.0 * per_token / model.factor[None, :])
        variances.append(model.variance_per_hour[None, :])
    rate = np.concatenate(rates, axis=0)
    curves = PerformanceCurves(
        classes=classes, shape=shape, tokens_per_s=tokens,
        layout_index=np.concatenate([np.zeros((len(best), 1), dtype=int), best], axis=1),
        memory=keep(memory), comm=keep(comm),
        data_parallel=keep(dp), rate=keep(rate),
        startup_hours=assumptions.startup_hours,
        row_class=np.array([*range(size), *(c for c, _ in pairs)], dtype=np.int64),
        row_reclaims=np.array([0.0] * size + [r for _, r in pairs]),
        variance=keep(np.concatenate(variances, axis=0)))
    return curves, rows

"""One analytic step-time function: model x system x execution strategy -> seconds.

Like Calculon (Isaev et al. 2023) the three inputs are kept apart: the model
(:class:`~gpucost.job.shape.ModelShape`), the system (hardware classes x
instance counts) and the execution strategy (the layout grid below). Everything is
evaluated at once as numpy arrays of shape (classes, instance counts, layouts), so a
catalog of thousands of offers costs one vectorised pass.

Per optimizer step, for one GPU (all times in seconds):

- compute: tokens the GPU processes x FLOPs per token (6 N + attention, x 4/3 with full
  activation recomputation) over the dense peak x gemm efficiency x shape factors; in
  fp8 only the linear layers (6 N) run at fp8 speed;
- memory: non-matmul traffic (``elementwise_bytes`` x hidden per token and layer),
  weights read three times per micro-batch, optimizer update of the local shard;
- tensor parallel: 4 all-reduces of the micro-batch activations per layer (6 with
  recomputation) inside the instance over its GPU link (Narayanan et al. 2021, sec. 3);
  never across instances;
- pipeline: the interleaved 1F1B bubble, (p - 1) / (micro-batches x virtual stages) of
  the compute (Narayanan et al. 2021, sec. 2.2), plus activations sent between stages;
- data parallel: gradients reduced hierarchically, inside the instance over the GPU
  link and between instances over the network (2 (n-1)/n x bytes / bandwidth, the ring
  all-reduce of Patarasuk and Yuan 2009); ZeRO-3 also gathers the parameters for the
  forward and the backward of every micro-batch (Rajbhandari et al. 2020). The share
  that ``overlap`` x compute cannot hide is exposed.

Memory per GPU: weights (2 bytes), gradients (2) and optimizer state (the rest of
``bytes_per_parameter``) divided by tensor x pipeline degree, and by data-parallel degree
as the ZeRO stage shards them; plus activations, 34 s b h / t bytes per layer with
sequence parallelism and FlashAttention (Korthikanti et al. 2022, Table 2, without the
5 a s^2 b term FlashAttention never stores), or 2 s b h / t with full recomputation
(only layer inputs kept), for the micro-batches in flight on the first pipeline stage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gpucost.job.shape import ModelShape
from gpucost.performance.calibration import Calibration
from gpucost.performance.hardware import HardwareClasses

GIB = 2.0**30


@dataclass(frozen=True)
class LayoutGrid:
    """Execution strategies tried, one per column; simpler ones first (ties go to them)."""

    tensor: np.ndarray
    pipeline: np.ndarray
    zero: np.ndarray
    micro_batch: np.ndarray
    checkpointing: np.ndarray

    @property
    def size(self) -> int:
        return len(self.tensor)


def layout_grid() -> LayoutGrid:
    rows = [(t, p, z, m, ck)
            for ck in (False, True)
            for p in (1, 2, 4, 8, 16)
            for t in (1, 2, 4, 8)
            # ZeRO-1 is left out: ZeRO-2 has the same traffic and holds less, so it
            # never loses (Rajbhandari et al. 2020, sec. 5: both cost one all-reduce).
            for z in (2, 3)
            for m in (1, 2, 4)]
    cols = list(zip(*rows, strict=True))
    return LayoutGrid(*(np.array(c) for c in cols))


GRID = layout_grid()


@dataclass(frozen=True)
class Evaluated:
    """Arrays of shape (classes, instance counts, layouts)."""

    tokens_per_s: np.ndarray      # 0 where the layout is impossible or does not fit
    memory_per_gpu: np.ndarray    # bytes
    comm_fraction: np.ndarray     # exposed communication / step time
    data_parallel: np.ndarray


def layouts_for(gpus_per_instance: int) -> np.ndarray:
    """Columns of GRID whose tensor-parallel degree divides the instance's GPUs (tensor
    parallelism never crosses instances)."""
    return np.flatnonzero((GRID.tensor <= gpus_per_instance)
                          & (gpus_per_instance % GRID.tensor == 0))


def evaluate_layouts(shape: ModelShape, bytes_per_parameter: float, hw: HardwareClasses,
                     instances: np.ndarray, calib: Calibration,
                     fixed_mfu: float | None = None,
                     columns: np.ndarray | None = None) -> Evaluated:
    """Throughput and memory of the layouts ``columns`` of GRID (all by default) on every
    class at every instance count."""
    columns = np.arange(GRID.size) if columns is None else columns
    with np.errstate(all="ignore"):  # impossible layouts give inf/nan, masked at the end
        return _evaluate(shape, bytes_per_parameter, hw, instances, calib, fixed_mfu, columns)


def _evaluate(shape: ModelShape, bytes_per_parameter: float, hw: HardwareClasses,
              instances: np.ndarray, calib: Calibration, fixed_mfu: float | None,
              columns: np.ndarray) -> Evaluated:
    c3 = (slice(None), None, None)
    g = hw.gpus_per_instance[c3]
    n = np.asarray(instances, dtype=float)
    n = n if n.ndim == 3 else n[None, :, None]  # calibration passes one count per class
    def col(values: np.ndarray) -> np.ndarray:
        return values[columns][None, None, :]

    t, p, z = col(GRID.tensor), col(GRID.pipeline), col(GRID.zero)
    m, ck = col(GRID.micro_batch), col(GRID.checkpointing)
    gpus = n * g
    mp = t * p                                   # GPUs holding one model replica
    d = gpus / mp                                # data-parallel degree
    seqs = shape.batch_tokens / shape.sequence_length
    micro = seqs / (d * m)                       # micro-batches per replica per step
    valid = ((t <= g) & (np.mod(g, t) == 0) & (np.mod(gpus, mp) == 0) & (d >= 1)
             & (micro >= 1) & (p <= shape.layers) & ((p == 1) | (micro >= p)))

    N, L, h, s = shape.parameters, shape.layers, shape.hidden_size, shape.sequence_length
    tokens_gpu = shape.batch_tokens / (d * mp)   # tokens per GPU per step (its share)
    recompute = np.where(ck, 4.0 / 3.0, 1.0)
    shape_factor = ((h / t) / (h / t + calib.gemm_half_width)
                    * (m * s) / (m * s + calib.gemm_half_tokens))
    eff = calib.gemm_efficiency * shape_factor
    linear_flops = 6.0 * shape.activated_parameters
    # MFU counts the full s x s score matrix (PaLM's 12 L h s); a causal FlashAttention
    # kernel computes only the lower triangle, half of it (Dao 2023, FlashAttention-2).
    attention_flops = 12.0 * L * h * s
    attention_work = attention_flops / 2.0
    peak = hw.peak_bf16_flops[c3]
    linear_peak = np.where(hw.fp8[c3], peak * calib.fp8_gemm_speedup, peak)
    params_gpu = N / mp
    if fixed_mfu is not None:
        # The user fixed the MFU (on 6 N FLOPs per token, what the job's FLOPs count):
        # compute runs at that share of the peak at the precision used, and the memory
        # traffic is inside that figure.
        compute = tokens_gpu * linear_flops / (hw.peak_flops[c3] * fixed_mfu)
        memory_time = optimizer = 0.0
    else:
        compute = tokens_gpu * recompute * (linear_flops / (linear_peak * eff)
                                            + attention_work / (peak * eff))
        traffic = calib.elementwise_bytes * np.where(hw.fp8[c3], 1 + calib.fp8_cast_traffic,
                                                     1.0)
        bw = hw.memory_bandwidth[c3]
        memory_time = (tokens_gpu * L * traffic * h * recompute
                       + micro * (3.0 + ck) * 2.0 * params_gpu) / bw
        # Every stage in the grid (ZeRO-2/3) shards the optimizer state over DP.
        optimizer = 2.0 * bytes_per_parameter * params_gpu / d / bw

    link = hw.link_bandwidth[c3]
    net_per_gpu = hw.network_bandwidth[c3] / g
    act_bytes = m * s * h * 2.0                  # one micro-batch's activations, bf16
    tp = (t > 1) * (4.0 + 2.0 * ck) * (L / p) * micro * 2.0 * (t - 1) / t * act_bytes / link
    # Interleaved 1F1B (Narayanan et al. 2021, sec. 2.2.2): v virtual stages per GPU cut
    # the bubble v-fold for v-fold more stage-to-stage sends; tuned stacks use it.
    virtual = np.clip(np.floor(L / p), 1.0, 4.0)
    bubble = (p - 1) / (np.maximum(micro, 1.0) * virtual)
    # Pipeline stages sit inside the instance while the replica fits in it.
    stage_bw = np.where(mp <= g, link, net_per_gpu)
    p2p = (p > 1) * 2.0 * micro * act_bytes / t / stage_bw * virtual

    # Data parallel, hierarchical: replicas inside one instance, then across instances.
    grad_gpu = 2.0 * params_gpu                  # bf16 gradients of the local shard
    in_node = np.maximum(g / mp, 1.0)            # replicas per instance
    across = np.maximum(d / in_node, 1.0)        # instances in each data-parallel ring
    rounds = np.where(z >= 3, 1.0 + 2.0 * micro, 2.0)  # ZeRO-3: gathers per micro-batch
    unique_node = grad_gpu * np.minimum(g, mp)   # distinct gradient bytes per instance
    dp_in = (in_node > 1) * rounds / 2 * 2.0 * (in_node - 1) / in_node * grad_gpu / link
    dp_across = (across > 1) * rounds / 2 * 2.0 * (across - 1) / across * unique_node \
        / hw.network_bandwidth[c3]
    dp = dp_in + dp_across
    exposed_dp = np.maximum(0.0, dp - calib.overlap * compute)

    busy = compute + memory_time + tp
    step = busy * (1.0 + bubble) + p2p + exposed_dp + optimizer
    tokens_per_s = shape.batch_tokens / step

    # Memory per GPU.
    # bytes_per_parameter splits as bf16 weights (2), bf16 gradients (2), optimizer (rest).
    weight_b = np.minimum(bytes_per_parameter, 2.0)
    grad_b = np.clip(bytes_per_parameter - 2.0, 0.0, 2.0)
    optim_b = np.maximum(bytes_per_parameter - 4.0, 0.0)
    state = params_gpu * (weight_b / np.where(z >= 3, d, 1.0)
                          + grad_b / np.where(z >= 2, d, 1.0) + optim_b / d)
    per_layer = np.where(ck, 2.0, 34.0) * s * m * h / t
    in_flight = np.minimum(p, np.maximum(micro, 1.0))
    activations = per_layer * (L / p) * in_flight + np.where(ck, 34.0 * s * m * h / t, 0.0)
    memory = (state + activations) * (1.0 + calib.fragmentation) + calib.reserved_gib * GIB
    fits = memory <= hw.gpu_memory[c3]
    ok = valid & fits
    comm = (tp + p2p + exposed_dp) / step
    return Evaluated(np.where(ok, tokens_per_s, 0.0), memory, comm, d)

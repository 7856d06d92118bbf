"""One analytic step-time function: model x system x execution strategy -> seconds.

Like Calculon (Isaev et al. 2023) the three inputs are kept apart: the model
(:class:`~gpucost.job.shape.ModelShape`), the system (hardware classes x
instance counts) and the execution strategy (the layout grid below). Everything is
evaluated at once as numpy arrays of shape (classes, instance counts, layouts), so a
catalog of thousands of offers costs one vectorised pass.

A layout is runnable only as a framework runs it: GPUs = tensor x pipeline x context x
data parallel, and the global batch splits into data-parallel ranks x micro-batch x
gradient-accumulation steps of *whole* sequences; the pipeline bubble is computed on
that whole number of micro-batches.

Per optimizer step, for one GPU (all times in seconds):

- compute: tokens the GPU processes x FLOPs per token (6 x activated parameters in the
  linear layers; attention's 12 L h s, of which a causal FlashAttention kernel computes
  half) over the dense peak x gemm efficiency x shape factors. Full activation
  recomputation adds the forward again (x 4/3); selective recomputation (Korthikanti et
  al. 2022, sec. 4) only the attention core's forward. In fp8 only the linear layers run
  at fp8 speed. GPUs without FlashAttention (V100, T4) compute the full s x s scores and
  move them through memory (``attention_matrix_bytes`` per score element);
- memory: non-matmul traffic (``elementwise_bytes`` x hidden per token and layer),
  weights read three times per micro-batch, optimizer update of the local shard;
- tensor parallel: 4 all-reduces of the micro-batch activations per layer (6 with
  recomputation) inside the instance over its GPU link (Narayanan et al. 2021, sec. 3);
  never across instances;
- pipeline: the interleaved 1F1B bubble, (p - 1) / (micro-batches x virtual stages) of
  the compute (Narayanan et al. 2021, sec. 2.2), plus activations sent between stages,
  over the network when stages span instances;
- context parallel (ring attention, Liu et al. 2023; Megatron-Core CP): each GPU holds
  s / c of every sequence and passes its keys and values around the ring of c GPUs,
  hidden behind the attention compute where it can be;
- mixture of experts: expert parallelism over e data-parallel ranks; per MoE layer two
  all-to-alls (dispatch and combine) forward and two backward, over the GPU link inside
  the instance and the network beyond (Lepikhin et al. 2020, GShard; Rajbhandari et al.
  2022, DeepSpeed-MoE); expert GEMMs at ``grouped_gemm_efficiency`` on the tokens each
  expert gets, the busiest rank slower by ``routing_imbalance``;
- data parallel: gradients reduced hierarchically, inside the instance over the GPU
  link and between instances over the network (2 (n-1)/n x bytes / bandwidth, the ring
  all-reduce of Patarasuk and Yuan 2009, plus 2 log2 n latency steps per bucket, NCCL's
  trees); ZeRO-3 also gathers the parameters for the forward and the backward of every
  micro-batch (Rajbhandari et al. 2020). The share that ``overlap`` x compute cannot hide
  is exposed, and never less than the last gradient bucket;
- stragglers: the step waits for the slowest node, x (1 + cv sqrt(2 ln nodes)).

Memory per GPU: weights (2 bytes), gradients (2) and optimizer state (the rest of
``bytes_per_parameter``) divided by tensor x pipeline degree (experts also by expert
degree), and by data-parallel degree as the ZeRO stage shards them; plus activations,
34 s b h / t bytes per layer with sequence parallelism (Korthikanti et al. 2022, Table 2),
+ 5 a s^2 b / t for the scores where no FlashAttention spares them and no selective
recomputation drops them, or 2 s b h / t with full recomputation (only layer inputs
kept), for the micro-batches in flight on the first pipeline stage. A layout fits when
that, with fragmentation and reserved memory, leaves ``margin`` of the GPU free.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from gpucost.performance.calibration import Calibration
from gpucost.performance.hardware import HardwareClasses

GIB = 2.0**30

RECOMPUTE = ("none", "selective", "full")
TENSOR = (1, 2, 4, 8)
PIPELINE = (1, 2, 4, 8, 16)
MICRO_BATCH = (1, 2, 4, 8, 16, 32, 64)
# Context parallelism is tried from this sequence length on (below it a sequence's
# activations fit without splitting it; Megatron-Core recommends CP for >= 8k-16k).
CONTEXT_FROM = 16384
CONTEXT = (1, 2, 4, 8, 16, 32)
# The fewest tokens of a sequence one context-parallel rank keeps (ring steps smaller
# than this cannot hide their transfer).
CONTEXT_MIN_TOKENS = 2048
EXPERT = (1, 2, 4, 8, 16, 32, 64, 128, 256)


@dataclass(frozen=True)
class LayoutGrid:
    """Execution strategies tried, one per column; simpler ones first (ties go to them)."""

    tensor: np.ndarray
    pipeline: np.ndarray
    zero: np.ndarray
    micro_batch: np.ndarray
    recompute: np.ndarray   # index into RECOMPUTE
    context: np.ndarray
    expert: np.ndarray

    @property
    def size(self) -> int:
        return len(self.tensor)

    @property
    def model_parallel(self) -> np.ndarray:
        """GPUs per model replica (tensor x pipeline x context)."""
        return self.tensor * self.pipeline * self.context


@cache
def layout_grid(max_sequence: int = 0, max_experts: int = 1) -> LayoutGrid:
    """The grid for runs of sequences up to ``max_sequence`` and up to ``max_experts``
    experts: context parallelism only for long sequences, expert parallelism only for
    mixtures of experts."""
    contexts = [c for c in CONTEXT if c == 1 or (
        max_sequence >= CONTEXT_FROM and max_sequence // c >= CONTEXT_MIN_TOKENS)]
    experts = [e for e in EXPERT if e <= max_experts]
    rows = [(t, p, z, m, rc, c, e)
            for rc in range(len(RECOMPUTE))
            for c in contexts
            for e in experts
            for p in PIPELINE
            for t in TENSOR
            # ZeRO-1 is left out: ZeRO-2 has the same traffic and holds less, so it
            # never loses (Rajbhandari et al. 2020, sec. 5: both cost one all-reduce).
            for z in (2, 3)
            for m in MICRO_BATCH]
    cols = list(zip(*rows, strict=True))
    return LayoutGrid(*(np.array(c) for c in cols))


def grid_for(shape) -> LayoutGrid:
    """The grid for ``shape`` (a ModelShape, or a namespace of arrays over cases)."""
    seq = int(np.max(shape.sequence_length))
    experts = int(np.max(getattr(shape, "experts", 1)))
    return layout_grid(seq, experts)


def runnable_gpu_counts(shape, limit: int) -> np.ndarray:
    """Every GPU count up to ``limit`` at which some layout of the grid is runnable:
    (tensor x pipeline x context) x a data-parallel degree that divides the batch's
    sequences. Other GPU counts cannot split the batch into whole micro-batches, so the
    planner never needs to look at them."""
    grid = grid_for(shape)
    seqs = int(round(float(np.max(shape.batch_tokens / shape.sequence_length))))
    divisors = _divisors(seqs)
    gpus = np.unique(np.outer(np.unique(grid.model_parallel), divisors).ravel())
    return gpus[gpus <= limit]


def _divisors(n: int) -> np.ndarray:
    small = np.arange(1, int(n**0.5) + 1)
    small = small[n % small == 0]
    return np.unique(np.concatenate([small, n // small]))


@dataclass(frozen=True)
class Evaluated:
    """Arrays of shape (classes, instance counts, layouts)."""

    tokens_per_s: np.ndarray      # 0 where the layout is impossible or does not fit
    memory_per_gpu: np.ndarray    # bytes
    comm_fraction: np.ndarray     # exposed communication / step time
    data_parallel: np.ndarray
    micro_batches: np.ndarray     # gradient-accumulation steps (micro-batches per replica)


def layouts_for(grid: LayoutGrid, gpus_per_instance: int) -> np.ndarray:
    """Columns of ``grid`` whose tensor-parallel degree divides the instance's GPUs (tensor
    parallelism never crosses instances)."""
    return np.flatnonzero((grid.tensor <= gpus_per_instance)
                          & (gpus_per_instance % grid.tensor == 0))


def evaluate_layouts(shape, bytes_per_parameter: float, hw: HardwareClasses,
                     instances: np.ndarray, calib: Calibration,
                     fixed_mfu: float | None = None,
                     columns: np.ndarray | None = None, margin: float = 0.0,
                     grid: LayoutGrid | None = None,
                     whole_batches: bool = True) -> Evaluated:
    """Throughput and memory of the layouts ``columns`` of ``grid`` (by default the grid
    for ``shape``, all columns) on every class at every instance count; a layout fits
    when it leaves ``margin`` of each GPU's memory free. ``whole_batches=False`` also
    admits a fractional number of micro-batches: only for calibrating on published runs
    whose own (runnable) layout is outside the grid, never for plans."""
    grid = grid or grid_for(shape)
    columns = np.arange(grid.size) if columns is None else columns
    with np.errstate(all="ignore"):  # impossible layouts give inf/nan, masked at the end
        return _evaluate(shape, bytes_per_parameter, hw, instances, calib, fixed_mfu,
                         grid, columns, margin, whole_batches)


def _evaluate(shape, bytes_per_parameter: float, hw: HardwareClasses,
              instances: np.ndarray, calib: Calibration, fixed_mfu: float | None,
              grid: LayoutGrid, columns: np.ndarray, margin: float,
              whole_batches: bool) -> Evaluated:
    c3 = (slice(None), None, None)
    g = hw.gpus_per_instance[c3]
    n = np.asarray(instances, dtype=float)
    n = n if n.ndim == 3 else n[None, :, None]  # calibration passes one count per class

    def col(values: np.ndarray) -> np.ndarray:
        # A grid of 3-D arrays gives one layout per class (calibration's pairs).
        picked = values[columns]
        return picked if picked.ndim == 3 else picked[None, None, :]

    t, p, z = col(grid.tensor), col(grid.pipeline), col(grid.zero)
    m, rc = col(grid.micro_batch), col(grid.recompute)
    cp, ep = col(grid.context), col(grid.expert)
    full, selective = rc == 2, rc == 1
    flash = hw.flash_attention[c3]
    N, A, L = shape.parameters, shape.activated_parameters, shape.layers
    h, s = shape.hidden_size, shape.sequence_length
    E = getattr(shape, "experts", 1)
    k_route = getattr(shape, "experts_per_token", 1)
    f_exp = getattr(shape, "expert_hidden_size", 0.0)
    n_expert = getattr(shape, "expert_parameters", 0.0)
    moe = np.asarray(E) > 1
    heads = np.maximum(h / 128.0, 1.0)

    gpus = n * g
    mp = t * p * cp                              # GPUs holding one model replica
    d = gpus / mp                                # data-parallel degree
    seqs = np.round(shape.batch_tokens / s)
    micro = seqs / (d * m)                       # micro-batches per replica per step
    valid = ((t <= g) & (np.mod(g, t) == 0) & (np.mod(gpus, mp) == 0) & (d >= 1)
             & ((np.mod(seqs, d * m) == 0) | (not whole_batches)) & (micro >= 1)
             & (p <= L) & ((p == 1) | (micro >= p))
             & (np.mod(s, cp) == 0) & ((cp == 1) | flash)
             & (np.mod(d, ep) == 0) & (np.mod(E, ep) == 0)
             # selective recomputation only matters where scores would be stored
             & ~(selective & flash))

    tokens_gpu = shape.batch_tokens / gpus       # tokens per GPU per step (its share)
    mb_tokens = m * s / cp                       # tokens of one micro-batch on one GPU

    def gemm_eff(width, tokens):
        return (calib.gemm_efficiency * width / (width + calib.gemm_half_width)
                * tokens / (tokens + calib.gemm_half_tokens))

    eff = gemm_eff(h / t, mb_tokens)
    # Linear FLOPs per token: the dense part (attention projections, shared layers) and
    # the routed experts' FFNs (k experts of width f per MoE layer).
    expert_active = np.where(moe, 6.0 * k_route * 3.0 * h * f_exp * L, 0.0)
    dense_linear = 6.0 * A - expert_active
    # Tokens each local expert multiplies per micro-batch: e ranks' tokens x k routes
    # spread over E experts.
    expert_tokens = mb_tokens * k_route * ep / np.maximum(E, 1)
    eff_expert = gemm_eff(np.maximum(f_exp, 1.0) / t, expert_tokens) * np.where(
        moe, calib.grouped_gemm_efficiency, 1.0)
    # MFU counts the full s x s score matrix (PaLM's 12 L h s); a causal FlashAttention
    # kernel computes only the lower triangle, half of it (Dao 2023, FlashAttention-2);
    # the standard implementation computes all of it and masks.
    attention_flops = 12.0 * L * h * s
    attention_work = np.where(flash, attention_flops / 2.0, attention_flops)
    peak = hw.peak_bf16_flops[c3]
    linear_peak = np.where(hw.fp8[c3], peak * calib.fp8_gemm_speedup, peak)
    recompute = np.where(full, 4.0 / 3.0, 1.0)
    # Selective recomputation redoes the attention core's forward: a third of its work.
    attention_recompute = np.where(full | selective, 4.0 / 3.0, 1.0)
    # Per GPU parameters: dense ones split over tensor x pipeline, experts also over e.
    dense_params = (N - n_expert) / (t * p)
    expert_params = n_expert / (t * p * ep)
    params_gpu = dense_params + expert_params
    bw = hw.memory_bandwidth[c3]
    link = hw.link_bandwidth[c3]
    net_per_gpu = hw.network_bandwidth[c3] / g
    linear_compute = tokens_gpu * recompute * (
        dense_linear / (linear_peak * eff)
        + expert_active * calib.routing_imbalance / (linear_peak * eff_expert))
    attention_compute = tokens_gpu * attention_recompute * attention_work / (
        peak * eff * calib.attention_efficiency)
    compute = linear_compute + attention_compute
    traffic = calib.elementwise_bytes * np.where(hw.fp8[c3], 1 + calib.fp8_cast_traffic, 1.0)
    scores = np.where(flash, 0.0, tokens_gpu * L * heads * s * calib.attention_matrix_bytes
                      * attention_recompute)
    memory_time = (tokens_gpu * L * traffic * h * recompute + scores
                   + micro * (3.0 + full) * 2.0 * params_gpu) / bw
    # Every stage in the grid (ZeRO-2/3) shards the optimizer state over DP.
    optimizer = 2.0 * bytes_per_parameter * (dense_params / (d * cp)
                                             + expert_params * ep / (d * cp)) / bw

    act_bytes = mb_tokens * h * 2.0              # one micro-batch's activations, bf16
    layers_gpu = L / p
    tp_msgs = (t > 1) * (4.0 + 2.0 * full) * layers_gpu * micro
    tp = tp_msgs * (2.0 * (t - 1) / t * act_bytes / link
                    + 2.0 * np.log2(np.maximum(t, 1)) * calib.alpha_link_s)
    # Interleaved 1F1B (Narayanan et al. 2021, sec. 2.2.2): v virtual stages per GPU cut
    # the bubble v-fold for v-fold more stage-to-stage sends; tuned stacks use it.
    virtual = np.clip(np.floor(L / p), 1.0, 4.0)
    bubble = (p - 1) / (micro * virtual)
    # Pipeline stages sit inside the instance while the replica fits in it; otherwise
    # stage boundaries cross instances and their sends go over the network.
    inside = mp <= g
    stage_bw = np.where(inside, link, net_per_gpu)
    stage_alpha = np.where(inside, calib.alpha_link_s, calib.alpha_network_s)
    sends = (p > 1) * 2.0 * micro * virtual
    p2p = sends * (act_bytes / t / stage_bw + stage_alpha)

    # Context parallel: per layer and micro-batch, c - 1 ring steps of K and V forward
    # and twice that backward (dK, dV), hidden behind the attention compute.
    cp_in = t * cp <= g
    cp_bw = np.where(cp_in, link, net_per_gpu)
    cp_alpha = np.where(cp_in, calib.alpha_link_s, calib.alpha_network_s)
    kv_bytes = 2.0 * mb_tokens * h * 2.0 / t
    cp_comm = (cp > 1) * 3.0 * layers_gpu * micro * (cp - 1) * (kv_bytes / cp_bw + cp_alpha)
    cp_exposed = np.maximum(0.0, cp_comm - attention_compute)

    # Expert parallel: the e ranks of one expert group are consecutive data-parallel
    # ranks; those inside the instance talk over the GPU link, the rest over the network.
    ranks_in_node = np.maximum(g / (t * cp), 1.0)
    in_group = np.minimum(ranks_in_node, ep)
    a2a_bytes = mb_tokens * k_route * h * 2.0 / t   # tokens routed out of one GPU
    a2a_msgs = (ep > 1) * (4.0 + 2.0 * full) * layers_gpu * micro
    a2a_link = a2a_bytes * (in_group - 1) / ep / link
    a2a_net = a2a_bytes * (ep - in_group) / ep / net_per_gpu
    a2a = a2a_msgs * (np.maximum(a2a_link, a2a_net)
                      + np.where(ep > in_group, calib.alpha_network_s, calib.alpha_link_s)
                      * np.log2(np.maximum(ep, 2)))

    # Data parallel, hierarchical: replicas inside one instance, then across instances.
    grad_gpu = 2.0 * params_gpu                  # bf16 gradients of the local shard
    in_node = np.maximum(g / mp, 1.0)            # replicas per instance
    across = np.maximum(d / in_node, 1.0)        # instances in each data-parallel ring
    rounds = np.where(z >= 3, 1.0 + 2.0 * micro, 2.0)  # ZeRO-3: gathers per micro-batch
    unique_node = grad_gpu * np.minimum(g, mp)   # distinct gradient bytes per instance
    buckets = np.maximum(grad_gpu / calib.bucket_bytes, 1.0) * rounds / 2
    dp_in = (in_node > 1) * (rounds / 2 * 2.0 * (in_node - 1) / in_node * grad_gpu / link
                             + buckets * 2.0 * np.log2(in_node) * calib.alpha_link_s)
    dp_across = (across > 1) * (rounds / 2 * 2.0 * (across - 1) / across * unique_node
                                / hw.network_bandwidth[c3]
                                + buckets * 2.0 * np.log2(across) * calib.alpha_network_s)
    dp = dp_in + dp_across
    last_bucket = dp * np.minimum(calib.bucket_bytes / grad_gpu, 1.0)
    exposed_dp = np.maximum(dp - calib.overlap * compute, last_bucket) * (d > 1)

    nodes = np.maximum(np.ceil(gpus / g), 1.0)
    straggler = 1.0 + calib.straggler_cv * np.sqrt(2.0 * np.log(nodes))
    if fixed_mfu is not None:
        # The user fixed the MFU (model FLOPs incl. attention over time x peak at the
        # precision used): the step takes exactly that, whatever the layout.
        flops_per_token = 6.0 * A + attention_flops
        step = tokens_gpu * flops_per_token / (hw.peak_flops[c3] * fixed_mfu) + 0.0 * m
        comm_time = 0.0 * step
    else:
        busy = compute + memory_time + tp + a2a
        comm_time = tp + p2p + exposed_dp + cp_exposed + a2a
        step = (busy * (1.0 + bubble) + p2p + exposed_dp + cp_exposed + optimizer) * straggler
    tokens_per_s = shape.batch_tokens / step

    # Memory per GPU.
    # bytes_per_parameter splits as bf16 weights (2), bf16 gradients (2), optimizer (rest).
    weight_b = np.minimum(bytes_per_parameter, 2.0)
    grad_b = np.clip(bytes_per_parameter - 2.0, 0.0, 2.0)
    optim_b = np.maximum(bytes_per_parameter - 4.0, 0.0)
    shard = d * cp                               # ZeRO shards over data x context ranks
    expert_shard = shard / ep

    def state_of(params, ranks):
        return params * (weight_b / np.where(z >= 3, ranks, 1.0)
                         + grad_b / np.where(z >= 2, ranks, 1.0) + optim_b / ranks)

    state = state_of(dense_params, shard) + state_of(expert_params, expert_shard)
    # Korthikanti et al. 2022, Table 2: 34 s b h per layer (attention 11, MLP 19, norms 4)
    # with sequence parallelism; routed MLPs hold k expert widths f instead of 4h.
    mlp_share = np.where(moe, k_route * np.maximum(f_exp, 0.0) / (4.0 * h)
                         * calib.routing_imbalance, 1.0)
    per_layer_kept = (15.0 + 19.0 * mlp_share) * mb_tokens * h / t
    stored_scores = np.where(flash | selective, 0.0, 5.0 * heads * s * s * m / t)
    per_layer = np.where(full, 2.0 * mb_tokens * h / t, per_layer_kept + stored_scores)
    in_flight = np.minimum(p, micro)
    activations = (per_layer * layers_gpu * in_flight
                   + np.where(full, per_layer_kept + stored_scores, 0.0))
    memory = (state + activations) * (1.0 + calib.fragmentation) + calib.reserved_gib * GIB
    fits = memory <= hw.gpu_memory[c3] * (1.0 - margin)
    ok = valid & fits
    comm = comm_time / step
    return Evaluated(np.where(ok, tokens_per_s, 0.0), memory, comm, d, micro)

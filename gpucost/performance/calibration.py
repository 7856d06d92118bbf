"""The constants of the step-time model: fitted ones and stated assumptions.

Two constants are *fitted* to published throughput of well-tuned stacks
(``data/throughput_runs.csv``, see ``scripts/validate_estimates.py``):

- ``gemm_efficiency``: the share of dense peak that large matrix multiplies reach;
- ``elementwise_bytes``: bytes of memory traffic per token, per layer and per unit of
  hidden size for everything that is not a matmul (norms, activations, residuals,
  rotary embeddings, dropout, casts), forward and backward. Divided by the GPU's memory
  bandwidth this is the roofline term that makes a GPU with a high FLOP-to-byte ratio
  (L40S, L4) reach a lower share of its peak than one with more bandwidth (A100).

Everything else is an assumption with its source, printed in plans.
"""

from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Calibration:
    """Constants of :func:`gpucost.performance.step_time.evaluate_layouts`."""

    gemm_efficiency: float = 0.62
    elementwise_bytes: float = 120.0
    # Matmul efficiency falls when a dimension is small: x d/(d + half) for the per-GPU
    # width (hidden / tensor-parallel) and for the tokens of one micro-batch.
    gemm_half_width: float = 128.0
    # Attention kernels reach less of the peak than large GEMMs: FlashAttention-2 runs
    # forward+backward at 50-70% of A100 peak (Dao 2023, Fig. 5-6), FlashAttention-3 at
    # ~55-75% of H100's (Shah et al. 2024), against ~80% for cuBLAS GEMMs.
    attention_efficiency: float = 0.75
    gemm_half_tokens: float = 256.0
    # Share of the compute time behind which data-parallel communication can hide
    # (gradient buckets reduced while the backward pass goes on; FSDP prefetch). An
    # assumption: PyTorch DDP/FSDP and Megatron overlap most but not all of it.
    overlap: float = 0.7
    # fp8 linear layers: end-to-end fp8 GEMMs on H100 run ~1.5x bf16 rather than the 2x
    # datasheet ratio (scaling, casts, smaller tiles; torchao float8 and Transformer
    # Engine benchmarks), and the casts add memory traffic.
    fp8_gemm_speedup: float = 1.5
    fp8_cast_traffic: float = 0.25
    # Memory a GPU keeps for itself and the framework: CUDA context, NCCL buffers,
    # allocator fragmentation (PyTorch reserves ~5-10% above what tensors hold).
    reserved_gib: float = 2.0
    fragmentation: float = 0.10
    # Attention without FlashAttention (V100, T4): the s x s scores are written, read by
    # the softmax, written again, read by the value matmul, and all of it again in the
    # backward: ~12 passes of 2 bytes per score element (Dao et al. 2022, FlashAttention,
    # sec. 2.2 and Fig. 1, the standard implementation's HBM traffic).
    attention_matrix_bytes: float = 24.0
    # Mixture of experts. Expert GEMMs run as grouped GEMMs over ragged token counts,
    # slower than one dense GEMM of the same size (MegaBlocks, Gale et al. 2023, sec. 6:
    # grouped/block-sparse kernels at 80-95% of cuBLAS dense throughput); routing leaves
    # the busiest expert rank with more tokens than the mean (GShard/Switch capacity
    # factors of 1.0-1.25: Lepikhin et al. 2020, Fedus et al. 2021); both fittable.
    grouped_gemm_efficiency: float = 0.85
    routing_imbalance: float = 1.15
    # Latency per message step of a collective (the alpha of the alpha-beta model,
    # Hockney 1994; Thakur, Rabenseifner and Gropp 2005): NCCL small-message latency is
    # a few microseconds over NVLink and ~10-20 us between nodes (nccl-tests). Trees make
    # an all-reduce cost 2 log2(k) steps of latency over k ranks (NCCL 2.4 double binary
    # trees, Sanders, Speck and Traeff 2009).
    alpha_link_s: float = 5e-6
    alpha_network_s: float = 15e-6
    # Gradients are reduced in buckets (PyTorch DDP bucket_cap_mb = 25); the last bucket
    # can only start when the backward ends, so it is never hidden.
    bucket_bytes: float = 25.0 * 2**20
    # Stragglers: a synchronous step waits for the slowest of k nodes. With per-node step
    # times of coefficient of variation cv, the expected maximum of k roughly normal
    # draws is the mean + cv x sqrt(2 ln k) (the tail at scale: Dean and Barroso 2013;
    # extreme-value bound for Gaussians), so the step grows by that factor.
    straggler_cv: float = 0.01

    def with_fit(self, gemm_efficiency: float, elementwise_bytes: float) -> Calibration:
        return replace(self, gemm_efficiency=gemm_efficiency,
                       elementwise_bytes=elementwise_bytes)


DEFAULT_CALIBRATION = Calibration()

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

    def with_fit(self, gemm_efficiency: float, elementwise_bytes: float) -> Calibration:
        return replace(self, gemm_efficiency=gemm_efficiency,
                       elementwise_bytes=elementwise_bytes)


DEFAULT_CALIBRATION = Calibration()

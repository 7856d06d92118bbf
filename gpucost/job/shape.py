"""The model being trained, as the performance model needs it.

A job file may give ``model.layers``, ``model.hidden_size`` and
``model.activated_parameters``; when it does not, they are derived from the parameter
count, and :attr:`ModelShape.derived` lists what was derived so that plans can say so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# d_model / n_layers of the dense transformers we model: GPT-3 (Brown et al. 2020,
# Table 2.1) and Llama (Touvron et al. 2023) sit between 100 and 130.
ASPECT_RATIO = 128.0
# Without a parameter count (a job given only as FLOPs) we size the model like a 7B.
REFERENCE_PARAMETERS = 7e9
HEAD_DIM = 128.0
# A mixture of experts that names no routing: top-2 (Mixtral 8x7B, Jiang et al. 2024).
DEFAULT_EXPERTS_PER_TOKEN = 2
# A model given as activated < total parameters, without its expert count: 8 experts.
DEFAULT_EXPERTS = 8
# Parameters per expert per layer over hidden x expert width: a gated (SwiGLU) FFN has
# three matrices (Shazeer 2020; Mixtral, DeepSeek, Qwen MoE).
EXPERT_MATRICES = 3.0


def default_batch_tokens(parameters: float) -> float:
    """Global batch in tokens when the job does not say: ~1M tokens below 3B parameters,
    2M up to 30B and 4M above, between GPT-3's schedule (0.5M-3.2M tokens, Brown et al.
    2020 Table 2.1) and Llama 2/3's 4M (Touvron et al. 2023; Dubey et al. 2024)."""
    if parameters < 3e9:
        return 2.0**20
    if parameters < 30e9:
        return 2.0**21
    return 2.0**22


def batch_sequences(batch_tokens: float, sequence_length: int, derived: bool) -> int:
    """Whole sequences per optimizer step. A framework splits the global batch into
    data-parallel ranks x micro-batches x accumulation steps of whole sequences, so the
    batch is rounded to whole sequences; a default batch is rounded to a power of two,
    which the most data-parallel degrees divide (as published recipes choose)."""
    sequences = max(batch_tokens / sequence_length, 1.0)
    if derived:
        return int(2 ** round(math.log2(sequences)))
    return max(int(round(sequences)), 1)


@dataclass(frozen=True)
class ModelShape:
    """Parameters, depth, width, context and batch of one training run."""

    parameters: float
    activated_parameters: float  # = parameters for dense models (MoE: the routed share)
    layers: int
    hidden_size: int
    sequence_length: int
    batch_tokens: float          # a whole number of sequences (see batch_sequences)
    derived: tuple[str, ...] = field(default=())
    # Mixture of experts (1 expert = dense): experts per MoE layer, routed experts per
    # token, FFN width of one expert, and the parameters all experts hold together.
    experts: int = 1
    experts_per_token: int = 1
    expert_hidden_size: float = 0.0
    expert_parameters: float = 0.0

    @property
    def moe(self) -> bool:
        return self.experts > 1

    @property
    def heads(self) -> float:
        """Attention heads, at the head dimension of 128 most LLMs use (GPT-3 175B,
        Llama 2/3)."""
        return max(self.hidden_size / HEAD_DIM, 1.0)

    @property
    def batch_sequences(self) -> int:
        return int(round(self.batch_tokens / self.sequence_length))

    @property
    def flops_per_token(self) -> float:
        """Model FLOPs per trained token, forward and backward: 6 x activated parameters
        plus attention scores, 12 x layers x hidden x sequence (Chowdhery et al. 2022,
        PaLM, Appendix B). This is the numerator of MFU."""
        return (6.0 * self.activated_parameters
                + 12.0 * self.layers * self.hidden_size * self.sequence_length)


def model_shape(parameters: float | None, sequence_length: int, *,
                layers: int | None = None, hidden_size: int | None = None,
                activated_parameters: float | None = None,
                batch_tokens: float | None = None, experts: int | None = None,
                experts_per_token: int | None = None,
                expert_hidden_size: float | None = None) -> ModelShape:
    """The shape of a run, deriving what the job file left out.

    Width from N ~ 12 L d^2 (Kaplan et al. 2020, non-embedding parameters) at d = 128 L,
    rounded to a multiple of 128; depth then from N / (12 d^2). A mixture of experts is
    sized on its activated parameters; its expert width follows from total minus
    activated parameters (each of the E - k unrouted experts holds 3 h f per layer), or,
    when neither is given, from experts holding all but attention's 4 h^2 per layer.
    """
    derived: list[str] = []
    n = parameters or REFERENCE_PARAMETERS
    if parameters is None:
        derived.append(f"parameters ({n:.0e}, none given)")
    moe = (experts is not None and experts > 1) or (
        activated_parameters is not None and activated_parameters < n)
    if moe and experts is None:
        experts = DEFAULT_EXPERTS
        derived.append(f"experts ({experts}, assumed)")
    if moe and experts_per_token is None:
        experts_per_token = DEFAULT_EXPERTS_PER_TOKEN
        derived.append(f"experts_per_token ({experts_per_token}, assumed)")
    # A mixture of experts is sized (width, depth) on the parameters a token passes.
    sizing = (activated_parameters or n * experts_per_token / experts) if moe else n
    if hidden_size is None:
        if layers is not None:
            hidden_size = int(max(128, round(math.sqrt(sizing / (12.0 * layers)) / 128)
                                  * 128))
        else:
            hidden_size = int(max(128, round((ASPECT_RATIO * sizing / 12.0) ** (1 / 3) / 128)
                                  * 128))
        derived.append("hidden_size")
    if layers is None:
        layers = int(max(1, round(sizing / (12.0 * hidden_size**2))))
        derived.append("layers")
    expert_params = 0.0
    if moe:
        e, k = int(experts), int(experts_per_token)
        per_width = EXPERT_MATRICES * hidden_size * layers  # parameters per unit of f
        if expert_hidden_size is None:
            if activated_parameters is not None and e > k:
                expert_hidden_size = (n - activated_parameters) / ((e - k) * per_width)
            else:
                expert_hidden_size = max(n - 4.0 * hidden_size**2 * layers, 0.0) / (
                    e * per_width)
            derived.append("expert_hidden_size")
        expert_hidden_size = max(float(expert_hidden_size), 1.0)
        expert_params = min(e * per_width * expert_hidden_size, n)
        if activated_parameters is None:
            activated_parameters = n - expert_params * (e - k) / e
    else:
        experts, experts_per_token, expert_hidden_size = 1, 1, 0.0
    if activated_parameters is None:
        activated_parameters = n
    if batch_tokens is None:
        sequences = batch_sequences(default_batch_tokens(n), sequence_length, True)
        derived.append("batch_tokens")
    else:
        sequences = batch_sequences(batch_tokens, sequence_length, False)
        if sequences * sequence_length != batch_tokens:
            derived.append(f"batch_tokens ({batch_tokens:,.0f} rounded to {sequences:,} "
                           f"whole sequences of {sequence_length:,} tokens)")
    batch_tokens = float(sequences * sequence_length)
    return ModelShape(n, activated_parameters, layers, hidden_size, sequence_length,
                      batch_tokens, tuple(derived), int(experts), int(experts_per_token),
                      float(expert_hidden_size), float(expert_params))

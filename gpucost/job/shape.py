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


def default_batch_tokens(parameters: float) -> float:
    """Global batch in tokens when the job does not say: ~1M tokens below 3B parameters,
    2M up to 30B and 4M above, between GPT-3's schedule (0.5M-3.2M tokens, Brown et al.
    2020 Table 2.1) and Llama 2/3's 4M (Touvron et al. 2023; Dubey et al. 2024)."""
    if parameters < 3e9:
        return 2.0**20
    if parameters < 30e9:
        return 2.0**21
    return 2.0**22


@dataclass(frozen=True)
class ModelShape:
    """Parameters, depth, width, context and batch of one training run."""

    parameters: float
    activated_parameters: float  # = parameters for dense models (MoE: the routed share)
    layers: int
    hidden_size: int
    sequence_length: int
    batch_tokens: float
    derived: tuple[str, ...] = field(default=())

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
                batch_tokens: float | None = None) -> ModelShape:
    """The shape of a run, deriving what the job file left out.

    Width from N ~ 12 L d^2 (Kaplan et al. 2020, non-embedding parameters) at d = 128 L,
    rounded to a multiple of 128; depth then from N / (12 d^2).
    """
    derived: list[str] = []
    n = parameters or REFERENCE_PARAMETERS
    if parameters is None:
        derived.append(f"parameters ({n:.0e}, none given)")
    if hidden_size is None:
        if layers is not None:
            hidden_size = int(max(128, round(math.sqrt(n / (12.0 * layers)) / 128) * 128))
        else:
            hidden_size = int(max(128, round((ASPECT_RATIO * n / 12.0) ** (1 / 3) / 128) * 128))
        derived.append("hidden_size")
    if layers is None:
        layers = int(max(1, round(n / (12.0 * hidden_size**2))))
        derived.append("layers")
    if activated_parameters is None:
        activated_parameters = n
    if batch_tokens is None:
        batch_tokens = default_batch_tokens(n)
        derived.append("batch_tokens")
    return ModelShape(n, activated_parameters, layers, hidden_size, sequence_length,
                      batch_tokens, tuple(derived))

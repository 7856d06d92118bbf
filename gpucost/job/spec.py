"""The job specification: typed, validated, with every default in one place.

A job file (``job.yaml``) is parsed by :func:`gpucost.job.parse.load_job` into a
:class:`JobSpec`. A job has one or more :class:`RunSpec` (one for ``single`` and
``divisible``; one per experiment for ``experiments``) sharing :class:`Constraints`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gpucost.job.shape import ModelShape, model_shape

MODES = ("single", "divisible", "experiments")
SPOT_POLICIES = ("never", "allowed", "only")
# The training software, named by what it does (gpucost/performance/data/
# throughput_runs.csv holds the published runs each is fitted on; the README shows what
# the choice changes):
#   pytorch:  the default, what a typical team gets in 2023-2025: FlashAttention,
#             FSDP/ZeRO with gradient reduction overlapped with the backward pass, fp8
#             through torchao / Transformer Engine when asked (torchtitan, llm-foundry,
#             IBM FMS, NeMo AutoModel, Hugging Face + FSDP);
#   megatron: Megatron-LM / Megatron-Core as teams run it (tensor + pipeline parallel,
#             Transformer Engine kernels); its published runs at scale reach what the
#             pytorch stack reaches, so it is fitted with it and has the same constants;
#   tuned:    a vendor's tuned benchmark recipe, an explicit choice: every kernel fused,
#             fp8 with Transformer Engine, communication overlapped, parallelism searched
#             per model and cluster (NVIDIA DGX Cloud / NeMo / Megatron-Bridge tables);
#   legacy:   stacks from before FlashAttention (Megatron-LM 2019-2021, Megatron-DeepSpeed,
#             GPT-NeoX 2022): attention and norms unfused.
STACKS = ("pytorch", "megatron", "tuned", "legacy")
DEFAULT_STACK = "pytorch"

# Mixed-precision Adam: fp16/bf16 weights and grads (2+2 bytes) + fp32 master weights,
# momentum and variance (4+4+4) = 16 bytes/parameter (ZeRO paper, Rajbhandari et al. 2020).
DEFAULT_BYTES_PER_PARAMETER = 16.0
# Extra cluster memory on top of the model state for activations (with activation
# checkpointing), communication buffers and fragmentation. An assumption, stated in plans.
# Share of each GPU's memory a layout leaves free: the allocator's peaks (fragmentation
# spikes, NCCL buffers grown at first use, a longer batch) would stop a run planned at
# the limit on its first step. Overridable in the job file (memory.margin).
DEFAULT_MEMORY_MARGIN = 0.08
# Most training stacks use 2k-8k contexts; 2048 is what most published runs we fit used.
DEFAULT_SEQUENCE_LENGTH = 2048
# A cap on instances of one offer, so that "just add nodes" is not assumed to be free:
# clouds rarely hand out more than this without a reservation. Overridable per job.
DEFAULT_MAX_INSTANCES = 64
# The most runs an experiments job may expand to (counts included): each run is planned
# on its own, and a sweep of more than this is better planned as a few representative runs.
MAX_RUNS = 1000

# Plausible ranges for every number in a job file: (low, high), low exclusive unless the
# field is in INCLUSIVE_LOW. A value outside is refused with the range in the message, so
# that typos (1e300, 0.9 MFU, 1e-320) fail at the file rather than deep in the planner.
LIMITS: dict[str, tuple[float, float]] = {
    "model.parameters": (1, 1e15),          # 1,000x the largest published models
    "model.tokens": (1, 1e16),
    "model.sequence_length": (0, 10_000_000),
    "flops": (1, 1e30),                     # ~10^4 x the largest training runs to date
    "utilization": (0.01, 0.75),            # no published stack exceeds ~0.65 MFU
    "memory.bytes_per_parameter": (0, 64),
    "memory.min_gpu_memory_gib": (0, 4096),
    "memory.margin": (0, 0.9),
    "model.experts": (1, 100_000),
    "model.experts_per_token": (0, 1_000),
    "model.expert_hidden_size": (0, 10_000_000),
    "deadline_hours": (1 / 60, 10 * 8766),  # a minute to ten years
    # Plan so that the run finishes by the deadline with this probability (the range is
    # empirical, from ~50 published runs: beyond 0.95 it has no data to stand on).
    "deadline_confidence": (0.5, 0.95),
    "count": (0, MAX_RUNS),
    "constraints.max_instances": (0, 100_000),
    "constraints.max_gpus": (0, 10_000_000),
    "constraints.budget_usd": (0, 1e12),
    "model.layers": (0, 10_000),
    "model.hidden_size": (0, 1_000_000),
    "model.activated_parameters": (1, 1e15),
    "batch_tokens": (1, 1e9),
    "assumptions.failures_per_gpu_hour": (0, 0.01),
    "assumptions.checkpoint_interval_hours": (0, 24),
    "assumptions.restart_hours": (0, 24),
    "assumptions.housekeeping": (0, 1),
    "assumptions.startup_hours": (0, 48),
    "assumptions.spot_interruptions_per_instance_hour": (0, 1),
    "assumptions.spot_restart_hours": (0, 24),
    "assumptions.spot_checkpoint_interval_hours": (0, 24),
    "assumptions.checkpoint_gb_per_s_per_instance": (0, 10_000),
    "assumptions.checkpoint_gb_per_s_max": (0, 1_000_000),
}
ASSUMPTION_KEYS = tuple(k.split(".", 1)[1] for k in LIMITS if k.startswith("assumptions."))
INCLUSIVE_LOW = {"model.parameters", "model.tokens", "flops", "utilization",
                 "deadline_confidence",
                 "memory.margin", "model.activated_parameters",
                 "batch_tokens",
                 *(f"assumptions.{k}" for k in ASSUMPTION_KEYS
                   # divisors: zero would mean no checkpoint ever gets written
                   if k not in ("spot_checkpoint_interval_hours",
                                "checkpoint_gb_per_s_per_instance",
                                "checkpoint_gb_per_s_max"))}


@dataclass(frozen=True)
class RunSpec:
    """One training run: how much work, how much memory, by when."""

    name: str
    flops: float
    deadline_hours: float
    precision: str = "bf16"
    parameters: float | None = None
    tokens: float | None = None
    sequence_length: int = DEFAULT_SEQUENCE_LENGTH
    layers: int | None = None          # derived from parameters when absent
    hidden_size: int | None = None
    activated_parameters: float | None = None  # mixture-of-experts: parameters per token
    experts: int | None = None               # mixture-of-experts: experts per MoE layer
    experts_per_token: int | None = None     # routed experts each token passes through
    expert_hidden_size: int | None = None    # FFN width of one expert
    batch_tokens: float | None = None  # global batch; a default by model size when absent
    stack: str = DEFAULT_STACK  # training software family (STACKS)
    utilization: float | None = None  # user-fixed MFU; None = modelled per GPU
    bytes_per_parameter: float = DEFAULT_BYTES_PER_PARAMETER
    min_gpu_memory_gib: float | None = None
    memory_margin: float = DEFAULT_MEMORY_MARGIN  # share of each GPU's memory left free
    # None: plan on the model's central estimate. 0.9: size the cluster so that nine runs
    # in ten finish by the deadline (gpucost.performance.uncertainty).
    deadline_confidence: float | None = None

    @property
    def shape(self) -> ModelShape:
        """What the performance model needs of the model (derived fields listed)."""
        return model_shape(self.parameters, self.sequence_length, layers=self.layers,
                           hidden_size=self.hidden_size,
                           activated_parameters=self.activated_parameters,
                           batch_tokens=self.batch_tokens, experts=self.experts,
                           experts_per_token=self.experts_per_token,
                           expert_hidden_size=self.expert_hidden_size)

    @property
    def model_state_gib(self) -> float:
        """Weights + gradients + optimizer state, GiB (0 if parameters are unknown)."""
        return (self.parameters or 0.0) * self.bytes_per_parameter / 2**30

    @property
    def memory_gib(self) -> float:
        """Cluster memory the run needs at least: its model state, GiB (activations are
        modelled per layout, in the memory per GPU)."""
        return self.model_state_gib


@dataclass(frozen=True)
class Constraints:
    """Limits on which offers a plan may use and how much of them."""

    providers: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()
    gpus: tuple[str, ...] = ()  # canonical names
    spot: str = "never"
    max_instances: int = DEFAULT_MAX_INSTANCES  # per offer
    max_gpus: int | None = None  # over the whole plan
    budget_usd: float | None = None
    vendors: tuple[str, ...] = ()  # lower-case GPU vendors allowed: nvidia, amd, intel
    launchable: bool = False  # only providers `gpucost launch` can start instances on
    # Marketplace hosts (Vast.ai) must report at least this uptime share (0-1); marketplace
    # rows without a figure are left out, clouds' own data centres are not filtered.
    min_reliability: float | None = None


@dataclass(frozen=True)
class Assumptions:
    """Modelling constants a user may override in the job file (``assumptions:``).

    Sources and the model that uses them: ``gpucost/performance/goodput.py``.
    """

    # Hardware interruptions per GPU-hour: Llama 3 (Dubey et al. 2024, sec. 3.3.4) had
    # 419 unexpected interruptions in 54 days on 16,384 H100s = 2e-5.
    failures_per_gpu_hour: float = 2e-5
    checkpoint_interval_hours: float = 0.25
    restart_hours: float = 0.1
    # Checkpoint writes and evaluation, as a share of training time.
    housekeeping: float = 0.03
    # Provisioning, image pull, data and compile warm-up, once per run.
    startup_hours: float = 0.25
    # Spot reclaims per instance-hour for every pool; None: each pool's own rate from
    # the interruption data beside the prices (gpucost/performance/spot.py).
    spot_interruptions_per_instance_hour: float | None = None
    # Getting a replacement spot instance and restarting.
    spot_restart_hours: float = 0.25
    # Spot runs checkpoint every this many hours; None: the Young/Daly optimum.
    spot_checkpoint_interval_hours: float | None = None
    # Checkpoint bandwidth: each instance writes its shard of the training state in
    # parallel (2 GB/s, 16 Gbps, a sharded write to object storage or a parallel file
    # system) up to what the storage takes in all (20 GB/s). Stated assumptions.
    checkpoint_gb_per_s_per_instance: float = 2.0
    checkpoint_gb_per_s_max: float = 20.0


@dataclass(frozen=True)
class JobSpec:
    """A whole job file."""

    name: str
    mode: str
    runs: tuple[RunSpec, ...]
    constraints: Constraints = field(default_factory=Constraints)
    assumptions: Assumptions = field(default_factory=Assumptions)
    source: str = ""

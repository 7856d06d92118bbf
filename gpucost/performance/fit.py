"""Calibrating the step-time model on published throughput, and judging it.

The two fitted constants (:mod:`calibration`) minimise the squared log error of
predicted tokens/s per GPU over ``data/throughput_runs.csv``. Predictions use the model
as plans do: the published GPU count, shape, batch and network, and the *fastest layout
the model finds* (the stacks measured were tuned, so we assume the model's best layout
is what a tuned stack runs). Every prediction is evaluated on one grid of constants at
once, so leave-one-out refits (each run predicted by a fit without it) are cheap.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from types import SimpleNamespace

import numpy as np
import pandas as pd

from gpucost.job.shape import model_shape
from gpucost.job.spec import DEFAULT_MEMORY_MARGIN, Assumptions
from gpucost.performance.calibration import DEFAULT_CALIBRATION, Calibration
from gpucost.performance.goodput import overhead
from gpucost.performance.hardware import HardwareClasses, hardware_classes, subset
from gpucost.performance.published import PublishedRun, ThroughputRun, throughput_runs
from gpucost.performance.step_time import LayoutGrid, evaluate_layouts, grid_for

# Up to 0.80 of the dense peak: the most large bf16 GEMMs reach (cuBLAS on H100 SXM
# measures ~750-800 of 989 TFLOP/s; NVIDIA's published GEMM benchmarks and the
# FlashAttention-3 paper's baselines, Shah et al. 2024). A fit asking for more is
# absorbing something else the model lacks, and would print an impossible MFU.
GEMM_GRID = np.round(np.arange(0.30, 0.801, 0.025), 3)
ELEMENTWISE_GRID = np.arange(0.0, 2501.0, 50.0)
# Published clusters whose network the source does not give: HGX/DGX nodes on the
# InfiniBand of their generation (DGX A100: 8 x 200 Gb/s HDR; DGX H100: 8 x 400 NDR).
_DEFAULT_GBPS = {"Volta": 800.0, "Ampere": 1600.0}
_NETWORK = re.compile(r"(?:(\d+)\s*x\s*)?(\d+(?:\.\d+)?)\s*Gb", re.IGNORECASE)


def network_gbps(text: str, gpu: str) -> float:
    """Gbps per node from a source's network text ("IB 8x400Gbps", "3200 Gbps EFA")."""
    from gpucost.catalog.gpus import gpu_specs

    match = _NETWORK.search(text or "")
    if match:
        return float(match[2]) * (int(match[1]) if match[1] else 1)
    return _DEFAULT_GBPS.get(gpu_specs()[gpu].architecture, 3200.0)


def _expand(classes: HardwareClasses, codes: np.ndarray, fp8: np.ndarray) -> HardwareClasses:
    """One class per case, each at the precision its source ran."""
    per_case = subset(classes, codes)
    peak16 = per_case.peak_bf16_flops
    return replace(per_case, peak_flops=np.where(fp8, peak16 * 2, peak16), fp8=fp8,
                   precision_used=["fp8" if f else "bf16" for f in fp8])


@dataclass(frozen=True)
class Cases:
    """Published measurements as one batch of model inputs (one class per case)."""

    names: list[str]
    hw: HardwareClasses
    shape: SimpleNamespace
    instances: np.ndarray
    gpus: np.ndarray


def cases(items: list[tuple[str, str, int, int, str, float, float | None, int | None,
                            int | None, int, float | None, str]]) -> Cases:
    """(name, gpu, gpus, gpus_per_node, network, parameters, activated, layers, hidden,
    sequence_length, batch_tokens, precision) per case."""
    rows, shapes, fp8 = [], [], []
    from gpucost.catalog.gpus import gpu_specs
    for _name, gpu, gpus, per_node, network, params, act, layers, hidden, seq, batch, prec \
            in items:
        per_node = min(per_node, gpus)
        rows.append({"gpu": gpu, "gpu_count": per_node,
                     "gpu_memory_gib": gpu_specs()[gpu].memory_gib,
                     "gpu_link": "nvswitch" if per_node > 1 else "",
                     "network_gbps": network_gbps(network, gpu), "rdma": True})
        shapes.append(model_shape(params, seq, layers=layers, hidden_size=hidden,
                                  activated_parameters=act, batch_tokens=batch))
        fp8.append(prec == "fp8" and bool(gpu_specs()[gpu].tflops.get("fp8")))
    classes, codes = hardware_classes(pd.DataFrame(rows), "bf16")  # then one per case
    hw = _expand(classes, codes, np.array(fp8, dtype=bool))
    c3 = (slice(None), None, None)
    shape = SimpleNamespace(**{
        f: np.array([getattr(s, f) for s in shapes], dtype=float)[c3]
        for f in ("parameters", "activated_parameters", "layers", "hidden_size",
                  "sequence_length", "batch_tokens", "experts", "experts_per_token",
                  "expert_hidden_size", "expert_parameters")})
    gpus = np.array([i[2] for i in items], dtype=float)
    instances = (gpus / hw.gpus_per_instance)[c3]
    return Cases([i[0] for i in items], hw, shape, instances, gpus)


def throughput_cases(runs: tuple[ThroughputRun, ...]) -> Cases:
    return cases([(r.name, r.gpu, r.gpus, r.gpus_per_node, r.network, r.parameters,
                   r.activated_parameters, r.layers, r.hidden_size, r.sequence_length,
                   r.batch_tokens, r.precision) for r in runs])


def _runnable_pairs(c: Cases, bytes_per_parameter: float) -> tuple[Cases, np.ndarray, LayoutGrid]:
    """Every (case, layout) pair worth evaluating, as one case per pair: the layouts that
    run and fit for that case (whole micro-batches, the plans' memory margin), or, where
    the grid has none (the run ran, on a layout outside the grid), every layout that
    fits at all. Which layouts run and fit does not depend on the fitted constants, so
    the fit evaluates these pairs only."""
    key = (id(c), bytes_per_parameter)
    if key in _PAIRS and _PAIRS[key][0] is c:
        return _PAIRS[key][1]
    grid = grid_for(c.shape)
    strict = evaluate_layouts(c.shape, bytes_per_parameter, c.hw, c.instances,
                              DEFAULT_CALIBRATION, margin=DEFAULT_MEMORY_MARGIN)
    relaxed = evaluate_layouts(c.shape, bytes_per_parameter, c.hw, c.instances,
                               DEFAULT_CALIBRATION, whole_batches=False)
    ok = np.where((strict.tokens_per_s > 0).any(axis=2, keepdims=True),
                  strict.tokens_per_s > 0, relaxed.tokens_per_s > 0)[:, 0, :]
    case, column = np.nonzero(ok)
    c3 = (slice(None), None, None)
    shape = SimpleNamespace(**{f: np.asarray(v)[case] for f, v in vars(c.shape).items()})
    pairs = Cases([c.names[i] for i in case], subset(c.hw, case), shape,
                  c.instances[case], c.gpus[case])
    pair_grid = LayoutGrid(*(getattr(grid, f)[column][c3] for f in (
        "tensor", "pipeline", "zero", "micro_batch", "recompute", "context", "expert")))
    _PAIRS[key] = (c, (pairs, case, pair_grid))
    return pairs, case, pair_grid


_PAIRS: dict[tuple, tuple[Cases, tuple[Cases, np.ndarray, LayoutGrid]]] = {}


def predict_tokens_per_gpu(c: Cases, calib: Calibration,
                           bytes_per_parameter: float = 16.0) -> np.ndarray:
    """Predicted tokens/s per GPU of each case at its fastest fitting layout: runnable
    (whole micro-batches, the plans' memory margin) where the grid has one, else the
    fastest layout at all (the run ran, on a layout outside the grid)."""
    pairs, case, grid = _runnable_pairs(c, bytes_per_parameter)
    ev = evaluate_layouts(pairs.shape, bytes_per_parameter, pairs.hw, pairs.instances, calib,
                          margin=0.0, grid=grid, whole_batches=False)
    best = np.zeros(len(c.names))
    np.maximum.at(best, case, ev.tokens_per_s.reshape(-1))
    return best / c.gpus


def prediction_grid(c: Cases, base: Calibration = DEFAULT_CALIBRATION) -> np.ndarray:
    """log predicted tokens/s per GPU at every (gemm, elementwise) grid point:
    shape (len(GEMM_GRID) x len(ELEMENTWISE_GRID), cases)."""
    out = []
    for gemm in GEMM_GRID:
        for elem in ELEMENTWISE_GRID:
            pred = predict_tokens_per_gpu(c, base.with_fit(float(gemm), float(elem)))
            out.append(np.log(np.maximum(pred, 1e-9)))
    return np.array(out)


def grid_point(index: int) -> tuple[float, float]:
    return (float(GEMM_GRID[index // len(ELEMENTWISE_GRID)]),
            float(ELEMENTWISE_GRID[index % len(ELEMENTWISE_GRID)]))


def fit_from_grid(log_pred: np.ndarray, log_obs: np.ndarray,
                  keep: np.ndarray | None = None, elementwise: float | None = None) -> int:
    """Grid index minimising the squared log error over the kept cases (with
    ``elementwise_bytes`` held at ``elementwise`` when given)."""
    keep = np.ones(log_obs.shape, dtype=bool) if keep is None else keep
    err = ((log_pred[:, keep] - log_obs[keep]) ** 2).sum(axis=1)
    if elementwise is not None:
        column = int(np.argmin(np.abs(ELEMENTWISE_GRID - elementwise)))
        err = np.where(np.arange(len(err)) % len(ELEMENTWISE_GRID) == column, err, np.inf)
    return int(np.argmin(err))


# Stacks that take another stack's constants and are not fitted themselves: Megatron-LM /
# Megatron-Core as teams run it at scale (its README's GPT-3 175B scaling, Meta's Llama 3
# 405B) reaches about what PyTorch-native stacks reach. Its four rows from two reports
# cannot carry constants of their own (fitted alone they gave gemm efficiency 0.95, a
# "megatron" 1.5-2x too fast on other runs), and fitted into the default they pull the
# typical team's constants toward 16,000-GPU runs; they judge the default instead.
USES_CONSTANTS_OF = {"megatron": "pytorch"}
# A stack measured by fewer sources than this fits its gemm efficiency only and shares
# the default stack's elementwise traffic: two constants on one or two reports fit the
# reports, not the stack.
MIN_SOURCES_FOR_TWO_CONSTANTS = 3


TIME_SPLIT = "2024-01"   # the time split fits on rows published before this month


@dataclass(frozen=True)
class Judgement:
    """Each published throughput predicted by fits that did not see it, three ways."""

    runs: tuple[ThroughputRun, ...]
    observed: np.ndarray
    row_out: np.ndarray        # fit without this row (leave-one-out)
    source_out: np.ndarray     # fit without every row of its source (leave-one-source-out)
    time_split: np.ndarray     # fit on rows published before TIME_SPLIT; nan for those
    own_data: np.ndarray       # bool: with its source out, the fit still had rows of the
    #                            same GPU, stack and precision class
    fitted: dict[str, tuple[float, float]]  # per stack, the fit on all its runs

    @property
    def residuals(self) -> np.ndarray:
        """log(observed / predicted) leave-one-source-out: what the range is built on."""
        return np.log(self.observed / self.source_out)


def fit_stacks(grid: np.ndarray, log_obs: np.ndarray, stacks: np.ndarray,
               groups: np.ndarray, keep: np.ndarray,
               default_stack: str = "pytorch") -> dict[str, int]:
    """Grid index of each stack's fit on the ``keep`` cases. A stack with no kept case
    takes the default stack's fit (what a user of an unmeasured stack gets), and that
    failing, one fit on every kept case; one with few sources shares the default
    stack's elementwise traffic (MIN_SOURCES_FOR_TWO_CONSTANTS)."""
    default = keep & (stacks == default_stack)
    base = fit_from_grid(grid, log_obs, default if default.any() else keep) \
        if keep.any() else None
    out: dict[str, int] = {}
    if base is None:
        return out
    for stack in sorted(set(stacks)):
        train = keep & (stacks == stack)
        if stack in USES_CONSTANTS_OF:
            target = keep & (stacks == USES_CONSTANTS_OF[stack])
            out[stack] = fit_from_grid(grid, log_obs, target) if target.any() else base
        elif not train.any():
            out[stack] = base
        elif stack != default_stack and len(set(groups[stacks == stack])) < \
                MIN_SOURCES_FOR_TWO_CONSTANTS:
            # (counted over all its rows: holding a source out to judge the fit must not
            # change the fit's form)
            out[stack] = fit_from_grid(grid, log_obs, train, grid_point(base)[1])
        else:
            out[stack] = fit_from_grid(grid, log_obs, train)
    return out


def fit_and_predict(grid: np.ndarray, log_obs: np.ndarray, stacks: np.ndarray,
                    groups: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """log predictions of every case by the per-stack fits on the ``keep`` cases."""
    out = np.full(len(log_obs), np.nan)
    for stack, index in fit_stacks(grid, log_obs, stacks, groups, keep).items():
        mine = stacks == stack
        out[mine] = grid[index, mine]
    return out


def judge_throughput(runs: tuple[ThroughputRun, ...] | None = None) -> Judgement:
    """Every published throughput predicted by fits without it: without the row, without
    its whole source, and (rows from 2024 on) by a fit on earlier rows only. Each
    software stack is fitted on its own runs (its kernels set its constants)."""
    runs = runs if runs is not None else throughput_runs()
    c = throughput_cases(runs)
    log_obs = np.log([r.tokens_per_s_per_gpu for r in runs])
    stacks = np.array([r.stack for r in runs])
    groups = np.array([r.source_group for r in runs])
    combo = np.array([f"{r.gpu}|{r.stack}|{r.precision_class}" for r in runs])
    grid = prediction_grid(c)
    everything = np.ones(len(runs), dtype=bool)
    fitted = {stack: grid_point(index) for stack, index in
              fit_stacks(grid, log_obs, stacks, groups, everything).items()}

    row_out = np.empty(len(runs))
    for i in range(len(runs)):
        keep = everything.copy()
        keep[i] = False
        row_out[i] = fit_and_predict(grid, log_obs, stacks, groups, keep)[i]
    source_out = np.empty(len(runs))
    own = np.zeros(len(runs), dtype=bool)
    for group in sorted(set(groups)):
        out = groups == group
        source_out[out] = fit_and_predict(grid, log_obs, stacks, groups, ~out)[out]
        own[out] = np.isin(combo[out], combo[~out])
    early = np.array([r.published < TIME_SPLIT for r in runs])
    time_split = np.where(early, np.nan, fit_and_predict(grid, log_obs, stacks, groups, early))
    return Judgement(runs, np.exp(log_obs), np.exp(row_out), np.exp(source_out),
                     np.exp(time_split), own, fitted)


def judge_unfitted(runs: tuple[ThroughputRun, ...] | None = None,
                   calib: dict[str, Calibration] | None = None) -> np.ndarray:
    """Predicted tokens/s per GPU of the rows never fitted on (``fitted: no``), with the
    stored constants of their stack."""
    runs = runs if runs is not None else throughput_runs(fitted=False)
    if not runs:
        return np.zeros(0)
    calib = calib or load_calibrations()
    c = throughput_cases(runs)
    stacks = np.array([r.stack for r in runs])
    out = np.zeros(len(runs))
    for stack in set(stacks):
        mine = stacks == stack
        out[mine] = predict_tokens_per_gpu(c, calib[stack])[mine]
    return out


UNPUBLISHED_CLUSTER_SIZES = (64, 256, 1024, 2048)


def predicted_gpu_hours(runs: tuple[PublishedRun, ...],
                        calib: dict[str, Calibration] | None = None,
                        assumptions: Assumptions | None = None) -> np.ndarray:
    """End-to-end GPU-hours of published runs: tokens over predicted throughput with their
    stack's constants, times the goodput overhead. Where a paper does not give its
    cluster size, the size among UNPUBLISHED_CLUSTER_SIZES that trains most efficiently
    is taken (teams size clusters to their model; none of these runs went above 2,048
    GPUs unless it says so)."""
    assumptions = assumptions or Assumptions()
    calib = calib or load_calibrations()
    stacks = np.array([r.stack for r in runs])
    best = np.zeros(len(runs))
    gpus_used = np.zeros(len(runs))
    for size in UNPUBLISHED_CLUSTER_SIZES:
        c = cases([(r.name, r.gpu, r.gpus or size, 8, "", r.parameters, None, None,
                    None, r.sequence_length, r.batch_tokens, "bf16") for r in runs])
        per_gpu = np.zeros(len(runs))
        for stack in set(stacks):
            mine = stacks == stack
            per_gpu[mine] = predict_tokens_per_gpu(c, calib[stack])[mine]
        better = per_gpu > best
        best = np.where(better, per_gpu, best)
        gpus_used = np.where(better, c.gpus, gpus_used)
    tokens = np.array([r.tokens for r in runs])
    with np.errstate(divide="ignore"):
        train_hours = tokens / (best * gpus_used) / 3600.0
    wall = train_hours * (1 + overhead(assumptions, gpus_used, 0)) + assumptions.startup_hours
    return wall * gpus_used


def write_calibration(judged: Judgement, note: str) -> str:
    """The JSON the package reads its fitted constants and residuals from."""
    from gpucost.performance.uncertainty import choose_tail, source_weights

    res = judged.residuals
    groups = np.array([r.source_group for r in judged.runs])
    weights = source_weights(groups)
    tail, _ = choose_tail(res, judged.own_data, groups)

    def pairs(keep: np.ndarray) -> list[list[float]]:
        return sorted([round(float(r), 4), round(float(w), 4)]
                      for r, w in zip(res[keep], weights[keep], strict=True))

    return json.dumps({
        "stacks": {stack: {"gemm_efficiency": g, "elementwise_bytes": e}
                   for stack, (g, e) in sorted(judged.fitted.items())},
        # [log(published / predicted) tokens/s, weight 1 / rows of its source], each source
        # predicted by a fit without it: "own" where the fit still had rows of the same
        # GPU, stack and precision class, "extrapolated" where it had none; "tail": the
        # residual quantile read for P10 (gpucost.performance.uncertainty).
        "residuals": {"own": pairs(judged.own_data), "extrapolated": pairs(~judged.own_data),
                      "tail": tail},
        "fitted_by": "python scripts/validate_estimates.py --write",
        "note": note}, indent=1) + "\n"


@cache
def load_calibrations() -> dict[str, Calibration]:
    """Fitted constants per software stack (``data/calibration.json``)."""
    path = resources.files("gpucost.performance").joinpath("data", "calibration.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    return {stack: DEFAULT_CALIBRATION.with_fit(float(v["gemm_efficiency"]),
                                                float(v["elementwise_bytes"]))
            for stack, v in data["stacks"].items()}

"""How sure an estimate is: its P10-P90 range and the label of what it stands on.

The range is empirical. ``scripts/validate_estimates.py --write`` stores, in
``data/calibration.json``, the residuals r = log(published / predicted tokens/s) of every
published throughput, each predicted by a fit *without its whole source*
(leave-one-source-out). They come in two sets:

- ``own``: the fit still had rows of the same GPU, stack and precision class - what a
  "calibrated" estimate is;
- ``extrapolated``: it had none - what an estimate for a GPU, stack or precision without
  published data of its own is. Its range is never narrower than the ``own`` one, and
  symmetric at least: q-quantile of every |residual| either way (too few extrapolated
  residuals to trust their own skew).

The throughput a run actually gets is taken as predicted x exp(r) with r drawn from the
matching set, so the wall time that finishes with probability q is
``startup + training hours / exp(r at 1 - q)``: P90 hours come from the slow tail.
Goodput (failures, restarts) is outside the range: published throughput measures steps.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources

import numpy as np

from gpucost.performance.published import calibrated_combinations, precision_class


def band(own: np.ndarray, extrapolated: np.ndarray, q: float, own_data: bool) -> float:
    """The q-quantile of log(actual / predicted) throughput. Extrapolated: at least as far
    out as the calibrated quantile and as the symmetric one of every |residual| (for a
    GPU, stack or precision without data the model may err either way)."""
    calibrated = float(np.quantile(own, q)) if len(own) else 0.0
    if own_data:
        return calibrated
    pool = np.concatenate([own, extrapolated])
    if not len(pool):
        return calibrated
    size = float(np.quantile(np.abs(pool), abs(2.0 * q - 1.0)))
    return min(-size, calibrated) if q < 0.5 else max(size, calibrated)


def coverage(residuals: np.ndarray, own_data: np.ndarray, groups: np.ndarray,
             low: float = 0.1, high: float = 0.9) -> tuple[float, int]:
    """Share of published values inside the P10-P90 range when each source's range is
    built from the other sources' residuals only (and how many values were judged)."""
    inside = []
    for group in sorted(set(groups)):
        out = groups == group
        own, extra = residuals[~out & own_data], residuals[~out & ~own_data]
        for r, mine in zip(residuals[out], own_data[out], strict=True):
            inside.append(band(own, extra, low, mine) <= r <= band(own, extra, high, mine))
    return float(np.mean(inside)), len(inside)


@cache
def _residuals() -> tuple[np.ndarray, np.ndarray]:
    path = resources.files("gpucost.performance").joinpath("data", "calibration.json")
    data = json.loads(path.read_text(encoding="utf-8")).get("residuals", {})
    return (np.array(data.get("own", []), dtype=float),
            np.array(data.get("extrapolated", []), dtype=float))


def throughput_ratio(q: float, own_data: bool) -> float:
    """actual / predicted throughput at the q-quantile."""
    own, extra = _residuals()
    return float(np.exp(band(own, extra, q, own_data)))


def hours_at(hours: float, startup_hours: float, confidence: float, own_data: bool) -> float:
    """Wall hours the run finishes within with probability ``confidence``."""
    if not np.isfinite(hours):
        return hours
    return startup_hours + (hours - startup_hours) / throughput_ratio(1.0 - confidence,
                                                                      own_data)


def basis_of(run, gpu: str, precision_used: str) -> tuple[str, bool]:
    """(label, has own data) of ``run`` (a RunSpec) on ``gpu``."""
    if run.utilization is not None:
        return "utilization fixed by the job", True
    return basis(gpu, run.stack, precision_used), has_own_data(gpu, run.stack, precision_used)


def has_own_data(gpu: str, stack: str, precision_used: str) -> bool:
    """Published throughput exists for this GPU with this stack at this precision class."""
    return (gpu, stack, precision_class(precision_used)) in calibrated_combinations()


def basis(gpu: str, stack: str, precision_used: str) -> str:
    """"calibrated" where the GPU has published data for the stack and precision class;
    otherwise "extrapolated from <the data its constants come from>": the stack's own
    published runs (same precision class, then same GPU architecture, then the most
    measured GPU first), else the same GPU under another stack."""
    if has_own_data(gpu, stack, precision_used):
        return "calibrated"
    from gpucost.catalog.gpus import gpu_specs
    from gpucost.performance.published import throughput_runs

    want = precision_class(precision_used)
    specs = gpu_specs()
    arch = specs[gpu].architecture if gpu in specs else None
    counts: dict[tuple[str, str, str], int] = {}
    for r in throughput_runs():
        key = (r.gpu, r.stack, r.precision_class)
        counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda k: (k[1] != stack, k[0] != gpu, k[2] != want,
                                           specs[k[0]].architecture != arch, -counts[k], k))
    g, s, p = ranked[0]
    return f"extrapolated from {g} {s} {p}"

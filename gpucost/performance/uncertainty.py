"""How sure an estimate is: its P10-P90 range and the label of what it stands on.

The range is empirical. ``scripts/validate_estimates.py --write`` stores, in
``data/calibration.json``, the residuals r = log(published / predicted tokens/s) of every
published throughput, each predicted by a fit *without its whole source*
(leave-one-source-out), each weighted 1 / (rows of its source) so that every source
counts once (a report with twenty rows shares one stack, cluster and way of counting:
its errors are one draw, not twenty). They come in two sets:

- ``own``: the fit still had rows of the same GPU, stack and precision class - what a
  "calibrated" estimate is;
- ``extrapolated``: it had none - what an estimate for a GPU, stack or precision without
  published data of its own is. Its range is never narrower than the ``own`` one, and
  symmetric at least: the spread of every |residual| either way (too few extrapolated
  residuals to trust their own skew).

The throughput a run actually gets is taken as predicted x exp(r), so the wall time that
finishes with probability q is ``startup + training hours / exp(r at 1 - q)``: P90 hours
come from the slow tail. With a dozen sources the raw 10% / 90% residual quantiles cover
fewer than 80% of a held-out source's values (a new source brings its own bias), so the
P10 and P90 ends are read at the residual quantiles ``tail`` and ``1 - tail``, the
narrowest that cover ~80% when each source is held out of its own range (stored, and
printed by the script). Goodput (failures, restarts) is outside the range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

import numpy as np

from gpucost.performance.published import calibrated_combinations, precision_class

# Residual quantiles tried for the P10 end (P90: 1 - tail), widest last.
TAILS = (0.10, 0.09, 0.08, 0.07, 0.06, 0.05, 0.04, 0.03, 0.02)
TARGET_COVERAGE = 0.80


@dataclass(frozen=True)
class Residuals:
    """log(published / predicted) throughput, with weights and the own-data flag."""

    values: np.ndarray
    weights: np.ndarray
    own: np.ndarray
    tail: float = 0.10

    def subset(self, keep: np.ndarray) -> Residuals:
        return Residuals(self.values[keep], self.weights[keep], self.own[keep], self.tail)


def weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The q-quantile of ``values`` with ``weights`` (midpoints of the cumulative
    weights, interpolated; the extreme values beyond them)."""
    order = np.argsort(values)
    v, w = values[order], weights[order]
    mid = (np.cumsum(w) - 0.5 * w) / w.sum()
    return float(np.interp(q, mid, v))


def level(q: float, tail: float) -> float:
    """The residual quantile read for the range's q: 0.1 -> tail, 0.9 -> 1 - tail,
    0.5 -> 0.5, stretched linearly in between and beyond (clipped to [0, 1])."""
    stretch = (0.5 - tail) / 0.4
    return float(np.clip(0.5 + (q - 0.5) * stretch, 0.0, 1.0))


def band(res: Residuals, q: float, own_data: bool) -> float:
    """log(actual / predicted) throughput at the range's q (see :func:`level`)."""
    at = level(q, res.tail)
    own = res.own
    calibrated = weighted_quantile(res.values[own], res.weights[own], at) if own.any() \
        else 0.0
    if own_data or not len(res.values):
        return calibrated
    size = weighted_quantile(np.abs(res.values), res.weights, abs(2.0 * at - 1.0))
    return min(-size, calibrated) if q < 0.5 else max(size, calibrated)


def coverage(res: Residuals, groups: np.ndarray, low: float = 0.1,
             high: float = 0.9) -> tuple[float, int]:
    """Share of published values inside the P10-P90 range when each source's range is
    built from the other sources' residuals only (and how many values were judged)."""
    inside = []
    for group in sorted(set(groups)):
        out = groups == group
        others = res.subset(~out)
        for r, mine in zip(res.values[out], res.own[out], strict=True):
            inside.append(band(others, low, mine) <= r <= band(others, high, mine))
    return float(np.mean(inside)), len(inside)


def source_weights(groups: np.ndarray) -> np.ndarray:
    """1 / (rows of the row's source): every source weighs one."""
    return np.array([1.0 / np.sum(groups == g) for g in groups])


def choose_tail(values: np.ndarray, own: np.ndarray, groups: np.ndarray
                ) -> tuple[float, float]:
    """The narrowest tail in TAILS whose held-out coverage reaches TARGET_COVERAGE (the
    widest otherwise), and that coverage."""
    weights = source_weights(groups)
    for tail in TAILS:
        share, _ = coverage(Residuals(values, weights, own, tail), groups)
        if share >= TARGET_COVERAGE:
            return tail, share
    return TAILS[-1], share


@cache
def stored_residuals() -> Residuals:
    path = resources.files("gpucost.performance").joinpath("data", "calibration.json")
    data = json.loads(path.read_text(encoding="utf-8")).get("residuals", {})
    rows = [(r, w, True) for r, w in data.get("own", [])] + \
        [(r, w, False) for r, w in data.get("extrapolated", [])]
    if not rows:
        return Residuals(np.zeros(1), np.ones(1), np.ones(1, dtype=bool))
    values, weights, own = (np.array(c) for c in zip(*rows, strict=True))
    return Residuals(values.astype(float), weights.astype(float), own.astype(bool),
                     float(data.get("tail", 0.10)))


def throughput_ratio(q: float, own_data: bool) -> float:
    """actual / predicted throughput at the range's q-quantile."""
    return float(np.exp(band(stored_residuals(), q, own_data)))


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

"""A team's own calibration: the one place the performance model takes it in.

``gpucost calibrate`` (:mod:`gpucost.calibrate`) fits, per (GPU, stack, precision), a
multiplicative factor on the modelled throughput (measured / predicted tokens per second,
geometric mean over the team's measurements) and the spread of the residuals left after
it. :func:`gpucost.performance.curves.performance_curves` multiplies each hardware
class's tokens per second by :func:`rate_factors`, so every planner mode, the frontier and
``estimate`` see the same calibrated speed. A run with a fixed ``utilization`` is left
alone: the user has already said how fast it goes.

The active profile is a context variable (set by the CLI from ``--calibration`` or the
user's config folder, or by :func:`use_profile` in the Python API) rather than an
argument threaded through every planner function.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import numpy as np

# z of the 90th percentile of a normal: P10-P90 = exp(-/+ 1.2816 sd) around the median.
Z90 = 1.2816


@dataclass(frozen=True)
class ProfileEntry:
    """What a team's measurements say about one (GPU, stack, precision)."""

    gpu: str
    stack: str
    precision: str
    factor: float          # measured / modelled tokens per second (geometric mean)
    log_spread: float      # sd of log(measured / calibrated prediction) a new run may show
    measurements: int
    error_before: float    # median |measured / modelled - 1| before calibration
    error_after: float     # the same after

    def to_json(self) -> dict:
        return {"gpu": self.gpu, "stack": self.stack, "precision": self.precision,
                "factor": self.factor, "log_spread": self.log_spread,
                "measurements": self.measurements, "error_before": self.error_before,
                "error_after": self.error_after}


@dataclass(frozen=True)
class UserCalibration:
    """A calibration profile: entries per (GPU, stack, precision), and where it came from."""

    entries: tuple[ProfileEntry, ...]
    source: str = ""       # file it was read from ('' when built in memory)
    created_at: str = ""
    notes: tuple[str, ...] = field(default=())

    def entry(self, gpu: str, stack: str, precision: str) -> ProfileEntry | None:
        for e in self.entries:
            if (e.gpu, e.stack, e.precision) == (gpu, stack, precision):
                return e
        return None

    def describe(self, gpus: Iterable[str], stack: str, precision: str) -> str | None:
        """"calibrated on 3 of your measurements (H100, pytorch)" for the entries that
        apply to ``gpus``; None when none does."""
        used = [e for e in self.entries if e.gpu in set(gpus) and e.stack == stack
                and e.precision == precision]
        if not used:
            return None
        count = sum(e.measurements for e in used)
        names = ", ".join(sorted(e.gpu for e in used))
        where = f" ({self.source})" if self.source else ""
        return (f"calibrated on {count} of your measurement{'s' if count != 1 else ''} "
                f"({names}, {stack}){where}")


_ACTIVE: ContextVar[UserCalibration | None] = ContextVar("gpucost_user_calibration",
                                                         default=None)


def active_profile() -> UserCalibration | None:
    return _ACTIVE.get()


@contextmanager
def use_profile(profile: UserCalibration | None) -> Iterator[UserCalibration | None]:
    """Plan, estimate or draw a frontier with ``profile`` (None: the published model)."""
    token = _ACTIVE.set(profile)
    try:
        yield profile
    finally:
        _ACTIVE.reset(token)


def rate_factors(gpus: Iterable[str], stack: str, precision: str,
                 utilization: float | None) -> np.ndarray:
    """The active profile's throughput factor for each GPU (1 where it has none)."""
    names = list(gpus)
    profile = _ACTIVE.get()
    if profile is None or utilization is not None:
        return np.ones(len(names))
    out = []
    for gpu in names:
        e = profile.entry(gpu, stack, precision)
        out.append(e.factor if e is not None else 1.0)
    return np.asarray(out, dtype=float)


def calibrated_range(gpu: str, stack: str, precision: str, utilization: float | None
                     ) -> float | None:
    """The log-sd of throughput the active profile supports for this GPU, or None."""
    profile = _ACTIVE.get()
    if profile is None or utilization is not None:
        return None
    e = profile.entry(gpu, stack, precision)
    return e.log_spread if e is not None else None


def spread_to_ratios(log_sd: float) -> tuple[float, float]:
    """(fast, slow) multipliers of training time at P10 / P90 for a log-normal speed."""
    return math.exp(-Z90 * log_sd), math.exp(Z90 * log_sd)

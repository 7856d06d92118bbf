"""The performance model: how fast a training run goes on an offer, and how it is laid out.

One model, used by every planner mode, the frontier and the alternatives:

- :mod:`shape`: the model trained (layers, width, batch; derived when not given);
- :mod:`hardware`: an offer's GPUs, GPU link and network as arrays per hardware class;
- :mod:`step_time`: one analytic step-time function over (class, instances, layout);
- :mod:`curves`: the fastest fitting layout per class and instance count;
- :mod:`goodput`: failures, checkpoints, start-up and spot reclaims;
- :mod:`calibration` / :mod:`fit` / :mod:`published`: constants fitted on published
  throughput and judged leave-one-out (``scripts/validate_estimates.py``).

:func:`estimate` is the small interface for one offer and instance count.
"""

from __future__ import annotations

from functools import cache

from gpucost.performance.calibration import Calibration
from gpucost.performance.curves import Layout, PerformanceCurves
from gpucost.performance.estimate import Estimate, estimate
from gpucost.performance.published import calibrated_gpus


@cache
def calibration(stack: str = "pytorch") -> Calibration:
    """The constants fitted for a software stack (``data/calibration.json``)."""
    from gpucost.performance.fit import load_calibrations

    return load_calibrations()[stack]


__all__ = ["Calibration", "Estimate", "Layout", "PerformanceCurves", "calibrated_gpus",
           "calibration", "estimate"]

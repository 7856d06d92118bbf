"""Goodput: the share of paid wall time that trains, and what spot capacity costs.

Published end-to-end GPU-hours include restarts after hardware failures, evaluation
and checkpointing; large runs report 85-95% of wall time training (Dubey et al. 2024,
Llama 3, sec. 3.3.4: "higher than 90% effective training time" with 419 unexpected
interruptions in 54 days on 16,384 H100s). The model, with every constant overridable
in the job file's ``assumptions:``:

    wall = startup + train x (1 + housekeeping + failures x gpus x lost)   on demand
    wall = startup + train x (1 + housekeeping) x f(reclaims, failures)   spot

- failures: hardware interruptions per GPU-hour, 419 / (54 x 24 x 16,384) = 2e-5;
- lost per interruption: half a checkpoint interval of work plus the restart;
- housekeeping: checkpoint writes and evaluation, a fixed share of training time;
- startup: provisioning, image pull, data and compile warm-up, once per run, so short
  runs pay relatively more;
- spot: a synchronous run stops whenever *any* of its instances is reclaimed; f is the
  renewal-theory expected time per unit of work (Daly 2006) of :mod:`.spot`, which grows
  exponentially once interruptions come faster than checkpoints and restarts.
"""

from __future__ import annotations

from gpucost.job.spec import Assumptions
from gpucost.performance.spot import SpotModel, offer_reclaim_rates, spot_model

__all__ = ["SpotModel", "describe", "lost_per_failure", "offer_reclaim_rates", "overhead",
           "spot_model"]


def lost_per_failure(a: Assumptions) -> float:
    """Hours of work lost at a hardware interruption: half a checkpoint interval, then
    the restart."""
    return a.checkpoint_interval_hours / 2 + a.restart_hours


def overhead(a: Assumptions, gpus, spot_instances=0):
    """Extra wall time per hour of training on demand (numpy-broadcastable over GPU
    counts). Spot clusters: :func:`spot_model`; ``spot_instances`` is ignored."""
    return a.housekeeping + a.failures_per_gpu_hour * gpus * lost_per_failure(a)


def describe(a: Assumptions) -> str:
    return (f"Goodput: +{a.housekeeping:.0%} for checkpoints and evaluation; "
            f"{a.failures_per_gpu_hour:g} hardware failures per GPU-hour, each losing "
            f"{lost_per_failure(a):g} h; {a.startup_hours:g} h start-up per run.")

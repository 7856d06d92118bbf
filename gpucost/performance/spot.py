"""Spot capacity as it behaves: reclaims, checkpoints and restarts, from renewal theory.

A synchronous run on ``n`` spot instances stops whenever *any* of them is reclaimed, so
with per-instance reclaim rate lambda (per pool, see :mod:`gpucost.catalog.interruptions`)
and hardware failures phi per GPU-hour on ``g`` GPUs the run is interrupted at rate

    Lambda = n lambda + g phi            (independent Poisson processes add up)
    M      = 1 / Lambda                  (mean time between interruptions, hours)

It writes a checkpoint of C hours every tau hours of work; after an interruption it
waits R hours (a replacement instance, the restart, reading the checkpoint back) and
redoes the work since the last checkpoint. With exponential inter-arrival times the
expected wall time per hour of work is (Daly 2006, "A higher order estimate of the
optimum checkpoint interval for restart dumps", FGCS 22(3), eq. 15):

    f = M e^{R/M} (e^{(tau + C)/M} - 1) / tau

It grows exponentially once (tau + C) or R approach M: a large spot cluster can make no
progress at all, which a linear "overhead per reclaim" cannot show. The default tau is
Daly's higher-order optimum (ibid., eq. 37), which reduces to Young's sqrt(2 C M) (Young
1974, "A first order approximation to the optimum checkpoint interval", CACM 17(9)) when
C << M:

    tau = sqrt(2 C M) (1 + sqrt(C / (2M)) / 3 + C / (18 M)) - C     if C < 2M, else M

C = model state bytes / checkpoint bandwidth, where the bandwidth grows with the
instances writing their shards in parallel up to the storage system's limit (both stated
assumptions). ``divisible`` work runs on instances that work alone: each one is a run of
its own with n = 1, so one reclaim costs only that instance's work since its checkpoint.

Spread: interruptions form a Poisson process over the wall time W, each losing L = U + R
hours with U uniform on [0, tau + C] (the work since the checkpoint), so W is a compound
Poisson sum with Var(W) ~= Lambda E[W] E[L^2]. The probability of finishing by the
deadline is read from a normal approximation of W (stated in plans).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from gpucost.catalog.interruptions import pool_rates
from gpucost.job.spec import Assumptions

# A run that makes less progress than this per wall hour makes none worth planning on.
MIN_PROGRESS = 1e-3


def offer_reclaim_rates(offers: pd.DataFrame, a: Assumptions) -> np.ndarray:
    """Reclaims per instance-hour of each offer: the job's override, else the offer's
    ``reclaims_per_hour`` (joined from interruption data), else its provider's default;
    0 for on-demand offers."""
    spot = (offers["pricing"] == "spot").to_numpy()
    if a.spot_interruptions_per_instance_hour is not None:
        rate = np.full(len(offers), a.spot_interruptions_per_instance_hour)
    elif "reclaims_per_hour" in offers.columns:
        rate = offers["reclaims_per_hour"].to_numpy(dtype=float)
    else:
        rate = pool_rates(offers, None)[0]
    return np.where(spot, rate, 0.0)


def checkpoint_hours(state_bytes: float, instances, a: Assumptions):
    """Hours to write (or read back) the training state: its bytes over the checkpoint
    bandwidth, each instance writing its shard in parallel up to the storage limit."""
    per_instance = a.checkpoint_gb_per_s_per_instance * 1e9
    bandwidth = np.minimum(np.asarray(instances, dtype=float) * per_instance,
                           a.checkpoint_gb_per_s_max * 1e9)
    return state_bytes / bandwidth / 3600.0


def daly_interval(c, m):
    """Daly's (2006) higher-order optimum checkpoint interval for write time ``c`` and
    mean time between interruptions ``m`` (hours; broadcastable)."""
    c, m = np.asarray(c, dtype=float), np.asarray(m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = c / (2 * m)
        tau = np.sqrt(2 * c * m) * (1 + np.sqrt(x) / 3 + x / 9) - c
    return np.where(c < 2 * m, np.maximum(tau, 1e-9), m)


def renewal_factor(m, tau, c, r):
    """Expected wall hours per hour of work (Daly 2006, eq. 15); inf when it overflows."""
    m = np.asarray(m, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        f = m * np.exp(r / m) * np.expm1((tau + c) / m) / tau
    return np.where(np.isfinite(f), f, np.inf)


@dataclass(frozen=True)
class SpotModel:
    """The model's figures for ``instances`` spot instances of one pool (arrays
    broadcast over instance counts)."""

    reclaims_per_instance_hour: float
    interruptions_per_hour: np.ndarray   # Lambda: reclaims and hardware failures
    reclaims_per_hour: np.ndarray        # n lambda alone
    checkpoint_hours: np.ndarray         # C
    interval_hours: np.ndarray           # tau
    restart_hours: np.ndarray            # R
    factor: np.ndarray                   # wall hours per hour of work, housekeeping included
    variance_per_hour: np.ndarray        # Lambda E[L^2]: Var(W) per wall hour


def spot_model(a: Assumptions, reclaim_rate: float, instances, gpus,
               state_bytes: float) -> SpotModel:
    """The renewal model for ``instances`` (array) instances of ``gpus`` (array, same
    shape) GPUs in all, each reclaimed at ``reclaim_rate`` per hour."""
    n = np.asarray(instances, dtype=float)
    g = np.asarray(gpus, dtype=float)
    reclaims = n * reclaim_rate
    failures = g * a.failures_per_gpu_hour
    rate = reclaims + failures
    c = checkpoint_hours(state_bytes, np.maximum(n, 1), a)
    with np.errstate(divide="ignore", invalid="ignore"):
        m = np.where(rate > 0, 1.0 / rate, np.inf)
        # Restart: a reclaim needs a replacement instance, a failure a restart; both
        # read the checkpoint back.
        r = np.where(rate > 0, (reclaims * a.spot_restart_hours + failures * a.restart_hours)
                     / rate, 0.0) + c
    if a.spot_checkpoint_interval_hours is not None:
        tau = np.full_like(m, a.spot_checkpoint_interval_hours)
    else:
        # With no interruptions, checkpoints only cost: one per day is the stated floor.
        tau = np.where(np.isfinite(m), daly_interval(c, m), 24.0)
    factor = np.where(np.isfinite(m), renewal_factor(m, tau, c, r), 1.0 + c / tau)
    lost = tau + c
    second_moment = lost**2 / 3 + r * lost + r**2
    return SpotModel(reclaim_rate, rate, reclaims, c, tau, r,
                     factor * (1.0 + a.housekeeping), rate * second_moment)


def normal_cdf(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2))


def normal_quantile(p: float) -> float:
    """Inverse of :func:`normal_cdf` (bisection; plenty for a confidence level)."""
    lo, hi = -10.0, 10.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if normal_cdf(mid) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def finish_probability(mean_hours: float, variance: float, deadline_hours: float) -> float:
    """P(wall time <= deadline) under the normal approximation of the compound Poisson
    wall time (mean and variance from :func:`spot_model`)."""
    if not math.isfinite(mean_hours):
        return 0.0
    if variance <= 0:
        return 1.0 if mean_hours <= deadline_hours else 0.0
    return normal_cdf((deadline_hours - mean_hours) / math.sqrt(variance))


def quantile_hours(mean_hours, variance, confidence: float | None):
    """The wall time the run finishes within with probability ``confidence`` (the mean
    when no confidence is asked for)."""
    if confidence is None:
        return mean_hours
    return mean_hours + normal_quantile(confidence) * np.sqrt(np.maximum(variance, 0.0))


def describe(a: Assumptions, mode: str) -> str:
    """The spot model in one paragraph, as plans print it."""
    storage = (f"checkpoints written at {a.checkpoint_gb_per_s_per_instance:g} GB/s per "
               f"instance up to {a.checkpoint_gb_per_s_max:g} GB/s")
    interval = (f"every {a.spot_checkpoint_interval_hours:g} h" if
                a.spot_checkpoint_interval_hours is not None else
                "at the Young/Daly optimum interval")
    common = (f"{storage}, {interval}; a reclaim costs the work since the last checkpoint "
              f"plus {a.spot_restart_hours:g} h for a replacement and restart "
              "(renewal model, Daly 2006; finish probability from a normal approximation)")
    if mode == "divisible":
        return ("Spot: instances work alone, so a reclaim stops only that instance; "
                + common + ".")
    return ("Spot: the run is synchronous, so a reclaim of any instance stops all of them "
            "and interruptions arrive n times as often on n instances; " + common + ".")


def run_figures(a: Assumptions, reclaim_rate: float, instances: int, gpu_count: int,
                hours: float, deadline_hours: float, state_bytes: float,
                synchronous: bool = True) -> dict:
    """What a plan says about ``instances`` spot instances running ``hours`` each
    (start-up included): expected reclaims, the share of paid time lost, the checkpoint
    interval and the probability of finishing by the deadline.

    ``synchronous``: one run over all instances; otherwise each instance works alone
    (divisible work, shared out again as instances finish, so the deadline is met when
    the instances' wall times add up to no more than ``instances`` x the deadline)."""
    group = instances if synchronous else 1
    m = spot_model(a, reclaim_rate, np.array([group]), np.array([group * gpu_count]),
                   state_bytes)
    renewal = float(m.factor[0]) / (1.0 + a.housekeeping)
    train = max(hours - a.startup_hours, 0.0)
    variance = float(m.variance_per_hour[0]) * train
    if synchronous:
        p = finish_probability(hours, variance, deadline_hours)
    else:
        p = finish_probability(instances * hours, instances * variance,
                               instances * deadline_hours)
    rate = float(m.interruptions_per_hour[0])
    return {
        "reclaims_per_instance_hour": reclaim_rate,
        "expected_reclaims": reclaim_rate * instances * hours,
        "expected_hardware_failures": a.failures_per_gpu_hour * instances * gpu_count * hours,
        "hours_between_interruptions": 1.0 / rate if rate > 0 else None,
        "checkpoint_interval_hours": float(m.interval_hours[0]),
        "checkpoint_write_hours": float(m.checkpoint_hours[0]),
        "restart_hours": float(m.restart_hours[0]),
        "lost_share": 1.0 - 1.0 / renewal if math.isfinite(renewal) else 1.0,
        "p_meets_deadline": p,
        "meets_deadline_mean": hours <= deadline_hours,
        "synchronous": synchronous,
        "probability_method": "normal approximation of the compound Poisson wall time",
    }

"""``estimate(run, offer, instances)``: the model's answer for one offer, in one call."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from gpucost.job.spec import Assumptions, RunSpec
from gpucost.performance.curves import Layout, performance_curves


@dataclass(frozen=True)
class Estimate:
    """How ``instances`` of one offer run one training run."""

    instances: int
    fits: bool
    tokens_per_s: float
    hours: float            # wall hours for the run's FLOPs, goodput and start-up included
    layout: Layout | None
    reasons: tuple[str, ...]
    # Wall hours at the 10th and 90th percentile of the published throughput the model
    # was judged on, leave-one-source-out (gpucost.performance.uncertainty): the run
    # finishes within hours_p90 in nine cases out of ten. Equal to ``hours`` under a
    # user-fixed utilization (the model predicts nothing then).
    hours_p10: float = float("inf")
    hours_p90: float = float("inf")
    # What the throughput stands on: "calibrated" (published data for this GPU, stack and
    # precision), "extrapolated from <gpu stack precision>", or "utilization fixed by the
    # job".
    basis: str = ""


def estimate(run: RunSpec, offer: Mapping[str, Any], instances: int,
             assumptions: Assumptions | None = None) -> Estimate:
    """Throughput, wall time and layout of ``run`` on ``instances`` of ``offer`` (a row of
    the offer table: gpu, gpu_count, gpu_memory_gib, gpu_link, network_gbps, rdma,
    pricing; spot offers also provider, region, instance_type, or reclaims_per_hour)."""
    from gpucost.performance import calibration
    from gpucost.performance.uncertainty import basis_of, hours_at

    assumptions = assumptions or Assumptions()
    frame = pd.DataFrame([{k: offer.get(k) for k in (
        "gpu", "gpu_count", "gpu_memory_gib", "gpu_link", "network_gbps", "rdma", "pricing",
        "provider", "region", "instance_type")}])
    if offer.get("reclaims_per_hour") is not None:  # the pool's spot reclaim rate
        frame["reclaims_per_hour"] = float(offer["reclaims_per_hour"])
    frame["gpu_link"] = frame["gpu_link"].fillna("")
    frame["rdma"] = frame["rdma"].fillna(False).astype(bool)
    frame["network_gbps"] = frame["network_gbps"].astype(float)
    curves, rows = performance_curves(run, frame, instances, assumptions, calibration(run.stack),
                                      counts=np.array([instances]))
    tokens = float(curves.tokens_per_s[0, 0])
    reasons = list(curves.classes.defaults[0])
    label, own = basis_of(run, str(offer.get("gpu")), curves.classes.precision_used[0])
    if tokens <= 0:
        return Estimate(instances, False, 0.0, float("inf"), None, (
            *reasons, f"no runnable layout fits {run.model_state_gib:,.0f} GiB of model "
            f"state and activations in {instances} x {offer.get('gpu_count')} GPUs (with "
            f"{run.memory_margin:.0%} of each GPU left free; the batch of "
            f"{curves.shape.batch_sequences:,} sequences split into whole micro-batches)"),
            basis=label)
    rate = float(curves.rate[rows[0], 0])
    hours = run.flops / rate + curves.startup_hours
    if run.utilization is not None:
        low = high = hours
    else:
        low = hours_at(hours, curves.startup_hours, 0.1, own)
        high = hours_at(hours, curves.startup_hours, 0.9, own)
    return Estimate(instances, True, tokens, hours, curves.layout(0, instances),
                    tuple(reasons), hours_p10=low, hours_p90=high, basis=label)

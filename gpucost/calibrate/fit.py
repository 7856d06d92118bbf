"""From measurements to a calibration profile: predict, check, fit.

For each measurement the published model predicts tokens per second on the same shape,
stack, precision and hardware (``gpucost.performance.estimate``, with no profile
active). Per (GPU, stack, precision):

- ``factor`` = exp(mean(log(measured / predicted))): the team's speed relative to the
  model (a geometric mean, since errors are multiplicative);
- ``log_spread``: how far a new run may land from the calibrated prediction: the
  residual sd shrunk towards a prior with :data:`PRIOR_WEIGHT` pseudo-measurements,
  times sqrt(1 + 1/n) for the factor's own uncertainty:
  sqrt((k sw^2 + sum r^2) / (k + n - 1)) x sqrt(1 + 1/n). The prior ``sw`` is the
  model's own spread s0 over sqrt(2): an assumption that half of the model's variance
  across published sources is each stack's own bias, which the factor removes. So one
  measurement leaves the range as wide as the model's; more that agree narrow it, and
  residuals that scatter widen it.

Refused, one line each (exit 2): a measurement whose 6 x parameters FLOPs per token
would exceed the GPU's dense peak, one contradicting the others of its group by more
than 2x (measured / predicted against the group's median), a GPU not in the table.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gpucost.calibrate.measurements import Record, log_throughput
from gpucost.errors import GpucostError, InputError, quote
from gpucost.job.spec import RunSpec
from gpucost.performance.user_calibration import ProfileEntry, UserCalibration, use_profile

PRIOR_WEIGHT = 2.0
CONTRADICTION = 2.0


@dataclass(frozen=True)
class Measured:
    """A measurement made comparable with the model."""

    name: str
    where: str
    run: RunSpec
    offer: dict[str, Any]
    instances: int
    tokens_per_s: float        # measured, whole cluster
    predicted: float           # the published model's, whole cluster
    prior_spread: float        # the model's own log-sd for it

    @property
    def gpu(self) -> str:
        return str(self.offer["gpu"])

    @property
    def gpus(self) -> int:
        return self.instances * int(self.offer["gpu_count"])

    @property
    def ratio(self) -> float:
        return self.tokens_per_s / self.predicted

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.gpu, self.run.stack, self.run.precision)


def _run_spec(r: Record) -> RunSpec:
    from gpucost.job.parse import load_job, parse_job

    v = r.values
    if "job" in v:
        job_path = Path(str(v["job"]))
        job = load_job(job_path if job_path.is_absolute() else r.base / job_path)
        base = job.runs[0]
        data: dict[str, Any] = {"name": "measurement", "deadline": "30d",
                                "stack": v.get("stack", base.stack),
                                "precision": v.get("precision", base.precision),
                                "model": {"parameters": base.parameters or 0,
                                          "tokens": 1e12,
                                          "sequence_length": int(v.get("sequence_length",
                                                                       base.sequence_length))}}
        for key in ("layers", "hidden_size", "activated_parameters"):
            if getattr(base, key):
                data["model"][key] = getattr(base, key)
        if base.batch_tokens:
            data["batch_tokens"] = base.batch_tokens
        if not base.parameters:
            raise InputError(r.where, "job", "a job file with model.parameters (a shape to "
                             "predict throughput for)")
    else:
        if "parameters" not in v:
            raise InputError(r.where, "parameters", "the model size (or job: a job file)")
        data = {"name": "measurement", "deadline": "30d", "stack": v.get("stack", "pytorch"),
                "precision": v.get("precision", "bf16"),
                "model": {"parameters": v["parameters"], "tokens": 1e12}}
        for key in ("layers", "hidden_size", "sequence_length"):
            if key in v:
                data["model"][key] = int(v[key])
        if "activated_parameters" in v:
            data["model"]["activated_parameters"] = v["activated_parameters"]
    seq = data["model"].get("sequence_length") or 2048
    if "batch_tokens" in v:
        data["batch_tokens"] = v["batch_tokens"]
    elif "global_batch" in v:
        data["batch_tokens"] = v["global_batch"] * seq
    return parse_job(data, r.where).runs[0]


def _hardware(r: Record, offers) -> tuple[dict[str, Any], int]:  # noqa: ANN001
    from gpucost.catalog.gpus import gpu_specs, resolve_gpu

    v = r.values
    if "instance_type" in v:
        rows = offers[offers["instance_type"].str.lower() == str(v["instance_type"]).lower()]
        if rows.empty:
            raise InputError(r.where, "instance_type", f"an instance type of the catalog, not "
                             f"{quote(v['instance_type'])} (or give gpu and gpus)")
        row = rows.sort_values(["provider", "region", "pricing"]).iloc[0]
        per = int(row["gpu_count"])
        gpu = str(row["gpu"])
    else:
        if "gpu" not in v:
            raise InputError(r.where, "gpu", "the GPU (or instance_type)")
        gpu = resolve_gpu(str(v["gpu"])) or ""
        if gpu not in gpu_specs():
            raise InputError(r.where, "gpu", f"a GPU of the spec table (`gpucost gpus`), not "
                             f"{quote(v['gpu'])}")
        total = v.get("gpus")
        per = int(v.get("gpus_per_instance") or min(int(total or 8), 8))
        rows = offers[(offers["gpu"] == gpu) & (offers["gpu_count"] == per)]
        row = rows.sort_values(["network_gbps", "provider", "region"], ascending=[False, True,
                                                                                  True],
                               na_position="last").iloc[0] if not rows.empty else None
    if "gpu" not in v or row is not None:
        offer = {k: row[k] for k in ("gpu", "gpu_count", "gpu_memory_gib", "gpu_link",
                                     "network_gbps", "rdma")}
        offer["pricing"] = "on_demand"
    else:  # a GPU no catalog row has at this count: its datasheet, unknown network
        spec = gpu_specs()[gpu]
        offer = {"gpu": gpu, "gpu_count": per, "gpu_memory_gib": spec.memory_gib,
                 "gpu_link": "nvswitch" if spec.nvlink_gb_s and per == 8 else "",
                 "network_gbps": None, "rdma": False, "pricing": "on_demand"}
    if "instances" in v:
        instances = v["instances"]
    elif "gpus" in v:
        instances = v["gpus"] / per
    else:
        raise InputError(r.where, "instances", "how many instances (or gpus in all) ran")
    if instances != int(instances) or instances < 1:
        raise InputError(r.where, "gpus", f"a whole number of {per}-GPU instances")
    return offer, int(instances)


def _tokens_per_s(r: Record, run: RunSpec, gpus: int) -> float:
    v = dict(r.values)
    if "log" in v:
        t = log_throughput(r)
        if t.tokens_per_s_per_gpu is not None:
            v.setdefault("tokens_per_s_per_gpu", t.tokens_per_s_per_gpu)
        if t.samples_per_s is not None:
            v.setdefault("samples_per_s", t.samples_per_s)
        if t.step_time_s is not None:
            v.setdefault("step_time_s", t.step_time_s)
            if t.global_batch and "batch_tokens" not in v and "global_batch" not in v:
                v["global_batch"] = t.global_batch
    seq = run.sequence_length
    if "tokens_per_s" in v:
        return float(v["tokens_per_s"])
    if "tokens_per_s_per_gpu" in v:
        return float(v["tokens_per_s_per_gpu"]) * gpus
    if "samples_per_s" in v:
        return float(v["samples_per_s"]) * seq
    if "step_time_s" in v:
        if "batch_tokens" in v:
            batch = float(v["batch_tokens"])
        elif "global_batch" in v:
            batch = float(v["global_batch"]) * seq
        else:
            raise InputError(r.where, "global_batch", "the global batch (sequences, or "
                             "batch_tokens) that step_time_s is for")
        return batch / float(v["step_time_s"])
    raise InputError(r.where, "tokens_per_s", "a throughput: tokens_per_s, "
                     "tokens_per_s_per_gpu, step_time_s with the batch, samples_per_s, or log")


def measure(records: Sequence[Record], offers) -> list[Measured]:  # noqa: ANN001
    """Each record made comparable with the published model's prediction."""
    from gpucost.catalog.gpus import gpu_specs
    from gpucost.performance import estimate
    from gpucost.planner.cluster import PUBLISHED_LOG_SPREAD

    out = []
    with use_profile(None):
        for r in records:
            run = _run_spec(r)
            offer, instances = _hardware(r, offers)
            gpus = instances * int(offer["gpu_count"])
            tps = _tokens_per_s(r, run, gpus)
            spec = gpu_specs()[offer["gpu"]]
            peak, used = spec.peak_tflops(run.precision)
            implied = 6.0 * (run.activated_parameters or run.parameters or 0) * tps / gpus
            if implied > peak * 1e12:
                raise GpucostError(
                    f"{r.where}: {tps / gpus:,.0f} tokens/s per GPU implies "
                    f"{implied / 1e12:,.0f} TFLOP/s per GPU (6 x parameters), above the "
                    f"{offer['gpu']}'s {used} dense peak of {peak:g}: check the model size, "
                    "GPU count or throughput")
            est = estimate(run, offer, instances)
            if not est.fits or est.tokens_per_s <= 0:
                raise GpucostError(f"{r.where}: the model finds no layout that fits this run "
                                   f"on {instances} x {offer['gpu_count']} {offer['gpu']}; "
                                   "check the model size and GPU count")
            p10, p90 = getattr(est, "hours_p10", None), getattr(est, "hours_p90", None)
            prior = PUBLISHED_LOG_SPREAD
            if p10 and p90 and p90 > p10 > 0:
                prior = math.log(p90 / p10) / (2 * 1.2816)
            name = str(r.values.get("name") or r.where)
            out.append(Measured(name, r.where, run, offer, instances, tps,
                                float(est.tokens_per_s), prior))
    return out


def _median_error(ratios: Iterable[float]) -> float:
    values = [abs(x - 1.0) for x in ratios]
    return statistics.median(values) if values else 0.0


def check_consistency(measured: Sequence[Measured]) -> None:
    """Refuse a measurement that contradicts the others of its group by more than 2x."""
    groups: dict[tuple, list[Measured]] = {}
    for m in measured:
        groups.setdefault(m.key, []).append(m)
    for group in groups.values():
        if len(group) < 2:
            continue
        for m in group:
            others = [o.ratio for o in group if o is not m]
            typical = math.exp(statistics.median(math.log(x) for x in others))
            if max(m.ratio / typical, typical / m.ratio) > CONTRADICTION:
                raise GpucostError(
                    f"{m.where}: measured {m.ratio:.2f}x the model's prediction while the "
                    f"other {m.gpu} measurements are at {typical:.2f}x: more than "
                    f"{CONTRADICTION:g}x apart; check its GPU count, batch and throughput "
                    "units (per GPU or whole cluster), or drop it")


def fit_profile(measured: Sequence[Measured]) -> tuple[UserCalibration, list[dict]]:
    """The profile, and per measurement: predicted before, after (leave-one-out when the
    group has more than one), measured."""
    check_consistency(measured)
    groups: dict[tuple, list[Measured]] = {}
    for m in measured:
        groups.setdefault(m.key, []).append(m)
    entries, rows = [], []
    for (gpu, stack, precision), group in sorted(groups.items()):
        logs = [math.log(m.ratio) for m in group]
        n = len(logs)
        mean = sum(logs) / n
        prior = statistics.median(m.prior_spread for m in group) / math.sqrt(2)
        residual = sum((x - mean) ** 2 for x in logs)
        spread = math.sqrt((PRIOR_WEIGHT * prior ** 2 + residual) / (PRIOR_WEIGHT + n - 1)) \
            * math.sqrt(1 + 1 / n)
        after = []
        for i, m in enumerate(group):
            rest = logs[:i] + logs[i + 1:]
            factor = math.exp(sum(rest) / len(rest)) if rest else math.exp(mean)
            after.append(m.ratio / factor)
            rows.append({"name": m.name, "gpu": gpu, "stack": stack, "precision": precision,
                         "gpus": m.gpus, "measured_tokens_per_s": m.tokens_per_s,
                         "predicted_before": m.predicted,
                         "predicted_after": m.predicted * factor,
                         "leave_one_out": bool(rest)})
        entries.append(ProfileEntry(gpu, stack, precision, factor=math.exp(mean),
                                    log_spread=spread, measurements=n,
                                    error_before=_median_error(m.ratio for m in group),
                                    error_after=_median_error(after)))
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return UserCalibration(tuple(entries), created_at=created), rows

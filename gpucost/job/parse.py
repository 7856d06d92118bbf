"""Parse and validate a job file into a :class:`~gpucost.job.spec.JobSpec`.

Every error is an :class:`~gpucost.errors.InputError` naming the file, the field path
(``constraints.max_instances``, ``experiments[2].deadline``) and what was expected.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from gpucost.catalog.ecosystem import VENDORS
from gpucost.catalog.gpus import PRECISIONS, gpu_specs, resolve_gpu_filter
from gpucost.errors import InputError, quote
from gpucost.files import load_yaml
from gpucost.job.deadline import parse_deadline
from gpucost.job.spec import (
    ASSUMPTION_KEYS,
    DEFAULT_BYTES_PER_PARAMETER,
    DEFAULT_MAX_INSTANCES,
    DEFAULT_MEMORY_MARGIN,
    DEFAULT_SEQUENCE_LENGTH,
    DEFAULT_STACK,
    INCLUSIVE_LOW,
    LIMITS,
    MAX_RUNS,
    MODES,
    SPOT_POLICIES,
    STACKS,
    Assumptions,
    Constraints,
    JobSpec,
    RunSpec,
)
from gpucost.suggest import unknown_name_message

_TOP_KEYS = {"name", "model", "flops", "precision", "utilization", "memory", "deadline", "mode",
             "constraints", "assumptions", "experiments", "batch_tokens", "stack",
             "deadline_confidence"}
_RUN_KEYS = {"name", "model", "flops", "precision", "utilization", "memory", "deadline", "count",
             "batch_tokens", "stack", "deadline_confidence"}
_MODEL_KEYS = {"parameters", "tokens", "sequence_length", "layers", "hidden_size",
               "activated_parameters", "experts", "experts_per_token", "expert_hidden_size"}
_MEMORY_KEYS = {"bytes_per_parameter", "min_gpu_memory_gib", "margin"}
_CONSTRAINT_KEYS = {"providers", "regions", "gpus", "spot", "max_instances", "max_gpus",
                    "budget_usd", "vendors", "launchable", "min_reliability"}


def shown(value: Any) -> str:
    """What the user wrote, for a message: dates as written, booleans in YAML spelling,
    everything else quoted and bounded (see :func:`gpucost.errors.quote`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return quote(value)


def _num(x: float) -> str:
    return re.sub(r"e\+?0*", "e", f"{x:.0e}") if x >= 1e7 else f"{x:,g}"


def _range_text(low: float, high: float, inclusive: bool) -> str:
    if inclusive:
        return f"from {_num(low)} to {_num(high)}"
    return f"> {_num(low)} and <= {_num(high)}"


def _key_text(key: Any) -> str:
    fine = isinstance(key, str) and key.isprintable() and len(key) <= 40
    return key if fine else quote(key, 40)


class _Reader:
    """Field access with errors that name the file and the field path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, expected: str, value: Any = ...) -> InputError:
        got = "" if value is ... else f", got {shown(value)}"
        return InputError(self.origin, path, f"expected {expected}{got}")

    def mapping(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(path or "top level", "a mapping of fields", value)
        for key in value:
            if key not in allowed:
                where = f"{path}.{_key_text(key)}" if path else _key_text(key)
                raise self.fail(where, f"a known field ({', '.join(sorted(allowed))})")
        return value

    def number(self, data: Mapping[str, Any], key: str, path: str, limit: str, *,
               integer: bool = False) -> float | None:
        """``data[key]`` as a number within ``LIMITS[limit]`` (None if absent)."""
        if key not in data or data[key] is None:
            return None
        low, high = LIMITS[limit]
        inclusive = limit in INCLUSIVE_LOW
        span = _range_text(low, high, inclusive)
        kind = "a whole number" if integer else "a number"
        value = data[key]
        if isinstance(value, str):  # YAML reads 7e9 (no dot) as a string
            try:
                value = float(value.replace("_", ""))
            except ValueError:
                raise self.fail(path, f"{kind} {span}", data[key]) from None
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise self.fail(path, f"{kind} {span}", data[key])
        low_ok = value >= low if inclusive else value > low
        if not low_ok or value > high or (integer and value != int(value)):
            raise self.fail(path, f"{kind} {span}", data[key])
        return int(value) if integer else float(value)

    def choice(self, data: Mapping[str, Any], key: str, path: str, options: tuple[str, ...],
               default: str) -> str:
        value = data.get(key, default)
        folded = value.strip().lower() if isinstance(value, str) else value
        if folded not in options:
            raise self.fail(path, f"one of {', '.join(options)}", value)
        return str(folded)

    def boolean(self, data: Mapping[str, Any], key: str, path: str) -> bool:
        value = data.get(key, False)
        if not isinstance(value, bool):
            raise self.fail(path, "true or false", value)
        return value

    def string_list(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip()
                                                  for v in value):
            raise self.fail(path, "a list of names", data.get(key))
        return tuple(v.strip() for v in value)


MAX_NAME_LENGTH = 100


def _check_name(r: _Reader, name: Any, path: str, what: str) -> None:
    """Names end up in tables, tags and plan ids: printable text of a sensible length."""
    if (not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME_LENGTH
            or not name.isprintable()):
        raise r.fail(path, f"a non-empty {what}: printable text of at most {MAX_NAME_LENGTH} "
                     "characters", name)


def parse_job(data: Any, origin: str = "<job>", now: dt.datetime | None = None) -> JobSpec:
    """Validate the loaded YAML ``data`` of a job file; ``now`` anchors relative deadlines."""
    now = now or dt.datetime.now(dt.UTC)
    r = _Reader(origin)
    top = r.mapping(data, "", _TOP_KEYS)
    name = top.get("name")
    _check_name(r, name, "name", "job name")
    mode = r.choice(top, "mode", "mode", MODES, "single")
    constraints = _constraints(r, top.get("constraints"))
    assumptions = _assumptions(r, top.get("assumptions"))

    if mode == "experiments":
        if "model" in top or "flops" in top:
            raise r.fail("model", "no top-level model/flops in experiments mode (put them "
                         "under experiments[])")
        items = top.get("experiments")
        if not isinstance(items, list) or not items:
            raise r.fail("experiments", "a non-empty list of runs", items)
        if len(items) > MAX_RUNS:
            raise r.fail("experiments", f"at most {MAX_RUNS:,} runs", f"{len(items):,} runs")
        runs: list[RunSpec] = []
        for i, item in enumerate(items):
            path = f"experiments[{i}]"
            entry = r.mapping(item, path, _RUN_KEYS)
            count = r.number(entry, "count", f"{path}.count", "count", integer=True) or 1
            if len(runs) + count > MAX_RUNS:
                raise r.fail(f"{path}.count", f"at most {MAX_RUNS:,} runs in all (counts "
                             "included)", entry.get("count"))
            run = _run(r, entry, top, path, now, default_name=f"{name}-{i + 1}")
            runs.extend(run if count == 1 else
                        replace(run, name=f"{run.name}-{k + 1}") for k in range(int(count)))
    else:
        if "experiments" in top:
            raise r.fail("experiments", f"no experiments list in {mode} mode "
                         "(set mode: experiments)")
        runs = [_run(r, top, {}, "", now, default_name=str(name))]
    names = [run.name for run in runs]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise r.fail("experiments", "unique run names", duplicate)
    return JobSpec(name=str(name), mode=mode, runs=tuple(runs), constraints=constraints,
                   assumptions=assumptions, source=origin)


def _run(r: _Reader, entry: Mapping[str, Any], defaults: Mapping[str, Any], path: str,
         now: dt.datetime, default_name: str) -> RunSpec:
    def field_path(key: str) -> str:
        return f"{path}.{key}" if path else key

    def pick(key: str) -> Any:
        return entry[key] if key in entry else defaults.get(key)

    model = r.mapping(pick("model"), field_path("model"), _MODEL_KEYS)
    parameters = r.number(model, "parameters", field_path("model.parameters"),
                          "model.parameters")
    tokens = r.number(model, "tokens", field_path("model.tokens"), "model.tokens")
    seq = r.number(model, "sequence_length", field_path("model.sequence_length"),
                   "model.sequence_length", integer=True)
    layers = r.number(model, "layers", field_path("model.layers"), "model.layers",
                      integer=True)
    hidden = r.number(model, "hidden_size", field_path("model.hidden_size"),
                      "model.hidden_size", integer=True)
    activated = r.number(model, "activated_parameters",
                         field_path("model.activated_parameters"),
                         "model.activated_parameters")
    if activated is not None and parameters is not None and activated > parameters:
        raise r.fail(field_path("model.activated_parameters"),
                     "at most model.parameters (the parameters each token passes through)",
                     model["activated_parameters"])
    experts = r.number(model, "experts", field_path("model.experts"), "model.experts",
                       integer=True)
    per_token = r.number(model, "experts_per_token", field_path("model.experts_per_token"),
                         "model.experts_per_token", integer=True)
    expert_hidden = r.number(model, "expert_hidden_size",
                             field_path("model.expert_hidden_size"),
                             "model.expert_hidden_size", integer=True)
    if (per_token is not None or expert_hidden is not None) and experts is None:
        key = "experts_per_token" if per_token is not None else "expert_hidden_size"
        raise r.fail(field_path("model.experts"), f"the number of experts (model.{key} is "
                     "given, so the model is a mixture of experts)")
    if experts is not None and per_token is not None and per_token > experts:
        raise r.fail(field_path("model.experts_per_token"),
                     f"at most model.experts ({int(experts)})", model["experts_per_token"])
    if experts is not None and parameters is None:
        raise r.fail(field_path("model.parameters"), "the total parameter count (all "
                     "experts), needed with model.experts")
    batch = r.number({"b": pick("batch_tokens")}, "b", field_path("batch_tokens"),
                     "batch_tokens")
    flops = r.number({"flops": pick("flops")}, "flops", field_path("flops"), "flops")
    flops_given = flops is not None
    if flops is None:
        if parameters is None or tokens is None:
            missing = "model.parameters" if parameters is None else "model.tokens"
            raise r.fail(field_path(missing), "a positive number (or give flops: directly)")
        flops = 6.0 * parameters * tokens  # replaced by the model FLOPs below

    if isinstance(pick("memory"), Mapping) and "activation_headroom" in pick("memory"):
        # Left over from the old model, where it only changed the "Needs N GiB" line:
        # memory per GPU is now modelled per layout, activations included.
        raise r.fail(field_path("memory.activation_headroom"),
                     "no such field (removed: activations are modelled per layout; "
                     "delete it)")
    memory = r.mapping(pick("memory"), field_path("memory"), _MEMORY_KEYS)
    bpp = r.number(memory, "bytes_per_parameter", field_path("memory.bytes_per_parameter"),
                   "memory.bytes_per_parameter")
    min_mem = r.number(memory, "min_gpu_memory_gib", field_path("memory.min_gpu_memory_gib"),
                       "memory.min_gpu_memory_gib")
    margin = r.number(memory, "margin", field_path("memory.margin"), "memory.margin")
    utilization = r.number({"u": pick("utilization")}, "u", field_path("utilization"),
                           "utilization")
    precision = r.choice({"p": pick("precision")} if pick("precision") is not None else {},
                         "p", field_path("precision"), PRECISIONS, "bf16")
    stack = r.choice({"s": pick("stack")} if pick("stack") is not None else {},
                     "s", field_path("stack"), STACKS, DEFAULT_STACK)

    confidence = r.number({"c": pick("deadline_confidence")}, "c",
                          field_path("deadline_confidence"), "deadline_confidence")

    raw_deadline = pick("deadline")
    if raw_deadline is None:
        raise r.fail(field_path("deadline"), "a deadline like 36h, 30d or 2026-12-31")
    hours = parse_deadline(raw_deadline, now)
    if hours is None or not math.isfinite(hours):
        raise r.fail(field_path("deadline"), "a duration (90m, 36h, 30d, 2w) or an ISO "
                     "date/time", raw_deadline)
    if hours <= 0:
        raise r.fail(field_path("deadline"), "a deadline in the future (now is "
                     f"{now.isoformat(timespec='minutes')})", raw_deadline)
    if hours > LIMITS["deadline_hours"][1]:
        raise r.fail(field_path("deadline"), "a deadline within ten years", raw_deadline)
    if hours < LIMITS["deadline_hours"][0]:
        raise r.fail(field_path("deadline"), "a deadline at least a minute away", raw_deadline)

    run_name = entry.get("name", default_name) if path else default_name
    _check_name(r, run_name, field_path("name"), "run name")
    run = RunSpec(
        name=run_name, flops=flops, deadline_hours=hours, precision=precision,
        parameters=parameters, tokens=tokens,
        sequence_length=int(seq) if seq else DEFAULT_SEQUENCE_LENGTH,
        layers=int(layers) if layers else None, hidden_size=int(hidden) if hidden else None,
        activated_parameters=activated, batch_tokens=batch, stack=stack,
        experts=int(experts) if experts else None,
        experts_per_token=int(per_token) if per_token else None,
        expert_hidden_size=int(expert_hidden) if expert_hidden else None,
        utilization=utilization,
        bytes_per_parameter=bpp if bpp is not None else DEFAULT_BYTES_PER_PARAMETER,
        min_gpu_memory_gib=min_mem,
        deadline_confidence=confidence,
        memory_margin=margin if margin is not None else DEFAULT_MEMORY_MARGIN,
    )
    if not flops_given:
        # Model FLOPs: forward + backward of the activated parameters (6 N, Kaplan et
        # al. 2020) plus attention (12 L h s per token, PaLM Appendix B): the definition
        # MFU uses too (ModelShape.flops_per_token).
        flops = float(tokens) * run.shape.flops_per_token
        if flops > LIMITS["flops"][1]:
            raise r.fail(field_path("model"), "model FLOPs (6 x activated parameters + "
                         f"attention, x tokens) at most {_num(LIMITS['flops'][1])} FLOPs",
                         f"{flops:.3g}")
        run = replace(run, flops=flops)
    return run


def _constraints(r: _Reader, raw: Any) -> Constraints:
    data = r.mapping(raw, "constraints", _CONSTRAINT_KEYS)
    names = r.string_list(data, "gpus", "constraints.gpus")
    gpus: list[str] = []
    for gpu_name in names:
        matches = resolve_gpu_filter(gpu_name)
        if not matches:
            raise InputError(r.origin, "constraints.gpus", "expected " + unknown_name_message(
                "a GPU name or alias listed by `gpucost gpus`", gpu_name, gpu_specs()))
        gpus.extend(m for m in matches if m not in gpus)
    vendors = tuple(v.strip().lower() for v in r.string_list(data, "vendors",
                                                             "constraints.vendors"))
    for vendor in vendors:
        if vendor not in VENDORS:
            raise InputError(r.origin, "constraints.vendors",
                             f"GPU vendors among {', '.join(VENDORS)}, got {quote(vendor)}")
    max_instances = r.number(data, "max_instances", "constraints.max_instances",
                             "constraints.max_instances", integer=True)
    max_gpus = r.number(data, "max_gpus", "constraints.max_gpus", "constraints.max_gpus",
                        integer=True)
    return Constraints(
        providers=tuple(p.lower() for p in r.string_list(data, "providers",
                                                         "constraints.providers")),
        regions=r.string_list(data, "regions", "constraints.regions"),
        gpus=tuple(gpus),
        spot=r.choice(data, "spot", "constraints.spot", SPOT_POLICIES, "never"),
        max_instances=int(max_instances) if max_instances else DEFAULT_MAX_INSTANCES,
        max_gpus=int(max_gpus) if max_gpus else None,
        budget_usd=r.number(data, "budget_usd", "constraints.budget_usd",
                            "constraints.budget_usd"),
        vendors=tuple(dict.fromkeys(vendors)),
        launchable=r.boolean(data, "launchable", "constraints.launchable"),
        min_reliability=_share(r, data, "min_reliability"),
    )


def _share(r: _Reader, data: Mapping[str, Any], key: str) -> float | None:
    """A share from 0 to 1 (``constraints.min_reliability``), or None when absent."""
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or not 0 <= value <= 1:
        raise InputError(r.origin, f"constraints.{key}",
                         f"a share from 0 to 1 (0.98 = up 98% of the time), got "
                         f"{quote(str(value))}")
    return float(value)


def _assumptions(r: _Reader, raw: Any) -> Assumptions:
    data = r.mapping(raw, "assumptions", set(ASSUMPTION_KEYS))
    values = {}
    for key in ASSUMPTION_KEYS:
        value = r.number(data, key, f"assumptions.{key}", f"assumptions.{key}")
        if value is not None:
            values[key] = value
    return Assumptions(**values)


def load_job(path: str | Path, now: dt.datetime | None = None) -> JobSpec:
    """Read and validate a job file."""
    data = load_yaml(path, "job file")
    if data is None:
        raise InputError(str(path), "file", "a job file with fields (name, model or flops, "
                         "deadline, ...); this one is empty")
    return parse_job(data, str(path), now)

"""Parse and validate a job file into a :class:`~gpucost.job.spec.JobSpec`.

Every error is an :class:`~gpucost.errors.InputError` naming the file, the field path
(``constraints.max_instances``, ``experiments[2].deadline``) and what was expected.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from gpucost.catalog.gpus import PRECISIONS
from gpucost.catalog.query import resolve_gpu_names
from gpucost.errors import InputError
from gpucost.files import load_yaml
from gpucost.job.deadline import parse_deadline
from gpucost.job.spec import (
    DEFAULT_ACTIVATION_HEADROOM,
    DEFAULT_BYTES_PER_PARAMETER,
    DEFAULT_MAX_INSTANCES,
    DEFAULT_SEQUENCE_LENGTH,
    DEFAULT_STACK,
    MODES,
    SPOT_POLICIES,
    STACKS,
    Assumptions,
    Constraints,
    JobSpec,
    RunSpec,
)

_TOP_KEYS = {"name", "model", "flops", "precision", "utilization", "memory", "deadline", "mode",
             "constraints", "assumptions", "experiments", "batch_tokens", "stack"}
_RUN_KEYS = {"name", "model", "flops", "precision", "utilization", "memory", "deadline", "count",
             "batch_tokens", "stack"}
_MODEL_KEYS = {"parameters", "tokens", "sequence_length", "layers", "hidden_size",
               "activated_parameters"}
_MEMORY_KEYS = {"bytes_per_parameter", "min_gpu_memory_gib", "activation_headroom"}
_CONSTRAINT_KEYS = {"providers", "regions", "gpus", "spot", "max_instances", "max_gpus",
                    "budget_usd"}
# Each assumption and the range a plausible value lies in.
_ASSUMPTION_RANGES: dict[str, tuple[float, float]] = {
    "failures_per_gpu_hour": (0.0, 0.01),
    "checkpoint_interval_hours": (0.0, 24.0),
    "restart_hours": (0.0, 24.0),
    "housekeeping": (0.0, 1.0),
    "startup_hours": (0.0, 48.0),
    "spot_interruptions_per_instance_hour": (0.0, 1.0),
    "spot_restart_hours": (0.0, 24.0),
}
_ASSUMPTION_KEYS = set(_ASSUMPTION_RANGES)


class _Reader:
    """Field access with errors that name the file and the field path."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, path: str, expected: str, value: Any = ...) -> InputError:
        got = "" if value is ... else f", got {value!r}"
        return InputError(self.origin, path, f"expected {expected}{got}")

    def mapping(self, value: Any, path: str, allowed: set[str]) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(path or "top level", "a mapping of fields", value)
        for key in value:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                raise self.fail(where, f"a known field ({', '.join(sorted(allowed))})")
        return value

    def number(self, data: Mapping[str, Any], key: str, path: str, *, minimum: float = 0.0,
               inclusive: bool = False, maximum: float | None = None,
               integer: bool = False) -> float | None:
        if key not in data or data[key] is None:
            return None
        value = data[key]
        if isinstance(value, str):  # YAML reads 7e9 (no dot) as a string
            try:
                value = float(value)
            except ValueError:
                raise self.fail(path, "a number", data[key]) from None
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if not is_number or not math.isfinite(value):
            raise self.fail(path, "a number", data[key])
        low_ok = value >= minimum if inclusive else value > minimum
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        if not low_ok or (maximum is not None and value > maximum):
            span = f"{bound} and <= {maximum:g}" if maximum is not None else bound
            raise self.fail(path, f"a number {span}", data[key])
        if integer and value != int(value):
            raise self.fail(path, "a whole number", data[key])
        return int(value) if integer else float(value)

    def choice(self, data: Mapping[str, Any], key: str, path: str, options: tuple[str, ...],
               default: str) -> str:
        value = data.get(key, default)
        if value not in options:
            raise self.fail(path, f"one of {', '.join(options)}", value)
        return str(value)

    def string_list(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        value = data.get(key) or []
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(path, "a list of names", data.get(key))
        return tuple(value)


def parse_job(data: Any, origin: str = "<job>", now: dt.datetime | None = None) -> JobSpec:
    """Validate the loaded YAML ``data`` of a job file; ``now`` anchors relative deadlines."""
    now = now or dt.datetime.now(dt.UTC)
    r = _Reader(origin)
    top = r.mapping(data, "", _TOP_KEYS)
    name = top.get("name")
    if not isinstance(name, str) or not name.strip():
        raise r.fail("name", "a non-empty job name", name)
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
        runs: list[RunSpec] = []
        for i, item in enumerate(items):
            path = f"experiments[{i}]"
            entry = r.mapping(item, path, _RUN_KEYS)
            count = r.number(entry, "count", f"{path}.count", integer=True) or 1
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
    parameters = r.number(model, "parameters", field_path("model.parameters"))
    tokens = r.number(model, "tokens", field_path("model.tokens"))
    seq = r.number(model, "sequence_length", field_path("model.sequence_length"), integer=True,
                   maximum=10_000_000)
    layers = r.number(model, "layers", field_path("model.layers"), integer=True,
                      maximum=10_000)
    hidden = r.number(model, "hidden_size", field_path("model.hidden_size"), integer=True,
                      maximum=1_000_000)
    activated = r.number(model, "activated_parameters",
                         field_path("model.activated_parameters"))
    if activated is not None and parameters is not None and activated > parameters:
        raise r.fail(field_path("model.activated_parameters"),
                     "at most model.parameters (the parameters each token passes through)",
                     model["activated_parameters"])
    batch = r.number({"b": pick("batch_tokens")}, "b", field_path("batch_tokens"),
                     maximum=1e9)
    flops = r.number({"flops": pick("flops")}, "flops", field_path("flops"))
    if flops is None:
        if parameters is None or tokens is None:
            missing = "model.parameters" if parameters is None else "model.tokens"
            raise r.fail(field_path(missing), "a positive number (or give flops: directly)")
        flops = 6.0 * parameters * tokens  # forward + backward, Kaplan et al. 2020

    memory = r.mapping(pick("memory"), field_path("memory"), _MEMORY_KEYS)
    bpp = r.number(memory, "bytes_per_parameter", field_path("memory.bytes_per_parameter"))
    min_mem = r.number(memory, "min_gpu_memory_gib", field_path("memory.min_gpu_memory_gib"))
    headroom = r.number(memory, "activation_headroom", field_path("memory.activation_headroom"),
                        inclusive=True)
    utilization = r.number({"u": pick("utilization")}, "u", field_path("utilization"),
                           maximum=1.0)
    precision = r.choice({"p": pick("precision")} if pick("precision") is not None else {},
                         "p", field_path("precision"), PRECISIONS, "bf16")
    stack = r.choice({"s": pick("stack")} if pick("stack") is not None else {},
                     "s", field_path("stack"), STACKS, DEFAULT_STACK)

    raw_deadline = pick("deadline")
    if raw_deadline is None:
        raise r.fail(field_path("deadline"), "a deadline like 36h, 30d or 2026-12-31")
    hours = parse_deadline(raw_deadline, now)
    if hours is None:
        raise r.fail(field_path("deadline"), "a duration (90m, 36h, 30d, 2w) or an ISO "
                     "date/time", raw_deadline)
    if hours <= 0:
        raise r.fail(field_path("deadline"), "a deadline in the future", raw_deadline)

    run_name = entry.get("name", default_name) if path else default_name
    if not isinstance(run_name, str) or not run_name:
        raise r.fail(field_path("name"), "a non-empty run name", run_name)
    return RunSpec(
        name=run_name, flops=flops, deadline_hours=hours, precision=precision,
        parameters=parameters, tokens=tokens,
        sequence_length=int(seq) if seq else DEFAULT_SEQUENCE_LENGTH,
        layers=int(layers) if layers else None, hidden_size=int(hidden) if hidden else None,
        activated_parameters=activated, batch_tokens=batch, stack=stack,
        utilization=utilization,
        bytes_per_parameter=bpp if bpp is not None else DEFAULT_BYTES_PER_PARAMETER,
        min_gpu_memory_gib=min_mem,
        activation_headroom=headroom if headroom is not None else DEFAULT_ACTIVATION_HEADROOM,
    )


def _constraints(r: _Reader, raw: Any) -> Constraints:
    data = r.mapping(raw, "constraints", _CONSTRAINT_KEYS)
    names = r.string_list(data, "gpus", "constraints.gpus")
    try:
        gpus = resolve_gpu_names(names, "constraints.gpus")
    except InputError as exc:
        raise r.fail("constraints.gpus", "GPU names or aliases listed by `gpucost gpus`",
                     exc.field) from None
    max_instances = r.number(data, "max_instances", "constraints.max_instances", integer=True)
    max_gpus = r.number(data, "max_gpus", "constraints.max_gpus", integer=True)
    return Constraints(
        providers=tuple(p.lower() for p in r.string_list(data, "providers",
                                                         "constraints.providers")),
        regions=r.string_list(data, "regions", "constraints.regions"),
        gpus=tuple(gpus),
        spot=r.choice(data, "spot", "constraints.spot", SPOT_POLICIES, "never"),
        max_instances=int(max_instances) if max_instances else DEFAULT_MAX_INSTANCES,
        max_gpus=int(max_gpus) if max_gpus else None,
        budget_usd=r.number(data, "budget_usd", "constraints.budget_usd"),
    )


def _assumptions(r: _Reader, raw: Any) -> Assumptions:
    data = r.mapping(raw, "assumptions", _ASSUMPTION_KEYS)
    values = {}
    for key, (low, high) in _ASSUMPTION_RANGES.items():
        value = r.number(data, key, f"assumptions.{key}", minimum=low, inclusive=True,
                         maximum=high)
        if value is not None:
            values[key] = value
    return Assumptions(**values)


def load_job(path: str | Path, now: dt.datetime | None = None) -> JobSpec:
    """Read and validate a job file."""
    return parse_job(load_yaml(path, "job file"), str(path), now)

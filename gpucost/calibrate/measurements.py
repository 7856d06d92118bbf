"""A team's measured runs, from CSV, YAML, JSON lines, W&B / MLflow exports or logs.

Each measurement says what ran and how fast:

===========================  ==========================================================
model shape                  ``job`` (a job file: its first run's shape, stack,
                             precision), or ``parameters`` with optional ``layers``,
                             ``hidden_size``, ``activated_parameters``
sequence_length, batch       ``sequence_length``; global batch as ``batch_tokens`` or
                             ``global_batch`` (sequences)
stack, precision             as in a job file (default pytorch, bf16)
hardware                     ``instance_type`` (looked up in the catalog) or ``gpu``
                             (name or alias) with ``gpus_per_instance`` (default
                             min(gpus, 8)); ``instances`` or ``gpus`` (total)
throughput (one of)          ``tokens_per_s`` (whole cluster), ``tokens_per_s_per_gpu``,
                             ``step_time_s`` (with the global batch), ``samples_per_s``
                             (x sequence_length), or ``log`` (a trainer log file)
===========================  ==========================================================

Column names of W&B and MLflow CSV exports are matched after dropping their prefixes
(``config.``, ``params.``, ``metrics.``, ``summary.``, ``train/``...) and through common
aliases (``world_size``, ``num_nodes``, ``seq_len``, ``global_batch_size``, ``tps``,
``train_samples_per_second``...). W&B rows whose ``State`` is crashed, failed or killed
are skipped.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gpucost.calibrate.logs import LogThroughput, looks_like_log, parse_log_text, read_log
from gpucost.errors import InputError, quote
from gpucost.files import parse_yaml, read_text

FIELDS = {
    "name": ("name", "run", "run_name", "run_id", "display_name"),
    "job": ("job", "job_file"),
    "parameters": ("parameters", "params", "n_params", "num_params", "model_parameters",
                   "model_params", "num_parameters"),
    "activated_parameters": ("activated_parameters", "active_parameters"),
    "layers": ("layers", "num_layers", "n_layers", "n_layer", "num_hidden_layers"),
    "hidden_size": ("hidden_size", "d_model", "n_embd", "hidden_dim"),
    "sequence_length": ("sequence_length", "seq_len", "seq_length", "max_seq_len",
                        "max_seq_length", "block_size", "context_length"),
    "batch_tokens": ("batch_tokens", "global_batch_tokens", "tokens_per_step"),
    "global_batch": ("global_batch", "global_batch_size", "global_batch_sequences"),
    "stack": ("stack",),
    "precision": ("precision", "dtype", "mixed_precision"),
    "instance_type": ("instance_type", "machine_type", "vm_size"),
    "gpu": ("gpu", "gpu_type", "gpu_name", "accelerator"),
    "instances": ("instances", "nodes", "num_nodes", "nnodes", "instance_count"),
    "gpus": ("gpus", "num_gpus", "world_size", "n_gpus", "gpu_count_total"),
    "gpus_per_instance": ("gpus_per_instance", "gpus_per_node", "nproc_per_node"),
    "tokens_per_s": ("tokens_per_s", "tokens_per_second", "tokens_per_sec",
                     "throughput_tokens_per_s"),
    "tokens_per_s_per_gpu": ("tokens_per_s_per_gpu", "tps", "tokens_per_second_per_gpu",
                             "tokens_per_sec_per_gpu", "tokens_per_s_per_device"),
    "step_time_s": ("step_time_s", "step_time", "elapsed_time_per_step", "iteration_time_s",
                    "train_step_timing", "train_step_timing_in_s"),
    "samples_per_s": ("samples_per_s", "train_samples_per_second", "samples_per_second"),
    "log": ("log", "log_file"),
    "state": ("state", "status"),
}
_ALIAS = {alias: key for key, aliases in FIELDS.items() for alias in aliases}
# Export prefixes (config., params., metrics., summary/, train/, model., ...): any leading
# "<word>." or "<word>/" is dropped until a known name is left.
_PREFIX = re.compile(r"^[a-z0-9_]+[./]")
_SKIP_STATES = {"crashed", "failed", "killed"}
_NUMERIC = {"parameters", "activated_parameters", "layers", "hidden_size", "sequence_length",
            "batch_tokens", "global_batch", "instances", "gpus", "gpus_per_instance",
            "tokens_per_s", "tokens_per_s_per_gpu", "step_time_s", "samples_per_s"}
_MAX_RECORDS = 10_000


@dataclass(frozen=True)
class Record:
    """One raw measurement: canonical keys, where it came from."""

    values: dict[str, Any]
    where: str
    base: Path  # folder relative paths (job, log) are resolved against


def _alias(name: str) -> tuple[str, int] | None:
    key = re.sub(r"[\s\-]+", "_", str(name).strip().lower())
    for _ in range(3):
        if key in _ALIAS:
            return _ALIAS[key], FIELDS[_ALIAS[key]].index(key)
        key = _PREFIX.sub("", key)
    return None


def canonical_key(name: str) -> str | None:
    """The measurement field a column name means (None: not one)."""
    found = _alias(name)
    return found[0] if found else None


def _normalise(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rank: dict[str, int] = {}
    for name, value in raw.items():
        found = _alias(name)
        if found is None or value is None or (isinstance(value, str) and not value.strip()):
            continue
        key, priority = found
        if key in _NUMERIC:
            value = _number(value, where, str(name))
        if key in out and out[key] != value:
            if key in _NUMERIC:
                raise InputError(where, str(name), f"one value for {key} (another column "
                                 f"gives {quote(out[key])})")
            if priority > rank[key]:  # text (a name): the more specific column wins
                continue
        out[key] = value
        rank[key] = priority
    return out


def _number(value: Any, where: str, name: str) -> float:
    if isinstance(value, bool):
        raise InputError(where, name, f"a number, not {quote(value)}")
    try:
        number = float(str(value).replace(",", "").replace("_", "")) \
            if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise InputError(where, name, f"a number, not {quote(value)}") from None
    if not math.isfinite(number) or number <= 0:
        raise InputError(where, name, f"a positive finite number, not {quote(value)}")
    return number


def read_records(path: str | Path, defaults: Mapping[str, Any] | None = None) -> list[Record]:
    """The measurements in one file (CSV, YAML, JSON, JSON lines, or a trainer log);
    ``defaults`` fill keys a record lacks (e.g. the GPU and shape for a log)."""
    path = Path(path)
    where = str(path)
    base = path.parent
    suffix = path.suffix.lower()
    defaults = dict(defaults or {})
    if suffix in (".log", ".out", ".txt", ".err"):
        return [Record({**_normalise(defaults, "defaults"), "log": str(path.resolve())},
                       where, base)]
    text = read_text(path, "measurements file")
    rows: list[tuple[Mapping[str, Any], str]] = []
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames:
            raise InputError(where, "header", "a CSV header naming the measurement columns")
        rows = [(row, f"{where}: row {i}") for i, row in enumerate(reader, start=2)]
    elif suffix in (".jsonl", ".ndjson"):
        for i, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(where, f"line {i}", f"one JSON object per line ({exc.msg})"
                                 ) from None
            rows.append((item, f"{where}: line {i}"))
    elif suffix in (".yaml", ".yml", ".json"):
        data = json.loads(text) if suffix == ".json" else parse_yaml(text, where)
        if isinstance(data, Mapping) and "measurements" in data:
            data = data["measurements"]
        if not isinstance(data, list):
            raise InputError(where, "measurements", "a list of measurements (or a mapping "
                             "with a 'measurements' list)")
        rows = [(item, f"{where}: measurements[{i}]") for i, item in enumerate(data)]
    elif looks_like_log(text):
        return [Record({**_normalise(defaults, "defaults"), "log": str(path.resolve())},
                       where, base)]
    else:
        raise InputError(where, "file", "measurements as .csv, .yaml, .json or .jsonl, or a "
                         "trainer log (.log, .txt)")
    if len(rows) > _MAX_RECORDS:
        raise InputError(where, "measurements", f"at most {_MAX_RECORDS:,} measurements")
    out = []
    for item, at in rows:
        if not isinstance(item, Mapping):
            raise InputError(at, "measurement", "a mapping of field: value")
        values = _normalise(item, at)
        if str(values.get("state", "")).lower() in _SKIP_STATES:
            continue
        out.append(Record({**_normalise(defaults, "defaults"), **values}, at, base))
    return out


def log_throughput(record: Record) -> LogThroughput:
    log = Path(record.values["log"])
    return read_log(log if log.is_absolute() else record.base / log)


__all__ = ["FIELDS", "Record", "canonical_key", "log_throughput", "parse_log_text",
           "read_records"]

"""Throughput from the lines trainers print, so a team can calibrate from a log file.

Formats (as the trainers print them; see tests/analysis/data/ for excerpts):

- **torchtitan** (``MetricsProcessor.log``): ``step: 10  loss:  7.8123  memory: 35.20GiB
  (37.05%)  tps: 6,012  tflops: 348.27  mfu: 35.21%``. ``tps`` is tokens per second
  *per GPU* (torchtitan divides by the non-data-parallel size as well, i.e. counts per
  device); ``mfu`` is torchtitan's own.
- **Hugging Face Trainer** (``speed_metrics`` at the end of ``train()``): the metrics
  dict ``{'train_runtime': 812.3, 'train_samples_per_second': 39.4, ...}`` or the
  ``***** train metrics *****`` block (``train_samples_per_second =     39.4``). Samples
  per second of the whole run over all processes; tokens = samples x sequence length
  (packed sequences: give ``sequence_length``).
- **Megatron-LM / Megatron-Core** (``training_log``): ``iteration  100/ 5000 | consumed
  samples: 51200 | elapsed time per iteration (ms): 8123.4 | throughput per GPU
  (TFLOP/s/GPU): 401.2 | learning rate: ... | global batch size:   512 | ...``. Tokens per
  second = global batch size x sequence length / iteration time.

The first :data:`WARMUP_LINES` step lines of torchtitan and Megatron logs are skipped
(compilation, allocator warm-up); the median of the rest is the measurement.
"""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from pathlib import Path

from gpucost.errors import InputError

WARMUP_LINES = 3
# Trainer logs run long; only matching lines are kept, but read at most this much.
MAX_LOG_BYTES = 256 * 1024 * 1024
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_NUM = r"([0-9][0-9,]*(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?)"

_TITAN = re.compile(rf"\bstep:\s*(\d+)\b.*?\btps:\s*{_NUM}(?:.*?\btflops:\s*{_NUM})?"
                    rf"(?:.*?\bmfu:\s*{_NUM}%)?")
_HF_DICT = re.compile(rf"['\"]train_samples_per_second['\"]\s*:\s*{_NUM}")
_HF_BLOCK = re.compile(rf"^\s*train_samples_per_second\s*=\s*{_NUM}\s*$")
_MEGATRON = re.compile(rf"\biteration\s+(\d+)\s*/\s*\d+\s*\|.*?elapsed time per iteration "
                       rf"\(ms\):\s*{_NUM}")
_MEGATRON_TFLOPS = re.compile(rf"throughput per GPU \(TFLOP/s/GPU\):\s*{_NUM}")
_MEGATRON_BATCH = re.compile(r"global batch size:\s*(\d+)")


@dataclass(frozen=True)
class LogThroughput:
    """What a log says: one of the throughput forms, and the trainer it came from."""

    trainer: str
    lines: int                              # step lines used (after warm-up)
    tokens_per_s_per_gpu: float | None = None
    samples_per_s: float | None = None      # of the whole cluster
    step_time_s: float | None = None
    global_batch: int | None = None         # sequences per step
    tflops_per_gpu: float | None = None     # as the trainer counts them
    mfu: float | None = None                # as the trainer counts it (0-1)


def _num(text: str) -> float:
    return float(text.replace(",", ""))


def _steady(values: list[float]) -> tuple[float, int]:
    kept = values[WARMUP_LINES:] if len(values) > WARMUP_LINES else values[-1:]
    return statistics.median(kept), len(kept)


def parse_log_text(text: str, where: str) -> LogThroughput:
    """The throughput in a trainer's log text; an :class:`InputError` if none is found."""
    titan: list[tuple[float, float | None, float | None]] = []
    hf: list[float] = []
    mega: list[tuple[float, float | None, int | None]] = []
    for raw in text.splitlines():
        line = _ANSI.sub("", raw)
        if (m := _TITAN.search(line)) and "validate" not in line[:m.start() + 20]:
            titan.append((_num(m.group(2)), _num(m.group(3)) if m.group(3) else None,
                          _num(m.group(4)) / 100 if m.group(4) else None))
        elif (m := _HF_DICT.search(line)) or (m := _HF_BLOCK.search(line)):
            hf.append(_num(m.group(1)))
        elif m := _MEGATRON.search(line):
            tf = _MEGATRON_TFLOPS.search(line)
            batch = _MEGATRON_BATCH.search(line)
            mega.append((_num(m.group(2)) / 1000.0, _num(tf.group(1)) if tf else None,
                         int(batch.group(1)) if batch else None))
    found = [name for name, rows in (("torchtitan", titan), ("hf-trainer", hf),
                                     ("megatron", mega)) if rows]
    if not found:
        raise InputError(where, "log", "a trainer log with throughput lines (torchtitan "
                         "'tps:', Hugging Face 'train_samples_per_second', Megatron "
                         "'elapsed time per iteration (ms)'); found none")
    if len(found) > 1:
        raise InputError(where, "log", "one trainer's log; found lines of "
                         + " and ".join(found))
    if titan:
        tps, used = _steady([t[0] for t in titan])
        tflops = [t[1] for t in titan[WARMUP_LINES:] or titan[-1:] if t[1] is not None]
        mfus = [t[2] for t in titan[WARMUP_LINES:] or titan[-1:] if t[2] is not None]
        return LogThroughput("torchtitan", used, tokens_per_s_per_gpu=tps,
                             tflops_per_gpu=statistics.median(tflops) if tflops else None,
                             mfu=statistics.median(mfus) if mfus else None)
    if hf:  # the final metrics: printed once (twice with the block); the last one counts
        return LogThroughput("hf-trainer", 1, samples_per_s=hf[-1])
    step, used = _steady([m[0] for m in mega])
    tflops = [m[1] for m in mega[WARMUP_LINES:] or mega[-1:] if m[1] is not None]
    batches = {m[2] for m in mega if m[2] is not None}
    if len(batches) > 1:  # batch-size ramp-up: keep the final batch size's lines
        final = mega[-1][2]
        step, used = _steady([m[0] for m in mega if m[2] == final])
        batches = {final}
    return LogThroughput("megatron", used, step_time_s=step,
                         global_batch=batches.pop() if batches else None,
                         tflops_per_gpu=statistics.median(tflops) if tflops else None)


def read_log(path: str | Path) -> LogThroughput:
    """Parse a trainer log file (text, at most :data:`MAX_LOG_BYTES`)."""
    try:
        with Path(path).open("rb") as fh:
            data = fh.read(MAX_LOG_BYTES + 1)
    except OSError as exc:
        raise InputError(str(path), "file", "a readable trainer log "
                         f"({exc.strerror or type(exc).__name__})") from None
    if len(data) > MAX_LOG_BYTES:
        raise InputError(str(path), "file", f"a log of at most {MAX_LOG_BYTES // 2**20} MiB "
                         "(cut it to the steady-state steps)")
    return parse_log_text(data.decode("utf-8", errors="replace"), str(path))


def looks_like_log(text: str) -> bool:
    """True when ``text`` has a line any trainer format matches."""
    for raw in text.splitlines():
        line = _ANSI.sub("", raw)
        if _TITAN.search(line) or _HF_DICT.search(line) or _HF_BLOCK.search(line) \
                or _MEGATRON.search(line):
            return True
    return False

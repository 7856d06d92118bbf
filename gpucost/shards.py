"""Which part of a divisible job one instance does: the ``[start, end)`` work range.

A ``divisible`` plan gives instances very different amounts of work (an 8-GPU H100
instance may do ten times what a 1-GPU one does), so equal shares would leave the slow
instances running long past the deadline. ``gpucost launch`` and ``gpucost export``
therefore give every instance its own range of the job's work, as fractions of the whole
proportional to the FLOPs the plan has that instance do:

- ``GPUCOST_WORK_START``, ``GPUCOST_WORK_END``: this instance's range, ``0 <= start <
  end <= 1``; the ranges of all the plan's instances tile ``[0, 1)`` without gaps or
  overlaps (neighbours get the very same boundary text);
- ``GPUCOST_SHARE`` / ``GPUCOST_SHARES``: the instance's number in the plan (0..N-1) and
  N, for logs and file names (not for splitting work: the shares are unequal).

:func:`shard_indices` turns the range into the indices of the job's shards (files,
batches) this instance should process, assuming shards of equal cost. It imports
nothing heavy, so it is cheap to call from the job itself::

    import gpucost
    for i in gpucost.shard_indices(len(files)):   # reads the two variables
        process(files[i])
"""

from __future__ import annotations

import math
import os

START_VARIABLE = "GPUCOST_WORK_START"
END_VARIABLE = "GPUCOST_WORK_END"


def work_range(environ: dict[str, str] | None = None) -> tuple[float, float]:
    """This instance's ``(start, end)`` from the environment ((0, 1) outside a plan)."""
    env = os.environ if environ is None else environ
    start = float(env.get(START_VARIABLE, "0"))
    end = float(env.get(END_VARIABLE, "1"))
    if not (0.0 <= start <= end <= 1.0):
        raise ValueError(f"{START_VARIABLE}={start!r} and {END_VARIABLE}={end!r}: expected "
                         "0 <= start <= end <= 1")
    return start, end


def shard_indices(count: int, start: float | None = None, end: float | None = None) -> range:
    """The shard indices ``[round(start x count), round(end x count))`` of ``count`` shards.

    Rounding both ends the same way means neighbouring instances (whose boundaries are
    equal) neither skip nor repeat a shard. ``start``/``end`` default to the environment
    (:func:`work_range`).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if start is None or end is None:
        env_start, env_end = work_range()
        start = env_start if start is None else start
        end = env_end if end is None else end
    return range(math.floor(start * count + 0.5), math.floor(end * count + 0.5))


def boundaries(shares: list[float]) -> list[str]:
    """``len(shares) + 1`` boundary texts of consecutive ranges of the given sizes, from
    "0" to "1" (the shares are normalised to sum to 1)."""
    total = sum(shares)
    if total <= 0 or any(s < 0 for s in shares):
        raise ValueError("shares must be >= 0 with a positive sum")
    out, acc = ["0"], 0.0
    for share in shares[:-1]:
        acc += share / total
        out.append(f"{min(acc, 1.0):.12g}")
    out.append("1")
    return out

"""One writer per snapshot folder: concurrent refreshes into the same ``--out`` take turns.

Two refreshes of different regions used to read the same previous snapshot, fetch, and
write in turn: the second write dropped the first one's fresh rows. Now each takes an
exclusive lock on ``<out>/.gpucost-refresh.lock`` (an OS file lock, released when the
process dies) for the read-merge-write step only; the fetch itself runs unlocked. A
second refresh says it is waiting, and gives up with a clear error after ``timeout``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from gpucost.errors import GpucostError

LOCK_NAME = ".gpucost-refresh.lock"
DEFAULT_LOCK_TIMEOUT_S = 300.0
POLL_S = 0.05


class SnapshotLockTimeout(GpucostError):
    """Another refresh held the snapshot folder's lock for too long."""

    exit_code = 1


def _try_lock(fh: IO[str]) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _unlock(fh: IO[str]) -> None:
    try:
        import fcntl
    except ImportError:
        import msvcrt

        msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
        return
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


@contextmanager
def snapshot_lock(out_dir: Path, echo: Callable[[str], None],
                  timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> Iterator[Path]:
    """Hold the exclusive lock of ``out_dir`` for the duration (waits up to ``timeout``)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOCK_NAME
    with open(path, "a+", encoding="utf-8") as fh:
        deadline = time.monotonic() + timeout
        told = False
        while not _try_lock(fh):
            if not told:
                echo(f"waiting for another gpucost refresh writing {out_dir} (lock {path}, "
                     f"up to {timeout:g}s)")
                told = True
            if time.monotonic() >= deadline:
                raise SnapshotLockTimeout(
                    f"{out_dir}: another gpucost refresh held {path} for more than "
                    f"{timeout:g}s; nothing written, try again when it has finished")
            time.sleep(POLL_S)
        try:
            yield path
        finally:
            _unlock(fh)

"""SIGINT and SIGTERM during a launch: stop creating, then clean up without being cut short.

While a launch creates instances, both signals raise :class:`LaunchInterrupted` in the
main thread (SIGTERM would otherwise kill the process with instances running and no
record). While the runner rolls back, :meth:`SignalGuard.hold` makes further signals only
say that the rollback is still running: a second Ctrl-C must not leave half a rollback.
Outside the main thread (signals cannot be handled there) the guard does nothing.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class LaunchInterrupted(BaseException):  # noqa: N818 - like KeyboardInterrupt
    """A signal arrived while the launch was creating instances."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


class SignalGuard:
    """Installed by :func:`signal_guard`; ``hold()`` defers signals during cleanup."""

    def __init__(self, echo: Callable[[str], None]) -> None:
        self.echo = echo
        self.holding = False
        self.pending: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.pending = signum
            self.echo(f"gpucost: {signal.Signals(signum).name} received: still cleaning up "
                      "what this launch created; please wait")
            return
        raise LaunchInterrupted(signum)

    @contextmanager
    def hold(self) -> Iterator[None]:
        previous, self.holding = self.holding, True
        try:
            yield
        finally:
            self.holding = previous


@contextmanager
def signal_guard(echo: Callable[[str], None]) -> Iterator[SignalGuard]:
    """Turn SIGINT/SIGTERM into :class:`LaunchInterrupted` for the duration."""
    guard = SignalGuard(echo)
    if threading.current_thread() is not threading.main_thread():
        yield guard
        return
    saved: dict[int, Any] = {s: signal.getsignal(s) for s in SIGNALS}
    for s in SIGNALS:
        signal.signal(s, guard.handle)
    try:
        yield guard
    finally:
        for s, handler in saved.items():
            signal.signal(s, handler)

"""Run a refresh: each provider through the registry, merged, written atomically, diffed.

Each provider gets a total deadline (``timeout``, default :data:`DEFAULT_TIMEOUT_S`, or
``$GPUCOST_REFRESH_TIMEOUT``): the adapter's own HTTP timeouts and retries are bounded by
it, and if it still has not answered by then its regions fail with "timed out" and keep
their old rows, marked stale. The read-merge-write step holds the snapshot folder's lock
(:mod:`gpucost.refresh.lock`), so concurrent refreshes into one folder never lose rows.
"""

from __future__ import annotations

import datetime as dt
import inspect
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from gpucost.catalog.schema import empty_offers
from gpucost.catalog.snapshot import (
    QUOTA_COLUMNS,
    SnapshotFile,
    find_snapshot_files,
    read_quotas,
    read_snapshot_file,
    user_snapshot_dir,
    write_quotas,
    write_snapshot,
)
from gpucost.errors import InputError, quote
from gpucost.formatting import redact_urls
from gpucost.providers import REGISTRY, FetchResult, ProviderUnavailable, get_provider
from gpucost.refresh.diff import SnapshotDiff, diff_snapshots
from gpucost.refresh.lock import DEFAULT_LOCK_TIMEOUT_S, snapshot_lock
from gpucost.refresh.merge import merge_with_previous

log = logging.getLogger("gpucost.refresh")
Echo = Callable[[str], None]

DEFAULT_TIMEOUT_S = 180.0
TIMEOUT_ENV = "GPUCOST_REFRESH_TIMEOUT"
MAX_TIMEOUT_S = 86400.0  # a day: longer is a typo (and nan/inf are never a deadline)


def default_timeout() -> float:
    """``$GPUCOST_REFRESH_TIMEOUT`` seconds if set (a positive number), else the default."""
    raw = os.environ.get(TIMEOUT_ENV)
    if not raw:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 < value <= MAX_TIMEOUT_S:  # also refuses nan and inf
        raise InputError(TIMEOUT_ENV, "value", f"a positive number of seconds, got "
                         f"{quote(raw)} (at most {MAX_TIMEOUT_S:g})")
    return value


@dataclass
class ProviderOutcome:
    """What happened to one provider in a refresh."""

    provider: str
    path: Path | None = None
    offers: int = 0
    failed_regions: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # the whole provider failed
    diff: SnapshotDiff | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed_regions


class Progress:
    """A per-provider progress line on a terminal; plain log lines otherwise."""

    def __init__(self, provider: str, total: int | None, echo: Echo, tty: bool) -> None:
        self.provider, self.total, self.echo, self.tty = provider, total, echo, tty
        self.done = self.failed = 0

    def __call__(self, region: str, reason: str | None) -> None:
        if reason is not None:
            reason = redact_urls(reason)
        self.done += 1
        self.failed += reason is not None
        if not self.tty:
            self.echo(f"{self.provider} {region}: " + (f"FAILED ({reason})" if reason else "ok"))
            return
        total = self.total or self.done
        filled = int(20 * self.done / max(total, 1))
        bar = "#" * filled + "." * (20 - filled)
        tail = f" ({self.failed} failed)" if self.failed else ""
        sys.stderr.write(f"\r{self.provider:<5} [{bar}] {self.done}/{total} regions{tail}  ")
        sys.stderr.flush()

    def finish(self) -> None:
        if self.tty and self.done:
            sys.stderr.write("\n")


def _previous(provider: str, out_dir: Path) -> tuple[SnapshotFile | None, pd.DataFrame]:
    """The newest earlier snapshot of ``provider``: in ``out_dir``, else shipped/user.
    An unreadable one raises :class:`InputError` (the caller fails that provider only)."""
    for source in (out_dir, None):
        if source is not None and not _has_snapshots(Path(source)):
            continue  # a new or empty out_dir: fall back to the default folders
        files = [f for f in find_snapshot_files(source) if f.provider == provider]
        if files:
            return files[0], read_snapshot_file(files[0].path)
    return None, empty_offers()


def _has_snapshots(folder: Path) -> bool:
    try:
        find_snapshot_files(folder)
    except InputError as exc:
        if exc.field == "--snapshot":  # missing, or no <provider>/<date>.csv inside
            return False
        raise
    return True


def utc_today() -> dt.date:
    """Today in UTC: snapshot names and ``as_of`` dates are UTC dates everywhere (a local
    date at UTC+14 is "in the future" to a reader at UTC-12)."""
    return dt.datetime.now(dt.UTC).date()


def _provider(name: str, options: dict, timeout: float) -> object:
    """The adapter, given the deadline if its constructor takes one (bounds its HTTP)."""
    from gpucost.plugins import import_class

    cls = import_class(REGISTRY[name]) if name in REGISTRY else None
    if cls is not None and "timeout" in inspect.signature(cls).parameters:
        options = {**options, "timeout": timeout}
    return get_provider(name, **options)


# Fetch threads left behind at their deadline; :func:`refresh` lets them end (their HTTP
# timeouts are bounded by the deadline) before returning, so that the interpreter never
# exits under a thread still inside an SDK call.
_ABANDONED: list[threading.Thread] = []


def _fetch_within(provider: object, regions: list[str] | None, progress: Progress,
                  timeout: float) -> FetchResult | None:
    """``provider.fetch`` with a total deadline; None when it has not finished by then.

    The fetch runs in a daemon thread: a call stuck past the deadline is left behind (the
    adapter's own timeouts end it soon after) and its late progress is not shown.
    """
    box: dict[str, object] = {}
    done = threading.Event()

    def report(region: str, reason: str | None) -> None:
        if not done.is_set():
            progress(region, reason)

    def work() -> None:
        try:
            box["result"] = provider.fetch(regions, report)  # type: ignore[attr-defined]
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="gpucost-refresh-fetch", daemon=True)
    thread.start()
    thread.join(timeout)
    done.set()
    if thread.is_alive():
        _ABANDONED.append(thread)
        return None
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["result"]  # type: ignore[return-value]
def _same_folder(snapshot: SnapshotFile, out_dir: Path) -> bool:
    return snapshot.path.resolve().is_relative_to(Path(out_dir).resolve())


def _only_requested(previous: pd.DataFrame, regions: list[str], out_dir: Path) -> pd.DataFrame:
    """The rows of another folder's snapshot a region-scoped refresh may carry over.

    Into the user folder (what plans read by default), all of them: its new file must not
    hide the shipped regions this refresh did not fetch. Into any other folder only the
    requested regions (standing in for one that fails): that folder holds what was fetched.
    """
    if Path(out_dir).resolve() == user_snapshot_dir().resolve():
        return previous
    return previous[previous["region"].isin(regions)]


def _write_interruptions(result: FetchResult, previous_file: SnapshotFile | None,
                         out_dir: Path, name: str, today: dt.date, echo: Echo) -> None:
    """The interruption bands beside the new snapshot: the fetched ones, or, when they
    could not be read, the previous snapshot's (so a failed read loses no data)."""
    from gpucost.catalog.interruptions import (
        interruptions_path,
        read_interruptions,
        write_interruptions,
    )

    table = result.interruptions
    if table is None or not len(table):
        if previous_file is None or not previous_file.dated:
            return
        old_path = interruptions_path(previous_file.path, previous_file.date.isoformat())
        table = read_interruptions(old_path)
        if not len(table):
            return
        if name == "aws":
            echo(f"{name}: spot interruption data not refreshed; kept the "
                 f"{previous_file.date.isoformat()} bands")
    write_interruptions(table, out_dir, name, today)


def refresh_provider(name: str, regions: list[str] | None, out_dir: Path, today: dt.date,
                     echo: Echo, tty: bool = False,
                     provider_options: dict | None = None,
                     timeout: float = DEFAULT_TIMEOUT_S,
                     lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> ProviderOutcome:
    """Fetch one provider and write its dated snapshot; never raises for cloud failures."""
    outcome = ProviderOutcome(name)
    progress = Progress(name, len(regions) if regions else None, echo, tty)
    started = time.monotonic()
    echo(f"{name}: fetching {', '.join(regions) if regions else 'all regions'} "
         f"(deadline {timeout:g}s)")
    try:
        provider = _provider(name, provider_options or {}, timeout)
        result = _fetch_within(provider, regions, progress, timeout)
    except ProviderUnavailable as exc:
        outcome.error = redact_urls(str(exc))
        return outcome
    except Exception as exc:  # network down, SDK error: report, keep the old snapshot
        outcome.error = redact_urls(f"{name}: {type(exc).__name__}: {exc}")
        log.debug("refresh of %s failed", name, exc_info=True)
        return outcome
    finally:
        progress.finish()
    timed_out = f"timed out after {time.monotonic() - started:.0f}s (deadline {timeout:g}s)"
    # Merge on the newest file under the folder's lock: another refresh may have written
    # since this one started.
    with snapshot_lock(out_dir, echo, lock_timeout):
        try:
            previous_file, previous = _previous(name, out_dir)
        except InputError as exc:  # this provider only: the others still refresh
            outcome.error = (f"{name}: the previous snapshot cannot be read ({exc}); fix or "
                             "move it away, then refresh again")
            return outcome
        if regions and previous_file is not None and not _same_folder(previous_file, out_dir):
            previous = _only_requested(previous, regions, out_dir)
        if result is None:
            stale = regions or sorted(set(previous.loc[previous["provider"] == name, "region"]))
            for region in stale:
                echo(f"{name} {region}: FAILED ({timed_out})")
            result = FetchResult(empty_offers(), {r: timed_out for r in stale})
            if not stale:
                outcome.error = f"{name}: {timed_out}; no previous snapshot to keep"
                return outcome
        outcome.failed_regions = {r: redact_urls(v) for r, v in result.failed_regions.items()}
        if result.offers.empty:
            # Nothing fetched: a new dated file would only re-date the old rows (plans
            # would print today's date over 2023 prices). The previous file stays newest.
            reasons = sorted(set(outcome.failed_regions.values()))
            why = "; ".join(reasons[:3]) if reasons else "the refresh returned no offers"
            outcome.error = f"{name}: fetched no offers ({why}); no new file written"
            return outcome
        attempted = set(regions) if regions else None
        merged = merge_with_previous(result.offers, previous, set(result.failed_regions),
                                     attempted, name)
        try:
            outcome.path = write_snapshot(merged, out_dir, name, today)
            outcome.offers = len(merged)
            if result.quotas is not None and len(result.quotas):
                quotas = result.quotas[QUOTA_COLUMNS]
                if previous_file is not None and result.failed_regions:
                    old = read_quotas(previous_file)
                    quotas = pd.concat([quotas,
                                        old[old["region"].isin(set(result.failed_regions))]])
                write_quotas(quotas, out_dir, name, today)
            _write_interruptions(result, previous_file, out_dir, name, today, echo)
            if result.capacity_blocks is not None and len(result.capacity_blocks):
                from gpucost.providers.aws.capacity_blocks import write_blocks

                write_blocks(result.capacity_blocks, out_dir, name, today)
                echo(f"{name}: {len(result.capacity_blocks)} capacity block offering(s)")
            if result.placement_scores is not None and len(result.placement_scores):
                from gpucost.providers.aws.placement_scores import write_scores

                write_scores(result.placement_scores, out_dir, name, today)
        except OSError as exc:  # a full disk, a folder gone read-only: atomic writes
            # leave the earlier files as they were
            outcome.path, outcome.offers = None, 0
            outcome.error = (f"{name}: cannot write {out_dir / name} "
                             f"({exc.strerror or str(exc) or type(exc).__name__})")
            return outcome
    outcome.diff = diff_snapshots(previous, merged)
    return outcome


def refresh(providers: list[str], regions: list[str] | None, out_dir: Path,
            echo: Echo = print, tty: bool = False, today: dt.date | None = None,
            provider_options: dict[str, dict] | None = None,
            timeout: float | None = None,
            lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S) -> list[ProviderOutcome]:
    """Refresh each provider in turn; a failing one never stops the others.

    ``timeout``: seconds each provider may take in all (default: :func:`default_timeout`).
    """
    today = today or utc_today()
    timeout = default_timeout() if timeout is None else timeout
    with sigterm_as_exit():
        outcomes = [refresh_provider(p, regions, out_dir, today, echo, tty,
                                     (provider_options or {}).get(p), timeout, lock_timeout)
                    for p in providers]
        grace_until = time.monotonic() + min(timeout, 30.0)
        while _ABANDONED:
            _ABANDONED.pop().join(max(grace_until - time.monotonic(), 0.0))
    return outcomes


@contextmanager
def sigterm_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit (status 143) instead of killing the process outright, so
    that a snapshot being written removes its temporary file (as on Ctrl-C) and the lock
    is released. Only in the main thread (signals cannot be handled elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    saved = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, saved)


def summarize(outcomes: list[ProviderOutcome]) -> str:
    """The summary printed after a refresh: what was written, what failed, what changed."""
    lines = []
    for o in outcomes:
        if o.error:
            lines.append(f"{o.provider}: FAILED: {o.error} (previous snapshot left as it was)")
            continue
        lines.append(f"{o.provider}: wrote {o.path} ({o.offers} offers)")
        for region, reason in sorted(o.failed_regions.items()):
            lines.append(f"  {region}: FAILED ({reason}); previous rows carried over, "
                         "marked stale")
        if o.diff is not None:
            lines.append("  " + o.diff.render().replace("\n", "\n  "))
    return "\n".join(lines)

"""Run a refresh: each provider through the registry, merged, written atomically, diffed."""

from __future__ import annotations

import datetime as dt
import logging
import sys
from collections.abc import Callable
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
from gpucost.errors import InputError
from gpucost.providers import FetchResult, ProviderUnavailable, get_provider
from gpucost.refresh.diff import SnapshotDiff, diff_snapshots
from gpucost.refresh.merge import merge_with_previous

log = logging.getLogger("gpucost.refresh")
Echo = Callable[[str], None]


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
    """The newest earlier snapshot of ``provider``: in ``out_dir``, else shipped/user."""
    for source in (out_dir, None):
        try:
            files = [f for f in find_snapshot_files(source) if f.provider == provider]
        except InputError:  # a new or empty out_dir: fall back to the default folders
            files = []
        if files:
            return files[0], read_snapshot_file(files[0].path)
    return None, empty_offers()


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


def refresh_provider(name: str, regions: list[str] | None, out_dir: Path, today: dt.date,
                     echo: Echo, tty: bool = False,
                     provider_options: dict | None = None) -> ProviderOutcome:
    """Fetch one provider and write its dated snapshot; never raises for cloud failures."""
    outcome = ProviderOutcome(name)
    previous_file, previous = _previous(name, out_dir)
    if regions and previous_file is not None and not _same_folder(previous_file, out_dir):
        previous = _only_requested(previous, regions, out_dir)
    progress = Progress(name, len(regions) if regions else None, echo, tty)
    try:
        provider = get_provider(name, **(provider_options or {}))
        result: FetchResult = provider.fetch(regions, progress)
    except ProviderUnavailable as exc:
        outcome.error = str(exc)
        return outcome
    except Exception as exc:  # network down, SDK error: report, keep the old snapshot
        outcome.error = f"{name}: {type(exc).__name__}: {exc}"
        log.debug("refresh of %s failed", name, exc_info=True)
        return outcome
    finally:
        progress.finish()
    outcome.failed_regions = dict(result.failed_regions)
    attempted = set(regions) if regions else None
    merged = merge_with_previous(result.offers, previous, set(result.failed_regions),
                                 attempted, name)
    if merged.empty:
        outcome.error = f"{name}: the refresh returned no offers; previous snapshot kept"
        return outcome
    outcome.path = write_snapshot(merged, out_dir, name, today)
    outcome.offers = len(merged)
    if result.quotas is not None and len(result.quotas):
        quotas = result.quotas[QUOTA_COLUMNS]
        if previous_file is not None and result.failed_regions:
            old = read_quotas(previous_file)
            quotas = pd.concat([quotas, old[old["region"].isin(set(result.failed_regions))]])
        write_quotas(quotas, out_dir, name, today)
    outcome.diff = diff_snapshots(previous, merged)
    return outcome


def refresh(providers: list[str], regions: list[str] | None, out_dir: Path,
            echo: Echo = print, tty: bool = False, today: dt.date | None = None,
            provider_options: dict[str, dict] | None = None) -> list[ProviderOutcome]:
    """Refresh each provider in turn; a failing one never stops the others."""
    today = today or dt.date.today()
    return [refresh_provider(p, regions, out_dir, today, echo, tty,
                             (provider_options or {}).get(p)) for p in providers]


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

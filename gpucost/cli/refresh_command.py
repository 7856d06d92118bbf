"""``gpucost refresh``: live prices into dated snapshots (cron- and CI-friendly)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from gpucost.catalog.remote import WriteConflict, is_remote, publish, refetch, staging_folder
from gpucost.catalog.snapshot import (
    atomic_write_text,
    offers_to_csv_text,
    read_snapshot_file,
    user_snapshot_dir,
)
from gpucost.cli.options import FiniteFloatRange
from gpucost.errors import GpucostError
from gpucost.files import check_writable_folder
from gpucost.providers import provider_names
from gpucost.refresh.merge import merge_concurrent
from gpucost.refresh.run import (
    DEFAULT_TIMEOUT_S,
    MAX_TIMEOUT_S,
    TIMEOUT_ENV,
    refresh,
    summarize,
)


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@click.command("refresh")
@click.option("--provider", "providers", multiple=True,
              help="Providers to refresh, comma-separated or repeated (default: all).")
@click.option("--regions", multiple=True,
              help="Regions, comma-separated or repeated (default: all the account sees).")
@click.option("--out", "out_dir",
              help="Snapshot folder to write: a local path, s3://bucket/prefix or "
                   "gs://bucket/prefix (default: the user data dir; use "
                   "pricing_snapshots/ in a checkout to update the shipped one).")
@click.option("--project", help="GCP project (default: application-default credentials').")
@click.option("--timeout", type=FiniteFloatRange(min=0, min_open=True, max=MAX_TIMEOUT_S),
              default=None,
              help=f"Seconds each provider may take in all; its regions then keep their old "
                   f"rows, marked stale (default ${TIMEOUT_ENV} or {DEFAULT_TIMEOUT_S:g}).")
@click.option("--capacity-blocks", "capacity_blocks", default=None, metavar="TYPE:COUNT:DAYS,...",
              help="AWS: also list EC2 Capacity Block offerings for these requests "
                   "(e.g. p5.48xlarge:8:14) in each refreshed region.")
@click.option("--placement-scores", "placement_scores", type=click.IntRange(1, 10_000),
              default=None, metavar="INSTANCES",
              help="AWS: also read spot placement scores of the spot GPU types at this many "
                   "instances (needs credentials).")
def refresh_command(providers: tuple[str, ...], regions: tuple[str, ...], out_dir: str | None,
                    project: str | None, timeout: float | None,
                    capacity_blocks: str | None = None,
                    placement_scores: int | None = None) -> int:
    """Fetch current GPU prices and specs into new dated snapshot files.

    Writes are atomic, and concurrent refreshes into one folder take turns (a lock).
    A provider or region that fails or times out keeps its previous rows (marked stale)
    and makes the exit status 1; nothing already on disk is lost.
    """
    names = _split(providers) or provider_names()
    for name in names:
        if name not in provider_names():
            raise click.BadParameter(f"{name!r}; expected one of {', '.join(provider_names())}",
                                     param_hint="--provider")
    options: dict[str, dict] = {"gcp": {"project": project}} if project else {}
    if capacity_blocks:
        from gpucost.providers.aws.capacity_blocks import parse_requests

        options.setdefault("aws", {})["capacity_blocks"] = parse_requests(capacity_blocks)
    if placement_scores:
        options.setdefault("aws", {})["placement_scores"] = placement_scores
    # A bucket: refresh into a local copy of its newest files, then upload what was written.
    bucket = out_dir if is_remote(out_dir) else None
    # Checked before anything is fetched: a file in the way, a read-only mount.
    target = (staging_folder(bucket) if bucket
              else check_writable_folder(out_dir or user_snapshot_dir(), "--out"))
    try:
        outcomes = refresh(names, _split(regions) or None, target,
                           echo=lambda line: click.echo(line, err=True),
                           tty=sys.stderr.isatty(), provider_options=options, timeout=timeout)
        if bucket:
            for outcome in outcomes:
                if outcome.path is not None:
                    outcome.path = _publish_merging(outcome.path, target, bucket)
    finally:
        if bucket:
            shutil.rmtree(target, ignore_errors=True)
    click.echo(summarize(outcomes))
    return 0 if all(o.ok for o in outcomes) else 1


# Conditional writes that lose to another refresh merge its rows and try again; more
# than this many rounds means a stampede, and the refresh fails instead of looping.
PUBLISH_ATTEMPTS = 5


def _publish_merging(path: Path, local_root: Path, bucket: str) -> str:
    """Upload one provider's new snapshot (and quota file) to the bucket; when another
    refresh wrote the same object since it was read, merge its rows into ours
    (:func:`merge_concurrent`) and write again over its version."""
    for _ in range(PUBLISH_ATTEMPTS):
        written = sorted(path.parent.glob(f"{path.stem}.*csv"))
        try:
            return publish(written, local_root, bucket)[0]
        except WriteConflict as conflict:
            click.echo(f"{bucket}: {conflict}; merging its rows and writing again",
                       err=True)
            theirs = refetch(bucket, conflict.relative, local_root)
            if theirs is not None and conflict.relative.endswith(".quotas.csv"):
                continue  # quotas: ours are as fresh; write over the new version
            if theirs is not None:
                merged = merge_concurrent(read_snapshot_file(path), read_snapshot_file(theirs))
                atomic_write_text(path, offers_to_csv_text(merged))
    raise GpucostError(f"{bucket}: {path.name} kept changing under {PUBLISH_ATTEMPTS} "
                       "concurrent writes; nothing more written, refresh again")


COMMANDS = [refresh_command]

"""Pricing snapshots on disk: where they are, how to read them, how to write them safely.

Layout (documented for users in ``pricing_snapshots/README.md``)::

    <snapshot dir>/<provider>/<YYYY-MM-DD>.csv          offers, columns of schema.OFFER_COLUMNS
    <snapshot dir>/<provider>/<YYYY-MM-DD>.quotas.csv   optional vCPU quotas (QUOTA_COLUMNS)
    <snapshot dir>/<provider>/<YYYY-MM-DD>.interruptions.csv   optional spot interruption
                                                        bands (interruptions.py)

The date in the file name is the snapshot's date; rows carry their own ``as_of`` (older
for rows carried over from a failed refresh). Readers pick the newest file per provider.
Writers go through :func:`atomic_write_csv`, so a crash never leaves half a file.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from gpucost.catalog.interconnect import fill_interconnect
from gpucost.catalog.interruptions import (
    empty_interruptions,
    interruptions_path,
    read_interruptions,
)
from gpucost.catalog.schema import (
    OFFER_COLUMNS,
    OFFER_KEY,
    OMITTED_WHEN_EMPTY,
    coerce_offers,
    empty_offers,
    sort_offers,
)
from gpucost.errors import InputError, quote
from gpucost.files import read_text

SNAPSHOT_NAME = re.compile(r"^(\d{4}-\d{2}-\d{2})\.csv$")
# The largest snapshot file read (local or remote), in MiB: a full refresh of every
# region of a cloud, spot included, is well under 1 MiB; a 1 GB file used to be read
# whole (2.2 GB peak). $GPUCOST_SNAPSHOT_MAX_MIB overrides it.
DEFAULT_MAX_SNAPSHOT_MIB = 32.0
MAX_SNAPSHOT_ENV = "GPUCOST_SNAPSHOT_MAX_MIB"
FUTURE_SLACK_DAYS = 1

# vCPU quotas: ``families`` lists the instance-type prefixes (letters before the first
# digit, space-separated) that share the limit, so the planner needs no provider logic.
QUOTA_COLUMNS = ["provider", "region", "pricing", "quota_name", "families", "vcpu_limit",
                 "as_of", "source"]


class StaleSnapshotWarning(UserWarning):
    """Prices an answer uses are older than STALE_AFTER_DAYS (judged on rows' as_of)."""


@dataclass(frozen=True)
class SnapshotFile:
    """One snapshot file of one provider (``dated``: named <YYYY-MM-DD>.csv; a CSV given
    by any other name has provider "file" and no date of its own)."""

    path: Path
    provider: str
    date: dt.date
    dated: bool = True
    newest_as_of: dt.date | None = None  # set when read: the newest price in the file
    # Where a file read from a remote location came from (see remote.py); "" if local.
    origin: str = ""


@dataclass
class Catalog:
    """Offers loaded from snapshot files, with where they came from."""

    offers: pd.DataFrame
    files: list[SnapshotFile] = field(default_factory=list)
    quotas: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUOTA_COLUMNS))
    # Providers with a snapshot file, read or not (a provider filter reads only some).
    available_providers: list[str] = field(default_factory=list)
    # Spot interruption bands per pool (gpucost/catalog/interruptions.py).
    interruptions: pd.DataFrame = field(default_factory=empty_interruptions)
    # AWS Capacity Block offerings (gpucost/providers/aws/capacity_blocks.py).
    capacity_blocks: pd.DataFrame | None = None
    # AWS spot placement scores (gpucost/providers/aws/placement_scores.py).
    placement_scores: pd.DataFrame | None = None


def shipped_snapshot_dir() -> Path:
    """The snapshots shipped with gpucost (inside the wheel, or the repo checkout)."""
    package = Path(__file__).resolve().parent.parent
    installed = package / "_shipped_snapshots"
    return installed if installed.is_dir() else package.parent / "pricing_snapshots"


def user_snapshot_dir() -> Path:
    """Where ``gpucost refresh`` writes by default ($GPUCOST_SNAPSHOT_DIR overrides)."""
    override = os.environ.get("GPUCOST_SNAPSHOT_DIR")
    if override:
        return Path(override)
    from platformdirs import user_data_dir

    return Path(user_data_dir("gpucost")) / "snapshots"


def _dated_files(provider_dir: Path) -> list[SnapshotFile]:
    found = []
    for path in provider_dir.iterdir():
        match = SNAPSHOT_NAME.match(path.name)
        if match and path.is_file():
            try:
                date = dt.date.fromisoformat(match.group(1))
            except ValueError:  # 2025-02-30.csv: not a snapshot name after all
                continue
            found.append(SnapshotFile(path, provider_dir.name.lower(), date))
    return found


def _snapshot_files_in(folder: Path) -> list[SnapshotFile]:
    """Files of ``folder`` laid out as <provider>/<date>.csv, or, for one provider's
    folder (``pricing_snapshots/gcp``), its own <date>.csv files. Provider names are
    lower case; ``aws/`` and ``AWS/`` side by side would read one provider twice, so
    they are refused."""
    found: list[SnapshotFile] = []
    seen: dict[str, str] = {}
    for provider_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = _dated_files(provider_dir)
        name = provider_dir.name.lower()
        if files and name in seen:
            raise InputError(str(folder), "provider folders",
                             f"one folder per provider, got both {quote(seen[name])} and "
                             f"{quote(provider_dir.name)}")
        if files:
            seen[name] = provider_dir.name
        found.extend(files)
    return found or _dated_files(folder)


def _newest_per_provider(files: Iterable[SnapshotFile]) -> list[SnapshotFile]:
    newest: dict[str, SnapshotFile] = {}
    for f in files:
        if f.provider not in newest or f.date > newest[f.provider].date:
            newest[f.provider] = f
    return [newest[p] for p in sorted(newest)]


def find_snapshot_files(path: Path | str | None = None) -> list[SnapshotFile]:
    """The snapshot files to read: the newest per provider.

    ``path`` may be one CSV file (used alone), or a folder laid out as above. With no
    path, both the user's refreshed snapshots and the shipped ones are considered and
    the newest file of each provider wins.
    """
    if path is not None:
        path = Path(path)
        if path.is_file():
            dated = [f for f in _dated_files(path.parent) if f.path.name == path.name]
            return dated or [SnapshotFile(path, "file", dt.date.min, dated=False)]
        if not path.is_dir():
            raise InputError(str(path), "--snapshot", "an existing snapshot file or folder")
        files = _newest_per_provider(_snapshot_files_in(path))
        if not files:
            raise InputError(str(path), "--snapshot",
                             "a folder holding <provider>/<YYYY-MM-DD>.csv files (or one "
                             "provider's folder of <YYYY-MM-DD>.csv files)")
        return files
    candidates: list[SnapshotFile] = []
    for folder in (user_snapshot_dir(), shipped_snapshot_dir()):
        if folder.is_dir():
            candidates.extend(_snapshot_files_in(folder))
    return _newest_per_provider(candidates)


def max_snapshot_bytes() -> int:
    """The size cap of one snapshot file (:data:`DEFAULT_MAX_SNAPSHOT_MIB`, or
    ``$GPUCOST_SNAPSHOT_MAX_MIB``)."""
    raw = os.environ.get(MAX_SNAPSHOT_ENV, "").strip()
    if not raw:
        return int(DEFAULT_MAX_SNAPSHOT_MIB * 1024 * 1024)
    try:
        mib = float(raw)
    except ValueError:
        mib = float("nan")
    if not 0 < mib <= 1024 * 1024:  # also refuses nan and inf
        raise InputError(MAX_SNAPSHOT_ENV, "value", f"a size in MiB above 0, got {quote(raw)}")
    return int(mib * 1024 * 1024)


def too_large(limit: int) -> str:
    return (f"a snapshot of at most {limit / 1024 / 1024:g} MiB (${MAX_SNAPSHOT_ENV} "
            "raises the cap); this one is larger")


def _read_capped(path: Path) -> bytes:
    """At most :func:`max_snapshot_bytes` of ``path`` (a larger file, or a device that
    never ends, is an :class:`InputError`)."""
    limit = max_snapshot_bytes()
    try:
        with path.open("rb") as fh:
            data = fh.read(limit + 1)
    except IsADirectoryError:
        raise InputError(str(path), "file", "a CSV snapshot file, not a directory") from None
    except OSError as exc:
        raise InputError(str(path), "file", f"a readable CSV snapshot "
                         f"({exc.strerror or type(exc).__name__})") from None
    if len(data) > limit:
        raise InputError(str(path), "file", too_large(limit))
    return data


def read_snapshot_file(path: Path | str) -> pd.DataFrame:
    """Read and validate one snapshot CSV (errors name the file, row and column; at most
    :func:`max_snapshot_bytes` are read)."""
    path = Path(path)
    data = _read_capped(path)
    try:
        raw = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = " ".join(str(exc).split())  # pandas' messages span lines
        raise InputError(str(path), "file", f"a readable CSV snapshot ({reason})") from None
    except pd.errors.EmptyDataError:
        raise InputError(str(path), "header", f"columns {', '.join(OFFER_COLUMNS)}") from None
    # Files written before the interconnect columns existed get the table's figures.
    return fill_interconnect(coerce_offers(raw, str(path)))


def read_quotas(snapshot: SnapshotFile) -> pd.DataFrame:
    """The quota file written beside a snapshot, or an empty table (errors name the file,
    row and column; the file is read through :func:`gpucost.files.read_text`, so at most
    1 MiB of UTF-8 text)."""
    path = snapshot.path.with_name(f"{snapshot.date.isoformat()}.quotas.csv")
    if not snapshot.dated or not path.is_file():
        return pd.DataFrame(columns=QUOTA_COLUMNS)
    text = read_text(path, "quota CSV file")
    try:
        quotas = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        raise InputError(str(path), "header", f"columns {', '.join(QUOTA_COLUMNS)}") from None
    except pd.errors.ParserError as exc:
        reason = " ".join(str(exc).split())
        raise InputError(str(path), "file", f"a readable CSV ({reason})") from None
    missing = [c for c in QUOTA_COLUMNS if c not in quotas.columns]
    if missing:
        raise InputError(str(path), "header", f"missing column(s) {', '.join(missing)}")
    limits = pd.to_numeric(quotas["vcpu_limit"], errors="coerce")
    bad = limits.isna() | (limits < 0) | (limits != limits.round()) | (limits > 10**9)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(str(path), f"row {row + 2}, vcpu_limit",
                         f"a whole number of vCPUs from 0 to 1e9, got "
                         f"{quote(quotas['vcpu_limit'].iat[row])}")
    quotas = quotas[QUOTA_COLUMNS].copy()
    quotas["vcpu_limit"] = limits.astype("int64")
    return quotas


def load_catalog(snapshot: Path | str | None = None, *, today: dt.date | None = None,
                 providers: Iterable[str] = ()) -> Catalog:
    """Load the offers of the newest snapshot per provider (or of ``snapshot``).

    ``providers`` (case-insensitive) reads only those providers' files; a CSV given by
    another name than <date>.csv is always read. Loading does not warn about age: what
    matters is the age of the prices an answer uses, which its caller knows
    (:mod:`gpucost.catalog.age`; the CLI warns with :class:`StaleSnapshotWarning`).
    """
    from gpucost.catalog.remote import origin_of, resolve_location

    snapshot, remote_copy = resolve_location(snapshot)  # $GPUCOST_SNAPSHOTS, s3://, gs://...
    found = find_snapshot_files(snapshot)
    if remote_copy is not None:
        found = [replace(f, origin=origin_of(remote_copy, f.provider, f.path.name))
                 for f in found]
    wanted = {p.strip().lower() for p in providers}
    files = [f for f in found if not wanted or not f.dated or f.provider.lower() in wanted]
    today = today or dt.datetime.now(dt.UTC).date()  # UTC, as snapshot names are
    frames, quotas, read, bands, blocks, scores = [], [], [], [], [], []
    for f in files:
        offers = read_snapshot_file(f.path)
        if f.dated:
            _refuse_other_providers(f, offers)
        frames.append(offers)
        quotas.append(read_quotas(f))
        if f.dated:
            bands.append(read_interruptions(interruptions_path(f.path, f.date.isoformat())))
            blocks.append(_read_blocks(f))
            scores.append(_read_scores(f))
        _refuse_future(f, offers, today)
        newest = offers["as_of"].max().date() if len(offers) else None
        read.append(replace(f, newest_as_of=newest))
    offers = pd.concat(frames, ignore_index=True) if frames else empty_offers()
    _refuse_duplicates(offers, [f.path for f, frame in zip(files, frames, strict=True)
                                for _ in range(len(frame))])
    non_empty = [q for q in quotas if len(q)]
    quota_table = (pd.concat(non_empty, ignore_index=True) if non_empty
                   else pd.DataFrame(columns=QUOTA_COLUMNS))
    bands = [b for b in bands if len(b)]
    return Catalog(offers=sort_offers(offers), files=read, quotas=quota_table,
                   available_providers=sorted({f.provider for f in found if f.dated}),
                   interruptions=(pd.concat(bands, ignore_index=True) if bands
                                  else empty_interruptions()),
                   capacity_blocks=(pd.concat([b for b in blocks if len(b)], ignore_index=True)
                                    if any(len(b) for b in blocks) else None),
                   placement_scores=(pd.concat([s for s in scores if len(s)],
                                               ignore_index=True)
                                     if any(len(s) for s in scores) else None))


def _read_blocks(f: SnapshotFile) -> pd.DataFrame:
    from gpucost.providers.aws.capacity_blocks import blocks_path, read_blocks

    return read_blocks(blocks_path(f.path, f.date.isoformat()))


def _read_scores(f: SnapshotFile) -> pd.DataFrame:
    from gpucost.providers.aws.placement_scores import read_scores, scores_path

    return read_scores(scores_path(f.path, f.date.isoformat()))


def check_snapshot_folder(folder: Path) -> None:
    """Read every newest snapshot (and quota) file of ``folder`` as :func:`load_catalog`
    would, raising :class:`InputError` for the first bad one; warnings are left to the
    real read. Used before a fetched remote copy replaces the cached one."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = find_snapshot_files(folder)
        frames = []
        for f in files:
            offers = read_snapshot_file(f.path)
            if f.dated:
                _refuse_other_providers(f, offers)
            read_quotas(f)
            frames.append(offers)
        if frames:
            _refuse_duplicates(pd.concat(frames, ignore_index=True),
                               [f.path for f, frame in zip(files, frames, strict=True)
                                for _ in range(len(frame))])


def _refuse_other_providers(f: SnapshotFile, offers: pd.DataFrame) -> None:
    """A file under ``aws/`` holds AWS offers only: a ``gcp`` row there would be listed
    beside the real GCP offers (and win plans) without anyone having fetched it."""
    wrong = (offers["provider"] != f.provider).to_numpy().nonzero()[0]
    if len(wrong):
        raise InputError(f"{f.path}, row {int(wrong[0]) + 2}", "provider",
                         f"expected {quote(f.provider)} (the folder's provider), got "
                         f"{quote(offers['provider'].iat[int(wrong[0])])}")


def _refuse_duplicates(offers: pd.DataFrame, paths: list[Path]) -> None:
    """The same offer in two files would be counted twice (and the cheaper one would win
    whichever file is right): refuse, naming both files."""
    dup = offers.duplicated(OFFER_KEY, keep=False)
    if not dup.any():
        return
    rows = dup.to_numpy().nonzero()[0]
    first = offers.iloc[int(rows[0])]
    same = [int(i) for i in rows if tuple(offers.iloc[int(i)][OFFER_KEY]) ==
            tuple(first[OFFER_KEY])]
    names = " and ".join(sorted({str(paths[i]) for i in same}))
    raise InputError(names, "offers", "each offer (provider, region, instance_type, pricing) "
                     f"in one file only; {quote(first['provider'])} {quote(first['region'])} "
                     f"{quote(first['instance_type'])} {first['pricing']} is in both")


def _refuse_future(f: SnapshotFile, offers: pd.DataFrame, today: dt.date) -> None:
    """A snapshot dated in the future would pass every freshness check: refuse it (a day
    of slack for clocks and time zones)."""
    limit = today + dt.timedelta(days=FUTURE_SLACK_DAYS)
    if f.date != dt.date.min and f.date > limit:
        raise InputError(str(f.path), "file name", f"a snapshot date not after {limit}, "
                         f"got {f.date.isoformat()} (in the future)")
    if len(offers) and offers["as_of"].max().date() > limit:
        bad = offers["as_of"].max().date().isoformat()
        raise InputError(str(f.path), "as_of", f"dates not after {limit}, got {bad} (in the "
                         "future)")


def load_offers(snapshot: Path | str | None = None) -> pd.DataFrame:
    """The offer table (see :mod:`gpucost.catalog.schema`) for notebooks and scripts."""
    return load_catalog(snapshot).offers


def offers_to_csv_text(df: pd.DataFrame) -> str:
    """Serialise offers in the snapshot format: schema column order, sorted rows."""
    columns = [c for c in OFFER_COLUMNS
               if c not in OMITTED_WHEN_EMPTY or df[c].notna().any()]
    out = sort_offers(df[columns]).copy()
    out["as_of"] = out["as_of"].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n", float_format=_shortest)


def _shortest(value: float) -> str:
    """The shortest text that reads back as ``value``, without a trailing ``.0`` (so a
    file written by hand and one written by a refresh diff only where values differ)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def write_side_table(table: pd.DataFrame, columns: list[str], sort_by: list[str],
                     out_dir: Path | str, provider: str, date: dt.date, kind: str) -> Path:
    """Atomically write a table kept beside the prices (interruption bands, placement
    scores, capacity blocks) as ``<out_dir>/<provider>/<date>.<kind>.csv``."""
    path = Path(out_dir) / provider / f"{date.isoformat()}.{kind}.csv"
    text = table[columns].sort_values(sort_by).to_csv(index=False, lineterminator="\n")
    return atomic_write_text(path, text)


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_snapshot(df: pd.DataFrame, out_dir: Path | str, provider: str,
                   date: dt.date) -> Path:
    """Atomically write ``df`` as ``<out_dir>/<provider>/<date>.csv``; returns the path."""
    path = Path(out_dir) / provider / f"{date.isoformat()}.csv"
    return atomic_write_text(path, offers_to_csv_text(df))


def write_quotas(quotas: pd.DataFrame, out_dir: Path | str, provider: str,
                 date: dt.date) -> Path:
    """Atomically write a quota table beside the snapshot of the same date."""
    path = Path(out_dir) / provider / f"{date.isoformat()}.quotas.csv"
    text = quotas[QUOTA_COLUMNS].sort_values(["region", "pricing", "quota_name"]).to_csv(
        index=False, lineterminator="\n")
    return atomic_write_text(path, text)

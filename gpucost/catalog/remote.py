"""Snapshots a team shares: ``s3://`` / ``gs://`` folders and ``https://`` files.

``--snapshot``, ``$GPUCOST_SNAPSHOTS`` and ``gpucost refresh --out`` accept, besides local
paths:

* ``s3://bucket/prefix`` or ``gs://bucket/prefix``: a folder of the documented layout
  (``<provider>/<YYYY-MM-DD>.csv``, optional ``.quotas.csv``), read and written;
* ``https://host/path/<provider>/<YYYY-MM-DD>.csv`` (or any ``.csv`` URL): one file, read.

Everything goes through fsspec (s3fs, gcsfs, its HTTP filesystem), imported lazily from
the optional extra ``gpucost[remote]``. Reading copies the newest file per provider into a
local cache (``$GPUCOST_CACHE_DIR``, else the user cache folder) and returns that folder,
so the rest of gpucost reads local files; when the location cannot be reached later, the
cached copy is used with a warning saying when it was fetched, so planning works offline.
A location that answers but is wrong (no such bucket, an HTML page, no snapshot files)
is an error, never served from the cache; a fetched copy is validated like any snapshot
before it replaces the cached one, so a bad answer never destroys the good copy.

Every read is bounded: in time, by ``$GPUCOST_REMOTE_TIMEOUT`` seconds in all (default
:data:`DEFAULT_REMOTE_TIMEOUT_S`; past it the cache is used, with a warning), and in size,
by the snapshot cap (``$GPUCOST_SNAPSHOT_MAX_MIB``, see ``snapshot.py``).

Endpoints for tests, mirrors and S3-compatible stores: ``AWS_ENDPOINT_URL_S3`` /
``AWS_ENDPOINT_URL`` for s3, ``STORAGE_EMULATOR_HOST`` for gs (gcsfs reads it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gpucost.errors import GpucostError, InputError, quote

SNAPSHOTS_ENV = "GPUCOST_SNAPSHOTS"
CACHE_ENV = "GPUCOST_CACHE_DIR"
REMOTE_TIMEOUT_ENV = "GPUCOST_REMOTE_TIMEOUT"
# Seconds a remote snapshot read may take in all before the cache is used instead: a
# real fetch of a few files is a second or two.
DEFAULT_REMOTE_TIMEOUT_S = 30.0
_CHUNK = 1024 * 1024
FOLDER_SCHEMES = ("s3", "gs", "gcs")
FILE_SCHEMES = ("http", "https")
_SNAPSHOT = re.compile(r"^\d{4}-\d{2}-\d{2}\.csv$")
_MARKER = ".fetched.json"


class CachedSnapshotWarning(UserWarning):
    """A remote snapshot could not be reached; the cached copy is used."""


@dataclass(frozen=True)
class LocalCopy:
    """Where a remote location's files are on this machine."""

    location: str
    path: Path  # a folder of the layout (or, for a one-file URL, the file)
    fetched_at: str  # ISO time of the fetch the copy comes from
    from_cache: bool


def is_remote(location: object) -> bool:
    """True for ``s3://``, ``gs://``, ``gcs://``, ``http://`` and ``https://`` strings."""
    if not isinstance(location, str) or "://" not in location:
        return False
    return urlsplit(location).scheme.lower() in FOLDER_SCHEMES + FILE_SCHEMES


def configured_location(path: Path | str | None) -> Path | str | None:
    """``path`` if given, else ``$GPUCOST_SNAPSHOTS`` (None when neither is set)."""
    if path is not None:
        return path
    return os.environ.get(SNAPSHOTS_ENV, "").strip() or None


def cache_root() -> Path:
    override = os.environ.get(CACHE_ENV)
    if override:
        return Path(override)
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("gpucost")) / "remote-snapshots"


def _cache_dir(location: str) -> Path:
    parts = urlsplit(location)
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{parts.netloc}{parts.path}").strip("_")
    digest = hashlib.sha256(location.encode()).hexdigest()[:10]
    return cache_root() / f"{parts.scheme}_{readable[:60]}_{digest}"


def filesystem(location: str) -> tuple[Any, str]:
    """(fsspec filesystem, path inside it) for a remote location; a missing extra is one
    line saying what to install."""
    scheme = urlsplit(location).scheme.lower()
    try:
        if scheme == "s3":
            import s3fs

            endpoint = (os.environ.get("AWS_ENDPOINT_URL_S3")
                        or os.environ.get("AWS_ENDPOINT_URL") or None)
            fs = s3fs.S3FileSystem(
                endpoint_url=endpoint, skip_instance_cache=True,
                config_kwargs={"connect_timeout": 10, "read_timeout": 60})
        elif scheme in ("gs", "gcs"):
            # gcsfs.core: the plain client (the package default also probes bucket
            # layouts over gRPC, which costs a minute against emulators and mirrors).
            from gcsfs.core import GCSFileSystem

            token = "anon" if os.environ.get("STORAGE_EMULATOR_HOST") else None
            fs = GCSFileSystem(token=token, skip_instance_cache=True, retries=2)
        else:
            from fsspec.implementations.http import HTTPFileSystem

            fs = HTTPFileSystem(skip_instance_cache=True)
    except ImportError as exc:
        raise GpucostError(f"{location}: reading or writing {scheme}:// snapshots needs the "
                           f"optional extra: pip install 'gpucost[remote]' ({exc.name} is "
                           "missing)") from None
    path = location if scheme in FILE_SCHEMES else fs._strip_protocol(location).rstrip("/")
    return fs, path


PROBE_TIMEOUT_S = 5.0
_PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
               "all_proxy")


def _endpoint(location: str) -> tuple[str, int]:
    """(host, port) the location's client talks to first."""
    scheme = urlsplit(location).scheme.lower()
    if scheme == "s3":
        override = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        url = urlsplit(override) if override else urlsplit("https://s3.amazonaws.com")
    elif scheme in ("gs", "gcs"):
        override = os.environ.get("STORAGE_EMULATOR_HOST")
        url = urlsplit(override if override and "://" in override else
                       f"http://{override}" if override else "https://storage.googleapis.com")
    else:
        url = urlsplit(location)
    return url.hostname or "", url.port or (80 if url.scheme == "http" else 443)


def unreachable(location: str) -> str | None:
    """Why the location's endpoint cannot be reached now (None: it answers, or a proxy is
    configured and we cannot tell). A quick TCP connect, so that an offline machine falls
    back to the cache at once instead of after the storage clients' retry backoff."""
    import socket

    if any(os.environ.get(name) for name in _PROXY_VARS):
        return None
    host, port = _endpoint(location)
    try:
        socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S).close()
    except OSError as exc:
        return f"{host}:{port} unreachable ({_reason(exc)})"
    return None


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]


def _newest_per_provider(fs: Any, root: str) -> dict[str, str]:
    newest: dict[str, str] = {}
    for found in sorted(fs.glob(f"{root}/*/*.csv")):
        provider, name = found.rsplit("/", 2)[-2:]
        if _SNAPSHOT.match(name) and name > newest.get(provider, "").rsplit("/", 1)[-1]:
            newest[provider] = found
    return newest


class _Deadline:
    """The moment a remote read must be over (``time.monotonic()`` seconds)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def check(self) -> None:
        if time.monotonic() > self.at:
            raise TimeoutError(f"no complete answer within {self.seconds:g}s")


def remote_timeout() -> float:
    """Seconds a remote snapshot read may take in all (:data:`DEFAULT_REMOTE_TIMEOUT_S`,
    or ``$GPUCOST_REMOTE_TIMEOUT``)."""
    raw = os.environ.get(REMOTE_TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_REMOTE_TIMEOUT_S
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not 0 < value <= 86400:  # also refuses nan and inf
        raise InputError(REMOTE_TIMEOUT_ENV, "value", f"a positive number of seconds (at most "
                         f"86400), got {quote(raw)}")
    return value


def _read_object(fs: Any, path: str, location: str, deadline: _Deadline | None) -> bytes:
    """The bytes of one remote file, streamed in chunks: at most the snapshot size cap
    (refused beyond it, before reading when the size is announced) and within the
    deadline (checked between chunks, so a slow drip ends too)."""
    from gpucost.catalog.snapshot import max_snapshot_bytes, too_large

    limit = max_snapshot_bytes()
    try:
        size = fs.size(path)
    except (FileNotFoundError, PermissionError):
        raise
    except Exception:  # noqa: BLE001 - a server that will not say: the stream decides
        size = None
    if size is not None and size > limit:
        raise InputError(_address(location, path), "file", too_large(limit))
    chunks, total = [], 0
    options = {"block_size": 0} if urlsplit(location).scheme.lower() in FILE_SCHEMES else {}
    with fs.open(path, "rb", **options) as fh:
        while True:
            if deadline is not None:
                deadline.check()
            chunk = fh.read(_CHUNK)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise InputError(_address(location, path), "file", too_large(limit))
            chunks.append(chunk)
    return b"".join(chunks)


def _address(location: str, path: str) -> str:
    scheme = urlsplit(location).scheme.lower()
    return path if scheme in FILE_SCHEMES else f"{scheme}://{path}"


def _download_folder(fs: Any, root: str, location: str, target: Path,
                     deadline: _Deadline | None = None) -> None:
    newest = _newest_per_provider(fs, root)
    bucket = root.split("/", 1)[0]
    if not newest and not fs.exists(bucket):
        raise InputError(location, "--snapshot", f"an existing bucket ({bucket} not found)")
    if not newest:
        raise InputError(location, "--snapshot",
                         "a folder holding <provider>/<YYYY-MM-DD>.csv files (found none)")
    for provider, remote in newest.items():
        folder = target / provider
        folder.mkdir(exist_ok=True)  # not parents: a worker left behind must not re-create
        name = remote.rsplit("/", 1)[-1]
        (folder / name).write_bytes(_read_object(fs, remote, location, deadline))
        for side in (".quotas.csv", ".interruptions.csv", ".capacity_blocks.csv",
                     ".placement_scores.csv"):  # files beside the prices
            beside = remote[:-len(".csv")] + side
            if fs.exists(beside):
                (folder / f"{name[:-len('.csv')]}{side}").write_bytes(
                    _read_object(fs, beside, location, deadline))


def _download_file(fs: Any, url: str, target: Path, deadline: _Deadline | None = None) -> Path:
    body = _read_object(fs, url, url, deadline)
    head = body[:512].lstrip().lower()
    if head.startswith((b"<!doctype", b"<html", b"<?xml", b"<")):
        raise InputError(url, "--snapshot", "a CSV snapshot file, got an HTML/XML page")
    parts = urlsplit(url).path.rstrip("/").split("/")
    name = parts[-1] if parts[-1].endswith(".csv") else "snapshot.csv"
    provider = parts[-2] if _SNAPSHOT.match(name) and len(parts) > 1 and parts[-2] else "file"
    path = target / provider / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(body)
    return path


def _cached(location: str, cache: Path, reason: str) -> LocalCopy:
    marker = cache / _MARKER
    if not marker.is_file():
        raise InputError(location, "--snapshot",
                         f"a reachable snapshot location, and no cached copy exists ({reason})")
    try:
        info = json.loads(marker.read_text(encoding="utf-8"))
        info["fetched_at"], info["path"]  # noqa: B018 - both must be there
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(location, "--snapshot", f"a reachable snapshot location ({reason}); "
                         f"the cached copy in {cache} is unreadable") from None
    warnings.warn(f"cannot reach {location} ({reason}); using the copy cached "
                  f"{info['fetched_at']}", CachedSnapshotWarning, stacklevel=3)
    return LocalCopy(location, cache / info["path"], info["fetched_at"], True)


def local_copy(location: str) -> LocalCopy:
    """Fetch ``location`` into the cache (replacing the previous copy only once the new
    one is complete) and return where it is; unreachable: the cached copy, with a
    warning. Errors that are the location's fault raise :class:`InputError`."""
    cache = _cache_dir(location)
    fs, root = filesystem(location)
    scheme = urlsplit(location).scheme.lower()
    offline = unreachable(location)
    if offline:
        return _cached(location, cache, offline)
    timeout = remote_timeout()
    staging = Path(tempfile.mkdtemp(prefix=".fetch-", dir=_ensure_cache(cache.parent)))
    try:
        try:
            relative = _fetch_within(fs, root, location, staging, timeout)
        except (FileNotFoundError, PermissionError) as exc:
            what = ("an existing bucket and folder" if scheme not in FILE_SCHEMES
                    else "a URL that serves a CSV snapshot")
            raise InputError(location, "--snapshot", f"{what} ({_reason(exc)})") from None
        except InputError:
            raise
        except Exception as exc:  # network, endpoint, credentials: the cache may help
            return _cached(location, cache, _reason(exc))
        # Validate before replacing: a 200 answer with an error page, an empty body or
        # a poisoned file must not destroy the good copy that offline planning relies on.
        _check_copy(staging / relative, staging, location, cache)
        fetched_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        (staging / _MARKER).write_text(json.dumps(
            {"location": location, "fetched_at": fetched_at, "path": relative}),
            encoding="utf-8")
        old = cache.with_name(cache.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if cache.exists():
            cache.rename(old)
        staging.rename(cache)
        shutil.rmtree(old, ignore_errors=True)
        return LocalCopy(location, cache / relative, fetched_at, False)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _fetch_within(fs: Any, root: str, location: str, staging: Path, timeout: float) -> str:
    """Download into ``staging`` in a worker thread with a total deadline; returns the
    copy's path relative to ``staging``. Storage clients retry a stalled endpoint for
    many minutes (S3: over 20), and a server dripping a byte at a time never trips a read
    timeout: past the deadline the worker is left behind (it stops at its next chunk)
    and :class:`TimeoutError` sends the caller to the cache."""
    deadline = _Deadline(timeout)
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            if urlsplit(location).scheme.lower() in FILE_SCHEMES:
                box["relative"] = _download_file(fs, root, staging, deadline).relative_to(
                    staging).as_posix()
            else:
                _download_folder(fs, root, location, staging, deadline)
                box["relative"] = "."
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            box["error"] = exc

    thread = threading.Thread(target=work, name="gpucost-remote-snapshot", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no complete answer within {timeout:g}s; "
                           f"${REMOTE_TIMEOUT_ENV} sets the deadline")
    if "error" in box:
        raise box["error"]
    return box["relative"]


def _check_copy(copy: Path, staging: Path, location: str, cache: Path) -> None:
    from gpucost.catalog.snapshot import check_snapshot_folder

    try:
        check_snapshot_folder(copy)
    except InputError as exc:
        where = exc.where.replace(str(staging), location.rstrip("/"), 1)
        kept = " (the copy cached earlier is kept)" if (cache / _MARKER).is_file() else ""
        raise InputError(where, exc.field, exc.expected + kept) from None


def _ensure_cache(folder: Path) -> Path:
    """``folder`` created if need be; a cache that cannot be written (read-only, a file
    in the way) is one line naming it and the variable that moves it."""
    from gpucost.files import check_writable_folder

    return check_writable_folder(folder, f"cache folder (${CACHE_ENV})")


def staging_folder(location: str) -> Path:
    """A new local folder holding the newest remote file per provider (none if the
    folder is empty), for ``gpucost refresh --out`` to merge with and write into."""
    if urlsplit(location).scheme.lower() not in FOLDER_SCHEMES:
        raise InputError(location, "--out", "a local folder, s3://bucket/prefix or "
                                            "gs://bucket/prefix")
    fs, root = filesystem(location)
    offline = unreachable(location)
    if offline:
        raise InputError(location, "--out", f"a reachable bucket ({offline})")
    staging = Path(tempfile.mkdtemp(prefix="gpucost-refresh-"))
    try:
        bucket = root.split("/", 1)[0]
        if not fs.exists(bucket):
            raise InputError(location, "--out", f"an existing bucket ({bucket} not found)")
        newest = _newest_per_provider(fs, root)
        # Each object's version *before* it is read: publish() writes only over that
        # version, so a refresh that wrote in between is merged, not overwritten.
        versions = {path[len(root) + 1:]: _version(fs, path) for path in newest.values()}
        (staging / _VERSIONS).write_text(json.dumps(versions), encoding="utf-8")
        if newest:
            _download_folder(fs, root, location, staging)
    except InputError:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise InputError(location, "--out", f"a reachable bucket ({_reason(exc)})") from None
    return staging


_VERSIONS = ".gpucost-versions.json"


def _version(fs: Any, path: str) -> str | None:
    """An S3 object's ETag (None elsewhere: gcsfs has no conditional writes)."""
    if not hasattr(fs, "s3"):
        return None
    return fs.info(path).get("ETag")


class WriteConflict(GpucostError):
    """Another refresh wrote the object since it was read (a failed conditional write)."""

    exit_code = 1

    def __init__(self, relative: str) -> None:
        super().__init__(f"{relative} changed while this refresh ran")
        self.relative = relative


def _is_conflict(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, FileExistsError):
            return True
        response = getattr(seen, "response", None)
        if isinstance(response, dict) and response.get("Error", {}).get("Code") in (
                "PreconditionFailed", "412", "ConditionalRequestConflict"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def publish(files: list[Path], local_root: Path, location: str) -> list[str]:
    """Upload ``files`` (inside ``local_root``) to the same relative paths under
    ``location``; returns their remote URLs. Each object is written whole (an object
    store never shows half a file). On S3 each write is conditional: over the version
    :func:`staging_folder` read (``If-Match``), or only if still absent
    (``If-None-Match: *``); :class:`WriteConflict` when another writer came first."""
    fs, root = filesystem(location)
    scheme = urlsplit(location).scheme.lower()
    marker = local_root / _VERSIONS
    versions = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
    urls = []
    for path in files:
        relative = path.relative_to(local_root).as_posix()
        target = f"{root}/{relative}"
        condition: dict[str, Any] = {}
        if hasattr(fs, "s3"):
            etag = versions.get(relative)
            condition = {"IfMatch": etag} if etag else {"mode": "create"}
        try:
            fs.pipe_file(target, path.read_bytes(), **condition)
        except Exception as exc:
            if condition and _is_conflict(exc):
                raise WriteConflict(relative) from None
            raise GpucostError(f"{location}: cannot write {relative} ({_reason(exc)})") \
                from None
        urls.append(f"{scheme}://{target}")
    return urls


def refetch(location: str, relative: str, local_root: Path) -> Path | None:
    """The current remote copy of ``relative`` (and its version, for the next conditional
    write) under ``local_root/.theirs/``; None if it is gone."""
    fs, root = filesystem(location)
    remote = f"{root}/{relative}"
    marker = local_root / _VERSIONS
    versions = json.loads(marker.read_text(encoding="utf-8")) if marker.is_file() else {}
    try:
        versions[relative] = _version(fs, remote)
        data = _read_object(fs, remote, location, None)
    except FileNotFoundError:
        versions.pop(relative, None)
        marker.write_text(json.dumps(versions), encoding="utf-8")
        return None
    marker.write_text(json.dumps(versions), encoding="utf-8")
    theirs = local_root / ".theirs" / relative
    theirs.parent.mkdir(parents=True, exist_ok=True)
    theirs.write_bytes(data)
    return theirs


def resolve_location(path: Path | str | None) -> tuple[Path | str | None, LocalCopy | None]:
    """What :func:`gpucost.catalog.snapshot.load_catalog` reads: ``path`` or
    ``$GPUCOST_SNAPSHOTS``, with a remote location replaced by its local copy."""
    location = configured_location(path)
    if not is_remote(location):
        return location, None
    copy = local_copy(str(location))
    return copy.path, copy


def origin_of(copy: LocalCopy, provider: str, name: str) -> str:
    """The remote address of one snapshot file of a local copy, and how it was read."""
    scheme = urlsplit(copy.location).scheme.lower()
    address = (copy.location if scheme in FILE_SCHEMES
               else f"{copy.location.rstrip('/')}/{provider}/{name}")
    how = "cached copy fetched" if copy.from_cache else "fetched"
    return f"{address}, {how} {copy.fetched_at}"

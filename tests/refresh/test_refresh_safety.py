"""Refresh against an adversary (issue 11): concurrent refreshes into one folder, a pricing
endpoint that never answers (a loopback server), SIGTERM mid-write, credentials in
endpoint URLs."""

from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from test_refresh import NEW_DAY, OLD_DAY, rows

from gpucost.catalog.schema import coerce_offers
from gpucost.catalog.snapshot import read_snapshot_file, write_snapshot
from gpucost.cli import main
from gpucost.refresh.lock import SnapshotLockTimeout, snapshot_lock
from gpucost.refresh.run import refresh

# -- concurrent refreshes --------------------------------------------------------------


def test_two_concurrent_refreshes_of_different_regions_keep_both(static, tmp_path,
                                                                 monkeypatch):
    old = rows({("r1", "a.x"): 10.0, ("r2", "a.x"): 20.0}, "2026-11-01")
    write_snapshot(coerce_offers(old, "old"), tmp_path, "static", OLD_DAY)
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0, ("r2", "a.x"): 22.0}, "2026-11-25")
    # Both fetches finish before either writes: the interleaving that used to lose r1.
    both_fetched = threading.Barrier(2, timeout=10)
    fetch = static.StaticProvider.fetch

    def fetch_together(self, regions=None, progress=None):
        result = fetch(self, regions, progress)
        both_fetched.wait()
        return result

    monkeypatch.setattr(static.StaticProvider, "fetch", fetch_together)
    outcomes: dict[str, list] = {}

    def one(region: str) -> None:
        outcomes[region] = refresh(["static"], [region], tmp_path, echo=lambda _: None,
                                   today=NEW_DAY, timeout=20)

    threads = [threading.Thread(target=one, args=(r,)) for r in ("r1", "r2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert all(o.ok for r in ("r1", "r2") for o in outcomes[r])
    new = read_snapshot_file(tmp_path / "static" / "2026-11-25.csv").set_index("region")
    assert new.loc["r1", "usd_per_hour"] == 11.0 and new.loc["r2", "usd_per_hour"] == 22.0
    assert not new["stale"].any()
    assert set(new["as_of"]) == {dt.datetime(2026, 11, 25)}


def test_second_writer_waits_with_a_message_then_fails_clearly(static, tmp_path):
    static.TABLE["offers"] = rows({("r1", "a.x"): 11.0}, "2026-11-25")
    lines: list[str] = []
    with snapshot_lock(tmp_path, lines.append):
        started = time.monotonic()
        with pytest.raises(SnapshotLockTimeout) as info:
            refresh(["static"], ["r1"], tmp_path, echo=lines.append, today=NEW_DAY,
                    timeout=5, lock_timeout=0.3)
        assert time.monotonic() - started < 3
    assert any(line.startswith(f"waiting for another gpucost refresh writing {tmp_path}")
               for line in lines)
    assert "nothing written" in str(info.value)
    assert not (tmp_path / "static" / "2026-11-25.csv").exists()
    # once released, the next refresh writes
    (outcome,) = refresh(["static"], ["r1"], tmp_path, echo=lines.append, today=NEW_DAY)
    assert outcome.ok


# -- a pricing endpoint that never answers ---------------------------------------------

@pytest.fixture
def silent_endpoint():
    """A loopback TCP server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def aws_keys(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def _old_aws_snapshot(folder: Path) -> None:
    old = rows({("us-east-1", "g5.xlarge"): 1.006}, "2026-11-01").assign(provider="aws",
                                                                        gpu="A10G", gpu_count=1)
    write_snapshot(coerce_offers(old, "old"), folder, "aws", OLD_DAY)


def test_hanging_endpoint_finishes_within_the_deadline_writing_no_new_file(
        silent_endpoint, aws_keys, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{silent_endpoint}")
    _old_aws_snapshot(tmp_path)
    deadline = 1.5
    started = time.monotonic()
    with pytest.raises(SystemExit) as info:
        main(["refresh", "--provider", "aws", "--regions", "us-east-1", "--out", str(tmp_path),
              "--timeout", str(deadline)])
    elapsed = time.monotonic() - started
    assert info.value.code == 1
    # Without the deadline this took 10 minutes (10 tries x 60 s reads); the slack is for a
    # busy 2-core CI machine, not for the refresh.
    assert elapsed < deadline + 4.0, elapsed
    out, err = capsys.readouterr()
    assert "aws us-east-1: FAILED (timed out after" in err
    assert "aws: FAILED: aws: fetched no offers (timed out after" in out
    assert "no new file written" in out
    # Nothing was fetched: no new dated file re-dates the old rows; the old one stays newest.
    assert [p.name for p in (tmp_path / "aws").glob("*.csv")] == ["2026-11-01.csv"]
    old = read_snapshot_file(tmp_path / "aws" / "2026-11-01.csv")
    assert list(old["usd_per_hour"]) == [1.006] and not old["stale"].any()
    assert old["as_of"].iloc[0] == dt.datetime(2026, 11, 1)


def test_adapter_http_calls_are_bounded_by_the_deadline(silent_endpoint, aws_keys,
                                                        monkeypatch):
    # Without the outer deadline: the AWS adapter's own timeouts and retries give up.
    from gpucost.providers.aws import AwsProvider

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{silent_endpoint}")
    started = time.monotonic()
    result = AwsProvider(max_workers=1, timeout=1.0).fetch(["us-east-1"])
    assert time.monotonic() - started < 4.0
    assert set(result.failed_regions) == {"us-east-1"} and result.offers.empty


def test_timeout_from_environment_must_be_a_positive_number(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("GPUCOST_REFRESH_TIMEOUT", "soon")
    with pytest.raises(SystemExit) as info:
        main(["refresh", "--provider", "aws", "--out", str(tmp_path)])
    assert info.value.code == 2
    assert "GPUCOST_REFRESH_TIMEOUT: value: a positive number of seconds, got 'soon'" in \
        capsys.readouterr().err


# -- credentials in endpoint URLs ------------------------------------------------------

def test_credentials_in_endpoint_urls_are_never_printed(aws_keys, tmp_path, monkeypatch,
                                                        capsys):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens: connection refused
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://admin:hunter2@127.0.0.1:{port}")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with pytest.raises(SystemExit):
        main(["refresh", "--provider", "aws", "--regions", "us-east-1", "--out", str(tmp_path),
              "--timeout", "5"])
    out, err = capsys.readouterr()
    assert "127.0.0.1" in out + err  # the URL is shown...
    assert "hunter2" not in out + err and "admin" not in out + err  # ...without credentials
    assert "***@127.0.0.1" in out + err


def test_redact_urls():
    from gpucost.formatting import redact_urls

    assert redact_urls('URL: "http://u:p@h:1/x" and https://tok@h/ and http://h/a@b') == \
        'URL: "http://***@h:1/x" and https://***@h/ and http://h/a@b'


# -- SIGTERM during a snapshot write ---------------------------------------------------

SIGTERM_MID_WRITE = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {tests!r})
    import pandas as pd
    import static_provider
    from gpucost import providers
    from gpucost.catalog import snapshot
    from test_refresh import rows

    providers.REGISTRY["static"] = "static_provider:StaticProvider"
    static_provider.TABLE["offers"] = rows({{("r1", "a.x"): 11.0}}, "2026-11-25")
    real_fsync = os.fsync

    def fsync_then_sigterm(fd):  # the temporary file exists, the rename has not happened
        os.kill(os.getpid(), signal.SIGTERM)
        real_fsync(fd)

    snapshot.os.fsync = fsync_then_sigterm
    from gpucost.cli import main
    main(["refresh", "--provider", "static", "--out", {out!r}, "--timeout", "10"])
""")


def test_sigterm_during_snapshot_write_leaves_no_temporary_file(tmp_path):
    out = tmp_path / "out"
    script = SIGTERM_MID_WRITE.format(tests=str(Path(__file__).parent), out=str(out))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PYTHONPATH": str(Path(__file__).parent)})
    assert done.returncode == 143, done.stderr
    assert list(out.rglob("*.tmp")) == []
    assert not (out / "static" / "2026-11-25.csv").exists()

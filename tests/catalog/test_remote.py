"""Shared snapshots: refresh writes to s3:// (moto server) and gs:// (GCS emulator), plan
reads them, the local cache serves them once the endpoint is gone; https:// one-file URLs;
bad locations are one line, never a traceback. Everything listens on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from gpucost.catalog.remote import CachedSnapshotWarning, is_remote
from gpucost.catalog.snapshot import load_catalog
from gpucost.cli import main
from tests.providers.azure_retail_server import RetailServer, item

H100 = "Standard_ND96isr_H100_v5"
T4 = "Standard_NC4as_T4_v3"
JOB = """\
name: small
flops: 1e20
precision: bf16
deadline: 30d
mode: single
constraints: {spot: allowed}
"""


def market() -> list[dict]:
    return [item("eastus", H100, 98.32), item("eastus", H100, 39.33, sku_suffix=" Spot"),
            item("eastus", T4, 0.526), item("westus3", T4, 0.55)]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUCOST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("GPUCOST_SNAPSHOT_DIR", str(tmp_path / "user-snapshots"))
    monkeypatch.delenv("GPUCOST_SNAPSHOTS", raising=False)
    monkeypatch.delenv("AZURE_SUBSCRIPTION_ID", raising=False)


def run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.fixture
def s3_endpoint(monkeypatch, tmp_path):
    from moto.server import ThreadedMotoServer

    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{host}:{port}")
    import boto3

    boto3.client("s3", endpoint_url=f"http://{host}:{port}").create_bucket(Bucket="team")
    yield server
    server.stop()


@pytest.fixture
def gcs_endpoint(monkeypatch):
    from gcp_storage_emulator.server import create_server

    server = create_server("127.0.0.1", 0, in_memory=True, default_bucket="team-gcs")
    server.start()
    port = server._api._httpd.server_address[1]
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    yield server
    server.stop()


def round_trip(capsys, tmp_path, monkeypatch, location: str, stop_endpoint) -> None:
    job = tmp_path / "job.yaml"
    job.write_text(JOB)
    with RetailServer(market()) as retail:
        monkeypatch.setenv("GPUCOST_AZURE_PRICES_URL", retail.url)
        code, out, err = run(capsys, "refresh", "--provider", "azure",
                             "--regions", "eastus,westus3", "--out", location)
    assert code == 0, err
    assert f"azure: wrote {location}/azure/" in out

    code, out, err = run(capsys, "plan", str(job), "--snapshot", location)
    assert code == 0, err
    assert "Standard_" in out
    assert f"Snapshot: azure {location}/azure/" in out and ", fetched " in out

    monkeypatch.setenv("GPUCOST_SNAPSHOTS", location)  # the environment variable, too
    code, out_env, err = run(capsys, "prices", "--gpu", "H100", "--spot")
    assert code == 0, err
    assert "39.33" in out_env

    stop_endpoint()  # the network is gone: the cache serves the same prices
    code, cached_out, err = run(capsys, "plan", str(job), "--snapshot", location)
    assert code == 0, err
    assert "using the copy cached" in err and "Traceback" not in err
    assert "cached copy fetched" in cached_out
    assert cached_out.splitlines()[:4] == out.splitlines()[:4]


def test_s3_round_trip_with_offline_cache(s3_endpoint, capsys, tmp_path, monkeypatch):
    round_trip(capsys, tmp_path, monkeypatch, "s3://team/gpucost/snapshots",
               s3_endpoint.stop)


def test_gs_round_trip_with_offline_cache(gcs_endpoint, capsys, tmp_path, monkeypatch):
    round_trip(capsys, tmp_path, monkeypatch, "gs://team-gcs/snapshots", gcs_endpoint.stop)


def test_refresh_merges_with_the_bucket_s_previous_snapshot(s3_endpoint, capsys, tmp_path,
                                                            monkeypatch):
    with RetailServer(market()) as retail:
        monkeypatch.setenv("GPUCOST_AZURE_PRICES_URL", retail.url)
        assert run(capsys, "refresh", "--provider", "azure", "--regions", "eastus,westus3",
                   "--out", "s3://team/p")[0] == 0
    # The second refresh sees westus3 fail: its rows come back from the bucket, stale.
    with RetailServer([i for i in market() if i["armRegionName"] == "eastus"]) as retail:
        monkeypatch.setenv("GPUCOST_AZURE_PRICES_URL", retail.url)
        code, out, _ = run(capsys, "refresh", "--provider", "azure",
                           "--regions", "eastus,westus3", "--out", "s3://team/p")
    assert code == 1 and "westus3: FAILED" in out
    offers = load_catalog("s3://team/p").offers
    stale = offers[offers["region"] == "westus3"]
    assert len(stale) == 1 and bool(stale["stale"].iloc[0])


def test_missing_bucket_is_one_line(s3_endpoint, capsys, tmp_path):
    code, _, err = run(capsys, "prices", "--snapshot", "s3://no-such-bucket/x")
    assert code == 2
    assert err.strip().splitlines() == [
        "gpucost: error: s3://no-such-bucket/x: --snapshot: an existing bucket "
        "(no-such-bucket not found)"]
    code, _, err = run(capsys, "refresh", "--provider", "azure", "--out",
                       "s3://no-such-bucket/x")
    assert code == 2 and "Traceback" not in err
    assert "s3://no-such-bucket/x: --out: an existing bucket" in err


class _Files:
    """A loopback web server answering each path from a dict (status, content type, body)."""

    def __init__(self, pages: dict[str, tuple[int, str, bytes]]) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                status, kind, body = pages.get(self.path, (404, "text/plain", b"missing"))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_HEAD = do_GET  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.filterwarnings("ignore::gpucost.catalog.snapshot.StaleSnapshotWarning")
def test_https_style_one_file_url_then_offline(capsys, tmp_path):
    shipped = Path(__file__).resolve().parents[2] / "pricing_snapshots" / "aws"
    newest = sorted(shipped.glob("????-??-??.csv"))[-1]
    files = _Files({f"/s/aws/{newest.name}": (200, "text/csv", newest.read_bytes()),
                    "/login": (200, "text/html", b"<!DOCTYPE html><html>sign in</html>")})
    try:
        url = f"{files.base}/s/aws/{newest.name}"
        catalog = load_catalog(url)
        assert set(catalog.offers["provider"]) == {"aws"}
        assert catalog.files[0].origin.startswith(url + ", fetched ")

        code, _, err = run(capsys, "prices", "--snapshot", f"{files.base}/login")
        assert code == 2
        assert err.strip().splitlines() == [
            f"gpucost: error: {files.base}/login: --snapshot: a CSV snapshot file, got an "
            "HTML/XML page"]
        code, _, err = run(capsys, "prices", "--snapshot", f"{files.base}/nothing.csv")
        assert code == 2 and len(err.strip().splitlines()) == 1
        assert "a URL that serves a CSV snapshot" in err
    finally:
        files.stop()
    with pytest.warns(CachedSnapshotWarning, match="using the copy cached"):
        again = load_catalog(url)
    assert again.offers.equals(catalog.offers)


def test_unreachable_location_without_cache_is_one_line(capsys):
    files = _Files({})
    base = files.base
    files.stop()
    code, _, err = run(capsys, "prices", "--snapshot", f"{base}/aws/2025-08-01.csv")
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert "no cached copy exists" in err


def test_is_remote():
    assert is_remote("s3://b/p") and is_remote("gs://b") and is_remote("https://x/y.csv")
    assert not is_remote("pricing_snapshots") and not is_remote(Path("s3:/b"))
    assert not is_remote("C:\\\\snapshots") and json  # json imported for fixtures


def test_unreachable_endpoint_is_detected_at_once_unless_a_proxy_decides(monkeypatch):
    import socket
    import time

    from gpucost.catalog.remote import unreachable

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
        for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY",
                     "all_proxy"):
            monkeypatch.delenv(name, raising=False)
        started = time.monotonic()
        assert f"127.0.0.1:{port} unreachable" in unreachable("gs://team/x")
        assert time.monotonic() - started < 2
        monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
        assert unreachable("gs://team/x") is None

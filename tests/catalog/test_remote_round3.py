"""Remote snapshots against an adversary (issue 19, items 11, 13 and 14): a bad 200
answer must not destroy the cached copy, a stalled or dripping endpoint must not hang
`prices`/`plan`, and a huge body is refused instead of buffered. Loopback servers only:
an https-style file server whose behaviour the test switches, moto's S3 server, and a
socket that accepts connections and never answers."""

from __future__ import annotations

import datetime as dt
import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.catalog.test_remote import isolated, run, s3_endpoint  # noqa: F401 (fixtures)

TODAY = dt.datetime.now(dt.UTC).date().isoformat()
HEADER = ("provider,region,zone,instance_type,gpu,gpu_count,gpu_memory_gib,vcpus,memory_gib,"
          "network_gbps,rdma,gpu_link,pricing,usd_per_hour,as_of,source,stale")
GOOD = (f"{HEADER}\naws,us-east-1,,p4d.24xlarge,A100-40GB,8,40,96,1152,400,True,nvswitch,"
        f"on_demand,32.77,{TODAY},test: hand-made,False\n").encode()


class Switchable:
    """A loopback web server whose answer the test changes: ``mode`` is one of "good",
    "json-error", "empty", "silent" (reads the request, never answers), "drip" (one byte
    every half second), "huge" (a body over the cap, with or without Content-Length)."""

    def __init__(self) -> None:
        self.mode = "good"
        self.huge_bytes = 0
        self.announce_length = True
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                mode = owner.mode
                if mode == "silent":
                    time.sleep(30)
                    return
                body = {"good": GOOD, "json-error": b'{"error": "quota exceeded"}',
                        "empty": b"", "drip": GOOD, "huge": b""}[mode]
                length = owner.huge_bytes if mode == "huge" else len(body)
                self.send_response(200)
                self.send_header("Content-Type", "text/csv")
                if mode != "huge" or owner.announce_length:
                    self.send_header("Content-Length", str(length))
                self.end_headers()
                try:
                    if mode == "drip":
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.5)
                    elif mode == "huge":
                        line = GOOD.splitlines(keepends=True)[1]
                        sent = self.wfile.write(GOOD)
                        while sent < length:
                            sent += self.wfile.write(line * 1000)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_HEAD(self) -> None:  # noqa: N802
                if owner.mode == "silent":
                    time.sleep(30)
                    return
                self.send_response(200)
                if owner.mode != "huge" or owner.announce_length:
                    size = owner.huge_bytes if owner.mode == "huge" else len(GOOD)
                    self.send_header("Content-Length", str(size))
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/s/aws/{TODAY}.csv"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    files = Switchable()
    yield files
    files.stop()


def json_prices(capsys, location: str) -> tuple[int, list[dict], str]:
    code, out, err = run(capsys, "prices", "--snapshot", location, "-o", "json")
    return code, (json.loads(out) if code == 0 else []), err


def one_line(code: int, out: str, err: str) -> str:
    assert code == 2 and out == "", (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- item 11: a bad answer keeps the cached copy -------------------------------------------

@pytest.mark.parametrize(("mode", "expected"), [
    ("json-error", "missing column(s)"), ("empty", "header: columns provider")])
def test_a_bad_200_answer_keeps_the_cached_copy(server, capsys, mode, expected):
    code, offers, err = json_prices(capsys, server.url)
    assert code == 0, err
    assert [o["usd_per_hour"] for o in offers] == [32.77]
    server.mode = mode
    line = one_line(*run(capsys, "prices", "--snapshot", server.url))
    assert expected in line and "the copy cached earlier is kept" in line
    assert server.url in line
    server.stop()  # offline now: the good copy still serves
    code, offers, err = json_prices(capsys, server.url)
    assert code == 0, err
    assert "using the copy cached" in err
    assert [o["usd_per_hour"] for o in offers] == [32.77]


def test_a_poisoned_bucket_file_keeps_the_cached_copy(s3_endpoint, capsys):  # noqa: F811
    import boto3

    # (moto's server keeps one store per process: a prefix of its own for this test)

    s3 = boto3.client("s3", endpoint_url=f"http://{s3_endpoint.get_host_and_port()[0]}:"
                                         f"{s3_endpoint.get_host_and_port()[1]}")
    s3.put_object(Bucket="team", Key=f"poisoned/aws/{TODAY}.csv", Body=GOOD)
    code, offers, err = json_prices(capsys, "s3://team/poisoned")
    assert code == 0 and len(offers) == 1, err
    s3.put_object(Bucket="team", Key=f"poisoned/aws/{TODAY}.csv",
                  Body=GOOD.replace(b"32.77", b"1e-09"))
    line = one_line(*run(capsys, "prices", "--snapshot", "s3://team/poisoned"))
    assert f"s3://team/poisoned/aws/{TODAY}.csv, row 2: usd_per_hour" in line
    assert "the copy cached earlier is kept" in line
    s3_endpoint.stop()
    code, offers, err = json_prices(capsys, "s3://team/poisoned")
    assert code == 0 and [o["usd_per_hour"] for o in offers] == [32.77], err


# -- item 13: a total deadline, then the cache ----------------------------------------------

@pytest.mark.parametrize("mode", ["silent", "drip"])
def test_a_stalled_or_dripping_url_falls_back_to_the_cache_in_seconds(server, capsys,
                                                                      monkeypatch, mode):
    assert json_prices(capsys, server.url)[0] == 0
    monkeypatch.setenv("GPUCOST_REMOTE_TIMEOUT", "2")
    server.mode = mode
    started = time.monotonic()
    code, offers, err = json_prices(capsys, server.url)
    took = time.monotonic() - started
    assert code == 0, err
    assert took < 8, took
    assert "no complete answer within 2s" in err and "using the copy cached" in err
    assert [o["usd_per_hour"] for o in offers] == [32.77]


def test_a_stalled_url_without_a_cache_is_one_line(server, capsys, monkeypatch):
    monkeypatch.setenv("GPUCOST_REMOTE_TIMEOUT", "1")
    server.mode = "silent"
    started = time.monotonic()
    line = one_line(*run(capsys, "prices", "--snapshot", server.url))
    assert time.monotonic() - started < 6
    assert "no cached copy exists (TimeoutError: no complete answer within 1s" in line


@pytest.fixture
def silent_endpoint():
    """A TCP server that accepts connections and never answers (a stalled S3)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    stop.set()
    thread.join(2)
    for conn in accepted:
        conn.close()
    sock.close()


def test_a_stalled_s3_endpoint_falls_back_to_the_cache_in_seconds(
        s3_endpoint, silent_endpoint, capsys, monkeypatch):  # noqa: F811
    import boto3

    host, port = s3_endpoint.get_host_and_port()
    boto3.client("s3", endpoint_url=f"http://{host}:{port}").put_object(
        Bucket="team", Key=f"stalled/aws/{TODAY}.csv", Body=GOOD)
    assert json_prices(capsys, "s3://team/stalled")[0] == 0
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", silent_endpoint)
    monkeypatch.setenv("GPUCOST_REMOTE_TIMEOUT", "2")
    started = time.monotonic()
    code, offers, err = json_prices(capsys, "s3://team/stalled")
    assert code == 0, err
    assert time.monotonic() - started < 8
    assert "using the copy cached" in err and [o["usd_per_hour"] for o in offers] == [32.77]


@pytest.mark.parametrize("value", ["nan", "inf", "0", "-1", "soon"])
def test_the_remote_deadline_must_be_a_positive_number(server, capsys, monkeypatch, value):
    monkeypatch.setenv("GPUCOST_REMOTE_TIMEOUT", value)
    line = one_line(*run(capsys, "prices", "--snapshot", server.url))
    assert "GPUCOST_REMOTE_TIMEOUT: value: a positive number of seconds" in line


# -- item 14: a size cap, remote and local ---------------------------------------------------

@pytest.mark.parametrize("announce", [True, False])
def test_a_huge_remote_body_is_refused_and_the_cache_kept(server, capsys, monkeypatch,
                                                          announce):
    assert json_prices(capsys, server.url)[0] == 0
    monkeypatch.setenv("GPUCOST_SNAPSHOT_MAX_MIB", "1")
    server.mode, server.huge_bytes, server.announce_length = "huge", 3 * 2**20, announce
    line = one_line(*run(capsys, "prices", "--snapshot", server.url))
    assert "file: a snapshot of at most 1 MiB ($GPUCOST_SNAPSHOT_MAX_MIB raises the cap)" \
        in line
    server.mode = "good"
    server.stop()
    code, offers, err = json_prices(capsys, server.url)
    assert code == 0 and [o["usd_per_hour"] for o in offers] == [32.77], err


def test_a_1_gb_local_snapshot_is_refused_without_reading_it_whole(capsys, tmp_path):
    path = tmp_path / "snap" / "aws" / f"{TODAY}.csv"
    path.parent.mkdir(parents=True)
    with path.open("wb") as fh:  # sparse: a gigabyte on paper, nothing on disk
        fh.write(GOOD)
        fh.truncate(2**30)
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    line = one_line(*run(capsys, "prices", "--snapshot", str(tmp_path / "snap")))
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert f"{path}: file: a snapshot of at most 32 MiB" in line
    assert grown_kib < 200 * 1024  # far below the 2.2 GB a whole read took
    assert Path(path).stat().st_size == 2**30

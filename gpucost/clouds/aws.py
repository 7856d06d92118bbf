"""boto3 clients with throttling-aware retries, and AWS errors as one line.

Shared by the AWS provider adapter (refresh) and the AWS launch backend.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gpucost.formatting import redact_urls

# (service, region) -> botocore client. Tests pass one returning moto-backed or
# Stubber-activated real clients.
ClientFactory = Callable[[str, str], Any]


# HTTP timeouts per attempt (botocore's defaults are 60 s each, times 10 attempts).
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0


def retry_config(timeout: float | None = None) -> Any:
    """Adaptive retries (client-side rate limiting plus backoff on throttling), and
    connect/read timeouts no longer than ``timeout`` (a total deadline, seconds)."""
    import os

    from botocore.config import Config

    cap = timeout if timeout is not None else float("inf")
    # An explicit Config would override the user's AWS_MAX_ATTEMPTS: honour it here.
    attempts = os.environ.get("AWS_MAX_ATTEMPTS", "")
    max_attempts = int(attempts) if attempts.isdigit() and int(attempts) > 0 else 10
    return Config(retries={"mode": "adaptive", "max_attempts": max_attempts},
                  connect_timeout=min(CONNECT_TIMEOUT_S, cap),
                  read_timeout=min(READ_TIMEOUT_S, cap))


def stop_at(client: Any, deadline: float) -> Any:
    """Make every request attempt of ``client`` after ``deadline`` (time.monotonic())
    fail at once, so retries cannot outlive a total deadline."""
    import time

    def check(request: Any, **_: Any) -> None:
        if time.monotonic() >= deadline:
            raise _deadline_error()(endpoint_url=redact_urls(str(request.url)))

    client.meta.events.register("before-send", check)
    return client


@functools.cache
def _deadline_error() -> type:
    """A BotoCoreError botocore does not retry (a timeout error would be retried)."""
    from botocore.exceptions import BotoCoreError

    class DeadlinePassed(BotoCoreError):
        fmt = "gave up before calling {endpoint_url}: the deadline has passed"

    return DeadlinePassed


def session_client_factory(session: Any, timeout: float | None = None) -> ClientFactory:
    """A factory making clients from ``session`` with the retry configuration; with
    ``timeout``, no client makes a request more than ``timeout`` seconds from now."""
    import time

    config = retry_config(timeout)
    deadline = time.monotonic() + timeout if timeout is not None else None

    def make(service: str, region: str) -> Any:
        client = session.client(service, region_name=region, config=config)
        return stop_at(client, deadline) if deadline is not None else client

    return make


def default_client_factory() -> ClientFactory:
    """Clients from boto3's default session (profile, keys, config files), with retries."""
    import boto3

    config = retry_config()

    def make(service: str, region: str) -> Any:
        return boto3.client(service, region_name=region, config=config)

    return make


def one_line(text: str) -> str:
    """Collapse whitespace so a reason fits on one line (credentials in URLs redacted)."""
    return redact_urls(" ".join(text.split()))


def error_code(exc: BaseException) -> str:
    """The AWS error code of a ClientError ("" for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        return str(response["Error"].get("Code") or "")
    return ""


def error_reason(exc: BaseException) -> str:
    """``"<ErrorCode>: <message>"`` for a ClientError, ``"<ExceptionName>: <text>"`` else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        code = error.get("Code") or type(exc).__name__
        message = error.get("Message") or ""
        return one_line(f"{code}: {message}" if message else str(code))
    return one_line(f"{type(exc).__name__}: {exc}")

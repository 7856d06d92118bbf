"""boto3 clients with throttling-aware retries, and AWS errors as one line.

Shared by the AWS provider adapter (refresh) and the AWS launch backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpucost.formatting import redact_urls

# (service, region) -> botocore client. Tests pass one returning moto-backed or
# Stubber-activated real clients.
ClientFactory = Callable[[str, str], Any]


def retry_config() -> Any:
    """Adaptive retries (client-side rate limiting plus backoff on throttling)."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 10})


def session_client_factory(session: Any) -> ClientFactory:
    """A factory making clients from ``session`` with the retry configuration."""
    config = retry_config()

    def make(service: str, region: str) -> Any:
        return session.client(service, region_name=region, config=config)

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

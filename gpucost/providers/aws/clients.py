"""boto3 client construction, credential check and one-line error reasons.

boto3 is imported inside the functions so that importing gpucost never loads it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpucost.providers.base import ProviderUnavailable

# (service, region) -> botocore client. Tests pass one returning moto-backed or
# Stubber-activated real clients. The provider calls it from the main thread only.
ClientFactory = Callable[[str, str], Any]

# The Price List Query API only lives in us-east-1, eu-central-1 and ap-south-1.
PRICING_ENDPOINT_REGION = "us-east-1"
DEFAULT_REGION = "us-east-1"

NO_CREDENTIALS = ("aws: no credentials found; set AWS_PROFILE or "
                  "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure`")


def retry_config() -> Any:
    """Adaptive retries (client-side rate limiting plus backoff on throttling)."""
    from botocore.config import Config

    return Config(retries={"mode": "adaptive", "max_attempts": 10})


def default_session() -> Any:
    """A fresh boto3 session from the environment (AWS_PROFILE, env keys, config files)."""
    import boto3

    return boto3.session.Session()


def session_client_factory(session: Any) -> ClientFactory:
    """A factory making clients from ``session`` with the retry configuration."""
    config = retry_config()

    def make(service: str, region: str) -> Any:
        return session.client(service, region_name=region, config=config)

    return make


def ensure_credentials(session: Any) -> None:
    """Raise :class:`ProviderUnavailable` when ``session`` has no usable credentials."""
    from botocore.exceptions import BotoCoreError

    try:
        credentials = session.get_credentials()
    except BotoCoreError as exc:  # e.g. ProfileNotFound: names the profile, no secret
        raise ProviderUnavailable(f"aws: {one_line(str(exc))}") from None
    if credentials is None:
        raise ProviderUnavailable(NO_CREDENTIALS)


def one_line(text: str) -> str:
    """Collapse whitespace so a reason fits on one line."""
    return " ".join(text.split())


def error_reason(exc: BaseException) -> str:
    """``"<ErrorCode>: <message>"`` for a ClientError, ``"<ExceptionName>: <text>"`` else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and isinstance(response.get("Error"), dict):
        error = response["Error"]
        code = error.get("Code") or type(exc).__name__
        message = error.get("Message") or ""
        return one_line(f"{code}: {message}" if message else str(code))
    return one_line(f"{type(exc).__name__}: {exc}")


def aws_errors() -> tuple[type[BaseException], ...]:
    """The botocore exception bases a failing AWS call raises (ClientError, BotoCoreError)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)

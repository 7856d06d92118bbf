"""The AWS adapter's session, credential check and endpoints (clients, retries and
one-line error reasons come from :mod:`gpucost.clouds.aws`).

boto3 is imported inside the functions so that importing gpucost never loads it.
"""

from __future__ import annotations

from typing import Any

from gpucost.clouds.aws import (  # noqa: F401 - the adapter's modules import them from here
    ClientFactory,
    error_reason,
    one_line,
    retry_config,
    session_client_factory,
)
from gpucost.providers.base import ProviderUnavailable

# The Price List Query API only lives in us-east-1, eu-central-1 and ap-south-1.
PRICING_ENDPOINT_REGION = "us-east-1"
DEFAULT_REGION = "us-east-1"

NO_CREDENTIALS = ("aws: no credentials found; set AWS_PROFILE or "
                  "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run `aws configure`")


def default_session() -> Any:
    """A fresh boto3 session from the environment (AWS_PROFILE, env keys, config files)."""
    import boto3

    return boto3.session.Session()


def ensure_credentials(session: Any) -> None:
    """Raise :class:`ProviderUnavailable` when ``session`` has no usable credentials."""
    from botocore.exceptions import BotoCoreError

    try:
        credentials = session.get_credentials()
    except BotoCoreError as exc:  # e.g. ProfileNotFound: names the profile, no secret
        raise ProviderUnavailable(f"aws: {one_line(str(exc))}") from None
    if credentials is None:
        raise ProviderUnavailable(NO_CREDENTIALS)


def aws_errors() -> tuple[type[BaseException], ...]:
    """The botocore exception bases a failing AWS call raises (ClientError, BotoCoreError)."""
    from botocore.exceptions import BotoCoreError, ClientError

    return (ClientError, BotoCoreError)

"""Google Cloud credentials, shared by the GCP provider adapter and launch backend."""

from __future__ import annotations

from typing import Any

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]


def application_default_credentials() -> tuple[Any, str | None] | None:
    """``(credentials, project)`` from application-default credentials, or ``None`` when
    there are none (each caller says so in its own terms)."""
    import google.auth
    from google.auth.exceptions import DefaultCredentialsError

    try:
        return google.auth.default(scopes=SCOPES)
    except DefaultCredentialsError:
        return None

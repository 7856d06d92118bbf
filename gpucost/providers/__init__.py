"""The registry of provider adapters: the only place that lists the clouds.

Adding a provider means adding one module with a class implementing
:class:`gpucost.providers.base.Provider` and one line here. Entries are import paths so
that looking up the registry never imports a cloud SDK.
"""

from __future__ import annotations

from gpucost.errors import InputError
from gpucost.plugins import import_class
from gpucost.providers.base import FetchResult, Provider, ProviderUnavailable

REGISTRY: dict[str, str] = {
    "aws": "gpucost.providers.aws:AwsProvider",
    "gcp": "gpucost.providers.gcp:GcpProvider",
}


def provider_names() -> list[str]:
    """Names of all registered providers."""
    return list(REGISTRY)


def get_provider(name: str, **options: object) -> Provider:
    """Instantiate the adapter registered as ``name`` (options go to its constructor)."""
    if name not in REGISTRY:
        raise InputError("--provider", name, f"one of {', '.join(REGISTRY)}")
    return import_class(REGISTRY[name])(**options)


__all__ = ["REGISTRY", "FetchResult", "Provider", "ProviderUnavailable", "get_provider",
           "provider_names"]

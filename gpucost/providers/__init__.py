"""The registry of provider adapters: the only place that lists the clouds.

Entries are import paths (``"package.module:Class"``) so that looking up the registry
never imports a cloud SDK. A built-in provider is one module with a class implementing
:class:`gpucost.providers.base.Provider` plus one line in :data:`REGISTRY`.

A fourth cloud can also come from another package, without touching gpucost: that package
declares an entry point in the group :data:`ENTRY_POINT_GROUP`, e.g. in its
``pyproject.toml``::

    [project.entry-points."gpucost.providers"]
    mycloud = "gpucost_mycloud.provider:MyCloudProvider"

and ``gpucost refresh --provider mycloud`` then works like a built-in one (a built-in
name cannot be replaced).
"""

from __future__ import annotations

from gpucost.errors import InputError
from gpucost.plugins import import_class
from gpucost.providers.base import FetchResult, Provider, ProviderUnavailable

REGISTRY: dict[str, str] = {
    "aws": "gpucost.providers.aws:AwsProvider",
    "gcp": "gpucost.providers.gcp:GcpProvider",
    "azure": "gpucost.providers.azure:AzureProvider",
    "lambda": "gpucost.providers.lambda_cloud:LambdaProvider",
    "vast": "gpucost.providers.vast:VastProvider",
}
ENTRY_POINT_GROUP = "gpucost.providers"
# The providers `gpucost launch` can start instances on (its backends,
# gpucost.launcher.backends.REGISTRY; a test keeps the two equal). Plans name the others'
# allocations, which run through `gpucost export --format skypilot`, and a job's
# ``constraints.launchable: true`` keeps plans to these.
LAUNCHABLE_PROVIDERS: tuple[str, ...] = ("aws", "gcp")


def registered() -> dict[str, str]:
    """Built-in providers, then those other packages register under the entry-point group
    (read from package metadata: nothing is imported)."""
    from importlib.metadata import entry_points

    found = dict(REGISTRY)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)
    return found


def provider_names() -> list[str]:
    """Names of all registered providers."""
    return list(registered())


def get_provider(name: str, **options: object) -> Provider:
    """Instantiate the adapter registered as ``name`` (options go to its constructor)."""
    known = registered()
    if name not in known:
        raise InputError("--provider", name, f"one of {', '.join(known)}")
    return import_class(known[name])(**options)


__all__ = ["ENTRY_POINT_GROUP", "LAUNCHABLE_PROVIDERS", "REGISTRY", "FetchResult", "Provider",
           "ProviderUnavailable", "get_provider", "provider_names", "registered"]

"""The user's launch configuration: what a plan does not say (image, network, keys).

A YAML file, by default ``launch.yaml`` in the gpucost user config folder
(``~/.config/gpucost/launch.yaml`` on Linux, via :func:`platformdirs.user_config_dir`), or
the file given with ``--config``. A missing default file is fine (everything has a
default); a missing ``--config`` file is an error. Command-line flags override the file.

    aws:
      image: ami-0123...            # default: the region's Deep Learning AMI (SSM lookup)
      key_name: my-key
      subnet_id: subnet-0abc...
      security_group_ids: [sg-0abc...]
      regions:                      # per-region overrides of the keys above
        us-west-2: {subnet_id: subnet-0def..., security_group_ids: [sg-0def...]}
    gcp:
      project: my-project           # default: the project of the default credentials
      network: global/networks/default
      subnetwork: regions/us-central1/subnetworks/default   # optional
      image: projects/deeplearning-platform-release/global/images/family/...
      disk_gb: 200
    max_instances: 64               # most instances one launch may create (default 64)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpucost.errors import InputError
from gpucost.files import load_yaml
from gpucost.launcher.backends import backend_names

# Keys each provider section accepts; anything else is a typo worth reporting.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "aws": ("image", "key_name", "subnet_id", "security_group_ids", "regions"),
    "gcp": ("image", "project", "network", "subnetwork", "disk_gb", "service_account"),
}


def default_config_path() -> Path:
    """``launch.yaml`` in the platform's user config folder for gpucost."""
    from platformdirs import user_config_dir

    return Path(user_config_dir("gpucost")) / "launch.yaml"


DEFAULT_MAX_INSTANCES = 64  # the launch guard's cap (gpucost.launcher.safety)


@dataclass
class LaunchConfig:
    """Settings per provider: ``settings["aws"]["key_name"]`` etc."""

    settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    source: str = "(defaults)"
    max_instances: int = DEFAULT_MAX_INSTANCES

    def provider(self, name: str) -> dict[str, Any]:
        """A copy of the settings of provider ``name`` (empty if none)."""
        return copy.deepcopy(self.settings.get(name, {}))

    def override(self, provider: str, key: str, value: Any) -> None:
        """Set ``key`` for ``provider`` (flags win over the file); ``None`` is ignored."""
        if value is None or value == () or value == []:
            return
        self.settings.setdefault(provider, {})[key] = value


def region_settings(settings: dict[str, Any], region: str) -> dict[str, Any]:
    """Provider settings with the ``regions: {region: {...}}`` overrides applied."""
    merged = {k: v for k, v in settings.items() if k != "regions"}
    merged.update((settings.get("regions") or {}).get(region) or {})
    return merged


def load_config(path: str | Path | None = None) -> LaunchConfig:
    """Read the launch config at ``path`` (None: the default file, if it exists)."""
    explicit = path is not None
    file = Path(path) if explicit else default_config_path()
    if not file.exists():
        if explicit:
            raise InputError(str(file), "file", "an existing launch config YAML file")
        return LaunchConfig()
    data = load_yaml(file, "launch config") or {}
    if not isinstance(data, dict):
        raise InputError(str(file), "top level", "a mapping of provider name to settings")
    cap = data.pop("max_instances", DEFAULT_MAX_INSTANCES)
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise InputError(str(file), "max_instances", f"a whole number >= 1, got {cap!r}")
    for provider, section in data.items():
        if provider not in PROVIDER_KEYS:
            raise InputError(str(file), str(provider), f"one of {', '.join(PROVIDER_KEYS)}")
        if not isinstance(section, dict):
            raise InputError(str(file), provider, "a mapping of settings")
        unknown = sorted(set(section) - set(PROVIDER_KEYS[provider]))
        if unknown:
            raise InputError(str(file), f"{provider}.{unknown[0]}",
                             f"one of {', '.join(PROVIDER_KEYS[provider])}")
        sgs = section.get("security_group_ids")
        if isinstance(sgs, str):
            section["security_group_ids"] = [sgs]
    return LaunchConfig(settings=data, source=str(file), max_instances=cap)


def apply_flags(config: LaunchConfig, providers: list[str], images: tuple[str, ...],
                flags: dict[str, tuple[str, Any]]) -> None:
    """Apply ``--image [PROVIDER=]IMAGE`` values and ``{key: (provider, value)}`` flags."""
    for spec in images:
        provider, sep, image = spec.partition("=")
        if not sep:
            if len(providers) != 1:
                raise InputError("--image", spec, "PROVIDER=IMAGE when the plan uses "
                                 f"several providers ({', '.join(providers)})")
            provider, image = providers[0], spec
        if provider not in backend_names() or not image:
            raise InputError("--image", spec, f"[PROVIDER=]IMAGE with PROVIDER one of "
                             f"{', '.join(backend_names())}")
        config.override(provider, "image", image)
    for key, (provider, value) in flags.items():
        config.override(provider, key, value)

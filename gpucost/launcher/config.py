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
      gpu_networks:                 # A3 only: one subnetwork per extra GPUDirect NIC
        - regions/us-central1/subnetworks/gpu-net-1
    job:                            # what runs on every instance (see bootstrap.py)
      setup: pip install -r requirements.txt
      run: torchrun --nnodes $NNODES --nproc-per-node $GPUS_PER_NODE ... train.py
      container: nvcr.io/nvidia/pytorch:24.05-py3   # optional: run `run` inside it
      envs: {WANDB_PROJECT: llm}
      on_exit: terminate            # terminate | stop | keep, when the run command exits
      hard_limit_hours: 40          # default: the allocation's planned hours + 20%
      master_port: 29500
    max_instances: 64               # most instances one launch may create (default 64)
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpucost.errors import InputError, one_line
from gpucost.files import load_yaml
from gpucost.launcher.backends import backend_names

# Keys each provider section accepts; anything else is a typo worth reporting.
PROVIDER_KEYS: dict[str, tuple[str, ...]] = {
    "aws": ("image", "key_name", "subnet_id", "security_group_ids", "regions",
            "iam_instance_profile"),
    "gcp": ("image", "project", "network", "subnetwork", "disk_gb", "service_account",
            "gpu_networks"),
    "job": ("setup", "run", "container", "envs", "on_exit", "hard_limit_hours",
            "master_port"),
}
ON_EXIT = ("terminate", "stop", "keep")
# What bash accepts as a variable name (``str.isidentifier`` also takes "café", which
# bash drops from the environment).
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A hard limit must leave time to boot and be one GCE accepts as maxRunDuration (at most
# 120 days); nan, inf or 1e-9 would arm no timer or a 0 s one.
MIN_HARD_LIMIT_HOURS = 0.25
MAX_HARD_LIMIT_HOURS = 120 * 24


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
        """A copy of the settings of provider ``name`` (empty if none), with the ``job``
        section under ``"job"``: every backend writes the same job into its boot script."""
        settings = copy.deepcopy(self.settings.get(name, {}))
        if name != "job" and self.settings.get("job"):
            settings["job"] = copy.deepcopy(self.settings["job"])
        return settings

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
        nets = section.get("gpu_networks")
        if nets is not None and (not isinstance(nets, list)
                                 or not all(isinstance(n, str) and n for n in nets)):
            raise InputError(str(file), f"{provider}.gpu_networks", "a list of subnetworks "
                             "(regions/REGION/subnetworks/NAME), one per extra GPU NIC")
    check_job(data.get("job") or {}, str(file), "job.")
    return LaunchConfig(settings=data, source=str(file), max_instances=cap)


def check_job(job: dict[str, Any], where: str, prefix: str = "") -> None:
    """Validate the ``job`` settings (from the file, or flags with ``prefix`` '')."""
    for key in ("setup", "run", "container"):
        if job.get(key) is not None and not isinstance(job[key], str):
            raise InputError(where, f"{prefix}{key}", f"a shell command string, got {job[key]!r}")
    envs = job.get("envs")
    if envs is not None and (not isinstance(envs, dict) or not all(
            isinstance(k, str) and ENV_NAME.fullmatch(k) for k in envs)):
        raise InputError(where, f"{prefix}envs", "a mapping of NAME: value (NAME letters, "
                         "digits and '_', not starting with a digit)")
    if job.get("on_exit") is not None and job["on_exit"] not in ON_EXIT:
        raise InputError(where, f"{prefix}on_exit", f"one of {', '.join(ON_EXIT)}, got "
                         f"{job['on_exit']!r}")
    limit = job.get("hard_limit_hours")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int | float)
                              or not math.isfinite(limit)
                              or not MIN_HARD_LIMIT_HOURS <= limit <= MAX_HARD_LIMIT_HOURS):
        raise InputError(where, f"{prefix}hard_limit_hours", f"a number of hours from "
                         f"{MIN_HARD_LIMIT_HOURS:g} to {MAX_HARD_LIMIT_HOURS:g}, got {limit!r}")
    port = job.get("master_port")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)
                             or not 1 <= port <= 65535):
        raise InputError(where, f"{prefix}master_port", f"a port number, got {port!r}")


def parse_env_flags(values: tuple[str, ...]) -> dict[str, str]:
    """``--env NAME=VALUE`` flags as a mapping (InputError on a bad one)."""
    envs: dict[str, str] = {}
    for spec in values:
        name, sep, value = spec.partition("=")
        if not sep or not ENV_NAME.fullmatch(name):
            raise InputError("--env", one_line(spec, 80), "NAME=VALUE with NAME letters, digits "
                             "and '_', not starting with a digit")
        envs[name] = value
    return envs


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
    job = config.settings.get("job") or {}
    check_job(job, "launch flags")
    if job.get("container") and not job.get("run"):
        raise InputError(config.source, "job.container", "a run command to run in the "
                         "container (job.run or --run)")

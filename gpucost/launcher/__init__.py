"""The launcher: provision a plan on the clouds, track it, tear it down, export it.

- :mod:`~gpucost.launcher.plan_file` loads and validates a plan JSON file;
- :mod:`~gpucost.launcher.safety` refuses over-budget, infeasible or stale plans;
- :mod:`~gpucost.launcher.dryrun` describes what a launch would create (the default);
- :mod:`~gpucost.launcher.runner` launches all-or-nothing through the backends registered
  in :mod:`~gpucost.launcher.backends` (:mod:`~gpucost.launcher.aws`,
  :mod:`~gpucost.launcher.gcp`), which find and terminate instances by tag / label;
- :mod:`~gpucost.launcher.bootstrap` writes what every instance runs at boot (the job, its
  rank variables, the self-termination);
- :mod:`~gpucost.launcher.status` turns what the backends find into uptime and spend;
- :mod:`~gpucost.launcher.state` keeps a small local record (never required);
- :mod:`~gpucost.launcher.skypilot` exports a plan as SkyPilot task YAML.

Cloud SDKs are imported inside functions only.
"""

from __future__ import annotations

from gpucost.launcher.backends import CapacityError, Instance, LaunchError, get_backend
from gpucost.launcher.config import LaunchConfig, load_config
from gpucost.launcher.dryrun import describe
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation, load_plan, parse_plan
from gpucost.launcher.runner import LaunchResult, launch_plan, make_backends
from gpucost.launcher.safety import refusal_reasons
from gpucost.launcher.skypilot import export_skypilot

__all__ = ["CapacityError", "Instance", "LaunchConfig", "LaunchError", "LaunchPlan",
           "LaunchResult", "PlanAllocation", "describe", "export_skypilot", "get_backend",
           "launch_plan", "load_config", "load_plan", "make_backends", "parse_plan",
           "refusal_reasons"]

"""Find a plan's instances across providers, for ``status`` and ``down``.

Which providers: those given, else those of the local launch record, else all
registered. Where: the given regions, else the record's; a backend whose
``needs_regions`` is true (AWS) cannot search without one, GCP searches all zones.
Settings: the launch config, then what the record saved (e.g. the GCP project used at
launch), then command-line ``overrides``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from gpucost.launcher.backends import Backend, Instance, LaunchError, backend_names, get_backend
from gpucost.launcher.config import LaunchConfig
from gpucost.launcher.naming import check_plan_id
from gpucost.launcher.state import read_state

Found = list[tuple[Backend, list[Instance]]]


def find_plan_instances(plan_id: str, providers: Sequence[str], regions: Sequence[str],
                        config: LaunchConfig,
                        overrides: Mapping[str, Mapping[str, Any]] | None = None, *,
                        warn: Callable[[str], None] = print,
                        method: str = "find",
                        skipped: list[tuple[str, str]] | None = None) -> tuple[Found, bool]:
    """The plan's instances per searched backend, and whether every provider could be
    searched: one that could not (no credentials, no region) makes the answer
    incomplete, since "no instances found" would not be true of it. ``method`` names the
    backend method that searches (``inspect`` for ``status``). Each provider that could not
    be searched is also appended to ``skipped`` as (name, why)."""
    check_plan_id(plan_id)  # never a wildcard: one plan's instances, matched exactly
    state = read_state(plan_id) or {}
    recorded_all: dict[str, dict[str, Any]] = state.get("providers") or {}
    complete = True
    found: Found = []
    for name in list(providers) or list(recorded_all) or backend_names():
        recorded = dict(recorded_all.get(name) or {})
        search_regions = list(regions) or list(recorded.pop("regions", []))
        settings = {**config.provider(name), **recorded,
                    **{k: v for k, v in (overrides or {}).get(name, {}).items() if v}}
        try:
            backend = get_backend(name, settings)
            if getattr(backend, "needs_regions", False) and not search_regions:
                raise LaunchError(f"no launch record of {plan_id} on this machine: pass "
                                  "--region")
            found.append((backend, getattr(backend, method)(plan_id, search_regions)))
        except LaunchError as exc:
            warn(f"gpucost: warning: {name} not searched: {exc}")
            if skipped is not None:
                skipped.append((name, str(exc)))
            complete = False
    return found, complete

"""Names in a job's constraints checked against what exists, before planning.

A typo must not plan as if it were not there (``providers: [aws, gpc]`` silently
planning on AWS alone) nor read as "no offers left" (exit 1). Unknown providers and
regions are :class:`~gpucost.errors.InputError` listing the known ones closest first;
known ones are matched case-insensitively and rewritten in the snapshot's spelling.
GPU names are checked when the job file is parsed (against the alias table).
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from gpucost.catalog.query import resolve_names
from gpucost.job.spec import JobSpec
from gpucost.providers import provider_names


def check_constraint_names(job: JobSpec, offers: pd.DataFrame) -> JobSpec:
    """``job`` with its providers and regions in the snapshot's spelling; raises for
    names no registered provider / no snapshot row has."""
    c = job.constraints
    where = job.source or "<job>"
    providers = resolve_names(c.providers, [*provider_names(), *offers["provider"].unique()],
                              where, "constraints.providers", "a known provider")
    regions = resolve_names(c.regions, offers["region"].unique(), where, "constraints.regions",
                            "a region that the snapshot has offers in")
    if tuple(providers) == c.providers and tuple(regions) == c.regions:
        return job
    return replace(job, constraints=replace(c, providers=tuple(providers),
                                            regions=tuple(regions)))

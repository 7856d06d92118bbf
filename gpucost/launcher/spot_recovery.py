"""What gpucost's own launcher cannot keep alive: spot instances it does not replace.

``gpucost launch`` creates one-time spot instances (AWS) and spot VMs without automatic
restart (GCE) and never replaces a reclaimed one. A synchronous run on several spot
instances therefore ends at its first reclaim, which the plan's renewal model (that
assumes a replacement within ``spot_restart_hours``) does not describe. Such plans are
refused (``--force`` overrides) and pointed at an engine that recovers: SkyPilot managed
jobs (``gpucost export --format skypilot --managed``, then ``sky jobs launch``), whose
``job_recovery`` relaunches the cluster and reruns the job, which resumes from its last
checkpoint. A single spot instance, or divisible work, loses only its own share: warned.
"""

from __future__ import annotations

from gpucost.launcher.bootstrap import cluster_size
from gpucost.launcher.plan_file import LaunchPlan

MANAGED_HINT = ("export it to SkyPilot managed jobs, which replace reclaimed instances and "
                "rerun the job from its checkpoint: gpucost export PLAN --format skypilot "
                "--managed -o task.yaml, then sky jobs launch task.yaml")


def unrecoverable_spot(plan: LaunchPlan) -> list[str]:
    """Warnings: allocations where one reclaim ends a multi-instance run."""
    return [f"allocations[{a.index}]: {a.instances} x {a.instance_type} spot train as one "
            "run, and gpucost launch does not replace a reclaimed spot instance, so the "
            f"first reclaim ends the run; {MANAGED_HINT}"
            for a in plan.allocations if a.spot and cluster_size(plan, a) > 1]


def spot_warnings(plan: LaunchPlan) -> list[str]:
    """Warnings: spot instances that work alone are not replaced either."""
    return [f"allocations[{a.index}]: {a.instances} x {a.instance_type} spot are not "
            "replaced when reclaimed; the work of a reclaimed instance stops there (use "
            "--managed SkyPilot export for recovery)"
            for a in plan.allocations if a.spot and cluster_size(plan, a) == 1]

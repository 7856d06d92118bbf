"""Export a plan as SkyPilot task YAML: one document per allocation (one per experiment
in ``experiments`` plans), in one file.

Documents are separated by ``---`` (read them with ``yaml.safe_load_all``); each is a
complete task that ``sky launch`` accepts on its own, named ``<plan-id>-<alloc>``, e.g.

    name: llm-1a2b3c4d-0
    num_nodes: 2
    resources: {cloud: aws, region: us-east-1, zone: us-east-1a,
                instance_type: p4d.24xlarge, accelerators: "A100:8", use_spot: true}
    envs: {GPUCOST_PLAN_ID: llm-1a2b3c4d, MASTER_PORT: "29500", ...}
    setup: pip install -r requirements.txt
    run: |
      <the variables gpucost's own launcher sets, from SkyPilot's>
      torchrun ...

With ``infra=True`` (``--infra``), resources say ``infra: aws/us-east-1/us-east-1a``
instead (SkyPilot >= 0.10 prefers it, and refuses both forms in one task).

With ``managed=True`` (``--managed``) the tasks are for SkyPilot managed jobs (``sky jobs
launch``): spot ones get ``resources.job_recovery: {strategy: FAILOVER}``, so SkyPilot
relaunches a reclaimed cluster (same region first) and reruns ``run``; ``run`` starts by
setting ``GPUCOST_RESTART`` (1 when ``GPUCOST_CHECKPOINT_DIR`` already holds a
checkpoint, so the job resumes from it). This is how a spot plan on several instances
runs as the plan's renewal model assumes (docs.skypilot.co, "Managed Jobs").

``setup``, ``run``, ``container`` (``resources.image_id: docker:...``) and ``envs`` come
from the launch config's ``job`` section or the flags. ``run`` starts by setting
``NODE_RANK``, ``NNODES``, ``GPUS_PER_NODE`` and ``MASTER_ADDR`` from SkyPilot's
``SKYPILOT_*`` variables, so the same command works under ``gpucost launch`` and ``sky``.
It runs under ``timeout`` at the hard limit (job.hard_limit_hours, default the planned
hours + 20%); ``resources.autostop`` then tears the idle cluster down (on_exit terminate)
or stops it (stop); on_exit keep and managed tasks get no autostop.

Every value goes through the YAML library (never string formatting), so a job name or
command with newlines or colons stays one value. GCP N1 types with attached GPUs
(``n1-standard-8+1xT4``) become ``instance_type: n1-standard-8`` plus the accelerators.
Accelerator names are SkyPilot's (:data:`SKYPILOT_GPU_NAMES` where they differ).
"""

from __future__ import annotations

import shlex
from typing import Any

import yaml

from gpucost.catalog.instance_types import split_instance_type
from gpucost.launcher.bootstrap import (
    JobSettings,
    cluster_size,
    environment,
    hard_limit_hours,
    work_boundaries,
)
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation

# Only where SkyPilot's name differs from our canonical one. SkyPilot calls the 40 GB
# A100 and the 16 GB V100 plain "A100" / "V100", and has one "H100" for SXM and PCIe.
SKYPILOT_GPU_NAMES: dict[str, str] = {
    "A100-40GB": "A100",
    "V100-16GB": "V100",
    "H100-PCIe": "H100",
}
# Plan provider name -> SkyPilot cloud name, where they differ.
SKYPILOT_CLOUDS: dict[str, str] = {}
# Minutes a cluster idles (its run ended, or was ended at the hard limit) before SkyPilot
# stops or tears it down: SkyPilot's own default.
AUTOSTOP_IDLE_MINUTES = 5
# Set at run time from SkyPilot's variables (the rest are fixed envs).
RUNTIME_VARIABLES = ("NODE_RANK", "NNODES", "GPUS_PER_NODE", "MASTER_ADDR", "GPUCOST_SHARE",
                     "GPUCOST_WORK_START", "GPUCOST_WORK_END")


class _Dumper(yaml.SafeDumper):
    """SafeDumper writing multi-line strings (scripts) as literal blocks."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def skypilot_gpu(gpu: str) -> str:
    return SKYPILOT_GPU_NAMES.get(gpu, gpu)


def _run_prelude(plan: LaunchPlan, alloc: PlanAllocation) -> str:
    """Shell lines mapping SkyPilot's variables onto gpucost's (fixed text, no plan values)."""
    if cluster_size(plan, alloc) > 1:
        return ("export NODE_RANK=\"$SKYPILOT_NODE_RANK\" NNODES=\"$SKYPILOT_NUM_NODES\"\n"
                "export GPUS_PER_NODE=\"$SKYPILOT_NUM_GPUS_PER_NODE\"\n"
                "export MASTER_ADDR=\"$(echo \"$SKYPILOT_NODE_IPS\" | head -n1)\"\n")
    prelude = ("export NODE_RANK=0 NNODES=1 GPUS_PER_NODE=\"$SKYPILOT_NUM_GPUS_PER_NODE\" "
               "MASTER_ADDR=127.0.0.1\n")
    if plan.mode == "divisible":  # every node works alone on its own range of the work
        prelude += ("export GPUCOST_SHARE=$((GPUCOST_SHARE_BASE + "
                    "SKYPILOT_NODE_RANK))\n"
                    "export GPUCOST_WORK_START=\"$(echo $GPUCOST_WORK_BOUNDS | cut -d' ' "
                    "-f$((SKYPILOT_NODE_RANK + 1)))\"\n"
                    "export GPUCOST_WORK_END=\"$(echo $GPUCOST_WORK_BOUNDS | cut -d' ' "
                    "-f$((SKYPILOT_NODE_RANK + 2)))\"\n")
    return prelude


# The GPUCOST_RESTART convention of managed tasks: 1 when the job's checkpoint folder
# (GPUCOST_CHECKPOINT_DIR, e.g. a mounted bucket, set with --env or job.env) already
# holds a checkpoint, as on a rerun after a reclaim; else 0. The job reads it to resume.
RESTART_PRELUDE = ('export GPUCOST_RESTART=0\n'
                   'if [ -n "${GPUCOST_CHECKPOINT_DIR:-}" ] && '
                   '[ -n "$(ls -A "$GPUCOST_CHECKPOINT_DIR" 2>/dev/null)" ]; then '
                   'export GPUCOST_RESTART=1; fi\n')


def task(plan: LaunchPlan, alloc: PlanAllocation, job: JobSettings | None = None, *,
         infra: bool = False, managed: bool = False) -> dict[str, Any]:
    """The SkyPilot task for one allocation."""
    job = job or JobSettings()
    instance_type, _, _ = split_instance_type(alloc.instance_type)
    cloud = SKYPILOT_CLOUDS.get(alloc.provider, alloc.provider)
    resources: dict[str, Any]
    if infra:
        resources = {"infra": "/".join([cloud, alloc.region] + [alloc.zone] * bool(alloc.zone))}
    else:
        resources = {"cloud": cloud, "region": alloc.region}
        if alloc.zone:
            resources["zone"] = alloc.zone
    resources.update({
        "instance_type": instance_type,
        "accelerators": f"{skypilot_gpu(alloc.gpu)}:{alloc.gpu_count}",
        "use_spot": alloc.spot,
    })
    if managed and alloc.spot:
        resources["job_recovery"] = {"strategy": "FAILOVER"}
    if not managed and job.on_exit != "keep":  # managed jobs' clusters end with the job
        resources["autostop"] = {"idle_minutes": AUTOSTOP_IDLE_MINUTES,
                                 "down": job.on_exit == "terminate"}
    if job.container:
        resources["image_id"] = f"docker:{job.container}"
    envs = {k: v for k, v in environment(plan, alloc, 0, "", job).items()
            if k not in RUNTIME_VARIABLES and not k.startswith("GPUCOST_HARD_LIMIT")
            and k != "GPUCOST_ON_EXIT"}
    if plan.mode == "divisible":
        envs["GPUCOST_SHARE_BASE"] = str(sum(a.instances for a in plan.allocations
                                             if a.index < alloc.index))
        # this allocation's instances' range boundaries; node r takes fields r+1, r+2
        envs["GPUCOST_WORK_BOUNDS"] = " ".join(work_boundaries(plan, alloc))
    doc: dict[str, Any] = {"name": f"{plan.plan_id}-{alloc.index}",
                           "num_nodes": alloc.instances, "resources": resources,
                           "envs": envs}
    if job.setup:
        doc["setup"] = job.setup
    command = job.run or "echo 'gpucost: no run command given (job.run or --run)'"
    # SkyPilot documents no wall-clock limit for a task: the run is wrapped in coreutils
    # `timeout` (TERM at the limit, KILL a minute later), so it ends at gpucost's hard
    # limit; the idle cluster is then stopped or torn down by SkyPilot's documented
    # resources.autostop {idle_minutes, down} (docs.skypilot.co, "Autostop and Autodown").
    seconds = round(hard_limit_hours(job, alloc) * 3600)
    doc["run"] = (_run_prelude(plan, alloc) + (RESTART_PRELUDE if managed else "")
                  + f"timeout --kill-after=60 {seconds} bash -c {shlex.quote(command)}\n")
    return doc


def export_skypilot(plan: LaunchPlan, job: dict[str, Any] | None = None, *,
                    infra: bool = False, managed: bool = False) -> str:
    """All allocations as a multi-document YAML string (``job``: the launch config's job
    section)."""
    settings = JobSettings.from_settings(job)
    # the header is a YAML comment: keep plan values out of it, they could break the line
    header = (f"# SkyPilot tasks exported by gpucost: {len(plan.allocations)} document(s), "
              "one per allocation.\n")
    if managed:
        header += ("# Managed jobs: run each with `sky jobs launch`; spot tasks recover "
                   "(job_recovery) and rerun from their checkpoint.\n")
    elif any(a.spot and cluster_size(plan, a) > 1 for a in plan.allocations):
        header += ("# Spot clusters here are not recovered by `sky launch`: export with "
                   "--managed and use `sky jobs launch`.\n")
    body = yaml.dump_all([task(plan, a, settings, infra=infra, managed=managed)
                          for a in plan.allocations],
                         Dumper=_Dumper, sort_keys=False, explicit_start=True,
                         allow_unicode=True)
    return header + body

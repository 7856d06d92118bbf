"""What every launched instance runs at boot: the job, wired for its place in the plan, and
the self-termination that stops the bill.

:func:`boot_script` is the EC2 user data / GCE ``startup-script`` of one instance (pure
text, no cloud call). It

1. arms the **hard limit**: power off after :func:`hard_limit_hours` whatever happens
   (``systemd-run`` timer, ``shutdown -h`` as fallback). EC2 launches with
   ``InstanceInitiatedShutdownBehavior=terminate``, so power-off ends the instance; GCE
   also gets ``scheduling.maxRunDuration`` so the limit holds even if the guest hangs;
2. writes ``/opt/gpucost/env`` with the variables below (``source`` it when logged in);
3. starts ``/opt/gpucost/job.sh`` as the ``gpucost-job`` systemd unit (log:
   ``/var/log/gpucost-job.log``): ``setup``, then ``run`` (inside ``container`` if one is
   given, ``docker run --gpus all --network host``), then reports the exit status (EC2 tag
   ``gpucost:exit-status``, which needs an instance profile allowed ``ec2:CreateTags``;
   GCE guest attribute ``gpucost/exit-status``) and applies ``on_exit``: ``terminate``
   (default), ``stop`` or ``keep``.

Variables (every distributed launcher's, for ``torchrun``): ``GPUCOST_PLAN_ID``,
``GPUCOST_ALLOCATION``, ``NODE_RANK``, ``NNODES``, ``GPUS_PER_NODE``, ``MASTER_ADDR``,
``MASTER_PORT``; ``GPUCOST_RUN`` (the experiment, or the run's name); in ``divisible``
plans ``GPUCOST_WORK_START`` / ``GPUCOST_WORK_END`` (this instance's ``[start, end)``
range of the work, as fractions of the job, proportional to the FLOPs the plan gives it:
see :mod:`gpucost.shards`), ``GPUCOST_SHARE`` / ``GPUCOST_SHARES`` (the instance's number
0..N-1 over the whole plan, and N) and ``GPUCOST_HOURS`` (how long the plan expects it
to run, start-up included);
``GPUCOST_LAYOUT_*`` from the plan's ``layout`` when it has one; then the user's ``envs``.

Rank 0 is launched first; the others get its private IP as ``MASTER_ADDR`` (rank 0 itself
uses its own first address). Instances of one allocation form a cluster (``NNODES`` =
``instances``) except in ``divisible`` plans, where every instance works alone.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any

from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation
from gpucost.shards import boundaries

HARD_LIMIT_MARGIN = 1.2  # planned hours + 20%
MIN_HARD_LIMIT_HOURS = 1.0  # boot, image pull and setup take minutes even for short jobs
DEFAULT_MASTER_PORT = 29500
SELF_ADDRESS = "$(hostname -I | cut -d' ' -f1)"  # rank 0: its own first address, at boot


@dataclass(frozen=True)
class JobSettings:
    """The ``job`` section of the launch config (and the flags that override it)."""

    setup: str = ""
    run: str = ""
    container: str = ""
    envs: dict[str, str] = field(default_factory=dict)
    on_exit: str = "terminate"
    hard_limit_hours: float | None = None
    master_port: int = DEFAULT_MASTER_PORT

    @classmethod
    def from_settings(cls, job: dict[str, Any] | None) -> JobSettings:
        job = job or {}
        return cls(setup=str(job.get("setup") or ""), run=str(job.get("run") or ""),
                   container=str(job.get("container") or ""),
                   envs={str(k): str(v) for k, v in (job.get("envs") or {}).items()},
                   on_exit=str(job.get("on_exit") or "terminate"),
                   hard_limit_hours=(float(job["hard_limit_hours"])
                                     if job.get("hard_limit_hours") else None),
                   master_port=int(job.get("master_port") or DEFAULT_MASTER_PORT))


def hard_limit_hours(job: JobSettings, alloc: PlanAllocation) -> float:
    """The configured limit, else the allocation's planned hours + 20% (at least 1 h)."""
    if job.hard_limit_hours:
        return job.hard_limit_hours
    return max(alloc.hours * HARD_LIMIT_MARGIN, MIN_HARD_LIMIT_HOURS)


def cluster_size(plan: LaunchPlan, alloc: PlanAllocation) -> int:
    """How many instances train together: the allocation, except in divisible plans."""
    return 1 if plan.mode == "divisible" else alloc.instances


def is_cluster(plan: LaunchPlan, alloc: PlanAllocation) -> bool:
    return cluster_size(plan, alloc) > 1


def layout_of(plan: LaunchPlan, alloc: PlanAllocation) -> dict[str, Any]:
    """The plan's optional ``allocations[i].layout`` (parallelism), or {}."""
    allocations = plan.raw.get("allocations") if isinstance(plan.raw, dict) else None
    if not isinstance(allocations, list) or alloc.index >= len(allocations):
        return {}
    entry = allocations[alloc.index]
    layout = entry.get("layout") if isinstance(entry, dict) else None
    return layout if isinstance(layout, dict) else {}


def work_boundaries(plan: LaunchPlan, alloc: PlanAllocation) -> list[str]:
    """``alloc.instances + 1`` boundaries of its instances' work ranges in a divisible plan:
    allocations in plan order, each instance an equal part of its allocation's
    ``work_share``. Plans without ``work_share`` (written before it existed) split the
    work equally per instance, as they were planned."""
    known = all(a.work_share is not None for a in plan.allocations)
    per_instance = [((a.work_share or 0.0) / a.instances if known else 1.0)
                    for a in plan.allocations for _ in range(a.instances)]
    bounds = boundaries(per_instance)
    first = sum(a.instances for a in plan.allocations if a.index < alloc.index)
    return bounds[first:first + alloc.instances + 1]


def environment(plan: LaunchPlan, alloc: PlanAllocation, rank: int, master_addr: str,
                job: JobSettings) -> dict[str, str]:
    """The variables of instance ``rank`` of ``alloc`` (in the order they are written)."""
    cluster = is_cluster(plan, alloc)
    env = {
        "GPUCOST_PLAN_ID": plan.plan_id,
        "GPUCOST_ALLOCATION": str(alloc.index),
        "NODE_RANK": str(rank if cluster else 0),
        "NNODES": str(cluster_size(plan, alloc)),
        "GPUS_PER_NODE": str(alloc.gpu_count),
        "MASTER_ADDR": master_addr if cluster else "127.0.0.1",
        "MASTER_PORT": str(job.master_port),
        "GPUCOST_ON_EXIT": job.on_exit,
        "GPUCOST_HARD_LIMIT_HOURS": f"{hard_limit_hours(job, alloc):g}",
    }
    if alloc.run:
        env["GPUCOST_RUN"] = alloc.run
    if plan.mode == "divisible":
        before = sum(a.instances for a in plan.allocations if a.index < alloc.index)
        bounds = work_boundaries(plan, alloc)
        env["GPUCOST_WORK_START"], env["GPUCOST_WORK_END"] = bounds[rank], bounds[rank + 1]
        env["GPUCOST_SHARE"] = str(before + rank)
        env["GPUCOST_SHARES"] = str(sum(a.instances for a in plan.allocations))
        env["GPUCOST_HOURS"] = f"{alloc.hours:g}"
    for key, value in layout_of(plan, alloc).items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            env[f"GPUCOST_LAYOUT_{''.join(c if c.isalnum() else '_' for c in str(key)).upper()}"] \
                = str(value)
    env.update(job.envs)
    return env


def _exports(env: dict[str, str]) -> str:
    lines = []
    for name, value in env.items():
        # the rank-0 self address is the one value left for the shell to expand
        quoted = f'"{value}"' if value == SELF_ADDRESS else shlex.quote(value)
        lines.append(f"export {name}={quoted}")
    return "\n".join(lines) + "\n"


def _write(path: str, text: str, mode: str = "644") -> str:
    """A shell line writing ``text`` to ``path`` verbatim (no heredoc to break out of)."""
    return f"printf '%s' {shlex.quote(text)} > {path} && chmod {mode} {path}\n"


def _report_exit(provider: str, region: str) -> str:
    if provider == "aws":
        return (
            "imds() { curl -s -H \"X-aws-ec2-metadata-token: $(curl -s -X PUT "
            "http://169.254.169.254/latest/api/token -H "
            "'X-aws-ec2-metadata-token-ttl-seconds: 300')\" "
            "\"http://169.254.169.254/latest/meta-data/$1\"; }\n"
            f"aws ec2 create-tags --region {shlex.quote(region)} --resources \"$(imds "
            "instance-id)\" --tags \"Key=gpucost:exit-status,Value=$rc\" || echo "
            "'gpucost: could not tag the exit status (the instance profile needs "
            "ec2:CreateTags)'\n")
    return ("curl -s -X PUT --data \"$rc\" -H 'Metadata-Flavor: Google' "
            "http://metadata.google.internal/computeMetadata/v1/instance/guest-attributes/"
            "gpucost/exit-status || true\n")


def _on_exit(provider: str, on_exit: str) -> str:
    if on_exit == "keep":
        return "echo 'gpucost: on_exit keep: the instance stays up until the hard limit'\n"
    if on_exit == "terminate" and provider == "gcp":
        # deleting needs a service account allowed to; else stop (GPU billing ends)
        return ("name=$(curl -s -H 'Metadata-Flavor: Google' http://metadata.google.internal/"
                "computeMetadata/v1/instance/name)\nzone=$(curl -s -H 'Metadata-Flavor: Google' "
                "http://metadata.google.internal/computeMetadata/v1/instance/zone)\n"
                "gcloud compute instances delete \"$name\" --zone \"${zone##*/}\" --quiet "
                "|| shutdown -h now\n")
    # EC2: the shutdown behaviour (terminate, or stop for on_exit stop) does the rest
    return "shutdown -h now\n"


def job_script(job: JobSettings, provider: str, region: str) -> str:
    """``/opt/gpucost/job.sh``: setup, run, report the exit status, apply ``on_exit``."""
    if job.container:
        names = " ".join("-e " + n for n in ("GPUCOST_PLAN_ID", "GPUCOST_ALLOCATION",
                                              "NODE_RANK", "NNODES", "GPUS_PER_NODE",
                                              "MASTER_ADDR", "MASTER_PORT", "GPUCOST_RUN",
                                              "GPUCOST_SHARE", "GPUCOST_SHARES",
                                              "GPUCOST_WORK_START", "GPUCOST_WORK_END",
                                              "GPUCOST_HOURS", *job.envs))
        run = (f"docker run --rm --gpus all --network host --ipc host {names} "
               "-v /opt/gpucost:/opt/gpucost -w /opt/gpucost/work "
               f"{shlex.quote(job.container)} bash /opt/gpucost/run.sh")
    else:
        run = "bash /opt/gpucost/run.sh"
    return ("#!/bin/bash\n"
            "# gpucost job wrapper (written by `gpucost launch`)\n"
            "exec >> /var/log/gpucost-job.log 2>&1\n"
            "set -a; . /opt/gpucost/env; set +a\n"
            "mkdir -p /opt/gpucost/work && cd /opt/gpucost/work || exit 1\n"
            "rc=0\n"
            "bash -e /opt/gpucost/setup.sh || rc=$?\n"
            f"if [ \"$rc\" -eq 0 ]; then {run}; rc=$?; fi\n"
            "echo \"gpucost: run exited with status $rc\" | tee /dev/console\n"
            + _report_exit(provider, region) + _on_exit(provider, job.on_exit))


def boot_script(plan: LaunchPlan, alloc: PlanAllocation, rank: int, master_addr: str,
                job: JobSettings) -> str:
    """The user data / startup script of instance ``rank`` of ``alloc`` (see module doc).

    ``master_addr`` is rank 0's address ('' for rank 0 itself: it uses its own).
    """
    limit_s = int(round(hard_limit_hours(job, alloc) * 3600))
    env = environment(plan, alloc, rank, master_addr or SELF_ADDRESS, job)
    where = f"plan {plan.plan_id}, allocation {alloc.index}, node {rank}"
    return (
        "#!/bin/bash\n"
        f"# gpucost boot script: {' '.join(where.split())} (written by `gpucost launch`)\n"
        "mkdir -p /opt/gpucost\n"
        "# Hard limit: power off whatever happens (the cloud then ends the instance).\n"
        "if [ ! -e /opt/gpucost/limit-armed ]; then\n"
        f"  systemd-run --unit gpucost-hard-limit --on-active={limit_s}s /bin/systemctl "
        f"poweroff || shutdown -h +{max(limit_s // 60, 1)}\n"
        "  touch /opt/gpucost/limit-armed\n"
        "fi\n"
        "# GCE runs startup scripts at every boot: start the job once only.\n"
        "[ -e /opt/gpucost/started ] && exit 0\n"
        "touch /opt/gpucost/started\n"
        + _write("/opt/gpucost/env", _exports(env))
        + _write("/opt/gpucost/setup.sh", job.setup + "\n")
        + _write("/opt/gpucost/run.sh", (job.run or "echo 'gpucost: no run command'") + "\n")
        + _write("/opt/gpucost/job.sh", job_script(job, alloc.provider, alloc.region), "755")
        + "systemd-run --unit gpucost-job /opt/gpucost/job.sh || "
          "(nohup /opt/gpucost/job.sh >/dev/null 2>&1 &)\n")

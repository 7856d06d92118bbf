"""Export a plan as SkyPilot task YAML: one document per allocation, in one file.

Documents are separated by ``---`` (read them with ``yaml.safe_load_all``); each is a
complete task that ``sky launch`` accepts on its own, named ``<plan-id>-<alloc>``, e.g.

    name: llm-1a2b3c4d-0
    num_nodes: 2
    resources: {cloud: aws, region: us-east-1, zone: us-east-1a,
                instance_type: p4d.24xlarge, accelerators: "A100:8", use_spot: true}

GCP N1 types with attached GPUs (``n1-standard-8+1xT4``) become ``instance_type:
n1-standard-8`` plus the accelerators. Accelerator names are SkyPilot's: ours are used
as they are except where SkyPilot spells them differently (:data:`SKYPILOT_GPU_NAMES`).
"""

from __future__ import annotations

from typing import Any

import yaml

from gpucost.catalog.instance_types import split_instance_type
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


def skypilot_gpu(gpu: str) -> str:
    return SKYPILOT_GPU_NAMES.get(gpu, gpu)


def task(plan: LaunchPlan, alloc: PlanAllocation) -> dict[str, Any]:
    """The SkyPilot task for one allocation."""
    instance_type, _, _ = split_instance_type(alloc.instance_type)
    resources: dict[str, Any] = {
        "cloud": SKYPILOT_CLOUDS.get(alloc.provider, alloc.provider),
        "region": alloc.region,
    }
    if alloc.zone:
        resources["zone"] = alloc.zone
    resources.update({
        "instance_type": instance_type,
        "accelerators": f"{skypilot_gpu(alloc.gpu)}:{alloc.gpu_count}",
        "use_spot": alloc.spot,
    })
    doc: dict[str, Any] = {"name": f"{plan.plan_id}-{alloc.index}",
                           "num_nodes": alloc.instances, "resources": resources}
    if alloc.run:
        doc["envs"] = {"GPUCOST_RUN": alloc.run}
    doc["envs"] = {**doc.get("envs", {}), "GPUCOST_PLAN_ID": plan.plan_id}
    return doc


def export_skypilot(plan: LaunchPlan) -> str:
    """All allocations as a multi-document YAML string."""
    header = (f"# SkyPilot tasks for gpucost plan {plan.plan_id} (job {plan.job_name}): "
              f"{len(plan.allocations)} document(s), one per allocation.\n")
    body = yaml.safe_dump_all([task(plan, a) for a in plan.allocations], sort_keys=False,
                              explicit_start=True)
    return header + body

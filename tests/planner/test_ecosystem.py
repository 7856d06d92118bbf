"""Plans never pick a GPU the job's software stack cannot run (catalog/data/ecosystem.csv)."""

from __future__ import annotations

import pytest
from tests_support import NOW, catalog, offer

from gpucost.catalog.ecosystem import stack_support, training_precision, why_not
from gpucost.errors import InputError
from gpucost.job.parse import parse_job
from gpucost.planner.planner import plan_job

GAUDI = offer("gaudi3-8x", "Gaudi3", 8, 50.0, provider="ibm", gpu_link="nvlink")
H100 = offer("p5.48xlarge", "H100", 8, 98.0)
MI300X = offer("nd-mi300x-v5", "MI300X", 8, 60.0, provider="azure")


def _job(stack: str = "pytorch", precision: str = "bf16", **constraints) -> object:
    data = {"name": "j", "flops": 1e21, "deadline": "30d", "stack": stack,
            "precision": precision, "utilization": 0.3}
    if constraints:
        data["constraints"] = constraints
    return parse_job(data, "job.yaml", NOW)


def test_megatron_on_a_gaudi_only_catalog_is_infeasible_naming_the_stack():
    plan = plan_job(_job("megatron"), catalog([GAUDI]), now=NOW)
    assert plan.status == "infeasible" and not plan.allocations
    [reason] = plan.reasons
    assert "megatron stack runs on none of the GPUs" in reason and "Gaudi3" in reason
    assert "use stack: pytorch" in reason
    from gpucost.report.plan_report import render_plan
    text = render_plan(plan)
    assert "Prices: none used; no offers searched." in text and "None" not in text


def test_pytorch_runs_on_gaudi_through_its_bridge():
    plan = plan_job(_job("pytorch"), catalog([GAUDI]), now=NOW)
    assert plan.status == "optimal" and plan.allocations[0].gpu == "Gaudi3"
    assert "habana_frameworks.torch" in stack_support("pytorch", "Gaudi3").via


def test_excluded_gpu_is_listed_with_why_among_the_other_gpus():
    plan = plan_job(_job("megatron"), catalog([GAUDI, H100]), now=NOW)
    assert plan.status == "optimal" and plan.allocations[0].gpu == "H100"
    [gaudi] = [a for a in plan.alternatives if a.gpu == "Gaudi3"]
    assert gaudi.cost_usd is None and "megatron stack does not run on Gaudi3" in gaudi.note


def test_megatron_runs_on_mi300x_through_amds_fork():
    assert "ROCm/Megatron-LM" in stack_support("megatron", "MI300X").via
    plan = plan_job(_job("megatron", gpus=["MI300X"]), catalog([MI300X, H100]), now=NOW)
    assert plan.status == "optimal" and plan.allocations[0].gpu == "MI300X"


@pytest.mark.parametrize(("gpu", "expected"), [("A100-80GB", "bf16"), ("H100", "fp8"),
                                               ("MI300X", "fp8"), ("B200", "fp8"),
                                               ("V100-16GB", "fp16"), ("Gaudi3", "fp8")])
def test_fp8_where_the_hardware_and_stack_have_it(gpu, expected):
    assert training_precision("pytorch", gpu, "fp8") == expected


def test_fp32_job_is_not_costed_on_gaudi():
    assert "bf16/fp8 only, not fp32" in why_not("pytorch", "Gaudi3", "fp32")
    plan = plan_job(_job("pytorch", "fp32"), catalog([GAUDI, H100]), now=NOW)
    assert plan.allocations[0].gpu == "H100"


def test_consumer_cards_say_no_nvlink_no_ecc():
    note = stack_support("pytorch", "RTX-4090").note
    assert "no NVLink" in note and "no ECC" in note


def test_vendors_constraint():
    plan = plan_job(_job("pytorch", vendors=["amd", "intel"]),
                    catalog([GAUDI, H100, MI300X]), now=NOW)
    assert {a.gpu for a in plan.allocations} <= {"MI300X", "Gaudi3"}
    only = plan_job(_job("pytorch", vendors=["nvidia"]), catalog([GAUDI, MI300X]), now=NOW)
    assert only.status == "infeasible" and "vendors nvidia" in only.reasons[0]
    with pytest.raises(InputError, match="constraints.vendors"):
        _job(vendors=["nvdia"])

"""`gpucost export --format skypilot` takes a plan priced on Azure (launching there is not
supported; SkyPilot can)."""

from __future__ import annotations

import yaml

JOB = """\
name: azure-ft
flops: 1e20
precision: bf16
deadline: 30d
constraints: {providers: [azure], spot: allowed}
"""


def test_plan_on_the_shipped_azure_offers_exports_to_skypilot(run_cli, tmp_path):
    job = tmp_path / "job.yaml"
    job.write_text(JOB)
    plan = tmp_path / "plan.json"
    code, out, err = run_cli("plan", str(job), "-o", "json")
    assert code == 0, err
    plan.write_text(out)
    code, out, err = run_cli("export", str(plan), "--format", "skypilot")
    assert code == 0, err
    (task,) = [doc for doc in yaml.safe_load_all(out) if doc]
    resources = task["resources"]
    assert resources["cloud"] == "azure"
    assert resources["instance_type"] == "Standard_ND96isr_H100_v5"
    assert resources["accelerators"] == "H100:8" and resources["use_spot"] is True

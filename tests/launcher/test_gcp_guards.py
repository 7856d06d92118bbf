"""GCP side of the launch guards (issue 11): another plan of the same job running (found
by label, over the real InstancesClient with HTTP answered by ``responses``)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import responses
from test_gcp import BASE, PROJECT, gcp, vm  # noqa: F401 - gcp is a fixture


def test_launch_refuses_while_another_plan_of_the_job_runs(gcp, plan_file, run_cli):  # noqa: F811
    other = {**vm("sweep-lr-0000abcd-0-0", "us-central1-b", "n1-standard-8"),
             "labels": {"gpucost-plan-id": "sweep_lr-0000abcd", "gpucost-job": "sweep_lr",
                        "gpucost-allocation": "0"}}
    stopped = {**other, "name": "sweep-lr-0000abcd-0-1", "status": "TERMINATED"}
    unrelated = {**other, "name": "x", "labels": {"gpucost-job": "sweep_lr-2"}}
    gcp.add(responses.GET, f"{BASE}/aggregated/instances", json={"items": {
        "zones/us-central1-b": {"instances": [other, stopped, unrelated]}}})
    code, _, err = run_cli("launch", str(plan_file("plan_gcp.json")), "--yes",
                           "--project", PROJECT)
    assert code == 1
    [line] = [x for x in err.splitlines() if x.startswith("gpucost: refused: ")]
    assert "plan sweep_lr-0000abcd is up with 1 instance(s) (sweep-lr-0000abcd-0-0)" in line
    query = parse_qs(urlparse(gcp.calls[0].request.url).query)
    assert query["filter"] == ['labels.gpucost-job = "sweep_lr"']
    assert len(gcp.calls) == 1  # nothing was inserted

"""Multi-instance spot the launcher cannot keep alive: refused, exported for recovery."""

from __future__ import annotations

import yaml

SPOT = {"allocations.0.pricing": "spot"}


def test_launch_warns_of_a_spot_cluster_it_cannot_recover_and_names_the_way(plan_file,
                                                                           run_cli):
    code, out, err = run_cli("launch", str(plan_file("plan_single_multinode.json", SPOT)))
    assert code == 0, err  # the dry run
    assert ("gpucost: warning: allocations[0]: 2 x p4d.24xlarge spot train as one run, and "
            "gpucost launch does not replace a reclaimed spot instance") in err
    assert "--format skypilot --managed" in err and "sky jobs launch" in err


def test_on_demand_cluster_is_not_refused_for_spot(plan_file, run_cli):
    code, out, err = run_cli("launch", str(plan_file("plan_single_multinode.json")))
    assert code == 0, err
    assert "reclaimed spot" not in err


def test_managed_export_recovers_spot_and_marks_restarts(plan_file, run_cli):
    path = str(plan_file("plan_single_multinode.json", SPOT))
    code, out, err = run_cli("export", path, "--managed", "--run", "torchrun train.py")
    assert code == 0, err
    [task] = yaml.safe_load_all(out)
    assert task["resources"]["use_spot"] is True
    assert task["resources"]["job_recovery"] == {"strategy": "FAILOVER"}
    assert "GPUCOST_RESTART=1" in task["run"]
    assert task["run"].endswith("bash -c 'torchrun train.py'\n")
    assert out.startswith("# SkyPilot tasks") and "sky jobs launch" in out
    # without --managed: no recovery, and the file says how to get it
    code, out, err = run_cli("export", path)
    [task] = yaml.safe_load_all(out)
    assert "job_recovery" not in task["resources"]
    assert "export with --managed" in out


def test_managed_export_leaves_on_demand_alone(plan_file, run_cli):
    code, out, err = run_cli("export", str(plan_file("plan_single_multinode.json")),
                             "--managed")
    [task] = yaml.safe_load_all(out)
    assert "job_recovery" not in task["resources"]

"""Capacity Blocks at launch: shown with their fee in the dry run, never bought without
--purchase on top of --yes, bought through EC2 purchase_capacity_block (Stubber)."""

from __future__ import annotations

import boto3
from botocore.stub import Stubber

from gpucost.launcher import load_plan
from gpucost.launcher.capacity_purchase import purchase_blocks

BLOCK = {"allocations.0.pricing": "capacity_block",
         "allocations.0.capacity_block": {
             "offering_id": "cb-0123456789abcdef0", "upfront_fee_usd": 1966.356,
             "instance_count": 2, "zone": "us-east-1b",
             "start": "2026-12-05T11:30+00:00", "end": "2026-12-19T11:30+00:00"}}


def test_dry_run_shows_the_purchase_and_its_fee(plan_file, run_cli):
    code, out, err = run_cli("launch", str(plan_file("plan_single_multinode.json", BLOCK)))
    assert code == 0, err
    assert "DRY RUN: nothing is bought or created" in out
    assert ("buys capacity block cb-0123456789abcdef0 (2 x p4d.24xlarge, us-east-1b, from "
            "2026-12-05T11:30+00:00 to 2026-12-19T11:30+00:00): $1,966 upfront") in out


def test_yes_without_purchase_refuses_to_buy_even_with_force(plan_file, run_cli, aws_env):
    path = str(plan_file("plan_single_multinode.json", BLOCK))
    for flags in (["--yes"], ["--yes", "--force"]):
        code, out, err = run_cli("launch", path, *flags)
        assert code == 1
        assert "gpucost buys only with --purchase on top of --yes" in err
        assert "--force does not override" in err


def test_purchase_buys_each_block_tagged_with_the_plan(plan_file, aws_env):
    plan = load_plan(str(plan_file("plan_single_multinode.json", BLOCK)))
    ec2 = boto3.client("ec2", region_name="us-east-1")
    with Stubber(ec2) as stub:
        stub.add_response("purchase_capacity_block", {"CapacityReservation": {
            "CapacityReservationId": "cr-0abc", "AvailabilityZone": "us-east-1b"}}, {
            "CapacityBlockOfferingId": "cb-0123456789abcdef0",
            "InstancePlatform": "Linux/UNIX",
            "TagSpecifications": [{"ResourceType": "capacity-reservation", "Tags": [
                {"Key": "gpucost:plan-id", "Value": plan.plan_id}]}]})
        (line,) = purchase_blocks(plan, lambda region: ec2)
        stub.assert_no_pending_responses()
    assert "bought capacity block cb-0123456789abcdef0: capacity reservation cr-0abc" in line


def test_a_block_without_its_offering_is_refused_at_the_file(plan_file, run_cli):
    bad = {**BLOCK, "allocations.0.capacity_block": {**BLOCK["allocations.0.capacity_block"],
                                                     "offering_id": "*"}}
    code, out, err = run_cli("launch", str(plan_file("plan_single_multinode.json", bad)))
    assert code == 2
    assert "allocations[0].capacity_block.offering_id" in err

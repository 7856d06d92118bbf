"""Buying the Capacity Blocks a plan chose: never without ``--purchase`` on top of ``--yes``.

A block costs its upfront fee at purchase, whether or not the run fills it, and cannot be
returned, so ``gpucost launch`` shows the purchase and fee in its dry run, refuses
``--yes`` alone, and with ``--yes --purchase`` buys each block with EC2
``purchase_capacity_block`` (Linux/UNIX), tagged with the plan id. Instances can run in
a block only from its start date; this version buys the block and says how to launch
into its reservation then (``gpucost launch`` does not yet start instances in one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpucost.formatting import money
from gpucost.launcher.plan_file import LaunchPlan, PlanAllocation

PRICING = "capacity_block"


def block_allocations(plan: LaunchPlan) -> list[PlanAllocation]:
    return [a for a in plan.allocations if a.pricing == PRICING]


def describe_purchase(alloc: PlanAllocation) -> str:
    b = alloc.capacity_block or {}
    return (f"    buys capacity block {b.get('offering_id')} ({b.get('instance_count')} x "
            f"{alloc.instance_type}, {b.get('zone') or alloc.region}, from {b.get('start')} to "
            f"{b.get('end')}): {money(b.get('upfront_fee_usd'))} upfront, not refundable "
            "(only with --yes --purchase)")


def purchase_reasons(plan: LaunchPlan, purchase: bool) -> list[str]:
    """Why the launch must not go ahead (nothing overrides these): a block to buy
    without ``--purchase``."""
    if purchase:
        return []
    return [f"allocations[{a.index}] buys capacity block "
            f"{(a.capacity_block or {}).get('offering_id')} for "
            f"{money((a.capacity_block or {}).get('upfront_fee_usd'))} upfront: gpucost buys "
            "only with --purchase on top of --yes" for a in block_allocations(plan)]


def purchase_blocks(plan: LaunchPlan, ec2_for: Callable[[str], Any]) -> list[str]:
    """Buy every block of ``plan`` (``ec2_for(region)``: an EC2 client); returns one
    line per purchase."""
    lines = []
    for a in block_allocations(plan):
        b = a.capacity_block or {}
        answer = ec2_for(a.region).purchase_capacity_block(
            CapacityBlockOfferingId=b["offering_id"], InstancePlatform="Linux/UNIX",
            TagSpecifications=[{"ResourceType": "capacity-reservation", "Tags": [
                {"Key": "gpucost:plan-id", "Value": plan.plan_id}]}])
        reservation = answer.get("CapacityReservation", {})
        lines.append(f"bought capacity block {b['offering_id']}: capacity reservation "
                     f"{reservation.get('CapacityReservationId', '?')} in "
                     f"{reservation.get('AvailabilityZone', b.get('zone'))}, "
                     f"{money(b.get('upfront_fee_usd'))}; instances can run in it from "
                     f"{b.get('start')} (launch them into that reservation with market "
                     "type capacity-block; gpucost launch does not yet)")
    return lines

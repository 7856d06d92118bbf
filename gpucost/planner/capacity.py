"""Capacity Blocks as offers: buy a cluster ahead when on-demand capacity cannot do.

A block (:mod:`gpucost.providers.aws.capacity_blocks`) is ``count`` instances of one type
in one zone from ``start`` to ``end`` for a fixed upfront fee, paid whether or not the run
fills it. A ``single`` run may use one block when

    block start + run time on n <= count of its instances <= the deadline
    run time <= the block's length

The run takes the fastest such n (the fee does not change with n), so it costs the fee
and finishes at block start + run time. Throughput is the on-demand curve of the block's
instance type (same hardware; no reclaims), so a block is only considered when the job
allows that instance type in that region on demand (its constraints apply as to any
offer); on-demand quotas do not bind a block, which brings its own capacity.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from gpucost.job.spec import Assumptions, RunSpec
from gpucost.planner.candidates import Candidates, run_hours
from gpucost.planner.plan import Allocation

PRICING = "capacity_block"


def block_allocations(cands: Candidates, run: RunSpec, blocks: pd.DataFrame | None,
                      assumptions: Assumptions, now: dt.datetime
                      ) -> list[tuple[float, Allocation]]:
    """(fee, allocation) for every block ``run`` can finish on by its deadline, cheapest
    first (ties: earliest finish)."""
    from gpucost.performance import calibration
    from gpucost.performance.curves import performance_curves

    if blocks is None or not len(blocks) or cands.empty:
        return []
    t = cands.table
    out = []
    for b in blocks.itertuples(index=False):
        rows = t[(t["provider"] == b.provider) & (t["region"] == b.region)
                 & (t["instance_type"] == b.instance_type) & (t["pricing"] == "on_demand")]
        if rows.empty:
            continue
        row = rows.iloc[0]
        start_in = (b.start.to_pydatetime() - now).total_seconds() / 3600
        if start_in < 0:  # already started (or past): not for sale as listed
            continue
        # Its own curve up to the block's size: quotas capped the candidates' curves.
        cap = int(b.instance_count)
        curves, _ = performance_curves(run, rows.iloc[:1], cap, assumptions,
                                       calibration(run.stack))
        klass = 0
        within = curves.counts <= cap
        hours = run_hours(run, curves.rate[klass][within], curves.startup_hours)
        if not len(hours) or not np.isfinite(hours).any():
            continue
        j = int(np.argmin(hours))
        n = int(curves.counts[within][j])
        run_time = float(hours[j])
        finish = start_in + run_time
        if run_time > float(b.duration_hours) or finish > run.deadline_hours * (1 + 1e-12):
            continue
        fee = float(b.upfront_fee_usd)
        layout = curves.layout(klass, n).to_dict()
        block = {"offering_id": b.offering_id, "zone": b.zone,
                 "instance_count": int(b.instance_count),
                 "start": b.start.isoformat(timespec="minutes"),
                 "end": b.end.isoformat(timespec="minutes"),
                 "duration_hours": float(b.duration_hours), "upfront_fee_usd": fee,
                 "starts_in_hours": start_in, "run_hours": run_time,
                 "as_of": str(b.as_of), "source": str(b.source)}
        # instances x hours x $/hour = the fee: the plan's totals and the launcher's
        # recomputation hold; hours run from now to the finish (the wait included).
        out.append((fee, finish, Allocation(
            provider=b.provider, region=b.region, zone=b.zone, instance_type=b.instance_type,
            gpu=row["gpu"], gpu_count=int(row["gpu_count"]), pricing=PRICING, instances=n,
            hours=finish, usd_per_hour=fee / (n * finish),
            precision_used=row["precision_used"], run=run.name, as_of=str(b.as_of),
            layout=layout, capacity_block=block)))
    out.sort(key=lambda x: (x[0], x[1], x[2].capacity_block["offering_id"]))
    return [(fee, alloc) for fee, _, alloc in out]

"""Issue 20, item 6: the alternatives table says each plan's pricing (a spot price beside
an on-demand one is not a like-for-like saving); an experiments table says each run's
precision."""

from __future__ import annotations

from gpucost.planner.plan import Allocation, Alternative
from gpucost.report.plan_report import _allocation_rows, _alternative_rows


def alloc(pricing: str, region: str = "us-east-1", run: str = "",
          precision: str = "bf16") -> Allocation:
    return Allocation(provider="aws", region=region, zone="", instance_type="p5.48xlarge",
                      gpu="H100", gpu_count=8, pricing=pricing, instances=2, hours=10.0,
                      usd_per_hour=98.3, precision_used=precision, run=run)


def test_alternatives_have_a_pricing_column():
    spot = Alternative(gpu="H200", provider="aws", region="us-east-1",
                       instance_type="p5e.48xlarge", pricing="spot", instances=2,
                       cost_usd=919.0, hours=10.0, meets_deadline=True,
                       allocations=(alloc("spot"),))
    mix = Alternative(gpu="H100", provider="aws", region="us-east-1",
                      instance_type="p5.48xlarge", pricing="on_demand", instances=4,
                      cost_usd=3932.0, hours=10.0, meets_deadline=True,
                      allocations=(alloc("on_demand"), alloc("spot", "us-west-2")))
    rows = _alternative_rows([spot, mix])
    assert rows[0][:4] == ["H200", "p5e.48xlarge", "us-east-1", "spot"]
    assert rows[1][:4] == ["H100", "mix of 2 offers:", "", "on_demand+spot"]
    assert [r[3] for r in rows[2:]] == ["on_demand", "spot"]
    assert {len(r) for r in rows} == {8}


def test_sweep_table_has_a_precision_column():
    header, rows = _allocation_rows([alloc("on_demand", run="t4-fp16", precision="fp16"),
                                     alloc("on_demand", run="ablation", precision="bf16")],
                                    multi=True)
    assert header[:2] == ["run", "precision"]
    assert [r[:2] for r in rows] == [["t4-fp16", "fp16"], ["ablation", "bf16"]]
    header, rows = _allocation_rows([alloc("on_demand")], multi=False)
    assert "precision" not in header

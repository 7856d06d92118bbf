"""The spot model: renewal theory against simulation, per-pool rates, and what plans say."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "planner"))
from tests_support import NOW, catalog, offer  # noqa: E402

from gpucost.catalog.interruptions import (  # noqa: E402
    INTERRUPTION_COLUMNS,
    band_rate,
)
from gpucost.job.parse import parse_job  # noqa: E402
from gpucost.job.spec import Assumptions  # noqa: E402
from gpucost.performance.spot import (  # noqa: E402
    daly_interval,
    finish_probability,
    renewal_factor,
    run_figures,
    spot_model,
)
from gpucost.planner.planner import plan_job  # noqa: E402
from gpucost.report.plan_report import render_plan  # noqa: E402


def simulate(work: float, m: float, tau: float, c: float, r: float, runs: int,
             rng: np.random.Generator) -> np.ndarray:
    """Wall times of ``runs`` runs doing ``work`` hours in segments of ``tau`` (+ ``c`` to
    checkpoint), interrupted as a Poisson process of mean gap ``m``, each interruption
    costing the segment so far plus ``r`` (itself interruptible)."""
    walls = np.zeros(runs)
    for i in range(runs):
        wall, left = 0.0, work
        while left > 1e-12:
            segment = min(tau, left) + c
            while True:
                gap = rng.exponential(m)
                if gap >= segment:
                    wall += segment
                    break
                wall += gap
                while True:  # the restart, interruptible too
                    gap = rng.exponential(m)
                    if gap >= r:
                        wall += r
                        break
                    wall += gap
            left -= min(tau, left)
        walls[i] = wall
    return walls


def test_renewal_formula_matches_a_simulation():
    rng = np.random.default_rng(7)
    work, m, c, r = 40.0, 3.0, 0.05, 0.3
    tau = float(daly_interval(c, m))
    walls = simulate(work, m, tau, c, r, 3000, rng)
    predicted = work * float(renewal_factor(m, tau, c, r))
    assert walls.mean() == pytest.approx(predicted, rel=0.03)
    # the compound-Poisson spread used for the finish probability is of the right size
    lost = tau + c
    sd = math.sqrt(predicted / m * (lost**2 / 3 + r * lost + r**2))
    assert walls.std() == pytest.approx(sd, rel=0.3)


def test_young_interval_in_the_limit_and_daly_never_worse_than_nearby_intervals():
    c, m = 1e-4, 100.0
    assert float(daly_interval(c, m)) == pytest.approx(math.sqrt(2 * c * m), rel=1e-2)
    c, m, r = 0.05, 2.0, 0.25
    best = float(daly_interval(c, m))
    f = float(renewal_factor(m, best, c, r))
    for other in (best / 2, best * 0.8, best * 1.25, best * 2):
        assert float(renewal_factor(m, other, c, r)) >= f * (1 - 1e-3)


def test_synchronous_spot_diverges_with_the_cluster_size():
    a = Assumptions()
    n = np.arange(1, 2049)
    model = spot_model(a, 0.02, n, 8 * n, 70e9 * 16)
    progress = n / model.factor  # instance-equivalents of work per wall hour
    assert np.all(np.diff(model.factor) > 0)
    peak = int(np.argmax(progress))
    assert 1 < peak < len(n) - 1
    assert progress[-1] < 0.5 * progress[peak]  # past the peak, more instances do less
    assert not np.isfinite(model.factor[-1]) or model.factor[-1] > 100


def test_bands_convert_to_rates_as_stated():
    assert band_rate("<5%") == pytest.approx(-math.log(1 - 0.025) / 730.5)
    assert band_rate(">20%") == pytest.approx(-math.log(1 - 0.30) / 730.5)
    assert band_rate(">20%") > 10 * band_rate("<5%")


def _job(**constraints):
    data = {"name": "spot70", "model": {"parameters": 70e9, "tokens": 2e12},
            "deadline": "36d", "constraints": {"spot": "only", "max_instances": 1024,
                                                **constraints}}
    return data


def _bands(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([{"provider": "aws", "region": region, "instance_type": itype,
                          "band": band, "savings_pct": 60.0, "as_of": "2025-06-28",
                          "source": "test bands"} for region, itype, band in rows],
                        columns=INTERRUPTION_COLUMNS)


H200 = [offer("p5en.48xlarge", "H200", 8, 27.0, pricing="spot", region="us-east-1",
              network_gbps=3200),
        offer("p5en.48xlarge", "H200", 8, 27.0, pricing="spot", region="us-west-2",
              network_gbps=3200)]


def test_a_pool_reclaimed_often_costs_visibly_more_time_than_a_calm_one():
    cat = catalog(H200)
    cat.interruptions = _bands([("us-east-1", "p5en.48xlarge", ">20%"),
                                ("us-west-2", "p5en.48xlarge", "<5%")])
    def plan(**constraints):
        data = _job(**constraints)
        data["deadline"] = "12d"  # ~250 instances: reclaims arrive often enough to matter
        return plan_job(parse_job(data, "j.yaml", NOW), cat, explain=False, now=NOW)

    (b,), (c,) = plan(regions=["us-east-1"]).allocations, plan(regions=["us-west-2"]).allocations
    assert b.spot_figures["band"] == ">20%" and c.spot_figures["band"] == "<5%"
    # the same type and price: the busy pool needs more instance-hours for the same work
    assert b.instances * b.hours > 1.04 * c.instances * c.hours
    assert b.spot_figures["expected_reclaims"] > 10 * c.spot_figures["expected_reclaims"]
    assert b.spot_figures["lost_share"] > 1.5 * c.spot_figures["lost_share"]
    text = render_plan(plan(regions=["us-east-1"]))
    assert f"expected lost share {b.spot_figures['lost_share']:.0%}" in text
    both = plan()
    assert both.allocations[0].region == "us-west-2"  # same price: the calm pool wins


def test_the_70b_spot_job_states_its_loss_and_probability_or_is_infeasible_with_why():
    cat = catalog(H200)
    cat.interruptions = _bands([("us-east-1", "p5en.48xlarge", "<5%"),
                                ("us-west-2", "p5en.48xlarge", "<5%")])
    plan = plan_job(parse_job(_job(), "j.yaml", NOW), cat, now=NOW)
    assert plan.status == "optimal"
    figures = plan.allocations[0].spot_figures
    assert figures["lost_share"] < 0.5
    text = render_plan(plan)
    assert "expected lost share" in text and "P(done by the deadline)" in text
    # The rate, 0.02 reclaims per instance-hour: a reclaim every 13 minutes on
    # 225 instances. No cluster can finish; the reason says why.
    data = _job()
    data["assumptions"] = {"spot_interruptions_per_instance_hour": 0.02}
    plan = plan_job(parse_job(data, "j.yaml", NOW), cat, explain=False, now=NOW)
    assert plan.status == "infeasible"
    (reason,) = plan.reasons
    assert "cannot be met on spot" in reason and "interrupted every" in reason
    assert "of its paid time" in reason


def test_deadline_confidence_buys_margin_and_says_so_when_it_cannot():
    # utilization fixed: the throughput range does not apply, only the reclaim spread
    cat = catalog(H200)
    cat.interruptions = _bands([("us-west-2", "p5en.48xlarge", ">20%")])

    def plan(confidence=None, **constraints):
        data = {**_job(regions=["us-west-2"], **constraints), "utilization": 0.45}
        if confidence is not None:
            data["deadline_confidence"] = confidence
        return data

    mean = plan_job(parse_job(plan(), "j.yaml", NOW), cat, explain=False, now=NOW)
    sure = plan_job(parse_job(plan(0.95), "j.yaml", NOW), cat, explain=False, now=NOW)
    (m,), (s,) = mean.allocations, sure.allocations
    assert s.instances >= m.instances
    assert s.spot_figures["p_meets_deadline"] >= 0.95
    # Capped at the expected-finish plan's size with a deadline it just meets, no cluster
    # is sure enough: said so.
    capped = plan(0.95, max_instances=m.instances)
    capped["deadline"] = f"{math.ceil(m.hours * 60) + 1}m"
    tight = plan_job(parse_job(capped, "j.yaml", NOW), cat, explain=False, now=NOW)
    assert tight.status == "infeasible"
    assert "with probability 0.95 (deadline_confidence)" in tight.reasons[0]


def test_divisible_spot_instances_lose_only_their_own_work():
    a = Assumptions()
    rate = band_rate(">20%")
    sync = run_figures(a, rate, 64, 8, 100.0, 200.0, 1e12, synchronous=True)
    alone = run_figures(a, rate, 64, 8, 100.0, 200.0, 1e12, synchronous=False)
    assert alone["lost_share"] < sync["lost_share"]
    assert alone["expected_reclaims"] == pytest.approx(sync["expected_reclaims"])
    assert alone["hours_between_interruptions"] > 60 * sync["hours_between_interruptions"]


def test_finish_probability_is_a_probability():
    assert finish_probability(10.0, 4.0, 12.0) == pytest.approx(0.8413, abs=1e-3)
    assert finish_probability(10.0, 0.0, 9.0) == 0.0
    assert finish_probability(math.inf, 1.0, 9.0) == 0.0

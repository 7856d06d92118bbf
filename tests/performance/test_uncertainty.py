"""The P10-P90 range and the basis label of an estimate hold on published data."""

from __future__ import annotations

import numpy as np
import pytest

from gpucost.job.spec import RunSpec
from gpucost.performance import estimate
from gpucost.performance.fit import judge_throughput
from gpucost.performance.uncertainty import (
    Residuals,
    band,
    basis,
    choose_tail,
    coverage,
    source_weights,
    stored_residuals,
)


@pytest.fixture(scope="module")
def judged():
    return judge_throughput()


def node(gpu: str, memory: float) -> dict:
    return {"gpu": gpu, "gpu_count": 8, "gpu_memory_gib": memory, "gpu_link": "nvswitch",
            "network_gbps": 3200.0, "rdma": True, "pricing": "on_demand"}


def job(**kw) -> RunSpec:
    base = {"name": "r", "flops": 6 * 7e9 * 1e11, "deadline_hours": 1000.0,
            "parameters": 7e9, "tokens": 1e11}
    return RunSpec(**{**base, **kw})


def test_about_80_percent_of_held_out_sources_fall_inside_p10_p90(judged):
    groups = np.array([r.source_group for r in judged.runs])
    stored = stored_residuals()
    res = Residuals(judged.residuals, source_weights(groups), judged.own_data, stored.tail)
    inside, count = coverage(res, groups)
    assert count == len(judged.runs) and len(set(groups)) >= 10
    assert 0.75 <= inside <= 0.9
    # The stored tail is the narrowest reaching the target on this data.
    assert choose_tail(judged.residuals, judged.own_data, groups)[0] == stored.tail


def test_every_source_is_held_out_whole(judged):
    # A source's rows are predicted by a fit that saw none of them: changing one source's
    # published values moves no prediction of that source.
    from dataclasses import replace

    runs = judged.runs
    doubled = tuple(replace(r, tokens_per_s_per_gpu=r.tokens_per_s_per_gpu * 2)
                    if r.source_group == "pytorch-torchtitan" else r for r in runs)
    again = judge_throughput(doubled)
    mine = np.array([r.source_group == "pytorch-torchtitan" for r in runs])
    assert np.allclose(again.source_out[mine], judged.source_out[mine])
    assert not np.allclose(again.row_out[mine], judged.row_out[mine])


def test_time_split_predicts_later_rows_from_earlier_ones_only(judged):
    early = np.array([r.published < "2024-01" for r in judged.runs])
    assert early.any() and (~early).any()
    assert np.isnan(judged.time_split[early]).all()
    assert np.isfinite(judged.time_split[~early]).all()


def test_extrapolated_range_is_never_narrower_than_the_calibrated_one():
    own = [-0.3, -0.1, 0.0, 0.05, 0.1, 0.2, 0.3, 0.1, 0.0, -0.05]
    extra = [-0.05, 0.0, 0.05]
    res = Residuals(np.array(own + extra), np.ones(13),
                    np.array([True] * 10 + [False] * 3))
    for q in (0.1, 0.9):
        assert abs(band(res, q, False)) >= abs(band(res, q, True))
    assert band(res, 0.1, True) < 0 < band(res, 0.9, True)


def test_a_source_with_many_rows_counts_once():
    # Twenty rows of one source at -0.5 and one row each of four sources near 0: the
    # median is near 0, not -0.5.
    values = np.array([-0.5] * 20 + [0.0, 0.05, -0.05, 0.02])
    groups = np.array(["big"] * 20 + ["a", "b", "c", "d"])
    res = Residuals(values, source_weights(groups), np.ones(24, dtype=bool))
    assert abs(band(res, 0.5, True)) < 0.1


def test_estimate_carries_a_range_and_a_label_that_hold():
    h100 = estimate(job(), node("H100", 80), 4)
    assert h100.basis == "calibrated"
    assert h100.hours_p10 < h100.hours < h100.hours_p90
    l40s = estimate(job(), node("L40S", 48), 4)
    assert l40s.basis.startswith("extrapolated from ") and "L40S" not in l40s.basis
    own_width = h100.hours_p90 / h100.hours_p10
    assert l40s.hours_p90 / l40s.hours_p10 >= own_width - 1e-9


def test_calibrated_needs_data_for_that_stack_and_precision():
    assert basis("H100", "pytorch", "bf16") == "calibrated"
    assert basis("H100", "pytorch", "fp8") == "calibrated"
    # B200 has published data only for the tuned stack in fp8; the label names the data
    # the stack's constants come from.
    assert basis("B200", "tuned", "fp8") == "calibrated"
    assert basis("B200", "tuned", "bf16") == "extrapolated from B200 tuned fp8"
    assert basis("B200", "pytorch", "bf16") == "extrapolated from H100 pytorch 16-bit"
    assert basis("H100", "legacy", "bf16") == "extrapolated from A100-80GB legacy 16-bit"
    assert basis("L40S", "pytorch", "fp8") == "extrapolated from H100 pytorch fp8"


def test_a_fixed_utilization_prints_as_given_with_no_model_range():
    fixed = estimate(job(utilization=0.4), node("H100", 80), 4)
    assert fixed.basis == "utilization fixed by the job"
    assert fixed.hours_p10 == fixed.hours == fixed.hours_p90


def test_a_run_that_does_not_fit_has_no_hours_but_a_label():
    est = estimate(job(parameters=2e12, flops=6 * 2e12 * 1e9, tokens=1e9),
                   node("H100", 80), 1)
    assert not est.fits and est.hours_p90 == float("inf") and est.basis


def test_judged_only_rows_are_never_fitted_nor_calibration():
    from gpucost.performance.fit import judge_unfitted
    from gpucost.performance.published import calibrated_combinations, throughput_runs

    judged_only = throughput_runs(fitted=False)
    assert judged_only and all(r.activated_parameters for r in judged_only)
    assert not {r.name for r in judged_only} & {r.name for r in throughput_runs()}
    predicted = judge_unfitted(judged_only)
    assert np.isfinite(predicted).all() and (predicted > 0).all()
    # GB200 has fitted dense data; the MoE rows add no calibrated combination.
    assert ("GB200", "tuned", "fp8") in calibrated_combinations()
    assert ("GB200", "tuned", "16-bit") not in calibrated_combinations()

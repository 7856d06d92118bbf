"""The utilization model judged against what published training runs actually took."""

import math
import statistics

import pytest

from gpucost.job.utilization import (
    attention_ratio,
    estimate_mfu,
    fitted_model,
    leave_one_out,
    published_runs,
)


def test_every_published_run_cites_its_source_and_known_gpu():
    runs = published_runs()
    assert len(runs) >= 10
    assert all(r.source and r.gpu for r in runs)
    assert {"Ampere", "Hopper", "Volta"} <= set(fitted_model().intercepts)


def test_leave_one_out_predictions_are_close_to_reported_gpu_hours():
    """Each run is predicted by a model fitted without it."""
    pairs = leave_one_out()
    assert len(pairs) >= 12
    ratios = [predicted / run.gpu_hours for run, predicted in pairs]
    assert all(0.5 <= r <= 2.0 for r in ratios), ratios
    median_error = statistics.median(abs(math.log(r)) for r in ratios)
    assert median_error < math.log(1.25)


def test_llama2_7b_prediction_within_25_percent():
    run = next(r for r in published_runs() if r.name == "llama-2-7b")
    est = estimate_mfu("A100-80GB", run.parameters, run.sequence_length)
    predicted = 6 * run.parameters * run.tokens / (312e12 * est.mfu * 3600)
    assert predicted == pytest.approx(run.gpu_hours, rel=0.25)


def test_longer_sequences_lower_mfu_through_attention_flops():
    short = estimate_mfu("H100", 7e9, 2048).mfu
    long = estimate_mfu("H100", 7e9, 16384).mfu
    assert long < short
    assert short / long == pytest.approx((1 + attention_ratio(7e9, 16384))
                                         / (1 + attention_ratio(7e9, 2048)))


def test_attention_ratio_for_a_7b_model_at_4k():
    # d_model ~ 4,200 for 7B: 4096 / (6 x 4200) ~ 0.16 (vs the 6N dense FLOPs)
    assert attention_ratio(7e9, 4096) == pytest.approx(0.162, abs=0.01)


def test_architectures_without_runs_borrow_and_say_so():
    est = estimate_mfu("L4", 1e9, 2048)
    assert est.method == "borrowed" and "Ada" in est.note
    assert estimate_mfu("A100-40GB", 1e9, 2048).method == "fitted"


def test_mfu_depends_on_generation_and_size():
    assert estimate_mfu("A100-80GB", 7e9, 2048).mfu != estimate_mfu("H100", 7e9, 2048).mfu
    assert estimate_mfu("H100", 70e9, 2048).mfu > estimate_mfu("H100", 1e9, 2048).mfu

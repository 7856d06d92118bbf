#!/usr/bin/env python3
"""Judge the performance model against reality, on runs it was not fitted on.

1. Throughput (gpucost/performance/data/throughput_runs.csv: tokens/s per GPU of
   published runs) predicted three ways, never by a fit that saw the value:
   - leave-one-out: a fit without the row;
   - leave-one-source-out: a fit without every row of its source (one report or
     repository shares a stack, a cluster and a way of counting, so its other rows
     would still carry the answer) - the headline figure and the base of the range;
   - time split: a fit on rows published before 2024, for the rows from 2024 on.
2. End-to-end GPU-hours (gpucost/performance/data/training_runs.csv): never used by the
   fit at all; predicted from throughput at the run's cluster size plus the goodput model.

One error definition everywhere: predicted / published - 1 per row, and its absolute
value in every summary. The last line is the leave-one-source-out summary.

    python scripts/validate_estimates.py           # report
    python scripts/validate_estimates.py --write   # also store the fit and residuals
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import numpy as np

from gpucost.performance.fit import (
    TIME_SPLIT,
    judge_throughput,
    judge_unfitted,
    predicted_gpu_hours,
    write_calibration,
)
from gpucost.performance.published import published_runs, throughput_runs
from gpucost.performance.uncertainty import Residuals, choose_tail, coverage

CALIBRATION_FILE = (Path(__file__).resolve().parent.parent / "gpucost" / "performance"
                    / "data" / "calibration.json")


def error(predicted: float, published: float) -> float:
    """predicted / published - 1: the one error definition (summaries take |error|)."""
    return predicted / published - 1


def summary(errors: list[float]) -> str:
    size = [abs(e) for e in errors if not np.isnan(e)]
    return f"median {statistics.median(size):.0%}, worst {max(size):.0%}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="store the fit on every run and its residuals in calibration.json")
    args = parser.parse_args()

    runs = throughput_runs()
    judged = judge_throughput(runs)
    for stack, (gemm, elem) in sorted(judged.fitted.items()):
        count = sum(r.stack == stack for r in runs)
        print(f"{stack} stack, fit on its {count} throughput runs: gemm_efficiency "
              f"{gemm:.3f}, elementwise_bytes {elem:.0f}")
    print("\nerror = predicted / published - 1; 'time' is blank for rows the time split "
          f"fits on (published before {TIME_SPLIT})")
    print(f"{'throughput run':<44} {'stack':<8} {'gpu':<10} {'gpus':>6} {'source':<26} "
          f"{'tok/s/GPU':>10} {'row-out':>8} {'src-out':>8} {'time':>6}")
    row_err, src_err, time_err = [], [], []
    for i, run in enumerate(runs):
        obs = judged.observed[i]
        row_err.append(error(judged.row_out[i], obs))
        src_err.append(error(judged.source_out[i], obs))
        time_err.append(error(judged.time_split[i], obs))
        time = "" if np.isnan(time_err[-1]) else f"{time_err[-1]:+.0%}"
        print(f"{run.name:<44} {run.stack:<8} {run.gpu:<10} {run.gpus:>6} "
              f"{run.source_group[:26]:<26} {obs:>10,.0f} {row_err[-1]:>+8.0%} "
              f"{src_err[-1]:>+8.0%} {time:>6}")

    unfitted = throughput_runs(fitted=False)
    if unfitted:
        print(f"\n{'judged only, never fitted (MoE: active-parameter FLOPs only)':<62} "
              f"{'gpu':<6} {'gpus':>5} {'tok/s/GPU':>10} {'predicted':>10} {'error':>7}")
        for run, pred in zip(unfitted, judge_unfitted(unfitted), strict=True):
            print(f"{run.name:<62} {run.gpu:<6} {run.gpus:>5} "
                  f"{run.tokens_per_s_per_gpu:>10,.0f} {pred:>10,.0f} "
                  f"{error(pred, run.tokens_per_s_per_gpu):>+7.0%}")

    published = published_runs()
    hours = predicted_gpu_hours(published)
    print(f"\n{'end-to-end run (not fitted on)':<44} {'stack':<8} {'gpu':<10} "
          f"{'reported GPU-h':>15} {'predicted':>12} {'error':>7}")
    e2e = []
    for run, pred in zip(published, hours, strict=True):
        e2e.append(error(pred, run.gpu_hours))
        print(f"{run.name:<44} {run.stack:<8} {run.gpu:<10} {run.gpu_hours:>15,.0f} "
              f"{pred:>12,.0f} {e2e[-1]:>+7.0%}")
    if args.write:
        CALIBRATION_FILE.write_text(write_calibration(
            judged, f"least squares on log tokens/s over {len(runs)} published runs"))
        print(f"wrote {CALIBRATION_FILE}")

    sources = {r.source_group for r in runs}
    tested = sum(not np.isnan(e) for e in time_err)
    early_sources = {r.source_group for r in runs if r.published < TIME_SPLIT}
    groups = np.array([r.source_group for r in runs])
    tail, inside = choose_tail(judged.residuals, judged.own_data, groups)
    raw, held = coverage(Residuals(judged.residuals, np.ones(len(runs)), judged.own_data,
                                   0.10), groups)
    print(f"\nend-to-end GPU-hours (goodput model, never fitted): {summary(e2e)} over "
          f"{len(e2e)} runs")
    print(f"leave-one-out (rows of the same source stay in the fit): {summary(row_err)} "
          f"over {len(runs)} runs")
    early_stacks = {r.stack for r in runs if r.published < TIME_SPLIT}
    seen = [e for e, r in zip(time_err, runs, strict=True)
            if not np.isnan(e) and r.stack in early_stacks]
    print(f"time split (fit on {len(runs) - tested} runs from {len(early_sources)} sources "
          f"published before {TIME_SPLIT}): {summary(time_err)} over {tested} later runs; "
          f"{summary(seen)} over the {len(seen)} whose stack has earlier runs")
    print(f"P10-P90 range, each source's range built without it: {inside:.0%} of "
          f"{held} held-out published values inside (target ~80%; ends read at residual "
          f"quantiles {tail:g}/{1 - tail:g}, source-weighted; the plain 0.1/0.9 quantiles "
          f"covered {raw:.0%})")
    print(f"leave-one-source-out: {summary(src_err)} over {len(runs)} runs from "
          f"{len(sources)} sources")


if __name__ == "__main__":
    main()

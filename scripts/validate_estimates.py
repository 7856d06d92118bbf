#!/usr/bin/env python3
"""Judge the performance model against reality, on runs it was not fitted on.

1. Throughput: each published measurement (gpucost/performance/data/throughput_runs.csv:
   tokens/s per GPU of tuned stacks) is predicted by a fit *without it* (leave-one-out).
2. End-to-end GPU-hours (gpucost/performance/data/training_runs.csv): never used by the
   fit at all; predicted from throughput at the run's cluster size plus the goodput model.

The last line is the summary over both: median and worst |error|.

    python scripts/validate_estimates.py           # report
    python scripts/validate_estimates.py --write   # also store the fit on every run
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

from gpucost.performance.fit import judge_throughput, predicted_gpu_hours, write_calibration
from gpucost.performance.published import published_runs, throughput_runs

CALIBRATION_FILE = (Path(__file__).resolve().parent.parent / "gpucost" / "performance"
                    / "data" / "calibration.json")


def _error(ratio: float) -> float:
    """|error| as a share, symmetric in over- and under-prediction."""
    return math.exp(abs(math.log(ratio))) - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true",
                        help="store the fit on every run in calibration.json")
    args = parser.parse_args()

    runs = throughput_runs()
    judged = judge_throughput(runs)
    for stack, (gemm, elem) in sorted(judged.fitted.items()):
        count = sum(r.stack == stack for r in runs)
        print(f"{stack} stack, fit on its {count} throughput runs: gemm_efficiency "
              f"{gemm:.3f}, elementwise_bytes {elem:.0f}")
    print(f"{'throughput run (leave-one-out)':<44} {'stack':<9} {'gpu':<10} {'gpus':>6} "
          f"{'tok/s/GPU':>10} {'predicted':>10} {'error':>7}")
    errors = []
    for run, obs, pred in zip(runs, judged.observed, judged.predicted, strict=True):
        errors.append(_error(pred / obs))
        print(f"{run.name:<44} {run.stack:<9} {run.gpu:<10} {run.gpus:>6} {obs:>10,.0f} "
              f"{pred:>10,.0f} "
              f"{pred / obs - 1:>+7.0%}")
    published = published_runs()
    hours = predicted_gpu_hours(published)
    print(f"\n{'end-to-end run (not fitted on)':<44} {'stack':<9} {'gpu':<10} "
          f"{'reported GPU-h':>15} "
          f"{'predicted':>12} {'error':>7}")
    for run, pred in zip(published, hours, strict=True):
        errors.append(_error(pred / run.gpu_hours))
        print(f"{run.name:<44} {run.stack:<9} {run.gpu:<10} {run.gpu_hours:>15,.0f} "
              f"{pred:>12,.0f} "
              f"{pred / run.gpu_hours - 1:>+7.0%}")
    if args.write:
        CALIBRATION_FILE.write_text(write_calibration(
            judged.fitted, f"least squares on log tokens/s over {len(runs)} published runs"))
        print(f"wrote {CALIBRATION_FILE}")
    print(f"median |error| {statistics.median(errors):.0%}, worst {max(errors):.0%} over "
          f"{len(errors)} published runs ({len(runs)} throughput leave-one-out, "
          f"{len(published)} end-to-end)")


if __name__ == "__main__":
    main()

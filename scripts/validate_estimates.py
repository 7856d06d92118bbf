#!/usr/bin/env python3
"""Judge the utilization model against reality: predicted vs published GPU-hours.

Each published run (gpucost/job/data/training_runs.csv) is predicted by a model fitted
to the *other* runs (leave-one-out), and compared with the GPU-hours its model card or
paper reports.

    python scripts/validate_estimates.py
"""

from __future__ import annotations

import math
import statistics

from gpucost.job.utilization import fitted_model, leave_one_out


def main() -> None:
    model = fitted_model()
    print("fitted hardware utilization: " + ", ".join(
        f"{arch} {a:.2f}" for arch, a in sorted(model.intercepts.items()))
        + f"; {model.slope:+.3f} per decade of parameters above 1B")
    print(f"{'run':<16} {'gpu':<10} {'reported GPU-h':>15} {'predicted':>12} {'ratio':>6}")
    ratios = []
    for run, predicted in leave_one_out():
        ratio = predicted / run.gpu_hours
        ratios.append(ratio)
        print(f"{run.name:<16} {run.gpu:<10} {run.gpu_hours:>15,.0f} {predicted:>12,.0f} "
              f"{ratio:>6.2f}")
    errors = [abs(math.log(r)) for r in ratios]
    print(f"median |error| {math.exp(statistics.median(errors)) - 1:.0%}, "
          f"worst {math.exp(max(errors)) - 1:.0%} over {len(ratios)} runs")


if __name__ == "__main__":
    main()

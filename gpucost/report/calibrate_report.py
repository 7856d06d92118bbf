"""``gpucost calibrate`` for people: the factors, the range, the error before and after."""

from __future__ import annotations

import statistics

from gpucost.formatting import sig
from gpucost.performance.user_calibration import UserCalibration, spread_to_ratios
from gpucost.report.tables import text_table


def render_calibration(profile: UserCalibration, rows: list[dict], written: list[str]) -> str:
    header = ["gpu", "stack", "precision", "measurements", "your speed vs model",
              "error before", "error after", "wall-time range (P10-P90)"]
    table = []
    for e in profile.entries:
        fast, slow = spread_to_ratios(e.log_spread)
        table.append([e.gpu, e.stack, e.precision, str(e.measurements), f"{e.factor:.2f}x",
                      f"{e.error_before:.0%}", f"{e.error_after:.0%}",
                      f"{fast - 1:+.0%} / {slow - 1:+.0%}"])
    before = statistics.median(abs(r["measured_tokens_per_s"] / r["predicted_before"] - 1)
                               for r in rows)
    after = statistics.median(abs(r["measured_tokens_per_s"] / r["predicted_after"] - 1)
                              for r in rows)
    loo = all(r["leave_one_out"] for r in rows)
    lines = [f"gpucost calibrate: {len(rows)} measurement{'s' if len(rows) != 1 else ''}", "",
             text_table(table, header), "",
             f"Model error on your measurements (median |predicted / measured - 1|): "
             f"{before:.0%} before, {after:.0%} after"
             + (" (each predicted from the others: leave-one-out)" if loo else
                " (in-sample where a GPU has a single measurement)")]
    detail = [[r["name"], r["gpu"], str(r["gpus"]), sig(r["measured_tokens_per_s"], 3),
               sig(r["predicted_before"], 3), sig(r["predicted_after"], 3)] for r in rows]
    if len(detail) <= 20:
        lines += ["", text_table(detail, ["measurement", "gpu", "gpus", "measured tokens/s",
                                          "model before", "model after"])]
    if written:
        lines += ["", "Profile written to " + " and ".join(written)
                  + "; plan, frontier and estimate use it (--calibration none: without)."]
    return "\n".join(lines)

"""``gpucost estimate`` for people: the named cluster's time, range, cost and layout."""

from __future__ import annotations

from gpucost.formatting import hours_text, money, sig
from gpucost.planner.cluster import ClusterEstimate, verdict
from gpucost.report.plan_report import layout_text
from gpucost.report.tables import clean_text, markdown_table, text_table


def _range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "-"
    return f"{hours_text(low)} - {hours_text(high)}"


def render_estimate(e: ClusterEstimate, markdown: bool = False) -> str:
    o = e.offer
    title = (f"gpucost estimate: {e.job['name']} on {e.instances} x {o['instance_type']} "
             f"({o['gpu_count']}x {o['gpu']}, {o['pricing']}, {o['provider']} {o['region']}, "
             f"${o['usd_per_hour']:g}/hour as of {o['as_of']})")
    lines = [f"### {title}" if markdown else title, ""]
    multi = len(e.runs) > 1
    header = (["run"] if multi else []) + ["time", "P10-P90", "cost", "tokens/s",
                                           "deadline"]
    rows = []
    for r in e.runs:
        if not r.fits:
            cells = ["-", "-", "-", "-", "does not fit"]
        else:
            cells = [hours_text(r.hours), _range(r.hours_p10, r.hours_p90), money(r.cost_usd),
                     sig(r.tokens_per_s, 3) if r.tokens_per_s else "-",
                     "met" if r.meets_deadline else "MISSED"]
        rows.append(([r.run] if multi else []) + cells)
    if multi and len(rows) > 12:  # a sweep: the first rows, then a count
        rows = rows[:10] + [["..."] * len(header)]
    lines.append(markdown_table(rows, header) if markdown else text_table(rows, header))
    lines.append("")
    if e.fits:
        gpu_hours = e.to_dict()["totals"]["gpu_hours"]
        lines.append(f"Total: {money(e.cost_usd)}, done in {hours_text(e.hours)} "
                     f"(P10-P90 {_range(e._extreme('hours_p10'), e._extreme('hours_p90'))}), "
                     f"{sig(gpu_hours, 3)} GPU-hours")
    lines.extend(verdict(e))
    layouts = {layout_text(r.layout) for r in e.runs if r.layout}
    for text in sorted(layouts):
        lines.append(f"Layout {e.instances} x {o['instance_type']}: {text}")
    if e.fits and e.job["mode"] == "divisible":
        lines.append(f"Divisible work: {e.instances} independent instances share it.")
    if e.fits:
        lines.append(f"Range: P10-P90 of wall time, from {e.basis}.")
    if e.calibration:
        lines.append(f"Throughput {e.calibration}.")
    for note in e.notes:  # the planner's notes speak of offers; here there is one
        note = note.replace("Some offers: ", "This offer: ", 1)
        lines.append(f"Note: {clean_text(note)}")
    return "\n".join(lines)

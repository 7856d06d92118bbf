"""``gpucost diff`` for people and pull requests (``-o markdown``)."""

from __future__ import annotations

from gpucost.formatting import hours_text, money, sig
from gpucost.planner.diff import PlanDiff, PlanSummary
from gpucost.report.tables import clean_text, markdown_table, text_table


def _signed_money(value: float) -> str:
    return ("+" if value >= 0 else "-") + money(abs(value))


def _signed_hours(value: float) -> str:
    return ("+" if value >= 0 else "-") + hours_text(abs(value))


def _percent(new: float, old: float) -> str:
    return f" ({new / old - 1:+.0%})" if old else ""


def _cost(s: PlanSummary) -> str:
    if s.cost_usd is None:
        return "-"
    return money(s.cost_usd) + ("" if s.status == "optimal" else " (over budget)")


def render_diff(d: PlanDiff, markdown: bool = False) -> str:
    b, n = d.base, d.new
    rows = [["status", b.status, n.status, ""]]
    change = ""
    if d.cost_change is not None:
        change = _signed_money(d.cost_change) + _percent(n.cost_usd, b.cost_usd)
    rows.append(["cost", _cost(b), _cost(n), change])
    change = ""
    if d.hours_change is not None:
        change = _signed_hours(d.hours_change) + _percent(n.hours, b.hours)
    rows.append(["time", hours_text(b.hours) if b.hours is not None else "-",
                 hours_text(n.hours) if n.hours is not None else "-", change])
    rows.append(["GPU-hours", sig(b.gpu_hours, 3), sig(n.gpu_hours, 3),
                 _percent(n.gpu_hours, b.gpu_hours).strip(" ()")
                 if b.gpu_hours and n.gpu_hours else ""])
    rows.append(["deadline", hours_text(b.deadline_hours) if b.deadline_hours else "-",
                 hours_text(n.deadline_hours) if n.deadline_hours else "-", ""])
    rows.append(["budget", money(b.budget_usd), money(n.budget_usd), ""])
    header = ["", "base", "new", "change"]
    title = f"gpucost diff: {b.label} -> {n.label}"
    lines = [f"### {clean_text(title)}" if markdown else title, ""]
    lines.append(markdown_table(rows, header) if markdown else text_table(rows, header))
    lines.append("")
    bullet = "- " if markdown else ""
    for what, old, now in (("Cluster", b.clusters, n.clusters), ("Layout", b.layouts,
                                                                   n.layouts)):
        if old == now:
            lines.append(f"{bullet}{what} (same): " + ("; ".join(old) or "-"))
        else:
            lines.append(f"{bullet}{what} before: " + ("; ".join(old) or "-"))
            lines.append(f"{bullet}{what} after: " + ("; ".join(now) or "-"))
    lines.append("")
    if d.ok:
        lines.append("The new plan keeps the job's budget and deadline.")
    else:
        mark = "**" if markdown else ""
        for reason in n.breaks:
            lines.append(f"{mark}The new plan breaks the job:{mark} {clean_text(reason)}")
    for note in d.notes:
        lines.append(f"Note: {clean_text(note)}")
    return "\n".join(lines)

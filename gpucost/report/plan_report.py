"""A plan for people: text table or markdown (``--output json`` is ``Plan.to_json``)."""

from __future__ import annotations

from gpucost.formatting import hours_text, money, sig
from gpucost.planner.frontier import FrontierPoint
from gpucost.planner.plan import Plan
from gpucost.report.tables import markdown_table, text_table


def _table(rows: list[list[str]], header: list[str], markdown: bool) -> str:
    return markdown_table(rows, header) if markdown else text_table(rows, header)


def render_plan(plan: Plan, markdown: bool = False) -> str:
    """The plan, its cost and finish time, the $/hour baseline and the alternatives."""
    job = plan.job
    h = "### " if markdown else ""
    lines = [f"{h}gpucost plan: {job['name']} ({job['mode']}, {job['precision']}, deadline "
             f"{hours_text(job['deadline_hours'])})",
             f"Needs {sig(plan.requirements['flops'], 2)} FLOPs"
             + (f" and {sig(plan.requirements['memory_gib'], 3)} GiB of training state"
                if plan.requirements["memory_gib"] else "") + ".", ""]
    if plan.status != "optimal":
        lines.append("No plan meets every constraint:")
        lines += [f"- {r}" for r in plan.reasons]
    else:
        multi = job["mode"] == "experiments"
        header = (["run"] if multi else []) + ["provider", "region", "instance_type", "gpu",
                                               "pricing", "instances", "hours", "$/hour",
                                               "cost"]
        rows = [([a.run] if multi else []) + [a.provider, a.region, a.instance_type,
                                              f"{a.gpu_count}x {a.gpu}", a.pricing,
                                              str(a.instances), sig(a.hours, 3),
                                              f"{a.usd_per_hour:g}", money(a.cost_usd)]
                for a in plan.allocations]
        lines.append(_table(rows, header, markdown))
        lines += ["", f"{'**' if markdown else ''}Total: {money(plan.cost_usd)}, done in "
                  f"{hours_text(plan.hours)}, {sig(plan.gpu_hours, 3)} GPU-hours"
                  f"{'**' if markdown else ''} (solver: {plan.solver['name']}, "
                  f"{plan.solver['seconds']:.2f} s)"]
    if plan.baseline:
        b = plan.baseline
        verdict = "meets the deadline" if b.meets_deadline else "MISSES the deadline"
        saving = ""
        if plan.status == "optimal" and b.cost_usd and b.cost_usd > plan.cost_usd:
            saving = (f"; this plan costs {money(plan.cost_usd)} "
                      f"({1 - plan.cost_usd / b.cost_usd:.0%} less)")
        lines += ["", f"Cheapest $/GPU-hour choice: {b.instance_type} ({b.gpu}, {b.pricing}, "
                  f"{b.region}) x{b.instances}: {money(b.cost_usd)}, "
                  f"{hours_text(b.hours or 0)}, {verdict}{saving}."]
    if plan.alternatives:
        rows = [[a.gpu, a.instance_type or "-", a.region or "-",
                 str(a.instances) if a.meets_deadline else "-",
                 money(a.cost_usd) if a.meets_deadline else "-",
                 hours_text(a.hours) if a.hours is not None else "-",
                 "" if a.meets_deadline else a.note]
                for a in plan.alternatives]
        lines += ["", f"{h}Best plan with each other GPU:" if markdown else
                  "Best plan with each other GPU:",
                  _table(rows, ["gpu", "instance_type", "region", "instances", "cost",
                                "done in", "why not"], markdown)]
    util = plan.assumptions.get("utilization", {})
    if util:
        parts = [f"{g} {v['mfu']:.2f} ({v['method']})" for g, v in util.items()]
        lines += ["", "Assumed MFU: " + ", ".join(parts) + "; fitted to published training "
                  "runs (see --output json: assumptions.utilization_sources)."]
    lines.append(f"Spot overhead {plan.assumptions['spot_overhead']:.0%}; multi-node loss "
                 f"{plan.assumptions['scaling']['loss_per_doubling']:.0%} per doubling.")
    snap = plan.snapshot
    files = ", ".join(f"{f['provider']} {f['date']}" for f in snap["files"])
    lines.append(f"Prices: {files} (oldest price as of {snap['oldest_as_of']}).")
    origins = [f"{f['provider']} {f['origin']}" for f in snap["files"] if f.get("origin")]
    if origins:
        lines.append("Snapshot: " + "; ".join(origins) + ".")
    for note in plan.notes:
        lines.append(f"Note: {note}")
    return "\n".join(lines)


def render_frontier(points: list[FrontierPoint], markdown: bool = False,
                    runs: int = 1) -> str:
    """The frontier as a table: deadline, cheapest cost, finish time, GPUs."""
    rows = [[hours_text(p.deadline_hours) + (" *" if p.is_job_deadline else ""),
             money(p.cost_usd) if p.feasible else "infeasible",
             hours_text(p.finish_hours) if p.finish_hours is not None else "-",
             p.gpus or "-", str(p.instances) if p.feasible else "-"] for p in points]
    table = _table(rows, ["deadline", "cheapest cost", "done in", "gpus", "instances"],
                   markdown)
    note = "\n\n* the job's own deadline"
    if runs > 1:
        note += ("\nRun deadlines scale together: 'deadline' is the earliest run's, "
                 "'done in' the last run's finish.")
    return table + note

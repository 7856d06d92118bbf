"""A plan for people: text table or markdown (``--output json`` is ``Plan.to_json``)."""

from __future__ import annotations

from pathlib import Path

from gpucost.catalog.age import PriceAge
from gpucost.formatting import hours_text, money, sig
from gpucost.planner.frontier import FrontierPoint
from gpucost.planner.plan import Allocation, Alternative, Plan
from gpucost.report.tables import clean_text, markdown_table, text_table


def _table(rows: list[list[str]], header: list[str], markdown: bool) -> str:
    return markdown_table(rows, header) if markdown else text_table(rows, header)


def layout_text(layout: dict) -> str:
    """``DP 8, TP 8, ZeRO-2, micro-batch 1 x 16 accumulation steps; 61 GiB per GPU, MFU
    41%, 4% ... communication``."""
    parts = [f"DP {layout['data_parallel']}"]
    for key, label in (("tensor_parallel", "TP"), ("pipeline_parallel", "PP"),
                       ("context_parallel", "CP"), ("expert_parallel", "EP")):
        if layout.get(key, 1) > 1:
            parts.append(f"{label} {layout[key]}")
    if layout["zero_stage"]:
        parts.append(f"ZeRO-{layout['zero_stage']}")
    steps = layout.get("gradient_accumulation")
    parts.append(f"micro-batch {layout['micro_batch']}" + (
        f" x {steps} accumulation step{'s' if steps != 1 else ''}" if steps else ""))
    recompute = layout.get("recompute", "full" if layout["activation_checkpointing"]
                           else "none")
    if recompute != "none":
        parts.append(f"{recompute} activation recomputation")
    return (", ".join(parts) + f"; {layout['memory_gib_per_gpu']:.0f} GiB per GPU, "
            f"MFU {layout['mfu']:.0%}, {layout['comm_fraction']:.0%} of step time in "
            "exposed communication")


def _layout_lines(plan: Plan) -> list[str]:
    """One line per distinct layout (a sweep of identical runs shares one line)."""
    groups: dict[str, list[str]] = {}
    for a in plan.allocations:
        if a.layout:
            key = f"{a.instances} x {a.instance_type}: {layout_text(a.layout)}"
            groups.setdefault(key, []).append(a.run)
    if not groups:
        return []
    lines = [""]
    for key, runs in groups.items():
        label = ""
        if len(groups) > 1 or len(runs) > 1:
            label = (f"{runs[0]}: " if len(runs) == 1 else f"{len(runs)} runs "
                     f"({runs[0]} ...): ")
        lines.append(f"Layout {label}{key}")
    return lines


# Offers of a mix listed in text; all of them are in the JSON form.
_MIX_LISTED = 4


def _allocation_rows(allocations: list[Allocation] | tuple[Allocation, ...],
                     multi: bool) -> tuple[list[str], list[list[str]]]:
    # A sweep may mix precisions (fp16 arms beside a bf16 ablation): each run says its own.
    header = (["run", "precision"] if multi else []) + [
        "provider", "region", "instance_type", "gpu", "pricing", "instances", "hours",
        "$/hour", "cost"]
    rows = [([a.run, a.precision_used] if multi else []) + [a.provider, a.region, a.instance_type,
                                          f"{a.gpu_count}x {a.gpu}", a.pricing,
                                          str(a.instances), sig(a.hours, 3),
                                          f"{a.usd_per_hour:g}", money(a.cost_usd)]
            for a in allocations]
    return header, rows


def _where(a: Alternative) -> str:
    """"p5.48xlarge (H100, on_demand, us-east-1) x13" or "a mix of 3 offers (...)"."""
    runs = len({x.run for x in a.allocations}) if len(a.allocations) > 1 else 1
    over = f" for {runs} runs" if runs > 1 else ""
    if a.offers == 1:
        return (f"{a.instance_type} ({a.gpu}, {a.pricing}, {a.region}) x{a.instances}"
                + (" in all" + over if over else ""))
    if a.offers > _MIX_LISTED:
        return (f"{a.gpu}, a mix of {a.offers} offers, {a.instances} instances in all{over} "
                "(listed in --output json)")
    parts = ", ".join(f"{x.instances} x {x.instance_type} {x.pricing} {x.region}"
                      for x in a.by_offer())
    return f"{a.gpu}, a mix of {a.offers} offers ({parts}){over}"


def _baseline_lines(plan: Plan) -> list[str]:
    lines = []
    b = plan.baseline
    if b is not None:
        saving = ""
        if plan.status == "optimal" and b.cost_usd and b.cost_usd > plan.cost_usd + 0.005:
            saving = (f"; this plan costs {money(plan.cost_usd)} "
                      f"({1 - plan.cost_usd / b.cost_usd:.0%} less)")
        elif plan.status == "optimal" and b.cost_usd is not None:
            saving = "; this plan costs the same"
        budget = plan.job.get("budget_usd")
        over = (f", over the {money(budget)} budget" if budget is not None and b.cost_usd
                and b.cost_usd > budget else "")
        lines.append(f"Cheapest $/GPU-hour choice that meets the deadline: {_where(b)}: "
                     f"{money(b.cost_usd)}, done in {hours_text(b.hours or 0)}{over}{saving}.")
    n = plan.naive
    if n is not None:
        head = (f"The cheapest $/GPU-hour offer, {n.instance_type} ({n.gpu}, {n.pricing}, "
                f"{n.region}),")
        if n.hours is not None and plan.job.get("runs", 1) > 1:
            # runs at their fastest each cannot all run at once: no total to quote
            lines.append(f"{head} misses the deadline: even alone at its fastest size its "
                         f"slowest run would take {hours_text(n.hours)}.")
        elif n.cost_usd is not None and n.hours is not None:
            # its fastest size: max_instances, or fewer when more would not be faster
            lines.append(f"{head} misses the deadline: even at its fastest size "
                         f"(x{n.instances} instances) "
                         f"it would take {hours_text(n.hours)} and cost {money(n.cost_usd)}.")
        else:
            lines.append(f"{head} cannot be used: {n.note}.")
    return lines


def _alternative_rows(alternatives: list[Alternative]) -> list[list[str]]:
    """One row per alternative (a mix: one row, then its offers); the pricing column keeps
    a spot price from reading as comparable to an on-demand one."""
    rows = []
    for a in alternatives:
        if not a.meets_deadline:
            rows.append([a.gpu, "-", "-", "-", "-", "-", "-", a.note])
            continue
        offers = a.by_offer()
        mixed = a.offers > 1
        pricing = "+".join(dict.fromkeys(x.pricing for x in offers)) if offers else a.pricing
        note = "; ".join(x for x in ("toss-up: cost inside this plan's P10-P90 range"
                                     if a.toss_up else "", a.note) if x)
        rows.append([a.gpu, f"mix of {a.offers} offers:" if mixed else a.instance_type,
                     "" if mixed else a.region, pricing, str(a.instances), money(a.cost_usd),
                     hours_text(a.hours) if a.hours is not None else "-", note])
        if mixed:  # the offers of the mix, so no count reads as one offer's
            rows += [["", f"  {x.instance_type}", x.region, x.pricing, str(x.instances),
                      money(x.cost_usd), "", ""]
                     for x in offers[:_MIX_LISTED]]
            if a.offers > _MIX_LISTED:
                rows.append(["", f"  + {a.offers - _MIX_LISTED} more offers", "(see -o json)",
                             "", "", "", "", ""])
    return rows


def spot_lines(allocations: list[Allocation] | tuple[Allocation, ...]) -> list[str]:
    """Per spot allocation: its interruption band and what reclaims do to the run."""
    lines = []
    seen = set()
    for a in allocations:
        f = a.spot_figures
        if not f:
            continue
        key = (a.instance_type, a.region, a.instances, round(a.hours, 6))
        if key in seen:  # a sweep of identical runs shares one line
            continue
        seen.add(key)
        band = f.get("band", "")
        rate = f"{sig(f['reclaims_per_instance_hour'], 2)} reclaims per instance-hour"
        if band == "job override":
            band_text = f"{rate} (job override)"
        elif band.startswith("assumed"):
            band_text = f"interruption rate {band} ({f.get('band_source', '')}) = {rate}"
        else:
            band_text = (f"interruption band {band} a month ({f.get('band_source', '')}) = "
                         f"{rate}")
        between = f.get("hours_between_interruptions")
        every = (f", one interruption every {hours_text(between)}" if between and
                 f["synchronous"] else "")
        who = ("the whole run stops at each" if f["synchronous"] else
               "each stops only its own instance")
        lines.append(
            f"Spot {a.instances} x {a.instance_type} {a.region}: {band_text}. Expected "
            f"{sig(f['expected_reclaims'], 2)} reclaims and "
            f"{sig(f['expected_hardware_failures'], 2)} hardware failures over the run "
            f"({who}{every}); checkpoint every {hours_text(f['checkpoint_interval_hours'])} "
            f"({sig(f['checkpoint_write_hours'] * 60, 2)} min to write); "
            f"expected lost share {f['lost_share']:.0%} of paid time (reclaims, restarts, "
            f"checkpoints); P(done by the deadline) {_percent(f['p_meets_deadline'])} "
            "(reclaim and failure risk only; normal approximation).")
    if any(a.spot_figures and a.spot_figures.get("synchronous") and a.instances > 1
           for a in allocations):
        lines.append("Launch: the model assumes reclaimed instances are replaced; gpucost "
                     "launch does not replace them (it warns), so run it as "
                     "SkyPilot managed jobs: gpucost export PLAN.json --format skypilot "
                     "--managed -o task.yaml && sky jobs launch task.yaml")
    return lines


def capacity_lines(allocations: list[Allocation] | tuple[Allocation, ...]) -> list[str]:
    """Per Capacity Block allocation: what to buy, when it runs, what it costs."""
    lines = []
    for a in allocations:
        b = a.capacity_block
        if not b:
            continue
        lines.append(
            f"Buy capacity block {b['offering_id']} ({b['instance_count']} x {a.instance_type}"
            f", {b['zone'] or a.region}, from {b['start']} to {b['end']}, "
            f"{money(b['upfront_fee_usd'])} upfront): the run uses {a.instances} of them for "
            f"{hours_text(b['run_hours'])} from the block's start, in "
            f"{hours_text(b['starts_in_hours'])}; the fee is paid whether or not the run fills "
            "the block. `gpucost launch` buys it only with --purchase on top of --yes.")
    return lines


def _percent(p: float) -> str:
    """A probability without false certainty: never "100%" or "0%" unless exact."""
    if p >= 0.995:  # a normal tail is never exactly 1
        return ">99%"
    if 0 < p < 0.005:
        return "<1%"
    return f"{p:.0%}"


def _range_lines(plan: Plan) -> list[str]:
    """The P10-P90 range of the total, and what it means for the deadline."""
    low, high = plan.hours_p10, plan.hours_p90
    if low is None or high is None or high <= low:
        return []
    confidence = plan.job.get("deadline_confidence")
    lines = [f"Range P10-P90: {money(plan.cost_usd_p10)} to {money(plan.cost_usd_p90)}, "
             f"done in {hours_text(low)} to {hours_text(high)}"
             + (f" (planned at P{confidence * 100:.0f}, deadline_confidence {confidence:g})"
                if confidence else " (planned at the central estimate)") + "."]
    if not confidence and high > plan.job["deadline_hours"]:
        lines.append("The P90 finish is after the deadline: set deadline_confidence: 0.9 to "
                     "size the cluster so that nine runs in ten finish in time.")
    return lines


def _spot_in_play(plan: Plan) -> bool:
    shown = [*plan.allocations,
             *(a for alt in (plan.baseline, plan.over_budget) if alt for a in alt.allocations),
             *(a for alt in plan.alternatives for a in alt.allocations)]
    return any(a.pricing == "spot" for a in shown)


def _prices_line(snap: dict) -> str:
    """How old the prices behind the plan are (the rows' own as_of dates, never file
    names: see gpucost.catalog.age), then which files they came from."""
    files = []
    for f in snap["files"]:
        name = Path(str(f["path"])).name
        files.append(f"{f['provider']}/{name}" if f.get("dated", True) else str(f["path"]))
    where = f" Snapshot files: {', '.join(files)}." if files else ""
    if not snap.get("price_age"):  # a plan written before price ages were recorded
        oldest = snap.get("oldest_as_of")
        return (f"Prices: oldest price searched as of {oldest}.{where}" if oldest
                else f"Prices: no offers searched.{where}")
    age = PriceAge.from_json(snap["price_age"])
    if age.oldest_used:
        return f"Oldest price used: {age.used_text()}; {age.searched_text()}.{where}"
    if age.oldest_searched is None:
        return f"Prices: none used; no offers searched.{where}"
    return (f"Prices: none used; oldest searched as of {age.oldest_searched}; "
            f"{age.searched_text()}.{where}")


def render_plan(plan: Plan, markdown: bool = False) -> str:
    """The plan, its cost and finish time, the $/hour baseline and the alternatives."""
    job = plan.job
    h = "### " if markdown else ""
    bold = "**" if markdown else ""
    multi = job["mode"] == "experiments"
    lines = [f"{h}gpucost plan: {job['name']} ({job['mode']}, {job['precision']}, deadline "
             f"{hours_text(job['deadline_hours'])})",
             f"Needs {sig(plan.requirements['flops'], 2)} FLOPs"
             + (f" ({plan.requirements['flops_definition']})"
                if plan.requirements.get("flops_definition") else "")
             + (f" and {sig(plan.requirements['memory_gib'], 3)} GiB of training state"
                if plan.requirements["memory_gib"] else "") + ".", ""]
    if plan.status != "optimal":
        lines.append("No plan meets every constraint:")
        lines += [f"- {r}" for r in plan.reasons]
        if plan.over_budget is not None:
            o = plan.over_budget
            header, rows = _allocation_rows(o.allocations, multi)
            lines += ["", f"The cheapest plan meeting the deadline, over the "
                      f"{money(job.get('budget_usd'))} budget:", _table(rows, header, markdown),
                      "", f"Total: {money(o.cost_usd)}, done in {hours_text(o.hours or 0)}"]
    else:
        header, rows = _allocation_rows(plan.allocations, multi)
        lines.append(_table(rows, header, markdown))
        lines += ["", f"{bold}Total: {money(plan.cost_usd)}, done in "
                  f"{hours_text(plan.hours)}, {sig(plan.gpu_hours, 3)} GPU-hours"
                  f"{bold} (solver: {plan.solver['name']}, "
                  f"{plan.solver['seconds']:.2f} s)", *_range_lines(plan)]
        lines += spot_lines(plan.allocations)
        lines += capacity_lines(plan.allocations)
    baseline = _baseline_lines(plan)
    if baseline:
        lines += ["", *baseline]
    if plan.alternatives:
        lines += ["", f"{h}Best plan with each other GPU:",
                  _table(_alternative_rows(plan.alternatives),
                         ["gpu", "instance_type", "region", "pricing", "instances", "cost",
                          "done in", "why not"], markdown)]
    lines += _layout_lines(plan)
    util = plan.assumptions.get("utilization", {})
    if util:
        parts = [f"{g} ({v['method']})" for g, v in util.items()]
        lines += ["Throughput: modelled per layout for the "
                  f"{plan.assumptions['calibration']['stack']} stack, " + ", ".join(parts)
                  + " (published runs behind it: --output json, "
                  "assumptions.utilization_sources)."]
    effect = plan.assumptions.get("stack_effect")
    if effect:
        lines.append(f"Stack {plan.assumptions['calibration']['stack']}: the same cluster "
                     "would take " + ", ".join(
                         f"the same hours under {k}" if v == 1 else
                         f"{v:g}x the hours under {k}" for k, v in effect.items())
                     + " (unsure which you run? plan with each).")
    if plan.assumptions.get("mfu_definition"):
        lines.append(plan.assumptions["mfu_definition"] + ".")
    if plan.assumptions.get("range") and plan.status == "optimal":
        lines.append("Range: " + plan.assumptions["range"])
    lines.append(plan.assumptions["goodput"])
    if plan.assumptions.get("precision"):
        lines.append(plan.assumptions["precision"])
    if _spot_in_play(plan) and plan.assumptions.get("spot"):
        lines.append(plan.assumptions["spot"])
    lines.append(_prices_line(plan.snapshot))
    origins = [f"{f['provider']} {f['origin']}" for f in plan.snapshot["files"]
               if f.get("origin")]
    if origins:
        lines.append("Snapshot: " + "; ".join(origins) + ".")
    for note in plan.notes:
        lines.append(f"Note: {note}")
    return "\n".join(clean_text(line) for line in lines)


def render_frontier(points: list[FrontierPoint], markdown: bool = False,
                    runs: int = 1) -> str:
    """The frontier as a table: every deadline with its status, cost, finish time, GPUs
    and instance types."""
    rows = [[hours_text(p.deadline_hours) + (" *" if p.is_job_deadline else "")
             + (" (earliest)" if p.is_earliest else ""),
             p.status,
             money(p.cost_usd) if p.cost_usd is not None else "-",
             hours_text(p.finish_hours) if p.finish_hours is not None else "-",
             p.gpus or "-", p.instance_types or "-",
             str(p.instances) if p.cost_usd is not None else "-", p.note] for p in points]
    table = _table(rows, ["deadline", "status", "cheapest cost", "done in", "gpus",
                          "instance_type", "instances", "note"], markdown)
    note = "\n\n* the job's own deadline"
    if any(p.is_earliest for p in points):
        note += "\n(earliest) the soonest deadline any allowed plan can meet"
    if runs > 1:
        note += ("\nRun deadlines scale together: 'deadline' is the earliest run's, "
                 "'done in' the last run's finish.")
    if any(p.status == "over budget" for p in points):
        note += "\n'over budget' rows meet their deadline at a cost over the job's budget_usd."
    if not any(p.feasible for p in points):
        note += ("\nNo deadline in the range has a plan within the budget."
                 if any(p.status == "over budget" for p in points)
                 else "\nNo deadline in the range is feasible.")
    return clean_text(table + note)

"""``gpucost plan`` and ``gpucost frontier``: price the job, not the GPU-hour."""

from __future__ import annotations

import json

import click

from gpucost.cli.options import calibration_option, snapshot_option

# The planner, pandas and the reports are imported inside the commands: `--help` and
# argument errors stay quick (tests/cli/test_startup.py).

plan_output = click.option("--output", "-o", type=click.Choice(["table", "json", "markdown"]),
                           default="table", show_default=True)


@click.command("plan")
@click.argument("job_file", type=click.Path(dir_okay=False))
@plan_output
@snapshot_option
@calibration_option
def plan_command(job_file: str, output: str, snapshot: str | None,
                 calibration: str | None) -> int:
    """The cheapest way to run JOB_FILE by its deadline.

    Exit status 0 with a plan, 1 when the job is infeasible (the answer says which
    constraint binds and the nearest feasible relaxation), 2 for bad input.
    """
    from gpucost.calibrate.store import load_profile_for_cli
    from gpucost.catalog.age import PriceAge, warn_if_stale
    from gpucost.catalog.snapshot import load_catalog
    from gpucost.job.parse import load_job
    from gpucost.performance.user_calibration import use_profile
    from gpucost.planner.planner import plan_job
    from gpucost.report.plan_report import render_plan

    job = load_job(job_file)
    catalog = load_catalog(snapshot, providers=job.constraints.providers)
    with use_profile(load_profile_for_cli(calibration)):
        plan = plan_job(job, catalog)
    warn_if_stale(PriceAge.from_json(plan.snapshot["price_age"]))
    if output == "json":
        click.echo(plan.to_json())
    else:
        click.echo(render_plan(plan, markdown=output == "markdown"))
    return 0 if plan.status == "optimal" else 1


@click.command("frontier")
@click.argument("job_file", type=click.Path(dir_okay=False))
@click.option("--points", type=click.IntRange(min=2, max=200), default=15, show_default=True,
              help="Deadlines to plan for, spaced from 1/8 to 4x the job's (both ends "
                   "included), plus the job's own and the earliest feasible one.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False),
              help="Also draw the curve to this file, PNG, SVG or PDF by its suffix (not "
                   "written when no deadline has a plan).")
@plan_output
@snapshot_option
@calibration_option
def frontier_command(job_file: str, points: int, plot_path: str | None, output: str,
                     snapshot: str | None, calibration: str | None) -> int:
    """Cost against deadline: the cheapest plan for each of a range of deadlines.

    Exit status 0 when at least one deadline is feasible, 1 when none is, 2 for bad input.
    """
    from gpucost.calibrate.store import load_profile_for_cli
    from gpucost.catalog.age import price_age, utc_today, warn_if_stale
    from gpucost.catalog.snapshot import load_catalog
    from gpucost.job.parse import load_job
    from gpucost.performance.user_calibration import use_profile
    from gpucost.planner.frontier import frontier
    from gpucost.report.frontier_plot import plot_format, plot_frontier
    from gpucost.report.plan_report import render_frontier
    from gpucost.report.tables import json_ready

    if plot_path:
        plot_format(plot_path)  # refuse an unknown suffix before the work
    job = load_job(job_file)
    catalog = load_catalog(snapshot, providers=job.constraints.providers)
    profile = load_profile_for_cli(calibration)
    with use_profile(profile):
        curve = frontier(job, catalog, points)
    # The curve's points name instance types only: tell the age of what was searched.
    warn_if_stale(price_age([], catalog.offers, utc_today()))
    run = job.runs[0]
    said = (profile.describe(set(catalog.offers["gpu"]), run.stack, run.precision)
            if profile is not None and run.utilization is None else None)
    if output == "json":
        click.echo(json.dumps({"job": job.name, "calibration": said,
                               "points": [p.to_json() for p in curve]},
                              indent=2, default=json_ready))
    else:
        click.echo(render_frontier(curve, markdown=output == "markdown", runs=len(job.runs)))
        if said:
            click.echo(f"Throughput {said}.")
    if not any(p.feasible for p in curve):
        if plot_path:
            click.echo(f"gpucost: no deadline has a plan: {plot_path} not written", err=True)
        return 1
    if plot_path:
        deadline = min(r.deadline_hours for r in job.runs)
        plot_frontier(curve, deadline, plot_path, f"{job.name}: cost vs deadline",
                      job.constraints.budget_usd)
        click.echo(f"wrote {plot_path}", err=True)
    return 0


COMMANDS = [plan_command, frontier_command]

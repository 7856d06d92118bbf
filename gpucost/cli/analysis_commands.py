"""``gpucost estimate``, ``calibrate`` and ``diff``: a named cluster, a team's own
measurements, and what a change to a job file costs.

Heavy modules (pandas, the planner) are imported inside the commands so that
``gpucost --help`` stays quick.
"""

from __future__ import annotations

import click

from gpucost.cli.options import calibration_option, snapshot_option


@click.command("estimate")
@click.argument("job_file", type=click.Path(dir_okay=False))
@click.option("--instance-type", "instance_type", required=True,
              help="The instance type of the cluster (e.g. p5.48xlarge).")
@click.option("--instances", type=click.IntRange(min=1, max=100_000), required=True,
              help="How many instances of it.")
@click.option("--provider", default=None, help="Provider of the offer (default: any).")
@click.option("--region", default=None, help="Region of the offer (default: the cheapest).")
@click.option("--pricing", type=click.Choice(["on_demand", "spot"]), default="on_demand",
              show_default=True)
@click.option("--output", "-o", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
@snapshot_option
@calibration_option
def estimate_command(job_file: str, instance_type: str, instances: int, provider: str | None,
                     region: str | None, pricing: str, output: str, snapshot: str | None,
                     calibration: str | None) -> int:
    """How long JOB_FILE takes on a cluster you name, and what it costs.

    Wall time with its P10-P90 range, cost, layout, memory per GPU, MFU, exposed
    communication, and whether the deadline and budget are met. Exit status 0 when the
    job fits and meets both, 1 when it does not fit or misses either, 2 for bad input.
    """
    from gpucost.calibrate.store import load_profile_for_cli
    from gpucost.catalog.snapshot import load_catalog
    from gpucost.job.parse import load_job
    from gpucost.performance.user_calibration import use_profile
    from gpucost.planner.cluster import estimate as estimate_cluster
    from gpucost.report.estimate_report import render_estimate

    job = load_job(job_file)
    catalog = load_catalog(snapshot, providers=(provider,) if provider else ())
    with use_profile(load_profile_for_cli(calibration)):
        result = estimate_cluster(job, catalog, instance_type, instances, provider=provider,
                                  region=region, pricing=pricing)
    if output == "json":
        click.echo(result.to_json())
    else:
        click.echo(render_estimate(result, markdown=output == "markdown"))
    return 0 if result.ok else 1


COMMANDS = [estimate_command]

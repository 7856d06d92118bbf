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


_CONTEXT = (("--job", "job", "Job file giving the model shape, stack and precision."),
            ("--gpu", "gpu", "GPU name or alias."),
            ("--instance-type", "instance_type", "Instance type (looked up in the catalog)."),
            ("--stack", "stack", "pytorch | megatron | legacy."),
            ("--precision", "precision", "bf16, fp8, ..."))


def _context_options(function):  # noqa: ANN001, ANN202
    for flag, name, text in reversed(_CONTEXT):
        function = click.option(flag, name, default=None,
                                help=text + " For measurements that lack it.")(function)
    for flag, name in (("--instances", "instances"), ("--gpus", "gpus"),
                       ("--sequence-length", "sequence_length"),
                       ("--global-batch", "global_batch"), ("--parameters", "parameters")):
        function = click.option(flag, name, type=float, default=None,
                                help="For measurements that lack it (logs, exports).")(function)
    return function


@click.command("calibrate")
@click.argument("measurements", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None,
              help="Also write the profile to this file (to commit and share; use it with "
                   "--calibration FILE).")
@click.option("--no-store", is_flag=True, help="Do not store the profile in your config "
              "folder (only --out, if given).")
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@snapshot_option
@_context_options
def calibrate_command(measurements: tuple[str, ...], out: str | None, no_store: bool,
                      output: str, snapshot: str | None, **context) -> int:
    """Fit the throughput model to your own measured runs.

    MEASUREMENTS are CSV, YAML, JSON or JSON-lines files (one measured run per row; W&B
    and MLflow CSV exports too) or trainer logs (torchtitan, Hugging Face Trainer,
    Megatron-LM); the options fill what a log or export lacks. The profile (a factor and
    residual spread per GPU, stack and precision) is stored in your config folder, where
    plan, frontier and estimate find it. Prints the model's error on your measurements
    before and after. Exit status 0, or 2 for bad or contradictory measurements.
    """
    from gpucost.calibrate.fit import fit_profile, measure
    from gpucost.calibrate.measurements import read_records
    from gpucost.calibrate.store import default_profile_path, profile_json, write_profile
    from gpucost.catalog.snapshot import load_catalog
    from gpucost.report.calibrate_report import render_calibration

    defaults = {k: v for k, v in context.items() if v is not None}
    records = [r for path in measurements for r in read_records(path, defaults)]
    if not records:
        from gpucost.errors import InputError

        raise InputError(measurements[0], "measurements", "at least one measured run")
    import warnings

    with warnings.catch_warnings():  # prices do not matter here, only hardware
        warnings.simplefilter("ignore")
        offers = load_catalog(snapshot).offers
    measured = measure(records, offers)
    profile, rows = fit_profile(measured)
    stored = []
    if not no_store:
        path = default_profile_path()
        write_profile(profile, path)
        stored.append(str(path))
    if out:
        write_profile(profile, out)
        stored.append(out)
    if output == "json":
        import json

        click.echo(json.dumps({"profile": json.loads(profile_json(profile)),
                               "measurements": rows, "written": stored}, indent=2))
    else:
        click.echo(render_calibration(profile, rows, stored))
    return 0


@click.command("diff")
@click.argument("base")
@click.argument("new")
@click.option("--output", "-o", type=click.Choice(["table", "json", "markdown"]),
              default="table", show_default=True)
@snapshot_option
@calibration_option
def diff_command(base: str, new: str, output: str, snapshot: str | None,
                 calibration: str | None) -> int:
    """Compare the cheapest plans of two versions of a job: cost, time, cluster, layout.

    BASE and NEW are each a job file (planned now, on the same snapshot), a saved plan
    JSON (`gpucost plan -o json`), or git:REF:path (the file at a git revision, e.g.
    git:origin/main:jobs/llama.yaml). `-o markdown` suits a pull-request comment.

    Exit status 0 when the new plan keeps its job's budget and deadline, 1 when it
    breaks either (or no plan is feasible), 2 for bad input.
    """
    from gpucost.calibrate.store import load_profile_for_cli
    from gpucost.cli.diff_inputs import load_side
    from gpucost.performance.user_calibration import use_profile
    from gpucost.planner.diff import compare, summarize
    from gpucost.report.diff_report import render_diff

    with use_profile(load_profile_for_cli(calibration)):
        before = summarize(load_side(base, snapshot), base)
        after = summarize(load_side(new, snapshot), new)
    result = compare(before, after)
    if output == "json":
        import json

        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        click.echo(render_diff(result, markdown=output == "markdown"))
    return 0 if result.ok else 1


COMMANDS = [estimate_command, calibrate_command, diff_command]

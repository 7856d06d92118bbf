"""``gpucost launch`` / ``status`` / ``down`` / ``export``: the launcher's commands.

``launch`` is a dry run unless ``--yes``; ``status`` and ``down`` find a plan's instances
by tag (AWS) / label (GCP), so they work from any machine; ``export`` writes SkyPilot
task YAML. See :mod:`gpucost.launcher`.
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import click

from gpucost.cli.options import FiniteFloatRange
from gpucost.errors import GpucostError, InputError, quote
from gpucost.files import write_output
from gpucost.formatting import redact_urls
from gpucost.launcher import (
    describe,
    export_skypilot,
    launch_plan,
    load_config,
    load_plan,
    make_backends,
    refusal_reasons,
)
from gpucost.launcher.backends import LaunchError, backend_names
from gpucost.launcher.capacity_purchase import (
    block_allocations,
    purchase_blocks,
    purchase_reasons,
)
from gpucost.launcher.config import ON_EXIT, LaunchConfig, apply_flags, parse_env_flags
from gpucost.launcher.duplicates import duplicate_reasons, running_plans_of_job
from gpucost.launcher.locate import find_plan_instances
from gpucost.launcher.naming import check_plan_id
from gpucost.launcher.safety import blocking_reasons, plan_id_mismatch, unchecked_prices
from gpucost.launcher.spot_recovery import spot_warnings, unrecoverable_spot
from gpucost.launcher.status import format_report, recorded_regions, status_report

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="Launch config YAML (default: launch.yaml in the gpucost user config folder, "
         "e.g. ~/.config/gpucost/launch.yaml, if it exists).")


def _err(line: str) -> None:
    click.echo(redact_urls(line), err=True)


def _refuse(blocking: list[str], overridable: list[str]) -> None:
    """Say why a launch is refused: first what nothing overrides, then what ``--force``
    would (marked as such when both kinds stop the launch)."""
    for reason in blocking:
        _err(f"gpucost: refused: {reason}")
    mark = " (--force would override this one)" if blocking else ""
    for reason in overridable:
        _err(f"gpucost: refused: {reason}{mark}")
    if blocking:
        _err("gpucost: not launched (--force does not override "
             + ("the others)" if overridable else "these)"))
    else:
        _err("gpucost: pass --force to launch anyway")


job_options = [
    click.option("--setup", default=None, help="Shell command run once at boot before the "
                 "run command (overrides job.setup in the launch config)."),
    click.option("--run", "run_command", default=None, help="The training command, run at "
                 "boot with NODE_RANK, NNODES, GPUS_PER_NODE, MASTER_ADDR, MASTER_PORT, "
                 "GPUCOST_RUN / GPUCOST_SHARE set (overrides job.run)."),
    click.option("--container", default=None, metavar="IMAGE", help="Run the run command "
                 "inside this container image (docker, --gpus all, host network)."),
    click.option("--env", "envs", multiple=True, metavar="NAME=VALUE",
                 help="Extra environment variable for the job; repeatable."),
    click.option("--on-exit", type=click.Choice(ON_EXIT), default=None,
                 help="What an instance does when the run command exits (default "
                      "terminate)."),
    click.option("--hard-limit-hours", type=click.FloatRange(min=0, min_open=True),
                 default=None, help="Power off after this many hours whatever happens "
                 "(default: the allocation's planned hours + 20%)."),
]


def _with_job_options(func: Any, count: int = len(job_options)) -> Any:
    for option in reversed(job_options[:count]):
        func = option(func)
    return func


def _apply_job_flags(config: LaunchConfig, setup: str | None, run_command: str | None,
                     container: str | None, envs: tuple[str, ...], on_exit: str | None,
                     hard_limit_hours: float | None) -> None:
    for key, value in (("setup", setup), ("run", run_command), ("container", container),
                       ("on_exit", on_exit), ("hard_limit_hours", hard_limit_hours)):
        config.override("job", key, value)
    if envs:
        job = config.settings.setdefault("job", {})
        job["envs"] = {**(job.get("envs") or {}), **parse_env_flags(envs)}


def _plain_dry_run(plan: Any) -> None:
    """The dry run without the flags (never read when the plan is refused outright)."""
    click.echo("DRY RUN: nothing is created.")
    for line in describe(plan):
        click.echo(line)


def _capacity_blocks(plan: Any, yes: bool, reasons: list[str]) -> int:
    """A plan that buys Capacity Blocks: the dry run shows each purchase and its fee;
    ``--yes --purchase`` buys them (checks passed, see :func:`launch`)."""
    if not yes:
        click.echo("DRY RUN: nothing is bought or created; pass --yes --purchase to buy.")
        for line in describe(plan):
            click.echo(line)
        return 0
    for reason in reasons:
        _err(f"gpucost: warning: {reason} (--force)")
    import boto3

    session = boto3.Session()
    for line in purchase_blocks(plan, lambda region: session.client("ec2", region_name=region)):
        click.echo(line)
    return 0


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Really launch. Without it: a dry run that only "
              "prints what would be created.")
@click.option("--force", is_flag=True, help="Launch even if the plan is infeasible, over "
              "its budget, priced from a snapshot more than 7 days old, or its job is "
              "already running. Never overrides a plan whose figures do not add up, or "
              "more instances than the launch config's max_instances (default 64).")
@click.option("--allow-partial", is_flag=True, help="If an allocation fails, keep the "
              "others running (default: terminate everything this launch created).")
@config_option
@click.option("--image", "images", multiple=True, metavar="[PROVIDER=]IMAGE",
              help="Image to boot (AMI id for aws, image or family URL for gcp); repeatable.")
@click.option("--key-name", default=None, help="AWS key pair name.")
@click.option("--subnet-id", default=None, help="AWS subnet id.")
@click.option("--security-group-id", "security_group_ids", multiple=True,
              help="AWS security group id; repeatable.")
@click.option("--project", default=None, help="GCP project.")
@click.option("--network", default=None, help="GCP network (e.g. global/networks/default).")
@click.option("--purchase", is_flag=True, help="With --yes: buy the Capacity Blocks the plan "
              "chose (their upfront fee is not refundable).")
@click.option("--timeout", default=900.0, show_default=True,
              help="Seconds to wait for a rollback's terminations.")
@_with_job_options
def launch(plan_file: str, yes: bool, force: bool, allow_partial: bool,
           config_path: str | None, images: tuple[str, ...], key_name: str | None,
           subnet_id: str | None, security_group_ids: tuple[str, ...], project: str | None,
           network: str | None, purchase: bool, timeout: float, setup: str | None,
           run_command: str | None,
           container: str | None, envs: tuple[str, ...], on_exit: str | None,
           hard_limit_hours: float | None) -> int:
    """Provision PLAN_FILE (from `gpucost plan --output json`): a dry run unless --yes.

    Every instance runs the job at boot (--setup/--run or job: in the launch config) and
    ends itself when the run exits (--on-exit) or at the hard limit."""
    plan = load_plan(plan_file)
    reasons = refusal_reasons(plan)
    config = load_config(config_path)  # its max_instances is one of the blocking checks
    blocking = blocking_reasons(plan, config.max_instances)
    if yes:  # a capacity block is bought only with --purchase; nothing overrides that
        blocking += purchase_reasons(plan, purchase)
    # A dry run of a plan that only --force would launch (stale prices, over budget...)
    # still shows everything the forced launch would create, then the refusal (exit 1).
    refused_dry_run = bool(not yes and not blocking and reasons and not force)
    if blocking or (reasons and not force and yes):
        # Why the plan cannot run comes before any flag problem: the flags are not read.
        if not yes:  # the dry run still shows what the plan would create (recomputed)
            _plain_dry_run(plan)
        _refuse(blocking, [] if force else reasons)
        return 1
    if block_allocations(plan):
        code = _capacity_blocks(plan, yes, [] if refused_dry_run else reasons)
        if refused_dry_run:
            _refuse([], reasons)
            return 1
        return code
    try:
        _apply_job_flags(config, setup, run_command, container, envs, on_exit,
                         hard_limit_hours)
        providers = list(dict.fromkeys(a.provider for a in plan.allocations))
        apply_flags(config, providers, images, {
            "key_name": ("aws", key_name), "subnet_id": ("aws", subnet_id),
            "security_group_ids": ("aws", list(security_group_ids)),
            "project": ("gcp", project), "network": ("gcp", network)})
        backends = make_backends(plan, config)
    except GpucostError:
        if not refused_dry_run:
            raise
        # The refusal comes before any flag problem (as above): a flag error would
        # only matter once --force is given.
        _plain_dry_run(plan)
        _refuse([], reasons)
        return 1
    job = config.settings.get("job") or {}
    if not yes:
        click.echo("DRY RUN: nothing is created; pass --yes to launch.")
        for line in describe(plan, backends):
            click.echo(line)
        for key in ("container", "setup", "run"):
            if job.get(key):
                click.echo(f"Every instance {key}: {' '.join(str(job[key]).split())}")
    if yes and not force:  # here, not force means no refusal reasons
        # Only a real launch asks the clouds (a dry run needs no credentials).
        try:
            running = running_plans_of_job(plan, backends)
        except LaunchError as exc:
            raise LaunchError(f"cannot check whether job {plan.job_name!r} is already "
                              f"running ({exc}); --force skips this check") from None
        duplicates = duplicate_reasons(plan, running)
        if duplicates:
            _refuse([], duplicates)
            return 1
    for reason in [] if refused_dry_run else reasons:
        _err(f"gpucost: warning: {reason} (--force)")
    for warning in unrecoverable_spot(plan) + spot_warnings(plan):
        _err(f"gpucost: warning: {warning}")
    for line in unchecked_prices(plan):
        _err(f"gpucost: warning: {line}")
    if not job.get("run"):
        _err("gpucost: warning: no run command (job.run in the launch config, or --run): "
             "the instances will sit idle until their hard limit or `gpucost down`")
    for alloc in plan.allocations:
        for warning in getattr(backends[alloc.provider], "warnings", lambda *_: [])(plan, alloc):
            _err(f"gpucost: warning: {warning}")
    if refused_dry_run:
        _refuse([], reasons)
        return 1
    if not yes:
        return 0
    result = launch_plan(plan, backends, allow_partial=allow_partial, timeout=timeout,
                         echo=click.echo)
    quoted = shlex.quote(plan.plan_id)
    follow = f"`gpucost status {quoted}` to follow, `gpucost down {quoted}` to terminate."
    if result.instances or result.failed:
        click.echo(f"Launched {len(result.instances)} instance(s) for plan {plan.plan_id}; "
                   + follow)
    else:
        click.echo(f"Nothing new was created: plan {plan.plan_id} already runs all "
                   f"{sum(a.instances for a in plan.allocations)} instance(s); " + follow)
    if result.state_file is None:
        _err("gpucost: warning: could not write the local launch record (status/down "
             "will need --region)")
    if result.failed:
        _err(f"gpucost: error: {len(result.failed)} allocation(s) failed (kept the others "
             "running: --allow-partial)")
        return 1
    return 0


search_options = [
    click.option("--provider", "providers", multiple=True, type=click.Choice(backend_names()),
                 help="Only these providers (default: those of the local launch record, "
                      "else all)."),
    click.option("--region", "regions", multiple=True,
                 help="AWS region to search; repeatable. Default: the regions recorded by "
                      "`gpucost launch` on this machine; without that record, give --region. "
                      "GCP needs none: all zones are searched by label."),
    click.option("--project", default=None, help="GCP project (default: launch record, "
                 "launch config, then the credentials' project)."),
    config_option,
]


def _with_search_options(func: Any) -> Any:
    for option in reversed(search_options):
        func = option(func)
    return func


@click.command()
@click.argument("plan_id")
@_with_search_options
@click.option("--output", "-o", type=click.Choice(["table", "json"]), default="table",
              show_default=True)
@click.option("--tokens-done", type=FiniteFloatRange(min=0), default=None,
              help="Tokens the run has trained so far: predicts its finish and spend at "
                   "this pace (needs PLAN.json, or a plan launched from here).")
@click.option("--measured-tps", type=FiniteFloatRange(min=0, min_open=True), default=None,
              help="Tokens per second the whole cluster trains at now (as --tokens-done).")
@click.option("--total-tokens", type=FiniteFloatRange(min=0, min_open=True), default=None,
              help="The job's tokens (default: the plan's job file, else FLOPs / 6N).")
@click.option("--elapsed-hours", type=FiniteFloatRange(min=0, min_open=True), default=None,
              help="Wall hours the run has trained (default: its longest instance uptime).")
def status(plan_id: str, providers: tuple[str, ...], regions: tuple[str, ...],
           project: str | None, config_path: str | None, output: str,
           tokens_done: float | None = None, measured_tps: float | None = None,
           total_tokens: float | None = None, elapsed_hours: float | None = None) -> int:
    """Show PLAN_ID's instances (found by tag / label): state, uptime, the run's exit
    status and spend so far against the plan's cost and budget.

    PLAN_ID may also be the plan JSON file. With --tokens-done or --measured-tps (and
    the plan JSON file), also the predicted finish and spend at the run's current pace,
    with a warning when the deadline or budget will be missed."""
    plan = load_plan(plan_id) if plan_id.endswith(".json") and Path(plan_id).is_file() else None
    follow = tokens_done is not None or measured_tps is not None
    if follow and plan is None:
        # A bare id: the plan file its launch recorded, if that file still holds this plan.
        from gpucost.launcher.state import recorded_plan_path

        recorded = recorded_plan_path(plan_id)
        plan = load_plan(recorded) if recorded else None
        if plan is None or plan.plan_id != plan_id:
            raise GpucostError(f"status: --tokens-done / --measured-tps need the plan JSON "
                               f"file (gpucost status PLAN.json ...): no launch of "
                               f"{quote(plan_id)} on this machine recorded one")
    if plan is not None:
        plan_id = plan.plan_id
    check_plan_id(plan_id)
    skipped: list[tuple[str, str]] = []
    found, complete = find_plan_instances(
        plan_id, providers, regions, load_config(config_path), {"gcp": {"project": project}},
        warn=lambda _: None, method="inspect", skipped=skipped)  # said in the report
    report = status_report([i for _, items in found for i in items],
                           plan_cost_usd=plan.total_cost_usd if plan else None,
                           budget_usd=plan.budget_usd if plan else None,
                           searched=[backend.name for backend, _ in found],
                           not_searched=skipped)
    pace = None
    if follow and plan is not None:
        from datetime import UTC, datetime

        from gpucost.launcher.progress import elapsed_from_rows, format_progress, progress

        elapsed = elapsed_hours or elapsed_from_rows([r.uptime_hours for r in report.rows])
        pace = progress(plan.raw, now=datetime.now(UTC), elapsed_hours=elapsed,
                        spend_usd=report.spend_usd if report.rows else None,
                        tokens_done=tokens_done, measured_tps=measured_tps,
                        tokens_total=total_tokens)
        report.warnings.extend(pace.warnings)
    if output == "json":
        data = report.to_json()
        if pace is not None:
            data["progress"] = pace.to_json()
        click.echo(json.dumps(data, indent=2))
    else:
        for line in format_report(report, plan_id):
            click.echo(line)
        for line in format_progress(pace) if pace is not None else []:
            click.echo(line)
    for warning in report.warnings:
        _err(f"gpucost: warning: {warning}")
    return 0 if complete else 1


@click.command()
@click.argument("plan_id")
@_with_search_options
@click.option("--timeout", default=900.0, show_default=True,
              help="Seconds to wait for the instances to be gone.")
def down(plan_id: str, providers: tuple[str, ...], regions: tuple[str, ...],
         project: str | None, config_path: str | None, timeout: float) -> int:
    """Terminate all of PLAN_ID's instances (found by tag / label), wait until gone, then
    delete what launch created besides them (placement groups, security group)."""
    check_plan_id(plan_id)
    found, complete = find_plan_instances(
        plan_id, providers, regions, load_config(config_path), {"gcp": {"project": project}},
        warn=_err)
    total = 0
    for backend, instances in found:
        if instances:
            click.echo(f"{backend.name}: terminating {len(instances)} instance(s): "
                       f"{', '.join(i.id for i in instances)}")
            backend.terminate(instances, timeout)
            total += len(instances)
        cleanup = getattr(backend, "cleanup", None)
        if cleanup is not None:
            where = sorted(set(regions or recorded_regions(plan_id, backend.name))
                           | {i.region for i in instances})
            for item in cleanup(plan_id, where, timeout):
                click.echo(f"{backend.name}: deleted {item}")
    searched = ", ".join(backend.name for backend, _ in found)
    if total:
        click.echo(f"Terminated {total} instance(s) of plan {plan_id}.")
    elif complete:
        click.echo(f"No instances of plan {plan_id} found.")
    elif searched:
        click.echo(f"No instances of plan {plan_id} found in {searched}; not every provider "
                   "could be searched (see above), so some may still be running.")
    else:
        click.echo(f"Nothing terminated: not every provider could be searched for plan "
                   f"{plan_id} (see above), so its instances may still be running.")
    return 0 if complete else 1


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["skypilot"]), default="skypilot",
              show_default=True, help="Export format.")
@click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: stdout). SkyPilot: one YAML document per "
                   "allocation, separated by ---.")
@click.option("--infra", is_flag=True, help="SkyPilot: write resources.infra "
              "(SkyPilot >= 0.10) instead of cloud/region/zone.")
@click.option("--managed", is_flag=True, help="SkyPilot: tasks for managed jobs (`sky jobs "
              "launch`), spot ones with resources.job_recovery, so reclaimed instances are "
              "replaced and the job rerun from its checkpoint.")
@config_option
@lambda func: _with_job_options(func, 4)  # setup, run, container, env
def export(plan_file: str, fmt: str, output: str | None, infra: bool, managed: bool,
           config_path: str | None,
           setup: str | None, run_command: str | None, container: str | None,
           envs: tuple[str, ...]) -> int:
    """Export PLAN_FILE for another tool (SkyPilot task YAML, with the job's setup, run
    and envs from the launch config or the flags)."""
    plan = load_plan(plan_file)
    mismatch = plan_id_mismatch(plan)
    if mismatch:  # the id names every task: an edited plan would pass as the planned one
        raise InputError(plan_file, "plan_id", f"the id of the plan's contents ({mismatch})")
    if not plan.allocations:
        raise InputError(plan_file, "allocations", "at least one allocation to export "
                         f"(plan status {plan.status})")
    config = load_config(config_path)
    _apply_job_flags(config, setup, run_command, container, envs, None, None)
    text = export_skypilot(plan, config.settings.get("job"), infra=infra, managed=managed)
    if output:
        write_output(output, text, "SkyPilot YAML")
        click.echo(f"Wrote {len(plan.allocations)} SkyPilot task(s) to {output}", err=True)
    else:
        click.echo(text, nl=False)
    if not (config.settings.get("job") or {}).get("run"):  # as `launch` warns
        _err("gpucost: warning: no run command (job.run in the launch config, or --run): "
             "the exported tasks only echo that none was given")
    return 0


COMMANDS = [launch, status, down, export]

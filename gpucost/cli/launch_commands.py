"""``gpucost launch`` / ``status`` / ``down`` / ``export``: the launcher's commands.

``launch`` is a dry run unless ``--yes``; ``status`` and ``down`` find a plan's instances
by tag (AWS) / label (GCP), so they work from any machine; ``export`` writes SkyPilot
task YAML. See :mod:`gpucost.launcher`.
"""

from __future__ import annotations

import json
from typing import Any

import click

from gpucost.errors import InputError
from gpucost.files import write_output
from gpucost.launcher import (
    describe,
    export_skypilot,
    launch_plan,
    load_config,
    load_plan,
    make_backends,
    refusal_reasons,
)
from gpucost.launcher.backends import backend_names
from gpucost.launcher.config import apply_flags
from gpucost.launcher.locate import find_plan_instances

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None,
    help="Launch config YAML (default: launch.yaml in the gpucost user config folder, "
         "e.g. ~/.config/gpucost/launch.yaml, if it exists).")


def _err(line: str) -> None:
    click.echo(line, err=True)


@click.command()
@click.argument("plan_file", type=click.Path(dir_okay=False))
@click.option("--yes", is_flag=True, help="Really launch. Without it: a dry run that only "
              "prints what would be created.")
@click.option("--force", is_flag=True, help="Launch even if the plan is infeasible, over "
              "its budget, or priced from a snapshot more than 7 days old.")
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
@click.option("--timeout", default=900.0, show_default=True,
              help="Seconds to wait for a rollback's terminations.")
def launch(plan_file: str, yes: bool, force: bool, allow_partial: bool,
           config_path: str | None, images: tuple[str, ...], key_name: str | None,
           subnet_id: str | None, security_group_ids: tuple[str, ...], project: str | None,
           network: str | None, timeout: float) -> int:
    """Provision PLAN_FILE (from `gpucost plan --output json`): a dry run unless --yes."""
    plan = load_plan(plan_file)
    config = load_config(config_path)
    providers = list(dict.fromkeys(a.provider for a in plan.allocations))
    apply_flags(config, providers, images, {
        "key_name": ("aws", key_name), "subnet_id": ("aws", subnet_id),
        "security_group_ids": ("aws", list(security_group_ids)),
        "project": ("gcp", project), "network": ("gcp", network)})
    backends = make_backends(plan, config)
    reasons = refusal_reasons(plan)
    if not yes:
        click.echo("DRY RUN: nothing is created; pass --yes to launch.")
        for line in describe(plan, backends):
            click.echo(line)
    if reasons and not force:
        for reason in reasons:
            _err(f"gpucost: refused: {reason}")
        _err("gpucost: pass --force to launch anyway")
        return 1
    for reason in reasons:
        _err(f"gpucost: warning: {reason} (--force)")
    if not yes:
        return 0
    result = launch_plan(plan, backends, allow_partial=allow_partial, timeout=timeout,
                         echo=click.echo)
    click.echo(f"Launched {len(result.instances)} instance(s) for plan {plan.plan_id}; "
               f"`gpucost status {plan.plan_id}` to follow, `gpucost down {plan.plan_id}` "
               "to terminate.")
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
def status(plan_id: str, providers: tuple[str, ...], regions: tuple[str, ...],
           project: str | None, config_path: str | None, output: str) -> int:
    """List PLAN_ID's instances and their states, found by tag / label."""
    found, complete = find_plan_instances(
        plan_id, providers, regions, load_config(config_path), {"gcp": {"project": project}},
        warn=_err)
    instances = [i for _, items in found for i in items]
    if output == "json":
        click.echo(json.dumps([i.to_json() for i in instances], indent=2))
    else:
        for i in instances:
            click.echo(f"{i.provider:4} {i.zone or i.region:16} {i.id:32} {i.instance_type:22}"
                       f" {i.pricing:9} alloc {i.allocation or '?':>3}  {i.state}")
        searched = ", ".join(backend.name for backend, _ in found) or "no provider"
        click.echo(f"{len(instances)} instance(s) of plan {plan_id}" + (
            "" if complete else f" found (searched: {searched}); not every provider could "
            "be searched (see above)"))
    return 0 if complete else 1


@click.command()
@click.argument("plan_id")
@_with_search_options
@click.option("--timeout", default=900.0, show_default=True,
              help="Seconds to wait for the instances to be gone.")
def down(plan_id: str, providers: tuple[str, ...], regions: tuple[str, ...],
         project: str | None, config_path: str | None, timeout: float) -> int:
    """Terminate all of PLAN_ID's instances (found by tag / label) and wait until gone."""
    found, complete = find_plan_instances(
        plan_id, providers, regions, load_config(config_path), {"gcp": {"project": project}},
        warn=_err)
    total = 0
    for backend, instances in found:
        if not instances:
            continue
        click.echo(f"{backend.name}: terminating {len(instances)} instance(s): "
                   f"{', '.join(i.id for i in instances)}")
        backend.terminate(instances, timeout)
        total += len(instances)
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
def export(plan_file: str, fmt: str, output: str | None) -> int:
    """Export PLAN_FILE for another tool (SkyPilot task YAML)."""
    plan = load_plan(plan_file)
    if not plan.allocations:
        raise InputError(plan_file, "allocations", "at least one allocation to export "
                         f"(plan status {plan.status})")
    text = export_skypilot(plan)
    if output:
        write_output(output, text, "SkyPilot YAML")
        click.echo(f"Wrote {len(plan.allocations)} SkyPilot task(s) to {output}", err=True)
    else:
        click.echo(text, nl=False)
    return 0


COMMANDS = [launch, status, down, export]

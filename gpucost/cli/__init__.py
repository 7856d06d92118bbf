"""The ``gpucost`` command: a thin click layer over the Python API.

Each sub-command lives in its own module and only parses options, calls the API and
formats the answer. User errors (:class:`gpucost.errors.GpucostError`) become one line on
stderr and exit status 2; warnings become ``gpucost: warning: ...`` lines.
"""

from __future__ import annotations

import sys
import warnings
from importlib import import_module

import click

from gpucost.errors import GpucostError, one_line
from gpucost.formatting import redact_urls


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
    click.echo(f"gpucost: warning: {one_line(redact_urls(str(message)))}", err=True)


# Every sub-command: name -> (module, attribute, the one-line help that `gpucost --help`
# lists, i.e. the command's get_short_help_str(limit=64)). A module is imported only for
# the command that runs, so `gpucost --help` imports neither pandas nor numpy;
# tests/cli/test_startup.py checks that, and these lines against the commands' own.
# A new command goes here and in its module's COMMANDS.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "gpus": ("gpucost.cli.catalog_commands", "gpus_command",
             "The GPU spec table: memory, bandwidth and dense peak TFLOPS..."),
    "prices": ("gpucost.cli.catalog_commands", "prices_command",
               "GPU offers, filtered and sorted; usd_per_pflop_hour prices..."),
    "plan": ("gpucost.cli.plan_commands", "plan_command",
             "The cheapest way to run JOB_FILE by its deadline."),
    "frontier": ("gpucost.cli.plan_commands", "frontier_command",
                 "Cost against deadline: the cheapest plan for each of a range..."),
    "estimate": ("gpucost.cli.analysis_commands", "estimate_command",
                 "How long JOB_FILE takes on a cluster you name, and what it..."),
    "calibrate": ("gpucost.cli.analysis_commands", "calibrate_command",
                  "Fit the throughput model to your own measured runs."),
    "diff": ("gpucost.cli.analysis_commands", "diff_command",
             "Compare the cheapest plans of two versions of a job: cost,..."),
    "refresh": ("gpucost.cli.refresh_command", "refresh_command",
                "Fetch current GPU prices and specs into new dated snapshot..."),
    "launch": ("gpucost.cli.launch_commands", "launch",
               "Provision PLAN_FILE (from `gpucost plan --output json`): a..."),
    "status": ("gpucost.cli.launch_commands", "status",
               "Show PLAN_ID's instances (found by tag / label): state,..."),
    "down": ("gpucost.cli.launch_commands", "down",
             "Terminate all of PLAN_ID's instances (found by tag / label),..."),
    "export": ("gpucost.cli.launch_commands", "export",
               "Export PLAN_FILE for another tool (SkyPilot task YAML, with..."),
}


class LazyGroup(click.Group):
    """A group that imports a command's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gpucost")
def cli() -> None:
    """Price the training job, not the GPU-hour: the cheapest way to finish by a deadline."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    warnings.showwarning = _show_warning
    try:
        status = cli.main(args=argv, prog_name="gpucost", standalone_mode=False)
    except GpucostError as exc:
        click.echo(f"gpucost: error: {one_line(redact_urls(str(exc)))}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("gpucost: aborted", err=True)
        sys.exit(1)
    except click.exceptions.NoArgsIsHelpError as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.UsageError as exc:
        # One line, like every other bad input (click's own form adds usage lines).
        where = exc.ctx.command_path if exc.ctx else "gpucost"
        click.echo(f"gpucost: error: {one_line(exc.format_message())} (see `{where} "
                   "--help`)", err=True)
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        click.echo(f"gpucost: error: {one_line(exc.format_message())}", err=True)
        sys.exit(exc.exit_code)
    # Commands return an int when they want a non-zero exit without an exception
    # (e.g. a refresh that partly failed but still wrote what it could).
    sys.exit(status if isinstance(status, int) else 0)

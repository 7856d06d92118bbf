"""The ``gpucost`` command: a thin click layer over the Python API.

Each sub-command lives in its own module and only parses options, calls the API and
formats the answer. User errors (:class:`gpucost.errors.GpucostError`) become one line on
stderr and exit status 2; warnings become ``gpucost: warning: ...`` lines.
"""

from __future__ import annotations

import sys
import warnings

import click

from gpucost.errors import GpucostError, one_line
from gpucost.formatting import redact_urls


def _show_warning(message, category, filename, lineno, file=None, line=None):  # noqa: ANN001
    click.echo(f"gpucost: warning: {one_line(redact_urls(str(message)))}", err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="gpucost")
def cli() -> None:
    """Price the training job, not the GPU-hour: the cheapest way to finish by a deadline."""


def _register() -> None:
    # Imported here so that each command module can import `cli` helpers without cycles.
    from gpucost.cli import (
        analysis_commands,
        catalog_commands,
        launch_commands,
        plan_commands,
        refresh_command,
    )

    for module in (catalog_commands, plan_commands, analysis_commands, refresh_command,
                   launch_commands):
        for command in module.COMMANDS:
            cli.add_command(command)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    warnings.showwarning = _show_warning
    _register()
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

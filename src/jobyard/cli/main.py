"""Entry point of the ``jobyard`` command: one click group, commands from small modules."""

from __future__ import annotations

import sys
from typing import Any

import click

from jobyard.errors import JobyardError

# Each module defines click commands and a ``register(group)`` function.
COMMAND_MODULES = (
    "jobyard.cli.jobs",
    "jobyard.cli.nodes",
    "jobyard.cli.catalog",
    "jobyard.cli.delayed",
    "jobyard.cli.run",
    "jobyard.cli.converge",
    "jobyard.cli.events",
    "jobyard.cli.collections",
    "jobyard.cli.scripts",
    "jobyard.cli.web",
    "jobyard.cli.accounts",
    "jobyard.cli.observers",
    "jobyard.cli.sites",
    "jobyard.cli.semaphores",
)


class Group(click.Group):
    """A click group that turns a user mistake into one clear line and exit code 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # Usage errors become the same one line as every other user mistake (click's own
        # form is three lines: usage, a hint, the error).
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo("jobyard: aborted", err=True)
            sys.exit(1)
        except click.UsageError as exc:
            if isinstance(exc, click.exceptions.NoArgsIsHelpError):
                click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
                sys.exit(2)
            click.echo(f"jobyard: error: {exc.format_message()}", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"jobyard: error: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        # Without standalone mode click hands back ctx.exit(N) as N (commands return None).
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except JobyardError as exc:
            click.echo(f"jobyard: error: {exc}", err=True)
            sys.exit(2)


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    envvar="JOBYARD_CONFIG",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path of jobyard.toml (default: ./jobyard.toml).",
)
@click.option("--db", envvar="JOBYARD_DB", default=None, help="Database URL (overrides config).")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db: str | None) -> None:
    """jobyard: queue jobs, run scripts on schedules, fan out over SSH, converge graphs."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["db"] = db


def build() -> click.Group:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(cli)
    return cli


def main() -> None:
    build()(prog_name="jobyard")

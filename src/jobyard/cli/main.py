"""Entry point of the ``jobyard`` command: one click group, commands from small modules."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

import click

from jobyard import i18n
from jobyard.cli import helptext
from jobyard.errors import JobyardError
from jobyard.i18n import _

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


class Group(helptext.Group):
    """The root group: the language first, then a user mistake is one clear line, exit 2."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        # The language first, before click parses anything: its own messages (a usage
        # error in any option, the help headings) then come out in the chosen language.
        argv = kwargs.get("args", args[0] if args else None)
        _set_language(sys.argv[1:] if argv is None else list(argv))
        helptext.install_click_gettext()
        # Usage errors become the same one line as every other user mistake (click's own
        # form is three lines: usage, a hint, the error).
        kwargs["standalone_mode"] = False
        try:
            code = super().main(*args, **kwargs)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except click.Abort:
            click.echo(_("jobyard: aborted"), err=True)
            sys.exit(1)
        except click.UsageError as exc:
            if isinstance(exc, click.exceptions.NoArgsIsHelpError):
                click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
                sys.exit(2)
            click.echo(
                _("jobyard: error: {format_message}", format_message=exc.format_message()), err=True
            )
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(
                _("jobyard: error: {format_message}", format_message=exc.format_message()), err=True
            )
            sys.exit(exc.exit_code)
        # Without standalone mode click hands back ctx.exit(N) as N (commands return None).
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except JobyardError as exc:
            click.echo(_("jobyard: error: {exc}", exc=exc), err=True)
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
@click.option(
    "--lang",
    metavar="|".join(i18n.LANGUAGES),
    default=None,
    help="Language of messages (default: env JOBYARD_LANG, else en).",
)
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, db: str | None, lang: str | None) -> None:
    """jobyard: queue jobs, run scripts on schedules, fan out over SSH, converge graphs."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path
    ctx.obj["db"] = db


def _lang_argument(argv: Sequence[str]) -> str | None:
    """The value of a global ``--lang`` (before the command name), if any."""
    for i, arg in enumerate(argv):
        if arg == "--lang":
            return argv[i + 1] if i + 1 < len(argv) else ""
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg in ("--config", "--db"):
            continue
        if not arg.startswith("-") and (i == 0 or argv[i - 1] not in ("--config", "--db")):
            return None  # the command name: what follows is the command's own
    return None


def _set_language(argv: Sequence[str]) -> None:
    """``--lang`` or else ``JOBYARD_LANG``: a language not shipped is one line, exit 2."""
    given = _lang_argument(argv)
    source = "--lang"
    if given is None:
        given, source = os.environ.get("JOBYARD_LANG"), "JOBYARD_LANG"
    if given is None or (source == "JOBYARD_LANG" and not given.strip()):
        return
    try:
        i18n.set_language(i18n.choose(given))
    except ValueError as exc:
        click.echo(f"jobyard: error: {source}: {exc}", err=True)
        sys.exit(2)


def build() -> click.Group:
    import importlib

    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        module.register(cli)
    return cli


def main() -> None:
    build()(prog_name="jobyard")

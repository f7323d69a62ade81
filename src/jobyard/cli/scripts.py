"""``type enable|disable|set`` and ``scripts sync|init-repo``: managing job types and scripts."""

from __future__ import annotations

import os
from typing import Any

import click

from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Command, Group
from jobyard.errors import InvalidInput
from jobyard.i18n import N_, _


@click.group("type", cls=Group)
def type_group() -> None:
    """Enable, disable or configure one job type (see also: jobyard types)."""


def _enable(enabled: bool) -> click.Command:
    verb = "enable" if enabled else "disable"

    @click.command(verb, cls=Command)
    @click.argument("names", metavar="NAME...", nargs=-1, required=True)
    @click.pass_context
    def command(ctx: click.Context, names: tuple[str, ...]) -> None:
        from jobyard.scripts import set_enabled

        yard = get_yard(ctx)
        for name in names:
            st = set_enabled(yard, name, enabled)
            if enabled:
                click.echo(_("{kind} type {name} enabled", kind=st.kind, name=name))
            else:
                click.echo(_("{kind} type {name} disabled", kind=st.kind, name=name))
            if enabled and st.meta.get("deleted"):
                click.echo(
                    _(
                        "warning: the script of {name} was deleted; it will not run until it is "
                        "back",
                        name=name,
                    ),
                    err=True,
                )

    command.help = (
        N_("Enable the job type NAME (script or Python; several at once).")
        if enabled
        else N_("Disable the job type NAME (script or Python; several at once).")
    )
    return command


type_group.add_command(_enable(True))
type_group.add_command(_enable(False))


def _timeout(value: float | None) -> float | None:
    if value is not None and value < 0:
        raise InvalidInput(
            _("--timeout must be seconds >= 0 (0 = none), got {value:g}", value=value)
        )
    return value


@type_group.command("limit")
@click.argument("name")
@click.argument("limit")
@click.pass_context
def limit_cmd(ctx: click.Context, name: str, limit: str) -> None:
    """How many jobs of a Python type may run at once on all workers together (LIMIT: a
    whole number >= 1, or 'none' to lift it). Kept until changed here, or by a worker
    whose code names another limit."""
    if limit.strip().lower() == "none":
        value = None
    elif limit.strip().isascii() and limit.strip().isdigit() and len(limit.strip()) < 11:
        value = int(limit)
    else:
        raise InvalidInput(_("bad LIMIT {limit!r}: give a whole number >= 1, or none", limit=limit))
    row = get_yard(ctx).registry.set_limit(name, value)
    shown = row.meta.get("limit")
    click.echo(f"{name}: {'no limit' if shown is None else f'at most {shown} at once'}")


@type_group.command("set")
@click.argument("name")
@click.option("--schedule", default=None, help="Cron: 5 fields, 6 with seconds first, or @hourly.")
@click.option("--on", "on", default=None, help="Events that start it: EVENT[,EVENT].")
@click.option("--worker", default=None, help="Run only on the worker of this name.")
@click.option("--timeout", type=float, default=None, help="Seconds before it is killed; 0 = none.")
@click.option("--timezone", default=None, help="IANA zone of the schedule (default UTC).")
@click.option(
    "--catchup", default=None, help="After downtime: skip missed ticks (default) or run the latest."
)
@click.option("--description", default=None)
@click.option("--group", default=None)
@click.option("--mutex/--no-mutex", default=None, help="Skip a run while another one is busy.")
@click.option(
    "--data-in-argv/--no-data-in-argv",
    default=None,
    help="Also pass DATA and SOCKET as argv (Sooner's form; every local user can read argv).",
)
@click.option(
    "--run-as", "run_as", default=None, help="Run it as USER or USER:GROUP ('' clears it)."
)
@click.option("--reset", is_flag=True, help="Drop earlier overrides: the script header applies.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def set_cmd(ctx: click.Context, /, name: str, reset: bool, as_json: bool, **options: Any) -> None:
    """Set a script type's options; an empty value ('') clears one. These override the
    script's header; --reset goes back to it."""
    from jobyard.scripts import set_type
    from jobyard.scripts.meta import FIELDS

    changes = {key: value for key, value in options.items() if value is not None}
    if "timeout" in changes:
        _timeout(changes["timeout"])
    if not changes and not reset:
        raise InvalidInput(
            _(
                "nothing to set: give --schedule, --timezone, --catchup, --on, --worker, "
                "--timeout, --description, --group, --mutex/--no-mutex, --data-in-argv, "
                "--run-as or --reset"
            )
        )
    meta = set_type(get_yard(ctx), name, changes, reset=reset)
    if as_json:
        print_json({"name": name, **meta})
        return
    for key in FIELDS:
        value = meta.get(key)
        shown = ", ".join(value) if isinstance(value, list) else value
        click.echo(f"{key:<12} {'-' if shown in (None, '') else shown}")


@click.group("scripts", cls=Group)
def scripts_group() -> None:
    """Script job types: discovery and deployment by git push."""


@scripts_group.command("sync")
@click.argument("directory", required=False, type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def sync_cmd(ctx: click.Context, directory: str | None, as_json: bool) -> None:
    """Create, update, delete or restore script types from DIRECTORY (default: scripts_dir).

    Every executable file becomes a type named after it (without extension), disabled
    until `jobyard type enable NAME`."""
    from jobyard.scripts import sync_scripts

    report = sync_scripts(get_yard(ctx, load_apps=False), directory)
    if as_json:
        print_json(report.to_dict())
        return
    for line in report.lines():
        click.echo(line)


@scripts_group.command("init-repo")
@click.argument("path", type=click.Path())
@click.pass_context
def init_repo_cmd(ctx: click.Context, path: str) -> None:
    """Create a bare git repository at PATH; a push to it deploys into scripts_dir."""
    from jobyard.scripts import init_repo, scripts_dir

    yard = get_yard(ctx, load_apps=False)
    obj = ctx.find_root().obj
    explicit_db = obj.get("db") or os.environ.get("JOBYARD_DB")
    # SQLite URLs are always written (absolute); other URLs only if given on the command
    # line or in the environment (a config file keeps its secrets to itself).
    db = yard.url if yard.url.startswith("sqlite:") or explicit_db else None
    done = init_repo(path, scripts_dir(yard), config=yard.config.path, db=db)
    click.echo(
        _(
            "{value} bare repository {repo}",
            value="created" if done.created else "kept",
            repo=done.repo,
        )
    )
    click.echo(_("hook {hook} deploys into {work}", hook=done.hook, work=done.work))
    click.echo(_("clone it with: git clone [USER@HOST:]{repo}", repo=done.repo))


def register(group: click.Group) -> None:
    for command in (type_group, scripts_group):
        group.add_command(command)

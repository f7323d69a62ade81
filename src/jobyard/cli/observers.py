"""``jobyard observers``: their state, cursor and recent deliveries; ``observers test NAME``
sends one notification now. The delivery loop itself runs in ``up`` and ``scheduler``."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click
from rich.table import Table

from jobyard import observers as obs
from jobyard.cli import render
from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Group
from jobyard.cli.listing import limit_option
from jobyard.errors import InvalidInput, JobyardError
from jobyard.i18n import _
from jobyard.observers import status

if TYPE_CHECKING:
    from jobyard.yard import Yard


def start_observers(yard: Yard) -> obs.Observers | None:
    """The config's observers delivering in this process (None when there are none);
    a mistake in them is a ConfigError before anything starts."""
    running = obs.start(yard)
    if running is not None:
        names = ", ".join(loop.observer.name for loop in running.loops)
        click.echo(_("observers: {names}", names=names), err=True)
    return running


@click.group(invoke_without_command=True, cls=Group)
@click.option("--name", default=None, help="Only this observer's deliveries.")
@limit_option(default=20)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def observers(ctx: click.Context, name: str | None, limit: int, as_json: bool) -> None:
    """Each observer's state and cursor, and the most recent deliveries."""
    if ctx.invoked_subcommand is not None:
        return
    yard = get_yard(ctx, load_apps=False)
    found, _unused = obs.load(yard.config)
    if name is not None and name not in {o.name for o in found}:
        raise InvalidInput(
            _(
                "no observer {name!r} in the config; known: {_names}",
                name=name,
                _names=_names(found),
            )
        )
    rows = status.states(yard, found, time.time())
    recent = status.recent(yard, name, limit)
    if as_json:
        print_json({"observers": rows, "deliveries": recent})
        return
    out = render.console()
    if not rows:
        out.print(_("no observers configured ([[observers]] in jobyard.toml)"))
        return
    table = Table(
        _("observer"), _("channel"), _("events"), _("state"), _("cursor"), _("deliveries")
    )
    for r in rows:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(r["deliveries"].items())) or "-"
        cursor = "-" if r["cursor"] is None else str(r["cursor"])
        state = r["state"] + (f" ({r['owner']})" if r["owner"] else "")
        table.add_row(r["name"], r["channel"], ", ".join(r["events"]), state, cursor, counts)
    out.print(table)
    if recent:
        table = Table(
            _("time (UTC)"), _("observer"), _("event"), _("name"), _("job"), _("status"), _("tries")
        )
        table.add_column(_("last error"), overflow="fold")
        for d in recent:
            table.add_row(
                d["time"][:19].replace("T", " "), d["observer"], str(d["event"]), d["name"] or "",
                render.value(d["job"]), d["status"], str(d["attempts"]), d["last_error"] or "",
            )  # fmt: skip
        out.print(table)


@observers.command("test")
@click.argument("name")
@click.option("--job", "job_id", type=click.IntRange(1, None), default=None,
              help="Render for this job (default: a made-up finished job).")  # fmt: skip
@click.option("--to", default=None, help="Send to this recipient instead (mail, private).")
@click.pass_context
def test_send(ctx: click.Context, name: str, job_id: int | None, to: str | None) -> None:
    """Send one notification of observer NAME now (an observer.test event; not recorded)."""
    yard = get_yard(ctx, load_apps=False)
    found, mail = obs.load(yard.config)
    observer = next((o for o in found if o.name == name), None)
    if observer is None:
        raise InvalidInput(
            _(
                "no observer {name!r} in the config; known: {_names}",
                name=name,
                _names=_names(found),
            )
        )
    try:
        sent = status.test_send(yard, observer, mail, job_id, to)
    except JobyardError as exc:
        if isinstance(exc, InvalidInput):
            raise
        raise click.ClickException(
            _("observer {name!r}: test send failed: {exc}", name=name, exc=exc)
        ) from None
    from jobyard.observers.channels.posting import redact

    url = redact(observer.url) if observer.url else None
    where = ", ".join(sent.to) if sent.to else url or observer.path or ""
    click.echo(f"observer {name!r}: sent to {where}".rstrip())


def _names(found: list[obs.ObserverConfig]) -> str:
    return ", ".join(o.name for o in found) or "(none)"


def register(group: click.Group) -> None:
    group.add_command(observers)

"""``emit``, ``events`` and ``schedules``: what starts jobs besides ``submit``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click
from rich.table import Table

from jobyard import views
from jobyard.cli import render
from jobyard.cli.common import get_yard, parse_json_option, print_json
from jobyard.cli.helptext import Command
from jobyard.cli.listing import limit_option
from jobyard.cli.render import when as _when
from jobyard.events import emit as emit_event
from jobyard.i18n import _
from jobyard.limits import INT64_MAX

if TYPE_CHECKING:
    from jobyard.yard import Yard


@click.command(cls=Command)
@click.argument("event")
@click.option("--data", "data_json", default=None, help="Event data as a JSON value.")
@click.pass_context
def emit(ctx: click.Context, event: str, data_json: str | None) -> None:
    """Emit EVENT: every type listening on it gets a job with the data; prints their ids."""
    yard = get_yard(ctx)
    found = emit_event(yard, event, parse_json_option(data_json, "--data"))
    for job_id in found.jobs:
        click.echo(job_id)
    if not found.jobs:
        click.echo(
            _("event {id} recorded; no type listens on {event!r}", id=found.id, event=event),
            err=True,
        )


@click.command(cls=Command)
@click.option("--name", default=None, help="Only events of this name.")
@limit_option(default=100)
@click.option("--json", "as_json", is_flag=True)
@click.option(
    "--follow",
    is_flag=True,
    help="Print job transitions (job.started, job.failed, ...) as they happen; Ctrl-C stops.",
)
@click.option(
    "--after",
    type=click.IntRange(0, INT64_MAX),
    default=None,
    help="With --follow: start after this transition id (0: from the first), not now.",
)
@click.option("--max", "max_events", type=click.IntRange(1, None), default=None, hidden=True)
@click.pass_context
def events(
    ctx: click.Context,
    name: str | None,
    limit: int,
    as_json: bool,
    follow: bool,
    after: int | None,
    max_events: int | None,
) -> None:
    """List the most recent events, newest last, with the jobs each event created.

    With --follow: the job transitions instead, as they happen (see docs/events.md)."""
    yard = get_yard(ctx, load_apps=False)
    if follow:
        _follow(yard, name, after, as_json, max_events)
        return
    if after is not None:
        raise click.UsageError(_("--after goes with --follow"))
    found = views.recent_events(yard, name, limit)
    if as_json:
        print_json([views.event_view(e) for e in found])
        return
    table = Table(_("id"), _("time"), _("name"), _("jobs"), _("source job"), _("depth"), _("data"))
    for e in found:
        table.add_row(
            str(e.id),
            _when(e.time),
            e.name,
            ",".join(map(str, e.jobs)) or "-",
            str(e.source_job or "-"),
            str(e.depth),
            _short(e.data),
        )
    render.console().print(table)


def _short(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _follow(
    yard: Yard, name: str | None, after: int | None, as_json: bool, max_events: int | None
) -> None:
    """One line per transition (JSON lines with --json), flushed as each arrives."""
    shown = 0
    try:
        for e in views.follow_transitions(yard, after, [name] if name else None):
            if as_json:
                click.echo(json.dumps(views.job_event_view(e), ensure_ascii=False))
            else:
                data = "" if e.data is None else " " + _short(e.data)
                click.echo(
                    _(
                        "{id} {_when} {name} job {job_id} ({type}){data}",
                        id=e.id,
                        _when=_when(e.time),
                        name=e.name,
                        job_id=e.job_id,
                        type=e.type,
                        data=data,
                    )
                )
            shown += 1
            if max_events is not None and shown >= max_events:
                return
    except KeyboardInterrupt:
        return


@click.command(cls=Command)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schedules(ctx: click.Context, as_json: bool) -> None:
    """List scheduled types: cron, time zone, catch-up policy, last and next tick."""
    rows = views.schedules(get_yard(ctx))
    if as_json:
        print_json([views.schedule_view(r) for r in rows])
        return
    table = Table(
        _("type"), _("schedule"), _("timezone"), _("catchup"), _("last tick"), _("next tick")
    )
    for r in rows:
        table.add_row(
            r["type"],
            r["schedule"],
            r["timezone"] or "UTC",
            r["catchup"],
            _when(r["last"]),
            _when(r["next"]),
        )
    render.console().print(table)


def register(group: click.Group) -> None:
    for command in (emit, events, schedules):
        group.add_command(command)

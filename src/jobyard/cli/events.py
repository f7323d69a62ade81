"""``emit``, ``events`` and ``schedules``: what starts jobs besides ``submit``."""

from __future__ import annotations

import json

import click
from rich.table import Table

from jobyard import views
from jobyard.cli import render
from jobyard.cli.common import get_yard, parse_json_option, print_json
from jobyard.cli.listing import limit_option
from jobyard.cli.render import when as _when
from jobyard.events import emit as emit_event


@click.command()
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
        click.echo(f"event {found.id} recorded; no type listens on {event!r}", err=True)


@click.command()
@click.option("--name", default=None, help="Only events of this name.")
@limit_option(default=100)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def events(ctx: click.Context, name: str | None, limit: int, as_json: bool) -> None:
    """List the most recent events, newest last, with the jobs each event created."""
    found = views.recent_events(get_yard(ctx, load_apps=False), name, limit)
    if as_json:
        print_json([views.event_view(e) for e in found])
        return
    table = Table("id", "time", "name", "jobs", "source job", "depth", "data")
    for e in found:
        data = json.dumps(e.data, ensure_ascii=False)
        table.add_row(
            str(e.id),
            _when(e.time),
            e.name,
            ",".join(map(str, e.jobs)) or "-",
            str(e.source_job or "-"),
            str(e.depth),
            data if len(data) <= 60 else data[:57] + "...",
        )
    render.console().print(table)


@click.command()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def schedules(ctx: click.Context, as_json: bool) -> None:
    """List scheduled types: cron, time zone, catch-up policy, last and next tick."""
    rows = views.schedules(get_yard(ctx))
    if as_json:
        print_json([views.schedule_view(r) for r in rows])
        return
    table = Table("type", "schedule", "timezone", "catchup", "last tick", "next tick")
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

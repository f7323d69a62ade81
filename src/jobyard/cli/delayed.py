"""``jobyard delayed``: saved job creations that run at a time or on a crontab
(jobyard.delayed; the scheduler fires them)."""

from __future__ import annotations

import click
from rich.table import Table

from jobyard import delayed
from jobyard.cli import render
from jobyard.cli.common import get_yard, parse_params, print_json
from jobyard.cli.helptext import Command, Group
from jobyard.cli.nodes import split_nodes, typed_params
from jobyard.i18n import N_, _, n_
from jobyard.store.delayed import DelayedRow

ID = click.IntRange(1, 2**63 - 1)


def _row(w: DelayedRow) -> dict[str, object]:
    return {
        "id": w.id,
        "type": w.type,
        "nodes": w.nodes,
        "data": w.data,
        "props": w.props,
        "at": render.when(w.at) if w.at is not None else None,
        "cron": w.cron,
        "timezone": w.timezone,
        "skip": w.skip,
        "paused": w.paused,
        "done": w.done,
        "fired": w.fired,
        "run_as": w.props.get("run_as"),
    }


@click.group("delayed", cls=Group)
def delayed_group() -> None:
    """Delayed works: a job (or one per node) created at a time or on a crontab."""


@delayed_group.command("add")
@click.argument("type_name", metavar="TYPE")
@click.argument("params", nargs=-1)
@click.option("--at", "at", default=None, help="Run once at this ISO 8601 time.")
@click.option("--cron", default=None, help="Run on this crontab (5 fields, 6 with seconds).")
@click.option("--timezone", default=None, help="IANA zone of the crontab (default UTC).")
@click.option("--skip", type=click.IntRange(0, delayed.MAX_SKIP), default=0, show_default=True)
@click.option("--prop", "props", multiple=True, help="A job property name=value (repeatable).")
@click.option("--paused", is_flag=True, help="Save it paused.")
@click.option("--run-as", "run_as", default=None, help="Its jobs run as USER or USER:GROUP.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def add(
    ctx: click.Context,
    type_name: str,
    params: tuple[str, ...],
    at: str | None,
    cron: str | None,
    timezone: str | None,
    skip: int,
    props: tuple[str, ...],
    paused: bool,
    run_as: str | None,
    as_json: bool,
) -> None:
    """Save TYPE [NODE,NODE] [name=value ...] to run --at a time or on --cron; print its id."""
    yard = get_yard(ctx)
    node_list, rest = split_nodes(params)
    data = typed_params(yard, type_name, rest) or None
    w = delayed.add(
        yard, type_name, nodes=node_list, data=data, props=parse_params(props) or None,
        at=at, cron=cron, timezone=timezone, skip=skip, paused=paused, run_as=run_as,
    )  # fmt: skip
    if as_json:
        print_json(_row(w))
    else:
        click.echo(w.id)


@delayed_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_cmd(ctx: click.Context, as_json: bool) -> None:
    """Every delayed work with its schedule, skip count and state."""
    rows = [_row(w) for w in delayed.works(get_yard(ctx))]
    if as_json:
        print_json(rows)
        return
    table = Table(_("id"), _("type"), _("nodes"), _("when"), _("skip"), _("state"), _("fired"))
    for r in rows:
        state = "done" if r["done"] else "paused" if r["paused"] else "active"
        when = str(r["at"] or f"{r['cron']}" + (f" ({r['timezone']})" if r["timezone"] else ""))
        table.add_row(
            str(r["id"]), str(r["type"]), ",".join(r["nodes"]) or "-",  # type: ignore[arg-type]
            when, str(r["skip"]), state, str(r["fired"]),
        )  # fmt: skip
    render.console().print(table)


def _each(verb: str) -> click.Command:
    @click.command(verb, cls=Command)
    @click.argument("ids", nargs=-1, required=True, type=ID)
    @click.pass_context
    def command(ctx: click.Context, ids: tuple[int, ...]) -> None:
        yard = get_yard(ctx)
        for work_id in ids:
            delayed.get(yard, work_id)  # every id checked before any change
        for work_id in ids:
            if verb == "remove":
                delayed.remove(yard, work_id)
            else:
                delayed.pause(yard, work_id, verb == "pause")
            done = {
                "pause": _("delayed work {id}: paused", id=work_id),
                "resume": _("delayed work {id}: resumed", id=work_id),
                "remove": _("delayed work {id}: removed", id=work_id),
            }
            click.echo(done[verb])

    command.help = {
        "pause": N_("Pause delayed works by id."),
        "resume": N_("Resume delayed works by id."),
        "remove": N_("Remove delayed works by id."),
    }[verb]
    return command


for _verb in ("pause", "resume", "remove"):
    delayed_group.add_command(_each(_verb))


@delayed_group.command("skip")
@click.argument("work_id", type=ID)
@click.argument("count", type=click.IntRange(0, delayed.MAX_SKIP))
@click.pass_context
def skip_cmd(ctx: click.Context, work_id: int, count: int) -> None:
    """Pass over the next COUNT ticks of a delayed work (0: none)."""
    w = delayed.set_skip(get_yard(ctx), work_id, count)
    click.echo(
        n_(
            "delayed work {id}: the next {n} tick(s) skipped",
            "delayed work {id}: the next {n} tick(s) skipped",
            w.skip,
            id=w.id,
        )
    )


def register(group: click.Group) -> None:
    group.add_command(delayed_group)

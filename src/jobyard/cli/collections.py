"""``collections`` and ``collection NAME``: the item collections jobs and scripts keep."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.table import Table

from jobyard import views
from jobyard.cli import render
from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Command
from jobyard.cli.listing import limit_option, offset_option
from jobyard.collections import Collection
from jobyard.errors import InvalidInput
from jobyard.i18n import _, n_
from jobyard.limits import json_or_text


@click.command("collections", cls=Command)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def collections_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the collections with their item counts (in all and per status)."""
    found = views.collections_summary(get_yard(ctx, load_apps=False))
    if as_json:
        print_json(found)
        return
    table = Table(_("collection"), _("items"), _("by status"))
    for c in found:
        by_status = ", ".join(f"{s} {n}" for s, n in c["statuses"].items())
        table.add_row(c["name"], str(c["items"]), by_status)
    render.console().print(table)


@click.command("collection", cls=Command)
@click.argument("name")
@click.option("--status", default=None, help="Only items of these statuses (comma-separated).")
@click.option("--where", "wheres", multiple=True, help="field=value on the data (repeatable).")
@click.option("--order-by", default="created", show_default=True, help="-updated, a field ...")
@limit_option(default=100)
@offset_option()
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def collection_cmd(
    ctx: click.Context,
    name: str,
    status: str | None,
    wheres: tuple[str, ...],
    order_by: str,
    limit: int,
    offset: int,
    as_json: bool,
) -> None:
    """List the items of collection NAME in --order-by order (default: created), the
    N most recent (the last N of that order), newest last; --offset M pages back."""
    coll = Collection(get_yard(ctx, load_apps=False), name)
    statuses = status.split(",") if status else None
    where = parse_where(wheres)
    page = views.collection_page(coll, statuses, where, order_by, limit, offset)
    items, start = page.items, page.window.start
    if as_json:
        print_json([i.to_dict() for i in items])
        return
    table = Table(_("id"), _("status"), _("data"), _("created"), _("updated"))
    for i in items:
        d = i.to_dict()
        data = json.dumps(i.data, ensure_ascii=False)
        table.add_row(
            str(i.id),
            i.status,
            data if len(data) <= 80 else data[:77] + "...",
            str(d["created"]),
            str(d["updated"]),
        )
    render.console().print(table)
    shown = f"{start + 1}-{start + len(items)}" if items else "none"
    click.echo(
        n_("{shown} of {n} items", "{shown} of {n} items", page.total, shown=shown), err=True
    )


def register(group: click.Group) -> None:
    for command in (collections_cmd, collection_cmd):
        group.add_command(command)


def parse_where(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``field=value`` filters on item data; the value is JSON when it parses (5, true,
    "x"), else the bare word as a string."""
    where: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(
                _("bad --where {pair!r}: give field=value (e.g. --where user=ann)", pair=pair)
            )
        where[key] = json_or_text(raw, f"--where {key}")
    return where

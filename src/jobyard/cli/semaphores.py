"""``jobyard semaphores``: each semaphore (and site cap in use) with its holders and waiters."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.table import Table

from jobyard.cli import render
from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Command
from jobyard.i18n import N_, _

HEADERS = (N_("semaphore"), N_("scope"), N_("held"), N_("holders"), N_("waiters"))


@click.command("semaphores", cls=Command)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def semaphores(ctx: click.Context, as_json: bool) -> None:
    """Each semaphore: its count, the slots held, who holds them and who waits."""
    from jobyard.views.semaphores import semaphores as rows

    found = rows(get_yard(ctx, load_apps=False))
    if as_json:
        print_json(found)
        return
    if not found:
        click.echo(_("no semaphores (define them with [semaphores.NAME] count = N)"))
        return
    table = Table(*(_(h) for h in HEADERS))
    for r in found:
        label = r["name"] if r["kind"] == "semaphore" else f"{r['kind']} {r['name']}"
        if r["jobset"] is not None:
            label += f" (jobset {r['jobset']})"
        holders = ", ".join(
            f"{h['job']}" + (f" ({h['mode']})" if h["mode"] != "slot" else "") for h in r["holders"]
        )
        waiters = ", ".join(map(str, r["waiters"][:20])) + (
            " ..." if len(r["waiters"]) > 20 else ""
        )
        table.add_row(
            escape(label), r["scope"], f"{r['held']}/{r['count']}", holders or "-", waiters or "-"
        )
    render.console().print(table)


def register(group: click.Group) -> None:
    group.add_command(semaphores)

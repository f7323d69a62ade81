"""``jobyard semaphores``: each semaphore (and site cap in use) with its holders and waiters."""

from __future__ import annotations

from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from jobyard.cli import render
from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Command
from jobyard.i18n import N_, _

HEADERS = (N_("semaphore"), N_("scope"), N_("held"), N_("holders"), N_("waiters"))


def _job(h: dict[str, Any]) -> str:
    """``12``, ``12 (read)``, ``12 (call)``, ``12 (call, write)``."""
    notes = (["call"] if h.get("call") else []) + ([h["mode"]] if h["mode"] != "slot" else [])
    return f"{h['job']}" + (f" ({', '.join(notes)})" if notes else "")


def holders_cell(row: dict[str, Any]) -> str:
    """The holders of a row; with ``holder = "jobset"`` by jobset: ``jobset 7 (12, 13)``."""
    if row.get("holder") != "jobset":
        return ", ".join(_job(h) for h in row["holders"])
    sets: dict[int, list[str]] = {}
    alone = []
    for h in row["holders"]:
        if h["jobset"] is None:
            alone.append(_job(h))
        else:
            sets.setdefault(h["jobset"], []).append(_job(h))
    parts = [f"jobset {js} ({', '.join(jobs)})" for js, jobs in sorted(sets.items())]
    return ", ".join(parts + alone)


def waiters_cell(row: dict[str, Any]) -> str:
    """Ready jobs waiting (claim order), then handlers waiting in a call: ``9 (call)``."""
    shown = [str(w) for w in row["waiters"]]
    shown += [_job({**w, "call": True}) for w in row.get("call_waiters", [])]
    return ", ".join(shown[:20]) + (" ..." if len(shown) > 20 else "")


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
        scope = r["scope"] + (" (holder jobset)" if r.get("holder") == "jobset" else "")
        holders, waiters = holders_cell(r), waiters_cell(r)
        table.add_row(
            escape(label), scope, f"{r['held']}/{r['count']}", holders or "-", waiters or "-"
        )
    render.console().print(table)


def register(group: click.Group) -> None:
    group.add_command(semaphores)

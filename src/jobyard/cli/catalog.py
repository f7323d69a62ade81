"""``jobyard types`` and ``jobyard workers``: what the store knows of job types and
workers, printed from the shared views."""

from __future__ import annotations

import time
from typing import Any

import click
from rich.table import Table

from jobyard import views
from jobyard.cli import render
from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Command
from jobyard.cli.render import when as _when
from jobyard.i18n import _
from jobyard.params import Signature


@click.command("types", cls=Command)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def types_cmd(ctx: click.Context, as_json: bool) -> None:
    """List the job types this config and the store know."""
    out = views.types_table(get_yard(ctx))
    if as_json:
        print_json(out)
        return
    table = Table(
        _("name"),
        _("kind"),
        _("enabled"),
        _("params"),
        _("schedule"),
        _("on"),
        _("worker"),
        _("run as"),
        _("limit"),
        _("last run"),
    )

    def text(value: Any) -> str:
        return ", ".join(map(str, value)) if isinstance(value, list) else str(value or "")

    for t in out:
        last = f"{_when(t['last_ran'])} {t.get('last_status') or ''}" if t.get("last_ran") else ""
        table.add_row(
            str(t["name"]),
            str(t["kind"]) + (" (deleted)" if t.get("deleted") else ""),
            "yes" if t["enabled"] else "no",
            _params(t),
            text(t.get("schedule")),
            text(t.get("on")),
            text(t.get("worker")),
            text(t.get("run_as")),
            _limit(t),
            last,
        )
    render.console().print(table)


def _params(t: dict[str, Any]) -> str:
    """``name: kind = default`` per declared parameter (``*`` when it takes any)."""
    sig = Signature.from_meta(t.get("signature")) if t.get("signature") else None
    if sig is None:
        return ""
    shown = [
        f"{p.name}: {p.kind}" + ("" if p.required else f" = {p.default!r}") for p in sig.params
    ]
    return ", ".join(shown + (["**"] if sig.open else []))


def _limit(t: dict[str, Any]) -> str:
    if t["kind"] == "script":
        return "1 (mutex)" if t.get("mutex", True) else ""
    return str(t.get("limit") or "")


@click.command("workers", cls=Command)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def workers_cmd(ctx: click.Context, as_json: bool) -> None:
    """Workers that are registered: their queues, heartbeat and the jobs they run."""
    rows = views.workers(get_yard(ctx, load_apps=False), time.time())
    if as_json:
        print_json([w.to_dict() for w in rows])
        return
    table = Table(
        _("name"),
        _("host"),
        _("pid"),
        _("queues"),
        _("c"),
        _("status"),
        _("heartbeat"),
        _("running"),
    )
    for w in rows:
        state = render.styled(w.status) if w.alive else render.styled("gone", "red")
        table.add_row(
            w.name,
            str(w.host),
            str(w.pid),
            ",".join(w.queues),
            str(w.concurrency),
            state,
            f"{w.heartbeat_age}s ago",
            ",".join(map(str, w.running)) or "-",
        )
    render.console().print(table)


def register(group: click.Group) -> None:
    for command in (types_cmd, workers_cmd):
        group.add_command(command)

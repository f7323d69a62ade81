"""``submit``, ``jobs``, ``job …`` and ``types``: creating, listing and managing jobs."""

from __future__ import annotations

import sys
import time
from typing import Any

import click
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from jobyard import model, views
from jobyard.cli import render
from jobyard.cli.common import (
    get_yard,
    load_app_module,
    parse_json_option,
    parse_params,
    print_json,
)
from jobyard.cli.helptext import Command, Group
from jobyard.cli.listing import limit_option
from jobyard.cli.render import when as _when
from jobyard.errors import InvalidInput, UnknownJobType
from jobyard.i18n import N_, _
from jobyard.model import Job

STATUS_STYLE = {
    "completed": "green",
    "failed": "red",
    "cancelled": "magenta",
    "running": "cyan",
    "ready": "blue",
    "waiting": "yellow",
    "paused": "dim",
}


def _ids(text: str) -> list[int]:
    parts = [part.strip() for part in text.split(",")]
    if not all(p.isascii() and p.isdigit() and 1 <= int(p) < 2**63 for p in parts):
        raise InvalidInput(_("bad job id list {text!r}: write ids like 3,4,5", text=text))
    return [int(p) for p in parts]


@click.command(cls=Command)
@click.argument("type_name", metavar="TYPE")
@click.argument("params", nargs=-1)
@click.option("--data", "data_json", help="Job data as a JSON value (merged with name=value).")
@click.option("--prop", "props", multiple=True, help="A job property name=value (repeatable).")
@click.option("--queue", default=None)
@click.option("--priority", default=None, help="low|normal|medium|high|critical or an integer.")
@click.option("--delay", type=float, default=None, help="Seconds to wait before running.")
@click.option("--after", default=None, help="Do not run before this ISO 8601 time.")
@click.option("--depends", default=None, help="Comma-separated ids that must complete first.")
@click.option("--retries", default=None, help="Retries after a failure (a number or 'forever').")
@click.option("--paused", is_flag=True, help="Create the job paused.")
@click.option(
    "--semaphore",
    "semaphores",
    multiple=True,
    help="Hold this semaphore while running: NAME, NAME:read or NAME:write (repeatable).",
)
@click.option(
    "--wait", "wait_", is_flag=True, help="Wait for the job, show progress, print the result."
)
@click.pass_context
def submit(
    ctx: click.Context,
    type_name: str,
    params: tuple[str, ...],
    data_json: str | None,
    props: tuple[str, ...],
    queue: str | None,
    priority: str | None,
    delay: float | None,
    after: str | None,
    depends: str | None,
    retries: str | None,
    paused: bool,
    semaphores: tuple[str, ...],
    wait_: bool,
) -> None:
    """Create a job of TYPE with name=value parameters; print its id. NODE,NODE first:
    one job per node (queue node:NAME); more than one node makes a jobset, whose id is
    printed instead (--wait then follows each node)."""
    from jobyard.cli.nodes import split_nodes, typed_params, wait_jobset

    yard = get_yard(ctx)
    data: Any = parse_json_option(data_json, "--data")
    node_list, params = split_nodes(params)
    extra = typed_params(yard, type_name, params)
    if extra:
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise InvalidInput(
                _("--data must be a JSON object when name=value parameters are given")
            )
        data = {**data, **extra}
    options: dict[str, Any] = {
        "queue": queue,
        "priority": priority,
        "delay": delay,
        "after": after,
        "depends": _ids(depends) if depends else None,
        "paused": paused,
        "props": parse_params(props) or None,
        "semaphores": [s for given in semaphores for s in given.split(",") if s] or None,
    }
    if retries is not None:
        options["retries"] = retries if retries == "forever" else _count(retries)
    given = {k: v for k, v in options.items() if v is not None}
    if node_list is not None or type_name in yard.registry.abstract:
        jobset, ids = yard.submit(type_name, node_list, data, **given)
        if len(ids) > 1 or type_name in yard.registry.abstract:
            click.echo(jobset)
            if wait_:
                sys.exit(wait_jobset(yard, jobset))
            return
        click.echo(ids[0])
        if wait_:
            sys.exit(_wait(yard, ids[0]))
        return
    handle = yard.enqueue(type_name, data, **given)
    click.echo(handle.id)
    if wait_:
        sys.exit(_wait(handle.yard, handle.id))


def _count(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(
            _("bad --retries {text!r}: give a whole number or 'forever'", text=text)
        ) from None


def _wait(yard: Any, job_id: int) -> int:
    console = render.console(stderr=True)
    with Progress(
        TextColumn("job {task.fields[job]} [bold]{task.fields[status]}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=100, job=job_id, status="waiting")
        while True:
            (job,) = views.jobs_by_id(yard, [job_id])
            bar.update(task, completed=job.percent, status=job.status)
            if job.status in model.FINISHED:
                break
            time.sleep(0.1)
    if job.status == model.COMPLETED:
        print_json(job.result)
        return 0
    if job.error:
        console.print(
            _("job {id} {status}: {error}", id=job.id, status=job.status, error=job.error)
        )
    else:
        console.print(_("job {id} {status}", id=job.id, status=job.status))
    return 1


@click.command("jobs", cls=Command)
@click.option("--status", default=None, help="Only jobs in this status (comma-separated).")
@click.option("--type", "type_", default=None, help="Only jobs of this type (comma-separated).")
@click.option("--queue", default=None)
@limit_option(default=50)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def jobs_cmd(
    ctx: click.Context,
    status: str | None,
    type_: str | None,
    queue: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """List the most recent jobs, newest last."""
    yard = get_yard(ctx, load_apps=False)

    def split(value: str | None) -> list[str] | None:
        return value.split(",") if value else None

    page = views.recent_jobs(yard, split(status), split(type_), split(queue), limit)
    if as_json:
        print_json([views.job_fields(j) for j in page.rows])
        return
    table = Table(box=None, header_style="bold")
    for name in (
        N_("id"),
        N_("type"),
        N_("queue"),
        N_("status"),
        N_("priority"),
        N_("done"),
        N_("tries"),
        N_("created"),
    ):
        table.add_column(_(name), no_wrap=True)
    for j in map(views.job_summary, page.rows):
        table.add_row(
            str(j.id),
            j.type,
            j.queue,
            render.styled(j.status, STATUS_STYLE.get(j.status, "")),
            j.priority,
            f"{j.percent:.0f}%",
            str(j.attempts),
            _when(j.created)[5:16],  # month-day hour:minute: the table fits 80 columns
        )
    render.console().print(table)


@click.group("job", cls=Group)
def job_group() -> None:
    """Show or manage one job (or several: ids separated by commas)."""


@job_group.command("show")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Show a job's fields."""
    from jobyard.views.semaphores import job_detail

    yard = get_yard(ctx, load_apps=False)
    fields = job_detail(yard, yard.get(job_id).job)
    if as_json:
        print_json(fields)
        return
    table = Table(show_header=False)
    for key, value in fields.items():
        table.add_row(key, render.value(value))
    render.console().print(table)


@job_group.command("log")
@click.argument("job_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show_log(ctx: click.Context, job_id: int, as_json: bool) -> None:
    """Print a job's log."""
    entries = views.job_log(get_yard(ctx, load_apps=False), job_id)
    if as_json:
        print_json([views.log_entry(e) for e in entries])
        return
    console = render.console()
    styles = {"success": "green", "warning": "yellow", "danger": "red", "error": "red"}
    for e in entries:
        console.print(
            render.styled(f"{_when(e['time'])} ")
            + render.styled(f"{e['level']:<7}", styles.get(e["level"], ""))
            + render.styled(f" {e['message']}"),
            soft_wrap=True,
        )


# Literal per operation, so each is a msgid (translated when --help is shown).
_MANAGE_HELP = {
    "cancel": N_(
        "Cancel the job(s) IDS (comma-separated), or every job matching --status/--type. "
        "Every id must exist (else nothing changes); jobs in a status cancel does not apply to "
        "are passed over and named."
    ),
    "pause": N_(
        "Pause the job(s) IDS (comma-separated), or every job matching --status/--type. "
        "Every id must exist (else nothing changes); jobs in a status pause does not apply to "
        "are passed over and named."
    ),
    "resume": N_(
        "Resume the job(s) IDS (comma-separated), or every job matching --status/--type. "
        "Every id must exist (else nothing changes); jobs in a status resume does not apply to "
        "are passed over and named."
    ),
    "restart": N_(
        "Restart the job(s) IDS (comma-separated), or every job matching --status/--type. "
        "Every id must exist (else nothing changes); jobs in a status restart does not apply to "
        "are passed over and named."
    ),
    "rerun": N_(
        "Rerun the job(s) IDS (comma-separated), or every job matching --status/--type. "
        "Every id must exist (else nothing changes); jobs in a status rerun does not apply to "
        "are passed over and named."
    ),
    "remove": N_(
        "Remove the job(s) IDS (comma-separated), or every job matching --status/--type. "
        "Every id must exist (else nothing changes); jobs in a status remove does not apply to "
        "are passed over and named."
    ),
}


def _manage(operation: str) -> click.Command:
    @click.command(operation, cls=Command)
    @click.argument("ids", required=False)
    @click.option("--status", "f_status", default=None, help="Every job in this status.")
    @click.option("--type", "f_type", default=None, help="Every job of this type.")
    @click.option("--json", "as_json", is_flag=True)
    @click.pass_context
    def command(
        ctx: click.Context,
        /,
        ids: str | None,
        f_status: str | None,
        f_type: str | None,
        as_json: bool,
        **kw: Any,
    ) -> None:
        yard = get_yard(ctx, load_apps=False)
        target = _targets(yard, ids, f_status, f_type)
        requested = [target] if isinstance(target, int) else list(target)
        if not requested:
            done: list[int] = []
        elif operation == "rerun":
            # One call for the whole list: every copy is made or none (never half a bulk).
            handles = yard.rerun(target)
            done = [h.id for h in (handles if isinstance(handles, list) else [handles])]
        else:
            done = getattr(yard, operation)(target, **kw)
        skipped = _passed_over(yard, operation, requested, done)
        if as_json:
            print_json({"operation": operation, "ids": done, "skipped": skipped})
        else:
            click.echo(_report(yard, operation, requested, done, skipped, f_status, f_type))

    command.help = _MANAGE_HELP[operation]
    if operation == "restart":
        command = click.option("--retries", type=int, default=1, show_default=True)(command)
    return command


def _targets(yard: Any, ids: str | None, status: str | None, type_: str | None) -> Any:
    """An id (strict), a list of ids (all must exist) or what a filter matched now."""
    if ids is not None and (status or type_):
        raise InvalidInput(_("give job ids or --status/--type, not both"))
    if ids is not None:
        found = _ids(ids)
        return found[0] if len(found) == 1 else found
    if not (status or type_):
        raise InvalidInput(_("which jobs? give ids (3,4,5) or --status/--type"))
    types = type_.split(",") if type_ else None
    statuses = status.split(",") if status else None
    matched = yard.matching(status=statuses, type=types)
    if not matched and types:
        for name in yard.config.app:  # only now: the app's types tell a typo from "none yet"
            load_app_module(yard, name)
        known = yard.known_types(refresh=True)
        for name in types:  # a typo is a mistake, not "nothing to do"
            if name not in known and not yard.count(type=name):
                raise UnknownJobType(name, known)
    return matched


def _passed_over(yard: Any, operation: str, requested: list[int], done: list[int]) -> list[int]:
    """Requested jobs the operation did not apply to (their status did not allow it)."""
    if operation == "rerun":  # done holds the new copies; the rerun ones stay completed
        return views.not_applied(views.jobs_by_id(yard, requested), operation)
    changed = set(done)
    return [i for i in dict.fromkeys(requested) if i not in changed]


SHOWN_IDS = 10  # ids named in a passed-over line; the rest are counted


def _report(
    yard: Any,
    operation: str,
    requested: list[int],
    done: list[int],
    skipped: list[int],
    status: str | None,
    type_: str | None,
) -> str:
    # The operation's own name opens the line (data, as in --json), then the words.
    verb = _("rerun as") if operation == "rerun" else f"{operation}:"
    if not requested:
        parts = [
            _("of type {type}", type=type_) if type_ else "",
            _("with status {status}", status=status) if status else "",
        ]
        return _(
            "{verb} nothing (no jobs {filters})",
            verb=verb,
            filters=" ".join(p for p in parts if p),
        )
    line = f"{verb} {', '.join(map(str, done)) or _('nothing')}"
    if skipped:
        jobs = views.jobs_by_id(yard, skipped[:SHOWN_IDS])
        named = ", ".join(f"{j.id} ({j.status})" for j in jobs)
        more = len(skipped) - len(jobs)
        named += _(" and {more} more", more=more) if more > 0 else ""
        *others, last = model.ALLOWED_FROM[operation]
        allowed = _("{others} or {last}", others=", ".join(others), last=last) if others else last
        line += _(
            "; passed over {named}: {operation} applies only to {allowed} jobs",
            named=named,
            operation=operation,
            allowed=allowed,
        )
    return line


for _op in ("cancel", "pause", "resume", "restart", "rerun", "remove"):
    job_group.add_command(_manage(_op))


@job_group.command("redirect")
@click.argument("job_id", type=click.IntRange(1, 2**63 - 1))
@click.argument("node")
@click.pass_context
def redirect(ctx: click.Context, job_id: int, node: str) -> None:
    """Send a job to another node (one not started yet, or one that failed or was
    cancelled: it starts over there)."""
    from jobyard.nodes import node_of

    job = get_yard(ctx).redirect(job_id, node)
    click.echo(
        _(
            "job {id}: {status} on node {node_of}",
            id=job.id,
            status=job.status,
            node_of=node_of(job.queue),
        )
    )


def register(group: click.Group) -> None:
    for command in (submit, jobs_cmd, job_group):
        group.add_command(command)


__all__ = ["Job", "register"]

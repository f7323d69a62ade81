"""``jobyard sites`` (the inventory) and ``jobyard batch`` (run actions over sites).

``jobyard batch`` makes the batch (or, when the newest batch of the same actions and
options has failures, re-runs only its failed pairs; when it is still unfinished — its
worker died — it resumes it), then runs the jobs itself with an in-process worker
alongside any running workers, prints the failed (action, site) pairs and exits 1 if
there are any.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Command
from jobyard.i18n import _, n_
from jobyard.sites.schedule import SCHEDULES
from jobyard.yard import Yard

if TYPE_CHECKING:
    from jobyard.sites.batch import Batch

__all__ = ["batch_command", "register", "sites_command"]


@click.command("sites", cls=Command)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def sites_command(ctx: click.Context, as_json: bool) -> None:
    """List the sites of the inventory with their roles and where their shell runs."""
    from jobyard import views

    found = views.inventory(get_yard(ctx))  # the API's and the web page's view
    if as_json:
        print_json(found)
        return
    rows = found["sites"]
    if not rows:
        click.echo(_("no sites: add [sites.NAME] tables to jobyard.toml"))
        return
    width = max(len(r["name"]) for r in rows)
    for row in rows:
        roles = ",".join(row["roles"]) or "-"
        click.echo(f"{row['name']:<{width}}  {row['where']:<30}  roles: {roles}")


def _signature(meta: dict[str, Any]) -> tuple[Any, ...]:
    keys = ("actions", "schedule", "roles", "break_on_error", "serial", "max_fail_given")
    return tuple(repr(meta.get(k)) for k in keys)


def _previous(yard: Yard, fresh: dict[str, Any]) -> Batch | None:
    from jobyard.sites.batch import JOBSET_KIND, Batch

    found = yard.store.latest_jobset(JOBSET_KIND, " ".join(fresh["actions"]))
    if found is None:
        return None
    meta = yard.jobset(found).meta
    return Batch(yard, found) if _signature(meta) == _signature(fresh) else None


def _run_here(yard: Yard, batch: Batch, timeout: float | None) -> None:
    """An in-process worker for the batch's action types until the batch is done."""
    from jobyard.sites.batch import run_concurrency

    jobs = batch.jobs()
    wanted = {yard.actions.get(str(j.data["action"])).type_name for j in jobs}
    worker = yard.worker(
        name=f"batch-{batch.id}-{os.getpid()}", concurrency=run_concurrency(len(jobs))
    )
    worker.types = {name: jt for name, jt in yard.types.items() if name in wanted}
    worker.start()
    try:
        batch.wait(timeout)
    finally:
        worker.stop()


@click.command("batch", cls=Command)
@click.argument("actions", nargs=-1, required=True)
@click.option("--roles", default=None, help="Only sites of these roles (comma-separated).")
@click.option(
    "--schedule", type=click.Choice(SCHEDULES), default="site-sequential", show_default=True
)
@click.option("--serial", default=None, help="Rolling: N sites (or N%) at a time.")
@click.option("--max-fail", default=None, help="Stop starting actions past N (or N%) failures.")
@click.option("--break-on-error", is_flag=True, help="A failure stops its site (or the run).")
@click.option(
    "--site-cap", type=int, default=None, help="At most N of the batch's jobs at once per site."
)
@click.option("--new", is_flag=True, help="A new batch even if the last one has failures.")
@click.option("--no-run", is_flag=True, help="Only make the batch: running workers do it.")
@click.option("--timeout", type=float, default=None, help="Give up waiting after S seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print the outcome as JSON.")
@click.pass_context
def batch_command(
    ctx: click.Context,
    actions: tuple[str, ...],
    roles: str | None,
    schedule: str,
    serial: str | None,
    max_fail: str | None,
    break_on_error: bool,
    site_cap: int | None,
    new: bool,
    no_run: bool,
    timeout: float | None,
    as_json: bool,
) -> None:
    """Run ACTIONS on their sites (one job per action and site, in one jobset)."""
    from jobyard.sites.batch import create, rerun_failed  # asyncssh only when needed

    yard = get_yard(ctx)
    options: dict[str, Any] = {
        "schedule": schedule,
        "roles": roles.split(",") if roles else None,
        "break_on_error": break_on_error,
        "serial": serial,
        "max_fail": max_fail,
        "site_cap": site_cap,
    }
    fresh = create_meta(list(actions), options)
    previous = None if new else _previous(yard, fresh)
    if previous is not None and not previous.done:
        batch = previous
        click.echo(_("resuming unfinished batch {id}", id=batch.id), err=True)
    elif previous is not None and previous.failed:
        count = len(rerun_failed(yard, previous.id))
        batch = previous
        click.echo(
            _("batch {id}: running again the {count} failed pair(s)", id=batch.id, count=count),
            err=True,
        )
    else:
        batch = create(yard, list(actions), **options)
        click.echo(
            n_("batch {id}: {n} job(s)", "batch {id}: {n} job(s)", len(batch.jobs()), id=batch.id),
            err=True,
        )
    if no_run:
        click.echo(str(batch.id))
        return
    _run_here(yard, batch, timeout)
    failed = batch.failed
    if as_json:
        print_json({"batch": batch.id, "ok": not failed, "failed": [list(p) for p in failed]})
    else:
        errors = {
            (str(j.data["action"]), str(j.site)): _error_of(j.result, j.error) for j in batch.jobs()
        }
        for action, site in failed:
            click.echo(
                _(
                    "FAILED {action} on {site}: {get}",
                    action=action,
                    site=site,
                    get=errors.get((action, site), ""),
                )
            )
        total = len(batch.jobs())
        click.echo(
            _(
                "batch {id}: {value} of {total} ok",
                id=batch.id,
                value=total - len(failed),
                total=total,
            )
        )
    ctx.exit(1 if failed else 0)


def _error_of(result: Any, error: str | None) -> str:
    if isinstance(result, dict) and result.get("error"):
        return str(result["error"])
    return error or "not run (an earlier failure stopped it)"


def create_meta(actions: list[str], options: dict[str, Any]) -> dict[str, Any]:
    """The meta fields a batch records that say whether two runs are "the same batch"."""
    given = {k: v for k, v in options.items() if k != "max_fail"}
    return {"actions": actions, **given, "max_fail_given": options["max_fail"]}


def register(group: click.Group) -> None:
    group.add_command(sites_command)
    group.add_command(batch_command)

"""Jobs on nodes from the command line: ``jobyard jobset show`` and the pieces ``jobyard
submit TYPE NODE,NODE name=value`` uses (jobyard.nodes); ``jobyard job redirect`` is with
the other job commands."""

from __future__ import annotations

import sys
import time

import click
from rich.table import Table

from jobyard import model, nodes, views
from jobyard.cli import render
from jobyard.cli.common import get_yard, print_json
from jobyard.cli.helptext import Group
from jobyard.i18n import _
from jobyard.nodes import split_nodes as split_nodes
from jobyard.nodes import typed_params as typed_params
from jobyard.yard import Yard


def wait_jobset(yard: Yard, jobset: int) -> int:
    """Follow a jobset until every job ended; one line per node; 0 if all completed."""
    console = render.console(stderr=True)
    shown: dict[int, str] = {}
    while True:
        js = yard.jobset(jobset)
        for job in js.jobs:
            line = f"{nodes.node_of(job.queue) or job.queue}: {job.status} {job.percent:.0f}%"
            if shown.get(job.id) != line:
                shown[job.id] = line
                console.print(render.styled(f"job {job.id} " + line))
        if js.done:
            break
        time.sleep(0.2)
    failed = [j for j in js.jobs if j.status != model.COMPLETED]
    for job in failed:
        console.print(
            _(
                "job {id} on {node_of}: {status} {value}",
                id=job.id,
                node_of=nodes.node_of(job.queue),
                status=job.status,
                value=job.error or "",
            )
        )
    return 1 if failed else 0


@click.group("jobset", cls=Group)
def jobset_group() -> None:
    """Jobsets: jobs created together (on nodes, a batch, a converge graph)."""


@jobset_group.command("show")
@click.argument("jobset_id", type=click.IntRange(1, 2**63 - 1))
@click.option("--json", "as_json", is_flag=True)
@click.option("--wait", "wait_", is_flag=True, help="Follow it until every job ended.")
@click.pass_context
def show(ctx: click.Context, jobset_id: int, as_json: bool, wait_: bool) -> None:
    """A jobset: its jobs by node with their status, and the counts."""
    yard = get_yard(ctx)
    if wait_:
        code = wait_jobset(yard, jobset_id)
        if not as_json:
            sys.exit(code)
    js = yard.jobset(jobset_id)
    progress = views.jobset_progress(js.jobs)
    if as_json:
        print_json(
            {
                **js.to_dict(),
                "counts": progress.counts,
                "done": progress.done,
                "jobs": [{**views.job_fields(j), "node": nodes.node_of(j.queue)} for j in js.jobs],
            }
        )
        return
    console = render.console()
    console.print(render.styled(f"jobset {js.id} {js.kind} {js.name}: ", "bold"), end="")
    console.print(", ".join(f"{n} {s}" for s, n in progress.counts.items() if n))
    table = Table(_("job"), _("node"), _("type"), _("status"), _("progress"), _("result / error"))
    for j in js.jobs:
        outcome = j.error if j.status == model.FAILED else j.result
        shown = "" if outcome is None else str(outcome)[:60]
        table.add_row(
            str(j.id), nodes.node_of(j.queue) or j.queue, j.type, j.status,
            f"{j.percent:.0f}%", shown,
        )  # fmt: skip
    console.print(table)


def register(group: click.Group) -> None:
    group.add_command(jobset_group)

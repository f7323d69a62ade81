"""``jobyard converge`` and ``jobyard graph``: run or draw a Check/Run graph in-process."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.live import Live

from jobyard.cli import render
from jobyard.cli.helptext import Command
from jobyard.converge.display import LiveTree, describe_error, plan_summary, run_summary
from jobyard.converge.graph import format_for, to_dot, write_file
from jobyard.converge.resolve import load_root, parse_assignments
from jobyard.converge.session import Result, graph_and_driver, run_graph
from jobyard.converge.verbose import VerboseWriter
from jobyard.i18n import _, n_

__all__ = ["converge_command", "graph_command", "register"]


def _result_json(result: Result) -> dict[str, Any]:
    return {
        "root": result.graph.root,
        "success": result.success,
        "no_act": result.no_act,
        "nodes": [
            {
                "name": name,
                "status": result.status.get(name),
                "outcome": result.outcomes.get(name),
                "attempts": result.attempts.get(name, 0),
                "error": describe_error(result.errors.get(name)) or None,
            }
            for name in result.graph.names
        ],
        "cleanup_errors": [
            {"name": name, "error": describe_error(err)} for name, err in result.cleanup_errors
        ],
    }


@click.command("converge", cls=Command)
@click.argument("root_ref", metavar="MODULE:ROOTCLASS")
@click.argument("params", nargs=-1, metavar="[name=value ...]")
@click.option("-n", "--no-act", is_flag=True, help="Only run the checks and print what would run.")
@click.option("-v", "--verbose", is_flag=True, help="Print a line per check, run and recheck.")
@click.option("-d", "--debug", is_flag=True, help="Like -v, with tracebacks.")
@click.option(
    "--tries",
    type=click.FloatRange(min=1),
    default=3,
    show_default=True,
    help="Tries of a node that sets no TRIES.",
)
@click.option(
    "--retry-delay",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="Seconds between tries of a node that sets no RETRY_DELAY.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON, no live tree.")
@click.option(
    "--distributed",
    is_flag=True,
    help="Submit the graph as a jobset (one job per node) for the workers; print its id.",
)
@click.option(
    "--wait", is_flag=True, help="With --distributed: show the run live until it is done."
)
@click.option("--queue", default=None, help="With --distributed: the queue of the node jobs.")
@click.pass_context
def converge_command(
    ctx: click.Context,
    root_ref: str,
    params: tuple[str, ...],
    no_act: bool,
    verbose: bool,
    debug: bool,
    tries: float,
    retry_delay: float,
    as_json: bool,
    distributed: bool,
    wait: bool,
    queue: str | None,
) -> None:
    """Check and run the graph under MODULE:ROOTCLASS until it converges.

    MODULE is a dotted module name or a path to a .py file; ROOTCLASS a DoJobber Job
    class or a jobyard Node. Each name=value is given to every Check and Run as a
    keyword argument (values are JSON when they parse as JSON, else strings).
    With --distributed the nodes run as jobs on the workers (which must be able to
    import MODULE and know the converge.node type: app = ["jobyard.converge.app"]).
    Exit status: 0 when every node is true (with --no-act: when nothing would run;
    --distributed without --wait: once submitted), 1 otherwise, 2 when the graph cannot
    be loaded.
    """
    args = parse_assignments(params)
    if distributed:
        _distributed(
            ctx, root_ref, args, no_act, verbose or debug, tries, retry_delay, as_json, wait, queue
        )
        return
    if wait or queue is not None:
        raise click.UsageError(_("--wait and --queue go with --distributed"))
    root = load_root(root_ref)
    graph, driver = graph_and_driver(root, args, tries, retry_delay)
    verbose_writer = VerboseWriter(verbose=verbose, debug=debug)
    if as_json:
        result = run_graph(graph, driver, args=args, no_act=no_act, listeners=[verbose_writer])
        click.echo(json.dumps(_result_json(result), indent=2))
    else:
        console = render.console()
        tree = LiveTree(graph, no_act=no_act)
        # The tree is rendered at each refresh (8 per second), not at each event.
        with Live(console=console, refresh_per_second=8, get_renderable=tree.render):
            result = run_graph(
                graph, driver, args=args, no_act=no_act, listeners=[verbose_writer, tree]
            )
            tree.finish()
        if not console.is_terminal:
            console.line()
        console.print(plan_summary(result) if no_act else run_summary(result))
    ok = result.success and not result.cleanup_errors
    click.get_current_context().exit(0 if ok else 1)


def _distributed(
    ctx: click.Context,
    root_ref: str,
    args: dict[str, Any],
    no_act: bool,
    verbose: bool,
    tries: float,
    retry_delay: float,
    as_json: bool,
    wait: bool,
    queue: str | None,
) -> None:
    """``converge --distributed``: submit the jobset; with ``--wait`` follow it live."""
    from jobyard.cli.common import get_yard
    from jobyard.converge import distributed

    if verbose:
        raise click.UsageError(
            _("-v/-d print an in-process run; with --distributed see each node job's log")
        )
    yard = get_yard(ctx)
    jobset = distributed.submit(
        yard,
        root_ref,
        args,
        default_tries=tries,
        default_retry_delay=retry_delay,
        no_act=no_act,
        queue=queue,
    )
    if not wait:
        click.echo(json.dumps({"jobset": jobset}) if as_json else str(jobset))
        return
    if as_json:
        result = distributed.follow(yard, jobset, ())
        click.echo(json.dumps({"jobset": jobset, **_result_json(result)}, indent=2))
    else:
        click.echo(_("jobset {jobset}", jobset=jobset), err=True)
        console = render.console()
        tree = LiveTree(distributed.graph_of(yard, jobset), no_act=no_act)
        with Live(console=console, refresh_per_second=8, get_renderable=tree.render):
            result = distributed.follow(yard, jobset, [tree])
            tree.finish()
        if not console.is_terminal:
            console.line()
        console.print(plan_summary(result) if no_act else run_summary(result))
    ctx.exit(0 if result.success else 1)


@click.command("graph", cls=Command)
@click.argument("root_ref", metavar="MODULE:ROOTCLASS")
@click.argument("params", nargs=-1, metavar="[name=value ...]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write to FILE.dot, FILE.svg or FILE.png (default: DOT text on stdout).",
)
@click.option(
    "--check", "run_checks", is_flag=True, help="Run the checks (no-act) and colour the nodes."
)
def graph_command(
    root_ref: str, params: tuple[str, ...], output: str | None, run_checks: bool
) -> None:
    """Draw the graph under MODULE:ROOTCLASS (edges go from a node to its dependencies).

    SVG and PNG are rendered by Graphviz `dot`, which must be installed.
    """
    if output is not None:
        format_for(output)  # an unknown extension fails before any import
    args = parse_assignments(params)
    root = load_root(root_ref)
    graph, driver = graph_and_driver(root, args)
    outcomes = run_graph(graph, driver, args=args, no_act=True).outcomes if run_checks else None
    if output is None:
        click.echo(to_dot(graph, outcomes), nl=False)
        return
    write_file(graph, output, outcomes)
    click.echo(
        n_("wrote {output} ({n} nodes)", "wrote {output} ({n} nodes)", len(graph), output=output),
        err=True,
    )


def register(group: click.Group) -> None:
    """Add ``converge`` and ``graph`` to the ``jobyard`` command group."""
    group.add_command(converge_command)
    group.add_command(graph_command)

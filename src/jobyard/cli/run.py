"""Long-running commands: ``worker``, ``scheduler``, ``up`` and ``db migrate``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import click

from jobyard.cli.common import get_yard, load_app_module
from jobyard.cli.helptext import Command, Group
from jobyard.cli.observers import start_observers
from jobyard.cli.web import housekeeping_loop, parse_bind, serve_in_thread
from jobyard.errors import ConfigError, InvalidInput
from jobyard.i18n import _, n_


@click.command(cls=Command)
@click.option("-n", "--name", default=None, help="Worker name (default: host-pid).")
@click.option("-q", "--queues", default="default", show_default=True, help="Comma-separated.")
@click.option("-c", "--concurrency", type=click.IntRange(1, 1024), default=8, show_default=True)
@click.option(
    "--prefetch",
    type=click.IntRange(0, 100_000),
    default=None,
    help="Jobs claimed ahead (default: adaptive, from 4 x c by job duration).",
)
@click.option("--server", default=None, help="Work for a jobyard server over HTTP (its URL).")
@click.option(
    "--token",
    default=None,
    envvar="JOBYARD_TOKEN",
    help="The server's worker token (prefer env JOBYARD_TOKEN or --token-file: argv is public).",
)
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), default=None)
@click.option(
    "--node",
    "node",
    default=None,
    help="Be the worker of node NAME: take the jobs sent to it (queue node:NAME).",
)
@click.pass_context
def worker(
    ctx: click.Context,
    name: str | None,
    queues: str,
    concurrency: int,
    prefetch: int | None,
    server: str | None,
    token: str | None,
    token_file: str | None,
    node: str | None,
) -> None:
    """Run a worker until SIGTERM (finish running jobs) or a second signal (hand back now);
    with --server it works for a jobyard server over HTTP and never opens the database."""
    if node is not None:
        from jobyard.nodes import queue_of
        from jobyard.spec import parse_name

        source = ctx.get_parameter_source("queues")
        explicit = source is not None and source.name != "DEFAULT"
        mine = queue_of(parse_name(node, "node name"))
        queues = f"{queues},{mine}" if explicit else mine
    if server is not None:
        _remote_worker(ctx, server, token, token_file, name, queues, concurrency, prefetch)
        return
    yard = get_yard(ctx)
    if concurrency < 1:
        raise InvalidInput(_("--concurrency must be >= 1"))
    from jobyard.scripts import load_script_types

    load_script_types(yard)  # enabled scripts run too; more are picked up while running
    if not yard.types and not any(t.kind == "script" for t in yard.stored_types().values()):
        raise InvalidInput(
            _(
                "no job types loaded: list your modules under app = [...] in jobyard.toml or in "
                "env JOBYARD_APP, or add scripts (jobyard scripts sync)"
            )
        )
    qs = [q.strip() for q in queues.split(",") if q.strip()]
    # prefetch=None leaves the worker's adaptive prefetch on; a number fixes it.
    w = yard.worker(name=name, queues=qs, concurrency=concurrency, prefetch=prefetch)
    click.echo(
        _(
            "worker {name}: queues {qs}; types {types}",
            name=w.name,
            qs=", ".join(qs),
            types=", ".join(sorted(yard.types)),
        ),
        err=True,
    )
    from jobyard.runas import root_warning

    warning = root_warning(yard.config.allow_root, yard.config.run_as)
    if warning:
        click.echo(warning, err=True)
    w.run()


def _remote_worker(
    ctx: click.Context,
    server: str,
    token: str | None,
    token_file: str | None,
    name: str | None,
    queues: str,
    concurrency: int,
    prefetch: int | None,
) -> None:
    from pathlib import Path

    from jobyard.worker.remote import HttpPort, NoStore

    if token_file is not None:
        token = Path(token_file).read_text().strip()
    if not token:
        raise InvalidInput(_("--server needs a worker token: env JOBYARD_TOKEN or --token-file"))
    yard = get_yard(ctx)  # the app modules' handlers; their Yards never open a store here
    yard._store = NoStore(server)  # type: ignore[assignment]
    if not yard.types:
        raise InvalidInput(_("no job types loaded: list your modules under app = [...]"))
    port = HttpPort(server, token, python_types=yard.registry.python_rows)
    qs = [q.strip() for q in queues.split(",") if q.strip()]
    w = yard.worker(
        name=name,
        queues=qs,
        concurrency=concurrency,
        prefetch=prefetch,
        port=port,
        housekeeping=False,
    )
    click.echo(
        _("worker {name}: for {server}; queues {qs}", name=w.name, server=server, qs=", ".join(qs)),
        err=True,
    )
    w.run()


@click.command(cls=Command)
@click.pass_context
def scheduler(ctx: click.Context) -> None:
    """Run the scheduler duties (promotion, lease rescue, cron schedules) until SIGTERM."""
    yard = get_yard(ctx)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_unused: stop.set())
    observers = start_observers(yard)  # [[observers]]: one holder at a time (a lease)
    housekeeping_loop(yard, stop)
    if observers is not None:
        observers.stop()


@click.command(cls=Command)
@click.option("--bind", default=None, help="HOST:PORT for the web UI (default 127.0.0.1:8080).")
@click.option("--workers", "n_workers", type=click.IntRange(1, 256), default=2, show_default=True)
@click.option("-c", "--concurrency", type=click.IntRange(1, 1024), default=8, show_default=True)
@click.option("--no-examples", is_flag=True, help="Do not load or seed the example jobs.")
@click.option("--no-web", is_flag=True, help="Do not serve the web UI and API.")
@click.option("--no-auth", is_flag=True, help="Web UI without authentication (loopback only).")
@click.pass_context
def up(
    ctx: click.Context,
    bind: str | None,
    n_workers: int,
    concurrency: int,
    no_examples: bool,
    no_web: bool,
    no_auth: bool,
) -> None:
    """All in one: the web UI and API, scheduler duties and N worker processes, with the
    example jobs."""
    if bind is not None:
        parse_bind(bind)  # refused before anything starts
    yard = get_yard(ctx)
    apps = list(yard.config.app)
    if not no_examples:
        load_app_module(yard, "jobyard.demo")
        apps.append("jobyard.demo")
    yard.migrate()
    yard.sync_types()
    observers = start_observers(yard)
    if not no_examples and yard.count() == 0:
        from jobyard.demo import seed_jobs

        click.echo(_("seeded example jobs {seed_jobs}", seed_jobs=seed_jobs(yard)), err=True)
    env = {**os.environ, "JOBYARD_DB": yard.url, "JOBYARD_APP": ",".join(apps)}
    env.pop("JOBYARD_CONFIG", None) if yard.config.path is None else None
    cmd = [sys.executable, "-m", "jobyard"]
    if yard.config.path:
        cmd += ["--config", yard.config.path]
    procs: dict[int, subprocess.Popen[Any]] = {}
    stop = threading.Event()

    def spawn(i: int) -> None:
        procs[i] = subprocess.Popen(
            [*cmd, "worker", "-n", f"up-{os.getpid()}-{i}", "-c", str(concurrency)], env=env
        )

    def on_signal(signum: int, _frame: Any) -> None:
        if stop.is_set():  # second signal: hard stop of every worker
            for p in procs.values():
                p.send_signal(signal.SIGTERM)
        stop.set()

    web_bind = bind or yard.config.web_bind
    web = None if no_web else serve_in_thread(yard, web_bind, no_auth)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    for i in range(n_workers):
        spawn(i)
    click.echo(
        n_(
            "jobyard up: {n} workers on {url}",
            "jobyard up: {n} workers on {url}",
            n_workers,
            url=yard.url,
        ),
        err=True,
    )
    if web is not None:
        click.echo(
            _("jobyard up: web UI and API at http://{web_bind}/", web_bind=web_bind), err=True
        )
    keeper = threading.Thread(target=housekeeping_loop, args=(yard, stop), daemon=True)
    keeper.start()
    refused = None
    while not stop.is_set() and refused is None:
        refused = _respawn_dead(procs, spawn)
        stop.wait(1.0)
    if web is not None:
        web.stop()
    if observers is not None:
        observers.stop()
    for p in procs.values():
        p.send_signal(signal.SIGTERM)
    for p in procs.values():
        try:
            p.wait(60)
        except subprocess.TimeoutExpired:
            p.kill()
    stop.set()
    keeper.join(10)  # its store calls end before the interpreter does
    if refused is not None:
        raise ConfigError(
            _(
                "worker {refused} exited with code {USAGE_EXIT} (bad configuration or usage, see "
                "its message above): stopping instead of restarting it",
                refused=refused,
                USAGE_EXIT=USAGE_EXIT,
            )
        )


USAGE_EXIT = 2  # what jobyard exits with on a user mistake (jobyard.cli.main)


def _respawn_dead(
    procs: dict[int, subprocess.Popen[Any]], spawn: Callable[[int], None]
) -> int | None:
    """Start a new worker for each one that died; the number of one that exited with the
    usage code instead (a new one would fail the same way, in a loop)."""
    for i, p in list(procs.items()):
        code = p.poll()
        if code == USAGE_EXIT:
            return i
        if code is not None:
            click.echo(
                _("worker {i} exited with {code}; starting a new one", i=i, code=code), err=True
            )
            spawn(i)
    return None


@click.group(cls=Group)
def db() -> None:
    """Database maintenance."""


@db.command()
@click.pass_context
def migrate(ctx: click.Context) -> None:
    """Apply pending schema migrations."""
    yard = get_yard(ctx, load_apps=False)
    applied = yard.migrate()
    if applied:
        click.echo(_("applied: {migrations}", migrations=", ".join(applied)))
    else:
        click.echo(_("schema is up to date"))


def register(group: click.Group) -> None:
    for command in (worker, scheduler, up, db):
        group.add_command(command)

"""``jobyard web``: serve the HTTP API (and the web UI) with uvicorn."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from typing import TYPE_CHECKING

import click

from jobyard.api.auth import Authenticator, NoAuth
from jobyard.cli.common import get_yard
from jobyard.cli.helptext import Command
from jobyard.errors import ConfigError, InvalidInput
from jobyard.i18n import _
from jobyard.scheduler import tick as fire_schedules
from jobyard.yard import Yard

if TYPE_CHECKING:
    import uvicorn


SHUTDOWN_GRACE = 3  # seconds open requests (event streams) get at shutdown


def parse_bind(text: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[IPV6]:PORT`` with a port from 1 to 65535."""
    host, sep, port = text.rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not sep or not host or not port.isascii() or not port.isdigit():
        raise InvalidInput(_("bad --bind {text!r}: give HOST:PORT, e.g. 127.0.0.1:8080", text=text))
    if not 1 <= int(port) <= 65535:
        raise InvalidInput(_("bad --bind {text!r}: the port must be from 1 to 65535", text=text))
    return host, int(port)


def housekeeping_loop(yard: Yard, stop: threading.Event, interval: float = 0.5) -> None:
    """Scheduler duties: promote due jobs, rescue expired leases, fire cron schedules."""
    while not stop.is_set():
        now = time.time()
        try:
            yard.housekeeping(now)
            fire_schedules(yard, now)
        except Exception as exc:  # keep the duty alive through a passing database error
            click.echo(_("scheduler: {exc}", exc=exc), err=True)
        stop.wait(interval)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(
                ipaddress.ip_address(info[4][0]).is_loopback
                for info in socket.getaddrinfo(host, None)
            )
        except OSError:
            return False


def make_auth(yard: Yard, host: str, no_auth: bool) -> Authenticator:
    if no_auth:
        if not is_loopback(host):
            raise InvalidInput(
                _(
                    "--no-auth is allowed only on a loopback address (127.0.0.1, ::1), not "
                    "{host!r}",
                    host=host,
                )
            )
        click.secho(
            _(
                "WARNING: --no-auth: every caller on this machine is an admin; do not use this on "
                "a shared host"
            ),
            fg="red",
            bold=True,
            err=True,
        )
        return NoAuth()
    from jobyard.api.accounts import StoreAuth

    web = yard.config.raw.get("web", {})
    secure = web.get("secure_cookies", False) if isinstance(web, dict) else False
    if not isinstance(secure, bool):
        raise ConfigError(
            _("[web] secure_cookies must be true or false, got {secure!r}", secure=secure)
        )
    return StoreAuth(yard, secure_cookies=secure)


def announce_setup(yard: Yard, bind: str) -> None:
    """On a database with no user yet, print a one-time link that creates the first admin:
    there is no default account and no default password. Only its hash is stored; it
    works once, within an hour. ``jobyard up`` shows it too (through :func:`server`)."""
    from jobyard import accounts

    secret = accounts.setup_link(yard.store)
    if secret is not None:
        click.secho(
            _(
                "No user yet. Create the first admin within an hour, once, at:\n  "
                "http://{bind}/setup?token={secret}\n(or run `jobyard user add NAME --role admin`)",
                bind=bind,
                secret=secret,
            ),
            fg="yellow",
            err=True,
        )


def server(yard: Yard, bind: str, no_auth: bool) -> uvicorn.Server:
    """The uvicorn server of the web UI and API on ``bind`` (not started)."""
    import uvicorn

    from jobyard.web.app import create_web_app

    host, port = parse_bind(bind)
    auth = make_auth(yard, host, no_auth)
    if auth.enabled:
        announce_setup(yard, bind)
    app = create_web_app(yard, auth)
    # Open event streams never end by themselves: past a few seconds of grace, shutdown
    # closes them (clients reconnect with Last-Event-ID to the next server).
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        # asyncio's loop, not uvloop: uvloop in the server thread of `jobyard up` crashed
        # the process (SIGSEGV) when it exited with the thread still running.
        loop="asyncio",
    )
    return uvicorn.Server(config)


def serve(yard: Yard, bind: str, no_auth: bool) -> None:
    srv = server(yard, bind, no_auth)
    click.echo(_("jobyard web: http://{bind}/ on {url}", bind=bind, url=yard.url), err=True)
    srv.run()


class WebThread:
    """The web server running in a thread of ``jobyard up``."""

    def __init__(self, srv: uvicorn.Server, thread: threading.Thread) -> None:
        self.srv = srv
        self.thread = thread

    def stop(self, timeout: float = SHUTDOWN_GRACE + 5) -> None:
        """Stop it and wait: a process that exits with its server thread still running
        may crash in the interpreter's shutdown instead of exiting with its code."""
        self.srv.should_exit = True
        self.thread.join(timeout)


def serve_in_thread(yard: Yard, bind: str, no_auth: bool) -> WebThread:
    """Start the web server in a thread (``jobyard up``); ``stop()`` stops it.
    A port already taken is a clear error, not a dead thread."""
    srv = server(yard, bind, no_auth)
    thread = threading.Thread(target=srv.run, name="jobyard-web", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise ConfigError(
                _("cannot serve the web UI on {bind}: is the port in use?", bind=bind)
            )
        time.sleep(0.02)
    return WebThread(srv, thread)


@click.command(cls=Command)
@click.option("--bind", default=None, help="HOST:PORT (default: [web] bind, 127.0.0.1:8080).")
@click.option("--no-auth", is_flag=True, help="No authentication (loopback binds only).")
@click.option(
    "--no-housekeeping", is_flag=True, help="Leave promotion, lease rescue and cron to others."
)
@click.pass_context
def web(ctx: click.Context, bind: str | None, no_auth: bool, no_housekeeping: bool) -> None:
    """Serve the HTTP API and web UI until SIGTERM."""
    yard = get_yard(ctx)
    bind = bind or yard.config.web_bind
    parse_bind(bind)
    yard.migrate()
    yard.sync_types()  # the app's types are known to every client at once
    stop = threading.Event()
    keeper = threading.Thread(target=housekeeping_loop, args=(yard, stop), daemon=True)
    if not no_housekeeping:  # remote workers' leases are rescued by the server
        keeper.start()
    try:
        serve(yard, bind, no_auth)
    finally:
        stop.set()
        if keeper.is_alive():
            keeper.join(10)  # its store calls end before the interpreter does


def register(group: click.Group) -> None:
    group.add_command(web)

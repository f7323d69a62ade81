"""Connectors: how a command reaches a site — local ``sh -c`` or SSH — behind one protocol.

Like converge's ``Driver``: the shell (:mod:`jobyard.sites.shell`) and the transfers use
whichever :func:`connector_for` picks, and a connector knows nothing of jobs or logs.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from typing import Any, Protocol

from jobyard import runas
from jobyard.sites import connect
from jobyard.sites.commands import Capture, ShellTimeout
from jobyard.sites.inventory import Site

__all__ = ["Connector", "LocalConnector", "SSHConnector", "connector_for"]


class Connector(Protocol):
    """Runs one ``sh`` command text on a site and feeds its output to a Capture."""

    site: str

    async def run(
        self, text: str, capture: Capture, timeout: float | None, stdin: bytes | None
    ) -> int:
        """The exit code (ShellTimeout past ``timeout``; SiteUnreachable)."""
        ...


async def _pump(reader: Any, stream: str, capture: Capture) -> None:
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        capture.feed(stream, chunk if isinstance(chunk, bytes) else chunk.encode())


class LocalConnector:
    """``sh -c TEXT`` on the worker's machine, in its own process group; with a run_as
    ``policy`` (a local site's shell), as the user it names, in a clean environment. Without
    one (the worker's own tools, such as rsync to an SSH site) as the worker."""

    def __init__(
        self, site: str, concurrency: int | None = None, policy: runas.Policy | None = None
    ) -> None:
        self.site = site
        self.concurrency = concurrency
        self.policy = policy

    async def run(
        self, text: str, capture: Capture, timeout: float | None, stdin: bytes | None
    ) -> int:
        async with slots(("site", self.site), self.concurrency):
            return await self._run(text, capture, timeout, stdin)

    async def _run(
        self, text: str, capture: Capture, timeout: float | None, stdin: bytes | None
    ) -> int:
        ident = self.policy.identity() if self.policy is not None else None
        extra: dict[str, Any] = runas.popen_options(ident)
        if ident is not None:
            extra["env"] = runas.environment(ident, {"JOBYARD_SITE": self.site})
            extra["cwd"] = ident.cwd if ident.switch else None
        proc = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            text,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
            **extra,
        )
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        assert proc.stdout is not None and proc.stderr is not None
        work = asyncio.gather(
            _pump(proc.stdout, "stdout", capture),
            _pump(proc.stderr, "stderr", capture),
            proc.wait(),
        )
        try:
            await asyncio.wait_for(work, timeout)
        except TimeoutError:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await proc.wait()
            raise ShellTimeout(f"site {self.site!r}: command killed after {timeout:g} s") from None
        return proc.returncode if proc.returncode is not None else -1


_slots: dict[Any, asyncio.Semaphore] = {}
MAX_SESSIONS = 10  # OpenSSH's default MaxSessions: channels at once on one connection


def slots(key: Any, size: int | None) -> Any:
    """At most ``size`` commands at once for ``key`` in this process (None: no cap). Keys
    are a site's name, or an SSH connection's settings."""
    if size is None:
        return contextlib.nullcontext()
    found = _slots.get(key)
    if found is None:
        found = _slots[key] = asyncio.Semaphore(size)
    return found


def _size(site: Site, default: int | None) -> int | None:
    value = site.config.get("concurrency", default)
    return None if value is None else int(value)


class SSHConnector:
    """The command over the site's SSH connection (shared by the process, see connect)."""

    def __init__(
        self,
        target: connect.Target,
        concurrency: int | None = None,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.site = target.site
        self.target = target
        self.concurrency = concurrency
        self.max_sessions = max_sessions

    async def run(
        self, text: str, capture: Capture, timeout: float | None, stdin: bytes | None
    ) -> int:
        # The site's own cap, then the connection's (sites on one host share a connection,
        # and the server refuses channels past its MaxSessions); always in this order.
        site, conn = ("site", self.site), ("ssh", self.target.key)
        async with slots(site, self.concurrency), slots(conn, self.max_sessions):
            return await self._run(text, capture, timeout, stdin)

    async def _open(self, text: str) -> Any:
        import asyncssh

        conn = await connect.connection(self.target)
        for attempt in range(1, 41):
            try:
                return await conn.create_process(text, encoding=None)
            except asyncssh.ChannelOpenError as exc:
                # A server counts a closed session a moment longer than we do: its
                # MaxSessions refuses the next channel briefly. Wait and try again.
                if attempt == 40:
                    raise connect.SiteUnreachable(
                        f"site {self.site!r}: the server refuses new sessions ({exc.reason}); "
                        "lower the site's max_sessions to the server's MaxSessions"
                    ) from None
                await asyncio.sleep(min(0.01 * attempt, 0.2))
            except OSError:  # the connection died since it was opened: once more, anew
                await connect.drop(self.target)
                conn = await connect.connection(self.target)
        raise AssertionError("unreachable")

    async def _run(
        self, text: str, capture: Capture, timeout: float | None, stdin: bytes | None
    ) -> int:
        proc = await self._open(text)
        if stdin is not None:
            proc.stdin.write(stdin)
        proc.stdin.write_eof()
        work = asyncio.gather(
            _pump(proc.stdout, "stdout", capture),
            _pump(proc.stderr, "stderr", capture),
            proc.wait_closed(),
        )
        try:
            await asyncio.wait_for(work, timeout)
        except TimeoutError:
            try:
                proc.send_signal("KILL")
            except Exception:  # not every server takes signals: closing the channel
                pass
            proc.close()
            raise ShellTimeout(f"site {self.site!r}: command killed after {timeout:g} s") from None
        status = proc.exit_status
        return status if status is not None else 255


def connector_for(site: Site, policy: runas.Policy | None = None) -> Connector:
    """The site's connector; ``policy`` (run_as) counts for a local site only: an SSH
    site's commands run as its ``user`` on the far side."""
    if site.local:
        return LocalConnector(site.name, _size(site, None), policy)
    sessions = int(site.config.get("max_sessions", MAX_SESSIONS))
    return SSHConnector(connect.Target.of(site), _size(site, None), sessions)

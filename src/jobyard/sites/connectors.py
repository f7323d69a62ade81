"""Connectors: how a command reaches a site — local ``sh -c`` or SSH — behind one protocol.

Like converge's ``Driver``: the shell (:mod:`jobyard.sites.shell`) and the transfers use
whichever :func:`connector_for` picks, and a connector knows nothing of jobs or logs.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any, Protocol

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
    """``sh -c TEXT`` on the worker's machine, in its own process group."""

    def __init__(self, site: str) -> None:
        self.site = site

    async def run(
        self, text: str, capture: Capture, timeout: float | None, stdin: bytes | None
    ) -> int:
        proc = await asyncio.create_subprocess_exec(
            "sh",
            "-c",
            text,
            stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            start_new_session=True,
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


class SSHConnector:
    """The command over the site's SSH connection (shared by the process, see connect)."""

    def __init__(self, target: connect.Target) -> None:
        self.site = target.site
        self.target = target

    async def run(
        self, text: str, capture: Capture, timeout: float | None, stdin: bytes | None
    ) -> int:
        conn = await connect.connection(self.target)
        try:
            proc = await conn.create_process(text, encoding=None)
        except OSError:  # the connection died since it was opened: once more, anew
            await connect.drop(self.target)
            conn = await connect.connection(self.target)
            proc = await conn.create_process(text, encoding=None)
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


def connector_for(site: Site) -> Connector:
    if site.local:
        return LocalConnector(site.name)
    return SSHConnector(connect.Target.of(site))

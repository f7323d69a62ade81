"""A site's shell: local (``sh -c``) or over SSH, behind one :class:`Connector` protocol.

``Shell`` (what an action sees as ``ctx.shell``) is bound to one site. ``run`` blocks the
calling thread (a sync action); ``arun`` is the same for async actions, which may await
several at once. The work happens on the process's shell loop (:mod:`jobyard.sites.loop`).
Output lines go to ``log`` (the job log, prefixed with the site) as they arrive; the
result keeps the first ``capture`` bytes of each stream.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, Protocol

from jobyard.errors import InvalidInput
from jobyard.sites import connect, loop
from jobyard.sites.commands import (
    CAPTURE,
    Capture,
    Command,
    Result,
    ShellFailed,
    ShellTimeout,
    display,
    env_prefix,
    quote,
    render,
)
from jobyard.sites.inventory import Site
from jobyard.sites.transfer import transfer

__all__ = ["Connector", "LocalConnector", "SSHConnector", "Shell", "connector_for"]

Log = Callable[[str, str], None]  # (message, level)


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


class Shell:
    """``ctx.shell``: commands on one site. See :mod:`jobyard.sites.commands` for forms."""

    quote = staticmethod(quote)

    def __init__(self, site: Site, log: Log | None = None, capture: int = CAPTURE) -> None:
        self.site = site
        self._log = log
        self.capture = capture
        self.connector = connector_for(site)
        self.lines_left = 10_000  # of output logged by this shell (then one notice)

    def cmd(self, *words: Any) -> str:
        """One command from words, each quoted: ``cmd("cat", path)``."""
        return " ".join(quote(w) for w in words)

    def _sink(self, quiet: bool) -> Callable[[str, str], None] | None:
        if self._log is None or quiet:
            return None
        log, name = self._log, self.site.name

        def sink(stream: str, line: str) -> None:
            if self.lines_left <= 0:
                return
            self.lines_left -= 1
            if self.lines_left == 0:
                log(f"{name}: output past 10000 lines is not logged", "warning")
                return
            log(f"{name}{'!' if stream == 'stderr' else ':'} {line}", "info")

        return sink

    def _prepare(
        self,
        command: Command,
        check: bool = True,
        timeout: float | None = None,
        capture: int | None = None,
        env: Mapping[str, str] | None = None,
        quiet: bool = False,
        stdin: str | bytes | None = None,
        shown: str | None = None,
    ) -> Coroutine[Any, Any, Result]:
        text = render(command)
        limit = self.capture if capture is None else capture
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidInput(f"capture must be a whole number of bytes >= 0, got {limit!r}")
        if timeout is not None and (isinstance(timeout, bool) or timeout <= 0):
            raise InvalidInput(f"timeout must be a positive number of seconds, got {timeout!r}")
        merged = {**dict(self.site.config.get("env") or {}), **dict(env or {})}
        full = env_prefix(merged) + text if merged else text
        data = stdin.encode() if isinstance(stdin, str) else stdin
        return self._go(
            full,
            shown or display(command),
            Capture(limit, self._sink(quiet)),
            check,
            timeout,
            data,
            quiet,
        )

    async def _go(
        self,
        full: str,
        shown: str,
        cap: Capture,
        check: bool,
        timeout: float | None,
        stdin: bytes | None,
        quiet: bool,
    ) -> Result:
        if self._log is not None and not quiet:
            self._log(f"{self.site.name}$ {shown}", "info")
        code = await self.connector.run(full, cap, timeout, stdin)
        result = cap.result(self.site.name, shown, code)
        if check and code != 0:
            raise ShellFailed(result)
        return result

    def run(self, command: Command, **options: Any) -> Result:
        """Run ``command`` and wait (a sync action's thread; the shell loop does the work).
        Options: ``check`` (default True: a non-zero exit raises ShellFailed), ``timeout``
        (seconds; killed past it), ``capture`` (bytes kept per stream; 0 none), ``env``,
        ``quiet`` (no log lines), ``stdin`` (text given to the command)."""
        return loop.call(self._prepare(command, **options))

    async def arun(self, command: Command, **options: Any) -> Result:
        """``run`` for async actions."""
        return await loop.acall(self._prepare(command, **options))

    def _sudo(
        self, command: Command, user: str | None, options: dict[str, Any]
    ) -> Coroutine[Any, Any, Result]:
        text = render(command)
        as_user = ["-u", user] if user else []
        var = self.site.config.get("sudo_password_env")
        password = os.environ.get(var) if var else None
        if var and password is None:
            raise InvalidInput(
                f"site {self.site.name!r}: sudo_password_env names {var}, which is not set "
                "in this worker's environment"
            )
        flags = ["-S", "-p", ""] if password is not None else ["-n"]
        argv = ("sudo", *flags, *as_user, "--", "sh", "-c", text)
        options["shown"] = " ".join(["sudo", *as_user, text])
        if password is not None:
            options["stdin"] = password + "\n"
        return self._prepare(argv, **options)

    def sudo(self, command: Command, *, user: str | None = None, **options: Any) -> Result:
        """``command`` as root (or ``user``) through sudo: passwordless (``-n``), or with the
        password from the worker's environment variable named by the site's
        ``sudo_password_env``, written to sudo's stdin: never in argv, env or the log."""
        return loop.call(self._sudo(command, user, options))

    async def asudo(self, command: Command, *, user: str | None = None, **options: Any) -> Result:
        return await loop.acall(self._sudo(command, user, options))

    # -- transfers (jobyard.sites.transfer) ---------------------------------------------------

    def upload(self, src: str, dest: str, **options: Any) -> Result:
        """Make ``dest`` on the site a copy of local ``src`` (rsync -az; SFTP without
        rsync). ``mirror=True`` deletes extras; ``args=[...]`` go to rsync."""
        return loop.call(transfer(self, src, dest, upload=True, **options))

    def download(self, src: str, dest: str, **options: Any) -> Result:
        """Make local ``dest`` a copy of ``src`` on the site."""
        return loop.call(transfer(self, src, dest, upload=False, **options))

    def mirror(self, src: str, dest: str, **options: Any) -> Result:
        """``upload`` that also deletes what ``dest`` has and ``src`` has not."""
        return self.upload(src, dest, mirror=True, **options)

    async def aupload(self, src: str, dest: str, **options: Any) -> Result:
        return await loop.acall(transfer(self, src, dest, upload=True, **options))

    async def adownload(self, src: str, dest: str, **options: Any) -> Result:
        return await loop.acall(transfer(self, src, dest, upload=False, **options))

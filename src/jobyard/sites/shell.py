"""A site's shell: local (``sh -c``) or over SSH, behind one :class:`Connector` protocol.

``Shell`` (what an action sees as ``ctx.shell``) is bound to one site. ``run`` blocks the
calling thread (a sync action); ``arun`` is the same for async actions, which may await
several at once. The work happens on the process's shell loop (:mod:`jobyard.sites.loop`).
Output lines go to ``log`` (the job log, prefixed with the site) as they arrive; the
result keeps the first ``capture`` bytes of each stream.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any

from jobyard import runas
from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.sites import loop
from jobyard.sites.commands import (
    CAPTURE,
    Capture,
    Command,
    Result,
    ShellFailed,
    display,
    env_prefix,
    quote,
    render,
)
from jobyard.sites.connectors import connector_for
from jobyard.sites.inventory import Site
from jobyard.sites.transfer import transfer

__all__ = ["Shell"]

Log = Callable[[str, str], None]  # (message, level)


def _mask(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


class Shell:
    """``ctx.shell``: commands on one site. See :mod:`jobyard.sites.commands` for forms."""

    quote = staticmethod(quote)

    def __init__(
        self,
        site: Site,
        log: Log | None = None,
        capture: int = CAPTURE,
        run_as: runas.Policy | None = None,
    ) -> None:
        self.site = site
        self._log = log
        self.capture = capture
        self.connector = connector_for(site, run_as)
        self.lines_left = 10_000  # of output logged by this shell (then one notice)

    def cmd(self, *words: Any) -> str:
        """One command from words, each quoted: ``cmd("cat", path)``."""
        return " ".join(quote(w) for w in words)

    def _sink(self, quiet: bool, secrets: Sequence[str] = ()) -> Callable[[str, str], None] | None:
        if self._log is None or quiet:
            return None
        log, name = self._log, self.site.name

        def sink(stream: str, line: str) -> None:
            line = _mask(line, secrets)
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
        secrets: Sequence[str] = (),
    ) -> Coroutine[Any, Any, Result]:
        text = render(command)
        if isinstance(secrets, str) or not all(isinstance(x, str) and x for x in secrets):
            raise InvalidInput(_("secrets must be a list of non-empty strings"))
        limit = self.capture if capture is None else capture
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise InvalidInput(
                _("capture must be a whole number of bytes >= 0, got {limit!r}", limit=limit)
            )
        if timeout is not None and (isinstance(timeout, bool) or timeout <= 0):
            raise InvalidInput(
                _("timeout must be a positive number of seconds, got {timeout!r}", timeout=timeout)
            )
        merged = {**dict(self.site.config.get("env") or {}), **dict(env or {})}
        full = env_prefix(merged) + text if merged else text
        data = stdin.encode() if isinstance(stdin, str) else stdin
        return self._go(
            full,
            _mask(shown or display(command), secrets),
            Capture(limit, self._sink(quiet, secrets)),
            check,
            timeout,
            data,
            quiet,
            tuple(secrets),
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
        secrets: tuple[str, ...] = (),
    ) -> Result:
        if self._log is not None and not quiet:
            self._log(f"{self.site.name}$ {shown}", "info")
        code = await self.connector.run(full, cap, timeout, stdin)
        result = cap.result(self.site.name, shown, code)
        if check and code != 0:
            shown_result = dataclasses.replace(
                result, stdout=_mask(result.stdout, secrets), stderr=_mask(result.stderr, secrets)
            )
            error = ShellFailed(shown_result)  # the message (the job's error) is masked
            error.result = result
            raise error
        return result

    def run(self, command: Command, **options: Any) -> Result:
        """Run ``command`` and wait (a sync action's thread; the shell loop does the work).
        Options: ``check`` (default True: a non-zero exit raises ShellFailed), ``timeout``
        (seconds; killed past it), ``capture`` (bytes kept per stream; 0 none), ``env``,
        ``quiet`` (no log lines), ``stdin`` (text given to the command), ``secrets``
        (strings shown as ``***`` in the logged command and output)."""
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
                _(
                    "site {name!r}: sudo_password_env names {var}, which is not set in this "
                    "worker's environment",
                    name=self.site.name,
                    var=var,
                )
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

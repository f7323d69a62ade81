"""File transfers for a site's shell: rsync over the site's SSH settings, SFTP fallback.

``upload(src, dest)`` makes ``dest`` on the site a copy of the local ``src`` (a file, or a
directory's contents); ``download`` is the other way; ``mirror=True`` also deletes what
``dest`` has and ``src`` has not. rsync runs ``-az`` (plus ``args``, passed through) with
``ssh`` given the site's port, user, identity and known_hosts (``StrictHostKeyChecking
yes``: an unknown host key refuses the transfer, as the shell does). Paths go as
argv words and with ``--protect-args``, so the remote shell never reads them. A site
without rsync (or a worker without it) gets SFTP over the shell's own connection.

A single file up to ``SMALL_FILE`` bytes (no ``mirror``, no rsync ``args``) always goes
over SFTP on the shell's connection: rsync's delta transfer buys nothing there, and
spawning rsync and ssh (a second SSH login, a remote rsync) cost far more than the bytes
(bench/sites.py). Each connection keeps one SFTP session for all its transfers.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import shlex
import shutil
import stat
import tempfile
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from jobyard.errors import InvalidInput
from jobyard.i18n import _
from jobyard.sites import connect
from jobyard.sites.commands import Capture, Result, ShellFailed
from jobyard.sites.connectors import LocalConnector

if TYPE_CHECKING:
    import asyncssh

    from jobyard.sites.shell import Shell

__all__ = ["SMALL_FILE", "transfer"]

SMALL_FILE = 1024 * 1024


_control_dir: str | None = None


def _control_path(target: connect.Target) -> str:
    """Where this process's ssh master connection for ``target`` listens (a private
    directory): the rsyncs of one site share one SSH connection, as its commands do. The
    name covers every connection setting (known_hosts and host key included), so a site
    never rides on a connection that was verified under another site's settings."""
    global _control_dir
    if _control_dir is None or not os.path.isdir(_control_dir):
        _control_dir = tempfile.mkdtemp(prefix="jobyard-ssh-")  # mode 0700
        atexit.register(shutil.rmtree, _control_dir, True)
    name = hashlib.sha256(repr(target.key).encode()).hexdigest()[:20]
    return os.path.join(_control_dir, name)


def _ssh_command(target: connect.Target, known_hosts: str) -> str:
    argv = ["ssh", "-F", "/dev/null", "-p", str(target.port), "-o", "BatchMode=yes"]
    argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={_control_path(target)}"]
    argv += ["-o", "ControlPersist=30"]
    argv += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known_hosts}"]
    argv += ["-o", f"ConnectTimeout={max(int(target.connect_timeout), 1)}"]
    if target.identity:
        argv += ["-i", os.path.expanduser(target.identity), "-o", "IdentitiesOnly=yes"]
    if target.jump:
        argv += ["-J", target.jump]
    return shlex.join(argv)


def _known_hosts_file(target: connect.Target) -> str:
    if not target.host_key:
        return os.path.expanduser(target.known_hosts or "~/.ssh/known_hosts")
    host = target.host if target.port == 22 else f"[{target.host}]:{target.port}"
    fd, path = tempfile.mkstemp(prefix="jobyard-known-hosts-")
    with os.fdopen(fd, "w") as fh:
        fh.write(f"{host} {target.host_key}\n")
    return path


def _local_src(path: str) -> str:
    return path.rstrip("/") + "/" if os.path.isdir(path) else path


async def _has_rsync(shell: Shell) -> bool:
    if shutil.which("rsync") is None:
        return False
    if shell.site.local:
        return True
    cached = getattr(shell, "_remote_rsync", None)
    if cached is None:
        code = await shell.connector.run("command -v rsync >/dev/null 2>&1", Capture(0), 30, None)
        cached = code == 0
        shell._remote_rsync = cached  # type: ignore[attr-defined]
    return bool(cached)


async def _rsync(
    shell: Shell, src: str, dest: str, upload: bool, mirror: bool, args: Sequence[str]
) -> Result:
    argv = ["rsync", "-az", "--protect-args", *(["--delete"] if mirror else []), *args]
    temp = None
    if shell.site.local:
        argv += [_local_src(src), dest]
    else:
        target = connect.Target.of(shell.site)
        known = _known_hosts_file(target)
        temp = known if target.host_key else None
        remote = f"{target.user + '@' if target.user else ''}{target.host}:"
        argv += ["-e", _ssh_command(target, known)]
        if upload:
            argv += [_local_src(src), remote + dest]
        else:
            is_dir = await shell.connector.run(f"test -d {shlex.quote(src)}", Capture(0), 30, None)
            argv += [remote + (src.rstrip("/") + "/" if is_dir == 0 else src), dest]
    shown = f"rsync {'upload' if upload else 'download'} {src} -> {dest}"
    cap = Capture(shell.capture, shell._sink(False))
    if shell._log is not None:
        shell._log(f"{shell.site.name}$ {shown}", "info")
    try:
        # A local site's copy is made by its shell's user (run_as); an SSH site's by the
        # worker, whose keys reach the site.
        local = shell.connector if shell.site.local else LocalConnector(shell.site.name)
        code = await local.run(shlex.join(argv), cap, None, None)
    finally:
        if temp:
            os.unlink(temp)
    result = cap.result(shell.site.name, shown, code)
    if code != 0:
        raise ShellFailed(result)
    return result


async def _sftp_put(sftp: asyncssh.SFTPClient, src: str, dest: str, mirror: bool) -> None:
    if not os.path.isdir(src):
        await sftp.put(src, dest, preserve=True)
        return
    if mirror and await sftp.exists(dest):
        await sftp.rmtree(dest)
    await sftp.makedirs(dest, exist_ok=True)
    for entry in os.listdir(src):
        await sftp.put(
            os.path.join(src, entry), f"{dest.rstrip('/')}/{entry}", recurse=True, preserve=True
        )


async def _sftp_get(sftp: asyncssh.SFTPClient, src: str, dest: str, mirror: bool) -> None:
    attrs = await sftp.stat(src)
    if not stat.S_ISDIR(attrs.permissions or 0):
        await sftp.get(src, dest, preserve=True)
        return
    if mirror and os.path.isdir(dest):
        shutil.rmtree(dest)
    os.makedirs(dest, exist_ok=True)
    for entry in await sftp.listdir(src):
        if entry not in (".", ".."):
            await sftp.get(
                f"{src.rstrip('/')}/{entry}", os.path.join(dest, entry), recurse=True, preserve=True
            )


_sessions: dict[tuple[Any, ...], tuple[asyncssh.SSHClientConnection, asyncssh.SFTPClient]] = {}


async def _session(target: connect.Target) -> asyncssh.SFTPClient:
    """The SFTP session on ``target``'s connection (opened once per connection)."""
    conn = await connect.connection(target)
    found = _sessions.get(target.key)
    if found is not None and found[0] is conn:
        return found[1]
    sftp = await conn.start_sftp_client()
    _sessions[target.key] = (conn, sftp)
    return sftp


def _failed(shell: Shell, shown: str, exc: BaseException) -> ShellFailed:
    text = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return ShellFailed(Result(shell.site.name, shown, 1, "", str(text)))


async def _sftp(shell: Shell, src: str, dest: str, upload: bool, mirror: bool) -> Result:
    shown = f"sftp {'upload' if upload else 'download'} {src} -> {dest}"
    if shell._log is not None:
        shell._log(f"{shell.site.name}$ {shown} (no rsync on the site)", "info")
    try:
        sftp = await _session(connect.Target.of(shell.site))
        if upload:
            await _sftp_put(sftp, src, dest, mirror)
        else:
            await _sftp_get(sftp, src, dest, mirror)
    except connect.SiteUnreachable:
        raise
    except Exception as exc:
        raise _failed(shell, shown, exc) from None
    return Result(shell.site.name, shown, 0)


async def _small(shell: Shell, src: str, dest: str, upload: bool) -> Result | None:
    """A single file of at most SMALL_FILE bytes sent over SFTP; None when ``src`` is not
    one (a directory, a bigger file, or a missing one: rsync then says why)."""
    import asyncssh

    shown = f"sftp {'upload' if upload else 'download'} {src} -> {dest}"
    if upload:
        try:
            found = os.stat(src)
        except OSError:
            return None
        mode, size = found.st_mode, found.st_size
        if not stat.S_ISREG(mode) or size > SMALL_FILE:
            return None  # before connecting: rsync's own ssh may be all it needs
    sftp = await _session(connect.Target.of(shell.site))
    if not upload:
        try:
            attrs = await sftp.stat(src)
        except asyncssh.SFTPError:
            return None
        mode, size = attrs.permissions or 0, attrs.size or 0
    if not stat.S_ISREG(mode) or size > SMALL_FILE:
        return None
    if shell._log is not None:
        shell._log(f"{shell.site.name}$ {shown} (small file)", "info")
    try:
        if upload:
            await sftp.put(src, dest, preserve=True)
        else:
            await sftp.get(src, dest, preserve=True)
    except Exception as exc:
        raise _failed(shell, shown, exc) from None
    return Result(shell.site.name, shown, 0)


async def transfer(
    shell: Shell,
    src: str,
    dest: str,
    *,
    upload: bool,
    mirror: bool = False,
    args: Sequence[str] = (),
    **_unused: Any,
) -> Result:
    """One upload or download (see the module docstring)."""
    for what, path in (("source", src), ("destination", dest)):
        if not isinstance(path, str) or not path:
            raise InvalidInput(
                _("transfer {what} must be a non-empty path, got {path!r}", what=what, path=path)
            )
    if upload and not os.path.exists(src):
        raise InvalidInput(_("upload: {src} does not exist on this machine", src=src))
    if not all(isinstance(a, str) for a in args):
        raise InvalidInput(_("rsync args must be strings"))
    if not shell.site.local and not mirror and not args:
        done = await _small(shell, src, dest, upload)
        if done is not None:
            return done
    if await _has_rsync(shell):
        return await _rsync(shell, src, dest, upload, mirror, args)
    if shell.site.local:
        raise InvalidInput(_("rsync is not installed on this machine (needed for a local site)"))
    return await _sftp(shell, src, dest, upload, mirror)

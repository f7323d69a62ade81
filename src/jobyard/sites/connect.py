"""SSH connections to sites (asyncssh), one per set of connection settings per process.

Host keys are always verified: against the site's ``known_hosts`` file, or a key pinned
in the site's ``host_key`` variable, or else ``~/.ssh/known_hosts``; never trusted
blindly. A site's ``jump`` (``user@host:port``) is connected first and tunnels the rest.
The user's ``~/.ssh/config`` and agent are not read: a site says everything itself.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any

import asyncssh

from jobyard.errors import JobyardError
from jobyard.sites.inventory import Site

__all__ = ["SiteUnreachable", "Target", "close_all", "connection"]


class SiteUnreachable(JobyardError):
    """A site's SSH connection could not be made (refused, timed out, host key unknown)."""

    plain = True  # the message says it all (no exception class name in the job's error)


@dataclass(frozen=True)
class Target:
    """Where and how to connect: the part of a site that makes a connection."""

    site: str
    host: str
    port: int = 22
    user: str | None = None
    identity: str | None = None
    known_hosts: str | None = None
    host_key: str | None = None
    jump: str | None = None
    connect_timeout: float = 10.0

    @classmethod
    def of(cls, site: Site) -> Target:
        c = site.config
        return cls(
            site=site.name,
            host=str(c["host"]),
            port=int(c.get("port", 22)),
            user=c.get("user"),
            identity=c.get("identity"),
            known_hosts=c.get("known_hosts"),
            host_key=c.get("host_key"),
            jump=c.get("jump"),
            connect_timeout=float(c.get("connect_timeout", 10.0)),
        )

    @property
    def key(self) -> tuple[Any, ...]:
        return (
            self.host,
            self.port,
            self.user,
            self.identity,
            self.known_hosts,
            self.host_key,
            self.jump,
        )

    def known_hosts_source(self) -> Any:
        if self.host_key:
            host = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
            return asyncssh.import_known_hosts(f"{host} {self.host_key}\n")
        return _parsed(os.path.expanduser(self.known_hosts or "~/.ssh/known_hosts"), "hosts")

    def options(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "port": self.port,
            "known_hosts": self.known_hosts_source(),
            "connect_timeout": self.connect_timeout,
            "config": [],
            "agent_path": None,
            "encryption_algs": CIPHERS,
        }
        if self.user:
            found["username"] = self.user
        if self.identity:
            found["client_keys"] = _parsed(os.path.expanduser(self.identity), "key")
        return found


# AES-GCM first (then asyncssh's usual order): one AEAD call per packet where asyncssh's
# chacha20-poly1305 makes three cipher objects; it is most of a transfer's client CPU.
CIPHERS = list(
    dict.fromkeys(
        [
            "aes128-gcm@openssh.com",
            "aes256-gcm@openssh.com",
            *(alg.decode() for alg in asyncssh.encryption.get_default_encryption_algs()),
        ]
    )
)

_files: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}


def _parsed(path: str, kind: str) -> Any:
    """``path`` read as known_hosts or a client key, once per version of the file: N sites
    sharing one known_hosts of N entries would otherwise parse N x N keys. A path that
    cannot be read is given as is, so that asyncssh's own error reaches the user."""
    try:
        found = os.stat(path)
    except OSError:
        return path if kind == "hosts" else [path]
    version = (found.st_mtime_ns, found.st_size)
    cached = _files.get((kind, path))
    if cached is not None and cached[0] == version:
        return cached[1]
    try:
        value = asyncssh.read_known_hosts(path) if kind == "hosts" else asyncssh.load_keypairs(path)
    except (OSError, ValueError, asyncssh.Error):
        return path if kind == "hosts" else [path]
    _files[(kind, path)] = (version, value)
    return value


_conns: dict[tuple[Any, ...], asyncssh.SSHClientConnection] = {}
_locks: dict[tuple[Any, ...], asyncio.Lock] = {}


def _jump_target(target: Target) -> Target:
    spec = target.jump or ""
    user, _, rest = spec.rpartition("@")
    host, _, port = rest.partition(":")
    return Target(
        site=f"{target.site} (jump {spec})",
        host=host,
        port=int(port) if port.isdigit() else 22,
        user=user or target.user,
        identity=target.identity,
        known_hosts=target.known_hosts,
        connect_timeout=target.connect_timeout,
    )


def explain(target: Target, exc: BaseException) -> str:
    where = f"site {target.site!r} ({target.user + '@' if target.user else ''}"
    where += f"{target.host}:{target.port})"
    if isinstance(exc, asyncssh.HostKeyNotVerifiable):
        source = (
            "the pinned host_key"
            if target.host_key
            else (target.known_hosts or "~/.ssh/known_hosts")
        )
        return (
            f"{where}: host key not trusted ({exc.reason}): it is missing from or differs "
            f"from {source}; refusing to connect. Check the host, then record its key "
            f"(ssh-keyscan -p {target.port} {target.host})"
        )
    if isinstance(exc, asyncssh.PermissionDenied):
        return f"{where}: login refused ({exc.reason}); check user and identity"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"{where}: no answer within {target.connect_timeout:g} s (connect_timeout)"
    if isinstance(exc, OSError):
        return f"{where}: cannot connect: {exc.strerror or exc}"
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return f"{where}: ssh failed: {reason}"


async def _open(target: Target) -> asyncssh.SSHClientConnection:
    if not target.host_key:
        path = os.path.expanduser(target.known_hosts or "~/.ssh/known_hosts")
        if not os.path.isfile(path):
            raise SiteUnreachable(
                f"site {target.site!r}: known_hosts file {path} does not exist, so the host "
                f"key of {target.host}:{target.port} cannot be verified; record it "
                f"(ssh-keyscan -p {target.port} {target.host} >> {path}) or pin host_key"
            )
    options = target.options()
    if target.jump:
        options["tunnel"] = await connection(_jump_target(target))
    try:
        return await asyncssh.connect(target.host, **options)
    except (TimeoutError, OSError, asyncssh.Error) as exc:
        raise SiteUnreachable(explain(target, exc)) from None


async def connection(target: Target) -> asyncssh.SSHClientConnection:
    """The open connection for ``target`` (made on first use, made again once closed)."""
    lock = _locks.setdefault(target.key, asyncio.Lock())
    async with lock:
        conn = _conns.get(target.key)
        if conn is None or conn.is_closed():
            conn = await _open(target)
            _conns[target.key] = conn
        return conn


async def drop(target: Target) -> None:
    """Forget (and close) ``target``'s connection: the next use connects again."""
    conn = _conns.pop(target.key, None)
    if conn is not None:
        conn.close()


async def close_all() -> None:
    """Close every connection of this process."""
    for key in list(_conns):
        _conns.pop(key).close()

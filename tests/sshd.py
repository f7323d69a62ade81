"""Real sshd instances for the sites tests: one per site, on a free loopback port.

Each server has its own generated host key and config (never the machine's); the client
key of the factory is in every server's authorized_keys, and the factory's known_hosts
file lists every server's host key. ``without=("rsync",)`` gives a server whose sessions
have a PATH without those commands (the SFTP fallback's case). Everything is stopped and
removed after the test.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "jobyard-test", "-f", str(path)],
        check=True,
    )
    return Path(f"{path}.pub").read_text().strip()


@dataclass
class SSHServer:
    host: str
    port: int
    user: str
    identity: str
    known_hosts: str
    host_key: str  # the public host key ("ssh-ed25519 AAAA...")
    proc: subprocess.Popen[bytes]
    home: Path

    def site(self, **extra: Any) -> dict[str, Any]:
        """Site variables that reach this server."""
        return {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "identity": self.identity,
            "known_hosts": self.known_hosts,
            **extra,
        }

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _bin_without(root: Path, missing: Sequence[str]) -> str:
    """A directory of links to every command in /usr/bin except ``missing``."""
    target = root / "bin"
    target.mkdir()
    for name in os.listdir("/usr/bin"):
        if name not in missing:
            os.symlink(f"/usr/bin/{name}", target / name)
    return str(target)


class SSHFactory:
    def __init__(self, root: Path, session_env: dict[str, str] | None = None) -> None:
        self.root = root
        self.session_env = dict(session_env or {})  # SetEnv of every server's sessions
        root.mkdir(parents=True, exist_ok=True)
        self.identity = root / "client_key"
        keygen(self.identity)
        self.known_hosts = root / "known_hosts"
        self.known_hosts.write_text("")
        self.servers: list[SSHServer] = []

    def __call__(self, without: Sequence[str] = ()) -> SSHServer:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
        home = self.root / f"sshd{len(self.servers)}"
        home.mkdir()
        host_key = home / "host_key"
        public = keygen(host_key)
        auth = home / "authorized_keys"
        shutil.copy(f"{self.identity}.pub", auth)
        port = free_port()
        lines = [
            "ListenAddress 127.0.0.1",
            f"HostKey {host_key}",
            f"PidFile {home / 'sshd.pid'}",
            f"AuthorizedKeysFile {auth}",
            "PubkeyAuthentication yes",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "PermitRootLogin prohibit-password",
            "StrictModes no",
            "UsePAM no",
            "MaxStartups 200",
            "LogLevel ERROR",
            "Subsystem sftp internal-sftp",
        ]
        env = dict(self.session_env)
        if without:
            env["PATH"] = _bin_without(home, without)
        if env:  # one line: sshd keeps the first SetEnv only
            lines.append("SetEnv " + " ".join(f"{k}={v}" for k, v in env.items()))
        config = home / "sshd_config"
        config.write_text("\n".join(lines) + "\n")
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config), "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=open(home / "sshd.log", "wb"),  # noqa: SIM115 (kept open for the server)
        )
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"sshd did not start: {(home / 'sshd.log').read_text()}"
                    ) from None
                time.sleep(0.02)
        with self.known_hosts.open("a") as fh:
            fh.write(f"[127.0.0.1]:{port} {public}\n")
        server = SSHServer(
            "127.0.0.1",
            port,
            "root",
            str(self.identity),
            str(self.known_hosts),
            " ".join(public.split()[:2]),
            proc,
            home,
        )
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Callable[..., SSHServer]]:
    """A function starting a real sshd (``sshd()``, ``sshd(without=["rsync"])``)."""
    factory = SSHFactory(tmp_path / "ssh")
    try:
        yield factory
    finally:
        factory.stop()

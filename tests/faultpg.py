"""A private PostgreSQL server for fault tests: started, stopped and restarted at will.

The machine's shared server (127.0.0.1:5432) is never touched: this one is ``initdb``-ed
into a fresh temp dir, listens on 127.0.0.1 on a free port with its unix socket in that
dir, runs with ``fsync=off`` (the tests need restarts, not crash safety) and is stopped and
deleted on teardown. As root, its commands run as the ``postgres`` OS user (the server
refuses to run as root). Binaries: ``$JOBYARD_PG_BIN`` or the newest
``/usr/lib/postgresql/*/bin``. Without them the tests skip, or fail with ``CI=true``.

Fixture: ``private_pg`` (a started :class:`PrivatePostgres`, one per test). :class:`Proxy`
stands between one client and the server to cut that client off alone.
"""

from __future__ import annotations

import glob
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.pgfixtures import in_ci

OS_USER = "postgres"


def _bin_dir() -> Path | None:
    given = os.environ.get("JOBYARD_PG_BIN")
    if given:
        return Path(given)
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    return Path(found[-1]).parent if found else None


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """One throwaway cluster. ``url(db)`` names a database on it as superuser ``postgres``."""

    def __init__(self, bin_dir: Path, host: str = "127.0.0.1") -> None:
        self.bin = bin_dir
        self.host = host  # the address it listens on (another one: see ``trust``)
        self.as_root = os.geteuid() == 0
        # Not under pytest's tmp_path: the postgres OS user must be able to reach it.
        self.base = Path(tempfile.mkdtemp(prefix="jobyard-privatepg-"))
        self.data = self.base / "data"
        self.socket_dir = self.base / "run"
        self.logfile = self.base / "server.log"
        self.port = 0
        self.running = False
        self.socket_dir.mkdir()
        if self.as_root:
            shutil.chown(self.base, OS_USER, OS_USER)
            shutil.chown(self.socket_dir, OS_USER, OS_USER)

    def _run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", OS_USER, "--"] if self.as_root else []
        result = subprocess.run(
            [*prefix, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.base,  # the postgres OS user may not be able to enter ours
        )
        if result.returncode != 0:
            raise RuntimeError(f"{args[0]} failed: {result.stderr.strip()}\n{self.log_tail()}")
        return result

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.logfile.read_text().splitlines()[-lines:])
        except OSError:
            return ""

    def init(self) -> None:
        self._run(
            str(self.bin / "initdb"),
            *("-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"),
            "--no-sync",
        )

    def trust(self, network: str) -> None:
        """Let clients from ``network`` (e.g. ``10.1.2.0/24``) in without a password."""
        with open(self.data / "pg_hba.conf", "a") as hba:
            hba.write(f"host all all {network} trust\n")

    def start(self) -> None:
        """Start on the port of the last run (a restart keeps the URLs valid), else a free one."""
        first = self.port == 0
        for _ in range(5):
            if first:
                self.port = _free_port(self.host)
            options = (
                f"-p {self.port} -k {self.socket_dir} -c listen_addresses={self.host} "
                "-c fsync=off -c synchronous_commit=on -c full_page_writes=off "
                "-c max_connections=100"
            )
            try:
                self._run(
                    str(self.bin / "pg_ctl"),
                    *("-D", str(self.data), "-l", str(self.logfile), "-w", "-t", "30"),
                    *("-o", options, "start"),
                )
            except RuntimeError:
                if first and "could not bind" in self.log_tail():
                    continue  # someone took the port meanwhile: try another
                if not first:  # the old port may still be in TIME_WAIT-less use: wait
                    time.sleep(0.5)
                    continue
                raise
            self.running = True
            return
        raise RuntimeError(f"private PostgreSQL would not start\n{self.log_tail()}")

    def stop(self, mode: str = "fast") -> None:
        """``fast``: sessions are ended (clients see AdminShutdown); ``immediate``: a crash."""
        if self.running:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
            self.running = False

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/{db}"

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def destroy(self) -> None:
        try:
            self.stop("immediate")
        finally:
            shutil.rmtree(self.base, ignore_errors=True)


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the private PostgreSQL fault tests must run)")
    pytest.skip(reason)


@pytest.fixture
def private_pg() -> Iterator[PrivatePostgres]:
    """A started private PostgreSQL server of this test's own; deleted afterwards."""
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        _unavailable("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin")
        raise AssertionError("unreachable")
    server = PrivatePostgres(bin_dir)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


class Proxy:
    """A TCP relay from a free local port to ``target_port``, to cut one client off.

    ``pause()`` makes it a black hole: connections stay open and new ones are accepted,
    but no byte moves either way (a network partition, not a refused connection: the
    client's calls hang). ``resume()`` delivers what was held and carries on."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open = threading.Event()
        self._open.set()
        self._closed = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="proxy-accept", daemon=True).start()

    def url(self, db: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{db}"

    def pause(self) -> None:
        self._open.clear()

    def resume(self) -> None:
        self._open.set()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while not self._closed:
                self._open.wait()
                ready, _, _ = select.select([src], [], [], 0.05)
                if not ready or not self._open.is_set():
                    continue  # paused between the check and the read: hold the bytes
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self._closed = True
        self._open.set()
        self._listener.close()
        with self._lock:
            for s in self._sockets:
                s.close()

"""Three "hosts" (network namespaces) and a PostgreSQL on a fourth address, for the netns
chaos tests: tests/chaos/test_netns_scaleout.py (workers open the database) and
tests/chaos/test_netns_remote.py (workers talk HTTP to a ``jobyard web`` beside it).

    with netns_cluster(tmp_path, hosts=3, remote=True) as cluster:
        worker = cluster.spawn(1)         # host 1's ``jobyard worker``, in its namespace
        cluster.lab.cut(1)                # its cable unplugged (tests/netns.py)
        cluster.runs()                    # every run, as the job handlers noted it

The network is tests/netns.py's (a bridge holding the server address, a namespace per
host); the database is tests/faultpg.py's private server, listening on the bridge only. In
remote mode a ``jobyard web`` (auth on) listens on the bridge address too, each host gets a
worker token of its own (named like its worker, ``h1``...), and the workers' environment
names no database they could reach.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from jobyard import Yard
from jobyard.feed import Feed
from jobyard.store.events import JobEvent
from tests.chaos.procs import chaos_yard, spawn_remote_worker, spawn_worker, worker_errors
from tests.chaos.test_kill_workers import Runs
from tests.chaos.webserver import WebServer
from tests.faultpg import PrivatePostgres, _bin_dir, _unavailable
from tests.netns import NetLab, unavailable

CONCURRENCY = 4
PREFETCH = 4


@dataclass
class Cluster:
    lab: NetLab
    pg: PrivatePostgres
    url: str  # as the hosts (and the test, from the root namespace) reach it
    tmp: Path
    logs: Path
    yard: Yard
    lease: float
    web: WebServer | None = None  # remote mode: the server the hosts' workers talk to
    tokens: dict[int, str] = field(default_factory=dict)

    def name(self, host: int) -> str:
        return f"h{host}"

    @property
    def config(self) -> Path:
        """The settings of the workers and the web server: the lease, and quarantine only
        after 50 interruptions (a kill also interrupts prefetched jobs)."""
        path = self.tmp / "jobyard.toml"
        if not path.exists():
            heartbeat = min(0.4, self.lease / 5)
            path.write_text(
                f"[worker]\nlease = {self.lease}\nheartbeat = {heartbeat}\nquarantine_after = 50\n"
            )
        return path

    def spawn(self, host: int, *, prefetch: int = PREFETCH) -> subprocess.Popen[str]:
        """Host ``host``'s worker (``-c CONCURRENCY --prefetch N``), in its namespace."""
        config = self.config
        options = ("-c", str(CONCURRENCY), "--prefetch", str(prefetch))
        prefix = self.lab.exec_prefix(host)
        name = self.name(host)
        if self.web is None:
            return spawn_worker(self.url, config, self.logs, name, *options, prefix=prefix)
        token = self.tokens[host]
        return spawn_remote_worker(
            self.web.base, token, config, self.logs, name, *options, prefix=prefix
        )

    def errors(self, host: int) -> str:
        """What host ``host``'s remote worker wrote on stderr (for failure messages)."""
        return worker_errors(self.logs, self.name(host))

    def runs(self) -> Runs:
        runs = Runs(signalled=set())
        runs.read(self.logs)
        return runs

    def events(self, kind: str) -> list[JobEvent]:
        feed, cursor = Feed(self.yard.store), 0
        out: list[JobEvent] = []
        while True:
            events, cursor = feed.read(after=cursor, limit=1000, kinds=[kind])
            if not events:
                return out
            out.extend(events)


@contextmanager
def netns_cluster(
    tmp: Path, hosts: int, *, remote: bool = False, lease: float = 2.0
) -> Iterator[Cluster]:
    """The network, the database (and in remote mode the web server and tokens); all of
    it destroyed afterwards, even after a failure. Skips (fails under CI) without root,
    iproute2 or the PostgreSQL server binaries."""
    if reason := unavailable():
        _unavailable(reason)
    bin_dir = _bin_dir()
    if bin_dir is None or not (bin_dir / "initdb").exists():
        _unavailable("no PostgreSQL server binaries (initdb) under /usr/lib/postgresql/*/bin")
        raise AssertionError("unreachable")
    lab = NetLab.create(hosts)
    pg: PrivatePostgres | None = None
    yard: Yard | None = None
    web: WebServer | None = None
    try:
        pg = PrivatePostgres(bin_dir, host=lab.server)
        pg.init()
        pg.trust(lab.network)
        pg.start()
        url = pg.create_database("scaleout")
        yard = chaos_yard(url)
        logs = tmp / "runs"
        logs.mkdir()
        cluster = Cluster(lab, pg, url, tmp, logs, yard, lease)
        if remote:
            yard.migrate()  # before the server and the token command race to do it
            web = cluster.web = WebServer(url, tmp, host=lab.server, config=cluster.config)
            web.start()
            cluster.tokens = {h: web.token(cluster.name(h)) for h in range(1, hosts + 1)}
        yield cluster
    finally:
        if web is not None:
            web.stop()
        if yard is not None:
            yard.close()
        if pg is not None:
            pg.destroy()
        lab.destroy()

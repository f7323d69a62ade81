"""Instrumentation shared by every system's task module, plus the harness-side readers.

The benchmark's task handlers call into this module, so every system pays exactly the same
(tiny) per-job cost. Everything is recorded in a dedicated Redis database
(``BENCH_PROBE_URL``, default ``redis://127.0.0.1:6379/15``), never in the system under test.

Drain progress (``tick()``, called by the no-op handler):

* ``batched`` mode (default): each executing process keeps an in-memory counter and the
  first-start / last-end wall-clock times; a daemon thread writes them to the hash
  ``bench:drain:<pid>`` every ``FLUSH_INTERVAL`` seconds. Per job that is a lock and one
  ``time.time()``; the Redis traffic is a few dozen small writes per second per process.
* ``immediate`` mode (``BENCH_PROBE_MODE=immediate``): one pipelined Redis round trip per job
  into ``bench:drain:<ppid>``. Needed for RQ's default Worker, which forks a short-lived
  "work horse" per job, so in-memory state would die with it. ``<ppid>`` is the long-lived
  worker process.

Job bodies (``job()``, what every system's ``noop`` handler calls): ``BENCH_BODY=noop`` (the
default) does nothing before ``tick()``; ``BENCH_BODY=incr`` first makes one Redis ``INCR``
round trip (``bench:body`` in ``BENCH_BODY_URL``, by default database 10), the smallest real
job: it waits on the network like most jobs do.

Latency (``record_start(sid)``, called first thing by the ``lat`` handler): one ``LPUSH`` of
``"<sid> <time.time()>"`` onto ``bench:lat``; the harness ``BLPOP``s it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import redis

DEFAULT_PROBE_URL = "redis://127.0.0.1:6379/15"
FLUSH_INTERVAL = 0.02
DRAIN_PREFIX = "bench:drain:"
LAT_KEY = "bench:lat"
BODY_KEY = "bench:body"
DEFAULT_BODY_URL = "redis://127.0.0.1:6379/10"
BODIES = ("noop", "incr")

_lock = threading.Lock()
_owner_pid = 0  # pid whose in-memory state and flusher thread these globals describe
_count = 0
_first = 0.0
_last = 0.0
_client: Any = None
_client_pid = 0
_body_local = threading.local()  # one body connection per handler thread (and process)


def probe_url() -> str:
    return os.environ.get("BENCH_PROBE_URL", DEFAULT_PROBE_URL)


def _redis() -> redis.Redis:
    """A client owned by the current process (a forked child must not share its parent's)."""
    global _client, _client_pid
    if _client is None or _client_pid != os.getpid():
        _client = redis.Redis.from_url(probe_url())
        _client_pid = os.getpid()
    return _client  # type: ignore[no-any-return]


def _immediate() -> bool:
    return os.environ.get("BENCH_PROBE_MODE", "batched") == "immediate"


# -- worker side ---------------------------------------------------------------------------


def job() -> None:
    """The benchmark's job body (``BENCH_BODY``), then ``tick()``."""
    if os.environ.get("BENCH_BODY", "noop") == "incr":
        _body_redis().incr(BODY_KEY)
    tick()


def _body_redis() -> redis.Redis:
    client: redis.Redis | None = getattr(_body_local, "client", None)
    if client is None or getattr(_body_local, "pid", 0) != os.getpid():
        url = os.environ.get("BENCH_BODY_URL", DEFAULT_BODY_URL)
        client = redis.Redis.from_url(url)
        _body_local.client, _body_local.pid = client, os.getpid()
    return client


def tick() -> None:
    """Record one finished no-op job (its start and end are the same instant for a no-op)."""
    now = time.time()
    if _immediate():
        parent = os.getppid()
        key = f"{DRAIN_PREFIX}{parent}"
        pipe = _redis().pipeline(transaction=False)
        pipe.hincrby(key, "count", 1)
        pipe.hsetnx(key, "first", repr(now))
        pipe.hset(key, mapping={"last": repr(now), "pid": parent})
        pipe.execute()
        return
    global _owner_pid, _count, _first, _last
    with _lock:
        if _owner_pid != os.getpid():  # first job in this process (or we were forked)
            _owner_pid = os.getpid()
            _count, _first, _last = 0, now, now
            threading.Thread(
                target=_flush_loop, args=(_owner_pid,), name="bench-probe", daemon=True
            ).start()
        _count += 1
        _first = min(_first, now)
        _last = max(_last, now)


def _flush_loop(pid: int) -> None:
    key = f"{DRAIN_PREFIX}{pid}"
    sent = -1
    while os.getpid() == pid:
        time.sleep(FLUSH_INTERVAL)
        with _lock:
            count, first, last = _count, _first, _last
        if count == sent:
            continue
        try:
            _redis().hset(
                key, mapping={"count": count, "first": repr(first), "last": repr(last), "pid": pid}
            )
            sent = count
        except redis.RedisError:
            pass  # retried on the next interval


def record_start(sid: int) -> None:
    """Record that latency sample ``sid`` started running, right now."""
    now = time.time()
    _redis().lpush(LAT_KEY, f"{sid} {now!r}")


RUNS_KEY = "bench:runs"


def record_run(sid: int) -> None:
    """Record that a run of sample ``sid`` started, now, in this process (rescue timing)."""
    _redis().lpush(RUNS_KEY, f"{sid} {time.time()!r} {os.getpid()}")


# -- harness side --------------------------------------------------------------------------


@dataclass
class DrainState:
    count: int = 0
    first: float = 0.0
    last: float = 0.0
    pids: list[int] = field(default_factory=list)


def reset(client: redis.Redis) -> None:
    client.flushdb()


def read_drain(client: redis.Redis) -> DrainState:
    state = DrainState()
    firsts: list[float] = []
    lasts: list[float] = []
    for key in client.scan_iter(match=f"{DRAIN_PREFIX}*", count=1000):
        raw = client.hgetall(key)
        if not raw:
            continue
        values = {k.decode(): v.decode() for k, v in raw.items()}
        count = int(values.get("count", 0))
        if count <= 0:
            continue
        state.count += count
        firsts.append(float(values["first"]))
        lasts.append(float(values["last"]))
        state.pids.append(int(values["pid"]))
    if firsts:
        state.first, state.last = min(firsts), max(lasts)
    return state

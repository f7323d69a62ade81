"""PostgreSQL wake-ups: a waiter that LISTENs on a connection of its own."""

from __future__ import annotations

import os
import select
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import pq

from jobyard.errors import DatabaseError
from jobyard.store.base import Waiter
from jobyard.store.pg_util import CHANNEL, LISTEN_SQL

if TYPE_CHECKING:
    from jobyard.store.postgres import PostgresStore


class ListenWaiter(Waiter):
    """``LISTEN`` on a connection of its own; wakes for notifications naming its queues.

    ``close()`` may be called from another thread while ``wait()`` blocks: it returns at
    once. A dropped connection is reopened (and reported as a wake-up, since
    notifications may have been missed meanwhile)."""

    def __init__(self, store: PostgresStore, queues: Sequence[str]) -> None:
        self._store = store
        self._queues = frozenset(queues)
        self._lock = threading.Lock()
        self._closed = False
        self._waiting = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        try:
            self._conn: psycopg.Connection[Any] | None = self._listen()
        except BaseException:
            os.close(self._wake_r)
            os.close(self._wake_w)
            raise

    def _listen(self) -> psycopg.Connection[Any]:
        conn = self._store.open_connection()
        try:
            conn.execute(LISTEN_SQL)
        except BaseException:
            conn.close()
            raise
        return conn

    def _wanted(self, payload: str) -> bool:
        if payload == "*" or not self._queues:
            return True
        return any(q in self._queues for q in payload.split(","))

    def wait(self, timeout: float) -> bool:
        deadline = time.monotonic() + max(timeout, 0.0)
        with self._lock:
            if self._closed:
                return False
            self._waiting = True
        try:
            return self._wait(deadline)
        finally:
            with self._lock:
                self._waiting = False
                if self._closed:
                    self._release()

    def _wait(self, deadline: float) -> bool:
        while True:
            conn = self._conn
            if conn is None:
                try:
                    self._conn = self._listen()
                except DatabaseError:
                    self._sleep(deadline)
                    return False
                return True  # notifications sent while we were away are lost: look anyway
            try:
                if self._drain(conn.pgconn):
                    return True
            except psycopg.Error:
                conn.close()
                self._conn = None
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            poller = select.poll()
            poller.register(conn.pgconn.socket, select.POLLIN)
            poller.register(self._wake_r, select.POLLIN)
            events = poller.poll(remaining * 1000)
            if any(fd == self._wake_r for fd, _ in events):
                return False  # closed from another thread

    def _drain(self, pgconn: pq.abc.PGconn) -> bool:
        """Read what has arrived; True if a notification concerns our queues."""
        pgconn.consume_input()
        wanted = False
        while (note := pgconn.notifies()) is not None:
            if note.relname.decode() == CHANNEL and self._wanted(note.extra.decode()):
                wanted = True
        return wanted

    def _sleep(self, deadline: float) -> None:
        """Wait out the deadline (the database is unreachable), unless closed meanwhile."""
        remaining = deadline - time.monotonic()
        if remaining > 0:
            poller = select.poll()
            poller.register(self._wake_r, select.POLLIN)
            poller.poll(remaining * 1000)

    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._waiting:
                try:
                    os.write(self._wake_w, b"x")  # the waiting thread releases everything
                except OSError:
                    pass
                return
            self._release()

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass

"""A PostgreSQL restart under a live store (a private server: the shared one is never
touched): the first statement on each connection the restart broke is retried once on a
fresh connection where that is safe, and whatever fails says so as a DatabaseError."""

from __future__ import annotations

import psycopg
import pytest
from tests.contract.test_store_basics import job_row
from tests.faultpg import PrivatePostgres

from jobyard.errors import DatabaseError
from jobyard.joblog import read_log
from jobyard.store import JobFilter, Store, open_store

pytestmark = [pytest.mark.postgres]


def _stores(url: str, n: int) -> list[Store]:
    stores = [open_store(url) for _ in range(n)]
    for store in stores:  # each one now holds a live connection
        assert store.count_jobs(JobFilter()) == 0
    return stores


def test_the_first_statement_after_a_restart_works(private_pg: PrivatePostgres) -> None:
    url = private_pg.create_database("restart")
    read, write, txn, many = _stores(url, 4)
    private_pg.restart()  # "fast": every session ends with AdminShutdown
    try:
        assert read.count_jobs(JobFilter()) == 0
        (first,) = write.insert_jobs([job_row(write)])  # a write, outside a transaction
        with txn.transaction():  # BEGIN is the first statement
            (second,) = txn.insert_jobs([job_row(txn)])
        many.executemany("insert_log", [{**_log(first), "message": str(i)} for i in range(3)])
        assert read.count_jobs(JobFilter()) == 2
        assert [j.id for j in read.get_jobs([first, second])] == [first, second]
        assert len(read_log(read, first)) == 4  # "Job Submitted" and the three
    finally:
        for store in (read, write, txn, many):
            store.close()


def test_a_connection_lost_inside_a_transaction_is_a_database_error(
    private_pg: PrivatePostgres,
) -> None:
    url = private_pg.create_database("midway")
    (store,) = _stores(url, 1)
    try:
        with pytest.raises(DatabaseError) as caught, store.transaction():
            store.insert_jobs([job_row(store)])
            private_pg.restart()
            store.insert_jobs([job_row(store)])  # not retried: the first insert is lost
        assert isinstance(caught.value.__cause__, psycopg.OperationalError)
        assert str(caught.value).startswith(f"database {url!r}: ")
        assert store.count_jobs(JobFilter()) == 0  # the store goes on
    finally:
        store.close()


def test_a_crash_is_never_a_raw_driver_error(private_pg: PrivatePostgres) -> None:
    url = private_pg.create_database("crash")
    (store,) = _stores(url, 1)
    try:
        private_pg.restart("immediate")
        try:
            store.insert_jobs([job_row(store)])
        except DatabaseError:
            pass  # a write whose connection vanished may have committed: not retried
        count = store.count_jobs(JobFilter())
        assert count in (0, 1)
    finally:
        store.close()


def _log(job_id: int) -> dict[str, object]:
    return {"job_id": job_id, "time": 1.0, "run_id": None, "level": "info", "data": None}

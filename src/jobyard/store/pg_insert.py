"""PostgreSQL bulk writes: a plain INSERT run for many rows (pipelined, or its COPY form),
and new jobs — pipelined INSERTs for a few, COPY for many (ids drawn from the identity
sequence first, so they come back in the order of the rows), COPY of pre-formatted text
for rows alike but for their data (a bulk enqueue of one spec)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from jobyard.store.core import Result
from jobyard.store.pg_util import CopyPlan

COPY_MIN_ROWS = 50  # below this a pipelined executemany is as fast as COPY
JOB_IDS_SQL = "SELECT nextval(pg_get_serial_sequence('jobs', 'id')) FROM generate_series(1, %(n)s)"

Run = Callable[[Any, str, Mapping[str, Any]], Result]


def draw_ids(conn: Any, run: Run, n: int) -> list[int]:
    return sorted(int(r[0]) for r in run(conn, JOB_IDS_SQL, {"n": n}).fetchall())


def execute_many(
    conn: Any, sql: str, rows: Sequence[Mapping[str, Any]], plan: CopyPlan | None
) -> int:
    """Run ``sql`` for every row: pipelined (one round trip for all), or as ``plan``'s
    COPY; the number of rows written."""
    with conn.cursor() as cur:
        if plan is None:
            cur.executemany(sql, rows)
            return int(cur.rowcount)
        with cur.copy(plan.sql) as copy:
            for values in plan.rows(rows):
                copy.write_row(values)
        return len(rows)


def insert_many(
    conn: Any, run: Run, sql: str, rows: Sequence[Mapping[str, Any]], plan: CopyPlan | None
) -> list[int]:
    """Insert ``rows`` with the one-row INSERT ``sql`` (its COPY form ``plan``, if any, for
    many rows) in the caller's transaction; their ids in order."""
    if plan is None or len(rows) < COPY_MIN_ROWS:
        ids = []
        with conn.cursor() as cur:
            cur.executemany(sql, rows, returning=True)
            while True:
                ids.append(int(cur.fetchone()[0]))
                if not cur.nextset():
                    break
        return ids
    ids = draw_ids(conn, run, len(rows))
    with conn.cursor() as cur, cur.copy(_with_id(plan)) as copy:
        for job_id, values in zip(ids, plan.rows(rows), strict=True):
            values.insert(0, job_id)
            copy.write_row(values)
    return ids


def copy_shared(
    conn: Any, run: Run, plan: CopyPlan, base: Mapping[str, Any], datas: Sequence[str]
) -> list[int] | None:
    """COPY rows equal to ``base`` but for their ``data`` (caller's transaction); their ids
    in order, or None when a shared value has no plain text form (nothing inserted)."""
    ids = draw_ids(conn, run, len(datas))
    text = plan.text(ids, base, "data", datas)
    if text is None:
        return None
    with conn.cursor() as cur, cur.copy(_with_id(plan)) as copy:
        copy.write(text)
    return ids


def _with_id(plan: CopyPlan) -> str:
    return plan.sql.replace(" (", " (id, ", 1)

"""SQLite inserts of jobs: numbered here under the write lock (one ``max(id)`` lookup for
the batch, not one per row), bound by position (sqlite3 binds positions much faster than
names), or — for rows alike but for their data — one INSERT ... SELECT over ``json_each``
of the data texts, the shared values bound once."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any


class Inserts:
    """The statements of one store's named queries, prepared for bulk use."""

    def __init__(self, queries: Mapping[str, str]) -> None:
        insert = queries["insert_job"]
        named = insert[insert.index(":type,") :]
        self.one = insert
        self.values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = itemgetter(
            *re.findall(r":(\w+)", named)
        )
        self.numbered = (
            insert[: insert.index("VALUES (")] + "VALUES (?, " + re.sub(r":\w+", "?", named)
        )
        self.next_id = queries["next_job_id"]
        self.shared = queries["insert_jobs_shared"]

    def rows(self, conn: sqlite3.Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
        """Insert ``rows``: one alone is one statement (atomic in or out of a transaction);
        more need the caller's transaction. Their ids, in order."""
        if len(rows) == 1:
            cur = conn.execute(self.one, rows[0])
            return [int(cur.lastrowid or 0)]
        first = int(conn.execute(self.next_id).fetchone()[0])
        values = self.values
        conn.executemany(self.numbered, [(first + i, *values(r)) for i, r in enumerate(rows)])
        # Under the write lock each row took max(id) + 1: consecutive ids.
        last = int(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
        return list(range(last - len(rows) + 1, last + 1))

    def alike(
        self, conn: sqlite3.Connection, base: Mapping[str, Any], datas: Sequence[str]
    ) -> list[int]:
        """Insert rows equal to ``base`` but for their data (caller's transaction)."""
        first = int(conn.execute(self.next_id).fetchone()[0])
        conn.execute(self.shared, {**base, "first": first, "datas": json.dumps(datas)})
        return list(range(first, first + len(datas)))

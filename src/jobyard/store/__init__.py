"""The store seam: backends that keep jobs, logs, workers and types."""

from __future__ import annotations

from jobyard.i18n import _
from jobyard.store.base import JobFilter, Store


def open_store(url: str) -> Store:
    """Open the store named by a database URL (``sqlite:///...`` or ``postgresql://...``)."""
    from jobyard.errors import DatabaseError

    if url.startswith("sqlite:"):
        from jobyard.store.sqlite import SQLiteStore

        return SQLiteStore(url)
    if url.startswith(("postgresql:", "postgres:")):
        from jobyard.store.postgres import PostgresStore

        return PostgresStore(url)
    raise DatabaseError(
        _(
            "cannot open database {url!r}: unknown scheme; use sqlite:///path.db or "
            "postgresql://user@host:port/dbname",
            url=url,
        )
    )


__all__ = ["JobFilter", "Store", "open_store"]

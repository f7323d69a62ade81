"""The archive of finished jobs (migration 0022): retention moves finished jobs out of
``jobs`` into ``jobs_archive`` (:mod:`jobyard.retention`), so the table every claim and
outcome writes stays the size of what is alive and what finished lately. Readers see both
(:mod:`jobyard.store.jobs`); a locked read moves an archived job back first.

Each move is two statements in one transaction, the first locking the rows (PostgreSQL:
FOR UPDATE; SQLite: its single writer), so a job restarted meanwhile stays where it is and
no job is ever in both tables or in neither.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobyard.store.core import StoreCore


class ArchiveMixin(StoreCore):
    def archive(self, ids: Sequence[int]) -> int:
        """Move the finished ones of ``ids`` to the archive; how many moved."""
        if not ids:
            return 0
        param = {"ids": self.list_param(list(ids))}
        with self._atomic():
            moved = int(self.execute("archive_copy", param).rowcount)
            self.execute("archive_delete", param)
        return moved

    def unarchive(self, ids: Sequence[int]) -> int:
        """Move the archived ones of ``ids`` back to ``jobs``; how many moved."""
        if not ids:
            return 0
        param = {"ids": self.list_param(list(ids))}
        with self._atomic():
            moved = int(self.execute("unarchive_copy", param).rowcount)
            if moved:
                self.execute("unarchive_delete", param)
        return moved

    def archived_old(self, before: float, limit: int) -> list[int]:
        """Up to ``limit`` archived jobs that ended before ``before``, the oldest first."""
        rows = self.execute("archived_old", {"before": before, "limit": limit}).fetchall()
        return [int(r[0]) for r in rows]

    def archived_upto(self, upto: int, limit: int) -> list[int]:
        rows = self.execute("archived_upto", {"upto": upto, "limit": limit}).fetchall()
        return [int(r[0]) for r in rows]

    def delete_archived(self, ids: Sequence[int]) -> list[int]:
        """Delete archived jobs with their logs and dependencies (retention)."""
        if not ids:
            return []
        with self._atomic():
            cur = self.execute("archived_delete", {"ids": self.list_param(list(ids))})
            gone = [int(r[0]) for r in cur.fetchall()]
            if gone:
                self.execute("delete_deps", {"ids": self.list_param(gone)})
                self.execute("delete_logs", {"ids": self.list_param(gone)})
        return gone

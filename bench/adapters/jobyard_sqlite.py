"""jobyard on SQLite (a file under /tmp/jobyard-bench)."""

from __future__ import annotations

import shutil

from adapters._jobyard import JobyardAdapter


class JobyardSqliteAdapter(JobyardAdapter):
    name = "jobyard-sqlite"
    label = "jobyard (SQLite)"
    backend = "sqlite"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.cfg.tmp_dir / 'bench.db'}"

    def wipe_database(self) -> None:
        self.cfg.tmp_dir.mkdir(parents=True, exist_ok=True)
        for path in self.cfg.tmp_dir.glob("bench.db*"):  # .db, -wal, -shm, .wake/, ...
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()

"""jobyard on PostgreSQL (database bench_jobyard)."""

from __future__ import annotations

from common import recreate_pg_database

from adapters._jobyard import JobyardAdapter

DATABASE = "bench_jobyard"


class JobyardPostgresAdapter(JobyardAdapter):
    name = "jobyard-postgres"
    label = "jobyard (PostgreSQL)"
    backend = "postgresql"

    @property
    def url(self) -> str:
        return self.cfg.pg_url(DATABASE)

    def wipe_database(self) -> None:
        recreate_pg_database(self.cfg, DATABASE)

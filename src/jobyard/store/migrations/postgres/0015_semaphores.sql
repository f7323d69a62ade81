-- Semaphores (issue #12; jobyard.semaphores, docs/semaphores.md). A job's needs are a JSON
-- list ("db", "db:read", "db:write", "@site=N", "@site/jobset=N"); `gated` says it has
-- some, so the plain claim leaves it to the admission step and that step finds the gated
-- ready jobs through an index of their own. The definitions (count, scope) live here so
-- that every worker and the server obey the same numbers.
ALTER TABLE jobs ADD COLUMN semaphores JSON NOT NULL DEFAULT '[]';
ALTER TABLE jobs ADD COLUMN gated INTEGER NOT NULL DEFAULT 0;
CREATE INDEX jobs_gated ON jobs (queue, priority, after, id) WHERE status = 'ready' AND gated = 1;
CREATE INDEX jobs_gated_running ON jobs (id) WHERE status = 'running' AND gated = 1;
CREATE TABLE semaphores (
    name TEXT PRIMARY KEY,
    count INTEGER NOT NULL,
    scope TEXT NOT NULL DEFAULT 'global',
    updated DOUBLE PRECISION NOT NULL
);

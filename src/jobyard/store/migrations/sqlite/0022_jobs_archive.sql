-- Finished jobs that retention moves out of `jobs` ([retention] archive_hours): see the
-- PostgreSQL migration of this number for why. SQLite appends new rows at the end of its
-- b-tree and does not need it to stay fast, but both dialects keep one schema and one
-- policy. Same columns in the same order as `jobs` (rows move with SELECT *): a migration
-- that adds a column to `jobs` adds it here too.
CREATE TABLE jobs_archive (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    queue TEXT NOT NULL,
    status TEXT NOT NULL,
    priority INTEGER NOT NULL,
    data TEXT NOT NULL,
    props TEXT NOT NULL,
    result TEXT NOT NULL,
    progress_completed REAL NOT NULL,
    progress_total REAL NOT NULL,
    attempts INTEGER NOT NULL,
    retries INTEGER NOT NULL,
    retry_limit INTEGER NOT NULL,
    retry_wait REAL NOT NULL,
    retry_backoff TEXT NOT NULL,
    retry_until REAL,
    repeats INTEGER NOT NULL,
    repeated INTEGER NOT NULL,
    repeat_wait REAL,
    repeat_schedule TEXT,
    repeat_timezone TEXT,
    repeat_until REAL,
    after REAL NOT NULL,
    depends TEXT NOT NULL,
    resolved TEXT NOT NULL,
    pending INTEGER NOT NULL,
    has_dependents INTEGER NOT NULL,
    jobset INTEGER,
    site TEXT,
    worker TEXT,
    run_id TEXT,
    lease_expires REAL,
    timeout REAL,
    interruptions INTEGER NOT NULL,
    failures TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    started REAL,
    finished REAL,
    semaphores TEXT NOT NULL,
    gated INTEGER NOT NULL
);
CREATE INDEX jobs_archive_finished ON jobs_archive (finished, id);
CREATE INDEX jobs_archive_completed ON jobs_archive (id) WHERE status = 'completed';
CREATE INDEX jobs_archive_failed ON jobs_archive (id) WHERE status = 'failed';
CREATE INDEX jobs_archive_cancelled ON jobs_archive (id) WHERE status = 'cancelled';
CREATE INDEX jobs_archive_jobset ON jobs_archive (jobset, status) WHERE jobset IS NOT NULL;

-- A job moving back from the archive is not a new job: no job.created, and its jobset is
-- not reopened. (Moving back inserts the row before it deletes the archived one; a row
-- inserted unfinished is always new, and the check stops there.)
DROP TRIGGER job_created;
CREATE TRIGGER job_created AFTER INSERT ON jobs
WHEN NEW.status NOT IN ('completed', 'failed', 'cancelled')
  OR NOT EXISTS (SELECT 1 FROM jobs_archive a WHERE a.id = NEW.id)
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    VALUES (NEW.created, 'job.created', NEW.id, NEW.type, NEW.queue, NEW.status);
END;

DROP TRIGGER jobset_joined;
CREATE TRIGGER jobset_joined AFTER INSERT ON jobs
WHEN NEW.jobset IS NOT NULL
  AND (NEW.status NOT IN ('completed', 'failed', 'cancelled')
       OR NOT EXISTS (SELECT 1 FROM jobs_archive a WHERE a.id = NEW.id))
BEGIN
    DELETE FROM jobset_finished WHERE jobset = NEW.jobset;
END;

-- A jobset's summary counts its archived jobs too (all finished: the "is anything
-- unfinished?" check needs `jobs` alone).
DROP TRIGGER jobset_finished_event;
CREATE TRIGGER jobset_finished_event AFTER UPDATE OF status ON jobs
WHEN NEW.jobset IS NOT NULL
  AND NEW.status IN ('completed', 'failed', 'cancelled')
  AND OLD.status <> NEW.status
  AND NOT EXISTS (
      SELECT 1 FROM jobs j WHERE j.jobset = NEW.jobset
        AND j.status IN ('waiting', 'ready', 'running', 'paused'))
  AND NOT EXISTS (SELECT 1 FROM jobset_finished f WHERE f.jobset = NEW.jobset)
BEGIN
    INSERT INTO jobset_finished (jobset, time) VALUES (NEW.jobset, NEW.updated);
    INSERT INTO job_events (time, name, job_id, type, queue, status, data)
    SELECT NEW.updated, 'jobset.finished', NEW.id, NEW.type, NEW.queue,
        CASE WHEN s.failed > 0 THEN 'failed'
             WHEN s.cancelled > 0 THEN 'cancelled' ELSE 'completed' END,
        json_object(
            'jobset', NEW.jobset, 'total', s.total, 'completed', s.completed,
            'failed', s.failed, 'cancelled', s.cancelled,
            'jobs', (SELECT json_group_object(id, status) FROM (
                SELECT id, status FROM jobs WHERE jobset = NEW.jobset
                UNION ALL SELECT id, status FROM jobs_archive WHERE jobset = NEW.jobset
                ORDER BY id LIMIT 1000)))
    FROM (
        SELECT count(*) AS total,
            coalesce(sum(status = 'completed'), 0) AS completed,
            coalesce(sum(status = 'failed'), 0) AS failed,
            coalesce(sum(status = 'cancelled'), 0) AS cancelled
        FROM (
            SELECT status FROM jobs WHERE jobset = NEW.jobset
            UNION ALL SELECT status FROM jobs_archive WHERE jobset = NEW.jobset
        )
    ) s;
END;

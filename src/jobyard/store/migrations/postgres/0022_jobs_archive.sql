-- Finished jobs that retention moves out of `jobs` ([retention] archive_hours,
-- jobyard.retention): `jobs` then holds what is alive and what finished lately, so its
-- pages and indexes stay the size of that. PostgreSQL puts new rows and new row versions
-- into any page its free space map names: in a table of millions of old rows that is one
-- old page per row, read and dirtied (docs/benchmarks.md, "A big history"). The archive
-- gets rows only by the retention pass, in chunks, and loses them only by its prune.
-- Readers see both tables (jobyard.store.jobs); a locked read moves an archived job back
-- first, so every change of a job is made in `jobs`.
-- Same columns in the same order as `jobs` (rows move with SELECT *): a migration that
-- adds a column to `jobs` adds it here too.
CREATE TABLE jobs_archive (LIKE jobs INCLUDING DEFAULTS);
ALTER TABLE jobs_archive ADD PRIMARY KEY (id);
CREATE INDEX jobs_archive_finished ON jobs_archive (finished, id);
CREATE INDEX jobs_archive_completed ON jobs_archive (id) WHERE status = 'completed';
CREATE INDEX jobs_archive_failed ON jobs_archive (id) WHERE status = 'failed';
CREATE INDEX jobs_archive_cancelled ON jobs_archive (id) WHERE status = 'cancelled';
CREATE INDEX jobs_archive_jobset ON jobs_archive (jobset, status) WHERE jobset IS NOT NULL;

-- A job moving back from the archive is not a new job: no job.created for it. (Moving back
-- inserts the row before it deletes the archived one, so the trigger still sees that. A
-- row inserted unfinished is always new: archived jobs are finished.)
CREATE OR REPLACE FUNCTION job_created_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    SELECT n.created, 'job.created', n.id, n.type, n.queue, n.status FROM new_jobs n
    WHERE n.status NOT IN ('completed', 'failed', 'cancelled')
       OR NOT EXISTS (SELECT 1 FROM jobs_archive a WHERE a.id = n.id)
    ORDER BY n.id;
    RETURN NULL;
END $$;

-- Nor does it reopen its jobset.
CREATE OR REPLACE FUNCTION jobset_reopened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' AND NEW.status IN ('completed', 'failed', 'cancelled')
       AND EXISTS (SELECT 1 FROM jobs_archive a WHERE a.id = NEW.id) THEN
        RETURN NULL;
    END IF;
    DELETE FROM jobset_finished WHERE jobset = NEW.jobset;
    RETURN NULL;
END $$;

-- A jobset's summary counts its archived jobs too (they are all finished, so the "is
-- anything unfinished?" check needs `jobs` alone).
CREATE OR REPLACE FUNCTION jobset_finished_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s RECORD;
BEGIN
    PERFORM pg_advisory_xact_lock(7431, hashtext(NEW.jobset::text));
    IF EXISTS (SELECT 1 FROM jobs j WHERE j.jobset = NEW.jobset
               AND j.status IN ('waiting', 'ready', 'running', 'paused')) THEN
        RETURN NULL;
    END IF;
    INSERT INTO jobset_finished (jobset, time) VALUES (NEW.jobset, NEW.updated)
    ON CONFLICT (jobset) DO NOTHING;
    IF NOT FOUND THEN  -- announced already (by another row of this transaction, or before)
        RETURN NULL;
    END IF;
    SELECT count(*) AS total,
        count(*) FILTER (WHERE status = 'completed') AS completed,
        count(*) FILTER (WHERE status = 'failed') AS failed,
        count(*) FILTER (WHERE status = 'cancelled') AS cancelled
    INTO s FROM (
        SELECT status FROM jobs WHERE jobset = NEW.jobset
        UNION ALL SELECT status FROM jobs_archive WHERE jobset = NEW.jobset
    ) m;
    INSERT INTO job_events (time, name, job_id, type, queue, status, data)
    VALUES (
        NEW.updated, 'jobset.finished', NEW.id, NEW.type, NEW.queue,
        CASE WHEN s.failed > 0 THEN 'failed'
             WHEN s.cancelled > 0 THEN 'cancelled' ELSE 'completed' END,
        json_build_object(
            'jobset', NEW.jobset, 'total', s.total, 'completed', s.completed,
            'failed', s.failed, 'cancelled', s.cancelled,
            'jobs', (SELECT coalesce(json_object_agg(id, status), '{}'::json) FROM (
                SELECT id, status FROM jobs WHERE jobset = NEW.jobset
                UNION ALL SELECT id, status FROM jobs_archive WHERE jobset = NEW.jobset
                ORDER BY id LIMIT 1000
            ) f))
    );
    RETURN NULL;
END $$;

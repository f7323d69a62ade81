-- jobset.finished (docs/events.md): one event when the last unfinished job of a jobset
-- ends, naming each job's outcome; see the SQLite migration of the same number for the
-- marker table. PostgreSQL runs transactions side by side: two that finish a jobset's last
-- two jobs would each see the other's job still running and neither would announce it.
-- So the check runs at commit (a deferred trigger) under a per-jobset advisory lock: the
-- second to commit waits for the first, then sees its outcome. Taken at commit, the lock
-- is the last thing the transaction asks for, so it cannot be part of a deadlock.
CREATE TABLE jobset_finished (
    jobset BIGINT PRIMARY KEY,
    time DOUBLE PRECISION NOT NULL
);

DROP INDEX jobs_jobset;
CREATE INDEX jobs_jobset_status ON jobs (jobset, status) WHERE jobset IS NOT NULL;

CREATE FUNCTION jobset_finished_event() RETURNS trigger LANGUAGE plpgsql AS $$
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
    INTO s FROM jobs WHERE jobset = NEW.jobset;
    INSERT INTO job_events (time, name, job_id, type, queue, status, data)
    VALUES (
        NEW.updated, 'jobset.finished', NEW.id, NEW.type, NEW.queue,
        CASE WHEN s.failed > 0 THEN 'failed'
             WHEN s.cancelled > 0 THEN 'cancelled' ELSE 'completed' END,
        json_build_object(
            'jobset', NEW.jobset, 'total', s.total, 'completed', s.completed,
            'failed', s.failed, 'cancelled', s.cancelled,
            'jobs', (SELECT coalesce(json_object_agg(id, status), '{}'::json) FROM (
                SELECT id, status FROM jobs WHERE jobset = NEW.jobset ORDER BY id LIMIT 1000
            ) f))
    );
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER jobset_finished_event AFTER UPDATE OF status ON jobs
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW
WHEN (NEW.jobset IS NOT NULL
      AND NEW.status IN ('completed', 'failed', 'cancelled')
      AND OLD.status IS DISTINCT FROM NEW.status)
EXECUTE FUNCTION jobset_finished_event();

CREATE FUNCTION jobset_reopened() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM jobset_finished WHERE jobset = NEW.jobset;
    RETURN NULL;
END $$;

CREATE TRIGGER jobset_reopened AFTER UPDATE OF status ON jobs
FOR EACH ROW
WHEN (NEW.jobset IS NOT NULL
      AND OLD.status IN ('completed', 'failed', 'cancelled')
      AND NEW.status NOT IN ('completed', 'failed', 'cancelled'))
EXECUTE FUNCTION jobset_reopened();

CREATE TRIGGER jobset_joined AFTER INSERT ON jobs
FOR EACH ROW WHEN (NEW.jobset IS NOT NULL)
EXECUTE FUNCTION jobset_reopened();

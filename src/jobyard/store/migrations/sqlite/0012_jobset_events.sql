-- jobset.finished (docs/events.md): one event when the last unfinished job of a jobset
-- ends, naming each job's outcome. A jobset that finished is marked, so a second row of the
-- same statement (a bulk cancel) does not announce it again; a job of it that starts over
-- (restart, rerun) or joins it later reopens it, and its next finish is announced again.
-- SQLite has one writer at a time: the check below sees every committed and uncommitted
-- change of the only transaction there is.
CREATE TABLE jobset_finished (
    jobset INTEGER PRIMARY KEY,
    time REAL NOT NULL
);

DROP INDEX jobs_jobset;
-- "is anything of this jobset unfinished?" on every finish of one of its jobs: a seek,
-- not a scan of the jobset (big batches finish one job at a time).
CREATE INDEX jobs_jobset_status ON jobs (jobset, status) WHERE jobset IS NOT NULL;

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
                SELECT id, status FROM jobs WHERE jobset = NEW.jobset ORDER BY id LIMIT 1000)))
    FROM (
        SELECT count(*) AS total,
            coalesce(sum(status = 'completed'), 0) AS completed,
            coalesce(sum(status = 'failed'), 0) AS failed,
            coalesce(sum(status = 'cancelled'), 0) AS cancelled
        FROM jobs WHERE jobset = NEW.jobset
    ) s;
END;

CREATE TRIGGER jobset_reopened AFTER UPDATE OF status ON jobs
WHEN NEW.jobset IS NOT NULL
  AND OLD.status IN ('completed', 'failed', 'cancelled')
  AND NEW.status NOT IN ('completed', 'failed', 'cancelled')
BEGIN
    DELETE FROM jobset_finished WHERE jobset = NEW.jobset;
END;

CREATE TRIGGER jobset_joined AFTER INSERT ON jobs
WHEN NEW.jobset IS NOT NULL
BEGIN
    DELETE FROM jobset_finished WHERE jobset = NEW.jobset;
END;

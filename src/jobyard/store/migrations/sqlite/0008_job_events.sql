-- Transition events (docs/events.md): every status change someone may subscribe to, and
-- throttled progress, as rows written by triggers in the transition's own transaction, so
-- every path that changes a job (claim, outcome, rescue, manage) records them once, and an
-- event exists if and only if its transition committed. Readers (jobyard.feed) go by id:
-- SQLite has one writer at a time, so ids are handed out in commit order.
CREATE TABLE job_events (
    id INTEGER PRIMARY KEY,
    time REAL NOT NULL,
    name TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    queue TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT 'null'
);

-- When a job last got a progress event: at most one a second per job. Marks older than an
-- hour say nothing any more; each progress event prunes them (off the claim/outcome path).
CREATE TABLE job_progress_marks (
    job_id INTEGER PRIMARY KEY,
    time REAL NOT NULL
);
CREATE INDEX job_progress_marks_time ON job_progress_marks (time);

-- One trigger per kind of transition, each with a narrow WHEN: a claim or an outcome runs
-- only its own trigger's body (measured: bench/transitions.py). waiting <-> ready
-- (promotion, retry delays) is bookkeeping, not a transition to announce. The time is the
-- row's "updated", the caller's clock, like every other time column.
CREATE TRIGGER job_events_started AFTER UPDATE OF status ON jobs
WHEN NEW.status = 'running' AND OLD.status <> 'running'
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    VALUES (NEW.updated, 'job.started', NEW.id, NEW.type, NEW.queue, NEW.status);
END;

CREATE TRIGGER job_events_ended AFTER UPDATE OF status ON jobs
WHEN NEW.status IN ('completed', 'cancelled', 'paused') AND OLD.status <> NEW.status
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    VALUES (NEW.updated, 'job.' || NEW.status, NEW.id, NEW.type, NEW.queue, NEW.status);
END;

-- A run that ended badly: failed for good, retrying (a failure recorded), or handed back.
CREATE TRIGGER job_events_failed AFTER UPDATE OF status ON jobs
WHEN OLD.status = 'running' AND NEW.status IN ('failed', 'waiting', 'ready')
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status, data)
    SELECT NEW.updated,
        CASE WHEN NEW.status = 'failed' THEN 'job.failed'
             WHEN failed THEN 'job.retrying' ELSE 'job.requeued' END,
        NEW.id, NEW.type, NEW.queue, NEW.status,
        CASE WHEN failed THEN json_object('error', json_extract(NEW.failures, '$[#-1].error'))
             ELSE 'null' END
    FROM (SELECT json_array_length(NEW.failures) > json_array_length(OLD.failures) AS failed);
END;

CREATE TRIGGER job_events_back AFTER UPDATE OF status ON jobs
WHEN OLD.status IN ('paused', 'completed', 'failed', 'cancelled')
  AND NEW.status IN ('waiting', 'ready')
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    VALUES (NEW.updated, CASE WHEN OLD.status = 'paused' THEN 'job.resumed' ELSE 'job.restarted' END,
        NEW.id, NEW.type, NEW.queue, NEW.status);
END;

CREATE TRIGGER job_events_progress AFTER UPDATE OF progress_completed, progress_total ON jobs
WHEN NEW.status = 'running'
  AND (OLD.progress_completed IS NOT NEW.progress_completed
       OR OLD.progress_total IS NOT NEW.progress_total)
  AND NOT EXISTS (
      SELECT 1 FROM job_progress_marks m
      WHERE m.job_id = NEW.id AND m.time > NEW.updated - 1.0)
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status, data)
    VALUES (
        NEW.updated, 'job.progress',
        NEW.id, NEW.type, NEW.queue, NEW.status,
        json_object('completed', NEW.progress_completed, 'total', NEW.progress_total)
    );
    INSERT INTO job_progress_marks (job_id, time)
    VALUES (NEW.id, NEW.updated)
    ON CONFLICT (job_id) DO UPDATE SET time = excluded.time;
    DELETE FROM job_progress_marks WHERE time < NEW.updated - 3600;
END;

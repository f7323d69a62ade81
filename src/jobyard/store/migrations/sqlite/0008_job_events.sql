-- Transition events (docs/events.md): every status change someone may subscribe to, and
-- throttled progress, as rows written by triggers in the transition's own transaction, so
-- every path that changes a job (claim, outcome, rescue, manage) records them once, and an
-- event exists if and only if its transition committed. Readers (jobyard.feed) go by id:
-- SQLite has one writer at a time, so ids are handed out in commit order.
CREATE TABLE job_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time REAL NOT NULL,
    name TEXT NOT NULL,
    job_id INTEGER NOT NULL,
    type TEXT NOT NULL,
    queue TEXT NOT NULL,
    status TEXT NOT NULL,
    data TEXT NOT NULL DEFAULT 'null'
);

-- When a job last got a progress event: at most one a second per job.
CREATE TABLE job_progress_marks (
    job_id INTEGER PRIMARY KEY,
    time REAL NOT NULL
);

-- waiting <-> ready (promotion, retry delays) is bookkeeping, not a transition to announce.
CREATE TRIGGER job_events_status AFTER UPDATE OF status ON jobs
WHEN OLD.status IS NOT NEW.status
  AND NOT (OLD.status IN ('waiting', 'ready') AND NEW.status IN ('waiting', 'ready'))
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status, data)
    VALUES (
        (julianday('now') - 2440587.5) * 86400.0,
        CASE
            WHEN NEW.status = 'running' THEN 'job.started'
            WHEN NEW.status IN ('completed', 'failed', 'cancelled', 'paused')
                THEN 'job.' || NEW.status
            WHEN OLD.status = 'paused' THEN 'job.resumed'
            WHEN OLD.status = 'running'
                AND json_array_length(NEW.failures) > json_array_length(OLD.failures)
                THEN 'job.retrying'
            WHEN OLD.status = 'running' THEN 'job.requeued'
            ELSE 'job.restarted'
        END,
        NEW.id, NEW.type, NEW.queue, NEW.status,
        CASE
            WHEN NEW.status = 'running' THEN json_object('worker', NEW.worker, 'attempt', NEW.attempts)
            WHEN NEW.status IN ('failed', 'waiting', 'ready')
                AND json_array_length(NEW.failures) > json_array_length(OLD.failures)
                THEN json_object('error', json_extract(NEW.failures, '$[#-1].error'))
            ELSE 'null'
        END
    );
END;

CREATE TRIGGER job_events_progress AFTER UPDATE OF progress_completed, progress_total ON jobs
WHEN NEW.status = 'running'
  AND (OLD.progress_completed IS NOT NEW.progress_completed
       OR OLD.progress_total IS NOT NEW.progress_total)
  AND NOT EXISTS (
      SELECT 1 FROM job_progress_marks m
      WHERE m.job_id = NEW.id AND m.time > (julianday('now') - 2440587.5) * 86400.0 - 1.0)
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status, data)
    VALUES (
        (julianday('now') - 2440587.5) * 86400.0, 'job.progress',
        NEW.id, NEW.type, NEW.queue, NEW.status,
        json_object('completed', NEW.progress_completed, 'total', NEW.progress_total)
    );
    INSERT INTO job_progress_marks (job_id, time)
    VALUES (NEW.id, (julianday('now') - 2440587.5) * 86400.0)
    ON CONFLICT (job_id) DO UPDATE SET time = excluded.time;
END;

-- A job that reported progress drops its mark when it finishes (the mark table stays small).
CREATE TRIGGER job_events_progress_done AFTER UPDATE OF status ON jobs
WHEN NEW.status IN ('completed', 'failed', 'cancelled') AND NEW.progress_completed <> 0
BEGIN
    DELETE FROM job_progress_marks WHERE job_id = NEW.id;
END;

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

-- One trigger for every status change, as plain as can be: measured with
-- bench/transitions.py, each extra trigger and each computed column (the error of a failure
-- was one: about 10%) costs every claim and outcome. The event says what happened; the job
-- row has the rest (its result, failures, worker). waiting <-> ready (promotion, retry
-- delays) is bookkeeping, not a transition to announce. A run ended without a failure
-- (handed back at shutdown) gives its attempt back: attempts went down; one whose lease
-- expired counts an interruption, not a failure (manage.rescue_expired). The time is the
-- row's "updated", the caller's clock, like every other time column.
CREATE TRIGGER job_events_status AFTER UPDATE OF status ON jobs
WHEN OLD.status <> NEW.status
  AND NOT (OLD.status IN ('waiting', 'ready') AND NEW.status IN ('waiting', 'ready'))
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    VALUES (
        NEW.updated,
        CASE
            WHEN NEW.status = 'running' THEN 'job.started'
            WHEN NEW.status = 'completed' THEN 'job.completed'
            WHEN NEW.status = 'failed' THEN 'job.failed'
            WHEN NEW.status = 'cancelled' THEN 'job.cancelled'
            WHEN NEW.status = 'paused' THEN 'job.paused'
            WHEN OLD.status = 'paused' THEN 'job.resumed'
            WHEN OLD.status <> 'running' THEN 'job.restarted'
            WHEN NEW.attempts < OLD.attempts THEN 'job.requeued'
            WHEN NEW.interruptions > OLD.interruptions THEN 'job.interrupted'
            ELSE 'job.retrying'
        END,
        NEW.id, NEW.type, NEW.queue, NEW.status
    );
END;

-- OF progress_total: set_progress sets it, an outcome (progress_completed = total) does not,
-- so outcomes never run this trigger.
CREATE TRIGGER job_events_progress AFTER UPDATE OF progress_total ON jobs
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

-- job.created (docs/events.md) from a trigger on SQLite: the engine runs it inside the
-- insert's own statement, so a single enqueue stays one statement (atomic on its own, no
-- BEGIN/COMMIT round of its own) and a bulk enqueue pays no second pass over its rows.
-- PostgreSQL writes them from a statement-level trigger instead (its migration 0019):
-- there a row-level trigger would cost every row of a COPY a PL/pgSQL call.
CREATE TRIGGER job_created AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    VALUES (NEW.created, 'job.created', NEW.id, NEW.type, NEW.queue, NEW.status);
END;

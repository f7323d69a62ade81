-- job.created (docs/events.md) from a statement-level trigger with a transition table: one
-- INSERT ... SELECT per statement (a COPY of a bulk enqueue included), run inside the
-- server, instead of the client building and sending a second COPY of event rows. A
-- row-level trigger would cost each row a PL/pgSQL call; this costs each statement one.
CREATE FUNCTION job_created_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (time, name, job_id, type, queue, status)
    SELECT n.created, 'job.created', n.id, n.type, n.queue, n.status FROM new_jobs n ORDER BY n.id;
    RETURN NULL;
END $$;

CREATE TRIGGER job_created AFTER INSERT ON jobs
REFERENCING NEW TABLE AS new_jobs
FOR EACH STATEMENT EXECUTE FUNCTION job_created_events();

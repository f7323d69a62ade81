-- Semaphores held by a jobset, and held around a single call (issue #12 item 2;
-- jobyard.callholds, docs/semaphores.md). `holder` says who takes a slot: each running
-- job ('job') or a jobset for all its running jobs ('jobset'). A call hold
-- (`with job.semaphore("db"):`) is a row tied to its job and run id: it counts only while
-- that job runs under that run, so a run that ends (any outcome, a rescue) frees it
-- without a cleanup; `granted` = 0 is a call still waiting for its slot.
ALTER TABLE semaphores ADD COLUMN holder TEXT NOT NULL DEFAULT 'job';
CREATE TABLE semaphore_holds (
    token TEXT PRIMARY KEY,
    job_id BIGINT NOT NULL,
    run_id TEXT NOT NULL,
    name TEXT NOT NULL,
    mode TEXT NOT NULL DEFAULT '',
    granted INTEGER NOT NULL DEFAULT 0,
    since DOUBLE PRECISION NOT NULL
);
CREATE INDEX semaphore_holds_job ON semaphore_holds (job_id);

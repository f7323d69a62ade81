-- Cron ticks: one row per (type, tick) ever fired, tick in whole epoch seconds. The primary
-- key is what lets any number of schedulers run: the tick row and its job are inserted in
-- one transaction, and a scheduler whose insert is ignored creates no job.
CREATE TABLE schedule_ticks (
    type TEXT NOT NULL,
    tick INTEGER NOT NULL,
    job_id INTEGER,
    created REAL NOT NULL,
    PRIMARY KEY (type, tick)
);

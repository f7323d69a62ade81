-- Mutex script types: a run starts only once it holds its type's row here (taken in
-- jobyard.scripts.loader through Store.take_type_lock). The primary key makes the database,
-- not the workers' clocks, decide between two runs that start together. A row stays held
-- while its job still runs that run; a finished, rescued or cancelled holder frees it.
CREATE TABLE type_locks (
    type TEXT PRIMARY KEY,
    job_id INTEGER NOT NULL,
    run_id TEXT NOT NULL,
    taken REAL NOT NULL
);

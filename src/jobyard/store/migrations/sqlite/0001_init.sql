-- No AUTOINCREMENT (its counter is one more page written per insert): new ids are
-- max(jobs, job_tombstones) + 1, so the id of a removed job is never handed out again.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    queue TEXT NOT NULL DEFAULT 'default',
    status TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL DEFAULT 'null',
    props TEXT NOT NULL DEFAULT '{}',
    result TEXT NOT NULL DEFAULT 'null',
    progress_completed REAL NOT NULL DEFAULT 0,
    progress_total REAL NOT NULL DEFAULT 100,
    attempts INTEGER NOT NULL DEFAULT 0,
    retries INTEGER NOT NULL DEFAULT 0,
    retry_limit INTEGER NOT NULL DEFAULT 0,
    retry_wait REAL NOT NULL DEFAULT 5,
    retry_backoff TEXT NOT NULL DEFAULT 'constant',
    retry_until REAL,
    repeats INTEGER NOT NULL DEFAULT 0,
    repeated INTEGER NOT NULL DEFAULT 0,
    repeat_wait REAL,
    repeat_schedule TEXT,
    repeat_timezone TEXT,
    repeat_until REAL,
    after REAL NOT NULL DEFAULT 0,
    depends TEXT NOT NULL DEFAULT '[]',
    resolved TEXT NOT NULL DEFAULT '[]',
    pending INTEGER NOT NULL DEFAULT 0,
    has_dependents INTEGER NOT NULL DEFAULT 0,
    jobset INTEGER,
    site TEXT,
    worker TEXT,
    run_id TEXT,
    lease_expires REAL,
    timeout REAL,
    interruptions INTEGER NOT NULL DEFAULT 0,
    failures TEXT NOT NULL DEFAULT '[]',
    created REAL NOT NULL,
    updated REAL NOT NULL,
    started REAL,
    finished REAL
);
CREATE INDEX jobs_ready ON jobs (queue, priority, after, id) WHERE status = 'ready';
CREATE INDEX jobs_waiting ON jobs (after) WHERE status = 'waiting';
CREATE INDEX jobs_running ON jobs (lease_expires) WHERE status = 'running';
-- Lookups by status use partial indexes: an insert touches only jobs_ready, and each
-- change of status only the indexes of the statuses it leaves and enters.
CREATE INDEX jobs_completed ON jobs (id) WHERE status = 'completed';
CREATE INDEX jobs_failed ON jobs (id) WHERE status = 'failed';
CREATE INDEX jobs_cancelled ON jobs (id) WHERE status = 'cancelled';
CREATE INDEX jobs_paused ON jobs (id) WHERE status = 'paused';
CREATE INDEX jobs_jobset ON jobs (jobset) WHERE jobset IS NOT NULL;

CREATE TABLE job_deps (
    job_id INTEGER NOT NULL,
    dep_id INTEGER NOT NULL,
    PRIMARY KEY (job_id, dep_id)
);
CREATE INDEX job_deps_dep ON job_deps (dep_id);

CREATE TABLE job_logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL,
    time REAL NOT NULL,
    run_id TEXT,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    data TEXT
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);

CREATE TABLE workers (
    name TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    queues TEXT NOT NULL,
    concurrency INTEGER NOT NULL,
    started REAL NOT NULL,
    heartbeat REAL NOT NULL,
    running TEXT NOT NULL DEFAULT '[]',
    status TEXT NOT NULL DEFAULT 'running'
);

CREATE TABLE job_types (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL DEFAULT 'python',
    enabled INTEGER NOT NULL DEFAULT 1,
    meta TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL,
    updated REAL NOT NULL
);

CREATE TABLE job_tombstones (
    id INTEGER PRIMARY KEY,
    removed REAL NOT NULL
);


-- Jobsets: jobs created together (a converge graph, an AnyJob jobset, a batch over sites),
-- and the key/value storage their jobs share (``job.shared``). Values are JSON text.
-- No foreign keys: a job may name a jobset id that has no row (enqueue(jobset=N)), and
-- its storage still works.
CREATE TABLE jobsets (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    meta TEXT NOT NULL DEFAULT '{}',
    created REAL NOT NULL
);

CREATE TABLE jobset_kv (
    jobset INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL DEFAULT 'null',
    updated REAL NOT NULL,
    PRIMARY KEY (jobset, key)
);

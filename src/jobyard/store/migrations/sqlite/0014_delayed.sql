-- Delayed works (AnyJob; jobyard.delayed): a saved job creation that runs at a time or on a
-- crontab. Each firing is a tick of the schedule_ticks table under "delayed:ID", so several
-- schedulers fire each tick once. `skip`: how many coming ticks to pass over.
CREATE TABLE delayed_works (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    nodes TEXT NOT NULL DEFAULT '[]',
    data TEXT NOT NULL DEFAULT 'null',
    props TEXT NOT NULL DEFAULT '{}',
    at REAL,
    cron TEXT,
    timezone TEXT,
    skip INTEGER NOT NULL DEFAULT 0,
    paused INTEGER NOT NULL DEFAULT 0,
    done INTEGER NOT NULL DEFAULT 0,
    fired INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
);

-- Observers (docs/observers.md): each observer's cursor into job_events, held by one process
-- at a time (owner + lease, so two schedulers never deliver the same observer), and every
-- delivery it attempted, keyed by (observer, event): the row says "sent" before the cursor
-- moves past the event, so a restart never sends it again.
CREATE TABLE observer_state (
    name TEXT PRIMARY KEY,
    cursor INTEGER NOT NULL,
    owner TEXT,
    lease_until REAL,
    updated REAL NOT NULL
);

CREATE TABLE observer_deliveries (
    observer TEXT NOT NULL,
    event_id INTEGER NOT NULL,
    job_id INTEGER,
    event TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_at REAL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    PRIMARY KEY (observer, event_id)
);
CREATE INDEX observer_deliveries_due ON observer_deliveries (observer, status, next_at);
CREATE INDEX observer_deliveries_updated ON observer_deliveries (updated);

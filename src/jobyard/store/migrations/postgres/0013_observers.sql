-- As in the SQLite migration: each observer's cursor and lease, and every delivery it
-- attempted, keyed by (observer, event), "sent" before the cursor moves past the event.
CREATE TABLE observer_state (
    name TEXT PRIMARY KEY,
    cursor BIGINT NOT NULL,
    owner TEXT,
    lease_until DOUBLE PRECISION,
    updated DOUBLE PRECISION NOT NULL
);

CREATE TABLE observer_deliveries (
    observer TEXT NOT NULL,
    event_id BIGINT NOT NULL,
    job_id BIGINT,
    event JSON NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    next_at DOUBLE PRECISION,
    created DOUBLE PRECISION NOT NULL,
    updated DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (observer, event_id)
);
CREATE INDEX observer_deliveries_due ON observer_deliveries (observer, status, next_at);
CREATE INDEX observer_deliveries_updated ON observer_deliveries (updated);
